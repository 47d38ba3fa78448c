"""Reconciliation: did an earlier attempt of this row reach Slack after all?

chat.postMessage has no idempotency key. A row still "sending" (a crash, a timeout, a 5xx:
Slack may or may not have accepted it) is looked for in the channel's history (or the
thread's replies) by the row id its message carries in metadata, and posted again only
if it is not there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.outbox.queue import Kind, log
from bot.store.base import OutboxItem

# History errors that mean "cannot check", not "not there": the row is posted anyway.
CANNOT_RECONCILE = {"missing_scope", "not_in_channel", "no_permission"}


def oldest_to_check(item: OutboxItem, now: datetime, margin: timedelta) -> str:
    """Where to start looking: the row's first attempt (else its creation) minus `margin`,
    as the `oldest` parameter of conversations.history."""
    since = item.payload.get("first_sent_at")
    start = datetime.fromisoformat(since) if since else (item.created_at or now)
    return f"{(start - margin).timestamp():.6f}"


def find_earlier_post(client: WebClient, item: OutboxItem, channel: str,
                      thread_ts: str | None, oldest: str) -> str | None:
    """The ts of the row's earlier post if Slack has it, else None. Slack's and the
    network's errors propagate to the caller, which classifies them."""
    cursor: str | None = None
    for _ in range(50):  # 50 pages of 200: far more than one outage produces
        params: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200,
                                  "include_all_metadata": True}
        if cursor:
            params["cursor"] = cursor
        if thread_ts:
            response = client.conversations_replies(ts=thread_ts, **params)
        else:
            response = client.conversations_history(**params)
        for msg in response.get("messages") or []:
            meta = (msg.get("metadata") or {}).get("event_payload") or {}
            if meta.get("outbox_id") == item.id or (
                    not msg.get("metadata") and looks_like(item, msg)):
                log.info("outbox row %s was already posted (ts %s); not posting again",
                         item.id, msg.get("ts"))
                return str(msg["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def cannot_check(exc: Exception) -> str:
    """Slack's error name if `exc` means we may not read that history (so the row is
    posted anyway), else ""."""
    if not isinstance(exc, SlackApiError):
        return ""
    error = str(exc.response.get("error", "")) if exc.response else ""
    return error if error in CANNOT_RECONCILE else ""


def looks_like(item: OutboxItem, msg: dict[str, Any]) -> bool:
    """Fallback for a message that came back without metadata (a workspace or scope that
    withholds it): our bot's message with this mention's buttons, or with the same text."""
    if not msg.get("bot_id"):
        return False
    if item.kind == Kind.MENTION:
        return any(el.get("value") == item.mention_key
                   for block in msg.get("blocks") or [] if block.get("type") == "actions"
                   for el in block.get("elements") or [])
    text = item.payload.get("text")
    return bool(text) and msg.get("text") == text
