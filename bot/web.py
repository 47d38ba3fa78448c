"""HTTP mode: the Bolt app behind waitress, at /slack/events, plus GET /healthz.

Bolt's own `app.start()` is a single-threaded development server whose p99 under 20
concurrent requests is about a second; waitress with enough threads keeps acks fast.
Request signatures are checked by Bolt (401 for forged, missing or stale ones).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_THREADS = 32

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(app: App, *, path: str = EVENTS_PATH) -> WSGIApp:
    """A WSGI application: Bolt at `path`, "ok" at GET /healthz, 404 elsewhere."""
    slack = SlackRequestHandler(app, path=path)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in (
                "GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", "2")])
            return [b"ok"]
        return slack(environ, start_response)

    return application


class WebServer:
    """waitress serving the app; `start()` runs it on a thread (tests, benchmarks),
    `serve_forever()` in the calling thread (python -m bot serve)."""

    def __init__(self, app: App, *, host: str = "0.0.0.0", port: int = 3000,
                 threads: int = DEFAULT_THREADS) -> None:
        self.server = waitress.create_server(
            wsgi_app(app), host=host, port=port, threads=threads,
            # Slack retries after 3 s; a deep backlog beats refused connections in a burst.
            backlog=1024, ident="earshot", clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(target=self.server.run, name="earshot-web",
                                        daemon=True)
        self._thread.start()
        return self

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
            server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
            self._thread.join(5)
        else:
            close_all()
        self._thread = None
        server.task_dispatcher.shutdown(timeout=2)  # type: ignore[union-attr]


def serve(app: App, port: int, *, host: str = "0.0.0.0", threads: int = DEFAULT_THREADS
          ) -> None:
    """Serve `app` over HTTP until interrupted."""
    WebServer(app, host=host, port=port, threads=threads).serve_forever()
