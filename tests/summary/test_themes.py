"""Theme discovery: aspects, learned words, new phrases, brand removal, naming."""

from __future__ import annotations

from bot.summary.themes import Doc, Tokenizer, find_themes


def docs(texts: list[str], prefix: str) -> list[Doc]:
    return [Doc(f"{prefix}{i}", t) for i, t in enumerate(texts)]


def test_complaints_go_to_the_aspect_they_describe():
    texts = ["my bag never showed up at the carousel", "You lost my luggage!!",
             "on hold for 2 hours, nobody picks up", "they hung up on me after an hour on hold",
             "still waiting on my refund", "where is my refund?"]
    model = find_themes(docs(texts, "p"))
    by_key = {t.key: sorted(t.ids) for t in model.themes}
    assert by_key == {"bags": ["p0", "p1"], "hold": ["p2", "p3"], "refund": ["p4", "p5"]}
    assert model.themes[0].name in {"lost or delayed bags", "long waits on hold",
                                    "refund not received"}


def test_brand_names_and_handles_never_make_a_theme():
    # "Bags" is the brand here: without removing it every post would look like a bag post.
    texts = [f"@BagsAirline Bags Airline charged me twice for seat {i}" for i in range(30)]
    texts += [f"Bags Airline, my refund for trip {i} never came" for i in range(30)]
    model = find_themes(docs(texts, "p"), brand_words=["Bags Airline", "@BagsAirline"])
    assert {t.key for t in model.themes} == {"billing", "refund"}
    assert "bag" not in Tokenizer(["Bags Airline"]).tokens("Bags Airline lost it")


def test_a_word_the_day_uses_with_one_aspect_carries_posts_without_cue_words():
    # "zeppelin" is in no lexicon; most posts using it are about delays, so the posts that
    # only say "zeppelin ... forever" join the delays theme.
    delayed = [f"zeppelin {i} delayed again, three hours late" for i in range(30)]
    only_word = [f"the zeppelin {i} sat at the dock forever" for i in range(8)]
    other = [f"my refund {i} never came" for i in range(30)]
    model = find_themes(docs(delayed, "d") + docs(only_word, "z") + docs(other, "r"))
    delay = next(t for t in model.themes if t.key == "delay")
    assert {f"z{i}" for i in range(8)} <= set(delay.ids)
    assert model.classify("the zeppelin sat at the dock forever") == "delay"


def test_unexplained_distinctive_phrase_becomes_a_theme_named_by_it():
    battery = [f"battery drain on model {i} is unbearable" for i in range(25)]
    refunds = [f"refund {i} still missing" for i in range(25)]
    background = [f"nice model {i} honestly" for i in range(60)]
    model = find_themes(docs(battery, "b") + docs(refunds, "r"), background=background)
    new = next(t for t in model.themes if t.key.startswith("phrase:"))
    assert new.name == "battery drain"
    assert sorted(new.ids) == sorted(f"b{i}" for i in range(25))
    assert model.classify("awful battery drain since the update") == new.key


def test_vague_complaints_stay_unthemed_rather_than_padding_a_theme():
    vague = [f"you guys are the worst {i}" for i in range(10)]
    bags = [f"lost bag number {i}" for i in range(20)]
    model = find_themes(docs(vague, "v") + docs(bags, "b"))
    themed = {i for t in model.themes for i in t.ids}
    assert not any(i.startswith("v") for i in themed)
    assert {f"b{i}" for i in range(20)} <= themed


def test_department_is_the_one_owning_most_of_the_theme():
    items = [Doc(str(i), "my luggage is lost", "baggage" if i < 3 else "support")
             for i in range(5)]
    assert find_themes(items).themes[0].department == "baggage"


def test_classify_places_a_complaint_where_the_day_put_it():
    # Earlier days' complaints are counted with classify; it must agree with the day.
    texts = ([f"zeppelin {i} delayed again, three hours late" for i in range(30)]
             + [f"the zeppelin {i} sat at the dock forever" for i in range(8)]
             + [f"battery drain on model {i} is unbearable" for i in range(25)]
             + [f"my refund {i} never came, terrible" for i in range(30)]
             + [f"you are the worst {i}" for i in range(10)])
    model = find_themes(docs(texts, "p"), background=[f"nice model {i}" for i in range(40)])
    placed = {i: t.key for t in model.themes for i in t.ids}
    for i, text in enumerate(texts):
        assert model.classify(text) == placed.get(f"p{i}"), text


def test_near_identical_new_phrases_merge_into_one_theme():
    texts = ([f"battery drain on model {i} is unbearable" for i in range(20)]
             + [f"the battery dies by noon on unit {i}" for i in range(10)]
             + [f"my refund {i} never came" for i in range(20)])
    model = find_themes(docs(texts, "p"), background=[f"nice model {i}" for i in range(40)])
    new = [t for t in model.themes if t.key.startswith("phrase:")]
    assert len(new) == 1 and new[0].name == "battery drain" and new[0].count == 30
