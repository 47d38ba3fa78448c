"""The background thread that keeps the outbox drained."""

from __future__ import annotations

import threading

from bot.slack.outbox.drain import Outbox
from bot.slack.outbox.queue import log
from bot.store.base import StoreUnavailableError


class OutboxWorker:
    """A daemon thread that drains the outbox whenever woken, or every `interval` s."""

    def __init__(self, outbox: Outbox, interval: float = 5.0) -> None:
        self.outbox = outbox
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OutboxWorker:
        self._stop.clear()
        self.outbox.resume()
        self._thread = threading.Thread(target=self._run, name="earshot-outbox", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.interval
            try:
                stats = self.outbox.drain(max_seconds=self.interval)
                if stats.next_due is not None:
                    wait = min(wait, stats.next_due)
            except StoreUnavailableError as exc:  # logged once by the store; wait for it
                log.debug("outbox drain waits for the database: %s", exc)
            except OSError:  # the store cannot be written: the storage said so once
                log.debug("outbox drain stopped by a store write failure", exc_info=True)
            except Exception:  # keep posting alive whatever one drain hit
                log.exception("outbox drain failed; trying again in %ss", self.interval)
            if self._stop.is_set():
                break
            self.outbox.wait_for_work(wait)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.outbox.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.outbox.resume()
