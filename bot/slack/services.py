"""The collaborators every Slack listener and workflow step needs, passed in as one object.

`Services` is built once (bot.app.build_app) and handed to each listener module's
`register(app, services)`; tests build it with a real store in a temp dir and a client
pointed at the Slack stand-in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.mention import utcnow
from bot.settings import LEADERSHIP, Settings
from bot.slack.direct import SlackDirect
from bot.slack.ports import Outbound, SlackNow
from bot.store.base import Store

log = logging.getLogger(__name__)



class ChannelDirectory:
    """Maps configured channels ("#support" or "C0123") to channel ids and back to departments.

    Departments may be configured by name; Slack sends channel ids. Names are resolved once
    through conversations.list and cached; an unknown id triggers at most one refresh a
    minute (a channel may have been created or renamed since).
    """

    def __init__(self, settings: Settings, client: WebClient | None, *,
                 refresh_every: float = 60.0, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        self.settings = settings
        self.client = client
        self.refresh_every = refresh_every
        self.monotonic = monotonic
        self._ids: dict[str, str] | None = None  # channel name (no #) -> id
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _load(self, force: bool = False) -> dict[str, str]:
        with self._lock:
            stale = self.monotonic() - self._loaded_at >= self.refresh_every
            if self._ids is not None and not (force and stale):
                return self._ids
            self._loaded_at = self.monotonic()
            ids: dict[str, str] = dict(self._ids or {})
            if self.client is not None and self._needs_lookup():
                try:
                    cursor = None
                    while True:
                        resp = self.client.conversations_list(
                            types="public_channel,private_channel", exclude_archived=True,
                            limit=1000, cursor=cursor)
                        for ch in resp.get("channels") or []:
                            ids[ch["name"]] = ch["id"]
                        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                        if not cursor:
                            break
                except (SlackApiError, SlackClientError, OSError) as exc:
                    # Keep what we had; channel names then resolve on the next refresh.
                    log.warning("conversations.list failed, channel names unresolved: %s", exc)
            self._ids = ids
            return ids

    def _needs_lookup(self) -> bool:
        return any(ch.startswith("#") for ch in self._configured().values())

    def _configured(self) -> dict[str, str]:
        out = {name: dep.channel for name, dep in self.settings.departments.items()}
        out[LEADERSHIP] = self.settings.escalation.channel
        return out

    def resolve(self, channel: str) -> str | None:
        """The channel id for a configured channel ("#name" or an id); None if unknown."""
        if not channel.startswith("#"):
            return channel
        return self._load().get(channel[1:])

    def department_for_channel(self, channel_id: str, channel_name: str | None = None
                               ) -> str | None:
        """The department (or LEADERSHIP) whose channel this is, or None."""
        for attempt in range(2):
            ids = self._load(force=attempt == 1)
            for dept, configured in self._configured().items():
                if configured == channel_id or (
                        configured.startswith("#") and ids.get(configured[1:]) == channel_id):
                    return dept
        if channel_name:
            # Slack also sends the channel's name; good enough when conversations.list
            # is unavailable (missing scope, outage).
            for dept, configured in self._configured().items():
                if configured.lstrip("#") == channel_name:
                    return dept
        return None


@dataclass
class Services:
    """Everything a listener needs; build once, pass to every `register(app, services)`."""

    settings: Settings
    store: Store
    outbox: Outbound
    clock: Callable[[], datetime] = utcnow
    # The raw client is kept for the listeners (views.open, auth.test); the domain uses
    # `now` and `outbox` only.
    client: WebClient | None = None
    # bot.answers.publishers.Publishers, built on first use by answering.publishers_of;
    # typed loosely because answers sits above this layer.
    publishers: Any = None
    team_id: str | None = None  # the workspace that installed the app (from auth.test)
    channels: ChannelDirectory | None = field(default=None, repr=False)
    now: SlackNow | None = None  # immediate calls (permalink, update, tell)
    habit_roster: Any = field(default=None, repr=False)  # bot.habit.people.Roster, lazily
    # bot.judgment.learned_store.Retrainer when learning is on: escalations and answers
    # become labels through its `submit` (typed loosely: judgment sits beside slack).
    learning: Any = None

    def __post_init__(self) -> None:
        if self.channels is None:
            self.channels = ChannelDirectory(self.settings, self.client)
        if self.now is None and self.client is not None:
            self.now = SlackDirect(self.client)

    def department_channel(self, department: str) -> str:
        """The configured channel of a department, or of LEADERSHIP (the escalation channel)."""
        if department == LEADERSHIP:
            return self.settings.escalation.channel
        return self.settings.departments[department].channel

    def department_lead(self, department: str) -> str | None:
        """The user group id to ping for a department (or LEADERSHIP), if configured."""
        if department == LEADERSHIP:
            return self.settings.escalation.lead
        dep = self.settings.departments.get(department)
        return dep.lead if dep else None
