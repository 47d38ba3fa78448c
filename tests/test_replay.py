"""`python -m bot replay FILE`: end to end through the real command line."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
[brand]
terms = ["Acme"]
[departments.support]
channel = "#support"
keywords = ["agent"]
[departments.billing]
channel = "#billing"
keywords = ["refund", "charged"]
[departments.shipping]
channel = "#shipping"
keywords = ["delivery", "package"]
[routing]
default = "support"
[escalation]
channel = "#esc"
[summary]
channel = "#sum"
"""

POSTS = [
    {"id": "a1", "text": "@acme I was charged twice and still no refund", "author": "ann",
     "url": "https://x.example/1", "created_at": "2026-01-02T10:00:00Z"},
    {"id": "a2", "text": "Thanks Acme, lovely service!", "author": "bob", "url": "",
     "created_at": ""},
    {"id": "a3", "text": "my package, \"quoted\",\nnever arrived", "author": "", "url": "",
     "created_at": "2026-01-02T11:00:00+01:00"},
]


def run_replay(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "earshot.toml"
    if not config.exists():
        config.write_text(CONFIG)
    env = {"PATH": "/usr/bin:/bin", "EARSHOT_DATA": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "replay", *args, "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def check_output(stdout: str) -> None:
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]
    for r in rows:
        assert set(r) == {"id", "department", "complaint", "sentiment", "reason"}
        assert isinstance(r["complaint"], bool) and isinstance(r["sentiment"], float)
        assert r["reason"]
    a1, a2, a3 = rows
    assert (a1["department"], a1["complaint"]) == ("billing", True)
    assert a1["reason"].startswith("matched keywords: refund, charged")
    assert (a2["department"], a2["complaint"]) == ("support", False)
    assert a2["reason"] == "no department keywords matched; default"
    assert (a3["department"], a3["complaint"]) == ("shipping", True)


def test_replay_csv(tmp_path):
    path = tmp_path / "posts.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "author", "url", "created_at"])
        writer.writeheader()
        writer.writerows(POSTS)
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 0, proc.stderr
    check_output(proc.stdout)


def test_replay_jsonl_with_only_id_and_text(tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps({"id": p["id"], "text": p["text"]}) for p in POSTS]
    path.write_text("\n".join(lines[:2]) + "\n\n" + lines[2] + "\n", encoding="utf-8")
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 0, proc.stderr
    check_output(proc.stdout)


def test_replay_judges_posts_without_the_brand_term(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": 7, "text": "refund please"}) + "\n")
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["department"] == "billing"


# A malformed row is skipped with a warning instead (tests/test_cli_newcomer.py).
@pytest.mark.parametrize(("name", "content", "expected"), [
    ("missing.csv", None, "file not found"),
    ("posts.txt", "id,text\n1,hi\n", "expected a .csv or .jsonl file"),
    ("posts.csv", "id,body\n1,hi\n", "missing column(s) text"),
])
def test_bad_file_is_one_line_error_exit_2(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "replay" in lines[0]


def test_binary_file_is_one_line_error_exit_2(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_bytes(b"id,text\n1,\xff\xfe\xfa broken\n")
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_config_is_one_line_error_exit_2(tmp_path):
    (tmp_path / "earshot.toml").write_text("[brand]\nterms = 3\n")
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": 1, "text": "x"}) + "\n")
    proc = run_replay(tmp_path, str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "brand.terms" in proc.stderr


def test_missing_file_argument_is_usage_error(tmp_path):
    proc = run_replay(tmp_path)
    assert proc.returncode == 2
    assert "FILE" in proc.stderr or "file" in proc.stderr


def run_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "earshot.toml"
    if not config.exists():
        config.write_text(CONFIG)
    env = {"PATH": "/usr/bin:/bin", "EARSHOT_DATA": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["replay"], ["summary", "--dry-run", "--from"]])
@pytest.mark.parametrize("kind", ["binary", "directory", "huge field"])
def test_unreadable_export_is_one_line_error_for_replay_and_summary(tmp_path, command, kind):
    path = tmp_path / "posts.csv"
    if kind == "binary":
        path.write_bytes(b"id,text\n1,\xff\xfe\xfa broken\n")
    elif kind == "directory":
        path.mkdir()
    else:  # past csv's field size limit (128 KiB)
        path.write_text("id,text\n1,\"" + "x" * 200_000 + "\"\n", encoding="utf-8")
    proc = run_command(tmp_path, *command, str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], proc.stderr
