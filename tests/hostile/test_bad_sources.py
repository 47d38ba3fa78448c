"""Issue 9, item 7: a source that trickles, never ends, or floods a page. Driven through
`fetch --once` against local APIs: each bad source is cut off at its read deadline or
size cap, a flooded page is read up to a cap, and the good source's mentions arrive."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.hostile.cli import run_bot
from tests.hostile.conftest import write_config
from tests.hostile.standin import endless, hn_hit, hn_pages, send, trickle

DEADLINE = 3


def _flood(n: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps([{"short_id": f"s{i}", "created_at": now, "title": f"Acme {i}"}
                       for i in range(n)]).encode()


def test_trickling_endless_and_flooding_sources_do_not_hold_up_the_good_one(api, tmp_path):
    api.routes["/search_by_date"] = hn_pages(hn_hit(1, "Acme support answered my ticket"))
    api.routes["/se/search/advanced"] = trickle(api, every=0.5)
    api.routes["/gh/search/issues"] = endless(api)
    flood = _flood(50_000)
    api.routes["/lob/newest.json"] = lambda handler: send(handler, 200, flood)
    api.routes["/lob/newest/page/2.json"] = lambda handler: send(handler, 200, b"[]")
    config = write_config(tmp_path, f"""
[sources.hackernews]
base_url = "{api.url}"
[sources.stackexchange]
base_url = "{api.url}/se"
read_deadline_seconds = {DEADLINE}
[sources.github]
base_url = "{api.url}/gh"
kinds = ["issues"]
read_deadline_seconds = {DEADLINE}
[sources.lobsters]
base_url = "{api.url}/lob"
read_deadline_seconds = {DEADLINE}
""")
    run = run_bot("fetch", "--once", "--config", str(config), data=tmp_path / "data",
                  timeout=90)
    err = run.stderr
    assert run.returncode == 0, err
    assert "hackernews: 1 fetched, 1 new" in err, err
    assert "stackexchange: failed: " in err and f"within {DEADLINE} s" in err, err
    assert "github: failed: " in err and "bytes" in err, err
    assert "a page of 50000 items; reading only the first 1000" in err, err
    assert "lobsters: 1000 fetched, 1000 new" in err, err
    # The slowest source costs its deadline, not the sum of everyone's waits; nothing
    # of the endless body or the flood is kept for long.
    assert run.seconds < DEADLINE + 25, run.seconds
    assert run.peak_mb < 400, run.peak_mb
    assert "Traceback" not in err
