"""Posting to Slack through a durable queue: nothing lost, nothing posted twice.

Every post is a row in the store's outbox first, so a restart resumes where it stopped.
chat.postMessage has no idempotency key, so a row goes pending -> sending (saved BEFORE
the call, with the row id carried in the message metadata) -> sent (after Slack said
ok). A row still "sending" afterwards (a crash, a timeout, a 5xx: Slack may or may not
have accepted it) is reconciled before any new attempt: the outbox looks for its id in
the channel's history (or the thread's replies) and only posts if it is not there.

Pacing is per channel (a token bucket, default 1 message/s with bursts of 3, like
Slack's limit); a 429 holds back only that channel (or chat.update) for Retry-After while
the others go on. 5xx and timeouts back off exponentially and pause posting while Slack
is down; the queue simply waits. Permanent errors (channel_not_found, invalid_auth...)
fail the row and are logged once. The outbox handles these itself, so its own client
copy has slack_sdk's sleeping retry handlers removed.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.mention import Event, Mention, utcnow
from bot.settings import Settings
from bot.slack import blocks
from bot.store.base import OutboxItem, Store

log = logging.getLogger(__name__)

MENTION_EVENT = blocks.METADATA_EVENT  # metadata event_type of the mention message
MESSAGE_EVENT = "earshot_message"  # metadata event_type of every other post
UPDATE_METHOD = "chat.update"  # key for the chat.update pacing bucket and 429 hold

# ok:false errors that mean "try again later" rather than "this will never work".
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                    "ratelimited", "rate_limited"}
# Errors that will fail every row: fail this one, then pause instead of burning the queue.
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
               "account_inactive", "org_login_required", "ekm_access_denied"}
# History errors that mean "cannot check", not "not there": the row is posted anyway.
CANNOT_RECONCILE = {"missing_scope", "not_in_channel", "no_permission"}

_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
_WAIT = object()  # "waiting for something else (the parent message)": no due time of its own
_ABSENT = object()  # reconciliation found no earlier post: post now


@dataclass
class DrainStats:
    """What one drain() did. `next_due` is seconds until the next row is due (None when
    the queue is empty or only waits on other rows)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    reconciled: int = 0
    next_due: float | None = None


class _Bucket:
    """Token bucket in the outbox's clock: `burst` tokens refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.stamp: float | None = None
        self.lock = threading.Lock()  # the drain loop and a lane thread both look

    def _refill(self, now: float) -> None:
        if self.stamp is None:
            self.stamp = now
        elif now > self.stamp:  # a caller with an older `now` must not mint tokens
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, now: float) -> float:
        with self.lock:
            self._refill(now)
            if self.tokens >= 1.0 - 1e-6:  # epoch floats are only ~0.2 us precise
                return 0.0
            # At least 1 ms, so that `now + wait` is a later time even in float arithmetic.
            return max(0.001, (1.0 - self.tokens) / self.rate)

    def take(self, now: float) -> None:
        with self.lock:
            self._refill(now)
            self.tokens = max(0.0, self.tokens - 1.0)


def _without_retry_handlers(client: WebClient) -> WebClient:
    """A copy of the client that does not sleep on 429 or retry a post by itself: a
    blind retry of chat.postMessage after a timeout could double the post. Only a failure
    to connect or send (urllib's URLError: the request never fully reached Slack) is
    retried by slack_sdk, once; a lost answer (timeout, reset while reading) is not."""
    if not isinstance(client, WebClient):
        return client  # a test double: use as is
    plain = copy.copy(client)
    plain.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=1,
                                                        error_types=[URLError])]
    return plain


class Outbox:
    def __init__(self, store: Store, client: WebClient, settings: Settings, *,
                 clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] = time.sleep,
                 rate_per_second: float = 1.0, burst: int = 3,
                 update_rate_per_second: float = 0.8, update_burst: int = 5,
                 pacing_margin: float = 0.01,
                 reconcile_margin: timedelta = timedelta(minutes=5),
                 max_backoff: float = 60.0, lanes: int = 4) -> None:
        """`rate_per_second`/`burst` pace chat.postMessage per channel; `pacing_margin`
        keeps us that fraction under the rate, so clock jitter does not earn 429s.
        `lanes`: how many channels are posted to at the same time (each channel's rows
        stay in order in one lane). `clock` and `sleep` are injectable so tests need not
        wait; with an injected sleep, rows go one at a time in the calling thread."""
        self.store = store
        self.client = _without_retry_handlers(client)
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self.rate = rate_per_second * (1.0 - pacing_margin)
        # One token of Slack's burst stays in reserve: our clock and Slack's see each
        # post a few ms apart, and that jitter would otherwise earn an occasional 429.
        self.burst = max(1, burst - 1)
        self.update_rate = update_rate_per_second
        self.update_burst = update_burst
        self.reconcile_margin = reconcile_margin
        self.max_backoff = max_backoff
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._cancel = threading.Event()
        self._buckets: dict[str, _Bucket] = {}
        self._held: dict[str, float] = {}  # channel or UPDATE_METHOD -> held until (429)
        self._down_until = 0.0  # Slack looked down: post nothing before this
        self._failures = 0  # consecutive transient failures (drives the pause)
        self._outage_logged = False
        self._logged: set[tuple[str, str]] = set()  # (error, channel) already logged
        self._seq = itertools.count(time.time_ns())  # orders rows made in one instant
        self._cache: list[OutboxItem] | None = None
        self._cache_at = 0.0
        self._dirty = True
        self._workspace_url: str | None = None  # from auth.test, for permalinks
        self._cache_lock = threading.Lock()
        # Bookkeeping after Slack said ok (record the ts on the mention, mark the row sent)
        # runs on one helper thread so the next post need not wait for those fsyncs. Until
        # it is done the row is "sending", which a crash turns into a reconciliation.
        self._recorder = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="earshot-outbox-record")
        self._recording: dict[str, Future] = {}
        # Lanes: per-channel concurrency, so one channel's store writes and HTTP round
        # trips do not hold up the others. Only in real time (see the docstring).
        self._lanes = (ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="earshot-lane")
                       if lanes > 1 and sleep is time.sleep else None)
        self._busy: dict[str, Future] = {}  # lane -> the task running in it
        self._inflight: set[str] = set()  # row ids being processed in a lane
        self._stats_lock = threading.Lock()

    # --- enqueueing ----------------------------------------------------------------------
    def post_mention(self, mention: Mention) -> None:
        """Queue the mention's channel message. Idempotent per mention key. The mention
        must be in the store; it is rendered from the store when sent."""
        channel = self._department_channel(mention.department)
        self._enqueue(f"mention:{mention.key}", "mention", channel, mention.key, {})

    def queue_unposted(self) -> int:
        """Queue every stored mention that has neither a Slack message nor an outbox row;
        returns how many. The pipeline stores a mention, then queues it: a crash between
        the two (or a poll run without an outbox) would leave it stored, seen on every
        refetch, and never posted. Run once at start-up, before draining."""
        queued = 0
        for mention in self.store.iter_mentions():
            if mention.slack_ts or self.store.get_outbox(f"mention:{mention.key}"):
                continue
            self.post_mention(mention)
            queued += 1
        if queued:
            log.warning("queued %d stored mention(s) that were never queued for Slack",
                        queued)
        return queued

    def refresh(self, mention_key: str) -> None:
        """Queue a chat.update of the mention message, rendered from the store when it is
        sent; many refreshes before it goes out make one update."""
        item_id = f"update:{mention_key}"
        self._enqueue(item_id, "update", "", mention_key, {})
        now = self._clock()

        def again(item: OutboxItem) -> OutboxItem | None:
            if item.status == "pending":
                return None  # coalesced: the queued update will render the latest state
            if item.status == "sending":
                item.payload["again"] = True  # the update in flight may predate this change
                return item
            item.status, item.attempts, item.not_before = "pending", 0, None
            item.created_at, item.result = now, {}
            item.payload = {"seq": next(self._seq)}
            return item

        self.store.update_outbox(item_id, again)
        self._dirty = True
        self.wake()

    def thread(self, mention_key: str, text: str, *, item_id: str | None = None,
               blocks: list | None = None) -> None:
        """Queue a reply in the mention's thread (`text` is mrkdwn the caller has escaped,
        e.g. blocks.thread_line). It waits until the mention message is posted; replies
        of one mention go out in the order they were queued."""
        item_id = item_id or f"thread:{mention_key}:{uuid.uuid4().hex}"
        self._enqueue(item_id, "thread", "", mention_key,
                      {"text": text, "blocks": blocks, "thread_of": mention_key})

    def message(self, channel: str, text: str, *, blocks: list | None = None,
                item_id: str | None = None, thread_of: str | None = None) -> None:
        """Queue any other post (escalation, summary, alert). With `thread_of` (a mention
        key) it is a reply in that mention's thread, in the mention's channel. Pass a
        stable `item_id` to make re-queueing the same message a no-op."""
        item_id = item_id or f"message:{uuid.uuid4().hex}"
        self._enqueue(item_id, "message", channel, thread_of,
                      {"text": text, "blocks": blocks, "thread_of": thread_of})

    def wake(self) -> None:
        """Interrupt a drain's wait (or an idle worker) because something changed."""
        self._wake.set()

    def _enqueue(self, item_id: str, kind: str, channel: str, mention_key: str | None,
                 payload: dict[str, Any]) -> None:
        payload = {**payload, "seq": next(self._seq)}
        self.store.enqueue(OutboxItem(id=item_id, kind=kind, channel=channel,
                                      mention_key=mention_key, payload=payload,
                                      created_at=self._clock()))
        self._dirty = True
        self.wake()

    def _department_channel(self, department: str) -> str:
        dept = self.settings.departments.get(department) or self.settings.default_department
        return dept.channel

    # --- draining ------------------------------------------------------------------------
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
                    self._settle_recording(block=False)
                    items = self._load()
                    if not items:
                        if self._settle_recording(block=True):
                            continue  # recorded posts may have failed back into the queue
                        break
                    next_at = self._pass(items, stats, deadline)
                    now = self._now()
                    if next_at is None and self._settle_recording(block=True):
                        continue  # rows waiting on a parent may be ready now
                    if next_at is None and self._settle_lanes(block=True):
                        continue  # lanes finished: their rows (or waiting replies) move on
                    stats.next_due = None if next_at is None else max(0.0, next_at - now)
                    if next_at is None or next_at > deadline or now >= deadline:
                        break
                    if next_at > now:
                        self._wait(next_at - now)
            finally:
                self._settle_lanes(block=True, every=True)
                self._settle_recording(block=True)  # callers see a consistent store
            return stats

    def close(self) -> None:
        """Finish pending bookkeeping and stop the helper threads."""
        self._recorder.shutdown(wait=True)
        if self._lanes is not None:
            self._lanes.shutdown(wait=True)

    def cancel(self) -> None:
        """Make a running drain return soon (used by OutboxWorker.stop)."""
        self._cancel.set()
        self.wake()

    def _now(self) -> float:
        return self._clock().timestamp()

    def _wait(self, seconds: float) -> None:
        if self._sleep is time.sleep:
            self._wake.wait(seconds)  # real time: a new row or stop() cuts the wait short
        else:
            self._sleep(seconds)

    def _load(self) -> list[OutboxItem]:
        """Pending rows, oldest first. Re-read when something was queued here or every
        few seconds (another process may share the store); otherwise the cache."""
        now = time.monotonic()
        with self._cache_lock:
            if self._dirty or self._cache is None or now - self._cache_at > 5.0:
                self._dirty = False
                rows = self.store.pending_outbox(_FAR_FUTURE)  # backed-off rows too: order
                epoch = datetime.min.replace(tzinfo=UTC)
                rows.sort(key=lambda i: (i.created_at or epoch, i.payload.get("seq", 0)))
                self._cache, self._cache_at = rows, now
            return [i for i in self._cache if i.id not in self._recording]

    def _forget(self, item: OutboxItem, replacement: OutboxItem | None = None) -> None:
        with self._cache_lock:
            if self._cache is None:
                return
            for i, cached in enumerate(self._cache):
                if cached.id == item.id:
                    if replacement is None or replacement.status not in ("pending", "sending"):
                        del self._cache[i]
                    else:
                        self._cache[i] = replacement
                    return

    def _record_later(self, item: OutboxItem, fn: Callable[..., None], *args: Any) -> None:
        if self._lanes is not None:
            fn(*args)  # already off the main loop, in this channel's lane
            return
        self._forget(item)

        def run() -> None:
            try:
                fn(*args)
                self._forget(item)  # in case a reload picked up the row mid-way
            except Exception:  # the row stays "sending" and is reconciled, not doubled
                log.exception("could not record the post of %s; it will be reconciled", item.id)
                self._dirty = True
            finally:
                self.wake()  # thread replies may be waiting for this parent's ts

        self._recording[item.id] = self._recorder.submit(run)

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
        if item.kind == "update":
            return UPDATE_METHOD
        parent = item.payload.get("thread_of")
        if parent and not (item.status == "sending" and item.channel):
            mention = self.store.get_mention(parent)
            return (mention.slack_channel if mention and mention.slack_channel
                    else f"waiting:{parent}")
        return item.channel or f"row:{item.id}"

    def _waits_on_parent(self, item: OutboxItem) -> bool:
        """True while the row must wait for its mention's message to be posted."""
        key = item.payload.get("thread_of") if item.kind != "update" else item.mention_key
        if not key or item.kind == "mention":
            return False
        mention = self.store.get_mention(key)
        if mention is None or mention.slack_ts:
            return False
        row = self.store.get_outbox(f"mention:{key}")
        return row is not None and row.status in ("pending", "sending")

    def _run_in_lane(self, item: OutboxItem, now: float, stats: DrainStats) -> None:
        own = DrainStats()
        outcome: object = None
        try:
            outcome = self._process_guarded(item, own, now)
        finally:
            with self._stats_lock:
                for name in ("sent", "retried", "failed", "rate_limited", "reconciled"):
                    setattr(stats, name, getattr(stats, name) + getattr(own, name))
                self._inflight.discard(item.id)
            if outcome is not _WAIT:
                self.wake()  # the drain loop re-plans: this row is done or rescheduled

    def _process_guarded(self, item: OutboxItem, stats: DrainStats, now: float) -> object:
        try:
            return self._process(item, stats, now)
        except Exception as exc:  # a bug or a broken row must not stop the queue
            log.exception("outbox row %s could not be processed", item.id)
            return self._fail(item, f"internal error: {exc}", stats)

    def _settle_recording(self, block: bool) -> bool:
        """Forget finished bookkeeping; with `block`, wait for all of it. True if any was
        pending (rows waiting on it may be ready now)."""
        if not self._recording:
            return False
        if block:
            wait_futures(list(self._recording.values()))
        for item_id in [i for i, f in self._recording.items() if f.done()]:
            del self._recording[item_id]
        return True

    def _pass(self, items: list[OutboxItem], stats: DrainStats, deadline: float
              ) -> float | None:
        """One walk over the queue. Returns when something is next due (None: nothing
        will be due by itself)."""
        next_at: float | None = None
        waiting: set[str] = set()  # mentions whose earlier thread reply has not gone out

        def due(at: float) -> None:
            nonlocal next_at
            next_at = at if next_at is None else min(next_at, at)

        for item in items:
            now = self._now()
            if now >= deadline or self._cancel.is_set():
                due(now)  # unfinished: drain() sees the deadline and stops
                break
            if now < self._down_until:
                due(self._down_until)
                break
            parent = item.payload.get("thread_of") if item.kind in ("thread", "message") else None
            if parent and parent in waiting:
                continue  # keep the thread in order: wait for the earlier reply
            not_before = item.not_before.timestamp() if item.not_before else 0.0
            if not_before > now:
                due(not_before)
                if parent:
                    waiting.add(parent)
                continue
            if item.kind != "update" and item.channel:
                # Cheap pre-check before any store read: most rows of a burst are only
                # waiting for their channel's next token.
                wait = self._gate(item.channel, now)
                if wait:
                    due(now + wait)
                    if parent:
                        waiting.add(parent)
                    continue
            if self._lanes is not None:
                if parent:
                    waiting.add(parent)  # later replies wait for this one
                if item.id in self._inflight or self._waits_on_parent(item):
                    continue  # the parent's row (or the running task) decides what's next
                lane = self._lane(item)
                if not lane.startswith(("waiting:", "row:")):
                    wait = self._gate(lane, now, update=lane == UPDATE_METHOD)
                    if wait:
                        due(now + wait)
                        continue
                task = self._busy.get(lane)
                if task is None or task.done():
                    self._inflight.add(item.id)
                    self._busy[lane] = self._lanes.submit(self._run_in_lane, item, now, stats)
                continue
            outcome = self._process_guarded(item, stats, now)
            if outcome is None:
                due(self._now())  # something went out: other rows may be unblocked now
                continue
            if outcome is not _WAIT:
                due(float(outcome))  # type: ignore[arg-type]
            if parent:
                waiting.add(parent)
        return next_at

    # --- one row -----------------------------------------------------------------------------
    def _process(self, item: OutboxItem, stats: DrainStats, now: float) -> object:
        """Try one row. Returns None when the row is finished (sent or failed), _WAIT when
        it waits on another row, or the time (epoch seconds) to try again."""
        if item.kind == "mention":
            return self._process_mention(item, stats, now)
        if item.kind == "update":
            return self._process_update(item, stats, now)
        if item.kind in ("thread", "message"):
            return self._process_post(item, stats, now)
        return self._fail(item, f"unknown outbox kind {item.kind!r}", stats)

    def _process_mention(self, item: OutboxItem, stats: DrainStats, now: float) -> object:
        mention = self.store.get_mention(item.mention_key or "")
        if mention is None:
            return self._fail(item, "mention not in the store", stats)
        if mention.slack_ts:  # posted already (reconciled, or a crash before "sent")
            self._finish(item, {"channel": mention.slack_channel, "ts": mention.slack_ts})
            return None
        # A row interrupted mid-post is checked where it was sent, not where it would go now.
        channel = item.channel if item.status == "sending" and item.channel else (
            self._department_channel(mention.department))
        wait = self._gate(channel, now)
        if wait:
            return now + wait
        if item.status == "sending":
            found = self._reconcile(item, channel, None, stats)
            if isinstance(found, str):
                self._mention_posted(item, mention, channel, found)
                stats.reconciled += 1
                return None
            if found is not _ABSENT:
                return found  # the check failed: a retry time, or None if the row failed
        message = blocks.mention_message(mention, self.settings,
                                         self.store.events(mention.key))
        payload = dict(message["metadata"]["event_payload"], outbox_id=item.id)
        result = self._post(item, stats, now, channel=channel, text=message["text"],
                            blocks=message["blocks"], thread_ts=None,
                            metadata={"event_type": MENTION_EVENT, "event_payload": payload},
                            unfurl=False)
        if isinstance(result, str):
            self._record_later(item, self._mention_posted, item, mention, channel, result)
            return None
        return result

    def _process_post(self, item: OutboxItem, stats: DrainStats, now: float) -> object:
        parent_key = item.payload.get("thread_of")
        thread_ts = None
        channel = item.channel
        if parent_key:
            parent = self.store.get_mention(parent_key)
            if parent is None:
                return self._fail(item, f"thread of unknown mention {parent_key}", stats)
            if not parent.slack_ts:
                row = self.store.get_outbox(f"mention:{parent_key}")
                if row is None or row.status == "failed":
                    return self._fail(item, "the mention message was never posted", stats)
                return _WAIT
            channel, thread_ts = parent.slack_channel or channel, parent.slack_ts
        if not channel:
            return self._fail(item, "no channel", stats)
        wait = self._gate(channel, now)
        if wait:
            return now + wait
        if item.status == "sending":
            found = self._reconcile(item, channel, thread_ts, stats)
            if isinstance(found, str):
                self._finish(item, {"channel": channel, "ts": found})
                stats.reconciled += 1
                return None
            if found is not _ABSENT:
                return found
        payload: dict[str, Any] = {"outbox_id": item.id}
        if parent_key:
            payload["mention_key"] = parent_key
        result = self._post(item, stats, now, channel=channel,
                            text=item.payload.get("text") or "",
                            blocks=item.payload.get("blocks"), thread_ts=thread_ts,
                            metadata={"event_type": MESSAGE_EVENT, "event_payload": payload},
                            unfurl=True)
        if isinstance(result, str):
            self._record_later(item, self._finish, item, {"channel": channel, "ts": result})
            return None
        return result

    def _process_update(self, item: OutboxItem, stats: DrainStats, now: float) -> object:
        mention = self.store.get_mention(item.mention_key or "")
        if mention is None:
            return self._fail(item, "mention not in the store", stats)
        if not mention.slack_ts:
            row = self.store.get_outbox(f"mention:{mention.key}")
            if row is not None and row.status in ("pending", "sending"):
                return _WAIT  # the post will render the latest state; update after it
            self._finish(item, {"skipped": "mention message not posted"})
            return None
        wait = self._gate(UPDATE_METHOD, now, update=True)
        if wait:
            return now + wait

        def start(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ("pending", "sending"):
                return None
            row.status, row.attempts = "sending", row.attempts + 1
            row.payload["again"] = False
            return row

        if self.store.update_outbox(item.id, start) is None:
            self._forget(item)
            return None
        message = blocks.mention_message(mention, self.settings,
                                         self.store.events(mention.key))
        self._bucket(UPDATE_METHOD, update=True).take(now)
        try:
            self.client.chat_update(channel=mention.slack_channel, ts=mention.slack_ts,
                                    text=message["text"], blocks=message["blocks"])
        except Exception as exc:  # noqa: BLE001 - classified below
            return self._on_error(item, exc, UPDATE_METHOD, UPDATE_METHOD, stats, now,
                                  uncertain=False)
        self._slack_ok()
        stats.sent += 1

        def done(row: OutboxItem) -> OutboxItem:
            if row.payload.get("again"):  # changed while we were sending: once more
                row.status, row.payload["again"] = "pending", False
            else:
                row.status = "sent"
            row.result = {"channel": mention.slack_channel, "ts": mention.slack_ts}
            return row

        saved = self.store.update_outbox(item.id, done)
        self._forget(item, saved)
        if saved is not None and saved.status == "pending":
            self._dirty = True
            return now
        return None

    # --- the post, the check, the bookkeeping --------------------------------------------------
    def _post(self, item: OutboxItem, stats: DrainStats, now: float, *, channel: str,
              text: str, blocks: list | None, thread_ts: str | None,
              metadata: dict[str, Any], unfurl: bool) -> object:
        """chat.postMessage for a row: mark it sending (durably) first. Returns the new
        message ts, None when the row is finished otherwise, or a retry time."""
        stamp = datetime.fromtimestamp(now, UTC).isoformat()

        def start(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ("pending", "sending"):
                return None  # finished meanwhile (another drain)
            row.status, row.channel, row.attempts = "sending", channel, row.attempts + 1
            row.payload.setdefault("first_sent_at", stamp)
            return row

        if self.store.update_outbox(item.id, start) is None:
            self._forget(item)
            return None
        item.status, item.channel = "sending", channel
        self._bucket(channel).take(self._now())  # as close to the call as we can
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "metadata": metadata}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if not unfurl:
            kwargs["unfurl_links"] = kwargs["unfurl_media"] = False
        try:
            response = self.client.chat_postMessage(**kwargs)
        except Exception as exc:  # noqa: BLE001 - classified below
            return self._on_error(item, exc, "chat.postMessage", channel, stats, now,
                                  uncertain=True)
        self._slack_ok()
        stats.sent += 1
        return str(response["ts"])

    def _reconcile(self, item: OutboxItem, channel: str, thread_ts: str | None,
                   stats: DrainStats) -> object:
        """Look for the row's earlier post. Returns its ts if Slack has it, _ABSENT if not
        (post it), a retry time if the check itself failed, None if the row failed."""
        since = item.payload.get("first_sent_at")
        start = datetime.fromisoformat(since) if since else (item.created_at or self._clock())
        oldest = f"{(start - self.reconcile_margin).timestamp():.6f}"
        cursor: str | None = None
        try:
            for _ in range(50):  # 50 pages of 200: far more than one outage produces
                params: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200,
                                          "include_all_metadata": True}
                if cursor:
                    params["cursor"] = cursor
                if thread_ts:
                    response = self.client.conversations_replies(ts=thread_ts, **params)
                else:
                    response = self.client.conversations_history(**params)
                for msg in response.get("messages") or []:
                    meta = (msg.get("metadata") or {}).get("event_payload") or {}
                    if meta.get("outbox_id") == item.id or (
                            not msg.get("metadata") and _looks_like(item, msg)):
                        log.info("outbox row %s was already posted (ts %s); not posting again",
                                 item.id, msg.get("ts"))
                        return str(msg["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return _ABSENT
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response else ""
            if error in CANNOT_RECONCILE:
                self._log_once(error, channel, "cannot read %s history to check for an earlier "
                               "post of %s (%s: add the channels:history/groups:history scope "
                               "and invite the bot); posting it again", channel, item.id, error)
                return _ABSENT
            return self._on_error(item, exc, "conversations.history", channel, stats,
                                  self._now(), uncertain=True)
        except Exception as exc:  # noqa: BLE001 - network trouble: check again later
            return self._on_error(item, exc, "conversations.history", channel, stats,
                                  self._now(), uncertain=True)
        return _ABSENT

    def _mention_posted(self, item: OutboxItem, mention: Mention, channel: str, ts: str
                        ) -> None:
        """Record the post on the mention (idempotently), then mark the row sent. In this
        order, a crash in between leaves the row to be finished from the mention."""
        link = self._permalink(channel, ts)

        def record(m: Mention) -> Mention | None:
            if m.slack_ts == ts and m.slack_channel == channel:
                return None
            m.slack_channel, m.slack_ts = channel, ts
            if link:
                m.extra["permalink"] = link
            return m

        if self.store.update_mention(mention.key, record) is not None:
            self.store.add_event(Event(mention.key, "posted", self._clock(),
                                       data={"channel": channel, "ts": ts}))
        self._finish(item, {"channel": channel, "ts": ts})

    def _permalink(self, channel: str, ts: str) -> str | None:
        """The message's permalink. A top-level message's permalink is the workspace URL
        + /archives/<channel>/p<ts without the dot> (what chat.getPermalink answers), so
        after one auth.test no call per post is needed; if auth.test fails, ask Slack."""
        if self._workspace_url is None:
            try:
                self._workspace_url = str(self.client.auth_test().get("url") or "")
            except Exception as exc:  # noqa: BLE001 - the permalink is a convenience
                log.debug("auth.test failed (%s); permalinks come from chat.getPermalink", exc)
                self._workspace_url = ""
        if self._workspace_url:
            return f"{self._workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:  # noqa: BLE001
            log.debug("no permalink for %s in %s: %s", ts, channel, exc)
            return None

    def _finish(self, item: OutboxItem, result: dict[str, Any]) -> None:
        def sent(row: OutboxItem) -> OutboxItem:
            row.status, row.result, row.not_before = "sent", result, None
            return row

        self.store.update_outbox(item.id, sent)
        self._forget(item)

    def _fail(self, item: OutboxItem, error: str, stats: DrainStats) -> None:
        def failed(row: OutboxItem) -> OutboxItem:
            row.status, row.result = "failed", {"error": error}
            return row

        self.store.update_outbox(item.id, failed)
        self._forget(item)
        stats.failed += 1
        self._log_once(error, item.channel, "Slack post %s (%s) failed for good: %s",
                       item.id, item.channel or "-", error)
        return None

    def _on_error(self, item: OutboxItem, exc: Exception, method: str, hold_key: str,
                  stats: DrainStats, now: float, *, uncertain: bool) -> object:
        """Classify a failed call. `uncertain`: Slack may have carried it out anyway."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None) if response is not None else None
        error = ""
        if isinstance(exc, SlackApiError) and response is not None:
            try:
                error = str(response.get("error") or "")
            except Exception:  # noqa: BLE001 - a non-JSON body
                error = ""
        if status == 429:
            retry_after = _retry_after(response)
            self._held[hold_key] = now + retry_after
            stats.rate_limited += 1
            log.info("Slack rate-limited %s for %s: waiting %ss", method, hold_key, retry_after)
            # A refused post leaves the row plainly pending; a refused history check leaves
            # it "sending" (the earlier attempt is still unchecked).
            return self._reschedule(item, now + retry_after,
                                    status="pending" if method == "chat.postMessage" else None)
        if isinstance(exc, SlackApiError) and status is not None and status < 500 and (
                error not in TRANSIENT_ERRORS):
            self._fail(item, error or f"HTTP {status}", stats)
            if error in AUTH_ERRORS:
                self._down_until = now + max(self.max_backoff, 300.0)
                log.error("Slack refused the bot token (%s): posting paused; check "
                          "SLACK_BOT_TOKEN", error)
            return None
        # 5xx, ok:false internal_error, timeouts, connection errors: maybe accepted, so the
        # row stays "sending" and is reconciled before the next attempt.
        self._failures += 1
        pause = min(self.max_backoff, 2.0 ** (self._failures - 1))
        self._down_until = max(self._down_until, now + pause)
        if not self._outage_logged:
            self._outage_logged = True
            log.warning("Slack is failing (%s on %s: %s); posts wait in the outbox and go out "
                        "when it recovers", type(exc).__name__, method, error or exc)
        stats.retried += 1
        backoff = min(self.max_backoff, 2.0 ** max(0, item.attempts - 1))
        return self._reschedule(item, now + max(pause, backoff),
                                status="sending" if uncertain else None)

    def _reschedule(self, item: OutboxItem, at: float, status: str | None) -> float:
        when = datetime.fromtimestamp(at, UTC)

        def later(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ("pending", "sending"):
                return None
            row.not_before = when
            if status:
                row.status = status
            return row

        saved = self.store.update_outbox(item.id, later)
        if saved is None:
            self._forget(item)
        else:
            self._forget(item, saved)
        return at

    def _slack_ok(self) -> None:
        self._failures = 0
        if self._outage_logged:
            self._outage_logged = False
            log.warning("Slack answers again; draining the outbox")

    def _log_once(self, error: str, channel: str, msg: str, *args: Any) -> None:
        key = (error, channel)
        if key in self._logged:
            log.debug(msg, *args)
        else:
            self._logged.add(key)
            log.error(msg, *args)

    def _bucket(self, key: str, update: bool = False) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = (_Bucket(self.update_rate, self.update_burst)
                                           if update else _Bucket(self.rate, self.burst))
        return bucket

    def _gate(self, key: str, now: float, update: bool = False) -> float:
        """Seconds to wait before calling Slack for this channel (or chat.update)."""
        held = self._held.get(key, 0.0)
        if held > now:
            return held - now
        return self._bucket(key, update).wait(now)


def _looks_like(item: OutboxItem, msg: dict[str, Any]) -> bool:
    """Fallback for a message that came back without metadata (a workspace or scope that
    withholds it): our bot's message with this mention's buttons, or with the same text."""
    if not msg.get("bot_id"):
        return False
    if item.kind == "mention":
        return any(el.get("value") == item.mention_key
                   for block in msg.get("blocks") or [] if block.get("type") == "actions"
                   for el in block.get("elements") or [])
    text = item.payload.get("text")
    return bool(text) and msg.get("text") == text


def _retry_after(response: Any) -> float:
    try:
        value = response.headers.get("Retry-After") or response.headers.get("retry-after")
        if isinstance(value, list):
            value = value[0]
        return max(0.0, float(value))
    except (AttributeError, TypeError, ValueError):
        return 1.0  # Slack always sends it; be conservative if it is missing


class OutboxWorker:
    """A daemon thread that drains the outbox whenever woken, or every `interval` s."""

    def __init__(self, outbox: Outbox, interval: float = 5.0) -> None:
        self.outbox = outbox
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OutboxWorker:
        self._stop.clear()
        self.outbox._cancel.clear()
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
            except Exception:  # keep posting alive whatever one drain hit
                log.exception("outbox drain failed; trying again in %ss", self.interval)
            if self._stop.is_set():
                break
            self.outbox._wake.wait(wait)
            self.outbox._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.outbox.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.outbox._cancel.clear()
