"""Work after an ack that yields to the acks: it starts in a quiet moment, not mid-burst.

Python threads share one GIL, and the machine a few cores. The work after an ack (a
claim's store update, chat.update, the ephemeral reply: about 2 ms of CPU, and as much
again in the Slack stand-in or the network stack) competes with the requests still
being answered, and in a burst of clicks each ack waits behind other clicks' work: at 20
concurrent requests the ack's p99 was over 100 ms (bench/ack.py) while the ack itself
takes under a millisecond. Here that work waits until no request has been answered for
QUIET_SECONDS, and never longer than MAX_DEFER_SECONDS after it was submitted (a
sustained flood delays it, never starves it). Outside a burst it starts within
QUIET_SECONDS, far below what the Slack call it makes takes.

`RequestTraffic` counts the requests being answered (the app counts its dispatches);
`QuietExecutor` is the executor that waits for a quiet moment before each task.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

QUIET_SECONDS = 0.005
MAX_DEFER_SECONDS = 2.0


class RequestTraffic:
    """How many requests are being answered now, and since when none has been."""

    def __init__(self, *, quiet: float = QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet = quiet
        self.clock = clock
        self._lock = threading.Lock()
        self._answering = 0
        self._last = clock()  # when the last request was answered (or this was built)
        # One task waits for the quiet moment at a time; the others queue behind it in
        # order, so that a burst costs one waiting thread a wake-up per QUIET_SECONDS,
        # not every waiting thread.
        self._turn = threading.Lock()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Count one request as being answered while the block runs."""
        with self._lock:
            self._answering += 1
        try:
            yield
        finally:
            with self._lock:
                self._answering -= 1
                self._last = self.clock()

    def busy(self) -> bool:
        with self._lock:
            return self._answering > 0

    def wait_for_quiet(self, deadline: float) -> None:
        """Return once no request has been answered for `quiet` seconds, or at
        `deadline` (on this object's clock), whichever comes first."""
        if not self._turn.acquire(timeout=max(0.0, deadline - self.clock())):
            return  # others have waited until the deadline: go now
        try:
            while True:
                now = self.clock()
                if now >= deadline:
                    return
                with self._lock:
                    answering, last = self._answering, self._last
                if not answering and now - last >= self.quiet:
                    return
                pause = self.quiet if answering else self.quiet - (now - last)
                time.sleep(min(pause, deadline - now))
        finally:
            self._turn.release()


class QuietExecutor(Executor):
    """Runs each task on `inner` once `traffic` is quiet (or `max_defer` seconds after
    it was submitted). Futures behave as `inner`'s; shutdown shuts `inner` down."""

    def __init__(self, inner: Executor, traffic: RequestTraffic, *,
                 max_defer: float = MAX_DEFER_SECONDS) -> None:
        self.inner = inner
        self.traffic = traffic
        self.max_defer = max_defer

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        deadline = self.traffic.clock() + self.max_defer
        return self.inner.submit(self._when_quiet, deadline, fn, args, kwargs)

    def _when_quiet(self, deadline: float, fn: Callable[..., Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        self.traffic.wait_for_quiet(deadline)
        return fn(*args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)
