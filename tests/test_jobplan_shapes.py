"""Job plans as managers really write them (issue 11 item 6, spec §4): sessions given as
`…/wk`, hours, PAs, a two-row grid, Choice as sessions; a plan with no Core time has no target
(blank, never 0); a file in which no row gives a target is refused; unused columns are named.

Every expectation is worked by hand from §4 with the default settings: a half-day session is
3.5 hours, a PA is one half-day session (settings.pa_half_days), Choice sessions hold
2 appointments each (settings.appointments_per_half_day), and a quarter's target is
core half-days × 2 × 11.25 ÷ 7.5 = 3 × core half-days.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import raw_cells

from capa_monitor.errors import LoadError
from capa_monitor.jobplan_fields import (
    JOBPLAN_PROFILE_PREFIX,
    is_jobplan_profile,
    jobplans_profile,
)
from capa_monitor.jobplans import jobplans_from_cells, load_jobplans
from capa_monitor.loading.report import MappingProfile
from capa_monitor.periods import Quarter
from capa_monitor.settings import Settings


def read(rows, **kwargs):
    return jobplans_from_cells(raw_cells(rows), "Plans", **kwargs)


def column(load, name):
    return load.frame[name].tolist()


def mapped(load):
    """field -> (source header, how it was found): "header" (its words; values agreeing or
    not checked), "values", "profile" or "manual"."""
    return {
        field: (choice.header, "header" if choice.by.startswith("header") else choice.by)
        for field, choice in load.mapping.items()
    }


def capa_target(core_half_days: float) -> float:
    """§4 with the defaults: half-days × 2 appointments × 11.25 weeks ÷ 7.5 appointments."""
    return core_half_days * 2 * 11.25 / 7.5


# The shape of issue 11: every header ends in /wk and Choice is in appointments.
PER_WEEK = [
    ["Name", "Team", "WTE", "Choice appts/wk", "Core sessions/wk", "Specific sessions/wk",
     "Non-clinical sessions/wk"],
    ["Ann Able", "North", "1.0", "4", "3", "2", "1"],
    ["BAKER, Ben (Dr)", "North", "0.6", "2", "2", "0", "1"],
    ["Cara Cole", "North", "0.8", "3", "0", "4", "1"],
]


def test_per_week_headers_are_read_as_sessions_and_appointments():
    load = read(PER_WEEK)
    assert mapped(load) == {
        "clinician": ("Name", "header"),
        "team": ("Team", "header"),
        "fte": ("WTE", "header"),
        "choice_per_week": ("Choice appts/wk", "header"),
        "core_sessions": ("Core sessions/wk", "header"),
        "specific_sessions": ("Specific sessions/wk", "header"),
        "nonclinical_sessions": ("Non-clinical sessions/wk", "header"),
    }
    assert column(load, "clinician") == ["Ann Able", "Ben Baker", "Cara Cole"]
    assert column(load, "choice_per_week") == [4.0, 2.0, 3.0]
    assert column(load, "core_sessions") == [3.0, 2.0, 0.0]
    assert column(load, "specific_sessions") == [2.0, 0.0, 4.0]
    assert column(load, "nonclinical_sessions") == [1.0, 1.0, 1.0]
    assert column(load, "fte") == [1.0, 0.6, 0.8]
    assert load.unused_columns == []
    assert load.no_target == []  # Cara's 0 Core sessions is an explicit 0, a target of 0
    assert load.columns["core_sessions"] == "Core sessions/wk"


def test_every_mapped_field_says_why_and_how_sure():
    load = read(PER_WEEK)
    core = load.mapping["core_sessions"]
    assert core.by == "header+values"  # its words, and its values are all numbers
    assert 0 < core.confidence <= 1
    assert core.reason  # words for the manager


# Hours instead of sessions: ÷ 3.5 (§4). 7 h Core a week → 2 half-days → a target of 6;
# 14 h → 4 → 12. Choice hours are Choice sessions, 2 appointments each: 7 h → 2 → 4 a week.
HOURS = [
    ["Staff Name", "WTE", "Choice hrs/wk", "Core hrs/wk", "Specific hrs/wk", "Admin hrs/wk"],
    ["Ann Able", "1", "7", "14", "7", "7"],
    ["Dev Dutt", "0.5", "3.5", "7", "0", "5.25"],
]


def test_hours_become_half_day_sessions():
    load = read(HOURS)
    assert mapped(load)["core_hours"] == ("Core hrs/wk", "header")
    assert mapped(load)["nonclinical_hours"] == ("Admin hrs/wk", "header")
    assert column(load, "core_sessions") == [4.0, 2.0]
    assert [capa_target(s) for s in column(load, "core_sessions")] == [12.0, 6.0]
    assert column(load, "choice_per_week") == [4.0, 2.0]
    assert column(load, "specific_sessions") == [2.0, 0.0]
    assert column(load, "nonclinical_sessions") == [2.0, 1.5]


def test_the_length_of_a_half_day_is_a_setting():
    # A team counting 3.75-hour half-days (37.5 h ÷ 10): 7.5 Core hours are 2 half-days.
    rows = [["Name", "Core hours"], ["Ann Able", "7.5"]]
    load = read(rows, settings=Settings(half_day_hours=3.75))
    assert column(load, "core_sessions") == [2.0]


# PAs (programmed activities, 4 timetabled hours each; a full-time week is 10 PAs, as it is
# 10 half-day sessions). By default one PA is one half-day session.
PAS = [
    ["Name", "Total PAs", "Choice PAs", "Core PAs", "Specific PAs", "SPA"],
    ["EK, Eve (Dr)", "10", "1", "4", "2.5", "2.5"],
    ["Fay Fox", "6", "0", "3", "1", "2"],
]


def test_pas_become_sessions_by_the_pa_setting():
    load = read(PAS)
    assert mapped(load)["core_pas"] == ("Core PAs", "header")
    assert mapped(load)["nonclinical_pas"] == ("SPA", "header")
    assert column(load, "clinician") == ["Eve Ek", "Fay Fox"]
    assert column(load, "core_sessions") == [4.0, 3.0]
    assert [capa_target(s) for s in column(load, "core_sessions")] == [12.0, 9.0]
    assert column(load, "choice_per_week") == [2.0, 0.0]  # 1 PA = 1 session = 2 appointments
    assert column(load, "specific_sessions") == [2.5, 1.0]
    assert column(load, "nonclinical_sessions") == [2.5, 2.0]
    # Nothing says what "Total PAs" is for a field: it is reported, not used.
    assert load.unused_columns == ["Total PAs"]


def test_a_team_counting_a_pa_as_four_hours_sets_it():
    # 4 hours ÷ 3.5 hours a half-day: 4 Core PAs = 16 h = 32/7 half-days → target 96/7.
    load = read(PAS, settings=Settings(pa_half_days=4 / 3.5))
    assert column(load, "core_sessions") == pytest.approx([32 / 7, 24 / 7])


# A two-row grid: the activity over its units; each row fills one unit or the other.
GRID = [
    ["North CAMHS job plans 2026/27", None, None, None, None, None, None, None],
    [None, None, "Choice", None, "Core", None, "Specific", None],
    ["Clinician", "WTE", "appts/wk", "sessions/wk", "sessions/wk", "hrs/wk", "sessions/wk",
     "hrs/wk"],
    ["Gus Gray", "1", "4", None, "3", None, "2", None],
    ["Hal Hunt", "0.5", None, "1", None, "7", None, "3.5"],
]


def test_a_two_row_grid_joins_the_group_with_its_units():
    load = read(GRID)
    assert mapped(load) == {
        "clinician": ("Clinician", "header"),
        "fte": ("WTE", "header"),
        "choice_per_week": ("Choice appts/wk", "header"),
        "choice_sessions": ("Choice sessions/wk", "header"),
        "core_sessions": ("Core sessions/wk", "header"),
        "core_hours": ("Core hrs/wk", "header"),
        "specific_sessions": ("Specific sessions/wk", "header"),
        "specific_hours": ("Specific hrs/wk", "header"),
    }
    # Gus: 4 Choice appointments, 3 Core sessions (target 9), 2 Specific.
    # Hal: 1 Choice session = 2 appointments, 7 Core hours = 2 sessions (target 6), 3.5 h = 1.
    assert column(load, "choice_per_week") == [4.0, 2.0]
    assert column(load, "core_sessions") == [3.0, 2.0]
    assert column(load, "specific_sessions") == [2.0, 1.0]


def test_a_row_giving_two_units_that_disagree_is_questioned():
    # 2 sessions and 14 hours (= 4 sessions) for the same Core time: the sessions are kept,
    # and the manager is told which row disagrees.
    rows = [["Name", "Core sessions", "Core hours"], ["Ann Able", "2", "14"], ["Bo Bell", "2", "7"]]
    load = read(rows)
    assert column(load, "core_sessions") == [2.0, 2.0]
    assert any("Ann Able" in w and "Core" in w for w in load.warnings)
    assert not any("Bo Bell" in w for w in load.warnings)


def test_choice_given_as_sessions_holds_appointments_per_half_day():
    # 2 Choice sessions × 2 appointments = 4 a week (Choice target 4 × 11.25 = 45 a quarter);
    # with 3 appointments a half-day, 6.
    rows = [["Name", "Choice sessions/wk", "Core sessions/wk"], ["Ann Able", "2", "3"]]
    assert column(read(rows), "choice_per_week") == [4.0]
    assert mapped(read(rows))["choice_sessions"] == ("Choice sessions/wk", "header")
    settings = Settings(appointments_per_half_day=3)
    assert column(read(rows, settings=settings), "choice_per_week") == [6.0]


def test_explicit_targets_for_one_quarter_and_for_every_quarter():
    rows = [
        ["Name", "Core sessions", "CP target", "Q3 target"],
        ["Ann Able", "3", "8", None],
        ["Bo Bell", "2", None, "5"],
        ["Cy Cole", "2", "7", "4"],
    ]
    load = read(rows)
    assert mapped(load)["quarter_target"] == ("CP target", "header")
    assert mapped(load)["q3_target"] == ("Q3 target", "header")
    # "CP target" is every quarter's; a quarter's own column wins where it is filled.
    assert column(load, "q3_target") == [8.0, 5.0, 4.0]
    q1 = column(load, "q1_target")
    assert (q1[0], q1[2]) == (8.0, 7.0) and math.isnan(q1[1])


# §4: a plan row with neither Core time nor a target has no target; its Core stays blank.
NO_CORE = [
    ["Name", "Team", "Core sessions/wk", "Q3 target", "Specific sessions/wk"],
    ["Ann Able", "North", "3", None, "1"],
    ["Ben Baker", "North", None, "8", "2"],
    ["Cara Cole", "North", None, None, "4"],
    ["Dev Dutt", "North", "", None, "3"],
]


def test_a_row_without_core_time_or_target_keeps_core_blank_and_is_named():
    load = read(NO_CORE)
    assert column(load, "clinician") == ["Ann Able", "Ben Baker", "Cara Cole", "Dev Dutt"]
    core = column(load, "core_sessions")
    assert core[0] == 3.0
    assert all(np.isnan(v) for v in core[1:])  # blank, never 0
    assert load.no_target == ["Cara Cole", "Dev Dutt"]
    assert any(
        "Cara Cole" in w and "Dev Dutt" in w and "the job plan gives no Core time or target" in w
        for w in load.warnings
    )
    # Ben has a Q3 target only: the other quarters have none, and he is told so.
    assert any("Ben Baker" in w and "Q3" in w for w in load.warnings)


def test_an_import_where_no_row_gives_a_target_is_refused_naming_the_headers():
    rows = [["Name", "Team", "WTE", "Choice appts/wk"], ["Ann Able", "North", "1", "4"]]
    with pytest.raises(LoadError) as refused:
        read(rows)
    message = str(refused.value)
    for header in ("'Name'", "'Team'", "'WTE'", "'Choice appts/wk'"):
        assert header in message
    assert "Core sessions" in message and "Core hours" in message and "target" in message


def test_a_core_column_blank_in_every_row_is_refused_too():
    rows = [["Name", "Core sessions"], ["Ann Able", None], ["Bo Bell", ""]]
    with pytest.raises(LoadError, match="no row gives Core time or a target"):
        read(rows)


def test_every_column_not_used_is_reported():
    rows = [
        ["Name", "Band", "Core sessions/wk", "Notes", "Supervisor"],
        ["Ann Able", "7", "3", "back from leave in May", "Cy Cole"],
    ]
    load = read(rows)
    assert load.unused_columns == ["Band", "Notes", "Supervisor"]
    assert "Columns not used: 'Band', 'Notes', 'Supervisor'." in load.warnings


def test_sessions_beyond_a_week_are_questioned_not_used_silently():
    # 14 "Core sessions" cannot fit the 10 half-days of a week: probably hours.
    rows = [["Name", "Core"], ["Ann Able", "14"], ["Bo Bell", "3"]]
    load = read(rows)
    assert any("Core" in w and "14" in w and "hours" in w for w in load.warnings)


def test_a_manual_mapping_wins_and_says_so():
    rows = [["Name", "Core time", "Weekly CP"], ["Ann Able", "7", "2"]]
    load = read(rows, columns={"core_hours": "Core time"})
    assert mapped(load)["core_hours"] == ("Core time", "manual")
    assert column(load, "core_sessions") == [2.0]


def test_a_manual_mapping_naming_no_such_column_is_refused():
    with pytest.raises(LoadError, match="'Core time'"):
        read(PER_WEEK, columns={"core_hours": "Core time"})
    with pytest.raises(LoadError, match="core_minutes"):
        read(PER_WEEK, columns={"core_minutes": "Core sessions/wk"})


def test_a_manual_value_reads_a_word_as_a_number_or_a_blank():
    rows = [["Name", "Core sessions", "Leaving date"],
            ["Ann Able", "nil", "n/a"], ["Bo Bell", "3", "14/08/2026"]]
    plain = read(rows)
    assert {(r.row, r.value) for r in plain.rejected} == {(2, "nil"), (2, "n/a")}
    load = read(rows, values={"core_sessions": {"nil": "0"}, "available_to": {"n/a": ""}})
    assert load.rejected == []
    assert column(load, "core_sessions") == [0.0, 3.0]
    assert pd.isna(load.frame.loc[0, "available_to"])


def test_a_saved_profile_is_used_when_its_columns_are_there():
    rows = [["Who", "Core time", "Start"], ["Ann Able", "7", "01/09/2026"]]
    profile = jobplans_profile("Trust A", {"clinician": "Who", "core_hours": "Core time"})
    assert profile.name == JOBPLAN_PROFILE_PREFIX + "Trust A"
    load = read(rows, profile=profile)
    assert mapped(load)["core_hours"] == ("Core time", "profile")
    assert mapped(load)["clinician"] == ("Who", "profile")
    assert column(load, "core_sessions") == [2.0]
    assert load.frame.loc[0, "available_from"] == pd.Timestamp("2026-09-01")


def test_an_activity_profile_is_not_a_job_plan_profile():
    assert not is_jobplan_profile(MappingProfile("Rio diary", {"clinician": "HCP"}))
    assert is_jobplan_profile(jobplans_profile("Rio plans", {"clinician": "HCP"}))


def test_a_names_column_is_found_by_its_values_when_no_header_fits():
    rows = [["Who", "Core sessions/wk"], ["SMITH, Jane", "3"], ["Ali Khan", "2"],
            ["Priya Patel", "1"]]
    load = read(rows)
    assert mapped(load)["clinician"] == ("Who", "values")
    assert column(load, "clinician") == ["Jane Smith", "Ali Khan", "Priya Patel"]


def test_load_jobplans_reads_the_bytes_with_settings():
    data = b"Name,Core PAs\r\nAnn Able,4\r\n"
    load = load_jobplans(data, "plans.csv", settings=Settings(pa_half_days=0.5))
    assert column(load, "core_sessions") == [2.0]


def test_a_saved_job_plan_mapping_is_applied_when_it_fits_and_an_activity_one_never():
    data = b"Who,Core time\r\nAnn Able,7\r\n"
    activity = MappingProfile("Rio diary", {"clinician": "Who"})
    other = jobplans_profile("Trust B", {"clinician": "Who", "core_hours": "Weekly Core"})
    fits = jobplans_profile("Trust A", {"clinician": "Who", "core_hours": "Core time"})
    load = load_jobplans(data, "plans.csv", profiles=[activity, other, fits])
    assert load.profile == fits
    assert column(load, "core_sessions") == [2.0]  # 7 hours ÷ 3.5


# The command line: `jobplans import FILE [--map FIELD=HEADER] [--value FIELD:TEXT=VALUE]
# [--save-profile NAME]`; what was read goes to stderr, exit 0 done, 1 refused, 2 usage.
TRUST_CSV = (
    "Who,Clinic hrs,Leaving date,Band\n"
    "Ann Able,7,n/a,7\nBo Bell,14,31/08/2026,6\nCy Cole,0,,5\n"
)


@pytest.fixture
def cli(sqlite_url, monkeypatch, capsys):
    from capa_monitor.cli import main

    monkeypatch.setenv("CAPA_USER", "manager@example.org")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", sqlite_url, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_cli_refuses_a_plan_without_core_time_in_one_line(cli, tmp_path):
    path = tmp_path / "trust.csv"
    path.write_text(TRUST_CSV, encoding="utf-8")
    code, out, err = cli("jobplans", "import", str(path))
    assert code == 1
    assert out == ""
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "no row gives Core time or a target" in line and "'Clinic hrs'" in line


def test_cli_maps_by_hand_reads_values_saves_the_mapping_and_reports_on_stderr(cli, tmp_path):
    path = tmp_path / "trust.csv"
    path.write_text(TRUST_CSV, encoding="utf-8")
    code, out, err = cli("jobplans", "import", str(path), "--map", "core_hours=Clinic hrs",
                         "--map", "clinician=Who", "--value", "available_to:n/a=",
                         "--save-profile", "Trust A")
    assert code == 0, err
    assert out == "Job plans: 3 read from trust.csv, 3 new or changed, 0 rejected.\n"
    assert "mapped: core_hours <- 'Clinic hrs' (manual, 100%" in err
    assert "warning: Columns not used: 'Band'." in err
    assert "Saved the mapping as 'Job plans: Trust A'." in err
    code, out, _ = cli("jobplans", "list", "--format", "json")
    plans = {p["clinician"]: p for p in json.loads(out)}
    # 7 h ÷ 3.5 = 2 half-days; 14 h = 4. Ann's "n/a" leaving date is a blank.
    assert (plans["Ann Able"]["core_sessions"], plans["Bo Bell"]["core_sessions"]) == (2.0, 4.0)
    assert plans["Ann Able"]["available_to"] is None
    assert plans["Bo Bell"]["available_to"] == "2026-08-31"

    # The saved mapping reads the next file of this shape with no options.
    path.write_text(TRUST_CSV.replace("Ann Able,7", "Ann Able,3.5"), encoding="utf-8")
    code, out, err = cli("jobplans", "import", str(path))
    assert code == 0, err
    assert "note: read with the saved mapping 'Job plans: Trust A'" in err
    assert out == "Job plans: 3 read from trust.csv, 1 new or changed, 0 rejected.\n"


@pytest.mark.parametrize("option", [["--map", "core_minutes=Clinic hrs"], ["--map", "core_hours"],
                                    ["--value", "core_hours=3"]])
def test_cli_usage_errors_exit_2(cli, tmp_path, option):
    path = tmp_path / "trust.csv"
    path.write_text(TRUST_CSV, encoding="utf-8")
    code, out, err = cli("jobplans", "import", str(path), *option)
    assert (code, out) == (2, "")
    assert err.startswith("usage error:")


def test_a_field_the_manager_says_the_file_lacks_is_not_read_from_its_look_alike():
    # "From" here is where the clinician came from, not a start date: read as a date it
    # would reject the row. Mapped to nothing, it is a column not used.
    rows = [["Name", "Core sessions/wk", "From"], ["Ann Able", "3", "Leeds"]]
    assert [r.value for r in read(rows).rejected] == ["Leeds"]
    load = read(rows, columns={"available_from": ""})
    assert load.rejected == []
    assert "available_from" not in load.mapping
    assert load.unused_columns == ["From"]
    # A saved mapping says the same with "".
    saved = jobplans_profile("Seconded", {"clinician": "Name", "available_from": ""})
    assert read(rows, profile=saved).unused_columns == ["From"]


def test_a_group_row_naming_the_unit_over_the_activities():
    rows = [
        [None, "Sessions per week", None, None],
        ["Name", "Choice", "Core", "Specific clinics"],
        ["Ann Able", "1", "3", "2"],
    ]
    load = read(rows)
    assert mapped(load) == {
        "clinician": ("Name", "header"),
        "choice_sessions": ("Sessions per week Choice", "header"),
        "core_sessions": ("Sessions per week Core", "header"),
        "specific_sessions": ("Sessions per week Specific clinics", "header"),
    }
    # 1 Choice session = 2 appointments; 3 Core sessions → target 9.
    assert column(load, "choice_per_week") == [2.0]
    assert column(load, "core_sessions") == [3.0]
    assert not any("unit" in w for w in load.warnings)


def test_choice_clinics_are_sessions_and_a_unitless_header_is_questioned():
    rows = [["Name", "Choice clinics p/w", "Core"], ["Ann Able", "1", "3"]]
    load = read(rows)
    assert mapped(load)["choice_sessions"] == ("Choice clinics p/w", "header")
    assert column(load, "choice_per_week") == [2.0]
    assert [w for w in load.warnings if "unit" in w] == [
        "'Core' does not say its unit: read as Core sessions (half-days) per week. If it is "
        "another unit, say which."
    ]


# H2's four job-plan shapes (tests/exports/jobplans/README.md, worked by hand there; the
# targets themselves are asserted in test_foreign_exports.py): here, how each was read.
EXPORTS = Path(__file__).parent / "exports" / "jobplans"


@pytest.mark.parametrize(
    ("name", "fields", "no_target"),
    [
        ("sessions_per_week.xlsx",
         {"choice_per_week", "core_sessions", "specific_sessions", "nonclinical_sessions",
          "available_to"}, ["Priya Nair"]),
        ("hours_per_week.xlsx",
         {"choice_hours", "core_hours", "specific_hours", "nonclinical_hours"}, ["Tom Pryce"]),
        ("programmed_activities.xlsx",
         {"choice_pas", "core_pas", "specific_pas", "nonclinical_pas", "q3_target"}, []),
        ("two_row_grid.xlsx",
         {"choice_per_week", "choice_sessions", "core_sessions", "q3_target",
          "specific_sessions", "nonclinical_sessions"}, ["Ben Hartley"]),
    ],
)
def test_the_four_shapes_are_read_by_their_words_with_nothing_left_over(name, fields, no_target):
    load = load_jobplans((EXPORTS / name).read_bytes(), name)
    assert fields <= set(load.mapping)
    assert all(c.by in ("header", "header+values") for c in load.mapping.values())
    assert load.unused_columns == []
    assert load.rejected == []
    assert load.no_target == no_target


def test_the_pa_shape_with_a_pa_of_four_hours():
    # README: with pa_half_days = 4 / 3.5, Core targets 6.857, 10.286, 5.143 (Tom: Q3 target
    # 5 stays), Choice 25.7, 51.4, 25.7, 25.7 a quarter.
    from capa_monitor.plan_targets import quarterly_targets

    settings = Settings(pa_half_days=4 / 3.5)
    name = "programmed_activities.xlsx"
    load = load_jobplans((EXPORTS / name).read_bytes(), name, settings=settings)
    targets = quarterly_targets(load.frame, Quarter(2026, 3), settings)
    assert targets["core_target"].round(3).tolist() == [6.857, 10.286, 5.143, 5.0]
    assert targets["choice_target"].round(1).tolist() == [25.7, 51.4, 25.7, 25.7]


def test_a_saved_mapping_saying_a_field_is_absent_still_fits_its_files():
    data = b"Name,Core sessions/wk,From\r\nAnn Able,3,Leeds\r\n"
    saved = jobplans_profile("Seconded", {"clinician": "Name", "available_from": ""})
    load = load_jobplans(data, "plans.csv", profiles=[saved])
    assert load.profile == saved
    assert load.rejected == [] and load.unused_columns == ["From"]
