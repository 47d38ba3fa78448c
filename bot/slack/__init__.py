"""Everything Slack: message blocks, the posting outbox, the Bolt listeners."""
