"""Modal submissions: the Answer modal and the Escalate modal.

Input a person can fix (empty reason, too long for the source) is answered inside the
modal with `response_action="errors"`, which must be the ack itself; everything else is
acknowledged first (closing the modal) and done after, with the outcome told ephemerally.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import workflow
from bot.answers import answering
from bot.listeners import tell
from bot.slack import ids
from bot.slack import views as v
from bot.slack.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    # Long because it declares each modal's submit handler as a short closure over
    # `services`; the state changes live in bot.workflow and bot.answers.
    def on_answer(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                  client: WebClient) -> None:
        meta = v.read_metadata(view.get("private_metadata"))
        key, user = str(meta.get("key") or ""), body["user"]["id"]
        text = v.submitted_value(view, v.ANSWER_BLOCK, v.ANSWER_INPUT)
        mention = services.store.get_mention(key)
        if mention is None:
            ack(response_action="errors",
                errors={v.ANSWER_BLOCK: "This mention no longer exists."})
            return
        # Publish and approval are length-checked alike, so only "record or not" matters
        # here; that is known without asking Slack who publishes (not before the ack).
        mode = answering.PUBLISH if answering.will_publish(services, mention) \
            else answering.RECORD
        problem = answering.length_problem(mention, text, mode)
        if problem:
            ack(response_action="errors", errors={v.ANSWER_BLOCK: problem})
            return
        ack()
        try:
            outcome = answering.submit_answer(services, key, user, text)
        except Exception:
            log.exception("submit_answer failed for %s", key)
            tell(client, user, "Something went wrong while saving your answer; it was not "
                 "recorded. Please try again.", channel=meta.get("channel"))
            return
        tell(client, user, outcome.notice, channel=meta.get("channel"))

    def on_escalate(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                    client: WebClient) -> None:
        meta = v.read_metadata(view.get("private_metadata"))
        key, user = str(meta.get("key") or ""), body["user"]["id"]
        target = v.submitted_value(view, v.TARGET_BLOCK, v.TARGET_INPUT)
        reason = v.submitted_value(view, v.REASON_BLOCK, v.REASON_INPUT).strip()
        urgency = v.submitted_value(view, v.URGENCY_BLOCK, v.URGENCY_INPUT) or "normal"
        errors: dict[str, str] = {}
        if not reason:
            errors[v.REASON_BLOCK] = "Say why you are escalating it."
        mention = services.store.get_mention(key)
        if mention is None:
            errors[v.TARGET_BLOCK] = "This mention no longer exists."
        elif workflow.normalize_target(services, target) in (None, mention.department):
            errors[v.TARGET_BLOCK] = "Choose another department or Leadership."
        if urgency not in workflow.URGENCIES:
            errors[v.URGENCY_BLOCK] = "Choose Normal or Urgent."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        outcome = workflow.escalate(services, key, user, target, reason, urgency)
        tell(client, user, outcome.message, channel=meta.get("channel"))

    app.view(ids.ANSWER_VIEW)(on_answer)
    app.view(ids.ESCALATE_VIEW)(on_escalate)
