"""The manifest declares what the app listens to (text checks: PyYAML is not a dependency)."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "config" / "slack-manifest.yml"


def test_manifest_declares_commands_events_interactivity_home_and_scopes():
    text = MANIFEST.read_text()
    assert re.findall(r"- command: (/\w+)", text) == ["/claim", "/escalate"]
    assert "home_tab_enabled: true" in text and "socket_mode_enabled: true" in text
    assert re.search(r"interactivity:\n\s+is_enabled: true", text)
    assert re.search(r"bot_events:\n\s+- app_home_opened", text)
    scopes = set(re.findall(r"^\s+- ([a-z.:]+)\s", text, re.MULTILINE))
    assert {"chat:write", "commands", "users:read", "usergroups:read", "channels:read",
            "channels:history", "groups:history", "files:write", "im:write"} <= scopes
    # Every request URL points at Bolt's path; no token or secret is in the file.
    urls = re.findall(r"url: (\S+)", text)
    assert len(urls) == 4 and all(u.endswith("/slack/events") for u in urls)
    assert not re.search(r"xox[bpa]-|xapp-", text)
