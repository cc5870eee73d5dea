"""A job plan's quarter in numbers (domain spec §4): each plan typed as the store keeps it, and
the quarter's Core and Choice targets it gives. What the metrics read of the plans; reading a
plan file is jobplans.py's job (which needs the loader, and a review does not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capa_monitor.model import JOBPLAN_COLUMNS, JOBPLAN_DATE_COLUMNS, JOBPLAN_NUMBER_COLUMNS
from capa_monitor.periods import Quarter
from capa_monitor.settings import DEFAULT_SETTINGS, Settings


def canonical_plans(plans: pd.DataFrame) -> pd.DataFrame:
    """Plans with exactly model.JOBPLAN_COLUMNS, typed (missing columns empty), whatever made them."""
    if _is_canonical(plans):
        return plans.copy(deep=False)  # a review types its plans once and passes them on
    frame = plans.reindex(columns=list(JOBPLAN_COLUMNS))
    frame["clinician"] = frame["clinician"].astype("str")
    frame["team"] = frame["team"].astype("str")
    for name in JOBPLAN_NUMBER_COLUMNS:
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    for name in JOBPLAN_DATE_COLUMNS:
        frame[name] = pd.to_datetime(frame[name])
    return frame


def _is_canonical(plans: pd.DataFrame) -> bool:
    """Already what canonical_plans makes: its columns in its order, each of its type."""
    if list(plans.columns) != list(JOBPLAN_COLUMNS):
        return False
    dtypes = plans.dtypes
    return (all(dtypes[name] == "str" for name in ("clinician", "team"))
            and all(dtypes[name] == "float64" for name in JOBPLAN_NUMBER_COLUMNS)
            and all(isinstance(dtypes[name], np.dtype) and dtypes[name].kind == "M"
                    for name in JOBPLAN_DATE_COLUMNS))


def quarterly_targets(
    plans: pd.DataFrame, quarter: Quarter, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per planned clinician: the quarter's full-quarter targets and availability.

    Columns: clinician, team, core_target, choice_target (floats, unrounded), target_source
    ("explicit" when the plan's qN_target is set, N = the quarter's number; else "capa" when
    the plan gives Core time; else "none"), available_from, available_to (datetime64, NaT =
    open), fte, core_sessions, choice_per_week.
    §4: a plan giving neither Core time nor the quarter's target has NO target (NaN, source
    "none"), never 0; a target of 0 comes only from an explicit 0 or explicit zero sessions.
    Likewise a plan without Choice appointments per week has no Choice target.
    """
    plans = canonical_plans(plans)
    core_sessions = plans["core_sessions"]
    choice_per_week = plans["choice_per_week"]
    explicit = plans[f"q{quarter.number}_target"]
    capa = (
        core_sessions
        * settings.appointments_per_half_day
        * settings.usable_weeks_per_quarter
        / settings.appointments_per_core_partnership
    )
    return pd.DataFrame(
        {
            "clinician": plans["clinician"],
            "team": plans["team"],
            "core_target": explicit.where(explicit.notna(), capa),
            "choice_target": choice_per_week * settings.usable_weeks_per_quarter,
            "target_source": np.select(
                [explicit.notna(), core_sessions.notna()], ["explicit", "capa"], default="none"
            ),
            "available_from": plans["available_from"],
            "available_to": plans["available_to"],
            "fte": plans["fte"],
            "core_sessions": core_sessions,
            "choice_per_week": choice_per_week,
        }
    ).reset_index(drop=True)
