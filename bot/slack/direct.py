"""`SlackNow` over a `WebClient`: the immediate calls the domain needs, errors logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

# What a failed Web API call can raise: an API error, a client-side error (including
# connection failures slack_sdk wraps), or a raw socket error.
SLACK_ERRORS = (SlackApiError, SlackClientError, OSError)


class SlackDirect:
    """Implements `bot.slack.ports.SlackNow` with a configured `WebClient`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SLACK_ERRORS as exc:
            log.warning("chat.getPermalink failed for %s/%s: %s", channel, ts, exc)
            return None

    def update_message(self, channel: str, ts: str, text: str,
                       blocks: list[dict[str, Any]]) -> bool:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return True
        except SLACK_ERRORS as exc:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, exc)
            return False

    def tell(self, user: str, text: str, *, channel: str | None = None,
             thread_ts: str | None = None) -> bool:
        """Ephemeral in `channel` (in the thread, if given); a DM if that fails or no
        channel is known."""
        if channel:
            try:
                self.client.chat_postEphemeral(channel=channel, user=user, text=text,
                                               thread_ts=thread_ts)
                return True
            except SLACK_ERRORS as exc:
                log.info("ephemeral to %s failed (%s); sending a DM instead", user, exc)
        try:
            # Posting to a user id lands in the app's DM with them without needing the
            # im:write scope that conversations.open asks for.
            self.client.chat_postMessage(channel=user, text=text)
            return True
        except SLACK_ERRORS as exc:
            log.warning("could not tell %s: %s", user, exc)
            return False

    def open_dm(self, user: str) -> str | None:
        try:
            channel = self.client.conversations_open(users=user).get("channel") or {}
            return channel.get("id")
        except SLACK_ERRORS as exc:
            log.info("conversations.open for %s failed: %s", user, exc)
            return None
