"""Retention: answered mentions older than `[store] keep_days` are deleted, with their
events and finished outbox rows, by a daily job; open, escalated and claimed ones never
are. What is deleted is still counted: per day of creation, how many mentions and
complaints, per department, kept in the meta value RETENTION_COUNTS, so trends over
longer periods than the store keeps remain possible (`counts_by_day`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.mention import Mention, State
from bot.store.base import Store

log = logging.getLogger(__name__)

RETENTION_COUNTS = "retention:counts"
BATCH = 2000


@dataclass
class Pruned:
    mentions: int = 0
    cutoff: datetime | None = None


def closed(mention: Mention) -> bool:
    """Done with: answered. Open (new, or escalated without an owner) and claimed
    mentions are someone's work and are never pruned."""
    return mention.state is State.ANSWERED


def prune(store: Store, keep_days: int, now: datetime,
          on_delete: Callable[[Store, list[Mention]], object] | None = None) -> Pruned:
    """Delete closed mentions created more than `keep_days` before `now`, in batches;
    record their counts first (a crash between the two counts one batch twice at most,
    never loses one). `on_delete(store, batch)` runs after each batch is deleted, for
    what higher layers keep about those mentions."""
    cutoff = now - timedelta(days=keep_days)
    result = Pruned(cutoff=cutoff)
    batch: list[Mention] = []
    for mention in store.iter_mentions():  # oldest first: stop at the cutoff
        if mention.created_at >= cutoff:
            break
        if closed(mention):
            batch.append(mention)
            if len(batch) >= BATCH:
                result.mentions += _delete(store, batch, on_delete)
                batch = []
    if batch:
        result.mentions += _delete(store, batch, on_delete)
    if result.mentions:
        log.info("retention: deleted %d answered mentions created before %s",
                 result.mentions, cutoff.date().isoformat())
    return result


def _delete(store: Store, batch: list[Mention],
            on_delete: Callable[[Store, list[Mention]], object] | None) -> int:
    counts = day_counts(batch)
    store.update_meta(RETENTION_COUNTS, lambda old: merge(old or {}, counts))
    deleted = store.delete_mentions([m.key for m in batch])
    if on_delete is not None:
        on_delete(store, batch)
    return deleted


def day_counts(mentions: Iterable[Mention]) -> dict[str, dict[str, Any]]:
    """{"2026-05-01": {"mentions": n, "complaints": n, "departments": {name: n}}}, by
    the UTC day each mention was created."""
    out: dict[str, dict[str, Any]] = {}
    for m in mentions:
        day = out.setdefault(m.created_at.date().isoformat(),
                             {"mentions": 0, "complaints": 0, "departments": {}})
        day["mentions"] += 1
        day["complaints"] += int(bool(m.complaint))
        departments = day["departments"]
        departments[m.department] = departments.get(m.department, 0) + 1
    return out


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {day: {"mentions": v["mentions"], "complaints": v["complaints"],
                    "departments": dict(v["departments"])} for day, v in old.items()}
    for day, v in new.items():
        into = merged.setdefault(day, {"mentions": 0, "complaints": 0, "departments": {}})
        into["mentions"] += v["mentions"]
        into["complaints"] += v["complaints"]
        for name, n in v["departments"].items():
            into["departments"][name] = into["departments"].get(name, 0) + n
    return merged


def counts_by_day(store: Store, since: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Mentions and complaints per UTC day of creation, stored and pruned together."""
    live = day_counts(store.iter_mentions(since))
    pruned = store.get_meta(RETENTION_COUNTS) or {}
    if since is not None:
        first = since.date().isoformat()
        pruned = {day: v for day, v in pruned.items() if day >= first}
    return dict(sorted(merge(pruned, live).items()))
