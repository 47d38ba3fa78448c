"""Pacing a source's calls: a minimum gap between requests, the API's own "wait" hints
(Retry-After, rate-limit reset and remaining headers), and when a wait is too long to
sleep through inside a poll."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from bot.mention import utcnow
from bot.sources.errors import RateLimited

# A rate-limit wait longer than this is not slept through inside a poll: the source raises
# RateLimited and the poller retries later, so one slow source never blocks a worker.
MAX_INLINE_WAIT = 10.0


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
