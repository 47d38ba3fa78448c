"""Burst: 1,000 mentions over 5 channels through the outbox, against a rate-limited Slack.

Starts the Slack stand-in in its own process, enforcing a per-channel chat.postMessage
limit (token bucket, burst 3; 20 messages/s by default instead of Slack's 1/s to keep
the run short), stores the mentions in a fresh TinyDB store, enqueues them, drains the
outbox and prints: drain time against the ideal at that rate, 429s received, and lost
and duplicated mentions (counted at the stand-in by the outbox id in each message's
metadata).

    .venv/bin/python bench/burst.py [--mentions 1000] [--channels 5] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bot.mention import Mention  # noqa: E402
from bot.settings import parse_settings  # noqa: E402
from bot.slack.outbox import Outbox  # noqa: E402
from bot.store import open_store  # noqa: E402


def start_standin(rate: float, burst: int, workdir: Path) -> tuple[subprocess.Popen, str]:
    url_file = workdir / "standin.url"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "slack_standin.py"), "--rate", str(rate),
         "--burst", str(burst), "--url-file", str(url_file)],
        stdout=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if url_file.exists() and url_file.read_text().strip():
            return proc, url_file.read_text().strip()
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the Slack stand-in did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s per channel")
    parser.add_argument("--burst", type=int, default=3)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, url = start_standin(opts.rate, opts.burst, workdir)
        try:
            return run(opts, url, workdir)
        finally:
            proc.terminate()
            proc.wait(5)


def run(opts: argparse.Namespace, url: str, workdir: Path) -> int:
    channels = {f"dept{i}": f"C0DEPT{i}" for i in range(opts.channels)}
    settings = parse_settings({
        "brand": {"terms": ["Acme"]},
        "departments": {name: {"channel": ch} for name, ch in channels.items()},
        "routing": {"default": "dept0"},
        "escalation": {"channel": "C0ESC"},
        "summary": {"channel": "C0SUM"},
    }, Path("bench.toml"), {})
    store = open_store(workdir / "data")
    client = WebClient(token="xoxb-bench", base_url=url, timeout=10)
    outbox = Outbox(store, client, settings, rate_per_second=opts.rate, burst=opts.burst)

    start = datetime.now(UTC)
    t0 = time.perf_counter()
    keys = []
    for n in range(opts.mentions):
        dept = f"dept{n % opts.channels}"
        mention = store.add_mention(Mention(
            source="hackernews", native_id=str(n), url=f"https://news.ycombinator.com/item?id={n}",
            text=f"Acme mention {n}: <!channel> & friends 😀", author=f"user{n}",
            created_at=start + timedelta(milliseconds=n), department=dept,
            reason="matched keywords: bench", sentiment=-0.4, complaint=n % 2 == 0))
        outbox.post_mention(mention)
        keys.append(mention.key)
    enqueue_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    stats = outbox.drain()
    drain_s = time.perf_counter() - t1

    per_channel = -(-opts.mentions // opts.channels)
    # Ideal: each channel's burst goes at once, the rest one per 1/rate, channels in parallel.
    ideal_s = max(0, per_channel - opts.burst) / opts.rate
    with urllib.request.urlopen(url.replace("/api/", "/_standin/state"), timeout=10) as resp:
        state = json.load(resp)
    posts = state["posts_by_outbox_id"]
    expected = {f"mention:{key}" for key in keys}
    lost = len(expected - set(posts))
    duplicated = sum(1 for oid in expected if posts.get(oid, 0) > 1)
    unrecorded = sum(1 for key in keys if not store.get_mention(key).slack_ts)
    store.close()

    print(f"burst: {opts.mentions} mentions over {opts.channels} channels; stand-in limit "
          f"{opts.rate:g} msg/s per channel, burst {opts.burst}")
    print(f"enqueue (store + outbox rows): {enqueue_s:.2f} s")
    print(f"drain: {drain_s:.2f} s; ideal at that rate {ideal_s:.2f} s "
          f"({(drain_s / ideal_s - 1) * 100 if ideal_s else 0:+.1f}%)")
    print(f"throughput: {stats.sent / drain_s:.1f} msg/s overall")
    print(f"429s received: {stats.rate_limited} (stand-in counted {state['rate_limited']})")
    print(f"lost: {lost}; duplicated: {duplicated}; posted but not recorded: {unrecorded}")
    print(f"outbox stats: sent {stats.sent}, retried {stats.retried}, failed {stats.failed}, "
          f"reconciled {stats.reconciled}")
    ok = lost == 0 and duplicated == 0 and unrecorded == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
