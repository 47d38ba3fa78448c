"""No outsiders: only full members of the installing workspace may act through Earshot.

A Bolt global middleware that checks every slash command, button click, shortcut and
view submission on the server (hiding buttons protects nothing: anyone in a shared
channel can click them). A request is refused, politely and without changing anything,
when its user

- belongs to another team (Slack Connect: a shared channel with another organisation),
  judged by the payload's team and by users.info; or
- is a guest (users.info `is_restricted` / `is_ultra_restricted`); or
- cannot be looked up (users.info says user_not_found; an error answers "try again").

users.info answers are cached for a few minutes per user, so a burst of clicks costs one
lookup. Events (group changes, App Home opened) pass: they change nothing by themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.services import Services

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0

REFUSAL = ("Sorry, only members of this workspace can act on Earshot mentions: guests and "
           "people from other organisations in shared channels can read them, but not "
           "claim, answer, escalate or approve. Nothing was changed.")
UNVERIFIED = ("Sorry, I couldn't check your account with Slack just now, so nothing was "
              "changed. Please try again in a moment.")

_INTERACTIVE = {"block_actions", "view_submission", "view_closed", "shortcut",
                "message_action", "block_suggestion", "interactive_message"}


class Verdict:
    ALLOWED, OUTSIDER, GUEST, UNKNOWN = "allowed", "outsider", "guest", "unverified"


class MemberCheck:
    """Decides whether a user may act, with a short cache of users.info answers."""

    def __init__(self, client_of: Callable[[], WebClient | None],
                 team_of: Callable[[], str | None], *, ttl: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client_of = client_of
        self.team_of = team_of
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def verdict(self, user_id: str | None, payload_team: str | None) -> str:
        if not user_id:
            return Verdict.UNKNOWN
        team = self.team_of()
        if team and payload_team and payload_team != team:
            return Verdict.OUTSIDER
        now = self.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and hit[0] > now:
            return hit[1]
        found = self._lookup(user_id, team)
        if found != Verdict.UNKNOWN:  # never cache a failed lookup
            with self._lock:
                self._cache[user_id] = (now + self.ttl, found)
        return found

    def _lookup(self, user_id: str, team: str | None) -> str:
        client = self.client_of()
        if client is None or not team:
            log.warning("cannot verify %s: no Slack client or installing team known", user_id)
            return Verdict.UNKNOWN
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                return Verdict.OUTSIDER  # not a user this workspace can see
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return Verdict.UNKNOWN
        except (SlackClientError, OSError) as exc:
            log.warning("users.info %s failed: %s", user_id, exc)
            return Verdict.UNKNOWN
        if user.get("team_id") and user["team_id"] != team:
            return Verdict.OUTSIDER
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            return Verdict.GUEST
        return Verdict.ALLOWED


def _who(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user id, the user's own team id if the payload says) of an interactive request."""
    if "command" in body:
        return body.get("user_id"), None  # a command's team_id is the channel's workspace
    user = body.get("user") or {}
    return user.get("id"), user.get("team_id")


def install(app: App, services: Services) -> MemberCheck:
    """Add the check to `app` as a global middleware; returns it (tests peek at it)."""
    state: dict[str, Any] = {"team": services.team_id}
    lock = threading.Lock()

    def team_of() -> str | None:
        with lock:
            if not state["team"] and services.client is not None:
                try:
                    state["team"] = services.client.auth_test().get("team_id")
                except (SlackApiError, SlackClientError, OSError) as exc:
                    log.warning("auth.test failed; cannot tell members from outsiders: %s",
                                exc)
            return services.team_id or state["team"]

    check = MemberCheck(lambda: services.client, team_of)
    app.use(_NoOutsiders(check))
    return check


class _NoOutsiders(Middleware):
    """The check as a Bolt middleware. A Middleware subclass rather than a function:
    Bolt builds every possible listener argument for a function middleware on each
    request (a tenth of a millisecond before every ack); this reads what it needs."""

    def __init__(self, check: MemberCheck) -> None:
        self.check = check

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
        body = req.body
        interactive = "command" in body or body.get("type") in _INTERACTIVE
        if not interactive:
            return next()
        user_id, payload_team = _who(body)
        verdict = self.check.verdict(user_id, payload_team)
        if verdict == Verdict.ALLOWED:
            return next()
        log.info("refused %s from %s (%s)", body.get("type") or body.get("command"),
                 user_id, verdict)
        text = UNVERIFIED if verdict == Verdict.UNKNOWN else REFUSAL
        context = req.context
        return _refuse(body, text, context.ack, context.respond, context.client)


def _refuse(body: dict[str, Any], text: str, ack: Any, respond: Any,
            client: WebClient) -> BoltResponse:
    kind = body.get("type")
    if "command" in body:
        return ack(text=text)  # the ack of a slash command is an ephemeral reply
    if kind == "view_submission":
        view = body.get("view") or {}
        # The error must sit on an input block of the view: the submitted state names them.
        inputs = list(((view.get("state") or {}).get("values") or {}).keys()) or [
            b["block_id"] for b in view.get("blocks") or []
            if b.get("type") == "input" and b.get("block_id")]
        if inputs:
            return ack(response_action="errors", errors={inputs[0]: text})
        return ack(response_action="update", view={
            "type": "modal", "title": {"type": "plain_text", "text": "Earshot"},
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text}}]})
    if kind in ("block_suggestion", "view_closed"):
        return ack()
    response = ack()
    try:
        if body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif (body.get("channel") or {}).get("id"):
            client.chat_postEphemeral(channel=body["channel"]["id"],
                                      user=body["user"]["id"], text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.info("could not deliver the refusal: %s", exc)
    return response
