"""Who gets the daily DM: [habit] people plus the members of [habit] groups, each checked
with users.info (a member of this workspace, not a guest, not deactivated) and given
their own time zone from their Slack profile.

`check` is what `check-config` runs: guests and other workspaces' users are refused,
unknown ids and groups reported one line each, deactivated people warned about and
skipped. `Roster` is the running bot's view, refreshed hourly; it skips (and warns once
about) anyone the check would refuse, so a leader who leaves mid-year costs one warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

REFRESH_SECONDS = 3600.0


@dataclass(frozen=True)
class Leader:
    user: str
    timezone: str  # IANA name: the Slack profile's, else [habit] timezone


@dataclass
class Check:
    """Problems found with the [habit] people and groups, one line each."""

    errors: list[str] = field(default_factory=list)  # refuse the config
    warnings: list[str] = field(default_factory=list)  # skipped, the config still works
    leaders: list[Leader] = field(default_factory=list)


def _valid_zone(name: Any) -> bool:
    try:
        return isinstance(name, str) and bool(name) and ZoneInfo(name) is not None
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _members(client: Any, group: str, out: Check) -> list[str]:
    try:
        return [str(u) for u in client.usergroups_users_list(usergroup=group).get("users") or []]
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("no_such_subteam", "subteam_not_found", "invalid_usergroup"):
            out.errors.append(f"habit.groups: {group} is not a user group of this workspace")
        else:
            out.errors.append(f"habit.groups: cannot read the members of {group} ({error})")
    return []


def _person(client: Any, user: str, team: str | None, where: str, habit: Any,
            out: Check) -> None:
    try:
        info = client.users_info(user=user).get("user") or {}
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("user_not_found", "user_not_visible"):
            out.errors.append(f"{where}: {user} is not a user of this workspace")
        else:
            out.errors.append(f"{where}: cannot look up {user} ({error})")
        return
    if info.get("deleted"):
        out.warnings.append(f"{where}: {user} has left the workspace (deactivated); "
                            "skipped")
        return
    if team and info.get("team_id") and info["team_id"] != team:
        out.errors.append(f"{where}: {user} belongs to another workspace; only members "
                          "of this one can be leaders in the habit")
        return
    if info.get("is_restricted") or info.get("is_ultra_restricted"):
        out.errors.append(f"{where}: {user} is a guest; guests cannot be leaders in the "
                          "habit (they would see customers' posts from every department)")
        return
    if info.get("is_bot"):
        out.warnings.append(f"{where}: {user} is a bot; skipped")
        return
    tz = info.get("tz") if _valid_zone(info.get("tz")) else habit.timezone
    out.leaders.append(Leader(user, tz))


def check(habit: Any, client: Any, team: str | None) -> Check:
    """Look every [habit] person and group member up in Slack (raises nothing: a
    failed lookup is an error line)."""
    out = Check()
    seen: set[str] = set()
    wanted = [(u, "habit.people") for u in habit.people]
    for group in habit.groups:
        wanted += [(u, f"habit.groups ({group})") for u in _members(client, group, out)]
    for user, where in wanted:
        if user in seen:
            continue
        seen.add(user)
        try:
            _person(client, user, team, where, habit, out)
        except (SlackClientError, OSError) as exc:
            out.errors.append(f"{where}: cannot reach Slack to look up {user} ({exc})")
    return out


class Roster:
    """The leaders, looked up at most hourly; problems logged once each."""

    def __init__(self, habit: Any, client: Any, team: Callable[[], str | None], *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.habit = habit
        self.client = client
        self.team = team
        self.monotonic = monotonic
        self._leaders: list[Leader] | None = None
        self._at = 0.0
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def leaders(self) -> list[Leader]:
        with self._lock:
            if self._leaders is None or self.monotonic() - self._at >= REFRESH_SECONDS:
                found = check(self.habit, self.client, self.team())
                for line in found.errors + found.warnings:
                    if line not in self._told:  # once per problem, not every minute
                        self._told.add(line)
                        log.warning("habit: %s", line)
                self._leaders, self._at = found.leaders, self.monotonic()
            return list(self._leaders)

    def get(self, user: str) -> Leader | None:
        return next((leader for leader in self.leaders() if leader.user == user), None)

    def forget(self) -> None:
        """Look everyone up again on the next call (tests; a changed group)."""
        with self._lock:
            self._leaders = None
