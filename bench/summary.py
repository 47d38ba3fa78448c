"""Time to build the daily summary over 100,000 stored mentions (prints figures).

  .venv/bin/python bench/summary.py [--mentions 100000] [--days 8] [--no-store]

Worst case for the summary: every mention falls inside the 8 days it reads (the day
itself plus the 7 before, whose complaints are all placed in the day's themes for the
deltas). Mentions are made from varied complaint and praise templates, about half
complaints, 30% of the day's with posted/claimed/answered events.

Figures: the pure build (report from in-memory mentions), rendering, and, unless
--no-store, the whole job against the real store (read + build), after filling it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.mention import Event, Link, Mention, State  # noqa: E402
from bot.summary.render import to_json, to_slack, to_text  # noqa: E402
from bot.summary.report import build_report  # noqa: E402

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
COMPLAINTS = [
    "my {thing} was lost on the way to {place}", "on hold for {n} hours with no answer",
    "still no refund for my {thing} after {n} weeks", "flight to {place} delayed {n} hours",
    "charged twice for the {thing}", "the app crashes every time I log in",
    "rude staff at the {place} desk", "my package never arrived in {place}",
    "cancelled my order for the {thing} without telling me", "no reply to my {n} emails",
    "the {thing} stopped working after {n} days", "worst service ever, {n} calls",
]
PRAISE = ["love the new {thing}!", "great help from the team in {place}",
          "the {thing} arrived early, thanks", "announcing our {thing} meetup in {place}"]
THINGS = ["bag", "ticket", "order", "phone", "laptop", "seat", "subscription", "jacket"]
PLACES = ["Denver", "Berlin", "Lagos", "Osaka", "Lima", "Austin", "Oslo", "Pune"]
SOURCES = ["mastodon", "reddit", "bluesky", "hackernews", "x", "github"]
DEPARTMENTS = ["support", "billing", "engineering", "product"]


def make(n: int, days: int, seed: int = 1) -> tuple[list[Mention], list[Event]]:
    rng = random.Random(seed)
    start = NOW - timedelta(days=days)
    span = (NOW - start).total_seconds()
    mentions, events = [], []
    for i in range(n):
        at = start + timedelta(seconds=span * i / n)
        complaint = rng.random() < 0.5
        template = rng.choice(COMPLAINTS if complaint else PRAISE)
        text = "@acme " + template.format(thing=rng.choice(THINGS), place=rng.choice(PLACES),
                                          n=rng.randint(2, 9))
        m = Mention(source=rng.choice(SOURCES), native_id=str(i), text=text,
                    url=f"https://example.org/{i}", created_at=at, complaint=complaint,
                    sentiment=-0.5 if complaint else 0.5, department=rng.choice(DEPARTMENTS),
                    number=i + 1,
                    links=[Link("reddit", f"https://r.example/{i}/{k}")
                           for k in range(rng.randint(0, 2))])
        if at >= NOW - timedelta(days=1) and rng.random() < 0.3:
            posted = at + timedelta(seconds=rng.randint(5, 60))
            events.append(Event(m.key, "posted", posted, data={"channel": "C1", "ts": "1"}))
            events.append(Event(m.key, "claimed", posted + timedelta(
                seconds=rng.randint(30, 7200)), "U1"))
            m.state = State.CLAIMED
            if rng.random() < 0.5:
                events.append(Event(m.key, "answered", posted + timedelta(
                    seconds=rng.randint(7200, 20000)), "U1"))
                m.state = State.ANSWERED
        mentions.append(m)
    events.sort(key=lambda e: e.at)
    return mentions, events


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mentions", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=8)
    ap.add_argument("--no-store", action="store_true")
    ap.add_argument("--no-postgres", action="store_true", help="TinyDB figures only")
    ap.add_argument("--database-url", help="a scratch PostgreSQL database (emptied first) "
                    "instead of a throwaway cluster")
    args = ap.parse_args()
    mentions, events = make(args.mentions, args.days)
    start = NOW - timedelta(days=1)

    t0, c0 = time.perf_counter(), time.process_time()
    report = build_report(mentions, events, start=start, end=NOW, title="bench",
                          departments=DEPARTMENTS, brand_words=["acme"])
    t1, c1 = time.perf_counter(), time.process_time()
    message = to_slack(report)
    to_text(report)
    to_json(report)
    t2 = time.perf_counter()
    print(f"{args.mentions} mentions over {args.days} days; the day: {report.total} "
          f"mentions, {report.complaints} complaints, {len(report.themes)} themes, "
          f"{len(message['blocks'])} blocks")
    # CPU time too: on a shared machine wall time includes waiting for a core.
    print(f"build (pure, in memory): {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU")
    print(f"render text + Slack + JSON: {t2 - t1:.3f} s")
    if args.no_store:
        return 0

    from bot.settings import parse_settings
    from bot.store import open_store

    settings = parse_settings({
        "brand": {"terms": ["acme"]},
        "departments": {d: {"channel": f"#{d}"} for d in DEPARTMENTS},
        "routing": {"default": "support"}, "escalation": {"channel": "#lead"},
        "summary": {"channel": "#daily"}}, Path("bench.toml"), {})
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        t0 = time.perf_counter()
        add_many = getattr(store, "add_mentions", None)
        if callable(add_many):
            add_many(mentions)
        else:
            for m in mentions:
                store.add_mention(m)
        for e in events:
            store.add_event(e)
        store.flush()
        t1 = time.perf_counter()
        print(f"filling the store: {t1 - t0:.1f} s (setup, not part of the summary)")
        print("TinyDB store:")
        _summary_from(settings, store, start)
        if not args.no_postgres:
            _on_postgres(settings, Path(tmp), start, args.database_url)
        store.close()
    return 0


def _summary_from(settings, store, start: datetime) -> None:
    from bot.summary import jobs as summary_jobs

    runs = []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        stored = summary_jobs.report_for_window(settings, store, start, NOW, "bench")
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    t1, c1 = time.perf_counter(), time.process_time()
    read = sum(1 for _ in store.iter_mentions(since=start - timedelta(days=7)))
    store.events(since=start)
    t2, c2 = time.perf_counter(), time.process_time()
    walls = sorted(w for w, _ in runs)
    print(f"  summary from the store (read + build), 3 runs: min {walls[0]:.2f} s, median "
          f"{walls[1]:.2f} s wall; CPU min {min(c for _, c in runs):.2f} s "
          f"({stored.total} mentions in the day, {len(stored.themes)} themes)")
    print(f"  of which reading {read} mentions + events from the store: about "
          f"{t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU")


def _on_postgres(settings, tinydb_dir: Path, start: datetime, url: str | None) -> None:
    """The same data copied into PostgreSQL (as `store copy` does), then the summary."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pg import postgres

    from bot.store.postgres import PostgresStore
    from bot.store.transfer import PostgresSide, TinyDBSide, copy_all

    with postgres(url) as db:
        if db is None:
            return
        t0 = time.perf_counter()
        target = PostgresSide(db, read_only=False)
        source = TinyDBSide(tinydb_dir, read_only=True)
        copy_all(source, target)
        target.commit()
        target.close()
        source.close()
        print(f"PostgreSQL store (filled by store copy in {time.perf_counter() - t0:.1f} s):")
        store = PostgresStore.open(db)
        try:
            _summary_from(settings, store, start)
        finally:
            store.close()


if __name__ == "__main__":
    sys.exit(main())
