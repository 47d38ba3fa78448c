"""Reddit search with an app-only OAuth token (posts, newest first).

The keyless search.json is throttled hard and often refused, so Earshot logs in as an
app (`grant_type=client_credentials`, the client id and secret as HTTP basic auth) and
calls oauth.reddit.com with the bearer token, about 100 requests/minute. The token is
cached until shortly before it expires and fetched again on a 401.

Configured subreddits are searched together as one multireddit (`/r/a+b/search` with
`restrict_sr=1`); otherwise all of Reddit. Reddit search returns posts, not comments.
The cursor holds the newest `created_utc` collected and the ids seen in an overlap
window (search indexing lags a little). A burst larger than the page cap is resumed on the
next poll from where paging stopped (`after` is a post's fullname, so it stays valid).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from requests.auth import HTTPBasicAuth

from bot.mention import Mention
from bot.sources import reach_lookup
from bot.sources.base import (
    FetchResult,
    Source,
    SourceError,
    bounded_gaps,
    build_query,
    epoch_to_utc,
    remember,
)

log = logging.getLogger(__name__)

PUBLIC_URL = "https://www.reddit.com"
FIRST_RUN_WINDOW = timedelta(hours=24)
OVERLAP_SECONDS = 10 * 60
DELETED_AUTHORS = frozenset({"[deleted]", "[removed]"})  # no account to look up
TOKEN_MARGIN = timedelta(minutes=2)  # refresh this long before the token expires


class RedditSource(Source):
    name = "reddit"
    min_interval = 0.6  # 100 requests per minute per OAuth client

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = None
        self._token_expires: datetime | None = None

    # -- auth ------------------------------------------------------------------------

    def _access_token(self, force: bool = False) -> str:
        now = self.clock()
        if (not force and self._token and self._token_expires
                and now < self._token_expires - TOKEN_MARGIN):
            return self._token
        auth = HTTPBasicAuth(self.credential("client_id_env"),
                             self.credential("client_secret_env"))
        url = self.options.get("auth_url") or "https://www.reddit.com/api/v1/access_token"
        response = self.request("POST", url, data={"grant_type": "client_credentials"},
                                auth=auth, allow=(400, 401, 403))
        if response.status_code in (400, 401, 403):
            raise SourceError(f"reddit: the token request was refused (HTTP "
                              f"{response.status_code}); check the client id and secret")
        data = self.decode_json(response)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            error = data.get("error") if isinstance(data, dict) else None
            raise SourceError(f"reddit: no access token in the reply ({error or data!r})")
        self._token = str(token)
        self._token_expires = now + timedelta(seconds=float(data.get("expires_in") or 3600))
        return self._token

    def _search(self, params: dict[str, Any]) -> Any:
        subs = [s.strip().removeprefix("r/").strip("/") for s in
                self.options.get("subreddits") or [] if s.strip()]
        if subs:
            url = f"{self.base_url}/r/{'+'.join(subs)}/search"
            params = {**params, "restrict_sr": "1"}
        else:
            url = f"{self.base_url}/search"
        for attempt in range(2):
            headers = {"Authorization": f"bearer {self._access_token(force=attempt > 0)}"}
            response = self.request("GET", url, params=params, headers=headers, allow=(401,))
            if response.status_code != 401:
                return self.decode_json(response)
            self.log.info("reddit: token refused (401); logging in again")
        raise SourceError("reddit: a fresh token was refused too (HTTP 401)")

    def _karma(self, authors: list[str]) -> dict[str, Any]:
        """{author: total karma} from /user/<name>/about (one author per call); a
        suspended or deleted account has no karma to show."""
        (author,) = authors
        url = f"{self.base_url}/user/{quote(author, safe='')}/about"
        headers = {"Authorization": f"bearer {self._access_token()}"}
        response = self.request("GET", url, headers=headers, allow=(401, 403, 404))
        if response.status_code != 200:
            return {}
        data = (self.decode_json(response) or {}).get("data")
        if not isinstance(data, dict) or data.get("is_suspended"):
            return {}
        total = data.get("total_karma")
        if total is None and data.get("link_karma") is not None:
            total = (data.get("link_karma") or 0) + (data.get("comment_karma") or 0)
        return {author: total}

    # -- polling ---------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        now = self.clock()
        if cursor:
            newest = float(cursor["newest"])
            seen = list(cursor.get("seen", []))
            gaps = [(str(a), float(c)) for a, c in cursor.get("gaps", [])]
            cutoff = newest - OVERLAP_SECONDS
        else:
            newest = (now - FIRST_RUN_WINDOW).timestamp()
            seen, gaps = [], []
            cutoff = newest
        seen_set = set(seen)
        posts: dict[str, dict[str, Any]] = {}
        new_gaps: list[list[Any]] = []
        # Older unfinished bursts first: listings page by fullname (`after`), so the
        # place where a capped poll stopped is still valid later.
        for after, gap_cutoff in gaps:
            resume = self._page_down(after, gap_cutoff, posts)
            if resume:
                new_gaps.append([resume, gap_cutoff])
        resume = self._page_down(None, cutoff, posts)
        if resume:
            new_gaps.append([resume, cutoff])
            self.log.warning("reddit: more than %d pages of new posts; the rest is fetched "
                             "on the next poll", self.max_pages)

        mentions = self.normalize_each(
            (p for pid, p in posts.items() if pid not in seen_set), self._normalize,
            lambda post: post["id"])
        reach_lookup.attach(self, "karma", self._karma).fill(
            m for m in mentions if m.author not in DELETED_AUTHORS)
        for post in posts.values():
            newest = max(newest, float(post["created_utc"]))
        recent = [pid for pid, p in posts.items()
                  if float(p["created_utc"]) > newest - OVERLAP_SECONDS - 60]
        return FetchResult(mentions, {"newest": newest, "seen": remember(seen, recent),
                                      "gaps": bounded_gaps(new_gaps, self.name)})

    def _page_down(self, after: str | None, cutoff: float,
                   posts: dict[str, dict[str, Any]]) -> str | None:
        """Page newest-first from `after` until a post at or before `cutoff`, adding to
        `posts`. Returns the `after` to resume from if the page cap stopped it."""
        params: dict[str, Any] = {"q": build_query(self.brand), "sort": "new", "limit": 100,
                                  "type": "link", "raw_json": 1}
        for _page in range(self.max_pages):
            data = self._search({**params, "after": after} if after else params)
            children, after = _listing(data)
            for child in children:
                post = child.get("data") or {}
                if not isinstance(post, dict) or "id" not in post or "created_utc" not in post:
                    continue
                try:  # the cursor is built from it: a garbled time skips the post
                    post["created_utc"] = float(post["created_utc"])
                except (TypeError, ValueError) as exc:
                    self.skip_item(post["id"], exc)
                    continue
                if post["created_utc"] <= cutoff:
                    return None  # sorted newest first: everything after is older
                posts.setdefault(str(post["id"]), post)
            if not after or not children:
                return None
        return after

    def _normalize(self, post: dict[str, Any]) -> Mention:
        title = post.get("title") or ""
        body = post.get("selftext") or ""
        link = post.get("url") or ""
        permalink = PUBLIC_URL + (post.get("permalink") or f"/comments/{post['id']}/")
        parts = [title, body]
        if link and not post.get("is_self") and link != permalink:
            parts.append(link)
        author = post.get("author") or ""
        extra = {k: post[k] for k in ("subreddit", "score", "num_comments", "over_18")
                 if post.get(k) is not None}
        return Mention(
            source=self.name, native_id=str(post["id"]),
            text="\n\n".join(p.strip() for p in parts if p and p.strip()),
            url=permalink, created_at=epoch_to_utc(post["created_utc"]),
            author=author,
            title=title, language=None, extra=extra)


def _listing(data: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise SourceError("reddit: unexpected response (not a Listing)")
    children = data["data"].get("children")
    if not isinstance(children, list):
        raise SourceError("reddit: unexpected response (Listing without children)")
    return [c for c in children if isinstance(c, dict)], data["data"].get("after")
