"""Versioned schema migrations: numbered SQL files applied in order at start.

Why a small runner of our own rather than Alembic or yoyo: the schema is a handful of
tables written in plain SQL, Alembic would bring SQLAlchemy (tens of MB) for nothing
else, and what matters here is two properties this file gives in a few lines: every
migration runs in one transaction with the ledger row that records it (PostgreSQL's DDL
is transactional, so a failed migration leaves nothing half-done), and the whole run
holds a transaction-level advisory lock, so replicas starting together apply each
migration exactly once (the second waits, then finds nothing left to do).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bot.store.base import StoreOpenError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any fixed 64-bit number unlikely to be used by another application on the database.
MIGRATION_LOCK = 0x6561_7273_686F_7401  # "earshot" + 1
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations shipped with this code, oldest first."""
    found = []
    for path in sorted(directory.iterdir()):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, ... without gaps: {versions}")
    return found


def latest_version() -> int:
    return len(available())


def current_version(conn: psycopg.Connection) -> int:
    """The schema version recorded in the database (0: no Earshot schema yet)."""
    exists = conn.execute("SELECT to_regclass('earshot_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM earshot_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection, migrations: list[Migration] | None = None) -> int:
    """Bring the schema up to date; return how many migrations were applied.

    Raises StoreOpenError if the database's schema is newer than this code knows
    (a newer Earshot has migrated it: running old code on it could lose data)."""
    migrations = available() if migrations is None else migrations
    known = migrations[-1].version if migrations else 0
    applied = 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("""CREATE TABLE IF NOT EXISTS earshot_migrations (
                            version    integer PRIMARY KEY,
                            name       text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        version = current_version(conn)
        if version > known:
            raise StoreOpenError(
                f"the database's schema is version {version}, newer than this Earshot "
                f"knows (up to {known}): upgrade Earshot before running it on this database")
        for migration in migrations[version:]:
            log.info("applying database migration %04d_%s", migration.version,
                     migration.name)
            conn.execute(migration.sql)  # type: ignore[arg-type]  # trusted, shipped files
            conn.execute("INSERT INTO earshot_migrations (version, name) VALUES (%s, %s)",
                         (migration.version, migration.name))
            applied += 1
    return applied
