"""[habit] in the config: defaults, one-line errors, and `check-config` looking the
people up in Slack (the stand-in): guests and other workspaces refused, unknown ids and
groups reported one line each, people who left skipped with a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time

import pytest

from bot.settings import ConfigError, load_settings
from tests.test_settings import MINIMAL, ROOT, write


def test_habit_defaults(tmp_path):
    s = load_settings(write(tmp_path, MINIMAL + '[habit]\npeople = ["U0ANN"]\n'), env={})
    h = s.habit
    assert h.enabled and h.people == ("U0ANN",) and h.groups == ()
    assert (h.time, h.timezone, h.count) == (time(9), "UTC", 3)
    assert h.weekdays == ("mon", "tue", "wed", "thu", "fri")
    assert s.summary.resolution_days == 7
    assert not load_settings(write(tmp_path, MINIMAL), env={}).habit.enabled


@pytest.mark.parametrize(("table", "key", "expected"), [
    ('people = ["@ann"]', "habit.people", "Slack user ids"),
    ('groups = ["leaders"]', "habit.groups", "user group ids"),
    ('people = ["U0ANN"]\nweekdays = ["monday", "funday"]', "habit.weekdays", "'fun'"),
    ('people = ["U0ANN"]\ncount = 0', "habit.count", "positive integer"),
    ('people = ["U0ANN"]\ncount = 50', "habit.count", "at most 10"),
    ('people = ["U0ANN"]\ntime = "9am"', "habit.time", "09:00"),
    ('people = ["U0ANN"]\ntimezone = "Moon/Base"', "habit.timezone", "time zone"),
    ('people = ["U0ANN"]\nleaders = 3', "habit.leaders", "unknown key"),
])
def test_habit_errors_name_the_key(tmp_path, table, key, expected):
    path = write(tmp_path, MINIMAL + f"[habit]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value).startswith(f"{path}: {key}: ") and expected in str(info.value)


def check_config(tmp_path, slack, people: str, groups: str = "[]"):
    path = write(tmp_path, MINIMAL + f"[habit]\npeople = {people}\ngroups = {groups}\n")
    env = {**os.environ, "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-test",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "check-config", "--config",
                           str(path)], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)


def test_check_config_refuses_a_guest_and_reports_an_unknown_id(tmp_path, slack):
    slack.users.update({"U1ANN": {"name": "ann", "tz": "Europe/Berlin"},
                        "U2GUEST": {"name": "g", "is_ultra_restricted": True},
                        "U3GONE": {"name": "gone", "deleted": True}})
    proc = check_config(tmp_path, slack, '["U1ANN", "U2GUEST", "U9NOPE", "U3GONE"]',
                        '["SNOPE"]')
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [
        "warning: habit.people: U3GONE has left the workspace (deactivated); skipped",
        f"earshot: {tmp_path / 'earshot.toml'}: habit.groups: SNOPE is not a user group "
        "of this workspace",
        f"earshot: {tmp_path / 'earshot.toml'}: habit.people: U2GUEST is a guest; guests "
        "cannot be leaders in the habit (they would see customers' posts from every "
        "department)",
        f"earshot: {tmp_path / 'earshot.toml'}: habit.people: U9NOPE is not a user of this "
        "workspace"]
    ok = check_config(tmp_path, slack, '["U1ANN", "U3GONE"]')
    assert ok.returncode == 0, ok.stderr
    assert "leaders: U1ANN (Europe/Berlin)" in ok.stdout and "config OK" in ok.stdout
    assert "U3GONE has left" in ok.stderr
