"""Retention on both backends: answered mentions past `[store] keep_days` go, with their
events and finished outbox rows, their counts kept; open and claimed ones stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.mention import Event, Link, State
from bot.settings import ConfigError, load_settings
from bot.store.base import OutboxItem, Store
from bot.store.retention import RETENTION_COUNTS, counts_by_day, prune
from tests.store.helpers import T0, mention
from tests.test_settings import MINIMAL, write

NOW = T0 + timedelta(days=200)
OLD, RECENT = 0, 60 * 24 * 100  # minutes after T0: 200 and 100 days before NOW


def add(store: Store, native_id: str, minutes: int, state: State, owner: str | None = None,
        complaint: bool = False) -> None:
    m = mention(native_id, minutes=minutes, fingerprint=f"fp-{native_id}",
                links=[Link("reddit", f"https://reddit.com/{native_id}")])
    m.department, m.complaint = "support", complaint
    store.add_mention(m)
    store.update_mention(m.key, lambda x: replace(x, state=state, owner=owner))
    store.add_event(Event(m.key, "posted", m.created_at))
    store.enqueue(OutboxItem(id=f"mention:{m.key}", kind="mention", channel="C1",
                             mention_key=m.key, status="sent", created_at=m.created_at))


def test_answered_mentions_past_keep_days_go_with_their_events(store):
    add(store, "old-answered", OLD, State.ANSWERED, "U1", complaint=True)
    add(store, "old-answered-2", OLD + 1, State.ANSWERED, "U1")
    add(store, "old-new", OLD + 2, State.NEW)
    add(store, "old-claimed", OLD + 3, State.CLAIMED, "U2")
    add(store, "old-escalated", OLD + 4, State.ESCALATED)
    add(store, "recent-answered", RECENT, State.ANSWERED, "U1")
    # A thread line still waiting to be sent is not lost with its mention.
    store.enqueue(OutboxItem(id="thread:hn:old-answered:1", kind="thread", channel="",
                             mention_key="hn:old-answered", created_at=T0))

    pruned = prune(store, keep_days=180, now=NOW)

    assert pruned.mentions == 2
    assert store.get_mention("hn:old-answered") is None
    assert store.find_by_fingerprint("fp-old-answered") is None
    assert store.find_by_link("https://reddit.com/old-answered") is None
    assert store.events("hn:old-answered") == [] and store.events("hn:old-answered-2") == []
    assert store.get_outbox("mention:hn:old-answered") is None
    assert store.get_outbox("thread:hn:old-answered:1").status == "pending"
    assert sorted(m.native_id for m in store.iter_mentions()) == [
        "old-claimed", "old-escalated", "old-new", "recent-answered"]
    assert store.count_mentions() == 4
    assert [m.native_id for m in store.open_mentions()] == ["old-new", "old-escalated"]
    assert [m.native_id for m in store.claimed_by("U2")] == ["old-claimed"]
    assert len(store.events()) == 4
    # Their counts are kept, and counted with the stored ones.
    day = T0.date().isoformat()
    assert store.get_meta(RETENTION_COUNTS) == {
        day: {"mentions": 2, "complaints": 1, "departments": {"support": 2}}}
    assert counts_by_day(store)[day]["mentions"] == 5
    # A second run finds nothing more; numbering goes on without reuse.
    assert prune(store, keep_days=180, now=NOW).mentions == 0
    assert store.add_mention(mention("next")).number == 7


def test_pruning_survives_a_reopen(backend):
    store = backend.open()
    for i in range(30):
        add(store, str(i), OLD + i, State.ANSWERED if i % 3 else State.NEW, "U1")
    assert prune(store, keep_days=180, now=NOW).mentions == 20
    store.close()
    store = backend.open()
    try:
        assert store.count_mentions() == 10
        assert {m.native_id for m in store.iter_mentions()} == {str(i) for i in range(0, 30, 3)}
        assert len(store.events()) == 10
        assert store.get_meta(RETENTION_COUNTS)[T0.date().isoformat()]["mentions"] == 20
    finally:
        store.close()


def test_keep_days_is_a_config_key_with_a_default_and_a_floor(tmp_path):
    assert load_settings(write(tmp_path, MINIMAL), env={}).store.keep_days == 180
    assert load_settings(write(tmp_path, MINIMAL + "[store]\nkeep_days = 30\n"),
                         env={}).store.keep_days == 30
    with pytest.raises(ConfigError, match="store.keep_days.*at least 8"):
        load_settings(write(tmp_path, MINIMAL + "[store]\nkeep_days = 3\n"), env={})
    with pytest.raises(ConfigError, match="store.keep_days"):
        load_settings(write(tmp_path, MINIMAL + "[store]\nkeep_days = \"forever\"\n"), env={})


def test_answered_author_entries_of_pruned_mentions_go_and_newer_answers_stay(backend):
    """First-contact resolution keeps "who answered this author" per author: an entry
    still pointing at a pruned mention goes with it; one a newer answer replaced stays,
    and a reopened store agrees."""
    from bot.resolution import author_key, forget_answers, remember_answer

    store = backend.open()
    try:
        for native_id, minutes, author in [("a", OLD, "ann"), ("b", OLD + 1, "bob"),
                                           ("c", RECENT, "bob")]:
            add(store, native_id, minutes, State.ANSWERED, "U1")
            store.update_mention(f"hn:{native_id}", lambda x, a=author: replace(x, author=a))
            remember_answer(store, store.get_mention(f"hn:{native_id}"), "U1",
                            T0 + timedelta(minutes=minutes))
        store.set_meta("unrelated", {"key": "hn:a"})
        assert prune(store, keep_days=180, now=NOW, on_delete=forget_answers).mentions == 2
        assert store.get_meta(author_key("hn", "ann")) is None
        assert store.get_meta(author_key("hn", "bob"))["key"] == "hn:c"  # the newer answer
        assert store.get_meta("unrelated") == {"key": "hn:a"}
        assert store.delete_meta(author_key("hn", "ann")) is False  # already gone
    finally:
        store.close()
    store = backend.open()
    try:
        assert store.get_meta(author_key("hn", "ann")) is None
        assert store.get_meta(author_key("hn", "bob"))["key"] == "hn:c"
        store.set_meta(author_key("hn", "ann"), {"key": "hn:z"})  # written again after
        assert store.get_meta(author_key("hn", "ann")) == {"key": "hn:z"}
    finally:
        store.close()
