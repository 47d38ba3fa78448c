"""The daily top-complaints summary and the spike check: themes, report, rendering, jobs."""
