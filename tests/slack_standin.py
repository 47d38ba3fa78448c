"""A local stand-in for Slack's Web API, for tests and benchmarks.

A real HTTP server (ThreadingHTTPServer on 127.0.0.1, port 0) that speaks enough of
the Web API for Earshot: it records every call, keeps the messages it was sent, and
can misbehave on demand (429 + Retry-After, 500, hanging, ok:false errors, a
per-channel rate limit for chat.postMessage). Point a client at it with
``WebClient(base_url=standin.url)`` or ``SLACK_API_URL=standin.url``.

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.messages["C1"][0]["text"] == "hi"

Run it on its own (``python tests/slack_standin.py --rate 1``) to poke at it by hand.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEAM_ID = "T001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"

# Slack's documented limits, enforced so that a message Slack would refuse fails here too.
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_BUTTON_VALUE = 2_000

# Parameters that slack_sdk may send form-encoded as JSON strings.
_JSON_PARAMS = {"blocks", "attachments", "metadata", "view", "users", "channels", "files"}


@dataclass
class Fault:
    method: str
    status: int | None = 429
    retry_after: int = 1
    times: int = 1
    hang: float = 0.0
    error: str | None = None
    channel: str | None = None
    accept: bool = False  # carry the call out first, then misbehave (Slack got it)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    # Calls unpack like the tuple (method, params, headers) of the contract.
    def __iter__(self):
        return iter((self.method, self.params, self.headers))

    def __getitem__(self, index: int) -> Any:
        return (self.method, self.params, self.headers)[index]


class _Bucket:
    """Token bucket: `burst` tokens, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """Take a token; return 0.0 on success, else the seconds until one is free."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class SlackStandIn:
    """Slack's Web API on 127.0.0.1:<free port>; see the module docstring."""

    def __init__(
        self,
        *,
        rate_per_second: float | None = None,
        burst: int = 3,
        channels: dict[str, str] | None = None,
        users: dict[str, dict[str, Any]] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        known_channels: set[str] | None = None,
        tokens: set[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Per-channel chat.postMessage limit; None = unlimited.
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.channels: dict[str, str] = dict(channels or {})  # name -> id, conversations.list
        self.users: dict[str, dict[str, Any]] = dict(users or {})  # id -> users.info "user"
        self.usergroups: dict[str, list[str]] = dict(usergroups or {})  # group id -> user ids
        # If set, posting anywhere else answers channel_not_found.
        self.known_channels = known_channels
        self.tokens = tokens  # if set, other bearer tokens answer invalid_auth
        # What apps.connections.open hands out (tests/socket_standin.py's url), if set.
        self.socket_url: str | None = None
        self.clock = clock  # wall clock for message ts
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        # files.getUploadURLExternal -> bytes POSTed to the upload URL -> completed files
        self.uploads: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.members: dict[str, set[str]] = defaultdict(set)  # channel id -> user ids
        self.rate_limited = 0  # 429s answered (injected or by the rate limit)
        self.lock = threading.RLock()
        self._faults: list[Fault] = []
        self._buckets: dict[str, _Bucket] = {}
        self._seq = itertools.count(1)
        self._last_ts = 0.0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------
    def start(self, port: int = 0) -> SlackStandIn:
        """Serve on `port` (0: a free one; a fixed one lets a test start Slack late)."""
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # a hanging request must not block stop()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="slack-standin",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        """The Web API base URL, ending in /api/."""
        return self.root + "api/"

    # --- test helpers ------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int = 1,
        times: int = 1,
        *,
        hang: float = 0.0,
        error: str | None = None,
        channel: str | None = None,
        accept: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` misbehave.

        status 429 (the default) answers ratelimited with Retry-After; other statuses
        answer that HTTP status (with `hang` and no status: 500 after the hang);
        `error` answers 200 {"ok": false, "error": error} (permanent errors such as
        channel_not_found); `hang` sleeps that long before answering
        (a client with a shorter timeout sees a timeout). `channel` limits the fault
        to calls for that channel. `accept=True` carries the call out first, as when
        Slack accepted a post but the answer never arrived.
        """
        if status is None:
            status = 500 if hang else 429
        with self.lock:
            self._faults.append(Fault(method, status, retry_after, times, hang, error,
                                      channel, accept))

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def all_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m for msgs in self.messages.values() for m in msgs]

    def posts_by_metadata(self, key: str = "outbox_id") -> dict[Any, int]:
        """How many stored messages carry each metadata event_payload[key]."""
        counts: dict[Any, int] = defaultdict(int)
        for msg in self.all_messages():
            payload = (msg.get("metadata") or {}).get("event_payload") or {}
            if key in payload:
                counts[payload[key]] += 1
        return dict(counts)

    def response_url(self, name: str = "r") -> str:
        """A response_url under the stand-in; posts to it land in `responses`."""
        return f"{self.root}response/{name}"

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.messages.clear()
            self.ephemerals.clear()
            self.views.clear()
            self.responses.clear()
            self._faults.clear()
            self._buckets.clear()
            self.rate_limited = 0

    # --- internals -----------------------------------------------------------------
    def _next_ts(self) -> str:
        with self.lock:
            ts = max(round(self.clock(), 6), round(self._last_ts + 0.000001, 6))
            self._last_ts = ts
            return f"{ts:.6f}"

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.method == method and (fault.channel is None
                                               or fault.channel == params.get("channel")):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _rate_check(self, method: str, params: dict[str, Any]) -> int:
        """0 if allowed, else Retry-After seconds (Slack sends whole seconds)."""
        if method != "chat.postMessage" or not self.rate_per_second:
            return 0
        channel = str(params.get("channel"))
        now = time.monotonic()
        with self.lock:
            bucket = self._buckets.get(channel)
            if bucket is None:
                bucket = self._buckets[channel] = _Bucket(self.rate_per_second, self.burst, now)
            wait = bucket.take(now)
        return 0 if wait == 0.0 else max(1, math.ceil(wait))

    def handle(self, method: str, params: dict[str, Any], headers: dict[str, str]
               ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (status, headers, body)."""
        with self.lock:
            self.calls.append(Call(method, params, headers))
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else params.get("token")
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if self.tokens is not None and token not in self.tokens:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.accept:
                self._dispatch(method, params)
            if fault.hang:
                self._stopping.wait(fault.hang)
            if fault.error:
                return 200, {}, {"ok": False, "error": fault.error}
            if fault.status == 429:
                with self.lock:
                    self.rate_limited += 1
                return 429, {"Retry-After": str(fault.retry_after)}, {
                    "ok": False, "error": "ratelimited"}
            if fault.status != 200:
                return fault.status, {}, {"ok": False, "error": "internal_error"}
            if fault.accept:
                return 200, {}, {"ok": True}
        retry_after = self._rate_check(method, params)
        if retry_after:
            with self.lock:
                self.rate_limited += 1
            return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
        return 200, {}, self._dispatch(method, params)

    def _dispatch(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = _METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self.lock:
            return handler(self, params)

    # --- methods ---------------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://standin.slack.com/", "team": "Stand-in",
                "user": "earshot", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID, "is_enterprise_install": False}

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _check_channel(self, params: dict[str, Any]) -> str | None:
        channel = params.get("channel")
        if not channel:
            return "channel_not_found"
        if self.known_channels is not None and channel not in self.known_channels:
            return "channel_not_found"
        return None

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        error = self._check_channel(params) or _check_content(params)
        if error:
            return {"ok": False, "error": error}
        channel = params["channel"]
        thread_ts = params.get("thread_ts")
        if thread_ts and not self._find(channel, str(thread_ts)):
            return {"ok": False, "error": "thread_not_found"}
        msg = {
            "type": "message", "ts": self._next_ts(), "channel": channel,
            "user": BOT_USER_ID, "bot_id": BOT_ID,
            "text": params.get("text", ""), "blocks": params.get("blocks"),
            "thread_ts": str(thread_ts) if thread_ts else None,
            "metadata": params.get("metadata"),
        }
        self.messages[channel].append(msg)
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": _public(msg, True)}

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        error = self._check_channel(params) or _check_content(params)
        if error:
            return {"ok": False, "error": error}
        msg = self._find(params["channel"], str(params.get("ts")))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "metadata"):
            if key in params:
                msg[key] = params[key]
        msg["edited"] = msg.get("edited", 0) + 1
        return {"ok": True, "channel": msg["channel"], "ts": msg["ts"],
                "text": msg["text"], "message": _public(msg, True)}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        error = self._check_channel(params)
        if error:
            return {"ok": False, "error": error}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        ts = self._next_ts()
        self.ephemerals.append({**params, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), str(params.get("message_ts"))
        if not channel or self._find(channel, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel,
                "permalink": f"https://standin.slack.com/archives/{channel}/p"
                             + ts.replace(".", "")}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel or (self.known_channels is not None and channel not in self.known_channels):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        meta = _truthy(params.get("include_all_metadata"))
        top = [m for m in self.messages.get(channel, [])
               if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        rows = [m for m in top if oldest < float(m["ts"]) < latest]
        rows.sort(key=lambda m: float(m["ts"]), reverse=True)  # newest first, like Slack
        return _page(rows, params, lambda m: _public(m, meta), "messages")

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), str(params.get("ts"))
        parent = self._find(channel, ts) if channel else None
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        meta = _truthy(params.get("include_all_metadata"))
        oldest = float(params.get("oldest") or 0)
        rows = [parent] + [m for m in self.messages[channel]
                           if m.get("thread_ts") == ts and m is not parent
                           and float(m["ts"]) > oldest]
        return _page(rows, params, lambda m: _public(m, meta), "messages")

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = [{"id": cid, "name": name, "is_channel": True, "is_member": True}
                for name, cid in self.channels.items()]
        return _page(rows, params, lambda r: r, "channels")

    def _view(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "views.update":
            old = next((v for v in reversed(self.views)
                        if params.get("view_id") and v["id"] == params.get("view_id")
                        or params.get("external_id")
                        and v["view"].get("external_id") == params.get("external_id")), None)
            if old is None:
                return {"ok": False, "error": "not_found"}
            view_id = old["id"]
        else:
            if method == "views.open" and not params.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view_id = f"V{len(self.views) + 1:05d}"
        self.views.append({"method": method, "id": view_id, "view": view,
                           "user_id": params.get("user_id"),
                           "trigger_id": params.get("trigger_id")})
        return {"ok": True, "view": {**view, "id": view_id, "team_id": TEAM_ID}}

    def _usergroup_users(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        out = {"id": params["user"], "team_id": TEAM_ID, "is_restricted": False,
               "is_ultra_restricted": False, "is_bot": False, "deleted": False}
        out.update(user)
        return {"ok": True, "user": out}

    def _open_dm(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users") or "").split(",")
        if len(users) != 1 or not users[0]:
            return {"ok": False, "error": "invalid_arguments"}
        if self.users and users[0] not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[0][1:], "is_im": True}}

    def _user_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user")
        by_id = {cid: name for name, cid in self.channels.items()}
        rows = [{"id": cid, "name": by_id.get(cid, cid), "is_channel": True}
                for cid, users in self.members.items() if user in users]
        return _page(rows, params, lambda r: r, "channels")

    # --- file uploads (files_upload_v2: get a URL, POST the bytes, complete) ----------
    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(params.get("length", ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not params.get("filename") or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + 1:07d}"
        self.uploads[file_id] = {"id": file_id, "filename": params["filename"],
                                 "length": length, "alt_txt": params.get("alt_txt"),
                                 "data": None}
        return {"ok": True, "upload_url": f"{self.root}upload/{file_id}", "file_id": file_id}

    def receive_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """The POST to an upload URL: (HTTP status, body) as files.slack.com answers."""
        with self.lock:
            upload = self.uploads.get(file_id)
            if upload is None:
                return 404, "Not Found"
            if len(data) != upload["length"]:
                return 400, "length mismatch"
            upload["data"] = data
        return 200, f"OK - {len(data)}"

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            upload = self.uploads.get(str((item or {}).get("id")))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            done.append({**upload, "title": item.get("title") or upload["filename"]})
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if channel:
            if thread_ts and not self._find(channel, str(thread_ts)):
                return {"ok": False, "error": "thread_not_found"}
            self.messages[channel].append({
                "type": "message", "subtype": "file_share", "ts": self._next_ts(),
                "channel": channel, "user": BOT_USER_ID, "bot_id": BOT_ID,
                "text": params.get("initial_comment", ""), "blocks": None,
                "thread_ts": str(thread_ts) if thread_ts else None, "metadata": None,
                "files": [{"id": f["id"], "name": f["filename"], "title": f["title"]}
                          for f in done]})
        for f in done:
            self.files.append({**f, "channel": channel, "thread_ts": thread_ts,
                               "initial_comment": params.get("initial_comment")})
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"],
                                       "name": f["filename"]} for f in done]}

    def record_response(self, name: str, body: Any, headers: dict[str, str]) -> None:
        with self.lock:
            self.responses.append({"name": name, "body": body, "headers": headers})


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackStandIn._auth_test,
    "apps.connections.open": SlackStandIn._connections_open,
    "chat.postMessage": SlackStandIn._post_message,
    "chat.update": SlackStandIn._update,
    "chat.postEphemeral": SlackStandIn._post_ephemeral,
    "chat.getPermalink": SlackStandIn._permalink,
    "conversations.history": SlackStandIn._history,
    "conversations.replies": SlackStandIn._replies,
    "conversations.list": SlackStandIn._conversations_list,
    "views.open": lambda s, p: s._view("views.open", p),
    "views.update": lambda s, p: s._view("views.update", p),
    "views.publish": lambda s, p: s._view("views.publish", p),
    "views.push": lambda s, p: s._view("views.push", p),
    "usergroups.users.list": SlackStandIn._usergroup_users,
    "users.info": SlackStandIn._users_info,
    "conversations.open": SlackStandIn._open_dm,
    "users.conversations": SlackStandIn._user_conversations,
    "files.getUploadURLExternal": SlackStandIn._upload_url,
    "files.completeUploadExternal": SlackStandIn._complete_upload,
}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _public(msg: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    out = {k: v for k, v in msg.items() if v is not None and k != "metadata"}
    if with_metadata and msg.get("metadata"):
        out["metadata"] = msg["metadata"]
    return out


def _page(rows: list[Any], params: dict[str, Any], render: Callable[[Any], Any],
          key: str) -> dict[str, Any]:
    limit = int(params.get("limit") or 100)
    start = int(params.get("cursor") or 0)
    chunk = rows[start:start + limit]
    more = start + limit < len(rows)
    return {"ok": True, key: [render(r) for r in chunk], "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def _check_content(params: dict[str, Any]) -> str | None:
    """The refusals Slack gives for text and blocks past its limits."""
    text, blocks = params.get("text"), params.get("blocks")
    if not text and not blocks and "metadata" not in params:
        return "no_text"
    if text and len(text) > MAX_TEXT:
        return "msg_too_long"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            return "invalid_blocks"
        texts = [block.get("text")] + list(block.get("fields") or [])
        if block["type"] == "context":
            texts += list(block.get("elements") or [])
        for t in texts:
            if isinstance(t, dict) and len(t.get("text", "")) > MAX_SECTION_TEXT:
                return "invalid_blocks"
        for element in block.get("elements") or []:
            if isinstance(element, dict) and len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
                return "invalid_blocks"
    return None


class _Handler(BaseHTTPRequestHandler):
    owner: SlackStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
        return None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path == "/_standin/state":
            # For scripts running the stand-in in another process (bench/burst.py).
            owner = self.owner
            with owner.lock:
                state = {"rate_limited": owner.rate_limited, "calls": len(owner.calls),
                         "messages": {ch: len(msgs) for ch, msgs in owner.messages.items()},
                         "posts_by_outbox_id": owner.posts_by_metadata()}
            self._send(200, {}, state)
            return
        self._answer_api(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").lower()
        path = urlsplit(self.path).path
        if path.startswith("/upload/"):
            status, text = self.owner.receive_upload(path[len("/upload/"):], raw)
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/response/"):
            try:
                body: Any = json.loads(raw or b"{}")
            except ValueError:
                body = dict(parse_qsl(raw.decode("utf-8")))
            self.owner.record_response(path[len("/response/"):], body,
                                       {k.lower(): v for k, v in self.headers.items()})
            self._send(200, {}, {"ok": True})
            return
        if "json" in ctype:
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                self._send(200, {}, {"ok": False, "error": "invalid_json"})
                return
        else:
            params = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        params.update(dict(parse_qsl(urlsplit(self.path).query)))
        self._answer_api(params)

    def _answer_api(self, params: dict[str, Any]) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            self._send(404, {}, {"ok": False, "error": "not_found"})
            return
        for key in _JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, body = self.owner.handle(path[len("/api/"):], params, headers)
        self._send(status, extra, body)

    def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the Slack Web API stand-in.")
    parser.add_argument("--rate", type=float, default=None, help="messages/s per channel")
    parser.add_argument("--burst", type=int, default=3)
    parser.add_argument("--url-file", default=None, help="write the base URL here")
    opts = parser.parse_args()
    standin = SlackStandIn(rate_per_second=opts.rate, burst=opts.burst).start()
    if opts.url_file:
        with open(opts.url_file, "w") as fh:
            fh.write(standin.url)
    print(standin.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()
