"""Bluesky Jetstream: posts become mentions live; the cursor survives drops, restarts and
bad frames; replies and quotes keep the references the Bluesky writer needs."""

from __future__ import annotations

import logging

from bot.ingest.pipeline import Pipeline
from bot.ingest.streaming import StreamRunner, build_streams
from bot.sources import build_stream_channels
from bot.sources.bluesky_stream import JetstreamChannel
from tests.stream_standins import T0_US, post_event
from tests.streams.conftest import FAST, wait_for


def stream_config(url: str, extra: str = "") -> str:
    return f"""
[sources.bluesky_stream]
base_url = "{url}"
rewind_seconds = 2
{extra}
"""


def runner(settings, store, **kw) -> StreamRunner:
    pipeline = Pipeline(settings, store)
    [r] = build_streams(settings, store, pipeline, reader_options=FAST, save_every=0.05, **kw)
    return r


def stored_texts(store) -> list[str]:
    return sorted(m.text for m in store.iter_mentions())


def test_matching_posts_are_stored_with_the_refs_a_reply_needs(jetstream, make_settings, store):
    jetstream.add_post("did:plc:ann", "p1", "just coffee")
    jetstream.add_post("did:plc:bob", "p2", "Acme support lost my order", cid="bafyroot")
    jetstream.add_post("did:plc:cat", "p3", "same here with Acme", record={
        "reply": {"root": {"uri": "at://did:plc:bob/app.bsky.feed.post/p2", "cid": "bafyroot"},
                  "parent": {"uri": "at://did:plc:bob/app.bsky.feed.post/p2",
                             "cid": "bafyroot"}}})
    jetstream.add_post("did:plc:dan", "p4", "look at this Acme thing", record={
        "embed": {"$type": "app.bsky.embed.record",
                  "record": {"uri": "at://did:plc:x/app.bsky.feed.post/q", "cid": "bafyq"}}})
    jetstream.add_post("did:plc:acmeofficial", "p5", "Acme news")  # own account
    r = runner(make_settings(stream_config(jetstream.url)), store).start()
    try:
        wait_for(lambda: store.count_mentions() == 3, what="three mentions")
    finally:
        r.stop()
    top = store.get_mention("bluesky:at://did:plc:bob/app.bsky.feed.post/p2")
    assert top.url == "https://bsky.app/profile/did:plc:bob/post/p2"
    assert top.author == "did:plc:bob" and top.language == "en"
    assert top.extra["cid"] == "bafyroot"
    assert (top.extra["root_uri"], top.extra["root_cid"]) == (top.native_id, "bafyroot")
    reply = store.get_mention("bluesky:at://did:plc:cat/app.bsky.feed.post/p3")
    assert reply.extra["root_uri"] == top.native_id and reply.extra["root_cid"] == "bafyroot"
    assert reply.extra["parent_cid"] == "bafyroot"
    quote = store.get_mention("bluesky:at://did:plc:dan/app.bsky.feed.post/p4")
    assert quote.extra["quote_uri"].endswith("/q") and quote.extra["quote_cid"] == "bafyq"
    assert "wantedCollections=app.bsky.feed.post" in jetstream.connections[0]
    assert store.get_cursor("bluesky_stream")["time_us"] >= T0_US + 5000


def test_a_dropped_connection_resumes_from_the_cursor_rewound_and_stores_each_post_once(
        jetstream, make_settings, store, caplog):
    for i in range(20):
        jetstream.add_post("did:plc:ann", f"r{i}", f"Acme post {i}" if i % 3 == 0 else "hi")
    jetstream.drop_after = [8]  # the first connection dies after 8 events
    r = runner(make_settings(stream_config(jetstream.url)), store).start()
    try:
        wait_for(lambda: store.count_mentions() == 7, what="seven mentions")
        wait_for(lambda: len(jetstream.connections) >= 2, what="a reconnect")
    finally:
        r.stop()
    assert stored_texts(store) == sorted(f"Acme post {i}" for i in range(0, 20, 3))
    second = jetstream.connections[1]
    cursor = int(second.split("cursor=")[1].split("&")[0])
    # Rewound 2 s before the last event read (event 8 at T0 + 8 ms): replays from the start.
    assert cursor == T0_US + 8000 - 2_000_000
    assert r.stats.repeats >= 3  # the overlap was read again and skipped by key
    assert sum("dropped" in rec.message for rec in caplog.records
               if rec.levelno == logging.WARNING) == 1


def test_restart_resumes_from_the_stored_cursor(jetstream, make_settings, store):
    settings = make_settings(stream_config(jetstream.url))
    for i in range(5):
        jetstream.add_post("did:plc:ann", f"a{i}", f"Acme first {i}")
    r = runner(settings, store).start()
    wait_for(lambda: store.count_mentions() == 5, what="first batch")
    r.stop()
    saved = store.get_cursor("bluesky_stream")["time_us"]
    assert saved == T0_US + 5000
    for i in range(5):
        jetstream.add_post("did:plc:ann", f"b{i}", f"Acme second {i}")
    r = runner(settings, store).start()
    try:
        wait_for(lambda: store.count_mentions() == 10, what="second batch")
    finally:
        r.stop()
    assert f"cursor={saved - 2_000_000}" in jetstream.connections[-1]


def test_malformed_frames_are_skipped_with_one_warning_and_the_stream_goes_on(
        jetstream, make_settings, store, caplog):
    jetstream.add_post("did:plc:ann", "m1", "Acme before")
    jetstream.add_raw("{not json")
    jetstream.add_raw('{"kind": "commit"}')  # no time_us
    jetstream.add_raw(b"\xff\xfe Acme \xc3\x28")  # a text frame that is not UTF-8
    jetstream.add_raw(b'{"big": "' + b"x" * (10 * 2**20) + b'"}')  # a 10 MB frame
    jetstream.add(post_event("did:plc:ann", "m2", "Acme odd record", jetstream.next_time(),
                             record={"text": 42}))
    jetstream.add_post("did:plc:ann", "m3", "Acme after")
    r = runner(make_settings(stream_config(jetstream.url)), store).start()
    try:
        wait_for(lambda: store.count_mentions() == 2, what="the posts around the bad frames")
    finally:
        r.stop()
    assert stored_texts(store) == ["Acme after", "Acme before"]
    assert len(jetstream.connections) == 1  # no reconnect for a bad frame
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    assert sum("malformed" in w for w in warnings) == 1
    assert sum("not UTF-8" in w for w in warnings) == 1
    assert sum("10,485,7" in w for w in warnings) == 1
    assert not [rec for rec in caplog.records if rec.exc_info]


def test_a_cursor_too_old_is_given_up_once_and_the_stream_goes_live(
        jetstream, make_settings, store, caplog):
    settings = make_settings(stream_config(jetstream.url))
    store.set_cursor("bluesky_stream", {"time_us": T0_US - 3600 * 10**6})
    jetstream.oldest_cursor = T0_US - 60 * 10**6
    jetstream.add_post("did:plc:ann", "o1", "Acme live")
    r = runner(settings, store).start()
    try:
        wait_for(lambda: store.count_mentions() == 1, what="the live post")
    finally:
        r.stop()
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    assert sum("resuming live" in w for w in warnings) == 1
    assert sum("cannot stream" in w for w in warnings) == 1  # once per outage
    assert "cursor" not in jetstream.connections[-1]


def test_a_cursor_in_the_future_is_not_trusted(jetstream, make_settings, caplog):
    settings = make_settings(stream_config(jetstream.url))
    [channel] = build_stream_channels(settings.sources["bluesky_stream"], settings.brand)
    assert isinstance(channel, JetstreamChannel)
    now_us = T0_US
    channel._now_us = lambda: now_us
    assert channel.check_position(now_us + 10 * 60 * 10**6) is None
    assert channel.check_position(now_us - 5) == now_us - 5
    assert channel.check_position(now_us + 10 * 60 * 10**6) is None
    assert sum("in the future" in rec.message for rec in caplog.records) == 1


def test_an_endpoint_that_is_not_a_websocket_fails_over_to_the_next_instance(
        jetstream, make_settings, store, caplog):
    from tests.stream_standins import JetstreamStandIn
    with JetstreamStandIn() as broken:
        broken.not_websocket = True
        jetstream.add_post("did:plc:ann", "f1", "Acme via the fallback")
        settings = make_settings(stream_config(
            broken.url, f'fallback_urls = ["{jetstream.url}"]'))
        r = runner(settings, store).start()
        try:
            wait_for(lambda: store.count_mentions() == 1, what="the post from the fallback")
        finally:
            r.stop()
    warnings = [rec.message for rec in caplog.records if rec.levelno == logging.WARNING]
    assert sum("not a WebSocket endpoint (HTTP 200)" in w for w in warnings) == 1
    assert sum("switching to" in w for w in warnings) == 1
    assert not [rec for rec in caplog.records if rec.exc_info]


def test_control_and_bidi_characters_are_cleaned_before_matching_as_for_polled_posts(
        jetstream, make_settings, store):
    jetstream.add_post("did:plc:ann", "b1", "Ac\u202eme\x1b[2J lost my bag")
    r = runner(make_settings(stream_config(jetstream.url)), store).start()
    try:
        wait_for(lambda: store.count_mentions() == 1, what="the cleaned mention")
    finally:
        r.stop()
    [m] = store.iter_mentions()
    assert m.text == "Acme[2J lost my bag"

