"""A local source API that misbehaves on purpose: huge posts, trickled or endless bodies.

Each route is a function given the request handler, so a test scripts exactly what the
"API" sends and how slowly. Served on a free port by a threading server, so one stuck
connection never blocks another.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Route = Callable[[BaseHTTPRequestHandler], None]


class SourceStandIn:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.stopped = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stand_in.requests.append(self.path)
                route = stand_in.routes.get(urlsplit(self.path).path)
                if route is None:
                    send(self, 404, b"{}")
                    return
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on us, as it should

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def page_param(handler: BaseHTTPRequestHandler) -> str:
    return parse_qs(urlsplit(handler.path).query).get("page", ["0"])[0]


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def hn_hit(object_id: int, text: str, *, author: str = "someone", title: str | None = None,
           created: int = 1795435020) -> dict[str, Any]:
    """One Algolia Hacker News comment hit, shaped like the recorded ones."""
    return {"created_at": "2026-11-23T11:57:00Z", "title": title, "url": None,
            "author": author, "comment_text": text, "story_id": 46010000,
            "story_title": title or "Acme raises prices again", "story_url": None,
            "parent_id": 46010500, "created_at_i": created, "objectID": str(object_id),
            "_tags": ["comment"]}


def hn_pages(*hits: dict[str, Any]) -> Route:
    """Page 0 carries `hits`; every later page is empty."""
    first = json.dumps({"hits": list(hits), "nbPages": 1}).encode()
    empty = json.dumps({"hits": [], "nbPages": 1}).encode()

    def route(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, first if page_param(handler) == "0" else empty)

    return route


def trickle(stand_in: SourceStandIn, every: float = 1.0) -> Route:
    """Headers promise a body, then one byte every `every` seconds until stopped."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(b"{")
        handler.wfile.flush()
        while not stand_in.stopped.wait(every):
            handler.wfile.write(b" ")
            handler.wfile.flush()

    return route


def endless(stand_in: SourceStandIn, chunk: int = 1 << 16) -> Route:
    """A chunked body that never ends (whitespace inside a JSON object)."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        data = b" " * chunk
        frame = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        handler.wfile.write(b"1\r\n{\r\n")
        while not stand_in.stopped.is_set():
            handler.wfile.write(frame)
        time.sleep(0)

    return route
