"""Polling one source: fetch from its cursor, run the pipeline, then save the new cursor.

The cursor is saved only after every mention of the batch is stored, so a crash or a
failure at any point means the next poll fetches the same items again (and the pipeline
skips what was already stored): nothing missed, nothing twice. A failing source is
logged once per outage, backed off exponentially (or for as long as it asked), and
keeps its cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.ingest.pipeline import Pipeline, PipelineResult
from bot.mention import parse_time, utcnow
from bot.sources.base import RateLimited, Source, SourceError
from bot.store.base import Store, StoreUnavailableError

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


@dataclass
class PollOutcome:
    source: str
    ok: bool
    skipped: bool = False  # still backing off after a failure
    result: PipelineResult | None = None
    fetched: int = 0
    error: str | None = None
    retry_at: datetime | None = None


class SourcePoller:
    def __init__(
        self,
        source: Source,
        store: Store,
        pipeline: Pipeline,
        *,
        interval: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.source = source
        self.store = store
        self.pipeline = pipeline
        self.interval = interval
        self.clock = clock
        self.failures = 0  # consecutive
        self.retry_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.source.name

    def poll(self, *, force: bool = False, report: bool = True) -> PollOutcome:
        """One poll. With force, ignore any backoff (used by `fetch --once`). With
        report=False the caller reports a failure itself (`fetch --once` prints one line
        per source), so it is logged at debug level only."""
        now = self.clock()
        if not force and self.retry_at is not None and now < self.retry_at:
            return PollOutcome(self.name, ok=False, skipped=True, retry_at=self.retry_at)
        try:
            asked = self._asked_until()
            if asked is not None and now < asked:
                # The API's own wait binds even `fetch --once`: ignoring it risks a ban.
                return PollOutcome(self.name, ok=False, skipped=True, retry_at=asked,
                                   error=f"waiting until {asked.isoformat(timespec='seconds')}"
                                         ", as the API asked (Retry-After/backoff)")
            cursor = self.store.get_cursor(self.name)
            fetched = self.source.fetch(cursor)
            result = self.pipeline.process(fetched.mentions)
            self.store.set_cursor(self.name, fetched.cursor)
        except StoreUnavailableError as exc:
            # The database is away, not the source: no backoff, no failure counted (the
            # store logs the outage once); the cursor was not saved, so the next poll
            # fetches the same posts again and dedupe drops what was stored.
            log.debug("source %s: poll skipped, %s", self.name, exc)
            return PollOutcome(self.name, ok=False, skipped=True, error=str(exc))
        except RateLimited as exc:
            self._remember_wait(now, exc.retry_after)
            return self._failed(now, exc, wait=timedelta(seconds=max(exc.retry_after, 1)),
                                logged=not report)
        except SourceError as exc:
            self._remember_wait(now, 0.0)
            return self._failed(now, exc, logged=not report)
        except OSError as exc:
            # The store cannot be written (the storage says so once): keep the cursor,
            # so the next poll fetches these mentions again.
            return self._failed(now, exc, logged=True)
        except Exception as exc:  # a bug in one source must not stop the others
            log.exception("source %s: unexpected error", self.name)
            return self._failed(now, exc, logged=True)
        if asked is not None:
            self.store.set_meta(self._wait_key, None)
        if self.failures:
            log.info("source %s: recovered after %d failed poll(s)", self.name, self.failures)
        self.failures, self.retry_at = 0, None
        log.info("source %s: %d fetched, %d new, %d merged, %d already seen, %d dropped",
                 self.name, len(fetched.mentions), len(result.new), len(result.merged),
                 result.seen, len(result.dropped))
        return PollOutcome(self.name, ok=True, result=result, fetched=len(fetched.mentions))

    @property
    def _wait_key(self) -> str:
        return f"poll:asked_until:{self.name}"

    def _asked_until(self) -> datetime | None:
        value = self.store.get_meta(self._wait_key)
        return parse_time(value) if value else None

    def _remember_wait(self, now: datetime, seconds: float) -> None:
        """Keep the wait the API asked for (a Retry-After, a Stack Exchange `backoff` met
        in an earlier page of this poll) in the store: the cursor, which also carries it,
        is saved only on success, and the next `fetch --once` or a restart must honour
        it too."""
        pacer = getattr(self.source, "pacer", None)
        held = pacer.remaining() if pacer is not None else 0.0
        if pacer is not None and held <= pacer.min_interval:
            held = 0.0  # only the usual gap between calls, not a wait the API asked for
        wait = max(seconds, held)
        if wait > 0:
            until = now + timedelta(seconds=wait)
            self.store.set_meta(self._wait_key, until.isoformat())

    def _failed(self, now: datetime, exc: Exception, *, wait: timedelta | None = None,
                logged: bool = False) -> PollOutcome:
        self.failures += 1
        if wait is None:
            # interval, 2x, 4x ... capped: a dead API is not hammered, a blip is retried soon.
            wait = min(self.interval * (2 ** (self.failures - 1)), MAX_BACKOFF)
        self.retry_at = now + wait
        if self.failures == 1 and not logged:
            log.warning("source %s failing: %s; keeping its cursor, retrying after %s "
                        "(further failures of this outage are logged at debug level)",
                        self.name, exc, self.retry_at.isoformat(timespec="seconds"))
        else:
            log.debug("source %s still failing (%d): %s", self.name, self.failures, exc)
        return PollOutcome(self.name, ok=False, error=str(exc), retry_at=self.retry_at)
