"""The judgment of one mention: sentiment, complaint yes/no, department and why."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.judgment.routing import Router
from bot.judgment.sentiment import ComplaintDetector
from bot.settings import BrandSettings, Settings
from bot.text import plain_text, words

if TYPE_CHECKING:  # scikit-learn loads in about a second: only when a learner is made
    from bot.judgment.learning import Learner

log = logging.getLogger(__name__)

# A post's first few thousand characters decide its feeling and department; the rest
# (a pasted log, a 1 MB wall of text) only costs time. The full text is still stored and
# linked: only what is judged is capped, so judging costs at most this much per post.
MAX_JUDGED_CHARS = 4000


@dataclass(frozen=True)
class Judgment:
    sentiment: float  # -1 (angry) .. 1 (delighted)
    complaint: bool
    department: str
    reason: str  # one human-readable line, e.g. "matched keywords: refund, charged"
    learned: bool = False  # the department or flag came from the learned model


def brand_words(brand: BrandSettings) -> tuple[str, ...]:
    """The brand's own one-word names ("United", "@spirit", "#amazon"), lower-cased.

    They name the company, not a feeling, so sentiment reads them as neutral. Phrases
    ("Best Buy") and domains are left alone: their words keep their usual meaning.
    """
    words = {brand.name} | set(brand.terms)
    found = {w.strip('"').lstrip("@#").lower() for w in words}
    return tuple(sorted(w for w in found if re.fullmatch(r"[^\W_]+", w)))


class Judge:
    """Builds the analyzers once (VADER's lexicon, the routing tables); `judge` is pure.

    With a `learner` (see learning.py), the learned models speak where they have
    proved better than the rules; without one, the rules alone decide."""

    def __init__(self, settings: Settings, learner: Learner | None = None) -> None:
        self.detector = ComplaintDetector(neutral_words=brand_words(settings.brand))
        self.router = Router(settings.departments)
        self.learner = learner

    def new_learner(self, settings: Settings) -> Learner:
        """A learner for this config with no labels yet (rules decide until it has some)."""
        from bot.judgment.learning import Learner
        return Learner(self.router, self.detector, list(settings.departments),
                       {d.name: d.examples for d in settings.departments.values()})

    def judge(self, text: str) -> Judgment:
        return self.judge_many([text])[0]

    def judge_many(self, texts: list[str]) -> list[Judgment]:
        """Judge several posts at once (the learned models are much faster in batches);
        each post's first MAX_JUDGED_CHARS characters (see judged_text)."""
        texts = [judged_text(t) for t in texts]
        # Each post is cleaned once: sentiment reads the plain text, routing its words.
        plains = [plain_text(t) for t in texts]
        feelings = [self.detector.analyze(t, p) for t, p in zip(texts, plains, strict=True)]
        routes = [self.router.route(t, words(p)) for t, p in zip(texts, plains, strict=True)]
        learner = self.learner
        decisions = learner.decide(texts, routes, feelings) if learner else None
        out = []
        for i, (feeling, route) in enumerate(zip(feelings, routes, strict=True)):
            department, complaint, reason, learned = (
                route.department, feeling.complaint, route.reason, False)
            if decisions:
                d = decisions[i]
                department, complaint, reason = d.department, d.complaint, d.reason
                learned = d.learned_route or d.learned_complaint
            if decisions and decisions[i].learned_complaint:
                reason += "; complaint (learned)" if complaint else "; not a complaint (learned)"
            elif complaint and feeling.cues:
                reason += "; complaint cues: " + ", ".join(feeling.cues)
            out.append(Judgment(feeling.score, complaint, department, reason, learned))
        return out


def judged_text(text: str, limit: int = MAX_JUDGED_CHARS) -> str:
    """The part of a post that is judged: its first `limit` characters, cut back to the
    last whitespace when that is near, so the last word judged is a whole word."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(" "), head.rfind("\n"))
    return head[:cut] if cut > limit - 200 else head
