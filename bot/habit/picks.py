"""Which open mentions a leader gets: the longest-waiting complaint, one from the theme
growing fastest, one from a department they follow, then (for a larger count) the next
longest-waiting. Never one somebody has claimed (only `is_open` mentions), never one
already given to another leader the same day (`taken`), never the same one twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.mention import Mention
from bot.store.base import Store, arrived_at, is_open
from bot.summary.themes import Doc, find_themes

SCAN = 200  # open mentions read per department / overall: the oldest are the ones wanted
DAY = timedelta(days=1)

WAITING, GROWING, FOLLOWED, MORE = "waiting", "growing", "followed", "more"


@dataclass
class Pick:
    mention: Mention
    why: str  # WAITING, GROWING, FOLLOWED or MORE
    detail: str = ""  # the theme's name, the department


@dataclass
class Growth:
    """Themes of the last 24 hours' complaints, fastest growing first (vs the 24 before),
    with the keys of their mentions."""

    themes: list[tuple[str, int, list[str]]]  # (name, growth, mention keys)


def theme_growth(store: Store, now: datetime, brand_words: Sequence[str] = ()) -> Growth:
    """Computed once per sending round and shared by every leader's picks."""
    recent = [m for m in store.arrived_since(now - 2 * DAY) if m.complaint]
    day = [m for m in recent if arrived_at(m) >= now - DAY]
    if not day:
        return Growth([])
    model = find_themes([Doc(m.key, m.text, m.department) for m in day],
                        brand_words=brand_words)
    before = Counter(model.classify(m.text) for m in recent if arrived_at(m) < now - DAY)
    ranked = sorted(model.themes, key=lambda t: (-(t.count - before[t.key]), -t.count, t.key))
    return Growth([(t.name, t.count - before[t.key], list(t.ids)) for t in ranked])


def choose(store: Store, *, count: int, taken: set[str], followed: Iterable[str],
           growth: Growth) -> list[Pick]:
    """Up to `count` picks, in the order of the rules."""
    used = set(taken)
    picks: list[Pick] = []

    def free(m: Mention | None) -> bool:
        return m is not None and is_open(m) and m.key not in used

    def add(m: Mention, why: str, detail: str = "") -> None:
        picks.append(Pick(m, why, detail))
        used.add(m.key)

    oldest = store.open_mentions(limit=SCAN)
    waiting = next((m for m in oldest if m.complaint and free(m)), None)
    if waiting is not None and len(picks) < count:
        add(waiting, WAITING)
    for name, grew, keys in growth.themes:
        if len(picks) >= count or grew <= 0:
            break
        members = [m for m in (store.get_mention(k) for k in keys) if free(m)]
        if members:
            add(min(members, key=lambda m: (m.created_at, m.number or 0)), GROWING, name)
            break
    for department in followed:
        if len(picks) >= count:
            break
        queue = [m for m in store.open_mentions(department, limit=SCAN) if free(m)]
        if queue:
            complaints = [m for m in queue if m.complaint]
            add((complaints or queue)[0], FOLLOWED, department)
            break
    for m in sorted(oldest, key=lambda m: not m.complaint):  # complaints first, then rest
        if len(picks) >= count:
            break
        if free(m):
            add(m, MORE)
    return picks
