"""SIGTERM stops Earshot the way Ctrl-C does.

Heroku, Kubernetes and systemd stop a process with SIGTERM and kill it after a grace
period (Heroku: 30 s). Python's default for SIGTERM is to die on the spot: no log line,
no drain of in-flight posts, no compaction of the store. `graceful_sigterm()` turns the
signal into a `Terminated` exception in the main thread, so the command's own cleanup
(stop taking requests, stop the scheduler, let the outbox finish or park its post,
close and compact the store) runs, and the command exits 0.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


class Terminated(SystemExit):  # noqa: N818 - named for the signal, like KeyboardInterrupt
    """Raised in the main thread when SIGTERM arrives. A SystemExit, so that loops
    which re-raise only "exit" exceptions (waitress's, asyncore's) stop as for Ctrl-C
    instead of logging it as an error in some handler."""


@contextmanager
def graceful_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated in the main thread (once: a second
    SIGTERM during cleanup is ignored, so the cleanup itself is not interrupted)."""

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("SIGTERM received: stopping gracefully (no new work; in-flight posts "
                 "finish or wait for the next start; the store is compacted)")
        raise Terminated(0)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
