"""Complaint aspects: the tokenizer and the cue matcher that place a complaint under an
aspect of the lexicon (lexicon.toml) or of the day's learned cues. Used by themes.py."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.summary.lexicon import load_lexicon

# The general complaint-aspect lexicon is data: bot/summary/lexicon.toml.
LEXICON, NAME_VARIANTS, _STOPWORDS, _GENERIC = load_lexicon()
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"(?<![\w@])@\w[\w.-]*")
_WORD = re.compile(r"[a-z][a-z0-9']*")
# URLs and @handles in one pass: neither says what a complaint is about.
_NOISE = re.compile(_URL.pattern + "|" + _HANDLE.pattern, re.I)


def _norm(word: str) -> str:
    """Plural and possessive endings off, so "bags" meets "bag"."""
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


# Tokens are normalized ("guys" -> "guy"), so the word lists are too.
STOPWORDS = _STOPWORDS | {_norm(w) for w in _STOPWORDS}
GENERIC = _GENERIC | {_norm(w) for w in _GENERIC}


class Tokenizer:
    """Lower-cased, normalized words without URLs, @handles and the brand's names."""

    def __init__(self, brand_words: Iterable[str] = ()) -> None:
        drop: set[str] = set()
        for term in brand_words:
            term = term.strip().strip('"').lower().lstrip("@#")
            term = term.split(".")[0] if "." in term and " " not in term else term
            drop.update(_norm(w) for w in _WORD.findall(term))
        self.drop = frozenset(drop)
        self._cache: dict[str, str | None] = {}

    def tokens(self, text: str) -> list[str]:
        text = text or ""
        if "&" in text:
            text = html.unescape(text)
        text = _NOISE.sub(" ", text).lower()
        if "’" in text or "wi-fi" in text:
            text = text.replace("’", "'").replace("wi-fi", "wifi")
        out = []
        cache = self._cache
        for raw in _WORD.findall(text):
            tok = cache.get(raw, "")
            if tok == "":
                norm = _norm(raw)
                tok = None if norm in self.drop else norm
                cache[raw] = tok
            if tok is not None:
                out.append(tok)
        return out


@dataclass
class Cue:
    aspect: int
    words: tuple[str, ...]
    weight: float


def parse_cue(aspect: int, cue: str) -> Cue:
    weight = 1.0
    if cue.startswith("!"):
        weight, cue = 2.0, cue[1:]
    elif cue.startswith("~"):
        weight, cue = 0.5, cue[1:]
    return Cue(aspect, tuple(_norm(w) if not w.endswith("*") else w
                              for w in cue.lower().split()), weight)


def word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    if token == pattern:
        return True
    # Simple inflections: "delayed", "delaying", "charged" for "delay", "charge".
    for suffix in ("ed", "d", "ing", "er"):
        if token == pattern + suffix:
            return True
    return False


class AspectMatcher:
    """Scores a token list against the aspects; cues can be added (learned) later."""

    _INFLECTIONS = ("", "ed", "d", "ing", "er")

    def __init__(self, names: Sequence[tuple[str, str]], cues: Iterable[Cue]) -> None:
        self.names = list(names)
        self.cues: list[Cue] = []
        # First word of a cue -> cue indexes: exact forms in a dict, prefixes in a list.
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._prefix: list[tuple[str, int]] = []
        self._memo: dict[str, tuple[list[int], list[int]]] = {}
        self._seconds: dict[tuple[int, str], bool] = {}
        for cue in cues:
            self.add(cue)

    def add(self, cue: Cue) -> None:
        self.cues.append(cue)
        index = len(self.cues) - 1
        first = cue.words[0]
        if first.endswith("*"):
            self._prefix.append((first[:-1], index))
        else:
            for suffix in self._INFLECTIONS:
                self._exact[first + suffix].append(index)
        self._memo.clear()

    def _lookup(self, token: str) -> tuple[list[int], list[int]]:
        """(one-word cues matching `token`, two-word cues whose first word matches)."""
        found = self._memo.get(token)
        if found is None:
            hits = list(self._exact.get(token, ()))
            hits += [i for prefix, i in self._prefix if token.startswith(prefix)]
            found = ([i for i in hits if len(self.cues[i].words) == 1],
                     [i for i in hits if len(self.cues[i].words) == 2])
            self._memo[token] = found
        return found

    def _second(self, cue: int, token: str) -> bool:
        key = (cue, token)
        found = self._seconds.get(key)
        if found is None:
            found = self._seconds[key] = word_matches(self.cues[cue].words[1], token)
        return found

    def scores(self, tokens: Sequence[str]) -> dict[int, float]:
        hit: set[int] = set()
        memo, lookup, second = self._memo, self._lookup, self._second
        last = len(tokens) - 1
        for pos, tok in enumerate(tokens):
            found = memo.get(tok) or lookup(tok)
            if found[0]:
                hit.update(found[0])
            if found[1] and pos < last:
                nxt = tokens[pos + 1]
                for i in found[1]:
                    if second(i, nxt):
                        hit.add(i)
        scores: dict[int, float] = defaultdict(float)
        cues = self.cues
        for i in hit:
            scores[cues[i].aspect] += cues[i].weight
        return scores

    def best(self, tokens: Sequence[str], minimum: float = 1.0, *, lo: int = 0,
             hi: int | None = None) -> int | None:
        """The best aspect scoring at least `minimum`, among aspects lo..hi-1."""
        scores = self.scores(tokens)
        if lo or hi is not None:
            scores = {a: v for a, v in scores.items() if lo <= a and (hi is None or a < hi)}
        if not scores:
            return None
        # Highest score; on a tie the earlier (more specific) aspect.
        aspect, score = max(scores.items(), key=lambda kv: (kv[1], -kv[0]))
        return aspect if score >= minimum else None


def lexicon_matcher() -> AspectMatcher:
    names = [(key, name) for key, name, _ in LEXICON]
    cues = [parse_cue(i, cue) for i, (_, _, words) in enumerate(LEXICON) for cue in words]
    return AspectMatcher(names, cues)


def content(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS and len(t) > 2 and not t.isdigit()]


def phrases(tokens: Sequence[str]) -> set[str]:
    """Content words and two-word phrases of content words (adjacent after stopwords)."""
    words = content(tokens)
    out = set(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a != b)
    return out


