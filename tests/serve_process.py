"""`python -m bot serve` as a real subprocess, for the tests that need the whole process
(boot, signals, a kill -9, Socket Mode): started with a clean environment, its stderr
collected line by line (read all along, so the child never blocks on a full pipe)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_serve(config: Path, env: dict[str, str], *args: str
                ) -> tuple[subprocess.Popen, list[str]]:
    """Start `serve --config config *args`; the caller's SLACK_* and EARSHOT_* variables
    are dropped, `env` added. Returns the process and its stderr lines so far."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
    full.update(PYTHONUNBUFFERED="1", **env)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", *args, "--config",
                             str(config)], cwd=ROOT, env=full, stderr=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                     daemon=True).start()
    return proc, lines


def stop_serve(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ctrl-C, as a person would; killed if it has not stopped within `timeout`."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http_port(proc: subprocess.Popen, lines: list[str]) -> int | None:
    """The port serve logged it listens on (None until it has); fails if it exited."""
    if proc.poll() is not None:
        raise AssertionError(f"serve exited with {proc.returncode}: {lines}")
    found = [re.search(r"serving Slack events on port (\d+)", x) for x in lines]
    return next((int(m[1]) for m in found if m), None)
