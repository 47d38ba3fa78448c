"""The fast matcher decides exactly as today's matcher did, on the tricky-case corpus."""

from __future__ import annotations

import re
import sys

from bot.judgment.matching import ASCII_LOOKALIKES, LiteralFilter, Matcher, required_literals
from bot.settings import BrandSettings
from tests.judgment.matching_reference import ReferenceMatcher
from tests.judgment.tricky import BRANDS, cases


def test_decisions_and_reasons_equal_the_reference_on_the_tricky_corpus():
    fast = {id(b): Matcher(b) for b in BRANDS}
    ref = {id(b): ReferenceMatcher(b) for b in BRANDS}
    differing, kept, total = [], 0, 0
    for brand, mention in cases():
        total += 1
        want = ref[id(brand)].drop_reason(mention)
        got = fast[id(brand)].drop_reason(mention)
        kept += want is None
        if got != want:
            differing.append((brand.terms, mention.text, mention.author, want, got))
    assert not differing, differing[:5]
    # The corpus exercises both outcomes and several reasons, not just "no brand term".
    assert total > 3000 and 0.05 < kept / total < 0.9


def test_the_prefilter_skips_the_exact_rules_for_posts_without_any_literal():
    m = Matcher(BRANDS[1])
    calls = []
    m.matched_terms = lambda text: calls.append(text) or []  # type: ignore[method-assign]
    assert m.drop_reason(_mention("nothing to see here, just coffee")) == "no brand term"
    assert calls == []
    assert m.drop_reason(_mention("Acmeville is lovely")) == "no brand term"
    assert calls == ["Acmeville is lovely"]  # a literal occurs: the exact rules decide


def test_phrases_handles_and_domains_are_covered_by_a_shared_literal():
    assert required_literals(["Acme", '"Acme Cloud"', "@acme", "acme.com",
                              "Acme Corporation cartoon", "Wile E. Coyote"]) == ["Acme", "Coyote"]
    assert required_literals(['"Acme Cloud"']) == ["Cloud"]


def test_literal_filter_finds_case_insensitive_lookalikes_of_ascii_letters():
    f = LiteralFilter(["star", "istanbul", "kelvin"])
    assert f.may_match("ſtar") and f.may_match("İSTANBUL") and f.may_match("ıstanbul")
    assert f.may_match("\u212aELVIN") and not f.may_match("stat")
    assert LiteralFilter(["ſtar"]).may_match("STAR")  # non-ASCII literal: the regex way


def test_ascii_lookalikes_are_all_the_non_ascii_characters_ignorecase_takes_for_ascii():
    letters = re.compile("[a-z0-9]", re.IGNORECASE)
    found = {chr(c) for c in range(128, sys.maxunicode + 1) if letters.fullmatch(chr(c))}
    assert found == {char for char, _ in ASCII_LOOKALIKES}


def test_own_account_precheck_keeps_every_handle_form():
    m = Matcher(BrandSettings("Acme", terms=("Acme",), own_accounts=("acme@mastodon.social",)))
    assert m.drop_reason(_mention("Acme", author="https://Mastodon.Social/@ACME")) == \
        "own account"
    assert m.drop_reason(_mention("Acme", author="acme@other.example")) is None


def _mention(text: str, author: str = "x"):
    from datetime import UTC, datetime

    from bot.mention import Mention
    return Mention("t", "1", text, "", datetime(2026, 1, 1, tzinfo=UTC), author=author)


def test_no_character_beyond_the_scanned_range_cleans_into_ascii_or_invisible():
    import unicodedata

    from bot.text import INVISIBLE_CHARS, NFKC_SCAN_END
    for code in range(NFKC_SCAN_END, sys.maxunicode + 1):
        if not unicodedata.decomposition(chr(code)):
            continue  # a character without a decomposition is its own NFKC form
        form = unicodedata.normalize("NFKC", chr(code))
        assert not any(c.isascii() or c in INVISIBLE_CHARS or c == "’" for c in form), \
            hex(code)


def test_texts_without_cleanable_characters_skip_cleaning_yet_decide_the_same():
    m = Matcher(BRANDS[1])
    assert m._unsafe is not None
    assert not m._unsafe.found_in("日本語 😀 café naïve … “quotes”")  # decided raw
    assert not m._unsafe.found_in("ﬃ")  # "ffi": no letter of "acme" or "coyote"
    for text in ("ａｃｍｅ", "𝐀𝐜𝐦𝐞", "ⓐⓒⓜⓔ", "ﬅ"):
        assert m._unsafe.found_in(text), text  # cleaned first
    # Invisible characters are stripped on the way, entities always mean cleaning.
    for text in ("Ac\u200bme 😀", "Acme👍🏽 日本", "Ac&#109;e 😀", "A&amp;#99;me …"):
        assert m.drop_reason(_mention(text)) is None, text
    assert m.drop_reason(_mention("AT & T … Acm e")) == "no brand term"
    assert Matcher(BRANDS[5])._unsafe is None  # a non-ASCII literal: always cleaned

