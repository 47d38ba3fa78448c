"""The Store contract, as every other part of Earshot relies on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from bot.mention import Event, Link, Mention, State
from bot.store import open_store
from bot.store.base import OutboxItem
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import T0, mention


def test_open_store_returns_the_tinydb_backend(tmp_path):
    s = open_store(tmp_path / "fresh" / "nested")
    try:
        assert isinstance(s, TinyDBStore)
        assert (tmp_path / "fresh" / "nested").is_dir()
    finally:
        s.close()


def test_numbers_count_up_from_one_and_are_set_on_the_stored_copy(store):
    added = [store.add_mention(mention(str(i))) for i in range(3)]
    assert [m.number for m in added] == [1, 2, 3]
    assert [m.short_id for m in added] == ["E-1", "E-2", "E-3"]
    assert store.get_by_number(2).key == "hn:1"
    assert store.get_by_number(99) is None
    assert store.count_mentions() == 3


def test_a_duplicate_key_raises_key_error_and_uses_no_number(store):
    store.add_mention(mention("1"))
    with pytest.raises(KeyError):
        store.add_mention(mention("1", text="same key, other text"))
    assert store.get_mention("hn:1").text == "Acme kept me on hold"
    assert store.add_mention(mention("2")).number == 2


def test_numbers_are_never_reused_after_a_restart(backend):
    s = backend.open()
    s.add_mention(mention("a"))
    s.add_mention(mention("b"))
    s.close()
    s = backend.open()
    try:
        assert s.add_mention(mention("c")).number == 3
    finally:
        s.close()


def test_a_stored_mention_round_trips_every_field(store):
    original = mention("7", links=[Link("reddit", "https://reddit.com/r/x/7")],
                       fingerprint="fp7")
    original.extra = {"lang_score": 0.9, "tags": ["a", "b"]}
    original.sentiment = -0.75
    original.complaint = True
    original.department = "support"
    original.created_at = original.created_at.astimezone(timezone(timedelta(hours=-5)))
    stored = store.add_mention(original)
    again = store.get_mention("hn:7")
    assert again == stored
    assert again.created_at == original.created_at and again.created_at.utcoffset() == \
        timedelta(0)
    assert again.extra == {"lang_score": 0.9, "tags": ["a", "b"]}
    assert again == Mention.from_dict(again.to_dict())


def test_returned_mentions_are_copies_not_views_of_the_store(store):
    m = mention("1")
    m.extra = {"nested": {"x": 1}}
    store.add_mention(m)
    m.extra["nested"]["x"] = 2  # the caller keeps changing its object
    got = store.get_mention("hn:1")
    got.extra["nested"]["x"] = 3
    got.text = "changed"
    assert store.get_mention("hn:1").extra == {"nested": {"x": 1}}
    assert store.get_mention("hn:1").text == "Acme kept me on hold"


def test_find_by_fingerprint_and_link_return_the_first_match(store):
    store.add_mention(mention("1", fingerprint="same"))
    store.add_mention(mention("2", fingerprint="same",
                              links=[Link("reddit", "https://reddit.com/r/x/2")]))
    assert store.find_by_fingerprint("same").key == "hn:1"
    assert store.find_by_fingerprint("other") is None
    assert store.find_by_fingerprint("") is None
    assert store.find_by_link("https://example.org/hn/2").key == "hn:2"
    assert store.find_by_link("https://reddit.com/r/x/2").key == "hn:2"
    assert store.find_by_link("https://nowhere.example") is None


def test_indexes_follow_an_update(store):
    store.add_mention(mention("1", fingerprint="old"))

    def relink(m):
        m.fingerprint = "new"
        m.links.append(Link("bsky", "https://bsky.app/profile/a/post/1"))
        return m

    store.update_mention("hn:1", relink)
    assert store.find_by_fingerprint("old") is None
    assert store.find_by_fingerprint("new").key == "hn:1"
    assert store.find_by_link("https://bsky.app/profile/a/post/1").key == "hn:1"


def test_update_mention_saves_the_change_and_returns_it(store):
    store.add_mention(mention("1"))

    def claim(m):
        m.state, m.owner, m.claimed_at = State.CLAIMED, "U1", T0
        return m

    saved = store.update_mention("hn:1", claim)
    assert (saved.state, saved.owner, saved.number) == (State.CLAIMED, "U1", 1)
    assert store.get_mention("hn:1") == saved


def test_update_mention_declined_or_unknown_returns_none_and_changes_nothing(store):
    store.add_mention(mention("1"))
    seen = []

    def look_but_decline(m):
        seen.append(m.key)
        m.owner = "U2"  # changing the copy must not leak into the store
        return None

    assert store.update_mention("hn:1", look_but_decline) is None
    assert seen == ["hn:1"]
    assert store.get_mention("hn:1").owner is None
    assert store.update_mention("hn:404", lambda m: m) is None


def test_update_mention_that_raises_changes_nothing(store):
    store.add_mention(mention("1"))

    def boom(m):
        m.owner = "U3"
        raise RuntimeError("listener bug")

    with pytest.raises(RuntimeError):
        store.update_mention("hn:1", boom)
    assert store.get_mention("hn:1").owner is None


def test_update_mention_cannot_change_the_key(store):
    store.add_mention(mention("1"))
    with pytest.raises(ValueError):
        store.update_mention("hn:1", lambda m: replace(m, native_id="2"))


def test_iter_mentions_is_oldest_first_and_filters_by_since(store):
    for native_id, minutes in [("late", 30), ("early", 0), ("middle", 10), ("tie", 10)]:
        store.add_mention(mention(native_id, minutes=minutes))
    assert [m.native_id for m in store.iter_mentions()] == ["early", "middle", "tie", "late"]
    since = T0 + timedelta(minutes=10)
    assert [m.native_id for m in store.iter_mentions(since)] == ["middle", "tie", "late"]
    assert list(store.iter_mentions(T0 + timedelta(days=1))) == []


def test_iter_mentions_accepts_since_in_any_timezone(store):
    store.add_mention(mention("a", minutes=0))
    store.add_mention(mention("b", minutes=60))
    since = (T0 + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=9)))
    assert [m.native_id for m in store.iter_mentions(since)] == ["b"]


def test_cursors_are_per_source_and_copied(store):
    assert store.get_cursor("hn") is None
    store.set_cursor("hn", {"since": 1})
    store.set_cursor("reddit", {"after": "t3_x"})
    store.set_cursor("hn", {"since": 2})
    got = store.get_cursor("hn")
    got["since"] = 99
    assert store.get_cursor("hn") == {"since": 2}
    assert store.get_cursor("reddit") == {"after": "t3_x"}


def item(item_id, *, minutes=0, **kw):
    return OutboxItem(id=item_id, kind="mention", channel="C1", mention_key="hn:1",
                      payload={"n": item_id}, created_at=T0 + timedelta(minutes=minutes), **kw)


def test_enqueue_is_idempotent_on_id(store):
    first = store.enqueue(item("a"))
    again = store.enqueue(replace(item("a"), channel="C2", payload={"other": True}))
    assert again == first
    assert store.get_outbox("a").channel == "C1"
    assert [i.id for i in store.pending_outbox(T0 + timedelta(hours=1))] == ["a"]


def test_add_mention_queued_stores_the_mention_and_its_post_together(store):
    first = replace(item("mention:hn:1"), mention_key="hn:1")
    stored = store.add_mention_queued(mention("1"), first)
    assert stored.number == 1 and store.get_mention("hn:1").number == 1
    queued = store.get_outbox("mention:hn:1")
    assert (queued.mention_key, queued.channel, queued.status) == ("hn:1", "C1", "pending")
    assert [i.id for i in store.pending_outbox(T0 + timedelta(hours=1))] == ["mention:hn:1"]
    # A duplicate key: KeyError, no number used, and nothing queued for it.
    with pytest.raises(KeyError):
        store.add_mention_queued(mention("1", text="again"), replace(item("other"),
                                                                     mention_key="hn:1"))
    assert store.get_outbox("other") is None
    assert store.get_mention("hn:1").text == "Acme kept me on hold"
    # A row already queued under that id is left as it was, as enqueue does.
    store.enqueue(replace(item("mention:hn:2"), channel="C7"))
    assert store.add_mention_queued(mention("2"), item("mention:hn:2")).number == 2
    assert store.get_outbox("mention:hn:2").channel == "C7"


def test_pending_outbox_is_oldest_first_and_respects_not_before(store):
    store.enqueue(item("later", minutes=5))
    store.enqueue(item("first", minutes=1))
    store.enqueue(item("backoff", minutes=0, not_before=T0 + timedelta(minutes=10)))
    store.enqueue(item("done", minutes=0, status="sent"))
    store.enqueue(item("dead", minutes=0, status="failed"))
    store.enqueue(item("interrupted", minutes=3, status="sending"))
    now = T0 + timedelta(minutes=9)
    assert [i.id for i in store.pending_outbox(now)] == ["first", "interrupted", "later"]
    now = T0 + timedelta(minutes=10)
    assert [i.id for i in store.pending_outbox(now)] == [
        "backoff", "first", "interrupted", "later"]


def test_pending_outbox_keeps_enqueue_order_for_equal_times(store):
    for name in ["c", "a", "b"]:
        store.enqueue(item(name))
    assert [i.id for i in store.pending_outbox(T0)] == ["c", "a", "b"]


def test_update_outbox_moves_an_item_through_its_states(store):
    store.enqueue(item("x"))

    def sending(i):
        return replace(i, status="sending", attempts=i.attempts + 1)

    assert store.update_outbox("x", sending).status == "sending"
    assert [i.id for i in store.pending_outbox(T0)] == ["x"]
    sent = store.update_outbox("x", lambda i: replace(i, status="sent",
                                                      result={"ts": "1.2", "channel": "C1"}))
    assert sent.result == {"ts": "1.2", "channel": "C1"} and sent.attempts == 1
    assert store.pending_outbox(T0) == []
    assert store.get_outbox("x").status == "sent"
    assert store.update_outbox("x", lambda i: None) is None
    assert store.update_outbox("nope", sending) is None
    retry = store.update_outbox("x", lambda i: replace(
        i, status="pending", not_before=T0 + timedelta(minutes=1)))
    assert retry.not_before == T0 + timedelta(minutes=1)
    assert store.pending_outbox(T0) == []
    assert [i.id for i in store.pending_outbox(T0 + timedelta(minutes=1))] == ["x"]


def test_events_filter_by_mention_and_since_oldest_first(store):
    store.add_event(Event("hn:1", "claimed", T0 + timedelta(minutes=5), user="U1"))
    store.add_event(Event("hn:2", "posted", T0 + timedelta(minutes=1)))
    store.add_event(Event("hn:1", "posted", T0, data={"ts": "1.1"}))
    store.add_event(Event("hn:1", "answered", T0 + timedelta(minutes=9), user="U1"))
    assert [e.kind for e in store.events("hn:1")] == ["posted", "claimed", "answered"]
    assert [e.kind for e in store.events()] == ["posted", "posted", "claimed", "answered"]
    assert [(e.mention_key, e.kind) for e in store.events(since=T0 + timedelta(minutes=1))] \
        == [("hn:2", "posted"), ("hn:1", "claimed"), ("hn:1", "answered")]
    assert [e.kind for e in store.events("hn:1", since=T0 + timedelta(minutes=5))] == [
        "claimed", "answered"]
    assert store.events("hn:1")[0].data == {"ts": "1.1"}
    assert store.events("hn:404") == []


def test_meta_get_set_update(store):
    assert store.get_meta("spike") is None
    store.set_meta("spike", {"last": "2026-11-01"})
    assert store.get_meta("spike") == {"last": "2026-11-01"}
    assert store.update_meta("count", lambda old: (old or 0) + 1) == 1
    assert store.update_meta("count", lambda old: (old or 0) + 1) == 2
    assert store.get_meta("count") == 2
    store.set_meta("spike", None)
    assert store.get_meta("spike") is None


def test_a_value_that_is_not_json_is_refused_and_stores_nothing(store):
    with pytest.raises(TypeError):
        store.set_meta("bad", {"when": object()})
    assert store.get_meta("bad") is None
    bad = mention("1")
    bad.extra = {"x": {1, 2}}
    with pytest.raises(TypeError):
        store.add_mention(bad)
    assert store.count_mentions() == 0 and store.get_mention("hn:1") is None


def test_a_closed_handle_refuses_calls(backend):
    s = backend.open()
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError):
        s.add_mention(mention("1"))


def test_the_fast_codec_agrees_with_mention_to_dict_and_from_dict():
    from bot.store.codec import mention_from_doc, mention_to_doc

    m = mention("9", links=[Link("reddit", "https://reddit.com/r/x/9")], fingerprint="f")
    m.claimed_at = T0.astimezone(timezone(timedelta(hours=2)))
    m.state = State.CLAIMED
    m.extra = {"a": [1, 2]}
    doc = mention_to_doc(m)
    expected = m.to_dict()
    expected["claimed_at"] = T0.isoformat()  # the store keeps every time in UTC
    assert doc == expected
    assert mention_from_doc(dict(doc)) == Mention.from_dict(doc)
    partial = {k: v for k, v in doc.items() if k not in ("extra", "owner", "links")}
    partial["unknown_future_field"] = 1
    assert mention_from_doc(dict(partial)) == Mention.from_dict(partial)


def test_the_in_memory_form_of_a_mention_round_trips_exactly():
    import json

    from bot.store.codec import MENTIONS, mention_to_doc
    from bot.store.journal_storage import encode

    m = mention("5", links=[Link("reddit", "https://reddit.com/r/x/5")], fingerprint="f5")
    m.extra = {"escalation": {"reminded": True}}
    m.claimed_at = T0
    doc = mention_to_doc(m)
    text = encode(doc)
    held = MENTIONS.hold(text, json.loads(text))
    assert isinstance(held, tuple)
    assert MENTIONS.text(held) == text  # snapshots and change detection rely on this
    assert MENTIONS.doc(held) == json.loads(text)
    assert MENTIONS.mention(held) == Mention.from_dict(doc)
    first, second = MENTIONS.mention(held), MENTIONS.mention(held)
    first.links.append(Link("x", "y"))
    first.extra["escalation"]["reminded"] = False
    assert second.links == [Link("reddit", "https://reddit.com/r/x/5")]
    assert MENTIONS.mention(held).extra == {"escalation": {"reminded": True}}


def test_a_mention_of_unusual_shape_is_still_stored_faithfully(store):
    odd = mention("odd")
    odd.title = ["not", "a", "string"]  # type: ignore[assignment]
    store.add_mention(odd)
    got = store.get_mention("hn:odd")
    got.title.append("changed")
    assert store.get_mention("hn:odd").title == ["not", "a", "string"]
    assert [m.key for m in store.iter_mentions()] == ["hn:odd"]


def test_shared_fingerprints_and_links_always_answer_the_oldest(store):
    for native_id in "abc":
        store.add_mention(mention(native_id, fingerprint="same",
                                  links=[Link("reddit", "https://reddit.com/shared")]))

    def refingerprint(value):
        def change(m):
            m.fingerprint = value
            m.links = []
            return m
        return change

    assert store.find_by_fingerprint("same").key == "hn:a"
    store.update_mention("hn:a", refingerprint("other"))
    assert store.find_by_fingerprint("same").key == "hn:b"
    assert store.find_by_link("https://reddit.com/shared").key == "hn:b"
    store.update_mention("hn:b", refingerprint("other"))
    assert store.find_by_fingerprint("same").key == "hn:c"
    assert store.find_by_fingerprint("other").key == "hn:a"
    store.update_mention("hn:c", refingerprint("gone"))
    assert store.find_by_fingerprint("same") is None
    assert store.find_by_link("https://reddit.com/shared") is None
    store.update_mention("hn:a", refingerprint("same"))
    assert store.find_by_fingerprint("same").key == "hn:a"
