"""Who may speak for the brand, and through which write client.

A publisher is a Slack user listed in `[answer].publishers` or a member of one of the
user groups in `[answer].publisher_groups`. Group members come from
`usergroups.users.list`, cached in the store's meta (so every replica and restart shares
them) for `ttl`, and dropped early when Slack says a group changed
(`subteam_members_changed`, `subteam_updated`; see bot.listeners.approval).
When Slack cannot be asked, the last known members are used; with none known, nobody
is a publisher through that group (fail closed: their answers go to approval).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import mrkdwn
from bot.answers.writers import Writer, writer_for
from bot.answers.writers.base import DEFAULT_TIMEOUT
from bot.mention import parse_time, utcnow
from bot.settings import Settings
from bot.store.base import Store

log = logging.getLogger(__name__)

GROUP_PREFIX = "publishers:group:"
DEFAULT_TTL = timedelta(minutes=15)


class Publishers:
    def __init__(self, settings: Settings, store: Store, client: Any, *,
                 session: requests.Session | None = None,
                 clock: Callable[[], datetime] = utcnow, ttl: timedelta = DEFAULT_TTL,
                 timeout: float = DEFAULT_TIMEOUT,
                 writers: dict[str, Writer | None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.client = client  # slack_sdk.WebClient
        self.session = session or requests.Session()
        self.clock = clock
        self.ttl = ttl
        self.timeout = timeout  # seconds for one call to a source's write API
        self._writers: dict[str, Writer | None] = dict(writers or {})
        self._lock = threading.Lock()

    # --- who --------------------------------------------------------------------------
    def is_publisher(self, user_id: str | None) -> bool:
        """True if `user_id` may publish replies (and approve others' drafts)."""
        if not user_id:
            return False
        if user_id in self.settings.answer.publishers:
            return True
        return any(user_id in self.group_members(group)
                   for group in self.settings.answer.publisher_groups)

    def group_members(self, group_id: str) -> set[str]:
        """Members of a user group, from the cache while fresh, else from Slack."""
        cached = self.store.get_meta(GROUP_PREFIX + group_id)
        now = self.clock()
        if isinstance(cached, dict) and cached.get("fetched_at"):
            if now - parse_time(cached["fetched_at"]) < self.ttl:
                return set(cached.get("users") or [])
        try:
            resp = self.client.usergroups_users_list(usergroup=group_id)
            users = [str(u) for u in resp.get("users") or []]
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("usergroups.users.list %s failed, using the last known members: %s",
                        group_id, exc)
            return set(cached.get("users") or []) if isinstance(cached, dict) else set()
        self.store.set_meta(GROUP_PREFIX + group_id,
                            {"users": users, "fetched_at": now.isoformat()})
        return set(users)

    def invalidate(self, group_id: str | None = None) -> None:
        """Forget cached members (of one group, or of all publisher groups)."""
        groups = [group_id] if group_id else list(self.settings.answer.publisher_groups)
        for group in groups:
            if group in self.settings.answer.publisher_groups:
                self.store.set_meta(GROUP_PREFIX + group, None)

    def describe(self) -> str:
        """The publishers as mrkdwn mentions, for messages that say who can approve."""
        parts = [mrkdwn.user(u) for u in self.settings.answer.publishers]
        parts += [p for p in map(mrkdwn.group_ping, self.settings.answer.publisher_groups) if p]
        return ", ".join(parts) or "nobody (set [answer].publishers)"

    # --- where ------------------------------------------------------------------------
    def writer(self, source: str) -> Writer | None:
        """The write client for `source`, or None when replies cannot be published there
        (publishing is off, the source is not writable, or its credential is unset)."""
        if not self.settings.answer.publish:
            return None
        with self._lock:
            if source not in self._writers:
                self._writers[source] = writer_for(self.settings.sources.get(source),
                                                   self.session, clock=self.clock,
                                                   timeout=self.timeout)
            return self._writers[source]
