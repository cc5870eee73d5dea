"""Looking ahead for one quarterly review (domain spec §8 L1–L3), assembled once for the
Looking ahead page, the review pack and its command, so they all say the same thing.

L1 and L2 come with the review itself (metrics.review calls ahead.with_outlook); this adds L3
per quarter, which needs the quarters around the reviewed one, and the viewed teams' plans a
what-if starts from. `outlook` takes the stored rows and plans (every team's or the viewed
teams') and the review, and works on the same teams' rows and plans as the review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from capa_monitor.metrics import daily
from capa_monitor.metrics.ahead import NextDiary
from capa_monitor.metrics.capacity import Conversion, capacity_by_quarter, conversion
from capa_monitor.metrics.review import Review, team_rows, viewed_plans
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import canonical_plans

if TYPE_CHECKING:  # the store imports this module's callers, not the other way round
    from capa_monitor.store.review_reads import ReviewInputs

#: Quarters L3 shows before the reviewed one (the next one is shown too).
QUARTERS_BEFORE = 3


@dataclass(frozen=True)
class Outlook:
    """L1 and L2 per clinician (`clinicians`: the review's clinicians frame, which carries
    ahead.OUTLOOK_COLUMNS), next quarter's diary (None when there is none to prepare), L3 per
    quarter."""

    clinicians: pd.DataFrame
    diary: NextDiary | None
    capacity: pd.DataFrame
    conversion: Conversion
    quarters: tuple[Quarter, ...]
    plans: pd.DataFrame  # the viewed teams' plans (what-if starts from these)

    @property
    def current_capacity(self) -> pd.Series:
        """L3's row for the reviewed quarter (the last but one)."""
        return self.capacity.iloc[-2]


def l3_quarters(quarter: Quarter, first_day=None) -> tuple[Quarter, ...]:
    """The quarters L3 shows: up to QUARTERS_BEFORE before the reviewed one (none that ended
    before `first_day`, the first stored date), it, and the next."""
    quarters = [quarter]
    for _ in range(QUARTERS_BEFORE):
        earlier = quarters[0].previous()
        if first_day is not None and earlier.end <= first_day:
            break
        quarters.insert(0, earlier)
    return (*quarters, quarter.next())


def outlook(
    activity: pd.DataFrame,
    plans: pd.DataFrame,
    result: Review,
    *,
    working: Sequence[str] | None = None,
    first_day: date | None = None,
) -> Outlook:
    """L1–L3 for `result`, from the stored rows (`activity`: every team's, or the viewed
    teams' part Store.review_inputs(…, looking_ahead=True) reads) and every plan. `working`
    and `first_day`: the viewed teams' clinicians and first stored date when `activity` is
    not their whole history (store/counts.py keeps them)."""
    viewed = team_rows(activity, result.teams)
    if working is None:
        working = tuple(pd.unique(viewed["clinician"].dropna()))
    if first_day is None and len(viewed):
        first_day = pd.Timestamp(viewed["date"].min()).date()
    team_plans = viewed_plans(canonical_plans(plans), working, result.teams)
    settings, quarter, as_of = result.settings, result.quarter, result.as_of
    measured = conversion(viewed, as_of, settings)
    quarters = l3_quarters(quarter, first_day)
    capacity = capacity_by_quarter(viewed, team_plans, quarters, as_of, settings, measured)
    return Outlook(result.clinicians, result.next_diary, capacity, measured, quarters,
                   team_plans)


def stored_outlook(inputs: ReviewInputs, result: Review) -> Outlook:
    """outlook() from what Store.review_inputs(…, looking_ahead=True) reads (like
    metrics.review.stored_review): the teams' rows L1–L3 look at, their clinicians and first
    stored date from the counts the store keeps."""
    return outlook(inputs.activity, inputs.jobplans, result, working=inputs.clinicians,
                   first_day=daily.first_date(inputs.dates))
