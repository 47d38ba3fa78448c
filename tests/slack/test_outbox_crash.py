"""Kill -9 a process mid-drain, drain again: every post exactly once, nothing lost.

Runs against the real store (bot.store.open_store) in a subprocess and the stand-in in
this process, so the stand-in can count messages per outbox id across both drains.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from slack_sdk import WebClient

from bot.slack.outbox import Outbox
from bot.store import open_store
from tests.slack.helpers import make_mention, make_settings

CHILD = Path(__file__).with_name("drain_child.py")
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_kill_9_mid_queue_then_fresh_drain_posts_each_exactly_once(slack, tmp_path):
    slack.rate_per_second, slack.burst = 20, 3  # Slack's limit, sped up
    data = tmp_path / "data"
    store = open_store(data)
    settings = make_settings()
    queue = Outbox(store, WebClient(token="x", base_url=slack.url), settings)
    keys = []
    for n in range(30):
        m = store.add_mention(make_mention(n, department=("billing", "support")[n % 2]))
        queue.post_mention(m)
        keys.append(m.key)
        if n < 10:
            queue.thread(m.key, f"first reply to {n}", item_id=f"reply-{n}")
    expected = {f"mention:{k}" for k in keys} | {f"reply-{n}" for n in range(10)}
    store.close()

    # The child posts slowly so a loaded machine still kills it mid-queue.
    child = subprocess.Popen([sys.executable, str(CHILD), str(data), slack.url, "8"],
                             cwd=ROOT, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 12)
        # The next post is carried out by Slack but never answered: the child dies
        # between Slack's accepting it and its recording it, the case that doubles posts.
        before = len(slack.calls_to("chat.postMessage"))
        slack.fail_next("chat.postMessage", hang=30, accept=True)
        wait_for(lambda: len(slack.calls_to("chat.postMessage")) > before)
        time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()
    posted_by_child = slack.posts_by_metadata()
    assert 12 <= sum(posted_by_child.values()) < len(expected)

    store = open_store(data)  # the dead child's lock is gone with it
    try:
        stats = Outbox(store, WebClient(token="x", base_url=slack.url), settings,
                       rate_per_second=20, burst=3).drain(max_seconds=30)
        counts = slack.posts_by_metadata()
        assert counts == {item_id: 1 for item_id in expected}
        assert stats.reconciled >= 1  # the post Slack got but the child never recorded
        for key in keys:
            m = store.get_mention(key)
            msg = next(x for x in slack.all_messages()
                       if x["metadata"]["event_payload"]["outbox_id"] == f"mention:{key}")
            assert (m.slack_channel, m.slack_ts) == (msg["channel"], msg["ts"])
            assert [e.kind for e in store.events(key)] == ["posted"]
        for n in range(10):
            reply = next(x for x in slack.all_messages()
                         if x["metadata"]["event_payload"]["outbox_id"] == f"reply-{n}")
            assert reply["thread_ts"] == store.get_mention(keys[n]).slack_ts
        assert store.pending_outbox() == []
    finally:
        store.close()
