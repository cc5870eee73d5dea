"""`python -m capa_monitor …`: the command line. Each verb group lives in its own module.

Exit codes: 0 done, 1 refused with a one-line reason on stderr (no traceback), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from capa_monitor.errors import CapaError

# Each module defines register(subparsers) and sets `func(args) -> int` on its parsers.
COMMAND_MODULES = (
    "capa_monitor.cli.inspect_cmd",
    "capa_monitor.cli.store_cmds",
    "capa_monitor.cli.review_cmds",
    "capa_monitor.cli.pack_cmd",
    "capa_monitor.cli.access_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m capa_monitor",
        description="CAPA Monitor: load activity exports, keep them, review job-plan delivery.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (default: $CAPA_DATABASE_URL, else sqlite file data/capa.sqlite)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CapaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was changed.", file=sys.stderr)
        return 1
