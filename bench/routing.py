"""Time to count routing health (moves, accuracy; issue 11) over two weeks of a busy
store (prints figures: min and median of 5 runs).

  .venv/bin/python bench/routing.py [--per-day 1100] [--move-share 0.1]

Every mention of the 14 days gets "posted" and "claimed" events, half an "answered",
and `--move-share` of them a move (a tenth of those undone), escalation or complaint
mark, so the read decodes about three events a mention, as a real store would hold.
Figures: the pure count (in memory), and the whole read + count against a real TinyDB
store, which App Home does at most every 5 minutes and the daily summary once.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.mention import Event, EventKind, Mention  # noqa: E402
from bot.summary import routing_health  # noqa: E402

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
DEPARTMENTS = ["support", "billing", "engineering", "product"]


def make(per_day: int, share: float, seed: int = 1) -> tuple[list[Mention], list[Event]]:
    rng = random.Random(seed)
    n = per_day * 14
    mentions, events = [], []
    for i in range(n):
        at = NOW - timedelta(days=14) + timedelta(days=14) * i / n
        dept = rng.choice(DEPARTMENTS)
        m = Mention(source="mastodon", native_id=str(i), text=f"post {i}",
                    url=f"https://example.org/{i}", created_at=at, department=dept)
        events += [Event(m.key, EventKind.POSTED, at + timedelta(seconds=20)),
                   Event(m.key, EventKind.CLAIMED, at + timedelta(minutes=5), "U1")]
        if rng.random() < 0.5:
            events.append(Event(m.key, EventKind.ANSWERED, at + timedelta(hours=1), "U1"))
        if rng.random() < share:
            other = rng.choice([d for d in DEPARTMENTS if d != dept])
            kind = rng.choice([EventKind.MOVED, EventKind.ESCALATED, EventKind.MARKED])
            data = ({"complaint": True, "previous": False} if kind == EventKind.MARKED
                    else {"from": dept, "to": other})
            events.append(Event(m.key, kind, at + timedelta(minutes=2), "U1", data))
            if kind == EventKind.MOVED and rng.random() < 0.1:
                events.append(Event(m.key, EventKind.MOVE_UNDONE, at + timedelta(minutes=3),
                                    "U1", data))
            elif kind == EventKind.MOVED:
                m.department = other
        mentions.append(m)
    events.sort(key=lambda e: e.at)
    return mentions, events


def timed(fn, runs: int = 5) -> tuple[float, float]:
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return min(walls), statistics.median(walls)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-day", type=int, default=1100)
    ap.add_argument("--move-share", type=float, default=0.1)
    args = ap.parse_args()
    mentions, events = make(args.per_day, args.move_share)
    print(f"{len(mentions):,} mentions over 14 days, {len(events):,} events")
    best, med = timed(lambda: routing_health.routing_health(
        mentions, events, end=NOW, departments=DEPARTMENTS))
    print(f"count (pure, in memory): min {best * 1000:.0f} ms, median {med * 1000:.0f} ms")

    from bot.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        for m in mentions:
            store.add_mention(m)
        for e in events:
            store.add_event(e)
        store.flush()
        health = routing_health.read_store(store, NOW, DEPARTMENTS)
        best, med = timed(lambda: routing_health.read_store(store, NOW, DEPARTMENTS))
        print(f"read + count from TinyDB: min {best * 1000:.0f} ms, median {med * 1000:.0f} ms"
              f" (accuracy {routing_health.percent(health.overall.week)})")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
