"""Job plans (spec §4): reading the manager's sheet, and the CAPA target arithmetic."""

import io
from datetime import date

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capa_monitor.errors import LoadError
from capa_monitor.jobplans import jobplans_from_cells, load_jobplans
from capa_monitor.model import JOBPLAN_COLUMNS
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.settings import Settings
from capa_monitor.store import Store

# A manager's sheet: a title row, then headers in the words managers use (§4 synonyms).
SHEET = [
    ["North CAMHS job plans 2026/27", None, None, None, None, None, None, None],
    ["Name", "Team", "WTE", "Choice appointments per week",
     "Core half-days / sessions per week", "Q2 target", "Start date", "Leaving date"],
    ["SMITH, Jane (Dr)", "North", "1", "3", "4", None, None, None],
    ["ali khan", "North", "0.6", "2", "2.5", "9", "2026-09-01", None],
    ["Priya Patel", "North", "0.8", None, "3", None, None, "14/08/2026"],
    [None, None, None, None, None, None, None, None],
    ["Tom Reed", "North", "full", "2", "3", None, None, None],
    [None, "North", "1", "2", "3", None, None, None],
    ["Sam Ode", "North", "1", "2", "3", None, "01/09/2026", "31/07/2026"],
    ["Jane Smith", "North", "1", "3", "4", None, None, None],
    ["Lee Moss", "North", "1", "2", "-3", None, None, "next year"],
]


def _cells(rows):
    return pd.DataFrame(rows, dtype="str")


def test_reads_synonym_headers_below_a_title():
    load = jobplans_from_cells(_cells(SHEET), "Plans")
    assert load.columns == {
        "clinician": "Name",
        "team": "Team",
        "fte": "WTE",
        "choice_per_week": "Choice appointments per week",
        "core_sessions": "Core half-days / sessions per week",
        "q2_target": "Q2 target",
        "available_from": "Start date",
        "available_to": "Leaving date",
    }
    frame = load.frame
    assert list(frame.columns) == list(JOBPLAN_COLUMNS)
    assert frame["clinician"].tolist() == ["Jane Smith", "Ali Khan", "Priya Patel"]
    assert frame["fte"].tolist() == [1.0, 0.6, 0.8]
    assert frame["core_sessions"].tolist() == [4.0, 2.5, 3.0]
    assert np.isnan(frame.loc[2, "choice_per_week"])
    assert frame["q2_target"].tolist()[1] == 9.0
    # ISO (an Excel date cell) and day-first UK text both read as dates.
    assert frame.loc[1, "available_from"] == pd.Timestamp("2026-09-01")
    assert frame.loc[2, "available_to"] == pd.Timestamp("2026-08-14")
    assert frame["available_from"].dtype.kind == "M"


# (sheet row, header, value, reason words): rows 1–2 are title and header.
EXPECTED_REJECTIONS = [
    (7, "WTE", "full", "not a number"),
    (8, "Name", None, "no clinician name"),
    (9, "Leaving date", "31/07/2026", "before the start date"),
    (10, "Name", "Jane Smith", "already has a plan row"),
    (11, "Core half-days / sessions per week", "-3", "not a number of zero or more"),
    (11, "Leaving date", "next year", "not a date"),
]


def test_rejects_bad_rows_saying_where_and_why():
    load = jobplans_from_cells(_cells(SHEET), "Plans")
    found = [(r.row, r.column, r.value, r.reason) for r in load.rejected]
    assert len(found) == len(EXPECTED_REJECTIONS)
    for (row, column, value, reason), expected in zip(found, EXPECTED_REJECTIONS, strict=True):
        assert (row, column, value) == expected[:3]
        assert expected[3] in reason
    assert {r.sheet for r in load.rejected} == {"Plans"}


def test_one_plan_per_clinician_even_across_teams(tmp_path):
    # The store keeps one plan per clinician (names matched with spacing tidied, case
    # ignored): a second row is rejected where it stands, and the first row saves.
    rows = [["Name", "Team", "Core sessions"],
            ["Jane Smith", "North", "4"],
            ["jane  SMITH", "South", "2"],
            ["Ali Khan", "South", "3"]]
    load = jobplans_from_cells(_cells(rows), "Plans")
    assert [(r.row, r.column, r.value) for r in load.rejected] == [(3, "Name", "jane  SMITH")]
    assert "one row per clinician" in load.rejected[0].reason
    assert load.frame["clinician"].tolist() == ["Jane Smith", "Ali Khan"]
    store = Store.open(f"sqlite:///{tmp_path / 'plans.sqlite'}")
    assert store.save_jobplans(load.frame, user="test", source="test") == 2


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Staff", "clinician"),
        ("HCP", "clinician"),
        ("End date", "available_to"),
        ("FTE", "fte"),
        ("Q3 target", "q3_target"),
    ],
)
def test_more_synonyms(header, column):
    names = "Staff" if column != "clinician" else header
    # Each row gives Core time: a file in which no row gives a target is refused (§4).
    rows = [[names, header, "Core sessions"] if column != "clinician" else [header, "Team", "Core"],
            ["Ann Lee", "2026-12-31" if column == "available_to" else "2", "3"]]
    load = jobplans_from_cells(_cells(rows))
    assert load.columns[column] == header


def test_hours_convert_to_half_days():
    # 7 Core hours a week ÷ 3.5 hours per half-day = 2 half-days.
    rows = [["Clinician", "Core hours per week"], ["Ann Lee", "7"]]
    assert jobplans_from_cells(_cells(rows)).frame["core_sessions"].tolist() == [2.0]


def test_a_sheet_without_a_name_column_is_refused():
    with pytest.raises(LoadError, match="clinician"):
        jobplans_from_cells(_cells([["Team", "WTE"], ["North", "1"]]))


def test_load_jobplans_reads_csv_and_xlsx_bytes():
    csv_bytes = b"Staff,Team,Core sessions\r\n\"PATEL, Priya\",North,3\r\n"
    from_csv = load_jobplans(csv_bytes, "plans.csv")
    book = openpyxl.Workbook()
    book.active.append(["Staff", "Team", "Core sessions", "Leaving date"])
    book.active.append(["PATEL, Priya", "North", 3, date(2026, 8, 14)])
    buffer = io.BytesIO()
    book.save(buffer)
    from_xlsx = load_jobplans(buffer.getvalue(), "plans.xlsx")
    for load in (from_csv, from_xlsx):
        assert load.frame["clinician"].tolist() == ["Priya Patel"]
        assert load.frame["core_sessions"].tolist() == [3.0]
    assert from_xlsx.frame.loc[0, "available_to"] == pd.Timestamp("2026-08-14")


PLANS = pd.DataFrame(
    {
        "clinician": ["Jane Smith", "Ali Khan", "Priya Patel", "Nia Cole"],
        "team": ["North"] * 4,
        "choice_per_week": [3.0, 2.0, np.nan, 1.5],
        "core_sessions": [4.0, 2.5, 3.0, np.nan],
        "q2_target": [np.nan, 9.0, np.nan, np.nan],
        "available_to": pd.to_datetime([None, None, "2026-08-14", None]),
    }
)


@pytest.mark.parametrize(
    ("quarter", "core", "choice", "source"),
    [
        (
            Quarter(2026, 2),
            # Jane 4 × 2 × 11.25 ÷ 7.5 = 12; Ali's explicit Q2 target 9; Priya 3 × 3 = 9;
            # Nia's plan gives no Core time and no Q2 target: no target at all (§4), not 0.
            [12.0, 9.0, 9.0, np.nan],
            # Choice per week × 11.25: 33.75, 22.5, none → no Choice target, 16.875
            [33.75, 22.5, np.nan, 16.875],
            ["capa", "explicit", "capa", "none"],
        ),
        (
            # Ali's Q2 target does not apply to Q3: 2.5 × 3 = 7.5
            Quarter(2026, 3),
            [12.0, 7.5, 9.0, np.nan],
            [33.75, 22.5, np.nan, 16.875],
            ["capa", "capa", "capa", "none"],
        ),
    ],
)
def test_capa_arithmetic_and_explicit_targets(quarter, core, choice, source):
    targets = quarterly_targets(PLANS, quarter, Settings())
    assert targets["core_target"].tolist() == pytest.approx(core, nan_ok=True)
    assert targets["choice_target"].tolist() == pytest.approx(choice, nan_ok=True)
    assert targets["target_source"].tolist() == source
    assert targets["available_to"].tolist()[2] == pd.Timestamp("2026-08-14")


def test_capa_parameters_are_settings():
    # 4 half-days × 3 appointments × 12 weeks ÷ 8 per Partnership = 18, kept fractional:
    # 2.5 × 3 × 12 ÷ 8 = 11.25. Choice: 3 × 12 = 36.
    settings = Settings(
        appointments_per_half_day=3, usable_weeks_per_quarter=12, appointments_per_core_partnership=8
    )
    targets = quarterly_targets(PLANS, Quarter(2026, 3), settings)
    assert targets["core_target"].tolist()[:2] == pytest.approx([18.0, 11.25])
    assert targets["choice_target"].tolist()[0] == pytest.approx(36.0)
