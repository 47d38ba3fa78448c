"""A PostgreSQL server for the benchmarks: --database-url if given (its tables are
emptied first: use a scratch database), else a throwaway cluster started here with
PostgreSQL's default durability (fsync and synchronous commit on), like a real server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pg_cluster import Cluster, find_bindir  # noqa: E402


@contextmanager
def postgres(url: str | None = None) -> Iterator[str | None]:
    """Yields a database URL, or None (with a message) if no server can be had."""
    if url:
        empty(url)
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL: skipped (no pg_ctl: apt-get install postgresql, or pass "
              "--database-url)")
        yield None
        return
    cluster = Cluster(bindir, durable=True).start()
    try:
        yield cluster.url()
    finally:
        cluster.destroy()


def empty(url: str) -> None:
    """Migrate the database at `url` and empty Earshot's tables (numbering restarts)."""
    from bot.store.postgres import PostgresStore

    PostgresStore.open(url).close()  # migrate
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE mentions, outbox, events, cursors, meta RESTART IDENTITY")
        conn.execute("UPDATE counters SET value = 0")
