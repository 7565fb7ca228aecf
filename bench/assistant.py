"""Eve's figures, as one JSON object on stdout:

- offline: accuracy of the intent router on questions generated from a demo source, each with a known answer
  computed here in plain SQL (who do I text the most, how many messages with X, when did I last talk to X,
  who starts our conversations, what did X say about Y, promises, summaries, a year in review), and the
  p50/p95 answer time;
- tool loop (against the fake OpenAI server speaking tool_calls): CPU ms per step, and the end-to-end time of
  a 3-step answer at 300 ms model latency.

    .venv/bin/python bench/assistant.py [--messages 20000] [--chats 40] [--contacts 60] [--repeat 3]

A question counts as exact when the answer holds every expected figure and name verbatim (and, for "what did X
say", cites only messages of X that contain the word).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import demo_source

VISIBLE = "m.kind = 'message' AND m.deleted_at IS NULL"


def local_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp() * 1000)


def day_text(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return f"{moment.day} {moment:%B %Y}"


def questions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """(question, expected substrings, cited-ids rule) from plain SQL over central.db."""
    people = [dict(r) for r in conn.execute(f"""
        SELECT c.id AS contact_id, c.display_name AS name, ch.id AS chat_id, count(m.id) AS messages
        FROM chat_participants p JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
        JOIN contacts c ON c.id = p.contact_id AND c.merged_into_id IS NULL
        JOIN messages m ON m.chat_id = ch.id AND {VISIBLE}
        WHERE c.display_name IS NOT NULL GROUP BY c.id ORDER BY messages DESC, c.id""")]
    firsts = [p["name"].split()[0].lower() for p in people]
    named = [p for p in people if firsts.count(p["name"].split()[0].lower()) == 1][:8]
    years = [int(r[0]) for r in conn.execute(
        f"SELECT DISTINCT strftime('%Y', m.sent_at / 1000, 'unixepoch', 'localtime') FROM messages m WHERE {VISIBLE}")]
    years = sorted(years)[-2:]

    def in_range(chat_id: int, since: int | None, until: int | None) -> list[sqlite3.Row]:
        return conn.execute(f"""SELECT m.id, m.sent_at, m.is_from_me FROM messages m WHERE m.chat_id = ? AND {VISIBLE}
                                AND (? IS NULL OR m.sent_at >= ?) AND (? IS NULL OR m.sent_at < ?)
                                ORDER BY m.sent_at, m.id""", (chat_id, since, since, until, until)).fetchall()

    out: list[dict[str, Any]] = []
    spans: list[tuple[str, int | None, int | None]] = [("", None, None)]
    spans += [(f" in {y}", local_ms(date(y, 1, 1)), local_ms(date(y + 1, 1, 1))) for y in years]
    for label, since, until in spans:
        counts = sorted(((len(in_range(p["chat_id"], since, until)), p) for p in people), key=lambda t: -t[0])
        if counts and counts[0][0] and (len(counts) == 1 or counts[0][0] > counts[1][0]):
            n, top = counts[0]
            out.append({"form": "top", "q": f"Who do I text the most{label}?",
                        "expect": [f"You text {top['name']} the most", f"{n:,} message"]})
        for p in named:
            rows = in_range(p["chat_id"], since, until)
            first = p["name"].split()[0]
            if rows:
                out.append({"form": "count", "q": f"How many messages did I exchange with {first}{label}?",
                            "expect": [f"{len(rows):,} message", p["name"]]})
    for p in named:
        first = p["name"].split()[0]
        rows = in_range(p["chat_id"], None, None)
        out.append({"form": "last", "q": f"When did I last talk to {first}?",
                    "expect": [f"on {day_text(rows[-1]['sent_at'])}", f"[M{rows[-1]['id']}]"]})
        starts = conn.execute(f"""
            SELECT sum(first.is_from_me) AS me, count(*) - sum(first.is_from_me) AS them FROM conversations v
            JOIN messages first ON first.id = (SELECT m.id FROM messages m WHERE m.conversation_id = v.id AND {VISIBLE}
                                               ORDER BY m.sent_at, m.id LIMIT 1)
            WHERE v.chat_id = ?""", (p["chat_id"],)).fetchone()
        out.append({"form": "starts", "q": f"Who starts our conversations with {first}?",
                    "expect": [f"you started {starts['me']:,}", f"{first}"]})
        words = [w for r in conn.execute(f"""SELECT lower(m.text) FROM messages m WHERE m.sender_contact_id = ?
                                              AND m.is_from_me = 0 AND {VISIBLE} AND m.text IS NOT NULL
                                              ORDER BY m.id LIMIT 40""", (p["contact_id"],))
                 for w in re.findall(r"[a-z]{6,}", r[0])]
        if words:
            word = sorted(set(words))[0]
            ids = {r[0] for r in conn.execute(f"""
                SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid
                WHERE messages_fts MATCH ? AND m.sender_contact_id = ? AND m.is_from_me = 0 AND {VISIBLE}""",
                (f'"{word}"', p["contact_id"]))}
            out.append({"form": "said", "q": f"What did {first} say about {word}?", "cited_in": ids,
                        "expect": [p["name"], word]})
        for y in years:
            rows = in_range(p["chat_id"], local_ms(date(y, 1, 1)), local_ms(date(y + 1, 1, 1)))
            expect = [f"{len(rows):,} message"] if rows else ["no messages"]
            out.append({"form": "summary", "q": f"Summarise my chat with {first} in {y}", "expect": expect})
    for y in years:
        total = conn.execute(f"SELECT count(*) FROM messages m WHERE {VISIBLE} AND m.sent_at >= ? AND m.sent_at < ?",
                             (local_ms(date(y, 1, 1)), local_ms(date(y + 1, 1, 1)))).fetchone()[0]
        out.append({"form": "year", "q": f"My year in review {y}",
                    "expect": [f"In {y} you exchanged {total:,} message"]})
    mine = conn.execute("SELECT count(*) FROM commitments WHERE status = 'active' AND is_from_me = 1").fetchone()[0]
    theirs = conn.execute("SELECT count(*) FROM commitments WHERE status = 'active' AND is_from_me = 0").fetchone()[0]
    out.append({"form": "promises", "q": "What did I promise?",
                "expect": [f"{mine:,} open promise" if mine else "You have no open promises"]})
    out.append({"form": "promises", "q": "What was promised to me?",
                "expect": [f"{theirs:,} open promise" if theirs else "Nobody has an open promise to you"]})
    return out


def offline_figures(engine: Any, conn: sqlite3.Connection, repeat: int) -> dict[str, Any]:
    from backend.assistant.offline import answer

    asked = questions(conn)
    exact, misses, times = 0, [], []
    by_form: dict[str, list[int]] = {}
    for item in asked:
        for _ in range(repeat):
            started = time.perf_counter()
            got = answer(engine, item["q"])
            times.append((time.perf_counter() - started) * 1000)
        text = got.text if got else ""
        ok = all(e in text for e in item["expect"])
        if "cited_in" in item:
            cited = {int(i) for i in re.findall(r"\[M(\d+)\]", text)}
            ok = ok and bool(cited) and cited <= item["cited_in"]
        exact += ok
        by_form.setdefault(item["form"], [0, 0])
        by_form[item["form"]][0] += ok
        by_form[item["form"]][1] += 1
        if not ok:
            misses.append({"q": item["q"], "expected": item["expect"], "got": text[:300]})
    times.sort()
    return {"questions": len(asked), "exact": exact, "accuracy": round(exact / len(asked), 4),
            "by_form": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_form.items())},
            "answer_ms_p50": round(statistics.median(times), 1),
            "answer_ms_p95": round(times[int(0.95 * (len(times) - 1))], 1), "misses": misses[:10]}


def loop_figures(engine: Any, steps: int, latency_s: float) -> dict[str, Any]:
    from backend.assistant import toolloop
    from tests.fakes.openai_server import FakeOpenAI, ToolCalls, tool_results

    def responder(body: dict) -> Any:
        done = len(tool_results(body))
        if done < steps - 1:
            return ToolCalls([("find_person", {"name": "a"})])
        return "Done [M1]."

    with FakeOpenAI(latency_s=latency_s, responder=responder) as fake:
        os.environ.update(CHATSTATS_LLM_API_BASE=fake.url, CHATSTATS_LLM_API_KEY="sk-bench")
        from backend.config import reset_settings_cache

        reset_settings_cache()
        messages = [{"role": "system", "content": "bench"}, {"role": "user", "content": "q"}]
        list(toolloop.run(engine, model="openai/fake-bench", messages=messages, max_steps=steps + 1, max_tokens=256,
                          prompt_id="bench", prompt_version="1", temperature=None, outcome=toolloop.LoopOutcome()))
        runs = 5 if latency_s else 20
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(runs):
            outcome = toolloop.LoopOutcome()
            list(toolloop.run(engine, model="openai/fake-bench", messages=messages, max_steps=steps + 1,
                              max_tokens=256, prompt_id="bench", prompt_version="1", temperature=None,
                              outcome=outcome))
            assert outcome.steps == steps, outcome
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"steps": steps, "model_latency_ms": int(latency_s * 1000), "runs": runs,
            "cpu_ms_per_step": round(cpu * 1000 / (runs * steps), 2),
            "wall_ms_per_answer": round(wall * 1000 / runs, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--contacts", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source, _ = demo_source(args.messages, args.chats, args.contacts)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CHATSTATS_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["CHATSTATS_LIVE_SYNC"] = "false"
        from backend.config import get_settings
        from backend.db.engine import get_engine
        from backend.mirror.importer import import_source

        started = time.perf_counter()
        import_source(get_settings(), source=source / "chat.db", addressbook_dir=source / "AddressBook")
        imported_s = time.perf_counter() - started
        engine = get_engine(get_settings().central_db_path)
        conn = sqlite3.connect(get_settings().central_db_path)
        conn.row_factory = sqlite3.Row
        report = {"source": {"messages": args.messages, "chats": args.chats, "contacts": args.contacts,
                             "import_s": round(imported_s, 1)},
                  "offline": offline_figures(engine, conn, args.repeat),
                  "tool_loop_overhead": loop_figures(engine, steps=3, latency_s=0.0),
                  "tool_loop_3_steps_300ms": loop_figures(engine, steps=3, latency_s=0.3),
                  "cpus": os.cpu_count(), "load_1m": round(os.getloadavg()[0], 2)}
        conn.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
