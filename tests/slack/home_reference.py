"""The App Home's data the slow, obvious way: one pass over every mention.

A reference model for tests and bench/ingest.py: the Home listener reads the same from
the store's indexed queries (`bot.listeners.home.gather_home_from_store`), and the tests
check that both agree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.mention import Mention, State
from bot.slack import views


def gather_home(mentions: Iterable[Mention], events: Iterable[Any], user: str,
                departments: Sequence[str], day_start: datetime) -> views.HomeData:
    """One pass over the mentions (oldest first) and today's events into HomeData."""
    mentions = list(mentions)
    data = views.HomeData(user=user, queues={d: [] for d in departments})
    for mention in mentions:
        if mention.owner == user and mention.state is State.CLAIMED:
            data.mine.append(mention)
        if mention.owner is None and mention.state in (State.NEW, State.ESCALATED):
            data.queues.setdefault(mention.department, []).append(mention)
    data.counts = views.today_counts(mentions, events, day_start)
    return data
