"""Replicas: drain time of 1,000 mentions over 5 channels with 3 `serve` replicas on one
PostgreSQL database, against the ideal at the per-channel posting rate.

Each run starts the Slack stand-in in its own process (enforcing the rate per channel,
token bucket with a burst of 3), empties the database, starts three real
`python -m bot serve` processes (HTTP mode, PORT=0, each with its own empty data
directory, SLACK_POST_RATE set to the same rate), waits until one is leader and all have
finished starting, pauses them (SIGSTOP), stores the mentions and queues them the way
the pipeline does (the mention and its outbox row in one write; the database NOTIFYs
the leader), and resumes them (SIGCONT). It times from the resume to the last post seen at the
stand-in (the drain of the whole backlog, as bench/burst.py times one outbox), waits 2 s
for any late double, and counts the posts per outbox id at the stand-in: each mention
must be posted exactly once.

Slack allows about 1 message per second per channel: 1,000 mentions over 5 channels
would take about 200 s per run, so the default rate is 20/s per channel (the stand-in
enforces it and the replicas pace at it); the ideal printed uses the same rate. Pass
--rate 1 for Slack's own pace.

    .venv/bin/python bench/replicas.py [--mentions 1000] [--channels 5] [--replicas 3]
                                       [--runs 3] [--rate 20] [--database-url URL]

PostgreSQL is a throwaway cluster started here with its default durability, unless
--database-url names a scratch database (emptied before each run).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from burst import start_standin  # noqa: E402
from pg import empty, postgres  # noqa: E402

from bot.settings import load_settings  # noqa: E402
from bot.slack.outbox.queue import OutboxQueue  # noqa: E402
from bot.store.postgres import PostgresStore  # noqa: E402
from tests.e2e.helpers import new_mention, wait_for  # noqa: E402
from tests.e2e.replicas import Serve, leader_of, start_all, stop_all  # noqa: E402

BURST = 3  # the stand-in's burst, like Slack's


@dataclass
class Run:
    drain_s: float
    enqueue_s: float
    posted_once: int
    lost: int
    doubled: int
    unrecorded: int
    rate_limited: int


def write_config(path: Path, channels: int) -> None:
    lines = ['[brand]\nterms = ["Acme"]']
    for i in range(channels):
        lines.append(f'[departments.dept{i}]\nchannel = "C0DEPT{i}"')
    lines.append('[routing]\ndefault = "dept0"\n[escalation]\nchannel = "C0ESC"\n'
                 '[summary]\nchannel = "C0SUM"')
    path.write_text("\n".join(lines) + "\n")


def standin_state(url: str) -> dict:
    with urllib.request.urlopen(url.replace("/api/", "/_standin/state"), timeout=10) as resp:
        return json.load(resp)


def warm(group: list[Serve], timeout: float = 120) -> None:
    """Wait for a leader, every role, and every replica's start-up work in the background
    (loading what was learned imports scikit-learn): a run times posting, not start-up."""
    leader_of(group, timeout=timeout)
    wait_for(lambda: all(s.role() for s in group), timeout=timeout, what="every role",
             interval=0.2)
    wait_for(lambda: all(any("learning from corrections" in x for x in s.lines)
                         for s in group), timeout=timeout, what="start-up work",
             interval=0.2)


def one_run(opts: argparse.Namespace, db_url: str, workdir: Path) -> Run:
    empty(db_url)
    config = workdir / "earshot.toml"
    write_config(config, opts.channels)
    proc, slack_url = start_standin(opts.rate, BURST, workdir)
    group: list[Serve] = []
    try:
        group = start_all(opts.replicas, config, workdir / "disk", slack_url, db_url,
                          post_rate=opts.rate)
        warm(group)
        settings = load_settings(config, env={"EARSHOT_DATA": str(workdir / "bench")})
        store = PostgresStore.open(db_url)
        queue = OutboxQueue(store, settings)
        mentions = [new_mention(department=f"dept{n % opts.channels}",
                                text=f"Acme mention {n}: <!channel> & friends")
                    for n in range(opts.mentions)]
        # The replicas are paused while the backlog is queued, so the run times the
        # drain of the whole backlog by warm replicas (as bench/burst.py does with one
        # outbox), not how fast this process can queue. The database keeps the
        # notifications for the leader's LISTEN connection until it resumes.
        for s in group:
            s.proc.send_signal(signal.SIGSTOP)
        t0 = time.perf_counter()
        keys = []
        for m in mentions:  # as the pipeline does: the mention and its post, one write
            keys.append(queue.add_and_post_mention(m).key)
        enqueue_s = time.perf_counter() - t0
        expected = {f"mention:{key}" for key in keys}
        t0 = time.perf_counter()
        for s in group:
            s.proc.send_signal(signal.SIGCONT)

        def all_posted() -> bool:
            return expected <= set(standin_state(slack_url)["posts_by_outbox_id"])

        wait_for(all_posted, timeout=opts.mentions * 2 / opts.rate + 120,
                 what="every mention posted", interval=0.05)
        drain_s = time.perf_counter() - t0
        wait_for(lambda: all(m.slack_ts for m in store.iter_mentions()), timeout=30,
                 what="every post recorded", interval=0.2)
        time.sleep(2)  # a double would arrive by now
        state = standin_state(slack_url)
        posts = state["posts_by_outbox_id"]
        unrecorded = sum(1 for m in store.iter_mentions() if not m.slack_ts)
        store.close()
        return Run(drain_s=drain_s, enqueue_s=enqueue_s,
                   posted_once=sum(1 for oid in expected if posts.get(oid) == 1),
                   lost=sum(1 for oid in expected if oid not in posts),
                   doubled=sum(1 for oid in expected if posts.get(oid, 0) > 1),
                   unrecorded=unrecorded, rate_limited=state["rate_limited"])
    finally:
        for s in group:  # a failure while paused must not leave them stopped
            if s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
        stop_all(group)
        proc.terminate()
        proc.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="chat.postMessage per second per channel, enforced by the "
                             "stand-in and kept by the replicas (Slack's is about 1)")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (emptied "
                        "before each run) instead of a throwaway cluster")
    opts = parser.parse_args()
    if opts.mentions < 1 or opts.channels < 1 or opts.replicas < 1 or opts.runs < 1:
        parser.error("--mentions, --channels, --replicas and --runs must be at least 1")
    if not 0 < opts.rate <= 1000:
        parser.error("--rate must be above 0 and at most 1000")

    per_channel = -(-opts.mentions // opts.channels)
    # Ideal: each channel's burst goes at once, the rest one per 1/rate, channels in parallel.
    ideal_s = max(0, per_channel - BURST) / opts.rate
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"replicas: {opts.mentions} mentions over {opts.channels} channels, "
          f"{opts.replicas} `serve` replicas on one PostgreSQL database")
    print(f"rate: {opts.rate:g} msg/s per channel (burst {BURST}), enforced by the stand-in "
          f"and kept by the replicas (SLACK_POST_RATE); Slack's own is about 1")
    print(f"{os.cpu_count()} CPUs, load average {load} (other work on the machine slows "
          "every figure)")
    runs: list[Run] = []
    with postgres(opts.database_url) as db_url:
        if db_url is None:
            return 1
        for n in range(opts.runs):
            with tempfile.TemporaryDirectory(prefix="earshot-replicas-") as tmp:
                run = one_run(opts, db_url, Path(tmp))
            runs.append(run)
            print(f"  run {n + 1}: drain {run.drain_s:6.2f} s (queued in "
                  f"{run.enqueue_s:.2f} s); posted exactly once {run.posted_once}/"
                  f"{opts.mentions}; lost {run.lost}; doubled {run.doubled}; "
                  f"unrecorded {run.unrecorded}; 429s {run.rate_limited}", flush=True)
    drains = [r.drain_s for r in runs]
    best, median = min(drains), statistics.median(drains)
    print(f"drain: min {best:.2f} s, median {median:.2f} s over {len(runs)} runs; ideal at "
          f"{opts.rate:g} msg/s per channel {ideal_s:.2f} s (min {best / ideal_s - 1:+.1%}, "
          f"median {median / ideal_s - 1:+.1%})" if ideal_s else
          f"drain: min {best:.2f} s, median {median:.2f} s over {len(runs)} runs")
    once = min(r.posted_once for r in runs)
    print(f"posted exactly once: {once}/{opts.mentions} in the worst run "
          f"({'all' if once == opts.mentions else 'NOT all'}); 429s: "
          f"{sum(r.rate_limited for r in runs)}")
    ok = all(r.posted_once == opts.mentions and r.unrecorded == 0 for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
