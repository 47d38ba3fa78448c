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


def _varied(data: Path) -> None:
    """Mentions in every index: fingerprints, links, open / escalated / claimed, posted
    (Slack ts), queued and never queued, outbox rows pending and sent."""
    from dataclasses import replace

    from bot.mention import Link, State

    store = TinyDBStore.open(data)
    for i in range(40):
        m = store.add_mention(replace(
            mention(str(i), minutes=i, fingerprint=f"fp{i % 7}",
                    links=[Link("reddit", f"https://reddit.example/{i % 5}")]),
            department=("support", "billing")[i % 2]))
        if i % 4 == 1:
            store.update_mention(m.key, lambda x, i=i: replace(
                x, state=State.CLAIMED, owner=f"U{i % 3}", claimed_at=T0))
        elif i % 4 == 2:
            store.update_mention(m.key, lambda x: replace(x, state=State.ESCALATED))
        if i % 3:
            store.update_mention(m.key, lambda x, i=i: replace(
                x, slack_channel="C1", slack_ts=f"{i}.0001"))
            store.enqueue(OutboxItem(id=f"mention:{m.key}", kind="mention", channel="C1",
                                     mention_key=m.key, created_at=T0,
                                     status="sent" if i % 2 else "pending"))
        store.add_event(Event(m.key, "posted", T0 + timedelta(minutes=i)))
    store.close()


def _answers(store: TinyDBStore) -> list:
    def keys(found):  # noqa: ANN001, ANN202
        return [m.key for m in found]

    by = lambda m: m.key if m else None  # noqa: E731
    return [
        by(store.find_by_fingerprint("fp3")), by(store.find_by_link("https://reddit.example/2")),
        by(store.find_by_link("https://example.org/hn/9")),
        keys(store.open_mentions()), keys(store.open_mentions("billing", limit=3)),
        store.count_open_by_department(), keys(store.claimed_by("U1")),
        keys(store.arrived_since(T0)), keys(store.unposted_mentions()),
        by(store.find_by_slack_message("C1", "7.0001")),
        by(store.find_by_slack_message("C2", "7.0001")),
        [i.id for i in store.pending_outbox()], store.get_outbox("mention:hn:5"),
        keys(store.iter_mentions(since=T0 + timedelta(minutes=30))),
        by(store.get_mention("hn:3")), store.count_mentions(),
    ]


def test_a_read_only_store_builds_its_lookups_on_first_use_and_answers_the_same(
        tmp_path, monkeypatch):
    from bot.store import tinydb_indexes

    _varied(tmp_path / "data")
    writer = TinyDBStore.open(tmp_path / "data")
    expected = _answers(writer)
    writer.close()
    assert expected[0] is not None and expected[7] and expected[9] is not None
    calls: list[str] = []
    for name in ("_index_lookups", "_index_outbox"):
        real = getattr(tinydb_indexes.StoreIndexes, name)

        def spy(self, *args, real=real, name=name):  # noqa: ANN001, ANN202 - a spy
            calls.append(name)
            return real(self, *args)

        monkeypatch.setattr(tinydb_indexes.StoreIndexes, name, spy)
    reader = TinyDBStore.open(tmp_path / "data", read_only=True)
    try:
        assert calls == []
        assert [m.key for m in reader.iter_mentions()][:2] == ["hn:0", "hn:1"]
        assert len(reader.arrived_since(T0)) == 40  # what a one-day summary reads
        assert calls == []
        assert _answers(reader) == expected
        built = len(calls)
        assert _answers(reader) == expected and len(calls) == built  # built once
    finally:
        reader.close()
