"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.mention import Link, Mention
from bot.store.journal_storage import JournalStorage
from bot.store.tinydb_store import TinyDBStore

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def mention(native_id: str, *, minutes: float = 0, source: str = "hn", fingerprint: str = "",
            links: list[Link] | None = None, text: str = "Acme kept me on hold") -> Mention:
    return Mention(source=source, native_id=native_id, text=text,
                   url=f"https://example.org/{source}/{native_id}",
                   created_at=T0 + timedelta(minutes=minutes), author="someone",
                   fingerprint=fingerprint, links=list(links or []))


def journal_of(store: TinyDBStore) -> JournalStorage:
    """The journal under a store: white-box tests watch its size and its compactions."""
    return store._core._storage
