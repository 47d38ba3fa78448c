"""X (Twitter) API v2 recent search, app-only bearer token.

Reads are billed on X's paid tiers, so a first run reads one page only (the newest 100
posts of the last day), and later polls page down to `since_id` exactly (post ids are
ordered by time). A burst larger than the page cap leaves a gap (`since_id`..
`until_id`) that the next poll fills first. Retweets are left out (`-is:retweet`): they
copy a post the search already finds. Rate limits come in x-rate-limit-* headers.

Post text in API v2 is HTML-escaped (&amp; &lt; &gt;) but otherwise plain: it is
unescaped, never tag-stripped ("<3" is text, not a tag).
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import Any

from bot import reach
from bot.mention import Mention, parse_time
from bot.sources.base import (
    FetchResult,
    Source,
    SourceError,
    _snippet,
    bounded_gaps,
    build_query,
)

log = logging.getLogger(__name__)

POST_URL = "https://x.com/{username}/status/{id}"
ANON_URL = "https://x.com/i/web/status/{id}"
MAX_RESULTS = 100
FIRST_RUN_WINDOW = timedelta(hours=24)
MAX_QUERY = 512  # the query length allowed on the self-serve tiers
TWEET_FIELDS = "created_at,lang,author_id,conversation_id,note_tweet"
# Recent search reaches back 7 days, and refuses (HTTP 400) a since_id older than that:
# after a week's outage the cursor is moved to the oldest post still searchable.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=10)
SNOWFLAKE_EPOCH_MS = 1288834974657


class _StaleId(Exception):
    """X refused since_id/until_id as older than its search window."""


def _id_at(when: datetime) -> int:
    """The smallest post id X could have given a post at `when` (ids are snowflakes)."""
    return max(0, int(when.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22


class XSource(Source):
    name = "x"
    min_interval = 1.0  # 450 requests / 15 min app-wide at best; far fewer on Basic

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        token = self.credential("bearer_token_env")
        query = f"({build_query(self.brand)}) -is:retweet"
        if len(query) > MAX_QUERY:
            raise SourceError(f"x: the search query is {len(query)} characters; X allows "
                              f"{MAX_QUERY}. Use fewer or shorter brand terms")
        base = {"query": query, "max_results": MAX_RESULTS, "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id", "user.fields": "username,public_metrics"}
        headers = {"Authorization": f"Bearer {token}"}
        found: dict[str, tuple[dict[str, Any], dict[str, dict]]] = {}

        if not cursor or not cursor.get("since_id"):
            start = self.clock() - FIRST_RUN_WINDOW
            params = {**base, "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
            posts, _complete = self._search(params, headers, max_pages=1, found=found)
            newest = max((int(p["id"]) for p in posts), default=None)
            return FetchResult(self._mentions(found),
                               {"since_id": str(newest) if newest else None, "gaps": []})

        since_id = int(cursor["since_id"])
        new_gaps: list[list[str]] = []
        for lo, hi in cursor.get("gaps") or []:
            posts, complete = self._search_from(base, lo, hi, headers, found)
            if not complete and posts:
                new_gaps.append([lo, str(min(int(p["id"]) for p in posts))])
        posts, complete = self._search_from(base, str(since_id), None, headers, found)
        if not complete and posts:
            new_gaps.append([str(since_id), str(min(int(p["id"]) for p in posts))])
            self.log.warning("x: more than %d pages of new posts; the rest is fetched on "
                             "the next poll", self.max_pages)
        newest = max([since_id, *(int(p["id"]) for p in posts)])
        return FetchResult(self._mentions(found), {"since_id": str(newest),
                                                  "gaps": bounded_gaps(new_gaps, self.name)})

    def _search_from(self, base: dict[str, Any], since_id: str, until_id: str | None,
                     headers: dict[str, str],
                     found: dict[str, tuple[dict[str, Any], dict[str, dict]]]
                     ) -> tuple[list[dict[str, Any]], bool]:
        """Search (since_id, until_id); when X says the ids are older than its search
        window, search again from the oldest post it still has (what lies before is out
        of reach of recent search; the cursor moves on instead of failing forever)."""
        params = {**base, "since_id": since_id}
        if until_id:
            params["until_id"] = until_id
        try:
            return self._search(params, headers, max_pages=self.max_pages, found=found)
        except _StaleId:
            oldest = _id_at(self.clock() - SEARCH_WINDOW)
            if until_id and int(until_id) <= oldest:
                self.log.warning("x: posts %s..%s are older than recent search's 7 days; "
                                 "they cannot be fetched any more", since_id, until_id)
                return [], True
            self.log.warning("x: the cursor (%s) is older than recent search's 7 days; "
                             "reading from %s on", since_id, oldest)
            params["since_id"] = str(max(int(since_id), oldest))
            try:
                return self._search(params, headers, max_pages=self.max_pages, found=found)
            except _StaleId as exc:
                raise SourceError(f"x: search refused the ids: {exc}") from None

    def _search(self, params: dict[str, Any], headers: dict[str, str], *, max_pages: int,
                found: dict[str, tuple[dict[str, Any], dict[str, dict]]]
                ) -> tuple[list[dict[str, Any]], bool]:
        """Newest first; returns (posts, complete) and adds them to `found`."""
        posts: list[dict[str, Any]] = []
        next_token: str | None = None
        for _page in range(max_pages):
            page_params = {**params, "next_token": next_token} if next_token else params
            response = self.request("GET", f"{self.base_url}/tweets/search/recent",
                                    params=page_params, headers=headers,
                                    allow=(400, 401, 403))
            if response.status_code == 400:
                # The parameter is named in errors[].parameters/message, not in "detail".
                if "since_id" in response.text or "until_id" in response.text:
                    raise _StaleId(_snippet(response.text))
                raise SourceError(f"x: search refused (HTTP 400: {_problem(response)})")
            if response.status_code in (401, 403):
                detail = _problem(response)
                raise SourceError(f"x: search refused (HTTP {response.status_code}: {detail});"
                                  " check the bearer token and that the app's tier includes "
                                  "recent search")
            data = self.decode_json(response)
            if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
                raise SourceError("x: unexpected reply (no 'meta')")
            if "data" not in data and data.get("errors"):
                raise SourceError(f"x: search failed: {_problem(response)}")
            users = {u["id"]: u for u in (data.get("includes") or {}).get("users", [])
                     if isinstance(u, dict) and "id" in u}
            page = [p for p in data.get("data") or [] if isinstance(p, dict)
                    and str(p.get("id", "")).isdigit() and p.get("created_at")]
            for post in page:
                found.setdefault(str(post["id"]), (post, users))
            posts.extend(page)
            next_token = data["meta"].get("next_token")
            if not next_token or not page:
                return posts, True
        return posts, False

    def _mentions(self, found: dict[str, tuple[dict[str, Any], dict[str, dict]]]
                  ) -> list[Mention]:
        return self.normalize_each(found.items(), self._normalize, lambda pair: pair[0])

    def _normalize(self, pair: tuple[str, tuple[dict[str, Any], dict[str, dict]]]
                   ) -> Mention | None:
        post_id, (post, users) = pair
        note = post.get("note_tweet") or {}
        text = html.unescape(note.get("text") or post.get("text") or "").strip()
        if not text:
            return None
        user = users.get(str(post.get("author_id"))) or {}
        username = str(user.get("username") or "")
        url = (POST_URL.format(username=username, id=post_id) if username
               else ANON_URL.format(id=post_id))
        lang = post.get("lang")
        extra = {k: post[k] for k in ("author_id", "conversation_id") if k in post}
        reach.set_reach(extra, (user.get("public_metrics") or {}).get("followers_count"),
                        "followers")
        return Mention(
            source=self.name, native_id=post_id, text=text, url=url,
            created_at=parse_time(post["created_at"]), author=username, title="",
            language=lang if isinstance(lang, str) and len(lang) == 2 else None,
            extra=extra)


def _problem(response: Any) -> str:
    """The human part of an X error body (problem+json or the older errors list)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        if body.get("detail") or body.get("title"):
            return str(body.get("detail") or body.get("title"))
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("message") or errors[0])
    return f"HTTP {response.status_code}"
