"""Is this post about us? Brand terms, exclusions, own accounts and languages.

Terms in the config come in four shapes, each matched case-insensitively on boundaries:
- words ("Acme"): a whole word, so "Acme" never matches "Acmeville" (but matches
  "#acme", "Acme's" and "@acme");
- "quoted phrases" (or any term with spaces): the words in order, any whitespace
  between them;
- @handles ("@acme"): the handle, not followed by more handle characters;
- domains ("acme.com"): the domain or any subdomain of it ("shop.acme.com/x").

Fast enough for a firehose (every Bluesky post): a cheap literal pre-filter runs first.
A term's pattern can only match where one of its literal pieces occurs
(case-insensitively), so a post in which no piece of any term or exclusion occurs is
decided ("no brand term") without cleaning its text or running the exact patterns.
Cleaning (entities, NFKC, invisible characters) is skipped for plain ASCII text
without '&', which it cannot change, and for any text without '&' and without a
character that cleaning could turn into a literal's (most emoji, CJK, accents, "…").
Everything else goes through the exact rules, so decisions are the same as without the
pre-filter (tests/judgment/test_fast_matching.py).
"""

from __future__ import annotations

import logging
import re

from bot.mention import Mention
from bot.settings import BrandSettings
from bot.text import IGNORECASE_ASCII, INVISIBLE_CHARS, chars_cleaned_into, clean

log = logging.getLogger(__name__)

_DOMAIN_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
NO_TERM = "no brand term"
# Where html.unescape could start an entity (a superset of its own pattern's starts):
# a text without one is left as it is by unescaping.
_ENTITY_START = re.compile(r"&[^\t\n\f <&;]")


def _term_body(term: str) -> tuple[str, list[str]] | None:
    """(kind, literal pieces) of a config term: kind is "handle", "domain" or "words"."""
    raw = term.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].strip()
    if not raw:
        return None
    if raw.startswith("@"):
        return "handle", [raw]
    if " " not in raw and _DOMAIN_RE.match(raw):
        return "domain", [raw]
    return "words", raw.split()


def term_pattern(term: str) -> re.Pattern[str] | None:
    """A compiled regex for one config term, or None for an empty term."""
    shape = _term_body(term)
    if shape is None:
        return None
    kind, pieces = shape
    if kind == "handle":
        # A handle ends where handle characters end; "@acme" is not "@acmesupport".
        body = re.escape(pieces[0])
        return re.compile(rf"(?<![\w@]){body}(?![\w-]|\.\w|@\w)", re.IGNORECASE)
    if kind == "domain":
        # Subdomains count ("www.acme.com"); longer names do not ("notacme.com").
        body = re.escape(pieces[0])
        return re.compile(rf"(?<![\w-]){body}(?![\w-]|\.\w)", re.IGNORECASE)
    body = r"\s+".join(re.escape(p) for p in pieces)
    # Word boundaries by hand: \b misbehaves when a term starts or ends with a symbol.
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def required_literals(terms: list[str]) -> list[str]:
    """Pieces of text such that every match of any of `terms` contains one of them.

    A term whose pieces already contain a chosen (ASCII) literal needs none of its own:
    with "Acme" chosen, "@acme", "acme.com" and "Acme Cloud" are covered by "acme".
    Otherwise a term contributes its longest piece (longer pieces are rarer)."""
    # One-piece terms first: they have no choice, and cover phrases that contain them.
    shapes = sorted((s[1] for t in terms if (s := _term_body(t))),
                    key=lambda pieces: (len(pieces), max(len(p) for p in pieces)))
    chosen: list[str] = []
    for pieces in shapes:
        lowered = [p.lower() for p in pieces]
        if any(lit.isascii() and lit.lower() in piece for lit in chosen for piece in lowered):
            continue
        chosen.append(max(pieces, key=len))
    return chosen


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


# The non-ASCII characters re.IGNORECASE takes for ASCII letters, as (char, letter).
ASCII_LOOKALIKES = tuple(IGNORECASE_ASCII.items())


class LiteralFilter:
    """"Could any of these literals occur (case-insensitively)?" in one cheap pass: False
    means certainly not.

    For ASCII literals the text is lower-cased once and searched with `in` (CPython's
    fast substring search). That finds every case-insensitive occurrence: the few
    non-ASCII characters the regex engine takes for ASCII letters are mapped first,
    and other non-ASCII characters are dropped (which can only add occurrences, never
    hide one: "may" stays true where the exact rules could match). Literals that are
    not ASCII go through one compiled case-insensitive alternation, the same matching
    as the term patterns.
    """

    def __init__(self, literals: list[str]) -> None:
        unique = list(dict.fromkeys(lit for lit in literals if lit))
        self.ascii = tuple(dict.fromkeys(lit.lower() for lit in unique if lit.isascii()))
        self.ascii_bytes = tuple(lit.encode("ascii") for lit in self.ascii)
        other = [lit for lit in unique if not lit.isascii()]
        self.other = (re.compile("|".join(map(re.escape, other)), re.IGNORECASE)
                      if other else None)

    def may_match(self, text: str) -> bool:
        if self.other is not None and self.other.search(text):
            return True
        # Plain loops: any() with a generator costs more than the search on short posts.
        if text.isascii():
            low = text.lower()
            for lit in self.ascii:
                if lit in low:
                    return True
            return False
        if not self.ascii:
            return False
        for char, letter in ASCII_LOOKALIKES:
            if char in text:
                text = text.replace(char, letter)
        # Bytes: encoding drops the rest at C speed; lower() of bytes is ASCII-only.
        low_bytes = text.encode("ascii", "ignore").lower()
        for lit_bytes in self.ascii_bytes:
            if lit_bytes in low_bytes:
                return True
        return False


class _CharClass:
    """"Does a text hold any of these characters?", fast: the BMP ones as one exact
    character class (a bitmap), the others as a few covering ranges (a class of many
    astral ranges is checked range by range, 40x slower). Covering more is safe: it
    only sends a text the long way."""

    def __init__(self, chars: set[str]) -> None:
        bmp = sorted(ord(c) for c in chars if ord(c) < 0x10000)
        astral = sorted(ord(c) for c in chars if ord(c) >= 0x10000)
        self.patterns = [re.compile(_ranges_class(_ranges(codes, gap)))
                         for codes, gap in ((bmp, 1), (astral, 64)) if codes]

    def found_in(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)


def _ranges(codes: list[int], gap: int) -> list[list[int]]:
    out: list[list[int]] = []
    for code in codes:
        if out and code - out[-1][1] <= gap:
            out[-1][1] = code
        else:
            out.append([code, code])
    return out


def _ranges_class(ranges: list[list[int]]) -> str:
    return "[" + "".join(re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b)))
                         for a, b in ranges) + "]"


class Matcher:
    """Decides whether a fetched post is a mention worth keeping."""

    def __init__(self, brand: BrandSettings) -> None:
        self.brand = brand
        self._terms = [(t, p) for t in brand.terms if (p := term_pattern(t))]
        self._exclude = [(t, p) for t in brand.exclude if (p := term_pattern(t))]
        self._own = {normalize_handle(a) for a in brand.own_accounts if a.strip()}
        # Every normalized own handle contains its part before '@' as written in the
        # author field (lower-cased): a cheap test before normalizing the author.
        self._own_pieces = tuple({h.split("@", 1)[0] for h in self._own})
        self._languages = {lang.lower().split("-")[0] for lang in brand.languages}
        literals = required_literals([*brand.terms, *brand.exclude])
        self.prefilter = LiteralFilter(literals)
        # The short way for non-ASCII text needs ASCII literals: NFKC composes non-ASCII
        # letters from several characters. Built on first use (a scan of Unicode's NFKC
        # data, tenths of a second on a busy machine), not when the bot starts.
        self._ascii_literals = (literals if literals and all(lit.isascii() for lit in literals)
                                else None)
        self._unsafe_class: _CharClass | None = None

    @property
    def _unsafe(self) -> _CharClass | None:
        """Characters of a raw text that clean() might turn into a literal's characters.
        Invisible ones need no cleaning here: may_match drops every non-ASCII character
        anyway (and skin tones are common)."""
        if self._unsafe_class is None and self._ascii_literals is not None:
            unsafe = chars_cleaned_into("".join(lit.lower() for lit in self._ascii_literals))
            self._unsafe_class = _CharClass(set(unsafe) - INVISIBLE_CHARS)
        return self._unsafe_class

    def drop_reason(self, mention: Mention) -> str | None:
        """None to keep the mention; otherwise why it is dropped, in a few words."""
        if self._own and mention.author and self._is_own(mention.author):
            return "own account"
        if self._languages and mention.language:
            lang = mention.language.lower().replace("_", "-").split("-")[0]
            if lang not in self._languages:
                return f"language {lang}"
        raw = " ".join(p for p in (mention.title, mention.text, mention.url) if p)
        inert = "&" not in raw or not _ENTITY_START.search(raw)  # unescape changes nothing
        if inert and raw.isascii():
            haystack = raw  # clean() cannot change plain ASCII without entities
        else:
            unsafe = self._unsafe if inert else None
            if (unsafe is not None and not unsafe.found_in(raw)
                    and not self.prefilter.may_match(raw)):
                # No character clean() could turn into a literal's: the literals are
                # absent after cleaning too, and cleaning (NFKC) is the costly part.
                return NO_TERM
            haystack = clean(raw)
        if not self.prefilter.may_match(haystack):
            return NO_TERM
        for term, pattern in self._exclude:
            if pattern.search(haystack):
                return f"excluded term '{_display(term)}'"
        if not self.matched_terms(haystack):
            return NO_TERM
        return None

    def _is_own(self, author: str) -> bool:
        low = author.lower()
        if not any(piece in low for piece in self._own_pieces):
            return False
        return normalize_handle(author) in self._own

    def matched_terms(self, text: str) -> list[str]:
        """The brand terms found in `text` (as written in the config, without quotes)."""
        return [_display(t) for t, p in self._terms if p.search(text)]
