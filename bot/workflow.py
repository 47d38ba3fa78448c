"""State changes people make from Slack: claim, release, escalate, and escalation reminders.

Each step changes the mention atomically through `store.update_mention` (so two clicks in
the same instant cannot both win), records an Event, then asks the outbox to re-render
the channel message and to add one line to its thread. Every message goes through the
outbox; the one immediate Slack call is a permalink (the `services.now` port), for the
link in an escalation or a reminder, and its failure only leaves the link out. The
results carry the words to tell the user.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import mrkdwn
from bot.judgment.labels import ROUTE, Label, story, teach
from bot.mention import Event, EventKind, Mention, State
from bot.settings import LEADERSHIP
from bot.slack import blocks, ids
from bot.slack.services import Services
from bot.store.base import Store
from bot.store.base import is_open as is_open  # what "open" means lives with the store queries

log = logging.getLogger(__name__)

URGENCIES = ("normal", "urgent")

MAX_NUMBER_DIGITS = 12
_SHORT_ID = re.compile(r"^\s*(?:E-?)?(\d+)\s*$", re.IGNORECASE)
# https://acme.slack.com/archives/C0123ABCD/p1700000000123456 (optionally ?thread_ts=...)
_PERMALINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})\b")


@dataclass
class Outcome:
    """What happened, in words for the person who asked.

    code: "claimed", "already_yours", "already_claimed", "answered", "not_found",
    "released", "not_claimed", "not_owner", "escalated", "bad_target", "bad_reason",
    "bad_urgency".
    """

    ok: bool
    code: str
    message: str
    mention: Mention | None = None


# --- finding mentions --------------------------------------------------------------------


def find_mention(store: Store, ref: str) -> Mention | None:
    """The mention a person referred to: "E-42" (or "42"), a Slack message permalink, the
    mention key ("hackernews:123"), or the post's own URL."""
    ref = ref.strip().strip("<>").split("|", 1)[0]
    if not ref:
        return None
    match = _SHORT_ID.match(ref)
    if match:
        # No mention number has this many digits; int() of 4,301 or more raises.
        digits = match[1].lstrip("0")
        return None if len(digits) > MAX_NUMBER_DIGITS else store.get_by_number(int(match[1]))
    match = _PERMALINK.search(ref)
    if match:
        # The outbox saves a message's permalink together with its channel and ts, so the
        # message a permalink names is the mention's.
        return store.find_by_slack_message(match[1], f"{match[2]}.{match[3]}")
    if ref.startswith(("http://", "https://")):
        return store.find_by_link(ref)
    return store.get_mention(ref)


def oldest_unclaimed(store: Store, department: str) -> Mention | None:
    """The oldest open mention (`is_open`) of a department (the head of its queue)."""
    head = store.open_mentions(department, limit=1)
    return head[0] if head else None


def label(mention: Mention) -> str:
    return mention.short_id or mention.key


# --- claim / release -----------------------------------------------------------------------


def claim(services: Services, key: str, user: str) -> Outcome:
    """Make `user` the owner if nobody is; the first of two simultaneous claims wins."""
    now = services.clock()
    before: dict[str, Mention] = {}

    def change(m: Mention) -> Mention | None:
        before["m"] = m
        if m.state is State.ANSWERED or m.owner:
            return None
        m.state, m.owner, m.claimed_at = State.CLAIMED, user, now
        return m

    saved = services.store.update_mention(key, change)
    if saved is None:
        old = before.get("m")
        if old is None:
            return Outcome(False, "not_found", f"I can't find a mention `{_code(key)}`.")
        if old.owner == user and old.state is State.CLAIMED:
            return Outcome(True, "already_yours",
                           f"You already have {label(old)}{_since(old.claimed_at)}.", old)
        if old.state is State.ANSWERED:
            return Outcome(False, "answered", f"{label(old)} has already been answered.", old)
        return Outcome(False, "already_claimed",
                       f"{label(old)} is already claimed by {mrkdwn.user(old.owner)}"
                       f"{_since(old.claimed_at)}.", old)
    _record(services, Event(key, EventKind.CLAIMED, now, user=user), saved)
    return Outcome(True, "claimed", f"You claimed {label(saved)}.", saved)


def release(services: Services, key: str, user: str) -> Outcome:
    """Give a claimed mention back to the queue; only its owner may."""
    now = services.clock()
    before: dict[str, Mention] = {}

    def change(m: Mention) -> Mention | None:
        before["m"] = m
        if m.state is not State.CLAIMED or m.owner != user:
            return None
        # An escalated mention goes back to the escalation queue, not to NEW.
        m.state = State.ESCALATED if m.escalated_at else State.NEW
        m.owner, m.claimed_at = None, None
        return m

    saved = services.store.update_mention(key, change)
    if saved is None:
        old = before.get("m")
        if old is None:
            return Outcome(False, "not_found", f"I can't find a mention `{_code(key)}`.")
        if old.state is not State.CLAIMED or not old.owner:
            return Outcome(False, "not_claimed", f"{label(old)} is not claimed by anyone.", old)
        return Outcome(False, "not_owner",
                       f"Only {mrkdwn.user(old.owner)} can release {label(old)}.", old)
    _record(services, Event(key, EventKind.RELEASED, now, user=user), saved)
    return Outcome(True, "released", f"You released {label(saved)}; it is back in the queue.",
                   saved)


# --- escalate --------------------------------------------------------------------------------


def escalation_targets(services: Services, mention: Mention | None = None) -> list[str]:
    """Where a mention can be escalated: every other department, then leadership."""
    current = mention.department if mention else None
    names = [name for name in services.settings.departments if name != current]
    if current != LEADERSHIP:
        names.append(LEADERSHIP)
    return names


def normalize_target(services: Services, text: str) -> str | None:
    """A department name or "leadership" as typed (case-insensitive, optional #)."""
    wanted = text.strip().lstrip("#").lower()
    for name in [*services.settings.departments, LEADERSHIP]:
        if name.lower() == wanted:
            return name
    return None


def escalate(services: Services, key: str, user: str, target: str, reason: str,
             urgency: str = "normal") -> Outcome:
    """Move a mention to another department (or leadership) with a reason.

    The mention becomes ESCALATED with the owner cleared (so the target team can claim
    it); the target channel gets a summary linking the original message and pinging its
    lead group; the thread gets one line."""
    # Long because one escalation is one conditional change plus the event, the thread
    # line and the target's summary, which must stay together (see queue_missing_summaries).
    reason = reason.strip()
    if urgency not in URGENCIES:
        return Outcome(False, "bad_urgency",
                       f"Urgency must be one of {', '.join(URGENCIES)}, not `{_code(urgency)}`.")
    if not reason:
        return Outcome(False, "bad_reason", "Please give a reason for the escalation.")
    current = services.store.get_mention(key)
    if current is None:
        return Outcome(False, "not_found", f"I can't find a mention `{_code(key)}`.")
    resolved = normalize_target(services, target)
    if resolved is None or resolved == current.department:
        choices = ", ".join(escalation_targets(services, current))
        what = (f"{label(current)} is already with {resolved}" if resolved
                else f"`{_code(target)}` is not a department")
        return Outcome(False, "bad_target", f"{what}; choose one of: {choices}.", current)

    now = services.clock()
    before: dict[str, str] = {}

    def change(m: Mention) -> Mention | None:
        if m.department == resolved:  # someone escalated it there a moment ago
            return None
        before["from"] = m.department  # read now: `m` is changed below
        m.extra = {**m.extra, "escalation": {
            "from": m.department, "to": resolved, "reason": reason, "urgency": urgency,
            "by": user, "at": now.isoformat(), "reminded": False}}
        m.state, m.department, m.escalated_at = State.ESCALATED, resolved, now
        m.owner, m.claimed_at = None, None
        return m

    saved = services.store.update_mention(key, change)
    if saved is None:
        return Outcome(False, "bad_target", f"{label(current)} is already with {resolved}.",
                       services.store.get_mention(key))
    origin = before["from"]
    event = Event(key, EventKind.ESCALATED, now, user=user, data={
        "from": origin, "to": resolved, "reason": reason, "urgency": urgency})
    _record(services, event, saved)
    if resolved in services.settings.departments:
        teach(services.learning, Label(ROUTE, story(saved), resolved, "escalation", by=user,
                                       at=now.isoformat(), mention_key=key, previous=origin))
    text, summary_blocks = escalation_summary(services, saved, event)
    services.outbox.message(services.department_channel(resolved), text, blocks=summary_blocks,
                            item_id=_summary_id(key, now.isoformat()))
    return Outcome(True, "escalated",
                   f"You escalated {label(saved)} to {resolved} ({urgency}).", saved)


def escalation_summary(services: Services, mention: Mention, event: Event
                       ) -> tuple[str, list[dict[str, Any]]]:
    """The message posted into the target channel: who escalated what, why, a link to the
    original message, the target's lead group pinged, and a Claim button."""
    data = event.data
    lead = services.department_lead(str(data["to"]))
    ping = f"{mrkdwn.group_ping(lead)} " if mrkdwn.group_ping(lead) else ""
    urgent = data.get("urgency") == "urgent"
    icon = ":rotating_light:" if urgent else ":arrow_double_up:"
    permalink = permalink_of(services, mention)
    original = mrkdwn.link(permalink, "original message") if permalink else "original message"
    head = (f"{icon} {ping}{mrkdwn.user(event.user)} escalated *{label(mention)}* from "
            f"*{mrkdwn.escape_mrkdwn(str(data.get('from') or '?'))}* to "
            f"*{mrkdwn.escape_mrkdwn(str(data['to']))}*"
            f"{' (*urgent*)' if urgent else ''}")
    reason = mrkdwn.truncate(mrkdwn.escape_mrkdwn(str(data.get("reason") or "")), 1500)
    excerpt = mrkdwn.escape_cut(mention.text or mention.title or "", 600)
    body = (f"*Reason:* {reason}\n>{excerpt[0]}{'…' if excerpt[1] else ''}\n"
            f"{original} · on {mrkdwn.link(mention.url, blocks.source_label(mention.source))}")
    text = mrkdwn.truncate(
        f"{ping}{label(mention)} escalated to {data['to']}: "
        f"{mrkdwn.escape_mrkdwn(str(data.get('reason') or ''))}", 3000)
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(head, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(body, 3000)}},
    ]
    claim_button = blocks.buttons(mention)
    if claim_button:
        # Only Claim here: answering happens on the original message.
        claim_button = {**claim_button, "block_id": "earshot_escalation_actions",
                        "elements": [e for e in claim_button["elements"]
                                     if e["action_id"] in (ids.CLAIM,)]}
        if claim_button["elements"]:
            out.append(claim_button)
    return text, out


def permalink_of(services: Services, mention: Mention) -> str | None:
    """The Slack link to the mention's message (saved by the outbox, else asked for)."""
    link = mention.extra.get("permalink")
    if link:
        return str(link)
    if services.now is None or not (mention.slack_channel and mention.slack_ts):
        return None
    # None on failure: a missing link must not stop the escalation (the summary then
    # names the id instead).
    return services.now.permalink(mention.slack_channel, mention.slack_ts)


# --- reminders --------------------------------------------------------------------------


def queue_missing_summaries(services: Services) -> int:
    """Queue the target-channel summary of every open escalation whose summary was never
    queued; returns how many. Escalating changes the mention, then queues the summary:
    two writes, and a crash or a failed write (a full disk) between them would lose the
    summary. The escalation record on the mention is the durable intent and the summary's
    row id is derived from it, so together they act as one change: this completes any
    that were cut short, and is a no-op for the rest. Run at start and every minute."""
    queued = 0
    for mention in services.store.open_mentions(state=State.ESCALATED):
        esc = mention.extra.get("escalation")
        if not isinstance(esc, dict) or not esc.get("at") or not esc.get("to"):
            continue
        item_id = _summary_id(mention.key, str(esc["at"]))
        if services.store.get_outbox(item_id) is not None:
            continue
        event = Event(mention.key, EventKind.ESCALATED, datetime.fromisoformat(esc["at"]),
                      user=esc.get("by"), data={k: esc.get(k) for k in (
                          "from", "to", "reason", "urgency")})
        text, summary_blocks = escalation_summary(services, mention, event)
        services.outbox.message(services.department_channel(str(esc["to"])), text,
                                blocks=summary_blocks, item_id=item_id)
        queued += 1
    if queued:
        log.warning("queued %d escalation summar%s that an interrupted escalation never "
                    "queued", queued, "y" if queued == 1 else "ies")
    return queued


def _summary_id(key: str, at: str) -> str:
    return f"escalation:{key}:{at}"


def remind_stale_escalations(services: Services, now: datetime | None = None) -> int:
    """Post one reminder for each escalation still unclaimed after
    `escalation.reminder_minutes`; returns how many were sent. Safe to run often and from
    two places at once: the "reminded" flag is set atomically before posting."""
    now = now or services.clock()
    queue_missing_summaries(services)  # the safety net for cut-short escalations
    wait = timedelta(minutes=services.settings.escalation.reminder_minutes)
    sent = 0
    for mention in services.store.open_mentions(state=State.ESCALATED):
        esc = mention.extra.get("escalation") or {}
        if (mention.state is not State.ESCALATED or mention.owner or not mention.escalated_at
                or esc.get("reminded") or mention.escalated_at + wait > now):
            continue

        def mark(m: Mention) -> Mention | None:
            e = m.extra.get("escalation") or {}
            if m.state is not State.ESCALATED or m.owner or e.get("reminded"):
                return None
            m.extra = {**m.extra, "escalation": {**e, "reminded": True}}
            return m

        saved = services.store.update_mention(mention.key, mark)
        if saved is None:
            continue
        event = Event(mention.key, EventKind.REMINDED, now, data={"to": saved.department})
        services.store.add_event(event)
        services.outbox.thread(mention.key, blocks.thread_line(event, saved.short_id))
        lead = services.department_lead(saved.department)
        ping = f"{mrkdwn.group_ping(lead)} " if mrkdwn.group_ping(lead) else ""
        permalink = permalink_of(services, saved)
        where = f" ({mrkdwn.link(permalink, 'original message')})" if permalink else ""
        minutes = int((now - saved.escalated_at).total_seconds() // 60)
        text = (f":alarm_clock: {ping}Reminder: *{label(saved)}* was escalated to "
                f"*{mrkdwn.escape_mrkdwn(saved.department)}* {minutes} minutes ago and nobody "
                f"has claimed it yet{where}. Type `/claim {label(saved)}` to take it.")
        services.outbox.message(services.department_channel(saved.department), text,
                                item_id=f"reminder:{mention.key}:{saved.escalated_at.isoformat()}")
        sent += 1
    return sent


# --- helpers ---------------------------------------------------------------------------------


def _record(services: Services, event: Event, mention: Mention) -> None:
    """Store the event, re-render the channel message, add the thread line."""
    services.store.add_event(event)
    services.outbox.refresh(event.mention_key)
    services.outbox.thread(event.mention_key, blocks.thread_line(event, mention.short_id))


def _since(when: datetime | None) -> str:
    return f" since {mrkdwn.slack_date(when)}" if when else ""


def _code(text: str) -> str:
    """User text shown inside `code`: escaped, no backticks, bounded."""
    return mrkdwn.escape_mrkdwn(text.replace("`", "'"))[:100]
