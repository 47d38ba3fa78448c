"""Routing health read from a real store, on both backends: the two weeks' arrivals and
events through the Store interface, and an older mention looked up for its flag change."""

from __future__ import annotations

from datetime import timedelta

from bot.mention import Event, EventKind
from bot.summary.routing_health import read_store
from tests.summary.helpers import mention
from tests.summary.test_routing_health import DEPTS, END, THIS, figures, history


def test_read_store_counts_what_the_pure_count_does(store):
    mentions, events = history()
    older = mention("marked long ago", END - timedelta(days=30), department="support")
    for m in [*mentions, older]:
        store.add_mention(m)
    for e in [*events, Event(older.key, EventKind.MARKED, THIS, "U1ANN",
                             {"complaint": False, "previous": True})]:
        store.add_event(e)
    support, baggage = read_store(store, END, DEPTS).departments
    # As in tests/summary/test_routing_health.py, plus the older mention's flag change,
    # which counts in the department it had (its arrival is too old for the accuracy).
    assert figures(support.week) == (5, 4, 2, 2, 1)
    assert figures(baggage.week) == (3, 1, 2, 2, 1)
    assert figures(support.before) == (2, 1, 0, 1, 0)
