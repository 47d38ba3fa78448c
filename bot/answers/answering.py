"""Answering a mention: record the reply, or publish it, or hold it for approval.

What happens to an answer depends on who wrote it and on `[answer]` in the config:

- "record":   publishing is off, the source cannot be written to, or its credential is
              unset: the reply is recorded in the thread with a link to answer on the
              source; no write API is called.
- "publish":  the author is a publisher: the reply is published on the source directly.
- "approval": anyone else: the reply becomes a draft in the thread that a publisher must
              Approve (or Edit, or Reject) before anything is published.

Every published reply goes through the draft state machine (bot.answers.drafts), so
nothing is published twice, and leaves an audit trail: Event "published" with who
wrote it, who approved it, the exact text and the link.

The functions here are called after the Slack request was acknowledged (they call
sources and Slack); each returns an AnswerOutcome whose `notice` is for the person who
acted. The author of a draft is told the outcome of someone else's decision directly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from bot import mrkdwn, resolution
from bot.answers import drafts, messages
from bot.answers.drafts import Draft
from bot.answers.length import clean_reply, too_long
from bot.answers.publishers import Publishers
from bot.answers.writers import PublishError
from bot.judgment.labels import ROUTE, Label, story, teach
from bot.mention import Event, EventKind, Mention, State
from bot.slack import blocks
from bot.slack.services import Services

log = logging.getLogger(__name__)

RECORD, PUBLISH, APPROVAL = "record", "publish", "approval"

_init_lock = threading.Lock()


@dataclass
class AnswerOutcome:
    """What happened to an answer; `notice` is the sentence to show the person who acted
    (mrkdwn, already escaped: post it as it is)."""

    status: str  # "recorded" | "published" | "awaiting_approval" | "publish_failed"
    #              | "rejected" | "refused" (not allowed / already decided) | "error"
    notice: str
    url: str | None = None


# --- the contract used by the Answer modal ------------------------------------------------


def publishers_of(services: Services) -> Publishers:
    """The Publishers of these services, built on first use when the app was given none."""
    if services.publishers is None:
        with _init_lock:
            if services.publishers is None:
                services.publishers = Publishers(services.settings, services.store,
                                                 services.client, clock=services.clock)
    return services.publishers


def answer_mode(services: Services, mention: Mention, user: str) -> str:
    """What submitting an answer will do: "publish" | "approval" | "record"."""
    if not will_publish(services, mention):
        return RECORD
    return PUBLISH if publishers_of(services).is_publisher(user) else APPROVAL


def will_publish(services: Services, mention: Mention) -> bool:
    """True when an answer to `mention` goes to its source (mode "publish" or
    "approval"), False when it is only recorded in the thread. Unlike answer_mode this
    never asks Slack (who is a publisher), so it is safe before a modal's ack."""
    return publishers_of(services).writer(mention.source) is not None


def length_problem(mention: Mention, text: str, mode: str) -> str | None:
    """Why `text` cannot be the reply, or None. Meant for the modal's
    response_action=errors. An empty reply never can; a reply too long as the mention's
    source counts it cannot only when it will be published there (mode "publish" or
    "approval"): a reply that is only recorded in the thread has no length limit."""
    cleaned = clean_reply(text or "")
    if not cleaned:
        return "Write a reply first."
    if mode == RECORD:
        return None
    return too_long(mention.source, cleaned)


def submit_answer(services: Services, mention_key: str, author: str, text: str) -> AnswerOutcome:
    """Handle an Answer modal submission by `author` (a Slack user id)."""
    mention = services.store.get_mention(mention_key)
    if mention is None:
        return AnswerOutcome("error", "That mention no longer exists, so nothing was recorded.")
    text = clean_reply(text or "")
    if not text:
        return AnswerOutcome("error", "The answer was empty, so nothing was recorded.")
    mode = answer_mode(services, mention, author)
    if mode == RECORD:
        return _record(services, mention, author, text)
    problem = too_long(mention.source, text)
    if problem:
        return AnswerOutcome("error", f"{problem} Nothing was published; shorten it and "
                                      "answer again.")
    now = services.clock()
    if mode == PUBLISH:
        draft = drafts.create(services.store, mention.key, author, text, now,
                              status=drafts.PUBLISHING, approver=author)
        return _publish(services, mention, draft)
    return _ask_approval(services, mention, author, text)


# --- decisions on a draft (called by bot.listeners.approval) ------------------------


def approve(services: Services, draft_id: str, approver: str, *, text: str | None = None,
            where: tuple[str, str] | None = None) -> AnswerOutcome:
    """Approve a draft (publish it as written, or as `text` when edited).

    The draft moves draft -> publishing atomically before the source is called: of two
    approvers clicking at once, exactly one publishes; the other is told it is taken.
    `where` (channel, ts) is the draft's thread message, whose buttons are removed."""
    refusal = _refuse_non_publisher(services, approver)
    if refusal:
        return refusal
    if text is not None:
        text = clean_reply(text)
        if not text:
            return AnswerOutcome("error", "The edited reply is empty; nothing was published.")
    draft = drafts.get(services.store, draft_id)
    mention = services.store.get_mention(draft.mention_key) if draft else None
    if draft is None or mention is None:
        return AnswerOutcome("error", "That draft no longer exists.")
    if text is not None and too_long(mention.source, text):
        return AnswerOutcome("error", str(too_long(mention.source, text)))
    moved = drafts.begin_publish(services.store, draft_id, approver, services.clock(),
                                 text=text)
    if not moved.won or moved.draft is None:
        return already_decided(moved.draft)
    draft = moved.draft
    _event(services, mention.key, EventKind.APPROVED, approver, {"draft_id": draft.id})
    verb = "edited and approved" if draft.edited else "approved"
    _close_draft_message(services, draft, f"{mrkdwn.user(approver)} {verb} this draft; "
                                          "publishing…", where)
    outcome = _publish(services, mention, draft)
    _close_draft_message(services, draft, _final_line(approver, verb, outcome), where)
    if draft.author != approver:
        _tell(services, mention, draft.author, _author_notice(outcome, approver, verb))
    return outcome


def reject(services: Services, draft_id: str, user: str, reason: str, *,
           where: tuple[str, str] | None = None) -> AnswerOutcome:
    """Reject a draft with a reason; nothing is published and the author is asked to
    rewrite it."""
    refusal = _refuse_non_publisher(services, user)
    if refusal:
        return refusal
    reason = clean_reply(reason or "")
    moved = drafts.reject(services.store, draft_id, user, reason, services.clock())
    if not moved.won or moved.draft is None:
        return already_decided(moved.draft)
    draft = moved.draft
    mention = services.store.get_mention(draft.mention_key)
    event = _event(services, draft.mention_key, EventKind.REJECTED, user,
                   {"draft_id": draft.id, "reason": reason})
    _close_draft_message(services, draft, blocks.thread_line(event), where)
    if mention is not None:
        because = f" Reason:\n{messages.quote(reason)}\n" if reason else " "
        _tell(services, mention, draft.author,
              f"{mrkdwn.user(user)} did not approve your reply to {mention.short_id or 'the'} "
              f"mention.{because}Nothing was published. Please rewrite it and press Answer "
              "again.")
    return AnswerOutcome("rejected", "Rejected; the author has been asked to rewrite it.")


def retry(services: Services, draft_id: str, user: str, *,
          where: tuple[str, str] | None = None) -> AnswerOutcome:
    """Publish a draft again after a failure (publish_failed -> publishing, once)."""
    refusal = _refuse_non_publisher(services, user)
    if refusal:
        return refusal
    moved = drafts.begin_publish(services.store, draft_id, user, services.clock(),
                                 retry=True)
    if not moved.won or moved.draft is None:
        return already_decided(moved.draft)
    draft = moved.draft
    mention = services.store.get_mention(draft.mention_key)
    if mention is None:
        drafts.mark_failed(services.store, draft_id, "the mention no longer exists",
                           services.clock())
        return AnswerOutcome("error", "That mention no longer exists.")
    _close_draft_message(services, draft, f"{mrkdwn.user(user)} retried publishing…", where)
    outcome = _publish(services, mention, draft)
    _close_draft_message(services, draft, _final_line(user, "retried", outcome), where)
    if draft.author != user:
        _tell(services, mention, draft.author, _author_notice(outcome, user, "retried"))
    return outcome


# --- the steps ---------------------------------------------------------------------------


def _record(services: Services, mention: Mention, author: str, text: str) -> AnswerOutcome:
    _mark_answered(services, mention.key)
    event = _event(services, mention.key, EventKind.ANSWERED, author,
                   {"text": text, "published": False, "url": None})
    services.outbox.refresh(mention.key)
    source_link = _source_link(mention)
    line = blocks.thread_line(event)
    if source_link:
        line += f"\nNot published: {source_link}"
    services.outbox.thread(mention.key, line)
    where = f" It was not published: {source_link}." if source_link else ""
    return AnswerOutcome("recorded", f"Your answer was recorded in the thread.{where}",
                         url=mention.url or None)


def _ask_approval(services: Services, mention: Mention, author: str, text: str) -> AnswerOutcome:
    draft = drafts.create(services.store, mention.key, author, text, services.clock())
    _event(services, mention.key, EventKind.DRAFT, author, {"draft_id": draft.id, "text": text})
    lead = services.department_lead(mention.department) if mention.department else None
    ping = mrkdwn.group_ping(lead) or publishers_of(services).describe()
    fallback, body = messages.draft_message(mention, draft, ping)
    services.outbox.thread(mention.key, fallback, item_id=_draft_item(draft.id), blocks=body)
    return AnswerOutcome(
        "awaiting_approval",
        "Thanks! Replies on the source speak for the company, so a publisher will review "
        "yours in the thread first. You will hear when it is approved or needs changes.")


def _publish(services: Services, mention: Mention, draft: Draft) -> AnswerOutcome:
    """Call the source for a draft this caller moved to "publishing" (and only then)."""
    writer = publishers_of(services).writer(mention.source)
    try:
        if writer is None:
            raise PublishError("publishing to this source is off or its credential is unset")
        result = writer.publish(mention, draft.text, idempotency_key=draft.id)
    except PublishError as exc:
        return _failed(services, mention, draft, str(exc))
    except Exception:  # never leave a draft stuck in "publishing" over a bug
        log.exception("publishing draft %s failed unexpectedly", draft.id)
        return _failed(services, mention, draft, "an unexpected error (see the bot's log)")
    now = services.clock()
    done = drafts.mark_published(services.store, draft.id, result.url, result.native_id, now)
    draft = done.draft or draft
    _event(services, mention.key, EventKind.PUBLISHED, draft.approver,
           {"draft_id": draft.id, "text": draft.text, "url": result.url,
            "author": draft.author, "approver": draft.approver})
    _mark_answered(services, mention.key)
    _event(services, mention.key, EventKind.ANSWERED, draft.author,
           {"text": draft.text, "published": True, "url": result.url})
    services.outbox.refresh(mention.key)
    services.outbox.thread(mention.key, messages.published_line(mention, draft, now),
                           item_id=f"published:{draft.id}")
    return AnswerOutcome("published", f"Published: {mrkdwn.link(result.url, 'view the reply')}.",
                         url=result.url)


def _failed(services: Services, mention: Mention, draft: Draft, error: str) -> AnswerOutcome:
    log.warning("publishing draft %s to %s failed: %s", draft.id, mention.source, error)
    drafts.mark_failed(services.store, draft.id, error, services.clock())
    _event(services, mention.key, EventKind.PUBLISH_FAILED, None,
           {"draft_id": draft.id, "error": error})
    fallback, body = messages.failed_message(mention, draft, error)
    services.outbox.thread(mention.key, fallback, blocks=body,
                           item_id=f"failed:{draft.id}:{draft.attempts}")
    err, _ = mrkdwn.escape_cut(error, 500)
    return AnswerOutcome("publish_failed",
                         f"Not published: {err}. The thread has a Retry button.")


# --- helpers -----------------------------------------------------------------------------


def _event(services: Services, key: str, kind: str, user: str | None,
           data: dict[str, Any]) -> Event:
    event = Event(key, kind, services.clock(), user=user, data=data)
    services.store.add_event(event)
    if kind == "answered":
        mention = services.store.get_mention(key)
        if mention is not None:  # for first-contact resolution: did they come back?
            resolution.remember_answer(services.store, mention, user, event.at)
    return event


def _mark_answered(services: Services, key: str) -> Mention | None:
    now = services.clock()
    first = []

    def change(m: Mention) -> Mention:
        first[:] = [m.state is not State.ANSWERED]
        m.state = State.ANSWERED
        m.answered_at = now
        return m

    saved = services.store.update_mention(key, change)
    # Answered where it landed: the team confirms its department (an escalated one was
    # already taught by the escalation).
    if saved is not None and first == [True] and "escalation" not in saved.extra:
        teach(services.learning, Label(ROUTE, story(saved), saved.department, "confirm",
                                       by=saved.owner or "", at=now.isoformat(),
                                       mention_key=key, previous=saved.department))
    return saved


def _source_link(mention: Mention) -> str:
    """mrkdwn link to the original post, for answering it there by hand."""
    if not mention.url:
        return ""
    return mrkdwn.link(mention.url, f"reply on {blocks.source_label(mention.source)}")


def _draft_item(draft_id: str) -> str:
    return f"draft:{draft_id}"


def _refuse_non_publisher(services: Services, user: str) -> AnswerOutcome | None:
    if publishers_of(services).is_publisher(user):
        return None
    return AnswerOutcome("refused", "Only publishers can approve, edit, reject or retry a "
                                    "reply that will speak for the company.")


def already_decided(draft: Draft | None) -> AnswerOutcome:
    """Why a draft cannot be acted on any more (someone else was first)."""
    if draft is None:
        return AnswerOutcome("refused", "That draft no longer exists.")
    who = mrkdwn.user(draft.approver) if draft.approver else "someone"
    text = {
        drafts.PUBLISHING: f"{who} is already publishing this reply.",
        drafts.PUBLISHED: f"Already published (approved by {who}).",
        drafts.REJECTED: f"Already rejected by {who}.",
        drafts.PUBLISH_FAILED: "Publishing failed; use the Retry button in the thread.",
        drafts.DRAFT: "This draft has not been approved yet.",
    }.get(draft.status, "This draft was already handled.")
    return AnswerOutcome("refused", text)


def _final_line(who: str, verb: str, outcome: AnswerOutcome) -> str:
    if outcome.status == "published" and outcome.url:
        return (f":white_check_mark: {mrkdwn.user(who)} {verb} this draft: "
                f"{mrkdwn.link(outcome.url, 'published')}")
    return (f":warning: {mrkdwn.user(who)} {verb} this draft, but it was not published "
            "(see the Retry message below)")


def _author_notice(outcome: AnswerOutcome, who: str, verb: str) -> str:
    if outcome.status == "published":
        return f"{mrkdwn.user(who)} {verb} your reply. {outcome.notice}"
    return f"{mrkdwn.user(who)} {verb} your reply, but: {outcome.notice}"


def _close_draft_message(services: Services, draft: Draft, line: str,
                         where: tuple[str, str] | None) -> None:
    """Replace the draft's buttons with what happened, so nobody clicks a stale one."""
    if where is None:
        item = services.store.get_outbox(_draft_item(draft.id))
        if item is not None and item.result.get("ts") and item.result.get("channel"):
            where = (item.result["channel"], item.result["ts"])
    if where is None or services.now is None:
        return
    text, body = messages.decided_message(draft, line)
    services.now.update_message(where[0], where[1], text, body)


def _tell(services: Services, mention: Mention, user: str, text: str) -> None:
    """Tell one person something: ephemeral in the mention's thread, else a DM."""
    if services.now is None or not user:
        return
    services.now.tell(user, text, channel=mention.slack_channel, thread_ts=mention.slack_ts)
