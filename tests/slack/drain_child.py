"""Drain an outbox in its own process (killed with SIGKILL by test_outbox_crash).

    python tests/slack/drain_child.py <data_dir> <slack_api_url> <rate>
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from slack_sdk import WebClient  # noqa: E402

from bot.slack.outbox import Outbox  # noqa: E402
from bot.store import open_store  # noqa: E402
from tests.slack.helpers import make_settings  # noqa: E402

if __name__ == "__main__":
    data_dir, url, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    store = open_store(data_dir)
    client = WebClient(token="xoxb-child", base_url=url, timeout=60)
    Outbox(store, client, make_settings(), rate_per_second=rate, burst=3).drain()
    store.close()
