"""M5 flow: internal waits Choice → first Core Partnership, still waiting, handovers."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.flow import (
    ALL_TEAMS,
    WAIT_COLUMNS,
    internal_waits,
    summarise_waits,
)
from capa_monitor.settings import Settings

START, END, AS_OF = date(2026, 4, 1), date(2026, 7, 1), date(2026, 6, 30)  # 2026/27 Q1


def appt(client, clinician, day, kind, outcome="attended", team="North"):
    return {
        "client_key": client,
        "clinician": clinician,
        "team": team,
        "date": day,
        "kind": kind,
        "outcome": outcome,
    }


ROWS = [
    # A: Choice 1 Apr with Ann, Core 29 Apr with Ann -> 28 days, same clinician.
    appt("A", "Ann Bell", "2026-04-01", "choice"),
    appt("A", "Ann Bell", "2026-04-29", "core_new"),
    # B: two Choices; the last (8 Apr, Cal) counts; Core 20 May with Dee -> 42 days, handover.
    appt("B", "Ann Bell", "2026-04-01", "choice"),
    appt("B", "Cal Dee", "2026-04-08", "choice"),
    appt("B", "Dee Eve", "2026-05-20", "core_new"),
    # C: Choice 1 May, nothing since -> waiting 30 Jun − 1 May = 60 days.
    appt("C", "Cal Dee", "2026-05-01", "choice"),
    # D: Choice 20 Jun -> waiting 10 days.
    appt("D", "Ann Bell", "2026-06-20", "choice"),
    # E: Choice 1 Mar (last quarter), Core 10 Apr in South with Cal -> 40 days, handover;
    # in this period because the Core Partnership is.
    appt("E", "Ann Bell", "2026-03-01", "choice"),
    appt("E", "Cal Dee", "2026-04-10", "core_new", team="South"),
    # F: Choice and Core both last quarter: not in this period.
    appt("F", "Ann Bell", "2026-02-01", "choice"),
    appt("F", "Ann Bell", "2026-03-01", "core_new"),
    # G: Choice 1 Jun, Core DNA'd 15 Jun, rebooked 5 Jul -> still waiting, 29 days.
    appt("G", "Ann Bell", "2026-06-01", "choice"),
    appt("G", "Dee Eve", "2026-06-15", "core_new", outcome="dna"),
    appt("G", "Dee Eve", "2026-07-05", "core_new", outcome="booked"),
    # H: Choice 15 Mar, still waiting: belongs to last quarter's review.
    appt("H", "Ann Bell", "2026-03-15", "choice"),
    # a core_new with no client key cannot be matched
    appt(None, "Ann Bell", "2026-04-02", "core_new"),
]

# client, wait_days, waiting, choice_clinician, core_clinician, handover (longest first)
EXPECTED_WAITS = [
    ("C", 60, True, "Cal Dee", None, None),
    ("B", 42, False, "Cal Dee", "Dee Eve", True),
    ("E", 40, False, "Ann Bell", "Cal Dee", True),
    ("G", 29, True, "Ann Bell", None, None),
    ("A", 28, False, "Ann Bell", "Ann Bell", False),
    ("D", 10, True, "Ann Bell", None, None),
]


def _none(value):
    return None if pd.isna(value) else value


def test_internal_waits():
    waits = internal_waits(make_activity(ROWS), START, END, AS_OF)
    assert list(waits.columns) == list(WAIT_COLUMNS)
    got = [
        (r.client_key, r.wait_days, r.waiting, r.choice_clinician, _none(r.core_clinician),
         _none(r.handover))
        for r in waits.itertuples()
    ]
    assert got == EXPECTED_WAITS
    e = waits[waits["client_key"] == "E"].iloc[0]
    assert (e["team"], e["choice_date"], e["core_date"]) == (
        "South", pd.Timestamp("2026-03-01"), pd.Timestamp("2026-04-10"))
    assert pd.isna(waits[waits["client_key"] == "C"].iloc[0]["core_date"])


def test_same_day_choice_and_core_wait_zero_days():
    rows = [appt("A", "Ann Bell", "2026-04-01", "core_new"), appt("A", "Ann Bell", "2026-04-01", "choice")]
    waits = internal_waits(make_activity(rows), START, END, AS_OF)
    assert waits["wait_days"].tolist() == [0]
    assert waits["waiting"].tolist() == [False]


def test_nothing_after_as_of_counts():
    # an attended Core on 5 Jul cannot be seen from 30 Jun: the client is still waiting
    rows = [appt("A", "Ann Bell", "2026-06-01", "choice"), appt("A", "Ann Bell", "2026-07-05", "core_new")]
    waits = internal_waits(make_activity(rows), START, END, AS_OF)
    assert waits["waiting"].tolist() == [True]
    assert waits["wait_days"].tolist() == [29]


# North: completed A 28, B 42 -> median 35, p90 28 + 0.9 × 14 = 40.6, within 28: 1/2,
# within 42: 2/2, handovers 1/2; waiting C 60, D 10, G 29 -> 3, over 28: C, G = 2.
# South: E 40 -> median 40, p90 40, within 28: 0/1, within 42: 1/1, handover 1/1, none waiting.
# All: 28, 40, 42 -> median 40, p90 at rank 0.9 × 2 = 1.8 -> 40 + 0.8 × 2 = 41.6; within
# 28: 1/3, within 42: 3/3; handovers B, E = 2/3; waiting 3, over 28: 2.
EXPECTED_SUMMARY = [
    # team, n, median, p90, pct_within_28, pct_within_42, still_waiting, over_28, handover_rate
    ("North", 2, 35.0, 40.6, 50.0, 100.0, 3, 2, 50.0),
    ("South", 1, 40.0, 40.0, 0.0, 100.0, 0, 0, 100.0),
    (ALL_TEAMS, 3, 40.0, 41.6, 100 / 3, 100.0, 3, 2, 200 / 3),
]


def test_flow_summary():
    summary = summarise_waits(internal_waits(make_activity(ROWS), START, END, AS_OF))
    columns = ["team", "n", "median", "p90", "pct_within_28", "pct_within_42", "still_waiting",
               "still_waiting_over_28", "handover_rate"]
    assert list(summary.columns) == columns
    got = [tuple(row) for row in summary[columns].itertuples(index=False)]
    assert [(r[0], r[1], *map(pytest.approx, r[2:])) for r in EXPECTED_SUMMARY] == got


def test_thresholds_are_settings():
    waits = internal_waits(make_activity(ROWS), START, END, AS_OF)
    summary = summarise_waits(waits, Settings(wait_thresholds_days=(14, 56)))
    all_teams = summary[summary["team"] == ALL_TEAMS].iloc[0]
    # within 14: none of 28, 40, 42; within 56: all three; waiting over 14: C 60, G 29.
    assert (all_teams["pct_within_14"], all_teams["pct_within_56"]) == (0.0, 100.0)
    assert all_teams["still_waiting_over_14"] == 2


def test_no_waits_gives_an_all_teams_row_of_missing_rates():
    summary = summarise_waits(internal_waits(make_activity(ROWS[:1]).iloc[0:0], START, END, AS_OF))
    assert summary["team"].tolist() == [ALL_TEAMS]
    assert summary["n"].tolist() == [0]
    assert summary[["median", "p90", "handover_rate"]].isna().all(axis=None)
