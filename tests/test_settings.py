"""Config validation: each user error is one line naming the file, the key, the expectation."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "earshot.example.toml"

MINIMAL = """
[brand]
terms = ["Acme"]
[departments.support]
channel = "C1"
[departments.billing]
channel = "C2"
keywords = ["refund"]
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "earshot.toml"
    path.write_text(text)
    return path


def test_example_config_is_valid():
    s = load_settings(EXAMPLE, env={})
    assert s.default_department.name == "support"
    assert s.sources["hackernews"].enabled
    assert s.summary.timezone == "Europe/Berlin"


def test_minimal_config_gets_defaults(tmp_path):
    s = load_settings(write(tmp_path, MINIMAL), env={"EARSHOT_DATA": "/tmp/x"})
    assert s.sources == {}
    assert s.summary.time.hour == 9
    assert s.answer.publish is False
    assert str(s.data_dir) == "/tmp/x"
    assert s.slack.api_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (lambda t: t.replace('terms = ["Acme"]', 'terms = "Acme"'), "brand.terms", "list"),
        (lambda t: t + "\n[bogus]\n", "bogus", "unknown key"),
        (lambda t: t.replace('channel = "C1"', 'channel = "C1"\ncolour = 1'),
         "departments.support.colour", "unknown key"),
        (lambda t: t.replace('default = "support"', 'default = "sales"'),
         "routing.default", "unknown department"),
        (lambda t: t + '\n[sources.hackernews]\ninterval_minutes = "five"\n',
         "sources.hackernews.interval_minutes", "positive integer"),
        (lambda t: t + '\n[sources.reddit]\nclient_id_env = "RID"\nclient_secret_env = "RS"\n',
         "sources.reddit.client_id_env", "RID is not set"),
        (lambda t: t + '\n[sources.myspace]\n', "sources.myspace", "unknown source"),
        (lambda t: t + '\n["departments"."customer care"]\nchannel = "C5"\n',
         "departments.customer care", "typed in /escalate"),
        (lambda t: t.replace('channel = "C8"', 'channel = "C8"\ntimezone = "Mars/Base"'),
         "summary.timezone", "time zone"),
        (lambda t: t.replace('channel = "C8"', 'channel = "C8"\ntime = "25:00"'),
         "summary.time", "09:00"),
        (lambda t: t + '\n[sources.x]\nbearer_token_env = "xoxb-secret-value!"\n',
         "sources.x.bearer_token_env", "environment variable name"),
    ],
)
def test_each_config_error_names_file_and_key(tmp_path, edit, key, expected):
    path = write(tmp_path, edit(MINIMAL))
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert expected in message


def test_disabled_source_does_not_need_its_credentials(tmp_path):
    text = MINIMAL + '\n[sources.reddit]\nenabled = false\nclient_id_env = "RID"\n'
    s = load_settings(write(tmp_path, text), env={})
    assert not s.sources["reddit"].enabled


def test_credentials_come_from_the_environment(tmp_path):
    text = MINIMAL + '\n[sources.x]\nbearer_token_env = "XB"\n'
    s = load_settings(write(tmp_path, text), env={"XB": "token-123"})
    assert s.sources["x"].credentials["bearer_token_env"] == "token-123"


def test_slack_post_rate_comes_from_the_environment_and_paces_the_outbox(tmp_path):
    from slack_sdk import WebClient

    from bot.slack.outbox import Outbox
    from bot.store import open_store

    path = write(tmp_path, MINIMAL)
    assert load_settings(path, env={}).slack.post_rate == 1.0  # Slack's limit
    s = load_settings(path, env={"SLACK_POST_RATE": "20"})
    assert s.slack.post_rate == 20.0
    store = open_store(tmp_path / "data")
    try:
        outbox = Outbox(store, WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/"), s)
        assert 19 < outbox.pacer.rate < 20  # that rate, less the pacing margin
        explicit = Outbox(store, WebClient(token="xoxb-x"), s, rate_per_second=3)
        assert 2.9 < explicit.pacer.rate < 3
    finally:
        store.close()


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "inf", "5000"])
def test_a_bad_slack_post_rate_is_one_line_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match="SLACK_POST_RATE") as err:
        load_settings(write(tmp_path, MINIMAL), env={"SLACK_POST_RATE": value})
    assert "\n" not in str(err.value) and repr(value) in str(err.value)


def test_syntax_error_is_one_line_exit_2_no_traceback(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[broken\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(path)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "not valid TOML" in lines[0]


def test_check_config_prints_what_would_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(EXAMPLE)],
        capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "hackernews" in proc.stdout and "config OK" in proc.stdout


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        # Huge numbers used to pass and then crash serve/fetch with an OverflowError.
        (lambda t: t + '\n[sources.hackernews]\ninterval_minutes = 99999999999999\n',
         "sources.hackernews.interval_minutes", "at most"),
        (lambda t: t.replace('channel = "C9"', 'channel = "C9"\nreminder_minutes = 10000000000000'),
         "escalation.reminder_minutes", "at most"),
        # nan passes "> 0" checks and then makes every hour a spike.
        (lambda t: t.replace('channel = "C8"', 'channel = "C8"\nspike_multiple = nan'),
         "summary.spike_multiple", "positive number"),
        # "leadership" is the escalation target: a department of that name is unreachable.
        (lambda t: t.replace("[departments.billing]", "[departments.Leadership]"),
         "departments.Leadership", "reserved"),
    ],
)
def test_config_values_that_would_crash_or_mislead_later_are_refused(tmp_path, edit, key,
                                                                       expected):
    path = write(tmp_path, edit(MINIMAL))
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert expected in message


def test_fetch_with_a_huge_interval_is_a_config_error_not_a_traceback(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, MINIMAL + '\n[sources.hackernews]\ninterval_minutes = 99999999999999\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "fetch", "--once", "--dry-run",
                           "--config", str(path)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
