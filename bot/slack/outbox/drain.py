"""Draining the outbox: walk the queue, hand each due row to its channel's lane, wait.

Rows that post to the same channel share a lane, so they keep their order and share the
channel's pacing, while other channels go on. With one lane (as tests with a simulated
clock use) the lane is the calling thread and rows go one at a time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.mention import utcnow
from bot.settings import Settings
from bot.slack.outbox.outcome import DrainStats, Outcome, Tag
from bot.slack.outbox.pacing import UPDATE_METHOD, Pacer
from bot.slack.outbox.queue import ACTIVE, Kind, OutboxQueue, Status
from bot.slack.outbox.sender import Sender, without_retry_handlers
from bot.store.base import OutboxItem, Store


class _InlineLane:
    """A single lane that is the calling thread: a task runs when it is submitted."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))  # an exception propagates, as from a plain call
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


class _Plan:
    """What one pass over the queue found: when something is next due, and which
    mentions' thread replies must wait for an earlier reply."""

    def __init__(self) -> None:
        self.next_at: float | None = None
        self.waiting: set[str] = set()

    def due(self, at: float) -> None:
        self.next_at = at if self.next_at is None else min(self.next_at, at)

    def hold(self, parent: str | None) -> None:
        if parent:
            self.waiting.add(parent)


class Outbox(OutboxQueue):
    """The durable queue that also sends: enqueue (queue.py), then drain()."""

    def __init__(self, store: Store, client: WebClient, settings: Settings, *,
                 clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], object] | None = None,
                 rate_per_second: float | None = None, burst: int = 3,
                 update_rate_per_second: float = 0.8, update_burst: int = 5,
                 pacing_margin: float = 0.01,
                 reconcile_margin: timedelta = timedelta(minutes=5),
                 max_backoff: float = 60.0, lanes: int | None = None) -> None:
        """`rate_per_second` (default: settings.slack.post_rate, SLACK_POST_RATE, 1 when
        unset)/`burst` pace chat.postMessage per channel; `pacing_margin`
        keeps us that fraction under the rate, so clock jitter does not earn 429s.
        `clock` and `sleep(seconds)` say what time it is and how to let time pass; by
        default the real time, and a wait that a new row or cancel() cuts short. Tests
        pass a simulated clock and its sleep so they need not wait.
        `lanes`: how many channels are posted to at the same time (each channel's rows
        stay in order in one lane); default 4, or 1 (the calling thread) with an injected
        `sleep`, because concurrent lanes cannot share a simulated clock."""
        super().__init__(store, settings, clock=clock)
        # One token of Slack's burst stays in reserve: our clock and Slack's see each
        # post a few ms apart, and that jitter would otherwise earn an occasional 429.
        if rate_per_second is None:
            rate_per_second = settings.slack.post_rate
        self.pacer = Pacer(rate=rate_per_second * (1.0 - pacing_margin),
                           burst=max(1, burst - 1), update_rate=update_rate_per_second,
                           update_burst=update_burst, max_backoff=max_backoff)
        self.sender = Sender(store, settings, without_retry_handlers(client), self.pacer,
                             self.rows, clock=clock, reconcile_margin=reconcile_margin)
        self._sleep = sleep if sleep is not None else self._wake.wait
        self._drain_lock = threading.Lock()
        self._cancel = threading.Event()
        count = lanes if lanes is not None else (4 if sleep is None else 1)
        self._lanes: ThreadPoolExecutor | _InlineLane = (
            ThreadPoolExecutor(max_workers=count, thread_name_prefix="earshot-lane")
            if count > 1 else _InlineLane())
        self._busy: dict[str, Future] = {}  # lane -> the task running in it
        self._inflight: set[str] = set()  # row ids being processed in a lane
        self._stats_lock = threading.Lock()

    @property
    def client(self) -> WebClient:
        """The client the outbox posts with (without slack_sdk's sleeping retries)."""
        return self.sender.client

    @client.setter
    def client(self, client: WebClient) -> None:
        self.sender.client = client

    def drain(self, max_seconds: float | None = None) -> DrainStats:
        """Send everything due, waiting out pacing, Retry-After and backoff, until the
        queue is empty or `max_seconds` have passed (None: no limit). Safe to call from
        several threads; one drain runs at a time."""
        with self._drain_lock:
            stats = DrainStats()
            deadline = self._now() + max_seconds if max_seconds is not None else math.inf
            try:
                while not self._cancel.is_set():
                    self._wake.clear()
                    items = self.rows.load()
                    if not items:
                        break
                    next_at = self._pass(items, stats, deadline)
                    now = self._now()
                    if next_at is None and self._settle_lanes(block=True):
                        continue  # lanes finished: their rows (or waiting replies) move on
                    stats.next_due = None if next_at is None else max(0.0, next_at - now)
                    if next_at is None or next_at > deadline or now >= deadline:
                        break
                    if next_at > now:
                        self._sleep(next_at - now)
            finally:
                self._settle_lanes(block=True, every=True)  # callers see a consistent store
            return stats

    def close(self) -> None:
        """Finish the rows in flight and stop the lane threads."""
        self._lanes.shutdown(wait=True)

    def cancel(self) -> None:
        """Make a running drain return soon (used by OutboxWorker.stop)."""
        self._cancel.set()
        self.wake()

    def resume(self) -> None:
        """Undo cancel(): later drains run again."""
        self._cancel.clear()

    def wait_for_work(self, timeout: float) -> None:
        """Wait until something is queued (or wake() is called), at most `timeout` s."""
        self._wake.wait(timeout)
        self._wake.clear()

    def _now(self) -> float:
        return self._clock().timestamp()

    def _pass(self, items: list[OutboxItem], stats: DrainStats, deadline: float
              ) -> float | None:
        """One walk over the queue. Returns when something is next due (None: nothing
        will be due by itself)."""
        plan = _Plan()
        for item in items:
            now = self._now()
            if now >= deadline or self._cancel.is_set():
                plan.due(now)  # unfinished: drain() sees the deadline and stops
                break
            if now < self.pacer.down_until:
                plan.due(self.pacer.down_until)
                break
            parent = (item.payload.get("thread_of")
                      if item.kind in (Kind.THREAD, Kind.MESSAGE) else None)
            if parent and parent in plan.waiting:
                continue  # keep the thread in order: wait for the earlier reply
            not_before = item.not_before.timestamp() if item.not_before else 0.0
            wait = not_before - now if not_before > now else 0.0
            if not wait and item.kind != Kind.UPDATE and item.channel:
                # Cheap pre-check before any store read: most rows of a burst are only
                # waiting for their channel's next token.
                wait = self.pacer.gate(item.channel, now)
            if wait:
                plan.due(now + wait)
                plan.hold(parent)
                continue
            self._dispatch(item, parent, now, stats, plan)
        return plan.next_at

    def _dispatch(self, item: OutboxItem, parent: str | None, now: float,
                  stats: DrainStats, plan: _Plan) -> None:
        """Hand a due row to its lane, unless the lane is busy or the row waits for its
        parent message; fold in its outcome if it is known at once."""
        if item.id in self._inflight or self._waits_on_parent(item):
            plan.hold(parent)  # the parent's row (or the running task) decides what's next
            return
        lane = self._lane(item)
        if not lane.startswith(("waiting:", "row:")):
            wait = self.pacer.gate(lane, now, update=lane == UPDATE_METHOD)
            if wait:
                plan.due(now + wait)
                plan.hold(parent)
                return
        task = self._busy.get(lane)
        if task is not None and not task.done():
            plan.hold(parent)
            return
        self._inflight.add(item.id)
        task = self._busy[lane] = self._lanes.submit(self._run_in_lane, item, now, stats)
        if not task.done() or task.exception() is not None:
            plan.hold(parent)  # later replies wait for this one; its lane wakes the loop
            return
        outcome: Outcome = task.result()
        if outcome.tag is Tag.DONE:
            plan.due(self._now())  # something went out: other rows may be unblocked now
            return
        if outcome.tag is Tag.RETRY:
            plan.due(outcome.at)
        plan.hold(parent)

    def _run_in_lane(self, item: OutboxItem, now: float, stats: DrainStats) -> Outcome:
        own = DrainStats()
        outcome: Outcome | None = None
        try:
            outcome = self.sender.process(item, own, now)
            return outcome
        finally:
            with self._stats_lock:
                stats.add(own)
                self._inflight.discard(item.id)
            if outcome is None or outcome.tag is not Tag.WAIT:
                self.wake()  # the drain loop re-plans: this row is done or rescheduled

    def _settle_lanes(self, block: bool, every: bool = False) -> bool:
        """Forget finished lane tasks; with `block`, wait for one (`every`: all) to finish
        first. True if any task was running."""
        if not self._busy:
            return False
        if block:
            wait_futures(list(self._busy.values()),
                         return_when=ALL_COMPLETED if every else FIRST_COMPLETED)
        for lane in [k for k, f in self._busy.items() if f.done()]:
            del self._busy[lane]
        return True

    def _lane(self, item: OutboxItem) -> str:
        """Rows that post to the same channel share a lane (and so keep their order and
        share the channel's pacing); chat.update has its own."""
        if item.kind == Kind.UPDATE:
            return UPDATE_METHOD
        parent = item.payload.get("thread_of")
        if parent and not (item.status == Status.SENDING and item.channel):
            mention = self.store.get_mention(parent)
            return (mention.slack_channel if mention and mention.slack_channel
                    else f"waiting:{parent}")
        return item.channel or f"row:{item.id}"

    def _waits_on_parent(self, item: OutboxItem) -> bool:
        """True while the row must wait for its mention's message to be posted."""
        key = item.payload.get("thread_of") if item.kind != Kind.UPDATE else item.mention_key
        if not key or item.kind == Kind.MENTION:
            return False
        mention = self.store.get_mention(key)
        if mention is None or mention.slack_ts:
            return False
        row = self.store.get_outbox(f"mention:{key}")
        return row is not None and row.status in ACTIVE
