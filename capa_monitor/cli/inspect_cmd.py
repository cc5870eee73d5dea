"""`inspect FILE`: load an activity export without storing it and print what the loader made of it.

The manager's first check on a new export shape: which columns were recognised, what was
rejected and why, which values need mapping.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from capa_monitor.errors import LoadError
from capa_monitor.loading import (
    PROFILE_TARGETS,
    LoadReport,
    MappingProfile,
    Rejection,
    load_activity,
)
from capa_monitor.loading.headers import ACTIVITY_SYNONYMS
from capa_monitor.loading.plan_names import against_plans
from capa_monitor.loading.plan_names import describe as describe_names

#: How many rejected rows the table form prints before summarising the rest.
TABLE_REJECTION_LINES = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="read an activity export and report what the loader found (nothing is stored)",
        description=(
            "Read an activity export (.xlsx or .csv) and print the loader's report: rows read, "
            "accepted and rejected, columns recognised, values it could not map."
        ),
    )
    add_load_arguments(parser, save_help=(
        "write the mapping used (columns found, --map, --value) to the file NAME "
        "(.json added if NAME has no suffix), for --profile next time"
    ))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run_inspect)


def add_load_arguments(
    parser: argparse.ArgumentParser, *, profile_help: str = "a saved mapping profile (JSON file) "
    "to apply", save_help: str
) -> None:
    """What says how to read an export, shared by `inspect` and `ingest`."""
    parser.add_argument("file", metavar="FILE", help="the export (.xlsx or .csv)")
    parser.add_argument("--team", metavar="NAME", help="team of the rows that name none")
    parser.add_argument(
        "--sheet", metavar="NAME",
        help="the sheet to read (default: every sheet shaped like the best activity sheet)",
    )
    parser.add_argument("--profile", metavar="FILE", help=profile_help)
    parser.add_argument(
        "--map", metavar="FIELD=HEADER", action="append", type=map_argument, default=[],
        help="read FIELD from the column headed HEADER, or with nothing after '=' from no "
        "column (repeatable); fields: "
        + ", ".join(ACTIVITY_SYNONYMS),
    )
    parser.add_argument(
        "--value", metavar="FIELD:TEXT=CANONICAL", action="append", type=value_argument,
        default=[],
        help="read TEXT in FIELD as CANONICAL (repeatable), e.g. 'outcome:Cancelled by "
        "Unit=cancelled_by_service'; fields: " + ", ".join(PROFILE_TARGETS),
    )
    parser.add_argument("--save-profile", metavar="NAME", help=save_help)


def map_argument(text: str) -> tuple[str, str]:
    """`FIELD=HEADER` → (field, header); an unknown field is a usage error (exit 2)."""
    field, sep, header = text.partition("=")
    field = field.strip()
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=HEADER")
    if field not in ACTIVITY_SYNONYMS:
        raise argparse.ArgumentTypeError(
            f"unknown field {field!r}; known fields: {', '.join(ACTIVITY_SYNONYMS)}"
        )
    return field, header.strip()


def value_argument(text: str) -> tuple[str, str, str]:
    """`FIELD:TEXT=CANONICAL` → (field, text, canonical); unknown names are usage errors."""
    field, sep, rest = text.partition(":")
    source, sep2, canonical = rest.rpartition("=")
    field, source, canonical = field.strip(), source.strip(), canonical.strip()
    if not (sep and sep2 and source and canonical):
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD:TEXT=CANONICAL")
    if field not in PROFILE_TARGETS:
        raise argparse.ArgumentTypeError(
            f"unknown field {field!r} for --value; known fields: {', '.join(PROFILE_TARGETS)}"
        )
    if canonical not in PROFILE_TARGETS[field]:
        raise argparse.ArgumentTypeError(
            f"{canonical!r} is not a {field} value; known values: "
            + ", ".join(sorted(PROFILE_TARGETS[field]))
        )
    return field, source, canonical


def mapping_options(
    args: argparse.Namespace, profile: MappingProfile | None
) -> tuple[MappingProfile | None, dict[str, str]]:
    """The profile with --value added (they win), and the --map columns."""
    manual = dict(args.map)
    if not args.value:
        return profile, manual
    base = profile or MappingProfile("command line")
    values = {field: dict(mapping) for field, mapping in base.values.items()}
    for field, source, canonical in args.value:
        values.setdefault(field, {})[source] = canonical
    return MappingProfile(base.name, dict(base.columns), values), manual


def profile_to_save(name: str, report: LoadReport, profile: MappingProfile | None) -> MappingProfile:
    """What `--save-profile` keeps: every column found (by whatever means) and the value maps."""
    return MappingProfile(name, dict(report.columns), dict(profile.values) if profile else {})


def warn(report: LoadReport) -> None:
    """Warnings and doubts on stderr, one line each, so JSON on stdout stays clean."""
    for text in report.warnings:
        print(f"warning: {text}", file=sys.stderr)
    for text in report.doubts:
        print(f"check: {text}", file=sys.stderr)


def run_inspect(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = read_bytes(path, "file")
    profile, manual = mapping_options(args, read_profile(args.profile))
    result = load_activity(
        data, path.name, team=args.team, sheet=args.sheet, profile=profile, manual=manual
    )
    result = against_plans(result, stored_plan_names(args.db))
    if args.format == "json":
        print(json.dumps(result.report.to_json_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result.report))
    warn(result.report)
    if args.save_profile:
        target = Path(args.save_profile)
        if not target.suffix:
            target = target.with_suffix(".json")
        saved = profile_to_save(target.stem, result.report, profile)
        try:
            target.write_text(saved.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise LoadError(f"Cannot write the profile {target}: {exc.strerror or exc}.") from None
        print(f"Saved the mapping profile to {target}.", file=sys.stderr)
    return 0


def stored_plan_names(url: str | None) -> list[str]:
    """The job plans' clinician names of an existing store (inspect never creates one)."""
    from sqlalchemy.engine import make_url

    from capa_monitor.store import Store
    from capa_monitor.store.database import resolve_url

    resolved = resolve_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() == "sqlite" and not url and not Path(parsed.database or "").is_file():
        return []
    store = Store.open(resolved)
    try:
        return store.jobplans()["clinician"].dropna().tolist()
    finally:
        store.close()


def read_profile(name: str | None) -> MappingProfile | None:
    """The mapping profile saved (as JSON) in the file `name`; None without one."""
    if not name:
        return None
    text = read_bytes(Path(name), "profile").decode("utf-8", errors="replace")
    try:
        return MappingProfile.from_json(text)
    except (ValueError, AttributeError) as exc:
        raise LoadError(f"The profile {name} is not a mapping profile: {exc}.") from None


def read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None


def format_table(report: LoadReport) -> str:
    """The report as plain text a manager can read in a terminal."""
    lines = [
        f"File:      {report.file_name}  (sheet {report.sheet!r}, header on row {report.header_row})",
        f"Encoding:  {report.encoding or 'n/a (workbook)'}",
        f"Rows read: {report.rows_read}   accepted: {report.accepted}   "
        f"rejected: {len(report.rejected)}   dropped: {report.dropped}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in report.dropped_detail.items() if v) + ")"
            if report.dropped
            else ""
        ),
    ]
    if report.date_range:
        start, end = report.date_range
        lines.append(f"Dates:     {start.isoformat()} to {end.isoformat()}")
    lines.append(f"Clinicians ({len(report.clinicians)}): {', '.join(report.clinicians)}")
    if len(report.sheets.get("read", ())) > 1:
        lines.append(f"Sheets read: {', '.join(report.sheets['read'])}")
    for name, why in report.sheets.get("skipped", {}).items():
        lines.append(f"Sheet skipped: {name} ({why})")
    lines.append("")
    lines.append("Columns used:")
    lines += [
        f"  {canonical:<14} <- {header}" + _how(report.mapping.get(canonical))
        for canonical, header in report.columns.items()
    ]
    if report.unused_columns:
        lines.append("Columns not used: " + ", ".join(report.unused_columns))
    for title, key in (("Kinds", "kind"), ("Outcomes", "outcome")):
        counts = report.counts.get(key, {})
        lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    if report.unmapped_values:
        lines.append("")
        lines.append("Values to check or map:")
        for column, values in report.unmapped_values.items():
            shown = ", ".join(f"{v!r} x{n}" for v, n in values.items())
            lines.append(f"  {column}: {shown}")
    if report.rejected:
        lines.append("")
        lines.append("Rejected rows:")
        lines += [f"  {rejection_text(r)}" for r in report.rejected[:TABLE_REJECTION_LINES]]
        if len(report.rejected) > TABLE_REJECTION_LINES:
            lines.append(f"  ... and {len(report.rejected) - TABLE_REJECTION_LINES} more")
    if report.invalid_nhs_numbers:
        lines.append(
            f"NHS numbers failing the check digit: {len(report.invalid_nhs_numbers)} "
            f"(rows {_rows(report.invalid_nhs_numbers)})"
        )
    if report.blank_past_outcomes:
        lines.append(
            f"Past appointments with no outcome (read as booked): "
            f"{len(report.blank_past_outcomes)} (rows {_rows(report.blank_past_outcomes)})"
        )
    if report.plan_matches:
        names = describe_names(report.plan_matches)
        if names:
            lines.append("")
            lines.append("Names to check against the job plans:")
            lines += [f"  - {line}" for line in names]
    if report.doubts:
        lines.append("")
        lines.append("Check before storing:")
        lines += [f"  - {d}" for d in report.doubts]
    return "\n".join(lines)


def _how(found: dict | None) -> str:
    if not found:
        return ""
    return f"   ({found['by']}, {found['confidence']:.2f}: {found['reason']})"


def rejection_text(rejection: Rejection) -> str:
    """One rejected row: where, which column and value, and why."""
    value = "" if rejection.value is None else f" {rejection.value!r}"
    return f"{rejection.sheet} row {rejection.row}, {rejection.column}{value}: {rejection.reason}"


def _rows(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")
