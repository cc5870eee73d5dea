"""M6: clinicians who have stopped offering new Core Partnership slots (domain spec §5 M6).

Someone about to leave, or carrying a run of heavy cases, often stops offering Core slots
long before the quarter's total shows it; this looks at the last few complete weeks only.

Offered = `core_new` slots with any outcome except `cancelled_by_service` (as M1) dated in the
last `settings.dropoff_weeks` complete Monday–Sunday weeks: the weeks ending on or before the
as-of date (so the as-of date's own week is left out unless the as-of date is its Sunday).
Planned weekly rate = core_target ÷ settings.usable_weeks_per_quarter. The threshold is in
slots over the whole window: dropoff_fraction × planned weekly rate × dropoff_weeks, and a
clinician is flagged when offered is strictly below it. A clinician without a positive Core
target, or whose job plan starts after the window opens (a new starter cannot have dropped
off), is listed but never flagged.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from capa_monitor.model import Kind, Outcome
from capa_monitor.names import clinician_keys
from capa_monitor.periods import sunday_on_or_before
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

DROPOFF_COLUMNS = (
    "clinician",
    "team",
    "offered_last_weeks",
    "planned_weekly",
    "threshold",
    "flagged",
    "leaving_date",
)


def dropoff_window(as_of: date, settings: Settings = DEFAULT_SETTINGS) -> tuple[date, date]:
    """[start, end) of the last `dropoff_weeks` complete Monday–Sunday weeks up to `as_of`."""
    end = sunday_on_or_before(as_of) + timedelta(days=1)
    return end - timedelta(weeks=settings.dropoff_weeks), end


def dropoff_alerts(
    activity: pd.DataFrame,
    targets: pd.DataFrame,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """One row per clinician of `targets` (columns DROPOFF_COLUMNS), flagged ones first.

    `targets` needs clinician, team, core_target and available_to (as from
    `plan_targets.quarterly_targets`); clinician names match as M1 matches them (`names.clinician_keys`).
    """
    window_start, window_end = dropoff_window(as_of, settings)
    offered = activity.loc[
        (activity["kind"] == Kind.CORE_NEW)
        & (activity["outcome"] != Outcome.CANCELLED_BY_SERVICE)
        & (activity["date"] >= pd.Timestamp(window_start))
        & (activity["date"] < pd.Timestamp(window_end)),
        "clinician",
    ]
    # count per spelling first, then match names on the few distinct spellings only
    per_spelling = offered.value_counts()
    offered_by_name = per_spelling.groupby(clinician_keys(per_spelling.index.to_series()).to_numpy()).sum()

    planned_weekly = targets["core_target"].astype("float64") / settings.usable_weeks_per_quarter
    threshold = settings.dropoff_fraction * planned_weekly * settings.dropoff_weeks
    offered_count = (
        clinician_keys(targets["clinician"]).map(offered_by_name).fillna(0).astype("int64")
    )
    available_from = pd.to_datetime(targets.get("available_from", pd.Series(pd.NaT, index=targets.index)))
    started_late = (available_from > pd.Timestamp(window_start)).fillna(False).to_numpy(bool)
    result = pd.DataFrame(
        {
            "clinician": targets["clinician"],
            "team": targets["team"],
            "offered_last_weeks": offered_count,
            "planned_weekly": planned_weekly,
            "threshold": threshold,
            "flagged": (planned_weekly > 0) & (offered_count < threshold) & ~started_late,
            "leaving_date": pd.to_datetime(targets["available_to"]),
        }
    )
    result = result.sort_values(
        ["flagged", "team", "clinician"], ascending=[False, True, True], kind="stable"
    )
    return result[list(DROPOFF_COLUMNS)].reset_index(drop=True)
