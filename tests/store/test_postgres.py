"""What only the PostgreSQL backend has: migrations, the indexes docs/storage.md names,
state changes that stay atomic across processes, read-only opens."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
import psycopg.sql
import pytest

from bot.mention import State
from bot.store import open_store
from bot.store.base import OutboxItem, StoreReadOnlyError
from bot.store.postgres import PostgresStore
from bot.store.postgres.migrate import latest_version
from tests.store.helpers import mention
from tests.store.test_concurrency import run_threads


def test_open_store_picks_postgres_when_database_url_is_set(monkeypatch, tmp_path, pg_url):
    monkeypatch.setenv("DATABASE_URL", pg_url.replace("postgresql://", "postgres://", 1))
    store = open_store(tmp_path / "data")
    try:
        assert isinstance(store, PostgresStore)
        assert not (tmp_path / "data").exists()
    finally:
        store.close()


def test_replicas_starting_together_apply_each_migration_once(fresh_pg_url):
    opened: list[PostgresStore] = []
    lock = threading.Lock()

    def start():
        store = PostgresStore.open(fresh_pg_url, pool_size=2)
        with lock:
            opened.append(store)

    run_threads([start for _ in range(4)])
    for store in opened:
        store.close()
    with psycopg.connect(fresh_pg_url) as conn:
        versions = [v for (v,) in conn.execute(
            "SELECT version FROM earshot_migrations ORDER BY version")]
    assert versions == list(range(1, latest_version() + 1))


def explain(conn: psycopg.Connection, sql: str, args: tuple, *, generic: bool) -> str:
    """The plan of `sql` (with %s placeholders) for `args`: a custom plan (the values
    known), or the generic plan of a prepared statement."""
    if not generic:
        return "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, args))
    parts = sql.split("%s")
    prepared = "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "")
                       for i, part in enumerate(parts))
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.execute(f"PREPARE explained AS {prepared}")
    try:
        values = psycopg.sql.SQL(", ").join(psycopg.sql.Literal(a) for a in args)
        query = psycopg.sql.SQL("EXPLAIN EXECUTE explained ({})").format(values)
        return "\n".join(row[0] for row in conn.execute(query))
    finally:
        conn.execute("DEALLOCATE explained")
        conn.execute("RESET plan_cache_mode")


@pytest.mark.parametrize("query, params, index", [
    ("open_mentions", ("support",), "mentions_open"),
    ("claimed_by", ("U1",), "mentions_claimed"),
    ("find_by_slack_message", ("C1", "1.2"), "mentions_slack_message"),
    ("find_by_fingerprint", ("fp",), "mentions_fingerprint"),
    ("find_by_link", ("https://example.org/hn/1",), "mentions_urls"),
    ("arrived_since", (datetime(2030, 1, 1, tzinfo=UTC),), "mentions_arrived"),
])
@pytest.mark.parametrize("plan", ["custom", "generic"])
def test_the_slack_side_queries_can_use_their_indexes(pg_url, monkeypatch, query, params,
                                                     index, plan):
    """EXPLAIN of each query's SQL, with sequential scans priced out, names the index
    docs/storage.md promises (on a tiny table the planner would scan anyway); also with
    the generic plan a prepared statement ends up with after a few runs (psycopg
    prepares a query it sees often), which knows nothing of the value looked up."""
    store = PostgresStore.open(pg_url)
    store.add_mention(mention("1", fingerprint="fp"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # Rows enough that a plan walking the table would cost more than the index.
        conn.execute("INSERT INTO mentions (number, key, urls, created_at, arrived_at,"
                     " state, doc) SELECT 100 + g, 'filler:' || g,"
                     " ARRAY['https://example.org/filler/' || g], now(), now(),"
                     " 'answered', '{}' FROM generate_series(1, 3000) g")
        conn.execute("ANALYZE mentions")
    plans: list[str] = []
    execute = psycopg.Cursor.execute

    def explained(self, sql, args=None, **kw):
        text = str(sql)
        if text.startswith(("SELECT number, doc FROM mentions", "WITH hits")):
            conn = self.connection
            conn.execute("SET enable_seqscan = off")
            plans.append(explain(conn, text, args or (), generic=plan == "generic"))
            conn.execute("RESET enable_seqscan")
        return execute(self, sql, args, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", explained)
    try:
        getattr(store, query)(*params)
    finally:
        monkeypatch.undo()
        store.close()
    assert len(plans) == 1 and index in plans[0], plans


def test_two_processes_clicking_claim_at_once_give_one_owner(pg_url):
    """Two stores, each with its own pool (as two replicas have): every mention gets
    exactly one owner, and the outbox moves each item to sending once."""
    first, second = PostgresStore.open(pg_url), PostgresStore.open(pg_url)
    try:
        for i in range(40):
            first.add_mention(mention(str(i)))
            first.enqueue(OutboxItem(id=f"o{i}", kind="mention", channel="C1"))
        wins: list[tuple[str, str]] = []
        sends: list[str] = []
        lock = threading.Lock()

        def replica(store: PostgresStore, user: str):
            def go():
                for i in range(40):
                    def take(m):
                        if m.owner is not None:
                            return None
                        return replace(m, owner=user, state=State.CLAIMED)
                    if store.update_mention(f"hn:{i}", take) is not None:
                        with lock:
                            wins.append((f"hn:{i}", user))
                    got = store.update_outbox(f"o{i}", lambda it: replace(it, status="sending")
                                              if it.status == "pending" else None)
                    if got is not None:
                        with lock:
                            sends.append(got.id)
            return go

        run_threads([replica(first, "U1"), replica(second, "U2"),
                     replica(first, "U3"), replica(second, "U4")])
        assert sorted(key for key, _ in wins) == sorted(f"hn:{i}" for i in range(40))
        assert sorted(sends) == sorted(f"o{i}" for i in range(40))
        for key, user in wins:
            assert second.get_mention(key).owner == user
    finally:
        first.close()
        second.close()


def test_a_read_only_open_refuses_every_write(pg_url):
    writer = PostgresStore.open(pg_url)
    writer.add_mention(mention("1"))
    reader = PostgresStore.open(pg_url, read_only=True)
    try:
        assert reader.get_mention("hn:1").number == 1
        for call in (lambda: reader.add_mention(mention("2")),
                     lambda: reader.update_mention("hn:1", lambda m: m),
                     lambda: reader.set_cursor("hn", {}),
                     lambda: reader.set_meta("k", 1),
                     lambda: reader.update_meta("k", lambda old: 1),
                     lambda: reader.enqueue(OutboxItem(id="x", kind="mention", channel="C")),
                     lambda: reader.update_outbox("x", lambda it: it)):
            with pytest.raises(StoreReadOnlyError):
                call()
        writer.add_mention(mention("3"))
        assert reader.count_mentions() == 2  # unlike TinyDB's, it follows later writes
    finally:
        reader.close()
        writer.close()
