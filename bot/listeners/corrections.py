"""The corrections menu on a mention message (⋯): move, undo my move, complaint or not.

A thin layer over bot.corrections: acknowledge, read the choice, act, and tell only the
person who chose when something was refused. "Move to another department…" opens the
Move modal straight after the ack (a trigger_id lives 3 seconds); its submission is
checked inside the modal first, so a choice that cannot be made says why there.
Payloads that are not what Slack sends change nothing and get one polite line.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import corrections, workflow
from bot.listeners import tell
from bot.slack import blocks, ids, views
from bot.slack.services import Services

log = logging.getLogger(__name__)

UNREADABLE = "Sorry, I couldn't tell which correction you chose; nothing was changed."
GONE = "That mention no longer exists."


def register(app: App, services: Services) -> None:
    def on_correct(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = body["user"]["id"], _channel(body)
        choice = blocks.read_correction(_chosen_value(body))
        if choice is None:
            log.info("unreadable corrections choice from %s", user)
            tell(client, user, UNREADABLE, channel=channel)
            return
        verb, ref = choice
        mention = workflow.find_mention(services.store, ref)
        if mention is None:
            tell(client, user, GONE, channel=channel)
            return
        if verb == ids.MOVE_CHOICE:
            _open_move(services, client, body, mention)
            return
        if verb == ids.UNDO_MOVE_CHOICE:
            outcome = corrections.undo_move(services, mention.key, user)
        else:
            outcome = corrections.mark(services, mention.key, user,
                                       verb == ids.IS_COMPLAINT_CHOICE)
        if not outcome.ok:
            tell(client, user, outcome.message, channel=channel)

    def on_move(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                client: WebClient) -> None:
        meta = views.read_metadata(view.get("private_metadata"))
        key, user = str(meta.get("key") or ""), body["user"]["id"]
        seen = meta.get("seen") if isinstance(meta.get("seen"), str) else None
        target = views.submitted_value(view, views.MOVE_BLOCK, views.MOVE_INPUT)
        mention = services.store.get_mention(key) if key else None
        problem = corrections.move_problem(services, mention, target, seen)
        if problem:
            ack(response_action="errors", errors={views.MOVE_BLOCK: problem})
            return
        ack()
        outcome = corrections.move(services, key, user, target, seen)
        channel = meta.get("channel") if isinstance(meta.get("channel"), str) else None
        tell(client, user, outcome.message, channel=channel)

    app.action(ids.CORRECT)(on_correct)
    app.view(ids.MOVE_VIEW)(on_move)


def _chosen_value(body: dict[str, Any]) -> Any:
    """The chosen option's value (an overflow) or the button's value (a lone choice)."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    chosen = actions[0].get("selected_option")
    if isinstance(chosen, dict):
        return chosen.get("value")
    return actions[0].get("value")


def _channel(body: dict[str, Any]) -> str | None:
    channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    found = channel.get("id") or container.get("channel_id")
    return found if isinstance(found, str) else None


def _open_move(services: Services, client: WebClient, body: dict[str, Any],
               mention: Any) -> None:
    user, channel = body["user"]["id"], _channel(body)
    problem = corrections.cannot_move(services, mention)
    if problem:
        tell(client, user, problem, channel=channel)
        return
    targets = corrections.move_targets(services, mention)
    try:
        client.views_open(trigger_id=body["trigger_id"],
                          view=views.move_modal(mention, targets, channel=channel))
    except (SlackApiError, SlackClientError, KeyError) as exc:
        # Usually an expired trigger (the click took over 3 s to reach us): say so.
        log.warning("views.open failed: %s", exc)
        tell(client, user, "Slack didn't let me open the form in time; please choose "
             "“Move to another department…” again.", channel=channel)
