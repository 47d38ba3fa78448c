"""What every source's write client shares: the result, the error, and the HTTP call."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds; a write that takes longer is reported as failed


@dataclass(frozen=True)
class Published:
    """A reply that the source accepted."""

    url: str  # a link people can open
    native_id: str  # the source's id of the new post (a status id, an at:// uri, a tweet id)


class PublishError(Exception):
    """The source did not take the reply. `str(exc)` is a sentence for people."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Writer(Protocol):
    """A client that publishes a reply to one source."""

    source: str

    def publish(self, mention: Any, text: str, *, idempotency_key: str) -> Published: ...


def post_json(session: requests.Session, url: str, *, json: dict[str, Any],
              headers: dict[str, str], timeout: float, what: str) -> dict[str, Any]:
    """POST JSON and return the JSON answer; every failure becomes a PublishError that
    says what went wrong without echoing credentials."""
    try:
        resp = session.post(url, json=json, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise PublishError(f"{what} did not answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise PublishError(f"{what} could not be reached ({type(exc).__name__})") from None
    if resp.status_code >= 400:
        raise PublishError(f"{what} refused the reply: HTTP {resp.status_code}"
                           f"{_detail(resp)}", status=resp.status_code)
    try:
        body = resp.json()
    except ValueError:
        raise PublishError(f"{what} answered HTTP {resp.status_code} without JSON") from None
    if not isinstance(body, dict):
        raise PublishError(f"{what} answered with unexpected JSON")
    return body


def _detail(resp: requests.Response) -> str:
    """A short reason from the error body (Mastodon "error", XRPC "message", X "detail")."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("error_description", "message", "detail", "error", "title"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return f" ({value.strip()[:200]})"
    return ""
