"""The daily report: a pure function from mentions, events and a time window to a Report.

No I/O here. The caller reads the store once (`iter_mentions(since=window start - 7 days)`
and `events(since=window start - 7 days)`) and passes both in; everything is computed in
that single pass: the day's volume and complaint themes, the previous day's and the
previous week's counts per theme, and per-department response times from the events the
Slack half records ("posted" -> first "claimed" / first "answered").
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.mention import Event, EventKind, Mention, State
from bot.summary.themes import Doc, ThemeModel, find_themes

TOP_THEMES = 10
EXAMPLES_PER_THEME = 2
QUIET_COMPLAINTS = 3  # fewer complaints than this in the day: say it was quiet
POSITIVE_SENTIMENT = 0.05  # VADER's usual threshold for "positive"
WEEK = 7


@dataclass
class Example:
    key: str  # Mention.key
    short_id: str
    text: str  # plain, unescaped: renderers escape
    url: str  # the Slack message's permalink when known, else the post's own URL
    links: int = 1


@dataclass
class ThemeLine:
    key: str
    name: str
    count: int
    department: str
    yesterday: int  # the same theme's complaints in the 24 hours before the window
    week_avg: float  # its daily average over the 7 days before the window
    ids: list[str] = field(default_factory=list)  # mention keys in the theme
    examples: list[Example] = field(default_factory=list)
    history: bool = True  # were there any complaints in the 7 days before to compare?

    @property
    def new(self) -> bool:
        """Not seen at all in the 7 days before (which had complaints to compare)."""
        return self.history and self.week_avg == 0

    @property
    def change_vs_yesterday(self) -> int:
        return self.count - self.yesterday

    @property
    def change_vs_week(self) -> float:
        return self.count - self.week_avg


@dataclass
class DepartmentLine:
    name: str
    mentions: int = 0
    complaints: int = 0
    unclaimed: int = 0  # the window's mentions still in state NEW
    open_escalations: int = 0  # escalated and not answered, among the mentions read
    claim_median: float | None = None  # seconds from "posted" to the first "claimed"
    claim_p90: float | None = None
    answer_median: float | None = None  # seconds from "posted" to the first "answered"
    answer_p90: float | None = None


@dataclass
class Report:
    title: str  # "Tuesday 3 March 2026" or "24 hours to 09:00"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    timezone: str
    total: int
    complaints: int
    by_source: dict[str, int]
    themes: list[ThemeLine]
    departments: list[DepartmentLine]
    top_positive: Example | None = None
    # Filled by the caller from the store (bot.summary.jobs): answer times by reach
    # band over 7 days (bot.summary.fairness) and first-contact resolution over 30
    # (bot.answers.resolution).
    fairness: Any = None
    resolution: Any = None
    # Moves between departments and the routing accuracy they imply, this week and the
    # week before (bot.summary.routing_health), filled the same way.
    routing: Any = None
    # The day's ThemeModel, to place other days' complaints (the chart, bot.summary.chart).
    theme_model: Any = field(default=None, repr=False)
    chart: Any = None  # bot.summary.chart.Series when asked for

    @property
    def complaint_share(self) -> float:
        return self.complaints / self.total if self.total else 0.0

    @property
    def quiet(self) -> bool:
        return self.complaints < QUIET_COMPLAINTS

    @property
    def new_themes(self) -> list[ThemeLine]:
        return [t for t in self.themes if t.new]


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The local calendar day as a UTC [start, end) (23 or 25 hours across DST)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): an actual observed value, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def link_for(mention: Mention) -> str:
    """Where a person should click: the Slack message if posted, else the post."""
    return str(mention.extra.get("permalink") or mention.url or "")


def example(mention: Mention) -> Example:
    return Example(key=mention.key, short_id=mention.short_id, text=mention.text,
                   url=link_for(mention), links=len(mention.all_links()))


def build_report(
    mentions: Iterable[Mention],
    events: Iterable[Event],
    *,
    start: datetime,
    end: datetime,
    timezone: str = "UTC",
    title: str = "",
    departments: Sequence[str] = (),
    brand_words: Sequence[str] = (),
) -> Report:
    """The report for mentions created in [start, end).

    `mentions` must include those of the 7 days before `start` (for the theme deltas
    and the "new" line); older ones are ignored. `departments` fixes the order (and
    presence) of department lines; others found in the data follow.
    """
    # Long because it gathers each part of the report from one pass over the inputs;
    # the parts themselves are built by the functions below.
    week_start = start - timedelta(days=WEEK)
    # "Yesterday" is the previous local day: 23 or 25 hours long across a DST change.
    tz = ZoneInfo(timezone)
    local = start.astimezone(tz)
    yesterday_start = datetime.combine(local.date() - timedelta(days=1), local.time(),
                                       tz).astimezone(start.tzinfo)
    day: list[Mention] = []
    earlier: list[tuple[Mention, bool]] = []  # (complaint, is it from the day before)
    open_escalations: Counter[str] = Counter()
    for m in mentions:
        created = m.created_at
        if created < week_start or created >= end:
            continue
        if m.state == State.ESCALATED:
            open_escalations[m.department] += 1
        if created >= start:
            day.append(m)
        elif m.complaint:
            earlier.append((m, created >= yesterday_start))

    day_keys = {m.key for m in day}
    posted: dict[str, datetime] = {}
    claimed: dict[str, datetime] = {}
    answered: dict[str, datetime] = {}
    for ev in events:
        if ev.mention_key not in day_keys:
            continue
        target = {EventKind.POSTED: posted, EventKind.CLAIMED: claimed,
                  EventKind.ANSWERED: answered, EventKind.PUBLISHED: answered}.get(ev.kind)
        if target is not None and ev.mention_key not in target:
            target[ev.mention_key] = ev.at  # events come oldest first: keep the first

    by_source = Counter(m.source for m in day)
    complaints = [m for m in day if m.complaint]
    themes, model = _themes(complaints, [m for m in day if not m.complaint], earlier,
                            brand_words)
    report = Report(
        title=title or start.strftime("%Y-%m-%d"), start=start, end=end, timezone=timezone,
        total=len(day), complaints=len(complaints),
        by_source=dict(by_source.most_common()),
        themes=themes,
        departments=_departments(day, departments, open_escalations, posted, claimed,
                                 answered),
        top_positive=_top_positive(day),
        theme_model=model,
    )
    return report


def _themes(complaints: list[Mention], others: list[Mention],
            earlier: list[tuple[Mention, bool]], brand_words: Sequence[str]
            ) -> tuple[list[ThemeLine], ThemeModel | None]:
    if not complaints:
        return [], None
    model = find_themes([Doc(m.key, m.text, m.department) for m in complaints],
                        brand_words=brand_words, background=[m.text for m in others])
    top = model.themes[:TOP_THEMES]
    wanted = {t.key for t in top}
    week: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for m, is_yesterday in earlier:
        key = model.classify(m.text)
        if key in wanted:
            week[key] += 1
            if is_yesterday:
                before[key] += 1
    by_key = {m.key: m for m in complaints}
    lines = []
    for t in top:
        members = [by_key[i] for i in t.ids]
        members.sort(key=lambda m: _example_rank(m, t.phrase))
        lines.append(ThemeLine(
            key=t.key, name=t.name, count=t.count, department=t.department,
            yesterday=before[t.key], week_avg=week[t.key] / WEEK, ids=list(t.ids),
            examples=[example(m) for m in members[:EXAMPLES_PER_THEME]],
            history=bool(earlier)))
    return lines, model


def _example_rank(m: Mention, phrase: str) -> tuple:
    """Examples a reader should open first: the most widely seen, then those that say
    the theme's own phrase, then the more negative, then a readable length."""
    words = phrase.split()
    text = m.text.lower()
    says_it = bool(words) and all(w in text for w in words)
    return (-len(m.all_links()), not says_it, round(m.sentiment, 1),
            abs(len(m.text) - 100) // 20, m.key)


def _departments(day: list[Mention], order: Sequence[str], open_escalations: Counter[str],
                 posted: dict[str, datetime], claimed: dict[str, datetime],
                 answered: dict[str, datetime]) -> list[DepartmentLine]:
    lines: dict[str, DepartmentLine] = {name: DepartmentLine(name) for name in order}
    to_claim: dict[str, list[float]] = defaultdict(list)
    to_answer: dict[str, list[float]] = defaultdict(list)
    for m in day:
        name = m.department or "(none)"
        line = lines.setdefault(name, DepartmentLine(name))
        line.mentions += 1
        line.complaints += m.complaint
        line.unclaimed += m.state == State.NEW
        at = posted.get(m.key)
        if at is None:
            continue
        if m.key in claimed:
            to_claim[name].append(max(0.0, (claimed[m.key] - at).total_seconds()))
        if m.key in answered:
            to_answer[name].append(max(0.0, (answered[m.key] - at).total_seconds()))
    for name, count in open_escalations.items():
        lines.setdefault(name or "(none)", DepartmentLine(name or "(none)"))
        lines[name or "(none)"].open_escalations = count
    for name, line in lines.items():
        line.claim_median, line.claim_p90 = median(to_claim[name]), percentile(
            to_claim[name], 90)
        line.answer_median, line.answer_p90 = median(to_answer[name]), percentile(
            to_answer[name], 90)
    return list(lines.values())


def _top_positive(day: list[Mention]) -> Example | None:
    positive = [m for m in day if not m.complaint and m.sentiment >= POSITIVE_SENTIMENT]
    if not positive:
        return None
    best = max(positive, key=lambda m: (len(m.all_links()), m.sentiment, m.key))
    return example(best)
