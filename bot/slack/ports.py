"""The small typed ports through which the domain (workflow, answers, summary) reaches Slack.

The domain never calls `WebClient` itself: posts go through `Outbound` (the outbox queues
them, paced and exactly once), and the few calls that must happen now (a permalink, an
in-place update of a draft, telling one person something) go through `SlackNow`. Tests
and the outbox implement `Outbound`; `bot.slack.direct.SlackDirect` implements `SlackNow`.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.mention import Mention


class Outbound(Protocol):
    """Posting through the outbox: queued, paced per channel, exactly once."""

    def post_mention(self, mention: Mention) -> None: ...

    def refresh(self, mention_key: str) -> None: ...

    def thread(self, mention_key: str, text: str, *, item_id: str | None = None,
               blocks: list | None = None) -> None: ...

    def message(self, channel: str, text: str, *, blocks: list | None = None,
                item_id: str | None = None, thread_of: str | None = None) -> None: ...


class SlackNow(Protocol):
    """Calls whose answer is needed now. Each returns None/False instead of raising when
    Slack is unreachable: none of them may stop the state change that asked for it."""

    def permalink(self, channel: str, ts: str) -> str | None: ...

    def update_message(self, channel: str, ts: str, text: str,
                       blocks: list[dict[str, Any]]) -> bool: ...

    def tell(self, user: str, text: str, *, channel: str | None = None,
             thread_ts: str | None = None) -> bool: ...

    def open_dm(self, user: str) -> str | None: ...
