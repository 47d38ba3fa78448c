"""The work after an ack waits for a quiet moment (bot.listeners.yielding), bounded."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.listeners.yielding import QuietExecutor, RequestTraffic


@pytest.fixture
def pool():
    inner = ThreadPoolExecutor(4)
    yield inner
    inner.shutdown(wait=True)


def test_work_waits_while_a_request_is_answered_and_starts_once_quiet(pool):
    traffic = RequestTraffic(quiet=0.05)
    work = QuietExecutor(pool, traffic, max_defer=10)
    started: list[float] = []
    with traffic.answering():
        assert traffic.busy()
        future = work.submit(lambda: started.append(time.monotonic()) or "done")
        time.sleep(0.3)
        assert started == []  # still answering: the work has not begun
        answered = time.monotonic()
    assert not traffic.busy()
    assert future.result(timeout=5) == "done"
    assert started[0] - answered >= 0.05  # a quiet moment first, however short


def test_work_submitted_when_nothing_is_answered_starts_at_once(pool):
    traffic = RequestTraffic(quiet=0.05)
    time.sleep(0.06)
    work = QuietExecutor(pool, traffic, max_defer=10)
    submitted = time.monotonic()
    future = work.submit(time.monotonic)
    assert future.result(timeout=5) - submitted < 0.04


def test_a_flood_of_requests_delays_the_work_until_its_deadline_not_forever(pool):
    traffic = RequestTraffic(quiet=0.05)
    work = QuietExecutor(pool, traffic, max_defer=0.3)
    stop = threading.Event()

    def flood() -> None:  # requests overlap without a quiet moment
        while not stop.is_set():
            with traffic.answering():
                time.sleep(0.01)

    flooders = [threading.Thread(target=flood) for _ in range(2)]
    for t in flooders:
        t.start()
    try:
        submitted = time.monotonic()
        futures = [work.submit(time.monotonic) for _ in range(6)]  # more than one waits
        ran = [f.result(timeout=5) - submitted for f in futures]
    finally:
        stop.set()
        for t in flooders:
            t.join()
    assert all(0.29 <= r < 2.0 for r in ran), ran


def test_a_failure_in_the_work_reaches_its_future(pool):
    work = QuietExecutor(pool, RequestTraffic(quiet=0.0), max_defer=1)

    def boom() -> None:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        work.submit(boom).result(timeout=5)
    assert work.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=5) == 5
