"""A label: one thing a person taught Earshot about a post (kept light: no scikit-learn,
so the Slack side can record labels without loading the models)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.mention import Mention

log = logging.getLogger(__name__)

ROUTE, COMPLAINT = "route", "complaint"
MOVE_SOURCES = frozenset({"move", "escalation"})  # a person chose another department


@dataclass(frozen=True)
class Label:
    """One thing a person taught: `value` is a department (route) or "yes"/"no"."""

    kind: str  # ROUTE or COMPLAINT
    text: str
    value: str
    source: str  # "move", "escalation", "confirm", "mark" (complaint flag), "replay"
    by: str = ""
    at: str = ""  # ISO time
    mention_key: str = ""
    previous: str = ""  # the department or flag it had before

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Label:
        names = cls.__dataclass_fields__
        return cls(**{k: str(v) for k, v in raw.items() if k in names})


def story(mention: Mention) -> str:
    """The text the judge read (title and text), which a label teaches from."""
    return " ".join(part for part in (mention.title, mention.text) if part)


def teach(learning: Any, label: Label) -> None:
    """Hand a label to the learner (a learned_store.Retrainer) if learning is on: kept
    now, learned in the background, so a click never waits for a refit."""
    if learning is None:
        return
    try:
        learning.submit(label)
    except Exception:  # the click's own work is done; a lost label only costs learning
        log.exception("could not keep a label for mention %s", label.mention_key)
