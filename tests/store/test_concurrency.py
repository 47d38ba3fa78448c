"""The scheduler thread and the Slack handler threads share one store (on PostgreSQL,
each thread takes its own connection from the pool)."""

from __future__ import annotations

import threading
from dataclasses import replace

from bot.mention import State
from bot.store.base import OutboxItem
from tests.store.helpers import mention


def run_threads(targets) -> None:
    start = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(fn):
        def go():
            start.wait()
            try:
                fn()
            except BaseException as exc:  # surfaced below, not lost in the thread
                errors.append(exc)
        return go

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def test_four_writers_lose_nothing_and_numbers_are_unique(backend):
    store = backend.open(compact_min_bytes=50_000)  # compaction mid-run too

    def writer(w):
        return lambda: [store.add_mention(mention(f"{w}-{i}", minutes=i)) for i in range(500)]

    try:
        run_threads([writer(w) for w in range(4)])
        assert store.count_mentions() == 2000
        numbers = sorted(m.number for m in store.iter_mentions())
        assert numbers == list(range(1, 2001))
    finally:
        store.close()
    store = backend.open()
    try:
        assert {m.key for m in store.iter_mentions()} == {
            f"hn:{w}-{i}" for w in range(4) for i in range(500)}
    finally:
        store.close()


def test_concurrent_claims_exactly_one_wins(backend):
    store = backend.open()
    try:
        for i in range(50):
            store.add_mention(mention(str(i)))
        wins: dict[str, list[str]] = {}
        lock = threading.Lock()

        def claimer(user):
            def go():
                for i in range(50):
                    def take(m):
                        if m.owner is not None:
                            return None
                        return replace(m, owner=user, state=State.CLAIMED)
                    if store.update_mention(f"hn:{i}", take) is not None:
                        with lock:
                            wins.setdefault(f"hn:{i}", []).append(user)
            return go

        def inserter():
            for i in range(300):
                store.add_mention(mention(f"x{i}"))

        run_threads([claimer(f"U{n}") for n in range(6)] + [inserter])
        assert sorted(wins) == sorted(f"hn:{i}" for i in range(50))
        assert all(len(users) == 1 for users in wins.values())
        for key, users in wins.items():
            assert store.get_mention(key).owner == users[0]
        assert store.count_mentions() == 350
    finally:
        store.close()


def test_concurrent_outbox_workers_send_each_item_once(backend):
    store = backend.open()
    try:
        for i in range(100):
            store.enqueue(OutboxItem(id=f"o{i}", kind="mention", channel="C1"))
        sent: list[str] = []
        lock = threading.Lock()

        def worker():
            for item in store.pending_outbox():
                got = store.update_outbox(item.id, lambda i: replace(i, status="sending")
                                          if i.status == "pending" else None)
                if got is not None:
                    with lock:
                        sent.append(got.id)

        run_threads([worker for _ in range(4)])
        assert sorted(sent) == sorted(f"o{i}" for i in range(100))
    finally:
        store.close()


def test_counter_in_meta_under_contention(backend):
    store = backend.open()
    try:
        def bump():
            for _ in range(250):
                store.update_meta("n", lambda old: (old or 0) + 1)

        run_threads([bump for _ in range(4)])
        assert store.get_meta("n") == 1000
    finally:
        store.close()
