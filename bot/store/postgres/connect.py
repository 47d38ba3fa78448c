"""Connecting to PostgreSQL: connection options, one-line messages for what a user can
fix (wrong password, unreachable host, missing database), and the pool."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.store.base import StoreOpenError, StoreUnavailableError
from bot.store.postgres.url import describe, redact

log = logging.getLogger(__name__)
# psycopg_pool warns on every failed reconnection attempt (several a second during an
# outage); Pool logs each outage once instead.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

# Defaults a URL may override: fail fast on an unreachable host, and notice a dead peer
# (a failed-over database, a dropped NAT entry) within about a minute instead of hanging.
DEFAULT_OPTIONS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "application_name": "earshot",
}


def conninfo(url: str) -> str:
    """The normalised URL plus DEFAULT_OPTIONS for every option it does not set."""
    given = conninfo_to_dict(url)
    extra = {k: v for k, v in DEFAULT_OPTIONS.items() if k not in given}
    return make_conninfo(url, **extra)


def explain(exc: BaseException, url: str) -> str:
    """One line saying why a connection to `url` failed, without the password."""
    text = " ".join(str(exc).split())
    where = describe(url)
    user = conninfo_to_dict(url).get("user") or "(default user)"
    lower = text.lower()
    if "password authentication failed" in lower or "no password supplied" in lower:
        return (f"PostgreSQL at {where} refused the password for user {user} "
                "(check DATABASE_URL)")
    if "does not exist" in lower and "database" in lower:
        return f"PostgreSQL at {where}: the database does not exist (create it first)"
    for reason in ("connection refused", "could not translate host name",
                   "name or service not known", "timeout expired", "no route to host",
                   "network is unreachable", "temporary failure in name resolution"):
        if reason in lower:
            return (f"cannot reach PostgreSQL at {where}: {reason} "
                    "(is it running? check DATABASE_URL)")
    detail = text.removeprefix("connection failed: ")
    return f"cannot connect to PostgreSQL at {where}: {redact(detail)}"


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """A single autocommit connection; StoreOpenError with one line if it fails."""
    try:
        return psycopg.connect(conninfo(url), autocommit=True, **kwargs)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise StoreOpenError(explain(exc, url)) from None


DOWN_TIMEOUT = 2.0
# A connection idle longer than this is pinged before use: after a restart or failover of
# the database the first call then gets a fresh connection instead of an error, and busy
# connections cost no extra round trip.
CHECK_IDLE_SECONDS = 2.0


def _mark_returned(conn: psycopg.Connection) -> None:
    conn._earshot_idle_since = time.monotonic()  # type: ignore[attr-defined]


def _check_if_idle(conn: psycopg.Connection) -> None:
    since = getattr(conn, "_earshot_idle_since", None)
    if since is None or time.monotonic() - since > CHECK_IDLE_SECONDS:
        ConnectionPool.check_connection(conn)


class Pool:
    """A psycopg_pool.ConnectionPool whose connections are autocommit and whose failures
    become StoreUnavailableError, logged once per outage. A connection idle for more
    than CHECK_IDLE_SECONDS is checked before use (a busy one is not: that would cost a
    round trip per call); the pool drops a broken one when it is returned, and a failure
    has every idle connection checked, so the calls after an outage get fresh ones."""

    def __init__(self, url: str, *, max_size: int = 10, timeout: float = 10.0,
                 read_only: bool = False) -> None:
        kwargs: dict[str, object] = {"autocommit": True}
        if read_only:
            kwargs["options"] = "-c default_transaction_read_only=on"
        self._url = url
        self._conninfo = conninfo(url)
        self._options = {"min_size": 1, "max_size": max_size, "kwargs": kwargs,
                         "timeout": timeout}
        self._down = False
        self._down_lock = threading.Lock()
        self._probed = 0.0
        self._pool = self._new_pool()

    def _new_pool(self) -> ConnectionPool:
        pool = ConnectionPool(self._conninfo, open=False, check=_check_if_idle,
                              reset=_mark_returned, name="earshot",
                              **self._options)  # type: ignore[arg-type]
        pool.open(wait=False)
        return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        # While the database is known to be away, give up waiting for a connection soon:
        # a click is told "try again in a moment" within a couple of seconds.
        timeout = None
        if self._down:
            timeout = DOWN_TIMEOUT
            self._probe()
        try:
            with self._pool.connection(timeout=timeout) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
                raise
            self._went_down(exc)
            raise StoreUnavailableError(
                f"the database at {describe(self._url)} is not answering") from exc
        else:
            self._came_back()

    def _probe(self) -> None:
        """During an outage, at most once a second: if a fresh connection succeeds, the
        database is back; replace the pool, whose reconnection attempts back off
        exponentially (after a long outage its next try could be minutes away)."""
        now = time.monotonic()
        with self._down_lock:
            if now - self._probed < 1.0:
                return
            self._probed = now
        try:
            psycopg.connect(self._conninfo, connect_timeout=2).close()
        except psycopg.Error:
            return
        with self._down_lock:
            old, self._pool = self._pool, self._new_pool()
        threading.Thread(target=old.close, kwargs={"timeout": 5}, daemon=True).start()

    def _went_down(self, exc: BaseException) -> None:
        with self._down_lock:
            first, self._down = not self._down, True
        try:
            self._pool.check()  # drop the other idle connections the outage broke
        except Exception:  # noqa: BLE001 - best effort; the next call reconnects anyway
            pass
        if first:
            log.error("database unavailable: %s; calls fail until it is back",
                      explain(exc, self._url))

    def _came_back(self) -> None:
        if self._down:
            with self._down_lock:
                was, self._down = self._down, False
            if was:
                log.warning("database at %s is answering again", describe(self._url))

    @property
    def available(self) -> bool:
        """False from a failed call until the next one succeeds."""
        return not self._down

    def close(self) -> None:
        self._pool.close()
