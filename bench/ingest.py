"""Storage benchmark: Earshot's journaled TinyDB store, the PostgreSQL store, and TinyDB
used naively.

    .venv/bin/python bench/ingest.py                 # 100,000 mentions; naive on 2,000
    .venv/bin/python bench/ingest.py --count 20000 --naive-count 500 --pg-count 5000
    .venv/bin/python bench/ingest.py --database-url postgresql://...   # a scratch database

PostgreSQL runs on a throwaway cluster started here (Debian's postgresql package) with
its default durability, unless --database-url names a scratch database (emptied first).

Also times the Slack side's indexed queries (open_mentions, claimed_by, ...) against
the same answers from a scan of every mention (Store's default implementations).

Prints figures; asserts nothing. Each store is written one mention at a time, the way
the pipeline stores them. The naive run (stock JSONStorage, `table.insert` per
mention, `table.search(where("key") == k)` per lookup) rewrites the whole file on
every insert, so it runs on a smaller count; its per-insert cost grows with the size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinydb import TinyDB, where  # noqa: E402

from bot.listeners.home import gather_home_from_store  # noqa: E402
from bot.mention import Link, Mention, State  # noqa: E402
from bot.store.base import OutboxItem, Store  # noqa: E402
from bot.store.tinydb_store import TinyDBStore  # noqa: E402
from tests.slack.home_reference import gather_home  # noqa: E402

T0 = datetime(2026, 8, 1, tzinfo=UTC)
WORDS = ("acme refund still on hold cancel flight support great thanks broken app login "
         "waiting agent delayed bag lost seat upgrade crew rude lovely fast slow").split()


def make_mention(i: int, total: int, rng: random.Random) -> Mention:
    # Spread over 90 days, so "since yesterday" selects about 1/90 of the store.
    created = T0 + timedelta(seconds=i * 90 * 86400 / total)
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 60)))
    return Mention(
        source="hn", native_id=str(1_000_000 + i), text=text,
        url=f"https://news.ycombinator.com/item?id={1_000_000 + i}", created_at=created,
        author=f"user{i % 997}", title="Ask HN: " + text[:40],
        links=[Link("reddit", f"https://reddit.com/r/acme/{i}")] if i % 10 == 0 else [],
        fingerprint=f"{i * 2654435761 % 2**64:016x}", sentiment=rng.uniform(-1, 1),
        complaint=rng.random() < 0.4, department=rng.choice(["support", "billing", "eng"]),
        reason="keyword", fetched_at=created + timedelta(minutes=3),
        slack_channel="C" + "0123456789"[i % 3] * 8, slack_ts=f"{1_700_000_000 + i}.000100",
    )


def stats_us(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"mean {statistics.fmean(samples) * 1e6:7.1f} us   p99 {p99 * 1e6:7.1f} us"


def timed(fn, keys) -> list[float]:
    out = []
    for k in keys:
        t = time.perf_counter()
        fn(k)
        out.append(time.perf_counter() - t)
    return out


def size_of(path: Path) -> str:
    total = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    parts = ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f} MB"
                      for f in sorted(path.iterdir()) if f.is_file() and f.stat().st_size)
    return f"{total / 1e6:.1f} MB ({parts})"


def print_lookups(store: Store, mentions: list[Mention], count: int, lookups: int,
                  rng: random.Random) -> None:
    """The four point lookups the bot makes, timed the same way on either backend."""
    keys = [rng.choice(mentions).key for _ in range(lookups)]
    print(f"  get_mention(key)          {stats_us(timed(store.get_mention, keys))}")
    numbers = [rng.randint(1, count) for _ in range(lookups)]
    print(f"  get_by_number(n)          {stats_us(timed(store.get_by_number, numbers))}")
    fps = [rng.choice(mentions).fingerprint for _ in range(lookups)]
    print(f"  find_by_fingerprint(fp)   {stats_us(timed(store.find_by_fingerprint, fps))}")
    urls = [rng.choice(mentions).url for _ in range(lookups)]
    print(f"  find_by_link(url)         {stats_us(timed(store.find_by_link, urls))}")


def bench_journal(count: int, lookups: int, rng: random.Random, root: Path) -> None:
    data = root / "journal"
    mentions = [make_mention(i, count, rng) for i in range(count)]
    store = TinyDBStore.open(data)
    t = time.perf_counter()
    for m in mentions:
        store.add_mention(m)
    elapsed = time.perf_counter() - t
    print(f"journaled TinyDB store (this design), {count:,} mentions")
    print(f"  add_mention one at a time: {count / elapsed:10,.0f} mentions/s  "
          f"({elapsed:.2f} s, compaction included)")
    print_lookups(store, mentions, count, lookups, rng)
    claims = [rng.choice(mentions).key for _ in range(200)]

    def claim(key: str) -> None:
        store.update_mention(key, lambda m: replace(m, state=State.CLAIMED, owner="U1"))

    print(f"  update_mention (claim, waits for fsync)  {stats_us(timed(claim, claims))}")
    since = mentions[-1].created_at - timedelta(days=1)
    t = time.perf_counter()
    recent = sum(1 for _ in store.iter_mentions(since))
    day = time.perf_counter() - t
    t = time.perf_counter()
    everything = sum(1 for _ in store.iter_mentions())
    full = time.perf_counter() - t
    print(f"  iter_mentions(last day):  {recent:,} mentions in {day * 1e3:.0f} ms")
    print(f"  iter_mentions() full:     {everything:,} mentions in {full * 1e3:.0f} ms "
          f"({full / everything * 1e6:.1f} us each, decoding included)")
    bench_slack_queries(store, mentions, rng)
    print_queued(store, count, rng)
    store.flush()
    print(f"  on disk before close: {size_of(data)}")
    t = time.perf_counter()
    store.close()
    print(f"  close (final compaction): {time.perf_counter() - t:.2f} s; "
          f"after: {size_of(data)}")
    # Reopen in a fresh process: its memory is what a bot holding this store needs.
    child = subprocess.run([sys.executable, "-c", REOPEN, str(data)], capture_output=True,
                           text=True, check=True, cwd=ROOT)
    print(child.stdout, end="")


def best_of(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def print_queued(store: Store, count: int, rng: random.Random) -> None:
    """What the pipeline writes per new mention: the mention and its outbox row
    (add_mention_queued), on extra mentions stored one at a time."""
    extra = [make_mention(count + i, count, rng) for i in range(min(count, 2000))]
    t = time.perf_counter()
    for m in extra:
        store.add_mention_queued(m, OutboxItem(id=f"mention:{m.key}", kind="mention",
                                               channel="C1", mention_key=m.key, payload={}))
    elapsed = time.perf_counter() - t
    print(f"  with its outbox row (the pipeline's write), {len(extra):,} more: "
          f"{len(extra) / elapsed:,.0f} mentions/s")


def bench_postgres(url: str, count: int, lookups: int, rng: random.Random) -> None:
    from bot.store.postgres import PostgresStore

    mentions = [make_mention(i, count, rng) for i in range(count)]
    store = PostgresStore.open(url)
    t = time.perf_counter()
    for m in mentions:
        store.add_mention(m)
    elapsed = time.perf_counter() - t
    print(f"PostgreSQL store, {count:,} mentions (fsync and synchronous commit on)")
    print(f"  add_mention one at a time: {count / elapsed:10,.0f} mentions/s  "
          f"({elapsed:.2f} s; each one a statement, committed durably)")
    print_lookups(store, mentions, count, lookups, rng)
    claims = rng.sample([m.key for m in mentions], min(1000, count))

    def claim(key: str) -> None:
        store.update_mention(key, lambda m: replace(m, state=State.CLAIMED, owner="U1")
                             if m.owner is None else None)

    print(f"  update_mention (claim, a transaction)  {stats_us(timed(claim, claims))}")
    t = time.perf_counter()
    everything = sum(1 for _ in store.iter_mentions())
    full = time.perf_counter() - t
    print(f"  iter_mentions() full:     {everything:,} mentions in {full * 1e3:.0f} ms "
          f"({full / everything * 1e6:.1f} us each, decoding included)")
    bench_slack_queries(store, mentions, rng)
    print_queued(store, count, rng)
    store.close()


def bench_slack_queries(store: Store, mentions: list[Mention], rng: random.Random) -> None:
    """The Slack side's indexed queries against the same answer from a scan of every
    mention (Store's default implementations: what /claim, permalinks, App Home and the
    escalation reminders did before)."""
    for m in rng.sample(mentions, 50):  # a few unclaimed escalations, for the reminders
        store.update_mention(m.key, lambda m: replace(
            m, state=State.ESCALATED, department="leadership", owner=None,
            escalated_at=m.created_at + timedelta(hours=1)))
    posted = rng.choice(mentions[len(mentions) // 2:])
    today = mentions[-1].created_at - timedelta(days=1)
    departments = ["support", "billing", "eng", "marketing", "leadership"]
    queries = [
        ("open_mentions('leadership', limit=1)  /claim, sparse queue",
         lambda s: s.open_mentions("leadership", limit=1)),
        ("open_mentions('marketing', limit=1)   /claim, empty queue",
         lambda s: s.open_mentions("marketing", limit=1)),
        ("find_by_slack_message(channel, ts)    permalink",
         lambda s: s.find_by_slack_message(posted.slack_channel, posted.slack_ts)),
        ("open_mentions(state=ESCALATED)        reminders, every minute",
         lambda s: s.open_mentions(state=State.ESCALATED)),
        ("claimed_by(user)                      Home: mine",
         lambda s: s.claimed_by("U1")),
        ("count_open_by_department()            Home: waiting",
         lambda s: s.count_open_by_department()),
        ("open_mentions(dept, limit=5)          Home: one queue",
         lambda s: s.open_mentions("support", limit=5)),
        ("arrived_since(last day)               Home: today's counts",
         lambda s: s.arrived_since(today)),
    ]
    print("  Slack-side queries: indexed vs a scan of every mention (Store's defaults)")
    for name, query in queries:
        fast = best_of(lambda q=query: q(store), 20)
        slow = best_of(lambda q=query: q(_Scan(store)), 3)
        found = query(store)
        size = len(found) if isinstance(found, list | dict) else int(found is not None)
        call, use = (part.strip() for part in name.split("  ", 1))
        print(f"    {call:<38} {use:<24} {fast * 1e3:7.3f} ms  (scan {slow * 1e3:4.0f} ms)"
              f"  {size:,} found")
    fast = best_of(lambda: gather_home_from_store(store, "U1", departments, today), 20)
    slow = best_of(lambda: gather_home(store.iter_mentions(), store.events(since=today),
                                       "U1", departments, today), 3)
    print(f"    {'App Home for one user (all of the above)':<63} {fast * 1e3:7.3f} ms  "
          f"(scan {slow * 1e3:4.0f} ms)")


class _Scan(Store):
    """A store with only the abstract methods (of the wrapped one): the queries run as
    Store's default implementations, scans of iter_mentions."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def __getattribute__(self, name: str):
        if name in Store.__abstractmethods__:
            return getattr(object.__getattribute__(self, "_inner"), name)
        return object.__getattribute__(self, name)


_Scan.__abstractmethods__ = frozenset()


REOPEN = """
import sys, time
t = time.perf_counter()
from bot.store.tinydb_store import TinyDBStore
store = TinyDBStore.open(sys.argv[1])
opened = time.perf_counter() - t
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
mb = {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
print(f"  reopen in a new process ({store.count_mentions():,} mentions, indexes rebuilt): "
      f"{opened:.2f} s; that process's RSS {mb['VmRSS']:.0f} MB (peak {mb['VmHWM']:.0f} MB)")
store.close()
"""


# --- a store of the real shape: what `serve` and the read-only commands open -----------

SHAPE_CONFIG = """
[brand]
terms = ["acme"]
[departments.support]
channel = "C0SUPPORT"
[departments.billing]
channel = "C0BILLING"
[departments.eng]
channel = "C0ENG"
[routing]
default = "support"
[escalation]
channel = "C0LEADERS"
[summary]
channel = "C0DAILY"
"""

# In a fresh process: open the store as `serve` does (locked, read-write), then queue
# what was never queued (serve's start-up), then report time and memory.
SERVE_OPEN = """
import sys, time
from bot.store import open_store
import bot.store.tinydb_store  # imports are not the store's cost


def rss():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmRSS"].split()[0]) / 1024


c, t = time.process_time(), time.perf_counter()
store = open_store(sys.argv[1])
unposted = len(store.unposted_mentions())  # what serve reads before it is ready
queued = len(store.pending_outbox())
ready, ready_cpu, ready_mb = time.perf_counter() - t, time.process_time() - c, rss()
c, t = time.process_time(), time.perf_counter()
store.find_by_link("https://example.org/a-new-post")  # a fetch's first de-duplication
dedupe, dedupe_cpu, dedupe_mb = time.perf_counter() - t, time.process_time() - c, rss()
c, t = time.process_time(), time.perf_counter()
store.open_mentions(limit=1)  # needs every mention: the first de-duplication or click
full, full_cpu = time.perf_counter() - t, time.process_time() - c
print(f"ready in {ready:.2f} s ({ready_cpu:.2f} s CPU; {unposted} never queued, {queued} "
      f"to send), RSS {ready_mb:.0f} MB; first de-duplication {dedupe:.2f} s "
      f"({dedupe_cpu:.2f} s CPU), RSS {dedupe_mb:.0f} MB; every mention loaded after in "
      f"{full:.2f} s "
      f"({full_cpu:.2f} s CPU), RSS {rss():.0f} MB")
store.close()
"""

# In a fresh process: `python -m bot summary --dry-run --date DAY`, then its peak memory.
SUMMARY_DAY = """
import sys, time
from bot.__main__ import main
t = time.perf_counter()
code = main(["summary", "--dry-run", "--date", sys.argv[1], "--config", sys.argv[2]])
took = time.perf_counter() - t
cpu = time.process_time()
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(f"exit {code}, {took:.2f} s ({cpu:.2f} s CPU), peak RSS "
      f"{int(status['VmHWM'].split()[0]) / 1024:.0f} MB", file=sys.stderr)
"""


def build_real_shape(data: Path, count: int, rng: random.Random) -> float:
    """A store as a running bot leaves it: every mention posted (its outbox row sent,
    its Slack ts and permalink recorded, a "posted" event); a third claimed, a tenth
    answered. Written through the Store API, without waiting for fsyncs."""
    from bot.mention import Event
    from bot.store.base import OutboxItem

    store = TinyDBStore.open(data, sync_interval=None, durable_updates=False)
    t = time.perf_counter()
    for i in range(count):
        m = make_mention(i, count, rng)
        channel, ts = m.slack_channel, m.slack_ts
        m.slack_channel = m.slack_ts = None
        m = store.add_mention(m)
        item = f"mention:{m.key}"
        store.enqueue(OutboxItem(id=item, kind="mention", channel=channel,
                                 mention_key=m.key, created_at=m.fetched_at))

        def posted(x: Mention, channel=channel, ts=ts) -> Mention:
            x.slack_channel, x.slack_ts = channel, ts
            x.extra["permalink"] = f"https://acme.slack.com/archives/{channel}/p{ts}"
            return x

        store.update_mention(m.key, posted)
        at = m.fetched_at + timedelta(seconds=2)
        store.add_event(Event(m.key, "posted", at, data={"channel": channel, "ts": ts}))

        def sent(o, channel=channel, ts=ts):  # noqa: ANN001, ANN202 - a bench
            o.status, o.attempts, o.result = "sent", 1, {"channel": channel, "ts": ts}
            return o

        store.update_outbox(item, sent)
        if i % 3 == 0:
            user = f"U{i % 40:03d}"
            store.update_mention(m.key, lambda x, u=user, t=at: replace(
                x, state=State.CLAIMED, owner=u, claimed_at=t))
            store.add_event(Event(m.key, "claimed", at + timedelta(minutes=20), user=user))
            if i % 10 == 0:
                store.add_event(Event(m.key, "answered", at + timedelta(hours=1), user=user,
                                      data={"text": "Sorry about that, we are on it.",
                                            "published": False}))
    took = time.perf_counter() - t
    store.close()
    return took


def write_real_shape(data: Path, count: int, seed: int) -> float:
    """The same documents build_real_shape writes through the Store API, written
    straight into a snapshot in the store's own format (minutes instead of an hour at
    300,000 on a busy machine). bench_real_shape checks the two agree."""
    from bot.mention import Event
    from bot.store.base import OutboxItem
    from bot.store.codec import event_to_doc, mention_to_doc, outbox_to_doc

    rng = random.Random(seed)
    t = time.perf_counter()
    mentions, outbox, events = {}, {}, {}
    for i in range(count):
        m = make_mention(i, count, rng)
        number, channel, ts = i + 1, m.slack_channel, m.slack_ts
        at = m.fetched_at + timedelta(seconds=2)
        m.extra["permalink"] = f"https://acme.slack.com/archives/{channel}/p{ts}"
        m.number = number
        new_events = [Event(m.key, "posted", at, data={"channel": channel, "ts": ts})]
        if i % 3 == 0:
            user = f"U{i % 40:03d}"
            m = replace(m, state=State.CLAIMED, owner=user, claimed_at=at)
            new_events.append(Event(m.key, "claimed", at + timedelta(minutes=20), user=user))
            if i % 10 == 0:
                new_events.append(Event(m.key, "answered", at + timedelta(hours=1),
                                        user=user, data={
                                            "text": "Sorry about that, we are on it.",
                                            "published": False}))
        doc = mention_to_doc(m)
        doc["number"] = number
        mentions[str(number)] = doc
        outbox[str(number)] = outbox_to_doc(OutboxItem(
            id=f"mention:{m.key}", kind="mention", channel=channel, mention_key=m.key,
            status="sent", attempts=1, created_at=m.fetched_at,
            result={"channel": channel, "ts": ts}))
        for event in new_events:
            events[str(len(events) + 1)] = event_to_doc(event)
    data.mkdir(parents=True)
    # Written by the store's own snapshot writer, as a compaction writes it: one
    # document per line, the big tables in blocks with a table of contents (toc.py).
    from bot.store.codec import DESCRIBE, MENTIONS
    from bot.store.doc_text import TEXT, encode
    from bot.store.snapshot_file import write_snapshot

    tables = {"mentions": {i: MENTIONS.hold(encode(doc), doc) for i, doc in mentions.items()},
              "outbox": {i: encode(doc) for i, doc in outbox.items()},
              "events": {i: encode(doc) for i, doc in events.items()}}
    write_snapshot(data, tables, lambda name: MENTIONS if name == "mentions" else TEXT,
                   DESCRIBE)
    return time.perf_counter() - t


def _same_shape(root: Path) -> bool:
    """write_real_shape and build_real_shape (through the Store API) agree."""
    import json

    api, direct = root / "shape-check-api", root / "shape-check-direct"
    build_real_shape(api, 30, random.Random(3))
    write_real_shape(direct, 30, 3)
    from bot.store.doc_text import TEXT
    from bot.store.snapshot_file import read_line_snapshot

    with open(direct / "earshot.json", encoding="ascii") as f:
        read_line_snapshot(f, lambda name: TEXT)  # raises unless in the store's layout
    same = (json.loads((api / "earshot.json").read_text())
            == json.loads((direct / "earshot.json").read_text()))
    shutil.rmtree(api)
    shutil.rmtree(direct)
    return same


def bench_real_shape(counts: list[int], rng: random.Random, root: Path) -> None:
    print("a store of the real shape (per mention: its outbox row, Slack ts and "
          "permalink, a posted event; a third claimed, a tenth answered); written as "
          "the Store API writes it: " + ("checked" if _same_shape(root) else "DIFFERS"))
    for count in counts:
        data = root / f"shape-{count}"
        took = write_real_shape(data, count, rng.randrange(1 << 30))
        print(f"  {count:,} mentions: written in {took:.0f} s; on disk {size_of(data)}")
        child = subprocess.run([sys.executable, "-c", SERVE_OPEN, str(data)],
                               capture_output=True, text=True, check=True, cwd=ROOT)
        print(f"    as serve opens it: {child.stdout.strip()}")
        config = root / "earshot.toml"
        config.write_text(SHAPE_CONFIG)
        last_day = (T0 + timedelta(days=89)).date().isoformat()
        child = subprocess.run([sys.executable, "-c", SUMMARY_DAY, last_day, str(config)],
                               capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, "EARSHOT_DATA": str(data),
                                    "EARSHOT_LOG_LEVEL": "WARNING"})
        shown = next((line for line in child.stdout.splitlines() if "mentions" in line), "")
        print(f"    summary --dry-run --date {last_day} ({shown.strip()[:40]}): "
              f"{child.stderr.strip().splitlines()[-1]}")
        shutil.rmtree(data)


def bench_naive(count: int, lookups: int, rng: random.Random, root: Path) -> None:
    path = root / "naive" / "db.json"
    path.parent.mkdir()
    mentions = [make_mention(i, count, rng) for i in range(count)]
    db = TinyDB(path)
    table = db.table("mentions")
    per_insert = []
    t = time.perf_counter()
    for m in mentions:
        s = time.perf_counter()
        table.insert(m.to_dict())
        per_insert.append(time.perf_counter() - s)
    elapsed = time.perf_counter() - t
    print(f"TinyDB used naively (stock JSONStorage), only {count:,} mentions "
          f"(it rewrites the whole file per insert)")
    print(f"  table.insert one at a time: {count / elapsed:8,.0f} mentions/s  "
          f"({elapsed:.2f} s; last 100 inserts {statistics.fmean(per_insert[-100:]) * 1e3:.1f}"
          f" ms each)")
    keys = [rng.choice(mentions).key for _ in range(lookups)]
    samples = timed(lambda k: table.search(where("key") == k), keys)
    print(f"  table.search(key == k)    {stats_us(samples)}")
    print(f"  on disk: {size_of(path.parent)}")
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--naive-count", type=int, default=2_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--dir", help="where to write (default: a temp dir, removed after)")
    parser.add_argument("--shape-counts", default="100000,300000",
                        help="sizes of the real-shape store to measure (comma-separated; "
                             "empty: skip)")
    parser.add_argument("--only-shape", action="store_true",
                        help="measure only the real-shape store")
    parser.add_argument("--pg-count", type=int, default=None,
                        help="mentions for the PostgreSQL store (default: --count)")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database to use "
                        "(emptied first) instead of a throwaway cluster")
    parser.add_argument("--no-postgres", action="store_true", help="TinyDB figures only")
    args = parser.parse_args()
    rng = random.Random(7)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (other work on the machine slows "
          "every figure)\n")
    with tempfile.TemporaryDirectory(prefix="earshot-bench-", dir=args.dir) as tmp:
        counts = [int(c) for c in args.shape_counts.split(",") if c.strip()]
        if counts:
            bench_real_shape(counts, rng, Path(tmp))
            print()
        if args.only_shape:
            return 0
        bench_journal(args.count, args.lookups, rng, Path(tmp))
        print()
        if not args.no_postgres:
            sys.path.insert(0, str(ROOT / "bench"))
            from pg import postgres

            with postgres(args.database_url) as url:
                if url:
                    bench_postgres(url, args.pg_count or args.count,
                                   min(args.lookups, 2000), rng)
            print()
        bench_naive(args.naive_count, min(args.lookups, 500), rng, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
