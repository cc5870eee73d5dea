"""`review` and `shortfalls`: the quarterly review and its shortfall list from the command line."""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from capa_monitor.errors import CapaError
from capa_monitor.metrics import words
from capa_monitor.metrics.review import Review
from capa_monitor.periods import Quarter

#: Per-clinician JSON fields (issue 4), in order. `status` is the code for machines,
#: `status_words` what the pages and downloads say.
CLINICIAN_FIELDS: tuple[str, ...] = (
    "clinician", "team", "planned", "target", "target_source", "expected_to_date", "delivered",
    "offered", "shortfall", "status", "status_words", "status_reason", "plan_team", "also_in",
    "choice_target",
    "choice_expected_to_date", "choice_delivered", "choice_offered", "choice_shortfall",
    "choice_status", "lost", "reoffered", "pending", "not_reoffered", "available_from",
    "leaving_date", "availability",
    # §8 looking ahead, named as in the spec: L1 the quarter's projected end, L2 next quarter's
    # diary (null outside a quarter under way / for a clinician not planned next quarter)
    "booked_ahead", "free_ahead", "projected", "to_find", "projection_words", "in_diary",
    "next_target", "diary_flag", "slots_missing", "diary_words",
)
#: Per-lost-slot JSON fields (issue 4), in order. `slot_id` is the export's own id (null when
#: the export had none: the id the loader derives is nowhere in the clinician's system);
#: `slot` names the slot by date, time, clinician and type.
SLOT_FIELDS: tuple[str, ...] = (
    "clinician", "team", "date", "start", "kind", "outcome", "slot", "status", "status_words",
    "evidence", "slot_id", "evidence_slot_id", "window_end",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser(
        "review",
        help="the quarterly review: new Core Partnerships against target, lost slots",
        description="Print the quarterly review for a quarter and team(s) from the store.",
    )
    _period_arguments(show)
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(func=run_review)

    download = subparsers.add_parser(
        "shortfalls",
        help="write the shortfall list (clinicians below target, slots not re-offered)",
        description="Write the quarter's shortfall list as .xlsx (a sheet per part) or .csv.",
    )
    _period_arguments(download)
    download.add_argument("--out", required=True, metavar="FILE", help="FILE.xlsx or FILE.csv")
    download.set_defaults(func=run_shortfalls)


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quarter",
        metavar="LABEL",
        help='financial quarter, e.g. "2026/27 Q2" (default: the quarter of the as-of date)',
    )
    parser.add_argument(
        "--team",
        action="append",
        metavar="NAME",
        help="team to review (repeat for several; default: every team)",
    )
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        type=_iso_date,
        help="review as of this date (default: the latest attended or missed appointment)",
    )


def run_review(args: argparse.Namespace) -> int:
    result = _review_from_store(args)[0]
    if args.format == "json":
        print(json.dumps(review_json(result), indent=2, allow_nan=False))
    else:
        print(review_table(result))
    return 0


def run_shortfalls(args: argparse.Namespace) -> int:
    # Imported here: the spreadsheet writer and the loader behind store_cmds cost `review` a
    # quarter of a second of start-up it never uses.
    from capa_monitor.cli.store_cmds import write_download
    from capa_monitor.exports import diary_table, shortfall_csv, shortfall_tables, shortfall_xlsx

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise CapaError(f"--out must end in .xlsx or .csv, not {out.name!r}.")
    result, store = _review_from_store(args)
    data = shortfall_xlsx(result) if suffix == ".xlsx" else shortfall_csv(result)
    part1, part2 = shortfall_tables(result)
    part3 = diary_table(result)
    write_download(
        store, out, data, what="shortfall list", **review_details(result),
        rows=len(part1) + len(part2) + len(part3),
        clinicians=len(part1),
        slots=len(part2),
        diary_short=len(part3),
    )
    print(
        f"Wrote {out}: {len(part1)} clinician(s) behind or with no target, "
        f"{len(part2)} slot(s) not re-offered, {len(part3)} clinician(s) short of next quarter's "
        f"diary ({result.quarter.label}, as of {result.as_of:%d %b %Y})."
    )
    return 0


def review_details(result: Review) -> dict[str, Any]:
    """What a download's audit entry says of the review it came from."""
    return {
        "quarter": result.quarter.label,
        "as_of": result.as_of.isoformat(),
        "teams": list(result.teams) if result.teams else None,
    }


def _review_from_store(args: argparse.Namespace):
    from capa_monitor.store import Store

    store = Store.open(args.db)
    settings = store.settings()
    teams = _known_teams(args.team, store.teams())
    if args.quarter:
        quarter = Quarter.parse(args.quarter, settings.fy_first_month)
    else:
        latest = args.as_of or store.latest_as_of(teams)
        if latest is None:
            raise CapaError("There is no attended or missed appointment stored yet; give --quarter.")
        quarter = Quarter.containing(latest, settings.fy_first_month)
    # The kept review while it stands, else the part of the teams' rows the quarter needs and
    # what the store keeps at write time (store/kept_reviews.py, store/review_reads.py)
    result = store.review(teams, quarter, args.as_of)
    return result, store


def _known_teams(asked: list[str] | None, stored: list[str]) -> list[str] | None:
    if not asked:
        return None
    by_key = {team.casefold(): team for team in stored}
    unknown = [team for team in asked if team.strip().casefold() not in by_key]
    if unknown:
        known = ", ".join(stored) or "none yet"
        raise CapaError(f"No team called {unknown[0]!r} in the store; teams: {known}.")
    # sorted and once each, as the page asks (access.Scope.review_teams): the same teams make
    # the same kept review whichever order they were typed in
    return sorted({by_key[team.strip().casefold()] for team in asked})


def review_json(result: Review) -> dict[str, Any]:
    """The `review --format json` document (issue 4); floats unrounded, missing → null."""
    return {
        "quarter": result.quarter.label,
        "as_of": result.as_of.isoformat(),
        "as_of_source": result.as_of_source,
        "teams": list(result.teams) if result.teams else None,
        "settings": result.settings.to_dict(),
        "headline": _headline_json(result),
        "clinicians": _records(
            result.clinicians.assign(
                status_words=words.words(result.clinicians["status"], words.STATUS_WORDS)
            ),
            CLINICIAN_FIELDS,
        ),
        "lost_slots": _records(
            result.lost_slots.assign(
                status_words=words.words(result.lost_slots["status"], words.SLOT_STATUS_WORDS),
                slot_id=result.lost_slots["export_slot_id"],
                evidence_slot_id=result.lost_slots["evidence_export_slot_id"],
            ),
            SLOT_FIELDS,
        ),
        "next_diary": _diary_json(result),
    }


def _diary_json(result: Review) -> dict[str, Any] | None:
    """L2's quarter and whether its diary is checked yet; None once it has started."""
    diary = result.next_diary
    if diary is None:
        return None
    flagged = diary.flagged
    return {
        "quarter": diary.quarter.label,
        "ready_at": diary.ready_at.isoformat(),
        "checked": diary.checked,
        "clinicians_short": len(flagged),
        "slots_missing": int(flagged["slots_missing"].sum()),
    }


def _headline_json(result: Review) -> dict[str, Any]:
    head = result.headline
    return {
        "delivered": head.delivered,
        "expected_to_date": head.expected,
        "target": head.target,
        "clinicians_with_target": head.with_target,
        "behind": head.behind,
        "slightly_behind": head.slightly_behind,
        "no_job_plan": list(head.unplanned),
        "no_job_plan_delivered": head.unplanned_delivered,
        "job_plan_in_another_team": list(head.planned_elsewhere),
        "job_plan_in_another_team_delivered": head.planned_elsewhere_delivered,
        "no_core_time": list(head.no_core_time),
        "no_core_time_delivered": head.no_core_time_delivered,
        "apart": head.apart(),
    }


def _records(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    columns = [frame[name].tolist() for name in fields]
    return [
        {name: _json_value(value) for name, value in zip(fields, row, strict=True)}
        for row in zip(*columns, strict=True)
    ]


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return _json_value(value.item())
    return value


def review_table(result: Review) -> str:
    """A plain-text review a manager can read in a terminal, in the pages' words."""
    header = (
        f"{result.quarter.label} review, {result.teams_label}, as of {result.as_of:%d %b %Y}"
        f" ({'given' if result.as_of_source == 'given' else 'latest attended or missed appointment'})"
    )
    head = result.headline
    lines = [
        header,
        "",
        f"New Core Partnerships by clinicians with a target: {head.delivered} delivered of "
        f"{head.expected:.1f} expected to date (quarter target {head.target:.1f}); "
        f"{head.behind} of {head.with_target} behind, {head.slightly_behind} slightly behind.",
        *(line[0].upper() + line[1:] + "." for line in head.apart()),
    ]
    banner = words.no_core_time_banner(head.no_core_time, result.quarter.label)
    if banner:
        lines.append(banner)
    rows = [
        (
            "Clinician", "Team", "Status", "Target", "Expected", "Delivered", "Offered",
            "Shortfall", "Choice done/target", "Lost", "Re-offered", "Pending", "Not re-off.",
            "Note",
        )
    ]
    clinicians = result.clinicians.assign(
        status_words=words.words(result.clinicians["status"], words.STATUS_WORDS),
        note=words.clinician_notes(result.clinicians),
    )
    for c in clinicians.itertuples(index=False):
        rows.append(
            (
                c.clinician, _text(c.team), c.status_words, _num(c.target),
                _num(c.expected_to_date), str(c.delivered), str(c.offered), _num(c.shortfall),
                f"{c.choice_delivered}/{_num(c.choice_target)}", str(c.lost), str(c.reoffered),
                str(c.pending), str(c.not_reoffered), _text(c.note),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    lines += _ahead_lines(result)
    lost = result.lost_slots
    statuses = words.words(lost["status"], words.SLOT_STATUS_WORDS).value_counts(sort=False)
    missed = lost[lost["status"] == "not_reoffered"]
    s = result.settings
    lines += [
        "",
        f"Lost slots in the quarter: {len(lost)}"
        + (" (" + ", ".join(f"{name} {count}" for name, count in statuses.items()) + ")"
           if len(statuses) else ""),
        *(f"  {slot}: {evidence}"
          for slot, evidence in zip(missed["slot"], missed["evidence"], strict=True)),
        f"Rules: on track at {s.green_ratio:.0%} of expected, slightly behind at "
        f"{s.amber_ratio:.0%}, behind below; "
        f"re-offer window {s.reoffer_window_days} days; targets = core half-days x "
        f"{s.appointments_per_half_day:g} x {s.usable_weeks_per_quarter:g} weeks / "
        f"{s.appointments_per_core_partnership:g} unless the plan gives one; no Core time "
        "and no target in the plan: no target."
        + (f" {words.CHOSEN_TEAMS_ONLY}" if result.teams else ""),
    ]
    return "\n".join(lines)


def _ahead_lines(result: Review) -> list[str]:
    """§8 L1 and L2 in the pages' words, a line per clinician who has either."""
    c = result.clinicians
    shown = c[c["projection_words"].notna() | c["diary_words"].notna()]
    if shown.empty:
        return []
    diary = result.next_diary
    lines = ["", "Looking ahead (projected on the slots booked"
             + (f"; {diary.quarter.label} diary from {diary.ready_at:%d %b}" if diary else "")
             + "):"]
    for row in shown.itertuples(index=False):
        parts = []
        if isinstance(row.projection_words, str):
            parts.append(f"{row.projection_words} (projected {row.projected:.1f}: "
                         f"{row.booked_ahead} booked, {row.free_ahead} free ahead)")
        if isinstance(row.diary_words, str):
            parts.append(f"next quarter: {row.diary_words}")
        lines.append(f"  {row.clinician}: {'; '.join(parts)}")
    return lines


def _num(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from exc
