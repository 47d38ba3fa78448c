"""The shared source helpers: HTTP error mapping, rate limits, pacing, text, queries."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from bot.settings import BrandSettings
from bot.sources import SOURCES, build_source
from bot.sources.base import (
    USER_AGENT,
    FetchResult,
    Pacer,
    RateLimited,
    Source,
    SourceError,
    build_query,
    html_to_text,
    parse_reset,
    parse_retry_after,
    remember,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class EchoSource(Source):
    name = "hackernews"  # any spec'd name; the settings factory needs one

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        data = self.get_json(f"{self.base_url}/items", params={"q": "acme"})
        return FetchResult([], {"n": len(data)})


def make_source(api, make_settings, brand, **kwargs) -> EchoSource:
    kwargs.setdefault("timeout", 0.3)
    return EchoSource(make_settings("hackernews", api.url), brand, clock=lambda: NOW, **kwargs)


# --- HTTP -------------------------------------------------------------------------------


def test_requests_carry_the_descriptive_user_agent(api, make_settings, brand):
    api.add("/items", [1, 2])
    assert make_source(api, make_settings, brand).fetch(None).cursor == {"n": 2}
    assert api.requests[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("Earshot/")
    assert api.requests[0].param("q") == "acme"


def test_429_with_retry_after_seconds_raises_rate_limited_with_that_delay(
        api, make_settings, brand):
    api.add("/items", {"error": "slow down"}, status=429, headers={"Retry-After": "37"})
    with pytest.raises(RateLimited) as info:
        make_source(api, make_settings, brand).fetch(None)
    assert info.value.retry_after == 37


def test_429_with_retry_after_http_date_is_converted_to_seconds(api, make_settings, brand):
    when = format_datetime(NOW + timedelta(seconds=120), usegmt=True)
    api.add("/items", status=429, headers={"Retry-After": when})
    with pytest.raises(RateLimited) as info:
        make_source(api, make_settings, brand).fetch(None)
    assert info.value.retry_after == pytest.approx(120)


def test_429_with_only_a_reset_timestamp_waits_until_the_reset(api, make_settings, brand):
    reset = int((NOW + timedelta(seconds=300)).timestamp())
    api.add("/items", status=429, headers={"x-rate-limit-reset": str(reset)})
    with pytest.raises(RateLimited) as info:
        make_source(api, make_settings, brand).fetch(None)
    assert info.value.retry_after == pytest.approx(300)


def test_a_long_wait_blocks_later_calls_without_hitting_the_api(api, make_settings, brand):
    api.add("/items", status=429, headers={"Retry-After": "600"})
    api.default("/items", [])
    source = make_source(api, make_settings, brand)
    with pytest.raises(RateLimited):
        source.fetch(None)
    with pytest.raises(RateLimited) as info:
        source.fetch(None)
    assert 590 < info.value.retry_after <= 600
    assert len(api.requests) == 1


def test_spent_quota_header_holds_the_next_call(api, make_settings, brand):
    api.add("/items", [], headers={"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "400"})
    api.default("/items", [])
    source = make_source(api, make_settings, brand)
    source.fetch(None)  # this one succeeds: the quota is spent only afterwards
    with pytest.raises(RateLimited) as info:
        source.fetch(None)
    assert info.value.retry_after > 390
    assert len(api.requests) == 1


def test_500_raises_source_error_naming_the_status(api, make_settings, brand):
    api.add("/items", "<html>oops</html>", status=500)
    with pytest.raises(SourceError) as info:
        make_source(api, make_settings, brand).fetch(None)
    assert not isinstance(info.value, RateLimited)
    assert "HTTP 500" in str(info.value)


def test_a_server_slower_than_the_timeout_raises_source_error(api, make_settings, brand):
    api.add("/items", [], delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        make_source(api, make_settings, brand, timeout=0.1).fetch(None)


def test_malformed_json_raises_source_error(api, make_settings, brand):
    api.add("/items", '{"hits": [', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        make_source(api, make_settings, brand).fetch(None)


def test_connection_refused_raises_source_error(make_settings, brand):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings("hackernews", f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError, match="cannot reach"):
        EchoSource(settings, brand, timeout=0.3).fetch(None)


def test_pacer_keeps_the_minimum_gap_between_calls():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, sleep=sleep, monotonic=lambda: now[0])
    pacer.wait()
    now[0] += 0.5
    pacer.wait()
    assert slept == [pytest.approx(1.5)]
    pacer.hold(5)
    pacer.wait()
    assert slept[-1] == pytest.approx(5)


def test_pacer_refuses_a_wait_longer_than_the_inline_limit():
    pacer = Pacer(0.0, sleep=lambda s: None, monotonic=lambda: 0.0, max_inline_wait=10)
    pacer.hold(30)
    with pytest.raises(RateLimited) as info:
        pacer.wait()
    assert info.value.retry_after == 30


def test_source_paces_its_requests_with_the_injected_sleep(api, make_settings, brand,
                                                           fake_sleep):
    api.default("/items", [])
    source = make_source(api, make_settings, brand, sleep=fake_sleep, min_interval=3.0)
    source.fetch(None)
    source.fetch(None)
    assert len(fake_sleep.calls) == 1 and 2.5 < fake_sleep.calls[0] <= 3.0


# --- parsing helpers ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("30", 30.0), ("0", 0.0), (" 5 ", 5.0), ("", None), (None, None), ("soon", None),
    ("Mon, 23 Nov 2026 12:01:00 GMT", 60.0), ("Mon, 23 Nov 2026 11:00:00 GMT", 0.0),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("45", 45.0),  # Reddit: seconds until reset
    (str(int(NOW.timestamp()) + 90), 90.0),  # GitHub / X: Unix time
    ("2026-11-23T12:05:00.000Z", 300.0),  # Mastodon: ISO time
    (None, None),
])
def test_parse_reset(value, expected):
    assert parse_reset(value, NOW) == expected


@pytest.mark.parametrize(("html", "text"), [
    ("Acme &amp; Co", "Acme & Co"),
    ("it&#x27;s &quot;fine&quot; &lt;not&gt;", "it's \"fine\" <not>"),
    ("<p>one</p><p>two</p>", "one\n\ntwo"),
    ("first<br>second<br/>third", "first\nsecond\nthird"),
    ("  lots   of\n\n  space  ", "lots of space"),
    ('see <a href="https://acme.example/x">the docs</a>.', "see the docs."),
    ('<a href="https://example.com/a/very/long/path" rel="nofollow">'
     "https://example.com/a/very/lo...</a>", "https://example.com/a/very/long/path"),
    ('<p><a href="https://m.example/tags/acme" class="mention hashtag">#<span>acme</span>'
     '</a> <span class="invisible">https://</span><span class="ellipsis">acme.example/r'
     '</span><span class="invisible">efund</span></p>', "#acme https://acme.example/refund"),
    ("<script>alert(1)</script>hello", "hello"),
    ("", ""),
    (None, ""),
])
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_build_query_quotes_phrases_and_joins_with_or():
    brand = BrandSettings("Acme", terms=("Acme", '"Acme Air"', "acme air", "acme.com"))
    assert build_query(brand) == 'Acme OR "Acme Air" OR acme.com'
    assert build_query(["a b", "c"], joiner=" | ") == '"a b" | c'


def test_remember_is_bounded_and_keeps_the_newest():
    seen = remember(["1", "2", "3"], ["3", "4", "5"], limit=4)
    assert seen == ["2", "3", "4", "5"]


# --- registry -------------------------------------------------------------------------


def test_registry_names_all_nine_sources():
    assert set(SOURCES) == {"hackernews", "reddit", "bluesky", "mastodon", "x",
                            "stackexchange", "github", "lobsters", "rss"}


def test_build_source_rejects_an_unknown_name(make_settings, brand):
    settings = make_settings("hackernews", "http://127.0.0.1:9")
    bad = type(settings)(**{**settings.__dict__, "name": "myspace"})
    with pytest.raises(ValueError, match="unknown source"):
        build_source(bad, brand)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_registered_source_loads_and_carries_its_config_name(name):
    cls = SOURCES[name]
    assert issubclass(cls, Source)
    assert cls.name == name


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_build_source_constructs_each_source_from_its_settings(name, make_settings, brand):
    spec_creds = {"reddit": ["client_id_env", "client_secret_env"],
                  "bluesky": ["handle_env", "app_password_env"], "x": ["bearer_token_env"]}
    creds = {key: "value" for key in spec_creds.get(name, [])}
    options = {"feeds": ["http://127.0.0.1:9/feed.xml"]} if name == "rss" else None
    settings = make_settings(name, "http://127.0.0.1:9", options=options, credentials=creds)
    source = build_source(settings, brand, clock=lambda: NOW, timeout=0.1)
    assert isinstance(source, SOURCES[name])
    assert source.session.headers["User-Agent"] == USER_AGENT


def test_connection_failures_are_described_in_a_few_words(make_settings, brand):
    """One short line per failing source: not urllib3's 400-character repr with the query."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for base_url, reason in ((f"http://127.0.0.1:{port}", "connection refused"),
                             ("http://earshot-test.invalid", "cannot resolve the host name")):
        settings = make_settings("hackernews", base_url)
        with pytest.raises(SourceError) as info:
            EchoSource(settings, brand, timeout=2).fetch(None)
        message = str(info.value)
        assert reason in message
        assert "HTTPConnectionPool" not in message and "Max retries" not in message
        assert len(message) < 160 and "\n" not in message


def test_normalize_each_skips_malformed_items_and_warns_once_per_id(
        make_settings, brand, caplog):
    src = EchoSource(make_settings("hackernews", "http://127.0.0.1:9"), brand)

    def normalize(item: dict[str, Any]) -> Any:
        if item.get("empty"):
            return None
        return int(item["n"])  # any non-None stands in for a Mention here

    items = [{"id": "a", "n": "1"}, {"id": "b", "n": "x"}, {"id": "c"},
             {"id": "d", "empty": True}, "not even a dict", {"id": "e", "n": "5"}]
    with caplog.at_level("WARNING", logger="bot.sources"):
        first = src.normalize_each(items, normalize, lambda item: item["id"])
        second = src.normalize_each(items, normalize, lambda item: item["id"])
    assert first == second == [1, 5]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3  # b (ValueError), c (KeyError), the string (id unknown)
    assert all(w.startswith("hackernews: skipping malformed item") for w in warnings)
    assert any(" b (ValueError" in w for w in warnings)
    assert any(" c (KeyError" in w for w in warnings)
    assert any(" ? (" in w for w in warnings)


def test_normalize_each_lets_unexpected_errors_through(make_settings, brand):
    src = EchoSource(make_settings("hackernews", "http://127.0.0.1:9"), brand)

    def normalize(item: Any) -> Any:
        raise RuntimeError("a bug, not bad data")

    with pytest.raises(RuntimeError):
        src.normalize_each([{"id": "a"}], normalize, lambda item: item["id"])
