"""The Slack side's indexed queries: open_mentions, count_open_by_department, claimed_by,
arrived_since, find_by_slack_message.

Each contract test runs on both backends (TinyDBStore's in-memory indexes, PostgresStore's
SQL on its indexes), and on each also through a store that has only the abstract
methods, so the queries are Store's default scans. A randomized test checks
that the indexes keep agreeing with the scans through claims, releases, escalations,
answers and posts, after a reopen, a crash and in a read-only open.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.mention import Mention, State
from bot.store.base import Store
from tests.store.conftest import Backend
from tests.store.helpers import T0, mention
from tests.store.test_restart import crash_image


class ScanStore(Store):
    """Only Store's abstract methods, delegated to a real store: every query added on top
    of them runs as Store's default implementation (a scan of iter_mentions)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def close(self) -> None:
        self._inner.close()


def _delegate(name: str) -> Callable[..., Any]:
    def call(self: ScanStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._inner, name)(*args, **kwargs)

    call.__name__ = name
    return call


for _name in Store.__abstractmethods__:
    setattr(ScanStore, _name, _delegate(_name))
ScanStore.__abstractmethods__ = frozenset()


@pytest.fixture(params=["indexed", "scan"])
def store(request, backend: Backend):
    s: Store = backend.open()
    if request.param == "scan":
        s = ScanStore(s)
    yield s
    s.close()


# --- the changes the Slack side makes (as bot.workflow / the outbox make them) --------------


def add(store: Store, native_id: str, *, minutes: float = 0, department: str = "support",
        fetched_minutes: float | None = None) -> Mention:
    m = mention(native_id, minutes=minutes)
    m.department = department
    if fetched_minutes is not None:
        m.fetched_at = T0 + timedelta(minutes=fetched_minutes)
    return store.add_mention(m)


def claim(store: Store, key: str, user: str) -> Mention | None:
    def change(m: Mention) -> Mention | None:
        if m.state is State.ANSWERED or m.owner:
            return None
        m.state, m.owner, m.claimed_at = State.CLAIMED, user, T0
        return m
    return store.update_mention(key, change)


def release(store: Store, key: str) -> Mention | None:
    def change(m: Mention) -> Mention | None:
        if m.state is not State.CLAIMED:
            return None
        m.state = State.ESCALATED if m.escalated_at else State.NEW
        m.owner, m.claimed_at = None, None
        return m
    return store.update_mention(key, change)


def escalate(store: Store, key: str, department: str) -> Mention | None:
    def change(m: Mention) -> Mention | None:
        if m.department == department:
            return None
        m.state, m.department, m.escalated_at = State.ESCALATED, department, T0
        m.owner, m.claimed_at = None, None
        return m
    return store.update_mention(key, change)


def answer(store: Store, key: str) -> Mention | None:
    def change(m: Mention) -> Mention | None:
        m.state, m.answered_at = State.ANSWERED, T0
        return m
    return store.update_mention(key, change)


def post(store: Store, key: str, channel: str, ts: str) -> Mention | None:
    def change(m: Mention) -> Mention | None:
        m.slack_channel, m.slack_ts = channel, ts
        m.extra["permalink"] = f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return m
    return store.update_mention(key, change)


def ids(mentions: list[Mention]) -> list[str]:
    return [m.native_id for m in mentions]


# --- the contract -----------------------------------------------------------------------


def test_open_mentions_is_the_unclaimed_queue_oldest_first(store):
    add(store, "late", minutes=30)
    add(store, "early", minutes=0, department="billing")
    add(store, "middle", minutes=10)
    add(store, "tie", minutes=10)
    add(store, "mine", minutes=5)
    add(store, "done", minutes=1)
    claim(store, "hn:mine", "U1")
    claim(store, "hn:done", "U1")
    answer(store, "hn:done")
    assert ids(store.open_mentions()) == ["early", "middle", "tie", "late"]
    assert ids(store.open_mentions("support")) == ["middle", "tie", "late"]
    assert ids(store.open_mentions("support", limit=1)) == ["middle"]
    assert ids(store.open_mentions(limit=2)) == ["early", "middle"]
    assert store.open_mentions(limit=0) == []
    assert store.open_mentions("nobody") == []
    assert ids(store.open_mentions(state=State.NEW)) == ["early", "middle", "tie", "late"]
    assert store.open_mentions(state=State.ESCALATED) == []
    assert store.open_mentions(state=State.CLAIMED) == []  # claimed is never open
    assert all(m.number for m in store.open_mentions())


def test_open_mentions_with_an_extra_key_finds_only_those_that_have_it(store):
    for native_id, extra in [("moved", {"move": {"to": "billing"}}), ("plain", {}),
                             ("says-move", {"note": "move", "x": '"move": 1'}),
                             ("nested", {"history": {"move": {"to": "support"}}}),
                             ("moved-later", {"move": {"to": "support"}})]:
        m = add(store, native_id, minutes=len(native_id))
        store.update_mention(m.key, lambda x, extra=extra: setattr(x, "extra", extra) or x)
    claim(store, "hn:moved-later", "U1")  # claimed: no longer open
    assert ids(store.open_mentions(with_extra="move")) == ["moved"]
    assert ids(store.open_mentions(state=State.NEW, with_extra="move", limit=1)) == ["moved"]
    assert store.open_mentions(with_extra="note", limit=0) == []
    assert ids(store.open_mentions(with_extra="note")) == ["says-move"]
    assert store.open_mentions("billing", with_extra="move") == []


def test_the_queues_follow_claim_release_escalate_and_answer(store):
    for i in range(4):
        add(store, str(i), minutes=i)
    claim(store, "hn:0", "U1")
    assert ids(store.open_mentions("support")) == ["1", "2", "3"]
    release(store, "hn:0")
    assert ids(store.open_mentions("support")) == ["0", "1", "2", "3"]
    escalate(store, "hn:2", "billing")
    assert ids(store.open_mentions("support")) == ["0", "1", "3"]
    assert ids(store.open_mentions("billing")) == ["2"]
    assert ids(store.open_mentions(state=State.ESCALATED)) == ["2"]
    assert ids(store.open_mentions("billing", state=State.NEW)) == []
    claim(store, "hn:2", "U2")  # billing takes it: no longer waiting anywhere
    assert store.open_mentions("billing") == []
    assert store.open_mentions(state=State.ESCALATED) == []
    release(store, "hn:2")  # back to the escalation queue, not to NEW
    assert ids(store.open_mentions("billing", state=State.ESCALATED)) == ["2"]
    answer(store, "hn:1")
    assert ids(store.open_mentions()) == ["0", "2", "3"]
    assert store.count_open_by_department() == {"support": 2, "billing": 1}


def test_count_open_by_department_orders_departments_by_their_oldest_waiting(store):
    add(store, "s1", minutes=20, department="support")
    add(store, "b1", minutes=10, department="billing")
    add(store, "b2", minutes=30, department="billing")
    add(store, "e1", minutes=5, department="eng")
    add(store, "x1", minutes=1, department="")
    assert store.count_open_by_department() == {"": 1, "eng": 1, "billing": 2, "support": 1}
    assert list(store.count_open_by_department()) == ["", "eng", "billing", "support"]
    claim(store, "hn:e1", "U1")
    escalate(store, "hn:x1", "support")
    assert list(store.count_open_by_department().items()) == [("support", 2), ("billing", 2)]
    claim(store, "hn:b1", "U1")
    assert list(store.count_open_by_department()) == ["support", "billing"]


def test_claimed_by_lists_what_a_user_holds_oldest_first(store):
    for i in range(5):
        add(store, str(i), minutes=10 - i)
    for key in ("hn:0", "hn:3", "hn:4"):
        claim(store, key, "U1")
    claim(store, "hn:1", "U2")
    assert ids(store.claimed_by("U1")) == ["4", "3", "0"]
    assert ids(store.claimed_by("U2")) == ["1"]
    assert store.claimed_by("U3") == []
    answer(store, "hn:3")  # answered keeps its owner but is no longer "claimed"
    release(store, "hn:4")
    assert ids(store.claimed_by("U1")) == ["0"]
    escalate(store, "hn:0", "billing")  # an escalation clears the owner
    assert store.claimed_by("U1") == []
    assert [(m.state, m.owner) for m in store.claimed_by("U2")] == [(State.CLAIMED, "U2")]


def test_arrived_since_counts_fetch_time_however_old_the_post(store):
    add(store, "old-post-fetched-now", minutes=-600, fetched_minutes=61)
    add(store, "recent", minutes=30, fetched_minutes=31)
    add(store, "unfetched", minutes=70)  # no fetched_at: created_at counts
    add(store, "fetched-before", minutes=0, fetched_minutes=59)
    add(store, "tie", minutes=1, fetched_minutes=60)
    since = T0 + timedelta(minutes=60)
    assert ids(store.arrived_since(since)) == ["old-post-fetched-now", "tie", "unfetched"]
    assert ids(store.arrived_since(T0 + timedelta(days=1))) == []
    claim(store, "hn:tie", "U1")  # an update keeps its place
    assert ids(store.arrived_since(since)) == ["old-post-fetched-now", "tie", "unfetched"]
    assert store.arrived_since(since)[1].owner == "U1"


def test_find_by_slack_message_finds_the_posted_mention(store):
    add(store, "1")
    add(store, "2")
    assert store.find_by_slack_message("CSUPPORT", "1700000000.000100") is None
    post(store, "hn:1", "CSUPPORT", "1700000000.000100")
    post(store, "hn:2", "CBILLING", "1700000000.000100")  # same ts, another channel
    assert store.find_by_slack_message("CSUPPORT", "1700000000.000100").key == "hn:1"
    assert store.find_by_slack_message("CBILLING", "1700000000.000100").key == "hn:2"
    assert store.find_by_slack_message("COTHER", "1700000000.000100") is None
    assert store.find_by_slack_message("CSUPPORT", "1700000000.000999") is None
    assert store.find_by_slack_message("", "") is None
    post(store, "hn:1", "CSUPPORT", "1700000000.000200")  # posted again
    assert store.find_by_slack_message("CSUPPORT", "1700000000.000100") is None
    assert store.find_by_slack_message("CSUPPORT", "1700000000.000200").key == "hn:1"


def test_query_results_are_copies(store):
    add(store, "1")
    claim(store, "hn:1", "U1")
    got = store.claimed_by("U1")[0]
    got.owner = "U2"
    got.extra["x"] = 1
    assert store.claimed_by("U1")[0].owner == "U1"
    assert store.claimed_by("U1")[0].extra == {}


# --- the indexes agree with the scans, through every change and every kind of open --------


def answers(store: Store) -> dict[str, Any]:
    """Every query's answer, for the departments, users and messages in play."""
    out: dict[str, Any] = {"counts": store.count_open_by_department()}
    for dept in (None, "support", "billing", "eng", "leadership"):
        for state in (None, State.NEW, State.ESCALATED):
            out[f"open {dept} {state}"] = ids(store.open_mentions(dept, state=state))
        out[f"head {dept}"] = ids(store.open_mentions(dept, limit=2))
    for user in ("U1", "U2", "U3"):
        out[f"claimed {user}"] = ids(store.claimed_by(user))
    for minutes in (0, 50, 100, 200):
        out[f"arrived {minutes}"] = ids(store.arrived_since(T0 + timedelta(minutes=minutes)))
    for channel in ("C1", "C2"):
        for ts in range(6):
            found = store.find_by_slack_message(channel, f"1700000000.00000{ts}")
            out[f"message {channel} {ts}"] = found and found.key
    return out


def scanned(store: Store) -> dict[str, Any]:
    return answers(ScanStore(store))


def random_changes(store: Store, rng: random.Random, count: int) -> None:
    departments = ["support", "billing", "eng", "leadership"]
    for _ in range(count):
        keys = [m.key for m in store.iter_mentions()]
        roll = rng.random()
        if roll < 0.35 or not keys:
            add(store, str(len(keys)), minutes=rng.randint(0, 120),
                department=rng.choice(departments),
                fetched_minutes=rng.choice([None, rng.randint(0, 240)]))
            continue
        key = rng.choice(keys)
        if roll < 0.55:
            claim(store, key, rng.choice(["U1", "U2", "U3"]))
        elif roll < 0.65:
            release(store, key)
        elif roll < 0.75:
            escalate(store, key, rng.choice(departments))
        elif roll < 0.82:
            answer(store, key)
        elif roll < 0.95:
            post(store, key, rng.choice(["C1", "C2"]), f"1700000000.00000{rng.randrange(6)}")
        else:  # a source corrected the post's time: its place in every order moves
            store.update_mention(key, lambda m: setattr(
                m, "created_at", T0 + timedelta(minutes=rng.randint(0, 120))) or m)


@pytest.mark.parametrize("seed", range(4))
def test_the_indexes_agree_with_scans_through_changes_and_reopens(backend: Backend,
                                                                   tmp_path: Path, seed):
    rng = random.Random(seed)
    store = backend.open(sync_interval=None)
    images = [backend]
    try:
        for _ in range(6):
            random_changes(store, rng, 25)
            expected = scanned(store)
            assert answers(store) == expected
        if backend.name == "tinydb":  # loaded from the journal
            crash_image(store, backend.location, tmp_path / "crashed")
            images.append(Backend("tinydb", tmp_path / "crashed"))
        readonly = backend.open(read_only=True)
        try:
            assert answers(readonly) == expected
        finally:
            readonly.close()
    finally:
        store.close()
    for image in images:
        reopened = image.open()
        try:
            assert answers(reopened) == expected
            random_changes(reopened, rng, 40)  # and the rebuilt indexes keep following
            assert answers(reopened) == scanned(reopened)
        finally:
            reopened.close()


def test_the_queries_survive_a_reopen_and_a_read_only_open(backend: Backend):
    store = backend.open()
    try:
        for i in range(6):
            add(store, str(i), minutes=i, department="billing" if i % 2 else "support",
                fetched_minutes=100 + i)
        claim(store, "hn:0", "U1")
        escalate(store, "hn:2", "billing")
        claim(store, "hn:4", "U2")
        release(store, "hn:4")
        post(store, "hn:3", "C1", "1700000000.000003")
    finally:
        store.close()
    for read_only in (False, True):
        again = backend.open(read_only=read_only)
        try:
            assert ids(again.open_mentions("billing")) == ["1", "2", "3", "5"]
            assert ids(again.open_mentions(state=State.ESCALATED)) == ["2"]
            assert again.count_open_by_department() == {"billing": 4, "support": 1}
            assert ids(again.claimed_by("U1")) == ["0"]
            assert again.claimed_by("U2") == []
            assert ids(again.arrived_since(T0 + timedelta(minutes=104))) == ["4", "5"]
            assert again.find_by_slack_message("C1", "1700000000.000003").key == "hn:3"
        finally:
            again.close()
