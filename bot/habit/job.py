"""The habit's scheduled job: every minute, send each leader whose local time has come
their DM for the day, exactly once.

Exactly once, also across a restart at the minute of sending: the picks are reserved
first (a rerun gets the same ones), the DM is queued in the outbox under the id
`habit:<user>:<date>` (queueing the same id again is a no-op, and the outbox posts each
item once), and only then is the day logged as sent. A crash between any two steps
leaves a rerun within the sending window doing the rest, nothing twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.habit import dm, picks, state
from bot.habit.people import Leader, Roster
from bot.store.base import Store, is_open

log = logging.getLogger(__name__)

CHANNELS_REFRESH = timedelta(hours=6)


def roster_of(services: Any) -> Roster:
    """The services' roster of leaders (made once, kept on the services)."""
    roster = getattr(services, "habit_roster", None)
    if roster is None:
        roster = Roster(services.settings.habit, services.client, lambda: services.team_id)
        services.habit_roster = roster
    return roster


def habit_tick(services: Any, now: datetime | None = None) -> int:
    """Send every DM due at `now`; returns how many were queued."""
    habit = services.settings.habit
    if habit is None or not habit.enabled or services.client is None:
        return 0
    now = now or services.clock()
    store: Store = services.store
    due: list[tuple[Leader, date, state.Prefs]] = []
    for leader in roster_of(services).leaders():
        prefs = state.get_prefs(store, leader.user)
        day = state.due_date(prefs, habit, leader.timezone, now)
        if day is not None and not state.was_sent(store, leader.user, day):
            due.append((leader, day, prefs))
    if not due:
        return 0
    from bot.summary.jobs import brand_words

    growth = picks.theme_growth(store, now, brand_words(services.settings))
    sent = 0
    for leader, day, prefs in due:
        try:
            sent += _send(services, leader, day, prefs, growth, now)
        except (SlackApiError, SlackClientError, OSError) as exc:
            # Slack down: the next tick (within the sending window) tries again.
            log.warning("habit DM for %s not sent yet: %s", leader.user, exc)
    return sent


def _send(services: Any, leader: Leader, day: date, prefs: state.Prefs,
          growth: picks.Growth, now: datetime) -> int:
    store: Store = services.store
    habit = services.settings.habit
    channel = prefs.dm or _open_dm(services, leader.user)
    followed = (prefs.departments if prefs.departments is not None
                else followed_departments(services, leader.user, now))
    chosen: dict[str, picks.Pick] = {}

    def choose(taken: set[str]) -> list[str]:
        found = picks.choose(store, count=habit.count, taken=taken, followed=followed,
                             growth=growth)
        chosen.update({p.mention.key: p for p in found})
        return [p.mention.key for p in found]

    keys = state.reserve(store, leader.user, day, now, choose)
    day_picks = [chosen.get(k) or _again(store, k) for k in keys]
    day_picks = [p for p in day_picks if p is not None]
    text, body = dm.habit_message(day_picks, now, _weekly(services, leader.user, day, now))
    services.outbox.message(channel, text, blocks=body,
                            item_id=f"habit:{leader.user}:{day.isoformat()}")
    state.record_sent(store, leader.user, day, keys, now)
    wake = getattr(services.outbox, "wake", None)
    if callable(wake):
        wake()
    log.info("habit DM for %s queued (%d mentions)", leader.user, len(day_picks))
    return 1


def _again(store: Store, key: str) -> picks.Pick | None:
    """A pick reserved by an interrupted earlier run: shown again unless someone has
    claimed it since."""
    mention = store.get_mention(key)
    return picks.Pick(mention, picks.MORE) if mention is not None and is_open(mention) \
        else None


def _open_dm(services: Any, user: str) -> str:
    """The DM channel with `user` (conversations.open, through the SlackNow port when
    the services have one); raises when Slack gives none (the next tick tries again)."""
    port = getattr(services, "now", None)
    if port is not None:
        channel = port.open_dm(user) or ""
    else:
        resp = services.client.conversations_open(users=user)
        channel = str((resp.get("channel") or {}).get("id") or "")
    if not channel:
        raise SlackClientError(f"conversations.open gave no channel for {user}")
    state.update_prefs(services.store, user, dm=channel)
    return channel


def followed_departments(services: Any, user: str, now: datetime) -> list[str]:
    """The departments whose channels the person is in (users.conversations), cached in
    the store for a few hours; [] when Slack will not say."""
    key = f"habit:channels:{user}"
    cached = services.store.get_meta(key)
    if isinstance(cached, dict) and cached.get("at"):
        if now - datetime.fromisoformat(cached["at"]) < CHANNELS_REFRESH:
            return list(cached.get("departments") or [])
    found: list[str] = []
    try:
        cursor = None
        while True:
            resp = services.client.users_conversations(
                user=user, types="public_channel,private_channel", exclude_archived=True,
                limit=200, cursor=cursor)
            for ch in resp.get("channels") or []:
                dept = services.channels.department_for_channel(ch.get("id", ""),
                                                                ch.get("name"))
                if dept and dept not in found:
                    found.append(dept)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.info("users.conversations for %s failed (%s); no followed departments", user,
                 exc)
        return list(cached.get("departments") or []) if isinstance(cached, dict) else []
    services.store.set_meta(key, {"at": now.isoformat(), "departments": found})
    return found


def _weekly(services: Any, user: str, day: date, now: datetime) -> str | None:
    """The weekly line, in the first DM of each week (Monday's, or the first after)."""
    store: Store = services.store
    log_rows = state.log_of(store, user)
    week = day.isocalendar()[:2]
    if any(date.fromisoformat(s.date).isocalendar()[:2] == week and s.date != day.isoformat()
           for s in log_rows):
        return None
    keys = {k for s in log_rows for k in s.keys}
    answers = [ev for key in keys for ev in store.events(key) if ev.kind == "answered"]
    return dm.weekly_line(log_rows, answers, user, now)
