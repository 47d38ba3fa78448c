"""Spike detection: complaints in the last hour against the usual hourly rate.

Pure: `usual_rate` counts the week before the last hour, `detect` the last hour;
`next_state` is the bookkeeping rule applied atomically to the stored state, so one
spike gives one alert however many checks see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.mention import Mention, parse_time
from bot.summary.report import Example, example
from bot.summary.themes import Doc, find_themes

WINDOW = timedelta(hours=1)
BASELINE = timedelta(days=7)
# Once alerted, a spike counts as over only after a check without one, and not sooner
# than this after the alert: a rate hovering at the threshold does not re-alert.
QUIET_AFTER = timedelta(hours=1)
EXAMPLES = 3
# The usual rate moves slowly: recount it (a week of mentions) at most this often, not
# on every 5-minute check.
BASELINE_REFRESH = timedelta(hours=1)


@dataclass
class Spike:
    count: int  # complaints in the last hour
    usual_per_hour: float  # complaints per hour over the 7 days before that hour
    threshold: float  # the count that had to be exceeded
    theme: str = ""  # the leading theme's name
    theme_count: int = 0
    examples: list[Example] = field(default_factory=list)


def usual_rate(mentions: Iterable[Mention], now: datetime) -> float:
    """Complaints per hour over the BASELINE before the last hour."""
    hour_start = now - WINDOW
    base_start = hour_start - BASELINE
    count = sum(1 for m in mentions if m.complaint and base_start <= m.created_at < hour_start)
    return count / (BASELINE / WINDOW)


def detect(
    mentions: Iterable[Mention],
    now: datetime,
    usual_per_hour: float,
    *,
    multiple: float,
    min_count: int,
    brand_words: Sequence[str] = (),
) -> Spike | None:
    """A Spike when the last hour's complaints exceed `multiple` x `usual_per_hour` and
    number at least `min_count`; otherwise None. Non-complaints are ignored."""
    hour_start = now - WINDOW
    recent = [m for m in mentions if m.complaint and hour_start <= m.created_at < now]
    threshold = multiple * usual_per_hour
    if len(recent) < min_count or len(recent) <= threshold:
        return None
    spike = Spike(count=len(recent), usual_per_hour=usual_per_hour, threshold=threshold)
    model = find_themes([Doc(m.key, m.text, m.department) for m in recent],
                        brand_words=brand_words)
    by_key = {m.key: m for m in recent}
    if model.themes:
        lead = model.themes[0]
        spike.theme, spike.theme_count = lead.name, lead.count
        members = sorted((by_key[i] for i in lead.ids),
                         key=lambda m: (-len(m.all_links()), m.sentiment, m.key))
    else:
        members = sorted(recent, key=lambda m: (m.sentiment, m.key))
    spike.examples = [example(m) for m in members[:EXAMPLES]]
    return spike


def next_state(state: Any, spike: Spike | None, now: datetime) -> tuple[dict, bool]:
    """(new bookkeeping state, whether to alert now) from the stored state.

    State: {"active": bool, "alerted_at": iso time or None}. A spike alerts only when
    none is active; an active spike ends after a check without one, once QUIET_AFTER
    has passed since its alert.
    """
    state = dict(state or {})
    active = bool(state.get("active"))
    alerted_at = parse_time(state["alerted_at"]) if state.get("alerted_at") else None
    if spike is not None:
        if active:
            return state, False
        return {"active": True, "alerted_at": now.isoformat(), "count": spike.count}, True
    if active and alerted_at is not None and now - alerted_at < QUIET_AFTER:
        return state, False
    return {**state, "active": False}, False
