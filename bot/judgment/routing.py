"""Which department owns a mention, and why. Driven only by the config.

Each department's `keywords` are stemmed the same way as the post ("refunds" meets
"refunded"); a keyword of several words is a phrase that matches its words in order
with at most one word between each ("lost bag" matches "lost my bag"). Every keyword
found adds its weight to its department's score:
- a phrase weighs more than a single word (it is more specific: "cancellation fee"
  beats "cancel");
- a keyword listed by several departments counts 1/n for each (it tells little).
A department's `examples` add their best TF-IDF cosine similarity to the post, so a
company can teach the router with sample posts instead of ever-longer keyword lists.

The highest score wins. Ties go to the department whose best match is the longer
phrase, then to the one listed first in the config. With no keyword and no similar
example, the mention goes to the default department.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.settings import DepartmentSettings
from bot.text import content_words, stem
from bot.text import stems as text_stems

log = logging.getLogger(__name__)

# Words too common to say anything about a department, dropped from example vectors
# and from inside phrases' gaps (keywords themselves are never filtered).
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been "
    "being am do does did done have has had having i me my mine we us our you your he "
    "she it its they them their this that these those there here what which who whom "
    "when where why how all any both each few more most other some such no nor not only "
    "own same so than too very can will just should now would could get got im i'm it's "
    "dont don't can't cant please thanks thank hi hello hey".split())
# Generic request and filler words: every department's posts use them ("I need help to
# see how I can ..."), so in example similarity they only add noise.
GENERIC_WORDS = frozenset(
    "help need want like know see check tell let make try trying tried go going use "
    "way thing something anything someone anyone one ask asking wanna gonna ya u ur "
    "could would should may might must also really still yet ever even again today "
    "now time day just got get getting give given take took say said told".split())

PHRASE_WORD_BONUS = 0.5  # a phrase of n words weighs 1 + 0.5 * (n - 1)
PHRASE_GAP = 1  # words allowed between a phrase's words
EXAMPLE_WEIGHT = 1.2  # a perfect example match is worth a bit more than one keyword
EXAMPLE_MIN_SIMILARITY = 0.25  # below this an example is not "similar"
TYPO_MIN_LENGTH = 5  # shorter words are too often another real word one edit away
# One changed letter is too often another real word ("changed" vs "charged"): only a
# swapped, missing or extra letter counts as a typo.
TYPO_SUBSTITUTIONS = False
DEFAULT_REASON = "no department keywords matched; default"


@dataclass(frozen=True)
class Route:
    department: str
    reason: str  # one line, e.g. "matched keywords: refund, charged"
    score: float
    scores: Mapping[str, float]
    # Department -> the keywords of it that matched (config text), for learners that
    # weigh each keyword by how often it was right.
    matched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Keyword:
    text: str  # as written in the config, for the reason line
    stems: tuple[str, ...]
    weight: float


def _phrase_in(seq: Sequence[str], phrase: tuple[str, ...], positions: Mapping[str, list[int]]
               ) -> bool:
    """Does `phrase` occur in `seq` in order, with at most PHRASE_GAP words between?"""
    for start in positions.get(phrase[0], ()):
        pos, ok = start, True
        for word in phrase[1:]:
            window = seq[pos + 1: pos + 2 + PHRASE_GAP]
            if word not in window:
                ok = False
                break
            pos = pos + 1 + window.index(word)
        if ok:
            return True
    return False


class _ExampleIndex:
    """TF-IDF vectors (stemmed unigrams and bigrams) of every department's examples."""

    def __init__(self, examples: Mapping[str, Sequence[str]]) -> None:
        docs = [(dep, self._terms(text)) for dep, texts in examples.items() for text in texts]
        df: Counter[str] = Counter()
        for _, terms in docs:
            df.update(set(terms))
        n = max(len(docs), 1)
        self._idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        self._docs = [(dep, self._vector(terms)) for dep, terms in docs]
        # Inverted index: term -> (example number, weight), so a post meets only the
        # examples it shares a term with.
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for i, (_, vec) in enumerate(self._docs):
            for term, weight in vec.items():
                self._postings.setdefault(term, []).append((i, weight))

    @staticmethod
    def _terms(text: str) -> list[str]:
        return bigrams([stem(w) for w in content_words(text) if is_term(w)])

    def _vector(self, terms: Iterable[str]) -> dict[str, float]:
        idf = self._idf
        tf: dict[str, int] = {}  # counts in first-seen order, as Counter keeps them
        for t in terms:
            if t in idf:
                tf[t] = tf.get(t, 0) + 1
        vec = {t: (1 + math.log(c)) * idf[t] for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def best(self, text: str, terms: list[str] | None = None) -> dict[str, float]:
        """Department -> best cosine similarity of the post to one of its examples.
        `terms`: the post's `_terms` when the caller has them already."""
        if not self._docs:
            return {}
        dots: dict[int, float] = {}
        postings = self._postings
        for term, weight in self._vector(self._terms(text) if terms is None else terms).items():
            for i, doc_weight in postings.get(term, ()):
                dots[i] = dots.get(i, 0.0) + weight * doc_weight
        out: dict[str, float] = {}
        for i, sim in dots.items():
            dep = self._docs[i][0]
            if sim > out.get(dep, 0.0):
                out[dep] = sim
        return out


def is_term(word: str) -> bool:
    """Does an example vector keep this (lower-cased) word?"""
    return word not in STOPWORDS and word not in GENERIC_WORDS


def bigrams(stems: list[str]) -> list[str]:
    """Stems and their neighbouring pairs: the terms of an example vector."""
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one inserted or deleted letter, one swap of two
    neighbouring letters, or (if TYPO_SUBSTITUTIONS) one changed letter."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return TYPO_SUBSTITUTIONS
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


class _Spelling:
    """Maps a misspelt post word to the one keyword word it is a typo of ("refnud",
    "refundd" -> "refund"). Only words of TYPO_MIN_LENGTH or more letters that the config does not
    know are corrected, and only when exactly one keyword word is one edit away."""

    def __init__(self, vocabulary: Iterable[str], known: Iterable[str]) -> None:
        self._known = set(known) | set(vocabulary)
        self._index: dict[str, set[str]] = {}
        # A word more than one letter longer than every keyword word cannot be a typo of
        # one: checking it would build len(word) deletions of len(word) letters each
        # (a 40,000-letter word: 1.5 GB). Such words are passed through at no cost.
        self._longest = max((len(w) for w in vocabulary), default=0)
        for word in vocabulary:
            if len(word) >= TYPO_MIN_LENGTH and word.isalpha():
                self._index.setdefault(word, set()).add(word)
                for variant in _deletes(word):
                    self._index.setdefault(variant, set()).add(word)
        self._cache: dict[str, str] = {}

    def fix(self, word: str) -> str:
        if (len(word) < TYPO_MIN_LENGTH or len(word) > self._longest + 1
                or word in self._known or not word.isalpha()):
            return word
        fixed = self._cache.get(word)
        if fixed is None:
            candidates: set[str] = set()
            for variant in _deletes(word) | {word}:
                candidates |= self._index.get(variant, set())
            close = [c for c in candidates if _one_edit(word, c)]
            fixed = close[0] if len(close) == 1 else word
            if len(self._cache) < 100_000:
                self._cache[word] = fixed
        return fixed


class Router:
    """Routes a post's text to a department name, with a one-line reason."""

    def __init__(self, departments: Mapping[str, DepartmentSettings]) -> None:
        if not departments:
            raise ValueError("at least one department is needed")
        self._order = list(departments)
        defaults = [d.name for d in departments.values() if d.default]
        self.default = defaults[0] if defaults else self._order[0]
        owners: dict[tuple[str, ...], set[str]] = {}
        parsed: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for dep in departments.values():
            seen: set[tuple[str, ...]] = set()
            parsed[dep.name] = []
            for kw in dep.keywords:
                stems = tuple(text_stems(kw))
                if stems and stems not in seen:
                    seen.add(stems)
                    parsed[dep.name].append((kw.strip().strip('"'), stems))
                    owners.setdefault(stems, set()).add(dep.name)
        self._keywords: dict[str, list[_Keyword]] = {
            name: [_Keyword(text, stems, (1 + PHRASE_WORD_BONUS * (len(stems) - 1))
                            / len(owners[stems])) for text, stems in kws]
            for name, kws in parsed.items()}
        # Each keyword's place in its department's list (by identity: list.index would
        # compare the dataclasses field by field, on every post).
        self._rank = {id(kw): i for kws in self._keywords.values() for i, kw in enumerate(kws)}
        # Keywords by their first word, so a post only looks at keywords it could match.
        self._by_first: dict[str, list[tuple[str, _Keyword]]] = {}
        for name, keywords in self._keywords.items():
            for kw in keywords:
                self._by_first.setdefault(kw.stems[0], []).append((name, kw))
        self._examples = _ExampleIndex({d.name: d.examples for d in departments.values()})
        vocabulary = {w for kws in parsed.values() for _, stems in kws for w in stems}
        known = {stem(w) for w in STOPWORDS | GENERIC_WORDS}
        known |= {w for d in departments.values() for text in d.examples for w in text_stems(text)}
        self._spelling = _Spelling(vocabulary, known) if TYPO_MIN_LENGTH else None
        self._words: dict[str, tuple[str, str | None]] = {}  # see _read

    def _read(self, words: Iterable[str]) -> tuple[list[str], list[str]]:
        """The post's stems (typos fixed) for keywords, and its terms for examples:
        both from one pass over its words, each word's pair worked out once."""
        seq: list[str] = []
        kept: list[str] = []  # stems of the words examples look at (see _terms)
        cache = self._words
        for w in words:
            pair = cache.get(w)
            if pair is None:
                s = stem(w)
                pair = (self._spelling.fix(s) if self._spelling else s,
                        s if is_term(w) else None)
                if len(cache) < 100_000:
                    cache[w] = pair
            seq.append(pair[0])
            if pair[1] is not None:
                kept.append(pair[1])
        return seq, bigrams(kept)

    def route(self, text: str, words: Sequence[str] | None = None) -> Route:
        """`words`: the post's `content_words` when the caller has them already."""
        seq, terms = self._read(content_words(text) if words is None else words)
        positions: dict[str, list[int]] = {}
        for i, s in enumerate(seq):
            positions.setdefault(s, []).append(i)
        scores: dict[str, float] = {}
        matched: dict[str, list[_Keyword]] = {}
        for first in positions:
            for dep, kw in self._by_first.get(first, ()):
                if len(kw.stems) == 1 or _phrase_in(seq, kw.stems, positions):
                    matched.setdefault(dep, []).append(kw)
        for dep, hits in matched.items():
            # Config order in the reason line, whatever order the post's words came in.
            hits.sort(key=lambda kw: self._rank[id(kw)])
            scores[dep] = sum(kw.weight for kw in hits)
        similar = {dep: sim for dep, sim in self._examples.best(text, terms).items()
                   if sim >= EXAMPLE_MIN_SIMILARITY}
        for dep, sim in similar.items():
            scores[dep] = scores.get(dep, 0.0) + EXAMPLE_WEIGHT * sim
        if not scores:
            return Route(self.default, DEFAULT_REASON, 0.0, {})

        def rank(dep: str) -> tuple[float, int, int]:
            longest = max((len(kw.stems) for kw in matched.get(dep, ())), default=0)
            return (round(scores[dep], 6), longest, -self._order.index(dep))

        best = max(scores, key=rank)
        parts = []
        if best in matched:
            parts.append("matched keywords: " + ", ".join(kw.text for kw in matched[best]))
        if best in similar:
            parts.append(f"similar to {best} examples ({similar[best]:.2f})")
        hit_texts = {dep: tuple(kw.text for kw in hits) for dep, hits in matched.items()}
        return Route(best, "; ".join(parts), scores[best], scores, hit_texts)
