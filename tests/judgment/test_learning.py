"""Learning from corrections: the rules decide until the model has proved better on labels
it had not seen; near copies of a labelled post follow it at once; the store keeps labels,
gates and model across restarts; an unreadable model falls back to the rules."""

import base64
import logging
import random
import time
import zlib

import pytest

from bot.judgment.judge import Judge
from bot.judgment.labels import COMPLAINT, ROUTE, Label
from bot.judgment.learned_store import (
    MODEL_KEY,
    Retrainer,
    add_label,
    load_learner,
    save_model,
    stored_labels,
)
from bot.judgment.learning import GATE_MIN
from bot.judgment.teaching import complaint_windows, route_windows, teach
from bot.settings import load_settings
from bot.store import open_store
from tests.judgment.test_judge import CONFIG as JUDGE_CONFIG

# The same three-department company as the judge's tests.
CONFIG = JUDGE_CONFIG

FILLER = ("today", "again", "this week", "at my flat", "for the second time", "honestly",
          "last night", "as usual", "this morning", "once more")


def locker_post(rng: random.Random) -> str:
    # Posts the rules send to the default (no keyword) but the team moves to parcels.
    return (f"the parcel locker {rng.choice(['code', 'door', 'screen'])} "
            f"{rng.choice(['failed', 'broke', 'froze'])} {rng.choice(FILLER)} "
            f"{rng.choice(FILLER)}")


def other_post(rng: random.Random) -> str:
    mood = rng.choice(["rude", "slow", "lovely"])
    return f"the agent on the phone was {mood} {rng.choice(FILLER)}"


@pytest.fixture()
def settings(tmp_path):
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG)
    return load_settings(path, env={})


@pytest.fixture()
def judge(settings) -> Judge:
    judge = Judge(settings)
    judge.learner = judge.new_learner(settings)
    return judge


def history(n: int, seed: int = 1) -> list[tuple[str, str, str, None]]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        if i % 2:
            items.append((str(i), locker_post(rng), "parcels", None))
        else:
            items.append((str(i), other_post(rng), "help", None))
    return items


def test_without_labels_the_rules_decide(judge, settings):
    rules = Judge(settings)
    for text in ("the parcel locker code failed", "I was charged twice", "hello there"):
        assert judge.judge(text) == rules.judge(text)
        assert judge.judge(text).learned is False


def test_the_model_takes_over_once_it_beats_the_rules_on_unseen_labels(judge):
    rows = list(teach(history(2 * GATE_MIN + 60), judge))
    early = rows[:GATE_MIN]
    # While labels are few the rules decide: every locker post goes to the default.
    assert all(r.judgment.department == "help" for r in early)
    late = [r for r in rows[-40:] if r.department == "parcels"]
    assert late and all(r.judgment.department == "parcels" and r.judgment.learned for r in late)
    windows = route_windows(rows)
    assert windows[0].after == 0 and windows[-1].learned > windows[-1].rules
    # A new post of the kind the team corrected, never seen: the learned model routes it.
    j = judge.judge("the parcel locker screen froze yet again near the shop")
    assert j.department == "parcels" and j.learned
    assert j.reason.startswith("learned from ") and "moves" in j.reason
    assert "similar to 'the parcel locker" in j.reason
    # The rules keep the posts where they were right.
    assert judge.judge("I was charged twice, where is my refund").department == "money"


def test_a_near_copy_of_a_labelled_post_follows_it_before_any_refit(judge):
    learner = judge.learner
    text = "my neighbour's parcel locker ate my card"
    assert judge.judge(text).department == "help"
    learner.learn([Label(ROUTE, text, "parcels", "move", by="U1", previous="help")])
    assert learner.pending == 1  # not refit: the memory of labelled posts answers
    j = judge.judge(text + "!")
    assert (j.department, j.learned) == ("parcels", True)
    assert "learned from 1 moves" in j.reason


def test_complaint_flags_are_learned_the_same_way(judge):
    rng = random.Random(3)
    items = []
    for i in range(2 * GATE_MIN + 60):
        if i % 2:  # the rules see nothing wrong here; the team says it is a complaint
            items.append((str(i), f"the cabin smelled of {rng.choice(['fish', 'smoke', 'paint'])} "
                                  f"{rng.choice(FILLER)} {rng.choice(FILLER)}", None, True))
        else:
            items.append((str(i), f"lovely crew {rng.choice(FILLER)} thank you", None, False))
    rows = list(teach(items, judge))
    assert not rows[0].judgment.complaint  # the rules first
    assert all(r.judgment.complaint for r in rows[-30:] if r.complaint)
    windows = complaint_windows(rows)
    assert windows[-1].learned > windows[-1].rules
    j = judge.judge("the cabin smelled of old smoke on my trip")
    assert j.complaint and j.learned and "complaint (learned)" in j.reason


def test_labels_of_unknown_departments_are_kept_but_not_learned(judge):
    judge.learner.learn([Label(ROUTE, "x y z", "lounge", "move")])
    assert [lb.value for lb in judge.learner.labels] == ["lounge"]
    judge.learner.retrain()
    assert judge.judge("x y z").department == "help"


def fill_store(tmp_path, judge) -> None:
    store = open_store(tmp_path / "data")
    # Blocks of 25 labels, each learned before the next is sent: how the labels fall into
    # refits decides how the gates score them, so the test must not leave it to timing.
    retrainer = Retrainer(judge.learner, store, delay=0.5).start()
    rows = list(history(2 * GATE_MIN + 60))
    for block, start in enumerate(range(0, len(rows), 25), start=1):
        for i, text, dep, _ in rows[start:start + 25]:
            retrainer.submit(Label(ROUTE, text, dep, "move", by="U1", mention_key=i))
        assert retrainer.wait_idle(block)
    retrainer.stop()
    store.close()


def test_labels_gates_and_model_survive_a_restart(tmp_path, settings):
    first = Judge(settings)
    first.learner = first.new_learner(settings)
    fill_store(tmp_path, first)
    expected = first.judge("the parcel locker code broke this afternoon")
    assert expected.department == "parcels" and expected.learned

    store = open_store(tmp_path / "data")
    second = Judge(settings)
    second.learner = second.new_learner(settings)
    assert load_learner(store, second.learner) is False  # the saved model is current
    assert len(stored_labels(store)) == 2 * GATE_MIN + 60
    assert second.judge("the parcel locker code broke this afternoon") == expected
    store.close()


def test_an_unreadable_model_falls_back_to_the_rules_and_retrains(tmp_path, settings, caplog):
    first = Judge(settings)
    first.learner = first.new_learner(settings)
    fill_store(tmp_path, first)
    store = open_store(tmp_path / "data")
    store.set_meta(MODEL_KEY, {"labels": 999, "blob": "bm90IGEgbW9kZWw="})  # "not a model"
    judge = Judge(settings)
    judge.learner = judge.new_learner(settings)
    text = "the parcel locker door froze at lunch"
    with caplog.at_level(logging.WARNING):
        assert load_learner(store, judge.learner) is True
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1 and "retrained from the" in warnings[0].getMessage()
    assert judge.judge(text).department == "help" and not judge.judge(text).learned
    retrainer = Retrainer(judge.learner, store, delay=0.0).start(refit_now=True)
    assert retrainer.wait_idle(1)
    retrainer.stop()
    assert judge.judge(text).department == "parcels"
    # The refit saved a good model again.
    again = Judge(settings)
    again.learner = again.new_learner(settings)
    assert load_learner(store, again.learner) is False
    store.close()


def test_stopping_does_not_sit_out_the_refit_delay_and_learns_what_it_took(tmp_path, judge):
    store = open_store(tmp_path / "data")
    idle = Retrainer(judge.learner, store, delay=30.0).start()
    started = time.monotonic()
    idle.stop()
    assert time.monotonic() - started < 5 and not idle._thread.is_alive()
    busy = Retrainer(judge.learner, store, delay=30.0).start()
    text = "my neighbour's parcel locker ate my card"
    busy.submit(Label(ROUTE, text, "parcels", "move", by="U1", mention_key="m1"))
    started = time.monotonic()
    busy.stop()  # the label is in its 30 s gathering window
    assert time.monotonic() - started < 5 and busy.refits == 1
    assert judge.judge(text).department == "parcels"
    store.close()


def test_undo_forgets_a_move(tmp_path, judge):
    store = open_store(tmp_path / "data")
    retrainer = Retrainer(judge.learner, store, delay=0.0).start()
    text = "my neighbour's parcel locker ate my card"
    retrainer.submit(Label(ROUTE, text, "parcels", "move", by="U1", mention_key="m1"))
    assert retrainer.wait_idle(1)
    assert judge.judge(text).department == "parcels"
    dropped = retrainer.forget(lambda lb: not (lb.mention_key == "m1" and lb.by == "U1"))
    assert [lb.mention_key for lb in dropped] == ["m1"]
    assert retrainer.wait_idle(2)
    retrainer.stop()
    assert judge.judge(text).department == "help"
    assert stored_labels(store) == []
    store.close()


def test_saved_model_for_other_departments_is_refused(tmp_path, settings, judge):
    store = open_store(tmp_path / "data")
    judge.learner.learn([Label(COMPLAINT, "meh", "yes", "mark")])
    add_label(store, Label(COMPLAINT, "meh", "yes", "mark"))
    save_model(store, judge.learner)
    judge.learner.departments = ["help", "money"]  # as if the config lost a department
    blob = zlib.decompress(base64.b64decode(store.get_meta(MODEL_KEY)["blob"]))
    with pytest.raises(ValueError, match="other departments"):
        judge.learner.restore(blob)
    store.close()
