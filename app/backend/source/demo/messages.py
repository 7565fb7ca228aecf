"""Message rows of the demo source, rendered in time order from the timeline.

Each chat keeps a little state while its messages are rendered (who spoke last, recent messages
that a tapback or reply can point at, tapbacks that can later be removed, current members), so
reactions always follow their target, replies quote an earlier part, and group members only talk
while they are in the group.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.source.attributed_body import OBJECT_REPLACEMENT, AttachmentRef
from backend.source.demo import attachments as att
from backend.source.demo.bodies import (
    PLAIN_SUMMARY_INFO,
    BodyEncoder,
    edited_summary,
    extension_payload,
    random_bytes,
    retracted_summary,
    url_preview_payload,
    utf16_len,
)
from backend.source.demo.content import PLANTED_TOPICS, SLOT_VALUES, Corpus
from backend.source.demo.plan import ChatPlan, Handle, SourcePlan, new_guid
from backend.source.demo.rows import (
    APPLE_PAY,
    DEFAULT_ROW,
    EFFECTS,
    POLLS,
    TAPBACK_EMOJI,
    TAPBACK_REMOVALS,
    TAPBACK_VERBS,
    TAPBACK_WEIGHTS,
    URL_BALLOON,
    C,
)
from backend.source.demo.timeline import EVENT, MALFORMED, Session

_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[A-Za-z]{4,}")
NS = 1_000_000_000


@dataclass(slots=True)
class Target:
    """A message part a tapback or a reply can point at."""

    guid: str
    part: int
    start: int
    length: int
    quote: str  # how a tapback row names it: "“text”" or "an image"
    funny: bool
    from_me: bool
    sender: int  # handle ROWID, 0 for me
    balloon: bool = False


@dataclass(slots=True)
class ChatState:
    members: list[Handle]
    names: tuple[str, ...]
    recent: list[Target] = field(default_factory=list)
    reactions: list[tuple[Target, int, bool, int, str | None]] = field(default_factory=list)
    last_guid: str | None = None
    last_from_me: bool | None = None
    last_funny: bool = False


@dataclass
class RenderStats:
    messages: int = 0
    reactions: int = 0
    edited: int = 0
    unsent: int = 0
    malformed: int = 0
    attachments: int = 0
    real_files: int = 0
    deleted_guids: list[str] = field(default_factory=list)
    topics: dict[str, dict] = field(default_factory=dict)


@dataclass
class Batch:
    messages: list[list]
    chat_messages: list[tuple[int, int, int]]
    attachments: list[tuple]
    message_attachments: list[tuple[int, int]]


class Renderer:
    def __init__(
        self, rng: random.Random, source: SourcePlan, sessions: list[Session], chat_rowids: dict[int, int],
        *, now_ns: int, attachments_dir: Path, real_file_budget: int,
    ) -> None:
        self.rng = rng
        self.source = source
        self.sessions = sessions
        self.chat_rowids = chat_rowids
        self.now_ns = now_ns
        self.corpus = Corpus()
        self.bodies = BodyEncoder()
        self.files = att.AttachmentFactory(rng, attachments_dir, real_file_budget)
        self.stats = RenderStats()
        self.rowid = 0
        self.missing_handle = len(source.handles) + 1_000
        everyone = tuple(h.name for h in source.handles if h.person and h.person.first_name)
        self.states = []
        for plan in source.chats:
            names = tuple(dict.fromkeys(h.name for h in plan.members if h.person and h.person.first_name))
            self.states.append(ChatState(list(plan.members), names + everyone[:6] if names else everyone[:8]))
        self.topic_titles = {t["key"]: t for t in PLANTED_TOPICS}

    # --- driver ---------------------------------------------------------------------------
    def render(self, entries: list[tuple[int, int, int, Any]], batch_size: int = 20_000) -> Iterator[Batch]:
        batch = Batch([], [], [], [])
        for ns, chat_index, code, payload in entries:
            plan = self.source.chats[chat_index]
            state = self.states[chat_index]
            self._next_rowid()
            if code == EVENT:
                row = self._event(plan, state, ns, payload)
            elif code == MALFORMED:
                row = self._malformed(plan, state, ns, payload, batch)
            else:
                row = self._message(plan, state, ns, self.sessions[code], batch)
            batch.messages.append(row)
            if not (code == MALFORMED and payload == "orphan"):
                batch.chat_messages.append((self.chat_rowids[chat_index], row[0], row[C["date"]]))
            self.stats.messages += 1
            if len(batch.messages) >= batch_size:
                yield batch
                batch = Batch([], [], [], [])
        yield batch

    def _next_rowid(self) -> None:
        if self.rowid and self.rng.random() < 0.01:  # rows deleted on the device leave gaps
            for _ in range(self.rng.randint(1, 4)):
                self.rowid += 1
                self.stats.deleted_guids.append(new_guid(self.rng))
        self.rowid += 1

    # --- rows -----------------------------------------------------------------------------
    def _base(self, plan: ChatPlan, ns: int, from_me: bool, sender: Handle | None) -> list:
        row = DEFAULT_ROW.copy()
        row[C["ROWID"]] = self.rowid
        row[C["guid"]] = new_guid(self.rng)
        if plan.kind == "group":
            row[C["handle_id"]] = 0 if from_me or sender is None else sender.rowid
        else:
            row[C["handle_id"]] = plan.members[0].rowid
        row[C["service"]] = plan.service
        row[C["account"]] = plan.account
        row[C["account_guid"]] = plan.account_guid
        row[C["date"]] = ns
        row[C["is_from_me"]] = int(from_me)
        row[C["is_finished"]] = 1
        row[C["is_delivered"]] = 1
        row[C["cache_roomnames"]] = plan.room_name
        row[C["destination_caller_id"]] = plan.my_address
        row[C["message_summary_info"]] = PLAIN_SUMMARY_INFO if plan.service != "SMS" else None
        row[C["part_count"]] = 1
        self._read_state(row, plan, ns, from_me)
        return row

    def _read_state(self, row: list, plan: ChatPlan, ns: int, from_me: bool) -> None:
        rng = self.rng
        delay = int(rng.expovariate(1 / 600.0) * NS) + NS
        if from_me:
            row[C["is_sent"]] = 1
            if plan.service != "SMS":
                row[C["date_delivered"]] = ns + rng.randrange(200_000_000, 4 * NS)
                if plan.kind == "direct" and plan.service == "iMessage" and rng.random() < 0.6:
                    row[C["date_read"]] = ns + delay
                    row[C["is_read"]] = 1
        elif ns > self.now_ns - 2 * 86_400 * NS and rng.random() < 0.3:
            pass  # recent and not read yet
        else:
            row[C["is_read"]] = 1
            row[C["date_read"]] = ns + delay

    def _speaker(self, plan: ChatPlan, state: ChatState, who: str | None = None) -> tuple[bool, Handle | None]:
        rng = self.rng
        if plan.kind == "shortcode":
            return False, plan.members[0]
        if who is None:
            if plan.kind == "direct":
                stay = 0.5
                from_me = state.last_from_me if state.last_from_me is not None and rng.random() < stay else (
                    not state.last_from_me if state.last_from_me is not None else rng.random() < 0.45)
            else:
                from_me = rng.random() < (0.25 if state.last_from_me else 0.4)
        else:
            from_me = who == "me" or (who == "any" and rng.random() < 0.25)
        if from_me or not state.members:
            return True, None
        if plan.kind == "direct":
            return False, plan.members[0]
        return False, state.members[rng.randrange(len(state.members))]

    def _finish(self, row: list, state: ChatState, text: str | None, body: bytes | None, from_me: bool) -> None:
        row[C["attributedBody"]] = body
        if text is not None and body is not None and self.rng.random() < 0.1:
            row[C["text"]] = text  # most Ventura+ rows keep only attributedBody
        state.last_guid = row[C["guid"]]
        state.last_from_me = from_me

    def _remember(self, state: ChatState, target: Target) -> None:
        state.recent.append(target)
        if len(state.recent) > 24:
            del state.recent[:8]

    def _message(self, plan: ChatPlan, state: ChatState, ns: int, session: Session, batch: Batch) -> list:
        rng = self.rng
        if session.planted is not None:
            return self._planted(plan, state, ns, session)
        if plan.kind == "shortcode":
            from_me, sender = self._speaker(plan, state)
            return self._text(plan, state, ns, from_me, sender, self.corpus.one_time_code(rng), False)
        roll = rng.random()
        if roll < 0.075 and state.recent:
            return self._tapback(plan, state, ns)
        if roll < 0.081 and state.reactions:
            return self._tapback_removal(plan, state, ns)
        from_me, sender = self._speaker(plan, state)
        if roll < 0.119:
            return self._attachment_message(plan, state, ns, from_me, sender, batch)
        if roll < 0.129:
            return self._url_balloon(plan, state, ns, from_me, sender)
        if roll < 0.1305:
            return self._app_balloon(plan, state, ns, from_me, sender)
        if state.last_funny and state.last_from_me != from_me and rng.random() < 0.5:
            line_text, funny = self.corpus.laughter(rng), False
        else:
            line = self.corpus.line(rng, session.topic, state.names)
            line_text, funny = line.text, line.funny
        return self._text(plan, state, ns, from_me, sender, line_text, funny, decorate=True)

    def _planted(self, plan: ChatPlan, state: ChatState, ns: int, session: Session) -> list:
        topic = session.planted
        assert topic is not None
        record = self.stats.topics.setdefault(topic["key"], {
            "key": topic["key"], "title": topic["title"], "keywords": list(topic["keywords"]),
            "chat_guid": plan.guid, "message_guids": [], "first_date": ns, "last_date": ns,
        })
        speaker, line = topic["script"][len(record["message_guids"]) % len(topic["script"])]
        from_me, sender = self._speaker(plan, state, speaker)
        row = self._text(plan, state, ns, from_me, sender, line, False)
        record["message_guids"].append(row[C["guid"]])
        record["last_date"] = ns
        return row

    def _text(
        self, plan: ChatPlan, state: ChatState, ns: int, from_me: bool, sender: Handle | None, text: str,
        funny: bool, *, decorate: bool = False,
    ) -> list:
        rng = self.rng
        row = self._base(plan, ns, from_me, sender)
        mentions = None
        if decorate and plan.kind == "group" and state.members and rng.random() < 0.02:
            member = state.members[rng.randrange(len(state.members))]
            if member.person is not None:
                name = member.name
                text = f"{name} {text}"
                mentions = [(0, utf16_len(name), member.id)]
        links = None
        if "http" in text:
            links = [(utf16_len(text[: m.start()]), utf16_len(m.group()), m.group()) for m in _URL.finditer(text)]
        if links:
            row[C["was_data_detected"]] = row[C["has_dd_results"]] = 1
        if decorate and state.recent and rng.random() < 0.03:
            target = state.recent[-1 - rng.randrange(min(6, len(state.recent)))]
            if not target.balloon:
                row[C["thread_originator_guid"]] = target.guid
                row[C["thread_originator_part"]] = f"{target.part}:{target.start}:{target.length}"
        if decorate and rng.random() < 0.006:
            row[C["expressive_send_style_id"]] = EFFECTS[rng.randrange(len(EFFECTS))]
        row[C["reply_to_guid"]] = state.last_guid
        mutable = rng.random() < 0.85
        imessage_from_me = decorate and from_me and plan.service == "iMessage"
        if imessage_from_me and rng.random() < 0.0035:
            return self._unsent(row, state, ns, text)
        body = self.bodies.rich(text, mentions=mentions, links=links or None, mutable=mutable)
        if imessage_from_me and rng.random() < 0.012:
            self._edit(row, ns, text)
        self._finish(row, state, text, body, from_me)
        self._remember(state, Target(row[C["guid"]], 0, 0, utf16_len(text), f"“{text}”", funny, from_me,
                                     row[C["handle_id"]] if not from_me else 0))
        state.last_funny = funny
        return row

    def _edit(self, row: list, ns: int, final: str) -> None:
        rng = self.rng
        versions = [final]
        for _ in range(1 if rng.random() < 0.8 else 2):
            versions.insert(0, _typo(rng, versions[0]))
        when = ns / NS
        timed = []
        for text in versions:
            timed.append((text, round(when, 6)))
            when += rng.uniform(5, 300)
        row[C["date_edited"]] = int(timed[-1][1] * NS)
        row[C["message_summary_info"]] = edited_summary(timed)
        self.stats.edited += 1

    def _unsent(self, row: list, state: ChatState, ns: int, text: str) -> list:
        rng = self.rng
        retracted = ns + rng.randrange(5 * NS, 120 * NS)
        row[C["date_retracted"]] = row[C["date_edited"]] = retracted
        row[C["message_summary_info"]] = retracted_summary({0: (0, utf16_len(text))}, [0])
        # Messages keeps an empty body, or none at all, for a fully unsent message.
        body = self.bodies.plain("") if rng.random() < 0.3 else None
        self._finish(row, state, None, body, True)
        self.stats.unsent += 1
        return row

    def _attachment_message(
        self, plan: ChatPlan, state: ChatState, ns: int, from_me: bool, sender: Handle | None, batch: Batch,
    ) -> list:
        rng = self.rng
        row = self._base(plan, ns, from_me, sender)
        guid = row[C["guid"]]
        kind = self.files.pick_kind()
        count = 1 if kind.audio else rng.choices((1, 2, 3), (80, 15, 5))[0]
        caption = ""
        if not kind.audio and rng.random() < 0.4:
            caption = self.corpus.line(rng, "plans", state.names).text
        refs = []
        for part in range(count):
            attachment = self.files.create(kind if part == 0 else self.files.pick_kind(image=True),
                                           guid=f"at_{part}_{guid}", ns=ns, outgoing=from_me)
            batch.attachments.append(attachment.row)
            batch.message_attachments.append((self.rowid, attachment.rowid))
            refs.append(AttachmentRef(attachment.guid, attachment.transfer_name, part))
            self._remember(state, Target(guid, part, part, 1, attachment.quote, False, from_me,
                                         row[C["handle_id"]] if not from_me else 0))
        self.stats.attachments += count
        text = OBJECT_REPLACEMENT * count + caption
        row[C["cache_has_attachments"]] = 1
        row[C["part_count"]] = count + (1 if caption else 0)
        row[C["reply_to_guid"]] = state.last_guid
        if kind.audio:
            row[C["is_audio_message"]] = 1
            if not from_me and row[C["is_read"]]:
                row[C["is_played"]] = 1
                row[C["date_played"]] = row[C["date_read"]] + NS * rng.randrange(1, 600)
        if caption and from_me and plan.service == "iMessage" and rng.random() < 0.08:
            # The caption was unsent; the pictures stay.
            retracted = ns + rng.randrange(5 * NS, 120 * NS)
            row[C["date_retracted"]] = row[C["date_edited"]] = retracted
            ranges = {part: (part, 1) for part in range(count)}
            ranges[count] = (count, utf16_len(caption))
            row[C["message_summary_info"]] = retracted_summary(ranges, [count])
            self.stats.unsent += 1
            text = OBJECT_REPLACEMENT * count
        elif caption:
            self._remember(state, Target(guid, count, count, utf16_len(caption), f"“{caption}”", False, from_me,
                                         row[C["handle_id"]] if not from_me else 0))
        body = self.bodies.rich(text, attachments=refs)
        self._finish(row, state, text, body, from_me)
        state.last_funny = False
        return row

    def _url_balloon(self, plan: ChatPlan, state: ChatState, ns: int, from_me: bool, sender: Handle | None) -> list:
        rng = self.rng
        row = self._base(plan, ns, from_me, sender)
        url = SLOT_VALUES["url"][rng.randrange(len(SLOT_VALUES["url"]))]
        title = url.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace("_", " ").split(".")[0] or url
        row[C["balloon_bundle_id"]] = URL_BALLOON
        row[C["payload_data"]] = url_preview_payload(url, title.capitalize())
        row[C["was_data_detected"]] = row[C["has_dd_results"]] = 1
        row[C["reply_to_guid"]] = state.last_guid
        body = self.bodies.rich(url, links=[(0, utf16_len(url), url)])
        self._finish(row, state, url, body, from_me)
        self._remember(state, Target(row[C["guid"]], 0, 0, utf16_len(url), f"“{url}”", False, from_me,
                                     row[C["handle_id"]] if not from_me else 0, balloon=True))
        state.last_funny = False
        return row

    def _app_balloon(self, plan: ChatPlan, state: ChatState, ns: int, from_me: bool, sender: Handle | None) -> list:
        rng = self.rng
        row = self._base(plan, ns, from_me, sender)
        if plan.kind == "group" and rng.random() < 0.6:
            question = rng.choice(('Where should we eat?', 'Which weekend works?', 'Movie pick?'))
            bundle, ldtext = POLLS, f"Poll: {question}"
            url = "data:poll"
        else:
            bundle, ldtext = APPLE_PAY, f"{SLOT_VALUES['price'][rng.randrange(8)]} with Apple Cash"
            url = "data:apple-cash"
        row[C["balloon_bundle_id"]] = bundle
        row[C["payload_data"]] = extension_payload(ldtext, url)
        row[C["reply_to_guid"]] = state.last_guid
        text = OBJECT_REPLACEMENT  # an app balloon's body is one U+FFFC without an attachment
        self._finish(row, state, text, self.bodies.plain(text), from_me)
        self._remember(state, Target(row[C["guid"]], 0, 0, 1, "a message", False, from_me,
                                     row[C["handle_id"]] if not from_me else 0, balloon=True))
        return row

    def _tapback(self, plan: ChatPlan, state: ChatState, ns: int) -> list:
        rng = self.rng
        window = state.recent[-8:]
        funny = [t for t in window if t.funny]
        target = funny[-1] if funny and rng.random() < 0.6 else window[-1 - rng.randrange(len(window))]
        from_me, sender = self._reactor(plan, state, target)
        if target.funny and rng.random() < 0.75:
            kind = 3
        else:
            kind = rng.choices(range(7), TAPBACK_WEIGHTS)[0]
        emoji = TAPBACK_EMOJI[rng.randrange(len(TAPBACK_EMOJI))] if kind == 6 else None
        row = self._reaction_row(plan, state, ns, from_me, sender, target, 2000 + kind, emoji)
        state.reactions.append((target, kind, from_me, sender.rowid if sender else 0, emoji))
        if len(state.reactions) > 30:
            del state.reactions[:10]
        return row

    def _tapback_removal(self, plan: ChatPlan, state: ChatState, ns: int) -> list:
        target, kind, from_me, sender_rowid, emoji = state.reactions.pop(self.rng.randrange(len(state.reactions)))
        sender = next((h for h in plan.members + plan.joiners if h.rowid == sender_rowid), None)
        if sender is None:
            from_me = True
        return self._reaction_row(plan, state, ns, from_me, sender, target, 3000 + kind, emoji)

    def _reactor(self, plan: ChatPlan, state: ChatState, target: Target) -> tuple[bool, Handle | None]:
        if plan.kind != "group":
            return (not target.from_me), (None if not target.from_me else plan.members[0])
        others = [h for h in state.members if h.rowid != target.sender]
        if target.from_me or not others or self.rng.random() < 0.3:
            if others and target.from_me:
                return False, others[self.rng.randrange(len(others))]
            return True, None
        return False, others[self.rng.randrange(len(others))]

    def _reaction_row(
        self, plan: ChatPlan, state: ChatState, ns: int, from_me: bool, sender: Handle | None, target: Target,
        kind_code: int, emoji: str | None,
    ) -> list:
        row = self._base(plan, ns, from_me, sender)
        kind = kind_code % 1000
        if kind_code >= 3000:
            verb = f"Removed {emoji} from" if kind == 6 else TAPBACK_REMOVALS[kind]
        else:
            verb = f"Reacted {emoji} to" if kind == 6 else TAPBACK_VERBS[kind]
        text = f"{verb} {target.quote}"
        row[C["associated_message_guid"]] = f"bp:{target.guid}" if target.balloon else f"p:{target.part}/{target.guid}"
        row[C["associated_message_type"]] = kind_code
        row[C["associated_message_range_location"]] = target.start
        row[C["associated_message_range_length"]] = target.length
        row[C["associated_message_emoji"]] = emoji
        self._finish(row, state, text, self.bodies.plain(text), from_me)
        self.stats.reactions += 1
        return row

    def _event(self, plan: ChatPlan, state: ChatState, ns: int, payload: tuple) -> list:
        kind, value = payload
        from_me = self.rng.random() < 0.4 or not state.members
        actor = None if from_me else state.members[self.rng.randrange(len(state.members))]
        row = self._base(plan, ns, from_me, actor)
        row[C["message_summary_info"]] = None
        row[C["part_count"]] = None
        if kind == "rename":
            row[C["item_type"]] = 2
            row[C["group_title"]] = value
        else:
            row[C["item_type"]] = 1
            row[C["group_action_type"]] = 0 if kind == "join" else 1
            row[C["other_handle"]] = value.rowid
            if kind == "join" and value not in state.members:
                state.members.append(value)
            elif kind == "leave" and value in state.members and len(state.members) > 1:
                state.members.remove(value)
        state.last_guid = row[C["guid"]]
        return row

    def _malformed(self, plan: ChatPlan, state: ChatState, ns: int, kind: str, batch: Batch) -> list:
        rng = self.rng
        from_me = False
        sender = plan.members[0] if plan.members else None
        row = self._base(plan, ns, from_me, sender)
        text = self.corpus.line(rng, "plans", state.names).text
        row[C["text"]] = None
        if kind == "seconds":  # before High Sierra dates were seconds; text only, no body
            row[C["date"]] = ns // NS
            row[C["date_read"]] = row[C["date_read"]] // NS if row[C["date_read"]] else 0
            row[C["text"]] = text
            row[C["message_summary_info"]] = None
            row[C["part_count"]] = None
            row[C["version"]] = 1
        elif kind == "zero_date":
            row[C["date"]] = 0
            row[C["attributedBody"]] = self.bodies.plain(text)
        elif kind == "random_body":
            row[C["attributedBody"]] = random_bytes(rng, rng.randrange(24, 160))
        elif kind == "truncated_body":
            blob = self.bodies.plain(text)
            row[C["attributedBody"]] = blob[: len(blob) // 2]
        elif kind == "bad_handle":
            row[C["handle_id"]] = self.missing_handle
            row[C["attributedBody"]] = self.bodies.plain(text)
        else:  # "orphan": a message in no chat
            row[C["attributedBody"]] = self.bodies.plain(text)
        self.stats.malformed += 1
        return row


def _typo(rng: random.Random, text: str) -> str:
    """An earlier version of `text`: a word misspelled, or the last word different."""
    words = list(_WORD.finditer(text))
    if words:
        match = words[rng.randrange(len(words))]
        word = match.group()
        i = rng.randrange(1, len(word) - 2)
        wrong = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if wrong != word:
            return text[: match.start()] + wrong + text[match.end():]
    return text + rng.choice((" lol", "!!", " ?", " tmrw"))
