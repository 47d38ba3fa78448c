"""The two failures a source reports: SourceError (retry later, cursor unchanged) and
RateLimited (the API asked for a wait)."""

from __future__ import annotations


class SourceError(Exception):
    """A transient failure: retry later with the cursor unchanged."""


class RateLimited(SourceError):
    """The source asked us to wait `retry_after` seconds before calling again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = float(retry_after)
