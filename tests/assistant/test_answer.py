from __future__ import annotations

import json

from backend.assistant.answer import AnswerText, parse_reply


def test_the_answer_of_a_json_reply_is_decoded_as_it_arrives_even_across_split_escapes():
    answer = 'Line one "quoted" \u00e9t\u00e9 \U0001F600\nline two [S2]'
    raw = json.dumps({"answer": answer, "answered": True, "citations": [{"source_id": "S2", "quote": "q"}]})
    for size in (1, 2, 3, 7):
        text = AnswerText()
        shown = "".join(text.feed(raw[i:i + size]) for i in range(0, len(raw), size))
        assert shown == answer
    ascii_raw = json.dumps({"answer": answer})  # \\u escapes, surrogate pair included
    text = AnswerText()
    assert "".join(text.feed(ascii_raw[i:i + 1]) for i in range(len(ascii_raw))) == answer


def test_prose_passes_through_and_its_bracketed_sources_become_citations():
    text = AnswerText()
    assert [text.feed(d) for d in ("  ", "Sam ", "said [S3] and [S1][S3].")] == ["", "  Sam ", "said [S3] and [S1][S3]."]
    assert parse_reply(text.raw) == ("Sam said [S3] and [S1][S3].",
                                     [{"source_id": "S3", "quote": ""}, {"source_id": "S1", "quote": ""}])
    assert parse_reply('```json\n{"answer": "A [S1]", "citations": [{"source_id": "S1", "quote": "a"}]}\n```') == \
        ("A [S1]", [{"source_id": "S1", "quote": "a"}])
