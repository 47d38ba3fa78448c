"""Sending one outbox row: render it, call Slack, record what happened.

A post goes pending -> sending (saved BEFORE the call, with the row id carried in the
message metadata) -> sent (after Slack said ok). A row found "sending" is reconciled
(reconcile.py) before any new attempt. The outbox handles 429s and retries itself
(pacing.py), so its own client copy has slack_sdk's sleeping retry handlers removed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.mention import Event, EventKind, Mention
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.outbox import reconcile
from bot.slack.outbox.outcome import ABSENT, DONE, WAIT, DrainStats, Outcome, Tag
from bot.slack.outbox.pacing import UPDATE_METHOD, Failure, Pacer
from bot.slack.outbox.queue import ACTIVE, Kind, PendingRows, Status, department_channel, log
from bot.store.base import OutboxItem, Store, StoreUnavailableError

MENTION_EVENT = blocks.METADATA_EVENT  # metadata event_type of the mention message
MESSAGE_EVENT = "earshot_message"  # metadata event_type of every other post
STORE_RETRY_SECONDS = 5.0  # a row the store could not record is tried again after this


def without_retry_handlers(client: WebClient) -> WebClient:
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


class Sender:
    """Tries one row at a time; safe to use from several lanes (one row per lane)."""

    def __init__(self, store: Store, settings: Settings, client: WebClient, pacer: Pacer,
                 rows: PendingRows, *, clock: Callable[[], datetime],
                 reconcile_margin: timedelta) -> None:
        self.store, self.settings, self.client = store, settings, client
        self.pacer, self.rows = pacer, rows
        self._clock = clock
        self.reconcile_margin = reconcile_margin
        self._workspace_url: str | None = None  # from auth.test, for permalinks

    def _now(self) -> float:
        return self._clock().timestamp()

    def process(self, item: OutboxItem, stats: DrainStats, now: float) -> Outcome:
        """Try one row: DONE when it is finished (sent or failed), WAIT when it waits on
        another row, or RETRY at a time. A bug or a broken row fails the row, never the
        queue."""
        try:
            if item.kind == Kind.MENTION:
                return self._process_mention(item, stats, now)
            if item.kind == Kind.UPDATE:
                return self._process_update(item, stats, now)
            if item.kind in (Kind.THREAD, Kind.MESSAGE):
                return self._process_post(item, stats, now)
            return self._fail(item, f"unknown outbox kind {item.kind!r}", stats)
        except StoreUnavailableError:
            raise  # the database is away, not the row: the drain stops and waits for it
        except OSError:
            # The store cannot be written (a full disk; the storage says so once). Not
            # the row's fault: it stays as it is on disk (pending, or "sending" and so
            # reconciled, never posted twice) and is tried again.
            log.debug("outbox row %s waits for the store to be writable", item.id)
            return Outcome.retry(self._now() + STORE_RETRY_SECONDS)
        except Exception as exc:  # a bug or a broken row must not stop the queue
            log.exception("outbox row %s could not be processed", item.id)
            return self._fail(item, f"internal error: {exc}", stats)

    def _process_mention(self, item: OutboxItem, stats: DrainStats, now: float) -> Outcome:
        mention = self.store.get_mention(item.mention_key or "")
        if mention is None:
            return self._fail(item, "mention not in the store", stats)
        if mention.slack_ts:  # posted already (reconciled, or a crash before "sent")
            self._posted_event(mention.key, mention.slack_channel or "", mention.slack_ts)
            self._finish(item, {"channel": mention.slack_channel, "ts": mention.slack_ts})
            return DONE
        # A row interrupted mid-post is checked where it was sent, not where it would go now.
        channel = item.channel if item.status == Status.SENDING and item.channel else (
            department_channel(self.settings, mention.department))
        wait = self.pacer.gate(channel, now)
        if wait:
            return Outcome.retry(now + wait)
        if item.status == Status.SENDING:
            found = self._reconcile(item, channel, None, stats)
            if found.tag is Tag.POSTED:
                self._mention_posted(item, mention, channel, found.ts)
                stats.reconciled += 1
                return DONE
            if found.tag is not Tag.ABSENT:
                return found  # the check failed: a retry time, or DONE if the row failed
        message = blocks.mention_message(mention, self.settings,
                                         self.store.events(mention.key))
        payload = dict(message["metadata"]["event_payload"], outbox_id=item.id)
        result = self._post(item, stats, now, channel=channel, text=message["text"],
                            blocks=message["blocks"], thread_ts=None,
                            metadata={"event_type": MENTION_EVENT, "event_payload": payload},
                            unfurl=False)
        if result.tag is Tag.POSTED:
            return self._record(item, self._mention_posted, item, mention, channel, result.ts)
        return result

    def _process_post(self, item: OutboxItem, stats: DrainStats, now: float) -> Outcome:
        parent_key = item.payload.get("thread_of")
        thread_ts = None
        channel = item.channel
        if parent_key:
            parent = self.store.get_mention(parent_key)
            if parent is None:
                return self._fail(item, f"thread of unknown mention {parent_key}", stats)
            if not parent.slack_ts:
                row = self.store.get_outbox(f"mention:{parent_key}")
                if row is None or row.status == Status.FAILED:
                    return self._fail(item, "the mention message was never posted", stats)
                return WAIT
            channel, thread_ts = parent.slack_channel or channel, parent.slack_ts
        if not channel:
            return self._fail(item, "no channel", stats)
        wait = self.pacer.gate(channel, now)
        if wait:
            return Outcome.retry(now + wait)
        if item.status == Status.SENDING:
            found = self._reconcile(item, channel, thread_ts, stats)
            if found.tag is Tag.POSTED:
                self._finish(item, {"channel": channel, "ts": found.ts})
                stats.reconciled += 1
                return DONE
            if found.tag is not Tag.ABSENT:
                return found
        payload: dict[str, Any] = {"outbox_id": item.id}
        if parent_key:
            payload["mention_key"] = parent_key
        result = self._post(item, stats, now, channel=channel,
                            text=item.payload.get("text") or "",
                            blocks=item.payload.get("blocks"), thread_ts=thread_ts,
                            metadata={"event_type": MESSAGE_EVENT, "event_payload": payload},
                            unfurl=True)
        if result.tag is Tag.POSTED:
            return self._record(item, self._finish, item, {"channel": channel, "ts": result.ts})
        return result

    def _process_update(self, item: OutboxItem, stats: DrainStats, now: float) -> Outcome:
        mention = self.store.get_mention(item.mention_key or "")
        if mention is None:
            return self._fail(item, "mention not in the store", stats)
        if not mention.slack_ts:
            row = self.store.get_outbox(f"mention:{mention.key}")
            if row is not None and row.status in ACTIVE:
                return WAIT  # the post will render the latest state; update after it
            self._finish(item, {"skipped": "mention message not posted"})
            return DONE
        wait = self.pacer.gate(UPDATE_METHOD, now, update=True)
        if wait:
            return Outcome.retry(now + wait)

        def start(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ACTIVE:
                return None
            row.status, row.attempts = Status.SENDING, row.attempts + 1
            row.payload["again"] = False
            return row

        if self.store.update_outbox(item.id, start) is None:
            self.rows.forget(item)
            return DONE
        message = blocks.mention_message(mention, self.settings,
                                         self.store.events(mention.key))
        self.pacer.bucket(UPDATE_METHOD, update=True).take(now)
        try:
            self.client.chat_update(channel=mention.slack_channel, ts=mention.slack_ts,
                                    text=message["text"], blocks=message["blocks"])
        except Exception as exc:  # noqa: BLE001 - classified below
            return self._on_error(item, exc, UPDATE_METHOD, UPDATE_METHOD, stats, now,
                                  uncertain=False)
        self.pacer.slack_ok()
        stats.sent += 1

        def done(row: OutboxItem) -> OutboxItem:
            if row.payload.get("again"):  # changed while we were sending: once more
                row.status, row.payload["again"] = Status.PENDING, False
            else:
                row.status = Status.SENT
            row.result = {"channel": mention.slack_channel, "ts": mention.slack_ts}
            return row

        saved = self.store.update_outbox(item.id, done)
        self.rows.forget(item, saved)
        if saved is not None and saved.status == Status.PENDING:
            self.rows.changed()
            return Outcome.retry(now)
        return DONE

    # --- the post, the check, the bookkeeping --------------------------------------------
    def _post(self, item: OutboxItem, stats: DrainStats, now: float, *, channel: str,
              text: str, blocks: list | None, thread_ts: str | None,
              metadata: dict[str, Any], unfurl: bool) -> Outcome:
        """chat.postMessage for a row: mark it sending (durably) first. Returns POSTED
        with the new message's ts, DONE when the row is finished otherwise, or RETRY."""
        stamp = datetime.fromtimestamp(now, UTC).isoformat()

        def start(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ACTIVE:
                return None  # finished meanwhile (another drain)
            row.status, row.channel, row.attempts = Status.SENDING, channel, row.attempts + 1
            row.payload.setdefault("first_sent_at", stamp)
            return row

        if self.store.update_outbox(item.id, start) is None:
            self.rows.forget(item)
            return DONE
        item.status, item.channel = Status.SENDING, channel
        self.pacer.bucket(channel).take(self._now())  # as close to the call as we can
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
        self.pacer.slack_ok()
        stats.sent += 1
        return Outcome.posted(str(response["ts"]))

    def _reconcile(self, item: OutboxItem, channel: str, thread_ts: str | None,
                   stats: DrainStats) -> Outcome:
        """Look for the row's earlier post: POSTED (its ts) if Slack has it, ABSENT if
        not (post it), RETRY if the check itself failed, DONE if the row failed."""
        oldest = reconcile.oldest_to_check(item, self._clock(), self.reconcile_margin)
        try:
            ts = reconcile.find_earlier_post(self.client, item, channel, thread_ts, oldest)
        except Exception as exc:  # noqa: BLE001 - Slack or network trouble: classified
            error = reconcile.cannot_check(exc)
            if error:
                self.pacer.log_once(
                    error, channel, "cannot read %s history to check for an earlier post of "
                    "%s (%s: add the channels:history/groups:history scope and invite the "
                    "bot); posting it again", channel, item.id, error)
                return ABSENT
            return self._on_error(item, exc, "conversations.history", channel, stats,
                                  self._now(), uncertain=True)
        return ABSENT if ts is None else Outcome.posted(ts)

    def _record(self, item: OutboxItem, fn: Callable[..., None], *args: Any) -> Outcome:
        """Bookkeeping after Slack said ok. If it fails, the row stays "sending" and the
        next pass reconciles it (finds the post) instead of posting it again."""
        try:
            fn(*args)
        except StoreUnavailableError:  # logged once by the store; reconciled when it is back
            self.rows.changed()
        except OSError:  # the store cannot be written: said once by the storage
            log.debug("could not record the post of %s yet; it will be reconciled", item.id)
            return Outcome.retry(self._now() + STORE_RETRY_SECONDS)
        except Exception:  # noqa: BLE001 - the row stays "sending": reconciled, not doubled
            log.exception("could not record the post of %s; it will be reconciled", item.id)
            self.rows.changed()
        return DONE

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

        self.store.update_mention(mention.key, record)
        self._posted_event(mention.key, channel, ts)
        self._finish(item, {"channel": channel, "ts": ts})

    def _posted_event(self, key: str, channel: str, ts: str) -> None:
        """Add the "posted" event unless the mention has one: the mention and its event
        are two writes, and a crash between them must not leave the event out for good."""
        if any(e.kind == EventKind.POSTED for e in self.store.events(key)):
            return
        self.store.add_event(Event(key, EventKind.POSTED, self._clock(),
                                   data={"channel": channel, "ts": ts}))

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
            row.status, row.result, row.not_before = Status.SENT, result, None
            return row

        self.store.update_outbox(item.id, sent)
        self.rows.forget(item)

    def _fail(self, item: OutboxItem, error: str, stats: DrainStats) -> Outcome:
        def failed(row: OutboxItem) -> OutboxItem:
            row.status, row.result = Status.FAILED, {"error": error}
            return row

        self.store.update_outbox(item.id, failed)
        self.rows.forget(item)
        stats.failed += 1
        self.pacer.log_once(error, item.channel, "Slack post %s (%s) failed for good: %s",
                            item.id, item.channel or "-", error)
        return DONE

    def _on_error(self, item: OutboxItem, exc: Exception, method: str, hold_key: str,
                  stats: DrainStats, now: float, *, uncertain: bool) -> Outcome:
        """Apply what a failed call means to the row. `uncertain`: Slack may have
        carried it out anyway."""
        verdict = self.pacer.judge(exc, method, hold_key, now, item.attempts)
        if verdict.failure is Failure.RATE_LIMITED:
            stats.rate_limited += 1
            # A refused post leaves the row plainly pending; a refused history check leaves
            # it "sending" (the earlier attempt is still unchecked).
            return self._reschedule(item, verdict.at, status=(
                Status.PENDING if method == "chat.postMessage" else None))
        if verdict.failure is Failure.PERMANENT:
            self._fail(item, verdict.error, stats)
            self.pacer.refused(verdict.error, now)
            return DONE
        # Transient: maybe accepted, so the row stays "sending" and is reconciled first.
        stats.retried += 1
        return self._reschedule(item, verdict.at,
                                status=Status.SENDING if uncertain else None)

    def _reschedule(self, item: OutboxItem, at: float, status: Status | None) -> Outcome:
        when = datetime.fromtimestamp(at, UTC)

        def later(row: OutboxItem) -> OutboxItem | None:
            if row.status not in ACTIVE:
                return None
            row.not_before = when
            if status:
                row.status = status
            return row

        self.rows.forget(item, self.store.update_outbox(item.id, later))
        return Outcome.retry(at)
