"""Three `python -m bot serve` processes on one PostgreSQL database, against the Slack
stand-in (which enforces Slack's one post per second per channel): every mention posted
exactly once, two clicks on one Claim at two replicas give one owner, the leader killed
mid-drain is replaced and nothing is lost or doubled, and a restart of all three with
empty local disks changes nothing.

The issue's figure is 300 mentions; at Slack's real pace that is 100 s of posting per
channel, too long for the suite, so this posts 45 (15 per channel) at the same pace."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from bot.mention import State
from bot.slack import ids
from bot.store.postgres import PostgresStore
from tests.e2e.helpers import (
    BOT_TOKEN,
    CHANNELS,
    SECRET,
    USERS,
    action,
    new_mention,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ("support", "billing", "engineering")
PER_CHANNEL = 15
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
"""


class Serve:
    """One `serve` process; `url` once it listens."""

    def __init__(self, config: Path, data: Path, slack_url: str, db_url: str) -> None:
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack_url, "PORT": "0", "EARSHOT_DATA": str(data),
               "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
        env.pop("SLACK_APP_TOKEN", None)
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config",
                                      str(config)], cwd=ROOT, env=env,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stderr.readline, "")),
                         daemon=True).start()
        self.url = ""

    def wait_listening(self) -> Serve:
        def port() -> int | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}: {self.lines}")
            found = [re.search(r"serving Slack events on port (\d+)", x) for x in self.lines]
            return next((int(m[1]) for m in found if m), None)

        self.url = f"http://127.0.0.1:{wait_for(port, timeout=60, what='the port')}"
        return self

    def role(self) -> str | None:
        try:  # no role yet while the replica answers "starting"
            return requests.get(self.url + "/healthz", timeout=5).json().get("role")
        except requests.RequestException:
            return None

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def top_level_posts(slack) -> list[dict]:
    with slack.lock:
        return [m for ch in DEPARTMENTS for m in slack.messages.get(CHANNELS[ch], [])
                if not m.get("thread_ts")]


@pytest.fixture
def replicas(slack, tmp_path, pg_url):
    started: list[Serve] = []
    config = tmp_path / "earshot.toml"
    config.write_text(CONFIG)

    def start(n: int, disk: str) -> list[Serve]:
        batch = [Serve(config, tmp_path / f"{disk}-{i}", slack.url, pg_url) for i in range(n)]
        started.extend(batch)
        return [s.wait_listening() for s in batch]

    yield start
    for s in started:
        s.stop(signal.SIGKILL)


def test_three_replicas_post_once_share_claims_and_survive_the_leader(slack, pg_url, replicas):
    slack.rate_per_second, slack.burst = 1.0, 3  # Slack's per-channel limit, enforced
    slack.channels.update(CHANNELS)
    for user in USERS:
        slack.users.setdefault(user, {"name": user.lower(), "real_name": user})
    store = PostgresStore.open(pg_url)
    keys = [store.add_mention(new_mention(department=d)).key
            for _ in range(PER_CHANNEL) for d in DEPARTMENTS]
    total = len(keys)

    group = replicas(3, "disk")
    leader = wait_for(lambda: next((s for s in group if s.role() == "leader"), None),
                      timeout=30, what="a leader")
    wait_for(lambda: all(s.role() for s in group), timeout=30, what="every replica ready")
    assert sorted(s.role() for s in group) == ["follower", "follower", "leader"]

    wait_for(lambda: len(top_level_posts(slack)) >= 6, timeout=60, what="posting to start")
    leader.proc.kill()  # SIGKILL mid-drain
    leader.proc.wait()
    survivors = [s for s in group if s is not leader]
    wait_for(lambda: any(s.role() == "leader" for s in survivors), timeout=60,
             what="a new leader")
    wait_for(lambda: all(m.slack_ts for m in store.iter_mentions()), timeout=120,
             what="every mention posted")
    time.sleep(2)  # anything doubled would have arrived by now
    posts = top_level_posts(slack)
    assert len(posts) == total, f"{len(posts)} posts for {total} mentions"
    by_ts = {(m.slack_channel, m.slack_ts) for m in store.iter_mentions()}
    assert len(by_ts) == total
    assert slack.rate_limited == 0  # one poster: Slack's per-channel pace was kept

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
    owner = wait_for(lambda: store.get_mention(m.key).owner, timeout=30, what="an owner")
    loser = BOB if owner == ANN else ANN
    wait_for(lambda: [e for e in slack.ephemerals if e.get("user") == loser
                      and "already claimed" in e["text"]], timeout=30, what="the notice")
    assert [e.user for e in store.events(m.key) if e.kind == "claimed"] == [owner]

    # All three restarted with empty local disks: nothing is posted again, nothing lost.
    for s in survivors:
        s.stop()
    again = replicas(3, "fresh")
    wait_for(lambda: any(s.role() == "leader" for s in again), timeout=60, what="a leader")
    time.sleep(3)
    assert len(top_level_posts(slack)) == total
    assert store.get_mention(m.key).owner == owner
    assert store.get_mention(m.key).state is State.CLAIMED
    assert store.count_mentions() == total
    store.close()
