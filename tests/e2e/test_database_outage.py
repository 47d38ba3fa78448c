"""PostgreSQL stopped while the app serves: clicks and commands are acknowledged and told
to try again in a moment, nothing is changed or lost, the outage is logged once, and
everything works again once the database is back."""

from __future__ import annotations

import logging

import pytest

from bot.mention import State
from bot.slack import ids
from tests.e2e.helpers import USERS, action, slash, start_harness, wait_for

ANN, BOB, _, _ = USERS
POLITE = "try again in a moment"


@pytest.fixture
def on_postgres(slack, tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)  # start_harness opens the store by open_store
    harness = start_harness(slack, tmp_path)
    yield harness
    harness.stop()


def test_clicks_during_an_outage_are_told_to_try_again_and_it_resumes(
        on_postgres, pg_cluster, caplog):
    earshot = on_postgres
    first, second = earshot.add(), earshot.add()
    caplog.set_level(logging.INFO)
    pg_cluster.stop()
    try:
        for attempt in range(2):  # repeated clicks: told each time, logged once
            resp = action(earshot.url, ids.CLAIM, first.key, user=ANN,
                          channel=first.slack_channel, message_ts=first.slack_ts)
            assert resp.status_code == 200
            wait_for(lambda n=attempt: len([e for e in earshot.ephemerals_for(ANN)
                                            if POLITE in e["text"]]) == n + 1,
                     what="the polite notice")
        name = "claim-during-outage"
        resp = slash(earshot.url, "/claim", second.short_id, user=BOB,
                     response_url=earshot.slack.response_url(name))
        assert resp.status_code == 200
        told = resp.text if POLITE in resp.text else wait_for(
            lambda: earshot.responses(name), what="the command's reply")[0]["body"]["text"]
        assert POLITE in told
    finally:
        pg_cluster.restart()

    # Back: the same click now claims, and nothing from the outage was half-done.
    assert earshot.store.get_mention(first.key).owner is None
    resp = action(earshot.url, ids.CLAIM, first.key, user=ANN, channel=first.slack_channel,
                  message_ts=first.slack_ts)
    assert resp.status_code == 200
    wait_for(lambda: earshot.store.get_mention(first.key).owner == ANN, what="the claim")
    assert earshot.store.get_mention(first.key).state is State.CLAIMED
    outages = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outages) == 1, [r.getMessage() for r in outages]
    assert any("answering again" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
