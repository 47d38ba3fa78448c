"""kill -9 in the middle of heavy writing, and one process per store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.store.tinydb_store import StoreLockedError, TinyDBStore
from tests.store.helpers import mention

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from bot.mention import Mention
    from bot.store.tinydb_store import TinyDBStore

    data_dir, start = sys.argv[1], int(sys.argv[2])
    # A small compaction threshold, so the kill can also land mid-compaction.
    store = TinyDBStore.open(data_dir, compact_min_bytes=200_000)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    i = start
    while True:
        m = Mention(source="hn", native_id=str(i), text="x" * (50 + i % 400),
                    url=f"https://example.org/{i}", created_at=t0 + timedelta(seconds=i))
        store.add_mention(m)
        if i % 7 == 0:
            store.set_cursor("hn", {"since": i})
        print(m.key, flush=True)  # acknowledged: add_mention returned
        i += 1
""")


def kill_writer_after(data_dir: Path, start: int, acknowledged: int) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), str(start)],
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    keys: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            keys.append(line.strip())
            if len(keys) >= acknowledged:
                child.send_signal(signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=30)
    assert len(keys) >= acknowledged, "the writer died on its own"
    return keys


def test_kill_9_during_heavy_writing_keeps_every_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    expected: list[str] = []
    for round_, count in enumerate([1500, 2500, 1200]):
        acked = kill_writer_after(data, len(expected), count)
        store = TinyDBStore.open(data)  # opens: the dead child's lock is gone
        try:
            stored = [m.key for m in store.iter_mentions()]
            # Everything acknowledged is there; anything beyond is the next writes in
            # order (a prefix of what the child was doing), never a gap.
            assert stored[: len(expected) + len(acked)] == expected + acked, round_
            beyond = stored[len(expected) + len(acked):]
            assert beyond == [f"hn:{i}" for i in range(len(stored) - len(beyond),
                                                        len(stored))]
            assert [m.number for m in store.iter_mentions()] == list(
                range(1, len(stored) + 1))
            cursor = store.get_cursor("hn")["since"]
            assert cursor >= (len(expected) + len(acked) - 1) // 7 * 7 - 7
            expected = stored
        finally:
            store.close()


HOLDER = textwrap.dedent("""
    import sys, time
    from bot.store.tinydb_store import TinyDBStore
    store = TinyDBStore.open(sys.argv[1])
    print("open", flush=True)
    sys.stdin.read()
    store.close()
""")


def test_a_second_process_is_refused_with_a_clear_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreLockedError, match="in use by another process"):
            TinyDBStore.open(tmp_path)
    finally:
        holder.communicate("", timeout=30)
    store = TinyDBStore.open(tmp_path)  # free again once the holder closed
    store.close()


def test_opens_in_one_process_share_one_state(tmp_path):
    first = TinyDBStore.open(tmp_path)
    second = TinyDBStore.open(tmp_path)
    try:
        first.add_mention(mention("1"))
        assert second.get_mention("hn:1").number == 1
        second.close()
        assert first.add_mention(mention("2")).number == 2  # still open
    finally:
        first.close()
    third = TinyDBStore.open(tmp_path)
    try:
        assert third.count_mentions() == 2
    finally:
        third.close()


def test_a_dropped_store_releases_the_directory(tmp_path):
    store = TinyDBStore.open(tmp_path)
    store.add_mention(mention("1"))
    del store  # forgotten without close(): the finalizer flushes and unlocks
    again = TinyDBStore.open(tmp_path)
    try:
        assert again.get_mention("hn:1") is not None
    finally:
        again.close()
