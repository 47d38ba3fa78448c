"""The PostgreSQL backend of Store: chosen by open_store when DATABASE_URL is set."""

from __future__ import annotations

from bot.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
