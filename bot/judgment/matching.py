"""Is this post about us? Brand terms, exclusions, own accounts and languages.

Terms in the config come in four shapes, each matched case-insensitively on boundaries:
- words ("Acme"): a whole word, so "Acme" never matches "Acmeville" (but matches
  "#acme", "Acme's" and "@acme");
- "quoted phrases" (or any term with spaces): the words in order, any whitespace
  between them;
- @handles ("@acme"): the handle, not followed by more handle characters;
- domains ("acme.com"): the domain or any subdomain of it ("shop.acme.com/x").
"""

from __future__ import annotations

import logging
import re

from bot.mention import Mention
from bot.settings import BrandSettings
from bot.text import clean

log = logging.getLogger(__name__)

_DOMAIN_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)


def term_pattern(term: str) -> re.Pattern[str] | None:
    """A compiled regex for one config term, or None for an empty term."""
    raw = term.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].strip()
    if not raw:
        return None
    if raw.startswith("@"):
        # A handle ends where handle characters end; "@acme" is not "@acmesupport".
        body = re.escape(raw)
        return re.compile(rf"(?<![\w@]){body}(?![\w-]|\.\w|@\w)", re.IGNORECASE)
    if " " not in raw and _DOMAIN_RE.match(raw):
        # Subdomains count ("www.acme.com"); longer names do not ("notacme.com").
        body = re.escape(raw)
        return re.compile(rf"(?<![\w-]){body}(?![\w-]|\.\w)", re.IGNORECASE)
    parts = [re.escape(p) for p in raw.split()]
    body = r"\s+".join(parts)
    # Word boundaries by hand: \b misbehaves when a term starts or ends with a symbol.
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def normalize_handle(value: str) -> str:
    """One form for an account name: '@Acme', 'acme' -> 'acme';
    'https://mastodon.social/@acme' -> 'acme@mastodon.social'; 'acme.bsky.social' kept."""
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


class Matcher:
    """Decides whether a fetched post is a mention worth keeping."""

    def __init__(self, brand: BrandSettings) -> None:
        self.brand = brand
        self._terms = [(t, p) for t in brand.terms if (p := term_pattern(t))]
        self._exclude = [(t, p) for t in brand.exclude if (p := term_pattern(t))]
        self._own = {normalize_handle(a) for a in brand.own_accounts if a.strip()}
        self._languages = {lang.lower().split("-")[0] for lang in brand.languages}

    def drop_reason(self, mention: Mention) -> str | None:
        """None to keep the mention; otherwise why it is dropped, in a few words."""
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
        if not self.matched_terms(haystack):
            return "no brand term"
        return None

    def matched_terms(self, text: str) -> list[str]:
        """The brand terms found in `text` (as written in the config, without quotes)."""
        return [_display(t) for t, p in self._terms if p.search(text)]
