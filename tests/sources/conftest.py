"""Test harness for the mention sources: a scriptable local HTTP server standing in for
each external API, plus small factories for settings.

    def test_x(api, make_settings, brand, load_fixture):
        api.add("/search_by_date", load_fixture("hackernews/page1.json"))
        api.add("/search_by_date", status=429, headers={"Retry-After": "7"})
        src = HackerNewsSource(make_settings("hackernews", api.url), brand, timeout=0.5)
        ...
        assert api.requests[0].query["query"] == ["acme"]

Responses are queued per path (method optional) and served in order; when a path's
queue is empty its `default` answers, else 404. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.settings import SOURCE_SPECS, BrandSettings, SourceSettings

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Canned:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (for timeout tests)
    # Computes the answer from the request instead (e.g. to echo a parameter).
    handler: Callable[[Recorded], Canned] | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


def _canned(body: Any = None, *, status: int = 200, headers: dict[str, str] | None = None,
            delay: float = 0.0, content_type: str | None = None,
            handler: Callable[[Recorded], Canned] | None = None) -> Canned:
    headers = dict(headers or {})
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
        headers.setdefault("Content-Type", content_type or "text/plain; charset=utf-8")
    elif body is None:
        raw = b""
    else:
        raw = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    if content_type:
        headers["Content-Type"] = content_type
    return Canned(status, raw, headers, delay, handler)


class FakeAPI:
    """A ThreadingHTTPServer on 127.0.0.1 port 0 that serves canned responses."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str | None, str], deque[Canned]] = defaultdict(deque)
        self._defaults: dict[tuple[str | None, str], Canned] = {}
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one write, without Nagle: otherwise the client's
            # delayed ACK adds 40 ms to many requests.
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(self.command, parts.path, parse_qs(parts.query,
                                                                 keep_blank_values=True),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                canned = api._next(rec)
                if canned.handler is not None:
                    canned = canned.handler(rec)
                if canned.delay:
                    time.sleep(canned.delay)
                try:
                    self.send_response(canned.status)
                    for key, value in canned.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(canned.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(canned.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away, as the test intended

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)

    def start(self) -> FakeAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, rec: Recorded) -> Canned:
        with self._lock:
            self.requests.append(rec)
            for key in ((rec.method, rec.path), (None, rec.path)):
                if self._queues[key]:
                    return self._queues[key].popleft()
            for key in ((rec.method, rec.path), (None, rec.path)):
                if key in self._defaults:
                    return self._defaults[key]
        return _canned({"error": f"no canned response for {rec.method} {rec.path}"},
                       status=404)

    def add(self, path: str, body: Any = None, *, method: str | None = None,
            **kwargs: Any) -> FakeAPI:
        """Queue one response for `path` (dict/list bodies are sent as JSON)."""
        with self._lock:
            self._queues[(method, path)].append(_canned(body, **kwargs))
        return self

    def default(self, path: str, body: Any = None, *, method: str | None = None,
                **kwargs: Any) -> FakeAPI:
        """The response for `path` whenever its queue is empty."""
        with self._lock:
            self._defaults[(method, path)] = _canned(body, **kwargs)
        return self

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests
                if r.path == path and (method is None or r.method == method)]


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    server = FakeAPI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def load_fixture() -> Callable[..., Any]:
    """load_fixture("hackernews/page1.json") -> parsed JSON (raw=True: bytes)."""

    def load(name: str, raw: bool = False) -> Any:
        data = (FIXTURES / name).read_bytes()
        return data if raw else json.loads(data)

    return load


@pytest.fixture
def brand() -> BrandSettings:
    return BrandSettings(name="Acme", terms=("Acme", '"Acme Air"', "@acmeair"))


@pytest.fixture
def make_settings() -> Callable[..., SourceSettings]:
    """make_settings(name, base_url, options={...}, credentials={...}) with the spec's
    option defaults filled in, as bot.settings would."""

    def make(name: str, base_url: str, options: dict[str, Any] | None = None,
             credentials: dict[str, str | None] | None = None,
             interval_minutes: int = 5) -> SourceSettings:
        spec = SOURCE_SPECS[name]
        opts = {**spec.option_defaults, **(options or {})}
        creds = dict(credentials or {})
        return SourceSettings(
            name=name, enabled=True, base_url=base_url.rstrip("/"),
            interval_minutes=interval_minutes, options=opts, credentials=creds,
            env_names={k: f"TEST_{k.upper()}" for k in creds})

    return make


class FakeSleep:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()
