"""Bolt listeners: each module has `register(app, services)`; `register_all` wires them.

Every listener acknowledges first (Slack's 3-second window) and does its work after.
Listener modules register on an `AckFirst` view of the app: it runs each listener on a
worker thread and answers the HTTP request (or Socket Mode envelope) the moment the
listener calls `ack()`. Bolt's own runner for this style (process_before_response=False)
polls for the ack every 10 ms, which put 10 ms on every ack; here the request thread
waits on an Event instead (the app is built with process_before_response=True).

Most listeners begin with a bare `ack()`: nothing they learn can change the answer. Those
are marked `@acks_at_once`, and AckFirst acknowledges them in the request thread itself
and then starts them on a worker: no waiting for another thread to ack (under load each
hand-off there and back waited several milliseconds for the GIL).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from slack_bolt import App
from slack_bolt.util.utils import get_arg_names_of_callable
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack import guard
from bot.slack.services import Services
from bot.store.base import StoreUnavailableError

log = logging.getLogger(__name__)

# Slack allows 3 s; keep a margin for the network.
ACK_WAIT_SECONDS = 2.5
STORE_DOWN_TEXT = ("Earshot cannot reach its database right now, so nothing was changed. "
                   "Please try again in a moment.")


class AckFirst:
    """The App as listener modules see it: listeners registered through `action`, `view`,
    `command`, `shortcut`, `options`, `event` and `message` run on `executor`, and
    Bolt's request thread returns as soon as the listener has called `ack()` (or has
    finished, or ACK_WAIT_SECONDS passed). A listener that takes no `ack` (events, which
    Bolt acknowledges itself) is started and not waited for. Everything else (`use`,
    `error`, ...) is the App's own.

    Needs `App(process_before_response=True)`, so that Bolt treats the wrapper as the
    whole listener and sends `ack()`'s response when the wrapper returns.
    """

    _ACKED_KINDS = frozenset({"action", "block_action", "view", "view_submission",
                              "view_closed", "command", "shortcut", "global_shortcut",
                              "message_shortcut", "options", "block_suggestion",
                              "event", "message"})

    def __init__(self, app: App, executor: Executor, *,
                 wait_seconds: float = ACK_WAIT_SECONDS,
                 work_executor: Executor | None = None) -> None:
        self.app = app
        self.executor = executor
        # Where listeners acknowledged at once run (see acks_at_once); `executor` too if
        # not given.
        self.work_executor = work_executor or executor
        self.wait_seconds = wait_seconds

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.app, name)
        if name in self._ACKED_KINDS:
            return self._registrar(attr)
        return attr

    def _registrar(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def register(*args: Any, **kwargs: Any) -> Callable[..., Any]:
            decorator = method(*args, **kwargs)

            def apply(*functions: Any, **lazy: Any) -> Any:
                if lazy or len(functions) != 1:  # ack=/lazy= style: Bolt's own way
                    return decorator(*functions, **lazy)
                return decorator(self.wrap(functions[0]))

            return apply

        return register

    def wrap(self, listener: Callable[..., Any]) -> Callable[..., Any]:
        if getattr(listener, _AT_ONCE, False):
            return self._acked_at_once(listener)
        if "ack" not in get_arg_names_of_callable(listener):
            @functools.wraps(listener)
            def in_background(**kwargs: Any) -> None:
                future = self.executor.submit(listener, **kwargs)
                future.add_done_callback(functools.partial(_log_failure, listener, None))

            return in_background

        @functools.wraps(listener)  # Bolt reads the arguments to inject from `listener`
        def ack_first(**kwargs: Any) -> None:
            ack = kwargs["ack"]
            acked = threading.Event()

            def ack_and_release(*args: Any, **kw: Any) -> Any:
                try:
                    return ack(*args, **kw)
                finally:
                    acked.set()

            kwargs["ack"] = ack_and_release
            future = self.executor.submit(_politely, listener, ack, **kwargs)
            future.add_done_callback(lambda _: acked.set())
            acked.wait(self.wait_seconds)
            if future.done() and future.exception() is not None and ack.response is None:
                raise future.exception()  # failed before acking: Bolt answers 500 and logs
            future.add_done_callback(functools.partial(_log_failure, listener, ack))

        return ack_first

    def _acked_at_once(self, listener: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(listener)
        def ack_then_start(**kwargs: Any) -> None:
            ack = kwargs["ack"]
            response = ack()  # what Bolt answers with once this returns

            def already_acked(*args: Any, **kw: Any) -> Any:
                return response  # the listener's own bare ack(): done above

            kwargs["ack"] = already_acked
            pool = self.executor if getattr(listener, _OPENS_MODAL, False) else (
                self.work_executor)
            future = pool.submit(_politely, listener, ack, **kwargs)
            future.add_done_callback(functools.partial(_log_failure, listener, ack))

        return ack_then_start


def acks_at_once(listener: Callable[..., Any], *, opens_modal: bool = False
                 ) -> Callable[..., Any]:
    """Mark a listener whose first act is a bare `ack()` (no text, no errors, nothing
    that depends on its work): AckFirst then acknowledges before starting it (see the
    module doc). Its own `ack()` call does nothing; a failure is logged after the ack.

    Such listeners run on AckFirst's `work_executor`, a small pool: their work comes
    after the answer, and a few threads doing it leave the GIL to the requests being
    answered. `opens_modal=True` (views.open: the trigger id dies 3 s after the click)
    runs on the large pool instead, so that a burst of other work cannot delay it."""
    setattr(listener, _AT_ONCE, True)
    setattr(listener, _OPENS_MODAL, opens_modal)
    return listener


_AT_ONCE = "_earshot_acks_at_once"
_OPENS_MODAL = "_earshot_opens_modal"


def _politely(listener: Callable[..., Any], bolt_ack: Any, **kwargs: Any) -> Any:
    """Run `listener`; if the database is away (StoreUnavailableError: nothing was
    written), acknowledge if it had not, and tell the person to try again in a moment,
    only them (the store logs the outage itself, once)."""
    try:
        return listener(**kwargs)
    except StoreUnavailableError:
        ack = kwargs["ack"]
        body = kwargs.get("body") or kwargs.get("command") or {}
        if bolt_ack.response is None:
            if body.get("command"):  # a slash command's ack text is an ephemeral reply
                ack(text=STORE_DOWN_TEXT)
                return None
            ack()
        _tell_store_down(kwargs, body)
        return None


def _tell_store_down(kwargs: dict[str, Any], body: dict[str, Any]) -> None:
    respond = kwargs.get("respond")
    if respond is not None and body.get("response_url"):
        try:
            respond(text=STORE_DOWN_TEXT, response_type="ephemeral", replace_original=False)
            return
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not answer on response_url: %s", exc)
    client, user = kwargs.get("client"), (body.get("user") or {}).get("id") \
        or body.get("user_id")
    if client is not None and user:
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        tell(client, user, STORE_DOWN_TEXT, channel=channel)


def _log_failure(listener: Callable[..., Any], ack: Any, future: Future) -> None:
    exc = future.exception()
    if exc is not None and (ack is None or ack.response is not None):
        # After the ack (or for an event, acknowledged by Bolt): only a log can tell.
        log.error("listener %s failed after acknowledging", listener.__name__,
                  exc_info=exc)


def register_all(app: App, services: Services, executor: Executor | None = None,
                 work_executor: Executor | None = None) -> None:
    """Install the member guard and every listener module on `app`.

    With an `executor` (and `App(process_before_response=True)`), listener modules
    register through AckFirst (with `work_executor` for the listeners acknowledged at
    once); without one, directly on the app."""
    # Imported here: the listener modules import `tell` from this package.
    from bot.listeners import actions, approval, commands, corrections, habit, home, views

    guard.install(app, services)
    target: Any = AckFirst(app, executor, work_executor=work_executor) \
        if executor is not None else app
    for module in (actions, commands, views, home, approval, habit, corrections):
        module.register(target, services)


def tell(client: WebClient, user: str, text: str, *, channel: str | None = None,
         thread_ts: str | None = None) -> None:
    """Tell one person something only they see: an ephemeral message in `channel` when
    there is one, else a direct message (App Home and modals have no channel)."""
    try:
        if channel:
            kwargs = {"thread_ts": thread_ts} if thread_ts else {}
            client.chat_postEphemeral(channel=channel, user=user, text=text, **kwargs)
            return
    except SlackApiError as exc:
        # Not in the channel (or the channel is gone): fall back to a DM.
        log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel,
                 exc.response.get("error"))
    except (SlackClientError, OSError) as exc:  # Slack unreachable: nothing else to try
        log.warning("could not tell %s: %s", user, exc)
        return
    try:
        client.chat_postMessage(channel=user, text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not DM %s: %s", user, exc)
