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
    in_period = activity.loc[
        (activity["date"] >= pd.Timestamp(start)) & (activity["date"] < pd.Timestamp(end)),
        ["clinician", "team", "kind", "outcome", "duration_min"],
    ]
    clinical = in_period[
        (in_period["outcome"] == Outcome.ATTENDED) & in_period["kind"].isin(_GROUP_OF_KIND.keys())
    ]
    minutes = clinical["duration_min"].fillna(settings.default_slot_minutes).astype("float64")
    # sum per spelling first, then match names on the few distinct spellings only
    spent = (
        pd.DataFrame(
            {
                "clinician": clinical["clinician"],
                "team": clinical["team"],
                "group": clinical["kind"].map(_GROUP_OF_KIND),
                "minutes": minutes,
            }
        )
        .groupby(["clinician", "team", "group"], dropna=False, observed=True)["minutes"]
        .sum()
        .reset_index()
    )
    spent["name_key"] = clinician_keys(spent["clinician"])
    by_clinician = (
        spent.groupby(["name_key", "group"])["minutes"]
        .sum()
        .unstack("group", fill_value=0.0)
        .reindex(columns=list(GROUPS), fill_value=0.0)
        .add_suffix("_minutes")
    )
    by_clinician.columns.name = None
    main_team = _main_team(spent)
    display_name = spent.groupby("name_key")["clinician"].first()

    planned = _planned_half_days(plans[available_in(plans, start, end)], settings)
    people = by_clinician.join(planned, how="outer")
    people[[f"{g}_minutes" for g in GROUPS]] = people[[f"{g}_minutes" for g in GROUPS]].fillna(
        0.0
    )
    people["clinician"] = planned["clinician"].reindex(people.index).fillna(display_name)
    people["team"] = main_team.reindex(people.index).fillna(planned["team"])

    per_clinician = _with_shares(people, settings.specific_margin_points).sort_values(["team", "clinician"], kind="stable")
    team_totals = people.groupby("team", dropna=False)[
        [f"{g}_minutes" for g in GROUPS] + [f"plan_{g}_half_days" for g in GROUPS]
    ].sum(min_count=1)
    per_team = _with_shares(team_totals, settings.specific_margin_points).reset_index()
    return (
        per_clinician[list(CLINICIAN_BALANCE_COLUMNS)].reset_index(drop=True),
        per_team[list(TEAM_BALANCE_COLUMNS)].reset_index(drop=True),
    )


def _main_team(spent: pd.DataFrame) -> pd.Series:
    """Each clinician's team with the most clinical minutes (ties: alphabetical)."""
    per_team = spent.groupby(["name_key", "team"], as_index=False)["minutes"].sum()
    per_team = per_team.sort_values(
        ["name_key", "minutes", "team"], ascending=[True, False, True], kind="stable"
    )
    return per_team.drop_duplicates("name_key").set_index("name_key")["team"]


def _planned_half_days(plans: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Clinical half-days per week from each job plan, indexed by name_key."""
    half_days = pd.DataFrame(
        {
            "name_key": clinician_keys(plans["clinician"]),
            "clinician": plans["clinician"],
            "team": plans["team"],
            "plan_choice_half_days": plans["choice_per_week"].astype("float64")
            / settings.appointments_per_half_day,
            "plan_core_half_days": plans["core_sessions"].astype("float64"),
            "plan_specific_half_days": plans["specific_sessions"].astype("float64"),
        }
    )
    return half_days.drop_duplicates("name_key", keep="last").set_index("name_key")


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
