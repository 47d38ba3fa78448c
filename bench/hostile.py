"""What a stranger's input costs Earshot, beside a normal post (issue 9).

1. Judging (fingerprint, brand match, sentiment, routing: the pipeline's per-post work)
   of a normal post, a 1 MB post and a post with a 40,000-letter word: time (min and
   median of several runs) and peak memory above the start (tracemalloc).
   Aim: under 50 ms and 20 MB more than a normal post.
2. `/healthz` latency (p50/p99 of 200 requests) while 200 slow clients are connected,
   each trickling a request one byte every 0.5 s, from four peers. Aim: p99 under 100 ms.
3. Peak RSS of `python -m bot serve` while 16 clients send 100 MB bodies at once, over
   its idle RSS. Aim: under 50 MB more than idle.

The server is a real `serve` child process against the local Slack stand-in.

    .venv/bin/python bench/hostile.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ingest.pipeline import clean_mention  # noqa: E402
from bot.judgment.dedupe import fingerprint  # noqa: E402
from bot.judgment.judge import Judge  # noqa: E402
from bot.judgment.matching import Matcher  # noqa: E402
from bot.mention import Mention, utcnow  # noqa: E402
from bot.settings import parse_settings  # noqa: E402
from tests.e2e.helpers import raw_config  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402

POSTS = {
    "normal post": "Acme support closed my ticket without an answer, still no refund",
    "1 MB post": "Acme support ticket closed. " + "ab" * 500_000,
    "40,000-letter word": "Acme outage again: " + "x" * 40_000 + " since noon",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# --- 1. judging ---------------------------------------------------------------------------


def judge_once(judge: Judge, matcher: Matcher, text: str) -> None:
    """The pipeline's work for one post, short of storing it."""
    mention = clean_mention(Mention(source="bench", native_id="1", text=text,
                                    url="https://example.com/1", created_at=utcnow()))
    matcher.drop_reason(mention)
    fingerprint(mention.text)
    judge.judge(mention.text)


def bench_judging(runs: int) -> None:
    settings = parse_settings(raw_config(), ROOT / "earshot.toml", {})
    judge, matcher = Judge(settings), Matcher(settings.brand)
    print(f"judging (time min / median of {runs} runs; peak memory above start)")
    base_ms = base_mb = None
    for name, text in POSTS.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            judge_once(judge, matcher, text)
            times.append((time.perf_counter() - started) * 1000)
        tracemalloc.start()
        judge_once(judge, matcher, text)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        median = statistics.median(times)
        extra = ""
        if base_ms is None:
            base_ms, base_mb = median, peak_mb
        else:
            extra = f"  (+{median - base_ms:.1f} ms, +{peak_mb - base_mb:.1f} MB vs normal)"
        print(f"  {name:20s} {min(times):8.1f} / {median:8.1f} ms   {peak_mb:7.1f} MB{extra}")


# --- the server ---------------------------------------------------------------------------


class Serve:
    def __init__(self, tmp: Path, slack_url: str) -> None:
        config = tmp / "earshot.toml"
        config.write_text('[brand]\nterms = ["Acme"]\n[departments.support]\nchannel = "C1"\n'
                          'keywords = ["help"]\n[routing]\ndefault = "support"\n'
                          '[escalation]\nchannel = "C9"\n[summary]\nchannel = "C8"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EARSHOT_"))}
        env.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench-secret",
                   SLACK_API_URL=slack_url, EARSHOT_DATA=str(tmp / "data"),
                   EARSHOT_LOG_LEVEL="ERROR")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--no-scheduler", "--port", "0",
             "--config", str(config)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.port = self._find_port()
        self._wait_ready()

    def _wait_ready(self) -> None:
        """serve binds its port first and answers 503 "starting" until Slack answers."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1.1 200"):
                    return
            time.sleep(0.1)
        raise SystemExit("serve did not become ready")

    def _find_port(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if f"pid={self.proc.pid}," in line:
                    return int(re.search(r":(\d+)\s", line)[1])  # type: ignore[index]
            time.sleep(0.1)
        raise SystemExit("serve did not start listening")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            found = re.search(r"VmRSS:\s+(\d+) kB", f.read())
        return int(found[1]) / 1024 if found else 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def healthz_ms(port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    return (time.perf_counter() - started) * 1000


# --- 2. slow clients ----------------------------------------------------------------------


def bench_slow_clients(serve: Serve, clients: int = 200, requests: int = 200) -> None:
    base = [healthz_ms(serve.port) for _ in range(requests)]
    stop = threading.Event()
    socks = []
    for i in range(clients):
        try:
            socks.append(socket.create_connection(("127.0.0.1", serve.port), timeout=5,
                                                  source_address=(f"127.0.1.{i % 4 + 1}", 0)))
        except OSError:
            pass
    line = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000

    def trickle() -> None:
        sent = 0
        while not stop.wait(0.5):
            for sock in socks:
                try:
                    sock.send(line[sent:sent + 1])
                except OSError:
                    pass
            sent += 1

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(1)
    loaded = [healthz_ms(serve.port) for _ in range(requests)]
    stop.set()
    thread.join()
    for sock in socks:
        sock.close()
    print(f"/healthz with {len(socks)} slow clients connected ({requests} requests)")
    print(f"  idle:   p50 {percentile(base, 50):6.1f} ms   p99 {percentile(base, 99):6.1f} ms")
    print(f"  loaded: p50 {percentile(loaded, 50):6.1f} ms   p99 {percentile(loaded, 99):6.1f} ms"
          f"   max {max(loaded):6.1f} ms")


# --- 3. big bodies ------------------------------------------------------------------------


def send_big_body(port: int, size: int, answers: list[bytes]) -> None:
    chunk = b"x" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nContent-Length: "
                         + str(size).encode() + b"\r\n\r\n")
            sent = 0
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed before the body was all sent
        try:
            answers.append(sock.recv(64) or b"(closed by the server)")
        except OSError:
            answers.append(b"(reset by the server)")


def bench_big_bodies(serve: Serve, clients: int = 16, size: int = 100 << 20) -> None:
    time.sleep(0.5)
    idle = serve.rss_mb()
    answers: list[bytes] = []
    threads = [threading.Thread(target=send_big_body, args=(serve.port, size, answers))
               for _ in range(clients)]
    peak, done = idle, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, serve.rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    sampler.join()
    codes = sorted({a.split(b" ")[1].decode() if a.startswith(b"HTTP") else a.decode()
                    for a in answers})
    print(f"{clients} clients sending {size >> 20} MB bodies at once "
          f"({time.perf_counter() - started:.1f} s; answers: {', '.join(codes)})")
    print(f"  serve RSS idle {idle:6.1f} MB   peak {peak:6.1f} MB   (+{peak - idle:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    bench_judging(opts.runs)
    slack = SlackStandIn().start()
    with tempfile.TemporaryDirectory(prefix="earshot-hostile-") as tmp:
        serve = Serve(Path(tmp), slack.url)
        try:
            bench_slow_clients(serve)
            bench_big_bodies(serve)
        finally:
            serve.stop()
            slack.stop()


if __name__ == "__main__":
    main()
