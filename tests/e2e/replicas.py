"""`python -m bot serve` replicas as real processes, for the replica end-to-end test and
bench/replicas.py: each on PORT=0 with its own local data directory, against a Slack
stand-in and one PostgreSQL database."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import requests

from tests.e2e.helpers import BOT_TOKEN, SECRET, wait_for
from tests.serve_process import http_port, start_serve


class Serve:
    """One `serve` process; `url` once it listens. `post_rate` is its SLACK_POST_RATE
    (chat.postMessage per second per channel)."""

    def __init__(self, config: Path, data: Path, slack_url: str, db_url: str, *,
                 post_rate: float | None = None) -> None:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack_url, "PORT": "0", "EARSHOT_DATA": str(data),
               "DATABASE_URL": db_url}
        if post_rate is not None:
            env["SLACK_POST_RATE"] = str(post_rate)
        self.proc, self.lines = start_serve(config, env)
        self.url = ""

    def wait_listening(self, timeout: float = 60) -> Serve:
        number = wait_for(lambda: http_port(self.proc, self.lines), timeout=timeout,
                          what="the port", interval=0.05)
        self.url = f"http://127.0.0.1:{number}"
        return self

    def role(self) -> str | None:
        try:  # no role yet while the replica answers "starting"
            return requests.get(self.url + "/healthz", timeout=5).json().get("role")
        except requests.RequestException:
            return None

    def stop(self, sig: int = signal.SIGINT) -> None:
        stop_all([self], sig)


def start_all(count: int, config: Path, disk: Path, slack_url: str, db_url: str, *,
              post_rate: float | None = None) -> list[Serve]:
    """Start `count` replicas side by side (data in disk-0, disk-1, ...); return them
    once each listens (if one does not, all are killed)."""
    group = [Serve(config, disk.with_name(f"{disk.name}-{i}"), slack_url, db_url,
                   post_rate=post_rate) for i in range(count)]
    try:
        return [s.wait_listening() for s in group]
    except BaseException:
        stop_all(group, signal.SIGKILL)
        raise


def stop_all(replicas: list[Serve], sig: int = signal.SIGINT) -> None:
    """Signal every replica, then wait for each: they shut down side by side."""
    running = [s for s in replicas if s.proc.poll() is None]
    for s in running:
        s.proc.send_signal(sig)
    for s in running:
        try:
            s.proc.wait(15)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()


def leader_of(replicas: list[Serve], timeout: float = 60) -> Serve:
    """The replica that reports itself leader on /healthz (waits for one)."""
    return wait_for(lambda: next((s for s in replicas if s.role() == "leader"), None),
                    timeout=timeout, what="a leader", interval=0.1)
