"""Put the chart into the daily summary's thread with files_upload_v2.

The summary itself goes through the outbox (durable, retried); its chart waits in the
store's meta (`chart:pending`, the series as plain data) until the outbox has posted the
summary, and a job checks every minute (`upload_pending`), so nothing blocks while the
summary queues and a restart loses nothing. The chart is an extra: a missing
`files:write` scope, an upload failure or a summary that never went out costs one log
line and nothing else; an uploaded chart is dropped from the queue, so it goes once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.mention import parse_time
from bot.store.base import Store
from bot.summary import chart as charts

log = logging.getLogger(__name__)

PENDING = "chart:pending"
GIVE_UP = timedelta(hours=2)  # a summary not posted by then goes without its chart


def queue_chart(store: Store, item_id: str, series: charts.Series, name: str,
                now: datetime) -> None:
    """Remember to upload `series` into the thread of the summary queued as `item_id`."""
    entry = {"name": name, "at": now.isoformat(), "days": [d.isoformat() for d in series.days],
             "lines": [[n, list(c)] for n, c in series.lines]}

    def add(old: Any) -> dict[str, Any]:
        return {**(old if isinstance(old, dict) else {}), item_id: entry}

    store.update_meta(PENDING, add)


def _drop(store: Store, item_id: str) -> None:
    def remove(old: Any) -> dict[str, Any]:
        return {k: v for k, v in (old if isinstance(old, dict) else {}).items()
                if k != item_id}

    store.update_meta(PENDING, remove)


def upload_pending(store: Store, client: Any, now: datetime) -> int:
    """Upload every queued chart whose summary has been posted; returns how many went."""
    pending = store.get_meta(PENDING)
    if not isinstance(pending, dict) or not pending:
        return 0
    done = 0
    for item_id, entry in pending.items():
        item = store.get_outbox(item_id)
        if item is not None and item.status == "sent" and item.result.get("ts"):
            series = charts.Series([date.fromisoformat(d) for d in entry["days"]],
                                   [(n, list(c)) for n, c in entry["lines"]])
            done += post_chart(client, item.result.get("channel") or item.channel,
                               item.result["ts"], series, name=entry["name"])
            _drop(store, item_id)  # uploaded, or refused for good (logged)
        elif item is None or item.status == "failed" or (
                now - parse_time(entry["at"]) > GIVE_UP):
            log.warning("summary chart not posted: the summary %s was not posted", item_id)
            _drop(store, item_id)
    return done


def post_chart(client: Any, channel: str, thread_ts: str, series: charts.Series, *,
               name: str) -> bool:
    """Render and upload the chart into a thread; False (and one log line) on failure."""
    try:
        png = charts.render_png(series)
        client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=png,
            filename=f"earshot-{name}.png", title="Top complaint themes, last 14 days",
            alt_txt=charts.alt_text(series))
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else exc
        hint = " (the app needs the files:write scope)" if error == "missing_scope" else ""
        log.warning("summary chart not uploaded: %s%s", error, hint)
        return False
    except (SlackClientError, OSError, ValueError) as exc:
        log.warning("summary chart not uploaded: %s", exc)
        return False
    return True
