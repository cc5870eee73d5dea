"""Job plans (domain spec §4): read the manager's spreadsheet, turn plans into quarterly targets.

A plan row says how many Core half-days and Choice appointments a clinician gives a week; the
CAPA arithmetic turns that into a quarter's new Core Partnerships unless the plan states the
quarter's target outright. Targets stay fractional here; only displays round them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capa_monitor.loading.headers import find_header
from capa_monitor.loading.normalise import normalise_names
from capa_monitor.loading.report import Rejection
from capa_monitor.model import JOBPLAN_COLUMNS, JOBPLAN_DATE_COLUMNS, JOBPLAN_NUMBER_COLUMNS
from capa_monitor.names import clinician_keys
from capa_monitor.periods import Quarter
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

#: A half-day session is 3.5 hours (§4), for plans that give hours instead of sessions.
HOURS_PER_HALF_DAY = 3.5

#: Hours columns some plans carry instead of sessions: hours column -> sessions column.
HOURS_COLUMNS: dict[str, str] = {
    "core_hours": "core_sessions",
    "specific_hours": "specific_sessions",
    "nonclinical_hours": "nonclinical_sessions",
}

#: Header texts managers use for each job-plan column (§4). Earlier synonyms win.
JOBPLAN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "clinician": ("Name", "Staff", "HCP", "Clinician Name", "Staff Name", "Staff Member"),
    "team": ("Team", "Team Name", "Service", "Clinic"),
    "fte": ("WTE", "FTE", "Whole Time Equivalent", "Full Time Equivalent"),
    "choice_per_week": (
        "Choice appointments per week", "Choice appts per week", "Choice per week",
        "Choice appointments", "Choice slots per week", "Choice",
    ),
    "core_sessions": (
        "Core half-days / sessions per week", "Core half-days per week", "Core sessions per week",
        "Core half-days", "Core half days", "Core sessions", "Core",
    ),
    "specific_sessions": (
        "Specific half-days / sessions per week", "Specific half-days per week",
        "Specific sessions per week", "Specific half-days", "Specific sessions", "Specific",
    ),
    "nonclinical_sessions": (
        "Non-clinical half-days / sessions per week", "Non-clinical half-days per week",
        "Non-clinical sessions per week", "Non-clinical half-days", "Non-clinical sessions",
        "Non-clinical", "Nonclinical", "Admin sessions",
    ),
    "core_hours": ("Core hours per week", "Core hours"),
    "specific_hours": ("Specific hours per week", "Specific hours"),
    "nonclinical_hours": ("Non-clinical hours per week", "Non-clinical hours"),
    **{
        f"q{n}_target": (f"Q{n} target", f"Q{n} new Core Partnerships", f"Target Q{n}", f"Q{n}")
        for n in range(1, 5)
    },
    "available_from": ("Start date", "Available from", "Starts", "Start", "From"),
    "available_to": ("Leaving date", "End date", "Available to", "Leaves", "Leaving", "Until"),
}



@dataclass(frozen=True)
class JobPlanLoad:
    frame: pd.DataFrame  # model.JOBPLAN_COLUMNS, typed as model.py says
    rejected: list[Rejection] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> source header


def load_jobplans(data: bytes, filename: str) -> JobPlanLoad:
    """Read a job-plan spreadsheet (xlsx or csv) into canonical plans plus rejected rows."""
    from capa_monitor.loading.read import read_upload  # the sandboxed reader guards the bytes

    workbook = read_upload(data, filename)
    sheet = workbook.sheets[0]
    return jobplans_from_cells(sheet.cells, sheet.name)


def jobplans_from_cells(cells: pd.DataFrame, sheet: str = "Sheet1") -> JobPlanLoad:
    """The no-I/O half of load_jobplans: raw text cells (sheet row = index + 1) to plans."""
    header = find_header(cells, JOBPLAN_SYNONYMS, required=("clinician",))
    body = cells.iloc[header.data_start :]
    headers = header.source_headers()
    raw = {name: body.iloc[:, pos] for name, pos in header.columns.items()}
    sheet_rows = body.index.to_numpy() + 1

    blank = body.isna().all(axis=1).to_numpy()
    rejected: list[Rejection] = []
    bad = np.zeros(len(body), dtype=bool)

    names = normalise_names(raw["clinician"])
    no_name = names.isna().to_numpy() & ~blank
    for row in sheet_rows[no_name]:
        rejected.append(Rejection(sheet, int(row), headers["clinician"], None, "no clinician name"))
    bad |= no_name

    frame = pd.DataFrame(index=body.index)
    frame["clinician"] = names.astype("str")
    frame["team"] = (
        raw["team"].str.strip().replace("", pd.NA).astype("str") if "team" in raw else pd.NA
    )
    parsed = [
        (JOBPLAN_NUMBER_COLUMNS + tuple(HOURS_COLUMNS), _numbers, "not a number of zero or more"),
        (JOBPLAN_DATE_COLUMNS, _dates, "not a date (use e.g. 14/08/2026 or 2026-08-14)"),
    ]
    for names, parse, problem in parsed:
        for name in names:
            if name not in raw:
                continue
            values, invalid = parse(raw[name])
            _reject(rejected, sheet, sheet_rows, invalid & ~blank, headers[name], raw[name],
                    problem)
            bad |= invalid
            frame[name] = values
    for hours, sessions in HOURS_COLUMNS.items():
        if hours in frame:
            converted = frame.pop(hours) / HOURS_PER_HALF_DAY
            frame[sessions] = frame[sessions].fillna(converted) if sessions in frame else converted

    frame = canonical_plans(frame)

    inverted = (frame["available_to"] < frame["available_from"]).to_numpy() & ~bad & ~blank
    _reject(rejected, sheet, sheet_rows, inverted, headers.get("available_to"),
            raw.get("available_to"), "leaving date is before the start date")
    bad |= inverted

    keep = ~blank & ~bad
    # One plan per clinician, matched as the store and the review match names.
    duplicate = clinician_keys(frame["clinician"]).where(keep).duplicated().to_numpy() & keep
    _reject(rejected, sheet, sheet_rows, duplicate, headers["clinician"], raw["clinician"],
            "this clinician already has a plan row above; keep one row per clinician")
    keep &= ~duplicate

    rejected.sort(key=lambda r: r.row)
    return JobPlanLoad(frame[keep].reset_index(drop=True), rejected, headers)


def canonical_plans(plans: pd.DataFrame) -> pd.DataFrame:
    """Plans with exactly model.JOBPLAN_COLUMNS, typed (missing columns empty), whatever made them."""
    frame = plans.reindex(columns=list(JOBPLAN_COLUMNS))
    frame["clinician"] = frame["clinician"].astype("str")
    frame["team"] = frame["team"].astype("str")
    for name in JOBPLAN_NUMBER_COLUMNS:
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    for name in JOBPLAN_DATE_COLUMNS:
        frame[name] = pd.to_datetime(frame[name])
    return frame


def quarterly_targets(
    plans: pd.DataFrame, quarter: Quarter, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per planned clinician: the quarter's full-quarter targets and availability.

    Columns: clinician, team, core_target, choice_target (floats, unrounded), target_source
    ("explicit" when the plan's qN_target is set, N = the quarter's number, else "capa"),
    available_from, available_to (datetime64, NaT = open), fte, core_sessions, choice_per_week.
    Blank sessions count as none (a target of 0), so a plan row always yields a target.
    """
    plans = canonical_plans(plans)
    core_sessions = plans["core_sessions"]
    choice_per_week = plans["choice_per_week"]
    explicit = plans[f"q{quarter.number}_target"]
    capa = (
        core_sessions.fillna(0.0)
        * settings.appointments_per_half_day
        * settings.usable_weeks_per_quarter
        / settings.appointments_per_core_partnership
    )
    return pd.DataFrame(
        {
            "clinician": plans["clinician"],
            "team": plans["team"],
            "core_target": explicit.where(explicit.notna(), capa),
            "choice_target": choice_per_week.fillna(0.0) * settings.usable_weeks_per_quarter,
            "target_source": np.where(explicit.notna(), "explicit", "capa"),
            "available_from": plans["available_from"],
            "available_to": plans["available_to"],
            "fte": plans["fte"],
            "core_sessions": core_sessions,
            "choice_per_week": choice_per_week,
        }
    ).reset_index(drop=True)


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = raw.astype("str").str.strip().replace("", pd.NA)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    invalid = (text.notna() & (values.isna() | (values < 0))).to_numpy()
    return values.where(~invalid), invalid


def _dates(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = raw.astype("str").str.strip().replace("", pd.NA)
    # The reader gives Excel dates as ISO; typed dates are UK day-first.
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce")
    uk = pd.to_datetime(text.where(iso.isna()), dayfirst=True, format="mixed", errors="coerce")
    values = iso.fillna(uk).dt.normalize()
    invalid = (text.notna() & values.isna()).to_numpy()
    return values, invalid


def _reject(
    rejected: list[Rejection],
    sheet: str,
    sheet_rows: np.ndarray,
    mask: np.ndarray,
    column: str | None,
    raw: pd.Series | None,
    reason: str,
) -> None:
    if not mask.any():
        return
    values = raw.to_numpy()[mask] if raw is not None else [None] * int(mask.sum())
    for row, value in zip(sheet_rows[mask], values, strict=True):
        shown = None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        rejected.append(Rejection(sheet, int(row), column, shown, reason))

