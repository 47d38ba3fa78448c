"""Issue 9, item 2: slow and idle clients must not hold the server. Hundreds of sockets
from a few peers, trickling a request one byte at a time or sending nothing at all,
while /healthz and Slack's own requests go on being answered."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests

from bot.web import WebServer
from tests.e2e.helpers import slash, wait_for


def _connect(url: str, source_ip: str) -> socket.socket | None:
    parts = urlsplit(url)
    try:
        return socket.create_connection((parts.hostname, parts.port), timeout=2,
                                        source_address=(source_ip, 0))
    except OSError:
        return None  # refused or reset: the server is entitled to turn a crowd away


@contextmanager
def crowd(url: str, *, trickling: dict[str, int], idle: dict[str, int],
          every: float = 0.5) -> Iterator[list[socket.socket]]:
    """Open sockets from several loopback addresses: `trickling` ones send a request one
    byte every `every` seconds, `idle` ones send nothing. Yields the trickling sockets."""
    slow = [s for ip, n in trickling.items() for _ in range(n) if (s := _connect(url, ip))]
    quiet = [s for ip, n in idle.items() for _ in range(n) if (s := _connect(url, ip))]
    stop = threading.Event()
    request = b"POST /slack/events HTTP/1.1\r\nHost: earshot\r\nX-Padding: " + b"a" * 10_000

    def trickle() -> None:
        sent = 0
        while not stop.wait(every):
            for sock in slow:
                try:
                    sock.send(request[sent:sent + 1])
                except OSError:
                    pass
            sent += 1

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield slow
    finally:
        stop.set()
        thread.join(5)
        for sock in slow + quiet:
            sock.close()


def _healthz_seconds(url: str, n: int = 20) -> list[float]:
    times = []
    for _ in range(n):
        started = time.monotonic()
        resp = requests.get(url + "/healthz", timeout=10)
        assert resp.status_code == 200 and resp.json()["status"] == "ok"
        times.append(time.monotonic() - started)
    return times


def test_healthz_and_slack_are_answered_while_hundreds_of_slow_clients_hang_on(earshot):
    trickling = {"127.0.0.2": 50, "127.0.0.3": 50}
    idle = {f"127.0.0.{i}": 60 for i in range(4, 9)}
    with crowd(earshot.url, trickling=trickling, idle=idle):
        time.sleep(1.5)  # let the trickle start
        times = _healthz_seconds(earshot.url)
        assert max(times) < 1.0, times
        m = earshot.add()
        resp = slash(earshot.url, "/claim", m.short_id,
                     response_url=earshot.slack.response_url("busy"))
        assert resp.status_code == 200
        got = wait_for(lambda: earshot.responses("busy"), what="reply to /claim")
        assert got[0]["body"]["text"] == f"You claimed {m.short_id}."


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.01)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_a_request_trickled_past_the_deadline_is_cut_off_and_a_peer_is_capped(earshot):
    server = WebServer(earshot.server.app, host="127.0.0.1", port=0, request_deadline=2,
                       max_connections_per_peer=10).start()
    try:
        with crowd(server.url, trickling={"127.0.0.2": 10}, idle={"127.0.0.3": 30}) as slow:
            # Every trickling socket is cut off a little after the 2 s deadline, though it
            # never stopped sending.
            wait_for(lambda: all(_closed_by_server(s) for s in slow), timeout=8,
                     what="slow sockets closed")
            # The idle peer holds no more than its 10 connections: the rest were closed.
            assert len(server.server.peers) <= 1  # 127.0.0.3's survivors only, if any
            assert server.server.peers.get("127.0.0.3", 0) <= 10
            assert requests.get(server.url + "/healthz", timeout=2).json()["status"] == "ok"
    finally:
        server.stop()
