"""What the habit remembers, all in the store's meta (get/set/update_meta, so every
backend keeps it without a schema change):

- `habit:prefs:<user>`: the person's own choices from App Home (time, paused, stopped,
  departments) and their DM channel id;
- `habit:picks`: the mentions given to each leader each day, reserved atomically, so no
  mention goes to two leaders on the same day and a rerun reuses the same picks;
- `habit:log:<user>`: the DMs sent (date, time, mentions, when first opened), for the
  weekly line and to send each day's DM once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from bot.mention import parse_time
from bot.store.base import Store

PREFS = "habit:prefs:"
PICKS = "habit:picks"
LOG = "habit:log:"
GRACE = timedelta(minutes=15)  # a DM is sent from its minute until this much later
KEEP_DAYS = 15  # log entries and reservations kept this long
SAME_DAY = timedelta(hours=24)  # a mention given to one leader is not given to another


@dataclass
class Prefs:
    time: str | None = None  # "HH:MM" local; None = [habit] time
    paused: bool = False
    stopped: bool = False
    departments: list[str] | None = None  # None: the channels they are in
    dm: str | None = None  # the DM channel id (conversations.open), once known

    @classmethod
    def from_meta(cls, raw: Any) -> Prefs:
        if not isinstance(raw, dict):
            return cls()
        deps = raw.get("departments")
        return cls(time=raw.get("time") if isinstance(raw.get("time"), str) else None,
                   paused=bool(raw.get("paused")), stopped=bool(raw.get("stopped")),
                   departments=[str(d) for d in deps] if isinstance(deps, list) else None,
                   dm=raw.get("dm") if isinstance(raw.get("dm"), str) else None)

    def clock_time(self, default: dtime) -> dtime:
        try:
            hour, minute = (int(part) for part in (self.time or "").split(":"))
            return dtime(hour, minute)
        except ValueError:
            return default


def get_prefs(store: Store, user: str) -> Prefs:
    return Prefs.from_meta(store.get_meta(PREFS + user))


def update_prefs(store: Store, user: str, **changes: Any) -> Prefs:
    """Change some of a person's choices atomically; returns the result."""
    def change(old: Any) -> dict[str, Any]:
        return asdict(Prefs.from_meta({**(old or {}), **changes}))

    return Prefs.from_meta(store.update_meta(PREFS + user, change))


def due_date(prefs: Prefs, habit: Any, timezone: str, now: datetime) -> date | None:
    """The local date whose DM is due at `now` for this person, or None: their time on
    a habit weekday in their own zone (09:00 stays 09:00 across daylight saving), up to
    GRACE later (a restart or a busy minute must not lose the day)."""
    if prefs.paused or prefs.stopped:
        return None
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    if not habit.on(local.weekday()):
        return None
    at = datetime.combine(local.date(), prefs.clock_time(habit.time), tz)
    return local.date() if at <= now < at + GRACE else None


# --- picks: reserved atomically ------------------------------------------------------------


def reserve(store: Store, user: str, day: date, now: datetime,
            choose: Any) -> list[str]:
    """The mention keys for `user`'s DM of `day`: the ones reserved before (a rerun),
    else `choose(taken)` with `taken` = keys given to other leaders in the last 24 hours;
    saved in one atomic update so two leaders' DMs never share a mention."""
    slot = f"{day.isoformat()}|{user}"
    result: dict[str, list[str]] = {}

    def change(old: Any) -> dict[str, Any]:
        picks = {k: v for k, v in (old or {}).items()
                 if isinstance(v, dict) and now - parse_time(v["at"]) < timedelta(
                     days=KEEP_DAYS)}
        if slot in picks:
            result["keys"] = list(picks[slot]["keys"])
            return picks
        taken = {key for k, v in picks.items() if not k.endswith(f"|{user}")
                 and now - parse_time(v["at"]) < SAME_DAY for key in v["keys"]}
        keys = list(choose(taken))
        picks[slot] = {"keys": keys, "at": now.isoformat()}
        result["keys"] = keys
        return picks

    store.update_meta(PICKS, change)
    return result["keys"]


# --- the log of DMs sent -------------------------------------------------------------------


@dataclass
class Sent:
    date: str
    sent_at: str
    keys: list[str] = field(default_factory=list)
    opened_at: str | None = None


def log_of(store: Store, user: str) -> list[Sent]:
    raw = store.get_meta(LOG + user)
    out = []
    for row in raw if isinstance(raw, list) else []:
        if isinstance(row, dict) and row.get("date") and row.get("sent_at"):
            out.append(Sent(row["date"], row["sent_at"], list(row.get("keys") or []),
                            row.get("opened_at")))
    return out


def was_sent(store: Store, user: str, day: date) -> bool:
    return any(s.date == day.isoformat() for s in log_of(store, user))


def record_sent(store: Store, user: str, day: date, keys: Iterable[str], now: datetime
                ) -> None:
    def change(old: Any) -> list[dict[str, Any]]:
        rows = [r for r in (old or []) if isinstance(r, dict)
                and date.fromisoformat(r["date"]) > day - timedelta(days=KEEP_DAYS)
                and r["date"] != day.isoformat()]
        return [*rows, asdict(Sent(day.isoformat(), now.isoformat(), list(keys)))]

    store.update_meta(LOG + user, change)


def mark_opened(store: Store, user: str, key: str, now: datetime) -> None:
    """The first click on a DM's button: when the person "opened" that day's DM."""
    def change(old: Any) -> Any:
        rows = list(old or [])
        for row in reversed(rows):
            if isinstance(row, dict) and key in (row.get("keys") or []):
                if not row.get("opened_at"):
                    row["opened_at"] = now.isoformat()
                break
        return rows

    store.update_meta(LOG + user, change)
