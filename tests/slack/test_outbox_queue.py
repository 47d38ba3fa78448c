"""The enqueue-only queue: rows queued without a Slack client are posted by a later Outbox."""

from __future__ import annotations

import json

from slack_sdk import WebClient

from bot.slack.outbox import Outbox, OutboxQueue
from bot.store import open_store
from tests.slack.helpers import CHANNELS, make_mention, make_settings


def test_rows_queued_without_a_client_are_stored_as_plain_strings_and_posted_later(
        slack, tmp_path):
    settings = make_settings()
    store = open_store(tmp_path)
    queue = OutboxQueue(store, settings)  # `fetch` without SLACK_BOT_TOKEN
    queued = store.add_mention(make_mention(1))
    queue.post_mention(queued)
    store.add_mention(make_mention(2))  # stored, never queued (a crash in between)
    assert queue.queue_unposted() == 1
    queue.thread(queued.key, "claimed", item_id="reply-1")
    store.close()
    # Statuses and kinds are enums in code, their plain strings on disk.
    rows = json.loads((tmp_path / "earshot.json").read_text())["outbox"].values()
    assert {(r["kind"], r["status"]) for r in rows} == {("mention", "pending"),
                                                        ("thread", "pending")}

    store = open_store(tmp_path)
    try:
        outbox = Outbox(store, WebClient(token="x", base_url=slack.url), settings,
                        rate_per_second=50, burst=5)
        assert outbox.drain(max_seconds=10).sent == 3
        outbox.close()
        assert set(slack.posts_by_metadata().values()) == {1}
        assert len(slack.messages[CHANNELS["billing"]]) == 3
        assert store.get_outbox("reply-1").status == "sent"
    finally:
        store.close()
