"""The interface every mention source implements: Source, FetchResult, and skipping a
malformed item without losing the rest.

A source is given the cursor it returned last time (None on the first run) and returns
the new mentions plus the next cursor. It raises SourceError (or RateLimited) on any
failure, so the caller keeps the old cursor and the next poll catches up: a source never
returns a cursor beyond what it actually collected.

Side effects live at the edges: the requests.Session, the clock and the sleep function
are passed in, so tests drive a source against a local HTTP server without waiting.

The helpers sources share live by job (errors, pacing, http_helpers, html_text,
query_cursor); they are imported here too, so `from bot.sources.base import ...` keeps
working for every source and test.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import requests

from bot.mention import Mention, utcnow
from bot.settings import BrandSettings, SourceSettings
from bot.sources.errors import RateLimited, SourceError
from bot.sources.html_text import html_to_text
from bot.sources.http_helpers import (
    DEFAULT_READ_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_ITEMS_PER_PAGE,
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    _short,
    _snippet,
    cap_items,
    make_session,
    network_reason,
    send_bounded,
)
from bot.sources.pacing import (
    MAX_INLINE_WAIT,
    Pacer,
    parse_reset,
    parse_retry_after,
    quota_spent,
    rate_limit_wait,
)
from bot.sources.query_cursor import (
    MAX_GAPS,
    SEEN_LIMIT,
    bounded_gaps,
    brand_terms,
    build_query,
    remember,
)
from bot.text import clean_value

__all__ = [
    "DEFAULT_MAX_PAGES", "DEFAULT_READ_DEADLINE", "DEFAULT_TIMEOUT", "ITEM_ERRORS",
    "MAX_GAPS", "MAX_INLINE_WAIT", "MAX_ITEMS_PER_PAGE", "MAX_RESPONSE_BYTES",
    "SEEN_LIMIT", "SKIPPED_LIMIT", "USER_AGENT", "FetchResult", "Pacer", "RateLimited",
    "Source", "SourceError", "bounded_gaps", "brand_terms", "build_query", "cap_items",
    "epoch_to_utc", "html_to_text", "make_session", "network_reason", "parse_reset",
    "parse_retry_after", "quota_spent", "rate_limit_wait", "remember", "send_bounded",
]

# Pagination cap per poll: a burst larger than this is finished on the next poll.
DEFAULT_MAX_PAGES = 10
# Errors that mean "this one item is malformed" while normalizing it: the item is
# skipped (logged once) and the others go on, so one bad item cannot stall a source.
ITEM_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, TypeError,
                                            AttributeError)
# Ids of skipped items a source remembers, so each is warned about once, not every poll.
SKIPPED_LIMIT = 1000

T = TypeVar("T")


@dataclass
class FetchResult:
    mentions: list[Mention]  # any order; the caller does not care
    cursor: dict[str, Any] = field(default_factory=dict)  # JSON-safe, saved after success


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
