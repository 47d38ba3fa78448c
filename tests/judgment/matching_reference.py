"""Today's matcher, frozen: the reference the fast matcher must agree with.

A verbatim copy of `Matcher.drop_reason` and its helpers (term patterns, `clean`) as
they were before the literal pre-filter, kept apart from bot/ so that a change to the
real matcher cannot change the reference with it. Used by the tricky-corpus test and
by bench/matching.py.
"""

from __future__ import annotations

import html
import re
import unicodedata

from bot.mention import Mention
from bot.settings import BrandSettings

_DOMAIN_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def clean(text: str) -> str:
    text = html.unescape(html.unescape(text or ""))
    text = unicodedata.normalize("NFKC", text)
    return _INVISIBLE_RE.sub("", text).replace("’", "'")


def term_pattern(term: str) -> re.Pattern[str] | None:
    raw = term.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].strip()
    if not raw:
        return None
    if raw.startswith("@"):
        body = re.escape(raw)
        return re.compile(rf"(?<![\w@]){body}(?![\w-]|\.\w|@\w)", re.IGNORECASE)
    if " " not in raw and _DOMAIN_RE.match(raw):
        body = re.escape(raw)
        return re.compile(rf"(?<![\w-]){body}(?![\w-]|\.\w)", re.IGNORECASE)
    parts = [re.escape(p) for p in raw.split()]
    body = r"\s+".join(parts)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def normalize_handle(value: str) -> str:
    v = value.strip().lower()
    url = re.match(r"^https?://([^/]+)/@([^/?#]+)", v)
    if url:
        return f"{url[2]}@{url[1]}"
    url = re.match(r"^https?://bsky\.app/profile/([^/?#]+)", v)
    if url:
        return url[1]
    return v.lstrip("@")


def _display(term: str) -> str:
    return term.strip().strip('"')


class ReferenceMatcher:
    def __init__(self, brand: BrandSettings) -> None:
        self.brand = brand
        self._terms = [(t, p) for t in brand.terms if (p := term_pattern(t))]
        self._exclude = [(t, p) for t in brand.exclude if (p := term_pattern(t))]
        self._own = {normalize_handle(a) for a in brand.own_accounts if a.strip()}
        self._languages = {lang.lower().split("-")[0] for lang in brand.languages}

    def drop_reason(self, mention: Mention) -> str | None:
        if self._own and mention.author and normalize_handle(mention.author) in self._own:
            return "own account"
        if self._languages and mention.language:
            lang = mention.language.lower().replace("_", "-").split("-")[0]
            if lang not in self._languages:
                return f"language {lang}"
        haystack = clean(" ".join(p for p in (mention.title, mention.text, mention.url) if p))
        for term, pattern in self._exclude:
            if pattern.search(haystack):
                return f"excluded term '{_display(term)}'"
        if not [_display(t) for t, p in self._terms if p.search(haystack)]:
            return "no brand term"
        return None
