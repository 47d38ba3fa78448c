"""The habit DM as Block Kit (pure), and the weekly line.

Each mention shows as in App Home (short id, source, author with reach, the start of
the post, escaped) with why it was picked and Claim / Answer buttons carrying the same
action ids and values as the channel message's, so the channel listeners handle them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.habit.picks import FOLLOWED, GROWING, WAITING, Pick
from bot.habit.state import Sent
from bot.mention import Event, parse_time
from bot.slack import blocks, ids
from bot.slack.views import mention_excerpt
from bot.summary.render import duration

BLOCK_PREFIX = "earshot_habit_"
NOTHING_OPEN = ":sunny: Nothing open for you today: every customer has someone."


def _why(pick: Pick, now: datetime) -> str:
    waited = duration(max(0.0, (now - pick.mention.created_at).total_seconds()))
    if pick.why == WAITING:
        return f":hourglass_flowing_sand: Waiting longest: {waited} without an answer"
    if pick.why == GROWING:
        return (f":chart_with_upwards_trend: From the fastest-growing theme, "
                f"*{blocks.escape_mrkdwn(pick.detail)}* · waiting {waited}")
    if pick.why == FOLLOWED:
        return (f":busts_in_silhouette: From *{blocks.escape_mrkdwn(pick.detail)}*, "
                f"a department you follow · waiting {waited}")
    return f":inbox_tray: Also waiting: {waited}"


def _buttons(pick: Pick, index: int) -> dict[str, Any]:
    key = pick.mention.key
    return {"type": "actions", "block_id": f"{BLOCK_PREFIX}{index}", "elements": [
        {"type": "button", "action_id": ids.CLAIM, "value": key, "style": "primary",
         "text": {"type": "plain_text", "text": "Claim"}},
        {"type": "button", "action_id": ids.ANSWER, "value": key,
         "text": {"type": "plain_text", "text": "Answer"}}]}


def habit_message(picks: Sequence[Pick], now: datetime, weekly: str | None = None
                  ) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) of the day's DM; the one-liner when nothing is open."""
    if not picks:
        text = NOTHING_OPEN + (f"\n{weekly}" if weekly else "")
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    n = len(picks)
    head = (f":wave: {n} customer{'s' if n != 1 else ''} waiting for an answer today. "
            "Claim one and answer it: it is the fastest way to hear them.")
    out: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    for i, pick in enumerate(picks):
        out.append({"type": "divider"})
        out.append({"type": "section", "text": {
            "type": "mrkdwn", "text": blocks.truncate(mention_excerpt(pick.mention, 400), 3000)}})
        out.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _why(pick, now)}]})
        out.append(_buttons(pick, i))
    if weekly:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": weekly}]})
    return f"{n} customer{'s' if n != 1 else ''} waiting for you today", out


def claimed_in_dm(message_blocks: list[dict[str, Any]], key: str, user: str
                  ) -> list[dict[str, Any]]:
    """The DM's blocks with the buttons of `key` replaced by "claimed by you"."""
    out = []
    for block in message_blocks:
        elements = block.get("elements") or []
        if (block.get("type") == "actions"
                and str(block.get("block_id", "")).startswith(BLOCK_PREFIX)
                and any(e.get("value") == key and e.get("action_id") == ids.CLAIM
                        for e in elements)):
            answer = [e for e in elements if e.get("action_id") == ids.ANSWER]
            out.append({"type": "context", "elements": [{
                "type": "mrkdwn", "text": f":raising_hand: Claimed by {blocks.user(user)}"}]})
            if answer:
                out.append({**block, "elements": answer})
            continue
        out.append(block)
    return out


# --- the weekly line -----------------------------------------------------------------------


def weekly_line(sent: Iterable[Sent], answers: Iterable[Event], user: str, now: datetime
                ) -> str | None:
    """"This week you answered 4 customers, median 22 minutes after you opened the DM",
    over the DMs of the last 7 days (opened = the first click on one, else when sent).
    None when there were no DMs with mentions that week."""
    week = [s for s in sent if s.keys and 0 <= (now - parse_time(s.sent_at)).days < 7]
    if not week:
        return None
    opened = {}
    for s in week:
        for key in s.keys:
            opened[key] = parse_time(s.opened_at or s.sent_at)
    first: dict[str, float] = {}  # one customer answered twice counts once
    for ev in answers:
        key = ev.mention_key
        if (ev.kind == "answered" and ev.user == user and key in opened
                and ev.at >= opened[key] and key not in first):
            first[key] = (ev.at - opened[key]).total_seconds()
    waits = sorted(first.values())
    seen = len({k for s in week for k in s.keys})
    if not waits:
        return (f":calendar: This week you answered none of the {seen} customers your "
                "DMs picked.")
    mid = len(waits) // 2
    median = waits[mid] if len(waits) % 2 else (waits[mid - 1] + waits[mid]) / 2
    n = len(waits)
    return (f":calendar: This week you answered {n} customer{'s' if n != 1 else ''}, median "
            f"{_minutes(median)} after you opened the DM")


def _minutes(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return duration(seconds)
