"""[habit] in the config file: who gets the daily DM, when, and how many mentions.

    [habit]
    people = ["U0123ABCD"]          # Slack user ids
    groups = ["S0456EFGH"]          # and/or user groups (their members, looked up daily)
    time = "08:30"                  # default local time; each person may change theirs
    timezone = "Europe/Berlin"      # for people whose Slack profile has no time zone
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    count = 3

Parsed by bot.settings (this module sits below it, so it takes the validator and the
error class as arguments). Ids are checked for shape here; whether they are real
members (not guests, not of another workspace, not deleted) needs Slack and is checked
by `check-config` and at sending time (bot.habit.people).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time as dtime
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
MAX_COUNT = 10
_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_GROUP = re.compile(r"S[A-Z0-9]{2,}")


@dataclass(frozen=True)
class HabitSettings:
    people: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    time: dtime = dtime(9, 0)
    timezone: str = "UTC"
    weekdays: tuple[str, ...] = WEEKDAYS[:5]
    count: int = 3

    @property
    def enabled(self) -> bool:
        return bool(self.people or self.groups)

    def on(self, weekday: int) -> bool:
        """Is the habit on for this day (0 = Monday)?"""
        return WEEKDAYS[weekday] in self.weekdays


def parse_habit(v: Any, raw: dict[str, Any], default_timezone: str,
                ConfigError: type[Exception]) -> HabitSettings:  # noqa: N803 - a class
    """[habit] from the parsed TOML, with bot.settings' validator `v` and its error
    class (passed in: this module sits below bot.settings)."""
    table = v.table(raw, "habit")
    v.only(table, "habit", {"people", "groups", "time", "timezone", "weekdays", "count"})
    people = v.strings(table, "habit.people")
    for person in people:
        if not _USER.fullmatch(person):
            raise ConfigError(v.path, "habit.people", f"expected Slack user ids like "
                              f"\"U0123ABCD\", got {person!r} (a name or @handle will not do)")
    groups = v.strings(table, "habit.groups")
    for group in groups:
        if not _GROUP.fullmatch(group):
            raise ConfigError(v.path, "habit.groups", f"expected user group ids like "
                              f"\"S0123ABCD\", got {group!r}")
    days = tuple(d.strip().lower()[:3] for d in v.strings(table, "habit.weekdays")) \
        if "weekdays" in table else WEEKDAYS[:5]
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        raise ConfigError(v.path, "habit.weekdays", "expected day names like "
                          "[\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]"
                          + (f", got {bad[0]!r}" if bad else ""))
    count = v.positive_int(table, "habit.count", default=3, maximum=MAX_COUNT)
    return HabitSettings(
        people=tuple(dict.fromkeys(people)), groups=tuple(dict.fromkeys(groups)),
        time=v.clock_time(table, "habit.time", default="09:00"),
        timezone=v.timezone(table, "habit.timezone", default=default_timezone),
        weekdays=tuple(d for d in WEEKDAYS if d in days), count=count)
