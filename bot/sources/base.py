"""The interface every mention source implements, and the HTTP helpers they share.

A source is given the cursor it returned last time (None on the first run) and returns
the new mentions plus the next cursor. It raises SourceError (or RateLimited) on any
failure, so the caller keeps the old cursor and the next poll catches up: a source never
returns a cursor beyond what it actually collected.

Side effects live at the edges: the requests.Session, the clock and the sleep function
are passed in, so tests drive a source against a local HTTP server without waiting.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, TypeVar

import requests

from bot import __version__
from bot.mention import Mention, utcnow
from bot.settings import BrandSettings, SourceSettings
from bot.text import clean_value, printable

log = logging.getLogger(__name__)

USER_AGENT = f"Earshot/{__version__} (+https://github.com/earshot; brand monitor)"
# (connect, read) seconds. Every request carries a timeout: a hung API must not hang a poll.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
# Every request's total deadline (connect, headers and the whole body), and its largest
# body: a server that trickles one byte every few seconds, or streams without end, must
# not hold a poll (or fill memory). Real pages are a few hundred kB.
DEFAULT_READ_DEADLINE = 60.0
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# Items read from one page: sources ask for at most 100, so a page of 100,000 is hostile.
MAX_ITEMS_PER_PAGE = 1000
_CHUNK = 64 * 1024
# A rate-limit wait longer than this is not slept through inside a poll: the source raises
# RateLimited and the poller retries later, so one slow source never blocks a worker.
MAX_INLINE_WAIT = 10.0
# How many recently returned ids a cursor keeps, for APIs whose time filter is coarse.
SEEN_LIMIT = 500
# Pagination cap per poll: a burst larger than this is finished on the next poll.
DEFAULT_MAX_PAGES = 10
# Unfinished bursts a cursor remembers; beyond this the oldest is given up (and logged),
# so a source that bursts on every poll cannot grow its cursor without bound.
MAX_GAPS = 5
# Errors that mean "this one item is malformed" while normalizing it: the item is
# skipped (logged once) and the others go on, so one bad item cannot stall a source.
ITEM_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, TypeError,
                                            AttributeError)
# Ids of skipped items a source remembers, so each is warned about once, not every poll.
SKIPPED_LIMIT = 1000

T = TypeVar("T")


class SourceError(Exception):
    """A transient failure: retry later with the cursor unchanged."""


class RateLimited(SourceError):
    """The source asked us to wait `retry_after` seconds before calling again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = float(retry_after)


@dataclass
class FetchResult:
    mentions: list[Mention]  # any order; the caller does not care
    cursor: dict[str, Any] = field(default_factory=dict)  # JSON-safe, saved after success


# --- pacing ---------------------------------------------------------------------------


class Pacer:
    """Keeps a minimum gap between calls and honours "hold until" hints from the API.

    `min_interval` comes from the source's documented rate limit. `hold(seconds)` is
    called when the API says the quota is spent (X-Ratelimit-Remaining: 0, a Stack
    Exchange `backoff`): a short hold is slept through, a long one raises RateLimited.
    """

    def __init__(self, min_interval: float = 0.0, *,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 max_inline_wait: float = MAX_INLINE_WAIT) -> None:
        self.min_interval = min_interval
        self.sleep = sleep
        self.monotonic = monotonic
        self.max_inline_wait = max_inline_wait
        self._next_at = 0.0  # monotonic time of the earliest next call
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Do not call again for `seconds` (from now)."""
        with self._lock:
            self._next_at = max(self._next_at, self.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self._next_at - self.monotonic())

    def wait(self, what: str = "request") -> None:
        """Block until the next call is allowed, or raise RateLimited if that is too long."""
        with self._lock:
            delay = self._next_at - self.monotonic()
            if delay > self.max_inline_wait:
                raise RateLimited(f"rate limit: next {what} allowed in {delay:.0f} s", delay)
            if delay > 0:
                self.sleep(delay)
            self._next_at = self.monotonic() + self.min_interval


# --- HTTP -----------------------------------------------------------------------------


def make_session(user_agent: str = USER_AGENT) -> requests.Session:
    """A session with Earshot's descriptive User-Agent (APIs such as Reddit require one)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def send_bounded(session: requests.Session, method: str, url: str, *, deadline: float,
                 max_bytes: int = MAX_RESPONSE_BYTES, what: str = "source",
                 **kwargs: Any) -> requests.Response:
    """`session.request(...)` whose body is read within `deadline` seconds in all and
    cut off past `max_bytes` (SourceError either way). The response comes back with its
    body already read (`.content`, `.json()` work as usual).

    Raises requests' own exceptions for connection failures and per-read timeouts."""
    started = time.monotonic()
    response = session.request(method, url, stream=True, **kwargs)
    try:
        chunks: list[bytes] = []
        size = 0
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise SourceError(f"{what}: {_short(url)} sent {int(declared):,} bytes "
                              f"(limit {max_bytes:,})")
        while True:
            if time.monotonic() - started > deadline:
                raise SourceError(f"{what}: {_short(url)} sent no complete answer within "
                                  f"{deadline:g} s")
            # read1: whatever has arrived (at most one socket read), so a trickle is seen
            # byte by byte and the deadline checked in between.
            chunk = response.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise SourceError(f"{what}: {_short(url)} sent more than {max_bytes:,} "
                                  "bytes; gave up reading")
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    response._content = b"".join(chunks)  # what requests' .content would have read
    response._content_consumed = True
    response.close()
    return response


def cap_items(data: Any, what: str, logger: logging.Logger, depth: int = 3) -> Any:
    """`data` (decoded JSON) with any list of more than MAX_ITEMS_PER_PAGE items cut
    to that many (one warning): a page is never worth more than that much work."""
    if isinstance(data, list):
        if len(data) > MAX_ITEMS_PER_PAGE:
            logger.warning("%s: a page of %d items; reading only the first %d", what,
                           len(data), MAX_ITEMS_PER_PAGE)
            del data[MAX_ITEMS_PER_PAGE:]
        if depth > 1:
            for item in data[:5]:  # lists of pages are shallow; look at their heads only
                cap_items(item, what, logger, depth - 1)
    elif isinstance(data, dict) and depth > 0:
        for value in data.values():
            if isinstance(value, list | dict):
                cap_items(value, what, logger, depth - 1)
    return data


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utcnow())).total_seconds())


def parse_reset(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from an X-Ratelimit-Reset style header.

    APIs disagree: Reddit sends seconds until reset, GitHub / X / Bluesky send a Unix
    timestamp, Mastodon sends an ISO 8601 time. Large numbers are taken as timestamps.
    """
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    now = now or utcnow()
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return parse_retry_after(value, now)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if number > 1_000_000_000:  # a Unix timestamp (after 2001)
        return max(0.0, number - now.timestamp())
    return max(0.0, number)


def _header(headers: Any, *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def rate_limit_wait(response: requests.Response, now: datetime | None = None) -> float | None:
    """How long a response says to wait: Retry-After first, then a reset header."""
    wait = parse_retry_after(response.headers.get("Retry-After"), now)
    if wait is None:
        wait = parse_reset(_header(response.headers, "X-Ratelimit-Reset", "X-Rate-Limit-Reset",
                                   "RateLimit-Reset"), now)
    return wait


def quota_spent(response: requests.Response) -> bool:
    """True when a response says no requests are left in the current window."""
    value = _header(response.headers, "X-Ratelimit-Remaining", "X-Rate-Limit-Remaining",
                    "RateLimit-Remaining")
    if value is None:
        return False
    try:
        return float(value) < 1  # Reddit sends floats such as "0.0"
    except ValueError:
        return False


# --- text -----------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4",
               "h5", "h6", "table", "tr", "section", "article", "header", "footer"}
_SKIP_TAGS = {"script", "style", "head", "template"}
_PARA, _LINE = "\x00P\x00", "\x00L\x00"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._anchor: tuple[str, int] | None = None  # (href, index of first part)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag == "a":
            self._anchor = (dict(attrs).get("href") or "", len(self.parts))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag == "a" and self._anchor is not None:
            href, start = self._anchor
            self._anchor = None
            shown = "".join(self.parts[start:]).strip()
            # Link text shortened for display ("https://example.com/long/pa...") loses
            # the real URL; a reader of the plain text needs the whole one.
            if href and shown.endswith(("...", "…")) and href.startswith(
                    shown.rstrip(".…")[:20]):
                self.parts[start:] = [href]

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text from an HTML fragment: entities unescaped, tags stripped, paragraph
    breaks kept as blank lines, <br> as line breaks, other whitespace collapsed."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = re.sub(r"\s+", " ", "".join(parser.parts))
    text = text.replace(_PARA, "\n\n").replace(_LINE, "\n")
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def brand_terms(brand: BrandSettings) -> list[str]:
    """The brand's search terms without surrounding quotes, duplicates dropped."""
    out: list[str] = []
    for term in brand.terms:
        plain = term.strip().strip('"').strip()
        if plain and plain.lower() not in {t.lower() for t in out}:
            out.append(plain)
    return out


def build_query(terms: BrandSettings | Iterable[str], joiner: str = " OR ") -> str:
    """A search query matching any term; phrases (and terms with spaces) in quotes."""
    if isinstance(terms, BrandSettings):
        terms = brand_terms(terms)
    parts = []
    for term in terms:
        term = term.strip().strip('"').strip()
        if not term:
            continue
        parts.append(f'"{term}"' if re.search(r"\s", term) else term)
    return joiner.join(parts)


def remember(seen: Iterable[str], new_ids: Iterable[str], limit: int = SEEN_LIMIT) -> list[str]:
    """A bounded list of recently returned ids (newest last), for a JSON cursor."""
    merged = list(dict.fromkeys([*seen, *new_ids]))
    return merged[-limit:]


def bounded_gaps(gaps: list[Any], source: str) -> list[Any]:
    """The newest MAX_GAPS unfinished windows (gaps are appended oldest first)."""
    if len(gaps) > MAX_GAPS:
        log.warning("%s: %d unfinished bursts; giving up the oldest %d", source, len(gaps),
                    len(gaps) - MAX_GAPS)
    return gaps[-MAX_GAPS:]


def epoch_to_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


# --- the interface --------------------------------------------------------------------


class Source(ABC):
    """One mention source. Subclasses set `name` and implement `fetch`.

    Class attributes subclasses may override: `min_interval` (seconds between requests,
    from the source's documented limit), `max_pages` (pagination cap per poll). Tests
    make timeouts and pacing tiny with the keyword arguments.
    """

    name: ClassVar[str]
    min_interval: ClassVar[float] = 0.0
    max_pages: ClassVar[int] = DEFAULT_MAX_PAGES

    def __init__(self, settings: SourceSettings, brand: BrandSettings,
                 session: requests.Session | None = None,
                 clock: Callable[[], datetime] = utcnow, *,
                 timeout: float | tuple[float, float] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 min_interval: float | None = None) -> None:
        self.settings = settings
        self.brand = brand
        self.session = session or make_session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        if self.session.headers.get("User-Agent", "").startswith("python-requests"):
            self.session.headers["User-Agent"] = USER_AGENT
        self.clock = clock
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.deadline = float(settings.options.get("read_deadline_seconds")
                              or DEFAULT_READ_DEADLINE)
        self.sleep = sleep
        interval = self.min_interval if min_interval is None else min_interval
        self.pacer = Pacer(interval, sleep=sleep)
        self.base_url = (settings.base_url or "").rstrip("/")
        self.options = settings.options
        self.log = logging.getLogger(f"bot.sources.{self.name}")
        self._skipped: dict[str, None] = {}  # ids of items already warned about (ordered)

    @abstractmethod
    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """New mentions since `cursor` (None: first run, a recent window only)."""

    # -- items: one malformed item is skipped, never the whole fetch -----------------

    def normalize_each(self, items: Iterable[T], normalize: Callable[[T], Mention | None],
                       item_id: Callable[[T], Any]) -> list[Mention]:
        """`normalize` applied to each item, the Nones and the malformed items left out.

        An item `normalize` cannot turn into a mention (any of ITEM_ERRORS) is skipped
        with one warning naming the source and the item id; the caller's cursor moves
        past it as past any other item, so the next poll does not hit it again. A
        malformed whole response is still the caller's to reject
        (SourceError) before it gets here."""
        mentions: list[Mention] = []
        for item in items:
            try:
                mention = normalize(item)
            except ITEM_ERRORS as exc:
                self.skip_item(_item_id(item_id, item), exc)
                continue
            if mention is not None:
                mentions.append(mention)
        return mentions

    def skip_item(self, item_id: Any, exc: BaseException) -> None:
        """Note a malformed item that is left out: a warning the first time this source
        meets its id, debug afterwards (the same item may be returned on later polls)."""
        ident = str(item_id)
        reason = _snippet(f"{type(exc).__name__}: {exc}", 160)
        if ident in self._skipped:
            self.log.debug("%s: skipping malformed item %s again (%s)", self.name, ident,
                           reason)
            return
        self._skipped[ident] = None
        while len(self._skipped) > SKIPPED_LIMIT:
            del self._skipped[next(iter(self._skipped))]
        self.log.warning("%s: skipping malformed item %s (%s)", self.name, ident, reason)

    # -- HTTP helpers: every call paced, timed out, and its failures mapped ------------

    def request(self, method: str, url: str, *, allow: Iterable[int] = (),
                **kwargs: Any) -> requests.Response:
        """Send one request. Returns 2xx/3xx responses and any status in `allow`;
        raises RateLimited on 429 (and 403 carrying rate-limit headers), SourceError
        on other errors, timeouts and connection failures."""
        allowed = set(allow)
        self.pacer.wait(f"{self.name} request")
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = send_bounded(self.session, method, url, deadline=self.deadline,
                                    what=self.name, **kwargs)
        except requests.Timeout as exc:
            raise SourceError(f"{self.name}: timed out calling {_short(url)} "
                              f"(no answer within {self.timeout:g} s)") from exc
        except requests.RequestException as exc:
            raise SourceError(f"{self.name}: cannot reach {_short(url)}: "
                              f"{network_reason(exc)}") from exc
        status = response.status_code
        if quota_spent(response):
            wait = rate_limit_wait(response, self.clock())
            if wait:
                self.pacer.hold(wait)
        if status in allowed:
            return response
        if status == 429 or (status == 403 and (
                "Retry-After" in response.headers or quota_spent(response))):
            wait = rate_limit_wait(response, self.clock())
            wait = 60.0 if wait is None else wait
            self.pacer.hold(wait)
            raise RateLimited(f"{self.name}: rate limited by {_short(url)} (HTTP {status}); "
                              f"retry in {wait:.0f} s", wait)
        if status >= 400:
            raise SourceError(f"{self.name}: HTTP {status} from {_short(url)}: "
                              f"{_snippet(response.text)}")
        return response

    def get_json(self, url: str, *, params: Any = None, headers: dict[str, str] | None = None,
                 allow: Iterable[int] = (), **kwargs: Any) -> Any:
        response = self.request("GET", url, params=params, headers=headers, allow=allow,
                                **kwargs)
        return self.decode_json(response)

    def post_json(self, url: str, *, json_body: Any = None, data: Any = None,
                  headers: dict[str, str] | None = None, allow: Iterable[int] = (),
                  **kwargs: Any) -> Any:
        response = self.request("POST", url, json=json_body, data=data, headers=headers,
                                allow=allow, **kwargs)
        return self.decode_json(response)

    def decode_json(self, response: requests.Response) -> Any:
        try:
            # Cleaned as it is decoded (lone surrogates, control and bidi characters),
            # so a source's own use of a field (an author looked up by name) is safe too.
            return cap_items(clean_value(response.json()), self.name, self.log)
        except (ValueError, json.JSONDecodeError, RecursionError) as exc:
            raise SourceError(f"{self.name}: malformed JSON from {_short(response.url)} "
                              f"(HTTP {response.status_code}): {_snippet(response.text)}"
                              ) from exc

    def credential(self, key: str) -> str:
        """The value of a configured credential, or SourceError naming the variable."""
        value = self.settings.credentials.get(key)
        if not value:
            var = self.settings.env_names.get(key, key)
            raise SourceError(f"{self.name}: credential {key} ({var}) is not set")
        return value


def _item_id(item_id: Callable[[Any], Any], item: Any) -> str:
    """The id of an item for a log line; "?" when the id itself is what is malformed."""
    try:
        return str(item_id(item))
    except Exception:  # noqa: BLE001
        return "?"


def network_reason(exc: BaseException) -> str:
    """Why a request never got an answer, in a few words. requests' own message repeats
    the host, the full URL with its query and urllib3's object reprs (400 characters
    for "no DNS"), which is unreadable as the one line a failing source gets."""
    seen: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in seen and len(seen) < 10:
        seen.append(cause)
        nxt = getattr(cause, "reason", None)
        if not isinstance(nxt, BaseException) and cause.args and isinstance(
                cause.args[0], BaseException):
            nxt = cause.args[0]
        cause = nxt if isinstance(nxt, BaseException) else (cause.__cause__ or cause.__context__)
    names = {type(e).__name__ for e in seen}
    text = " ".join(str(e) for e in seen)
    if "NameResolutionError" in names or "Name or service not known" in text or (
            "getaddrinfo failed" in text or "nodename nor servname" in text):
        return "cannot resolve the host name (no network or DNS?)"
    if "ConnectionRefusedError" in names or "Connection refused" in text:
        return "connection refused"
    if "SSLError" in names or "SSLCertVerificationError" in names:
        return "TLS/certificate error"
    if any(isinstance(e, (ConnectionResetError, ConnectionAbortedError)) for e in seen):
        return "connection reset"
    if "ProxyError" in names:
        return "proxy error"
    last = seen[-1]
    return _snippet(f"{type(last).__name__}: {last}", 160)


def _short(url: str) -> str:
    return url.split("?", 1)[0]


def _snippet(text: str, limit: int = 200) -> str:
    # An API's error page may carry terminal escapes: shown cleaned, on one line.
    text = " ".join(printable(text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
