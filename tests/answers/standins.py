"""Local stand-ins for the source write APIs (Mastodon, Bluesky, X), for tests.

One ThreadingHTTPServer on 127.0.0.1:0 that answers the documented write endpoints the
way the real services do, records every request (path, headers, JSON body), and
misbehaves on demand: `fail_next(path, status=500)` or `fail_next(path, hang=2)`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MASTODON_TOKEN = "masto-token"
X_TOKEN = "x-user-token"
BSKY_HANDLE = "acme.bsky.social"
BSKY_PASSWORD = "app-pass-1234"
BSKY_DID = "did:plc:acme123"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any  # the JSON body of a POST, the query of a GET
    method: str = "POST"


class WriteStandIn:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self._ids = itertools.count(1001)
        self.idempotent: dict[str, dict[str, Any]] = {}  # Mastodon Idempotency-Key -> status
        self.jwt_generation = 1
        # Bluesky posts getPosts knows: uri -> {"cid", "root": {"uri", "cid"} | None};
        # an unknown uri is answered as a top-level post with a made-up cid.
        self.bsky_posts: dict[str, dict[str, Any]] = {}
        self.bsky_missing: set[str] = set()  # uris getPosts does not find (deleted posts)
        self.server: ThreadingHTTPServer | None = None

    # --- control -------------------------------------------------------------------
    def start(self) -> WriteStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                split = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                status, answer = standin.handle(split.path, dict(self.headers), query,
                                                method="GET")
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                status, answer = standin.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, path: str, *, status: int = 500, hang: float = 0.0,
                  body: Any = None, times: int = 1) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(
                [{"status": status, "hang": hang, "body": body}] * times)

    def to(self, suffix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    # --- the APIs ------------------------------------------------------------------
    def handle(self, path: str, headers: dict[str, str], body: Any, method: str = "POST"
               ) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(Request(path, headers, body, method))
            faults = self.faults.get(path) or []
            fault = faults.pop(0) if faults else None
        if fault:
            if fault["hang"]:
                time.sleep(fault["hang"])
            else:
                return fault["status"], fault["body"] or {"error": "stand-in failure"}
        auth = headers.get("Authorization", "")
        if path == "/api/v1/statuses":
            return self._mastodon(auth, headers, body)
        if path == "/2/tweets":
            return self._x(auth, body)
        if path == "/xrpc/com.atproto.server.createSession":
            return self._bsky_session(body)
        if path == "/xrpc/com.atproto.repo.createRecord":
            return self._bsky_create(auth, body)
        if path == "/xrpc/app.bsky.feed.getPosts" and method == "GET":
            return self._bsky_get_posts(auth, body)
        return 404, {"error": "not found"}

    def _mastodon(self, auth: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if auth != f"Bearer {MASTODON_TOKEN}":
            return 401, {"error": "The access token is invalid"}
        if not isinstance(body, dict) or not body.get("status"):
            return 422, {"error": "Validation failed: Text can't be blank"}
        key = headers.get("Idempotency-Key")
        with self.lock:
            if key and key in self.idempotent:
                return 200, self.idempotent[key]
            sid = str(next(self._ids))
            status = {"id": sid, "url": f"{self.url}/@acme/{sid}",
                      "content": body["status"], "in_reply_to_id": body.get("in_reply_to_id")}
            if key:
                self.idempotent[key] = status
        return 200, status

    def _x(self, auth: str, body: Any) -> tuple[int, Any]:
        if auth != f"Bearer {X_TOKEN}":
            return 401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}
        if not isinstance(body, dict) or not body.get("text"):
            return 400, {"title": "Invalid Request", "detail": "text is required"}
        return 201, {"data": {"id": str(next(self._ids)), "text": body["text"]}}

    def _bsky_session(self, body: Any) -> tuple[int, Any]:
        if body != {"identifier": BSKY_HANDLE, "password": BSKY_PASSWORD}:
            return 401, {"error": "AuthenticationRequired",
                         "message": "Invalid identifier or password"}
        with self.lock:
            gen = self.jwt_generation
        return 200, {"accessJwt": f"jwt-{gen}", "refreshJwt": "refresh", "did": BSKY_DID,
                     "handle": BSKY_HANDLE}

    def _bsky_create(self, auth: str, body: Any) -> tuple[int, Any]:
        with self.lock:
            gen = self.jwt_generation
        if auth == f"Bearer jwt-{gen - 1}":
            return 400, {"error": "ExpiredToken", "message": "Token has expired"}
        if auth != f"Bearer jwt-{gen}":
            return 401, {"error": "AuthenticationRequired", "message": "Invalid token"}
        record = (body or {}).get("record") or {}
        if (body.get("repo") != BSKY_DID or body.get("collection") != "app.bsky.feed.post"
                or record.get("$type") != "app.bsky.feed.post" or not record.get("text")
                or not record.get("createdAt")):
            return 400, {"error": "InvalidRequest", "message": "bad record"}
        rkey = f"3k{next(self._ids)}"
        return 200, {"uri": f"at://{BSKY_DID}/app.bsky.feed.post/{rkey}",
                     "cid": f"bafyrei{rkey}"}

    def _bsky_get_posts(self, auth: str, query: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            gen = self.jwt_generation
        if auth != f"Bearer jwt-{gen}":
            return 401, {"error": "AuthenticationRequired", "message": "Invalid token"}
        uri = query.get("uris", "")
        if uri in self.bsky_missing:
            return 200, {"posts": []}
        known = self.bsky_posts.get(uri) or {"cid": "bafyauto" + uri[-4:], "root": None}
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": "original"}
        if known.get("root"):
            record["reply"] = {"root": known["root"], "parent": known["root"]}
        return 200, {"posts": [{"uri": uri, "cid": known["cid"], "record": record}]}
