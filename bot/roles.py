"""Which process runs the scheduled work (polls, summary, spike check, reminders,
retention), reads the live streams and posts to Slack.

With the embedded TinyDB store there is one process: it does everything ("single"). On
PostgreSQL any number of `serve` replicas share the database and exactly one of them,
the holder of the leader lock (bot.store.postgres.leader), runs the scheduler and the
outbox worker; the others ("follower") answer Slack's requests only, and their clicks
reach Slack through the leader's outbox. One poster means Slack's per-channel pace
holds across all replicas, and a row a dead leader was sending is reconciled by the
next leader exactly as after a crash.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.store.base import Store

log = logging.getLogger(__name__)


class Roles:
    """Starts and stops the scheduler and the outbox worker with leadership."""

    def __init__(self, store: Store, outbox: Any, worker: Any, scheduler: Any | None, *,
                 streams: list[Any] | None = None, elect: bool = True,
                 interval: float = 5.0) -> None:
        self.store, self.outbox, self.worker, self.scheduler = store, outbox, worker, scheduler
        self.streams = list(streams or [])  # bot.ingest.streaming.StreamRunner: leader only
        self.leadership: Any = None
        url = getattr(store, "url", None)
        if url is not None and elect:
            from bot.store.postgres.leader import Leadership

            self.leadership = Leadership(url, on_gain=self._gain, on_lose=self._lose,
                                         on_notify=outbox.queued_elsewhere, interval=interval)
        self._single = url is None

    @property
    def role(self) -> str:
        if self._single:
            return "single"
        return "follower" if self.leadership is None else self.leadership.role

    def start(self) -> Roles:
        if self.scheduler is not None:
            self.scheduler.start(paused=not self._single)
        if self._single:
            self._gain()
        elif self.leadership is not None:
            self.leadership.start()
        else:
            log.info("--no-scheduler: this replica never runs the schedule or posts")
        return self

    def _gain(self) -> None:
        try:
            self.outbox.queue_unposted()  # stored before a crash but never queued
        except Exception:  # noqa: BLE001 - e.g. the database is away: the worker retries
            log.warning("could not re-queue unposted mentions now", exc_info=True)
        self.worker.start()
        if self.scheduler is not None and not self._single:
            self.scheduler.resume()
        for stream in self.streams:
            stream.start()

    def _lose(self) -> None:
        if self.scheduler is not None:
            self.scheduler.pause()
        self._stop_streams()
        self.worker.stop()

    def stop(self) -> None:
        if self.leadership is not None:
            self.leadership.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self._stop_streams()
        self.worker.stop()

    def _stop_streams(self) -> None:
        for stream in self.streams:
            stream.stop(timeout=5)

    def health(self) -> dict[str, str]:
        """For GET /healthz: this replica's role and whether the database answers."""
        ping = getattr(self.store, "ping", None)
        database = "ok" if ping is None or ping() else "unavailable"
        return {"status": "ok" if database == "ok" else "degraded", "role": self.role,
                "database": database}
