"""HTTP for sources: a session with Earshot's User-Agent, every request bounded in time
and size, pages capped, and a failed connection said in a few words."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from bot import __version__
from bot.sources.errors import SourceError
from bot.text import printable

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
