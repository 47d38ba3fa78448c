"""Fingerprints: equal for trivial copies of a post, different for different posts."""

import pytest

from bot.judgment.dedupe import fingerprint, normalize

ORIGINAL = "@acme my order #1234 never arrived, 3 weeks now! https://t.co/abc"


@pytest.mark.parametrize("copy", [
    ORIGINAL,
    "RT @carol: @acme my order #1234 never arrived, 3 weeks now! https://t.co/xyz",
    "RT @carol: RT @dave: @acme my order #1234 never arrived, 3 weeks now!",
    "MY ORDER #1234 NEVER ARRIVED, 3 WEEKS NOW",
    "  my   order 1234\nnever arrived 3 weeks now  ",
    "@acme @acmehelp my order #1234 never arrived... 3 weeks now!!! 😡",
    ".@acme my order #1234 never arrived, 3 weeks now! (via @carol)",
    "@acme my order #1234 never arrived, 3 weeks now! http://example.com/a?b=c",
    "@acme my order #1234 never arrived, 3 weeks now! ❤️",
    "@acme my order #1234 never arrived, 3 weeks now! ❤",
    "@acme my order #1234 never arrived, 3 weeks now! &amp;",
])
def test_trivial_copies_share_a_fingerprint(copy):
    assert fingerprint(copy) == fingerprint(ORIGINAL)


@pytest.mark.parametrize("other", [
    "@acme my order #1235 never arrived, 3 weeks now!",
    "@acme my order #1234 arrived, 3 weeks now!",
    "@acme my refund never arrived, 3 weeks now!",
    "my order never arrived",
])
def test_different_posts_get_different_fingerprints(other):
    assert fingerprint(other) != fingerprint(ORIGINAL)


def test_accents_and_entities_do_not_matter():
    assert fingerprint("Café &amp; crème at Acme") == fingerprint("cafe & creme at acme")


def test_a_bare_link_has_no_fingerprint():
    # The pipeline falls back to the URL when there is nothing to fingerprint.
    assert fingerprint("https://acme.com/x") == ""
    assert fingerprint("   ") == ""


def test_mid_text_handles_are_content_not_decoration():
    assert normalize("thanks @bob for the tip about acme") == \
        "thanks bob for the tip about acme"

