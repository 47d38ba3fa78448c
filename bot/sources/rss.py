"""RSS and Atom feeds: Google Alerts, Talkwalker Alerts, any blog or news feed.

Each feed in `options.feeds` is fetched with a conditional GET (the ETag and
Last-Modified of the last answer are kept in the cursor, per feed; 304 means nothing
new) and parsed with feedparser. Items are recognised by their guid/id *and* by their
link, so a feed that re-dates an item (same guid, new date) or re-publishes it (new
guid, same link) does not surface it again. Google Alerts links are redirects
(`https://www.google.com/url?...&url=<real>`): the real URL is used.

Feeds fail independently: a failing feed keeps its cursor and is retried next poll
while the others go on; only when every feed fails does the poll raise.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import requests

from bot.mention import Mention
from bot.sources.base import (
    ITEM_ERRORS,
    MAX_ITEMS_PER_PAGE,
    SEEN_LIMIT,
    FetchResult,
    Pacer,
    RateLimited,
    Source,
    SourceError,
    html_to_text,
    network_reason,
    rate_limit_wait,
    send_bounded,
)

FIRST_RUN_WINDOW = timedelta(hours=24)
# An item never seen before but older than this is an archive resurfacing (a feed that
# reorders, or whose old items fell out of the seen set), not news.
MAX_AGE = timedelta(days=7)
MAX_NATIVE_ID = 120  # longer guids are hashed: the id travels in Slack button values
_GOOGLE_HOST = re.compile(r"(^|\.)google\.[a-z]{2,3}(\.[a-z]{2})?$")


# A private feed URL is itself the key (Google Alerts, Talkwalker): messages and logs
# show the host and path with anything that looks like a token masked, never the query.
_TOKEN_LIKE = re.compile(r"^(?=[^/]*\d)[\w.~-]{10,}$")


def shown_url(url: str) -> str:
    """`url` for messages and logs: no query or credentials, token-like segments masked."""
    parts = urlsplit(url)
    path = "/".join("…" if _TOKEN_LIKE.match(seg) else seg for seg in parts.path.split("/"))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{path}" + ("?…" if parts.query else "")


class RSSSource(Source):
    name = "rss"
    min_interval = 1.0  # per host: many alert feeds live on one host (google.com)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host_pacers: dict[str, Pacer] = {}
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}  # feed url -> error, to log once per outage

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        old_feeds: dict[str, Any] = (cursor or {}).get("feeds") or {}
        feeds: list[str] = list(dict.fromkeys(self.options.get("feeds") or []))
        now = self.clock()
        new_feeds: dict[str, Any] = {}
        mentions: list[Mention] = []
        errors: list[SourceError] = []
        failed: list[tuple[str, SourceError]] = []
        for url in feeds:
            old = old_feeds.get(url)
            try:
                state, found = self._fetch_feed(url, old, now)
            except SourceError as exc:
                errors.append(exc)
                failed.append((url, exc))
                state = dict(old or {})
                if isinstance(exc, RateLimited):
                    state["retry_at"] = (now + timedelta(seconds=exc.retry_after)).isoformat()
                if state:
                    new_feeds[url] = state
                continue
            if url in self._failing:
                self.log.info("rss: feed %s recovered", shown_url(url))
                del self._failing[url]
            new_feeds[url] = state
            mentions.extend(found)
        every_feed_failed = bool(feeds) and len(errors) == len(feeds)
        for url, exc in failed:
            # When every feed fails the source's own error reports it (one line, not one
            # more per feed); a feed failing beside working ones is logged here.
            self._note_failure(url, exc, log=not every_feed_failed)
        if every_feed_failed:
            limited = [e for e in errors if isinstance(e, RateLimited)]
            if len(limited) == len(errors):
                wait = min(e.retry_after for e in limited)
                raise RateLimited(f"rss: every feed is rate limited; retry in {wait:.0f} s",
                                  wait)
            first = str(errors[0]).removeprefix("rss: ")
            raise SourceError(f"rss: all {len(feeds)} feed(s) failed; first: {first}")
        return FetchResult(mentions, {"feeds": new_feeds})

    # -- one feed ------------------------------------------------------------------------

    def _fetch_feed(self, url: str, old: dict[str, Any] | None, now: datetime
                    ) -> tuple[dict[str, Any], list[Mention]]:
        old = old or {}
        retry_at = old.get("retry_at")
        if retry_at:
            wait = (datetime.fromisoformat(retry_at) - now).total_seconds()
            if wait > 0:
                raise RateLimited(f"rss: {shown_url(url)} asked to wait another {wait:.0f} s", wait)
        response = self._get(url, old)
        if response.status_code == 304:
            kept = {k: v for k, v in old.items() if k != "retry_at"}
            return kept or {"seen": []}, []
        parsed = feedparser.parse(response.content, response_headers={
            "content-location": response.url or url,
            "content-type": response.headers.get("Content-Type", "application/xml")})
        if parsed.bozo and not parsed.entries:
            raise SourceError(f"rss: {shown_url(url)} is not a readable feed: "
                              f"{parsed.bozo_exception}")
        first_run = not old.get("seen") and "etag" not in old and "modified" not in old
        floor = now - (FIRST_RUN_WINDOW if first_run else MAX_AGE)
        seen = list(old.get("seen") or [])
        seen_set = set(seen)
        language = _language(parsed.feed.get("language"))
        current: dict[str, None] = {}  # keys of every entry now in the feed, in order
        found: list[Mention] = []
        if len(parsed.entries) > MAX_ITEMS_PER_PAGE:
            self.log.warning("rss: %s has %d entries; reading only the first %d",
                             shown_url(url), len(parsed.entries), MAX_ITEMS_PER_PAGE)
        for entry in parsed.entries[:MAX_ITEMS_PER_PAGE]:
            try:
                mention = self._entry(url, parsed, entry, first_run, floor, now, language,
                                      seen_set, current)
            except ITEM_ERRORS as exc:
                # One broken item must not fail the feed; its keys (when they could be
                # made) are remembered like any other's, so it is not read again.
                self.skip_item(_entry_id(entry), exc)
                continue
            if mention is not None:
                found.append(mention)
        state: dict[str, Any] = {"seen": bounded_seen(seen, list(current))}
        for header, key in (("ETag", "etag"), ("Last-Modified", "modified")):
            if response.headers.get(header):
                state[key] = response.headers[header]
        return state, found

    def _entry(self, url: str, parsed: Any, entry: Any, first_run: bool, floor: datetime,
               now: datetime, language: str | None, seen_set: set[str],
               current: dict[str, None]) -> Mention | None:
        """The mention for one feed entry, or None when it is known, too old or
        undated on a first read. Adds the entry's keys to `current` and `seen_set`."""
        try:
            link = _clean_link(entry.get("link") or "")
        except ValueError:  # a garbled link: remember the entry by its guid at least
            current.update(dict.fromkeys(_keys(entry, "")))
            raise
        keys = _keys(entry, link)
        if not keys:
            return None
        current.update(dict.fromkeys(keys))
        if any(k in seen_set for k in keys):
            return None  # re-dated or re-published: the guid or the link is known
        seen_set.update(keys)
        created = _entry_time(entry)
        if created is None and first_run:
            return None  # undated: cannot tell old from new on a first read
        if created is not None and created < floor:
            return None
        return self._mention(url, parsed, entry, link, created or now, language)

    def _get(self, url: str, old: dict[str, Any]) -> requests.Response:
        headers = {"Accept": "application/rss+xml, application/atom+xml, "
                             "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"}
        if old.get("etag"):
            headers["If-None-Match"] = old["etag"]
        if old.get("modified"):
            headers["If-Modified-Since"] = old["modified"]
        # A pacer per host, not the source's shared one: a slow or limiting host must not
        # hold back feeds on other hosts.
        self._pacer_for(url).wait(f"rss request to {urlsplit(url).netloc}")
        try:
            response = send_bounded(self.session, "GET", url, headers=headers,
                                    timeout=self.timeout, deadline=self.deadline, what="rss")
        except requests.Timeout as exc:
            raise SourceError(f"rss: timed out fetching {shown_url(url)}") from exc
        except requests.RequestException as exc:
            raise SourceError(f"rss: cannot fetch {shown_url(url)}: {network_reason(exc)}"
                              ) from exc
        status = response.status_code
        if status == 429 or (status == 503 and "Retry-After" in response.headers):
            wait = rate_limit_wait(response, self.clock())
            raise RateLimited(f"rss: {shown_url(url)} rate limited (HTTP {status})",
                              60.0 if wait is None else wait)
        if status >= 400:
            raise SourceError(f"rss: HTTP {status} from {shown_url(url)}")
        return response

    def _pacer_for(self, url: str) -> Pacer:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            if host not in self._host_pacers:
                self._host_pacers[host] = Pacer(self.pacer.min_interval, sleep=self.sleep)
            return self._host_pacers[host]

    def _note_failure(self, url: str, exc: SourceError, *, log: bool = True) -> None:
        if log and url not in self._failing:
            self.log.warning("rss: feed failing (kept its cursor, retried next poll): %s", exc)
        self._failing[url] = str(exc)

    def _mention(self, feed_url: str, parsed: Any, entry: Any, link: str,
                 created: datetime, feed_language: str | None) -> Mention:
        title = _text_field(entry, "title")
        body = ""
        if entry.get("content"):
            body = html_to_text(entry["content"][0].get("value"))
        if not body:
            body = _text_field(entry, "summary")
        native = entry.get("id") or link
        if len(native) > MAX_NATIVE_ID:
            native = "sha1:" + hashlib.sha1(native.encode()).hexdigest()[:24]
        return Mention(
            source=self.name,
            native_id=native,
            text=f"{title}\n\n{body}".strip() if body != title else title,
            url=link or feed_url,
            created_at=created,
            author=entry.get("author") or "",
            title=title,
            language=_entry_language(entry) or feed_language,
            extra={"feed": feed_url, "feed_title": parsed.feed.get("title", "")},
        )


# -- helpers (pure) --------------------------------------------------------------------


def unwrap_link(url: str) -> str:
    """The article behind a Google redirect link (Google Alerts), else the link itself."""
    parts = urlsplit(url)
    if parts.path == "/url" and _GOOGLE_HOST.search(parts.hostname or ""):
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            if query.get(key) and query[key][0].startswith(("http://", "https://")):
                return query[key][0]
    return url


def _clean_link(url: str) -> str:
    """Unwrapped, without the fragment and tracking parameters, so the same article
    reached through two alerts compares equal."""
    url = unwrap_link(url.strip())
    if not url:
        return ""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_")]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, urlencode(query), ""))


def _entry_id(entry: Any) -> str:
    """An entry's guid or link, for a log line (links may carry alert tokens: shown
    masked)."""
    try:
        if entry.get("id"):
            return str(entry["id"])[:MAX_NATIVE_ID]
        return shown_url(str(entry.get("link") or "")) or "?"
    except Exception:  # noqa: BLE001
        return "?"


def _keys(entry: Any, link: str) -> list[str]:
    """Short hashes of what identifies an item: its guid and its link."""
    raw = []
    if entry.get("id"):
        raw.append("id:" + entry["id"])
    if link:
        raw.append("link:" + link)
    return [hashlib.sha1(k.encode()).hexdigest()[:16] for k in raw]


def bounded_seen(old: list[str], current: list[str], limit: int = SEEN_LIMIT) -> list[str]:
    """The keys to remember: every key still in the feed (so a long feed never resurfaces
    its own items), then the most recent older ones up to `limit`."""
    current_set = set(current)
    older = [k for k in old if k not in current_set]
    room = max(0, limit - len(current))
    return (older[-room:] if room else []) + current


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            # feedparser normalises dates to UTC struct_time.
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _text_field(entry: Any, key: str) -> str:
    value = entry.get(key) or ""
    detail = entry.get(f"{key}_detail") or {}
    if "html" in (detail.get("type") or "") or "<" in value:
        return html_to_text(value)
    return " ".join(value.split())


def _language(value: str | None) -> str | None:
    """ISO 639-1 from a feed language tag ("en-us", "de_DE")."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip())[0].lower()
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def _entry_language(entry: Any) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        value = entry.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value and value.get("language"):
            return _language(value["language"])
    return None


__all__ = ["RSSSource", "bounded_seen", "unwrap_link"]
