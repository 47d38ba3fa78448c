"""Brand matching: word boundaries, phrases, handles, domains, exclusions, own accounts,
languages."""

from datetime import UTC, datetime

import pytest

from bot.judgment.matching import Matcher, normalize_handle
from bot.mention import Mention
from bot.settings import BrandSettings


def brand(**kw) -> BrandSettings:
    kw.setdefault("terms", ("Acme",))
    return BrandSettings(name="Acme", **kw)


def mention(text: str, *, author: str = "someone", title: str = "", url: str = "",
            language: str | None = None) -> Mention:
    return Mention(source="test", native_id="1", text=text, url=url,
                   created_at=datetime(2026, 1, 1, tzinfo=UTC), author=author, title=title,
                   language=language)


@pytest.mark.parametrize("text", [
    "I love Acme!", "ACME is down again", "acme's support is slow", "#acme rocks",
    "Switched to Acme.", "(Acme) again", "thanks @acme",
])
def test_word_term_matches_case_insensitively_on_word_boundaries(text):
    assert Matcher(brand()).drop_reason(mention(text)) is None


@pytest.mark.parametrize("text", [
    "Greetings from Acmeville", "acmecorp has a sale", "the SuperAcme widget", "acme_bot",
])
def test_word_term_does_not_match_inside_longer_words(text):
    assert Matcher(brand()).drop_reason(mention(text)) == "no brand term"


def test_quoted_phrase_matches_words_in_order_with_any_spacing():
    m = Matcher(brand(terms=('"Acme Cloud"',)))
    assert m.drop_reason(mention("moving to acme   cloud today")) is None
    assert m.drop_reason(mention("Acme\nCloud outage")) is None
    assert m.drop_reason(mention("Acme is cloudy")) == "no brand term"
    assert m.drop_reason(mention("cloud by Acme")) == "no brand term"


def test_handle_term_matches_the_handle_only():
    m = Matcher(brand(terms=("@acme",)))
    assert m.drop_reason(mention("hey @Acme, my order?")) is None
    assert m.drop_reason(mention("ask @acmesupport")) == "no brand term"
    assert m.drop_reason(mention("mail bob@acme.io")) == "no brand term"
    assert m.drop_reason(mention("Acme is great")) == "no brand term"


def test_domain_term_matches_domain_and_subdomains_not_lookalikes():
    m = Matcher(brand(terms=("acme.com",)))
    assert m.drop_reason(mention("see https://www.acme.com/pricing")) is None
    assert m.drop_reason(mention("bought it on acme.com.")) is None
    assert m.drop_reason(mention("visit notacme.com")) == "no brand term"
    assert m.drop_reason(mention("join acme.community")) == "no brand term"


def test_title_and_url_count_as_well_as_text():
    m = Matcher(brand(terms=("Acme", "acme.com")))
    assert m.drop_reason(mention("no name here", title="Acme raises prices")) is None
    assert m.drop_reason(mention("look at this", url="https://blog.acme.com/post/1")) is None


def test_html_entities_are_unescaped_before_matching():
    m = Matcher(brand(terms=('"AT&T"',)))
    assert m.drop_reason(mention("my AT&amp;T bill")) is None


def test_excluded_term_drops_post_and_says_which():
    m = Matcher(brand(exclude=("Wile E. Coyote", "acme anvil")))
    assert m.drop_reason(mention("Wile E. Coyote orders from Acme")) == \
        "excluded term 'Wile E. Coyote'"
    assert m.drop_reason(mention("an ACME anvil fell")) == "excluded term 'acme anvil'"
    assert m.drop_reason(mention("Acme anvils are heavy")) is None  # whole words only


@pytest.mark.parametrize("author", [
    "@Acme", "acme", "ACME@mastodon.social", "https://mastodon.social/@acme",
    "acme.bsky.social", "https://bsky.app/profile/acme.bsky.social",
])
def test_own_accounts_are_dropped_in_any_handle_form(author):
    m = Matcher(brand(own_accounts=("@acme", "acme@mastodon.social", "acme.bsky.social")))
    assert m.drop_reason(mention("Acme news: new release", author=author)) == "own account"


@pytest.mark.parametrize("author", ["acmefan", "acme@evil.example", "notacme.bsky.social", ""])
def test_other_authors_are_not_own_accounts(author):
    m = Matcher(brand(own_accounts=("@acme", "acme@mastodon.social", "acme.bsky.social")))
    assert m.drop_reason(mention("Acme news", author=author)) is None


def test_normalize_handle_forms():
    assert normalize_handle(" @Acme ") == "acme"
    assert normalize_handle("https://Mastodon.Social/@acme") == "acme@mastodon.social"
    assert normalize_handle("https://bsky.app/profile/acme.bsky.social") == "acme.bsky.social"


def test_language_filter_applies_only_where_language_is_known():
    m = Matcher(brand(languages=("en", "de")))
    assert m.drop_reason(mention("Acme c'est nul", language="fr")) == "language fr"
    assert m.drop_reason(mention("Acme rocks", language="en-US")) is None
    assert m.drop_reason(mention("Acme ist super", language="DE")) is None
    assert m.drop_reason(mention("Acme rocks", language=None)) is None


def test_no_language_setting_keeps_every_language():
    assert Matcher(brand()).drop_reason(mention("Acme c'est nul", language="fr")) is None


def test_matched_terms_lists_what_was_found():
    m = Matcher(brand(terms=("Acme", '"Acme Cloud"', "@acme", "acme.com")))
    assert m.matched_terms("acme cloud via @acme") == ["Acme", "Acme Cloud", "@acme"]
