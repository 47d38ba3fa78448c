"""Reply length counted the way each source counts it, and plain-text clean-up.

- Mastodon: 500 characters; every URL counts as 23; characters are grapheme clusters
  (the server's StatusLengthValidator counts `each_grapheme_cluster`).
- Bluesky: 300 graphemes (the app counts with a grapheme splitter; the lexicon also caps
  the post at 3,000 bytes, far above 300 graphemes of anything but long emoji sequences).
- X: 280 "weighted" characters (twitter-text v3): a URL counts 23; an emoji sequence
  counts 2; a code point in the Latin and general-punctuation ranges counts 1, anything
  else (CJK, most other scripts) counts 2.

Grapheme clusters are approximated without a dependency: a base character takes along
combining marks, variation selectors, skin-tone modifiers, emoji tag characters,
keycaps and whatever a zero-width joiner glues on; regional indicators pair into flags;
CR LF is one cluster. That covers emoji, accents and flags, which is what people type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

URL_LENGTH = 23  # what Mastodon and X count for any link, however long
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)

LIMITS: dict[str, int] = {"mastodon": 500, "bluesky": 300, "x": 280}
UNITS: dict[str, str] = {"mastodon": "characters", "bluesky": "characters",
                         "x": "characters (CJK and emoji count 2, links 23)"}
LABELS: dict[str, str] = {"mastodon": "Mastodon", "bluesky": "Bluesky", "x": "X"}

# twitter-text v3 ranges whose code points weigh 1 (everything else weighs 2).
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _extends(ch: str) -> bool:
    """True for a character that belongs to the cluster before it."""
    cp = ord(ch)
    return (
        cp == 0x200D
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or cp == 0x20E3  # keycap
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """Split text into (approximate) extended grapheme clusters."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            j += 1
        elif _regional(text[i]) and j < n and _regional(text[j]):
            j += 1
        while j < n:
            if text[j - 1] == "\u200d":  # ZWJ glues the next character on
                j += 1
            elif _extends(text[j]):
                j += 1
            else:
                break
        out.append(text[i:j])
        i = j
    return out


def _is_emoji(cluster: str) -> bool:
    cp = ord(cluster[0])
    if len(cluster) > 1 and any(c in cluster for c in "\ufe0f\u200d\u20e3") or any(
            0x1F3FB <= ord(c) <= 0x1F3FF for c in cluster):
        return True
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF
            or 0x1F1E6 <= cp <= 0x1F1FF)


def _split_urls(text: str) -> tuple[str, int]:
    """The text without its URLs, and how many URLs there were."""
    urls = URL.findall(text)
    return URL.sub("", text), len(urls)


def mastodon_length(text: str) -> int:
    rest, urls = _split_urls(text)
    return len(graphemes(rest)) + urls * URL_LENGTH


def bluesky_length(text: str) -> int:
    return len(graphemes(text))


def x_length(text: str) -> int:
    rest, urls = _split_urls(unicodedata.normalize("NFC", text))
    weight = urls * URL_LENGTH
    for cluster in graphemes(rest):
        if _is_emoji(cluster):
            weight += 2
            continue
        for ch in cluster:
            cp = ord(ch)
            weight += 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT) else 2
    return weight


COUNTERS: dict[str, Callable[[str], int]] = {
    "mastodon": mastodon_length, "bluesky": bluesky_length, "x": x_length,
}


def reply_length(source: str, text: str) -> int | None:
    """The length of `text` as `source` counts it (None for a source we never write to)."""
    counter = COUNTERS.get(source)
    return counter(text) if counter else None


def too_long(source: str, text: str) -> str | None:
    """"Too long for Bluesky: 312 of 300 characters", or None when it fits."""
    length = reply_length(source, text)
    if length is None or length <= LIMITS[source]:
        return None
    return f"Too long for {LABELS[source]}: {length} of {LIMITS[source]} {UNITS[source]}."


def clean_reply(text: str) -> str:
    """The reply as plain text: NFC, no control or bidi-override characters, no runs of
    blank lines, no surrounding whitespace. Nothing is added to what the author wrote."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\t", " "))
    text = _CONTROL.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
