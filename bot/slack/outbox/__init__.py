"""Posting to Slack through a durable queue: nothing lost, nothing posted twice.

One module per job:
  queue      the enqueue API (OutboxQueue, needs no client), rows, Status and Kind
  sender     one row: render it, call Slack, record the result
  reconcile  did an earlier, unconfirmed attempt reach Slack? (channel history)
  pacing     token buckets, per-channel 429 holds, error classification and backoff
  drain      Outbox: an OutboxQueue that also drains, one lane per channel
  worker     OutboxWorker: the thread that drains in the background
See docs/slack-posting.md.
"""

from bot.slack.outbox.drain import Outbox
from bot.slack.outbox.outcome import DrainStats, Outcome, Tag
from bot.slack.outbox.pacing import AUTH_ERRORS, TRANSIENT_ERRORS, UPDATE_METHOD
from bot.slack.outbox.queue import Kind, OutboxQueue, Status
from bot.slack.outbox.reconcile import CANNOT_RECONCILE
from bot.slack.outbox.sender import MENTION_EVENT, MESSAGE_EVENT, without_retry_handlers
from bot.slack.outbox.worker import OutboxWorker

__all__ = [
    "AUTH_ERRORS", "CANNOT_RECONCILE", "MENTION_EVENT", "MESSAGE_EVENT", "TRANSIENT_ERRORS",
    "UPDATE_METHOD", "DrainStats", "Kind", "Outbox", "OutboxQueue", "OutboxWorker",
    "Outcome", "Status", "Tag", "without_retry_handlers",
]
