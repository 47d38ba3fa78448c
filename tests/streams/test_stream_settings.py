"""Config keys of the stream sources are validated like every other source's."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError


def test_jetstream_defaults_and_fallbacks(make_settings):
    s = make_settings('[sources.bluesky_stream]\nfallback_urls = ["wss://j2.example/"]\n')
    src = s.sources["bluesky_stream"]
    assert src.stream and src.base_url.startswith("wss://jetstream")
    assert src.options["fallback_urls"] == ["wss://j2.example"]
    assert src.options["rewind_seconds"] == 5
    assert [x.name for x in s.enabled_streams()] == ["bluesky_stream"]
    assert s.enabled_sources() == []  # streams are not polled


@pytest.mark.parametrize("table, key, message", [
    ('base_url = "https://jetstream.example"', "base_url", "expected a ws/wss URL"),
    ('fallback_urls = ["jetstream.example"]', "fallback_urls", "expected a ws/wss URL"),
    ("fallback_urls = [1]", "fallback_urls", "list of strings"),
    ("rewind_seconds = -1", "rewind_seconds", "whole number of seconds"),
    ('rewind_seconds = "5"', "rewind_seconds", "expected an integer"),
    ("cursor = 5", "cursor", "unknown key"),
])
def test_bad_jetstream_keys_are_named(make_settings, table, key, message):
    with pytest.raises(ConfigError, match=message) as err:
        make_settings(f"[sources.bluesky_stream]\n{table}\n")
    assert f"sources.bluesky_stream.{key}" in str(err.value)


def test_mastodon_stream_instances_are_checked(make_settings):
    s = make_settings('[sources.mastodon_stream]\ninstances = ["https://hachyderm.io/"]\n')
    assert s.sources["mastodon_stream"].options["instances"] == ["https://hachyderm.io"]
    with pytest.raises(ConfigError, match="mastodon_stream.instances: expected an http\\(s\\)"):
        make_settings('[sources.mastodon_stream]\ninstances = ["wss://x.example"]\n')


def test_fetch_says_a_stream_is_read_by_serve(make_settings, tmp_path, capsys):
    from bot.__main__ import main
    make_settings('[sources.bluesky_stream]\n')  # writes tmp_path / "earshot.toml"
    config = str(tmp_path / "earshot.toml")
    assert main(["fetch", "--once", "--source", "bluesky_stream", "--config", config]) == 2
    assert "a live stream, read by `serve`" in capsys.readouterr().err
    assert main(["fetch", "--once", "--config", config]) == 2
    assert "streams are read by `serve`" in capsys.readouterr().err
