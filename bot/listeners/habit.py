"""The habit's controls in App Home (time, pause, stop, departments), and what a click
on a habit DM's button does besides the usual: the DM shows the claim, App Home is
re-rendered, and the day's DM counts as opened (for the weekly line).

Controls only change the person's own preferences; they take effect from the next DM.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.habit import dm, state
from bot.habit.job import roster_of
from bot.listeners import acks_at_once, tell
from bot.slack import ids
from bot.slack.services import Services

log = logging.getLogger(__name__)

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def register(app: App, services: Services) -> None:
    @acks_at_once
    def on_time(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        chosen = str(body["actions"][0].get("selected_time") or "")
        if not _TIME.fullmatch(chosen):
            tell(client, user, "Please choose a time like 08:30.")
            return
        _change(services, client, user, time=chosen)

    @acks_at_once
    def on_pause(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = body["actions"][0].get("value")
        _change(services, client, body["user"]["id"], paused=value == "pause")

    @acks_at_once
    def on_stop(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = body["actions"][0].get("value")
        changes: dict[str, Any] = {"stopped": value == "stop"}
        if value == "start":
            changes["paused"] = False
        _change(services, client, body["user"]["id"], **changes)

    @acks_at_once
    def on_departments(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        known = set(services.settings.departments)
        chosen = [str(o.get("value")) for o in
                  body["actions"][0].get("selected_options") or []]
        chosen = [d for d in chosen if d in known]
        # Nothing chosen: back to "the channels you are in".
        _change(services, client, body["user"]["id"], departments=chosen or None)

    app.action(ids.HABIT_TIME)(on_time)
    app.action(ids.HABIT_PAUSE)(on_pause)
    app.action(ids.HABIT_STOP)(on_stop)
    app.action(ids.HABIT_DEPARTMENTS)(on_departments)


def _change(services: Services, client: WebClient, user: str, **changes: Any) -> None:
    if services.settings.habit is None or roster_of(services).get(user) is None:
        tell(client, user, "The daily habit is for the leaders named in Earshot's "
                           "configuration ([habit]).")
        return
    state.update_prefs(services.store, user, **changes)
    from bot.listeners.home import publish_home

    publish_home(services, client, user)


def in_habit_dm(body: dict[str, Any]) -> bool:
    """Was this click on a button of a habit DM?"""
    block_id = str((body.get("actions") or [{}])[0].get("block_id") or "")
    channel = (body.get("channel") or {}).get("id") or ""
    return block_id.startswith(dm.BLOCK_PREFIX) and channel.startswith("D")


def after_dm_click(services: Services, client: WebClient, body: dict[str, Any],
                   key: str, user: str, claimed: bool) -> None:
    """Note the DM as opened; after a claim, show it in the DM and in App Home."""
    state.mark_opened(services.store, user, key, services.clock())
    if not claimed:
        return
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id")
    if message.get("ts") and channel and message.get("blocks"):
        text = message.get("text") or "Your daily few"
        updated = dm.claimed_in_dm(message["blocks"], key, user)
        if services.now is not None:
            services.now.update_message(channel, message["ts"], text, updated)
        else:
            try:
                client.chat_update(channel=channel, ts=message["ts"], text=text,
                                   blocks=updated)
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.info("could not update the habit DM of %s: %s", user, exc)
    from bot.listeners.home import publish_home

    publish_home(services, client, user)
