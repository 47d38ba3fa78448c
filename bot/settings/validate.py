"""Typed getters over the parsed TOML that raise ConfigError naming the file, the dotted
key and what was expected (the part of loading settings that is the same for every key)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import shapes


class ConfigError(Exception):
    """A problem with the config a user can fix: file, dotted key, what was expected."""

    def __init__(self, path: str | Path, key: str, expected: str) -> None:
        self.path, self.key, self.expected = str(path), key, expected
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + expected)


def type_name(typ: type | tuple[type, ...]) -> str:
    names = {list: "a list", str: "a string", bool: "true or false", int: "an integer",
             float: "a number"}
    if isinstance(typ, tuple):
        return " or ".join(names.get(t, t.__name__) for t in typ)
    return names.get(typ, typ.__name__)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Validator:
    """Typed getters that raise ConfigError with the dotted key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def only(self, table: dict[str, Any], key: str, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                raise ConfigError(self.path, where,
                                  "unknown key; expected one of " + ", ".join(sorted(allowed)))

    def table(self, raw: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
        if key not in raw:
            if required:
                raise ConfigError(self.path, key, f"missing; expected a [{key}] table")
            return {}
        if not isinstance(raw[key], dict):
            raise ConfigError(self.path, key, f"expected a [{key}] table, got {show(raw[key])}")
        return raw[key]

    def _leaf(self, table: dict[str, Any], key: str) -> str:
        return key.rsplit(".", 1)[-1]

    def string(self, table: dict[str, Any], key: str, required: bool = False,
               default: Any = "") -> Any:
        leaf = self._leaf(table, key)
        if leaf not in table:
            if required:
                raise ConfigError(self.path, key, "missing; expected a string")
            return default
        value = table[leaf]
        if not isinstance(value, str) or (required and not value.strip()):
            raise ConfigError(self.path, key, f"expected a non-empty string, got {show(value)}")
        return value

    def shaped(self, table: dict[str, Any], key: str, problem: Callable[[str], str | None],
               *, required: bool = True) -> Any:
        """A string that `problem` (from bot.settings.shapes) finds nothing wrong with."""
        value = table.get(self._leaf(table, key))
        if value is None and not required:
            return None
        value = self.string(table, key, required=True)
        why = problem(value)
        if why:
            raise ConfigError(self.path, key, why)
        return value

    def shaped_list(self, table: dict[str, Any], key: str,
                    problem: Callable[[str], str | None]) -> tuple[str, ...]:
        values = self.strings(table, key)
        for value in values:
            why = problem(value)
            if why:
                raise ConfigError(self.path, key, why)
        return values

    def env_name(self, table: dict[str, Any], key: str) -> str | None:
        """The name of an environment variable (None if absent). Never repeats the value
        in an error: people paste the secret itself here."""
        value = table.get(self._leaf(table, key))
        if value is None:
            return None
        if isinstance(value, str) and shapes.looks_like_secret(value):
            raise ConfigError(self.path, key, "this looks like a secret itself (not shown); "
                              "expected an environment variable name (e.g. \"GITHUB_TOKEN\"):"
                              " put the secret in that variable, not in this file")
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ConfigError(self.path, key, "expected an environment variable name (letters, "
                              "digits and '_', e.g. \"GITHUB_TOKEN\"); the value is not shown "
                              "in case it is a secret: put secrets in the environment")
        return value

    def strings(self, table: dict[str, Any], key: str, required: bool = False
                ) -> tuple[str, ...]:
        leaf = self._leaf(table, key)
        if leaf not in table:
            if required:
                raise ConfigError(self.path, key, "missing; expected a list of strings")
            return ()
        value = table[leaf]
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip()
                                                  for x in value):
            raise ConfigError(self.path, key,
                              f"expected a list of non-empty strings, got {show(value)}")
        return tuple(value)

    def boolean(self, table: dict[str, Any], key: str, default: bool) -> bool:
        value = table.get(self._leaf(table, key), default)
        if not isinstance(value, bool):
            raise ConfigError(self.path, key, f"expected true or false, got {show(value)}")
        return value

    def positive_int(self, table: dict[str, Any], key: str, default: int,
                     maximum: int | None = None) -> int:
        value = table.get(self._leaf(table, key), default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(self.path, key, f"expected a positive integer, got {show(value)}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.path, key, f"expected a positive integer at most "
                                              f"{maximum:,}, got {show(value)}")
        return value

    def positive_float(self, table: dict[str, Any], key: str, default: float) -> float:
        value = table.get(self._leaf(table, key), default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value > 0):  # nan and inf pass a bare "> 0"
            raise ConfigError(self.path, key, f"expected a positive number, got {show(value)}")
        return float(value)

    def clock_time(self, table: dict[str, Any], key: str, default: str) -> dtime:
        value = table.get(self._leaf(table, key), default)
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value) if isinstance(
            value, str) else None
        if not match:
            raise ConfigError(self.path, key, f"expected a time like \"09:00\", got {show(value)}")
        return dtime(int(match[1]), int(match[2]))

    def timezone(self, table: dict[str, Any], key: str, default: str) -> str:
        value = table.get(self._leaf(table, key), default)
        try:
            if not isinstance(value, str):
                raise ValueError
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(self.path, key, f"expected an IANA time zone like "
                              f"\"Europe/Berlin\", got {show(value)}") from None
        return value
