"""Issue 9, item 10: damaged store files get one line naming the file and what to do,
never a traceback; a journal that continues a missing snapshot is refused. Through
`fetch --once`, as an operator would meet them."""

from __future__ import annotations

import json

import pytest

from tests.hostile.cli import run_bot
from tests.hostile.conftest import write_config
from tests.hostile.standin import hn_hit, hn_pages

DAMAGE = {
    "zero-length snapshot": ("", "is empty"),
    "snapshot cut short": ('{"mentions": {"1": {"key": "hackernews:1", ', "is not JSON"),
    "snapshot not a database": ("[1, 2, 3]", "is not a TinyDB database"),
    "document without key": (json.dumps({"mentions": {"1": {"text": "hi"}}}),
                             "malformed document"),
}


def _fetch(api, tmp_path, data):
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    return run_bot("fetch", "--once", "--config", str(config), data=data)


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_snapshot_gets_one_line_naming_it(api, tmp_path, case):
    content, says = DAMAGE[case]
    api.routes["/search_by_date"] = hn_pages(hn_hit(1, "Acme support ticket"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "earshot.json").write_text(content)
    run = _fetch(api, tmp_path, data)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert str(data) in lines[0] and says in lines[0]
    assert "restore" in lines[0]  # what to do
    assert (data / "earshot.json").read_text() == content  # left as it was, for repair


def test_a_journal_continuing_a_deleted_snapshot_is_refused(api, tmp_path):
    data = tmp_path / "data"
    api.routes["/search_by_date"] = hn_pages(hn_hit(1, "Acme support ticket one"))
    assert "1 new" in _fetch(api, tmp_path, data).stderr  # closing compacts: a snapshot
    api.routes["/search_by_date"] = hn_pages(hn_hit(2, "Acme support ticket two"))
    assert "1 new" in _fetch(api, tmp_path, data).stderr  # and a journal after it
    (data / "earshot.json").unlink()
    run = _fetch(api, tmp_path, data)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "earshot.journal" in lines[0] and "earshot.json, which is missing" in lines[0]
    assert "restore" in lines[0]
