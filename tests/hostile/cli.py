"""Run `python -m bot ...` as a subprocess and measure it: wall time and peak memory.

The child reports its own peak RSS (getrusage) on the last line of stderr, so the figure
belongs to that process alone, whatever else the test run is doing.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]

_WRAPPER = """
import resource, runpy, sys
sys.argv = ["bot", *sys.argv[1:]]
try:
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
finally:
    sys.stderr.flush()
    print("peak-rss-kb: %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
          file=sys.stderr)
"""
_RSS_RE = re.compile(r"^peak-rss-kb: (\d+)$", re.MULTILINE)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def clean_env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
    env["EARSHOT_DATA"] = str(data)
    env.update(extra)
    return env


def run_bot(*args: str, data: Path, timeout: float = 60, **env: str) -> Run:
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True,
                              text=True, cwd=ROOT, env=clean_env(data, **env),
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`bot {' '.join(args)}` still running after {timeout} s; "
                             f"stderr so far: {str(exc.stderr)[-2000:]}") from None
    rss = _RSS_RE.findall(proc.stderr)
    stderr = _RSS_RE.sub("", proc.stderr).rstrip()
    return Run(proc.returncode, proc.stdout, stderr, time.monotonic() - started,
               int(rss[-1]) / 1024 if rss else 0.0)


class Serving:
    """`python -m bot serve` as a child process; its stderr is collected line by line."""

    def __init__(self, config: Path, data: Path, *, max_file_bytes: int | None = None,
                 **env: str) -> None:
        """`max_file_bytes`: the child may not grow any file past this size (writes fail
        with EFBIG, as with a full disk); lift it later with `free_space()`."""
        self.lines: list[str] = []

        def limit() -> None:
            if max_file_bytes is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE,
                                   (max_file_bytes, resource.RLIM_INFINITY))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0", "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=clean_env(data, **env), preexec_fn=limit)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_serving(self, timeout: float = 30) -> int:
        """The HTTP port, once the server listens and /healthz no longer says "starting"
        (serve binds its port first, then answers 503 until Slack has answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                found = re.search(r"serving Slack events on port (\d+)", line)
                if found and self._ready(int(found[1])):
                    return int(found[1])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"serve did not start listening; stderr:\n{self.stderr}")

    @staticmethod
    def _ready(port: int) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code != 503
        except requests.RequestException:
            return False

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"serve still running after {timeout} s; stderr:\n"
                                 f"{self.stderr}") from None
        self._reader.join(5)
        return code

    def free_space(self) -> None:
        """Writes succeed again (the file-size limit is lifted in the running child)."""
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
