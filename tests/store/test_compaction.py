"""Compaction folds the journal into the snapshot without losing or reviving anything."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.mention import State
from bot.store.journal import encode_record
from bot.store.journal_storage import CONTINUES_LINE, JournalStorage
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import journal_of, mention


def test_compaction_during_writes_keeps_all_data(tmp_path):
    store = TinyDBStore.open(tmp_path, compact_min_bytes=4_000)
    try:
        for i in range(600):
            store.add_mention(mention(str(i), minutes=i))
            if i % 3 == 0:
                store.update_mention(str_key(i), claim)
        store.flush()
        # The journal was sealed and folded in many times: it stays near the threshold
        # instead of holding all 600 mentions.
        assert (tmp_path / "earshot.json").stat().st_size > 100_000
    finally:
        store.close()
    store = TinyDBStore.open(tmp_path)
    try:
        assert store.count_mentions() == 600
        claimed = [m.native_id for m in store.iter_mentions() if m.state is State.CLAIMED]
        assert claimed == [str(i) for i in range(0, 600, 3)]
        assert store.add_mention(mention("next")).number == 601
    finally:
        store.close()


def str_key(i: int) -> str:
    return f"hn:{i}"


def claim(m):
    return replace(m, state=State.CLAIMED, owner="U1")


def test_the_journal_stays_small_while_the_store_grows(tmp_path):
    store = TinyDBStore.open(tmp_path, compact_min_bytes=20_000)
    try:
        for i in range(1500):
            store.add_mention(mention(str(i)))
        storage = journal_of(store)
        storage.wait_for_compaction()
        snapshot = (tmp_path / "earshot.json").stat().st_size
        # A compaction starts whenever the journal outgrows the snapshot, so once
        # none is running the journal is smaller than the snapshot: it never holds
        # the store's whole history (amortised O(1) work per write).
        assert storage.journal_size < max(20_000, snapshot)
        assert snapshot > 500 * 300  # most of the 1,500 mentions are in the snapshot
    finally:
        store.close()


def doc(native_id: str, owner: str | None = None, number: int = 1) -> str:
    d = mention(native_id).to_dict()
    d.update(number=number, owner=owner)
    return json.dumps(d)


def snapshot(path, docs: dict[str, str]) -> None:
    (path / "earshot.json").write_text(
        json.dumps({"mentions": {k: json.loads(v) for k, v in docs.items()}}))


def test_an_interrupted_compaction_is_finished_on_open(tmp_path):
    """Crash after the journal was sealed, before the new snapshot replaced the old."""
    snapshot(tmp_path, {"1": doc("a"), "2": doc("b", number=2)})
    (tmp_path / "earshot.journal.old").write_bytes(
        encode_record("mentions", {"1": doc("a", owner="U1")})
        + encode_record("mentions", {"2": None, "3": doc("c", number=3)}))
    (tmp_path / "earshot.journal").write_bytes(
        encode_record("mentions", {"4": doc("d", number=4)}))
    storage = JournalStorage(tmp_path, sync_interval=None)
    try:
        texts = storage.held("mentions")
        assert sorted(texts) == ["1", "3", "4"]
        assert json.loads(texts["1"])["owner"] == "U1"
        assert not (tmp_path / "earshot.journal.old").exists()
        # No change left in the journal: only the line saying it continues the snapshot.
        assert (tmp_path / "earshot.journal").read_bytes() == CONTINUES_LINE
    finally:
        storage.close()


def test_replaying_a_journal_the_snapshot_already_contains_is_harmless(tmp_path):
    """Crash after the new snapshot replaced the old, before the sealed journal was removed."""
    snapshot(tmp_path, {"1": doc("a", owner="U2"), "3": doc("c", number=3)})
    (tmp_path / "earshot.journal.old").write_bytes(
        encode_record("mentions", {"1": doc("a", owner="U1")})
        + encode_record("mentions", {"2": None, "3": doc("c", number=3)})
        + encode_record("mentions", {"1": doc("a", owner="U2")}))
    storage = JournalStorage(tmp_path, sync_interval=None)
    try:
        texts = storage.held("mentions")
        assert sorted(texts) == ["1", "3"]
        assert json.loads(texts["1"])["owner"] == "U2"
    finally:
        storage.close()
