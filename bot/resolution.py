"""First-contact resolution: did one answer settle it, or did the customer come back?

A mention answered once whose author (same source, same author) does not come back
with another complaint within `[summary] resolution_days` counts as resolved at first
contact. One who does come back links the new mention to the answered one (a line in
both threads, a "came_back" event on the answered mention) and counts against it.

The lookup is one small meta entry per answered author ("who answered their last
complaint, and when"), written when a mention is answered: checking a new complaint
costs one key read, however many mentions are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import mrkdwn
from bot.mention import Event, Mention, parse_time
from bot.store.base import Store

log = logging.getLogger(__name__)

META_PREFIX = "answered-author:"
CAME_BACK = "came_back"  # event kind, recorded on the answered (earlier) mention
WINDOW_DAYS = 30  # the rates in the summary and App Home cover this many days


def author_key(source: str, author: str) -> str:
    return f"{META_PREFIX}{source}:{author}"


def remember_answer(store: Store, mention: Mention, user: str | None, at: datetime) -> None:
    """Note that `mention`'s author was answered (by `user`, at `at`)."""
    if not mention.author:
        return
    store.set_meta(author_key(mention.source, mention.author),
                   {"key": mention.key, "short_id": mention.short_id, "user": user,
                    "at": at.isoformat()})


def forget_answers(store: Store, deleted: list[Mention]) -> int:
    """Retention deleted these mentions: drop the "who answered this author" entries that
    still point at one of them (an entry a newer answer replaced stays). Without this
    the store would keep one entry per author ever answered. Returns how many went."""
    gone = 0
    for mention in deleted:
        if mention.author:
            gone += store.delete_meta(
                author_key(mention.source, mention.author),
                lambda value, key=mention.key: isinstance(value, dict)
                and value.get("key") == key)
    return gone


@dataclass
class Return:
    """A customer who came back: the new mention and the answered one it follows."""

    new_key: str
    old_key: str
    old_short_id: str
    answered_by: str | None
    after: timedelta  # from the answer to the new post


def find_return(store: Store, mention: Mention, resolution_days: int) -> Return | None:
    """The answered mention this new complaint comes back to, if its author was
    answered at most `resolution_days` before posting it."""
    if not (mention.complaint and mention.author):
        return None
    last = store.get_meta(author_key(mention.source, mention.author))
    if not isinstance(last, dict) or not last.get("key") or last["key"] == mention.key:
        return None
    try:
        answered_at = parse_time(last["at"])
    except (KeyError, TypeError, ValueError):
        return None
    after = mention.created_at - answered_at
    if not timedelta(0) <= after <= timedelta(days=resolution_days):
        return None
    return Return(mention.key, str(last["key"]), str(last.get("short_id") or ""),
                  last.get("user"), after)


def link_return(store: Store, outbox: Any, mention: Mention, resolution_days: int,
                now: datetime) -> Return | None:
    """Record a returning customer: the event on the earlier mention, the link on the
    new one, and a line in both threads. Returns what was linked, or None."""
    found = find_return(store, mention, resolution_days)
    if found is None:
        return None

    def link(m: Mention) -> Mention:
        m.extra = {**m.extra, "came_back_to": found.old_key}
        return m

    saved = store.update_mention(mention.key, link) or mention
    store.add_event(Event(found.old_key, CAME_BACK, now, user=found.answered_by,
                          data={"new_key": mention.key, "short_id": saved.short_id,
                                "after_seconds": int(found.after.total_seconds())}))
    thread = getattr(outbox, "thread", None)
    if callable(thread):
        old = found.old_short_id or found.old_key
        thread(mention.key, came_back_line(found.after, found.answered_by, old),
               item_id=f"came-back:{mention.key}")
        thread(found.old_key, f":repeat: The same customer came back "
                              f"{ago(found.after)} after this was answered: "
                              f"{saved.short_id or mention.key}",
               item_id=f"came-back-old:{mention.key}")
    log.info("%s: the same customer came back %s after %s was answered",
             saved.short_id or mention.key, ago(found.after), found.old_key)
    return found


def came_back_line(after: timedelta, answered_by: str | None, old_label: str) -> str:
    """"Same customer came back 2 days after @x answered E-12"."""
    who = mrkdwn.user(answered_by) if answered_by else "someone"
    return (f":repeat: Same customer came back {ago(after)} after {who} answered "
            f"{mrkdwn.escape_mrkdwn(old_label)}")


def ago(delta: timedelta) -> str:
    """"2 days", "5 hours", "40 minutes" (whole units, rounded down)."""
    seconds = max(0, int(delta.total_seconds()))
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {name}{'' if n == 1 else 's'}"
    return "moments"


# --- the rates --------------------------------------------------------------------------


@dataclass
class Rate:
    """First-contact resolution of one department or answerer."""

    name: str
    resolved: int = 0  # answered, and no complaint from the author within the window
    came_back: int = 0  # the author came back with a new complaint
    pending: int = 0  # answered less than resolution_days ago: not decided yet

    @property
    def decided(self) -> int:
        return self.resolved + self.came_back

    @property
    def rate(self) -> float | None:
        return self.resolved / self.decided if self.decided else None


@dataclass
class Resolution:
    days: int  # resolution_days
    window_days: int
    by_department: list[Rate] = field(default_factory=list)
    by_answerer: list[Rate] = field(default_factory=list)
    overall: Rate = field(default_factory=lambda: Rate("all"))


def rates(events: Iterable[Event], departments: dict[str, str], now: datetime, *,
          resolution_days: int, window_days: int = WINDOW_DAYS) -> Resolution:
    """First-contact resolution over the mentions first answered in the last
    `window_days` before `now`. `events` must cover that window (oldest first);
    `departments` maps mention key -> department."""
    since = now - timedelta(days=window_days)
    first_answer: dict[str, Event] = {}
    came_back: set[str] = set()
    for ev in events:
        if ev.kind == "answered" and ev.mention_key not in first_answer:
            first_answer[ev.mention_key] = ev
        elif ev.kind == CAME_BACK:
            came_back.add(ev.mention_key)
    out = Resolution(resolution_days, window_days)
    by_dept: dict[str, Rate] = {}
    by_user: dict[str, Rate] = {}
    decided_before = now - timedelta(days=resolution_days)
    for key, ev in first_answer.items():
        if not since <= ev.at < now:
            continue
        dept = departments.get(key) or "(none)"
        user = ev.user or "(unknown)"
        for rate in (by_dept.setdefault(dept, Rate(dept)),
                     by_user.setdefault(user, Rate(user)), out.overall):
            if key in came_back:
                rate.came_back += 1
            elif ev.at <= decided_before:
                rate.resolved += 1
            else:
                rate.pending += 1
    order = lambda r: (-r.decided, r.name)  # noqa: E731 - the busiest first
    out.by_department = sorted(by_dept.values(), key=order)
    out.by_answerer = sorted(by_user.values(), key=order)
    return out


def resolution_for(store: Store, now: datetime, resolution_days: int,
                   window_days: int = WINDOW_DAYS) -> Resolution:
    """Read the window's events (and the answered mentions' departments) and rate."""
    events = store.events(since=now - timedelta(days=window_days))
    departments: dict[str, str] = {}
    for ev in events:
        if ev.kind == "answered" and ev.mention_key not in departments:
            mention = store.get_mention(ev.mention_key)
            departments[ev.mention_key] = mention.department if mention else ""
    return rates(events, departments, now, resolution_days=resolution_days,
                 window_days=window_days)


# --- in words (the summary and App Home) ---------------------------------------------------


def _rate_text(rate: Rate) -> str:
    pct = "–" if rate.rate is None else f"{rate.rate:.0%}"
    extra = f"; {rate.pending} too recent to tell" if rate.pending else ""
    return f"{pct} ({rate.resolved} of {rate.decided}{extra})"


def _who(user: str, slack: bool) -> str:
    return mrkdwn.user(user) if slack else user


def lines(r: Resolution, *, slack: bool, top: int = 5) -> list[str]:
    """The rates as lines of mrkdwn (`slack`) or plain text; [] when nothing was
    answered in the window. Names are escaped for Slack, answerers shown as @mentions."""
    if not (r.overall.decided or r.overall.pending):
        return []
    bold = "*" if slack else ""
    name = mrkdwn.escape_mrkdwn if slack else str
    out = [f"{bold}Resolved at first contact ({r.window_days} days){bold}: "
           f"{_rate_text(r.overall)}"]
    if r.by_department:
        out.append("By department: " + " · ".join(
            f"{name(d.name)} {_rate_text(d)}" for d in r.by_department[:top]))
    if r.by_answerer:
        out.append("By answerer: " + " · ".join(
            f"{_who(a.name, slack)} {_rate_text(a)}" for a in r.by_answerer[:top]))
    italic = "_" if slack else ""
    out.append(f"{italic}Resolved: answered, and the customer did not come back with a new "
               f"complaint within {r.days} days{italic}")
    return out
