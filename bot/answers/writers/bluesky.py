"""Publish a reply on Bluesky: com.atproto.repo.createRecord (app.bsky.feed.post).

A reply record names its parent (the post answered) and the thread's root, each as a
strong ref {uri, cid}. The Bluesky source stores them on the Mention:
`extra["uri"]`, `extra["cid"]` (the post), and `extra["root_uri"]`, `extra["root_cid"]`
when the post is itself a reply (otherwise the post is its own root).

Auth: com.atproto.server.createSession with the handle and an app password; the access
token is kept in memory and renewed once when the server says it expired.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from bot.answers.writers.base import DEFAULT_TIMEOUT, Published, PublishError, post_json
from bot.mention import utcnow

log = logging.getLogger(__name__)

WEB_URL = "https://bsky.app/profile/{actor}/post/{rkey}"


class BlueskyWriter:
    source = "bluesky"

    def __init__(self, base_url: str, handle: str, app_password: str,
                 session: requests.Session, *, timeout: float = DEFAULT_TIMEOUT,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.base_url = base_url.rstrip("/")  # the XRPC root, e.g. https://bsky.social/xrpc
        self.handle = handle
        self.app_password = app_password
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self._auth: dict[str, str] | None = None
        self._lock = threading.Lock()

    def _login(self) -> dict[str, str]:
        body = post_json(
            self.session, f"{self.base_url}/com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self.app_password},
            headers={}, timeout=self.timeout, what="Bluesky login")
        if not body.get("accessJwt") or not body.get("did"):
            raise PublishError("Bluesky login answered without a session")
        return {"jwt": str(body["accessJwt"]), "did": str(body["did"]),
                "handle": str(body.get("handle") or self.handle)}

    def _session(self, renew: bool = False) -> dict[str, str]:
        with self._lock:
            if self._auth is None or renew:
                self._auth = self._login()
            return self._auth

    def publish(self, mention: Any, text: str, *, idempotency_key: str) -> Published:
        del idempotency_key  # createRecord has none; the draft state machine guards
        extra = mention.extra or {}
        uri = extra.get("uri") or (mention.native_id if str(mention.native_id).startswith(
            "at://") else None)
        if not uri:
            raise PublishError("this Bluesky mention lacks the post's at:// uri, so a reply "
                               "cannot be threaded under it")
        parent = _ref(extra, "uri", "cid")
        root = _ref(extra, "root_uri", "root_cid")
        if parent is None or root is None:
            parent, root = self._thread_refs(str(uri), parent)
        record = {"$type": "app.bsky.feed.post", "text": text,
                  "createdAt": self.clock().isoformat().replace("+00:00", "Z"),
                  "reply": {"root": root, "parent": parent}}
        body, auth = self._call(
            lambda auth: post_json(
                self.session, f"{self.base_url}/com.atproto.repo.createRecord",
                json={"repo": auth["did"], "collection": "app.bsky.feed.post",
                      "record": record},
                headers={"Authorization": f"Bearer {auth['jwt']}"},
                timeout=self.timeout, what="Bluesky"))
        uri = str(body.get("uri") or "")
        if not uri.startswith("at://"):
            raise PublishError("Bluesky answered without the new post's uri")
        rkey = uri.rsplit("/", 1)[-1]
        return Published(url=WEB_URL.format(actor=auth["handle"] or auth["did"], rkey=rkey),
                         native_id=uri)


    def _call(self, do: Callable[[dict[str, str]], dict[str, Any]]
              ) -> tuple[dict[str, Any], dict[str, str]]:
        """Run an authenticated call; an expired access token (400 ExpiredToken or 401)
        logs in again once."""
        for attempt in range(2):
            auth = self._session(renew=attempt > 0)
            try:
                return do(auth), auth
            except PublishError as exc:
                expired = exc.status == 401 or (exc.status == 400 and "xpired" in str(exc))
                if attempt == 0 and expired:
                    continue
                raise
        raise AssertionError("unreachable")

    def _thread_refs(self, uri: str, parent: dict[str, str] | None
                     ) -> tuple[dict[str, str], dict[str, str]]:
        """The parent and root strong refs of a post, from app.bsky.feed.getPosts (used
        when the mention did not carry its cid or its thread root)."""
        def fetch(auth: dict[str, str]) -> dict[str, Any]:
            try:
                resp = self.session.get(f"{self.base_url}/app.bsky.feed.getPosts",
                                        params={"uris": uri}, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {auth['jwt']}"})
            except requests.RequestException:
                raise PublishError("Bluesky could not be reached to look up the post "
                                   f"(did not answer within {self.timeout:g} s or refused)"
                                   ) from None
            if resp.status_code >= 400:
                raise PublishError(f"Bluesky refused to look up the post: HTTP "
                                   f"{resp.status_code}", status=resp.status_code)
            try:
                return resp.json()
            except ValueError:
                raise PublishError("Bluesky answered the post lookup without JSON") from None

        body, _ = self._call(fetch)
        posts = body.get("posts") if isinstance(body, dict) else None
        post = posts[0] if isinstance(posts, list) and posts else None
        if not isinstance(post, dict) or not post.get("cid"):
            raise PublishError("the Bluesky post was not found (deleted?), so there is "
                               "nothing to reply to")
        parent = parent or {"uri": uri, "cid": str(post["cid"])}
        reply = ((post.get("record") or {}).get("reply") or {}).get("root") or {}
        root = _ref(reply, "uri", "cid") or parent
        return parent, root


def _ref(extra: dict[str, Any], uri_key: str, cid_key: str) -> dict[str, str] | None:
    uri, cid = extra.get(uri_key), extra.get(cid_key)
    if isinstance(uri, str) and uri and isinstance(cid, str) and cid:
        return {"uri": uri, "cid": cid}
    return None
