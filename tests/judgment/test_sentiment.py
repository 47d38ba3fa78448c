"""Complaint detection on clear, hand-written cases."""

import pytest

from bot.judgment.sentiment import ComplaintDetector


@pytest.fixture(scope="module")
def detector() -> ComplaintDetector:
    return ComplaintDetector()


@pytest.mark.parametrize("text", [
    "flight cancelled, 3 hours on hold",
    "still no refund",
    "my package never arrived",
    "I was charged twice for one order",
    "order #4411 delayed again, this is the third time",
    "Why is nobody answering the phone?",
    "Been waiting 45 minutes for an agent",
    "the app doesn't work since the update",
    "Can't log in to my account and no one replies to my emails",
    "my luggage is lost",
])
def test_factual_complaints_are_complaints(detector, text):
    result = detector.analyze(text)
    assert result.complaint, (text, result)
    assert result.cues


@pytest.mark.parametrize("text", [
    "3 hours on hold",
    "still waiting for my refund",
    "my package never arrived",
    "the app doesn't work since the update",
])
def test_vader_alone_misses_these(detector, text):
    # The reason the cues exist: lexicon sentiment reads these as neutral or better.
    assert detector.compound(text) > -0.05
    assert detector.analyze(text).complaint


@pytest.mark.parametrize("text", [
    "Thanks a lot for losing my bag, great job",
    "Love how my order is late again. Great service!",
    "Oh great, another delay. Thanks again",
])
def test_sarcastic_praise_around_a_failure_is_a_complaint(detector, text):
    result = detector.analyze(text)
    assert result.complaint, (text, result)
    assert "sarcasm" in result.cues


@pytest.mark.parametrize("text", [
    "Thank you so much, the crew was wonderful and we landed early!",
    "Love the new app, checkout is so fast",
    "Great service today, thanks @acme",
    "What time does the store open on Sunday?",
    "Do you ship to Canada?",
    "Just ordered my first Acme kettle",
    "Is there a student discount?",
])
def test_praise_and_neutral_questions_are_not_complaints(detector, text):
    result = detector.analyze(text)
    assert not result.complaint, (text, result)


def test_score_is_bounded_and_lower_for_complaints(detector):
    bad = detector.analyze("flight cancelled, 3 hours on hold, still no refund. Awful.")
    good = detector.analyze("Wonderful flight, lovely crew, thank you!")
    assert -1.0 <= bad.score < 0 < good.score <= 1.0
    # Complaint evidence pulls the score below VADER's own.
    assert bad.score < bad.compound


def test_plain_negative_emotion_is_a_complaint_without_cues(detector):
    result = detector.analyze("I hate this so much, absolutely miserable")
    assert result.complaint


def test_html_urls_and_handles_do_not_change_the_verdict(detector):
    plain = detector.analyze("still no refund")
    noisy = detector.analyze("@acme still no refund https://t.co/x &amp;")
    assert plain.complaint == noisy.complaint
    assert plain.cues == noisy.cues


@pytest.mark.parametrize("text", [
    "I don't know yet, will you be around?!",
    "still thinking about that concert",
    "I haven't decided which one to pick",
])
def test_weak_cues_alone_do_not_make_a_complaint(detector, text):
    # Negations, "still" and "?!" are everyday talk unless something else is wrong.
    result = detector.analyze(text)
    assert not result.complaint, (text, result)


def test_weak_cues_add_to_real_evidence(detector):
    with_weak = detector.analyze("my bag is still lost, not found again")
    alone = detector.analyze("my bag is lost")
    assert with_weak.complaint and alone.complaint
    assert with_weak.score < alone.score
    assert "insistence" in with_weak.cues


def test_request_words_do_not_read_as_praise(detector):
    # VADER scores "please help" as positive; here it is a request from a stuck customer.
    result = detector.analyze("please help, 3 hours on hold")
    assert result.complaint
    assert result.compound <= 0


@pytest.mark.parametrize("text", [
    "The agent hung up on me after 20 minutes",
    "I was told to call back tomorrow and the rep said there is nothing they can do",
    "Tried calling twice, got disconnected both times",
    "My order was supposed to arrive on Monday",
    "They won't let me change the delivery address",
    "Been sitting here waiting for a gate for a full hour",
])
def test_general_service_failures_are_complaints(detector, text):
    result = detector.analyze(text)
    assert result.complaint, (text, result)


@pytest.mark.parametrize("text", [
    "Just got to the airport #worstairlineever",
    "Third time this month #jetbluefail",
    "Customer service call done #notimpressed",
    "Checkout today #TerribleService",
])
def test_run_together_hashtags_are_read(detector, text):
    # VADER sees "#worstairlineever" as one unknown word; spelled out it is "worst".
    assert detector.analyze(text).complaint, text


@pytest.mark.parametrize("text", [
    "Boarding now #flying",
    "Landed in Denver #greatservice",
    "Picked up my order #hellothere",
])
def test_hashtags_without_a_negative_word_are_not_complaints(detector, text):
    assert not detector.analyze(text).complaint, text


@pytest.mark.parametrize("text", [
    "Called the help line and got put through to voicemail. Awesome. #sarcasm",
    "Thanks for nothing, really helpful",
    "Wonderful service today (not)",
])
def test_marked_irony_is_a_complaint(detector, text):
    result = detector.analyze(text)
    assert result.complaint, (text, result)
    assert "sarcasm" in result.cues


def test_brand_name_in_the_lexicon_is_neutral():
    # "United" is a positive word for VADER; as the brand's name it says nothing.
    plain = ComplaintDetector()
    brand = ComplaintDetector(neutral_words=["United"])
    text = "United left us at the gate"
    assert plain.analyze(text).compound > 0
    assert brand.analyze(text).compound == 0


def test_margin_matches_the_verdict(detector):
    for text in ("still no refund", "Love the new app", "What time do you open?",
                 "I hate this so much"):
        result = detector.analyze(text)
        assert result.complaint == (result.margin < -detector.threshold), (text, result)
