"""The snapshot file, earshot.json: written whole and atomically (temp file, fsync,
`os.replace`, directory fsync) in TinyDB's own format with one document per line, and
read back line by line into the held form of each table (never the whole file or a
decoded copy of the database in memory). Any other valid TinyDB file, e.g. one written
by stock TinyDB, is read the slow way."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from itertools import islice
from pathlib import Path
from typing import IO, Any

from bot.store.doc_text import TEXT, DocCodec, _decode, _encode
from bot.store.toc import BLOCK, TOC, Describe, TocWriter, parse_doc_line

SNAPSHOT = "earshot.json"
TMP = SNAPSHOT + ".tmp"  # a snapshot being written (removed on open if a crash left it)


class StoreCorruptError(RuntimeError):
    """The snapshot cannot be read. It is only ever replaced atomically, so this means
    damage from outside; refusing to start beats silently starting empty. The message
    is one line naming the file and what to do."""


_RESTORE = ("restore it from a backup, or move it away to start from the journal alone "
            "(everything before the journal is then lost)")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading creates millions of objects that all survive: pausing the cyclic GC
    avoids repeated full collections over the growing heap (about 2x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(dir_path: Path,
                   tables: Mapping[str, Mapping[str, Any] | Iterable[tuple[str, Any]]],
                   codec_for: Callable[[str], DocCodec],
                   describe: Mapping[str, Describe] | None = None) -> int:
    """Write `tables` as the snapshot of `dir_path` (a TinyDB JSON file), atomically;
    returns its size. A table is a mapping of id to held document, or a stream of
    (id, held) pairs already in id order (one not to hold in memory all at once).

    One document per line (see read_snapshot); texts are copied as they are. The
    tables in `describe` are written in blocks of BLOCK documents by id, and a last
    table, TOC, says where each block is and how recent its documents are (see
    toc.py): a reader can then load only the blocks it needs."""
    tmp_path, snapshot_path = dir_path / TMP, dir_path / SNAPSHOT
    toc = TocWriter(describe or {})
    with open(tmp_path, "w", encoding="ascii") as f:
        pos = 0

        def put(text: str) -> None:
            nonlocal pos
            f.write(text)
            pos += len(text)  # ASCII: characters are bytes

        put("{")
        for n, (name, docs) in enumerate(tables.items()):
            put(("," if n else "") + "\n" + _encode(name) + ":{")
            text = codec_for(name).text
            items = toc.ordered(name, docs)
            start = 0
            while chunk := list(islice(items, BLOCK)):
                written = ("," if start else "") + "".join(
                    f"{',' if i else ''}\n{_encode(doc_id)}:{text(held)}"
                    for i, (doc_id, held) in enumerate(chunk))
                first_line = pos + written.index("\n") + 1
                put(written)
                toc.block(name, chunk, first_line, pos)
                start += len(chunk)
            put("\n}")
        if (entries := toc.documents()) is not None:
            contents, terms = entries
            put(("," if tables else "") + "\n" + _encode(TOC) + ':{\n"1":' + contents
                + ',\n"2":' + terms + "\n}")
        put("\n}\n")
        f.flush()
        os.fsync(f.fileno())
        size = f.tell()
    os.replace(tmp_path, snapshot_path)
    fsync_dir(dir_path)
    return size


def read_snapshot(
    path: Path, codec_for: Callable[[str], DocCodec], file: IO[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The held documents of a snapshot (read from `file` if given, else from `path`).

    Snapshots written here hold one document per line, so the file is read line by
    line and each document's text goes straight to its table's codec: never the
    whole file or a decoded copy of the database in memory. Any other valid TinyDB
    file (e.g. written by stock TinyDB) is read the slow way.
    """
    with nullcontext(file) if file is not None else open(path, encoding="utf-8") as f:
        try:
            tables = read_line_snapshot(f, codec_for)
            tables.pop(TOC, None)
            return tables
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            f.seek(0)
            try:
                docs = json.load(f)
            except ValueError as exc:
                f.seek(0)
                what = f"is not JSON ({exc})" if f.read(1) else "is empty"
                raise StoreCorruptError(f"the store snapshot {path} {what}; {_RESTORE}"
                                        ) from exc
    if not isinstance(docs, dict) or not all(isinstance(t, dict) for t in docs.values()):
        raise StoreCorruptError(f"the store snapshot {path} is not a TinyDB database; "
                                f"{_RESTORE}")
    docs.pop(TOC, None)
    try:
        return {name: {str(i): codec_for(name).hold(_encode(doc), doc)
                       for i, doc in table.items()} for name, table in docs.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreCorruptError(
            f"the store snapshot {path} holds a malformed document ({type(exc).__name__}: "
            f"{exc}); {_RESTORE}") from exc


def read_line_snapshot(
    lines: Iterable[str], codec_for: Callable[[str], DocCodec]
) -> dict[str, dict[str, Any]]:
    """Parse the layout write_snapshot writes:
    `{` / `"table":{` / `"id":{doc},` ... `"id":{doc}` / `}` or `},` / ... / `}`."""
    tables: dict[str, dict[str, Any]] = {}
    table: dict[str, Any] | None = None
    hold = TEXT.hold
    lines = iter(lines)
    if next(lines, None) != "{\n":
        raise ValueError("not a line-per-document snapshot")
    for line in lines:
        line = line.removesuffix("\n")
        if table is None:
            if line == "}":
                break  # the end of the database
            # `"name":{` or `,"name":{` opens a table.
            if not line.endswith(":{"):
                raise ValueError("expected a table")
            name = _decode(line.lstrip(",")[:-2])
            table = tables[name] = {}
            hold = codec_for(name).hold
        elif line in ("}", "},"):
            table = None
        else:
            doc_id, text = parse_doc_line(line)
            table[doc_id] = hold(text)
    else:
        raise ValueError("the snapshot ends early")
    if next(lines, None) is not None:
        raise ValueError("data after the end")
    return tables
