"""Issue 9, items 6 and 11: text that is not clean Unicode, or that steers a terminal or
the reading direction, from a source. Driven through `fetch --once` against a local
Hacker News API and the Slack stand-in."""

from __future__ import annotations

import json

from bot.store import open_store
from tests.hostile.cli import run_bot
from tests.hostile.conftest import write_config
from tests.hostile.standin import hn_hit, hn_pages, send

LONE = "\ud800"
RLO = "\u202e"  # right-to-left override: "moc.elpmaxe" reads as "example.com"
ESC = "\x1b[2J\x1b[31m"  # clear the screen, print red
UNSAFE = (LONE, RLO, "\u2066", "\u200f", ESC, "\x07")


def _unsafe_in(text: str) -> list[str]:
    return [repr(ch) for ch in UNSAFE if ch in text]


def _hostile_hit() -> dict:
    hit = hn_hit(7, f"Acme support {LONE} ticket {RLO}gnp.exe{ESC} ok\x07",
                 author=f"mallory{LONE}{RLO}", title=f"Acme {LONE}outage\u2066 again")
    hit["story_title"] = hit["title"]
    return hit


def test_lone_surrogates_and_control_characters_are_cleaned_and_the_mention_posted(
        api, slack, tmp_path):
    api.routes["/search_by_date"] = hn_pages(_hostile_hit())
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    data = tmp_path / "data"
    run = run_bot("fetch", "--once", "--config", str(config), data=data,
                  SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.url)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    posted = [m for m in slack.all_messages() if m.get("thread_ts") is None]
    assert len(posted) == 1, run.stderr
    message = json.dumps(posted[0], ensure_ascii=False)
    assert _unsafe_in(message) == []
    assert "gnp.exe" in message and "mallory" in message
    store = open_store(data)
    try:
        (mention,) = list(store.iter_mentions())
    finally:
        store.close()
    assert mention.slack_ts == posted[0]["ts"]
    for value in (mention.text, mention.title, mention.author):
        assert _unsafe_in(value) == []
    assert "\ufffd" in mention.text  # the lone surrogate became a visible replacement


def test_dry_run_prints_hostile_text_cleaned(api, tmp_path):
    api.routes["/search_by_date"] = hn_pages(_hostile_hit())
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    run = run_bot("fetch", "--once", "--dry-run", "--config", str(config),
                  data=tmp_path / "data")
    assert run.returncode == 0, run.stderr
    assert "-> " in run.stdout and "mallory" in run.stdout
    assert _unsafe_in(run.stdout + run.stderr) == []


def test_a_source_error_body_with_terminal_escapes_is_printed_clean(api, tmp_path):
    """Item 11: an API's error page is shown in one line, without its escapes."""
    body = f"{ESC}rate limited{RLO} \x1b]0;owned\x07 {LONE}".encode("utf-8", "surrogatepass")
    api.routes["/search_by_date"] = lambda handler: send(handler, 500, body, "text/plain")
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    run = run_bot("fetch", "--once", "--config", str(config), data=tmp_path / "data")
    assert run.returncode == 1
    assert "hackernews: failed: HTTP 500" in run.stderr
    assert "rate limited" in run.stderr
    assert _unsafe_in(run.stderr) == [] and "\x1b" not in run.stderr
