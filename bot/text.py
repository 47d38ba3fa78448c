"""Shared text helpers: cleaning, tokenizing and a light stemmer.

Pure functions only. Matching, dedupe, sentiment and routing all tokenize the same way,
so a keyword written in the config ("refunds", "cancelled") meets the post's words in the
same normal form ("refund", "cancel").
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(?<![\w@])@[\w.-]+(?:@[\w.-]+)?")
# Words: letters/digits with inner apostrophes ("can't", "didn't") kept together.
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Emoji presentation selectors, zero-width joiners and skin-tone modifiers: invisible or
# cosmetic variations that copies of a post often differ by.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


# C0/C1 control characters (ESC starts terminal escape sequences): a post printed by a
# command must not be able to rewrite the terminal.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters (line breaks and tabs are kept)."""
    return _CONTROL_RE.sub("", text)


def clean(text: str) -> str:
    """Unescape HTML entities (twice: exports often double-escape) and normalize Unicode."""
    text = html.unescape(html.unescape(text or ""))
    text = unicodedata.normalize("NFKC", text)
    return _INVISIBLE_RE.sub("", text).replace("’", "'")


def strip_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


def strip_handles(text: str) -> str:
    """Remove @handles: they name the addressee, not what the post is about."""
    return HANDLE_RE.sub(" ", text)


def words(text: str) -> list[str]:
    """Lower-cased words of already-cleaned text (hashtags lose their '#')."""
    return [w.lower() for w in WORD_RE.findall(text)]


def content_words(text: str) -> list[str]:
    """Words of a post without URLs and @handles: what the post says."""
    return words(strip_handles(strip_urls(clean(text))))


_SUFFIXES = (
    # (suffix, replacement): first match wins; longer suffixes first.
    ("ations", ""), ("ation", ""), ("ingly", ""), ("edly", ""), ("ings", ""),
    ("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("ly", ""),
    ("s", ""),
)
_ES_AFTER = ("s", "x", "z", "ch", "sh")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A small, predictable suffix stripper (not Porter): 'cancelled', 'cancels' and
    'cancellation' all become 'cancel'; 'charged', 'charges', 'charge' become 'charg'.

    Applied to both config keywords and post words, so the exact stem never matters,
    only that inflections of one word meet.
    """
    w = word.lower().replace("'", "")
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, repl in _SUFFIXES:
        if not w.endswith(suffix):
            continue
        base = w[: -len(suffix)] + repl
        if suffix == "es" and not base.endswith(_ES_AFTER):
            base = w[:-1]  # "charges" -> "charge" (then the final e goes below)
        if suffix == "s" and w.endswith(("ss", "us", "is")):
            continue
        if len(base) < 3:
            continue
        w = base
        break
    if len(w) > 4 and w.endswith("y") and w[-2] not in "aeiou":
        w = w[:-1]  # "delivery", "deliveries" -> "deliver"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # "stopped" -> "stopp" -> "stop"
    if len(w) > 4 and w.endswith("ll"):
        w = w[:-1]  # "cancell" -> "cancel"
    return w


def stems(text: str) -> list[str]:
    """Stemmed content words of a post."""
    return [stem(w) for w in content_words(text)]

