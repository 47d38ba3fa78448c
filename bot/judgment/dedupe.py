"""One mention per story: fingerprints that survive trivial copying.

`fingerprint` is equal for copies that differ only in URLs, whitespace, case,
punctuation, HTML entities, accents, emoji, a "RT @x:" prefix, leading @mentions or a
trailing "via @x". A copy with real edits gets a different fingerprint; the pipeline still
merges it when its URL is one already stored (bot.ingest.pipeline).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bot.text import clean, strip_urls

_RT_PREFIX_RE = re.compile(r"^\s*(?:(?:rt|mt)\b\s*:?\s*)?@[\w.-]+(?:@[\w.-]+)?\s*:\s*",
                           re.IGNORECASE)
_LEADING_HANDLES_RE = re.compile(r"^\s*(?:[.]?@[\w.-]+(?:@[\w.-]+)?[\s,:]*)+")
_VIA_SUFFIX_RE = re.compile(r"\s*[(\[]?\s*(?:via|h/t|cc)\s+@[\w.-]+[)\]]?\s*$", re.IGNORECASE)
_BARE_RT_RE = re.compile(r"^\s*(?:rt|mt)\s*:?\s+", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """The words of a post in a canonical form: what two copies of it have in common."""
    t = strip_urls(clean(text))
    # Retweet prefixes can nest ("RT @a: RT @b: ..."); peel them all.
    while True:
        stripped = _RT_PREFIX_RE.sub("", t, count=1)
        stripped = _BARE_RT_RE.sub("", stripped, count=1)
        stripped = _LEADING_HANDLES_RE.sub("", stripped, count=1)
        if stripped == t:
            break
        t = stripped
    t = _VIA_SUFFIX_RE.sub("", t)
    # Accents and compatibility forms: "Café" and "Cafe" are the same post.
    t = unicodedata.normalize("NFKD", t.casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    # Only letters and digits survive: punctuation, emoji and symbols are decoration.
    return " ".join(_TOKEN_RE.findall(t))


def fingerprint(text: str) -> str:
    """A short hash of `normalize(text)`; "" when nothing is left (e.g. a bare link)."""
    norm = normalize(text)
    if not norm:
        return ""
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:20]

