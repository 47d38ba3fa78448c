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

import html
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# --- the general complaint-aspect lexicon --------------------------------------------
# A cue is one word or two consecutive words. A word ending in "*" matches by prefix
# ("cancel*" = cancelled, cancellation); otherwise plurals and simple inflections
# match ("bag" = bags). A leading "!" doubles the cue's weight (it names the aspect
# by itself); a leading "~" halves it (it only helps another cue).
# The order is the tie-break: more specific aspects come first.
LEXICON: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("damaged", "damaged items", (
        "!damag*", "!ripped", "!torn", "!dented", "!smashed", "destroyed", "~broken",
        "~bag", "~luggage", "~suitcase", "~package", "~box")),
    ("bags", "lost or delayed bags", (
        "!bag", "!baggage", "!luggage", "!suitcase", "~lost", "~missing", "carousel",
        "~claim", "~delivered", "checked bag", "bag fee")),
    ("delivery", "lost or late deliveries", (
        "!package", "!parcel", "!shipment", "!delivery", "deliver*", "shipping",
        "tracking", "courier", "~lost", "~missing", "~arrive*", "~order")),
    ("cancelled", "cancellations", (
        "!cancel*", "cancelation", "~rebook*", "~reschedul*", "~stranded")),
    ("refund", "refund not received", (
        "!refund*", "!reimburs*", "money back", "!chargeback", "compensat*",
        "~voucher", "~credit")),
    ("billing", "unexpected charges and fees", (
        "!overcharg*", "charged", "!charge", "!fee", "!billing", "!bill", "!invoice",
        "double charged", "~paid", "~pay", "~price", "~expensive", "~money")),
    ("delay", "delays and late arrivals", (
        "!delay*", "!late", "!later", "tarmac", "~hour", "~hrs", "~waiting", "~wait",
        "~still", "on time", "~sitting", "~stuck", "~gate", "~connection", "~missed",
        "~connecting")),
    ("hold", "long waits on hold", (
        "!hold", "on hold", "hung up", "hang up", "call back", "callback",
        "busy signal", "~phone", "~call*", "get through", "~minute", "~answer",
        "~reach", "~line")),
    ("no_reply", "no reply to messages", (
        "!respon*", "!reply", "!replied", "~email*", "~dm", "~message", "ignor*",
        "~contact*", "~hear back", "~heard")),
    ("staff", "rude or unhelpful staff", (
        "!rude", "!attitude", "unprofessional", "!attendant", "crew", "staff",
        "employee", "~pilot", "~gate agent", "~treated", "~yell*")),
    ("service", "poor customer service", (
        "customer service", "!service", "~agent", "~rep", "~representative",
        "~supervisor", "~manager", "~help", "~helpful", "~unhelpful", "~worst",
        "~customer")),
    ("booking", "booking and reservation problems", (
        "!book*", "!reservation", "itinerary", "~ticket", "confirmation", "~reserv*",
        "~change", "~upgrade", "~seat assignment", "~name")),
    ("website", "website or app not working", (
        "!website", "!app", "!site", "online", "~error", "~crash*", "~glitch", "~page",
        "~check in", "~link")),
    ("account", "account and login problems", (
        "!login", "log in", "sign in", "!password", "!account", "sign up", "!username",
        "registration", "~register*", "~profile", "~locked", "~verification")),
    ("lines", "long lines and queues", (
        "!queue", "!lines", "long line", "~security", "~counter", "~desk",
        "~check in", "~checkin")),
    ("seats", "seats and comfort", (
        "!seat*", "legroom", "leg room", "~comfort*", "~uncomfortable", "~dirty",
        "~cramped", "~cold", "~hot", "~smell*")),
    ("food", "food and drinks", (
        "!food", "!meal", "snack", "drink*", "coffee", "~water", "beverage")),
    ("wifi", "wifi and entertainment", (
        "!wifi", "wi fi", "!internet", "entertainment", "~tv", "~movie", "~screen")),
    ("product", "product not working", (
        "!defect*", "stopped working", "not working", "doesn't work", "~broken",
        "~bug", "~outage", "~down")),
)

# Names made specific by the posts' own words: (words, name), chosen when its
# words occur in at least VARIANT_SHARE of the theme's posts and twice as often as the
# next variant's.
NAME_VARIANTS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "cancelled": ((("flight",), "cancelled flights"),
                  (("order",), "cancelled orders"),
                  (("subscription", "plan", "account"), "cancelled subscriptions"),
                  (("booking", "reservation", "trip"), "cancelled bookings")),
    "delay": ((("flight", "plane", "gate"), "delayed flights"),
              (("train", "bus"), "delays and late trains"),
              (("order", "package", "delivery"), "late deliveries")),
    "damaged": ((("bag", "luggage", "suitcase", "baggage"), "damaged bags"),
                (("package", "box", "parcel", "order"), "damaged packages")),
}
VARIANT_SHARE = 0.5

PROPAGATE_CONFIDENCE = 0.5  # posterior needed to join an aspect without a cue word
LEARNED_WEIGHT = 0.5  # a learned word only tips the balance; alone the word model decides
EVIDENCE_MIN = 2  # a word ties a post to an aspect if seen in this many of its posts
EVIDENCE_SHARE = 0.4  # ... and this share of the explained posts using the word
NEW_THEME_LIFT = 3.0  # a new theme's phrase: this many times commoner than background
NEW_THEME_MAX_SHARE = 0.05  # ... and, if one word, in at most this share of complaints

_STOPWORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do
does doesn't doing don't down during each few for from further had hadn't has hasn't
have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
mustn't my myself no nor not of off on once only or other ought our ours ourselves out
over own same shan't she she'd she'll she's should shouldn't so some such than that
that's the their theirs them themselves then there there's these they they'd they'll
they're they've this those through to too under until up very was wasn't we we'd we'll
we're we've were weren't what what's when when's where where's which while who who's
whom why why's with won't would wouldn't you you'd you'll you're you've your yours
yourself yourselves just get got now will also still one even really like u im ur dont
amp rt http https co via yes ok okay oh well us need want know going go back today
thanks thank please hi hey lol guys
""".split())

# Words of pure frustration or time: they say how a customer feels, not about what, so
# they never name a new theme (they still help the word model place posts).
_GENERIC = frozenset("""
never ever worst terrible horrible awful bad sucks suck cant wont didnt isnt fail fails
time times day days hour hours minute minutes week today tonight tomorrow yesterday
people thing things way lot much many every again last first next new good great
damn goddamn bloody fucking fuck fuckin shit crap hell wtf stupid ridiculous
complaint complain problem problems issue issues help
""".split())

_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"(?<![\w@])@\w[\w.-]*")
_WORD = re.compile(r"[a-z][a-z0-9']*")
# URLs and @handles in one pass: neither says what a complaint is about.
_NOISE = re.compile(_URL.pattern + "|" + _HANDLE.pattern, re.I)


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
class _Cue:
    aspect: int
    words: tuple[str, ...]
    weight: float


def _parse_cue(aspect: int, cue: str) -> _Cue:
    weight = 1.0
    if cue.startswith("!"):
        weight, cue = 2.0, cue[1:]
    elif cue.startswith("~"):
        weight, cue = 0.5, cue[1:]
    return _Cue(aspect, tuple(_norm(w) if not w.endswith("*") else w
                              for w in cue.lower().split()), weight)


def _word_matches(pattern: str, token: str) -> bool:
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

    def __init__(self, names: Sequence[tuple[str, str]], cues: Iterable[_Cue]) -> None:
        self.names = list(names)
        self.cues: list[_Cue] = []
        # First word of a cue -> cue indexes: exact forms in a dict, prefixes in a list.
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._prefix: list[tuple[str, int]] = []
        self._memo: dict[str, tuple[list[int], list[int]]] = {}
        self._seconds: dict[tuple[int, str], bool] = {}
        for cue in cues:
            self.add(cue)

    def add(self, cue: _Cue) -> None:
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
            found = self._seconds[key] = _word_matches(self.cues[cue].words[1], token)
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


def _lexicon_matcher() -> AspectMatcher:
    names = [(key, name) for key, name, _ in LEXICON]
    cues = [_parse_cue(i, cue) for i, (_, _, words) in enumerate(LEXICON) for cue in words]
    return AspectMatcher(names, cues)


def _content(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS and len(t) > 2 and not t.isdigit()]


def _phrases(tokens: Sequence[str]) -> set[str]:
    """Content words and two-word phrases of content words (adjacent after stopwords)."""
    words = _content(tokens)
    out = set(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a != b)
    return out


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
            aspect = self.propagator.best(_content(tokens))
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
    tokenizer = Tokenizer(brand_words)
    matcher = _lexicon_matcher()
    docs = [(d, tokenizer.tokens(d.text)) for d in complaints]
    n = len(docs)
    support = min_support if min_support is not None else max(3, n // 200)

    assigned: list[int | None] = [matcher.best(toks) for _, toks in docs]
    doc_phrases = [_phrases(toks) for _, toks in docs]
    propagator: _Propagator | None = None

    if n >= 20:
        distinct = _distinctive(doc_phrases, background, tokenizer, support)
        _learn_cues(matcher, distinct, doc_phrases, assigned, support)
        # Everything again with the learned cues, so that any complaint (today's or an
        # earlier day's, via classify) is placed by the same rules.
        assigned = [matcher.best(toks) for _, toks in docs]
        propagator = _Propagator.train(
            [_content(toks) for _, toks in docs], assigned, len(matcher.names))
        for i, (_, toks) in enumerate(docs):
            if assigned[i] is None:
                assigned[i] = propagator.best(_content(toks))
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
        bg.update(_phrases(tokenizer.tokens(text)))
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
            matcher.add(_Cue(aspect, tuple(phrase.split()), LEARNED_WEIGHT))


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
        matcher.add(_Cue(aspect, tuple(best.split()), 2.0))
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
        counts.update(_phrases(toks))
    own = [" ".join(c.words) for c in matcher.cues if c.aspect == aspect]
    for phrase, _ in counts.most_common(50):
        if any(o.rstrip("*") in phrase for o in own):
            return phrase
    return counts.most_common(1)[0][0] if counts else ""
