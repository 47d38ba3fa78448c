"""The buttons on a mention message (and in App Home): Claim, Release, Answer, Escalate.

Claim and Release acknowledge, then change the store atomically (bot.workflow); only
the person who clicked hears about a refusal ("already claimed by ..."), ephemerally.
Answer and Escalate open their modal straight after the ack: a trigger_id is valid for
3 seconds only.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import workflow
from bot.answers import answering
from bot.listeners import acks_at_once, habit, tell
from bot.slack import ids, views
from bot.slack.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @acks_at_once
    def on_claim(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key, user = _key(body), body["user"]["id"]
        outcome = workflow.claim(services, key, user)
        if outcome.code != "claimed":
            tell(client, user, outcome.message, channel=_channel(body))
        _refresh_home(services, client, body, user)
        if habit.in_habit_dm(body):
            habit.after_dm_click(services, client, body, key, user,
                                 claimed=outcome.code == "claimed")

    @acks_at_once
    def on_release(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key, user = _key(body), body["user"]["id"]
        outcome = workflow.release(services, key, user)
        if not outcome.ok:
            tell(client, user, outcome.message, channel=_channel(body))
        _refresh_home(services, client, body, user)

    @functools.partial(acks_at_once, opens_modal=True)
    def on_answer(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key, user = _key(body), body["user"]["id"]
        mention = services.store.get_mention(key)
        if mention is None:
            tell(client, user, "That mention no longer exists.", channel=_channel(body))
            return
        mode = answering.answer_mode(services, mention, user)
        view = views.answer_modal(mention, mode, channel=_channel(body))
        _open(client, body, view)
        if habit.in_habit_dm(body):
            habit.after_dm_click(services, client, body, key, user, claimed=False)

    @functools.partial(acks_at_once, opens_modal=True)
    def on_escalate(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key, user = _key(body), body["user"]["id"]
        mention = services.store.get_mention(key)
        if mention is None:
            tell(client, user, "That mention no longer exists.", channel=_channel(body))
            return
        targets = workflow.escalation_targets(services, mention)
        _open(client, body, views.escalate_modal(mention, targets, channel=_channel(body)))

    app.action(ids.CLAIM)(on_claim)
    app.action(ids.RELEASE)(on_release)
    app.action(ids.ANSWER)(on_answer)
    app.action(ids.ESCALATE)(on_escalate)


def _key(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def _channel(body: dict[str, Any]) -> str | None:
    """The channel the button was in (None in App Home)."""
    channel = body.get("channel") or {}
    return channel.get("id") or (body.get("container") or {}).get("channel_id")


def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except (SlackApiError, SlackClientError) as exc:
        # Usually an expired trigger (the click took over 3 s to reach us): say so.
        log.warning("views.open failed: %s", exc)
        tell(client, body["user"]["id"], "Slack didn't let me open the form in time; please "
             "click the button again.", channel=_channel(body))


def _refresh_home(services: Services, client: WebClient, body: dict[str, Any],
                  user: str) -> None:
    """A click in App Home re-renders it so the person sees the change at once."""
    if (body.get("view") or {}).get("type") == "home":
        from bot.listeners.home import publish_home

        publish_home(services, client, user)
