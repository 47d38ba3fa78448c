"""TinyDB's own API keeps working on the journaled storage (for tools and ad-hoc use)."""

from __future__ import annotations

from tinydb import where

from bot.store.journal_storage import open_db
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import mention


def test_stock_queries_see_the_stores_documents(tmp_path):
    store = TinyDBStore.open(tmp_path)
    try:
        for i in range(5):
            store.add_mention(mention(str(i), fingerprint="dup" if i % 2 else ""))
        table = store.db.table("mentions")
        assert len(table) == 5
        assert [d["key"] for d in table.search(where("fingerprint") == "dup")] == [
            "hn:1", "hn:3"]
        assert table.get(doc_id=3)["key"] == "hn:2"
        assert table.count(where("source") == "hn") == 5
    finally:
        store.close()


def test_stock_writes_are_journaled_and_survive_a_reopen(tmp_path):
    db = open_db(tmp_path, sync_interval=None)
    t = db.table("scratch")
    ids = [t.insert({"n": n, "tag": "x"}) for n in range(10)]
    assert ids == list(range(1, 11))
    t.insert_multiple([{"n": 10 + n, "tag": "y"} for n in range(3)])
    t.update({"tag": "z"}, where("n") < 3)
    t.remove(where("n") == 5)
    t.upsert({"n": 99, "tag": "new"}, where("n") == 99)
    journal = (tmp_path / "earshot.journal").read_bytes()
    # One line per change (insert_multiple is one atomic line), not whole-file rewrites.
    assert journal.count(b"\n") == 14
    db.table("gone").insert({"a": 1})
    db.drop_table("gone")  # a whole-database write: folded into a snapshot at once
    db.close()

    again = open_db(tmp_path, sync_interval=None)
    try:
        t = again.table("scratch")
        assert len(t) == 13
        assert sorted(d["n"] for d in t.search(where("tag") == "z")) == [0, 1, 2]
        assert t.search(where("n") == 5) == []
        assert t.get(where("n") == 99)["tag"] == "new"
        assert "gone" not in again.tables()
        assert t.insert({"n": 100}) == 15  # ids keep counting after a restart
    finally:
        again.close()


def test_an_update_that_changes_nothing_writes_nothing(tmp_path):
    db = open_db(tmp_path, sync_interval=None)
    try:
        t = db.table("scratch")
        t.insert({"n": 1})
        before = db.storage.journal_size
        t.update({"n": 1}, where("n") == 1)
        assert db.storage.journal_size == before
    finally:
        db.close()
