"""Bluesky post search (`app.bsky.feed.searchPosts`) with an app-password session.

The public host has refused unauthenticated search at times and paging needs auth, so
Earshot logs in with `com.atproto.server.createSession` (handle + app password) and
sends the access JWT as a bearer token. An expired access token is renewed with
`com.atproto.server.refreshSession`; if that fails too, it logs in again. Sessions are
kept in memory only (createSession is limited to 30 per 5 minutes and 300 per day).

One search per brand term (search syntax is Lucene-like, but boolean OR is not
promised), `sort=latest`, `since` = the newest time collected minus an overlap; ids
seen in that overlap are kept in the cursor. A burst larger than the page cap leaves a
gap (`since`..`until`) that the next poll fills first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.mention import Mention, parse_time
from bot.sources import reach_lookup
from bot.sources.base import (
    FetchResult,
    Source,
    SourceError,
    bounded_gaps,
    brand_terms,
    remember,
)

log = logging.getLogger(__name__)

POST_URL = "https://bsky.app/profile/{handle}/post/{rkey}"
PAGE_LIMIT = 100
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles takes at most 25 actors
FIRST_RUN_WINDOW = timedelta(hours=24)
OVERLAP = timedelta(minutes=15)
_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired"}


class BlueskySource(Source):
    name = "bluesky"
    min_interval = 0.2  # 3,000 requests per 5 minutes per IP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._access: str | None = None
        self._refresh: str | None = None

    # -- session ---------------------------------------------------------------------

    def _login(self) -> None:
        url = f"{self.base_url}/com.atproto.server.createSession"
        body = {"identifier": self.credential("handle_env"),
                "password": self.credential("app_password_env")}
        response = self.request("POST", url, json=body, allow=(400, 401))
        if response.status_code in (400, 401):
            raise SourceError(f"bluesky: login refused ({_xrpc_error(response)}); check the "
                              "handle and app password")
        self._store_session(self.decode_json(response))

    def _refresh_session(self) -> bool:
        if not self._refresh:
            return False
        url = f"{self.base_url}/com.atproto.server.refreshSession"
        response = self.request("POST", url, headers={
            "Authorization": f"Bearer {self._refresh}"}, allow=(400, 401))
        if response.status_code in (400, 401):
            self.log.info("bluesky: session refresh refused (%s); logging in again",
                          _xrpc_error(response))
            return False
        self._store_session(self.decode_json(response))
        return True

    def _store_session(self, data: Any) -> None:
        if not isinstance(data, dict) or not data.get("accessJwt"):
            raise SourceError("bluesky: session reply without an accessJwt")
        self._access = str(data["accessJwt"])
        self._refresh = data.get("refreshJwt") or None

    def _renew(self) -> None:
        if not self._refresh_session():
            self._login()

    def _get(self, method: str, params: dict[str, Any]) -> Any:
        if self._access is None:
            self._login()
        url = f"{self.base_url}/{method}"
        for attempt in range(2):
            response = self.request("GET", url, params=params, allow=(400, 401), headers={
                "Authorization": f"Bearer {self._access}"})
            status = response.status_code
            if status == 200:
                return self.decode_json(response)
            error = _xrpc_error(response)
            if attempt == 0 and (status == 401 or error in _AUTH_ERRORS):
                self.log.info("bluesky: token refused (%s); renewing the session", error)
                self._renew()
                continue
            raise SourceError(f"bluesky: HTTP {status} from {method}: {error}")
        raise SourceError("bluesky: a renewed session was refused too")

    def _followers(self, authors: list[str]) -> dict[str, Any]:
        """{handle or did: followersCount} from app.bsky.actor.getProfiles (25 a call);
        search results carry only the basic profile, without counts."""
        data = self._get("app.bsky.actor.getProfiles", {"actors": authors})
        found: dict[str, Any] = {}
        for profile in (data or {}).get("profiles") or []:
            if isinstance(profile, dict):
                for name in (profile.get("handle"), profile.get("did")):
                    if name:
                        found[name] = profile.get("followersCount")
        return found

    # -- polling ---------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        now = self.clock()
        if cursor:
            since = parse_time(cursor["since"])
            seen = list(cursor.get("seen", []))
            gaps = [(parse_time(lo), parse_time(hi)) for lo, hi in cursor.get("gaps", [])]
            lower = since - OVERLAP
        else:
            since = lower = now - FIRST_RUN_WINDOW
            seen, gaps = [], []
        seen_set = set(seen)
        found: dict[str, dict[str, Any]] = {}
        new_gaps: list[tuple[datetime, datetime]] = []

        def collect(lo: datetime, hi: datetime | None) -> None:
            for term in brand_terms(self.brand):
                posts, complete = self._search(term, lo, hi)
                for post in posts:
                    found.setdefault(post["uri"], post)
                if not complete and posts:
                    new_gaps.append((lo, min(_sort_at(p) for p in posts)))
                    self.log.warning("bluesky: more than %d pages for %r; the rest is "
                                     "fetched on the next poll", self.max_pages, term)

        for lo, hi in gaps:
            collect(lo, hi)
        collect(lower, None)

        newest = max([since, *(_sort_at(post) for post in found.values())])
        mentions = self.normalize_each(
            (post for uri, post in found.items() if uri not in seen_set), self._normalize,
            lambda post: post["uri"])
        reach_lookup.attach(self, "followers", self._followers,
                            batch=PROFILES_PER_CALL).fill(mentions)
        edges = {hi for _, hi in new_gaps}
        recent = [uri for uri, post in found.items()
                  if _sort_at(post) > newest - OVERLAP - timedelta(minutes=1)
                  or _sort_at(post) in edges]
        return FetchResult(mentions, {
            "since": newest.isoformat(),
            "seen": remember([s for s in seen if s not in found], recent),
            "gaps": [[lo.isoformat(), hi.isoformat()]
                     for lo, hi in bounded_gaps(new_gaps, self.name)],
        })

    def _search(self, term: str, lo: datetime, hi: datetime | None
                ) -> tuple[list[dict[str, Any]], bool]:
        params: dict[str, Any] = {"q": f'"{term}"' if " " in term else term,
                                  "sort": "latest", "since": _iso(lo), "limit": PAGE_LIMIT}
        if hi is not None:
            params["until"] = _iso(hi + timedelta(milliseconds=1))  # until is exclusive
        posts: list[dict[str, Any]] = []
        page_cursor: str | None = None
        for _page in range(self.max_pages):
            data = self._get("app.bsky.feed.searchPosts",
                             {**params, "cursor": page_cursor} if page_cursor else params)
            if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
                raise SourceError("bluesky: unexpected searchPosts reply (no 'posts' list)")
            page = [p for p in data["posts"] if isinstance(p, dict) and p.get("uri")
                    and isinstance(p.get("record"), dict) and self._dated(p)]
            posts.extend(page)
            page_cursor = data.get("cursor")
            if not data["posts"] or not page_cursor:
                return posts, True
        return posts, False

    def _dated(self, post: dict[str, Any]) -> bool:
        """True when a post has a usable time (the cursor is built from it); a post
        without one is skipped with a warning rather than failing the whole poll."""
        try:
            _sort_at(post)
        except (SourceError, ValueError, TypeError, AttributeError) as exc:
            self.skip_item(post["uri"], exc)
            return False
        return True

    def _normalize(self, post: dict[str, Any]) -> Mention | None:
        record = post["record"]
        text = _expand_links(record)
        if not text:
            return None
        author = post.get("author") or {}
        handle = author.get("handle") or author.get("did") or ""
        rkey = post["uri"].rstrip("/").rsplit("/", 1)[-1]
        langs = record.get("langs") or []
        language = langs[0].split("-")[0].lower() if langs and isinstance(langs[0], str) \
            else None
        extra = {k: post[k] for k in ("likeCount", "repostCount", "replyCount", "quoteCount")
                 if post.get(k) is not None}
        extra["uri"] = post["uri"]
        # Strong refs that a published reply needs (app.bsky.feed.post reply.root/parent).
        if post.get("cid"):
            extra["cid"] = post["cid"]
        root = (record.get("reply") or {}).get("root") or {}
        if root.get("uri") and root.get("cid"):
            extra["root_uri"], extra["root_cid"] = root["uri"], root["cid"]
        if author.get("displayName"):
            extra["display_name"] = author["displayName"]
        return Mention(
            source=self.name, native_id=post["uri"], text=text,
            url=POST_URL.format(handle=handle or author.get("did", ""), rkey=rkey),
            created_at=parse_time(record.get("createdAt") or post.get("indexedAt")),
            author=handle, title="", language=language, extra=extra)


def _sort_at(post: dict[str, Any]) -> datetime:
    """Bluesky sorts and filters on the earlier of createdAt and indexedAt."""
    times = [parse_time(t) for t in (post["record"].get("createdAt"), post.get("indexedAt"))
             if t]
    if not times:
        raise SourceError(f"bluesky: post {post.get('uri')} has no time")
    return min(times)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _expand_links(record: dict[str, Any]) -> str:
    """The post text with shortened link labels ("acme.example/st...") replaced by the
    link's full URI from the facets (facet offsets count UTF-8 bytes)."""
    text = record.get("text") or ""
    data = text.encode("utf-8")
    spans = []
    for facet in record.get("facets") or []:
        index = facet.get("index") or {}
        for feature in facet.get("features") or []:
            if feature.get("$type") == "app.bsky.richtext.facet#link" and feature.get("uri"):
                start, end = index.get("byteStart"), index.get("byteEnd")
                if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(
                        data):
                    spans.append((start, end, feature["uri"]))
    for start, end, uri in sorted(spans, reverse=True):
        label = data[start:end].decode("utf-8", "replace").rstrip(".…")
        if label and uri.split("://", 1)[-1].startswith(label.split("://", 1)[-1]):
            data = data[:start] + uri.encode("utf-8") + data[end:]
    return data.decode("utf-8", "replace").strip()


def _xrpc_error(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or response.status_code)
    return f"HTTP {response.status_code}"
