"""Complaint themes: what the day's complaints are about, each named as a person would.

Clustering word vectors groups posts by how they are worded, not by what went wrong
(purity about 0.50 on the shared airline tweets). Instead each complaint is matched
against complaint *aspects*:

1. a small, general lexicon of things customers complain about (delays, cancellations,
   lost bags, refunds, hold times, rude staff, billing, website errors, deliveries, ...),
   each aspect a handful of cue words and two-word phrases;
2. what the day's complaints themselves say: words and two-word phrases frequent among
   complaints and rarer in the background (the day's other posts) join, as weak cues,
   the aspect most of their posts already belong to ("tarmac", "connection");
3. a word model (naive Bayes) trained on the complaints the cues explain places a post
   without any cue when its words clearly point to one aspect, and at least one of them
   is tied to it by the day's data;
4. a distinctive phrase that mostly occurs in posts nothing explains becomes a new
   theme named by the phrase itself ("battery drain"); phrases sharing a specific word
   ("battery dies") merge into it.

Each complaint goes to its best-scoring aspect (ties: the more specific one); a vague
complaint ("you are the worst") stays out of every theme. The brand's own names and every
@handle are removed first, so the method is brand-agnostic. Aspect names are made specific
by the day's words where one kind of thing clearly dominates ("cancellations" ->
"cancelled flights"). Everything here is pure and fast (dictionary lookups per word), and
`ThemeModel.classify` places any other complaint by the same rules, so the summary counts
yesterday's and last week's complaints in the day's themes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.summary.aspects import (
    GENERIC,
    LEXICON,
    NAME_VARIANTS,
    AspectMatcher,
    Cue,
    Tokenizer,
    content,
    lexicon_matcher,
)
from bot.summary.aspects import (
    phrases as phrases_of,
)

VARIANT_SHARE = 0.5

PROPAGATE_CONFIDENCE = 0.5  # posterior needed to join an aspect without a cue word
LEARNED_WEIGHT = 0.5  # a learned word only tips the balance; alone the word model decides
EVIDENCE_MIN = 2  # a word ties a post to an aspect if seen in this many of its posts
EVIDENCE_SHARE = 0.4  # ... and this share of the explained posts using the word
NEW_THEME_LIFT = 3.0  # a new theme's phrase: this many times commoner than background
NEW_THEME_MAX_SHARE = 0.05  # ... and, if one word, in at most this share of complaints

@dataclass(frozen=True)
class Doc:
    """One complaint to place in a theme."""

    id: str
    text: str
    department: str = ""


@dataclass
class Theme:
    key: str  # stable across days for lexicon aspects ("bags"), "phrase:<words>" otherwise
    name: str
    ids: list[str] = field(default_factory=list)
    department: str = ""
    phrase: str = ""  # the most representative phrase seen in its posts

    @property
    def count(self) -> int:
        return len(self.ids)


@dataclass
class ThemeModel:
    """The themes found on one set of complaints, able to place other complaints."""

    tokenizer: Tokenizer
    matcher: AspectMatcher
    themes: list[Theme]  # biggest first
    propagator: _Propagator | None = None
    base: int = len(LEXICON)  # aspects from here on are the day's new phrase themes

    def classify(self, text: str) -> str | None:
        """The theme key for a complaint's text, or None if no theme fits. Placed the
        way the day's own complaints were: cue words, then the word model, then the
        day's new phrases."""
        tokens = self.tokenizer.tokens(text)
        aspect = self.matcher.best(tokens, hi=self.base)
        if aspect is None and self.propagator is not None:
            aspect = self.propagator.best(content(tokens))
        if aspect is None:
            aspect = self.matcher.best(tokens, lo=self.base)
        return None if aspect is None else self.matcher.names[aspect][0]


def find_themes(
    complaints: Sequence[Doc],
    *,
    brand_words: Iterable[str] = (),
    background: Iterable[str] = (),
    min_support: int | None = None,
    max_new: int = 8,
) -> ThemeModel:
    """Find the themes of `complaints` (one day's, typically).

    `background` is text that is *not* complaints (the day's other posts): a phrase is
    distinctive when it is much more common among complaints than there. Themes come
    back biggest first; a complaint no theme explains is left out of every theme.
    """
    # Long because it reads as the four steps of the module docstring, in order; each
    # step is its own function below.
    tokenizer = Tokenizer(brand_words)
    matcher = lexicon_matcher()
    docs = [(d, tokenizer.tokens(d.text)) for d in complaints]
    n = len(docs)
    support = min_support if min_support is not None else max(3, n // 200)

    assigned: list[int | None] = [matcher.best(toks) for _, toks in docs]
    doc_phrases = [phrases_of(toks) for _, toks in docs]
    propagator: _Propagator | None = None

    if n >= 20:
        distinct = _distinctive(doc_phrases, background, tokenizer, support)
        _learn_cues(matcher, distinct, doc_phrases, assigned, support)
        # Everything again with the learned cues, so that any complaint (today's or an
        # earlier day's, via classify) is placed by the same rules.
        assigned = [matcher.best(toks) for _, toks in docs]
        propagator = _Propagator.train(
            [content(toks) for _, toks in docs], assigned, len(matcher.names))
        for i, (_, toks) in enumerate(docs):
            if assigned[i] is None:
                assigned[i] = propagator.best(content(toks))
        _discover_new(matcher, distinct, doc_phrases, assigned, support, max_new)

    groups: dict[int, list[int]] = defaultdict(list)
    for i, aspect in enumerate(assigned):
        if aspect is not None:
            groups[aspect].append(i)
    themes = []
    for aspect, members in groups.items():
        key, name = matcher.names[aspect]
        depts = Counter(docs[i][0].department for i in members if docs[i][0].department)
        token_lists = [docs[i][1] for i in members]
        phrase = _top_phrase(matcher, aspect, token_lists)
        name = _specific_name(key, name, token_lists)
        themes.append(Theme(key=key, name=name, ids=[docs[i][0].id for i in members],
                            department=depts.most_common(1)[0][0] if depts else "",
                            phrase=phrase))
    themes.sort(key=lambda t: (-t.count, t.name))
    return ThemeModel(tokenizer, matcher, themes, propagator, len(LEXICON))


def _distinctive(doc_phrases: list[set[str]], background: Iterable[str],
                 tokenizer: Tokenizer, support: int) -> list[tuple[str, int, float]]:
    """(phrase, posts, lift) of phrases frequent among complaints and rarer in the
    background, most frequent first. Lift is 0 when there is no background to judge by."""
    df: Counter[str] = Counter()
    for phrases in doc_phrases:
        df.update(phrases)
    bg: Counter[str] = Counter()
    n_bg = 0
    for text in background:
        n_bg += 1
        bg.update(phrases_of(tokenizer.tokens(text)))
    n = len(doc_phrases)
    out = []
    for phrase, count in df.items():
        if count < support:
            continue
        lift = 0.0
        if n_bg >= 20:
            lift = (count / n) / ((bg[phrase] + 1) / (n_bg + 2))
            if lift < 1.5:
                continue
        out.append((phrase, count, lift))
    out.sort(key=lambda pc: (-pc[1], pc[0]))
    return out


def _learn_cues(matcher: AspectMatcher, distinct: list[tuple[str, int, float]],
                doc_phrases: list[set[str]], assigned: list[int | None], support: int) -> None:
    """A distinctive phrase whose explained posts mostly sit in one aspect becomes a
    (weak) cue of that aspect, so the posts that only use that phrase join it."""
    index: dict[str, list[int]] = defaultdict(list)
    wanted = {p for p, _, _ in distinct}
    for i, phrases in enumerate(doc_phrases):
        for p in phrases & wanted:
            index[p].append(i)
    known = {" ".join(c.words) for c in matcher.cues}
    for phrase, _, _ in distinct:
        if phrase in known:
            continue
        aspects = Counter(assigned[i] for i in index[phrase] if assigned[i] is not None)
        if not aspects:
            continue
        aspect, count = aspects.most_common(1)[0]
        explained = sum(aspects.values())
        if count >= support and count / explained >= 0.6:
            matcher.add(Cue(aspect, tuple(phrase.split()), LEARNED_WEIGHT))


class _Propagator:
    """Naive Bayes over words, trained on the posts the aspects already explain: a post
    without any cue joins the aspect its other words point to, when they clearly do.
    This carries the day's own vocabulary ("tarmac", a flight number, a product name)
    to the aspects without anyone listing it."""

    def __init__(self, log_prior: list[float | None], log_prob: list[dict[str, float]],
                 log_unseen: list[float], confidence: float,
                 evidence: dict[str, int]) -> None:
        self.log_prior, self.log_prob, self.log_unseen = log_prior, log_prob, log_unseen
        self.confidence = confidence
        # word -> the aspect it is evidence for (EVIDENCE_MIN, EVIDENCE_SHARE)
        self.evidence = evidence

    @classmethod
    def train(cls, token_lists: list[list[str]], assigned: list[int | None], aspects: int,
              confidence: float = PROPAGATE_CONFIDENCE, alpha: float = 0.5) -> _Propagator:
        counts: list[Counter[str]] = [Counter() for _ in range(aspects)]
        docs = [0] * aspects
        vocab: set[str] = set()
        for toks, aspect in zip(token_lists, assigned, strict=True):
            if aspect is None:
                continue
            words = set(toks)
            counts[aspect].update(words)
            docs[aspect] += 1
            vocab.update(words)
        total = sum(docs) or 1
        size = len(vocab) + 1
        log_prior: list[float | None] = []
        log_prob: list[dict[str, float]] = []
        log_unseen: list[float] = []
        for a in range(aspects):
            mass = sum(counts[a].values()) + alpha * size
            log_prior.append(math.log(docs[a] / total) if docs[a] else None)
            log_prob.append({w: math.log((c + alpha) / mass) for w, c in counts[a].items()})
            log_unseen.append(math.log(alpha / mass))
        evidence = {}
        for word in vocab:
            per = [(counts[a][word], a) for a in range(aspects) if counts[a][word]]
            count, aspect = max(per)
            if count >= EVIDENCE_MIN and count >= EVIDENCE_SHARE * sum(c for c, _ in per):
                evidence[word] = aspect
        return cls(log_prior, log_prob, log_unseen, confidence, evidence)

    def best(self, tokens: Sequence[str]) -> int | None:
        words = set(tokens)
        if not words or not self.log_prior:
            return None
        scores = []
        for a, prior in enumerate(self.log_prior):
            if prior is None:  # no posts to learn from: not a candidate
                scores.append(-math.inf)
                continue
            probs, unseen = self.log_prob[a], self.log_unseen[a]
            scores.append(prior + sum(probs.get(w, unseen) for w in words))
        top = max(scores)
        if top == -math.inf:
            return None
        total = sum(math.exp(x - top) for x in scores)
        best = scores.index(top)
        # A post whose words say nothing stays unthemed: it needs a confident posterior
        # and at least one word that the explained posts tie to that aspect.
        if 1.0 / total < self.confidence:
            return None
        return best if any(self.evidence.get(w) == best for w in words) else None


def _discover_new(matcher: AspectMatcher, distinct: list[tuple[str, int, float]],
                  doc_phrases: list[set[str]], assigned: list[int | None], support: int,
                  max_new: int) -> None:
    """Greedy: the phrase covering most unexplained posts becomes a theme, repeat.

    Only specific phrases qualify: clearly more common among complaints than in the
    background (when there is one) and, for a single word, not one that a large share
    of all complaints use (that is the domain's vocabulary, "flight" or "order", not a
    complaint)."""
    # Long because the greedy loop keeps its running state (open posts, words already
    # used by a new theme) in locals; split, it would pass six values around.
    open_docs = {i for i, a in enumerate(assigned) if a is None}
    n = len(doc_phrases)
    lifts = {p: lift for p, _, lift in distinct}
    made: dict[int, set[str]] = {}  # new aspect -> its words
    candidates = [p for p, count, lift in distinct
                  if (lift == 0.0 or lift >= NEW_THEME_LIFT)
                  and (" " in p or count <= NEW_THEME_MAX_SHARE * n)
                  and not set(p.split()) <= GENERIC]
    for _ in range(max_new):
        cover: Counter[str] = Counter()
        for i in open_docs:
            for p in doc_phrases[i]:
                cover[p] += 1
        # Most posts covered; among equals the phrase whose words are most distinctive
        # ("battery drain" over "model unbearable" when "model" is common anyway).
        best = max((p for p in candidates if cover[p] >= max(support, 2)),
                   key=lambda p: (cover[p], sum(lifts.get(w, 0.0) for w in p.split()),
                                  len(p.split()), p), default=None)
        if best is None:
            break
        # Prefer the two-word phrase that most of its posts share, as the name.
        pairs = Counter(q for i in open_docs if best in doc_phrases[i]
                        for q in doc_phrases[i] if " " in q and best in q.split())
        name = best
        if pairs:
            pair, count = pairs.most_common(1)[0]
            if count >= 0.5 * cover[best]:
                name = pair
        # Near-identical to a phrase theme found already ("battery dies" after "battery
        # drain": a shared word that is not generic): merge into it, not a new theme.
        words = set(best.split()) - GENERIC
        aspect = next((a for a, w in made.items() if w & words), None)
        if aspect is None:
            aspect = len(matcher.names)
            matcher.names.append((f"phrase:{name}", name))
            made[aspect] = set(name.split()) | words
        else:
            made[aspect] |= words
        matcher.add(Cue(aspect, tuple(best.split()), 2.0))
        for i in list(open_docs):
            if best in doc_phrases[i]:
                assigned[i] = aspect
                open_docs.discard(i)
        candidates.remove(best)


def _specific_name(key: str, name: str, token_lists: list[list[str]]) -> str:
    """The aspect's name made specific when its posts are clearly about one kind of
    thing: "cancellations" becomes "cancelled flights" on an airline's day."""
    variants = NAME_VARIANTS.get(key)
    if not variants or not token_lists:
        return name
    counts = Counter(w for toks in token_lists for w in set(toks))
    scored = sorted(((sum(counts[w] for w in words), specific) for words, specific in variants),
                    reverse=True)
    (top, specific), runner_up = scored[0], (scored[1][0] if len(scored) > 1 else 0)
    # Only when one kind clearly dominates: a mixed theme keeps the general name.
    if top >= VARIANT_SHARE * len(token_lists) and top >= 2 * runner_up:
        return specific
    return name


def _top_phrase(matcher: AspectMatcher, aspect: int, token_lists: list[list[str]]) -> str:
    counts: Counter[str] = Counter()
    for toks in token_lists:
        counts.update(phrases_of(toks))
    own = [" ".join(c.words) for c in matcher.cues if c.aspect == aspect]
    for phrase, _ in counts.most_common(50):
        if any(o.rstrip("*") in phrase for o in own):
            return phrase
    return counts.most_common(1)[0][0] if counts else ""
