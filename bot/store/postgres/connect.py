"""Connecting to PostgreSQL: connection options, one-line messages for what a user can
fix (wrong password, unreachable host, missing database), and the pool."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.store.base import StoreOpenError, StoreUnavailableError
from bot.store.postgres.url import describe, redact

log = logging.getLogger(__name__)

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


class Pool:
    """A psycopg_pool.ConnectionPool whose connections are autocommit and whose failures
    become StoreUnavailableError, logged once per outage. Connections are not checked
    before each use (that would cost a round trip per call): the pool drops a broken one
    when it is returned, and a failure has every idle connection checked, so the calls
    after an outage get fresh connections."""

    def __init__(self, url: str, *, max_size: int = 10, timeout: float = 10.0,
                 read_only: bool = False) -> None:
        options = "-c default_transaction_read_only=on" if read_only else None
        kwargs: dict[str, object] = {"autocommit": True}
        if options:
            kwargs["options"] = options
        self._url = url
        self._down = False
        self._down_lock = threading.Lock()
        self._pool = ConnectionPool(conninfo(url), min_size=1, max_size=max_size,
                                    kwargs=kwargs, timeout=timeout, open=False,
                                    name="earshot")
        self._pool.open(wait=False)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
                raise
            self._went_down(exc)
            raise StoreUnavailableError(
                f"the database at {describe(self._url)} is not answering") from exc
        else:
            self._came_back()

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
