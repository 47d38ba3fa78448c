"""Routing and complaint flags that learn from the team's own corrections.

Every label (a move to another department, an escalation, a complaint flag set or
cleared, and a confirmation: a mention answered where it landed) trains two linear
models (scikit-learn `SGDClassifier`, logistic loss) on the post's words *and* on what
the rules said about it (see features.py). The config's `examples` are training rows
from the start.

The rules keep deciding until the model has shown it is better. A gate per slice of
posts (the rules' department for routing, the rules' yes/no for complaints) counts, on
each label *before* it is learned, whether the model and the rules were right. The model
speaks for a slice once it has been right more often than the rules there over at
least GATE_MIN labels: held-out by construction, because a label is scored before the
model sees it. Between full refits, a post nearly identical to a labelled one takes that
label at once (NEAR_DUPLICATE), so a correction shows on the next copy immediately.

Nothing here touches Slack or the store: `bot.judgment.learned_store` keeps labels and
the model, and a background thread calls `retrain`.
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from bot.judgment import features as ft
from bot.judgment.labels import COMPLAINT, MOVE_SOURCES, ROUTE, Label
from bot.judgment.routing import Route, Router
from bot.judgment.sentiment import ComplaintDetector, SentimentResult

log = logging.getLogger(__name__)

GATE_MIN = 30  # labels in a slice before the model may speak for it
NEAR_DUPLICATE = 0.85  # cosine similarity at which a labelled post's answer is reused
ALPHA = 1e-5  # L2 strength of both models (chosen on prequential replay, see docs)
EPOCHS = 10
NUDGE = False  # one SGD step per new label between refits (see docs: it hurts on tweets)
STATE_VERSION = 1


@dataclass(frozen=True)
class Decision:
    department: str
    complaint: bool
    reason: str  # the routing part of the reason line
    learned_route: bool
    learned_complaint: bool


@dataclass
class Gate:
    """Per slice: [labels seen, model right, rules right], each scored before learning."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def trusts(self, key: str) -> bool:
        n, model_ok, rules_ok = self.counts.get(key, (0, 0, 0))
        return n >= GATE_MIN and model_ok > rules_ok

    def record(self, key: str, model_ok: bool, rules_ok: bool) -> None:
        c = self.counts.setdefault(key, [0, 0, 0])
        c[0] += 1
        c[1] += int(model_ok)
        c[2] += int(rules_ok)


def _model() -> SGDClassifier:
    return SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, tol=None,
                         random_state=0)


def _fit(rows: list[sparse.csr_matrix], ys: list[str]) -> SGDClassifier | None:
    if len(set(ys)) < 2:
        return None  # nothing to tell apart yet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _model().fit(sparse.vstack(rows, format="csr"), ys)


class Learner:
    """The labels, the two models and their gates for one company's config.

    Thread-safe: `decide` may run while another thread calls `learn` or `retrain`.
    """

    def __init__(self, router: Router, detector: ComplaintDetector,
                 departments: Sequence[str], examples: Mapping[str, Sequence[str]]) -> None:
        self.router, self.detector = router, detector
        self.departments = list(departments)
        self._examples = {d: tuple(examples.get(d, ())) for d in self.departments}
        self._lock = threading.RLock()
        # Gates read from the store while the stored model was unusable: applied once a
        # refit has rebuilt the model; until then the rules decide alone.
        self.deferred_gates: Mapping[str, Any] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every label (the config's examples stay)."""
        with self._lock:
            self.labels: list[Label] = []
            self.route_gate, self.complaint_gate = Gate(), Gate()
            self.complaint_model: SGDClassifier | None = None
            self.pending = 0  # labels learned since the last refit
            # Training rows, one per label (config examples first), and the memory of
            # labelled texts (normalized text rows) for near duplicates and "similar to".
            self._route_x: list[sparse.csr_matrix] = []
            self._route_y: list[str] = []
            self._complaint_x: list[sparse.csr_matrix] = []
            self._complaint_y: list[str] = []
            self._memory: dict[str, tuple[list[sparse.csr_matrix], list[str], list[str]]] = {
                ROUTE: ([], [], []), COMPLAINT: ([], [], [])}
            self._stacked: dict[str, sparse.csr_matrix] = {}
            self._index: dict[str, dict[str, np.ndarray]] = {}
            self._masks: dict[tuple[str, str], np.ndarray] = {}
            self._taught: dict[tuple[str, bool], int] = {}  # (department, a move?) -> labels
            texts = [t for d in self.departments for t in self._examples[d]]
            deps = [d for d in self.departments for _ in self._examples[d]]
            if texts:
                tx = ft.text_rows(texts)
                routes = [self.router.route(t) for t in texts]
                self._route_x.append(ft.route_rows(tx, routes, self.departments))
                self._route_y.extend(deps)
                self._remember(ROUTE, ft.memory_rows(tx), deps, texts)
            self.route_model: SGDClassifier | None = _fit(self._route_x, self._route_y)

    # --- deciding ------------------------------------------------------------------
    def decide(self, texts: Sequence[str], routes: Sequence[Route],
               feelings: Sequence[SentimentResult]) -> list[Decision]:
        """Department and complaint flag for each post, from the rules or the model."""
        with self._lock:
            if self.deferred_gates is not None:  # the stored model was unusable
                return [Decision(r.department, f.complaint, r.reason, False, False)
                        for r, f in zip(routes, feelings, strict=True)]
            tx = ft.text_rows(texts)
            mx = ft.memory_rows(tx)
            route_sims = self._similar(ROUTE, mx)
            # A model's answer counts only where its gate is open: the other rows are
            # not put to it (the same decisions, without building their features).
            route_pred = self._predict(ROUTE, tx, route_sims, routes, feelings, [
                i for i, r in enumerate(routes) if self.route_gate.trusts(r.department)])
            complaint_pred = self._predict(COMPLAINT, tx, self._similar(COMPLAINT, mx),
                                           routes, feelings, [
                i for i, f in enumerate(feelings)
                if self.complaint_gate.trusts(str(f.complaint))])
            out = []
            for i, (route, feeling) in enumerate(zip(routes, feelings, strict=True)):
                dep, how = route_pred[i]
                use_route = how == "near" or (how == "model"
                                              and self.route_gate.trusts(route.department))
                flag, how_c = complaint_pred[i]
                use_flag = how_c == "near" or (
                    how_c == "model" and self.complaint_gate.trusts(str(feeling.complaint)))
                department = dep if use_route else route.department
                reason = (self._reason(department, route_sims, i)
                          if use_route and dep != route.department else route.reason)
                out.append(Decision(department, flag == "yes" if use_flag else feeling.complaint,
                                    reason, use_route and dep != route.department,
                                    use_flag and (flag == "yes") != feeling.complaint))
            return out

    def _similar(self, kind: str, mx: sparse.csr_matrix) -> sparse.csr_matrix | None:
        memory = self._memory_matrix(kind)
        return None if memory is None else ft.similarities(mx, memory)

    def _predict(self, kind: str, tx: sparse.csr_matrix, sims: sparse.csr_matrix | None,
                 routes: Sequence[Route], feelings: Sequence[SentimentResult],
                 only: list[int] | None = None) -> list[tuple[str, str]]:
        """(answer, how) per row: how is "near" (a labelled copy), "model" or "none".
        `only`: the rows to ask the model about (all by default; each row's answer is
        its own, whichever other rows are asked with it)."""
        model = self.route_model if kind == ROUTE else self.complaint_model
        answers: list[tuple[str, str]] = [("", "none")] * tx.shape[0]
        if model is not None and only is None:
            x = (ft.route_rows(tx, routes, self.departments) if kind == ROUTE
                 else ft.complaint_rows(tx, feelings))
            answers = [(str(p), "model") for p in model.predict(x)]
        elif model is not None and only:
            part = tx[only]
            x = (ft.route_rows(part, [routes[i] for i in only], self.departments)
                 if kind == ROUTE else ft.complaint_rows(part, [feelings[i] for i in only]))
            for i, p in zip(only, model.predict(x), strict=True):
                answers[i] = (str(p), "model")
        if sims is not None and sims.nnz:
            top = ft.row_max(sims)
            values = self._memory[kind][1]
            for i in np.flatnonzero(top >= NEAR_DUPLICATE):
                answers[i] = (values[ft.best_of(sims, int(i))[0]], "near")
        return answers

    def _reason(self, department: str, sims: sparse.csr_matrix | None, row: int) -> str:
        moves = self._taught.get((department, True), 0)
        confirmed = self._taught.get((department, False), 0)
        head = f"learned from {moves} moves" + (f", {confirmed} confirmations" if confirmed else "")
        if sims is not None:
            best, sim = ft.best_of(sims, row, self._is_value(ROUTE, department))
            if best >= 0 and sim > 0:
                return f"{head}: similar to '{_quote(self._memory[ROUTE][2][best])}'"
        return head

    def _is_value(self, kind: str, value: str) -> np.ndarray:
        """Boolean mask over the memory rows of `kind`: which are labelled `value`."""
        key = (kind, value)
        if key not in self._masks:
            mask = np.zeros(len(self._memory[kind][1]), dtype=bool)
            mask[self._by_value(kind).get(value, [])] = True
            self._masks[key] = mask
        return self._masks[key]

    def _by_value(self, kind: str) -> dict[str, np.ndarray]:
        key = f"{kind}:by-value"
        if key not in self._index:
            values = np.array(self._memory[kind][1])
            self._index[key] = {v: np.flatnonzero(values == v) for v in set(values.tolist())}
        return self._index[key]

    # --- learning ------------------------------------------------------------------
    def learn(self, labels: Sequence[Label], *, score: bool = True) -> None:
        """Score each label against the model and the rules (for the gates), then keep it.

        Cheap (no refit): the models change at the next `retrain`; a near copy of a
        labelled post takes its label at once. `score=False` reloads labels that were
        scored before (after a restart) without counting them twice."""
        if not labels:
            return
        texts = [lb.text for lb in labels]
        routes = [self.router.route(t) for t in texts]
        feelings = [self.detector.analyze(t) for t in texts]
        with self._lock:
            tx = ft.text_rows(texts)
            for kind in (ROUTE, COMPLAINT):
                idx = [i for i, lb in enumerate(labels) if lb.kind == kind and self._valid(lb)]
                if idx:
                    self._learn_kind(kind, [labels[i] for i in idx], tx[idx],
                                     [routes[i] for i in idx], [feelings[i] for i in idx], score)
            self.labels.extend(labels)

    def _valid(self, label: Label) -> bool:
        if label.kind == ROUTE:
            return label.value in self.departments
        return label.kind == COMPLAINT and label.value in ("yes", "no")

    def _learn_kind(self, kind: str, labels: list[Label], tx: sparse.csr_matrix,
                    routes: list[Route], feelings: list[SentimentResult], score: bool) -> None:
        mx = ft.memory_rows(tx)
        predicted = (self._predict(kind, tx, self._similar(kind, mx), routes, feelings) if score
                     else [("", "none")] * len(labels))
        values = [lb.value for lb in labels]
        if kind == ROUTE:
            for (guess, how), route, value in zip(predicted, routes, values, strict=True):
                if how != "none":
                    self.route_gate.record(route.department, guess == value,
                                           route.department == value)
            x = ft.route_rows(tx, routes, self.departments)
            self._route_x.append(x)
            self._route_y.extend(values)
            self._nudge(self.route_model, x, values)
            for lb in labels:
                key = (lb.value, lb.source in MOVE_SOURCES)
                self._taught[key] = self._taught.get(key, 0) + 1
        else:
            for (guess, how), feeling, value in zip(predicted, feelings, values, strict=True):
                rules = "yes" if feeling.complaint else "no"
                if how != "none":
                    self.complaint_gate.record(str(feeling.complaint), guess == value,
                                               rules == value)
            x = ft.complaint_rows(tx, feelings)
            self._complaint_x.append(x)
            self._complaint_y.extend(values)
            self._nudge(self.complaint_model, x, values)
        self._remember(kind, mx, values, [lb.text for lb in labels])
        self.pending += len(labels)

    @staticmethod
    def _nudge(model: SGDClassifier | None, x: sparse.csr_matrix, values: list[str]) -> None:
        """One SGD step on the new labels, so the model moves before the next refit
        (labels of a class the model has not met yet wait for the refit)."""
        if model is None or not NUDGE:
            return
        known = [i for i, v in enumerate(values) if v in set(model.classes_)]
        if known:
            model.partial_fit(x[known], [values[i] for i in known])

    def _remember(self, kind: str, tx: sparse.csr_matrix, values: list[str],
                  texts: list[str]) -> None:
        rows, vals, txts = self._memory[kind]
        rows.append(tx)
        vals.extend(values)
        txts.extend(texts)
        self._stacked.pop(kind, None)
        self._index.pop(f"{kind}:by-value", None)
        self._masks = {k: v for k, v in self._masks.items() if k[0] != kind}

    def _memory_matrix(self, kind: str) -> sparse.csr_matrix | None:
        rows = self._memory[kind][0]
        if not rows:
            return None
        if kind not in self._stacked:
            self._stacked[kind] = sparse.vstack(rows, format="csr")
        return self._stacked[kind]

    def retrain(self) -> None:
        """Refit both models on every label (seconds at most; run it off the click path)."""
        with self._lock:
            route_x, route_y = list(self._route_x), list(self._route_y)
            complaint_x, complaint_y = list(self._complaint_x), list(self._complaint_y)
            self.pending = 0
        route_model = _fit(route_x, route_y)  # outside the lock: judging goes on meanwhile
        complaint_model = _fit(complaint_x, complaint_y)
        with self._lock:
            self.route_model = route_model or self.route_model
            self.complaint_model = complaint_model or self.complaint_model
            if self.deferred_gates is not None:
                gates, self.deferred_gates = self.deferred_gates, None
                self.set_gates(gates)

    # --- keeping -------------------------------------------------------------------
    def dump(self) -> bytes:
        """The fitted models and gates (labels are kept apart, as the source of truth)."""
        with self._lock:
            state = {"version": STATE_VERSION, "sklearn": sklearn.__version__,
                     "departments": self.departments, "labels": len(self.labels),
                     "route_model": self.route_model, "complaint_model": self.complaint_model}
            return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, blob: bytes) -> None:
        """Load models and gates from `dump`; raises ValueError if they do not fit."""
        try:
            state = pickle.load(io.BytesIO(blob))  # noqa: S301 - our own store's bytes
        except Exception as exc:  # a torn or foreign blob: any unpickling error
            raise ValueError(f"unreadable model ({type(exc).__name__})") from exc
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError("model of another format")
        if state.get("sklearn") != sklearn.__version__:
            raise ValueError(f"model saved by scikit-learn {state.get('sklearn')}")
        if state.get("departments") != self.departments:
            raise ValueError("model trained for other departments")
        with self._lock:
            self.route_model = state["route_model"] or self.route_model
            self.complaint_model = state["complaint_model"]

    def gates(self) -> dict[str, dict[str, list[int]]]:
        """The gates' counts, JSON-ready (kept apart from the model: a torn model blob
        must not cost the evidence that the model had earned its say)."""
        with self._lock:
            return {ROUTE: {k: list(v) for k, v in self.route_gate.counts.items()},
                    COMPLAINT: {k: list(v) for k, v in self.complaint_gate.counts.items()}}

    def set_gates(self, raw: Mapping[str, Any]) -> None:
        def parse(counts: Any) -> dict[str, list[int]]:
            if not isinstance(counts, dict):
                return {}
            return {str(k): [int(x) for x in v][:3] for k, v in counts.items()
                    if isinstance(v, list) and len(v) == 3}
        with self._lock:
            self.route_gate = Gate(parse(raw.get(ROUTE)))
            self.complaint_gate = Gate(parse(raw.get(COMPLAINT)))


def _quote(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"
