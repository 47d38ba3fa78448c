"""The snapshot's table of contents: where each block of documents lies in earshot.json
and how recent its documents are, so that a reader can load only the blocks it needs.

A one-day report needs the last two weeks of mentions and events; reading the whole
snapshot for it cost the store's size (20 s and 1 GB at 300,000 mentions). The writer
sorts the big tables by document id (ids grow with time, so a block is a stretch of
time), writes them in blocks of BLOCK documents, and adds a last table, `$toc`, with one
document:

    {"v": 1,
     "tables": {name: [[start, end, count, first_id, last_id, latest_0, ...], ...]},
     "keys": {name: [key, ...]}, "ids": {name: [id, ...]}, "flagged": {name: [id, ...]}}

`start`/`end` are the byte offsets of the block's lines, `latest_i` the largest value of
the i-th time the table's `Describe` gives (µs), `keys`/`ids` the saved key index of the
tables whose documents have one (a mention's key, an outbox row's id), so a lookup by
key finds its block without loading the table, and `flagged` the few documents a start
needs (mentions without a Slack message, outbox rows still to send). A second document
holds the saved terms ({table: {index: [values, ids]}}: every mention's fingerprint and
urls), read only when a de-duplication first needs them. The file stays a
valid TinyDB database: stock TinyDB sees one more table. A snapshot without a table of
contents (older, or written by stock TinyDB) is simply read whole.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from bot.store.doc_text import _decode

log = logging.getLogger(__name__)

TOC = "$toc"
BLOCK = 2000  # documents per block: a block loads in a few milliseconds
_VERSION = 1
_END = b"\n}\n}\n"  # how a snapshot with a table of contents ends: its line, `}`, `}`
_HEADER = b'"' + TOC.encode() + b'":{'

# A document's key (or None), its times in µs (e.g. a mention's (created, arrived)),
# whether it is flagged, and its terms: (index, value) pairs saved for lookups that must
# see every document (a mention's fingerprint and urls, for de-duplication).
Describe = Callable[[Any], "tuple[str | None, tuple[int, ...], bool, tuple[tuple[str, str], ...]]"]


@dataclass(frozen=True)
class Block:
    start: int
    end: int
    count: int
    first: int  # the smallest and largest document id in the block
    last: int
    latest: tuple[int, ...]  # the largest of each of the table's times

    def holds(self, doc_id: int) -> bool:
        return self.first <= doc_id <= self.last

    def reaches(self, which: int, since: int) -> bool:
        """Whether some document's `which`-th time is at or after `since` (µs)."""
        return which >= len(self.latest) or self.latest[which] >= since


def parse_doc_line(line: str) -> tuple[str, str]:
    """(doc id, JSON text) of one `"id":{...}` line (a trailing comma allowed). The
    snapshot was written whole and replaced atomically, so a shape check is enough."""
    split = line.index('":') + 1
    text = line[split + 1:].removesuffix(",")
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("not a document")
    doc_id = line[1:split - 1]  # TinyDB's ids are digits: no decoding needed
    return (doc_id if doc_id.isdigit() else _decode(line[:split])), text


class TocWriter:
    """Collects the table of contents while write_snapshot writes the tables."""

    def __init__(self, describe: Mapping[str, Describe]) -> None:
        self._describe = dict(describe)
        self._tables: dict[str, list[list[int]]] = {}
        self._keys: dict[str, list[str]] = {}
        self._ids: dict[str, list[int]] = {}
        self._flagged: dict[str, list[int]] = {}
        self._terms: dict[str, dict[str, tuple[list[str], list[int]]]] = {}
        self._failed = False

    def ordered(self, name: str, docs: Mapping[str, Any] | Iterable[tuple[str, Any]]
                ) -> Iterator[tuple[str, Any]]:
        """The table's documents in the order to write them: by id where described (a
        stream that is not a mapping comes in that order already)."""
        self._tables[name] = []
        if not isinstance(docs, Mapping):
            return iter(docs)
        items = list(docs.items())
        if name in self._describe and not self._failed:
            try:
                items.sort(key=lambda item: int(item[0]))
            except ValueError:  # an id that is not a number (edited by hand): no toc
                self._failed = True
        return iter(items)

    def block(self, name: str, chunk: list[tuple[str, Any]], start: int, end: int) -> None:
        if self._failed:
            return
        try:
            ids = [int(doc_id) for doc_id, _ in chunk]
            latest: tuple[int, ...] = ()
            describe = self._describe.get(name)
            if describe is not None:
                keys, times = [], []
                for doc_id, held in chunk:
                    key, when, flagged, terms = describe(held)
                    keys.append(key)
                    times.append(when)
                    if flagged:
                        self._flagged.setdefault(name, []).append(int(doc_id))
                    for index, value in terms:
                        values, ids_of = self._terms.setdefault(name, {}).setdefault(
                            index, ([], []))
                        values.append(value)
                        ids_of.append(int(doc_id))
                latest = tuple(map(max, zip(*times, strict=True)))
                if any(key is not None for key in keys):
                    self._keys.setdefault(name, []).extend(keys)
                    self._ids.setdefault(name, []).extend(ids)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A malformed document (edited by hand): readers then read the file whole.
            log.warning("the store snapshot is written without a table of contents: a "
                        "%s document is malformed (%s: %s); every open reads it whole",
                        name, type(exc).__name__, exc)
            self._failed = True
            return
        self._tables[name].append([start, end, len(chunk), min(ids), max(ids), *latest])

    def documents(self) -> tuple[str, str] | None:
        """The two documents of the TOC table: the contents, and the saved terms."""
        if self._failed or not self._describe:
            return None
        contents = json.dumps({"v": _VERSION, "tables": self._tables, "keys": self._keys,
                               "ids": self._ids, "flagged": self._flagged},
                              separators=(",", ":"))
        terms = {table: {index: [values, ids] for index, (values, ids) in indexes.items()}
                 for table, indexes in self._terms.items()}
        return contents, json.dumps(terms, separators=(",", ":"))


@dataclass
class Toc:
    tables: dict[str, list[Block]]
    keys: dict[str, list[str]]
    ids: dict[str, list[int]]
    flagged: dict[str, list[int]]
    terms: tuple[int, int]  # where the saved terms lie (read only when needed)


def read_toc(f: IO[bytes]) -> Toc | None:
    """The table of contents of the snapshot open in `f`, or None when it has none (or
    one this version does not understand): the caller then reads the file whole. The
    saved terms are not parsed here (see read_terms)."""
    size = f.seek(0, os.SEEK_END)
    want = 1 << 16
    while True:
        start = max(0, size - want)
        f.seek(start)
        tail = f.read(size - start)
        if not tail.endswith(_END):
            return None
        # The last three lines: the header, the contents ("1"), the terms ("2").
        starts, end = [], len(tail) - len(_END)
        for _ in range(3):
            starts.append(tail.rfind(b"\n", 0, end) + 1)
            end = starts[-1] - 1
            if end < 0:
                break
        if (len(starts) == 3 and starts[2] > 0) or start == 0:
            break
        want *= 4  # the saved indexes make the lines long: read further back
    if len(starts) < 3:
        return None
    terms_at, contents_at, header_at = starts
    if (tail[header_at:contents_at - 1] != _HEADER
            or not tail[terms_at:].startswith(b'"2":{')):
        return None
    line = tail[contents_at:terms_at - 1].removesuffix(b",")
    if not line.startswith(b'"1":{'):
        return None
    try:
        doc = json.loads(line[4:])
        if doc.get("v") != _VERSION:
            return None
        tables = {name: [_block(entry, size) for entry in entries]
                  for name, entries in doc["tables"].items()}
        keys, ids, flagged = doc["keys"], doc["ids"], doc["flagged"]
        if any(len(keys[name]) != len(ids.get(name, ())) for name in keys):
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    terms = (start + terms_at + 4, size - len(_END))
    return Toc(tables, keys, ids, flagged, terms)


def read_terms(fd: int, toc: Toc) -> dict[str, dict[str, list[tuple[str, int]]]]:
    """The saved terms of the snapshot open as `fd`: table -> index -> (value, id)
    pairs. Raises ValueError if they are not there."""
    start, end = toc.terms
    doc = json.loads(os.pread(fd, end - start, start))
    return {table: {index: list(zip(values, ids, strict=True))
                    for index, (values, ids) in indexes.items()}
            for table, indexes in doc.items()}


def _block(entry: list[int], size: int) -> Block:
    start, end, count, first, last, *latest = entry
    if not (0 < start <= end <= size and count > 0 and first <= last):
        raise ValueError("a block outside the file")
    return Block(start, end, count, first, last, tuple(latest))


def read_block(fd: int, block: Block, hold: Callable[[str], Any]) -> dict[str, Any]:
    """The held documents of one block of the snapshot open as `fd`. Raises ValueError
    if the bytes there are not the block the table of contents describes. (pread: the
    loading and a background compaction read the same file at once.)"""
    data = os.pread(fd, block.end - block.start, block.start).decode("ascii")
    docs = {}
    for line in data.split("\n"):
        doc_id, text = parse_doc_line(line)
        docs[doc_id] = hold(text)
    if len(docs) != block.count:
        raise ValueError("a block with a different number of documents")
    return docs
