"""M1 (domain spec §5): new Core Partnerships, and Choice appointments, against the job plan.

The expectation grows with the clinician's *available* working days, so a leaver or a starter
is measured against the part of the quarter they were there for. A clinician without a target
(no job plan, or a plan giving no Core time, §4) gets no status against one: `no_target`, with
the reason in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from capa_monitor.metrics import words
from capa_monitor.model import CLINICIAN, DATE, KIND, OUTCOME, TEAM, Kind, Outcome
from capa_monitor.names import clinician_key, clinician_keys
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
    plans = _plans_in_quarter(targets, quarter, counts)
    # one row per key of either, in key order (as an outer join of the two would give),
    # gathered as arrays: a team's few dozen clinicians through frame joins and column
    # assignments cost its review 10 ms of pandas' bookkeeping
    keys = sorted(set(plans) | set(counts))
    at = [plans.get(key, -1) for key in keys]
    planned = np.array([position >= 0 for position in at], dtype=bool)
    counted = [counts.get(key) for key in keys]

    def plan_column(name: str):
        values = targets[name]
        return take(values.array if isinstance(values.dtype, pd.StringDtype)
                    else values.to_numpy(), at, allow_fill=True)

    plan_name, plan_team_of_row = plan_column("clinician"), plan_column("team")
    elsewhere = plans_elsewhere or {}
    clinician, team, plan_team, also_in = [], [], [], []
    for row, key in enumerate(keys):
        found = counted[row]
        name = plan_name[row] if planned[row] else None
        clinician.append(name if isinstance(name, str) else found.spelling if found else None)
        shown = plan_team_of_row[row] if planned[row] else None
        if not isinstance(shown, str):
            shown = found.shown_team() if found else None
        team.append(shown)
        plan_team.append(None if planned[row] else elsewhere.get(key))
        also_in.append(_also_in(shown, found.teams()) if found else None)
    out: dict[str, object] = {
        "clinician": pd.array(clinician, dtype="str"),
        "team": pd.array(team, dtype="str"),
        "plan_team": pd.array(plan_team, dtype="str"),
        "also_in": pd.array(also_in, dtype="str"),
        "planned": planned,
        "target_source": pd.array(plan_column("target_source"), dtype="str"),
    }
    for i, column in enumerate(("delivered", "offered", "choice_delivered", "choice_offered")):
        out[column] = np.array([found.tallies[i] if found else 0 for found in counted],
                               dtype="int64")

    quarter_days = working_days(quarter.start, quarter.last_day, settings)
    available_from, available_to = plan_column("available_from"), plan_column("available_to")
    if as_of < quarter.start:
        available = np.zeros(len(keys), dtype=np.int64)
    else:
        start, last_day = np.datetime64(quarter.start, "D"), np.datetime64(until, "D")
        first = available_from.astype("datetime64[D]")
        last = available_to.astype("datetime64[D]")
        first = np.where(np.isnat(first) | (first < start), start, first)
        last = np.where(np.isnat(last) | (last > last_day), last_day, last)
        available = working_days(first, last, settings)
    share = available / quarter_days if quarter_days else np.zeros(len(keys))
    out["available_days"] = np.where(planned, available, np.nan)
    out["quarter_days"] = np.full(len(keys), quarter_days, dtype="int64")

    # §5: "at quarter end it is against target": once the quarter is over, what is owed is the
    # whole target, even by a leaver whose expectation stopped growing on their last day.
    quarter_over = as_of >= quarter.last_day
    for prefix, target, source in (("", "target", "core_target"),
                                   ("choice_", "choice_target", "choice_target")):
        full = plan_column(source).astype("float64")
        expected = full * share
        delivered = out[f"{prefix}delivered"].astype("float64")
        owed = full if quarter_over else expected
        out[target] = full
        out[f"{prefix}expected_to_date"] = expected
        out[f"{prefix}shortfall"] = np.maximum(0.0, owed - delivered)  # NaN without a target
        out[f"{prefix}status"] = pd.array(
            _status(delivered, expected, ~np.isnan(full), settings), dtype="str")

    out["status_reason"] = _reasons(out["target"], out["target_source"], planned,
                                    out["plan_team"])
    out["available_from"] = available_from
    out["available_to"] = available_to
    out["availability"] = pd.array(
        [words.availability_words(start, end, as_of, quarter.start)
         for start, end in zip(pd.Series(available_from), pd.Series(available_to), strict=True)],
        dtype="str",
    )
    order = _by_team_then_name(out["team"], out["clinician"])
    return pd.DataFrame({name: out[name][order] for name in TARGET_COLUMNS})


def _by_team_then_name(team, clinician) -> np.ndarray:
    """Row order by team, then clinician, missing last, ties in key order (stable)."""
    codes = []
    for values in (clinician, team):
        code, _ = pd.factorize(values, sort=True)
        codes.append(np.where(code < 0, code.max(initial=0) + 1, code))
    return np.lexsort(codes)


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


def _reasons(target: np.ndarray, source, planned: np.ndarray, plan_team) -> pd.api.extensions.ExtensionArray:
    """Why there is no target, or why it is 0, in words (§4); missing for an ordinary target."""
    explicit = np.asarray(source == "explicit", dtype=bool)
    reason = np.select(
        [~planned, np.isnan(target), (target == 0) & explicit, target == 0],
        [words.NO_JOB_PLAN, words.NO_CORE_TIME, words.EXPLICIT_ZERO, words.ZERO_CORE_TIME],
        default="",
    ).astype(object)
    for at, team in enumerate(plan_team.tolist()):
        if isinstance(team, str):
            reason[at] = words.plan_elsewhere(team)
    return pd.array([text or None for text in reason.tolist()], dtype="str")


@dataclass
class _Counted:
    """One clinician key's quarter: the first of their spellings alphabetically, their rows
    per team, and core_new delivered, offered, choice delivered, offered."""

    spelling: str
    rows_by_team: dict[str, int]
    tallies: list[int]

    def shown_team(self) -> str | None:
        """The team of most of their rows (ties: alphabetical); None when no row names one."""
        if not self.rows_by_team:
            return None
        return min(self.rows_by_team.items(), key=lambda item: (-item[1], item[0]))[0]

    def teams(self) -> tuple[str, ...]:
        return tuple(sorted(self.rows_by_team))


def _quarter_counts(activity: pd.DataFrame, start: date, until: date) -> dict[str, _Counted]:
    """Per clinician key with rows in [start, until]: what _Counted holds, whatever order the
    rows come in (a store reads them team by team). Counted per spelling and team with
    bincount over the whole frame's codes, then the few spellings matched by key in Python
    (selecting the quarter's rows first, or grouping by key, cost a team's review 5 ms)."""
    dates = activity[DATE].to_numpy()
    in_quarter = (dates >= np.datetime64(start)) & (dates <= np.datetime64(until))
    kind, outcome = activity[KIND], activity[OUTCOME]
    attended = (outcome == Outcome.ATTENDED.value).to_numpy()
    offered = (outcome != Outcome.CANCELLED_BY_SERVICE.value).to_numpy()
    core = (kind == Kind.CORE_NEW.value).to_numpy()
    choice = (kind == Kind.CHOICE.value).to_numpy()
    spelling, spellings = pd.factorize(activity[CLINICIAN])
    team_code, teams = pd.factorize(activity[TEAM]) if TEAM in activity else (
        np.full(len(activity), -1, dtype=np.intp), [])
    counted = in_quarter & (spelling >= 0)
    n = len(spellings)
    rows = np.bincount(spelling[counted], minlength=n)
    tallies = [np.bincount(spelling[counted & flag], minlength=n).tolist()
               for flag in (core & attended, core & offered, choice & attended, choice & offered)]
    key_of = [clinician_key(name) for name in spellings]
    found: dict[str, _Counted] = {}
    for s in np.flatnonzero(rows).tolist():
        key = key_of[s]
        entry = found.get(key)
        if entry is None:
            entry = found[key] = _Counted(spellings[s], {}, [0, 0, 0, 0])
        entry.spelling = min(entry.spelling, spellings[s])
        for i in range(4):
            entry.tallies[i] += tallies[i][s]
    in_team = counted & (team_code >= 0)
    width = max(len(teams), 1)
    cells, rows_in = np.unique(spelling[in_team] * width + team_code[in_team], return_counts=True)
    for cell, count in zip(cells.tolist(), rows_in.tolist(), strict=True):
        s, t = divmod(cell, width)
        by_team = found[key_of[s]].rows_by_team
        by_team[teams[t]] = by_team.get(teams[t], 0) + count
    return found


def _plans_in_quarter(targets: pd.DataFrame, quarter: Quarter, active: Mapping) -> dict[str, int]:
    """Clinician key → row of `targets` (the last of a key's rows) for the plans whose
    availability overlaps the quarter, or whose clinician worked in it (a key of `active`)."""
    overlaps = available_in(targets, quarter.start, quarter.end).to_numpy(dtype=bool)
    last: dict[str, int] = {}
    for row, key in enumerate(clinician_keys(targets["clinician"]).tolist()):
        last[key] = row
    return {key: row for key, row in last.items() if overlaps[row] or key in active}
