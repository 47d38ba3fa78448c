"""A slow store does not slow the reading: the stream keeps reading and matching, the
backlog grows with a warning, and every match is stored once the store catches up."""

from __future__ import annotations

import logging
import time

from bot.ingest.pipeline import Pipeline
from bot.ingest.streaming import build_streams
from tests.streams.conftest import FAST, wait_for


class SlowStore:
    """The real store, with each new mention taking 100 ms to write (a slow disk)."""

    def __init__(self, store) -> None:
        self._store = store

    def add_mention(self, mention):
        time.sleep(0.1)
        return self._store.add_mention(mention)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_slow_store_grows_the_backlog_with_a_warning_while_reading_goes_on(
        jetstream, make_settings, store, caplog):
    settings = make_settings(f'[sources.bluesky_stream]\nbase_url = "{jetstream.url}"\n')
    for i in range(40):
        jetstream.add_post("did:plc:ann", f"s{i}", f"Acme slow {i} {'x' * i}")
        jetstream.add_post("did:plc:bob", f"n{i}", "nothing here")
    slow = SlowStore(store)
    [r] = build_streams(settings, slow, Pipeline(settings, slow), reader_options=FAST,
                        warn_backlog=8)
    r.start()
    try:
        # All 80 events are read long before the 40 matches (4 s of writes) are stored.
        wait_for(lambda: r.stats.read == 80, timeout=3, what="the whole stream read")
        assert store.count_mentions() < 20
        wait_for(lambda: store.count_mentions() == 40, timeout=20, what="all stored")
    finally:
        r.stop()
    assert r.stats.max_backlog >= 16
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    backlog = [w for w in warnings if "waiting to be stored" in w]
    assert 1 <= len(backlog) <= 3  # at 8, 16, 32: doubling, not once per match
    assert len(jetstream.connections) == 1
