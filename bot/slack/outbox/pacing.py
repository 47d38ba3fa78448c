"""Pacing: how fast the outbox may call Slack, and what a failed call means for that.

Pacing is per channel (a token bucket, default 1 message/s with bursts of 3, like
Slack's limit); a 429 holds back only that channel (or chat.update) for Retry-After while
the others go on. 5xx and timeouts back off exponentially and pause posting while Slack
is down. Permanent errors (channel_not_found, invalid_auth...) fail the row and are
logged once; an auth error also pauses posting, since it will fail every row.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.outbox.queue import log

UPDATE_METHOD = "chat.update"  # key for the chat.update pacing bucket and 429 hold

# ok:false errors that mean "try again later" rather than "this will never work".
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                    "ratelimited", "rate_limited"}
# Errors that will fail every row: fail this one, then pause instead of burning the queue.
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
               "account_inactive", "org_login_required", "ekm_access_denied"}


class TokenBucket:
    """Token bucket in the outbox's clock: `burst` tokens refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.stamp: float | None = None
        self.lock = threading.Lock()  # the drain loop and a lane thread both look

    def _refill(self, now: float) -> None:
        if self.stamp is None:
            self.stamp = now
        elif now > self.stamp:  # a caller with an older `now` must not mint tokens
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, now: float) -> float:
        with self.lock:
            self._refill(now)
            if self.tokens >= 1.0 - 1e-6:  # epoch floats are only ~0.2 us precise
                return 0.0
            # At least 1 ms, so that `now + wait` is a later time even in float arithmetic.
            return max(0.001, (1.0 - self.tokens) / self.rate)

    def take(self, now: float) -> None:
        with self.lock:
            self._refill(now)
            self.tokens = max(0.0, self.tokens - 1.0)


class Failure(Enum):
    RATE_LIMITED = "rate_limited"  # 429: hold that channel (or chat.update), then retry
    PERMANENT = "permanent"  # will never work: fail the row
    TRANSIENT = "transient"  # 5xx, timeout, connection: back off, maybe Slack has it


@dataclass(frozen=True)
class Verdict:
    """What a failed call means: `at` is when to try again (RATE_LIMITED, TRANSIENT);
    `error` is Slack's error name (or "HTTP <status>") for a PERMANENT failure."""

    failure: Failure
    at: float = 0.0
    error: str = ""


class Pacer:
    """Token buckets per channel (and one for chat.update), 429 holds, and the pause
    while Slack is down. Times are epoch seconds in the outbox's clock."""

    def __init__(self, *, rate: float, burst: int, update_rate: float, update_burst: int,
                 max_backoff: float) -> None:
        self.rate, self.burst = rate, burst
        self.update_rate, self.update_burst = update_rate, update_burst
        self.max_backoff = max_backoff
        self.down_until = 0.0  # Slack looked down: post nothing before this
        self._buckets: dict[str, TokenBucket] = {}
        self._held: dict[str, float] = {}  # channel or UPDATE_METHOD -> held until (429)
        self._failures = 0  # consecutive transient failures (drives the pause)
        self._outage_logged = False
        self._logged: set[tuple[str, str]] = set()  # (error, channel) already logged

    def gate(self, key: str, now: float, update: bool = False) -> float:
        """Seconds to wait before calling Slack for this channel (or chat.update)."""
        held = self._held.get(key, 0.0)
        if held > now:
            return held - now
        return self.bucket(key, update).wait(now)

    def bucket(self, key: str, update: bool = False) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = (TokenBucket(self.update_rate, self.update_burst)
                                           if update else TokenBucket(self.rate, self.burst))
        return bucket

    def judge(self, exc: Exception, method: str, hold_key: str, now: float,
              attempts: int) -> Verdict:
        """Classify a failed call to `method` and hold or back off accordingly.
        `attempts`: how often the row was tried (drives its own backoff)."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None) if response is not None else None
        error = ""
        if isinstance(exc, SlackApiError) and response is not None:
            try:
                error = str(response.get("error") or "")
            except Exception:  # noqa: BLE001 - a non-JSON body
                error = ""
        if status == 429:
            retry_after = retry_after_of(response)
            self._held[hold_key] = now + retry_after
            log.info("Slack rate-limited %s for %s: waiting %ss", method, hold_key, retry_after)
            return Verdict(Failure.RATE_LIMITED, at=now + retry_after)
        if isinstance(exc, SlackApiError) and status is not None and status < 500 and (
                error not in TRANSIENT_ERRORS):
            return Verdict(Failure.PERMANENT, error=error or f"HTTP {status}")
        # 5xx, ok:false internal_error, timeouts, connection errors: maybe accepted.
        self._failures += 1
        pause = min(self.max_backoff, 2.0 ** (self._failures - 1))
        self.down_until = max(self.down_until, now + pause)
        if not self._outage_logged:
            self._outage_logged = True
            log.warning("Slack is failing (%s on %s: %s); posts wait in the outbox and go out "
                        "when it recovers", type(exc).__name__, method, error or exc)
        backoff = min(self.max_backoff, 2.0 ** max(0, attempts - 1))
        return Verdict(Failure.TRANSIENT, at=now + max(pause, backoff))

    def refused(self, error: str, now: float) -> None:
        """After a permanent failure: an auth error pauses all posting."""
        if error in AUTH_ERRORS:
            self.down_until = now + max(self.max_backoff, 300.0)
            log.error("Slack refused the bot token (%s): posting paused; check "
                      "SLACK_BOT_TOKEN", error)

    def slack_ok(self) -> None:
        """A call succeeded: the outage (if any) is over."""
        self._failures = 0
        if self._outage_logged:
            self._outage_logged = False
            log.warning("Slack answers again; draining the outbox")

    def log_once(self, error: str, channel: str, msg: str, *args: Any) -> None:
        """Log at ERROR the first time this error hits this channel, then at DEBUG."""
        key = (error, channel)
        if key in self._logged:
            log.debug(msg, *args)
        else:
            self._logged.add(key)
            log.error(msg, *args)


def retry_after_of(response: Any) -> float:
    try:
        value = response.headers.get("Retry-After") or response.headers.get("retry-after")
        if isinstance(value, list):
            value = value[0]
        return max(0.0, float(value))
    except (AttributeError, TypeError, ValueError):
        return 1.0  # Slack always sends it; be conservative if it is missing
