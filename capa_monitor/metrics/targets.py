"""M1 (domain spec §5): new Core Partnerships, and Choice appointments, against the job plan.

The expectation grows with the clinician's *available* working days, so a leaver or a starter
is measured against the part of the quarter they were there for. A clinician without a target
(no job plan, or a plan giving no Core time, §4) gets no status against one: `no_target`, with
the reason in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from capa_monitor.metrics import words
from capa_monitor.model import CLINICIAN, DATE, KIND, OUTCOME, TEAM, Kind, Outcome
from capa_monitor.names import clinician_keys
from capa_monitor.periods import Quarter, working_days
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

STATUSES = ("green", "amber", "red", "no_target")
#: Ratios are compared with this slack so that 0.8 × 5 counts as exactly 4.
_RATIO_SLACK = 1e-9

#: Columns of the result, in order (see metrics/review.py for what each means).
TARGET_COLUMNS: tuple[str, ...] = (
    "clinician", "team", "target", "target_source", "expected_to_date", "delivered", "offered",
    "shortfall", "status", "status_reason", "planned", "plan_team", "also_in", "choice_target",
    "choice_expected_to_date", "choice_delivered",
    "choice_offered", "choice_shortfall", "choice_status", "available_from", "available_to",
    "availability", "available_days", "quarter_days",
)


def available_in(plans: pd.DataFrame, start: date, end: date) -> pd.Series:
    """Which plans' availability (available_from / available_to, NaT: open) overlaps [start, end)."""
    return (plans["available_from"].isna() | (plans["available_from"] < pd.Timestamp(end))) & (
        plans["available_to"].isna() | (plans["available_to"] >= pd.Timestamp(start))
    )


def against_target(
    activity: pd.DataFrame,
    targets: pd.DataFrame,
    quarter: Quarter,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    plans_elsewhere: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per clinician planned for the quarter or with activity in it (up to as_of).

    `activity` is the canonical frame for the teams viewed, `targets` plan_targets.quarterly_targets
    for the same teams. Clinicians with activity but no plan, and planned clinicians whose plan
    gives no target (§4), get status "no_target", NaN targets and a status_reason; planned
    clinicians with no activity have delivered 0. `plans_elsewhere` (clinician key → team):
    the plans of teams not viewed, so that a clinician working here whose plan is another
    team's is said to have one there (plan_team; "job plan in North"), not to have none.
    also_in: the other viewed teams they have rows in this quarter (their rows are summed
    under the one team shown), missing when none.
    """
    until = min(as_of, quarter.last_day)
    counts = _quarter_counts(activity, quarter.start, until)
    plans = _plans_in_quarter(targets, quarter, counts.index)

    merged = plans.join(counts, how="outer")
    planned = merged["clinician_plan"].notna().to_numpy()
    merged["clinician"] = merged["clinician_plan"].fillna(merged["clinician"])
    merged["team"] = merged["team_plan"].fillna(merged["team"])
    elsewhere = plans_elsewhere or {}
    merged["plan_team"] = pd.array(
        [None if is_planned else elsewhere.get(key) for key, is_planned
         in zip(merged.index.tolist(), planned.tolist(), strict=True)], dtype="str")
    merged["also_in"] = pd.array(
        [_also_in(shown, worked) for shown, worked
         in zip(merged["team"].tolist(), merged["worked_in"].tolist(), strict=True)], dtype="str")
    for column in ("delivered", "offered", "choice_delivered", "choice_offered"):
        merged[column] = merged[column].fillna(0).astype("int64")

    quarter_days = working_days(quarter.start, quarter.last_day, settings)
    if as_of < quarter.start:
        available = np.zeros(len(merged), dtype=np.int64)
    else:
        first = merged["available_from"].clip(lower=pd.Timestamp(quarter.start))
        last = merged["available_to"].clip(upper=pd.Timestamp(until))
        first = first.fillna(pd.Timestamp(quarter.start))
        last = last.fillna(pd.Timestamp(until))
        available = working_days(first.to_numpy("datetime64[D]"), last.to_numpy("datetime64[D]"), settings)
    share = available / quarter_days if quarter_days else np.zeros(len(merged))
    merged["available_days"] = np.where(planned, available, np.nan)
    merged["quarter_days"] = quarter_days

    # §5: "at quarter end it is against target": once the quarter is over, what is owed is the
    # whole target, even by a leaver whose expectation stopped growing on their last day.
    quarter_over = as_of >= quarter.last_day
    for prefix, target in (("", "target"), ("choice_", "choice_target")):
        full = merged[target].to_numpy(dtype="float64")
        expected = full * share
        delivered = merged[f"{prefix}delivered"].to_numpy(dtype="float64")
        owed = full if quarter_over else expected
        merged[f"{prefix}expected_to_date"] = expected
        merged[f"{prefix}shortfall"] = np.maximum(0.0, owed - delivered)  # NaN without a target
        merged[f"{prefix}status"] = _status(delivered, expected, ~np.isnan(full), settings)

    merged["target_source"] = merged["target_source"].astype("str")
    merged["planned"] = planned
    merged["status_reason"] = _reasons(merged, planned)
    merged["availability"] = pd.Series(
        [
            words.availability_words(start, end, as_of, quarter.start)
            for start, end in zip(merged["available_from"], merged["available_to"], strict=True)
        ],
        index=merged.index,
        dtype="str",
    )
    result = merged.reindex(columns=list(TARGET_COLUMNS))
    result = result.sort_values(["team", "clinician"], na_position="last", kind="stable")
    return result.reset_index(drop=True)


def _also_in(shown, worked) -> str | None:
    """The teams besides the shown one that a clinician's counted rows are in, in words."""
    others = [team for team in worked if team != shown] if isinstance(worked, tuple) else []
    return ", ".join(others) or None


def _status(
    delivered: np.ndarray, expected: np.ndarray, has_target: np.ndarray, settings: Settings
) -> np.ndarray:
    return np.select(
        [
            ~has_target,
            delivered >= settings.green_ratio * expected - _RATIO_SLACK,
            delivered >= settings.amber_ratio * expected - _RATIO_SLACK,
        ],
        ["no_target", "green", "amber"],
        default="red",
    )


def _reasons(merged: pd.DataFrame, planned: np.ndarray) -> pd.Series:
    """Why there is no target, or why it is 0, in words (§4); missing for an ordinary target."""
    target = merged["target"].to_numpy(dtype="float64")
    explicit = (merged["target_source"] == "explicit").to_numpy(dtype=bool)
    reason = np.select(
        [~planned, np.isnan(target), (target == 0) & explicit, target == 0],
        [words.NO_JOB_PLAN, words.NO_CORE_TIME, words.EXPLICIT_ZERO, words.ZERO_CORE_TIME],
        default="",
    ).astype(object)
    for at, team in enumerate(merged["plan_team"].tolist()):
        if isinstance(team, str):
            reason[at] = words.plan_elsewhere(team)
    return pd.Series(reason, index=merged.index, dtype="str").replace("", pd.NA)


def _quarter_counts(activity: pd.DataFrame, start: date, until: date) -> pd.DataFrame:
    """Per clinician key (sorted): the name and team shown for them, the teams of their rows
    (worked_in: a tuple, alphabetical), and core_new / choice slots delivered and offered. Whatever order the rows come in (a store reads them team by
    team): the alphabetically first of their spellings, as M3 shows it, and the team of most
    of their rows in the quarter (ties: alphabetical; none when no row names one)."""
    dates = activity[DATE]
    rows = activity[((dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(until))).to_numpy()]
    kind, outcome = rows[KIND], rows[OUTCOME]
    attended = (outcome == Outcome.ATTENDED.value).to_numpy()
    offered = (outcome != Outcome.CANCELLED_BY_SERVICE.value).to_numpy()
    core = (kind == Kind.CORE_NEW.value).to_numpy()
    choice = (kind == Kind.CHOICE.value).to_numpy()
    # counted per spelling and team, then the few spellings matched by name key in Python
    # (grouping every row by its key cost a team's review 5 ms)
    spelling, spellings = pd.factorize(rows[CLINICIAN])
    team = rows[TEAM] if TEAM in rows else pd.Series(pd.NA, index=rows.index, dtype="str")
    team_code, teams = pd.factorize(team)
    named = spelling >= 0
    n = len(spellings)
    flags = (core & attended, core & offered, choice & attended, choice & offered)
    tallies = [np.bincount(spelling[named], weights=flag[named], minlength=n).astype("int64")
               for flag in flags]
    in_team = named & (team_code >= 0)
    cell = spelling[in_team] * max(len(teams), 1) + team_code[in_team]
    cells, rows_in = np.unique(cell, return_counts=True)
    keys = clinician_keys(pd.Series(spellings, dtype="str")).tolist()
    found: dict[str, list] = {}  # key → [spelling, {team: rows}, four counts]
    for s in range(n):
        entry = found.setdefault(keys[s], [spellings[s], {}, 0, 0, 0, 0])
        entry[0] = min(entry[0], spellings[s])
        for i in range(4):
            entry[2 + i] += int(tallies[i][s])
    for code, count in zip(cells.tolist(), rows_in.tolist(), strict=True):
        s, t = divmod(code, max(len(teams), 1))
        by_team = found[keys[s]][1]
        by_team[teams[t]] = by_team.get(teams[t], 0) + count
    ordered = sorted(found)
    entries = [found[key] for key in ordered]
    return pd.DataFrame(
        {
            "clinician": pd.array([e[0] for e in entries], dtype="str"),
            "team": pd.array([min(e[1].items(), key=lambda item: (-item[1], item[0]))[0]
                              if e[1] else None for e in entries], dtype="str"),
            "worked_in": pd.Series([tuple(sorted(e[1])) for e in entries], dtype=object).array,
            **{name: np.array([e[2 + i] for e in entries], dtype="int64")
               for i, name in enumerate(("delivered", "offered", "choice_delivered",
                                         "choice_offered"))},
        },
        index=pd.Index(ordered, dtype="str", name="key"),
    )


def _plans_in_quarter(targets: pd.DataFrame, quarter: Quarter, active_keys: pd.Index) -> pd.DataFrame:
    """Plans whose availability overlaps the quarter, or whose clinician worked in it."""
    plans = targets.rename(
        columns={"core_target": "target", "clinician": "clinician_plan", "team": "team_plan"}
    ).copy()
    plans["key"] = clinician_keys(plans["clinician_plan"])
    plans = plans.drop_duplicates("key", keep="last").set_index("key")
    overlaps = available_in(plans, quarter.start, quarter.end)
    plans = plans[overlaps | plans.index.isin(active_keys)]
    return plans[
        ["clinician_plan", "team_plan", "target", "target_source", "choice_target",
         "available_from", "available_to"]
    ]
