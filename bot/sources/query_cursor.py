"""What sources keep in their cursors and send as queries: the brand's search terms, a
query joining them, the ids recently returned, and the unfinished bursts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from bot.settings import BrandSettings

log = logging.getLogger(__name__)

# How many recently returned ids a cursor keeps, for APIs whose time filter is coarse.
SEEN_LIMIT = 500
# Unfinished bursts a cursor remembers; beyond this the oldest is given up (and logged),
# so a source that bursts on every poll cannot grow its cursor without bound.
MAX_GAPS = 5


def brand_terms(brand: BrandSettings) -> list[str]:
    """The brand's search terms without surrounding quotes, duplicates dropped."""
    out: list[str] = []
    for term in brand.terms:
        plain = term.strip().strip('"').strip()
        if plain and plain.lower() not in {t.lower() for t in out}:
            out.append(plain)
    return out


def build_query(terms: BrandSettings | Iterable[str], joiner: str = " OR ") -> str:
    """A search query matching any term; phrases (and terms with spaces) in quotes."""
    if isinstance(terms, BrandSettings):
        terms = brand_terms(terms)
    parts = []
    for term in terms:
        term = term.strip().strip('"').strip()
        if not term:
            continue
        parts.append(f'"{term}"' if re.search(r"\s", term) else term)
    return joiner.join(parts)


def remember(seen: Iterable[str], new_ids: Iterable[str], limit: int = SEEN_LIMIT) -> list[str]:
    """A bounded list of recently returned ids (newest last), for a JSON cursor."""
    merged = list(dict.fromkeys([*seen, *new_ids]))
    return merged[-limit:]


def bounded_gaps(gaps: list[Any], source: str) -> list[Any]:
    """The newest MAX_GAPS unfinished windows (gaps are appended oldest first)."""
    if len(gaps) > MAX_GAPS:
        log.warning("%s: %d unfinished bursts; giving up the oldest %d", source, len(gaps),
                    len(gaps) - MAX_GAPS)
    return gaps[-MAX_GAPS:]
