"""`access grant|revoke|list`: the access list (issue 14) from the command line.

Whoever runs the CLI holds the database URL, so acts as the admin (as in local mode); every
change is audited under $CAPA_USER or the login name.
"""

from __future__ import annotations

import argparse
import json

from capa_monitor.access import ROLES, parse_teams


def register(subparsers: argparse._SubParsersAction) -> None:
    access = subparsers.add_parser(
        "access", help="who may see and change which teams: grant, revoke, list",
        description="The access list: each person's role (admin, service_lead, team_manager, "
        "team_member) and teams. Admins named in configuration need no entry.")
    verbs = access.add_subparsers(dest="access_command", metavar="VERB", required=True)
    grant = verbs.add_parser("grant", help="give a person a role (replacing what they had)")
    grant.add_argument("email")
    grant.add_argument("--role", required=True, choices=ROLES)
    grant.add_argument("--teams", metavar='"A,B"', default=None,
                       help="their teams, comma separated (needed for team_manager and "
                       "team_member; a service_lead without it reads every team)")
    grant.set_defaults(func=run_grant)
    revoke = verbs.add_parser("revoke", help="take a person off the access list")
    revoke.add_argument("email")
    revoke.set_defaults(func=run_revoke)
    listing = verbs.add_parser("list", help="print the access list")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=run_list)


def _store(args: argparse.Namespace):
    from capa_monitor.cli.store_cmds import _open_store

    return _open_store(args)


def run_grant(args: argparse.Namespace) -> int:
    from capa_monitor.cli.store_cmds import current_user
    from capa_monitor.store import access_store

    scope = access_store.grant(_store(args), args.email, args.role, parse_teams(args.teams),
                               by=current_user())
    teams = "every team" if scope.teams is None else ", ".join(sorted(scope.teams))
    print(f"{scope.email} is now {args.role} for {teams}.")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from capa_monitor.cli.store_cmds import current_user
    from capa_monitor.errors import CapaError
    from capa_monitor.store import access_store

    if not access_store.revoke(_store(args), args.email, by=current_user()):
        raise CapaError(f"{args.email} is not on the access list; `access list` shows it.")
    print(f"{args.email} is off the access list (a role from their sign-in token or from "
          "configuration still applies).")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from capa_monitor.store import access_store

    frame = access_store.frame(_store(args))
    if args.format == "json":
        records = [{**row, "granted_at": row["granted_at"].isoformat(timespec="seconds")}
                   for row in frame.to_dict("records")]
        print(json.dumps(records, indent=2))
        return 0
    if frame.empty:
        print("The access list is empty: only the admins named in configuration (and roles "
              "from sign-in tokens) have access.")
        return 0
    shown = frame.assign(granted_at=frame["granted_at"].dt.strftime("%d %b %Y %H:%M"))
    print(shown.to_string(index=False))
    return 0
