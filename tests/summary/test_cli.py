"""`python -m bot summary` end to end, by subprocess, on small files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.mention import utcnow
from bot.store import open_store
from tests.summary.helpers import mention, write_config

ROOT = Path(__file__).resolve().parents[2]

POSTS = [
    ("1", "@acme my bag was lost on the flight to Denver, terrible", "2026-03-10T09:00:00Z"),
    ("2", "@acme you lost my luggage again, worst airline", "2026-03-10T10:00:00Z"),
    ("3", "@acme lost bag, still no news after two days. Awful", "2026-03-10T11:00:00Z"),
    ("4", "@acme on hold for two hours, this is terrible service", "2026-03-10T12:00:00Z"),
    ("5", "@acme the crew was lovely, thank you so much!", "2026-03-10T13:00:00Z"),
    ("6", "@acme my bag was lost yesterday, horrible", "2026-03-09T13:00:00Z"),
]


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    base = {**os.environ, "EARSHOT_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    base.pop("SLACK_BOT_TOKEN", None)
    base.pop("SLACK_API_URL", None)
    env = {**base, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", "summary", "--config",
         str(write_config(tmp_path, timezone="Europe/Berlin")), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def export(tmp_path: Path, rows=POSTS, suffix: str = ".csv") -> Path:
    path = tmp_path / f"export{suffix}"
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text", "created_at"])
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t, _ in rows),
                        encoding="utf-8")
    return path


def test_from_export_dry_run_prints_the_days_summary(tmp_path):
    result = run(tmp_path, "--from", str(export(tmp_path)), "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tuesday 10 March 2026" in out  # the export's last day, Berlin time
    assert "5 mentions" in out  # the 9 March post is outside the day
    assert "1. lost or delayed bags — 3" in out
    assert "Traceback" not in result.stderr


def test_from_export_json_lists_theme_post_ids(tmp_path):
    result = run(tmp_path, "--from", str(export(tmp_path)), "--json", "--date", "2026-03-10")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    bags = next(t for t in data["themes"] if t["key"] == "bags")
    assert sorted(bags["post_ids"]) == ["1", "2", "3"]
    assert bags["count"] == 3 and bags["name"] == "lost or delayed bags"
    assert data["total"] == 5 and data["by_source"] == {"export": 5}
    # The day before holds one more lost bag, so the theme is not new and has a delta.
    assert bags["yesterday"] == 1 and bags["new"] is False


def test_jsonl_export_without_times_is_one_day(tmp_path):
    result = run(tmp_path, "--from", str(export(tmp_path, suffix=".jsonl")), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == len(POSTS)
    assert next(t for t in data["themes"] if t["key"] == "bags")["count"] == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--dry-run", "--date", "2026-13-01"], "is not a date"),
    (["--from", "/no/such/file.csv", "--dry-run"], "file not found"),
    (["--from", "EXPORT", "--post"], "preview only"),
    (["--post"], "SLACK_BOT_TOKEN is not set"),
])
def test_user_errors_are_words_and_exit_2(tmp_path, args, message):
    args = [str(export(tmp_path)) if a == "EXPORT" else a for a in args]
    result = run(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_export_columns_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,body\nx,y\n", encoding="utf-8")
    result = run(tmp_path, "--from", str(bad), "--dry-run")
    assert result.returncode == 2 and "missing column" in result.stderr


def test_dry_run_from_the_store(tmp_path):
    store = open_store(tmp_path / "data")
    for i in range(3):
        store.add_mention(mention("my bag was lost", datetime(2026, 3, 10, 9 + i, tzinfo=UTC)))
    store.close()
    result = run(tmp_path, "--dry-run", "--date", "2026-03-10")
    assert result.returncode == 0, result.stderr
    assert "3 mentions" in result.stdout and "lost or delayed bags — 3" in result.stdout


def test_post_sends_the_summary_to_slack_now(tmp_path, slack):
    store = open_store(tmp_path / "data")
    for i in range(3):
        store.add_mention(mention("my bag & case were lost", utcnow() - timedelta(hours=i + 1)))
    store.close()
    env = {"SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-test"}
    result = run(tmp_path, "--post", env=env)
    assert result.returncode == 0, result.stderr
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 1
    message = slack.messages["#daily"][0]
    assert "lost or delayed bags" in str(message["blocks"])
    assert "my bag &amp; case were lost" in str(message["blocks"])
