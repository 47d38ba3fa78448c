"""Leadership by a PostgreSQL advisory lock: exactly one leader among replicas, taken
over when it goes, and the outbox NOTIFY reaches the leader."""

from __future__ import annotations

import threading

import psycopg

from bot.store.base import OutboxItem
from bot.store.postgres import PostgresStore
from bot.store.postgres.leader import LEADER_LOCK, Leadership
from tests.e2e.helpers import wait_for


class Replica:
    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.events: list[str] = []
        self.woken = threading.Event()
        self.leadership = Leadership(url, on_gain=lambda: self.events.append("gain"),
                                     on_lose=lambda: self.events.append("lose"),
                                     on_notify=self.woken.set, interval=0.2)


def test_one_leader_at_a_time_and_a_takeover_when_it_goes(pg_url):
    replicas = [Replica(pg_url, f"r{i}") for i in range(3)]
    for r in replicas:
        r.leadership.start()
    try:
        leader = wait_for(lambda: next((r for r in replicas if r.leadership.is_leader), None),
                          what="a leader")
        threading.Event().wait(1.0)  # several rounds of the others trying
        assert [r.leadership.is_leader for r in replicas].count(True) == 1
        assert {r.leadership.role for r in replicas if r is not leader} == {"follower"}

        leader.leadership.stop()  # its connection closes: the lock goes with it
        others = [r for r in replicas if r is not leader]
        second = wait_for(lambda: next((r for r in others if r.leadership.is_leader), None),
                          timeout=10, what="a new leader")
        assert [r.leadership.is_leader for r in others].count(True) == 1

        # The leader is woken when any replica queues something for Slack.
        store = PostgresStore.open(pg_url)
        try:
            store.enqueue(OutboxItem(id="o1", kind="message", channel="C1"))
        finally:
            store.close()
        assert second.woken.wait(10)
    finally:
        for r in replicas:
            r.leadership.stop()


def test_a_leader_whose_session_is_killed_steps_down(pg_url):
    replica = Replica(pg_url, "r")
    replica.leadership.start()
    try:
        wait_for(lambda: replica.leadership.is_leader, what="leadership")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE"
                          " locktype = 'advisory' AND objid = %s::bigint & 4294967295",
                          (LEADER_LOCK,))
        wait_for(lambda: "lose" in replica.events, timeout=10, what="stepping down")
        # ... and it takes the lock again once it reconnects (nobody else holds it).
        wait_for(lambda: replica.events.count("gain") == 2, timeout=10, what="regained")
    finally:
        replica.leadership.stop()
