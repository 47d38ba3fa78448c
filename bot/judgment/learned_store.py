"""Keeping what the bot learned: labels, gates and the fitted model, in the store.

The labels are the source of truth (`learning.labels`, one small dict each); the gates'
counts sit beside them (`learning.gates`); the fitted models are a compressed pickle
(`learning.model`) that only saves a refit at start. A model that cannot be read (torn,
from another scikit-learn, for other departments) is dropped with one warning: the
rules decide until the background retrainer has refit from the labels, which are kept.

`Retrainer` is the background side: a click stores its label and returns; the worker
thread learns it, refits within `delay` seconds (at most a minute) and saves the model.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.judgment.judge import Judge
from bot.judgment.labels import Label
from bot.settings import Settings
from bot.store.base import Store

if TYPE_CHECKING:  # scikit-learn loads in the retrainer's thread, not at start-up
    from bot.judgment.learning import Learner

log = logging.getLogger(__name__)

LABELS_KEY = "learning.labels"
GATES_KEY = "learning.gates"
MODEL_KEY = "learning.model"
REFIT_DELAY = 5.0  # seconds to gather a burst of corrections into one refit
MAX_DELAY = 60.0  # the promise: a correction shows within a minute


def stored_labels(store: Store) -> list[Label]:
    raw = store.get_meta(LABELS_KEY)
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        try:
            out.append(Label.from_dict(item))
        except (TypeError, AttributeError):
            log.warning("skipping an unreadable stored label: %r", item)
    return out


def add_label(store: Store, label: Label) -> None:
    """Keep one label (atomic append)."""
    store.update_meta(LABELS_KEY, lambda old: [*(old if isinstance(old, list) else []),
                                               label.to_dict()])


def remove_labels(store: Store, keep: Callable[[Label], bool]) -> list[Label]:
    """Drop the labels `keep` refuses (an undone move); returns the dropped ones."""
    dropped: list[Label] = []

    def change(old: Any) -> list[dict[str, str]]:
        dropped.clear()
        kept = []
        for item in old if isinstance(old, list) else []:
            label = Label.from_dict(item)
            if keep(label):
                kept.append(item)
            else:
                dropped.append(label)
        return kept
    store.update_meta(LABELS_KEY, change)
    return dropped


def save_model(store: Store, learner: Learner) -> None:
    blob = base64.b64encode(zlib.compress(learner.dump(), 6)).decode("ascii")
    store.set_meta(MODEL_KEY, {"labels": len(learner.labels), "blob": blob})
    store.set_meta(GATES_KEY, learner.gates())


def load_learner(store: Store, learner: Learner) -> bool:
    """Fill a fresh learner from the store. Returns True when it needs a refit (a
    missing, stale or unreadable model); the rules decide until then."""
    labels = stored_labels(store)
    learner.learn(labels, score=False)  # scored when they were first learned
    learner.pending = 0
    saved = store.get_meta(MODEL_KEY)
    gates = store.get_meta(GATES_KEY)
    if not labels:
        return False
    try:
        if not isinstance(saved, dict) or not isinstance(saved.get("blob"), str):
            raise ValueError("no stored model")
        learner.restore(zlib.decompress(base64.b64decode(saved["blob"], validate=True)))
    except (ValueError, zlib.error) as exc:
        if saved is not None:
            log.warning("the stored learned model cannot be used (%s): routing by the rules "
                        "until it is retrained from the %d stored labels", exc, len(labels))
        learner.deferred_gates = gates if isinstance(gates, dict) else {}
        return True
    learner.set_gates(gates if isinstance(gates, dict) else {})
    return saved.get("labels") != len(labels)


def start_learning(settings: Settings, store: Store) -> tuple[Judge, Retrainer]:
    """A judge (the rules at first) and a running retrainer that fills the judge's learner
    from the store in its own thread, so that start-up does not wait for scikit-learn."""
    judge = Judge(settings)

    def build() -> Learner:
        learner = judge.new_learner(settings)
        needs_refit = load_learner(store, learner)
        log.info("learning from corrections: %d labels stored%s", len(learner.labels),
                 "; refitting in the background" if needs_refit else "")
        if needs_refit:
            learner.retrain()
            save_model(store, learner)
        judge.learner = learner
        return learner

    return judge, Retrainer(None, store, build=build).start()


class Retrainer:
    """Learns labels and refits off the click path, then saves the model."""

    def __init__(self, learner: Learner | None, store: Store, *, delay: float = REFIT_DELAY,
                 build: Callable[[], Learner] | None = None) -> None:
        if learner is None and build is None:
            raise ValueError("a learner or a way to build one is needed")
        self.learner, self.store, self._build = learner, store, build
        self.delay = min(delay, MAX_DELAY)
        self._queue: queue.Queue[Label | None] = queue.Queue()
        self._stop = threading.Event()
        self.refits = 0  # for tests and logs: how many refits have finished
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="earshot-retrainer",
                                        daemon=True)

    def start(self, *, refit_now: bool = False) -> Retrainer:
        self._thread.start()
        if refit_now:
            self._queue.put(None)  # None: refit without a new label
        return self

    def submit(self, label: Label) -> None:
        """Keep the label and hand it to the worker (returns at once)."""
        add_label(self.store, label)
        self._queue.put(label)

    def forget(self, keep: Callable[[Label], bool]) -> list[Label]:
        """Drop labels (an undo); the worker rebuilds the learner from the rest."""
        dropped = remove_labels(self.store, keep)
        if dropped:
            self._queue.put(None)
        return dropped

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_idle(self, refits: int, timeout: float = 30.0) -> bool:
        """Block until `refits` refits have finished (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self.refits >= refits, timeout)

    def _run(self) -> None:
        if self.learner is None and self._build is not None:
            try:
                self.learner = self._build()
            except Exception:
                log.exception("cannot load what was learned; the rules keep routing alone")
                return
        while not self._stop.is_set():
            first = self._queue.get()
            batch = [first]
            # Gather a burst of clicks into one refit; a stop() ends the wait at once.
            self._stop.wait(self.delay)
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            labels = [lb for lb in batch if lb is not None]
            # Labels taken from the queue are learned even when stopping: their gate
            # scores exist nowhere else, and a shutdown must not drop them.
            if self._stop.is_set() and not labels:
                return
            try:
                self._learn(labels)
            except Exception:  # keep the worker alive: the next label retries the refit
                log.exception("learning from corrections failed; the rules keep routing")

    def _learn(self, labels: list[Label]) -> None:
        assert self.learner is not None
        stored = stored_labels(self.store)
        # Something was undone, or another replica (on a shared store) added labels:
        # rebuild from the stored labels, the source of truth.
        if len(stored) != len(self.learner.labels) + len(labels):
            self.learner.reset()
            self.learner.learn(stored, score=False)
        else:
            self.learner.learn(labels)
        self.learner.retrain()
        save_model(self.store, self.learner)
        with self._idle:
            self.refits += 1
            self._idle.notify_all()
