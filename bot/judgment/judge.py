"""The judgment of one mention: sentiment, complaint yes/no, department and why."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.judgment.routing import Router
from bot.judgment.sentiment import ComplaintDetector
from bot.settings import BrandSettings, Settings

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


def brand_words(brand: BrandSettings) -> tuple[str, ...]:
    """The brand's own one-word names ("United", "@spirit", "#amazon"), lower-cased.

    They name the company, not a feeling, so sentiment reads them as neutral. Phrases
    ("Best Buy") and domains are left alone: their words keep their usual meaning.
    """
    words = {brand.name} | set(brand.terms)
    found = {w.strip('"').lstrip("@#").lower() for w in words}
    return tuple(sorted(w for w in found if re.fullmatch(r"[^\W_]+", w)))


class Judge:
    """Builds the analyzers once (VADER's lexicon, the routing tables); `judge` is pure."""

    def __init__(self, settings: Settings) -> None:
        self.detector = ComplaintDetector(neutral_words=brand_words(settings.brand))
        self.router = Router(settings.departments)

    def judge(self, text: str) -> Judgment:
        """Judge the first MAX_JUDGED_CHARS characters of `text` (see judged_text)."""
        text = judged_text(text)
        feeling = self.detector.analyze(text)
        route = self.router.route(text)
        reason = route.reason
        if feeling.complaint and feeling.cues:
            reason += "; complaint cues: " + ", ".join(feeling.cues)
        return Judgment(feeling.score, feeling.complaint, route.department, reason)


def judged_text(text: str, limit: int = MAX_JUDGED_CHARS) -> str:
    """The part of a post that is judged: its first `limit` characters, cut back to the
    last whitespace when that is near, so the last word judged is a whole word."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(" "), head.rfind("\n"))
    return head[:cut] if cut > limit - 200 else head
