"""open_store(data_dir, read_only=True): reading a store another process holds and writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.mention import Event
from bot.store import StoreReadOnlyError, open_store
from bot.store.base import OutboxItem
from bot.store.tinydb_store import StoreLockedError, TinyDBStore
from tests.store.helpers import T0, journal_of, mention

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

# Holds the store (the flock) and writes on request: "add N" adds mentions N..., then
# flushes and answers "ok"; end of stdin closes the store.
HOLDER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from bot.mention import Event, Mention
    from bot.store.base import OutboxItem
    from bot.store.tinydb_store import TinyDBStore

    store = TinyDBStore.open(sys.argv[1])
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    print("open", flush=True)
    for line in sys.stdin:
        _, start, count = line.split()
        for i in range(int(start), int(start) + int(count)):
            m = store.add_mention(Mention(source="hn", native_id=str(i), text="x" * i,
                                          url=f"https://example.org/{i}",
                                          created_at=t0 + timedelta(minutes=i)))
            store.add_event(Event(m.key, "posted", t0 + timedelta(minutes=i)))
            store.set_cursor("hn", {"since": i})
            store.enqueue(OutboxItem(id=f"post:{i}", kind="mention", channel="C1",
                                     mention_key=m.key))
        store.set_meta("last", int(start) + int(count) - 1)
        store.flush()
        print("ok", flush=True)
    store.close()
""")


class Holder:
    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir)], cwd=ROOT,
                                     env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout.readline().strip() == "open"

    def add(self, start: int, count: int) -> None:
        self.proc.stdin.write(f"add {start} {count}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def close(self) -> None:
        self.proc.communicate("", timeout=60)
        assert self.proc.returncode == 0


def _files(data_dir: Path) -> dict[str, tuple[int, int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(data_dir.iterdir())}


def test_read_only_open_beside_a_writer_process_sees_what_it_wrote(tmp_path):
    data = tmp_path / "data"
    holder = Holder(data)
    try:
        holder.add(0, 30)
        with pytest.raises(StoreLockedError):
            TinyDBStore.open(data)  # the holder has the store...
        before = _files(data)
        store = open_store(data, read_only=True)  # ...but reading needs no lock
        try:
            assert store.read_only
            assert [m.key for m in store.iter_mentions()] == [f"hn:{i}" for i in range(30)]
            assert store.get_by_number(30).key == "hn:29"
            assert store.find_by_link("https://example.org/7").number == 8
            assert store.get_cursor("hn") == {"since": 29}
            assert store.get_meta("last") == 29
            assert len(store.pending_outbox(now=T0 + timedelta(days=365))) == 30
            assert [e.kind for e in store.events("hn:3")] == ["posted"]
            assert _files(data) == before  # nothing created, written or cut

            holder.add(30, 5)  # written after the open: a handle does not follow
            assert store.count_mentions() == 30
        finally:
            store.close()
        again = open_store(data, read_only=True)
        try:
            assert again.count_mentions() == 35 and again.get_meta("last") == 34
        finally:
            again.close()
        holder.add(35, 5)  # the holder never noticed the readers
    finally:
        holder.close()
    store = TinyDBStore.open(data)
    try:
        assert store.count_mentions() == 40
    finally:
        store.close()


def test_every_write_on_a_read_only_store_raises(tmp_path):
    writer = open_store(tmp_path)
    writer.add_mention(mention("1"))
    writer.enqueue(OutboxItem(id="o1", kind="mention", channel="C1"))
    writer.set_meta("m", 1)
    writer.close()
    before = _files(tmp_path)
    store = open_store(tmp_path, read_only=True)
    called = []

    def change(old):
        called.append(old)
        return old

    writes = {
        "add_mention": lambda: store.add_mention(mention("2")),
        "update_mention": lambda: store.update_mention("hn:1", change),
        "set_cursor": lambda: store.set_cursor("hn", {"since": 1}),
        "enqueue": lambda: store.enqueue(OutboxItem(id="o1", kind="mention", channel="C1")),
        "update_outbox": lambda: store.update_outbox("o1", change),
        "add_event": lambda: store.add_event(Event("hn:1", "claimed", T0)),
        "set_meta": lambda: store.set_meta("m", 2),
        "update_meta": lambda: store.update_meta("m", change),
    }
    try:
        for name, write in writes.items():
            with pytest.raises(StoreReadOnlyError, match=f"{name}: .*opened read-only"):
                write()
        assert called == []  # refused before the change function ran
        assert store.count_mentions() == 1 and store.get_meta("m") == 1
    finally:
        store.close()
    assert _files(tmp_path) == before


def test_read_only_leaves_a_torn_tail_and_a_missing_directory_alone(tmp_path):
    missing = tmp_path / "nothing" / "here"
    empty = open_store(missing, read_only=True)
    assert empty.count_mentions() == 0 and empty.get_meta("x") is None
    empty.close()
    assert not missing.exists()

    writer = open_store(tmp_path / "data")
    writer.add_mention(mention("1"))
    writer.add_mention(mention("2"))
    writer.flush()
    journal = tmp_path / "data" / "earshot.journal"
    torn = b'{"t":"mentions","c":{"3":{"key":"hn:'
    with open(journal, "ab") as f:  # a write in flight (or cut short)
        f.write(torn)
    size = journal.stat().st_size
    store = open_store(tmp_path / "data", read_only=True)
    try:
        assert [m.key for m in store.iter_mentions()] == ["hn:1", "hn:2"]
    finally:
        store.close()
    assert journal.stat().st_size == size  # not cut: that is the writer's business
    with open(journal, "r+b") as f:
        f.truncate(size - len(torn))  # clean it up for the writer's close
    writer.close()


# Writes heavily (a few thousand mentions a second, at most `cap`) with a small
# compaction threshold, so compactions (journal sealed, snapshot replaced, sealed
# journal removed) keep happening while the reader loads; stops when `stop` exists.
# Each mention i is followed by a cursor write every 7 mentions.
WRITER = textwrap.dedent("""
    import os, sys, time
    from datetime import UTC, datetime, timedelta
    from bot.mention import Mention
    from bot.store.tinydb_store import TinyDBStore

    data_dir, stop, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = TinyDBStore.open(data_dir, compact_min_bytes=50_000, sync_interval=None)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    i = 0
    while i < cap:
        m = Mention(source="hn", native_id=str(i), text="x" * (50 + i % 400),
                    url=f"https://example.org/{i}", created_at=t0 + timedelta(seconds=i))
        store.add_mention(m)
        if i % 7 == 0:
            store.set_cursor("hn", {"since": i})
        if i % 50 == 0:
            print(i, flush=True)  # mentions 0..i are written
            if os.path.exists(stop):
                break
            time.sleep(0.01)
        i += 1
""")


def _check_prefix(store, acknowledged: int) -> int:
    keys = [m.key for m in store.iter_mentions()]
    n = len(keys)
    # Exactly the first n mentions the writer wrote: a prefix, nothing torn or skipped.
    assert keys == [f"hn:{i}" for i in range(n)]
    assert [m.number for m in store.iter_mentions()] == list(range(1, n + 1))
    assert n >= acknowledged  # everything written before the open is there
    # The cursor written after mention 7k is there iff a later mention is (one log).
    last7 = (n - 1) // 7 * 7
    cursor = store.get_cursor("hn")["since"]
    assert cursor == last7 or (cursor == last7 - 7 and n - 1 == last7), (n, cursor)
    return n


def test_read_only_opens_during_heavy_writing_and_compaction_load_a_prefix(tmp_path):
    data, stop = tmp_path / "data", tmp_path / "stop"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(data), str(stop), "100000"],
                             cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    written = [-1]

    def follow() -> None:
        for line in child.stdout:
            written[0] = int(line)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    snapshots: set[tuple[int, int, int]] = set()
    loads = []
    try:
        deadline = time.monotonic() + 60
        while written[0] < 500:
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        for _ in range(6):
            acknowledged = written[0] + 1
            store = open_store(data, read_only=True)
            try:
                loads.append(_check_prefix(store, acknowledged))
            finally:
                store.close()
            st = (data / "earshot.json").stat()
            snapshots.add((st.st_ino, st.st_size, st.st_mtime_ns))
            time.sleep(0.1)
        assert child.poll() is None, "the writer stopped before the reads were done"
        stop.touch()
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
        child.wait(timeout=30)
        reader.join(timeout=30)
    assert loads == sorted(loads) and loads[-1] > loads[0]
    assert len(snapshots) >= 2, "the writer did not compact while the reader read"
    store = TinyDBStore.open(data)  # and the writer's files are still whole
    try:
        _check_prefix(store, loads[-1])
    finally:
        store.close()


def test_a_compaction_between_the_reads_is_noticed_and_the_load_repeated(tmp_path,
                                                                        monkeypatch):
    from bot.store import read_only_storage

    writer = TinyDBStore.open(tmp_path)
    for i in range(5):
        writer.add_mention(mention(str(i)))
    writer.close()  # earshot.json holds hn:0..4
    writer = TinyDBStore.open(tmp_path, compact_min_bytes=1 << 30)
    try:
        for i in range(5, 10):
            writer.add_mention(mention(str(i)))  # in the journal
        writer._core.load_everything()  # a lazy open compacts once it holds everything
        storage = journal_of(writer)
        opened: list[str] = []
        real_open = open

        def racing_open(path, *args, **kwargs):
            name = Path(path).name
            opened.append(name)
            if name == "earshot.journal.old" and opened.count(name) == 1:
                # The reader holds the old snapshot; now the writer seals the journal,
                # replaces the snapshot, deletes the sealed journal and writes on.
                with storage._lock:
                    storage._start_compaction()
                storage.wait_for_compaction()
                writer.add_mention(mention("10"))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(read_only_storage, "open", racing_open, raising=False)
        store = open_store(tmp_path, read_only=True)
        try:
            # Read as it stood, it would be hn:0..4 + hn:10: the sealed lines missing.
            assert [m.key for m in store.iter_mentions()] == [f"hn:{i}" for i in range(11)]
        finally:
            store.close()
        assert opened.count("earshot.json") == 2  # read again
    finally:
        writer.close()
