"""audit: placeholder until its issue lands."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser("audit", help="(not built yet)")


def run(args: argparse.Namespace) -> int:
    print("earshot: 'audit' is not built yet", file=sys.stderr)
    return 1
