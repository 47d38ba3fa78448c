"""Storage: the Store interface and its backends."""

from __future__ import annotations

import os

from bot.store.base import (
    OutboxItem,
    Store,
    StoreOpenError,
    StoreReadOnlyError,
    StoreUnavailableError,
)

__all__ = ["OutboxItem", "Store", "StoreOpenError", "StoreReadOnlyError",
           "StoreUnavailableError", "database_url", "open_store"]


def database_url(env: dict[str, str] | None = None) -> str | None:
    """DATABASE_URL from the environment (the variable Heroku Postgres and most hosts
    set), or None when it is unset or empty."""
    value = (os.environ if env is None else env).get("DATABASE_URL", "").strip()
    return value or None


def open_store(data_dir: str | os.PathLike[str], *, read_only: bool = False,
               url: str | None = None, embedded: bool = False) -> Store:
    """Open the store: PostgreSQL when `url` or else DATABASE_URL is set, otherwise the
    embedded TinyDB store under `data_dir` (created if needed).

    read_only=True: writes raise StoreReadOnlyError. For TinyDB that is the store as it is
    on disk now, without taking the directory's lock, so it works while the bot runs
    (see docs/storage.md). Raises StoreOpenError (one line) when the database cannot be
    used: a malformed URL, a refused password, an unreachable host, a newer schema.
    embedded=True: TinyDB under `data_dir` whatever DATABASE_URL says (a dry run's
    throwaway store)."""
    url = None if embedded else url or database_url()
    if url:
        from bot.store.postgres import PostgresStore
        from bot.store.postgres.url import normalise

        return PostgresStore.open(normalise(url), read_only=read_only)
    from bot.store.tinydb_store import TinyDBStore

    return TinyDBStore.open(data_dir, read_only=read_only)
