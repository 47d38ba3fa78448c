"""Bolt's WSGI adapter, minus the second parse of a body the request guard has parsed.

bot.web.request_guard reads, verifies and parses every body before Bolt sees it (and
leaves the text and the parsed object under PARSED_BODY in the environ). Bolt's own
adapter would read the body again and parse it again (url-decoding the form and then the
JSON payload: about a third of a millisecond per click, before the ack); this one builds
the Bolt request from what the guard parsed. Without the guard's result (not reached
through the guard) it is Bolt's adapter unchanged.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse

from bot.web.request_guard import PARSED_BODY


def parsed_request(text: str, body: dict[str, Any], *, query: str,
                   headers: dict[str, Any]) -> BoltRequest:
    """A BoltRequest for `text` whose parsed form is `body`, without parsing `text`.

    BoltRequest has no constructor for this: it is built for an empty body (nothing to
    parse) and then given the text, the object, and the context Bolt derives from it."""
    request = BoltRequest(body="", query=query, headers=headers)
    request.raw_body = text
    request.body = body
    request.context = build_context(BoltContext({}), body)
    return request


class ParsedOnceHandler(SlackRequestHandler):
    """SlackRequestHandler that takes the body the guard parsed (see the module doc)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        parsed = request.environ.get(PARSED_BODY)
        if parsed is None:
            return super().dispatch(request)
        text, body = parsed
        return self.app.dispatch(parsed_request(text, body, query=request.query_string,
                                                headers=request.get_headers()))
