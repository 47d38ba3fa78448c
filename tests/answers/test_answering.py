"""bot.answers.answering with the real store, the real outbox, the Slack stand-in and the write
stand-in: record / publish / approval, failures and retry, who may decide."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.answers import answering, drafts
from bot.answers.publishers import Publishers
from bot.app import build_services
from bot.judgment.judge import Judge
from bot.judgment.learned_store import Retrainer, stored_labels
from bot.mention import Mention, State
from bot.slack import ids
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.slack.services import Services
from bot.store import open_store
from tests.answers.conftest import make_settings
from tests.answers.standins import WriteStandIn
from tests.slack_standin import SlackStandIn

AUTHOR, PUB, PUB2 = "UAUTHOR", "UPUB", "UPUB2"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class World:
    services: Services
    outbox: Outbox
    slack: SlackStandIn
    writes: WriteStandIn

    def add(self, source: str = "mastodon", **extra: Any) -> Mention:
        if source == "bluesky" and not extra:
            extra = {"uri": "at://did:plc:c/app.bsky.feed.post/1", "cid": "bafy1"}
        m = Mention(source, f"{len(self.slack.messages) + 1}77", "Acme is down again",
                    f"https://example.com/{source}/1", NOW, author="cust",
                    department="support", extra=extra)
        stored = self.services.store.add_mention(m)
        self.outbox.post_mention(stored)
        self.outbox.drain(max_seconds=5)
        return self.services.store.get_mention(stored.key)

    def thread(self, m: Mention) -> list[dict[str, Any]]:
        self.outbox.drain(max_seconds=5)
        m = self.services.store.get_mention(m.key)
        return [x for x in self.slack.messages.get(m.slack_channel, [])
                if x.get("thread_ts") == m.slack_ts and x["ts"] != m.slack_ts]

    def kinds(self, m: Mention) -> list[str]:
        return [e.kind for e in self.services.store.events(m.key)]


def _world(slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path, **kw: Any) -> World:
    settings = make_settings(tmp_path, writes.url, slack_url=slack.url,
                             publishers=kw.pop("publishers", (PUB, PUB2)), **kw)
    store = open_store(settings.data_dir)
    client = make_client(settings.slack)
    outbox = Outbox(store, client, settings, rate_per_second=1000, burst=1000)
    services = build_services(settings, store, client=client, outbox=outbox,
                              clock=lambda: NOW)
    return World(services, outbox, slack, writes)


@pytest.fixture
def world(slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> Iterator[World]:
    yield _world(slack, writes, tmp_path)


def _buttons(message: dict[str, Any]) -> list[str]:
    return [el["action_id"] for b in message.get("blocks") or [] if b["type"] == "actions"
            for el in b["elements"]]


def test_answer_mode_follows_config_source_and_author(world: World, slack: SlackStandIn,
                                                      writes: WriteStandIn,
                                                      tmp_path: Path) -> None:
    masto = world.add("mastodon")
    assert answering.answer_mode(world.services, masto, PUB) == "publish"
    assert answering.answer_mode(world.services, masto, AUTHOR) == "approval"
    hn = world.add("hackernews")
    assert answering.answer_mode(world.services, hn, PUB) == "record"
    off = _world(slack, writes, tmp_path / "off", publish=False)
    assert answering.answer_mode(off.services, masto, PUB) == "record"
    no_token = _world(slack, writes, tmp_path / "nt", env={"MASTODON_TOKEN": ""})
    assert answering.answer_mode(no_token.services, masto, PUB) == "record"


def test_publisher_answer_is_published_once_and_audited(world: World) -> None:
    m = world.add("mastodon")
    outcome = answering.submit_answer(world.services, m.key, PUB, "We're fixing it <now> & soon")
    assert outcome.status == "published"
    [req] = world.writes.to("/api/v1/statuses")
    assert req.body["status"] == "We're fixing it <now> & soon"
    assert req.body["in_reply_to_id"] == m.native_id
    assert outcome.url and outcome.url.endswith(f"/@acme/{outcome.url.rsplit('/', 1)[-1]}")
    stored = world.services.store.get_mention(m.key)
    assert stored.state is State.ANSWERED and stored.answered_at == NOW
    [published] = [e for e in world.services.store.events(m.key) if e.kind == "published"]
    assert published.user == PUB
    assert published.data["author"] == PUB and published.data["approver"] == PUB
    assert published.data["text"] == "We're fixing it <now> & soon"
    assert published.data["url"] == outcome.url
    [answered] = [e for e in world.services.store.events(m.key) if e.kind == "answered"]
    assert answered.data == {"text": "We're fixing it <now> & soon", "published": True,
                             "url": outcome.url}
    [line] = world.thread(m)
    assert outcome.url in line["text"] and "&lt;now&gt; &amp; soon" in line["text"]
    assert "<now>" not in line["text"]


def test_non_publisher_answer_waits_for_approval_and_pings_the_lead(world: World) -> None:
    m = world.add("x")
    outcome = answering.submit_answer(world.services, m.key, AUTHOR, "Sorry!")
    assert outcome.status == "awaiting_approval"
    assert world.writes.requests == []
    [draft_msg] = world.thread(m)
    assert _buttons(draft_msg) == [ids.APPROVE, ids.EDIT_DRAFT, ids.REJECT]
    assert "<!subteam^SSUPPORTLEAD>" in draft_msg["text"]
    assert world.services.store.get_mention(m.key).state is State.NEW
    assert sorted(world.kinds(m)) == ["draft", "posted"]


def test_two_simultaneous_approvers_publish_once(world: World) -> None:
    m = world.add("x")
    answering.submit_answer(world.services, m.key, AUTHOR, "Sorry!")
    draft_id = next(e.data["draft_id"] for e in world.services.store.events(m.key)
                    if e.kind == "draft")
    barrier = threading.Barrier(2)
    outcomes: list[answering.AnswerOutcome] = []

    def approve(user: str) -> None:
        barrier.wait()
        outcomes.append(answering.approve(world.services, draft_id, user))

    threads = [threading.Thread(target=approve, args=(u,)) for u in (PUB, PUB2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.status for o in outcomes) == ["published", "refused"]
    assert len(world.writes.to("/2/tweets")) == 1
    assert world.kinds(m).count("published") == 1
    # The author hears the outcome, ephemerally in the mention's channel.
    told = [e for e in world.slack.ephemerals if e.get("user") == AUTHOR]
    assert len(told) == 1 and "approved your reply" in told[0]["text"]


def test_only_publishers_may_approve(world: World) -> None:
    m = world.add("mastodon")
    answering.submit_answer(world.services, m.key, AUTHOR, "hello")
    draft_id = next(e.data["draft_id"] for e in world.services.store.events(m.key)
                    if e.kind == "draft")
    outcome = answering.approve(world.services, draft_id, "UOTHER")
    assert outcome.status == "refused" and "Only publishers" in outcome.notice
    assert world.writes.requests == []
    assert drafts.get(world.services.store, draft_id).status == drafts.DRAFT


def test_edit_publishes_the_edited_text(world: World) -> None:
    m = world.add("bluesky")
    answering.submit_answer(world.services, m.key, AUTHOR, "draft wording")
    draft_id = next(e.data["draft_id"] for e in world.services.store.events(m.key)
                    if e.kind == "draft")
    outcome = answering.approve(world.services, draft_id, PUB, text="final wording")
    assert outcome.status == "published"
    [req] = world.writes.to("createRecord")
    assert req.body["record"]["text"] == "final wording"
    published = [e for e in world.services.store.events(m.key) if e.kind == "published"]
    assert published[0].data["text"] == "final wording"
    assert published[0].data["author"] == AUTHOR and published[0].data["approver"] == PUB


def test_reject_publishes_nothing_and_tells_the_author_why(world: World) -> None:
    m = world.add("mastodon")
    answering.submit_answer(world.services, m.key, AUTHOR, "meh")
    draft_id = next(e.data["draft_id"] for e in world.services.store.events(m.key)
                    if e.kind == "draft")
    outcome = answering.reject(world.services, draft_id, PUB, "Too curt <b>")
    assert outcome.status == "rejected"
    assert answering.approve(world.services, draft_id, PUB2).status == "refused"
    assert world.writes.requests == []
    [told] = [e for e in world.slack.ephemerals if e.get("user") == AUTHOR]
    assert "Too curt &lt;b&gt;" in told["text"] and "rewrite" in told["text"]
    [rejected] = [e for e in world.services.store.events(m.key) if e.kind == "rejected"]
    assert rejected.data == {"draft_id": draft_id, "reason": "Too curt <b>"}


@pytest.mark.parametrize("fault", [{"status": 403}, {"status": 503}, {"hang": 1.5}])
def test_failed_publish_is_honest_and_retry_publishes_once(
        world: World, fault: dict[str, Any]) -> None:
    world.services.publishers = Publishers(
        world.services.settings, world.services.store, world.services.client,
        clock=lambda: NOW, timeout=0.3)
    m = world.add("x")
    world.writes.fail_next("/2/tweets", **fault)
    outcome = answering.submit_answer(world.services, m.key, PUB, "We're on it")
    assert outcome.status == "publish_failed" and "Not published" in outcome.notice
    assert world.services.store.get_mention(m.key).state is State.NEW
    [failed] = world.thread(m)
    assert _buttons(failed) == [ids.RETRY_PUBLISH]
    draft_id = failed["blocks"][-1]["elements"][0]["value"]
    assert drafts.get(world.services.store, draft_id).status == drafts.PUBLISH_FAILED
    [event] = [e for e in world.services.store.events(m.key) if e.kind == "publish_failed"]
    assert event.data["draft_id"] == draft_id and event.data["error"]

    again = answering.retry(world.services, draft_id, PUB)
    assert again.status == "published"
    assert answering.retry(world.services, draft_id, PUB).status == "refused"
    assert len(world.writes.to("/2/tweets")) == 2  # the failed try and the one that worked
    assert world.kinds(m).count("published") == 1
    assert world.services.store.get_mention(m.key).state is State.ANSWERED


def test_publish_off_records_and_never_calls_a_write_api(
        slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> None:
    w = _world(slack, writes, tmp_path, publish=False)
    m = w.add("mastodon")
    outcome = answering.submit_answer(w.services, m.key, PUB, "thanks")
    assert outcome.status == "recorded"
    assert "reply on Mastodon" in outcome.notice
    assert writes.requests == []
    assert w.services.store.get_mention(m.key).state is State.ANSWERED
    [answered] = [e for e in w.services.store.events(m.key) if e.kind == "answered"]
    assert answered.data == {"text": "thanks", "published": False, "url": None}
    [line] = w.thread(m)
    assert "https://example.com/mastodon/1" in line["text"]


def test_too_long_answer_is_not_published(world: World) -> None:
    m = world.add("x")
    outcome = answering.submit_answer(world.services, m.key, PUB, "a" * 281)
    assert outcome.status == "error" and "Too long for X" in outcome.notice
    assert world.writes.requests == []


def test_unknown_mention_is_answered_in_words(world: World) -> None:
    outcome = answering.submit_answer(world.services, "mastodon:nope", PUB, "hi")
    assert outcome.status == "error" and "no longer exists" in outcome.notice


def test_an_answer_in_place_confirms_the_department_once(
        slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> None:
    w = _world(slack, writes, tmp_path, publish=False)
    judge = Judge(w.services.settings)
    learner = judge.new_learner(w.services.settings)
    w.services.learning = Retrainer(learner, w.services.store, delay=0.0).start()
    try:
        m = w.add("mastodon")
        assert answering.submit_answer(w.services, m.key, PUB, "thanks").status == "recorded"
        assert w.services.learning.wait_idle(1)
        [label] = stored_labels(w.services.store)
        assert (label.kind, label.value, label.source, label.mention_key) == (
            "route", "support", "confirm", m.key)
        assert label.text == "Acme is down again"
        assert [lb.source for lb in learner.labels] == ["confirm"]
    finally:
        w.services.learning.stop()
