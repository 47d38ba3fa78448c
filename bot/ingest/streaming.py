"""Streams in: read live, match as posts arrive, judge/store/queue each match at once.

For each stream source (`[sources.bluesky_stream]`, `[sources.mastodon_stream]`) a
`StreamRunner` runs one reader thread per channel (bot.sources.streaming reads the
WebSocket) and one worker thread:

- the reader matches every post (Matcher.drop_reason, fast enough for the whole
  Bluesky firehose) and puts only the matches on an in-memory queue, with position
  markers twice a second;
- the worker takes them in order and runs the pipeline (dedupe, judge, store, queue for
  Slack: the outbox is woken and posts as soon as the channel's pace allows), so a
  match reaches the outbox well within a second, without waiting for the scheduler.

The stored cursor (`store.set_cursor(<source>, {channel key: position})`, about once a
second) only ever covers matches already stored: after a crash or kill -9 the stream
resumes from it (rewinding a few seconds), re-reads a little and the pipeline skips
what it already has. Nothing is lost, nothing is posted twice.

Back-pressure: when Slack or the store is slow, the reader keeps reading and matching
and the queue grows, with a warning at `warn_backlog` matches and each time the
backlog doubles. Only at `max_backlog` (memory) does the reader wait for the worker.
A failing store is retried with backoff; the matches wait in the queue.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.ingest.pipeline import Pipeline
from bot.judgment.matching import Matcher
from bot.settings import Settings
from bot.sources import build_stream_channels
from bot.sources.streaming import StreamChannel, StreamItem, StreamReader
from bot.store.base import Store
from bot.text import printable

log = logging.getLogger(__name__)

MARK_EVERY = 0.5  # seconds between position markers from a reader
SAVE_EVERY = 1.0  # seconds between cursor writes
WARN_BACKLOG = 1_000
MAX_BACKLOG = 50_000  # matches held in memory (a few kB each) before the reader waits
MAX_RETRY_WAIT = 30.0
# The GIL switch interval of a process running streams (sys.setswitchinterval, set when
# a stream starts): short, so the storing and posting threads are not starved by a reader.
SWITCH_INTERVAL = 0.0005


@dataclass
class StreamStats:
    read: int = 0  # events read
    matched: int = 0
    stored: int = 0  # new mentions stored (not repeats, not merged copies)
    repeats: int = 0  # already stored (the rewind's overlap, or seen by a poller)
    max_backlog: int = 0


class StreamRunner:
    def __init__(self, name: str, channels: list[StreamChannel], store: Store,
                 pipeline: Pipeline, *, matcher: Matcher | None = None,
                 warn_backlog: int = WARN_BACKLOG, max_backlog: int = MAX_BACKLOG,
                 save_every: float = SAVE_EVERY,
                 reader_options: dict[str, Any] | None = None,
                 on_stored: Callable[[Any], None] | None = None) -> None:
        self.name = name
        self.channels = channels
        self.store = store
        self.pipeline = pipeline
        self.matcher = matcher or pipeline.matcher
        self.warn_backlog = warn_backlog
        self.save_every = save_every
        self.reader_options = reader_options or {}
        self.on_stored = on_stored  # for benchmarks: called with each stored mention
        self.stats = StreamStats()
        self._queue: queue.Queue[tuple[str, Any, Any]] = queue.Queue(max_backlog)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.readers: list[StreamReader] = []
        self._saved: dict[str, Any] = {}
        self._read: dict[str, Any] = {}  # channel key -> last position read
        self._done: dict[str, Any] = {}  # channel key -> last position fully handled
        self._next_warning = warn_backlog
        self._store_failing = False

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> StreamRunner:
        """Start reading from the stored cursor (again, after a stop: leadership moves)."""
        if any(t.is_alive() for t in self._threads):
            return self
        self._saved = dict(self.store.get_cursor(self.name) or {})
        self._done, self._read, self.readers = dict(self._saved), {}, []
        self._stop.clear()
        worker = threading.Thread(target=self._work, name=f"earshot-{self.name}-worker",
                                  daemon=True)
        self._threads = [worker]
        for channel in self.channels:
            reader = StreamReader(channel, self._emitter(channel),
                                  self._position(channel.key), self._stop,
                                  name=self.name if len(self.channels) == 1
                                  else f"{self.name} {channel.key}", **self.reader_options)
            self.readers.append(reader)
            self._threads.append(threading.Thread(
                target=reader.run, name=f"earshot-{self.name}-{channel.key}", daemon=True))
        for thread in self._threads:
            thread.start()
        # The reader is busy matching all the time; with Python's default 5 ms GIL switch
        # interval the storing and posting threads (each store write or HTTP call gives
        # the GIL up and waits to get it back) took ~1 s per match instead of ~0.1 s.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        log.info("%s: streaming (%s)", self.name,
                 ", ".join(c.endpoints[0].split("?")[0] for c in self.channels))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading, finish the matches already read, save the cursor."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        if self._queue.empty() and not any(t.is_alive() for t in self._threads):
            # Every event read was handled (its match stored): the cursor may cover all.
            self._done.update(self._read)
        self._save(force=True)

    # --- reader side -----------------------------------------------------------------
    def _position(self, key: str) -> Callable[[], Any]:
        return lambda: self._read.get(key, self._saved.get(key))

    def _emitter(self, channel: StreamChannel) -> Callable[[StreamItem], None]:
        key, complete = channel.key, channel.complete
        next_mark = [time.monotonic() + MARK_EVERY]
        drop_reason = self.matcher.drop_reason
        stats = self.stats
        clock = time.monotonic

        def emit(item: StreamItem) -> None:
            stats.read += 1
            if item.mention is not None and drop_reason(_printable(item.mention)) is None:
                stats.matched += 1
                self._put((key, item.position, complete(item.mention)))
            if item.position is not None:
                self._read[key] = item.position
                now = clock()
                if now >= next_mark[0]:
                    next_mark[0] = now + MARK_EVERY
                    self._put((key, item.position, None))

        return emit

    def _put(self, entry: tuple[str, Any, Any]) -> None:
        size = self._queue.qsize()
        if size >= self._next_warning:
            log.warning("%s: %d matches waiting to be stored (Slack or the store is slow); "
                        "still reading the stream", self.name, size)
            self._next_warning *= 2
        elif size < self.warn_backlog // 2 and self._next_warning > self.warn_backlog:
            log.info("%s: backlog cleared", self.name)
            self._next_warning = self.warn_backlog
        self.stats.max_backlog = max(self.stats.max_backlog, size + 1)
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.5)  # blocks only at max_backlog
                return
            except queue.Full:
                continue

    # --- worker side -----------------------------------------------------------------
    def _work(self) -> None:
        last_save = time.monotonic()
        while True:
            try:
                key, position, mention = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set() and not any(t.is_alive() for t in self._threads[1:]):
                    break
                # A reader records a position only after queueing that event's match, so
                # with the queue still empty after this snapshot, all up to it is stored.
                read = dict(self._read)
                if self._queue.empty():
                    self._done.update(read)
                if time.monotonic() - last_save >= self.save_every:
                    self._save()
                    last_save = time.monotonic()
                continue
            if mention is not None and not self._store(mention):
                break  # stopped while the store was failing: the cursor stays before it
            if position is not None:
                self._done[key] = position
            if time.monotonic() - last_save >= self.save_every:
                self._save()
                last_save = time.monotonic()

    def _store(self, mention: Any) -> bool:
        failures = 0
        while True:
            try:
                result = self.pipeline.process_matched(mention)
            except Exception as exc:  # the store or the judge failed: retry, keep reading
                failures += 1
                wait = min(2.0 ** (failures - 1), MAX_RETRY_WAIT)
                if not self._store_failing:  # once per outage
                    self._store_failing = True
                    log.exception("%s: cannot store %s (%s); retrying with backoff, the "
                                  "stream keeps reading", self.name, mention.key, exc)
                else:
                    log.debug("%s: still cannot store %s: %s", self.name, mention.key, exc)
                if self._stop.wait(wait):
                    return False
                continue
            if self._store_failing:
                self._store_failing = False
                log.info("%s: storing again", self.name)
            self.stats.stored += len(result.new)
            self.stats.repeats += result.seen
            if self.on_stored is not None:
                for stored in result.new:
                    self.on_stored(stored)
            return True

    def _save(self, force: bool = False) -> None:
        if self._done == self._saved and not force:
            return
        cursor = dict(self._done)
        try:
            self.store.set_cursor(self.name, cursor)
        except Exception as exc:  # the next save tries again
            log.warning("%s: cannot save the stream position: %s", self.name, exc)
            return
        self._saved = cursor


def _printable(mention: Any) -> Any:
    """The draft with its matched fields as the pipeline will clean them (control and
    bidi characters removed), so a stream matches exactly what polling would."""
    mention.text, mention.title = printable(mention.text), printable(mention.title)
    mention.url, mention.author = printable(mention.url), printable(mention.author)
    return mention


def build_streams(settings: Settings, store: Store, pipeline: Pipeline,
                  **options: Any) -> list[StreamRunner]:
    """A runner per enabled stream source, sharing the pipeline with the pollers."""
    runners = []
    for src in settings.enabled_streams():
        channels = build_stream_channels(src, settings.brand)
        runners.append(StreamRunner(src.name, channels, store, pipeline, **options))
    return runners
