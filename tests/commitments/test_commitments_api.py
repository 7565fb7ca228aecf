"""Commitments found by the offline model in a real mirror: the list, the actions and their events."""

from __future__ import annotations

import json

from backend.db.clock import now_ms
from tests.analysis.helpers import db
from tests.insights.helpers import analysed, api, ok, rows  # noqa: F401

DAY_MS = 24 * 3600 * 1000


def _events(commitment_id: int) -> list[tuple[str, dict]]:
    return [(r["event"], json.loads(r["details"])) for r in rows(
        "SELECT event, details FROM commitment_events WHERE commitment_id = ? ORDER BY id", (commitment_id,))]


def _status(commitment_id: int) -> tuple[str, int | None]:
    return tuple(rows("SELECT status, snoozed_until FROM commitments WHERE id = ?", (commitment_id,))[0])


def _ids(api, **params) -> list[int]:
    return [c["id"] for c in ok(api.get("/api/commitments", params=params))["commitments"]]


def test_active_commitments_are_due_soonest_first_and_filter_by_chat(api, analysed):
    expected = [r[0] for r in rows("SELECT id FROM commitments WHERE status = 'active' "
                                   "ORDER BY due_at IS NULL, due_at, id")]
    assert len(expected) >= 5 and rows("SELECT count(*) FROM commitments WHERE due_at IS NULL")[0][0] > 0
    body = ok(api.get("/api/commitments"))["commitments"]
    assert [c["id"] for c in body] == expected
    planted = next(c for c in body if c["message_text"] == "I'll send you the report tomorrow")
    row = rows("SELECT * FROM commitments WHERE id = ?", (planted["id"],))[0]
    assert planted["due_at"] == row["due_at"] and planted["is_from_me"] is True and planted["status"] == "active"
    assert planted["committed_to"] == json.loads(row["committed_to"]) and planted["chat_id"] == analysed["chat_id"]

    assert _ids(api, chat_id=analysed["chat_id"]) == expected
    assert _ids(api, chat_id=999999) == []
    assert sorted(_ids(api, status="all")) == [r[0] for r in rows("SELECT id FROM commitments ORDER BY id")]
    assert _ids(api, status="complete") == []


def test_complete_is_idempotent_and_reopen_brings_it_back(api, analysed):
    first = _ids(api)[0]
    done = ok(api.post(f"/api/commitments/{first}/complete"))
    assert done["status"] == "complete" and _status(first) == ("complete", None)
    again = ok(api.post(f"/api/commitments/{first}/complete"))
    assert again["status"] == "complete"
    assert [e for e, _ in _events(first)] == ["created", "completed"]
    assert [e["event"] for e in again["events"]] == ["created", "completed"]
    assert first not in _ids(api) and _ids(api, status="complete") == [first]

    reopened = ok(api.post(f"/api/commitments/{first}/reopen"))
    assert reopened["status"] == "active" and _ids(api)[0] == first
    assert _events(first)[-1] == ("reopened", {"from": "complete"})
    ok(api.post(f"/api/commitments/{first}/reopen"))  # already active: nothing more written
    assert [e for e, _ in _events(first)] == ["created", "completed", "reopened"]


def test_cancel_and_snooze_and_the_transitions_they_forbid(api, analysed):
    active = _ids(api)
    cancelled, snoozed = active[0], active[1]

    assert ok(api.post(f"/api/commitments/{cancelled}/cancel"))["status"] == "cancelled"
    ok(api.post(f"/api/commitments/{cancelled}/cancel"))
    assert [e for e, _ in _events(cancelled)] == ["created", "cancelled"]
    for action, body in (("snooze", {"until": now_ms() + DAY_MS}), ("complete", None)):
        refused = api.post(f"/api/commitments/{cancelled}/{action}", json=body)
        assert refused.status_code == 409, action
        assert refused.json()["code"] == "invalid_commitment_transition"
        assert refused.json()["details"]["status"] == "cancelled"
    assert _status(cancelled) == ("cancelled", None) and len(_events(cancelled)) == 2

    until = now_ms() + DAY_MS
    body = ok(api.post(f"/api/commitments/{snoozed}/snooze", json={"until": until}))
    assert body["status"] == "snoozed" and body["snoozed_until"] == until
    ok(api.post(f"/api/commitments/{snoozed}/snooze", json={"until": until}))  # same time: no new event
    assert _status(snoozed) == ("snoozed", until)
    assert _events(snoozed)[1:] == [("snoozed", {"from": "active", "until": until})]
    assert snoozed not in _ids(api) and _ids(api, status="snoozed") == [snoozed]

    late = api.post(f"/api/commitments/{snoozed}/snooze", json={"until": now_ms() - 1})
    assert late.status_code == 400 and late.json()["code"] == "invalid_snooze_time"
    assert _ids(api, status="cancelled") == [cancelled]
    assert api.post(f"/api/commitments/{cancelled}/reopen").json()["status"] == "active"
    assert _status(cancelled) == ("active", None)


def test_a_snooze_that_ran_out_counts_as_active_again(api, analysed):
    active = _ids(api)
    target = active[-1]  # undated: sorts last among the active ones
    ok(api.post(f"/api/commitments/{target}/snooze", json={"until": now_ms() + DAY_MS}))
    assert target not in _ids(api)
    conn = db()
    with conn:
        conn.execute("UPDATE commitments SET snoozed_until = ? WHERE id = ?", (now_ms() - 1000, target))
    assert _ids(api) == active and target not in _ids(api, status="snoozed")
    assert ok(api.get(f"/api/commitments/{target}"))["status"] == "active"
    # it can be snoozed again, or completed
    assert ok(api.post(f"/api/commitments/{target}/complete"))["status"] == "complete"
    assert [e for e, _ in _events(target)] == ["created", "snoozed", "completed"]
    assert _events(target)[-1][1] == {"from": "active"}


def test_unknown_commitment_and_token(api, analysed):
    for method, path in (("get", "/api/commitments/999999"), ("post", "/api/commitments/999999/complete"),
                         ("post", "/api/commitments/999999/cancel"), ("post", "/api/commitments/999999/reopen")):
        response = getattr(api, method)(path)
        assert response.status_code == 404 and response.json()["code"] == "commitment_not_found", path
    missing = api.post("/api/commitments/999999/snooze", json={"until": now_ms() + DAY_MS})
    assert missing.status_code == 404 and missing.json()["code"] == "commitment_not_found"

    first = _ids(api)[0]
    assert api.get("/api/commitments", headers={"Authorization": ""}).status_code == 401
    assert api.post(f"/api/commitments/{first}/complete", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert _status(first) == ("active", None) and len(_events(first)) == 1
