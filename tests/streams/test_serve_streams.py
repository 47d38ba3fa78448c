"""`serve` runs the streams beside the scheduler: every matching post reaches Slack once,
across a dropped connection and a kill -9 restart of the whole bot."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.e2e.helpers import BOT_TOKEN, CHANNELS, SECRET, wait_for
from tests.serve_process import start_serve, stop_serve
from tests.stream_standins import JetstreamStandIn, MastodonStreamStandIn, status


def config(jetstream_url: str = "", mastodon_url: str = "") -> str:
    stream = (f'[sources.bluesky_stream]\nbase_url = "{jetstream_url}"\nrewind_seconds = 1\n'
              if jetstream_url else
              f'[sources.mastodon_stream]\nbase_url = "{mastodon_url}"\nhashtags = ["acme"]\n')
    return f"""
[brand]
terms = ["Acme"]
[departments.support]
channel = "{CHANNELS['support']}"
[routing]
default = "support"
[escalation]
channel = "{CHANNELS['leadership']}"
[summary]
channel = "{CHANNELS['daily']}"
{stream}"""


def start_bot(tmp_path: Path, slack) -> tuple[subprocess.Popen, list[str]]:
    return start_serve(tmp_path / "earshot.toml", {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
        "PORT": "0", "EARSHOT_DATA": str(tmp_path / "data")})


def test_every_matching_post_reaches_slack_once_across_a_drop_and_a_kill_9(slack, tmp_path):
    slack.rate_per_second = 1000  # Slack's pacing out of the way
    with JetstreamStandIn() as js:
        (tmp_path / "earshot.toml").write_text(config(js.url))
        js.drop_after = [25]  # the first connection drops mid-stream
        expected: list[str] = []
        stop = threading.Event()

        # A live stream: an event every 10 ms, every tenth matching. Fifteen matches are
        # enough for a drop and a kill in mid-course; each costs a second of the outbox's
        # pace in the one channel (Slack's per-channel limit), so more would only wait.
        def feed() -> None:
            i = 0
            while not stop.is_set() and i < 150:
                text = f"Acme post number {i}" if i % 10 == 0 else f"unrelated {i}"
                js.add_post("did:plc:ann", f"k{i}", text)
                if i % 10 == 0:
                    expected.append(text)
                i += 1
                time.sleep(0.01)

        proc, lines = start_bot(tmp_path, slack)
        feeder = threading.Thread(target=feed, daemon=True)
        try:
            feeder.start()
            wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 8, timeout=30,
                     what="the first posts")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc, lines2 = start_bot(tmp_path, slack)
            feeder.join(10)
            wait_for(lambda: len(slack.posts_by_metadata()) >= len(expected), timeout=40,
                     what=f"{len(expected)} posts (log: {lines2[-5:]})")
            time.sleep(1.5)  # anything posted twice would show up by now
        finally:
            stop.set()
            stop_serve(proc)
    posted = [m["text"] for m in slack.all_messages()
              if (m.get("metadata") or {}).get("event_payload", {}).get("outbox_id", "")
              .startswith("mention:")]
    counts = slack.posts_by_metadata()
    assert len(expected) == 15 and len(counts) == 15
    assert all(n == 1 for n in counts.values()), counts
    assert all(any(text in p for p in posted) for text in expected)
    assert len(js.connections) >= 3  # first, after the drop, after the restart
    assert not [x for x in lines + lines2 if "Traceback" in x]


def test_mastodon_posts_reach_slack_once_across_a_kill_9_and_the_gap_is_filled(slack,
                                                                               tmp_path):
    """Posts made while the bot is dead exist only in the instance's timeline: the
    restarted stream fills the gap from its stored position before going live. (Few
    posts: the bot paces one post a second per channel, as Slack asks.)"""
    slack.rate_per_second = 1000
    with MastodonStreamStandIn() as ms:
        (tmp_path / "earshot.toml").write_text(config(mastodon_url=ms.url))
        proc, lines = start_bot(tmp_path, slack)
        expected: list[str] = []

        def push(first: int, last: int) -> None:
            for i in range(first, last):
                text = f"Acme toot number {i}"
                ms.push(status(1000 + i, text, tags=["acme"]))
                expected.append(text)
        try:
            ms.wait_subscribed(timeout=30)
            push(0, 5)
            wait_for(lambda: len(slack.posts_by_metadata()) >= 5, timeout=30,
                     what="the first posts")
            push(5, 8)  # the kill may land before these are stored: the gap fill has them
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            push(8, 13)  # nobody listening: only the timeline has these
            proc, lines2 = start_bot(tmp_path, slack)
            ms.wait_subscribed(timeout=30)
            push(13, 16)
            wait_for(lambda: len(slack.posts_by_metadata()) >= 16, timeout=40,
                     what=f"16 posts (log: {lines2[-5:]})")
            time.sleep(1.5)  # anything posted twice would show up by now
        finally:
            stop_serve(proc)
    counts = slack.posts_by_metadata()
    posted = " ".join(m["text"] for m in slack.all_messages())
    assert len(counts) == 16 and all(n == 1 for n in counts.values()), counts
    assert all(text in posted for text in expected)
    assert any("/api/v1/timelines/tag/acme" in p and "min_id=" in p for p in ms.rest)
    assert not [x for x in lines + lines2 if "Traceback" in x]
