"""summary: placeholder until its issue lands."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser("summary", help="(not built yet)")


def run(args: argparse.Namespace) -> int:
    print("earshot: 'summary' is not built yet", file=sys.stderr)
    return 1
