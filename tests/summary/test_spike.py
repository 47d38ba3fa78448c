"""Spike alerts: one alert per spike, to the escalation channel, naming the theme."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.mention import Mention
from bot.store import Store
from bot.summary.jobs import SPIKE_META, check_spike
from tests.summary.helpers import mention, settings

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class RecordingOutbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def message(self, channel, text, *, blocks=None, item_id=None, thread_of=None):
        self.messages.append({"channel": channel, "text": text, "blocks": blocks,
                              "item_id": item_id})


def usual_week(store: Store) -> None:
    """One complaint an hour for the week before the last hour."""
    for h in range(2, 24 * 7):
        store.add_mention(mention("The app is slow today", NOW - timedelta(hours=h)))


def burst(store: Store, count: int, end: datetime, text: str) -> None:
    for i in range(count):
        store.add_mention(mention(text, end - timedelta(minutes=2 + i)))


def test_spike_alerts_once_naming_the_leading_theme(tmp_path, store):
    s = settings(tmp_path)
    outbox = RecordingOutbox()
    usual_week(store)
    burst(store, 6, NOW, "My bag is lost <!channel> & nobody answers")
    burst(store, 1, NOW, "I was on hold for an hour")
    assert check_spike(s, store, outbox, NOW) is not None
    # The spike goes on; checks every 5 minutes must not alert again.
    for minutes in (5, 10, 15, 30):
        burst(store, 1, NOW + timedelta(minutes=minutes), "Another lost bag here")
        assert check_spike(s, store, outbox, NOW + timedelta(minutes=minutes)) is None
    assert len(outbox.messages) == 1
    alert = outbox.messages[0]
    assert alert["channel"] == "#leadership"
    body = alert["blocks"][0]["text"]["text"]
    assert "7 complaints in the last hour" in body and "usual 1/hour" in body
    assert body.startswith("<!subteam^S0LEADERS> ")  # the leadership group is pinged
    assert "lost or delayed bags" in body
    assert "&lt;!channel&gt; &amp; nobody" in body and "<!channel>" not in body
    assert "<https://social.example/" in body  # examples linked
    assert store.get_meta(SPIKE_META)["active"] is True


def test_below_multiple_or_minimum_no_alert(tmp_path, store, new_store):
    s = settings(tmp_path)
    outbox = RecordingOutbox()
    usual_week(store)
    burst(store, 3, NOW, "My bag is lost")  # 3 <= 3 x 1/hour
    assert check_spike(s, store, outbox, NOW) is None
    quiet = new_store("quiet")  # no history: any rate is "above", but under min_count 5
    burst(quiet, 4, NOW, "My bag is lost")
    assert check_spike(s, quiet, outbox, NOW) is None
    assert outbox.messages == []


def test_a_later_separate_spike_alerts_again(tmp_path, store):
    s = settings(tmp_path)
    outbox = RecordingOutbox()
    usual_week(store)
    burst(store, 8, NOW, "My bag is lost")
    check_spike(s, store, outbox, NOW)
    later = NOW + timedelta(hours=3)  # the burst is over: a check sees no spike
    assert check_spike(s, store, outbox, later) is None
    assert store.get_meta(SPIKE_META)["active"] is False
    burst(store, 9, later + timedelta(hours=1), "Refund never arrived")
    assert check_spike(s, store, outbox, later + timedelta(hours=1)) is not None
    assert len(outbox.messages) == 2
    assert outbox.messages[0]["item_id"] != outbox.messages[1]["item_id"]


class CountingStore:
    """Wraps a real store, recording the `since` of every iter_mentions call."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.reads: list[datetime | None] = []

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        self.reads.append(since)
        return self._store.iter_mentions(since)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_checks_read_the_last_hour_and_recount_the_week_only_hourly(tmp_path, store):
    s = settings(tmp_path)
    store, outbox = CountingStore(store), RecordingOutbox()
    usual_week(store)
    for minutes in (0, 5, 10, 55, 65):
        check_spike(s, store, outbox, NOW + timedelta(minutes=minutes))
    week_reads = [r for r in store.reads if r is not None and r < NOW - timedelta(days=6)]
    assert len(week_reads) == 2  # at +0 and again at +65 (an hour later)
    assert len(store.reads) == 5 + 2
