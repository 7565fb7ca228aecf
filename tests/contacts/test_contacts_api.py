from __future__ import annotations

from tests.api_fixtures import api, db, inbox_source, ok  # noqa: F401


def all_contacts(api, limit: int = 500, **params) -> list[dict]:
    items, offset = [], 0
    while offset is not None:
        body = ok(api.get("/api/contacts", params={"limit": limit, "offset": offset, **params}))
        items += body["contacts"]
        offset = body["next_offset"]
    return items


def test_live_contacts_named_first_then_by_activity_with_counts(api, db):
    contacts = all_contacts(api)
    assert [c["id"] for c in contacts] == [c["id"] for c in all_contacts(api, limit=7)]  # pages: no gaps
    assert len({c["id"] for c in contacts}) == len(contacts)
    assert {c["id"] for c in contacts} == {r[0] for r in db.execute(
        "SELECT id FROM contacts WHERE merged_into_id IS NULL")}

    named = [c["is_named"] for c in contacts]
    assert named == sorted(named, reverse=True) and any(named) and not all(named)
    for group in (True, False):
        times = [c["last_message_at"] or 0 for c in contacts if c["is_named"] is group]
        assert times == sorted(times, reverse=True)

    chat_counts = dict(db.execute("SELECT contact_id, count(*) FROM chat_participants GROUP BY contact_id"))
    sent = dict(db.execute("SELECT sender_contact_id, count(*) FROM messages GROUP BY sender_contact_id"))
    for contact in contacts:
        assert contact["chat_count"] == chat_counts.get(contact["id"], 0)
        assert contact["message_count"] == sent.get(contact["id"], 0)
        values = [r[0] for r in db.execute("SELECT value FROM contact_identifiers WHERE contact_id = ? "
                                           "ORDER BY from_addressbook DESC, id", (contact["id"],))]
        assert [i["value"] for i in contact["identifiers"]] == values
        if not contact["is_named"]:
            assert contact["display_name"] == (values[0] if values else None)
    assert sum(c["message_count"] for c in contacts) >= 900


def test_filter_by_name_or_identifier(api, db):
    person = db.execute("SELECT c.id, c.last_name, i.value FROM contacts c JOIN contact_identifiers i "
                        "ON i.contact_id = c.id WHERE c.last_name IS NOT NULL AND i.kind = 'phone' "
                        "LIMIT 1").fetchone()
    assert [c["id"] for c in ok(api.get("/api/contacts", params={"q": person["value"]}))["contacts"]] == [
        person["id"]]
    by_name = ok(api.get("/api/contacts", params={"q": person["last_name"].lower()}))["contacts"]
    assert person["id"] in {c["id"] for c in by_name}
    assert all(person["last_name"].lower() in (c["display_name"] or "").lower()
               or any(person["last_name"].lower() in i["value"].lower() for i in c["identifiers"])
               for c in by_name)


def test_a_merged_contact_answers_with_the_contact_it_was_merged_into(api, db):
    winner, loser = db.execute(
        "SELECT c.id FROM contacts c WHERE c.display_name IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM messages m WHERE m.sender_contact_id = c.id) ORDER BY c.id LIMIT 2").fetchall()
    winner, loser = winner[0], loser[0]
    before = ok(api.get(f"/api/contacts/{winner}"))
    lost = ok(api.get(f"/api/contacts/{loser}"))
    db.execute("UPDATE contacts SET merged_into_id = ? WHERE id = ?", (winner, loser))

    merged = ok(api.get(f"/api/contacts/{loser}"))
    assert merged["id"] == winner and merged["display_name"] == before["display_name"]
    assert merged["merged_contact_ids"] == [loser]
    assert merged["message_count"] == before["message_count"] + lost["message_count"]
    assert {i["value"] for i in merged["identifiers"]} == {
        i["value"] for i in before["identifiers"] + lost["identifiers"]}
    assert ok(api.get(f"/api/contacts/{winner}")) == merged
    assert loser not in {c["id"] for c in all_contacts(api)}

    # Senders of the merged contact's messages are shown as the winner.
    message_id = db.execute("SELECT id FROM messages WHERE sender_contact_id = ? LIMIT 1", (loser,)).fetchone()[0]
    sender = ok(api.get(f"/api/messages/{message_id}"))["sender"]
    assert sender["contact_id"] == winner and sender["name"] == before["display_name"]

    # A chain of merges is followed to its end.
    third = db.execute("SELECT id FROM contacts WHERE id NOT IN (?, ?) AND merged_into_id IS NULL LIMIT 1",
                       (winner, loser)).fetchone()[0]
    db.execute("UPDATE contacts SET merged_into_id = ? WHERE id = ?", (third, winner))
    assert ok(api.get(f"/api/contacts/{loser}"))["id"] == third


def test_missing_contact_is_404(api):
    response = api.get("/api/contacts/999999")
    assert response.status_code == 404 and response.json()["code"] == "contact_not_found"
