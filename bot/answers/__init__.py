"""Answers: recording a reply, drafts awaiting approval, publishers, and the writers that
post back to each network."""
