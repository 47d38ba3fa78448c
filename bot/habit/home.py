"""The habit's part of App Home (pure): the person's time, pause / stop, and the
departments they follow, as Block Kit controls whose actions bot.listeners.habit handles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.habit.state import Prefs
from bot.habit_config import WEEKDAYS
from bot.slack import blocks, ids

MAX_OPTIONS = 100  # Slack's limit for a select's options


def _days(weekdays: Sequence[str]) -> str:
    if tuple(weekdays) == WEEKDAYS[:5]:
        return "Monday to Friday"
    if tuple(weekdays) == WEEKDAYS:
        return "every day"
    return ", ".join(d.capitalize() for d in weekdays)


def _option(name: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": name[:75]}, "value": name}


def habit_blocks(prefs: Prefs, habit: Any, timezone: str, departments: Sequence[str]
                 ) -> list[dict[str, Any]]:
    """The "Your daily few" section for a leader."""
    at = prefs.clock_time(habit.time).strftime("%H:%M")
    if prefs.stopped:
        status = ":no_bell: You left the daily habit. Start again any time."
    elif prefs.paused:
        status = ":double_vertical_bar: Paused: no DMs until you resume."
    else:
        status = (f":bell: Every {_days(habit.weekdays)} at *{at}* "
                  f"({blocks.escape_mrkdwn(timezone)}): {habit.count} open mentions by DM.")
    follow = ("the channels you are in" if prefs.departments is None
              else ", ".join(blocks.escape_mrkdwn(d) for d in prefs.departments) or "none")
    out: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Your daily few"}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"{status}\nDepartments you follow: {follow}"}},
    ]
    controls: list[dict[str, Any]] = [
        {"type": "timepicker", "action_id": ids.HABIT_TIME, "initial_time": at,
         "placeholder": {"type": "plain_text", "text": "Time"}},
        {"type": "button", "action_id": ids.HABIT_PAUSE,
         "value": "resume" if prefs.paused else "pause",
         "text": {"type": "plain_text", "text": "Resume" if prefs.paused else "Pause"}},
        {"type": "button", "action_id": ids.HABIT_STOP,
         "value": "start" if prefs.stopped else "stop",
         "text": {"type": "plain_text", "text": "Start again" if prefs.stopped else "Stop"}},
    ]
    out.append({"type": "actions", "block_id": "earshot_habit_controls",
                "elements": controls})
    options = [_option(d) for d in departments][:MAX_OPTIONS]
    if options:
        select: dict[str, Any] = {
            "type": "multi_static_select", "action_id": ids.HABIT_DEPARTMENTS,
            "placeholder": {"type": "plain_text", "text": "The channels you are in"},
            "options": options}
        chosen = [_option(d) for d in prefs.departments or [] if d in departments]
        if chosen:
            select["initial_options"] = chosen
        out.append({"type": "section", "block_id": "earshot_habit_departments",
                    "text": {"type": "mrkdwn", "text": "Departments to pick from:"},
                    "accessory": select})
    out.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                "Changes count from your next DM; today's, once sent, stays as it is."}]})
    return out
