"""Issue 10, item 15: finding the mentions that were stored but never queued for Slack
(what `serve` does at every start) costs what it finds, not the store's size; and it
agrees with Store's default scan, also after a reopen."""

from __future__ import annotations

from pathlib import Path

from bot.store.base import OutboxItem
from bot.store.codec import MentionCodec
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import mention
from tests.store.test_queries import ScanStore


def _fill(store: TinyDBStore, posted: int) -> list[str]:
    """`posted` mentions with a Slack ts, one only queued, two never queued."""
    for i in range(posted):
        m = store.add_mention(mention(str(i), minutes=i))
        store.update_mention(m.key, lambda x, i=i: setattr(x, "slack_ts", f"{i}.0001")
                             or setattr(x, "slack_channel", "C1") or x)
    queued = store.add_mention(mention(str(posted), minutes=posted))
    store.enqueue(OutboxItem(id=f"mention:{queued.key}", kind="mention", channel="C1",
                             mention_key=queued.key))
    return [store.add_mention(mention(str(posted + 1 + j), minutes=posted + 1 + j)).key
            for j in range(2)]


def test_unposted_mentions_agree_with_the_scan_and_survive_a_reopen(tmp_path: Path):
    store = TinyDBStore.open(tmp_path / "data")
    lost = _fill(store, 50)
    assert [m.key for m in store.unposted_mentions()] == lost
    assert [m.key for m in ScanStore(store).unposted_mentions()] == lost
    store.close()
    store = TinyDBStore.open(tmp_path / "data", read_only=True)
    assert [m.key for m in store.unposted_mentions()] == lost
    store.close()


def test_queue_unposted_decodes_only_what_it_queues(tmp_path: Path, monkeypatch):
    from bot.settings import parse_settings
    from bot.slack.outbox import OutboxQueue
    from tests.e2e.helpers import raw_config

    store = TinyDBStore.open(tmp_path / "data")
    lost = _fill(store, 2000)
    decoded: list[str] = []
    real = MentionCodec.mention

    def counting(self: MentionCodec, held: object):  # noqa: ANN202 - a spy
        m = real(self, held)
        decoded.append(m.key)
        return m

    monkeypatch.setattr(MentionCodec, "mention", counting)
    settings = parse_settings(raw_config(), tmp_path / "earshot.toml", {})
    outbox = OutboxQueue(store, settings)
    assert outbox.queue_unposted() == 2
    assert len(decoded) <= 10, f"decoded {len(decoded)} mentions to find 2"
    assert {i.mention_key for i in store.pending_outbox() if i.kind == "mention"} >= set(lost)
    store.close()


def test_the_index_of_mentions_without_a_message_holds_only_those(tmp_path: Path):
    """unposted_mentions visits this index, not every mention: at start-up it holds only
    what is still waiting for Slack, whatever the store's size."""
    store = TinyDBStore.open(tmp_path / "data")
    lost = _fill(store, 500)
    waiting = {m.number for m in map(store.get_mention, lost)} | {501}  # + the queued one
    assert store._core._unsent == waiting
    store.update_mention(lost[0], lambda x: setattr(x, "slack_ts", "9.9") or x)
    assert store._core._unsent == waiting - {store.get_mention(lost[0]).number}
    store.delete_mentions([lost[1]])
    assert store._core._unsent == {501}
    store.close()
    store = TinyDBStore.open(tmp_path / "data")
    assert store._core._unsent == {501} and store.unposted_mentions() == []
    store.close()
