"""Fairness to the quiet majority: are loud accounts answered faster than quiet ones?

Over the last 7 days, mentions are grouped by their author's reach band (bot.reach:
< 100, 100–10k, > 10k) and each band gets the median time from posting to the first
answer. When the loudest band with enough answers is answered more than twice as fast
as the quietest one, the summary warns. Mentions of unknown reach are counted apart,
never put in the quiet band. Pure: mentions and events in, figures out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import reach
from bot.mention import Event, Mention

WINDOW = timedelta(days=7)
SKEW = 2.0  # loud answered more than this many times as fast as quiet: warn
MIN_ANSWERED = 3  # a band's median needs at least this many answers to compare


@dataclass
class BandLine:
    name: str
    mentions: int = 0  # posted to Slack in the window
    answered: int = 0
    median_seconds: float | None = None  # posting -> first answer


@dataclass
class Fairness:
    start: datetime
    end: datetime
    bands: list[BandLine] = field(default_factory=list)  # quietest first
    unknown: int = 0  # posted mentions whose author's reach is unknown
    ratio: float | None = None  # quiet median / loud median, when both can be compared
    quiet: str = ""  # the bands compared
    loud: str = ""

    @property
    def warning(self) -> bool:
        return self.ratio is not None and self.ratio > SKEW


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def fairness(mentions: Iterable[Mention], events: Iterable[Event], end: datetime,
             window: timedelta = WINDOW) -> Fairness:
    """Answer times by reach band for the mentions created in [end - window, end).
    `events` must include those mentions' "posted" and "answered" events."""
    start = end - window
    bands = {name: BandLine(name) for name, _ in reach.BANDS}
    band_of: dict[str, str] = {}
    out = Fairness(start, end)
    for m in mentions:
        if not start <= m.created_at < end:
            continue
        known = reach.reach_of(m)
        if known is None:
            band_of[m.key] = ""
        else:
            band_of[m.key] = reach.band_of(known.count)
    posted: dict[str, datetime] = {}
    answered: dict[str, datetime] = {}
    for ev in events:
        if ev.mention_key not in band_of:
            continue
        target = {"posted": posted, "answered": answered, "published": answered}.get(ev.kind)
        if target is not None and ev.mention_key not in target:
            target[ev.mention_key] = ev.at
    waits: dict[str, list[float]] = {name: [] for name in bands}
    for key, at in posted.items():
        band = band_of[key]
        if not band:
            out.unknown += 1
            continue
        bands[band].mentions += 1
        if key in answered:
            bands[band].answered += 1
            waits[band].append(max(0.0, (answered[key] - at).total_seconds()))
    for name, line in bands.items():
        line.median_seconds = _median(waits[name])
    out.bands = list(bands.values())
    comparable = [b for b in out.bands if b.answered >= MIN_ANSWERED]
    if len(comparable) >= 2:
        quiet, loud = comparable[0], comparable[-1]
        out.quiet, out.loud = quiet.name, loud.name
        if loud.median_seconds and quiet.median_seconds is not None:
            out.ratio = quiet.median_seconds / loud.median_seconds
        elif quiet.median_seconds:  # the loud answered instantly, the quiet not
            out.ratio = float("inf")
    return out
