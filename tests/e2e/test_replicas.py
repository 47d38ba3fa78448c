"""Three `python -m bot serve` processes on one PostgreSQL database, against the Slack
stand-in (which enforces Slack's one post per second per channel): every mention posted
exactly once, two clicks on one Claim at two replicas give one owner, the leader killed
mid-drain is replaced (its schedule and its queue) and nothing is lost or doubled, and a
restart of all three with empty local disks changes nothing.

300 mentions over 3 channels, as the issue asks. At Slack's real pace (1 post a second
per channel) that is 100 s of posting, too long for the suite, so the stand-in enforces
20 posts a second per channel (burst 3) and the replicas pace at that rate
(SLACK_POST_RATE): the same token buckets and the same 429 check, 20 times faster."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime

import pytest

from bot.mention import State
from bot.slack import ids
from bot.store.postgres import PostgresStore
from tests.e2e.helpers import CHANNELS, USERS, action, new_mention, wait_for
from tests.e2e.replicas import Serve, leader_of, start_all, stop_all
from tests.sources.conftest import FakeAPI

DEPARTMENTS = ("support", "billing", "engineering")
PER_CHANNEL = 100
RATE = 20  # posts per second per channel, enforced by the stand-in and kept by the outbox
ANN, BOB, _, _ = USERS

CONFIG = f"""
[brand]
terms = ["Acme"]
[departments.support]
channel = "{CHANNELS['support']}"
[departments.billing]
channel = "{CHANNELS['billing']}"
[departments.engineering]
channel = "{CHANNELS['engineering']}"
[routing]
default = "support"
[escalation]
channel = "{CHANNELS['leadership']}"
[summary]
channel = "{CHANNELS['daily']}"
[sources.lobsters]
enabled = true
base_url = "{{lobsters}}"
"""


def top_level_posts(slack) -> list[dict]:
    with slack.lock:
        return [m for ch in DEPARTMENTS for m in slack.messages.get(CHANNELS[ch], [])
                if not m.get("thread_ts")]


@pytest.fixture
def lobsters():
    """Lobsters' newest.json: the leader's scheduled poll reads it (empty at first)."""
    api = FakeAPI().start()
    api.default("/newest.json", [])
    api.default("/newest/page/2.json", [])  # read when page 1 does not reach the cursor
    try:
        yield api
    finally:
        api.stop()


def story(title: str) -> dict:
    return {"short_id": "rep1ic", "short_id_url": "https://lobste.rs/s/rep1ic",
            "created_at": datetime.now(UTC).isoformat(), "title": title,
            "url": "https://blog.example.org/acme", "description": "",
            "submitter_user": "hannah", "tags": ["devops"], "score": 1}


@pytest.fixture
def replicas(slack, tmp_path, pg_url, lobsters):
    started: list[Serve] = []
    config = tmp_path / "earshot.toml"
    config.write_text(CONFIG.replace("{lobsters}", lobsters.url))

    def start(n: int, disk: str) -> list[Serve]:
        batch = start_all(n, config, tmp_path / disk, slack.url, pg_url, post_rate=RATE)
        started.extend(batch)
        return batch

    yield start
    stop_all(started, signal.SIGKILL)


def test_three_replicas_post_once_share_claims_and_survive_the_leader(
        slack, pg_url, replicas, lobsters):
    slack.rate_per_second, slack.burst = RATE, 3  # Slack's per-channel limit, enforced
    slack.channels.update(CHANNELS)
    for user in USERS:
        slack.users.setdefault(user, {"name": user.lower(), "real_name": user})
    store = PostgresStore.open(pg_url)
    keys = [store.add_mention(new_mention(department=d)).key
            for _ in range(PER_CHANNEL) for d in DEPARTMENTS]
    total = len(keys)
    assert total == 300

    group = replicas(3, "disk")
    leader = leader_of(group, timeout=30)
    wait_for(lambda: all(s.role() for s in group), timeout=30, what="every replica ready",
             interval=0.1)
    assert sorted(s.role() for s in group) == ["follower", "follower", "leader"]
    wait_for(lambda: lobsters.requests_to("/newest.json"), timeout=30,
             what="the leader's first poll")

    wait_for(lambda: len(top_level_posts(slack)) >= 30, timeout=60, what="posting to start")
    leader.proc.kill()  # SIGKILL mid-drain
    leader.proc.wait()
    killed_at = len(lobsters.requests)
    assert len(top_level_posts(slack)) < total, "the leader finished before it was killed"
    # Posted after the kill, read by whichever replica runs the schedule now.
    lobsters.default("/newest.json", [story("Acme broke our deploys again")])
    survivors = [s for s in group if s is not leader]
    wait_for(lambda: any(s.role() == "leader" for s in survivors), timeout=60,
             what="a new leader", interval=0.1)
    # The new leader polls (its schedule resumed), stores the new story and posts it.
    wait_for(lambda: len(top_level_posts(slack)) >= total + 1, timeout=120,
             what="every mention posted")
    assert len(lobsters.requests) > killed_at, "no poll after the leader died"
    time.sleep(2)  # anything doubled would have arrived by now
    posts = top_level_posts(slack)
    assert len(posts) == total + 1, f"{len(posts)} posts for {total + 1} mentions"
    mentions = list(store.iter_mentions())
    assert len(mentions) == total + 1
    assert all(m.slack_ts for m in mentions)
    assert len({(m.slack_channel, m.slack_ts) for m in mentions}) == total + 1
    ids_posted = [((p.get("metadata") or {}).get("event_payload") or {}).get("outbox_id")
                  for p in posts]
    assert sorted(ids_posted) == sorted(f"mention:{m.key}" for m in mentions)
    assert any(m.source == "lobsters" for m in mentions)
    assert slack.rate_limited == 0  # one poster: the per-channel pace was kept

    # Two clicks on one Claim at the same instant, at two different replicas.
    m = store.get_mention(keys[0])
    barrier = threading.Barrier(2)

    def click(replica: Serve, user: str) -> None:
        barrier.wait()
        action(replica.url, ids.CLAIM, m.key, user=user, channel=m.slack_channel,
               message_ts=m.slack_ts)

    clicks = [threading.Thread(target=click, args=(s, u))
              for s, u in zip(survivors, (ANN, BOB), strict=True)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    owner = wait_for(lambda: store.get_mention(m.key).owner, timeout=30, what="an owner",
                     interval=0.05)
    loser = BOB if owner == ANN else ANN
    wait_for(lambda: [e for e in slack.ephemerals if e.get("user") == loser
                      and "already claimed" in e["text"]], timeout=30, what="the notice")
    assert [e.user for e in store.events(m.key) if e.kind == "claimed"] == [owner]

    # All three restarted with empty local disks: nothing is posted again, nothing lost,
    # and the new leader's poll finds the story already read (its cursor is in the
    # database, not on the disk).
    stop_all(survivors)
    polls = len(lobsters.requests)
    again = replicas(3, "fresh")
    leader_of(again)
    wait_for(lambda: len(lobsters.requests) > polls, timeout=30, what="a poll after restart")
    time.sleep(3)
    assert len(top_level_posts(slack)) == total + 1
    assert store.get_mention(m.key).owner == owner
    assert store.get_mention(m.key).state is State.CLAIMED
    assert store.count_mentions() == total + 1
    store.close()
