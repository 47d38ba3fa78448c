"""check-config: validate the configuration and print what would run."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import UsageError, data_dir_problem
from bot.settings import Settings, load_settings
from bot.text import plural


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "check-config", help="validate the config and print what would run",
        description="Validate the config file and the environment; print the sources, "
                    "departments and schedules that would run. Exit 2 on any problem.")


def run(args: argparse.Namespace) -> int:
    s = load_settings(args.config)
    problem = data_dir_problem(s.data_dir, write=True)
    if problem:
        raise UsageError(problem)
    print(f"config: {s.path}  (brand: {s.brand.name}; terms: {', '.join(s.brand.terms)})")
    fresh = "" if s.data_dir.is_dir() else " (created at the first run)"
    print(f"data directory: {s.data_dir}{fresh}")
    print("sources:")
    if not s.sources:
        print("  (none configured)")
    for src in s.sources.values():
        state = "enabled" if src.enabled else "disabled"
        creds = ", ".join(f"{k}=${v}" + ("" if src.credentials.get(k) else " (unset)")
                          for k, v in src.env_names.items())
        when = "streamed" if src.stream else f"every {src.interval_minutes} min"
        line = f"  {src.name:<15} {state:<9} {when}  {src.base_url}"
        print(line + (f"  [{creds}]" if creds else ""))
    print("departments:")
    for dep in s.departments.values():
        mark = " (default)" if dep.default else ""
        lead = f", lead {dep.lead}" if dep.lead else ""
        print(f"  {dep.name:<14} -> {dep.channel}{lead}{mark}; "
              f"{plural(len(dep.keywords), 'keyword')}, {plural(len(dep.examples), 'example')}")
    print(f"escalation: {s.escalation.channel} (reminder after "
          f"{s.escalation.reminder_minutes} min unclaimed)")
    print(f"summary: {s.summary.channel} daily at {s.summary.time:%H:%M} {s.summary.timezone}")
    print(f"answers published to sources: {'yes' if s.answer.publish else 'no'}")
    slack = "configured" if s.slack.bot_token else "not configured (SLACK_BOT_TOKEN unset)"
    print(f"slack: {slack}; API {s.slack.api_url}")
    if s.habit is not None and s.habit.enabled and not _habit_ok(s):
        return 2
    print("config OK")
    return 0


def _habit_ok(s: Settings) -> bool:
    """Look the [habit] people and groups up in Slack: guests, other workspaces' users,
    unknown ids and groups refuse the config (one line each); people who left are
    skipped with a warning."""
    h = s.habit
    print(f"habit: {len(h.people)} people, {len(h.groups)} groups; {h.count} mentions at "
          f"{h.time:%H:%M} ({h.timezone} unless their Slack profile says), "
          f"{', '.join(h.weekdays)}")
    if not s.slack.bot_token:
        print("  (not checked with Slack: SLACK_BOT_TOKEN unset)")
        return True
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.habit.people import check
    from bot.slack.client import make_client

    client = make_client(s.slack)
    try:
        team = client.auth_test().get("team_id")
    except (SlackApiError, SlackClientError, OSError) as exc:
        print(f"earshot: habit: cannot check the people with Slack ({exc})", file=sys.stderr)
        return False
    found = check(h, client, team)
    for line in found.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in found.errors:
        print(f"earshot: {s.path}: {line}", file=sys.stderr)
    if not found.errors:
        print(f"  leaders: {', '.join(f'{x.user} ({x.timezone})' for x in found.leaders)}")
    return not found.errors
