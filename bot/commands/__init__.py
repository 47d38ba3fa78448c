"""Subcommands of `python -m bot`. Each module has add_parser(subparsers) and run(args) -> int."""

COMMANDS = ["check_config", "fetch", "replay", "serve", "summary", "audit", "store"]
