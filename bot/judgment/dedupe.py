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

# Applied with .match(text, pos) to peel prefixes without copying the text each time
# (so no "^"); the text's whitespace is collapsed first, so no two neighbouring "\s*"
# can split one long run of spaces in quadratically many ways.
_RT_PREFIX_RE = re.compile(r"\s*(?:(?:rt|mt)\b\s*:?\s*)?@[\w.-]+(?:@[\w.-]+)?\s*:\s*",
                           re.IGNORECASE)
_LEADING_HANDLES_RE = re.compile(r"\s*(?:[.]?@[\w.-]+(?:@[\w.-]+)?[\s,:]*)+")
_VIA_SUFFIX_RE = re.compile(r"\s*[(\[]?\s*(?:via|h/t|cc)\s+@[\w.-]+[)\]]?\s*$", re.IGNORECASE)
_BARE_RT_RE = re.compile(r"\s*(?:rt|mt)\s*:?\s+", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[^\W_]+")
# Two posts alike in their first 20,000 characters are one story (see fingerprint).
MAX_FINGERPRINT_CHARS = 20_000
CUT_SLACK_WORDS = 50


def normalize(text: str) -> str:
    """The words of a post in a canonical form: what two copies of it have in common."""
    t = " ".join(strip_urls(clean(text)).split())
    # Retweet prefixes can nest ("RT @a: RT @b: ..."); peel them all, moving a position
    # forward rather than copying the rest of the text once per prefix.
    pos = 0
    while True:
        start = pos
        for prefix in (_RT_PREFIX_RE, _BARE_RT_RE, _LEADING_HANDLES_RE):
            found = prefix.match(t, pos)
            if found:
                pos = found.end()
        if pos == start:
            break
    t = _VIA_SUFFIX_RE.sub("", t[pos:])
    # Accents and compatibility forms: "Café" and "Cafe" are the same post.
    t = unicodedata.normalize("NFKD", t.casefold())
    if not t.isascii():  # ASCII has no accents to drop: skip the per-character pass
        t = "".join(ch for ch in t if not unicodedata.combining(ch))
    # Only letters and digits survive: punctuation, emoji and symbols are decoration.
    return " ".join(_TOKEN_RE.findall(t))


def fingerprint(text: str) -> str:
    """A short hash of `normalize(text)`; "" when nothing is left (e.g. a bare link).

    Only the first MAX_FINGERPRINT_CHARS characters count, so a 1 MB post costs no more
    than a long one. Of a cut text the last CUT_SLACK_WORDS words are left out too: a copy
    with a prefix ("RT @x: ") is cut a few words later, and must still hash the same."""
    if len(text) > MAX_FINGERPRINT_CHARS:
        tokens = normalize(text[:MAX_FINGERPRINT_CHARS]).split()
        norm = " ".join(tokens[:-CUT_SLACK_WORDS])
    else:
        norm = normalize(text)
    if not norm:
        return ""
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:20]

