"""Teaching a learner from history, as the team would have: `replay --learn` and the bench.

Posts are read in order. Each is judged first (prequential: the model has not seen it),
then learned from: a *correction* where the judgment was wrong (a move, a complaint flag
changed), a *confirmation* where it was right (the team answered it where it landed).
Posts are judged in small blocks and the models refit every few labels, the way the live
bot refits in the background within a minute of a correction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.judgment.judge import Judge, Judgment
from bot.judgment.labels import COMPLAINT, ROUTE, Label

BLOCK = 25  # posts judged together before their labels are learned
REFIT_MIN = 25  # refit once this many labels are new (at least one block: see docs)
REFIT_SHARE = 0.0  # or this share of all labels, to bound refits on long histories
WINDOWS = (0, 100, 250, 500, 1000, 2000)  # figures over posts after N corrections


@dataclass(frozen=True)
class Taught:
    """One post as judged before learning, with its true answers (None: not labelled)."""

    id: str
    judgment: Judgment
    rules_department: str
    rules_complaint: bool
    department: str | None
    complaint: bool | None


def teach(items: Iterable[tuple[str, str, str | None, bool | None]], judge: Judge
          ) -> Iterator[Taught]:
    """Judge then learn each (id, text, true department, true complaint), in order."""
    learner = judge.learner
    if learner is None:
        raise ValueError("the judge has no learner")
    block: list[tuple[str, str, str | None, bool | None]] = []
    for item in items:
        block.append(item)
        if len(block) >= BLOCK:
            yield from _block(block, judge)
            block = []
    if block:
        yield from _block(block, judge)


def _block(block: Sequence[tuple[str, str, str | None, bool | None]], judge: Judge
           ) -> Iterator[Taught]:
    learner = judge.learner
    assert learner is not None
    texts = [text for _, text, _, _ in block]
    judged = judge.judge_many(texts)
    labels = []
    out = []
    for (pid, text, dep, flag), j in zip(block, judged, strict=True):
        route = judge.router.route(text)
        rules_flag = judge.detector.analyze(text).complaint
        out.append(Taught(pid, j, route.department, rules_flag, dep, flag))
        if dep is not None:
            labels.append(Label(ROUTE, text, dep, "confirm" if dep == j.department else "move",
                                by="replay", mention_key=pid, previous=j.department))
        if flag is not None:
            labels.append(Label(COMPLAINT, text, "yes" if flag else "no",
                                "confirm" if flag == j.complaint else "mark",
                                by="replay", mention_key=pid,
                                previous="yes" if j.complaint else "no"))
    learner.learn(labels)
    if learner.pending >= max(REFIT_MIN, REFIT_SHARE * len(learner.labels)):
        learner.retrain()
    yield from out


def _f1(pred: Sequence[bool], gold: Sequence[bool]) -> float:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass(frozen=True)
class Window:
    after: int  # corrections made before the window starts
    posts: int
    learned: float  # accuracy or F1 with learning
    rules: float  # the rules alone on the same posts


def route_windows(rows: Sequence[Taught]) -> list[Window]:
    """Department accuracy over the posts after the first N routing corrections."""
    routed = [r for r in rows if r.department is not None]
    wrong = [r.judgment.department != r.department for r in routed]

    def score(part: Sequence[Taught], learned: bool) -> float:
        right = sum((r.judgment.department if learned else r.rules_department) == r.department
                    for r in part)
        return right / len(part)
    return _windows(routed, wrong, score)


def complaint_windows(rows: Sequence[Taught]) -> list[Window]:
    """Complaint F1 over the posts after the first N complaint corrections."""
    flagged = [r for r in rows if r.complaint is not None]
    wrong = [r.judgment.complaint != r.complaint for r in flagged]

    def score(part: Sequence[Taught], learned: bool) -> float:
        pred = [r.judgment.complaint if learned else r.rules_complaint for r in part]
        return _f1(pred, [bool(r.complaint) for r in part])
    return _windows(flagged, wrong, score)


def _windows(rows: Sequence[Taught], wrong: Sequence[bool], score) -> list[Window]:  # noqa: ANN001
    out = []
    seen = 0
    starts = {}
    for i, w in enumerate(wrong):
        for n in WINDOWS:
            if n not in starts and seen >= n:
                starts[n] = i
        seen += w
    for n in WINDOWS:
        if n in starts:
            part = rows[starts[n]:]
            out.append(Window(n, len(part), score(part, True), score(part, False)))
    return out


def worst_window(rows: Sequence[Taught], size: int = 500, skip: int = 500, step: int = 50
                 ) -> float | None:
    """The lowest (learned − rules) department accuracy over windows of `size` routed
    posts after the first `skip` (None if there are too few)."""
    routed = [r for r in rows if r.department is not None]
    gaps = []
    for start in range(skip, len(routed) - size + 1, step):
        part = routed[start:start + size]
        learned = sum(r.judgment.department == r.department for r in part)
        rules = sum(r.rules_department == r.department for r in part)
        gaps.append((learned - rules) / size)
    return min(gaps) if gaps else None
