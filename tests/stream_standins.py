"""Local stand-ins for the live streams, for tests and bench/stream.py.

Real WebSocket servers (the `websockets` library, 127.0.0.1, port 0) speaking the real
message shapes:

- `JetstreamStandIn`: `/subscribe?wantedCollections=...&cursor=<time_us>` sends the
  queued events with time_us >= cursor (all of them without a cursor), then stays open
  and sends whatever is appended. Misbehaves on demand: `drop_after` (close the socket
  without a close frame after N events of the next connections), `oldest_cursor`
  (close with 1008 "cursor too old" when asked for anything older), raw frames
  (malformed JSON, invalid UTF-8, a 10 MB frame) queued like events, `not_websocket`
  (answer plain HTTP 200).
- `MastodonStreamStandIn`: the streaming WebSocket at `/api/v1/streaming` (clients
  send `{"type": "subscribe", "stream": "hashtag", "tag": ...}`; events are
  `{"stream": [...], "event": "update", "payload": "<status JSON as a string>"}`) and,
  on the same port, the REST hashtag timeline and search the gap filling reads.

    with JetstreamStandIn() as js:
        js.add_post("did:plc:abc", "3k1", "I love Acme")
        ... base_url = js.url
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

T0_US = 1_764_460_800_000_000  # 2025-11-30T00:00:00Z


@dataclass
class Raw:
    """A frame sent as is: `data` bytes as a text frame (even if not UTF-8), or str."""

    data: bytes | str
    time_us: int = 0  # where it sits in the stream (for cursors)
    binary: bool = False


class _StandIn:
    def __init__(self) -> None:
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self.connections: list[str] = []  # request paths, in order
        self.not_websocket = False
        self.stopping = False

    def start(self) -> Any:
        self._server = serve(self._handler, "127.0.0.1", 0, compression=None,
                             process_request=self._process_request, max_size=2**20,
                             ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping = True
        with self._cond:
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.socket.getsockname()[1]

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        if self.not_websocket:
            response = connection.respond(200, "<html>It works!</html>\n")
            response.headers["Content-Type"] = "text/html"
            return response
        return None

    def _handler(self, ws: ServerConnection) -> None:
        raise NotImplementedError


class JetstreamStandIn(_StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any] | Raw] = []
        self.drop_after: list[int] = []  # per next connection: events sent before dropping
        self.oldest_cursor: int | None = None
        self.sent = 0  # frames sent, all connections
        self.send_times: dict[int, float] = {}  # time_us -> perf_counter when first sent
        self.rate: float | None = None  # events per second per connection; None: no pause

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- building the stream -----------------------------------------------------------
    def next_time(self) -> int:
        last = next((_time_of(e) for e in reversed(self.events) if _time_of(e)), T0_US)
        return last + 1000

    def add(self, event: dict[str, Any] | Raw) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def add_post(self, did: str, rkey: str, text: str, *, time_us: int | None = None,
                 record: dict[str, Any] | None = None, cid: str | None = None) -> int:
        time_us = time_us or self.next_time()
        self.add(post_event(did, rkey, text, time_us, record=record, cid=cid))
        return time_us

    def add_raw(self, data: bytes | str, *, binary: bool = False) -> None:
        self.add(Raw(data, self.next_time(), binary))

    # --- serving ------------------------------------------------------------------------
    def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        self.connections.append(path)
        query = parse_qs(urlsplit(path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        if cursor is not None and self.oldest_cursor is not None and cursor < self.oldest_cursor:
            ws.close(1008, "cursor too old")
            return
        drop = self.drop_after.pop(0) if self.drop_after else None
        index = 0 if cursor is None else next(
            (i for i, e in enumerate(self.events) if _time_of(e) >= cursor), len(self.events))
        sent_here = 0
        started = time.perf_counter()
        try:
            while not self.stopping:
                with self._cond:
                    while index >= len(self.events) and not self.stopping:
                        self._cond.wait(0.2)
                    if self.stopping:
                        break
                    batch = self.events[index:]
                for event in batch:
                    if drop is not None and sent_here >= drop:
                        _abort(ws)
                        return
                    if self.rate and sent_here % 50 == 0:  # paced like a live stream
                        ahead = started + sent_here / self.rate - time.perf_counter()
                        if ahead > 0:
                            time.sleep(ahead)
                    _send(ws, event)
                    self.sent += 1
                    sent_here += 1
                    t = _time_of(event)
                    if t and t not in self.send_times:
                        self.send_times[t] = time.perf_counter()
                index += len(batch)
        except ConnectionClosed:
            return


def post_event(did: str, rkey: str, text: str, time_us: int, *,
               record: dict[str, Any] | None = None, cid: str | None = None) -> dict[str, Any]:
    """A Jetstream commit event for a created post, as Jetstream sends it."""
    rec = {"$type": "app.bsky.feed.post", "createdAt": "2025-11-30T00:00:00.000Z",
           "langs": ["en"], "text": text, **(record or {})}
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"3l{time_us:x}", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": rkey, "record": rec,
                       "cid": cid or f"bafyrei{rkey}{time_us % 100000}"}}


def _time_of(event: dict[str, Any] | Raw) -> int:
    return event.time_us if isinstance(event, Raw) else int(event.get("time_us") or 0)


def _send(ws: ServerConnection, event: dict[str, Any] | Raw) -> None:
    if isinstance(event, Raw):
        data = event.data
        if isinstance(data, bytes) and not event.binary:
            ws.send(data, text=True)  # a text frame, whatever the bytes are
        else:
            ws.send(data)
        return
    ws.send(json.dumps(event))


def _abort(ws: ServerConnection) -> None:
    """Drop the TCP connection without a close frame (a network failure)."""
    try:
        ws.socket.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    ws.socket.close()


# --- Mastodon ----------------------------------------------------------------------------


@dataclass
class _Subscriber:
    ws: ServerConnection
    streams: set[tuple[str, str]] = field(default_factory=set)  # (stream, tag or "")


class MastodonStreamStandIn(_StandIn):
    """Streaming and REST of one Mastodon instance. `statuses` are every status the
    instance has (REST answers from them); `push(status)` adds one and streams it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.statuses: list[dict[str, Any]] = []
        self.subscribers: list[_Subscriber] = []
        self.rest: list[str] = []  # REST request paths
        self.token: str | None = None  # required for the public stream when set
        self.drop_next = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, status: dict[str, Any], *, tags: list[str] | None = None,
             stream: bool = True) -> None:
        with self._cond:
            self.statuses.append(status)
        if not stream:
            return
        tags = [t.lower() for t in (tags or [t["name"] for t in status.get("tags", [])])]
        payload = json.dumps(status)
        for sub in list(self.subscribers):
            for kind, tag in list(sub.streams):
                if kind == "public" or (kind == "hashtag" and tag in tags):
                    try:
                        sub.ws.send(json.dumps({"stream": [kind] + ([tag] if tag else []),
                                                "event": "update", "payload": payload}))
                    except ConnectionClosed:
                        pass
                    break

    def send_raw(self, data: str | bytes) -> None:
        for sub in list(self.subscribers):
            try:
                sub.ws.send(data, text=True) if isinstance(data, bytes) else sub.ws.send(data)
            except ConnectionClosed:
                pass

    def drop_all(self) -> None:
        for sub in list(self.subscribers):
            _abort(sub.ws)
        self.subscribers.clear()

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket" and not self.not_websocket:
            if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
                return connection.respond(401, "This method requires an authenticated user")
            return None
        self.rest.append(request.path)
        body = self._rest(request.path)
        if body is None:
            return connection.respond(404, "not found")
        return Response(200, "OK", Headers({"Content-Type": "application/json"}),
                        json.dumps(body).encode())

    def _rest(self, path: str) -> Any:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        floor = int(query.get("min_id") or query.get("since_id") or 0)
        limit = int(query.get("limit") or 20)
        if url.path.startswith("/api/v1/timelines/tag/"):
            tag = url.path.rsplit("/", 1)[-1].lower()
            found = [s for s in self.statuses if int(s["id"]) > floor
                     and tag in [t["name"].lower() for t in s.get("tags", [])]]
            found.sort(key=lambda s: int(s["id"]))
            return list(reversed(found[:limit]))  # newest first, the page after min_id
        if url.path == "/api/v2/search":
            term = query.get("q", "").strip('"').lower()
            found = [s for s in self.statuses if term in s["content"].lower()
                     and int(s["id"]) > floor]
            found.sort(key=lambda s: -int(s["id"]))
            offset = int(query.get("offset") or 0)
            return {"statuses": found[offset:offset + limit], "accounts": [], "hashtags": []}
        return None

    def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        self.connections.append(path)
        sub = _Subscriber(ws)
        query = parse_qs(urlsplit(path).query)
        if "stream" in query:
            sub.streams.add((query["stream"][0], query.get("tag", [""])[0].lower()))
        self.subscribers.append(sub)
        try:
            for message in ws:
                data = json.loads(message)
                if data.get("type") == "subscribe":
                    sub.streams.add((data["stream"], str(data.get("tag") or "").lower()))
        except (ConnectionClosed, ValueError):
            pass
        finally:
            if sub in self.subscribers:
                self.subscribers.remove(sub)

    def wait_subscribed(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(len(s.streams) for s in self.subscribers) >= count:
                return
            time.sleep(0.01)
        raise AssertionError("no subscriber")


def status(sid: int, text: str, *, acct: str = "ann@example.social", tags: list[str] = (),
           host: str = "mastodon.example") -> dict[str, Any]:
    """A Mastodon status as the REST and streaming APIs send it."""
    return {"id": str(sid), "created_at": "2025-11-30T00:00:00.000Z",
            "uri": f"https://{host}/users/ann/statuses/{sid}",
            "url": f"https://{host}/@ann/{sid}", "content": f"<p>{text}</p>",
            "spoiler_text": "", "language": "en", "account": {"acct": acct, "username": "ann",
                                                              "display_name": "Ann"},
            "tags": [{"name": t} for t in tags], "favourites_count": 0, "reblogs_count": 0,
            "replies_count": 0}
