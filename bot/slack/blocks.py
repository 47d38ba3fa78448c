"""Block Kit builders: pure functions from a Mention (and its events) to Slack messages.

All escaping of outside text happens here. In mrkdwn only `&`, `<` and `>` are control
characters, so escaping `&` first and then `<` `>` turns `<!channel>`, `<@U123>` and
`<https://evil|click>` in a post into harmless visible text. Messages never set
`link_names`. Lengths are kept inside Slack's limits (text fallback 4,000, a section
3,000, 50 blocks, button values 2,000), counted in UTF-16 code units, which is never less
than the character count, and cuts never split an emoji or a combining sequence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot import reach, source_kinds
from bot.mention import Event, EventKind, Mention, State
from bot.mrkdwn import (
    channel_ref,
    clip,
    escape_cut,
    escape_mrkdwn,
    is_http_url,
    link,
    link_escaped,
    slack_date,
    slack_len,
    truncate,
    user,
)
from bot.settings import Settings
from bot.slack import ids

MAX_TEXT = 4_000  # chat.postMessage `text` (the notification fallback)
MAX_SECTION = 3_000  # a section block's text
MAX_BLOCKS = 50
MAX_BUTTON_VALUE = 2_000
MAX_LINKS = 8  # links shown under a mention; the rest are counted ("+N more")
MAX_THREAD_QUOTE = 2_500  # an answer/reason quoted in a thread line

METADATA_EVENT = "earshot_mention"
READ_MORE = "read the rest"


# --- the mention message -----------------------------------------------------------------


def source_label(source: str) -> str:
    return source_kinds.label(source)


def badge(mention: Mention) -> str:
    """complaint / positive / neutral, with the sentiment score."""
    score = f"{mention.sentiment:+.2f}"
    if mention.complaint:
        return f":red_circle: *Complaint* (sentiment {score})"
    if mention.sentiment >= 0.05:
        return f":large_green_circle: *Positive* (sentiment {score})"
    if mention.sentiment <= -0.05:
        return f":large_orange_circle: *Negative* (sentiment {score})"
    return f":white_circle: *Neutral* (sentiment {score})"


def routing_line(mention: Mention) -> str:
    dept = escape_mrkdwn(mention.department or "unrouted")
    move = last_move(mention)
    if move and move.get("to") == mention.department:
        # The judge's reason no longer explains where it is: a person put it there.
        return (f"Moved to *{dept}* by {user(str(move.get('by') or ''))} "
                f"(from {escape_mrkdwn(str(move.get('from') or '?'))})")
    if mention.reason:
        return f"Routed to *{dept}*: {escape_mrkdwn(mention.reason)}"
    return f"Routed to *{dept}*"


def _last(events: Iterable[Event], kind: str) -> Event | None:
    found = None
    for event in events:
        if event.kind == kind:
            found = event
    return found


def state_line(mention: Mention, events: Sequence[Event] = ()) -> str:
    """Who has it and since when, or answered / escalated to X."""
    if mention.state is State.CLAIMED:
        since = f" since {slack_date(mention.claimed_at)}" if mention.claimed_at else ""
        return f":raising_hand: Claimed by {user(mention.owner)}{since}"
    if mention.state is State.ANSWERED:
        answered = _last(events, EventKind.ANSWERED)
        who = f" by {user(answered.user)}" if answered and answered.user else ""
        when = f" {slack_date(mention.answered_at)}" if mention.answered_at else ""
        where = ""
        if answered and answered.data.get("url"):
            where = " · " + link(str(answered.data["url"]), "published reply")
        return f":white_check_mark: Answered{who}{when}{where}"
    if mention.state is State.ESCALATED:
        esc = _last(events, EventKind.ESCALATED)
        target = str(esc.data.get("to")) if esc and esc.data.get("to") else mention.department
        urgency = f" ({escape_mrkdwn(str(esc.data['urgency']))})" if esc and esc.data.get(
            "urgency") else ""
        who = f" by {user(esc.user)}" if esc and esc.user else ""
        when = f" {slack_date(mention.escalated_at)}" if mention.escalated_at else ""
        owner = f" · claimed by {user(mention.owner)}" if mention.owner else ""
        return (f":arrow_double_up: Escalated to *{escape_mrkdwn(target)}*{urgency}{who}{when}"
                f"{owner}")
    if mention.short_id:
        return (":hourglass_flowing_sand: Unclaimed: press Claim or type "
                f"`/claim {mention.short_id}`")
    return ":hourglass_flowing_sand: Unclaimed"


def _short_url(url: str) -> str:
    """The URL, or "" for a monster one (dropped, not cut into a bad link). Measured
    escaped: a URL of ampersands is five times longer in the message than it looks."""
    return url if slack_len(escape_mrkdwn(url)) <= 1_500 else ""


def _links_line(mention: Mention) -> str:
    links = mention.all_links()
    shown: list[str] = []
    used = slack_len("Seen on: ") + 20  # room for " · +N more"
    for item in links[:MAX_LINKS]:
        piece = link(item.url, source_label(item.source))
        if used + slack_len(piece) + 3 > MAX_SECTION:
            break  # a few huge URLs must not push the line past the limit
        shown.append(piece)
        used += slack_len(piece) + 3
    more = len(links) - len(shown)
    return "Seen on: " + " · ".join(shown) + (f" · +{more} more" if more > 0 else "")


def author_reach(mention: Mention) -> str:
    """" (1.2k followers)" after the author's name; "" when the reach is unknown."""
    text = reach.label(reach.reach_of(mention))
    return f" ({text})" if text else ""


def _header_line(mention: Mention) -> str:
    parts = []
    if mention.short_id:
        parts.append(f"*{mention.short_id}*")
    parts.append(f"*{escape_mrkdwn(source_label(mention.source))}*")
    if mention.author:
        parts.append(escape_mrkdwn(clip(mention.author, 200)) + author_reach(mention))
    if mention.created_at:
        parts.append(slack_date(mention.created_at))
    line = " · ".join(parts)  # at most ~1,100 units: the author is clipped to 200 chars
    if mention.title:
        # Budget the title itself: cutting the finished line could split the link.
        url = _short_url(mention.url)
        room = MAX_SECTION - slack_len(line) - slack_len(link_escaped(url, "")) - 4
        label, cut = escape_cut(clip(mention.title, 500), max(room, 0))
        line += "\n*" + link_escaped(url, label + ("…" if cut else "")) + "*"
    return truncate(line, MAX_SECTION)


def _body(mention: Mention) -> str:
    url = _short_url(mention.url or "")
    more = f"… ({link(url, READ_MORE)})" if is_http_url(url) else "…"
    text, cut = escape_cut(mention.text or "", MAX_SECTION - slack_len(more) - 1)
    if cut:
        return text + more
    return text or "_(no text)_"


def buttons(mention: Mention) -> dict[str, Any] | None:
    """Claim (or Release when claimed), Answer, Escalate; value = the mention key."""
    value = mention.key
    if len(value) > MAX_BUTTON_VALUE:
        return None  # cannot happen with real source ids; people can still type /claim E-n
    claim = (("Release", ids.RELEASE) if mention.state is State.CLAIMED and mention.owner
             else ("Claim", ids.CLAIM))
    elements = []
    for label, action_id, style in ((claim[0], claim[1], "primary"),
                                    ("Answer", ids.ANSWER, None),
                                    ("Escalate", ids.ESCALATE, "danger")):
        button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                                  "text": {"type": "plain_text", "text": label}}
        if style and action_id != ids.RELEASE:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": "earshot_actions", "elements": elements}


# --- the corrections menu (issue 11) ------------------------------------------------------

MOVE_KEY = "move"  # mention.extra[MOVE_KEY]: the last move, while it can still be undone
MAX_OPTION_VALUE = 75  # an option's value (older Slack docs: 75; newer: 150)
CORRECTION_LABELS = {
    ids.MOVE_CHOICE: "Move to another department…",
    ids.NOT_COMPLAINT_CHOICE: "Not a complaint",
    ids.IS_COMPLAINT_CHOICE: "Is a complaint",
    ids.UNDO_MOVE_CHOICE: "Undo my move",
}


def last_move(mention: Mention) -> dict[str, Any] | None:
    """The move that put the mention where it is ({"from", "to", "by", "at", ...}), or None."""
    move = mention.extra.get(MOVE_KEY)
    return move if isinstance(move, dict) and move.get("to") and move.get("by") else None


def correction_value(choice: str, mention: Mention) -> str | None:
    """An option's value: "<choice>|E-42" (or the key); None if it would not fit."""
    value = f"{choice}|{mention.short_id or mention.key}"
    return value if len(value) <= MAX_OPTION_VALUE else None


def read_correction(value: Any) -> tuple[str, str] | None:
    """(choice, mention ref) from an option's value; None for anything else."""
    if not isinstance(value, str):
        return None
    choice, sep, ref = value.partition("|")
    if not sep or choice not in CORRECTION_LABELS or not ref.strip():
        return None
    return choice, ref


def correction_choices(mention: Mention) -> list[str]:
    """What the menu offers: a move (unless answered), the complaint flag the other way,
    and "Undo my move" while the last move still holds (only its mover may use it)."""
    choices = [] if mention.state is State.ANSWERED else [ids.MOVE_CHOICE]
    choices.append(ids.NOT_COMPLAINT_CHOICE if mention.complaint else ids.IS_COMPLAINT_CHOICE)
    move = last_move(mention)
    if (move and move.get("to") == mention.department and mention.state is not State.ANSWERED
            and not mention.owner):  # once the new team claims it, the move stands
        choices.append(ids.UNDO_MOVE_CHOICE)
    return choices


def corrections_menu(mention: Mention) -> dict[str, Any] | None:
    """An overflow menu (2 to 5 options) of the corrections; a plain button when there is
    only one (an overflow needs two); None if the mention's ref would not fit a value."""
    options = []
    for choice in correction_choices(mention):
        value = correction_value(choice, mention)
        if value is None:
            return None
        options.append({"text": {"type": "plain_text", "text": CORRECTION_LABELS[choice]},
                        "value": value})
    if len(options) == 1:
        return {"type": "button", "action_id": ids.CORRECT, "value": options[0]["value"],
                "text": options[0]["text"]}
    return {"type": "overflow", "action_id": ids.CORRECT, "options": options[:5]}


def fallback_text(mention: Mention) -> str:
    """The notification text: short id, source, author and the start of the post."""
    head = " ".join(filter(None, [
        mention.short_id,
        "Complaint" if mention.complaint else "Mention",
        "on " + source_label(mention.source),
        f"by {mention.author}" if mention.author else "",
    ]))
    text, cut = escape_cut(f"{head}: {mention.text or mention.title}", MAX_TEXT - 1)
    return text + ("…" if cut else "")


def mention_message(mention: Mention, settings: Settings | None = None,
                    events: Sequence[Event] = ()) -> dict[str, Any]:
    """The channel message for a mention: {"text", "blocks", "metadata"}.

    `events` (oldest first) fill in who answered or escalated; `settings` is accepted for
    department display and may be None in tests."""
    del settings  # department names come from the mention; kept for the shared signature
    blocks: list[dict[str, Any]] = [
        _section(_header_line(mention)),
        _section(_body(mention)),
        _context(_links_line(mention)),
        _context(badge(mention) + "  ·  " + truncate(routing_line(mention), MAX_SECTION // 2)),
        _context(truncate(state_line(mention, events), MAX_SECTION)),
    ]
    actions = buttons(mention)
    menu = corrections_menu(mention)
    if actions and menu:
        actions["elements"].append(menu)
    if actions:
        blocks.append(actions)
    return {
        "text": fallback_text(mention),
        "blocks": blocks[:MAX_BLOCKS],
        "metadata": {"event_type": METADATA_EVENT,
                     "event_payload": {"mention_key": mention.key,
                                       "short_id": mention.short_id}},
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


# --- thread lines ---------------------------------------------------------------------------


def _quote(text: Any) -> str:
    escaped, cut = escape_cut(str(text or ""), MAX_THREAD_QUOTE)
    return escaped + ("…" if cut else "")


def thread_line(event: Event, short_id: str | None = None) -> str:
    """One human line for an event, for the mention's thread; user text escaped.

    `short_id` (E-42) is named when given (or found in event.data["short_id"]);
    otherwise the line says "this" (it sits in the mention's own thread)."""
    sid = short_id or str(event.data.get("short_id") or "") or "this"
    who = user(event.user)
    data = event.data
    kind = event.kind
    if kind == EventKind.POSTED:
        return f"Posted to {channel_ref(str(data.get('channel', '')))}"
    if kind == EventKind.CLAIMED:
        return f"{who} claimed {sid}"
    if kind == EventKind.RELEASED:
        return f"{who} released {sid}; it is back in the queue"
    if kind == EventKind.ANSWERED:
        line = f"{who} answered: {_quote(data.get('text'))}"
        if data.get("published") and data.get("url"):
            line += f" ({link(str(data['url']), 'published')})"
        return line
    if kind == EventKind.ESCALATED:
        target = escape_mrkdwn(str(data.get("to") or "?"))
        urgency = f" ({escape_mrkdwn(str(data['urgency']))})" if data.get("urgency") else ""
        reason = f": {_quote(data['reason'])}" if data.get("reason") else ""
        return f"{who} escalated to {target}{urgency}{reason}"
    if kind == EventKind.MOVED:
        return (f"moved from {escape_mrkdwn(str(data.get('from') or '?'))} to "
                f"{escape_mrkdwn(str(data.get('to') or '?'))} by {who}")
    if kind == EventKind.MOVE_UNDONE:
        return (f"moved back from {escape_mrkdwn(str(data.get('to') or '?'))} to "
                f"{escape_mrkdwn(str(data.get('from') or '?'))} by {who} (move undone)")
    if kind == EventKind.MARKED:
        what = "a complaint" if data.get("complaint") else "not a complaint"
        return f"{who} marked {sid} as {what}"
    if kind == EventKind.REMINDED:
        return f":alarm_clock: Reminder: {sid} is still unclaimed after escalation"
    if kind == EventKind.DRAFT:
        return f"{who} drafted a reply for approval: {_quote(data.get('text'))}"
    if kind == EventKind.APPROVED:
        return f"{who} approved the draft reply"
    if kind == EventKind.REJECTED:
        reason = f": {_quote(data['reason'])}" if data.get("reason") else ""
        return f"{who} rejected the draft reply{reason}"
    if kind == EventKind.PUBLISHED:
        url = f" ({link(str(data['url']), 'view')})" if data.get("url") else ""
        return f"{who} published the reply{url}: {_quote(data.get('text'))}"
    if kind == EventKind.PUBLISH_FAILED:
        return f":warning: Publishing failed: {_quote(data.get('error'))}"
    return escape_mrkdwn(f"{kind}") + (f" by {who}" if event.user else "")
