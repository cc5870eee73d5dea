"""The quarterly review (domain spec §5): every metric for one quarter, team(s) and as-of date.

`review()` is the one call the views, exports and CLI make; it is pure (frames in, frozen
`Review` out) so it can be cached on the store's data version and tested without a database.

Frames of a `Review` (dates are datetime64, counts int64, targets/expectations float64,
unrounded; text columns pandas "str"):

`clinicians` — one row per clinician planned for the quarter or with activity in it up to
as_of, sorted by team then clinician (M1 + M2):
    clinician, team                     display name (the plan's spelling when planned), team
    target                              full-quarter new Core Partnership target; NaN: no
                                        plan, or a plan giving no Core time or target (§4)
    target_source                       "explicit" (plan's qN_target) | "capa" (arithmetic) |
                                        "none" (the plan gives neither) | NaN (no plan)
    expected_to_date                    target × available working days to as_of ÷ quarter's
    delivered, offered                  core_new attended / not cancelled by the service, in
                                        the quarter up to as_of
    shortfall                           max(0, expected_to_date − delivered), from the
                                        quarter's last day max(0, target − delivered); NaN:
                                        no target
    status                              green | amber | red | no_target (metrics.words has
                                        the words every page, the CLI and the downloads use)
    status_reason                       why there is no target or a target of 0, in words
                                        ("no job plan", "the job plan gives no Core time or
                                        target", …: metrics.words); missing otherwise
    planned                             bool: the clinician has a job plan for the quarter
    choice_target, choice_expected_to_date, choice_delivered, choice_offered,
    choice_shortfall, choice_status     the same for Choice appointments
    lost, reoffered, pending, not_reoffered
                                        M2 counts over the quarter's lost slots up to as_of
    available_from, available_to        the plan's availability window (NaT: open)
    availability                        the start and leaving dates in words ("starts 30 Nov:
                                        nothing expected yet", "left 14 Aug", "leaves 13 Nov")
    leaving_date                        = available_to (shown to explain a drop-off)
    available_days, quarter_days        working days the expectation was scaled by

    booked_ahead, free_ahead, nonattendance_rate, rate_basis, projected, to_find,
    projection_words                    §8 L1, the quarter's projected end: missing unless the
                                        quarter is under way (metrics/ahead.py)
    in_diary, next_target, diary_flag, slots_missing, diary_words
                                        §8 L2, next quarter's diary: missing for a clinician
                                        not planned next quarter (`next_diary` has them all)

`next_diary` — §8 L2, ahead.NextDiary (None once the next quarter has started): every
clinician planned for the next quarter, a starter not yet in this quarter's list too.

`lost_slots` — M2, lost slots dated in the quarter up to as_of, in matching order:
    slot_id, clinician, team, date, start, kind, outcome
                                        slot_id may be derived by the loader (a hash): never
                                        show it; show `slot` and `export_slot_id`
    export_slot_id                      the export's own id; missing when the loader derived it
    slot                                the slot as the clinician looks it up: "Thu 2 Jul 2026
                                        09:30, Jane Smith, new Core Partnership (slot A17)"
    status                              reoffered_marked | reoffered_client |
                                        reoffered_replacement | pending | not_reoffered
    evidence                            the finding in words (no client identifier)
    evidence_slot_id, evidence_clinician, evidence_date, evidence_start,
    evidence_export_slot_id             the later slot used as evidence (missing otherwise)
    window_end                          lost date + the re-offer window

`balance`, `balance_teams` — M3 per clinician / per team (metrics/balance.py documents them).
`drift` — M4 the Specific episodes open at as_of, flagged ones over the limits first
(metrics/drift.py).
`waits` — M5 one row per client's Choice → Core wait; `flow_summary` one row per team + "All"
(metrics/flow.py).
`dropoff` — M6 clinicians whose offers fell below half their planned rate (metrics/dropoff.py).
`spc_weekly`, `spc_dna` — M7 XmR frames: weekly new Core Partnerships, monthly DNA/WNB rate
(metrics/spc.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capa_monitor.metrics import ahead, balance, daily, drift, dropoff, flow, reoffer, spc
from capa_monitor.metrics.targets import TARGET_COLUMNS, against_target
from capa_monitor.model import CLINICIAN, DATE, TEAM
from capa_monitor.names import clinician_keys
from capa_monitor.periods import Quarter, as_of_date
from capa_monitor.plan_targets import canonical_plans, quarterly_targets
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

if TYPE_CHECKING:  # the store imports this module's callers, not the other way round
    from capa_monitor.store.review_reads import ReviewInputs

_M1_M2_COLUMNS: tuple[str, ...] = (
    *TARGET_COLUMNS[: TARGET_COLUMNS.index("available_from")],
    *reoffer.SUMMARY_COLUMNS,
    "available_from",
    "available_to",
    "availability",
    "leaving_date",
    "available_days",
    "quarter_days",
)
CLINICIAN_COLUMNS: tuple[str, ...] = (*_M1_M2_COLUMNS, *ahead.OUTLOOK_COLUMNS)


@dataclass(frozen=True)
class Review:
    quarter: Quarter
    as_of: date
    as_of_source: str  # "given" | "data" (latest attended/missed date) | "no data"
    settings: Settings
    teams: tuple[str, ...] | None  # None: every team in the data
    clinicians: pd.DataFrame
    lost_slots: pd.DataFrame
    balance: pd.DataFrame
    balance_teams: pd.DataFrame
    drift: pd.DataFrame
    waits: pd.DataFrame
    flow_summary: pd.DataFrame
    dropoff: pd.DataFrame
    spc_weekly: pd.DataFrame
    spc_dna: pd.DataFrame
    next_diary: ahead.NextDiary | None = None

    @property
    def teams_label(self) -> str:
        return ", ".join(self.teams) if self.teams else "All teams"

    @cached_property
    def headline(self) -> Headline:
        return headline(self.clinicians)  # the page reads it twice a render


@dataclass(frozen=True)
class Headline:
    """Team totals over planned clinicians WITH a target only; everyone else's new Core
    Partnerships apart, so activity without a plan never makes a team look on track."""

    delivered: int
    expected: float  # to the as-of date
    target: float  # full quarter
    with_target: int  # clinicians counted
    behind: int  # of them: status red
    slightly_behind: int  # of them: status amber
    unplanned: tuple[str, ...]  # no job plan, and new Core Partnerships delivered
    unplanned_delivered: int
    planned_elsewhere: tuple[str, ...]  # "Jane Smith (North)": a plan in a team not viewed, and delivered some
    planned_elsewhere_delivered: int
    no_core_time: tuple[str, ...]  # every planned clinician whose plan gives no Core time (§4)
    no_core_time_active: tuple[str, ...]  # …of them, those who delivered some
    no_core_time_delivered: int

    def apart(self) -> list[str]:
        """The activity left out of the totals, in words: "plus 14 new Core Partnerships by
        clinicians with no job plan: Zoë Hartley"."""
        lines = []
        for count, names, who in (
            (self.unplanned_delivered, self.unplanned, "with no job plan"),
            (self.planned_elsewhere_delivered, self.planned_elsewhere,
             "whose job plan is in another team"),
            (self.no_core_time_delivered, self.no_core_time_active,
             "whose job plan gives no Core time or target"),
        ):
            if count:
                lines.append(
                    f"plus {count} new Core Partnership{'s' if count != 1 else ''} by "
                    f"{'a clinician' if len(names) == 1 else 'clinicians'} {who}: "
                    f"{', '.join(names)}"
                )
        return lines


def headline(clinicians: pd.DataFrame) -> Headline:
    """The Headline of a review's clinicians frame."""
    counted = clinicians[clinicians["target"].notna()]
    rest = clinicians[clinicians["target"].isna()]
    elsewhere = rest["plan_team"].notna() if "plan_team" in rest else pd.Series(False, rest.index)
    unplanned = rest[~rest["planned"].astype(bool) & ~elsewhere]
    planned_elsewhere = rest[elsewhere]
    no_core = rest[rest["planned"].astype(bool)]

    def active(frame: pd.DataFrame) -> tuple[str, ...]:
        return tuple(frame.loc[frame["delivered"] > 0, "clinician"].astype(str))

    return Headline(
        delivered=int(counted["delivered"].sum()),
        expected=float(counted["expected_to_date"].sum()),
        target=float(counted["target"].sum()),
        with_target=len(counted),
        behind=int((counted["status"] == "red").sum()),
        slightly_behind=int((counted["status"] == "amber").sum()),
        unplanned=active(unplanned),
        unplanned_delivered=int(unplanned["delivered"].sum()),
        planned_elsewhere=tuple(
            f"{name} ({team})" for name, team, done in zip(
                planned_elsewhere["clinician"].astype(str), planned_elsewhere["plan_team"],
                planned_elsewhere["delivered"], strict=True) if done > 0),
        planned_elsewhere_delivered=int(planned_elsewhere["delivered"].sum()),
        no_core_time=tuple(no_core["clinician"].astype(str)),
        no_core_time_active=active(no_core),
        no_core_time_delivered=int(no_core["delivered"].sum()),
    )


def review(
    activity: pd.DataFrame,
    jobplans: pd.DataFrame,
    quarter: Quarter,
    *,
    as_of: date | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    teams: Sequence[str] | None = None,
) -> Review:
    """Assemble the quarter's review for the team(s) viewed from the whole stored history.

    `activity` and `jobplans` are everything stored, every team: re-offer matching (M2) needs
    the whole history, since a family DNA'd in one team may be rebooked in another, and a plan
    with a blank team belongs to whichever team its clinician works in. Everything else is
    worked out from the viewed teams' rows alone.
    """
    teams = tuple(teams) if teams else None
    in_teams = _in_teams(activity[TEAM], teams).to_numpy() if teams is not None else None
    viewed = activity[in_teams] if in_teams is not None else activity
    as_of, as_of_source = _as_of(as_of, as_of_date(viewed), quarter)
    until = pd.Timestamp(min(as_of, quarter.last_day))
    dates = activity[DATE]
    reported = ((dates >= pd.Timestamp(quarter.start)) & (dates <= until)).to_numpy()
    if in_teams is not None:
        reported = reported & in_teams
    lost = reoffer.lost_slots(activity, as_of, settings, reported=reported)
    history = _History(daily.by_date(daily.daily_counts(viewed)),
                       tuple(pd.unique(viewed[CLINICIAN].dropna())))
    return _assemble(viewed, jobplans, quarter, as_of, as_of_source, settings, teams, lost,
                     history)


def stored_review(
    inputs: ReviewInputs,
    quarter: Quarter,
    *,
    as_of: date | None = None,
    teams: Sequence[str] | None = None,
) -> Review:
    """The same Review from what the store keeps (Store.review_inputs): a bounded part of the
    viewed teams' rows, the stored M2 matches of their lost slots in the quarter and their
    per-day counts, so neither the read nor the work grows with years of history or with
    other teams' data. Equal to review() over the whole store (tests/test_bounded_review.py)."""
    teams = tuple(teams) if teams else None
    as_of, as_of_source = _as_of(as_of, inputs.as_of, quarter)
    matched = inputs.lost
    until = pd.Timestamp(min(as_of, quarter.last_day))
    dates = matched.lost[DATE]
    keep = ((dates >= pd.Timestamp(quarter.start)) & (dates <= until)).to_numpy()
    if teams is not None:
        keep = keep & _in_teams(matched.lost[TEAM], teams).to_numpy()
    lost = reoffer.describe(matched.lost[keep], matched.evidence[keep], matched.found[keep],
                            as_of, inputs.settings)
    return _assemble(inputs.activity, inputs.jobplans, quarter, as_of, as_of_source,
                     inputs.settings, teams, lost, _History(inputs.dates, inputs.clinicians))


@dataclass(frozen=True)
class _History:
    """What the review needs of the viewed teams' whole history besides M2: their rows'
    counts per date (metrics.daily.by_date) and every clinician who has worked in them."""

    dates: pd.DataFrame
    clinicians: tuple[str, ...]


def _as_of(given: date | None, from_data: date | None, quarter: Quarter) -> tuple[date, str]:
    if given is not None:
        return given, "given"
    if from_data is not None:
        return from_data, "data"
    return quarter.last_day, "no data"


def _assemble(
    viewed: pd.DataFrame,
    jobplans: pd.DataFrame,
    quarter: Quarter,
    as_of: date,
    as_of_source: str,
    settings: Settings,
    teams: tuple[str, ...] | None,
    lost: pd.DataFrame,
    history: _History,
) -> Review:
    every_plan = canonical_plans(jobplans)
    jobplans = viewed_plans(every_plan, history.clinicians, teams)
    targets = quarterly_targets(jobplans, quarter, settings)
    clinicians = against_target(viewed, targets, quarter, as_of, settings,
                                plans_elsewhere=_plans_elsewhere(every_plan, jobplans, teams))
    lost = lost.reset_index(drop=True)
    clinicians = _with_lost_counts(clinicians, lost)
    # §8 L1, L2: where the quarter is heading on the slots in the diary, and next quarter's
    diary = ahead.next_diary(viewed, jobplans, quarter, as_of, settings)
    clinicians = ahead.with_outlook(viewed, clinicians, diary, quarter, as_of, settings)

    extras = _other_metrics(viewed, jobplans, targets, quarter, as_of, settings, history.dates)
    return Review(
        quarter=quarter,
        as_of=as_of,
        as_of_source=as_of_source,
        settings=settings,
        teams=teams,
        clinicians=clinicians,
        lost_slots=lost,
        **extras,
        next_diary=diary,
    )


def team_rows(activity: pd.DataFrame, teams: Sequence[str] | None) -> pd.DataFrame:
    """The rows of the teams (matched case-insensitively); every row when teams is empty."""
    return activity[_in_teams(activity[TEAM], tuple(teams))] if teams else activity


def _in_teams(values: pd.Series, teams: tuple[str, ...]) -> pd.Series:
    # Tidy each distinct team name once: a store holds a million rows but a handful of teams.
    wanted = {team.strip().casefold() for team in teams}
    codes, names = pd.factorize(values)
    matches = np.array([str(name).strip().casefold() in wanted for name in names] + [False])
    return pd.Series(matches[codes], index=values.index)


def viewed_plans(
    plans: pd.DataFrame, working: Sequence[str], teams: tuple[str, ...] | None
) -> pd.DataFrame:
    """Plans of the viewed teams, and blank-team plans of clinicians who have worked in them
    (`working`: every clinician name in the teams' stored rows)."""
    if teams is None:
        return plans
    blank_team = plans["team"].isna() | (plans["team"].str.strip() == "")
    working_here = clinician_keys(pd.Series(list(working), dtype="str"))
    works_here = clinician_keys(plans["clinician"]).isin(working_here)
    return plans[_in_teams(plans["team"], teams) | (blank_team & works_here)]


def _plans_elsewhere(every_plan: pd.DataFrame, viewed: pd.DataFrame,
                     teams: tuple[str, ...] | None) -> dict[str, str]:
    """Clinician key → team of each plan outside the viewed teams (none when all are viewed)."""
    if teams is None:
        return {}
    shown = set(clinician_keys(viewed["clinician"]).tolist())
    return {key: team for key, team in zip(clinician_keys(every_plan["clinician"]).tolist(),
                                           every_plan["team"].tolist(), strict=True)
            if key not in shown and isinstance(team, str)}


def _with_lost_counts(clinicians: pd.DataFrame, lost: pd.DataFrame) -> pd.DataFrame:
    """Each clinician's M2 counts (reoffer.SUMMARY_COLUMNS) of the lost slots, matched by
    name key; counted in Python over the quarter's few hundred lost slots a team (grouping,
    joining and filling frames cost 5 ms)."""
    counts: dict[str, list[int]] = {}
    for key, status in zip(clinician_keys(lost["clinician"]).tolist(),
                           lost["status"].tolist(), strict=True):
        tally = counts.setdefault(key, [0, 0, 0, 0])  # lost, reoffered, pending, not
        tally[0] += 1
        tally[1] += status in reoffer.REOFFERED_STATUSES
        tally[2] += status == reoffer.PENDING
        tally[3] += status == reoffer.NOT_REOFFERED
    found = [counts.get(key, (0, 0, 0, 0))
             for key in clinician_keys(clinicians["clinician"]).tolist()]
    tallies = np.array(found, dtype="int64").reshape(len(found), 4)
    out = clinicians.reset_index(drop=True).assign(
        **{column: tallies[:, i] for i, column in enumerate(reoffer.SUMMARY_COLUMNS)},
        leaving_date=clinicians["available_to"].to_numpy(),
    )
    return out.reindex(columns=list(_M1_M2_COLUMNS))


def _other_metrics(
    activity: pd.DataFrame,
    jobplans: pd.DataFrame,
    targets: pd.DataFrame,
    quarter: Quarter,
    as_of: date,
    settings: Settings,
    dates: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """M3–M7 (M7 from the counts per date, `dates`: metrics.daily.by_date)."""
    start, end = quarter.start, quarter.end
    # Drop-offs are judged against the plan of the quarter containing as_of.
    current = Quarter.containing(as_of, settings.fy_first_month)
    current_targets = targets if current == quarter else quarterly_targets(jobplans, current, settings)
    by_clinician, by_team = balance.balance(activity, jobplans, start, end, settings)
    waits = flow.internal_waits(activity, start, end, as_of)
    return {
        "balance": by_clinician,
        "balance_teams": by_team,
        "drift": drift.open_episodes(activity, as_of, settings),
        "waits": waits,
        "flow_summary": flow.summarise_waits(waits, settings),
        "dropoff": dropoff.dropoff_alerts(activity, current_targets, as_of, settings),
        "spc_weekly": spc.weekly_from_counts(dates, as_of, settings),
        "spc_dna": spc.monthly_from_counts(dates, as_of, settings),
    }

