"""Slack messages and modals of the publishing flow: pure functions, all text escaped.

Draft texts and rejection reasons are written by people in Slack, but they are still
outside text for mrkdwn: every one goes through `escape_cut` before it reaches a block.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.answers.drafts import Draft
from bot.mention import Mention
from bot.mrkdwn import escape_cut, escape_mrkdwn, link, slack_date, user
from bot.slack import ids
from bot.slack.blocks import source_label

MAX_QUOTE = 2_500  # a draft quoted in a section (limit 3,000 with the lines around it)
MAX_INPUT = 3_000  # plain_text_input max_length

REPLY_BLOCK, REPLY_ACTION = "reply", "text"
REASON_BLOCK, REASON_ACTION = "reason", "text"


def quote(text: str) -> str:
    """The text as an escaped mrkdwn block quote."""
    escaped, cut = escape_cut(text or "", MAX_QUOTE)
    body = escaped + ("…" if cut else "")
    return "\n".join("> " + line for line in body.split("\n"))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str, value: str, style: str | None = None
            ) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                              "text": {"type": "plain_text", "text": label}}
    if style:
        button["style"] = style
    return button


def draft_message(mention: Mention, draft: Draft, ping: str) -> tuple[str, list[dict]]:
    """The thread message asking a publisher to review a draft: Approve / Edit / Reject."""
    where = escape_mrkdwn(source_label(mention.source))
    head = (f"{ping} {user(draft.author)} wrote a reply to publish on {where}; "
            "a publisher must approve it first:").strip()
    text = f"{head}\n{quote(draft.text)}"
    blocks = [
        _section(text),
        {"type": "actions", "block_id": f"draft_{draft.id}", "elements": [
            _button("Approve", ids.APPROVE, draft.id, "primary"),
            _button("Edit", ids.EDIT_DRAFT, draft.id),
            _button("Reject", ids.REJECT, draft.id, "danger"),
        ]},
    ]
    return text, blocks


def decided_message(draft: Draft, line: str) -> tuple[str, list[dict]]:
    """The draft message once decided: the quote stays, the buttons go."""
    text = f"{line}\n{quote(draft.text)}"
    return text, [_section(text)]


def failed_message(mention: Mention, draft: Draft, error: str) -> tuple[str, list[dict]]:
    """The honest "not published, retry?" state, with a Retry button."""
    where = escape_mrkdwn(source_label(mention.source))
    err, _ = escape_cut(error, 500)
    check = ""
    if "did not answer" in error and mention.source != "mastodon" and mention.url:
        # X and Bluesky have no idempotency key: after a timeout the post may exist.
        check = f" It may have gone through: {link(mention.url, 'check the thread')} first."
    text = (f":warning: *Not published* on {where}: {err}.{check}\n"
            f"Retry when the problem is fixed:\n{quote(draft.text)}")
    blocks = [
        _section(text),
        {"type": "actions", "block_id": f"retry_{draft.id}", "elements": [
            _button("Retry", ids.RETRY_PUBLISH, draft.id, "primary")]},
    ]
    return text, blocks


def published_line(mention: Mention, draft: Draft, when: datetime) -> str:
    """The audit line in the thread: who wrote, who approved, when, the link, the text."""
    where = escape_mrkdwn(source_label(mention.source))
    view = link(draft.url, f"published on {where}") if draft.url else f"published on {where}"
    approved = ("as a publisher" if draft.approver == draft.author
                else f"approved by {user(draft.approver)}")
    edited = " (edited by the approver)" if draft.edited else ""
    return (f":loudspeaker: Reply {view} {slack_date(when)} · written by "
            f"{user(draft.author)}, {approved}{edited}:\n{quote(draft.text)}")


def edit_modal(draft: Draft, meta: dict[str, Any]) -> dict[str, Any]:
    """The draft in a modal, editable; submitting publishes the edited text."""
    return {
        "type": "modal", "callback_id": ids.EDIT_VIEW,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "Edit and publish"},
        "submit": {"type": "plain_text", "text": "Publish"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input", "block_id": REPLY_BLOCK,
            "label": {"type": "plain_text", "text": "Reply"},
            "element": {"type": "plain_text_input", "action_id": REPLY_ACTION,
                        "multiline": True, "initial_value": draft.text[:MAX_INPUT],
                        "max_length": MAX_INPUT},
        }],
    }


def reject_modal(draft: Draft, meta: dict[str, Any]) -> dict[str, Any]:
    """Ask why; the author gets the reason and writes a new answer."""
    return {
        "type": "modal", "callback_id": ids.REJECT_VIEW,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "Reject draft"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"Draft by {user(draft.author)}:\n{quote(draft.text)}"),
            {"type": "input", "block_id": REASON_BLOCK,
             "label": {"type": "plain_text", "text": "What should change?"},
             "element": {"type": "plain_text_input", "action_id": REASON_ACTION,
                         "multiline": True, "max_length": 1_000}},
        ],
    }
