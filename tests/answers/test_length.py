"""Reply length, counted the way Mastodon, Bluesky and X count it."""

from __future__ import annotations

import pytest

from bot.answers.answering import APPROVAL, PUBLISH, RECORD, length_problem
from bot.answers.length import (
    LIMITS,
    bluesky_length,
    clean_reply,
    graphemes,
    mastodon_length,
    too_long,
    x_length,
)
from bot.mention import Mention, utcnow

LONG_URL = "https://example.com/" + "a" * 200


def _mention(source: str) -> Mention:
    return Mention(source, "1", "post", "https://example.com/p", utcnow())


def test_graphemes_keep_emoji_sequences_flags_and_accents_whole() -> None:
    text = "e\u0301" + "👍🏽" + "👨‍👩‍👧" + "🇩🇪🇫🇷" + "1️⃣" + "a"
    assert graphemes(text) == ["e\u0301", "👍🏽", "👨‍👩‍👧", "🇩🇪", "🇫🇷", "1️⃣", "a"]


def test_mastodon_counts_any_url_as_23_characters() -> None:
    assert mastodon_length("see " + LONG_URL) == 4 + 23
    assert mastodon_length("see " + LONG_URL + " and http://x.io") == 4 + 23 + 5 + 23


def test_mastodon_counts_graphemes_not_code_points() -> None:
    assert mastodon_length("👨‍👩‍👧 ok") == 4


def test_bluesky_counts_graphemes_and_urls_in_full() -> None:
    assert bluesky_length("🇩🇪👍🏽é") == 3
    assert bluesky_length(LONG_URL) == len(LONG_URL)


def test_x_weighs_cjk_and_emoji_two_and_urls_23() -> None:
    assert x_length("hello") == 5
    assert x_length("日本語") == 6
    assert x_length("👍🏽") == 2  # one emoji sequence, however many code points
    assert x_length("👨‍👩‍👧") == 2
    assert x_length("go " + LONG_URL) == 3 + 23
    assert x_length("café—ok") == 7  # Latin-1 and general punctuation weigh 1


@pytest.mark.parametrize(("source", "unit", "limit"), [
    ("mastodon", "a", 500), ("bluesky", "a", 300), ("x", "a", 280), ("x", "語", 140)])
def test_exactly_at_the_limit_fits_and_one_more_does_not(source: str, unit: str,
                                                         limit: int) -> None:
    assert too_long(source, unit * limit) is None
    problem = too_long(source, unit * (limit + 1))
    assert problem is not None and str(LIMITS[source]) in problem


@pytest.mark.parametrize("mode", [PUBLISH, APPROVAL])
def test_length_problem_names_the_source_and_the_count(mode: str) -> None:
    assert length_problem(_mention("bluesky"), "x" * 312, mode) == (
        "Too long for Bluesky: 312 of 300 characters.")
    assert length_problem(_mention("bluesky"), "fine", mode) is None


def test_length_problem_ignores_sources_we_never_write_to() -> None:
    assert length_problem(_mention("hackernews"), "x" * 5000, PUBLISH) is None


@pytest.mark.parametrize("source", ["bluesky", "mastodon", "x"])
def test_a_reply_only_recorded_in_the_thread_has_no_length_limit(source: str) -> None:
    assert length_problem(_mention(source), "x" * (LIMITS[source] + 200), RECORD) is None


@pytest.mark.parametrize("mode", [RECORD, PUBLISH, APPROVAL])
def test_length_problem_refuses_an_empty_reply(mode: str) -> None:
    assert length_problem(_mention("mastodon"), "  \n ", mode) == "Write a reply first."


def test_clean_reply_strips_control_and_bidi_characters_and_blank_runs() -> None:
    dirty = "  Hi\u202e there\x07\r\n\n\n\nThanks\t!  "
    assert clean_reply(dirty) == "Hi there\n\nThanks !"
