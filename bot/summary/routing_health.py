"""Routing health: where the team moved mentions this week, and the routing accuracy
that implies, per department, beside the week before (issue 11).

Every correction a person makes is an Event (bot.mention.EventKind):
- MOVED {"from", "to"}: a person moved the mention to another department;
- MOVE_UNDONE {"from", "to"} of the move undone (the mention goes back to "from");
- ESCALATED {"from", "to", ...}: an escalation to a department is a routing label too;
  one to leadership is not (it says "this needs a leader", not "this was misrouted");
- MARKED {"complaint", "previous"}: the complaint flag was set or cleared.

A move that was later undone counts nowhere (neither in nor out). A mention's *first
department* is where it was routed on arrival: the "from" of its first move or
escalation, else the department it still has (the stored department is the current
one). It counts as *routed right* when, after every move and undo up to the window's
end, its department (leadership aside) is still the first one. Accuracy is the share
of the mentions that arrived in a week which were routed right: an estimate, since a
misrouted mention nobody moved counts as right, and the week's newest mentions may
still be moved.

`routing_health` is pure; `read_store` is the one read (mentions that arrived in the
two weeks and the events since), shared by the summary and App Home.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import mrkdwn
from bot.mention import Event, EventKind, Mention
from bot.settings import LEADERSHIP
from bot.store.base import Store, arrived_at
from bot.text import plural

WEEK = timedelta(days=7)
SPAN = 2 * WEEK  # this week and the week before
NO_DEPARTMENT = "(none)"
_ROUTE_KINDS = (EventKind.MOVED, EventKind.ESCALATED, EventKind.MOVE_UNDONE)
_KINDS = frozenset((*_ROUTE_KINDS, EventKind.MARKED))


@dataclass
class Figures:
    """One department (or all of them) over one week."""

    routed: int = 0  # mentions that arrived in the week and were first routed here
    right: int = 0  # of those, still here after every move and undo (leadership aside)
    moved_in: int = 0  # moves and escalations into the department made in the week
    moved_out: int = 0  # ... out of it (undone moves count in neither)
    flags: int = 0  # mentions whose complaint flag the team changed in the week (net)

    @property
    def accuracy(self) -> float | None:
        """Share routed right; None when nothing arrived to judge by."""
        return self.right / self.routed if self.routed else None

    @property
    def percent(self) -> int | None:
        """Whole percent routed right, rounded down (integer arithmetic: 29 of 100 is 29,
        where int(0.29 * 100) would give 28); None when nothing arrived."""
        return self.right * 100 // self.routed if self.routed else None

    @property
    def active(self) -> bool:
        return bool(self.moved_in or self.moved_out or self.flags)


@dataclass
class DepartmentHealth:
    name: str
    week: Figures = field(default_factory=Figures)
    before: Figures = field(default_factory=Figures)  # the 7 days before the week


@dataclass
class RoutingHealth:
    start: datetime  # the week: [start, end)
    end: datetime
    before_start: datetime  # the week before: [before_start, start)
    departments: list[DepartmentHealth]  # configured order first, then others by name
    overall: DepartmentHealth  # moved_in = moved_out = moves between departments

    @property
    def shown(self) -> list[DepartmentHealth]:
        """Departments with moves or flag changes in either week."""
        return [d for d in self.departments if d.week.active or d.before.active]


# --- computing --------------------------------------------------------------------------------


@dataclass
class _Story:
    """One mention's corrections replayed in order."""

    first: str | None = None  # department before its first move or escalation
    final: str | None = None  # department (leadership aside) after the last one
    moves: list[tuple[datetime, str | None, str]] = field(default_factory=list)
    marks: list[tuple[datetime, str | None, bool, bool]] = field(default_factory=list)


def _undone(events: Sequence[Event]) -> set[int]:
    """Indexes of the MOVED events (and of the MOVE_UNDONE events) that cancel out: an
    undo cancels the latest earlier move with the same from and to."""
    open_moves: list[int] = []
    cancelled: set[int] = set()
    for i, ev in enumerate(events):
        if ev.kind == EventKind.MOVED:
            open_moves.append(i)
        elif ev.kind == EventKind.MOVE_UNDONE:
            pair = (ev.data.get("from"), ev.data.get("to"))
            for j in reversed(open_moves):
                if (events[j].data.get("from"), events[j].data.get("to")) == pair:
                    open_moves.remove(j)
                    cancelled.update((i, j))
                    break
    return cancelled


def _replay(events: Sequence[Event]) -> _Story:
    story = _Story()
    cancelled = _undone(events)
    routing: str | None = None  # the current department, leadership aside
    where: str | None = None  # the current department, leadership included
    for i, ev in enumerate(events):
        if ev.kind == EventKind.MARKED:
            story.marks.append((ev.at, where, bool(ev.data.get("complaint")),
                                bool(ev.data.get("previous"))))
            continue
        src, dst = str(ev.data.get("from") or ""), str(ev.data.get("to") or "")
        if ev.kind == EventKind.MOVE_UNDONE:  # it goes back from "to" to "from"
            src, dst = dst, src
        if not dst:
            continue  # a malformed event: nothing to learn from it
        if story.first is None:
            story.first = src
            routing = src if src != LEADERSHIP else None
        if dst != LEADERSHIP:
            if i not in cancelled and ev.kind != EventKind.MOVE_UNDONE and dst != routing:
                story.moves.append((ev.at, routing, dst))
            routing = dst
        where = dst
    story.final = routing
    return story


def routing_health(mentions: Iterable[Mention], events: Iterable[Event], *, end: datetime,
                   departments: Sequence[str] = ()) -> RoutingHealth:
    """The figures for the 7 days before `end` and the 7 days before those.

    `mentions` must hold those that arrived (`arrived_at`) in the two weeks, and may hold
    older ones (to place their complaint-flag changes); `events` must hold every event
    since the two weeks began (others are ignored: anything at or after `end`, and kinds
    that are not corrections)."""
    health = RoutingHealth(end - WEEK, end, end - 2 * WEEK,
                           [DepartmentHealth(name) for name in departments],
                           DepartmentHealth(""))
    by_key = {m.key: m for m in mentions}
    stories: dict[str, list[Event]] = defaultdict(list)
    for ev in sorted((e for e in events if e.kind in _KINDS and e.at < end),
                     key=lambda e: e.at):  # stable: equal times keep the store's order
        stories[ev.mention_key].append(ev)
    replayed = {key: _replay(evs) for key, evs in stories.items()}
    tally = _Tally(health)
    for key, m in by_key.items():
        arrived = arrived_at(m)
        if not health.before_start <= arrived < end:
            continue
        story = replayed.get(key, _Story())
        first = (story.first if story.first is not None else m.department) or NO_DEPARTMENT
        if first == LEADERSHIP:
            continue
        for f in tally.figures(first, arrived):
            f.routed += 1
            f.right += (story.final or first) == first
    for key, story in replayed.items():
        for at, src, dst in story.moves:
            for f in tally.figures(src, at):
                f.moved_out += 1
            for f in tally.figures(dst, at):
                f.moved_in += 1
        mention = by_key.get(key)
        here = story.first or (mention.department if mention else "") or NO_DEPARTMENT
        _count_flags(story, here, tally)
    tally.order(departments)
    return health


class _Tally:
    """Finds the Figures a count goes to: the department's and the overall ones, of the
    week an instant falls in (none before the two weeks)."""

    def __init__(self, health: RoutingHealth) -> None:
        self.health = health
        self.lines = {d.name: d for d in health.departments}

    def week_of(self, at: datetime) -> str | None:
        if at < self.health.before_start:
            return None
        return "week" if at >= self.health.start else "before"

    def figures(self, name: str | None, at: datetime) -> list[Figures]:
        which = self.week_of(at)
        if which is None:
            return []
        out = [getattr(self.health.overall, which)]
        if name:
            if name not in self.lines:
                self.lines[name] = DepartmentHealth(name)
            out.append(getattr(self.lines[name], which))
        return out

    def order(self, departments: Sequence[str]) -> None:
        others = sorted(set(self.lines) - set(departments))
        self.health.departments = [self.lines[n] for n in [*departments, *others]]


def _count_flags(story: _Story, here: str, tally: _Tally) -> None:
    """A mention counts once a week when its complaint flag ended the week other than it
    began (set, then cleared again, is no change), in the department where it was at the
    week's last change (`here`: where it was before any move)."""
    weeks: dict[str, list[tuple[datetime, str, bool, bool]]] = defaultdict(list)
    for at, where, complaint, previous in story.marks:
        which = tally.week_of(at)
        if which is not None:
            weeks[which].append((at, where or here, complaint, previous))
    for marks in weeks.values():
        if marks[-1][2] != marks[0][3]:
            for f in tally.figures(marks[-1][1], marks[-1][0]):
                f.flags += 1


# --- reading ----------------------------------------------------------------------------------


def read_store(store: Store, end: datetime, departments: Sequence[str] = ()
               ) -> RoutingHealth:
    """Read the two weeks before `end` from the store (the mentions that arrived, the
    events since) and compute the figures."""
    since = end - SPAN
    return from_read(store, store.arrived_since(since), store.events(since=since), end,
                     departments)


def from_read(store: Store, arrived: Iterable[Mention], events: Iterable[Event],
              end: datetime, departments: Sequence[str] = ()) -> RoutingHealth:
    """The figures from mentions and events already read (the daily summary reads the
    store once for all its parts): `arrived` must hold every mention that arrived in
    the two weeks before `end`, `events` every event since then; more is ignored.
    Mentions older than that whose complaint flag was changed are looked up one by one
    (few: only those somebody marked)."""
    since = end - SPAN
    mentions = {m.key: m for m in arrived if arrived_at(m) >= since}
    kept = [e for e in events if e.kind in _KINDS and e.at >= since]
    for key in {e.mention_key for e in kept if e.kind == EventKind.MARKED} - set(mentions):
        older = store.get_mention(key)
        if older is not None:
            mentions[key] = older
    return routing_health(mentions.values(), kept, end=end, departments=departments)


# --- showing ----------------------------------------------------------------------------------


def percent(f: Figures) -> str:
    """"~92% of 60". Rounded down, so one moved mention never shows as 100%."""
    if f.percent is None:
        return "nothing arrived"
    return f"~{f.percent}% of {f.routed:,}"


def trend(week: Figures, before: Figures) -> str:
    """"better", "worse" or "the same" against the week before; "" with nothing to compare."""
    now, then = week.percent, before.percent
    if now is None or then is None:
        return ""
    return "better" if now > then else "worse" if now < then else "the same"


def _versus(week: Figures, before: Figures) -> str:
    if before.percent is None:
        return ""
    change = trend(week, before)
    return f" (week before {percent(before)}{': ' + change if change else ''})"


def _counts(f: Figures) -> str:
    parts = [f"{f.moved_in:,} moved in", f"{f.moved_out:,} moved out"]
    if f.flags:
        parts.append(plural(f.flags, "complaint flag") + " changed")
    return ", ".join(parts)


def lines(health: RoutingHealth | None, *, slack: bool, top: int | None = None) -> list[str]:
    """The routing part of the summary (and App Home) as lines of mrkdwn (`slack`, names
    escaped) or plain text; [] without figures. Only departments with moves or flag
    changes get a line (at most `top` of them); with no moves this week, one line."""
    if health is None:
        return []
    bold = "*" if slack else ""
    name = mrkdwn.escape_mrkdwn if slack else str
    week, before = health.overall.week, health.overall.before
    if not week.moved_in:
        head = f"{bold}Routing{bold}: no mentions were moved this week"
        if week.routed:
            head += f": routing accuracy {percent(week)}{_versus(week, before)}"
        if week.flags:
            head += f"; {plural(week.flags, 'complaint flag')} changed"
        return [head + "."]
    out = [f"{bold}Routing accuracy this week{bold}, estimated from moves: "
           f"{percent(week)}{_versus(week, before)}"]
    shown = health.shown
    for d in shown[:top]:
        out.append(f"• {bold}{name(d.name)}{bold}: {_counts(d.week)} · "
                   f"{percent(d.week)}{_versus(d.week, d.before)}")
    if top is not None and len(shown) > top:
        out.append(f"…and {len(shown) - top} more departments")
    return out


def to_json(health: RoutingHealth | None) -> dict[str, Any] | None:
    """The figures as plain data: every department with anything in either week
    (accuracy None when nothing arrived to judge by)."""
    if health is None:
        return None

    def one(f: Figures) -> dict[str, Any]:
        accuracy = None if f.accuracy is None else round(f.accuracy, 4)
        return {**asdict(f), "accuracy": accuracy}

    def dept(d: DepartmentHealth) -> dict[str, Any]:
        return {"name": d.name, "week": one(d.week), "week_before": one(d.before),
                "trend": trend(d.week, d.before) or None}

    return {"start": health.start.isoformat(), "end": health.end.isoformat(),
            "week_before_start": health.before_start.isoformat(),
            "overall": {k: v for k, v in dept(health.overall).items() if k != "name"},
            "departments": [dept(d) for d in health.departments
                            if d.week.routed or d.before.routed or d.week.active
                            or d.before.active]}
