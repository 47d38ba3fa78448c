"""Load the complaint-aspect lexicon (lexicon.toml beside this module) that names themes."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LEXICON_FILE = Path(__file__).with_name("lexicon.toml")

Aspects = tuple[tuple[str, str, tuple[str, ...]], ...]
Variants = dict[str, tuple[tuple[tuple[str, ...], str], ...]]


@cache
def load_lexicon(path: Path = LEXICON_FILE
                 ) -> tuple[Aspects, Variants, frozenset[str], frozenset[str]]:
    """(aspects as (key, name, cues), name variants per aspect, stop words, generic words).

    The file ships with the code; a broken one is a bug, so errors are not softened."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    aspects = tuple((a["key"], a["name"], tuple(a["cues"])) for a in data["aspect"])
    variants = {a["key"]: tuple((tuple(v["words"]), v["name"]) for v in a["variant"])
                for a in data["aspect"] if a.get("variant")}
    words = data["words"]
    return aspects, variants, frozenset(words["stop"]), frozenset(words["generic"])
