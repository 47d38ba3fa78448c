"""The whole live path under a firehose: Jetstream stand-in -> reader -> matcher ->
pipeline (judge, store) -> outbox -> Slack stand-in.

    .venv/bin/python bench/stream.py                      # 200,000 posts, ~0.5% matching
    .venv/bin/python bench/stream.py --count 50000 --runs 3

The stand-ins (tests/stream_standins.py, tests/slack_standin.py) run in a child process,
so the CPU figures are the bot's alone. The Jetstream stand-in sends the synthetic
stream (bench/synthetic.py, Bluesky lengths: up to 300 characters, a quarter not plain
ASCII) as fast as the bot reads it, or at `--rate` posts/s like a live stream; Slack's
pacing is out of the way (the stand-in's limit and the outbox's pace set high). Prints,
per run and as min / median:
- posts/s sustained: events read from the first to the last;
- CPU per post: the bot process's CPU time over all events;
- arrival -> chat.postMessage, p50 / p99, over the matches: from the moment the reader
  matched the post to the moment the Slack stand-in received its message.
Asserts nothing, but says if a match never reached Slack or reached it twice.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import make_posts  # noqa: E402
from bot.ingest.pipeline import Pipeline  # noqa: E402
from bot.ingest.streaming import SWITCH_INTERVAL, build_streams  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack.client import make_client  # noqa: E402
from bot.slack.outbox import Outbox, OutboxWorker  # noqa: E402
from bot.store import open_store  # noqa: E402

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
CONFIG = """
[brand]
terms = ["Acme", "\\"Acme Cloud\\"", "@acme", "acme.com"]
exclude = ["Acme Corporation cartoon"]
# Four departments, so matches spread over four channels as in a real workspace (the
# outbox posts one message at a time per channel, each durably marked first).
[departments.support]
channel = "CSUPPORT"
keywords = ["help", "support", "broken", "phone", "love"]
[departments.billing]
channel = "CBILLING"
keywords = ["refund", "charged", "invoice", "order"]
[departments.engineering]
channel = "CENGINEERING"
keywords = ["bug", "server", "deploy", "fix", "app", "cloud"]
[departments.product]
channel = "CPRODUCT"
keywords = ["update", "release", "game", "music", "camera"]
[routing]
default = "support"
[escalation]
channel = "CLEAD"
[summary]
channel = "CDAILY"
[sources.bluesky_stream]
base_url = "{url}"
"""


def standins(count: int, seed: int, rate: float | None, conn: Any) -> None:
    """Child process: serve the stream and Slack; report post times when told."""
    from tests.slack_standin import SlackStandIn
    from tests.stream_standins import T0_US, JetstreamStandIn, Raw, post_event

    posts = make_posts(count, seed=seed, long_share=0.0)
    js = JetstreamStandIn()
    js.rate = rate
    # Pre-encoded frames: the stand-in's own JSON encoding is not what is measured.
    js.events = [Raw(json.dumps(post_event(f"did:plc:u{i % 50_000}", f"r{i}", p.text,
                                           T0_US + i * 10, record={"langs": [
                                               p.language or "en"]})), T0_US + i * 10)
                 for i, p in enumerate(posts)]
    slack = SlackStandIn(rate_per_second=None).start()
    js.start()
    conn.send((js.url, slack.url, sum(p.brand for p in posts)))
    conn.recv()  # "done"
    posted = {}
    for call in slack.calls_to("chat.postMessage"):
        payload = (call.params.get("metadata") or {}).get("event_payload") or {}
        key = str(payload.get("outbox_id", ""))
        if key.startswith("mention:"):
            posted.setdefault(key[len("mention:"):], []).append(call.at)
    conn.send(posted)
    js.stop()
    slack.stop()


def one_run(count: int, seed: int, rate: float | None = None) -> dict[str, float]:
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `serve` does when it runs streams
    parent, child = mp.Pipe()
    proc = mp.Process(target=standins, args=(count, seed, rate, child), daemon=True)
    proc.start()
    js_url, slack_url, _ = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "earshot.toml"
        cfg.write_text(CONFIG.format(url=js_url))
        settings = load_settings(cfg, env={"EARSHOT_DATA": f"{tmp}/data",
                                           "SLACK_API_URL": slack_url,
                                           "SLACK_BOT_TOKEN": "xoxb-bench"})
        store = open_store(settings.data_dir)
        outbox = Outbox(store, make_client(settings.slack), settings, rate_per_second=10_000,
                        burst=10_000)
        worker = OutboxWorker(outbox).start()
        pipeline = Pipeline(settings, store, poster=outbox)
        [runner] = build_streams(settings, store, pipeline)
        arrived: dict[str, float] = {}
        drop_reason = runner.matcher.drop_reason

        def timed(mention: Any) -> str | None:
            why = drop_reason(mention)
            if why is None:
                arrived.setdefault(mention.key, time.monotonic())
            return why

        stored_at: dict[str, float] = {}
        runner.on_stored = lambda m: stored_at.setdefault(m.key, time.monotonic())
        runner.matcher = type("Timed", (), {"drop_reason": staticmethod(timed)})()
        cpu0, first = time.process_time(), None
        runner.start()
        deadline = time.monotonic() + 600
        while runner.stats.read < count and time.monotonic() < deadline:
            if first is None and runner.stats.read:
                first = time.monotonic()
            time.sleep(0.01)
        last = time.monotonic()
        cpu = time.process_time() - cpu0
        # Wait for the matches to reach Slack.
        while time.monotonic() < deadline and (
                runner._queue.qsize() or store.pending_outbox(FAR_FUTURE)):
            time.sleep(0.05)
        runner.stop()
        worker.stop()
        outbox.close()
        store.close()
    parent.send("done")
    posted = parent.recv()
    proc.join(10)
    waits = sorted(times[0] - arrived[key] for key, times in posted.items() if key in arrived)
    to_store = sorted(stored_at[k] - arrived[k] for k in stored_at if k in arrived)
    missing = len(set(arrived) - set(posted))
    doubled = sum(len(t) > 1 for t in posted.values())
    return {"rate": count / max(last - (first or last), 1e-9), "cpu_us": cpu / count * 1e6,
            "p50": _pct(waits, 0.5), "p99": _pct(waits, 0.99),
            "stored_p50": _pct(to_store, 0.5), "stored_p99": _pct(to_store, 0.99),
            "matches": len(arrived), "missing": missing, "doubled": doubled,
            "max_backlog": runner.stats.max_backlog}


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0,
                        help="replay at this many posts/s (default: as fast as read)")
    args = parser.parse_args()
    pace = f"at {args.rate:,.0f} posts/s" if args.rate else "as fast as the bot reads"
    print(f"{args.count:,} synthetic posts per run through the whole path, {pace}, "
          f"{args.runs} runs")
    runs = []
    for i in range(args.runs):
        r = one_run(args.count, seed=13 + i, rate=args.rate or None)
        runs.append(r)
        print(f"run {i + 1}: {r['rate']:8,.0f} posts/s  {r['cpu_us']:6.1f} us CPU/post  "
              f"arrival->chat.postMessage p50 {r['p50'] * 1000:6.0f} ms  p99 "
              f"{r['p99'] * 1000:6.0f} ms (stored: p50 {r['stored_p50'] * 1000:.0f} ms, p99 "
              f"{r['stored_p99'] * 1000:.0f} ms)  ({r['matches']} matches, {r['missing']} not "
              f"posted, {r['doubled']} posted twice, backlog max {r['max_backlog']})")
    for name, key, unit, scale in (("posts/s", "rate", "", 1), ("CPU/post", "cpu_us", " us", 1),
                                   ("p50", "p50", " ms", 1000), ("p99", "p99", " ms", 1000)):
        values = [r[key] * scale for r in runs]
        print(f"{name:9} min {min(values):10,.1f}{unit}   median "
              f"{statistics.median(values):10,.1f}{unit}")


if __name__ == "__main__":
    main()
