"""Claim, release, escalate and reminders against a real store (outbox recorded)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import workflow
from bot.mention import State
from bot.settings import parse_settings
from bot.slack.services import Services
from bot.store import open_store
from bot.store.tinydb_store import TinyDBStore
from tests.e2e.helpers import new_mention, raw_config

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class RecordingOutbox:
    def __init__(self) -> None:
        self.refreshed: list[str] = []
        self.threads: list[tuple[str, str]] = []
        self.messages: list[dict] = []
        self.lock = threading.Lock()

    def refresh(self, key: str) -> None:
        with self.lock:
            self.refreshed.append(key)

    def thread(self, key: str, text: str, **kw) -> None:
        with self.lock:
            self.threads.append((key, text))

    def message(self, channel: str, text: str, **kw) -> None:
        with self.lock:
            self.messages.append({"channel": channel, "text": text, **kw})


class ReadersMeet(TinyDBStore):
    """The real store, except that callers of open_mentions wait for each other there:
    racing reminder runs then all read the escalation as not yet reminded before any of
    them can mark it, so only the atomic flag can keep the reminder to one."""

    barrier: threading.Barrier | None = None

    def open_mentions(self, *args, **kwargs):
        found = super().open_mentions(*args, **kwargs)
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        return found


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(tmp_path: Path):
    settings = parse_settings(raw_config(), tmp_path / "earshot.toml", {})
    store = open_store(tmp_path / "data")
    clock = Clock(T0)
    services = Services(settings=settings, store=store, outbox=RecordingOutbox(), clock=clock)
    yield services
    store.close()


def add(services: Services, **kw):
    mention = new_mention(**kw)
    mention.slack_channel, mention.slack_ts = "CSUPPORT", "1700000000.000100"
    mention.extra = {"permalink": "https://acme.slack.com/archives/CSUPPORT/p1700000000000100"}
    return services.store.add_mention(mention)


def test_first_claim_wins_and_the_second_hears_who_has_it_since_when(env):
    m = add(env)
    first = workflow.claim(env, m.key, "U1ANN")
    assert first.ok and first.code == "claimed"
    second = workflow.claim(env, m.key, "U2BOB")
    assert not second.ok and second.code == "already_claimed"
    assert f"{m.short_id} is already claimed by <@U1ANN> since <!date^{int(T0.timestamp())}" \
        in second.message
    stored = env.store.get_mention(m.key)
    assert (stored.state, stored.owner, stored.claimed_at) == (State.CLAIMED, "U1ANN", T0)
    assert env.outbox.refreshed == [m.key]
    assert env.outbox.threads == [(m.key, f"<@U1ANN> claimed {m.short_id}")]
    assert [(e.kind, e.user) for e in env.store.events(m.key)] == [("claimed", "U1ANN")]
    again = workflow.claim(env, m.key, "U1ANN")
    assert again.ok and again.code == "already_yours"
    assert len(env.store.events(m.key)) == 1


def test_many_simultaneous_claims_make_exactly_one_owner(env):
    m = add(env)
    users = [f"U{i}X" for i in range(8)]
    barrier = threading.Barrier(len(users))
    outcomes = []

    def go(user: str) -> None:
        barrier.wait()
        outcomes.append(workflow.claim(env, m.key, user))

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.code == "claimed"]
    assert len(winners) == 1
    owner = env.store.get_mention(m.key).owner
    assert winners[0].mention.owner == owner
    assert sum(o.code == "already_claimed" for o in outcomes) == len(users) - 1
    assert [e.user for e in env.store.events(m.key) if e.kind == "claimed"] == [owner]


def test_claim_refuses_unknown_and_answered_mentions(env):
    assert workflow.claim(env, "hackernews:nope", "U1ANN").code == "not_found"
    m = add(env)

    def answered(x):
        x.state = State.ANSWERED
        return x

    env.store.update_mention(m.key, answered)
    outcome = workflow.claim(env, m.key, "U1ANN")
    assert outcome.code == "answered" and "already been answered" in outcome.message


def test_only_the_owner_releases_and_the_mention_goes_back_to_its_queue(env):
    m = add(env)
    assert workflow.release(env, m.key, "U1ANN").code == "not_claimed"
    workflow.claim(env, m.key, "U1ANN")
    refused = workflow.release(env, m.key, "U2BOB")
    assert refused.code == "not_owner" and "Only <@U1ANN>" in refused.message
    done = workflow.release(env, m.key, "U1ANN")
    assert done.ok
    stored = env.store.get_mention(m.key)
    assert (stored.state, stored.owner, stored.claimed_at) == (State.NEW, None, None)
    assert env.outbox.threads[-1][1].startswith("<@U1ANN> released")
    assert workflow.claim(env, m.key, "U2BOB").ok


def test_escalate_moves_the_mention_clears_the_owner_and_pings_the_target(env):
    m = add(env, department="support", text="charged twice <!channel> & more")
    workflow.claim(env, m.key, "U1ANN")
    env.clock.now = T0 + timedelta(minutes=5)
    outcome = workflow.escalate(env, m.key, "U1ANN", "Billing", "Charged twice & <b>",
                                "urgent")
    assert outcome.ok, outcome.message
    stored = env.store.get_mention(m.key)
    assert stored.state is State.ESCALATED and stored.department == "billing"
    assert stored.owner is None and stored.escalated_at == env.clock.now
    event = env.store.events(m.key)[-1]
    assert event.kind == "escalated" and event.user == "U1ANN"
    assert event.data == {"from": "support", "to": "billing", "reason": "Charged twice & <b>",
                          "urgency": "urgent"}
    [summary] = env.outbox.messages
    assert summary["channel"] == "CBILLING"
    shown = summary["text"] + str(summary["blocks"])
    assert "<!subteam^SBILLINGLEAD>" in shown
    assert "https://acme.slack.com/archives/CSUPPORT/p1700000000000100" in shown
    assert "Charged twice &amp; &lt;b&gt;" in shown and "<b>" not in shown
    assert "<!channel>" not in shown
    assert "escalated to billing (urgent)" in env.outbox.threads[-1][1]
    # The billing team claims it; releasing sends it back to the escalation queue.
    assert workflow.claim(env, m.key, "U3CAT").ok
    workflow.release(env, m.key, "U3CAT")
    assert env.store.get_mention(m.key).state is State.ESCALATED


@pytest.mark.parametrize(("target", "reason", "urgency", "code", "words"), [
    ("support", "why", "normal", "bad_target", "already with support"),
    ("marketing", "why", "normal", "bad_target", "`marketing` is not a department"),
    ("billing", "   ", "normal", "bad_reason", "give a reason"),
    ("billing", "why", "asap", "bad_urgency", "Urgency must be one of normal, urgent"),
])
def test_escalate_refuses_bad_input_in_words(env, target, reason, urgency, code, words):
    m = add(env, department="support")
    outcome = workflow.escalate(env, m.key, "U1ANN", target, reason, urgency)
    assert (outcome.ok, outcome.code) == (False, code) and words in outcome.message
    assert env.store.get_mention(m.key).state is State.NEW
    assert env.outbox.messages == []


def test_escalate_to_leadership_uses_the_escalation_channel_and_group(env):
    m = add(env, department="engineering")
    assert workflow.escalate(env, m.key, "U1ANN", "leadership", "press").ok
    [summary] = env.outbox.messages
    assert summary["channel"] == "CLEADERSHIP" and "<!subteam^SLEADERS>" in summary["text"]
    assert workflow.escalation_targets(env, env.store.get_mention(m.key))[-1] != "leadership"


def test_one_reminder_for_an_escalation_left_unclaimed(env, tmp_path):
    stale, claimed = add(env), add(env)
    for m in (stale, claimed):
        workflow.escalate(env, m.key, "U1ANN", "billing", "why")
    workflow.claim(env, claimed.key, "U2BOB")
    assert workflow.remind_stale_escalations(env, T0 + timedelta(minutes=29)) == 0
    later = T0 + timedelta(minutes=31)
    results = []
    racing = ReadersMeet.open(tmp_path / "data")  # a second handle on the same store
    racing.barrier = threading.Barrier(4)
    racers = dataclasses.replace(env, store=racing)
    threads = [threading.Thread(target=lambda: results.append(
        workflow.remind_stale_escalations(racers, later))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    racing.close()
    assert sum(results) == 1
    reminders = [m for m in env.outbox.messages if "Reminder" in m["text"]]
    assert len(reminders) == 1 and reminders[0]["channel"] == "CBILLING"
    assert stale.short_id in reminders[0]["text"] and "<!subteam^SBILLINGLEAD>" in \
        reminders[0]["text"]
    assert [e.kind for e in env.store.events(stale.key)].count("reminded") == 1
    assert workflow.remind_stale_escalations(env, later + timedelta(hours=5)) == 0


def test_find_mention_by_short_id_permalink_key_and_post_url(env):
    m = add(env)
    for ref in (m.short_id, m.short_id.lower(), str(m.number), f"E{m.number}",
                m.extra["permalink"], f"<{m.extra['permalink']}>", m.key, m.url):
        found = workflow.find_mention(env.store, ref)
        assert found is not None and found.key == m.key, ref
    for ref in ("E-999", "https://acme.slack.com/archives/CSUPPORT/p1700000000000999",
                "nothing:here", ""):
        assert workflow.find_mention(env.store, ref) is None, ref


def test_oldest_unclaimed_is_the_head_of_the_departments_queue(env):
    first = add(env, department="billing")
    second = add(env, department="billing")
    add(env, department="support")
    assert workflow.oldest_unclaimed(env.store, "billing").key == first.key
    workflow.claim(env, first.key, "U1ANN")
    assert workflow.oldest_unclaimed(env.store, "billing").key == second.key
    workflow.claim(env, second.key, "U1ANN")
    assert workflow.oldest_unclaimed(env.store, "billing") is None


def test_an_escalation_to_a_department_is_kept_as_a_routing_label(env):
    from bot.judgment.judge import Judge
    from bot.judgment.learned_store import Retrainer, stored_labels

    judge = Judge(env.settings)
    judge.learner = judge.new_learner(env.settings)
    env.learning = Retrainer(judge.learner, env.store, delay=0.0).start()
    try:
        m = add(env, department="support", text="the gizmo app eats my invoices")
        assert workflow.escalate(env, m.key, "U1ANN", "billing", "their money").ok
        assert env.learning.wait_idle(1)
        [label] = stored_labels(env.store)
        assert (label.kind, label.value, label.source, label.by, label.previous) == (
            "route", "billing", "escalation", "U1ANN", "support")
        assert "gizmo app eats my invoices" in label.text and label.mention_key == m.key
        # The learner has it: a near copy of the post now goes to billing.
        j = judge.judge(label.text)
        assert (j.department, j.learned) == ("billing", True)
        # Leadership is not a department: no routing label.
        m2 = add(env, department="support", text="a second story entirely")
        assert workflow.escalate(env, m2.key, "U1ANN", "leadership", "press").ok
        assert len(stored_labels(env.store)) == 1
    finally:
        env.learning.stop()
