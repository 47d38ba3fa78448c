"""Issue 10, item 10: `check-config` refuses channels, leads and publishers Slack would
refuse later, and never repeats a secret pasted into a `*_env` key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.summary.helpers import write_config

ROOT = Path(__file__).resolve().parents[1]


def check_config(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    path = write_config(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
    env.update(EARSHOT_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot", "check-config", "--config", str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ('channel = "#support"', 'channel = "support channel"', "departments.support.channel",
     'did you mean "#support-channel"?'),
    ('channel = "#support"', 'channel = "https://acme.slack.com/archives/C0123ABCD"',
     "departments.support.channel", 'got a link; use its id "C0123ABCD"'),
    ('channel = "#daily"', 'channel = "#Earshot Daily"', "summary.channel",
     'did you mean "#earshot-daily"?'),
    ('channel = "#leadership"', 'channel = "leadership"', "escalation.channel",
     'did you mean "#leadership"?'),
    ('lead = "S0LEADERS"', 'lead = "@leaders"', "escalation.lead",
     "expected a user group id"),
    ('[routing]', '[answer]\npublisher_groups = ["leaders"]\n[routing]',
     "answer.publisher_groups", "expected a user group id"),
    ('[routing]', '[answer]\npublishers = ["@ann"]\n[routing]', "answer.publishers",
     "expected a Slack user id"),
])
def test_channels_and_groups_are_checked_by_shape(tmp_path, old, new, key, expected):
    proc = check_config(tmp_path, old, new)
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f": {key}: " in lines[0] and expected in lines[0]


@pytest.mark.parametrize("secret", [
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "xoxb-" + "1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "gko_LXELoV07ZBNUXrvWZfzE3aI",  # no known prefix: a mixed-case random string
    "ghp-with-dashes-" + "a1B2c3D4e5",  # not a variable name either: still not shown
])
def test_a_secret_in_an_env_key_is_refused_and_never_shown(tmp_path, secret):
    proc = check_config(tmp_path, "[routing]",
                        f'[sources.github]\ntoken_env = "{secret}"\n[routing]')
    assert proc.returncode == 2
    assert secret not in proc.stdout + proc.stderr
    assert secret[:12] not in proc.stdout + proc.stderr
    line = proc.stderr.strip()
    assert "sources.github.token_env" in line and "environment variable name" in line


@pytest.mark.parametrize("good", ["C0123ABCD", "G01ABCDEF", "#support", "#earshot_daily-2"])
def test_well_formed_channels_pass(tmp_path, good):
    proc = check_config(tmp_path, 'channel = "#support"', f'channel = "{good}"')
    assert proc.returncode == 0, proc.stderr
    assert f"-> {good}" in proc.stdout


def test_a_variable_name_in_an_env_key_passes_and_is_shown(tmp_path):
    proc = check_config(tmp_path, "[routing]",
                        '[sources.github]\ntoken_env = "GITHUB_TOKEN"\n[routing]')
    assert proc.returncode == 0, proc.stderr
    assert "token_env=$GITHUB_TOKEN (unset)" in proc.stdout
