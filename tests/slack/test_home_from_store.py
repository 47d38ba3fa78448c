"""The Home tab from the store's indexed queries is the Home tab of a scan of every mention."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.listeners.home import gather_home_from_store
from bot.mention import Event
from bot.slack import views
from bot.store.tinydb_store import TinyDBStore
from tests.slack.home_reference import gather_home
from tests.store.helpers import T0
from tests.store.test_queries import random_changes


@pytest.mark.parametrize("seed", range(3))
def test_home_from_indexed_queries_matches_gather_home_over_every_mention(tmp_path, seed):
    store = TinyDBStore.open(tmp_path, sync_interval=None)
    try:
        random_changes(store, random.Random(seed), 160)
        for minutes, kind in [(10, "claimed"), (70, "answered"), (90, "escalated"),
                              (95, "claimed"), (120, "posted")]:
            store.add_event(Event("hn:1", kind, T0 + timedelta(minutes=minutes), user="U1"))
        # "eng" is not configured: it shows after the configured ones, like in a scan.
        departments = ["support", "billing", "leadership"]
        for minutes in (0, 60, 100):
            start = T0 + timedelta(minutes=minutes)
            for user in ("U1", "U2", "U3", "U4"):
                scan = gather_home(store.iter_mentions(), store.events(since=start),
                                   user, departments, start)
                indexed = gather_home_from_store(store, user, departments, start)
                assert indexed.counts == scan.counts
                assert list(indexed.queues) == list(scan.queues)
                assert views.home_view(indexed) == views.home_view(scan)
    finally:
        store.close()
