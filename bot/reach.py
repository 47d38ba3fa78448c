"""An author's reach: how many people see what they post (followers, karma, reputation).

Sources record it in `mention.extra["reach"]` as {"count": int, "kind": str} when their
API says it; a mention without it has *unknown* reach, never zero (a new account with
no followers and an account we could not look up are different things). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.mention import Mention

REACH_KEY = "reach"
KINDS = ("followers", "karma", "reputation", "stars")

# Reach bands for the fairness figures: (name, lowest count in the band), quietest first.
BANDS: tuple[tuple[str, int], ...] = (("< 100", 0), ("100–10k", 100), ("> 10k", 10_001))


@dataclass(frozen=True)
class Reach:
    count: int
    kind: str  # one of KINDS

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "kind": self.kind}


def parse_count(value: Any) -> int | None:
    """A follower/karma count from an API field: a non-negative int, or None when the
    field is missing or not a number (so unknown stays unknown)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def make(value: Any, kind: str) -> dict[str, Any] | None:
    """The `extra["reach"]` entry for an API value, or None when the value is unknown."""
    count = parse_count(value)
    return None if count is None else Reach(count, kind).to_dict()


def set_reach(extra: dict[str, Any], value: Any, kind: str) -> None:
    """Record reach in a mention's `extra` when the API gave a usable count."""
    entry = make(value, kind)
    if entry is not None:
        extra[REACH_KEY] = entry


def reach_of(mention: Mention | Mapping[str, Any]) -> Reach | None:
    """The mention's recorded reach, or None when unknown (or garbled in storage)."""
    extra = mention.get("extra", {}) if isinstance(mention, Mapping) else mention.extra
    raw = (extra or {}).get(REACH_KEY)
    if not isinstance(raw, Mapping):
        return None
    count = parse_count(raw.get("count"))
    kind = raw.get("kind")
    if count is None or kind not in KINDS:
        return None
    return Reach(count, kind)


def band_of(count: int) -> str:
    """The band a count falls in ("< 100", "100–10k", "> 10k")."""
    name = BANDS[0][0]
    for band, lowest in BANDS:
        if count >= lowest:
            name = band
    return name


def short_count(count: int) -> str:
    """12, 950, 1.2k, 34k, 1.5M: compact enough for a message header."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def label(reach: Reach | None) -> str:
    """"1.2k followers", "340 karma"; "" when unknown (nothing is shown then)."""
    if reach is None:
        return ""
    noun = reach.kind
    if reach.count == 1 and noun in ("followers", "stars"):
        noun = noun[:-1]
    return f"{short_count(reach.count)} {noun}"
