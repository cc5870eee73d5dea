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
# Every command, its module and its one-line help: `--help` lists them without importing any
# command module (pandas, the loader, the store: most of a second), and a command imports only
# its own module. tests/test_cli_start.py checks this table against the modules' register().
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("capa_monitor.cli.inspect_cmd",
                "read an activity export and report what the loader found (nothing is stored)"),
    "ingest": ("capa_monitor.cli.store_cmds",
               "load an activity export and store it (a new upload supersedes what it covers)"),
    "uploads": ("capa_monitor.cli.store_cmds",
                "the upload history; `uploads restore ID`, `uploads remove ID`"),
    "jobplans": ("capa_monitor.cli.store_cmds", "import, export or list job plans"),
    "demo": ("capa_monitor.cli.store_cmds",
             "load the invented demo team from sample_data/ (tagged demo)"),
    "audit": ("capa_monitor.cli.store_cmds", "the audit log: uploads, changes, downloads"),
    "review": ("capa_monitor.cli.review_cmds",
               "the quarterly review: new Core Partnerships against target, lost slots"),
    "shortfalls": ("capa_monitor.cli.review_cmds",
                   "write the shortfall list (clinicians below target, slots not re-offered)"),
    "pack": ("capa_monitor.cli.pack_cmd",
             "write the quarterly review pack (PDF, A4) for the team's review meeting"),
    "access": ("capa_monitor.cli.access_cmd",
               "who may see and change which teams: grant, revoke, list"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, that command's module registers its full parsers, the
    other commands are listed by name and help only."""
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
    module = COMMANDS.get(command, ("", ""))[0]
    if module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    for name, (owner, text) in COMMANDS.items():
        if owner in COMMAND_MODULES and owner != module:
            subparsers.add_parser(name, help=text)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command named in argv (the first word that is one, after `--db URL`)."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif word in COMMANDS:
            return word
        elif not word.startswith("-"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CapaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was changed.", file=sys.stderr)
        return 1
