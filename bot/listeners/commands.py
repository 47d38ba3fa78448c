"""Slash commands /claim and /escalate.

Both acknowledge at once and answer through `respond` (the command's response_url),
ephemerally: only the person who typed the command sees the reply. Every mistake a
person can make (unknown id, bad syntax, already claimed, not a department channel)
gets a sentence saying what was expected.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import mrkdwn, workflow
from bot.listeners import acks_at_once
from bot.settings import LEADERSHIP
from bot.slack.services import Services

log = logging.getLogger(__name__)

CLAIM_HELP = (
    "*/claim* takes a mention so everyone knows you are on it.\n"
    "• `/claim E-42`: claim mention E-42 (the id on its message; a link to the message "
    "works too)\n"
    "• `/claim` in a department channel: claim the oldest unclaimed mention of that "
    "department (the channel is a queue)\n"
    "• `/claim help`: this text")
ESCALATE_HELP = (
    "*/escalate* hands a mention to another team with a reason.\n"
    "• `/escalate E-42 billing charged twice, needs a refund`: escalate E-42 to billing\n"
    "• `/escalate E-42 customer threatens to cancel`: no target named: to the "
    "escalation channel (leadership)\n"
    "• `/escalate E-42 leadership --urgent press is asking`: to leadership, urgent\n"
    "Targets: {targets}.\n"
    "• `/escalate help`: this text")
# How many times bare /claim retries when someone takes the head of the queue first.
QUEUE_RETRIES = 5


@dataclass
class EscalateArgs:
    ref: str
    target: str
    reason: str
    urgency: str


def parse_escalate(text: str, is_target: Callable[[str], bool] = lambda word: True
                   ) -> EscalateArgs | str:
    """`E-42 [<target>] [--urgent] <reason…>` -> EscalateArgs, or a sentence on what is
    wrong. When the word after the id is not a target (`is_target`), the documented
    short form `/escalate E-42 reason…` is meant: to leadership (the escalation
    channel), the whole rest being the reason."""
    words = text.split()
    urgency = "normal"
    if "--urgent" in words:
        words.remove("--urgent")
        urgency = "urgent"
    if not words:
        return "Tell me which mention, where to, and why: `/escalate E-42 billing reason…`."
    if len(words) == 1:
        return (f"Where should {_code(words[0])} go, and why? "
                f"For example `/escalate {_code(words[0])} billing charged twice`.")
    if not is_target(words[1]):
        return EscalateArgs(words[0], LEADERSHIP, " ".join(words[1:]), urgency)
    if len(words) == 2:
        return (f"Please add a reason after the target: "
                f"`/escalate {_code(words[0])} {_code(words[1])} why it needs them`.")
    return EscalateArgs(words[0], words[1], " ".join(words[2:]), urgency)


def register(app: App, services: Services) -> None:
    @acks_at_once
    def on_claim(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = claim_command(services, command)
        respond(text=reply, response_type="ephemeral", replace_original=False)

    @acks_at_once
    def on_escalate(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = escalate_command(services, command)
        respond(text=reply, response_type="ephemeral", replace_original=False)

    app.command("/claim")(on_claim)
    app.command("/escalate")(on_escalate)


def claim_command(services: Services, command: dict[str, Any]) -> str:
    """Run /claim; returns the reply for the person who typed it."""
    text, user = (command.get("text") or "").strip(), command["user_id"]
    if text.lower() in ("help", "-h", "--help", "?"):
        return CLAIM_HELP
    words = text.split()
    if len(words) > 1:
        return ("`/claim` takes one mention id, like `/claim E-42` (or nothing, in a "
                "department channel, to take the oldest waiting one). `/claim help` explains.")
    if words:
        mention = workflow.find_mention(services.store, words[0])
        if mention is None:
            return (f"I can't find a mention {_code(words[0])}. Use the id shown on its "
                    "message (like `E-42`) or a link to the message.")
        return workflow.claim(services, mention.key, user).message
    return _claim_oldest(services, command, user)


def _claim_oldest(services: Services, command: dict[str, Any], user: str) -> str:
    assert services.channels is not None
    dept = services.channels.department_for_channel(command.get("channel_id", ""),
                                                    command.get("channel_name"))
    if dept is None:
        channels = ", ".join(mrkdwn.escape_mrkdwn(d.channel)
                             for d in services.settings.departments.values())
        return ("This isn't a department channel, so there is no queue here. Use "
                f"`/claim E-42` to claim a mention by id, or `/claim` in one of: {channels}.")
    for _ in range(QUEUE_RETRIES):
        mention = workflow.oldest_unclaimed(services.store, dept)
        if mention is None:
            where = "leadership" if dept == LEADERSHIP else dept
            return f"Nothing is waiting in the {mrkdwn.escape_mrkdwn(where)} queue. :tada:"
        outcome = workflow.claim(services, mention.key, user)
        if outcome.code == "claimed":
            return outcome.message
        # Someone took it in the same instant: try the next one in the queue.
    return "The queue is moving fast and others took the next ones; please try again."


def escalate_command(services: Services, command: dict[str, Any]) -> str:
    """Run /escalate; returns the reply for the person who typed it."""
    text, user = (command.get("text") or "").strip(), command["user_id"]
    targets = ", ".join(workflow.escalation_targets(services))
    if text.lower() in ("", "help", "-h", "--help", "?"):
        return ESCALATE_HELP.format(targets=targets)
    words = [w for w in text.split() if w != "--urgent"]
    typo = _typo(services, words[1]) if len(words) > 1 else None
    if typo:  # "biling": a slip of the finger, not the start of a reason
        return (f"Did you mean `{typo}`? {_code(words[1])} is not a department. "
                f"Targets: {targets}.")
    parsed = parse_escalate(
        text, lambda word: workflow.normalize_target(services, word) is not None)
    if isinstance(parsed, str):
        return parsed + f" Targets: {targets}. `/escalate help` explains."
    mention = workflow.find_mention(services.store, parsed.ref)
    if mention is None:
        return (f"I can't find a mention {_code(parsed.ref)}. Use the id shown on its "
                "message (like `E-42`) or a link to the message.")
    outcome = workflow.escalate(services, mention.key, user, parsed.target, parsed.reason,
                                parsed.urgency)
    if outcome.ok and workflow.normalize_target(services, words[1]) is None:
        return (outcome.message + " (No target named, so it went to the escalation channel "
                "with all of your text as the reason.)")
    return outcome.message


def _typo(services: Services, word: str) -> str | None:
    """The target `word` is a near miss of, if it is not a target itself."""
    if workflow.normalize_target(services, word) is not None:
        return None
    names = [*services.settings.departments, LEADERSHIP]
    close = difflib.get_close_matches(word.lstrip("#").lower(), [n.lower() for n in names],
                                      n=1, cutoff=0.8)
    return next((n for n in names if close and n.lower() == close[0]), None)


def _code(text: str) -> str:
    return "`" + mrkdwn.escape_mrkdwn(text.replace("`", "'"))[:80] + "`"
