"""A local HTTP server that speaks enough of the OpenAI API for LiteLLM to talk to it for real.

    with FakeOpenAI() as fake:
        complete_json(model="openai/fake-model", api_base=fake.url, api_key="test", ...)

Endpoints: POST /v1/chat/completions (JSON, or SSE chunks with `"stream": true`), POST /v1/embeddings.

Replies are deterministic: by default a JSON object built to satisfy the JSON Schema found in the request
(the gateway sends it in a message after "JSON Schema:"), or an echo sentence when there is none; set
`responder` (request body -> str or dict) to reply anything else.

Tool calls: a responder may return `ToolCalls([("name", {args}), ...], content="")`: the reply then asks for
those tools (finish_reason "tool_calls"), streamed as OpenAI streams them (the arguments' JSON in pieces).
`tool_results(body)` reads back the tool messages a request carries.

Faults: `script(...)` queues exact outcomes for the next requests ("429", "500", "400", "401", "hang",
"malformed", "ok"); with the queue empty, `faults` draws them at random (seeded) by probability. A 429
carries `Retry-After: retry_after`. A hang holds the request for `hang_s` (past the client's timeout).
`latency_s` delays every reply. Counters: `calls` (per path), `outcomes`, `requests` (bodies),
`in_flight`, `max_in_flight`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCHEMA_MARKER = re.compile(r"JSON Schema:\s*(\{.*\})\s*$", re.DOTALL)
OUTCOMES = ("ok", "429", "500", "400", "401", "hang", "malformed")


@dataclass
class ToolCalls:
    """A reply that calls tools: (name, arguments) pairs, with optional text before them."""

    calls: list[tuple[str, dict[str, Any] | str]]
    content: str = ""

    def openai(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        seed = _completion_id(body)[-8:]
        return [{"id": f"call_{seed}_{i}", "type": "function",
                 "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                for i, (name, args) in enumerate(self.calls)]


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool messages of a request, oldest first: {tool_call_id, content (parsed JSON when it is)}."""
    out = []
    for message in body.get("messages", []):
        if message.get("role") == "tool":
            try:
                content = json.loads(message.get("content") or "")
            except (json.JSONDecodeError, TypeError):
                content = message.get("content")
            out.append({"tool_call_id": message.get("tool_call_id"), "content": content})
    return out


@dataclass
class FaultMix:
    """Probabilities of each fault on a request (the rest succeed)."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    hang: float = 0.0
    malformed: float = 0.0

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        for outcome, p in (("429", self.rate_limit), ("500", self.server_error), ("hang", self.hang),
                           ("malformed", self.malformed)):
            if roll < p:
                return outcome
            roll -= p
        return "ok"


def example_for(schema: dict[str, Any], name: str = "value", *, root: dict[str, Any] | None = None,
                _expanding: tuple[str, ...] = ()) -> Any:
    """A deterministic instance of a (simple) JSON Schema: every property, minItems items, enum[0]...

    Local references are followed: `$ref` to "#", "#/$defs/...", "#/definitions/..." or any JSON pointer
    into the schema (`root`, the outermost schema by default). A reference met again while it is being
    expanded (a recursive schema) gives the smallest instance instead: only required properties, minItems
    items (so a tree ends), the first non-recursive branch of anyOf/oneOf; a recursion that no finite
    instance can end raises ValueError.
    """
    if root is None:  # the outermost schema is where "#" points: entering it counts as expanding "#"
        root, _expanding = schema, ("#",)
    minimal = bool(_expanding) and len(set(_expanding)) < len(_expanding)  # some ref is on the path twice

    def sub(part: dict[str, Any], key: str = name) -> Any:
        return example_for(part, key, root=root, _expanding=_expanding)

    if isinstance(schema, bool):
        if not schema:
            raise ValueError("no instance validates against the schema `false`")
        return f"example {name}"
    if isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if _expanding.count(ref) >= 2:
            raise ValueError(f"$ref {ref!r} recurses without an end (no finite instance)")
        target = resolve_ref(root, ref)
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        merged = {**target, **siblings} if isinstance(target, dict) else target
        return example_for(merged, name, root=root, _expanding=(*_expanding, ref))
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("allOf"):
        rest = {key: value for key, value in schema.items() if key != "allOf"}
        return sub(_merge_all([rest, *(_deref(root, part) for part in schema["allOf"])]))
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            branches = schema[combinator]
            if minimal:  # prefer a branch that ends the recursion: null, then one without a $ref at its top
                branches = sorted(branches, key=_recursion_risk)
            failure: ValueError | None = None
            for branch in branches:
                try:
                    return sub(branch)
                except ValueError as exc:  # a branch that recurses for ever: try the next one
                    failure = failure or exc
            raise failure  # type: ignore[misc]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = "null" if minimal and "null" in kind else next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return {key: sub(part, key) for key, part in props.items() if not minimal or key in required}
    if kind == "array":
        least = int(schema.get("minItems", 0))
        count = least if minimal else max(1, least)
        return [sub(schema.get("items", {"type": "string"})) for _ in range(count)]
    if kind in ("integer", "number"):
        if "minimum" in schema:
            value = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            value = schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
        else:
            value = min(1 if kind == "integer" else 0.5, schema.get("maximum", 1))
        return math.ceil(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    least = int(schema.get("minLength", 0))
    text = f"example {name}".ljust(least, "x")
    return text[:max(least, int(schema["maxLength"]))] if "maxLength" in schema else text


def resolve_ref(root: dict[str, Any], ref: str) -> Any:
    """The part of `root` a local $ref points at ("#", "#/$defs/x", "#/definitions/x", "#/properties/a/items")."""
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, not {ref!r}")
    target: Any = root
    pointer = urllib.parse.unquote(ref[1:])
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []:
        try:
            target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"$ref {ref!r} points at nothing in the schema") from exc
    return target


def _deref(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        schema = {**resolve_ref(root, schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _merge_all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """allOf as one schema: properties and required united, other keywords from the later part."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *[r for r in value
                                                                     if r not in merged.get("required", [])]]
            else:
                merged[key] = value
    return merged


def _recursion_risk(schema: Any) -> int:
    """0: a null branch (ends any recursion), 1: no $ref at its top, 2: a $ref."""
    if not isinstance(schema, dict):
        return 1
    if schema.get("type") == "null" or ("const" in schema and schema["const"] is None):
        return 0
    return 2 if "$ref" in schema else 1


def schema_in(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema a request carries after "JSON Schema:" (latest message first), if any."""
    for message in reversed(body.get("messages", [])):
        content = message.get("content")
        if isinstance(content, str) and (match := SCHEMA_MARKER.search(content)):
            try:
                return json.loads(match.group(1))
            except json.JSONDecodeError:
                continue
    return None


def default_responder(body: dict[str, Any]) -> str | dict[str, Any]:
    schema = schema_in(body)
    if schema is not None:
        return example_for(schema)
    last = next((m.get("content") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    return f"You said: {last}. This is the fake model answering in a few words."


def count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def fake_vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [round((digest[i % len(digest)] - 127.5) / 127.5, 6) for i in range(dim)]


class FakeOpenAI:
    def __init__(self, *, latency_s: float = 0.0, faults: FaultMix | None = None, retry_after: str = "1",
                 hang_s: float = 5.0, seed: int = 0, embedding_dim: int = 8,
                 responder: Callable[[dict[str, Any]], str | dict[str, Any] | ToolCalls] | None = None) -> None:
        self.latency_s = latency_s
        self.faults = faults or FaultMix()
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.embedding_dim = embedding_dim
        self.responder = responder or default_responder
        self.calls: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The api_base for LiteLLM ("http://127.0.0.1:PORT/v1")."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- control ----------------------------------------------------------------------------------------
    def script(self, *outcomes: str) -> None:
        """Force the outcomes of the next requests, in order (then the random fault mix applies again)."""
        unknown = set(outcomes) - set(OUTCOMES)
        assert not unknown, f"unknown outcomes {unknown}; use {OUTCOMES}"
        with self._lock:
            self._script.extend(outcomes)

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.outcomes.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def _next_outcome(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.faults.draw(self._rng)

    def _enter(self, path: str, body: dict[str, Any]) -> str:
        outcome = self._next_outcome()
        with self._lock:
            self.calls[path] += 1
            self.outcomes[outcome] += 1
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return outcome

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the listen backlog: socketserver's 5 resets connections when 100 clients connect at once


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real providers: a client reuses its connections (a new TCP connection per request would
        # cost the client more CPU than the request itself). Streams and hangs close theirs.
        protocol_version = "HTTP/1.1"
        # A reply leaves in one segment, as from a real server: headers and body written unbuffered went out as
        # two small sends, and Nagle held the second until the client's delayed ACK (40 ms on every call).
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._json(400, _error("invalid JSON body", "invalid_request_error"))
                return
            path = self.path.rstrip("/")
            if path not in ("/v1/chat/completions", "/v1/embeddings"):
                self._json(404, _error(f"no route {self.path}", "invalid_request_error"))
                return
            outcome = fake._enter(path, body)
            try:
                self._serve(path, body, outcome)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout)
            finally:
                fake._leave()

        def _serve(self, path: str, body: dict[str, Any], outcome: str) -> None:
            if fake.latency_s:
                fake._stopping.wait(fake.latency_s)
            if outcome == "hang":
                self.close_connection = True
                fake._stopping.wait(fake.hang_s)
                return
            if outcome == "429":
                self._json(429, _error("Rate limit reached, slow down", "rate_limit_error", "rate_limit_exceeded"),
                           {"Retry-After": fake.retry_after})
                return
            if outcome == "500":
                self._json(500, _error("The server had an error processing your request", "server_error"))
                return
            if outcome == "400":
                self._json(400, _error("Invalid request: unsupported parameter", "invalid_request_error"))
                return
            if outcome == "401":
                self._json(401, _error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"))
                return
            if path == "/v1/embeddings":
                self._embeddings(body)
                return
            reply = fake.responder(body)
            if isinstance(reply, ToolCalls):
                if body.get("stream"):
                    self._stream(body, reply.content, reply.openai(body))
                else:
                    self._json(200, _completion(body, reply.content, reply.openai(body)))
                return
            content = reply if isinstance(reply, str) else json.dumps(reply)
            if outcome == "malformed":
                content = content[: max(1, len(content) // 2)]  # cut mid-object: not valid JSON
            if body.get("stream"):
                self._stream(body, content)
            else:
                self._json(200, _completion(body, content))

        def _embeddings(self, body: dict[str, Any]) -> None:
            texts = body.get("input", [])
            texts = [texts] if isinstance(texts, str) else texts
            data = [{"object": "embedding", "index": i, "embedding": fake_vector(str(t), fake.embedding_dim)}
                    for i, t in enumerate(texts)]
            tokens = sum(count_tokens(str(t)) for t in texts)
            self._json(200, {"object": "list", "data": data, "model": body.get("model", "fake"),
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

        def _stream(self, body: dict[str, Any], content: str, tool_calls: list[dict[str, Any]] | None = None) -> None:
            self.close_connection = True  # the end of the stream is the end of the connection (no length)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            completion_id = _completion_id(body)
            base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": body.get("model", "fake")}
            pieces = re.findall(r"\S+\s*", content) or ([content] if content or not tool_calls else [])
            self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                              "finish_reason": None}]})
            for piece in pieces:
                self._event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            for index, call in enumerate(tool_calls or []):
                arguments = call["function"]["arguments"]
                half = len(arguments) // 2
                first = {"index": index, "id": call["id"], "type": "function",
                         "function": {"name": call["function"]["name"], "arguments": arguments[:half]}}
                rest = {"index": index, "function": {"arguments": arguments[half:]}}
                for piece in (first, rest):
                    self._event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [piece]},
                                                      "finish_reason": None}]})
            reason = "tool_calls" if tool_calls else "stop"
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                self._event({**base, "choices": [], "usage": _usage(body, content)})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _completion_id(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body.get("messages", []), sort_keys=True).encode()).hexdigest()
    return f"chatcmpl-fake-{digest[:16]}"


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = sum(count_tokens(str(m.get("content") or "")) for m in body.get("messages", []))
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], content: str, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content or (None if tool_calls else content)}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": _completion_id(body), "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": _usage(body, content),
    }
