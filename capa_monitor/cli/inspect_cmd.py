"""`inspect FILE`: load an activity export without storing it and print what the loader made of it.

The manager's first check on a new export shape: which columns were recognised, what was
rejected and why, which values need mapping.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from capa_monitor.errors import LoadError
from capa_monitor.loading import LoadReport, MappingProfile, Rejection, load_activity

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
    add_load_arguments(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run_inspect)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """What says how to read an export, shared by `inspect` and `ingest`."""
    parser.add_argument("file", metavar="FILE", help="the export (.xlsx or .csv)")
    parser.add_argument("--team", metavar="NAME", help="team of the rows that name none")
    parser.add_argument("--sheet", metavar="NAME", help="the sheet to read (default: detected)")
    parser.add_argument(
        "--profile", metavar="FILE", help="a saved mapping profile (JSON) to apply"
    )


def run_inspect(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = read_bytes(path, "file")
    profile = read_profile(args.profile)
    result = load_activity(data, path.name, team=args.team, sheet=args.sheet, profile=profile)
    if args.format == "json":
        print(json.dumps(result.report.to_json_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result.report))
    return 0


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
    lines.append("")
    lines.append("Columns used:")
    lines += [f"  {canonical:<14} <- {header}" for canonical, header in report.columns.items()]
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
    lines += [f"Note: {w}" for w in report.warnings]
    return "\n".join(lines)


def rejection_text(rejection: Rejection) -> str:
    """One rejected row: where, which column and value, and why."""
    value = "" if rejection.value is None else f" {rejection.value!r}"
    return f"{rejection.sheet} row {rejection.row}, {rejection.column}{value}: {rejection.reason}"


def _rows(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")
