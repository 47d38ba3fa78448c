"""Issue 10, the newcomer's trial: every command line mistake a new user can make gets
one line (no traceback) and the documented exit status. All by subprocess, as a user
runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.summary.helpers import write_config

ROOT = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import sys
    from bot.store import open_store
    store = open_store(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.read()
    store.close()
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_with_source(tmp_path: Path) -> Path:
    """The summary tests' config plus a Hacker News source nobody answers."""
    path = write_config(tmp_path)
    path.write_text(path.read_text() + textwrap.dedent(f"""
        [sources.hackernews]
        base_url = "http://127.0.0.1:{free_port()}"
    """))
    return path


def bot(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
        config: Path | None = None, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "EARSHOT_", "PORT"))}
    base.update(EARSHOT_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    config = config or write_config(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "bot", args[0], "--config", str(config), *args[1:]],
        cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=90,
        input=stdin)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- 2. a second process on a held store --------------------------------------------


@pytest.fixture
def held_store(tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "data")],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    yield
    holder.communicate("", timeout=30)


@pytest.mark.parametrize("command", [["fetch", "--once"], ["summary", "--post"]])
def test_second_process_on_a_held_store_is_one_line_naming_earshot_data(
        tmp_path, held_store, command):
    proc = bot(tmp_path, *command, config=config_with_source(tmp_path),
               env={"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert proc.returncode == 2
    line = one_line(proc)
    assert "in use by another process" in line and "EARSHOT_DATA" in line
    assert "data_dir" not in line and str(tmp_path / "data") in line


# --- 3. EARSHOT_DATA at a file or an unwritable place ---------------------------------

COMMANDS = [["check-config"], ["fetch", "--once"], ["audit"], ["summary", "--dry-run"],
            ["summary", "--json"], ["serve"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("where", ["file", "under a file", "unwritable"])
def test_unusable_data_directory_is_one_line_for_every_command(tmp_path, command, where):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    data = {"file": a_file, "under a file": a_file / "data",
            # /proc takes no new directories, not even from root (permission bits would).
            "unwritable": Path("/proc/earshot-data")}[where]
    if where != "file" and command[0] in ("audit", "summary"):
        expected = "no store at"  # read-only commands only need an existing store
    else:
        expected = "EARSHOT_DATA="
    proc = bot(tmp_path, *command, config=config_with_source(tmp_path),
               env={"EARSHOT_DATA": str(data), "SLACK_BOT_TOKEN": "xoxb-test",
                    "SLACK_SIGNING_SECRET": "s", "PORT": "0",
                    "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc)
    assert expected in line and str(data) in line


# --- 4. log level in any case ----------------------------------------------------------


@pytest.mark.parametrize("level", ["debug", "Warning", "INFO", "warn"])
def test_log_level_in_any_case_is_accepted(tmp_path, level):
    proc = bot(tmp_path, "check-config", env={"EARSHOT_LOG_LEVEL": level})
    assert proc.returncode == 0, proc.stderr
    assert "config OK" in proc.stdout


def test_unknown_log_level_is_one_line_exit_2(tmp_path):
    proc = bot(tmp_path, "check-config", env={"EARSHOT_LOG_LEVEL": "loud"})
    assert proc.returncode == 2
    line = one_line(proc)
    assert "EARSHOT_LOG_LEVEL" in line and "'loud'" in line and "DEBUG" in line


# --- 5. serve on a port in use ---------------------------------------------------------


def test_serve_on_a_port_in_use_is_one_line_naming_the_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = bot(tmp_path, "serve", "--no-scheduler",
                   env={"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                        "PORT": str(port), "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert proc.returncode == 2
    line = one_line(proc)
    assert f"port {port}" in line and "in use" in line


# --- 6. a closed pipe ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["summary", "--json"], ["summary", "--dry-run"],
                                     ["check-config"], ["replay", "EXPORT"],
                                     ["audit"]], ids=" ".join)
def test_output_into_a_closed_pipe_is_not_an_error(tmp_path, command):
    export = tmp_path / "posts.jsonl"
    export.write_text("".join(json.dumps({"id": i, "text": f"Acme {i} refund"}) + "\n"
                              for i in range(2000)))
    (tmp_path / "data").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
    env.update(EARSHOT_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    args = [str(export) if a == "EXPORT" else a for a in command]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", args[0], "--config", str(write_config(tmp_path)),
         *args[1:]], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    proc.stdout.close()  # like `| head -0`: the reader is gone before the first line
    err = proc.stderr.read()
    assert proc.wait(60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err


# --- 7. dates at the ends of the calendar -----------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1969-12-31"])
def test_summary_date_out_of_range_is_one_line_exit_2(tmp_path, day):
    (tmp_path / "data").mkdir()
    proc = bot(tmp_path, "summary", "--dry-run", "--date", day)
    assert proc.returncode == 2
    line = one_line(proc)
    assert day in line and "out of range" in line


# --- 8. summary --post while Slack is down ------------------------------------------------


def test_summary_post_while_slack_is_down_says_so_in_one_sentence(tmp_path):
    from bot.store import open_store

    began = time.monotonic()
    proc = bot(tmp_path, "summary", "--post", "--date", "2026-03-10",
               env={"SLACK_BOT_TOKEN": "xoxb-test",
                    "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"})
    assert time.monotonic() - began < 30  # not a minute of retries
    assert proc.returncode == 1
    line = one_line(proc)
    assert "is queued" in line and "unreachable" in line and "posted when Slack answers" in line
    assert "DrainStats" not in line
    store = open_store(tmp_path / "data", read_only=True)
    try:
        queued = [i for i in store.pending_outbox() if i.channel == "#daily"]
    finally:
        store.close()
    assert len(queued) == 1 and "10 March 2026" in queued[0].payload["text"]


# --- 11. undated exports and a missing store ------------------------------------------------


def test_summary_from_an_export_without_dates_says_so(tmp_path):
    export = tmp_path / "posts.jsonl"
    export.write_text("".join(json.dumps({"id": i, "text": "@acme my bag was lost"}) + "\n"
                              for i in range(5)))
    proc = bot(tmp_path, "summary", "--from", str(export), "--dry-run", "--date",
               "1999-01-01")
    assert proc.returncode == 0, proc.stderr
    line = one_line(proc)
    assert "none of its rows carry a created_at" in line and "1999-01-01" in line
    assert "5 posts without a date" in proc.stdout.splitlines()[0]


def test_summary_dry_run_without_a_store_says_there_is_none(tmp_path):
    proc = bot(tmp_path, "summary", "--dry-run", env={"EARSHOT_DATA": str(tmp_path / "no")})
    assert proc.returncode == 2
    line = one_line(proc)
    assert "no store at" in line and str(tmp_path / "no") in line
    assert proc.stdout == ""  # not a quiet day


# --- 12. replay: empty, malformed lines, standard input --------------------------------------


def test_replay_of_an_empty_file_says_no_posts(tmp_path):
    export = tmp_path / "posts.jsonl"
    export.write_text("\n")
    proc = bot(tmp_path, "replay", str(export))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no posts" in one_line(proc)


def test_replay_skips_a_malformed_line_with_one_warning_and_counts_skips(tmp_path):
    export = tmp_path / "posts.jsonl"
    export.write_text('{"id": "1", "text": "Acme refund"}\n{"id": "2", "text": \n'
                      '["not", "an", "object"]\n{"id": "3", "text": "Acme thanks"}\n')
    proc = bot(tmp_path, "replay", str(export))
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == ["1", "3"]
    warnings = proc.stderr.strip().splitlines()
    assert warnings[0].endswith(f"skipped {export}:2: not valid JSON (Expecting value)")
    assert f"skipped {export}:3: expected a JSON object per line" in warnings[1]
    assert "2 judged, 2 malformed rows skipped" in warnings[2] and len(warnings) == 3


def test_replay_of_only_malformed_lines_fails(tmp_path):
    export = tmp_path / "posts.jsonl"
    export.write_text("nope\n")
    proc = bot(tmp_path, "replay", str(export))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no posts could be read" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("text", ['{"id": "7", "text": "Acme refund please"}\n',
                                  "id,text\n7,Acme refund please\n"], ids=["jsonl", "csv"])
def test_replay_reads_standard_input(tmp_path, text):
    proc = bot(tmp_path, "replay", "-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["id"] == "7" and row["complaint"] in (True, False)


# --- small things -------------------------------------------------------------------------


def test_check_config_counts_in_words(tmp_path):
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('keywords = ["hold", "service"]',
                                             'keywords = ["hold"]'))
    proc = bot(tmp_path, "check-config", config=path)
    assert proc.returncode == 0, proc.stderr
    assert "1 keyword," in proc.stdout and "1 keywords" not in proc.stdout
    assert "0 examples" in proc.stdout


def test_fetch_dry_run_without_once_says_it_runs_once(tmp_path):
    proc = bot(tmp_path, "fetch", "--dry-run", config=config_with_source(tmp_path))
    assert proc.returncode == 1  # the source is down; one cycle, not a loop
    assert "--dry-run polls once" in proc.stderr and "Traceback" not in proc.stderr


def test_manifest_and_readme_count_the_url_fields_right():
    manifest = (ROOT / "config" / "slack-manifest.yml").read_text()
    fields = sum(1 for line in manifest.splitlines()
                 if line.strip().startswith(("url:", "request_url:")))
    word = {3: "three", 4: "four", 5: "five"}[fields]
    assert f"{word} url/request_url fields" in manifest
    assert f"{word} `url`/`request_url` fields" in (ROOT / "README.md").read_text()


def test_fetch_summary_says_why_mentions_were_dropped():
    import io
    from datetime import UTC, datetime

    from bot.commands.fetch import print_summary
    from bot.ingest.pipeline import PipelineResult
    from bot.ingest.polling import PollOutcome
    from bot.mention import Mention

    def post(n: int) -> Mention:
        return Mention(source="hackernews", native_id=str(n), text="x", url="",
                       created_at=datetime(2026, 11, 23, tzinfo=UTC))

    result = PipelineResult(dropped=[(post(1), "no brand term"), (post(2), "own account"),
                                     (post(3), "no brand term")])
    out = io.StringIO()
    print_summary([PollOutcome("hackernews", ok=True, result=result, fetched=3)], out)
    assert "3 dropped (no brand term: 2; own account: 1)" in out.getvalue()
