"""The checks every request to /slack/events passes before Bolt sees it.

Anyone on the internet can reach the public URL, so a request is taken apart in order of
cost: its declared size (413 above MAX_BODY_BYTES, nothing read), then Slack's signature
over the raw bytes (401 when missing, forged, stale or unreadable: nothing is parsed),
then the body's shape (400 for signed bytes that are not what Slack sends). Each refusal
is one log line naming the peer and the reason; a body is never logged.

What passes is handed on parsed: the body text and the object parsed from it are put in
the environ under PARSED_BODY, so Bolt does not parse the same bytes a second time
(bot.web.bolt_adapter reads them).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.request.internals import parse_body

log = logging.getLogger(__name__)

# Slack's payloads are a few kB; a view submission of the largest modal (250 kB of view)
# stays well below this once form-encoded.
MAX_BODY_BYTES = 1024 * 1024
MAX_CLOCK_SKEW = 300  # seconds: Slack's own rule for replayed requests

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# environ key: (body text, parsed payload) of a request that passed every check.
PARSED_BODY = "earshot.slack_body"


class Refused(Exception):
    """A request answered with `status` and one log line, before Bolt sees it."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def guarded(slack: WSGIApp, signing_secret: str, *, max_body: int = MAX_BODY_BYTES,
            clock: Callable[[], float] = time.time) -> WSGIApp:
    """`slack` (Bolt's WSGI handler) behind the size, signature and shape checks."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused("405 Method Not Allowed", "not a POST")
            body = _read_body(environ, max_body)
            _verify(environ, body, signing_secret, clock())
            environ[PARSED_BODY] = _check_shape(body, environ.get("CONTENT_TYPE"))
        except Refused as refused:
            log.warning("refused %s %s from %s: %s (%s)", environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), environ.get("REMOTE_ADDR", "?"),
                        refused.reason, refused.status.split(" ", 1)[0])
            return _answer(start_response, refused.status, refused.reason)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            return slack(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - Bolt choked on a signed body we let by
            log.error("could not handle a signed request from %s: %s: %s",
                      environ.get("REMOTE_ADDR", "?"), type(exc).__name__,
                      _short(str(exc)))
            return _answer(start_response, "400 Bad Request", "malformed request")

    return application


def _answer(start_response: Callable[..., Any], status: str, reason: str) -> list[bytes]:
    body = json.dumps({"error": reason}).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict[str, Any], max_body: int) -> bytes:
    raw = environ.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise Refused("400 Bad Request", "unreadable Content-Length") from None
    if length > max_body:
        raise Refused("413 Content Too Large", f"body of {length} bytes (limit {max_body})")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if len(body) > max_body:
        raise Refused("413 Content Too Large", f"body over {max_body} bytes")
    return body


def _verify(environ: dict[str, Any], body: bytes, secret: str, now: float) -> None:
    """Slack's v0 signature over the raw bytes: HMAC-SHA256 of b"v0:{ts}:" + body."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if not timestamp or not signature:
        raise Refused("401 Unauthorized", "unsigned request")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused("401 Unauthorized", "unreadable signature timestamp")
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        raise Refused("401 Unauthorized", "stale signature timestamp")
    if not secret:
        raise Refused("401 Unauthorized", "no signing secret configured")
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Refused("401 Unauthorized", "bad signature")


def _check_shape(body: bytes, content_type: str | None) -> tuple[str, dict[str, Any]]:
    """Signed bytes must be what Slack sends: UTF-8, and (parsed the way Bolt parses)
    an object whose parts Bolt and the listeners read have the types Slack gives them.
    Returns (text, parsed object)."""
    try:
        text = body.decode("utf-8")
        parsed = parse_body(text, content_type)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("400 Bad Request", f"malformed body ({type(exc).__name__})") from None
    problem = shape_problem(parsed)
    if problem:
        raise Refused("400 Bad Request", f"malformed payload: {problem}")
    return text, parsed


_OBJECTS = ("user", "team", "channel", "container", "message", "view", "enterprise",
            "event", "state", "authorizations")


def shape_problem(payload: Any) -> str | None:
    """What is wrong with a parsed Slack payload, in a few words (None when nothing)."""
    if not isinstance(payload, dict):
        return f"a {type(payload).__name__}, not an object"
    if not isinstance(payload.get("type", ""), str):
        return "type is not a string"
    for key in _OBJECTS:
        value = payload.get(key)
        if value is not None and not isinstance(value, dict) and not (
                key == "authorizations" and isinstance(value, list)
                and all(isinstance(a, dict) for a in value)):
            return f"{key} is a {type(value).__name__}"
    for key in ("user", "team", "channel"):
        ident = (payload.get(key) or {}).get("id")
        if ident is not None and not isinstance(ident, str):
            return f"{key}.id is not a string"
    kind = payload.get("type")
    actions = payload.get("actions")
    if kind == "block_actions" or actions is not None:
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) for a in actions):
            return "actions is not a list of objects"
    view = payload.get("view")
    if kind in ("view_submission", "view_closed") and not isinstance(view, dict):
        return "view is missing"
    if isinstance(view, dict):
        state = view.get("state")
        if state is not None and (not isinstance(state, dict) or not isinstance(
                state.get("values", {}), dict) or not all(
                isinstance(block, dict) for block in state.get("values", {}).values())):
            return "view.state is not an object of objects"
        for key in ("private_metadata", "callback_id", "id"):
            if not isinstance(view.get(key) or "", str):
                return f"view.{key} is not a string"
    return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
