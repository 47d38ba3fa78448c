"""Mention sources: one module per source, all behind bot.sources.base.Source.

Classes are imported lazily: the package always imports, and a source module is loaded
only when that source is used. An unknown name is a ValueError naming the known ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from bot.mention import utcnow
from bot.settings import BrandSettings, SourceSettings
from bot.source_kinds import KINDS
from bot.sources.base import Source

if TYPE_CHECKING:  # websockets is imported only where a stream runs
    from bot.sources.streaming import StreamChannel

# name -> "module:Class" of the polled sources, from the one registry of source kinds.
_REGISTRY: dict[str, str] = {name: kind.implementation for name, kind in KINDS.items()
                             if not kind.spec.stream}
# Stream kinds: name -> "module:function" building its channels (bot.sources.streaming).
_STREAMS: dict[str, str] = {name: kind.implementation for name, kind in KINDS.items()
                            if kind.spec.stream}


def build_stream_channels(settings: SourceSettings, brand: BrandSettings,
                          **kwargs: Any) -> list[StreamChannel]:
    """The channels (live connections) of the configured stream `settings.name`."""
    try:
        module_name, func = _STREAMS[settings.name].split(":")
    except KeyError:
        raise ValueError(f"unknown stream {settings.name!r}; expected one of "
                         + ", ".join(sorted(_STREAMS))) from None
    return getattr(importlib.import_module(module_name), func)(settings, brand, **kwargs)


def load_source_class(name: str) -> type[Source]:
    """The Source class registered under `name` (imports its module on first use)."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; expected one of "
                         + ", ".join(sorted(_REGISTRY))) from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)


class _LazySources(Mapping[str, type[Source]]):
    """A read-only name -> class mapping that imports each module when first looked up."""

    def __getitem__(self, name: str) -> type[Source]:
        if name not in _REGISTRY:
            raise KeyError(name)
        return load_source_class(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


SOURCES: Mapping[str, type[Source]] = _LazySources()


def build_source(settings: SourceSettings, brand: BrandSettings,
                 session: requests.Session | None = None,
                 clock: Callable[[], datetime] = utcnow, **kwargs: object) -> Source:
    """The configured source for `settings.name` (extra kwargs go to the constructor)."""
    cls = load_source_class(settings.name)
    return cls(settings, brand, session=session, clock=clock, **kwargs)  # type: ignore[arg-type]
