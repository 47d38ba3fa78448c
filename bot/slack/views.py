"""Modal and App Home builders: pure functions from mentions and settings to Block Kit views.

All mention text is escaped here (blocks.escape_mrkdwn) or placed in plain_text fields.
Limits: 100 blocks per modal or Home tab, 3,000 characters per section, 75 per option
label, 3,000 per private_metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import mrkdwn
from bot.mention import Mention, State
from bot.slack import blocks, ids
from bot.text import plural

MAX_VIEW_BLOCKS = 100
ANSWER_BLOCK, ANSWER_INPUT = "answer", "text"
TARGET_BLOCK, TARGET_INPUT = "target", "target"
REASON_BLOCK, REASON_INPUT = "reason", "reason"
URGENCY_BLOCK, URGENCY_INPUT = "urgency", "urgency"
ANSWER_MAX_CHARS = 3_000

MODE_TEXT = {
    "publish": "Your reply will be *published on {source}* as the brand, and recorded in the "
               "thread.",
    "approval": "Your reply will be *sent to a publisher for approval*; once approved it is "
                "published on {source}. You will be told the outcome.",
    "record": "Your reply will be *recorded in the thread only*: Earshot does not post it to "
              "{source}. Answer the person there: {link}.",
}
SUBMIT_LABEL = {"publish": "Publish", "approval": "Send for approval", "record": "Record"}


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(text, 3000)}}


def metadata(**values: Any) -> str:
    """private_metadata: a small JSON object (Slack allows 3,000 characters)."""
    return json.dumps(values, separators=(",", ":"))


def read_metadata(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def mention_excerpt(mention: Mention, limit: int = 500) -> str:
    """*E-42* · Source · author, then the start of the post, escaped."""
    head = " · ".join(filter(None, [
        f"*{mention.short_id}*" if mention.short_id else "",
        f"*{mrkdwn.escape_mrkdwn(blocks.source_label(mention.source))}*",
        mrkdwn.escape_mrkdwn(mention.author) + blocks.author_reach(mention)
        if mention.author else "",
    ]))
    text, cut = mrkdwn.escape_cut(mention.text or mention.title or "", limit)
    return f"{head}\n>{text.replace(chr(10), chr(10) + '>')}{'…' if cut else ''}"


# --- the Answer modal ---------------------------------------------------------------------


def answer_modal(mention: Mention, mode: str, *, channel: str | None = None,
                 thread_ts: str | None = None) -> dict[str, Any]:
    """The modal to write a reply; says whether it will be published, sent for approval or
    only recorded (with a link to the post so the person can answer there)."""
    source = mrkdwn.escape_mrkdwn(blocks.source_label(mention.source))
    mode = mode if mode in MODE_TEXT else "record"
    what = MODE_TEXT[mode].format(source=source,
                                  link=mrkdwn.link(mention.url, "open the post"))
    view_blocks: list[dict[str, Any]] = [_mrkdwn_section(mention_excerpt(mention))]
    if mention.state is State.ANSWERED:
        view_blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": "This mention has already been answered; your reply is "
                                      "added to the thread."}]})
    view_blocks += [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": what}]},
        {"type": "input", "block_id": ANSWER_BLOCK,
         "label": _plain("Your reply"),
         "element": {"type": "plain_text_input", "action_id": ANSWER_INPUT, "multiline": True,
                     "max_length": ANSWER_MAX_CHARS,
                     "placeholder": _plain("Plain text, as the person will read it")}},
    ]
    return {
        "type": "modal",
        "callback_id": ids.ANSWER_VIEW,
        "private_metadata": metadata(key=mention.key, channel=channel, thread_ts=thread_ts,
                                     mode=mode),
        "title": _plain(f"Answer {mention.short_id}".strip(), 24),
        "submit": _plain(SUBMIT_LABEL[mode], 24),
        "close": _plain("Cancel", 24),
        "blocks": view_blocks,
    }


# --- the Escalate modal ---------------------------------------------------------------------


def target_label(name: str) -> str:
    return "Leadership" if name == "leadership" else name


def escalate_modal(mention: Mention, targets: Sequence[str], *, channel: str | None = None
                   ) -> dict[str, Any]:
    """Target (another department or Leadership), reason (required), urgency."""
    options = [{"text": _plain(target_label(t), 75), "value": t} for t in targets][:100]
    return {
        "type": "modal",
        "callback_id": ids.ESCALATE_VIEW,
        "private_metadata": metadata(key=mention.key, channel=channel),
        "title": _plain(f"Escalate {mention.short_id}".strip(), 24),
        "submit": _plain("Escalate", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _mrkdwn_section(mention_excerpt(mention, 300)),
            {"type": "input", "block_id": TARGET_BLOCK, "label": _plain("Escalate to"),
             "element": {"type": "static_select", "action_id": TARGET_INPUT,
                         "placeholder": _plain("A department or Leadership"),
                         "options": options}},
            {"type": "input", "block_id": REASON_BLOCK, "label": _plain("Why"),
             "element": {"type": "plain_text_input", "action_id": REASON_INPUT,
                         "multiline": True, "max_length": 1000,
                         "placeholder": _plain("What the target team needs to know")}},
            {"type": "input", "block_id": URGENCY_BLOCK, "label": _plain("Urgency"),
             "element": {"type": "radio_buttons", "action_id": URGENCY_INPUT,
                         "initial_option": {"text": _plain("Normal"), "value": "normal"},
                         "options": [{"text": _plain("Normal"), "value": "normal"},
                                     {"text": _plain("Urgent"), "value": "urgent"}]}},
        ],
    }


# --- the Move modal (corrections, issue 11) -------------------------------------------------

MOVE_BLOCK, MOVE_INPUT = "move_to", "department"


def move_modal(mention: Mention, targets: Sequence[str], *, channel: str | None = None
               ) -> dict[str, Any]:
    """Choose another department. The metadata keeps the department the person saw, so
    a move submitted after someone else's is refused instead of moving it twice."""
    # A value is at most 75 characters: a longer department name cannot be offered.
    options = [{"text": _plain(t, 75), "value": t} for t in targets if len(t) <= 75][:100]
    return {
        "type": "modal",
        "callback_id": ids.MOVE_VIEW,
        "private_metadata": metadata(key=mention.key, channel=channel,
                                     seen=mention.department),
        "title": _plain(f"Move {mention.short_id}".strip(), 24),
        "submit": _plain("Move", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _mrkdwn_section(mention_excerpt(mention, 300)),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"Now with *{mrkdwn.escape_mrkdwn(mention.department or 'nobody')}*. The "
                "department you choose gets it to claim, and Earshot learns from the move "
                "where posts like it belong.")}]},
            {"type": "input", "block_id": MOVE_BLOCK, "label": _plain("Move to"),
             "element": {"type": "static_select", "action_id": MOVE_INPUT,
                         "placeholder": _plain("A department"), "options": options}},
        ],
    }


def submitted_value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    """The value a person entered or chose in a submitted view ("" if none)."""
    state = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(action_id)
    if not isinstance(state, dict):
        return ""
    if state.get("selected_option"):
        return str(state["selected_option"].get("value") or "")
    return str(state.get("value") or "")


# --- App Home --------------------------------------------------------------------------------


@dataclass
class HomeData:
    """What the Home tab shows, gathered by the listener from the store."""

    user: str
    mine: list[Mention] = field(default_factory=list)
    queues: dict[str, list[Mention]] = field(default_factory=dict)  # department -> open, oldest
    counts: dict[str, int] = field(default_factory=dict)  # today: new, complaints, claimed, ...
    now: datetime | None = None
    # department -> how many are waiting, when `queues` holds only the first few of each
    # (the listener reads just the QUEUE_SHOWN it shows); else the length of the queue.
    waiting: dict[str, int] = field(default_factory=dict)
    # mrkdwn lines of first-contact resolution (bot.answers.resolution.lines); [] = none
    resolution: list[str] = field(default_factory=list)
    # mrkdwn lines of moves and routing accuracy (bot.summary.routing_health.lines)
    routing: list[str] = field(default_factory=list)
    habit: list[dict[str, Any]] = field(default_factory=list)  # a leader's habit controls


MINE_SHOWN = 15
QUEUE_SHOWN = 5
# (count key, label for one, label for several): "1 complaint", "2 complaints", "2 new".
COUNT_LABELS = (("new", "new", "new"), ("complaints", "complaint", "complaints"),
                ("claimed", "claimed", "claimed"), ("answered", "answered", "answered"),
                ("escalated", "escalated", "escalated"))


def _mention_row(mention: Mention, button: tuple[str, str] | None) -> dict[str, Any]:
    state = ""
    if mention.state is State.ESCALATED:
        state = " · :arrow_double_up: escalated"
    elif mention.state is State.CLAIMED and mention.claimed_at:
        state = f" · since {mrkdwn.slack_date(mention.claimed_at)}"
    block = _mrkdwn_section(mention_excerpt(mention, 200) + state)
    if button:
        text, action_id = button
        block["accessory"] = {"type": "button", "action_id": action_id, "value": mention.key,
                              "text": _plain(text, 30)}
    return block


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab: today's counts, my claimed mentions, the unclaimed queue per department."""
    out: list[dict[str, Any]] = [
        {"type": "header", "text": _plain("Earshot")},
        _mrkdwn_section("*Today:* " + " · ".join(
            plural(data.counts.get(key, 0), one, many) for key, one, many in COUNT_LABELS)),
    ]
    if data.resolution:
        out.append(_mrkdwn_section("\n".join(data.resolution)))
    if data.routing:
        out.append(_mrkdwn_section("\n".join(data.routing)))
    out += data.habit
    out += [
        {"type": "divider"},
        {"type": "header", "text": _plain(f"Your claimed mentions ({len(data.mine)})")},
    ]
    if not data.mine:
        out.append(_context("Nothing claimed. Pick one from a queue below, or type `/claim` "
                            "in a department channel."))
    for mention in data.mine[:MINE_SHOWN]:
        out.append(_mention_row(mention, ("Answer", ids.ANSWER)))
    if len(data.mine) > MINE_SHOWN:
        out.append(_context(f"…and {len(data.mine) - MINE_SHOWN} more."))
    out.append({"type": "divider"})
    out.append({"type": "header", "text": _plain("Unclaimed, by department")})
    # Each department costs at most QUEUE_SHOWN + 2 blocks; stop before the 100-block cap.
    for dept, queue in data.queues.items():
        if len(out) + QUEUE_SHOWN + 3 > MAX_VIEW_BLOCKS:
            out.append(_context("More departments are not shown."))
            break
        waiting = data.waiting.get(dept, len(queue))
        out.append(_mrkdwn_section(f"*{mrkdwn.escape_mrkdwn(target_label(dept))}*: "
                                   f"{waiting} waiting"))
        for mention in queue[:QUEUE_SHOWN]:
            out.append(_mention_row(mention, ("Claim", ids.CLAIM)))
        if waiting > QUEUE_SHOWN:
            out.append(_context(f"…and {waiting - QUEUE_SHOWN} more; type `/claim` in the "
                                "department's channel to take the oldest."))
    return {"type": "home", "blocks": out[:MAX_VIEW_BLOCKS]}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def today_counts(mentions: Iterable[Mention], events: Iterable[Any], day_start: datetime
                 ) -> dict[str, int]:
    """The Home tab's "Today" line: mentions that arrived since `day_start` (and how many
    are complaints), and today's claimed / answered / escalated events."""
    counts = _no_counts()
    for mention in mentions:
        _count_arrival(counts, mention, day_start)
    _count_events(counts, events, day_start)
    return counts


def _no_counts() -> dict[str, int]:
    return dict.fromkeys(("new", "complaints", "claimed", "answered", "escalated"), 0)


def _count_arrival(counts: dict[str, int], mention: Mention, day_start: datetime) -> None:
    # "New today" = arrived today (fetched), whenever the post itself was written.
    if (mention.fetched_at or mention.created_at) >= day_start:
        counts["new"] += 1
        counts["complaints"] += int(mention.complaint)


def _count_events(counts: dict[str, int], events: Iterable[Any], day_start: datetime) -> None:
    for event in events:
        if event.kind in counts and event.at >= day_start:
            counts[event.kind] += 1
