"""Issue 10, item 15: a read-only store (summary --dry-run, audit, store copy) loads the
snapshot's blocks as its queries need them (bot/store/toc.py), so a one-day report costs
what it reads; and whatever it loads, it answers exactly as the writer's store does,
journal changes since the snapshot (claims, deletions, new mentions) included."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.mention import Event, State
from bot.store.base import OutboxItem
from bot.store.snapshot_file import SNAPSHOT, StoreCorruptError
from bot.store.tinydb_store import TinyDBStore
from bot.summary.jobs import report_for_window
from bot.summary.render import to_json
from tests.store.helpers import T0, mention
from tests.summary.helpers import settings as summary_settings

COUNT = 9_000  # five blocks of mentions, a minute apart: 6.25 days


def _build(data: Path, count: int = COUNT) -> list[str]:
    store = TinyDBStore.open(data, sync_interval=None, durable_updates=False)
    keys = []
    for i in range(count):
        m = store.add_mention(mention(str(i), minutes=i))
        store.add_event(Event(m.key, "posted", T0 + timedelta(minutes=i, seconds=2)))
        store.enqueue(OutboxItem(id=f"mention:{m.key}", kind="mention", channel="C1",
                                 mention_key=m.key, status="sent",
                                 created_at=T0 + timedelta(minutes=i)))
        keys.append(m.key)
    store.close()  # a new store's journal is folded into a snapshot on close
    return keys


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[str]]:
    data = tmp_path_factory.mktemp("lazy") / "data"
    return data, _build(data)


def _pending(store: TinyDBStore) -> dict[str, int]:
    storage = store._core._storage
    return {table: len(storage.pending(table)) for table in ("mentions", "events", "outbox")}


def _keys(mentions) -> list[str]:
    return [m.key for m in mentions]


def test_a_read_only_store_loads_only_the_blocks_a_window_needs(built):
    data, keys = built
    store = TinyDBStore.open(data, read_only=True)
    try:
        assert _pending(store) == {"mentions": 5, "events": 5, "outbox": 5}
        assert store.count_mentions() == COUNT  # from the saved key index
        last_day = T0 + timedelta(minutes=COUNT - 24 * 60)
        assert _keys(store.arrived_since(last_day)) == keys[-24 * 60:]
        assert len(store.events(since=last_day)) == 24 * 60
        # The day starts in the fourth block of 2,000: two of five loaded.
        assert _pending(store) == {"mentions": 3, "events": 3, "outbox": 5}
        # An old mention by key or number loads its own block only.
        assert store.get_mention(keys[5]).key == keys[5]
        assert store.get_by_number(4_100).key == keys[4_099]
        assert _pending(store)["mentions"] == 1
    finally:
        store.close()


def test_a_one_day_report_reads_two_weeks_not_the_whole_store(tmp_path):
    # A store of 40 days, a block every 1.4 days: the report reads its 15 days.
    data = tmp_path / "data"
    store = TinyDBStore.open(data, sync_interval=None, durable_updates=False)
    for i in range(40 * 24):
        m = store.add_mention(mention(str(i), minutes=60 * i))
        store.add_event(Event(m.key, "posted", m.created_at + timedelta(seconds=2)))
    store.close()
    settings = summary_settings(tmp_path)
    end = T0 + timedelta(days=40)
    from bot.store.toc import BLOCK
    assert 40 * 24 > BLOCK // 3  # enough blocks for the window to leave some out

    reader = TinyDBStore.open(data, read_only=True)
    writer = None
    try:
        before = _pending(reader)
        lazy = report_for_window(settings, reader, end - timedelta(days=1), end, "day")
        after = _pending(reader)
        writer = TinyDBStore.open(data)
        whole = report_for_window(settings, writer, end - timedelta(days=1), end, "day")
    finally:
        reader.close()
        if writer is not None:
            writer.close()
    assert after["mentions"] < before["mentions"] and after["events"] < before["events"]
    assert to_json(lazy) == to_json(whole)


def test_journal_changes_since_the_snapshot_win_over_its_blocks(tmp_path):
    data = tmp_path / "data"
    keys = _build(data, 5_000)
    store = TinyDBStore.open(data)
    store.update_mention(keys[10], lambda m: replace(m, state=State.CLAIMED, owner="U7",
                                                     claimed_at=T0))
    assert store.delete_mentions([keys[20], keys[4_500]]) == 2
    new = store.add_mention(mention("new", minutes=10_000))
    store.add_event(Event(keys[10], "claimed", T0 + timedelta(days=9), user="U7"))
    store.close()  # a short journal: left for the next run, not folded in
    assert (data / "earshot.journal").stat().st_size < (data / SNAPSHOT).stat().st_size

    reader = TinyDBStore.open(data, read_only=True)
    writer = None
    try:
        assert _pending(reader)["mentions"] == 3
        assert reader.count_mentions() == 5_000 - 2 + 1
        assert reader.get_mention(keys[10]).owner == "U7"
        assert reader.get_mention(keys[20]) is None
        assert reader.get_by_number(new.number).key == new.key
        assert [e.kind for e in reader.events(keys[10])] == ["posted", "claimed"]
        assert reader.events(keys[20]) == []
        writer_view = TinyDBStore.open(data)
        writer = writer_view
        for since in (None, T0, T0 + timedelta(minutes=4_400)):
            assert _keys(reader.iter_mentions(since)) == _keys(writer.iter_mentions(since))
        assert _keys(reader.claimed_by("U7")) == [keys[10]]
        assert _keys(reader.open_mentions()) == _keys(writer.open_mentions())
        assert reader.unposted_mentions() == writer.unposted_mentions()
        assert len(reader.events()) == len(writer.events())
    finally:
        reader.close()
        if writer is not None:
            writer.close()


def test_a_reader_keeps_its_moment_while_the_writer_compacts(tmp_path):
    data = tmp_path / "data"
    keys = _build(data, 5_000)
    reader = TinyDBStore.open(data, read_only=True)
    writer = TinyDBStore.open(data)
    try:
        writer.update_mention(keys[1], lambda m: replace(m, owner="U9",
                                                         state=State.CLAIMED))
        writer._core._storage._compact_now()  # replaces earshot.json under the reader
        assert reader.get_mention(keys[1]).owner is None  # the moment it opened
        assert _keys(reader.iter_mentions()) == keys
    finally:
        reader.close()
        writer.close()


def test_the_snapshot_stays_a_tinydb_file_and_one_without_contents_is_read_whole(tmp_path):
    data = tmp_path / "data"
    keys = _build(data, 2_500)
    with TinyDB(data / SNAPSHOT) as db:  # stock TinyDB sees one more table
        assert len(db.table("mentions")) == 2_500 and "$toc" in db.tables()
    # Stock TinyDB rewrites it without the table of contents: read whole, same answers.
    plain = json.loads((data / SNAPSHOT).read_text())
    del plain["$toc"]
    (data / SNAPSHOT).write_text(json.dumps(plain))
    store = TinyDBStore.open(data, read_only=True)
    try:
        assert _pending(store) == {"mentions": 0, "events": 0, "outbox": 0}
        assert _keys(store.iter_mentions()) == keys
    finally:
        store.close()


def test_a_block_that_is_not_where_the_contents_say_is_one_clear_error(tmp_path):
    data = tmp_path / "data"
    keys = _build(data, 2_500)
    text = (data / SNAPSHOT).read_bytes()  # the first mention's line, made no document
    (data / SNAPSHOT).write_bytes(text.replace(b'\n"1":{"', b'\n"1":["', 1))
    store = TinyDBStore.open(data, read_only=True)
    try:
        with pytest.raises(StoreCorruptError, match="table of contents"):
            store.get_mention(keys[0])
    finally:
        store.close()


# --- the writer (serve, fetch) opens lazily too ------------------------------------------


def _build_posted(data: Path, count: int, unsent: set[int], to_send: set[int]) -> list[str]:
    """`count` mentions, posted (a Slack ts, a sent outbox row) except the `unsent`
    ones; the rows of `to_send` still pending."""
    store = TinyDBStore.open(data, sync_interval=None, durable_updates=False)
    keys = []
    for i in range(count):  # a few fingerprints shared (a repost 6,500 minutes later)
        m = store.add_mention(mention(str(i), minutes=i, fingerprint=f"fp{i % 6_500}"))
        status = "pending" if i in to_send else "sent"
        if i not in unsent:
            store.enqueue(OutboxItem(id=f"mention:{m.key}", kind="mention", channel="C1",
                                     mention_key=m.key, status=status,
                                     created_at=T0 + timedelta(minutes=i)))
        if i not in unsent and i not in to_send:
            store.update_mention(m.key, lambda x, i=i: replace(x, slack_ts=f"{i}.0001",
                                                               slack_channel="C1"))
        store.add_event(Event(m.key, "posted", T0 + timedelta(minutes=i, seconds=2)))
        keys.append(m.key)
    store.close()
    return keys


def test_a_writer_starts_without_reading_the_mentions_it_does_not_need(tmp_path):
    data = tmp_path / "data"
    keys = _build_posted(data, 9_000, unsent={4_500}, to_send={8_999, 100})
    store = TinyDBStore.open(data)
    try:
        assert _pending(store)["mentions"] == 5 and _pending(store)["events"] == 5
        # What serve does at start: the never-queued mentions, the outbox queue.
        assert _keys(store.unposted_mentions()) == [keys[4_500]]
        assert sorted(i.mention_key for i in store.pending_outbox()) == sorted(
            [keys[100], keys[8_999]])
        # Read: the blocks of the three mentions without a Slack message (hn:100 and
        # hn:8999 are queued, not posted yet), two of five left on disk.
        assert _pending(store)["mentions"] == 2
        # An id or a key stored in a block still on disk is known all the same.
        again = store.enqueue(OutboxItem(id=f"mention:{keys[7]}", kind="mention",
                                         channel="C9", mention_key=keys[7]))
        assert again.status == "sent" and again.channel == "C1"
        with pytest.raises(KeyError):
            store.add_mention(mention("8000", minutes=8_000))
        assert store.count_mentions() == 9_000
        new = store.add_mention(mention("new", minutes=9_500))
        assert new.number == 9_001
    finally:
        store.close()


def test_writes_before_the_blocks_are_loaded_are_neither_lost_nor_undone(tmp_path):
    data = tmp_path / "data"
    keys = _build_posted(data, 5_000, unsent=set(), to_send={10})
    store = TinyDBStore.open(data)
    store.update_outbox(f"mention:{keys[10]}", lambda o: replace(o, status="sent"))
    store.add_event(Event(keys[3], "claimed", T0 + timedelta(days=5), user="U1"))
    new = store.add_mention(mention("new", minutes=6_000))
    assert _pending(store)["mentions"] == 3  # nothing read for those
    assert store.find_by_link(new.url).key == new.key
    store.update_mention(keys[2], lambda m: replace(m, owner="U2", state=State.CLAIMED))
    # Then something needs every mention (the open queues, say).
    assert keys[2] not in _keys(store.open_mentions())
    # Outbox: the block of the row that was still to send was read at open.
    assert _pending(store) == {"mentions": 0, "events": 3, "outbox": 2}
    assert [e.kind for e in store.events(keys[3])] == ["posted", "claimed"]
    store.close()
    for read_only in (True, False):
        again = TinyDBStore.open(data, read_only=read_only)
        try:
            assert again.count_mentions() == 5_001
            assert again.get_outbox(f"mention:{keys[10]}").status == "sent"
            assert again.pending_outbox() == []
            assert _keys(again.claimed_by("U2")) == [keys[2]]
            assert [e.kind for e in again.events(keys[3])] == ["posted", "claimed"]
            assert _keys(again.iter_mentions())[-1] == new.key
        finally:
            again.close()


@pytest.mark.parametrize("where", ["background", "foreground"])
def test_a_compaction_copies_the_blocks_still_on_disk(tmp_path, where):
    data = tmp_path / "data"
    keys = _build_posted(data, 5_000, unsent=set(), to_send=set())
    store = TinyDBStore.open(data)
    storage = store._core._storage
    for i in range(50):
        store.add_event(Event(keys[i], "claimed", T0 + timedelta(days=4), user="U1"))
    store.update_outbox(f"mention:{keys[4_321]}", lambda o: replace(o, attempts=7))
    new = store.add_mention(mention("new", minutes=6_000))
    if where == "background":  # as a growing journal starts it
        with storage._lock:
            storage._start_compaction()
        storage.wait_for_compaction()
    else:  # as open (after a cut-short compaction) and close do it
        storage._compact_now()
    assert b'"claimed"' in (data / SNAPSHOT).read_bytes()
    assert _pending(store)["mentions"] == 3  # copied to the new snapshot, not loaded
    # The blocks still load from the snapshot they were in, replaced or not.
    assert store.get_mention(keys[2_500]).key == keys[2_500]
    assert store.get_outbox(f"mention:{keys[4_321]}").attempts == 7
    store.close()
    for read_only in (True, False):
        again = TinyDBStore.open(data, read_only=read_only)
        try:
            assert again.count_mentions() == 5_001
            assert _keys(again.iter_mentions()) == [*keys, new.key]
            assert len(again.events()) == 5_050
            assert again.get_outbox(f"mention:{keys[4_321]}").attempts == 7
            assert [e.kind for e in again.events(keys[7])] == ["posted", "claimed"]
        finally:
            again.close()


def test_warming_loads_the_mentions_a_block_at_a_time_and_answers_the_same(tmp_path):
    data = tmp_path / "data"
    keys = _build_posted(data, 7_000, unsent=set(), to_send=set())
    store = TinyDBStore.open(data)
    core = store._core
    held_lock_for: list[int] = []
    real = core._load_mentions

    def one_block_each(want=None):  # noqa: ANN001, ANN202 - a spy
        before = len(core._storage.pending("mentions"))
        real(want)
        held_lock_for.append(before - len(core._storage.pending("mentions")))

    core._load_mentions = one_block_each
    try:
        store.warm()
        assert held_lock_for == [1, 1, 1, 1]  # four blocks, the lock taken for each
        assert _pending(store)["mentions"] == 0
        assert _keys(store.open_mentions()) == keys
        assert store.find_by_link(f"https://example.org/hn/{6_999}").key == keys[-1]
    finally:
        store.close()


def test_de_duplication_reads_the_saved_terms_not_every_mention(tmp_path):
    from bot.mention import Link
    from bot.store.tinydb_indexes import _index_all

    data = tmp_path / "data"
    keys = _build_posted(data, 7_000, unsent=set(), to_send=set())
    store = TinyDBStore.open(data)  # a cross-post's link added after the snapshot
    store.update_mention(keys[10], lambda m: replace(
        m, links=[*m.links, Link("reddit", "https://reddit.com/r/x/1")]))
    store.close()
    store = TinyDBStore.open(data)
    try:
        old = store.get_by_number(6_001)  # loads one block of four
        # A new post (the usual case): no hit, nothing more read.
        assert store.find_by_link("https://example.org/hn/nope") is None
        assert store.find_by_fingerprint("fp-new") is None
        assert _pending(store)["mentions"] == 3
        assert store.find_by_link(old.url).key == old.key
        assert store.find_by_fingerprint(old.fingerprint).key == old.key
        assert store.find_by_link("https://reddit.com/r/x/1").key == keys[10]
        assert store.find_by_link(f"https://example.org/hn/{2_500}").key == keys[2_500]
        assert store.find_by_fingerprint("fp100").key == keys[100]  # the first of two
        assert _pending(store)["mentions"] == 1  # read: the three blocks with hits only
        store.open_mentions()  # now every mention: indexed once, not twice
        core = store._core
        assert _index_all(core._by_url, old.url) == [6_001]
        assert _index_all(core._by_fingerprint, old.fingerprint) == [6_001]
        assert store.find_by_link("https://reddit.com/r/x/1").key == keys[10]
    finally:
        store.close()


def test_a_claim_on_an_old_mention_reads_its_block_only_and_indexes_stay_true(tmp_path):
    data = tmp_path / "data"
    keys = _build_posted(data, 7_000, unsent={3}, to_send=set())
    store = TinyDBStore.open(data)
    try:
        claimed = store.update_mention(keys[5_000], lambda m: replace(
            m, state=State.CLAIMED, owner="U5"))
        assert claimed.owner == "U5" and _pending(store)["mentions"] == 3
        store.update_mention(keys[3], lambda m: replace(m, slack_ts="3.3"))  # posted now
        assert store.unposted_mentions() == []
        # Everything else loads; the claimed one is in its owner's list once, and no
        # longer in the open queue.
        assert _keys(store.claimed_by("U5")) == [keys[5_000]]
        assert keys[5_000] not in _keys(store.open_mentions())
        assert len(store.open_mentions()) == 6_999
    finally:
        store.close()


def test_a_store_written_without_contents_gets_them_at_its_first_close(tmp_path):
    data = tmp_path / "data"
    keys = _build(data, 2_500)
    plain = json.loads((data / SNAPSHOT).read_text())  # as an older Earshot wrote it
    del plain["$toc"]
    (data / SNAPSHOT).write_text(json.dumps(plain))
    store = TinyDBStore.open(data)  # read whole this time
    assert _pending(store) == {"mentions": 0, "events": 0, "outbox": 0}
    store.close()  # nothing written, but rewritten with its contents
    store = TinyDBStore.open(data)
    try:
        assert _pending(store) == {"mentions": 2, "events": 2, "outbox": 2}
        assert _keys(store.iter_mentions()) == keys
    finally:
        store.close()
    modified = (data / SNAPSHOT).stat().st_mtime_ns
    TinyDBStore.open(data).close()  # once only: a store with contents is left alone
    assert (data / SNAPSHOT).stat().st_mtime_ns == modified
