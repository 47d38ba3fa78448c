"""Sentiment and complaint detection: VADER plus what lexicon sentiment misses.

VADER scores emotional words well but reads "flight cancelled, 3 hours on hold" or
"still no refund" as neutral, and "thanks for losing my bag" as positive. We add
domain-general customer-service cues (a service failed, the customer waited, nobody
answered, a frustrated question, sarcasm) and combine them with VADER's compound score
in one additive evidence score. The cue lists are plain customer-service language, not
any one industry's vocabulary, so they carry over to any company's mentions. Before VADER
reads a post, run-together hashtags are spelled out ("#worstairlineever" -> "worst") and
request words and the brand's own name are made neutral.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.text import clean, plain_text

log = logging.getLogger(__name__)


def _rx(*patterns: str) -> re.Pattern[str]:
    # Word-start alternatives share one leading \b: checking it once per position, not
    # once per alternative, makes the big cue lists several times faster.
    words = [p[2:] for p in patterns if p.startswith(r"\b")]
    others = [p for p in patterns if not p.startswith(r"\b")]
    parts = [r"\b(?:" + "|".join(f"(?:{p})" for p in words) + ")"] if words else []
    parts += [f"(?:{p})" for p in others]
    # Matched against lower-cased text: case-insensitive matching is 3-4x slower.
    return re.compile("|".join(parts))


# Each cue: (name shown in the reason, weight, pattern). Weights are evidence in units
# of VADER's compound score: +1 is as much as a clearly negative sentence.
_CUES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    # Something that should have happened did not, or went wrong.
    ("service failure", 0.55, _rx(
        r"\bcancel+(?:ed|led|ing|lation|s)?\b", r"\bdelay(?:ed|s|ing)?\b",
        r"\blate\b", r"\bstuck\b", r"\bstranded\b", r"\bmissed\b", r"\bmissing\b",
        r"\blos(?:t|e|es|ing)\b", r"\bdamaged?\b", r"\bbroken?\b", r"\boverbook",
        r"\bover-?charged?\b",
        r"\bcharged\s+(?:me\s+)?(?:twice|double|again|extra)\b", r"\bdouble[- ]charged?\b",
        r"\bnever\s+(?:arrived|received|got|came|showed|heard|answered|called|responded|"
        r"replied|delivered|refunded|again)\b",
        r"\bdoes(?:n't| not)\s+work", r"\bnot\s+working\b", r"\bdidn't\s+(?:get|receive|"
        r"arrive|work|show)\b", r"\bstopped\s+working\b", r"\b(?:error|glitch|outage)\b",
        r"\b(?:is|was|are|site|app|website|system|systems|still)\s+down\b",
        r"\bhas(?:n't| not)\s+(?:arrived|come|been\s+(?:fixed|delivered|refunded|resolved))",
        r"\bhaven't\s+(?:been\s+able|heard|received|gotten|got)\b",
        r"\bwrong\b", r"\bdenied\b", r"\brefused\b", r"\bdiverted\b", r"\bfailed\b",
        r"\bfail\b", r"\bbumped\b", r"\bmissed\s+(?:my\s+)?connect",
        # Hung up on, shut out, let down: the service refused or dropped the customer.
        r"\bh(?:ung|ang|angs|anging)\s+up\b", r"\bdisconnected\b",
        r"\b(?:not|never|won't|doesn't|didn't|wouldn't)\s+(?:allow|allowing|let|letting)\b",
        r"\btook\s+away\b", r"\bdowngraded\b", r"\bripped\s+off\b", r"\bscam\b",
        r"\blied\b", r"\bmis(?:led|lead|leading|guided|informed)\b", r"\bscrewed\b",
        # An expectation that was not met.
        r"\bsupposed\s+to\b", r"\btried\s+(?:that|this|it|everything|again|twice)\b",
        r"\b(?:hasn't|haven't|has\s+not|have\s+not)\s+(?:been|yet)\b",
        r"\bshould\s+(?:have|'ve|of)\s+been\b", r"\bgave\s+up\b")),
    # The customer had to wait, or still waits.
    ("waiting", 0.45, _rx(
        r"\bon\s+hold\b", r"\bhold\s+(?:times?|for)\b", r"\bstill\s+(?:no|not|waiting|"
        r"nothing|haven't|hasn't|don't|doesn't|can't|cannot|stuck|on|sitting|pending|"
        r"says|showing|shows|here|there|at|in|have\s+(?:no|not))\b",
        r"\bwait(?:ed|ing)?\s+(?:for\s+)?(?:over\s+|almost\s+|nearly\s+)?(?:\d+|an?|two|"
        r"three|four|five|several)\s+(?:min|minutes|mins|hours?|hrs?|days?|weeks?)\b",
        r"\b\d+\+?\s*(?:hours?|hrs?|days?|weeks?|min|mins|minutes?)\b",
        r"\b(?:two|three|four|five|six|several|few|many)\s+(?:hours|days|weeks)\b",
        r"\b(?:a\s+full|an\s+entire|the\s+whole)\s+(?:hour|day|night|week)\b",
        r"\b(?:hours|days|weeks)\s+ago\b",
        r"\b(?:zero|no)\s+(?:response|reply|replies|answer|help|apology|explanation|"
        r"communication|notice|notification|assistance|compensation|follow[- ]?up)\b",
        r"\bnothing\s+(?:\w+\s+)?(?:can|could)\s+(?:be\s+)?do(?:ne)?\b",
        r"\bfor\s+(?:hours|days|weeks|ages)\b",
        r"\b(?:been|still|are|am|were|we're|i'm|keep|kept)\s+(?:just\s+)?(?:sitting|waiting)\b",
        r"\b(?:been|keep|kept)\s+trying\b", r"\btried\s+(?:to\s+)?(?:call|calling|reach|"
        r"contact|get|talk|speak|email|book|change)",
        r"\b(?:an|over\s+an|half\s+an)\s+hour\b", r"\bhours?\s+(?:on|of|later|"
        r"waiting|in line)\b", r"\bno\s+(?:one|response|"
        r"reply|answer|help|update|updates|info|information|call|callback|email|refund|"
        r"word|way)\b", r"\bnobody\b",
        r"\b(?:can't|cannot|can\s+not|couldn't|unable\s+to)\s+(?!wait\b)\w+",
        r"\bwon't\s+(?:let|refund|"
        r"answer|respond|help|give|even)\b", r"\byet\s+to\b")),
    # Frustrated questions and exasperation.
    ("frustration", 0.40, _rx(
        r"\bwhy\b[^.!?]*\?",
        r"\bwhy\s+(?:is|are|do|does|did|can't|won't|would|isn't|aren't|hasn't|haven't|"
        r"didn't|don't|doesn't|was|were|the|my|no|not)\b", r"\bhow\s+(?:come|hard|long|"
        r"many\s+(?:times|hours|days))\b", r"\bwhat(?:'s|\s+is)\s+(?:going\s+on|the\s+"
        r"(?:deal|point|holdup|problem))\b", r"\bwhat\s+happened\b",
        r"\bwhere(?:'s|\s+is|\s+are|\s+was)\s+(?:my|our|your)\b",
        r"\b(?:does|do|is)\s+(?:anyone|anybody)\s+(?:actually|even|ever)\b",
        r"\bseriously\b", r"\bugh+\b", r"\bwtf\b",
        r"\bsmh\b", r"\bcome\s+on\b", r"\bget\s+it\s+together\b", r"\bfix\s+(?:this|it)\b",
        r"\bunacceptable\b", r"\bridiculous\b", r"\bjoke\b", r"\bcomplain", r"\bdisappoint",
        r"\bfrustrat", r"\bannoy", r"\bworst\b", r"\bnever\s+(?:again|fly|flying|use|"
        r"using|buy|buying|shop|order)\b", r"\bterrible\b", r"\bhorrible\b", r"\bawful\b",
        r"\bpathetic\b", r"\bdespicable\b", r"\babsurd\b", r"\bshoddy\b",
        r"\bsub-?par\b", r"\binexcusable\b", r"\bunhelpful\b", r"\bdisgrace",
        r"\bmediocre\b", r"\bfilthy\b", r"\bfed\s+up\b", r"\bsick\s+of\b", r"\btired\s+of\b",
        r"\bnot\s+(?:happy|ok|okay|acceptable|good|great|helpful|impressed|cool|fair)\b",
        r"\bpoor\b", r"\brude\b", r"\bincompetent\b", r"\buseless\b", r"\bhorrendous\b",
        r"#\w*fail\b", r"\bfiasco\b", r"\bmess\b", r"\bnightmare\b", r"\bhassle\b",
        r"\bwaste\b", r"\bwasted\b", r"\bwhat\s+gives\b",
        r"\b(?:are\s+you|you're|you\s+are)\s+(?:kidding|serious|joking)\b",
        r"\bkidding\s+me\b", r"\bis\s+this\s+(?:real|a\s+joke|normal|how)\b",
        r"\breally\s*\?", r"\bno\s+excuse\b", r"\bshame\b", r"#not\w+",
        r"\bdo\s+better\b", r"\bact\s+together\b", r"\bstep\s+up\b",
        r"\bhow\s+(?:can|could|dare)\s+(?:you|they|anyone|a\s+company)\b",
        r"\bwould\s+(?:have\s+been|be)\s+nice\b",
        "[\U0001F44E\U0001F620\U0001F621\U0001F624\U0001F92C\U0001F612\U0001F644"
        "\U0001F61E\U0001F629\U0001F62B\U0001F622\U0001F62D\U0001F4A9\U0001F611"
        "\U0001F926\U0001F623\U0001F616\U0001F61F\u2639\U0001F641\U0001F615]")),
    # Money or account trouble stated as fact.
    ("money/account trouble", 0.35, _rx(
        r"\brefund\b", r"\bcharged\b", r"\bfee\b", r"\bfees\b", r"\bcompensat",
        r"\breimburs", r"\bvoucher\b", r"\blocked\s+out\b", r"\bhacked\b",
        r"\bcan't\s+(?:log|sign)\s+in\b")),
)
# Marked sarcasm or irony: the post says it means the opposite of its praise words.
_IRONY_RE = _rx(r"#sarcas", r"\bthanks?\s+for\s+nothing\b",
                r"\bthank\s+you\s+for\s+nothing\b", r"\(\s*not\s*\)",
                r"\bsaid\s+no\s+one\b", r"\byeah\s+right\b")
# Weak cues: common in complaints but also in everyday talk ("still", "not"), so they
# only add to other evidence (a strong cue, or VADER already negative), never alone.
_WEAK_CUES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("insistence", 0.25, _rx(r"\bstill\b", r"\bagain\b", r"\bforever\b",
                              r"\bwaiting\b", r"\bany\s+(?:update|news|word)\b",
                              r"\?\s*\?", r"\?!|!\?")),
    # An account of what the company's people said or did: the story of a complaint.
    ("service encounter", 0.30, _rx(
        r"\b(?:was|were|been|got|being|am|are|get)\s+told\b",
        r"\btold\s+(?:me|us|my|him|her)\b",
        r"\b(?:agent|rep|representative|staff|supervisor|manager|attendant|employee|clerk|"
        r"they|she|he)\s+(?:said|says|told|claimed|insisted)\b",
        r"\b(?:not|didn't|don't|doesn't|won't|can't|couldn't|wasn't|weren't|never)\s+even\b",
        r"\b(?:i|we|i've|we've|i\s+have|we\s+have|i\s+had|we\s+had)\s+already\b")),
    ("negation", 0.12, _rx(r"\b(?:not|no|never|nothing|none|cannot)\b", r"n't\b")),
)

# Positive phrases that, next to a failure, are sarcastic rather than praise.
_SARCASM_RE = _rx(
    r"\bthanks?\s+(?:a\s+lot|for\s+nothing|again)\b", r"\bthank\s+you\s+for\s+nothing\b",
    r"\bso\s+much\s+for\b", r"\byeah\s+right\b", r"\boh\s+(?:great|good|joy|wonderful)\b",
    r"\bjust\s+(?:great|perfect|wonderful|lovely|fantastic)\b",
    r"\b(?:love|loving)\s+(?:how|that|when|the\s+fact)\b", r"\bgreat\s+job\b",
    r"\bnice\s+(?:job|work|one)\b", r"\bway\s+to\s+go\b", r"\bwhat\s+a\s+(?:great|"
    r"wonderful|fantastic)\b", r"\bgood\s+job\b", r"\bbravo\b", r"\bclassy\b")
# Clear praise or thanks: a post with these and no failure is not a complaint.
_PRAISE_RE = _rx(
    r"\bthanks?\b", r"\bthank\s+you\b", r"\bthx\b", r"\bty\b", r"\blove\b",
    r"\bappreciate", r"\bawesome\b", r"\bgreat\b", r"\bamazing\b", r"\bexcellent\b",
    r"\bbest\b", r"\bkudos\b", r"\bshout\s*out\b", r"\bthe\s+best\b")

# Words VADER scores as positive that, in posts to a company, are request language, not
# feeling: "please help", "customer care", "travel credit", "I'd like to".
NEUTRAL_WORDS = ("help", "please", "like", "care", "credit", "want", "number",
                 "loyal", "loyalty", "reward", "rewards", "award", "original", "chance")

# The decision line: compound*VADER_WEIGHT minus the cue evidence; below it = complaint.
VADER_WEIGHT = 1.0
THRESHOLD = 0.05
# A failure cue next to a sarcasm marker: VADER's positive score is discounted to this.
SARCASM_DISCOUNT = 0.2
# A post that marks itself as ironic: as much evidence as a strong cue.
IRONY_WEIGHT = 0.5


# Hashtags of 5+ characters, their words run together ("#worstflightever").
_HASHTAG_RE = re.compile(r"#(\w{5,})")
_CAMEL_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_TAG_NEGATION_RE = re.compile(r"(?:not|no|never|dont|cant|wont)(?=[a-z]{4})")


@dataclass(frozen=True)
class SentimentResult:
    score: float  # -1..1: VADER's compound, pulled down by complaint evidence
    compound: float  # VADER alone (request words neutral, hashtags spelled out)
    complaint: bool
    cues: tuple[str, ...]  # names of the cues that fired, in order of weight
    margin: float = 0.0  # the decision value: below -threshold is a complaint


class ComplaintDetector:
    """Scores a post's sentiment and decides whether it is a complaint.

    Build once (VADER loads its lexicon at construction) and reuse; `analyze` is pure
    and safe to call from several threads.
    """

    def __init__(self, threshold: float = THRESHOLD, neutral_words: Iterable[str] = ()) -> None:
        """`neutral_words`: more words to read as neutral, e.g. the brand's own name
        ("United", "Spirit", "Amazon" are in VADER's lexicon as positive words)."""
        self.threshold = threshold
        self._vader = SentimentIntensityAnalyzer()
        self._neutral = frozenset(NEUTRAL_WORDS) | {w.lower() for w in neutral_words}
        for word in self._neutral:
            # Per instance: VADER's lexicon dict belongs to this analyzer only.
            self._vader.lexicon.pop(word, None)

    def _split_hashtags(self, text: str) -> str:
        """Spell out run-together hashtags for VADER: "#worstflightever" -> "worst"."""
        if "#" not in text:
            return text
        return _HASHTAG_RE.sub(lambda m: self._hashtag_words(m.group(1)), text)

    def _hashtag_words(self, tag: str) -> str:
        lexicon = self._vader.lexicon
        if tag.lower() in lexicon or tag.lower() in self._neutral:
            return tag  # one word: VADER reads it already
        camel = _CAMEL_RE.findall(tag)
        if len(camel) > 1:
            return " ".join(camel)  # #WorstAirlineEver
        # Run together in lower case (#terribleservice, #jetbluefail, #notimpressed):
        # without a dictionary, trust only a negative word that starts or ends the tag,
        # or a positive one right after a leading negation.
        body = tag.lower()
        negated = _TAG_NEGATION_RE.match(body)
        if negated:
            body = body[negated.end():]
        sign = 1 if negated else -1
        # The rest of the tag must be a word too (3+ letters): "#flying" is not "lying";
        # a short word must not run on into a vowel: "#hellothere" is not "hell".
        ends = [body[:j] for j in range(min(len(body), 12), 3, -1)
                if len(body) - j >= 3 and (j > 4 or body[j] not in "aeiouy")]
        if not negated:
            ends += [body[i:] for i in range(max(3, len(body) - 12), len(body) - 3)]
        for word in ends:
            if lexicon.get(word, 0.0) * sign > 0:
                return ("not " if negated else "") + word
        return "#" + tag

    def compound(self, text: str) -> float:
        """VADER's compound score alone (-1..1), request words neutralized."""
        return float(self._vader.polarity_scores(clean(text))["compound"])

    def analyze(self, text: str, plain: str | None = None) -> SentimentResult:
        """`plain`: `plain_text(text)` when the caller has it already."""
        if plain is None:
            plain = plain_text(text)
        low = plain.lower()  # the cue patterns are written in lower case
        compound = float(self._vader.polarity_scores(self._split_hashtags(plain))["compound"])
        evidence = 0.0
        fired: list[tuple[float, str]] = []
        for name, weight, pattern in _CUES:
            hits = len(pattern.findall(low))
            if hits:
                # Two failures are more telling than one; more than that adds little.
                gain = weight * (1.0 if hits == 1 else 1.4)
                evidence += gain
                fired.append((gain, name))
        strong = bool(fired)
        if strong or compound < 0:
            for name, weight, pattern in _WEAK_CUES:
                hits = len(pattern.findall(low))
                if hits:
                    gain = weight * (1.0 if hits == 1 else 1.4)
                    evidence += gain
                    fired.append((gain, name))
        vader_part = compound
        if _IRONY_RE.search(low):
            # Said to be ironic (#sarcasm, "thanks for nothing"): evidence on its own.
            vader_part = compound * SARCASM_DISCOUNT if compound > 0 else compound
            fired.append((IRONY_WEIGHT, "sarcasm"))
            evidence += IRONY_WEIGHT
        elif compound > 0 and strong and _SARCASM_RE.search(low):
            vader_part = compound * SARCASM_DISCOUNT
            fired.append((0.3, "sarcasm"))
            evidence += 0.3
        elif compound > 0 and not strong and _PRAISE_RE.search(low):
            # Plain thanks or praise: keep it out of the complaint queue.
            evidence -= 0.2
        decision = VADER_WEIGHT * vader_part - evidence if fired else compound
        complaint = decision < -self.threshold if fired else compound <= -self.threshold
        score = max(-1.0, min(1.0, compound - 0.5 * max(evidence, 0.0)))
        cues = tuple(name for _, name in sorted(fired, key=lambda x: -x[0]))
        return SentimentResult(round(score, 4), compound, complaint, cues, decision)
