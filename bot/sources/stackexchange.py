"""Stack Exchange: questions mentioning the brand on one configured site.

Uses `/search/advanced` (`q=<term>`, `site=`, `fromdate=`, `sort=creation`) with the
built-in `withbody` filter, one query per brand term because the API has no OR.
Results are read oldest-first (`order=asc`) so a poll cut short by the page cap or a
`backoff` can return what it has with a cursor at the last item actually read: the next
poll continues from there and nothing is skipped.

Quotas: 300 requests/day per IP without a key, 10,000 with one (`key_env`). Every
response may carry `backoff` (seconds before the next call of that method): it is
honoured in this process through the pacer and across restarts through the cursor.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import reach
from bot.mention import Mention
from bot.sources.base import (
    ITEM_ERRORS,
    FetchResult,
    RateLimited,
    Source,
    SourceError,
    brand_terms,
    epoch_to_utc,
    html_to_text,
    remember,
)

FIRST_RUN_WINDOW = timedelta(hours=24)
# The search index lags behind new posts; re-read this much before the cursor and drop
# what was already returned (by id).
OVERLAP = timedelta(minutes=10)
PAGE_SIZE = 100
# Stack Exchange sites whose posts are in one language other than English.
_SITE_LANGUAGES = {"pt.stackoverflow": "pt", "ru.stackoverflow": "ru",
                   "es.stackoverflow": "es", "ja.stackoverflow": "ja"}
_THROTTLE_SECONDS = re.compile(r"(\d+)\s*seconds")


class StackExchangeSource(Source):
    name = "stackexchange"
    # The API bans clients over 30 requests/s; the daily quota is the real limit.
    min_interval = 0.2
    max_pages = 5  # per term and poll

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When the API's last `backoff` (or spent quota) ends, kept for the cursor so
        # a restart honours it too.
        self._backoff_until: datetime | None = None

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        cursor = cursor or {}
        now = self.clock()
        self._respect_stored_backoff(cursor, now)
        if self.pacer.remaining() > self.pacer.max_inline_wait:  # a backoff from last poll
            wait = self.pacer.remaining()
            raise RateLimited(f"stackexchange: backing off for another {wait:.0f} s", wait)
        site = self.options.get("site") or "stackoverflow"
        old_terms: dict[str, Any] = cursor.get("terms") or {}
        new_terms: dict[str, Any] = {}
        mentions: dict[str, Mention] = {}
        for term in brand_terms(self.brand):
            if self.pacer.remaining() > self.pacer.max_inline_wait:
                # Backing off: this term keeps its position and is searched next poll.
                if term in old_terms:
                    new_terms[term] = old_terms[term]
                continue
            state, found = self._search_term(site, term, old_terms.get(term), now)
            new_terms[term] = state
            for mention in found:
                mentions.setdefault(mention.native_id, mention)
        out: dict[str, Any] = {"terms": new_terms}
        if self._backoff_until is not None and self._backoff_until > self.clock():
            out["backoff_until"] = self._backoff_until.isoformat()
        return FetchResult(list(mentions.values()), out)

    # -- one term ------------------------------------------------------------------------

    def _search_term(self, site: str, term: str, state: dict[str, Any] | None,
                     now: datetime) -> tuple[dict[str, Any], list[Mention]]:
        if state:
            since = int(state["since"])
            seen = list(state.get("seen") or [])
        else:
            since = int((now - FIRST_RUN_WINDOW).timestamp())
            seen = []
        seen_set = set(seen)
        fromdate = since - int(OVERLAP.total_seconds())
        found: list[Mention] = []
        newest = since
        for page in range(1, self.max_pages + 1):
            if page > 1 and self.pacer.remaining() > self.pacer.max_inline_wait:
                # A long backoff mid-way: results are oldest-first, so stopping here
                # and saving the position loses nothing.
                self.log.info("stackexchange: backoff of %.0f s; continuing next poll",
                              self.pacer.remaining())
                break
            data = self._call(site, term, fromdate, page)
            items = data.get("items") or []
            if not isinstance(items, list):
                raise SourceError("stackexchange: unexpected response ('items' is not a list)")
            for item in items:
                native_id = str(item.get("question_id", "")) if isinstance(item, dict) else ""
                if not native_id or native_id in seen_set:
                    continue
                seen_set.add(native_id)  # a malformed item is remembered too: not retried
                seen.append(native_id)
                try:
                    created = int(item.get("creation_date") or 0)
                    mention = self._mention(item, site)
                except ITEM_ERRORS as exc:
                    self.skip_item(native_id, exc)
                    continue
                newest = max(newest, created)
                found.append(mention)
            if not data.get("has_more"):
                break
        else:
            self.log.info("stackexchange: page cap reached for %r; continuing next poll", term)
        return {"since": newest, "seen": remember([], seen)}, found

    def _call(self, site: str, term: str, fromdate: int, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "site": site, "q": term, "fromdate": fromdate, "sort": "creation",
            "order": "asc", "filter": "withbody", "pagesize": PAGE_SIZE, "page": page,
        }
        key = self.settings.credentials.get("key_env")
        if key:
            params["key"] = key
        # Errors come back as HTTP 400 with a JSON body (error_id, error_name): read it.
        data = self.get_json(f"{self.base_url}/search/advanced", params=params,
                             allow=(400,))
        if not isinstance(data, dict):
            raise SourceError("stackexchange: unexpected response (not a JSON object)")
        if "error_id" in data:
            self._raise_api_error(data)
        backoff = data.get("backoff")
        if isinstance(backoff, int | float) and backoff > 0:
            self._hold(float(backoff))
        if data.get("quota_remaining") == 0:
            # The daily quota is spent; it comes back at midnight UTC.
            self._hold(_seconds_to_midnight(self.clock()))
            self.log.warning("stackexchange: daily quota spent (set key_env for 10,000/day)")
        return data

    def _hold(self, seconds: float) -> None:
        self.pacer.hold(seconds)
        until = self.clock() + timedelta(seconds=seconds)
        if self._backoff_until is None or until > self._backoff_until:
            self._backoff_until = until

    def _raise_api_error(self, data: dict[str, Any]) -> None:
        name = data.get("error_name", "")
        message = data.get("error_message", "")
        if name == "throttle_violation" or data.get("error_id") == 502:
            match = _THROTTLE_SECONDS.search(message)
            wait = float(match[1]) if match else 60.0
            self._hold(wait)
            raise RateLimited(f"stackexchange: throttled: {message}", wait)
        raise SourceError(f"stackexchange: API error {data.get('error_id')} {name}: {message}")

    def _respect_stored_backoff(self, cursor: dict[str, Any], now: datetime) -> None:
        until = cursor.get("backoff_until")
        if not until:
            return
        wait = (datetime.fromisoformat(until) - now).total_seconds()
        if wait <= 0:
            return
        if wait > self.pacer.max_inline_wait:
            raise RateLimited(f"stackexchange: backoff for another {wait:.0f} s", wait)
        self.pacer.hold(wait)  # short: slept through before the first call

    def _mention(self, item: dict[str, Any], site: str) -> Mention:
        # Titles and display names are HTML-encoded ("I&#39;m"); bodies are HTML.
        title = html.unescape(item.get("title") or "")
        body = html_to_text(item.get("body") or "")
        owner = item.get("owner") or {}
        extra = {"site": site, "tags": list(item.get("tags") or []),
                 "score": item.get("score", 0)}
        reach.set_reach(extra, owner.get("reputation"), "reputation")
        return Mention(
            source=self.name,
            native_id=str(item["question_id"]),
            text=f"{title}\n\n{body}".strip(),
            url=item.get("link") or f"https://{site}.com/q/{item['question_id']}",
            created_at=epoch_to_utc(item.get("creation_date") or 0),
            author=html.unescape(owner.get("display_name") or ""),
            title=title,
            language=_SITE_LANGUAGES.get(site),
            extra=extra,
        )


def _seconds_to_midnight(now: datetime) -> float:
    now = now.astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()
