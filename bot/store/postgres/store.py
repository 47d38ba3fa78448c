"""PostgresStore: the Store on PostgreSQL, for production and for several replicas.

Every call takes a connection from the pool (autocommit), so single statements commit
on their own (a new mention with its first outbox row is one statement, one round
trip); a read-modify-write (update_mention, update_outbox, update_meta) is one
transaction that locks the row with SELECT ... FOR UPDATE, applies the caller's change
and writes it back, so two processes given the same click still see one owner, and an
outbox item moves from pending to sending once. Durability is the database's own WAL:
a call returns after its commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from bot.mention import Event, Mention, State, parse_time, utcnow
from bot.store.base import OutboxItem, Store, StoreReadOnlyError
from bot.store.codec import event_to_doc, mention_from_doc, outbox_from_doc
from bot.store.doc_text import decode, encode
from bot.store.postgres.connect import Pool, connect
from bot.store.postgres.migrate import migrate
from bot.store.postgres.rows import mention_row, outbox_row

_PAGE = 2000  # rows per round trip in a full scan: bounded memory, few round trips
_OPEN = ("owner IS NULL AND state IN ('new', 'escalated') AND department IS NOT NULL")
_MENTION_COLUMNS = ("key, fingerprint, urls, created_at, arrived_at, state, owner, "
                    "department, slack_channel, slack_ts, doc")
_MENTION_VALUES = ("%(key)s, %(fingerprint)s, %(urls)s, %(created_at)s, %(arrived_at)s, "
                   "%(state)s, %(owner)s, %(department)s, %(slack_channel)s, %(slack_ts)s, "
                   "%(doc)s::json")


# The number is taken only if the key is new, so a duplicate uses no number.
_NEW_MENTION = (
    "WITH n AS (UPDATE counters SET value = value + 1 WHERE name = 'mentions'"
    " AND NOT EXISTS (SELECT 1 FROM mentions WHERE key = %(key)s) RETURNING value),"
    f" m AS (INSERT INTO mentions (number, {_MENTION_COLUMNS})"
    f" SELECT n.value, {_MENTION_VALUES} FROM n RETURNING number)")
_ADD_MENTION = _NEW_MENTION + " SELECT number FROM m"
# ... and its first post, only if the mention was stored (an existing row is left as
# it is, as enqueue does).
_ADD_MENTION_QUEUED = _NEW_MENTION + (
    ", o AS (INSERT INTO outbox (id, status, created_at, not_before, mention_key, doc)"
    " SELECT %(o_id)s, %(o_status)s, %(o_created_at)s, %(o_not_before)s,"
    " %(o_mention_key)s, %(o_doc)s::json FROM m ON CONFLICT (id) DO NOTHING)"
    " SELECT number FROM m")


def _mention(number: int, doc: dict[str, Any]) -> Mention:
    doc["number"] = number
    return mention_from_doc(doc)


def _mentions(rows: list[tuple[int, dict[str, Any]]]) -> list[Mention]:
    return [_mention(number, doc) for number, doc in rows]


class PostgresStore(Store):
    """Use PostgresStore.open(url). Any number of processes may open one database."""

    def __init__(self, pool: Pool, *, read_only: bool = False, url: str = "") -> None:
        self.url = url  # for a replica's leader election (bot.roles); never logged
        self._pool = pool
        self._read_only = read_only
        self._closed = False

    @classmethod
    def open(cls, url: str, *, read_only: bool = False, pool_size: int = 10) -> PostgresStore:
        """Connect to `url` (already normalised, see bot.store.postgres.url), apply any
        pending migrations under an advisory lock, and open a connection pool.
        Raises StoreOpenError (one line) if the database cannot be used."""
        with connect(url) as conn:
            migrate(conn)
        return cls(Pool(url, max_size=pool_size, read_only=read_only), read_only=read_only,
                   url=url)

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def available(self) -> bool:
        """Whether the last call reached the database."""
        return self._pool.available

    def ping(self) -> bool:
        """True if the database answers now (for /healthz)."""
        try:
            with self._conn() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # any failure means "not answering" to a health check
            return False

    def _conn(self) -> Any:
        if self._closed:
            raise RuntimeError("the store is closed")
        return self._pool.connection()

    def _write(self, method: str) -> Any:
        if self._closed:
            raise RuntimeError("the store is closed")
        if self._read_only:
            raise StoreReadOnlyError(
                f"{method}: this store was opened read-only (open_store(..., "
                "read_only=True)); it cannot be written")
        return self._pool.connection()

    def _rows(self, sql: str, params: Any = None) -> list[Any]:
        with self._conn() as conn:
            return conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall()

    # --- mentions --------------------------------------------------------------------
    def add_mention(self, mention: Mention) -> Mention:
        return self._add(mention, None)

    def add_mention_queued(self, mention: Mention, item: OutboxItem) -> Mention:
        return self._add(mention, item)

    def _add(self, mention: Mention, item: OutboxItem | None) -> Mention:
        """One statement in autocommit: its number, the mention and (with `item`) its
        outbox row, in one round trip and one synchronous commit. Nothing is written
        if the key is already stored."""
        row = mention_row(mention)  # TypeError here (not JSON) writes nothing
        sql = _ADD_MENTION
        if item is not None:
            row.update({f"o_{k}": v for k, v in outbox_row(item).items()})
            sql = _ADD_MENTION_QUEUED
        try:
            with self._write("add_mention") as conn:
                found = conn.execute(sql, row).fetchone()
        except psycopg.errors.UniqueViolation:  # the same key, stored meanwhile
            found = None
        if found is None:
            raise KeyError(f"mention {row['key']} is already stored")
        mention.number = found[0]  # callers that keep their object see the number too
        return _mention(found[0], decode(row["doc"]))

    def _one(self, where: str, params: Any) -> Mention | None:
        rows = self._rows(f"SELECT number, doc FROM mentions WHERE {where}"
                          " ORDER BY number LIMIT 1", params)
        return _mention(*rows[0]) if rows else None

    def get_mention(self, key: str) -> Mention | None:
        return self._one("key = %s", (key,))

    def get_by_number(self, number: int) -> Mention | None:
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        return self._one("number = %s", (number,))

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        if not fingerprint:
            return None
        return self._one("fingerprint = %s", (fingerprint,))

    def find_by_link(self, url: str) -> Mention | None:
        if not url:
            return None
        # MATERIALIZED: the matches first (the GIN index), then the oldest of them. A
        # prepared statement's generic plan otherwise walks the primary key in number
        # order and tests every row's urls until one matches (a scan of the table for
        # every new mention the pipeline checks).
        rows = self._rows("WITH hits AS MATERIALIZED (SELECT number, doc FROM mentions"
                          " WHERE urls @> ARRAY[%s]::text[])"
                          " SELECT number, doc FROM hits ORDER BY number LIMIT 1", (url,))
        return _mention(*rows[0]) if rows else None

    def update_mention(
        self, key: str, change: Callable[[Mention], Mention | None]
    ) -> Mention | None:
        with self._write("update_mention") as conn, conn.transaction():
            found = conn.execute("SELECT number, doc FROM mentions WHERE key = %s FOR UPDATE",
                                 (key,)).fetchone()
            if found is None:
                return None
            number = found[0]
            new = change(_mention(number, found[1]))
            if new is None:
                return None
            if new.key != key:
                raise ValueError(f"update_mention cannot change a mention's key ({key})")
            row = mention_row(new)
            row["number"] = number
            conn.execute(
                f"UPDATE mentions SET ({_MENTION_COLUMNS}) = ({_MENTION_VALUES})"
                " WHERE number = %(number)s", row)
        return _mention(number, decode(row["doc"]))

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        """Oldest first (created_at, then number), read in pages as the caller iterates
        (no connection is held between pages)."""
        last: tuple[datetime, int] | None = None
        low = parse_time(since) if since else None
        while True:
            if last is None:
                rows = self._rows("SELECT number, doc, created_at FROM mentions"
                                  " WHERE created_at >= coalesce(%s::timestamptz, '-infinity')"
                                  " ORDER BY created_at, number LIMIT %s", (low, _PAGE))
            else:
                rows = self._rows("SELECT number, doc, created_at FROM mentions"
                                  " WHERE (created_at, number) > (%s, %s)"
                                  " ORDER BY created_at, number LIMIT %s", (*last, _PAGE))
            for number, doc, _ in rows:
                yield _mention(number, doc)
            if len(rows) < _PAGE:
                return
            last = (rows[-1][2], rows[-1][0])

    def count_mentions(self) -> int:
        return int(self._rows("SELECT count(*) FROM mentions")[0][0])

    # --- the Slack side's queries (indexes named in docs/storage.md) ---------------------
    def open_mentions(self, department: str | None = None, *, state: State | None = None,
                      limit: int | None = None,
                      with_extra: str | None = None) -> list[Mention]:
        states = ["new", "escalated"] if state is None else [State(state).value]
        return _mentions(self._rows(
            f"SELECT number, doc FROM mentions WHERE {_OPEN}"
            " AND (%s::text IS NULL OR department = %s) AND state = ANY(%s)"
            " AND (%s::text IS NULL OR (doc->'extra')::jsonb ? %s)"
            " ORDER BY created_at, number LIMIT %s",
            (department, department, states, with_extra, with_extra, limit)))

    def count_open_by_department(self) -> dict[str, int]:
        rows = self._rows(
            f"SELECT o.department, o.n FROM (SELECT department, count(*) AS n FROM mentions"
            f" WHERE {_OPEN} GROUP BY department) o"
            " CROSS JOIN LATERAL (SELECT created_at, number FROM mentions"
            f" WHERE {_OPEN} AND department = o.department"
            " ORDER BY created_at, number LIMIT 1) head"
            " ORDER BY head.created_at, head.number")
        return {department: int(n) for department, n in rows}

    def claimed_by(self, user: str) -> list[Mention]:
        return _mentions(self._rows(
            "SELECT number, doc FROM mentions WHERE state = 'claimed' AND owner = %s"
            " ORDER BY created_at, number", (user,)))

    def arrived_since(self, since: datetime) -> list[Mention]:
        return _mentions(self._rows(
            "SELECT number, doc FROM mentions WHERE arrived_at >= %s"
            " ORDER BY created_at, number", (parse_time(since),)))

    def find_by_slack_message(self, channel: str, ts: str) -> Mention | None:
        if not (channel and ts):
            return None
        rows = self._rows("SELECT number, doc FROM mentions WHERE slack_channel = %s"
                          " AND slack_ts = %s ORDER BY created_at, number LIMIT 1",
                          (channel, ts))
        return _mention(*rows[0]) if rows else None

    # --- cursors and meta -------------------------------------------------------------------
    def _get_value(self, table: str, name: str) -> Any:
        rows = self._rows(f"SELECT value FROM {table} WHERE name = %s", (name,))
        return rows[0][0] if rows else None

    def _set_value(self, table: str, name: str, value: Any) -> None:
        text = encode(value)  # TypeError here (not JSON) writes nothing
        with self._write(f"set_{table.removesuffix('s')}") as conn:
            conn.execute(f"INSERT INTO {table} (name, value) VALUES (%s, %s::json)"
                         " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         (name, text))

    def get_cursor(self, source: str) -> dict[str, Any] | None:
        return self._get_value("cursors", source)

    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        self._set_value("cursors", source, cursor)

    def get_meta(self, key: str) -> Any:
        return self._get_value("meta", key)

    def set_meta(self, key: str, value: Any) -> None:
        self._set_value("meta", key, value)

    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        with self._write("update_meta") as conn, conn.transaction():
            # The row must exist to be locked: two first updates would otherwise both
            # see None. A concurrent insert of the same name waits here for our commit.
            conn.execute("INSERT INTO meta (name, value) VALUES (%s, NULL)"
                         " ON CONFLICT (name) DO NOTHING", (key,))
            old = conn.execute("SELECT value FROM meta WHERE name = %s FOR UPDATE",
                               (key,)).fetchone()
            text = encode(change(old[0] if old else None))
            conn.execute("UPDATE meta SET value = %s::json WHERE name = %s", (text, key))
        return decode(text)

    def delete_meta(self, key: str, when: Callable[[Any], bool] = lambda _: True) -> bool:
        with self._write("delete_meta") as conn, conn.transaction():
            row = conn.execute("SELECT value FROM meta WHERE name = %s FOR UPDATE",
                               (key,)).fetchone()
            if row is None or not when(row[0]):
                return False
            conn.execute("DELETE FROM meta WHERE name = %s", (key,))
        return True

    # --- outbox -----------------------------------------------------------------------------
    def enqueue(self, item: OutboxItem) -> OutboxItem:
        row = outbox_row(item)
        with self._write("enqueue") as conn:
            stored = conn.execute(
                "INSERT INTO outbox (id, status, created_at, not_before, mention_key, doc)"
                " VALUES (%(id)s, %(status)s, %(created_at)s, %(not_before)s,"
                " %(mention_key)s, %(doc)s::json)"
                " ON CONFLICT (id) DO NOTHING RETURNING doc", row).fetchone()
        if stored is None:  # already queued: left as it was
            return self.get_outbox(item.id) or item
        return outbox_from_doc(stored[0])

    def get_outbox(self, item_id: str) -> OutboxItem | None:
        rows = self._rows("SELECT doc FROM outbox WHERE id = %s", (item_id,))
        return outbox_from_doc(rows[0][0]) if rows else None

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Pending and sending items whose not_before has passed, oldest first
        (created_at, then enqueue order; items without created_at first)."""
        rows = self._rows("SELECT doc FROM outbox WHERE status IN ('pending', 'sending')"
                          " AND (not_before IS NULL OR not_before <= %s)"
                          " ORDER BY created_at NULLS FIRST, seq", (now or utcnow(),))
        return [outbox_from_doc(doc) for (doc,) in rows]

    def update_outbox(
        self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
    ) -> OutboxItem | None:
        with self._write("update_outbox") as conn, conn.transaction():
            found = conn.execute("SELECT doc FROM outbox WHERE id = %s FOR UPDATE",
                                 (item_id,)).fetchone()
            if found is None:
                return None
            new = change(outbox_from_doc(found[0]))
            if new is None:
                return None
            if new.id != item_id:
                raise ValueError(f"update_outbox cannot change an item's id ({item_id})")
            row = outbox_row(new)
            conn.execute("UPDATE outbox SET status = %(status)s, created_at = %(created_at)s,"
                         " not_before = %(not_before)s, mention_key = %(mention_key)s,"
                         " doc = %(doc)s::json WHERE id = %(id)s", row)
        return outbox_from_doc(decode(row["doc"]))

    # --- events -----------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        doc = event_to_doc(event)
        text = encode(doc)
        with self._write("add_event") as conn:
            conn.execute("INSERT INTO events (mention_key, at, doc) VALUES (%s, %s, %s::json)",
                         (event.mention_key, parse_time(doc["at"]), text))

    def events(
        self, mention_key: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        rows = self._rows("SELECT doc FROM events WHERE (%s::text IS NULL OR mention_key = %s)"
                          " AND at >= coalesce(%s::timestamptz, '-infinity') ORDER BY at, id",
                          (mention_key, mention_key, parse_time(since) if since else None))
        return [Event.from_dict(doc) for (doc,) in rows]

    # --- retention ----------------------------------------------------------------------------
    def delete_mentions(self, keys: list[str]) -> int:
        """One transaction: the mentions, their events and finished outbox rows."""
        with self._write("delete_mentions") as conn, conn.transaction():
            conn.execute("DELETE FROM events WHERE mention_key = ANY(%s)", (keys,))
            conn.execute("DELETE FROM outbox WHERE mention_key = ANY(%s)"
                         " AND status NOT IN ('pending', 'sending')", (keys,))
            return conn.execute("DELETE FROM mentions WHERE key = ANY(%s)", (keys,)).rowcount

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pool. Idempotent."""
        if not self._closed:
            self._closed = True
            self._pool.close()
