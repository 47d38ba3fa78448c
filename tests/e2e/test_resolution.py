"""First-contact resolution through the real app: an answer given in Slack, the same
customer coming back (or not) through the real pipeline, the link in both threads and
the rates, with the right answers written out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot import resolution
from bot.ingest.pipeline import Pipeline
from bot.mention import Mention
from bot.slack import ids
from bot.slack import views as v
from tests.e2e.helpers import (
    answer_values,
    signed_post,
    start_harness,
    view_submission,
    wait_for,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BOB = "U2BOB"
COMPLAINT = "Acme lost my bag again and support is useless, terrible service"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(slack, tmp_path):
    clock = Clock()
    harness = start_harness(slack, tmp_path, clock=clock)
    try:
        yield harness, clock
    finally:
        harness.stop()


def incoming(native_id: str, author: str, at: datetime, source: str = "hackernews",
             text: str = COMPLAINT) -> Mention:
    return Mention(source=source, native_id=native_id, text=text,
                   url=f"https://news.ycombinator.com/item?id={native_id}", created_at=at,
                   author=author)


def open_home(harness, user: str) -> str:
    before = len(harness.slack.calls_to("views.publish"))
    event = {"token": "x", "team_id": "T001", "api_app_id": "AEARSHOT",
             "type": "event_callback", "event_id": f"Ev{before}", "event_time": 1,
             "event": {"type": "app_home_opened", "user": user, "channel": "DX",
                       "tab": "home", "event_ts": "1.000001"}}
    resp = signed_post(harness.url, json.dumps(event), "application/json")
    assert resp.status_code == 200
    calls = wait_for(lambda: harness.slack.calls_to("views.publish")[before:],
                     what="views.publish")
    return json.dumps(calls[0].params["view"]["blocks"])


def answer(harness, mention: Mention, user: str) -> None:
    meta = v.metadata(key=mention.key, channel=mention.slack_channel, mode="record")
    resp = view_submission(harness.url, ids.ANSWER_VIEW, meta, answer_values("Sorry!"),
                           user=user)
    assert resp.status_code == 200
    meta = resolution.author_key(mention.source, mention.author)
    wait_for(lambda: (harness.store.get_meta(meta) or {}).get("key") == mention.key,
             what="the answer to be remembered")


def test_a_returning_customer_is_linked_and_counts_against_the_first_answer(world):
    harness, clock = world
    pipeline = Pipeline(harness.settings, harness.store, poster=harness.outbox, clock=clock)
    (first,) = pipeline.process([incoming("100", "carol", T0)]).new
    harness.drain()
    first = harness.mention(first.key)
    answer(harness, first, BOB)

    # Two days and three hours later the same customer complains again; another author
    # and the same author on another source are not "coming back".
    clock.now = T0 + timedelta(days=2, hours=4)
    later = T0 + timedelta(days=2, hours=3)
    result = pipeline.process([  # different words: copies of one story would be merged
        incoming("101", "carol", later, text="Acme still has not found my bag, awful"),
        incoming("102", "dave", later, text="Acme support kept me on hold for hours, awful"),
        incoming("103", "carol", later, source="reddit",
                 text="Acme broke my suitcase and nobody cares, terrible")])
    again, other, elsewhere = sorted(result.new, key=lambda m: m.native_id)
    assert again.complaint
    harness.drain_until(lambda: harness.thread_of(again), what="the came-back line")

    (line,) = [m["text"] for m in harness.thread_of(again)]
    assert line == (f":repeat: Same customer came back 2 days after <@{BOB}> answered "
                    f"{first.short_id}")
    assert any(f"came back 2 days after this was answered: {again.short_id}" in m["text"]
               for m in harness.thread_of(first))
    assert harness.mention(again.key).extra["came_back_to"] == first.key
    for m in (other, elsewhere):
        assert "came_back_to" not in harness.mention(m.key).extra
    (event,) = [e for e in harness.store.events(first.key) if e.kind == resolution.CAME_BACK]
    assert event.data["new_key"] == again.key and event.user == BOB

    # App Home shows it too (30 days; the answer is decided: the customer came back).
    shown = open_home(harness, BOB)
    assert "Resolved at first contact (30 days)*: 0% (0 of 1)" in shown
    assert f"<@{BOB}> 0% (0 of 1)" in shown

    rates = resolution.resolution_for(harness.store, T0 + timedelta(days=10), 7)
    assert (rates.overall.resolved, rates.overall.came_back, rates.overall.pending) == (0, 1, 0)
    assert [(r.name, r.came_back) for r in rates.by_answerer] == [(BOB, 1)]
    assert [(r.name, r.rate) for r in rates.by_department] == [(first.department, 0.0)]


def test_no_return_within_the_window_counts_as_resolved(world):
    harness, clock = world
    pipeline = Pipeline(harness.settings, harness.store, poster=harness.outbox, clock=clock)
    (first,) = pipeline.process([incoming("200", "erin", T0)]).new
    harness.drain()
    answer(harness, harness.mention(first.key), BOB)

    # Back after 8 days: outside resolution_days (7), a new problem, not a return.
    clock.now = T0 + timedelta(days=8)
    (late,) = pipeline.process([incoming("201", "erin", clock.now,
                                         text="Acme lost my bag once more, awful")]).new
    harness.drain()
    assert "came_back_to" not in harness.mention(late.key).extra
    assert not [e for e in harness.store.events(first.key) if e.kind == resolution.CAME_BACK]

    rates = resolution.resolution_for(harness.store, T0 + timedelta(days=9), 7)
    assert (rates.overall.resolved, rates.overall.came_back) == (1, 0)
    assert rates.overall.rate == 1.0
