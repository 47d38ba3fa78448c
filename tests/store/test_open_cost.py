"""Issue 10, item 15: opening a TinyDB store does not decode or index its events (they
are indexed on first use), and a store opened that way answers exactly as one whose
events were indexed at open: events added or deleted before the first read are neither
lost nor doubled. And the store's JSON decoding agrees with json.loads, errors included."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.mention import Event
from bot.store.base import OutboxItem
from bot.store.codec import micros
from bot.store.doc_text import decode
from bot.store.snapshot_file import StoreCorruptError
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import T0, mention


def _stored(data: Path, count: int) -> list[str]:
    store = TinyDBStore.open(data)
    keys = []
    for i in range(count):
        m = store.add_mention(mention(str(i), minutes=i))
        store.add_event(Event(m.key, "posted", T0 + timedelta(minutes=i, seconds=2)))
        store.add_event(Event(m.key, "claimed", T0 + timedelta(minutes=i, seconds=30),
                              user="U1"))
        keys.append(m.key)
    store.close()
    return keys


def _kinds(store: TinyDBStore, key: str) -> list[str]:
    return [e.kind for e in store.events(key)]


def _decoded_events(monkeypatch) -> list[int]:
    """Counts event documents decoded (the events table holds JSON text)."""
    from bot.store import tinydb_indexes

    seen: list[int] = []
    real = tinydb_indexes.StoreIndexes._index_event

    def counting(self, doc_id, doc, ordered=True):  # noqa: ANN001, ANN202 - a spy
        seen.append(doc_id)
        return real(self, doc_id, doc, ordered)

    monkeypatch.setattr(tinydb_indexes.StoreIndexes, "_index_event", counting)
    return seen


def test_opening_a_store_indexes_no_event_until_one_is_read(tmp_path, monkeypatch):
    keys = _stored(tmp_path / "data", 30)
    seen = _decoded_events(monkeypatch)
    store = TinyDBStore.open(tmp_path / "data")
    try:
        assert store.count_mentions() == 30 and store.get_mention(keys[3]) is not None
        assert store.unposted_mentions() is not None and seen == []
        assert _kinds(store, keys[3]) == ["posted", "claimed"]
        assert len(seen) == 60  # all of them, once
        _kinds(store, keys[4])
        assert len(seen) == 60
    finally:
        store.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_events_added_before_the_first_read_are_there_once(tmp_path, read_only):
    keys = _stored(tmp_path / "data", 5)
    store = TinyDBStore.open(tmp_path / "data")
    store.add_event(Event(keys[0], "answered", T0 + timedelta(hours=1), user="U1"))
    store.add_event(Event("hn:new", "posted", T0 + timedelta(hours=2)))
    assert _kinds(store, keys[0]) == ["posted", "claimed", "answered"]
    assert _kinds(store, "hn:new") == ["posted"]
    store.add_event(Event(keys[0], "released", T0 + timedelta(hours=3), user="U1"))
    assert _kinds(store, keys[0]) == ["posted", "claimed", "answered", "released"]
    since = store.events(since=T0 + timedelta(minutes=59))
    assert [(e.mention_key, e.kind) for e in since] == [
        (keys[0], "answered"), ("hn:new", "posted"), (keys[0], "released")]
    assert len(store.events()) == 5 * 2 + 3
    store.close()
    again = TinyDBStore.open(tmp_path / "data", read_only=read_only)
    try:
        assert _kinds(again, keys[0]) == ["posted", "claimed", "answered", "released"]
        assert len(again.events()) == 5 * 2 + 3
    finally:
        again.close()


def test_deleting_mentions_before_any_event_is_read_deletes_their_events(tmp_path):
    keys = _stored(tmp_path / "data", 6)
    store = TinyDBStore.open(tmp_path / "data")
    store.enqueue(OutboxItem(id="x", kind="mention", channel="C1", mention_key=keys[0],
                             status="sent"))
    assert store.delete_mentions(keys[:2]) == 2
    assert store.events(keys[0]) == [] and store.get_outbox("x") is None
    assert {e.mention_key for e in store.events()} == set(keys[2:])
    store.close()
    again = TinyDBStore.open(tmp_path / "data")
    try:
        assert {e.mention_key for e in again.events()} == set(keys[2:])
        assert again.count_mentions() == 4
    finally:
        again.close()


def test_a_damaged_event_is_said_in_one_line_when_the_events_are_first_read(tmp_path):
    data = tmp_path / "data"
    _stored(data, 2)
    snapshot = json.loads((data / "earshot.json").read_text())
    del snapshot["events"]["1"]["mention_key"]
    (data / "earshot.json").write_text(json.dumps(snapshot))
    store = TinyDBStore.open(data)
    try:
        with pytest.raises(StoreCorruptError, match="malformed document") as raised:
            store.events()
        assert "\n" not in str(raised.value) and "restore" in str(raised.value)
    finally:
        store.close()


@pytest.mark.parametrize("text", ['{"a":1,"b":[true,null,"\\u00e9"]}', '"x"', "1.5", "null",
                                  ' {"a":1}', '{"a":1} ', "[1,2]"])
def test_decode_reads_what_json_loads_reads(text):
    assert decode(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "{", '{"a":1}x', "\ufeff{}", "nul", '{"a":1}{}'])
def test_decode_refuses_what_json_loads_refuses_with_its_message(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        decode(text)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("value", [T0, T0.isoformat(), "2026-11-01T09:00:00Z",
                                   "2026-11-01T10:00:00+01:00", "2026-11-01T09:00:00",
                                   T0.replace(microsecond=7).isoformat()])
def test_micros_of_every_time_shape_agree(value):
    from bot.mention import parse_time
    from bot.store.codec import _EPOCH, _MICROSECOND

    assert micros(value) == (parse_time(value) - _EPOCH) // _MICROSECOND
