"""Storage: the Store interface and its backends."""

from __future__ import annotations

import os

from bot.store.base import OutboxItem, Store, StoreReadOnlyError

__all__ = ["OutboxItem", "Store", "StoreReadOnlyError", "open_store"]


def open_store(data_dir: str | os.PathLike[str], *, read_only: bool = False) -> Store:
    """Open the default (TinyDB) store under `data_dir`, creating it if needed.

    read_only=True: the store as it is on disk now, without taking the directory's
    lock, so it works while the bot runs; nothing is created or written, and every
    write raises StoreReadOnlyError (see docs/storage.md)."""
    from bot.store.tinydb_store import TinyDBStore

    return TinyDBStore.open(data_dir, read_only=read_only)
