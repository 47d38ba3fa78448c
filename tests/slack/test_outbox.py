"""The outbox against the Slack stand-in: every post exactly once, limits honoured."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.mention import State
from bot.slack.outbox import Outbox, OutboxWorker
from tests.slack.helpers import CHANNELS, FakeClock, make_mention, make_settings

BILLING, SUPPORT = CHANNELS["billing"], CHANNELS["support"]


@pytest.fixture
def env(slack, store):
    clock = FakeClock()
    slack.clock = clock.time  # message ts follow the test's clock
    settings = make_settings()
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=1)

    def make(**kw) -> Outbox:
        kw.setdefault("clock", clock.now)
        kw.setdefault("sleep", clock.sleep)
        return Outbox(store, client, settings, **kw)

    class Env:
        pass

    e = Env()
    e.slack, e.clock, e.store, e.settings, e.client, e.make = slack, clock, store, settings, \
        client, make
    e.outbox = make()
    return e


def add(env, n: int, **kw):
    return env.store.add_mention(make_mention(n, **kw))


def test_each_mention_posted_once_and_recorded_on_the_mention(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.post_mention(m)  # idempotent per mention key
    stats = env.outbox.drain()
    assert stats.sent == 1
    posted = env.slack.messages[BILLING]
    assert len(posted) == 1
    assert posted[0]["metadata"]["event_type"] == "earshot_mention"
    assert posted[0]["metadata"]["event_payload"]["outbox_id"] == f"mention:{m.key}"
    saved = env.store.get_mention(m.key)
    assert (saved.slack_channel, saved.slack_ts) == (BILLING, posted[0]["ts"])
    assert saved.extra["permalink"].startswith("https://")
    events = env.store.events(m.key)
    assert [(e.kind, e.data) for e in events] == [
        ("posted", {"channel": BILLING, "ts": posted[0]["ts"]})]
    env.outbox.post_mention(m)  # even after it went out
    assert env.outbox.drain().sent == 0
    assert len(env.slack.calls_to("chat.postMessage")) == 1
    _, params, _ = env.slack.calls_to("chat.postMessage")[0]
    assert "link_names" not in params


def test_unknown_department_goes_to_the_default_channel(env):
    m = add(env, 1, department="nonexistent")
    env.outbox.post_mention(m)
    env.outbox.drain()
    assert len(env.slack.messages[SUPPORT]) == 1


def test_pacing_is_per_channel_burst_then_rate(env):
    for n in range(6):
        env.outbox.post_mention(add(env, n, department="billing"))
    for n in range(6, 9):
        env.outbox.post_mention(add(env, n, department="support"))
    stats = env.outbox.drain()
    assert stats.sent == 9 and stats.rate_limited == 0
    # billing: 2 at once (one of Slack's 3 kept in reserve against jitter), then 4 more
    # at just under 1/s; support fits its burst and never waits.
    assert 4.0 <= sum(env.clock.slept) <= 4.2
    assert len(env.slack.messages[BILLING]) == 6 and len(env.slack.messages[SUPPORT]) == 3


def test_429_retry_after_holds_only_that_channel(env):
    env.slack.fail_next("chat.postMessage", status=429, retry_after=7, channel=BILLING)
    a, b = add(env, 1, department="billing"), add(env, 2, department="support")
    env.outbox.post_mention(a)
    env.outbox.post_mention(b)
    t0 = env.clock.time()
    stats = env.outbox.drain()
    assert stats.rate_limited == 1 and stats.sent == 2
    posts = env.slack.calls_to("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [BILLING, SUPPORT, BILLING]
    # support went out without waiting; billing waited the full Retry-After
    assert float(env.slack.messages[SUPPORT][0]["ts"]) - t0 < 1
    assert float(env.slack.messages[BILLING][0]["ts"]) - t0 >= 7 - 1e-3
    assert len(env.slack.messages[BILLING]) == 1


def test_429_on_one_channel_holds_only_that_channel_two_rows_each(env):
    """With two rows per channel, the hold is what stops billing's second row: its first
    row's own retry time alone would let the second go out during the Retry-After."""
    env.slack.fail_next("chat.postMessage", status=429, retry_after=7, channel=BILLING)
    rows = {BILLING: [add(env, 1, department="billing"), add(env, 3, department="billing")],
            SUPPORT: [add(env, 2, department="support"), add(env, 4, department="support")]}
    for m in (rows[BILLING][0], rows[SUPPORT][0], rows[BILLING][1], rows[SUPPORT][1]):
        env.outbox.post_mention(m)
    t0 = env.clock.time()
    stats = env.outbox.drain()
    assert stats.rate_limited == 1 and stats.sent == 4
    # Nothing went to billing during its Retry-After, and its rows kept their order.
    billing = env.slack.messages[BILLING]
    assert [x["metadata"]["event_payload"]["outbox_id"] for x in billing] == [
        f"mention:{m.key}" for m in rows[BILLING]]
    assert all(float(x["ts"]) - t0 >= 7 - 1e-3 for x in billing)
    # Support was not held: both its rows went out at once.
    support = env.slack.messages[SUPPORT]
    assert len(support) == 2 and all(float(x["ts"]) - t0 < 1 for x in support)
    assert env.slack.posts_by_metadata() == {f"mention:{m.key}": 1
                                             for ms in rows.values() for m in ms}


def test_500s_are_retried_with_backoff_and_post_once(env):
    env.slack.fail_next("chat.postMessage", status=500, times=3)
    m = add(env, 1)
    env.outbox.post_mention(m)
    stats = env.outbox.drain()
    assert stats.retried == 3 and stats.sent == 1
    assert len(env.slack.messages[BILLING]) == 1
    assert sum(env.clock.slept) >= 1 + 2 + 4  # exponential backoff, not a hot loop
    assert env.store.get_outbox(f"mention:{m.key}").status == "sent"


def test_500_after_slack_accepted_is_reconciled_not_doubled(env):
    env.slack.fail_next("chat.postMessage", status=500, accept=True)
    m = add(env, 1)
    env.outbox.post_mention(m)
    stats = env.outbox.drain()
    assert stats.reconciled == 1
    assert len(env.slack.messages[BILLING]) == 1
    history = env.slack.calls_to("conversations.history")
    assert history and history[0].params["include_all_metadata"] in (True, "1", "true")
    assert env.store.get_mention(m.key).slack_ts == env.slack.messages[BILLING][0]["ts"]


def test_timeout_after_slack_accepted_is_reconciled_not_doubled(env):
    env.slack.fail_next("chat.postMessage", hang=3, accept=True)  # client timeout is 1 s
    m = add(env, 1)
    env.outbox.post_mention(m)
    stats = env.outbox.drain()
    assert stats.retried == 1 and stats.reconciled == 1
    assert len(env.slack.messages[BILLING]) == 1


def test_timeout_that_slack_never_got_is_posted_once(env):
    env.slack.fail_next("chat.postMessage", hang=3)  # times out, never carried out
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.drain()
    assert len(env.slack.messages[BILLING]) == 1
    assert len(env.slack.calls_to("chat.postMessage")) == 2


def test_slack_down_queue_waits_then_drains(env):
    env.slack.fail_next("chat.postMessage", status=503, times=4)
    for n in range(5):
        env.outbox.post_mention(add(env, n))
    first = env.outbox.drain(max_seconds=2)
    assert first.sent == 0 and first.retried >= 1
    # While down, posting pauses for everyone instead of hammering Slack with each row.
    assert len(env.slack.calls_to("chat.postMessage")) <= 3
    env.outbox.drain()
    assert env.slack.posts_by_metadata() == {
        f"mention:hackernews:{1000 + n}": 1 for n in range(5)}


def test_restart_with_row_left_sending_after_slack_accepted(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    item_id = f"mention:{m.key}"
    # A previous process marked the row sending, posted, and died before recording it.
    env.store.update_outbox(item_id, lambda r: _sending(r, BILLING, env.clock))
    env.client.chat_postMessage(channel=BILLING, text="earlier", metadata={
        "event_type": "earshot_mention", "event_payload": {"outbox_id": item_id}})
    env.clock.advance(30)
    fresh = env.make()
    stats = fresh.drain()
    assert stats.reconciled == 1 and stats.sent == 0
    assert len(env.slack.messages[BILLING]) == 1
    assert env.store.get_mention(m.key).slack_ts == env.slack.messages[BILLING][0]["ts"]
    assert [e.kind for e in env.store.events(m.key)] == ["posted"]


def test_restart_with_row_left_sending_that_slack_never_got(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.store.update_outbox(f"mention:{m.key}", lambda r: _sending(r, BILLING, env.clock))
    env.clock.advance(30)
    stats = env.make().drain()
    assert stats.sent == 1 and stats.reconciled == 0
    assert env.slack.posts_by_metadata() == {f"mention:{m.key}": 1}


def _sending(row, channel, clock):
    row.status, row.channel, row.attempts = "sending", channel, 1
    row.payload["first_sent_at"] = clock.now().isoformat()
    return row


def test_permanent_error_fails_the_row_logs_once_and_others_go_on(env, caplog):
    env.slack.known_channels = {SUPPORT}
    rows = [add(env, n, department="billing") for n in range(3)]
    ok = add(env, 9, department="support")
    for m in [*rows, ok]:
        env.outbox.post_mention(m)
    with caplog.at_level(logging.DEBUG, logger="bot.slack.outbox"):
        stats = env.outbox.drain()
    assert stats.failed == 3 and stats.sent == 1
    item = env.store.get_outbox(f"mention:{rows[0].key}")
    assert item.status == "failed" and item.result == {"error": "channel_not_found"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "channel_not_found" in errors[0].getMessage()


def test_thread_replies_wait_for_parent_and_keep_order(env):
    m = add(env, 1)
    env.slack.fail_next("chat.postMessage", status=500, channel=BILLING)  # parent delayed
    env.outbox.post_mention(m)
    for i in range(4):
        env.outbox.thread(m.key, f"line {i}")
    env.outbox.drain()
    parent = env.slack.messages[BILLING][0]
    replies = [x for x in env.slack.messages[BILLING] if x.get("thread_ts")]
    assert [r["text"] for r in replies] == [f"line {i}" for i in range(4)]
    assert {r["thread_ts"] for r in replies} == {parent["ts"]}
    posts = env.slack.calls_to("chat.postMessage")
    assert "thread_ts" not in posts[0].params  # nothing was tried before the parent existed


def test_thread_reply_retry_keeps_order(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.drain()
    env.slack.fail_next("chat.postMessage", status=429, retry_after=2, channel=BILLING)
    for i in range(3):
        env.outbox.thread(m.key, f"line {i}")
    env.outbox.drain()
    replies = [x["text"] for x in env.slack.messages[BILLING] if x.get("thread_ts")]
    assert replies == ["line 0", "line 1", "line 2"]


def test_thread_of_a_mention_that_failed_is_failed_not_stuck(env):
    env.slack.known_channels = {SUPPORT}
    m = add(env, 1, department="billing")
    env.outbox.post_mention(m)
    env.outbox.thread(m.key, "claimed", item_id="t1")
    env.outbox.drain()
    assert env.store.get_outbox("t1").status == "failed"


def test_refresh_coalesces_into_one_update_with_latest_state(env):
    m = add(env, 1, number=None)
    env.outbox.post_mention(m)
    env.outbox.drain()
    for user in ("U1", "U2", "U3"):
        env.store.update_mention(m.key, lambda x, u=user: _claim(x, u))
        env.outbox.refresh(m.key)
    env.outbox.drain()
    updates = env.slack.calls_to("chat.update")
    assert len(updates) == 1
    msg = env.slack.messages[BILLING][0]
    assert msg["edited"] == 1
    assert "<@U3>" in str(msg["blocks"])
    # A later change makes a new update (the row is reused, not stuck as sent).
    env.store.update_mention(m.key, lambda x: _claim(x, "U4"))
    env.outbox.refresh(m.key)
    env.outbox.drain()
    assert len(env.slack.calls_to("chat.update")) == 2 and "<@U4>" in str(msg["blocks"])


def _claim(m, user):
    m.state, m.owner = State.CLAIMED, user
    return m


def test_refresh_before_the_post_waits_for_it(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.refresh(m.key)
    env.outbox.drain()
    assert len(env.slack.messages[BILLING]) == 1
    assert env.store.get_outbox(f"update:{m.key}").status == "sent"


def test_message_to_a_channel_and_into_a_mention_thread(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.message(CHANNELS["leadership"], "Escalated: E-1", item_id="esc-1")
    env.outbox.message(CHANNELS["leadership"], "Escalated: E-1", item_id="esc-1")  # no-op
    env.outbox.message("C0IGNORED", "note", thread_of=m.key)
    env.outbox.drain()
    assert [x["text"] for x in env.slack.messages[CHANNELS["leadership"]]] == ["Escalated: E-1"]
    reply = env.slack.messages[BILLING][1]
    assert reply["text"] == "note" and reply["thread_ts"] == env.slack.messages[BILLING][0]["ts"]


def test_drain_respects_max_seconds(env):
    for n in range(10):
        env.outbox.post_mention(add(env, n))
    stats = env.outbox.drain(max_seconds=2.5)
    assert stats.sent == 4  # a burst of 2, then one a second
    assert stats.next_due is not None and stats.next_due <= 1.1
    assert env.outbox.drain().sent == 6


def test_worker_posts_in_the_background(slack, store):
    outbox = Outbox(store, WebClient(token="x", base_url=slack.url), make_settings(),
                    rate_per_second=50, burst=5)
    worker = OutboxWorker(outbox, interval=0.5).start()
    try:
        m = store.add_mention(make_mention(1))
        outbox.post_mention(m)
        import time

        deadline = time.monotonic() + 5
        while not store.get_mention(m.key).slack_ts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.get_mention(m.key).slack_ts
    finally:
        worker.stop()
    assert len(slack.messages[BILLING]) == 1


def test_reconcile_looks_back_only_from_first_attempt_minus_margin(env):
    env.slack.fail_next("chat.postMessage", status=500)
    m = add(env, 1)
    env.outbox.post_mention(m)
    t_first = env.clock.time()
    env.outbox.drain()
    oldest = float(env.slack.calls_to("conversations.history")[0].params["oldest"])
    assert abs(oldest - (t_first - timedelta(minutes=5).total_seconds())) < 1


def test_auth_error_fails_one_row_and_pauses_instead_of_burning_the_queue(env, caplog):
    env.slack.fail_next("chat.postMessage", error="invalid_auth")
    for n in range(3):
        env.outbox.post_mention(add(env, n))
    with caplog.at_level(logging.ERROR, logger="bot.slack.outbox"):
        stats = env.outbox.drain(max_seconds=60)
    assert stats.failed == 1 and stats.sent == 0
    assert len(env.store.pending_outbox()) == 2  # the rest wait for a fixed token
    assert any("SLACK_BOT_TOKEN" in r.getMessage() for r in caplog.records)
    env.clock.advance(301)
    assert env.outbox.drain().sent == 2


def test_429_on_chat_update_holds_updates_not_posts(env):
    a = add(env, 1)
    env.outbox.post_mention(a)
    env.outbox.drain()
    env.slack.fail_next("chat.update", status=429, retry_after=30)
    env.outbox.refresh(a.key)
    b = add(env, 2)
    env.outbox.post_mention(b)
    t0 = env.clock.time()
    stats = env.outbox.drain()
    assert stats.rate_limited == 1
    assert float(env.slack.messages[BILLING][1]["ts"]) - t0 < 2  # the post did not wait
    assert len(env.slack.calls_to("chat.update")) == 2  # retried after the wait
    assert env.clock.time() - t0 >= 30


def test_outage_is_logged_once_and_recovery_once(env, caplog):
    env.slack.fail_next("chat.postMessage", status=500, times=5)
    for n in range(3):
        env.outbox.post_mention(add(env, n))
    with caplog.at_level(logging.WARNING, logger="bot.slack.outbox"):
        env.outbox.drain()
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.slack.outbox"]
    assert sum("Slack is failing" in m for m in messages) == 1
    assert sum("Slack answers again" in m for m in messages) == 1
    assert env.slack.posts_by_metadata() == {f"mention:hackernews:{1000 + n}": 1
                                             for n in range(3)}


def test_unreachable_slack_waits_then_posts_once_when_back(env):
    import socket

    from bot.slack.outbox import without_retry_handlers

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    live_client = env.outbox.client
    env.outbox.client = without_retry_handlers(WebClient(token="x", base_url=dead, timeout=1))
    for n in range(2):
        env.outbox.post_mention(add(env, n))
    down = env.outbox.drain(max_seconds=1)
    assert down.sent == 0 and down.retried >= 1
    assert all(i.status in ("pending", "sending") for i in env.store.pending_outbox(
        env.clock.now() + timedelta(hours=1)))
    env.outbox.client = live_client  # Slack is back
    env.outbox.drain()
    assert env.slack.posts_by_metadata() == {"mention:hackernews:1000": 1,
                                             "mention:hackernews:1001": 1}


def test_refresh_during_an_update_in_flight_sends_one_more(env):
    import threading
    import time

    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.drain()
    env.store.update_mention(m.key, lambda x: _claim(x, "U1"))
    env.outbox.refresh(m.key)
    # Slack is slow to answer this update: the second change lands while it is in flight.
    env.slack.fail_next("chat.update", status=200, hang=0.3, accept=True)
    worker = threading.Thread(target=env.outbox.drain)
    worker.start()
    deadline = time.monotonic() + 5
    while not env.slack.calls_to("chat.update") and time.monotonic() < deadline:
        time.sleep(0.005)
    env.store.update_mention(m.key, lambda x: _claim(x, "U2"))
    env.outbox.refresh(m.key)
    worker.join(10)
    env.outbox.drain()
    assert len(env.slack.calls_to("chat.update")) == 2
    assert "<@U2>" in str(env.slack.messages[BILLING][0]["blocks"])


def test_reconcile_falls_back_to_buttons_when_slack_withholds_metadata(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    item_id = f"mention:{m.key}"
    env.store.update_outbox(item_id, lambda r: _sending(r, BILLING, env.clock))
    # The earlier post exists but history returns it without metadata.
    msg = env.outbox.client.chat_postMessage(channel=BILLING, text="earlier", blocks=[
        {"type": "actions", "elements": [{"type": "button", "action_id": "earshot.claim",
                                          "value": m.key, "text": {"type": "plain_text",
                                                                   "text": "Claim"}}]}])
    other = add(env, 2)
    env.outbox.post_mention(other)
    stats = env.make().drain()
    assert stats.reconciled == 1
    assert env.store.get_mention(m.key).slack_ts == msg["ts"]
    assert len(env.slack.messages[BILLING]) == 2  # the earlier one + the other mention


def test_lanes_in_real_time_post_once_keep_thread_order_and_pace(slack, store):
    """Real clock: channels are posted to concurrently, each channel in order."""
    slack.rate_per_second, slack.burst = 50, 3
    channels = {f"d{i}": f"C0D{i}" for i in range(3)}
    outbox = Outbox(store, WebClient(token="x", base_url=slack.url), make_settings(channels),
                    rate_per_second=50, burst=3, update_rate_per_second=50)
    keys = []
    for n in range(30):
        m = store.add_mention(make_mention(n, department=f"d{n % 3}"))
        outbox.post_mention(m)
        for i in range(3):
            outbox.thread(m.key, f"{m.key} line {i}")
        outbox.refresh(m.key)
        keys.append(m.key)
    stats = outbox.drain(max_seconds=30)
    outbox.close()
    assert stats.failed == 0 and not store.pending_outbox()
    counts = slack.posts_by_metadata()
    assert len(counts) == 30 * 4 and set(counts.values()) == {1}
    for key in keys:
        m = store.get_mention(key)
        replies = [x["text"] for x in slack.messages[m.slack_channel]
                   if x.get("thread_ts") == m.slack_ts]
        assert replies == [f"{key} line {i}" for i in range(3)]
    assert slack.rate_limited == 0


def test_hostile_10k_emoji_post_is_accepted_by_slack_and_stays_harmless(env):
    text = ("<!channel> <@U123> & <https://evil.example|click> 😀👍🏽🇩🇪 " * 400)[:10_000]
    m = add(env, 1, text=text, author="<!here>")
    env.outbox.post_mention(m)
    stats = env.outbox.drain()
    assert stats.sent == 1 and stats.failed == 0  # the stand-in enforces Slack's limits
    [msg] = env.slack.messages[BILLING]
    raw = str(msg["text"]) + str(msg["blocks"])
    for bad in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>"):
        assert bad not in raw
    assert "read the rest" in raw


def test_restart_with_thread_reply_left_sending_is_found_in_the_thread(env):
    m = add(env, 1)
    env.outbox.post_mention(m)
    env.outbox.drain()
    parent = env.store.get_mention(m.key)
    env.outbox.thread(m.key, "claimed", item_id="reply-1")
    env.store.update_outbox("reply-1", lambda r: _sending(r, BILLING, env.clock))
    env.client.chat_postMessage(channel=BILLING, text="claimed", thread_ts=parent.slack_ts,
                                metadata={"event_type": "earshot_message",
                                          "event_payload": {"outbox_id": "reply-1"}})
    stats = env.make().drain()
    assert stats.reconciled == 1 and stats.sent == 0
    assert env.slack.calls_to("conversations.replies")
    assert env.slack.posts_by_metadata()["reply-1"] == 1
    assert env.store.get_outbox("reply-1").status == "sent"


def test_stored_mention_never_queued_is_queued_at_start_up_and_posted_once(env):
    """A crash between storing a mention and queueing it: the refetch skips it as seen,
    so start-up must queue it, and only it."""
    lost = add(env, 1)  # stored, no outbox row (the crash window)
    queued = add(env, 2)
    env.outbox.post_mention(queued)
    assert env.outbox.queue_unposted() == 1
    assert env.outbox.queue_unposted() == 0  # idempotent
    assert env.outbox.drain().sent == 2
    assert env.store.get_mention(lost.key).slack_ts
    assert env.outbox.queue_unposted() == 0  # posted: never again
    assert len(env.slack.calls_to("chat.postMessage")) == 2
