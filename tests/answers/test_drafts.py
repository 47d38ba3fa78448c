"""The draft state machine on the real store: one winner per transition, no going back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.answers import drafts
from bot.store import open_store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_of_many_simultaneous_approvers_exactly_one_wins(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "mastodon:1", "UAUTHOR", "hello", NOW)
    barrier = threading.Barrier(8)
    results: list[drafts.Transition] = []
    lock = threading.Lock()

    def click(user: str) -> None:
        barrier.wait()
        moved = drafts.begin_publish(store, draft.id, user, NOW)
        with lock:
            results.append(moved)

    threads = [threading.Thread(target=click, args=(f"UPUB{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    stored = drafts.get(store, draft.id)
    assert stored is not None and stored.status == drafts.PUBLISHING
    assert stored.approver == winners[0].draft.approver
    assert stored.attempts == 1


def test_published_draft_cannot_be_approved_rejected_or_retried(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "x:1", "UA", "hi", NOW)
    assert drafts.begin_publish(store, draft.id, "UP", NOW).won
    assert drafts.mark_published(store, draft.id, "https://x/1", "1", NOW).won
    assert not drafts.begin_publish(store, draft.id, "UQ", NOW).won
    assert not drafts.begin_publish(store, draft.id, "UQ", NOW, retry=True).won
    assert not drafts.reject(store, draft.id, "UQ", "no", NOW).won
    assert not drafts.mark_failed(store, draft.id, "late error", NOW).won
    final = drafts.get(store, draft.id)
    assert final is not None
    assert (final.status, final.url, final.approver) == (drafts.PUBLISHED, "https://x/1", "UP")


def test_failed_draft_can_be_retried_once_and_keeps_its_approver(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "x:1", "UA", "hi", NOW)
    drafts.begin_publish(store, draft.id, "UP", NOW)
    assert drafts.mark_failed(store, draft.id, "HTTP 500", NOW).won
    assert not drafts.begin_publish(store, draft.id, "UQ", NOW).won  # approve is not retry
    first = drafts.begin_publish(store, draft.id, "UQ", NOW, retry=True)
    second = drafts.begin_publish(store, draft.id, "UR", NOW, retry=True)
    assert first.won and not second.won
    assert first.draft is not None
    assert (first.draft.approver, first.draft.attempts, first.draft.error) == ("UP", 2, None)


def test_edit_replaces_the_text_and_marks_it_edited(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "x:1", "UA", "draft text", NOW)
    moved = drafts.begin_publish(store, draft.id, "UP", NOW, text="better text")
    assert moved.won and moved.draft is not None
    assert (moved.draft.text, moved.draft.edited) == ("better text", True)


def test_rejected_draft_cannot_be_approved(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "x:1", "UA", "hi", NOW)
    assert drafts.reject(store, draft.id, "UP", "tone", NOW).won
    assert not drafts.begin_publish(store, draft.id, "UP", NOW).won
    final = drafts.get(store, draft.id)
    assert final is not None and (final.status, final.reason) == (drafts.REJECTED, "tone")


def test_unknown_draft_is_never_won(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert drafts.begin_publish(store, "nope", "UP", NOW) == drafts.Transition(False, None)
    assert drafts.get(store, "nope") is None


def test_drafts_survive_reopening_the_store(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    draft = drafts.create(store, "x:1", "UA", "hi", NOW)
    store.close()
    again = drafts.get(open_store(tmp_path), draft.id)
    assert again is not None and again.text == "hi" and again.status == drafts.DRAFT
