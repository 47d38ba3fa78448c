"""Corrections (move, undo, complaint flag) against a real store, the outbox recorded,
and the labels they leave for the learner (a real Retrainer on the same store)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot import corrections, workflow
from bot.judgment.learned_store import Retrainer, stored_labels
from bot.mention import State
from bot.slack import blocks, ids
from bot.slack.blocks import MOVE_KEY
from tests.test_workflow import T0, add, env  # noqa: F401 - the env fixture

ANN, BOB = "U1ANN", "U2BOB"


@pytest.fixture
def learning(env):  # noqa: F811
    """A real Retrainer, not started: labels are kept in the store at once and read back
    right after each click (learning them in the background is tested end to end)."""
    from bot.judgment.judge import Judge

    judge = Judge(env.settings)
    env.learning = Retrainer(judge.new_learner(env.settings), env.store, delay=0.0)
    return env.learning


def _events(env, key):  # noqa: F811
    return [(e.kind, e.user, e.data) for e in env.store.events(key)]


def test_a_move_reroutes_clears_the_owner_records_and_posts_a_notice(env, learning):  # noqa: F811
    m = add(env, department="support", text="the gizmo app double charges me")
    workflow.claim(env, m.key, BOB)
    env.clock.now = T0 + timedelta(minutes=5)
    out = corrections.move(env, m.key, ANN, "billing", seen="support")
    assert out.ok and out.code == "moved"
    got = env.store.get_mention(m.key)
    assert (got.department, got.state, got.owner, got.claimed_at) == (
        "billing", State.NEW, None, None)
    assert got.extra[MOVE_KEY]["by"] == ANN and got.extra[MOVE_KEY]["owner"] == BOB
    assert _events(env, m.key)[-1] == ("moved", ANN, {"from": "support", "to": "billing"})
    assert env.outbox.threads[-1] == (m.key, f"moved from support to billing by <@{ANN}>")
    [notice] = env.outbox.messages
    assert notice["channel"] == "CBILLING"
    assert notice["item_id"] == f"move:{m.key}:{(T0 + timedelta(minutes=5)).isoformat()}"
    shown = str(notice["blocks"])
    assert "moved *" in shown and "original message" in shown and ids.CLAIM in shown
    [label] = stored_labels(env.store)
    assert (label.kind, label.value, label.source, label.by, label.previous) == (
        "route", "billing", "move", ANN, "support")
    assert "gizmo app double charges" in label.text and label.mention_key == m.key
    # The message now says who put it there, not the judge's old reason.
    assert f"Moved to *billing* by <@{ANN}> (from support)" in blocks.routing_line(got)


@pytest.mark.parametrize("target, why", [
    ("marketing", "no longer a department"),
    ("support", "already with support"),
    ("leadership", "no longer a department"),
    ("", "Choose a department"),
])
def test_bad_moves_are_refused_in_one_sentence_and_change_nothing(env, learning, target,  # noqa: F811
                                                                   why):
    m = add(env, department="support")
    out = corrections.move(env, m.key, ANN, target)
    assert not out.ok and why in out.message and "\n" not in out.message
    assert env.store.get_mention(m.key).department == "support"
    assert env.store.events(m.key) == [] and env.outbox.messages == []
    assert stored_labels(env.store) == []


def test_unknown_and_answered_mentions_cannot_be_moved(env, learning):  # noqa: F811
    assert corrections.move(env, "nothing:here", ANN, "billing").code == "not_found"
    m = add(env, department="support", state=State.ANSWERED)
    out = corrections.move(env, m.key, ANN, "billing")
    assert not out.ok and "already been answered" in out.message
    assert corrections.cannot_move(env, m) == out.message


def test_a_move_made_after_another_is_refused(env, learning):  # noqa: F811
    m = add(env, department="support")
    assert corrections.move(env, m.key, ANN, "billing", seen="support").ok
    late = corrections.move(env, m.key, BOB, "engineering", seen="support")
    assert not late.ok and "was moved to billing a moment ago" in late.message
    assert env.store.get_mention(m.key).department == "billing"


def test_two_moves_at_the_same_instant_give_one_result(env, learning):  # noqa: F811
    for _ in range(3):
        m = add(env, department="support")
        barrier = threading.Barrier(2)
        outcomes = {}

        def go(user, target, m=m, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            outcomes[user] = corrections.move(env, m.key, user, target, seen="support")

        threads = [threading.Thread(target=go, args=a) for a in ((ANN, "billing"),
                                                                  (BOB, "engineering"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o.ok for o in outcomes.values()) == [False, True]
        winner = next(u for u, o in outcomes.items() if o.ok)
        moves = [e for e in env.store.events(m.key) if e.kind == "moved"]
        assert [e.user for e in moves] == [winner]
    assert len(env.outbox.messages) == 3


def test_only_the_mover_may_undo_and_undo_restores_the_claim(env, learning):  # noqa: F811
    m = add(env, department="support")
    workflow.claim(env, m.key, BOB)
    assert corrections.move(env, m.key, ANN, "billing").ok
    refused = corrections.undo_move(env, m.key, BOB)
    assert not refused.ok and f"only <@{ANN}> can undo" in refused.message
    assert env.store.get_mention(m.key).department == "billing"
    out = corrections.undo_move(env, m.key, ANN)
    assert out.ok
    got = env.store.get_mention(m.key)
    assert (got.department, got.state, got.owner) == ("support", State.CLAIMED, BOB)
    assert got.claimed_at is not None and MOVE_KEY not in got.extra
    assert _events(env, m.key)[-1] == ("move_undone", ANN, {"from": "support", "to": "billing"})
    assert env.outbox.threads[-1] == (
        m.key, f"moved back from billing to support by <@{ANN}> (move undone)")
    assert stored_labels(env.store) == []  # the learner forgets the move
    again = corrections.undo_move(env, m.key, ANN)
    assert not again.ok and "no move to undo" in again.message


def test_undo_is_refused_once_the_new_team_claimed_it(env, learning):  # noqa: F811
    m = add(env, department="support")
    corrections.move(env, m.key, ANN, "billing")
    workflow.claim(env, m.key, BOB)
    out = corrections.undo_move(env, m.key, ANN)
    assert not out.ok and f"<@{BOB}> has claimed" in out.message
    assert env.store.get_mention(m.key).department == "billing"


def test_a_second_move_replaces_the_first_label_and_its_undo_brings_it_back(env, learning):  # noqa: F811
    m = add(env, department="support")
    corrections.move(env, m.key, ANN, "billing")
    env.clock.now = T0 + timedelta(minutes=1)
    corrections.move(env, m.key, BOB, "engineering")
    assert [lb.value for lb in stored_labels(env.store)] == ["engineering"]
    # The first mover's undo no longer applies: the mention has moved on.
    assert "only <@U2BOB> can undo" in corrections.undo_move(env, m.key, ANN).message
    assert corrections.undo_move(env, m.key, BOB).ok
    assert env.store.get_mention(m.key).department == "billing"
    assert [(lb.value, lb.by) for lb in stored_labels(env.store)] == [("billing", ANN)]
    assert corrections.undo_move(env, m.key, ANN).ok  # now Ann's move is the last again
    assert env.store.get_mention(m.key).department == "support"
    assert stored_labels(env.store) == []


def test_marking_flips_the_flag_once_and_keeps_the_last_word_as_a_label(env, learning):  # noqa: F811
    m = add(env, department="support", complaint=True)
    out = corrections.mark(env, m.key, ANN, False)
    assert out.ok and env.store.get_mention(m.key).complaint is False
    assert _events(env, m.key)[-1] == ("marked", ANN, {"complaint": False, "previous": True})
    assert env.outbox.threads[-1] == (m.key, f"<@{ANN}> marked {m.short_id} as not a complaint")
    [label] = stored_labels(env.store)
    assert (label.kind, label.value, label.source, label.previous) == (
        "complaint", "no", "mark", "yes")
    same = corrections.mark(env, m.key, BOB, False)
    assert not same.ok and "already marked as not a complaint" in same.message
    assert corrections.mark(env, m.key, BOB, True).ok
    assert [(lb.value, lb.by) for lb in stored_labels(env.store)] == [("yes", BOB)]
    assert corrections.mark(env, "nothing:here", ANN, True).code == "not_found"


def test_corrections_work_without_learning(env):  # noqa: F811
    m = add(env, department="support")
    assert env.learning is None
    assert corrections.move(env, m.key, ANN, "billing").ok
    assert corrections.undo_move(env, m.key, ANN).ok
    assert corrections.mark(env, m.key, ANN, False).ok


def test_undo_tells_the_team_it_was_moved_to_once(env, learning):  # noqa: F811
    m = add(env, department="support")
    corrections.move(env, m.key, ANN, "billing")
    corrections.undo_move(env, m.key, ANN)
    back = [x for x in env.outbox.messages if x["item_id"].startswith("move-undone:")]
    assert [x["channel"] for x in back] == ["CBILLING"]
    assert f"<@{ANN}> undid the move of *{m.short_id}*: it is back with *support*" in (
        back[0]["text"])


def test_a_move_cut_short_before_its_notice_gets_the_notice_once(env):  # noqa: F811
    from bot.slack.outbox import Outbox

    env.outbox = Outbox(env.store, None, env.settings)  # queues rows; nothing is sent
    m = add(env, department="support")
    done = add(env, department="support")
    assert corrections.move(env, done.key, ANN, "engineering").ok  # its notice is queued
    at = T0.isoformat()

    def moved(x):  # what a crash right after the first of the move's two writes leaves
        x.extra = {**x.extra, MOVE_KEY: {"from": "support", "to": "billing", "by": ANN,
                                         "at": at}}
        x.department = "billing"
        return x

    env.store.update_mention(m.key, moved)
    assert env.store.get_outbox(f"move:{m.key}:{at}") is None
    assert corrections.queue_missing_notices(env) == 1
    row = env.store.get_outbox(f"move:{m.key}:{at}")
    assert row is not None and row.channel == "CBILLING"
    assert f"<@{ANN}> moved *{m.short_id}* from *support* to *billing*" in str(row.payload)
    assert corrections.queue_missing_notices(env) == 0  # once


def test_a_moved_escalation_is_the_new_teams_plain_mention_until_undone(env, learning):  # noqa: F811
    """Released in its new channel it goes back to the queue, not to "escalated"; an
    undo puts the escalation back as it was."""
    m = add(env, department="support")
    assert workflow.escalate(env, m.key, BOB, "engineering", "needs a fix").ok
    escalated_at = env.store.get_mention(m.key).escalated_at
    assert escalated_at is not None
    assert corrections.move(env, m.key, ANN, "billing", seen="engineering").ok
    moved = env.store.get_mention(m.key)
    assert (moved.state, moved.escalated_at) == (State.NEW, None)
    assert workflow.claim(env, m.key, BOB).ok and workflow.release(env, m.key, BOB).ok
    assert env.store.get_mention(m.key).state is State.NEW
    assert corrections.undo_move(env, m.key, ANN).ok
    back = env.store.get_mention(m.key)
    assert (back.department, back.state, back.escalated_at) == (
        "engineering", State.ESCALATED, escalated_at)
