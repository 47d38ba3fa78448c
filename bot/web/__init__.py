"""HTTP mode: the Bolt app behind waitress, at /slack/events, plus GET /healthz.

Bolt's own `app.start()` is a single-threaded development server whose p99 under 20
concurrent requests is about a second; waitress with enough threads keeps acks fast.

The URL is public, so strangers shape what arrives. Every request to /slack/events
passes bot.web.request_guard first (size cap, signature on the raw bytes, shape) and
reaches Bolt already parsed (bot.web.bolt_adapter: Bolt's adapter, minus a second parse;
the app is built without Bolt's own, repeated, signature check). Slow or
idle clients are bounded here, in the connection layer, where waitress buffers requests
before any worker thread sees them: a connection must deliver a whole request within
REQUEST_DEADLINE seconds (of its accept, or of its previous answer), one peer holds at
most MAX_CONNECTIONS_PER_PEER connections, and the server as a whole CONNECTION_LIMIT,
so a few hundred trickling or idle sockets never stop /healthz or Slack's requests.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from bot.web.bolt_adapter import ParsedOnceHandler
from bot.web.request_guard import MAX_BODY_BYTES, guarded

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_THREADS = 32
REQUEST_DEADLINE = 10.0  # seconds to send a whole request; Slack sends one in milliseconds
# Behind a platform's router every connection comes from the router: keep this well above
# the concurrency Slack itself produces there.
MAX_CONNECTIONS_PER_PEER = 64
CONNECTION_LIMIT = 2000  # waitress's default, 100, is what 100 idle sockets exhausted

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


Health = Callable[[], dict[str, str]]


def _healthy() -> dict[str, str]:
    return {"status": "ok"}


def wsgi_app(app: App | None, *, path: str = EVENTS_PATH, signing_secret: str | None = None,
             health: Health = _healthy) -> WSGIApp:
    """A WSGI application: Bolt at `path` behind bot.web.request_guard, GET /healthz,
    404 elsewhere. `signing_secret` defaults to the one the app was built with.

    /healthz answers 200 with JSON from `health()`: `status` ("ok", or "degraded" while
    the database does not answer: the replica still acknowledges Slack and tells people
    to try again, so a load balancer should keep sending it traffic), and from `serve`
    also `role` ("single", "leader" or "follower") and `database`.

    Built with app=None it answers 503 `{"status": "starting"}` (health check and Slack
    alike) until `application.ready(app, health)`: `serve` binds its port at once (a
    platform kills a web process that binds late) while it opens the store and waits
    for Slack."""
    state: dict[str, Any] = {}

    def ready(app: App, health: Health = health) -> None:
        secret = signing_secret if signing_secret is not None else getattr(
            app, "_signing_secret", "")  # Bolt keeps it only there; it verifies with it too
        state.update(slack=guarded(ParsedOnceHandler(app, path=path), secret or ""),
                     health=health)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
        if "slack" not in state:
            body = b'{"status": "starting"}'
            start_response("503 Service Unavailable", [
                ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("Retry-After", "5")])
            return [body]
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in (
                "GET", "HEAD"):
            body = json.dumps(state["health"]()).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") != path:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", "9")])
            return [b"not found"]
        return state["slack"](environ, start_response)

    if app is not None:
        ready(app)
    application.ready = ready  # type: ignore[attr-defined]
    return application


class _GuardedChannel(HTTPChannel):
    """A waitress connection that counts against its peer's share and has a deadline."""

    server: _GuardedServer

    def __init__(self, server: _GuardedServer, sock: Any, addr: Any, adj: Adjustments,
                 map: Any = None) -> None:  # noqa: A002 - waitress's own parameter name
        super().__init__(server, sock, addr, adj, map=map)
        self.peer = str(addr[0]) if isinstance(addr, tuple) else str(addr)
        self.waiting_since = time.monotonic()
        self._counted = server.admit(self)

    def del_channel(self, map: Any = None) -> None:  # noqa: A002
        if self._counted:
            self._counted = False
            self.server.release(self)
        super().del_channel(map)


class _GuardedServer(TcpWSGIServer):
    channel_class = _GuardedChannel

    def __init__(self, application: WSGIApp, *, adj: Adjustments, request_deadline: float,
                 max_per_peer: int) -> None:
        self.request_deadline = request_deadline
        self.max_per_peer = max_per_peer
        self.peers: Counter[str] = Counter()
        self._crowded: set[str] = set()  # peers told about, until they drop below the cap
        super().__init__(application, adj=adj)

    def admit(self, channel: _GuardedChannel) -> bool:
        """Count a new connection; close it at once when its peer holds too many."""
        if self.peers[channel.peer] >= self.max_per_peer:
            if channel.peer not in self._crowded:
                self._crowded.add(channel.peer)
                log.warning("refusing connections from %s: it holds %d open (limit %d)",
                            channel.peer, self.peers[channel.peer], self.max_per_peer)
            channel.will_close = True
            return False
        self.peers[channel.peer] += 1
        return True

    def release(self, channel: _GuardedChannel) -> None:
        self.peers[channel.peer] -= 1
        if self.peers[channel.peer] <= 0:
            del self.peers[channel.peer]
        if self.peers[channel.peer] < self.max_per_peer // 2:
            self._crowded.discard(channel.peer)

    def maintenance(self, now: float) -> None:
        """waitress's idle check, plus: a connection not being answered must deliver its
        whole request within the deadline, however steadily it trickles bytes."""
        super().maintenance(now)
        clock = time.monotonic()
        slow = 0
        for channel in list(self.active_channels.values()):
            if not isinstance(channel, _GuardedChannel):
                continue
            if channel.requests:
                channel.waiting_since = clock  # being answered: its clock restarts after
            elif clock - channel.waiting_since > self.request_deadline and not (
                    channel.will_close):
                channel.will_close = True
                slow += 1
        if slow:
            log.info("closed %d connection(s) that sent no whole request within %g s",
                     slow, self.request_deadline)


class WebServer:
    """waitress serving the app; `start()` runs it on a thread (tests, benchmarks),
    `serve_forever()` in the calling thread (python -m bot serve)."""

    def __init__(self, app: App | None, *, host: str = "0.0.0.0", port: int = 3000,
                 threads: int = DEFAULT_THREADS, request_deadline: float = REQUEST_DEADLINE,
                 max_connections_per_peer: int = MAX_CONNECTIONS_PER_PEER,
                 connection_limit: int = CONNECTION_LIMIT, health: Health = _healthy
                 ) -> None:
        self.app = app
        adj = Adjustments(
            host=host, port=port, threads=threads,
            # Slack retries after 3 s; a deep backlog beats refused connections in a burst.
            backlog=1024, ident="earshot", clear_untrusted_proxy_headers=True,
            # waitress answers 413 from the headers alone, before buffering any body.
            max_request_body_size=MAX_BODY_BYTES, connection_limit=connection_limit,
            # Deadlines are checked every second (idle keep-alive sockets too).
            cleanup_interval=1, channel_timeout=int(max(request_deadline, 30)),
            # select() cannot watch a descriptor above 1023; hundreds of sockets can be open.
            asyncore_use_poll=True,
        )
        # Binds the port now (OSError if it is taken). With app=None the server answers
        # 503 "starting" until ready(app).
        self._wsgi = wsgi_app(app, health=health)
        self.server = _GuardedServer(self._wsgi, adj=adj,
                                     request_deadline=request_deadline,
                                     max_per_peer=max_connections_per_peer)
        self._thread: threading.Thread | None = None

    def ready(self, app: App, health: Health | None = None) -> None:
        """Start handing requests to `app` (and health checks to `health`)."""
        self.app = app
        if health is None:
            self._wsgi.ready(app)  # type: ignore[attr-defined]
        else:
            self._wsgi.ready(app, health)  # type: ignore[attr-defined]

    @property
    def port(self) -> int:
        return int(self.server.effective_port)  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        log.info("serving Slack events on port %s at %s (health check: GET %s)", self.port,
                 EVENTS_PATH, HEALTH_PATH)
        self.server.run()

    def start(self) -> WebServer:
        log.info("serving Slack events on port %s at %s (health check: GET %s)", self.port,
                 EVENTS_PATH, HEALTH_PATH)
        self._thread = threading.Thread(target=self.server.run, name="earshot-web",
                                        daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C and SIGTERM still interrupt (a bare join
        would not)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving: sockets are closed inside waitress's own loop thread (a thunk on
        its trigger), which then ends because nothing is left to watch."""
        server = self.server

        def close_all() -> None:
            for channel in list(server._map.values()):  # type: ignore[union-attr]
                try:
                    channel.close()
                except OSError:
                    pass

        if self._thread is not None and self._thread.is_alive():
            try:
                server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
                self._thread.join(5)
            except OSError:  # the loop closed its trigger on the way out: close here
                close_all()
        else:
            close_all()
        self._thread = None
        server.task_dispatcher.shutdown(timeout=2)  # type: ignore[union-attr]


def serve(app: App, port: int, *, host: str = "0.0.0.0", threads: int = DEFAULT_THREADS,
          health: Health = _healthy) -> None:
    """Serve `app` over HTTP until interrupted; then stop taking connections and give
    requests already being answered a moment to finish."""
    server = WebServer(app, host=host, port=port, threads=threads, health=health)
    try:
        server.serve_forever()
    finally:
        server.stop()
