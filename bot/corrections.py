"""Corrections people make in Slack (issue 11): move a mention to another department,
undo their own move, and set or clear its complaint flag.

Each is one conditional `store.update_mention` (two people at once: one result), an Event
(MOVED, MOVE_UNDONE, MARKED: the figures of moves read them), the channel message
re-rendered and one thread line, all through the outbox like `bot.workflow`. A move also
posts a notice with a Claim button in the new department's channel (once: its outbox id
is derived from the move). Every correction becomes a label for the learner
(`bot.judgment.labels.teach`, kept at once and learned in the background); an undone move
takes its label back (`Retrainer.forget`), and a mention's newest move or flag replaces
its earlier ones, so the learner holds the team's last word on each post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot import mrkdwn, workflow
from bot.judgment.labels import COMPLAINT, ROUTE, Label, story, teach
from bot.mention import Event, EventKind, Mention, State, parse_time
from bot.slack import blocks, ids
from bot.slack.blocks import MOVE_KEY, last_move
from bot.slack.services import Services
from bot.workflow import Outcome, label

log = logging.getLogger(__name__)

MOVE, MARK = "move", "mark"  # Label.source of a move and of a complaint flag


def move_targets(services: Services, mention: Mention) -> list[str]:
    """The configured departments a mention can be moved to (all but its own)."""
    return [name for name in services.settings.departments if name != mention.department]


def cannot_move(services: Services, mention: Mention) -> str | None:
    """Why a mention cannot be moved at all (before the modal opens); None if it can."""
    if mention.state is State.ANSWERED:
        return f"{label(mention)} has already been answered; there is nothing to move."
    if not move_targets(services, mention):
        return "There is no other department to move it to."
    return None


def move_problem(services: Services, mention: Mention | None, target: str,
                 seen: str | None = None) -> str | None:
    """Why a move cannot be made, in one sentence; None if it can (checked before the
    modal closes, and again inside the conditional update)."""
    if mention is None:
        return "This mention no longer exists."
    if not target:
        return "Choose a department."
    if target not in services.settings.departments:
        return (f"{mrkdwn.escape_mrkdwn(target[:100])} is no longer a department in "
                "Earshot's configuration; choose another.")
    if seen is not None and mention.department != seen:
        return (f"{label(mention)} was moved to {mention.department} a moment ago; "
                "nothing was changed.")
    if target == mention.department:
        return f"{label(mention)} is already with {target}."
    if mention.state is State.ANSWERED:
        return f"{label(mention)} has already been answered; there is nothing to move."
    return None


def move(services: Services, key: str, user: str, target: str,
         seen: str | None = None) -> Outcome:
    """Re-route a mention to `target` (a configured department) for its team to claim.

    `seen` is the department the person saw when choosing: if it has moved since, nothing
    changes (so two people moving at once give one result). The owner is cleared, the old
    place is kept for an undo, and the new channel gets a notice with a Claim button."""
    current = services.store.get_mention(key)
    problem = move_problem(services, current, target, seen)
    if current is None or problem:
        return Outcome(False, "not_found" if current is None else "refused",
                       problem or "", current)
    expected = current.department if seen is None else seen
    now = services.clock()

    def change(m: Mention) -> Mention | None:
        if m.department != expected or m.department == target or m.state is State.ANSWERED:
            return None  # someone moved (or answered) it a moment ago
        earlier = last_move(m)
        m.extra = {**m.extra, MOVE_KEY: {
            "from": m.department, "to": target, "by": user, "at": now.isoformat(),
            # What an undo puts back; `before` is the move this one replaces (one level).
            "state": m.state.value, "owner": m.owner,
            "claimed_at": m.claimed_at.isoformat() if m.claimed_at else None,
            "escalated_at": m.escalated_at.isoformat() if m.escalated_at else None,
            "before": {k: v for k, v in earlier.items() if k != "before"} if earlier else None}}
        # A moved mention is the new team's plain mention: no longer an escalation (a
        # release there must not send it back to "escalated"); an undo puts it back.
        m.department, m.state, m.owner, m.claimed_at = target, State.NEW, None, None
        m.escalated_at = None
        return m

    saved = services.store.update_mention(key, change)
    if saved is None:
        now_at = services.store.get_mention(key)
        return Outcome(False, "refused", move_problem(services, now_at, target, expected)
                       or f"{label(current)} changed a moment ago; nothing was moved.", now_at)
    event = Event(key, EventKind.MOVED, now, user=user, data={"from": expected, "to": target})
    _record(services, event, saved)
    # The newest move is the team's word on this post: an earlier move's label goes.
    _forget(services, lambda lb: lb.mention_key == key and lb.source == MOVE)
    teach(services.learning, _move_label(saved, saved.extra[MOVE_KEY]))
    text, notice = move_notice(services, saved, event)
    services.outbox.message(services.department_channel(target), text, blocks=notice,
                            item_id=_notice_id(key, now.isoformat()))
    return Outcome(True, "moved", f"You moved {label(saved)} from {expected} to {target}. "
                   "Changed your mind? Choose “Undo my move” in its ⋯ menu.", saved)


def undo_move(services: Services, key: str, user: str) -> Outcome:
    """Put a mention back where the last move took it from; only its mover may, and only
    while it is still where the move put it and nobody has claimed or answered it there."""
    current = services.store.get_mention(key)
    if current is None:
        return Outcome(False, "not_found", "This mention no longer exists.")
    problem = _undo_problem(current, user)
    if problem:
        return Outcome(False, "refused", problem, current)
    undone: dict[str, Any] = {}

    def change(m: Mention) -> Mention | None:
        if _undo_problem(m, user):
            return None
        mv = undone["move"] = dict(last_move(m) or {})
        extra = {k: v for k, v in m.extra.items() if k != MOVE_KEY}
        if isinstance(mv.get("before"), dict):
            extra[MOVE_KEY] = mv["before"]  # the earlier move can be undone again
        m.extra, m.department = extra, str(mv["from"])
        m.state = State(mv.get("state") or State.NEW.value)
        m.owner = mv.get("owner") or None
        m.claimed_at = parse_time(mv["claimed_at"]) if mv.get("claimed_at") else None
        m.escalated_at = parse_time(mv["escalated_at"]) if mv.get("escalated_at") else None
        if m.state is State.CLAIMED and not m.owner:
            m.state = State.NEW
        return m

    saved = services.store.update_mention(key, change)
    if saved is None:
        now_at = services.store.get_mention(key)
        return Outcome(False, "refused", (_undo_problem(now_at, user) if now_at else None)
                       or f"{label(current)} changed a moment ago; nothing was undone.", now_at)
    mv = undone["move"]
    event = Event(key, EventKind.MOVE_UNDONE, services.clock(), user=user,
                  data={"from": mv["from"], "to": mv["to"]})
    _record(services, event, saved)
    _forget(services, lambda lb: lb.mention_key == key and lb.source == MOVE
            and lb.at == mv.get("at"))
    before = mv.get("before")
    if isinstance(before, dict) and before.get("to") == saved.department:
        teach(services.learning, _move_label(saved, before))  # the earlier word stands again
    if str(mv["to"]) in services.settings.departments:
        # The team it was moved to saw a notice with a Claim button: tell them it went back.
        services.outbox.message(
            services.department_channel(str(mv["to"])),
            f":leftwards_arrow_with_hook: {mrkdwn.user(user)} undid the move of "
            f"*{label(saved)}*: it is back with *{mrkdwn.escape_mrkdwn(saved.department)}*, "
            "nothing to do here.", item_id=f"move-undone:{key}:{mv.get('at')}")
    return Outcome(True, "undone", f"You undid your move: {label(saved)} is back with "
                   f"{saved.department}.", saved)


def _undo_problem(mention: Mention, user: str) -> str | None:
    move_ = last_move(mention)
    if move_ is None or move_.get("to") != mention.department:
        return f"{label(mention)} has no move to undo."
    if move_.get("by") != user:
        return (f"Sorry, only {mrkdwn.user(str(move_['by']))} can undo their move of "
                f"{label(mention)}; you can move it again instead.")
    if mention.state is State.ANSWERED:
        return f"{label(mention)} has already been answered in {mention.department}."
    if mention.owner:
        return (f"{mrkdwn.user(mention.owner)} has claimed {label(mention)} in "
                f"{mention.department} since your move; ask them to move it.")
    return None


def mark(services: Services, key: str, user: str, complaint: bool) -> Outcome:
    """Set the complaint flag (True) or clear it (False); the flag another person set a
    moment ago is not set twice."""
    now = services.clock()
    saved = services.store.update_mention(
        key, lambda m: None if m.complaint == complaint else _flagged(m, complaint))
    what = "a complaint" if complaint else "not a complaint"
    if saved is None:
        current = services.store.get_mention(key)
        if current is None:
            return Outcome(False, "not_found", "This mention no longer exists.")
        return Outcome(False, "unchanged", f"{label(current)} is already marked as {what}.",
                       current)
    event = Event(key, EventKind.MARKED, now, user=user,
                  data={"complaint": complaint, "previous": not complaint})
    _record(services, event, saved)
    _forget(services, lambda lb: lb.mention_key == key and lb.kind == COMPLAINT
            and lb.source == MARK)
    teach(services.learning, Label(COMPLAINT, story(saved), "yes" if complaint else "no",
                                   MARK, by=user, at=now.isoformat(), mention_key=key,
                                   previous="no" if complaint else "yes"))
    return Outcome(True, "marked", f"You marked {label(saved)} as {what}.", saved)


def _flagged(m: Mention, complaint: bool) -> Mention:
    m.complaint = complaint
    return m


def move_notice(services: Services, mention: Mention, event: Event
                ) -> tuple[str, list[dict[str, Any]]]:
    """The message in the new department's channel: who moved what from where, the start
    of the post, a link to the original message, and a Claim button."""
    data = event.data
    permalink = workflow.permalink_of(services, mention)
    original = mrkdwn.link(permalink, "original message") if permalink else "original message"
    head = (f":arrow_right: {mrkdwn.user(event.user)} moved *{label(mention)}* from "
            f"*{mrkdwn.escape_mrkdwn(str(data.get('from') or '?'))}* to "
            f"*{mrkdwn.escape_mrkdwn(str(data['to']))}*")
    excerpt, cut = mrkdwn.escape_cut(mention.text or mention.title or "", 600)
    body = (f">{excerpt.replace(chr(10), ' ')}{'…' if cut else ''}\n{original} · on "
            f"{mrkdwn.link(mention.url, blocks.source_label(mention.source))}")
    text = mrkdwn.truncate(f"{label(mention)} moved to {data['to']} from "
                           f"{data.get('from') or '?'}", 3000)
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(head, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(body, 3000)}},
    ]
    actions = blocks.buttons(mention)
    if actions:  # only Claim here: answering happens on the original message
        claim = [e for e in actions["elements"] if e["action_id"] == ids.CLAIM]
        if claim:
            out.append({**actions, "block_id": "earshot_move_actions", "elements": claim})
    return text, out


def queue_missing_notices(services: Services) -> int:
    """Queue the new channel's notice of every standing move whose notice was never
    queued; returns how many. A move changes the mention, then queues the notice: a crash
    between the two would lose it. The move record on the mention is the durable intent
    and the notice's id is derived from it, so this completes any move cut short and is a
    no-op for the rest (as `workflow.queue_missing_summaries` does for escalations)."""
    queued = 0
    for mention in services.store.open_mentions(state=State.NEW, with_extra=MOVE_KEY):
        mv = last_move(mention)
        if (mv is None or mv.get("to") != mention.department or not mv.get("at")
                or mention.department not in services.settings.departments):
            continue
        item_id = _notice_id(mention.key, str(mv["at"]))
        if services.store.get_outbox(item_id) is not None:
            continue
        event = Event(mention.key, EventKind.MOVED, parse_time(str(mv["at"])),
                      user=str(mv.get("by") or ""), data={"from": mv.get("from"),
                                                          "to": mv["to"]})
        text, notice = move_notice(services, mention, event)
        services.outbox.message(services.department_channel(mention.department), text,
                                blocks=notice, item_id=item_id)
        queued += 1
    if queued:
        log.warning("queued %d move notice%s that an interrupted move never queued",
                    queued, "" if queued == 1 else "s")
    return queued


def _notice_id(key: str, at: str) -> str:
    return f"move:{key}:{at}"


def _move_label(mention: Mention, move_: dict[str, Any]) -> Label:
    return Label(ROUTE, story(mention), str(move_["to"]), MOVE, by=str(move_.get("by") or ""),
                 at=str(move_.get("at") or ""), mention_key=mention.key,
                 previous=str(move_.get("from") or ""))


def _forget(services: Services, drop: Callable[[Label], bool]) -> None:
    """Take labels back from the learner (kept labels only: nothing to do without one)."""
    if services.learning is None:
        return
    try:
        services.learning.forget(lambda lb: not drop(lb))
    except Exception:  # the correction itself is done; a stale label only costs learning
        log.exception("could not take back a label")


def _record(services: Services, event: Event, mention: Mention) -> None:
    """Store the event, re-render the channel message, add the thread line."""
    services.store.add_event(event)
    services.outbox.refresh(event.mention_key)
    services.outbox.thread(event.mention_key, blocks.thread_line(event, mention.short_id))
