"""Fixtures shared by every test package. Keep this small and generic."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.pg_cluster import Cluster, find_bindir
from tests.slack_standin import SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A running stand-in for Slack's Web API; `slack.url` is the base URL (ends in /api/).

    Configure it in the test (e.g. `slack.rate_per_second = 20`, `slack.channels[...]`,
    `slack.users[...]`, `slack.fail_next("chat.postMessage", status=500)`).
    """
    standin = SlackStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests choose their backend: a DATABASE_URL in the developer's environment
    must not send them (or the processes they start) to a real database."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for this test session (one per xdist worker),
    started on first use and deleted at the end."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (no pg_ctl): run `apt-get install -y "
                    "postgresql` (.ci/run does this); the store tests need a real server")
    cluster = Cluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.destroy()


_databases = itertools.count(1)
# Kept by the emptying between tests: the schema's ledger and the counters' rows.
_KEEP = ("earshot_migrations", "counters")


@pytest.fixture(scope="session")
def _pg_shared_db(pg_cluster: Cluster) -> str:
    """One migrated database per test session, emptied before each test that uses it
    (much faster than creating a database per test)."""
    from bot.store.postgres.connect import connect
    from bot.store.postgres.migrate import migrate

    with pg_cluster.admin() as conn:
        conn.execute("CREATE DATABASE earshot_shared")
    url = pg_cluster.url("earshot_shared")
    with connect(url) as conn:
        migrate(conn)
    return url


@pytest.fixture
def pg_url(_pg_shared_db: str) -> str:
    """The URL of an empty, migrated database on the session's cluster. The tables are
    emptied (and numbering restarted) before the test; nothing else may be using it."""
    import psycopg

    with psycopg.connect(_pg_shared_db, autocommit=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if name not in _KEEP]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        conn.execute("UPDATE counters SET value = 0")
    return _pg_shared_db


@pytest.fixture
def fresh_pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a new database with no schema at all, dropped after the test."""
    name = f"earshot_test_{next(_databases)}"
    with pg_cluster.admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_cluster.url(name)
    finally:
        with pg_cluster.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
