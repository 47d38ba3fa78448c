"""A restart resumes: everything written before close (or a crash) is there after open."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import timedelta

import pytest
from tinydb import TinyDB

from bot.mention import Event, State
from bot.store.base import OutboxItem, Store
from bot.store.journal import encode_record
from bot.store.journal_storage import CONTINUES_LINE, StoreCorruptError
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import T0, mention


def fill(store: Store) -> None:
    for i in range(20):
        store.add_mention(mention(str(i), minutes=i, fingerprint=f"fp{i % 5}"))
    store.update_mention("hn:3", lambda m: replace(m, state=State.CLAIMED, owner="U1"))
    store.set_cursor("hn", {"since": 42})
    store.enqueue(OutboxItem(id="o1", kind="mention", channel="C1", created_at=T0))
    store.enqueue(OutboxItem(id="o2", kind="mention", channel="C1",
                             created_at=T0 + timedelta(seconds=1)))
    store.update_outbox("o1", lambda i: replace(i, status="sent", result={"ts": "9.9"}))
    store.add_event(Event("hn:3", "claimed", T0, user="U1"))
    store.set_meta("digest", {"sent": ["2026-11-01"]})


def check(store: Store) -> None:
    assert store.count_mentions() == 20
    assert [m.native_id for m in store.iter_mentions()] == [str(i) for i in range(20)]
    assert store.get_mention("hn:3").owner == "U1"
    assert store.get_by_number(20).key == "hn:19"
    assert store.find_by_fingerprint("fp2").key == "hn:2"
    assert store.find_by_link("https://example.org/hn/7").number == 8
    assert store.get_cursor("hn") == {"since": 42}
    assert [i.id for i in store.pending_outbox(T0 + timedelta(hours=1))] == ["o2"]
    assert store.get_outbox("o1").result == {"ts": "9.9"}
    assert [e.kind for e in store.events("hn:3")] == ["claimed"]
    assert store.get_meta("digest") == {"sent": ["2026-11-01"]}


def test_reopen_after_close_restores_everything(backend):
    store = backend.open()
    fill(store)
    store.close()
    store = backend.open()
    try:
        check(store)
        assert store.add_mention(mention("new")).number == 21
    finally:
        store.close()


def test_close_leaves_a_snapshot_stock_tinydb_can_read(tmp_path):
    store = TinyDBStore.open(tmp_path)
    fill(store)
    store.close()
    # No change left in the journal: only the line saying it continues the snapshot.
    assert (tmp_path / "earshot.journal").read_bytes() == CONTINUES_LINE
    with TinyDB(tmp_path / "earshot.json") as db:
        docs = db.table("mentions").all()
        assert len(docs) == 20
        assert {d.doc_id for d in docs} == {d["number"] for d in docs}


def crash_image(store: TinyDBStore, src, dst):
    """The files as a crash would leave them right now (the store stays open)."""
    store.flush()
    dst.mkdir()
    for name in ("earshot.json", "earshot.journal", "earshot.journal.old"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)


def test_a_crash_without_close_loses_nothing_written(tmp_path):
    store = TinyDBStore.open(tmp_path / "live")
    try:
        fill(store)
        crash_image(store, tmp_path / "live", tmp_path / "copy")
    finally:
        store.close()
    reopened = TinyDBStore.open(tmp_path / "copy")
    try:
        check(reopened)
    finally:
        reopened.close()


def test_a_torn_last_journal_line_is_ignored_with_a_warning(tmp_path, caplog):
    store = TinyDBStore.open(tmp_path / "live")
    try:
        fill(store)
        crash_image(store, tmp_path / "live", tmp_path / "copy")
    finally:
        store.close()
    journal = tmp_path / "copy" / "earshot.journal"
    good = journal.read_bytes()
    half = encode_record("mentions", {"99": json.dumps(mention("torn").to_dict())})
    journal.write_bytes(good + half[: len(half) // 2])
    with caplog.at_level("WARNING", logger="bot.store.journal_storage"):
        reopened = TinyDBStore.open(tmp_path / "copy")
    try:
        assert any("torn" in r.getMessage() for r in caplog.records)
        check(reopened)
        assert reopened.get_mention("hn:torn") is None
        # New writes after the cut must land on a clean line and survive a crash too.
        reopened.add_mention(mention("after"))
        crash_image(reopened, tmp_path / "copy", tmp_path / "copy2")
    finally:
        reopened.close()
    again = TinyDBStore.open(tmp_path / "copy2")
    try:
        assert again.get_mention("hn:after").number == 21
    finally:
        again.close()


def test_garbage_at_the_end_of_the_journal_is_ignored(tmp_path, caplog):
    store = TinyDBStore.open(tmp_path / "live")
    try:
        fill(store)
        crash_image(store, tmp_path / "live", tmp_path / "copy")
    finally:
        store.close()
    with open(tmp_path / "copy" / "earshot.journal", "ab") as f:
        f.write(b"\x00\x00\xff garbage {\"t\": \n{\"not\": \"a record\"}\n")
    with caplog.at_level("WARNING"):
        reopened = TinyDBStore.open(tmp_path / "copy")
    try:
        check(reopened)
        assert any(r.levelname == "WARNING" for r in caplog.records)
    finally:
        reopened.close()


def test_a_half_written_snapshot_from_a_crash_is_discarded(tmp_path):
    store = TinyDBStore.open(tmp_path)
    fill(store)
    store.close()
    (tmp_path / "earshot.json.tmp").write_text('{"mentions": {"1": {"tru')
    store = TinyDBStore.open(tmp_path)
    try:
        check(store)
        assert not (tmp_path / "earshot.json.tmp").exists()
    finally:
        store.close()


def test_a_database_written_by_stock_tinydb_opens(tmp_path):
    with TinyDB(tmp_path / "earshot.json") as db:
        for i in range(3):
            m = mention(str(i), minutes=i)
            m.number = i + 1
            db.table("mentions").insert(m.to_dict())
        db.table("meta").insert({"name": "k", "value": [1, 2]})
    store = TinyDBStore.open(tmp_path)
    try:
        assert [m.number for m in store.iter_mentions()] == [1, 2, 3]
        assert store.get_mention("hn:1").number == 2
        assert store.get_meta("k") == [1, 2]
        assert store.add_mention(mention("new")).number == 4
    finally:
        store.close()
    reopened = TinyDBStore.open(tmp_path)  # now in our own snapshot format
    try:
        assert reopened.count_mentions() == 4
    finally:
        reopened.close()


def test_every_sync_policy_keeps_the_data(tmp_path):
    for n, interval in enumerate([0, None, 0.01]):
        data = tmp_path / str(n)
        store = TinyDBStore.open(data, sync_interval=interval)
        fill(store)
        crash_image(store, data, tmp_path / f"{n}-copy")
        store.close()
        for path in (data, tmp_path / f"{n}-copy"):
            reopened = TinyDBStore.open(path)
            try:
                check(reopened)
            finally:
                reopened.close()


def test_a_damaged_snapshot_stops_the_open_with_a_clear_error(tmp_path):
    store = TinyDBStore.open(tmp_path)
    fill(store)
    store.close()
    snapshot = tmp_path / "earshot.json"
    snapshot.write_bytes(snapshot.read_bytes()[:-300])  # damage from outside
    with pytest.raises(StoreCorruptError, match="earshot.json"):
        TinyDBStore.open(tmp_path)
    # The failed open let go of the directory.
    snapshot.write_text("{}")
    TinyDBStore.open(tmp_path).close()


def test_a_short_journal_is_left_for_the_next_open_instead_of_a_rewrite(tmp_path):
    store = TinyDBStore.open(tmp_path)
    for i in range(200):
        store.add_mention(mention(f"bulk{i}"))
    store.close()  # a fresh store: everything folded into the snapshot
    snapshot = (tmp_path / "earshot.json").stat().st_mtime_ns
    store = TinyDBStore.open(tmp_path)
    store.add_mention(mention("one more"))
    store.close()
    assert (tmp_path / "earshot.json").stat().st_mtime_ns == snapshot
    assert (tmp_path / "earshot.journal").stat().st_size > 0
    store = TinyDBStore.open(tmp_path)
    try:
        assert store.count_mentions() == 201
        assert store.get_mention("hn:one more").number == 201
    finally:
        store.close()
