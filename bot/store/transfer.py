"""Copying a whole store between backends (`python -m bot store copy`): every mention
with its number, every cursor, outbox row, event (the publish audit is events) and meta
value (drafts are meta), in their original order.

Each side is read and written as the documents both backends already share
(bot.store.codec): the TinyDB side through its journal storage (document id = mention
number), the PostgreSQL side with plain SQL in one transaction, so a failed copy into
PostgreSQL leaves the target as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from bot.mention import Event
from bot.store.codec import event_from_doc, event_to_doc, mention_from_doc, outbox_from_doc
from bot.store.doc_text import encode

KINDS = ("mentions", "cursors", "meta", "outbox", "events")
_BATCH = 2000


def _batches(items: Iterable[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class Side(Protocol):
    name: str

    def counts(self) -> dict[str, int]: ...
    def documents(self, kind: str) -> Iterator[dict[str, Any]]: ...
    def write(self, kind: str, docs: Iterable[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class TinyDBSide:
    """A TinyDB data directory. As a target it must be empty (the CLI moves a replaced
    one aside first); the store is reopened afterwards so its indexes are rebuilt."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        from bot.store.tinydb_store import TinyDBStore

        self.name = f"TinyDB {path}"
        self.path = path
        self._store = TinyDBStore.open(path, read_only=read_only)

    def counts(self) -> dict[str, int]:
        storage = self._store.journal
        return {kind: len(storage.held(kind)) for kind in KINDS}

    def documents(self, kind: str) -> Iterator[dict[str, Any]]:
        storage = self._store.journal
        codec = storage.codec(kind)
        held = storage.held(kind)
        for doc_id in sorted(held, key=int):  # document ids are insertion order
            doc = codec.doc(held[doc_id])
            if kind == "mentions":
                doc["number"] = int(doc_id)
            yield doc

    def write(self, kind: str, docs: Iterable[dict[str, Any]]) -> None:
        storage = self._store.journal
        next_id = 1
        for batch in _batches(docs):
            change: dict[str, Any] = {}
            for doc in batch:
                doc_id = doc["number"] if kind == "mentions" else next_id
                next_id += 1
                change[str(doc_id)] = doc
            storage.apply(kind, change)  # one journal line
        self._store.flush()

    def close(self) -> None:
        self._store.close()


class PostgresSide:
    """A PostgreSQL database. Writes happen in one transaction, committed by commit()."""

    def __init__(self, url: str, *, read_only: bool) -> None:
        from bot.store.postgres.connect import connect
        from bot.store.postgres.migrate import migrate
        from bot.store.postgres.url import redact

        self.name = f"PostgreSQL {redact(url)}"
        self._conn = connect(url)
        migrate(self._conn)
        # One transaction for everything: a source is read as one consistent snapshot
        # (while the bot may keep writing), a target commits all or nothing.
        self._tx: Any = self._conn.transaction()
        self._tx.__enter__()
        if read_only:
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def counts(self) -> dict[str, int]:
        return {kind: self._conn.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]
                for kind in KINDS}

    def documents(self, kind: str) -> Iterator[dict[str, Any]]:
        order = {"mentions": "number", "outbox": "seq", "events": "id",
                 "cursors": "name", "meta": "name"}[kind]
        columns = ("name, value" if kind in ("cursors", "meta")
                   else "number, doc" if kind == "mentions" else "doc")
        with self._conn.cursor(name=f"copy_{kind}") as cur:  # server-side: streamed
            cur.execute(f"SELECT {columns} FROM {kind} ORDER BY {order}")
            for row in cur:
                if kind in ("cursors", "meta"):
                    yield {"name": row[0], "value": row[1]}
                elif kind == "mentions":
                    yield {**row[1], "number": row[0]}
                else:
                    yield row[0]

    def wipe(self) -> None:
        self._conn.execute(f"TRUNCATE {', '.join(KINDS)} RESTART IDENTITY")
        self._conn.execute("UPDATE counters SET value = 0 WHERE name = 'mentions'")

    def write(self, kind: str, docs: Iterable[dict[str, Any]]) -> None:
        from bot.store.postgres.rows import mention_row, outbox_row
        from bot.store.postgres.store import _MENTION_COLUMNS, _MENTION_VALUES

        sql, to_row = {
            "mentions": (f"INSERT INTO mentions (number, {_MENTION_COLUMNS}) VALUES"
                         f" (%(number)s, {_MENTION_VALUES})",
                         lambda d: {**mention_row(mention_from_doc(dict(d))),
                                    "number": d["number"]}),
            "cursors": ("INSERT INTO cursors (name, value) VALUES (%(name)s, %(value)s::json)",
                        lambda d: {"name": d["name"], "value": encode(d["value"])}),
            "meta": ("INSERT INTO meta (name, value) VALUES (%(name)s, %(value)s::json)",
                     lambda d: {"name": d["name"], "value": encode(d["value"])}),
            "outbox": ("INSERT INTO outbox (id, status, created_at, not_before, mention_key,"
                       " doc) VALUES (%(id)s, %(status)s, %(created_at)s, %(not_before)s,"
                       " %(mention_key)s, %(doc)s::json)",
                       lambda d: outbox_row(outbox_from_doc(d))),
            "events": ("INSERT INTO events (mention_key, at, doc)"
                       " VALUES (%(mention_key)s, %(at)s, %(doc)s::json)",
                       _event_row),
        }[kind]
        with self._conn.cursor() as cur:
            for batch in _batches(docs):
                cur.executemany(sql, [to_row(doc) for doc in batch])
        if kind == "mentions":  # the next new mention continues after the copied ones
            self._conn.execute("UPDATE counters SET value = greatest(value, (SELECT"
                               " coalesce(max(number), 0) FROM mentions))"
                               " WHERE name = 'mentions'")

    def commit(self) -> None:
        if self._tx is not None:
            self._tx.__exit__(None, None, None)
            self._tx = None

    def close(self) -> None:
        if self._tx is not None:  # not committed: roll everything back
            self._tx.__exit__(RuntimeError, RuntimeError("copy abandoned"), None)
            self._tx = None
        self._conn.close()


def _event_row(doc: dict[str, Any]) -> dict[str, Any]:
    event: Event = event_from_doc(doc)
    return {"mention_key": event.mention_key, "at": event.at,
            "doc": encode(event_to_doc(event))}


def copy_all(source: Side, target: Side) -> dict[str, int]:
    """Copy every kind of document from source to target; returns how many of each."""
    copied = {}
    for kind in KINDS:
        count = 0

        def counted(docs: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            nonlocal count
            for doc in docs:
                count += 1
                yield doc

        target.write(kind, counted(source.documents(kind)))
        copied[kind] = count
    return copied
