"""How the store holds documents: as their compact JSON text (immutable, about 4x
smaller than decoded dicts, so a snapshot can be taken by copying references), unless a
table's DocCodec holds a faster form."""

from __future__ import annotations

import json
from typing import Any

# ASCII output: a lone surrogate in scraped text must not make a write fail later.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.loads
# The C scanner json.loads ends in, called directly: json.loads first strips a BOM and
# whitespace with regular expressions and checks the tail, about two thirds of its time
# on a short document. Opening a store decodes every outbox row and event.
_scan_once = json.JSONDecoder().scan_once


class DocCodec:
    """How one table's documents are held in memory. This default holds each as its
    JSON text (compact and immutable); a table read in bulk can hold a faster form.
    Whatever `hold` returns must be immutable: snapshots copy references."""

    def hold(self, text: str, doc: dict[str, Any] | None = None) -> Any:
        """The held form of a document, given its JSON text (and the document itself
        when the caller has it)."""
        return text

    def text(self, held: Any) -> str:
        return held

    def doc(self, held: Any) -> dict[str, Any]:
        """A fresh, decoded copy."""
        return decode(held)


TEXT = DocCodec()


def decode(text: str) -> Any:
    """json.loads(text), faster for the texts the store writes itself (compact, nothing
    before or after the value); anything else takes json.loads, errors included."""
    try:
        doc, end = _scan_once(text, 0)
    except Exception:  # noqa: BLE001 - json.loads raises the right error below
        return _decode(text)
    return doc if end == len(text) else _decode(text)


def encode(doc: Any) -> str:
    return _encode(doc)
