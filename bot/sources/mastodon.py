"""Mastodon: hashtag timelines (public) and, with an access token, full-text status
search on the configured instance.

Hashtag timelines are read oldest-first from the cursor with `min_id` (the page right
after the last status collected), following the Link header's `prev` page until there
is nothing newer: a burst larger than the page cap is simply continued on the next poll.
Status search (`/api/v2/search?type=statuses`) needs a signed-in account and an
instance with search enabled; it is read newest-first (results are ordered by id) down
to the cursor, paging by offset. Search is indexed asynchronously, so it re-asks an
overlap window (Mastodon ids are Snowflake ids: milliseconds << 16; the server turns
min_id into a coarse `after:` date, so results are also filtered here by id) and skips
ids already returned. About 300 requests per 5 minutes.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from bot import reach
from bot.mention import Mention, parse_time
from bot.sources.base import (
    FetchResult,
    Source,
    SourceError,
    brand_terms,
    html_to_text,
    remember,
)

log = logging.getLogger(__name__)

PAGE_LIMIT = 40
SEARCH_OVERLAP = timedelta(minutes=10)


def snowflake_floor(when_ms: int) -> int:
    """The smallest Mastodon id for a time in milliseconds since the epoch."""
    return max(0, when_ms) << 16


class MastodonSource(Source):
    name = "mastodon"
    min_interval = 1.0  # 300 requests per 5 minutes

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        cursor = cursor or {}
        found: dict[str, dict[str, Any]] = {}
        tag_cursors: dict[str, str | None] = dict(cursor.get("tags") or {})
        for tag in self._hashtags():
            statuses, newest = self._read_tag(tag, tag_cursors.get(tag))
            for status in statuses:
                found.setdefault(str(status["id"]), status)
            tag_cursors[tag] = newest

        search_cursors: dict[str, Any] = dict(cursor.get("search") or {})
        token = self.settings.credentials.get("access_token_env")
        if token:
            for term in brand_terms(self.brand):
                statuses, state = self._search(term, token, search_cursors.get(term))
                for status in statuses:
                    found.setdefault(str(status["id"]), status)
                search_cursors[term] = state
        elif not cursor.get("noted_no_token"):
            self.log.info("mastodon: no access token configured; reading hashtag timelines "
                          "only (status search needs a signed-in account)")

        seen = list(cursor.get("seen") or [])
        seen_set = set(seen)
        mentions = self.normalize_each(
            (s for sid, s in found.items() if sid not in seen_set), self._normalize,
            lambda status: status["id"])
        return FetchResult(mentions, {
            "tags": tag_cursors,
            "search": search_cursors,
            "seen": remember(seen, sorted(found, key=int)),
            "noted_no_token": not token,
        })

    def _hashtags(self) -> list[str]:
        configured = self.options.get("hashtags") or []
        if configured:
            tags = [t.strip().lstrip("#") for t in configured]
        else:  # brand words and phrases as tags: "Acme Air" -> #acmeair
            tags = ["".join(t.split()) for t in brand_terms(self.brand)
                    if re.fullmatch(r"[\w ]+", t)]
        return list(dict.fromkeys(t.lower() for t in tags if t))

    # -- hashtag timelines ----------------------------------------------------------

    def _read_tag(self, tag: str, since: str | None
                  ) -> tuple[list[dict[str, Any]], str | None]:
        url = f"{self.base_url}/api/v1/timelines/tag/{quote(tag)}"
        if since is None:
            # First run: the newest page only, not the tag's whole history.
            statuses, _ = self._page(url, {"limit": PAGE_LIMIT})
            return statuses, _max_id(statuses, None)
        collected: list[dict[str, Any]] = []
        newest = since
        params: dict[str, Any] = {"limit": PAGE_LIMIT, "min_id": since}
        for _page in range(self.max_pages):
            statuses, links = self._page(url, params)
            statuses = [s for s in statuses if int(s["id"]) > int(newest)]
            if not statuses:
                break
            collected.extend(statuses)
            newest = _max_id(statuses, newest)
            prev_min = links.get("prev", {}).get("min_id")
            params = {"limit": PAGE_LIMIT, "min_id": prev_min or newest}
        else:
            self.log.info("mastodon: #%s has more than %d new pages; continuing next poll",
                          tag, self.max_pages)
        return collected, newest

    def _page(self, url: str, params: dict[str, Any], headers: dict[str, str] | None = None
              ) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
        response = self.request("GET", url, params=params, headers=headers)
        data = self.decode_json(response)
        if not isinstance(data, list):
            raise SourceError(f"mastodon: expected a list of statuses from {url}, "
                              f"got {type(data).__name__}")
        return _valid(data), _parse_links(response.headers.get("Link", ""))

    # -- status search --------------------------------------------------------------

    def _search(self, term: str, token: str, state: dict[str, Any] | None
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        url = f"{self.base_url}/api/v2/search"
        headers = {"Authorization": f"Bearer {token}"}
        base = {"q": f'"{term}"' if " " in term else term, "type": "statuses",
                "resolve": "false", "limit": PAGE_LIMIT}
        if state is None:
            page = self._search_page(url, base, headers)
            return page, {"newest": _max_id(page, None)}
        newest = state.get("newest")
        if newest is None:
            lower = None
        else:
            overlap = int(SEARCH_OVERLAP.total_seconds() * 1000)
            lower = str(max(0, int(newest) - snowflake_floor(overlap)))
        collected: list[dict[str, Any]] = []
        # Page with offset, not max_id: Mastodon turns min_id/max_id into after:/before:
        # dates with one-second precision, and orders results by id, newest first. New
        # results arriving meanwhile shift the offsets: that repeats items (dropped
        # below), it never skips one.
        for page_number in range(self.max_pages):
            params = {**base, "offset": page_number * PAGE_LIMIT}
            if lower is not None:
                params["min_id"] = lower
            raw = self._search_page(url, params, headers)
            page = [s for s in raw if lower is None or int(s["id"]) > int(lower)]
            collected.extend(page)
            if len(raw) < PAGE_LIMIT or len(page) < len(raw) or lower is None:
                break
        else:
            self.log.warning("mastodon: search for %r has more than %d new pages; older "
                             "ones are skipped", term, self.max_pages)
        return collected, {"newest": _max_id(collected, newest)}

    def _search_page(self, url: str, params: dict[str, Any], headers: dict[str, str]
                     ) -> list[dict[str, Any]]:
        response = self.request("GET", url, params=params, headers=headers, allow=(401, 403))
        if response.status_code in (401, 403):
            raise SourceError(f"mastodon: search refused (HTTP {response.status_code}); "
                              "check the access token and its read:search scope")
        data = self.decode_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
            raise SourceError("mastodon: unexpected search reply (no 'statuses' list)")
        return _valid(data["statuses"])

    # -- normalizing -----------------------------------------------------------------

    def _normalize(self, status: dict[str, Any]) -> Mention | None:
        body = html_to_text(status.get("content"))
        warning = (status.get("spoiler_text") or "").strip()
        text = "\n\n".join(p for p in (warning, body) if p)
        if not text:
            return None
        account = status.get("account") or {}
        acct = account.get("acct") or account.get("username") or ""
        if acct and "@" not in acct:  # a local account: make the handle global
            acct = f"{acct}@{urlsplit(self.base_url).hostname}"
        language = status.get("language")
        extra: dict[str, Any] = {"id": str(status["id"])}
        for key in ("favourites_count", "reblogs_count", "replies_count"):
            if status.get(key) is not None:
                extra[key] = status[key]
        if account.get("display_name"):
            extra["display_name"] = account["display_name"]
        reach.set_reach(extra, account.get("followers_count"), "followers")
        return Mention(
            source=self.name, native_id=status.get("uri") or str(status["id"]), text=text,
            url=status.get("url") or status.get("uri") or "",
            created_at=parse_time(status["created_at"]), author=acct, title="",
            language=language.split("-")[0].lower() if isinstance(language, str) else None,
            extra=extra)


def _valid(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if isinstance(item, dict) and str(item.get("id", "")).isdigit() and item.get(
                "created_at"):
            out.append(item)
    return out


def _max_id(statuses: list[dict[str, Any]], current: str | None) -> str | None:
    ids = [int(s["id"]) for s in statuses]
    if current is not None:
        ids.append(int(current))
    return str(max(ids)) if ids else current


def _parse_links(header: str) -> dict[str, dict[str, str]]:
    """Link: <url?max_id=1>; rel="next", <url?min_id=2>; rel="prev" -> {rel: params}."""
    out: dict[str, dict[str, str]] = {}
    for match in re.finditer(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?', header or ""):
        query = parse_qs(urlsplit(match[1]).query)
        out[match[2]] = {k: v[0] for k, v in query.items()}
    return out
