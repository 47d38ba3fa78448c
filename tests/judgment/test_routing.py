"""Department routing from a small hand-made config: keywords, phrases, examples, ties,
the default and the reason line."""

import pytest

from bot.judgment.routing import DEFAULT_REASON, Router
from bot.settings import DepartmentSettings


def dep(name: str, keywords=(), examples=(), default=False) -> DepartmentSettings:
    return DepartmentSettings(name=name, channel=f"#{name}", keywords=tuple(keywords),
                              examples=tuple(examples), default=default)


@pytest.fixture(scope="module")
def router() -> Router:
    departments = [
        dep("billing", ["charged", "invoice", "cancellation fee", "payment"]),
        dep("shipping", ["delivery", "package", "address", "lost parcel"],
            examples=["the courier left it at my neighbour's house"]),
        dep("refunds", ["refund", "cancel", "money back"]),
        dep("support", ["agent", "phone"], default=True),
    ]
    return Router({d.name: d for d in departments})


def test_keyword_routes_with_reason(router):
    route = router.route("I was charged for nothing")
    assert route.department == "billing"
    assert route.reason == "matched keywords: charged"


def test_reason_lists_every_keyword_matched(router):
    route = router.route("@acme the invoice shows I was charged twice")
    assert route.department == "billing"
    assert route.reason == "matched keywords: charged, invoice"


def test_inflections_match_the_keyword(router):
    assert router.route("Still waiting for my refunds").department == "refunds"
    assert router.route("they CANCELLED it").department == "refunds"
    assert router.route("two deliveries went missing").department == "shipping"


def test_keywords_match_whole_words_only(router):
    # "cancel" must not fire inside "cancelbot"; "phone" not inside "phonetic".
    assert router.route("cancelbot phonetic").department == "support"
    assert router.route("cancelbot phonetic").reason == DEFAULT_REASON


def test_phrase_outweighs_a_single_word(router):
    route = router.route("what is the cancellation fee if I cancel?")
    assert route.department == "billing"
    assert "cancellation fee" in route.reason


def test_phrase_allows_one_word_between(router):
    assert router.route("you lost my parcel").department == "shipping"
    assert router.route("lost parcel").department == "shipping"
    # Too far apart is not the phrase.
    assert router.route("I lost hope about the parcel").reason == DEFAULT_REASON


def test_no_match_goes_to_default_with_reason(router):
    route = router.route("hello there, nice weather")
    assert route.department == "support"
    assert route.reason == "no department keywords matched; default"


def test_examples_route_posts_without_keywords(router):
    route = router.route("courier left my box at the neighbour's")
    assert route.department == "shipping"
    assert "similar to shipping examples" in route.reason


def test_tie_goes_to_department_listed_first():
    departments = {d.name: d for d in [
        dep("alpha", ["widget"]), dep("beta", ["gadget"]), dep("other", default=True)]}
    route = Router(departments).route("my widget and my gadget")
    assert route.department == "alpha"
    reordered = {k: departments[k] for k in ("beta", "alpha", "other")}
    assert Router(reordered).route("my widget and my gadget").department == "beta"


def test_tie_prefers_the_longer_phrase_over_config_order():
    departments = {d.name: d for d in [
        dep("alpha", ["cracked", "screen"]), dep("beta", ["cracked screen glass"]),
        dep("other", default=True)]}
    route = Router(departments).route("cracked screen glass")
    # Both score 2.0 (two words; one three-word phrase): the phrase is more specific.
    assert route.scores["alpha"] == pytest.approx(route.scores["beta"])
    assert route.department == "beta"


def test_a_phrase_beats_its_own_first_word_elsewhere():
    departments = {d.name: d for d in [
        dep("alpha", ["screen"]), dep("beta", ["cracked screen"]),
        dep("other", default=True)]}
    assert Router(departments).route("my cracked screen").department == "beta"


def test_shared_keyword_counts_less_than_an_own_keyword():
    departments = {d.name: d for d in [
        dep("alpha", ["order"]), dep("beta", ["order", "late"]), dep("other", default=True)]}
    router = Router(departments)
    assert router.route("my order").department == "alpha"  # tie on 0.5: first listed
    assert router.route("my order is late").department == "beta"
    assert router.route("my order").scores["alpha"] == pytest.approx(0.5)


def test_router_is_config_driven_for_any_domain():
    departments = {d.name: d for d in [
        dep("kitchen", ["soup", "cold food"]), dep("front", ["table", "waiter"]),
        dep("manager", default=True)]}
    router = Router(departments)
    assert router.route("the soup was cold").department == "kitchen"
    assert router.route("waited 40 min for a table").department == "front"
    assert router.route("meh").department == "manager"


def test_without_a_default_flag_the_first_department_is_the_fallback():
    router = Router({"a": dep("a", ["x"]), "b": dep("b", ["y"])})
    assert router.route("nothing here").department == "a"


def test_typos_of_long_keywords_still_route(router):
    for text in ["where is my refnud", "my delivry is late", "I was chraged"]:
        route = router.route(text)
        assert route.department != "support", text
    assert router.route("where is my refnud").department == "refunds"
    assert router.route("my delivry is late").department == "shipping"


def test_typo_fixing_leaves_real_and_short_words_alone():
    departments = {d.name: d for d in [
        dep("billing", ["charged"]), dep("other", ["address"], default=True)]}
    router = Router(departments)
    # One changed letter is another real word, not a typo.
    assert router.route("I changed my plan").reason == DEFAULT_REASON
    # Short words are never corrected ("bil" is not "bill").
    small = Router({d.name: d for d in [dep("a", ["bill"]), dep("b", default=True)]})
    assert small.route("bil").department == "b"
