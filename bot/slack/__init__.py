"""Slack's own low layer: the Web API client, Block Kit builders, views, the posting
outbox and the guard. It knows nothing above it (no workflow, answers or listeners)."""
