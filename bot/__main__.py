"""The command line: python -m bot <command> [--config PATH] ...

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from bot.commands import COMMANDS
from bot.settings import ConfigError
from bot.store.base import StoreOpenError, StoreUnavailableError
from bot.store.journal_storage import StoreCorruptError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Earshot: brand mentions into Slack, routed to the team that owns them.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"bot.commands.{name}")
        cmd = module.add_parser(sub)
        cmd.add_argument(
            "--config", metavar="PATH",
            help="config file (default: $EARSHOT_CONFIG or config/earshot.toml)")
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else os.environ.get("EARSHOT_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"earshot: config error: {exc}", file=sys.stderr)
        return 2
    except StoreCorruptError as exc:  # a damaged data file: one line naming it and what to do
        print(f"earshot: {exc}", file=sys.stderr)
        return 1
    except StoreOpenError as exc:  # DATABASE_URL, password, host, schema: fixable by the user
        print(f"earshot: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:  # the database went away mid-run
        print(f"earshot: {exc}; nothing acknowledged was lost, run it again once the "
              "database is back", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
