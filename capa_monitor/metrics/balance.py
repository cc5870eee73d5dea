"""M3: the Core / Specific balance of clinical time against the job plan (domain spec §5 M3).

The failure it watches for: so much Specific time that Core capacity runs short.

Clinical time = attended Choice, Core (new and follow-up) and Specific (new and follow-up)
appointments dated in [start, end): only time actually spent with families counts, so DNAs,
cancellations, free slots and future bookings are left out, and `other` kinds are not
clinical CAPA time. Each counts its `duration_min`, or `settings.default_slot_minutes` when
the export gives no length.

Planned shares come from the job plan's weekly half-days: Core = core_sessions, Specific =
specific_sessions, Choice = choice_per_week (appointments) ÷ appointments_per_half_day
half-days; non-clinical sessions are not clinical time. Shares are per cent of the
clinician's (or team's) clinical total, so a gap between two shares is in percentage points.
`flagged` when the Specific share is more than `settings.specific_margin_points` points above
plan (exactly at the margin is not flagged). A team's plan shares add up its job-planned
clinicians' half-days; its actual shares add up all its clinicians' minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from capa_monitor.metrics.targets import available_in
from capa_monitor.model import CORE_KINDS, SPECIFIC_KINDS, Kind, Outcome
from capa_monitor.names import clinician_keys
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

GROUPS = ("choice", "core", "specific")

_SHARE_COLUMNS = (
    "choice_minutes",
    "core_minutes",
    "specific_minutes",
    "clinical_minutes",
    "choice_share",
    "core_share",
    "specific_share",
    "plan_choice_share",
    "plan_core_share",
    "plan_specific_share",
    "specific_excess_points",
    "flagged",
)
CLINICIAN_BALANCE_COLUMNS = ("clinician", "team", *_SHARE_COLUMNS)
TEAM_BALANCE_COLUMNS = ("team", *_SHARE_COLUMNS)

_GROUP_OF_KIND = {
    Kind.CHOICE.value: "choice",
    **{kind.value: "core" for kind in CORE_KINDS},
    **{kind.value: "specific" for kind in SPECIFIC_KINDS},
}
_GROUP_INDEX = {kind: GROUPS.index(group) for kind, group in _GROUP_OF_KIND.items()}
# Shares are sums of floats; a difference meant to equal the margin must not flag on noise.
_EXCESS_DECIMALS = 9


def balance(
    activity: pd.DataFrame,
    plans: pd.DataFrame,
    start: date,
    end: date,
    settings: Settings = DEFAULT_SETTINGS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per clinician, per team) balance over [start, end).

    Per clinician (columns CLINICIAN_BALANCE_COLUMNS): every clinician with clinical time in
    the period or a job plan available in it (available_from / available_to), named as in
    the plan when planned; `team` is the team of most of their clinical time, else their
    plan's. Per team (TEAM_BALANCE_COLUMNS). Shares are NaN where there is no time or plan.
    """
    spent = _minutes_spent(activity, start, end, settings)
    planned = _planned_half_days(plans[available_in(plans, start, end)], settings)
    # a clinician's row from the few sums above, in Python: pandas' grouping, joining and
    # filling cost a team's review 15 ms on frames of a dozen rows
    keys = sorted(set(spent) | set(planned))
    nan = float("nan")
    people = pd.DataFrame(
        {
            **{f"{g}_minutes": [spent[k].minutes[i] if k in spent else 0.0 for k in keys]
               for i, g in enumerate(GROUPS)},
            **{f"plan_{g}_half_days": [planned[k][i] if k in planned else nan for k in keys]
               for i, g in enumerate(GROUPS)},
            "clinician": pd.array([planned[k][3] if k in planned else spent[k].name
                                   for k in keys], dtype="str"),
            "team": pd.array([_team_of(spent.get(k), planned.get(k)) for k in keys],
                             dtype="str"),
        },
        index=pd.Index(keys, dtype="str"),
    )
    per_clinician = _with_shares(people, settings.specific_margin_points).sort_values(
        ["team", "clinician"], kind="stable")
    team_totals = people.groupby("team", dropna=False)[
        [f"{g}_minutes" for g in GROUPS] + [f"plan_{g}_half_days" for g in GROUPS]
    ].sum(min_count=1)
    per_team = _with_shares(team_totals, settings.specific_margin_points).reset_index()
    return (
        per_clinician[list(CLINICIAN_BALANCE_COLUMNS)].reset_index(drop=True),
        per_team[list(TEAM_BALANCE_COLUMNS)].reset_index(drop=True),
    )


@dataclass
class _Spent:
    """One clinician's clinical minutes in the period (by name key)."""

    name: str  # the first of their spellings, alphabetically
    minutes: list[float]  # per GROUPS
    by_team: dict[str, float]  # minutes per named team


def _minutes_spent(activity: pd.DataFrame, start: date, end: date, settings: Settings
                   ) -> dict[str, _Spent]:
    """Attended clinical minutes in [start, end) per clinician name key."""
    day = activity["date"]
    clinical = (
        ((day >= pd.Timestamp(start)) & (day < pd.Timestamp(end))).to_numpy()
        & (activity["outcome"] == Outcome.ATTENDED).to_numpy()
        & activity["kind"].isin(_GROUP_OF_KIND.keys()).to_numpy()
    )
    rows = activity.loc[clinical, ["clinician", "team", "kind", "duration_min"]]
    minutes = rows["duration_min"].fillna(settings.default_slot_minutes).to_numpy("float64")
    group = rows["kind"].map(_GROUP_INDEX).to_numpy("int64")
    spelling, spellings = pd.factorize(rows["clinician"], use_na_sentinel=False)
    team, teams = pd.factorize(rows["team"], use_na_sentinel=False)
    # sums per (spelling, team, group): the few distinct ones are all Python then sees
    cell = (spelling * len(teams) + team) * len(GROUPS) + group
    cells, at = np.unique(cell, return_inverse=True)
    sums = np.bincount(at, weights=minutes, minlength=len(cells))
    name_keys = clinician_keys(pd.Series(spellings, dtype="str")).tolist()
    spent: dict[str, _Spent] = {}
    for code, total in zip(cells.tolist(), sums.tolist(), strict=True):
        rest, g = divmod(code, len(GROUPS))
        s, t = divmod(rest, len(teams))
        name, team_name = spellings[s], teams[t]
        found = spent.setdefault(name_keys[s], _Spent(name, [0.0] * len(GROUPS), {}))
        found.name = min(found.name, name)
        found.minutes[g] += total
        if isinstance(team_name, str):  # minutes with no team count for no team
            found.by_team[team_name] = found.by_team.get(team_name, 0.0) + total
    return spent


def _team_of(spent: _Spent | None, planned: tuple | None) -> str | None:
    """The team of most of the clinician's clinical minutes (ties: alphabetical), else
    their plan's."""
    if spent is not None and spent.by_team:
        return min(spent.by_team.items(), key=lambda item: (-item[1], item[0]))[0]
    team = planned[4] if planned is not None else None
    return team if isinstance(team, str) else None


def _planned_half_days(plans: pd.DataFrame, settings: Settings) -> dict[str, tuple]:
    """Per name key (the last plan of a name wins): the plan's clinical half-days per week
    (Choice, Core, Specific), its clinician's name and its team."""
    choice = (plans["choice_per_week"].to_numpy("float64")
              / settings.appointments_per_half_day).tolist()
    core = plans["core_sessions"].to_numpy("float64").tolist()
    specific = plans["specific_sessions"].to_numpy("float64").tolist()
    return {
        key: (c, k, sp, name, team)
        for key, c, k, sp, name, team in zip(
            clinician_keys(plans["clinician"]).tolist(), choice, core, specific,
            plans["clinician"].tolist(), plans["team"].tolist(), strict=True)
    }


def _with_shares(frame: pd.DataFrame, margin_points: float) -> pd.DataFrame:
    """`frame` with the clinical total, the shares, the excess and the flag beside it
    (computed as arrays and added at once: a column set at a time cost a team's review
    5 ms of pandas' bookkeeping)."""
    minutes = frame[[f"{g}_minutes" for g in GROUPS]].to_numpy(dtype="float64")
    clinical = minutes.sum(axis=1)
    plan = frame[[f"plan_{g}_half_days" for g in GROUPS]].to_numpy(dtype="float64")
    has_plan = ~np.isnan(plan).all(axis=1)
    plan_total = np.where(has_plan, np.nansum(plan, axis=1), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = 100.0 * minutes / clinical[:, None]
        plan_shares = 100.0 * np.nan_to_num(plan) / plan_total[:, None]
    shares[clinical == 0] = np.nan
    plan_shares[~(plan_total > 0)] = np.nan
    added: dict[str, np.ndarray] = {"clinical_minutes": clinical}
    for i, group in enumerate(GROUPS):
        added[f"{group}_share"] = shares[:, i]
        added[f"plan_{group}_share"] = plan_shares[:, i]
    excess = shares[:, GROUPS.index("specific")] - plan_shares[:, GROUPS.index("specific")]
    added["specific_excess_points"] = excess
    added["flagged"] = np.round(excess, _EXCESS_DECIMALS) > margin_points  # NaN: not flagged
    return pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
