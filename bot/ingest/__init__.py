"""Mentions in: polling the sources, the pipeline that judges and stores them, and the
exports read by replay and summary --from."""
