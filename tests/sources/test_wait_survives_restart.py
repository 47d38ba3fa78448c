"""Issue 10, item 14: a wait the API asks for on a failed poll (Stack Exchange's
throttle `backoff`, any Retry-After) binds the next `fetch --once` and a restart, not
only the process that heard it. By subprocess against a local Stack Exchange."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = "/search/advanced"

CONFIG = """
[brand]
terms = ["Acme"]
[sources.stackexchange]
base_url = "{url}"
site = "stackoverflow"
[departments.support]
channel = "C1"
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
"""


def fetch_once(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "earshot.toml"
    config.write_text(CONFIG.format(url=url))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
    env.update(EARSHOT_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot", "fetch", "--once", "--config",
                           str(config)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_throttle_backoff_on_a_failed_poll_binds_the_next_fetch_once(tmp_path, api,
                                                                      load_fixture):
    api.add(PATH, load_fixture("stackexchange/throttle_violation.json"), status=400)
    api.add(PATH, load_fixture("stackexchange/search_advanced_page1.json"))
    first = fetch_once(tmp_path, api.url)
    assert first.returncode == 1 and "throttle" in first.stderr, first.stderr
    assert len(api.requests_to(PATH)) == 1

    second = fetch_once(tmp_path, api.url)  # a new process: only the store remembers
    assert len(api.requests_to(PATH)) == 1, "called again inside the API's backoff"
    assert "stackexchange: not polled: waiting until" in second.stderr
    assert "as the API asked" in second.stderr and "Traceback" not in second.stderr


def test_retry_after_on_a_failed_poll_binds_the_next_fetch_once(tmp_path, api):
    api.add(PATH, {"error_id": 502, "error_message": "slow down"}, status=429,
            headers={"Retry-After": "3600"})
    assert fetch_once(tmp_path, api.url).returncode == 1
    second = fetch_once(tmp_path, api.url)
    assert len(api.requests_to(PATH)) == 1
    assert "not polled: waiting until" in second.stderr


def test_a_short_wait_expires_and_the_source_is_polled_again(tmp_path, api, load_fixture):
    api.add(PATH, {"error_id": 502, "error_message": "slow down"}, status=429,
            headers={"Retry-After": "1"})
    api.add(PATH, load_fixture("stackexchange/search_advanced_empty.json"))
    assert fetch_once(tmp_path, api.url).returncode == 1
    time.sleep(1.2)
    second = fetch_once(tmp_path, api.url)
    assert second.returncode == 0, second.stderr
    assert len(api.requests_to(PATH)) == 2 and "0 new" in second.stderr
