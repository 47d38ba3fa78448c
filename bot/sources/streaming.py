"""Reading a live stream over a WebSocket: connect, decode, reconnect; nothing else.

A `StreamChannel` says where to connect and how to read one protocol (Jetstream,
Mastodon streaming); `StreamReader` runs one channel until stopped:

- every message is decoded by the channel into `StreamItem`s (a position to resume
  from, and a Mention or None) handed to `emit`. A malformed message, one over
  `max_event` bytes, or one that is not UTF-8 is skipped with one warning per kind of
  problem and outage; the stream goes on.
- a lost connection is reopened from the caller's last position (`position()`) with
  exponential backoff (1 s, 2 s ... 60 s). After `failover_after` failures in a row it
  moves to the channel's next endpoint (if any). One warning per outage, one info line
  when the stream is back; the failures in between are logged at debug level.
- a connection that fails `give_up_cursor_after` times in a row at the same position
  without delivering anything (the server refuses a cursor too old, or resends a frame
  it cannot send whole) resumes live without a position, with a warning naming the gap.

Only the network lives here; matching and storing are the caller's (bot.ingest.streaming).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from bot.mention import Mention
from bot.sources.base import USER_AGENT

log = logging.getLogger(__name__)

# Frames up to this size are read (and skipped by `max_event` if too large for an
# event); a larger one makes the library close the connection (code 1009).
MAX_FRAME = 16 * 2**20
MAX_EVENT = 2**20  # a post event is a few kB; anything over this is not one
MAX_BACKOFF = 60.0
HEALTHY_AFTER = 30.0  # seconds a connection must last to count as working


@dataclass(slots=True)
class StreamItem:
    """One decoded event: where the stream stands after it, and the post it carried."""

    position: Any  # JSON-safe; None when the event carries no position
    mention: Mention | None


class MalformedEvent(ValueError):
    """A message the channel cannot read; it is skipped."""


class StreamChannel(ABC):
    """One connection's protocol. `key` names it in the stream's cursor and in logs."""

    key: str
    endpoints: list[str]
    # The server resumes from the position (a cursor it may refuse): after repeated
    # failures at one position, resume live. False: the position is only ours.
    server_position: bool = True

    @abstractmethod
    def url(self, endpoint: str, position: Any) -> str:
        """The URL to open at `endpoint`, resuming after `position` (None: live)."""

    def headers(self) -> dict[str, str]:
        return {}

    def opened(self, ws: ClientConnection, position: Any) -> list[StreamItem]:
        """Called on every new connection (subscribe, fill a gap); items to emit first."""
        return []

    @abstractmethod
    def decode(self, message: str) -> list[StreamItem]:
        """The items in one message; raise MalformedEvent (or any ValueError,
        LookupError, TypeError) for a message that cannot be read."""

    def complete(self, mention: Mention) -> Mention:
        """Fill in what matching does not need, for a mention that matched (decoding
        every post of a firehose in full would cost more than matching it)."""
        return mention

    def check_position(self, position: Any) -> Any:
        """The position to resume from (a channel may refuse a stored one: None)."""
        return position


class StreamReader:
    def __init__(self, channel: StreamChannel, emit: Callable[[StreamItem], None],
                 position: Callable[[], Any], stop: threading.Event, *, name: str = "",
                 open_timeout: float = 10.0, backoff: float = 1.0,
                 max_backoff: float = MAX_BACKOFF, failover_after: int = 3,
                 give_up_cursor_after: int = 3, max_event: int = MAX_EVENT,
                 ping_interval: float | None = 20.0) -> None:
        self.channel = channel
        self.emit = emit
        self.position = position
        self.stop = stop
        self.name = name or channel.key
        self.open_timeout = open_timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        self.failover_after = failover_after
        self.give_up_cursor_after = give_up_cursor_after
        self.max_event = max_event
        self.ping_interval = ping_interval
        self.failures = 0  # consecutive failed connections
        self.endpoint_index = 0
        self.forced_live = False  # the stored position was given up: resume live
        self._stale = 0  # consecutive connections that delivered nothing at one position
        self._warned: set[str] = set()  # problems already warned about in this outage
        self.connections = 0  # opened, for tests and metrics
        self._delivered = 0  # messages received on the current connection
        self._opened_at: float | None = None  # monotonic time the connection opened
        self.skipped = 0  # malformed messages

    @property
    def endpoint(self) -> str:
        return self.channel.endpoints[self.endpoint_index % len(self.channel.endpoints)]

    def run(self) -> None:
        """Read until `stop` is set. Never raises: every failure is retried."""
        while not self.stop.is_set():
            start = self._resume_position()
            self._delivered, self._opened_at = 0, None
            try:
                self._session(start)
                error = "the server closed the stream"
            except ConnectionClosed as exc:
                error = _closed_reason(exc)
            except InvalidStatus as exc:
                error = _refused(exc.response.status_code)
            except InvalidURI as exc:
                error = f"bad URL: {exc}"
            except (InvalidHandshake, OSError, TimeoutError, EOFError) as exc:
                error = _network_reason(exc)
            except Exception:  # a bug in a channel must not end the stream thread
                log.exception("%s: unexpected error in the stream", self.name)
                error = "unexpected error (logged above)"
            if self.stop.is_set():
                break
            # A connection that stayed up a while was healthy even if it was quiet
            # (a rare hashtag): its end starts a new outage, not more of the old one.
            healthy = self._delivered or (self._opened_at is not None and
                                          time.monotonic() - self._opened_at > HEALTHY_AFTER)
            self._failed(error, healthy, start)
            self.stop.wait(self._delay())

    def _resume_position(self) -> Any:
        if self.forced_live:
            return None
        return self.channel.check_position(self.position())

    def _session(self, start: Any) -> None:
        url = self.channel.url(self.endpoint, start)
        with connect(url, additional_headers=self.channel.headers(),
                     user_agent_header=USER_AGENT, open_timeout=self.open_timeout,
                     max_size=MAX_FRAME, ping_interval=self.ping_interval,
                     close_timeout=2) as ws:  # HTTPS_PROXY etc. are honoured
            self.connections += 1
            self._opened_at = time.monotonic()
            for item in self.channel.opened(ws, start):
                self.emit(item)
            while not self.stop.is_set():
                try:
                    message = ws.recv(timeout=0.5, decode=False)
                except TimeoutError:
                    continue
                self._delivered += 1
                if self._delivered == 1:
                    self._recovered()
                self._handle(message)

    def _handle(self, message: bytes) -> None:
        if len(message) > self.max_event:
            self._skip("oversized", f"skipping a {len(message):,}-byte message (more than "
                                    f"{self.max_event:,} bytes cannot be an event)")
            return
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._skip("utf-8", f"skipping a message that is not UTF-8 ({exc.reason} at "
                                f"byte {exc.start})")
            return
        try:
            items = self.channel.decode(text)
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            self._skip("malformed", f"skipping a malformed message ({type(exc).__name__}: "
                                    f"{_snippet(str(exc))}): {_snippet(text)}")
            return
        for item in items:
            self.emit(item)

    def _skip(self, kind: str, message: str) -> None:
        self.skipped += 1
        if kind in self._warned:
            log.debug("%s: %s", self.name, message)
        else:
            self._warned.add(kind)
            log.warning("%s: %s (further ones are logged at debug level)", self.name, message)

    def _recovered(self) -> None:
        if self.failures:
            log.info("%s: streaming again from %s after %d failed attempt(s)", self.name,
                     _short(self.endpoint), self.failures)
        self.failures = 0
        self._stale = 0
        self._warned.clear()

    def _failed(self, error: str, healthy: bool, start: Any) -> None:
        if healthy:  # the connection worked for a while, then dropped
            log.warning("%s: stream from %s dropped (%s); reconnecting", self.name,
                        _short(self.endpoint), error)
            self.failures = 1
            self.forced_live = False
            return
        self.failures += 1
        self._stale = self._stale + 1 if start is not None else 0
        if self.failures == 1:
            log.warning("%s: cannot stream from %s: %s; retrying with backoff (further "
                        "failures of this outage are logged at debug level)", self.name,
                        _short(self.endpoint), error)
        else:
            log.debug("%s: still failing (%d): %s", self.name, self.failures, error)
        if (start is not None and self.channel.server_position
                and self._stale >= self.give_up_cursor_after):
            log.warning("%s: %d connections in a row ended at the stored position %s "
                        "without an event; resuming live: posts since then are missed",
                        self.name, self._stale, start)
            self.forced_live = True
            self._stale = 0
        if len(self.channel.endpoints) > 1 and self.failures % self.failover_after == 0:
            self.endpoint_index += 1
            log.warning("%s: switching to %s after %d failures", self.name,
                        _short(self.endpoint), self.failures)

    def _delay(self) -> float:
        if self.failures <= 1:
            return self.backoff if self.failures else 0.0
        return min(self.backoff * 2 ** (self.failures - 1), self.max_backoff)


def _refused(status: int) -> str:
    if status in (401, 403):
        return f"refused (HTTP {status}): check the access token"
    if status == 429:
        return "rate limited (HTTP 429)"
    return f"not a WebSocket endpoint (HTTP {status})"


def _closed_reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "connection lost"
    reason = f": {frame.reason}" if frame.reason else ""
    return f"closed with code {frame.code}{reason}"


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "cannot resolve the host name (no network or DNS?)"
    return _snippet(f"{type(exc).__name__}: {text}", 160)


def _short(url: str) -> str:
    return url.split("?", 1)[0]


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
