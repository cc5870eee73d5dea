"""M6 drop-off: Core slots offered over the last 4 complete weeks against half the plan."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.dropoff import DROPOFF_COLUMNS, dropoff_alerts, dropoff_window
from capa_monitor.settings import Settings

AS_OF = date(2026, 4, 30)  # a Thursday: the last complete week is Mon 20 – Sun 26 Apr


@pytest.mark.parametrize(
    ("as_of", "window"),
    [
        (date(2026, 4, 30), (date(2026, 3, 30), date(2026, 4, 27))),  # Thursday
        (date(2026, 4, 27), (date(2026, 3, 30), date(2026, 4, 27))),  # Monday
        (date(2026, 4, 26), (date(2026, 3, 30), date(2026, 4, 27))),  # Sunday ends its week
        (date(2026, 4, 25), (date(2026, 3, 23), date(2026, 4, 20))),  # Saturday
    ],
)
def test_window_is_the_last_four_complete_weeks(as_of, window):
    assert dropoff_window(as_of) == window


def core(clinician, day, outcome="attended", kind="core_new"):
    return {"clinician": clinician, "date": day, "kind": kind, "outcome": outcome}


ROWS = [
    # Ann: offered in the window = 30 Mar attended, 8 Apr DNA, 20 Apr unbooked = 3.
    core("ann bell", "2026-03-30"),
    core("Ann Bell", "2026-04-08", "dna"),
    core("Ann Bell", "2026-04-20", "unbooked"),
    core("Ann Bell", "2026-04-21", "cancelled_by_service"),  # not offered
    core("Ann Bell", "2026-04-22", kind="core_followup"),  # not a new Core slot
    core("Ann Bell", "2026-03-29"),  # before the window
    core("Ann Bell", "2026-04-27"),  # as-of week, incomplete
    # Cal: 4 offered (one a week), booked ones included.
    core("Cal Dee", "2026-03-31"),
    core("Cal Dee", "2026-04-07", "cancelled_by_client"),
    core("Cal Dee", "2026-04-14"),
    core("Cal Dee", "2026-04-26", "booked"),
]

TARGETS = pd.DataFrame(
    {
        "clinician": ["Ann Bell", "Cal Dee", "Dee Eve", "Eve Fox"],
        "team": ["North"] * 4,
        "core_target": [22.5, 22.5, 0.0, np.nan],
        "available_to": pd.to_datetime(["2026-05-15", None, None, None]),
    }
)

# planned weekly = 22.5 ÷ 11.25 = 2.0; threshold over 4 weeks = 0.5 × 2.0 × 4 = 4.0.
# Ann 3 < 4: flagged, leaving 15 May. Cal 4 is not below 4. Dee (target 0) and Eve (no
# target) have no planned rate: never flagged.
EXPECTED = [
    ("Ann Bell", 3, 2.0, 4.0, True, pd.Timestamp("2026-05-15")),
    ("Cal Dee", 4, 2.0, 4.0, False, pd.NaT),
    ("Dee Eve", 0, 0.0, 0.0, False, pd.NaT),
    ("Eve Fox", 0, np.nan, np.nan, False, pd.NaT),
]


def test_dropoff_alerts():
    result = dropoff_alerts(make_activity(ROWS), TARGETS, AS_OF)
    assert list(result.columns) == list(DROPOFF_COLUMNS)
    expected = pd.DataFrame(
        EXPECTED,
        columns=["clinician", "offered_last_weeks", "planned_weekly", "threshold", "flagged",
                 "leaving_date"],
    )
    pd.testing.assert_frame_equal(result[expected.columns], expected, check_dtype=False)


def test_fraction_and_weeks_are_settings():
    # 8 weeks back from 30 Apr: [2 Mar, 27 Apr); Ann offered 4 there (adds 29 Mar).
    # threshold = 0.25 × 2.0 × 8 = 4.0: 4 is not below it.
    settings = Settings(dropoff_weeks=8, dropoff_fraction=0.25)
    result = dropoff_alerts(make_activity(ROWS), TARGETS.iloc[:1], AS_OF, settings)
    assert result[["offered_last_weeks", "threshold", "flagged"]].iloc[0].tolist() == [4, 4.0, False]


def test_a_new_starter_inside_the_window_is_not_flagged():
    # Window [30 Mar, 27 Apr). Fay starts 13 Apr, inside it, and offered nothing: a new
    # starter has not dropped off. Gus started 1 Mar, before the window: flagged (0 < 4.0).
    targets = pd.DataFrame(
        {
            "clinician": ["Fay Gee", "Gus Ho"],
            "team": ["North"] * 2,
            "core_target": [22.5, 22.5],
            "available_from": pd.to_datetime(["2026-04-13", "2026-03-01"]),
            "available_to": pd.to_datetime([None, None]),
        }
    )
    result = dropoff_alerts(make_activity(ROWS), targets, AS_OF).set_index("clinician")
    assert result.loc["Fay Gee", "flagged"] == False  # noqa: E712 (numpy bool)
    assert result.loc["Gus Ho", "flagged"] == True  # noqa: E712


def test_the_balance_page_says_its_figures_are_4_week_totals():
    # The drop-off table's headers name the window (setting dropoff_weeks, default 4) beside
    # the figures that are totals over it; the weekly rate says it is per week.
    from capa_monitor.views.balance import dropoff_columns

    frame = dropoff_alerts(make_activity([]), TARGETS.iloc[:0], date(2026, 7, 31))
    labels = {name: config["label"] for name, config in
              dropoff_columns(frame, Settings()).items() if isinstance(config, dict)}
    assert labels["offered_last_weeks"] == "Offered (4-week total)"
    assert labels["threshold"] == "Flagged below (4-week total)"
    assert labels["planned_weekly"] == "Planned per week"
    six = dropoff_columns(frame, Settings(dropoff_weeks=6))
    assert six["offered_last_weeks"]["label"] == "Offered (6-week total)"
