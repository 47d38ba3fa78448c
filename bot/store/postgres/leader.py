"""Leadership among replicas: whoever holds a PostgreSQL session advisory lock runs the
scheduled work and posts to Slack; the others only answer Slack's requests.

The lock lives on a dedicated connection (not the pool's), with TCP keepalives on both
ends: when the leader process dies, the kernel closes its socket and PostgreSQL drops
the lock at once; when its host or network vanishes, keepalives end the session within
about half a minute. Every replica tries to take the lock every `interval` seconds, so
another one takes over well within a minute. A leader that loses its connection treats
leadership as lost at once (another replica may hold the lock by then).

The same connection LISTENs on the outbox channel (a trigger NOTIFYs on every enqueue,
migration 0002), so the leader posts a row a follower queued without waiting for its
next poll of the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from bot.store.base import StoreUnavailableError
from bot.store.postgres.connect import conninfo
from bot.store.postgres.url import describe

log = logging.getLogger(__name__)

LEADER_LOCK = 0x6561_7273_686F_7402  # "earshot" + 2 (migrations use + 1)
OUTBOX_CHANNEL = "earshot_outbox"
_STOP_CHECK = 0.25  # seconds: how soon a waiting leadership thread notices stop()
# Server side: notice a vanished leader host in 10 + 3 x 5 s.
_SERVER_KEEPALIVES = ("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
                      " SET tcp_keepalives_count = 3")


class Leadership:
    """Call start(); on_gain/on_lose run on this object's thread when the role changes,
    on_notify when another replica queued something for Slack."""

    def __init__(self, url: str, *, on_gain: Callable[[], None],
                 on_lose: Callable[[], None], on_notify: Callable[[], None] | None = None,
                 interval: float = 5.0) -> None:
        self._url = url
        self._on_gain, self._on_lose = on_gain, on_lose
        self._on_notify = on_notify or (lambda: None)
        self.interval = interval
        self.is_leader = False
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None

    @property
    def role(self) -> str:
        return "leader" if self.is_leader else "follower"

    def start(self) -> Leadership:
        self._thread = threading.Thread(target=self._run, name="earshot-leadership",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Step down (the lock goes with the connection) and stop trying."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
        self._drop_connection()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except psycopg.Error as exc:
                self._lost(exc)
                self._stop.wait(self.interval)

    def _step(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            conn = self._conn = psycopg.connect(conninfo(self._url), autocommit=True)
            conn.execute(_SERVER_KEEPALIVES)
            conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        if not self.is_leader:
            if _try_lead(conn):
                self.is_leader = True
                log.info("this replica is now the leader: it runs the schedule and posts "
                         "to Slack")
                self._on_gain()
        else:
            conn.execute("SELECT 1")  # still connected, so still holding the lock
        # Wait for a notification up to `interval`, in short slices so that stop() need
        # not wait out the whole interval (a replica shutting down steps down at once).
        deadline = time.monotonic() + self.interval
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for _ in conn.notifies(timeout=min(left, _STOP_CHECK), stop_after=1):
                if self.is_leader:
                    self._on_notify()
                return

    def _lost(self, exc: BaseException) -> None:
        self._drop_connection()
        if self.is_leader:
            self.is_leader = False
            log.warning("leadership lost (%s); stopping the schedule and posting until "
                        "this replica is leader again", " ".join(str(exc).split()))
            self._on_lose()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass


@contextmanager
def posting_turn(url: str) -> Iterator[bool]:
    """For a one-off command (`fetch --once`, `summary --post`) beside running replicas:
    yields True while this process holds the leader lock (no `serve` leads, so it may post
    what it queued), False when a leader exists (it must only queue: the trigger wakes
    the leader, which posts). Two posters on one outbox could both send a row."""
    try:
        conn = psycopg.connect(conninfo(url), autocommit=True)
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"the database at {describe(url)} is not answering"
                                    ) from exc
    try:
        yield _try_lead(conn)
    finally:
        conn.close()  # the lock, if held, goes with the session


def _try_lead(conn: psycopg.Connection) -> bool:
    """Take the leader lock on this session if nobody holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
    return bool(row and row[0])
