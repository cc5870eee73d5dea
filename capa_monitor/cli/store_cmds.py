"""Store verbs of the command line: ingest, uploads (+ restore, remove), jobplans, demo, audit.

Heavy imports (SQLAlchemy, the loader) happen inside the verbs, so `--help` stays quick.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from capa_monitor.cli.inspect_cmd import add_load_arguments
from capa_monitor.errors import CapaError
from capa_monitor.periods import month_end


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        help="load an activity export and store it (a new upload supersedes what it covers)",
        description=(
            "Read an activity export, print the loader's report and store it. For each team in "
            "the file, rows of earlier uploads dated within the period it covers are replaced, "
            "and so are stored rows that are the same slots (from any upload, team or system) "
            "unless --on-overlap says otherwise; without --yes you are asked first. A file "
            "without a team column needs --team when the store keeps teams; a reading with "
            "checks to make needs --yes."
        ),
    )
    add_load_arguments(
        ingest,
        profile_help="a mapping profile to apply: a JSON file, else one saved in the store",
        save_help="save the mapping used (columns found, --map, --value) in the store as NAME, "
        "for the upload page and --profile NAME",
    )
    ingest.add_argument(
        "--period",
        metavar="YYYY-MM[:YYYY-MM]",
        type=parse_period,
        help="whole months the upload covers (default: its first to last appointment date)",
    )
    ingest.add_argument(
        "--on-overlap",
        choices=("replace", "skip", "keep-different"),
        default="replace",
        help="rows of this file already stored (the same slots, from any upload): replace "
        "them (default), skip them (the stored ones stay), or keep-different (replace only "
        "those that differ)",
    )
    ingest.add_argument(
        "--yes",
        action="store_true",
        help="store without asking, although it replaces earlier rows or its reading has "
        "checks to make",
    )
    ingest.set_defaults(func=run_ingest)

    uploads = subparsers.add_parser(
        "uploads", help="the upload history; `uploads restore ID`, `uploads remove ID`"
    )
    uploads.add_argument("--format", choices=("table", "json"), default="table")
    uploads.set_defaults(func=run_uploads)
    uploads_verbs = uploads.add_subparsers(dest="uploads_command", metavar="restore|remove")
    restore = uploads_verbs.add_parser(
        "restore", help="make an earlier upload win again over the period it covers"
    )
    restore.add_argument("upload_id", metavar="ID", type=int)
    restore.add_argument("--yes", action="store_true", help="restore without asking")
    restore.set_defaults(func=run_restore)
    remove = uploads_verbs.add_parser(
        "remove", help="delete an upload; what it had replaced counts again"
    )
    remove.add_argument("upload_id", metavar="ID", type=int)
    remove.add_argument("--yes", action="store_true", help="remove without asking")
    remove.set_defaults(func=run_remove)

    jobplans = subparsers.add_parser("jobplans", help="import, export or list job plans")
    plan_verbs = jobplans.add_subparsers(dest="jobplans_command", metavar="VERB", required=True)
    plan_import = plan_verbs.add_parser(
        "import", help="read a job-plan spreadsheet; replaces the plan of each clinician in it"
    )
    plan_import.add_argument("file", metavar="FILE")
    plan_import.add_argument(
        "--map", metavar="FIELD=HEADER", action="append", default=[],
        help="read FIELD from the column headed HEADER, or with nothing after '=' from no "
        "column (repeatable), e.g. 'core_hours=Clinic hrs'; fields: clinician, team, fte, choice_per_week, {choice,core,specific,"
        "nonclinical}_{sessions,hours,pas}, q1_target..q4_target, quarter_target, "
        "available_from, available_to",
    )
    plan_import.add_argument(
        "--value", metavar="FIELD:TEXT=VALUE", action="append", default=[],
        help="read TEXT in FIELD's column as VALUE, a number or date, or nothing for a blank "
        "(repeatable), e.g. 'core_sessions:nil=0', 'available_to:n/a='",
    )
    plan_import.add_argument(
        "--save-profile", metavar="NAME",
        help="save the mapping used (columns found, --map, --value) in the store as NAME; "
        "job-plan files of the same shape are then read with it",
    )
    plan_import.set_defaults(func=run_jobplans_import)
    plan_export = plan_verbs.add_parser("export", help="write the current job plans to an xlsx")
    plan_export.add_argument("file", metavar="FILE.xlsx")
    plan_export.set_defaults(func=run_jobplans_export)
    plan_list = plan_verbs.add_parser("list", help="print the current job plans")
    plan_list.add_argument("--format", choices=("table", "json"), default="table")
    plan_list.set_defaults(func=run_jobplans_list)

    demo = subparsers.add_parser(
        "demo", help="load the invented demo team from sample_data/ (tagged demo)"
    )
    demo.add_argument("--remove", action="store_true", help="remove the demo data instead")
    demo.set_defaults(func=run_demo)

    audit = subparsers.add_parser("audit", help="the audit log: uploads, changes, downloads")
    audit.add_argument("--format", choices=("table", "json"), default="table")
    audit.set_defaults(func=run_audit)


def current_user() -> str:
    """Who is acting: $CAPA_USER, else the operating-system login name."""
    return os.environ.get("CAPA_USER") or getpass.getuser()


def write_download(store, out: Path, data: bytes, *, what: str, **details: Any) -> None:
    """Write a file the command line hands out, then audit it as a download (§7) under
    $CAPA_USER with its hash; nothing is recorded when the file cannot be written."""
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise CapaError(f"Could not write {out}: {exc.strerror or exc}.") from None
    store.record("download", user=current_user(), what=what, file=out.name,
                 file_sha256=hashlib.sha256(data).hexdigest(), **details)


def parse_period(text: str) -> tuple[date, date]:
    """`2026-07` → 1–31 July 2026; `2026-07:2026-09` → 1 July – 30 September 2026."""
    first, _, last = text.partition(":")
    try:
        start = _month(first)
        end = _month(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"period {text!r} is not YYYY-MM or YYYY-MM:YYYY-MM"
        ) from None
    if end < start:
        raise argparse.ArgumentTypeError(f"period {text!r} ends before it starts")
    return start, month_end(end)


def _month(text: str) -> date:
    year, month = text.strip().split("-")
    if len(year) != 4:
        raise ValueError(text)
    return date(int(year), int(month), 1)


def _open_store(args: argparse.Namespace):
    from capa_monitor import prework
    from capa_monitor.store import Store

    store = Store.open(args.db)
    store.after_write = prework.start  # every team's review worked out ahead (prework.py)
    return store


# ---- ingest -------------------------------------------------------------------------------


def run_ingest(args: argparse.Namespace) -> int:
    from capa_monitor.cli.inspect_cmd import (
        format_table,
        mapping_options,
        profile_to_save,
        read_bytes,
        read_profile,
        warn,
    )
    from capa_monitor.loading import load_activity
    from capa_monitor.loading.plan_names import against_plans
    from capa_monitor.loading.read import warm_up

    warm_up()  # the reader starts (a quarter of a second) while the store opens
    path = Path(args.file)
    data = read_bytes(path, "file")
    store = _open_store(args)
    stored = {p.name: p for p in store.profiles()}
    if args.profile in stored and not Path(args.profile).exists():
        profile = stored[args.profile]
    else:
        profile = read_profile(args.profile)
    profile, manual = mapping_options(args, profile)
    result = load_activity(
        data,
        path.name,
        team=args.team,
        sheet=args.sheet,
        profile=profile,
        settings=store.settings(),
        manual=manual,
    )
    result = against_plans(result, store.jobplans()["clinician"].dropna().tolist())
    print(format_table(result.report))
    warn(result.report)
    print()
    on_overlap = args.on_overlap.replace("-", "_")
    if result.report.doubts and not args.yes:
        raise CapaError(
            f"The reading of {path.name} has {len(result.report.doubts)} "
            f"{'check' if len(result.report.doubts) == 1 else 'checks'} to make (the 'check:' "
            "lines above); nothing was stored (check them, then run again with --yes)."
        )
    plan = store.plan_ingest(result, period=args.period, on_overlap=on_overlap)
    if plan.status == "new" and plan.team_needed:
        raise CapaError(team_refusal(plan))
    if plan.status == "new" and (plan.supersedes or plan.overlaps):
        print(describe_supersede(plan, store.uploads()))
        if not args.yes:
            _confirm(
                f"This upload would replace {plan.superseded_rows:,} rows of earlier uploads"
                if plan.superseded_rows
                else f"{plan.overlap_rows:,} of its rows are already stored",
                "Store it?",
            )
    outcome = store.ingest(result, user=current_user(), period=args.period, on_overlap=on_overlap)
    print(describe_outcome(plan, outcome))
    if args.save_profile:
        store.save_profile(profile_to_save(args.save_profile, result.report, profile))
        print(f"Saved the mapping profile {args.save_profile!r} in the store.", file=sys.stderr)
    return 0


def _confirm(what: str, question: str) -> None:
    """Ask at a terminal; refuse (nothing changed) when nobody can answer or the answer is no."""
    if not sys.stdin.isatty():
        raise CapaError(f"{what}; nothing was changed (run again with --yes to confirm).")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CapaError("Nothing was changed: you did not confirm.")


def team_refusal(plan) -> str:
    text = f"{plan.file_name} has no team column and this store keeps teams: give --team TEAM"
    if plan.suggested_team:
        text += (
            f"; its clinicians work in {plan.suggested_team} ({plan.team_evidence}), so "
            f"probably --team {json.dumps(plan.suggested_team)}"
        )
    return text + ". Nothing was stored."


def describe_supersede(plan, history: pd.DataFrame) -> str:
    """The overlap preview in words: what the file repeats, per earlier upload, and what
    storing it replaces."""
    from capa_monitor.store.previews import choice_sentence, overlap_sentences

    lines = overlap_sentences(plan)
    if plan.overlaps:
        flag = plan.on_overlap.replace("_", "-")
        lines.append(f"{choice_sentence(plan)[:-1]} (--on-overlap {flag}).")
    lines.append(
        f"This upload covers {plan.teams_label} from {plan.period[0].isoformat()} to "
        f"{plan.period[1].isoformat()} and replaces {plan.superseded_rows:,} rows of earlier "
        + ("uploads:" if plan.supersedes else "uploads.")
    )
    names = dict(zip(history["upload_id"], history["file_name"], strict=True))
    lines += [
        f"  upload {upload_id} ({names.get(upload_id, '?')}): {rows:,} rows"
        for upload_id, rows in sorted(plan.supersedes.items())
    ]
    return "\n".join(lines)


def describe_outcome(plan, outcome) -> str:
    if outcome.status == "unchanged":
        return (
            f"Unchanged: this file is already stored as upload {outcome.upload_id}; "
            "nothing was written."
        )
    text = (
        f"Stored upload {outcome.upload_id}: {plan.rows} rows for {plan.teams_label}, "
        f"{plan.period[0].isoformat()} to {plan.period[1].isoformat()}"
    )
    if outcome.superseded_rows:
        text += f"; replaced {outcome.superseded_rows} rows of earlier uploads"
    if outcome.deferred_rows:
        text += f"; {outcome.deferred_rows} rows already stored were kept only as history"
    return text + "."


def describe_change(change) -> str:
    """A remove or restore preview in words."""
    from capa_monitor.store.previews import change_lines

    head, heading, others = change_lines(change)
    return "\n".join([head, heading, *(f"  {line}" for line in others)])


# ---- uploads ------------------------------------------------------------------------------


def run_uploads(args: argparse.Namespace) -> int:
    history = _open_store(args).uploads()
    if args.format == "json":
        print(json.dumps(_records(history.drop(columns=["mapping"])), indent=2))
        return 0
    if history.empty:
        print("No uploads yet.")
        return 0
    table = pd.DataFrame(
        {
            "id": history["upload_id"],
            "file": history["file_name"] + history["demo"].map({True: " [demo]", False: ""}),
            "teams": history["teams"],
            "period": history["period_start"].dt.strftime("%Y-%m-%d")
            + " to "
            + history["period_end"].dt.strftime("%Y-%m-%d"),
            "rows": history["rows_accepted"],
            "active": history["rows_active"],
            "rejected": history["rows_rejected"],
            "status": history["status"],
            "by": history["uploaded_by"],
            "at (UTC)": history["uploaded_at"].dt.strftime("%Y-%m-%d %H:%M"),
        }
    )
    print(table.to_string(index=False))
    return 0


def run_restore(args: argparse.Namespace) -> int:
    store = _open_store(args)
    preview = store.plan_restore(args.upload_id)
    print(describe_change(preview))
    if not args.yes:
        _confirm(f"Restoring upload {args.upload_id} changes what counts", "Restore it?")
    store.restore(args.upload_id, user=current_user())
    print(
        f"Restored upload {args.upload_id} ({preview.file_name}): its rows are active again for "
        f"{preview.teams}, {preview.period[0]:%Y-%m-%d} to {preview.period[1]:%Y-%m-%d}."
    )
    return 0


def run_remove(args: argparse.Namespace) -> int:
    store = _open_store(args)
    preview = store.plan_remove(args.upload_id)
    print(describe_change(preview))
    if not args.yes:
        _confirm(f"Removing upload {args.upload_id} deletes its rows", "Remove it?")
    store.remove_upload(args.upload_id, user=current_user())
    print(
        f"Removed upload {args.upload_id} ({preview.file_name}); "
        f"{preview.other_rows:,} rows of other uploads count again."
    )
    return 0


# ---- job plans ----------------------------------------------------------------------------


def run_jobplans_import(args: argparse.Namespace) -> int:
    """Read, report how (mapping and unused columns on stderr), then replace the plans."""
    from capa_monitor.cli.inspect_cmd import read_bytes, rejection_text
    from capa_monitor.jobplan_fields import FIELDS_BY_NAME, jobplans_profile
    from capa_monitor.jobplans import load_jobplans

    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for text in args.map:
        field, sep, header = (part.strip() for part in text.partition("="))
        if not sep or field not in FIELDS_BY_NAME:
            print(f"usage error: --map {text!r}: give FIELD=HEADER with FIELD one of "
                  f"{', '.join(FIELDS_BY_NAME)}", file=sys.stderr)
            return 2
        columns[field] = header  # "FIELD=": the file has no such column, whatever its words
    for text in args.value:
        field, sep, rest = (part.strip() for part in text.partition(":"))
        source, sep2, value = (part.strip() for part in rest.rpartition("="))
        if not (sep and sep2 and source) or field not in FIELDS_BY_NAME:
            print(f"usage error: --value {text!r}: give FIELD:TEXT=VALUE with FIELD one of "
                  f"{', '.join(FIELDS_BY_NAME)}", file=sys.stderr)
            return 2
        values.setdefault(field, {})[source] = value

    path = Path(args.file)
    content = read_bytes(path, "file")
    store = _open_store(args)
    loaded = load_jobplans(
        content, path.name, settings=store.settings(), columns=columns, values=values,
        profiles=store.profiles(),
    )
    if loaded.profile is not None:
        print(f"note: read with the saved mapping {loaded.profile.name!r}", file=sys.stderr)
    for field, choice in loaded.mapping.items():
        print(f"mapped: {field} <- {choice.header!r} ({choice.by}, {choice.confidence:.0%}: "
              f"{choice.reason})", file=sys.stderr)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for rejection in loaded.rejected:
        print(f"Rejected: {rejection_text(rejection)}")
    if loaded.frame.empty:
        raise CapaError(f"{path.name} has no usable job-plan rows; nothing was changed.")
    changed = store.save_jobplans(loaded.frame, user=current_user(), source=path.name)
    # The store logs which plans changed; this entry ties the change to the file (§7).
    store.record(
        "job plans imported",
        user=current_user(),
        file=path.name,
        file_sha256=hashlib.sha256(content).hexdigest(),
        rows=len(loaded.frame),
        changed=changed,
        rejected=len(loaded.rejected),
    )
    if args.save_profile:
        saved_values = {**(loaded.profile.values if loaded.profile else {}), **values}
        lacking = {field: "" for field, header in columns.items() if not header}
        profile = jobplans_profile(args.save_profile, {**lacking, **loaded.columns}, saved_values)
        store.save_profile(profile)
        print(f"Saved the mapping as {profile.name!r}.", file=sys.stderr)
    print(
        f"Job plans: {len(loaded.frame)} read from {path.name}, {changed} new or changed, "
        f"{len(loaded.rejected)} rejected."
    )
    return 0


def run_jobplans_export(args: argparse.Namespace) -> int:
    from capa_monitor.store.jobplan_export import jobplans_xlsx

    store = _open_store(args)
    plans = store.jobplans()
    target = Path(args.file)
    write_download(store, target, jobplans_xlsx(plans), what="job plans xlsx", rows=len(plans))
    print(f"Wrote {len(plans)} job plans to {target}.")
    return 0


def run_jobplans_list(args: argparse.Namespace) -> int:
    plans = _open_store(args).jobplans()
    if args.format == "json":
        print(json.dumps(_records(plans), indent=2))
    elif plans.empty:
        print("No job plans yet.")
    else:
        shown = plans.copy()
        for column in ("available_from", "available_to"):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d").fillna("")
        print(shown.fillna("").to_string(index=False))
    return 0


# ---- demo and audit -----------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    from capa_monitor.demo import load_demo
    from capa_monitor.sample import TEAM

    store = _open_store(args)
    user = current_user()
    if args.remove:
        removed = store.remove_demo(user=user)
        print(f"Removed the demo data ({removed} demo upload{'s' if removed != 1 else ''}).")
        return 0
    loaded = load_demo(store, user=user)
    state = "already loaded" if loaded.outcome.status == "unchanged" else "loaded"
    print(
        f"Demo team {TEAM} {state}: upload {loaded.outcome.upload_id}, {loaded.appointments} "
        f"appointments, {loaded.plans} job plans ({loaded.plans_changed} new or changed). "
        "Remove it with `demo --remove`."
    )
    return 0


def run_audit(args: argparse.Namespace) -> int:
    audit = _open_store(args).audit()
    if args.format == "json":
        records = _records(audit)
        for record in records:
            record["details"] = json.loads(record["details"])
        print(json.dumps(records, indent=2))
        return 0
    if audit.empty:
        print("The audit log is empty.")
        return 0
    shown = pd.DataFrame(
        {
            "at (UTC)": audit["at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "user": audit["user"],
            "action": audit["action"],
            "rows": audit["rows"].astype("str").replace("<NA>", ""),
            "file sha256": audit["file_sha256"].fillna("").str[:12],
            "details": audit["details"],
        }
    )
    print(shown.to_string(index=False))
    return 0


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO text, missing as null."""
    out = []
    for row in frame.to_dict("records"):
        out.append({key: _json_value(value) for key, value in row.items()})
    return out


def _json_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None  # None, NaN, NaT and pd.NA alike
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
