"""Draft review in the thread: Approve / Edit / Reject / Retry, and publisher-group events.

Every button acknowledges first and then acts; bot.answers.answering makes the decisions
(who may, which of two simultaneous clicks wins) so they hold however they are reached.
The person who clicked hears the outcome ephemerally; the draft's author is told by
bot.answers.answering.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.answers import answering, drafts, messages
from bot.answers.length import too_long
from bot.listeners import acks_at_once, tell
from bot.slack import ids
from bot.slack.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    # Long because it declares each listener as a short closure over `services` and
    # wires them at the end; the logic lives in bot.answers.answering.
    @acks_at_once
    def on_approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        outcome = answering.approve(services, _value(body), _user(body), where=_where(body))
        tell(client, _user(body), outcome.notice, channel=_channel(body))

    @acks_at_once
    def on_retry(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        outcome = answering.retry(services, _value(body), _user(body), where=_where(body))
        tell(client, _user(body), outcome.notice, channel=_channel(body))

    def open_modal(kind: str, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, draft_id = _user(body), _value(body)
        if not answering.publishers_of(services).is_publisher(user):
            tell(client, user, "Only publishers can edit or reject a reply that will speak "
                 "for the company.", channel=_channel(body))
            return
        draft = drafts.get(services.store, draft_id)
        if draft is None or draft.status != drafts.DRAFT:
            tell(client, user, answering.already_decided(draft).notice,
                 channel=_channel(body))
            return
        where = _where(body)
        meta = {"draft_id": draft_id, "channel": where[0] if where else _channel(body),
                "ts": where[1] if where else None}
        view = (messages.edit_modal(draft, meta) if kind == "edit"
                else messages.reject_modal(draft, meta))
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("views.open failed: %s", exc)
            tell(client, user, "Slack didn't let me open the form in time; please click "
                 "again.", channel=_channel(body))

    def on_edit_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                       client: WebClient) -> None:
        meta, user = _meta(view), _user(body)
        text = _submitted(view, messages.REPLY_BLOCK, messages.REPLY_ACTION)
        draft = drafts.get(services.store, str(meta.get("draft_id") or ""))
        mention = services.store.get_mention(draft.mention_key) if draft else None
        problem = None
        if not answering.publishers_of(services).is_publisher(user):
            problem = "Only publishers can edit and publish a reply."
        elif draft is None or mention is None:
            problem = "This draft no longer exists."
        elif not text.strip():
            problem = "Write a reply first."
        else:
            problem = too_long(mention.source, text.strip())
        if problem:
            ack(response_action="errors", errors={messages.REPLY_BLOCK: problem})
            return
        ack()
        outcome = answering.approve(services, draft.id, user, text=text,
                                    where=_meta_where(meta))
        tell(client, user, outcome.notice, channel=meta.get("channel"))

    def on_reject_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                         client: WebClient) -> None:
        meta, user = _meta(view), _user(body)
        reason = _submitted(view, messages.REASON_BLOCK, messages.REASON_ACTION).strip()
        if not reason:
            ack(response_action="errors",
                errors={messages.REASON_BLOCK: "Say what should change, so the author can "
                                               "rewrite it."})
            return
        ack()
        outcome = answering.reject(services, str(meta.get("draft_id") or ""), user, reason,
                                   where=_meta_where(meta))
        tell(client, user, outcome.notice, channel=meta.get("channel"))

    def on_group_changed(ack: Ack, event: dict[str, Any]) -> None:
        ack()
        group = event.get("subteam_id") or (event.get("subteam") or {}).get("id")
        answering.publishers_of(services).invalidate(group or None)

    app.action(ids.APPROVE)(on_approve)
    app.action(ids.RETRY_PUBLISH)(on_retry)
    app.action(ids.EDIT_DRAFT)(acks_at_once(
        lambda ack, body, client: open_modal("edit", ack, body, client), opens_modal=True))
    app.action(ids.REJECT)(acks_at_once(
        lambda ack, body, client: open_modal("reject", ack, body, client),
        opens_modal=True))
    app.view(ids.EDIT_VIEW)(on_edit_submit)
    app.view(ids.REJECT_VIEW)(on_reject_submit)
    app.event("subteam_members_changed")(on_group_changed)
    app.event("subteam_updated")(on_group_changed)


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id")


def _where(body: dict[str, Any]) -> tuple[str, str] | None:
    """(channel, ts) of the message holding the clicked button."""
    channel = _channel(body)
    ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get(
        "ts")
    return (channel, ts) if channel and ts else None


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _meta_where(meta: dict[str, Any]) -> tuple[str, str] | None:
    if meta.get("channel") and meta.get("ts"):
        return (str(meta["channel"]), str(meta["ts"]))
    return None


def _submitted(view: dict[str, Any], block: str, action: str) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(block) or {}
    return str((values.get(action) or {}).get("value") or "")
