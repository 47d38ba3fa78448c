"""Mastodon streaming: hashtag and public streams matched locally, gaps filled by polling
after a reconnect, one warning for a malformed event."""

from __future__ import annotations

import logging

import pytest

from bot.ingest.pipeline import Pipeline
from bot.ingest.streaming import build_streams
from bot.settings import ConfigError
from tests.stream_standins import MastodonStreamStandIn, status
from tests.streams.conftest import FAST, wait_for


def config(url: str, extra: str = "") -> str:
    return f"""
[sources.mastodon_stream]
base_url = "{url}"
hashtags = ["acme"]
{extra}
"""


def start(settings, store):
    [r] = build_streams(settings, store, Pipeline(settings, store), reader_options=FAST,
                        save_every=0.05)
    return r.start()


def texts(store) -> list[str]:
    return sorted(m.text for m in store.iter_mentions())


def test_hashtag_updates_become_mentions_and_other_events_are_ignored(
        mastodon_stream, make_settings, store):
    r = start(make_settings(config(mastodon_stream.url)), store)
    try:
        mastodon_stream.wait_subscribed()
        mastodon_stream.push(status(101, "Acme lost my parcel", tags=["acme"]))
        mastodon_stream.push(status(102, "nothing about the brand", tags=["acme"]))
        mastodon_stream.send_raw('{"stream": ["hashtag", "acme"], "event": "delete", '
                                 '"payload": "101"}')
        wait_for(lambda: store.count_mentions() == 1, what="the mention")
        wait_for(lambda: store.get_cursor("mastodon_stream") == {mastodon_stream.url: "102"},
                 what="the position")
    finally:
        r.stop()
    [m] = store.iter_mentions()
    assert m.source == "mastodon" and m.text == "Acme lost my parcel"
    assert m.native_id == "https://mastodon.example/users/ann/statuses/101"
    assert m.extra["id"] == "101" and m.extra["instance"] == mastodon_stream.url


def test_a_reconnect_fills_the_gap_from_the_hashtag_timeline(
        mastodon_stream, make_settings, store, caplog):
    r = start(make_settings(config(mastodon_stream.url)), store)
    try:
        mastodon_stream.wait_subscribed()
        mastodon_stream.push(status(201, "Acme one", tags=["acme"]))
        wait_for(lambda: store.count_mentions() == 1, what="the first mention")
        mastodon_stream.drop_all()
        # Posted while the stream was down: only the REST timeline has them.
        mastodon_stream.push(status(202, "Acme two, missed by the stream", tags=["acme"]),
                             stream=False)
        mastodon_stream.push(status(203, "Acme three", tags=["acme"]), stream=False)
        wait_for(lambda: store.count_mentions() == 3, what="the gap filled")
        mastodon_stream.wait_subscribed()
        mastodon_stream.push(status(204, "Acme four, live again", tags=["acme"]))
        wait_for(lambda: store.count_mentions() == 4, what="live again")
    finally:
        r.stop()
    assert texts(store) == ["Acme four, live again", "Acme one", "Acme three",
                            "Acme two, missed by the stream"]
    assert any("/api/v1/timelines/tag/acme" in p and "min_id=201" in p
               for p in mastodon_stream.rest)
    assert sum("dropped" in rec.message for rec in caplog.records
               if rec.levelno == logging.WARNING) == 1


def test_public_stream_with_a_token_is_matched_locally(make_settings, store):
    with MastodonStreamStandIn() as ms:
        ms.token = "tok"
        settings = make_settings(config(ms.url, 'public = true\n'
                                        'access_token_env = "MASTODON_TOKEN"'),
                                 env={"MASTODON_TOKEN": "tok"})
        r = start(settings, store)
        try:
            ms.wait_subscribed(2)
            ms.push(status(301, "untagged post about acme cloud"))
            ms.push(status(302, "untagged post about nothing"))
            wait_for(lambda: store.count_mentions() == 1, what="the public mention")
        finally:
            r.stop()
    assert texts(store) == ["untagged post about acme cloud"]


def test_public_stream_without_a_token_is_a_config_error(make_settings):
    with pytest.raises(ConfigError, match="public stream needs an access token"):
        make_settings(config("https://mastodon.example", "public = true"))


def test_a_malformed_event_is_skipped_with_one_warning(mastodon_stream, make_settings,
                                                       store, caplog):
    r = start(make_settings(config(mastodon_stream.url)), store)
    try:
        mastodon_stream.wait_subscribed()
        mastodon_stream.send_raw('{"event": "update", "payload": "{broken"}')
        mastodon_stream.send_raw('{"event": "update", "payload": "{\\"id\\": \\"x\\"}"}')
        mastodon_stream.push(status(401, "Acme after the bad ones", tags=["acme"]))
        wait_for(lambda: store.count_mentions() == 1, what="the good event")
    finally:
        r.stop()
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    assert sum("malformed" in w for w in warnings) == 1
    assert len(mastodon_stream.connections) == 1


def test_a_refused_token_is_one_clear_warning(make_settings, store, caplog):
    with MastodonStreamStandIn() as ms:
        ms.token = "right"
        settings = make_settings(config(ms.url, 'access_token_env = "MASTODON_TOKEN"'),
                                 env={"MASTODON_TOKEN": "wrong"})
        r = start(settings, store)
        try:
            wait_for(lambda: r.readers[0].failures >= 3, what="three refusals")
        finally:
            r.stop()
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    assert sum("refused (HTTP 401): check the access token" in w for w in warnings) == 1
    assert not [rec for rec in caplog.records if rec.exc_info]
