"""Foreign-shaped exports (issue 11 "Done when"): each file in tests/exports/ is read by
`load_activity` with no help (no profile, no mapping) and must give the reading worked out by
hand from its rows (tests/exports/make_exports.py, whose comments carry the tallies).

Readings follow spec §3 and docs/vocabularies.md: ambiguous statuses (Patient Walked Out,
Arrived, Sent In, ...) have no reading and are listed, so they count as `booked` here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from capa_monitor.loading import load_activity

EXPORTS = Path(__file__).parent / "exports"
TODAY = date(2026, 11, 30)  # the day every export was "run"
KEY = b"foreign-exports-test-key"

KINDS = ("choice", "core_new", "core_followup", "specific_new", "specific_followup", "other")
OUTCOMES = ("attended", "dna", "late_not_seen", "cancelled_by_client", "cancelled_by_service",
            "unbooked", "booked")
ASSUMED = "kind (new/follow-up not stated: read as follow-up)"


def _counts(names: tuple[str, ...], values: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(names, values, strict=True))


# Worked by hand from the rows typed in make_exports.py (block comments give each tally).
EXPECTED: dict[str, dict] = {
    "systmone_appointments.csv": {
        "accepted": 24,
        "kind": _counts(KINDS, (6, 6, 6, 1, 2, 3)),
        "outcome": _counts(OUTCOMES, (12, 4, 0, 2, 2, 0, 4)),
        "clinicians": ["Amara Okonjo", "Ross Mcdonald", "Siobhán Kelly"],  # no row spells McD
        "dates": (date(2026, 10, 6), date(2026, 12, 9)),
        "mapping": {
            "date": "Appointment date", "clinician": "Clinician", "kind": "Rota type",
            "outcome": "Appointment status", "new_followup": "Appointment flags",
            "duration_min": "Appointment duration (booked)", "client_id": "Patient ID",
            "booking_lag": "Time between booking and appointment",
        },
        "booked_on": 24,  # every row has "Time between booking and appointment"
        "unknown": {
            "outcome": {"Patient Walked Out": 1, "Arrived": 1},
            "kind": {"Westmoor CAMHS Duty": 3},
            "new_followup": {"Interpreter Required": 1},
        },
        "rows": {  # source row -> fields
            2: {"kind": "choice", "duration_min": 60, "booked_on": date(2026, 9, 21)},
            8: {"kind": "core_new", "duration_min": 90, "booked_on": date(2026, 9, 14)},
            9: {"kind": "core_followup", "outcome": "attended"},
            23: {"kind": "other", "booked_on": date(2026, 10, 9)},  # booked "0m" before
        },
    },
    "systmone_appointments.xlsx": {
        "accepted": 20,
        "kind": _counts(KINDS, (6, 5, 6, 1, 1, 1)),
        "outcome": _counts(OUTCOMES, (9, 2, 0, 2, 1, 0, 6)),
        "clinicians": ["Ben Hartley", "Priya Nair", "Tom Pryce"],
        "dates": (date(2026, 11, 2), date(2026, 12, 8)),
        "mapping": {
            "date": "Appointment date", "clinician": "Clinician", "kind": "Rota type",
            "outcome": "Appointment status", "new_followup": "Appointment flags",
            "duration_min": "Appointment duration (booked)", "client_id": "Patient ID",
            "booking_lag": "Time between booking and appointment",
        },
        "booked_on": 20,
        "unknown": {
            "outcome": {"In Progress": 1, "Waiting": 1},
            "kind": {"CAMHS Consultation Clinic": 1},
        },
        "rows": {
            7: {"kind": "choice", "outcome": "attended", "booked_on": date(2026, 10, 19)},
            13: {"kind": "core_new", "duration_min": 90, "booked_on": date(2026, 10, 6)},
        },
        "header_row": 6,
    },
    "emis_appointments.xlsx": {
        "accepted": 20,
        "kind": _counts(KINDS, (8, 5, 4, 1, 1, 1)),
        "outcome": _counts(OUTCOMES, (8, 3, 0, 0, 0, 3, 6)),
        "clinicians": ["Ben Hartley", "Siobhán Kelly"],
        "dates": (date(2026, 11, 3), date(2026, 12, 2)),
        "mapping": {
            "clinician": "Session Holder", "date": "Appointment Date", "start": "Start Time",
            "kind": "Slot Type", "outcome": "Slot Status", "duration_min": "Duration",
            "nhs_number": "NHS Number", "booked_on": "Booked Date",
        },
        "booked_on": 17,  # the three free slots have no booked date
        "unknown": {
            "outcome": {"Cancelled": 1, "Walked Out": 1, "Sent In": 1, "Arrived": 1},
            "kind": {"Consultation Call": 1},
        },
        "rows": {
            5: {"start": "09:30", "duration_min": 60, "booked_on": date(2026, 10, 20)},
            7: {"outcome": "unbooked"},
            15: {"kind": "core_new", "outcome": "dna"},  # telephoned but no answer
        },
        "invalid_nhs_numbers": [21],
        "header_row": 4,
    },
    "rio_diary.xlsx": {
        "accepted": 20,
        "kind": _counts(KINDS, (6, 6, 5, 0, 2, 1)),
        "outcome": _counts(OUTCOMES, (12, 2, 1, 1, 1, 0, 3)),
        "clinicians": ["Amara Okonjo", "Priya Nair", "Ross McDonald"],
        "dates": (date(2026, 10, 5), date(2026, 12, 7)),
        "mapping": {
            "date": "Appt Date", "start": "Appt Time", "clinician": "HCP", "team": "Team",
            "kind": "Appointment Type", "outcome": "Outcome", "client_id": "RiO ID",
            "booked_on": "Date Booked", "reoffered": "Rebooked",
        },
        "booked_on": 20,
        "unknown": {"outcome": {}, "kind": {"Group - Parenting": 1},
                    ASSUMED: {"Partnership - Specific (DBT)": 2}},
        "rows": {
            6: {"start": "09:00", "kind": "choice", "booked_on": date(2026, 9, 21)},
            10: {"outcome": "attended"},  # arrived late but was seen
            13: {"outcome": "late_not_seen", "reoffered": True},
        },
        "blank_past_outcomes": [17],
        "reoffered": 2,
        "teams": {"Westmoor CAMHS": 20},
        "header_row": 5,
    },
    "mhsds_v6_care_contacts.csv": {
        "accepted": 20,
        "kind": _counts(KINDS, (7, 5, 4, 1, 2, 1)),
        "outcome": _counts(OUTCOMES, (11, 2, 1, 2, 1, 0, 3)),
        "clinicians": ["Amara Okonjo", "Ross McDonald", "Siobhán Kelly"],
        "dates": (date(2026, 10, 6), date(2026, 12, 8)),
        "mapping": {
            "slot_id": "CareContactId", "clinician": "StaffName", "team": "CareProfTeamLocalId",
            "date": "CareContDate", "start": "CareContTime", "kind": "LocalActivityType",
            "new_followup": "ConsType", "outcome": "AttendStatus", "nhs_number": "NHSNumber",
            "client_id": "LocalPatientId", "booked_on": "CareContBookedDate",
            "duration_min": "ClinContDurOfCareCont",
        },
        "booked_on": 20,
        "unknown": {"outcome": {}, "kind": {"Consultation": 1}},
        "rows": {
            2: {"slot_id": "CC0001", "start": "09:30", "duration_min": 60,
                "booked_on": date(2026, 9, 22)},
            11: {"kind": "core_new", "outcome": "late_not_seen"},
        },
        "teams": {"WMC-CAMHS-01": 20},
    },
    "captnd_extract.csv": {
        "accepted": 20,
        "kind": _counts(KINDS, (7, 6, 3, 1, 1, 2)),
        "outcome": _counts(OUTCOMES, (11, 2, 0, 3, 2, 0, 2)),
        "clinicians": ["Eilidh Ross", "Fraser Campbell", "Morag MacLeod"],
        "dates": (date(2026, 10, 5), date(2026, 11, 26)),
        "mapping": {
            "date": "DATE_OF_APPOINTMENT", "clinician": "CLINICIAN_NAME",
            "kind": "LOCAL_APPOINTMENT_TYPE", "outcome": "ATTENDANCE_STATUS",
            "new_followup": "ATTENDANCE_CATEGORY", "client_id": "UPCN",
        },
        "not_mapped": ["booked_on"],  # REFERRAL_RECEIVED_DATE is not when a slot was booked
        "booked_on": 0,
        "unknown": {"outcome": {"5": 1, "99": 1}, "kind": {"Duty": 2}},
        "rows": {
            3: {"outcome": "dna"},  # CAPTND 8
            4: {"outcome": "cancelled_by_client"},  # CAPTND 3 (England's 3 would be DNA)
            6: {"outcome": "cancelled_by_service"},  # CAPTND 2, clinic cancelled
            9: {"kind": "core_new"},
            10: {"kind": "core_followup"},
        },
    },
    "tracker_by_month.xlsx": {
        "accepted": 20,
        "kind": _counts(KINDS, (7, 5, 5, 1, 1, 1)),
        "outcome": _counts(OUTCOMES, (8, 2, 0, 4, 1, 0, 5)),
        "clinicians": ["A Okonjo", "R McDonald", "S Kelly"],
        "dates": (date(2026, 10, 6), date(2026, 12, 9)),
        "mapping": {
            "date": "Date", "clinician": "Clin", "kind": "Appt", "new_followup": "N/FU",
            "nhs_number": "NHS No", "outcome": "Outcome", "reoffered": "Rebooked?",
        },
        "booked_on": 0,
        "unknown": {"outcome": {"canx": 1, "CBC": 1}, "kind": {"C-new": 1}},
        "sheets_read": ["Oct 26", "Nov 26", "Dec 26"],
        "sheets_skipped": ["Summary"],
        "reoffered": 2,
    },
    "carenotes_contacts.xlsx": {
        "accepted": 20,
        "kind": _counts(KINDS, (6, 5, 4, 1, 2, 2)),
        "outcome": _counts(OUTCOMES, (11, 2, 1, 1, 2, 0, 3)),
        "clinicians": ["Amara Okonjo", "Ben Hartley", "Tom Pryce"],
        "dates": (date(2026, 10, 7), date(2026, 12, 10)),
        "mapping": {
            "slot_id": "Contact ID", "date": "Contact Date", "start": "Start",
            "duration_min": "Duration (mins)", "clinician": "Staff", "team": "Team",
            "client_id": "Service User ID", "kind": "Activity", "outcome": "Outcome",
            "booked_on": "Date Booked",
        },
        "booked_on": 19,
        "unknown": {"outcome": {"Cancelled": 1}, "kind": {"Consultation - Professionals": 2},
                    ASSUMED: {"Specific Partnership - Psychotherapy": 2}},
        "rows": {
            8: {"outcome": "cancelled_by_client"},  # cancelled by service user
            14: {"kind": "core_followup", "outcome": "late_not_seen"},
        },
        "teams": {"Westmoor CAMHS": 20},
        "header_row": 5,
    },
}

#: Every export, each test named by it so a failure says which export and which check.
CASES = [pytest.param(name, id=name) for name in EXPECTED]


_LOADED: dict[str, object] = {}


def _load(name: str):
    if name not in _LOADED:
        path = EXPORTS / name
        _LOADED[name] = load_activity(path.read_bytes(), name, pseudonym_key=KEY, today=TODAY)
    return _LOADED[name]


@pytest.mark.parametrize("name", CASES)
def test_rows_accepted_and_counts_by_kind_and_outcome(name):
    report = _load(name).report
    want = EXPECTED[name]
    assert report.accepted == want["accepted"]
    assert report.counts["kind"] == want["kind"]
    assert report.counts["outcome"] == want["outcome"]


@pytest.mark.parametrize("name", CASES)
def test_clinicians_and_date_range(name):
    report = _load(name).report
    want = EXPECTED[name]
    assert report.clinicians == want["clinicians"]
    assert report.date_range == want["dates"]


@pytest.mark.parametrize("name", CASES)
def test_which_header_feeds_which_field(name):
    report = _load(name).report
    want = EXPECTED[name]
    used = {field: found["column"] for field, found in report.mapping.items()}
    assert {f: used.get(f) for f in want["mapping"]} == want["mapping"]
    for field in want.get("not_mapped", ()):
        assert field not in used


@pytest.mark.parametrize("name", CASES)
def test_booked_dates_found(name):
    frame = _load(name).frame
    assert int(frame["booked_on"].notna().sum()) == EXPECTED[name]["booked_on"]


@pytest.mark.parametrize("name", CASES)
def test_values_listed_for_the_manager(name):
    unmapped = _load(name).report.unmapped_values
    want = EXPECTED[name]["unknown"]
    for field in {"outcome", "kind", *want}:
        assert unmapped.get(field, {}) == want.get(field, {}), field


@pytest.mark.parametrize("name", CASES)
def test_rows_read_right(name):
    frame = _load(name).frame.set_index("source_row")
    for row, fields in EXPECTED[name].get("rows", {}).items():
        for field, value in fields.items():
            got = frame.at[row, field]
            if isinstance(value, date):
                got = pd.Timestamp(got).date()
            assert got == value, (row, field)


@pytest.mark.parametrize("name", CASES)
def test_sheets_teams_markers_and_row_reports(name):
    result = _load(name)
    report, frame, want = result.report, result.frame, EXPECTED[name]
    if "sheets_read" in want:
        assert report.sheets["read"] == want["sheets_read"]
        assert sorted(report.sheets["skipped"]) == want["sheets_skipped"]
    if "teams" in want:
        assert frame["team"].value_counts().to_dict() == want["teams"]
    if "reoffered" in want:
        assert int(frame["reoffered"].fillna(False).sum()) == want["reoffered"]
    if "header_row" in want:
        assert report.header_row == want["header_row"]
    assert report.blank_past_outcomes == want.get("blank_past_outcomes", [])
    assert report.invalid_nhs_numbers == want.get("invalid_nhs_numbers", [])


def test_corpus_is_what_make_exports_writes(tmp_path):
    """The committed files are exactly what the script writes from its literal rows."""
    from tests.exports.make_exports import write_all

    for path in write_all(tmp_path):
        relative = path.relative_to(tmp_path)
        assert path.read_bytes() == (EXPORTS / relative).read_bytes(), relative


# --- job-plan shapes (tests/exports/jobplans/README.md), targets for 2026/27 Q3 by hand --------

NAN = float("nan")
#: clinician -> (core target, target source, Choice target) with the default settings.
JOBPLAN_TARGETS: dict[str, dict[str, tuple[float, str, float]]] = {
    "sessions_per_week.xlsx": {
        "Amara Okonjo": (6, "capa", 45), "Ross McDonald": (12, "capa", 22.5),
        "Siobhán Kelly": (9, "capa", 22.5), "Ben Hartley": (4.5, "capa", 22.5),
        "Priya Nair": (NAN, "none", 45), "Tom Pryce": (9, "capa", 22.5),
    },
    "hours_per_week.xlsx": {
        "Amara Okonjo": (6, "capa", 45), "Ross McDonald": (12, "capa", 22.5),
        "Siobhán Kelly": (9, "capa", 22.5), "Ben Hartley": (4.5, "capa", 22.5),
        "Priya Nair": (0, "capa", 90), "Tom Pryce": (NAN, "none", 45),
    },
    "programmed_activities.xlsx": {
        "Ben Hartley": (6, "capa", 22.5), "Amara Okonjo": (9, "capa", 45),
        "Priya Nair": (4.5, "capa", 22.5), "Tom Pryce": (5, "explicit", 22.5),
    },
    "two_row_grid.xlsx": {
        "Ross McDonald": (14, "explicit", 22.5), "Siobhán Kelly": (9, "capa", 22.5),
        "Amara Okonjo": (6, "capa", 45), "Ben Hartley": (NAN, "none", 22.5),
    },
}


@pytest.mark.parametrize("name", list(JOBPLAN_TARGETS))
def test_job_plan_shapes_give_the_targets_worked_by_hand(name):
    from capa_monitor.jobplans import load_jobplans
    from capa_monitor.periods import Quarter
    from capa_monitor.plan_targets import quarterly_targets

    path = EXPORTS / "jobplans" / name
    plans = load_jobplans(path.read_bytes(), name).frame
    targets = quarterly_targets(plans, Quarter(2026, 3))
    got = {
        row.clinician: (round(row.core_target, 3), row.target_source, round(row.choice_target, 3))
        for row in targets.itertuples()
    }
    want = JOBPLAN_TARGETS[name]
    assert set(got) == set(want)
    for clinician, (core, source, choice) in want.items():
        g_core, g_source, g_choice = got[clinician]
        assert (g_source, g_choice) == (source, choice), clinician
        assert (pd.isna(g_core) and pd.isna(core)) or g_core == core, clinician


def test_a_leaving_date_in_the_sessions_plan_is_the_end_of_availability():
    from capa_monitor.jobplans import load_jobplans

    path = EXPORTS / "jobplans" / "sessions_per_week.xlsx"
    plans = load_jobplans(path.read_bytes(), path.name).frame.set_index("clinician")
    assert plans.at["Tom Pryce", "available_to"] == pd.Timestamp(2026, 12, 18)
    assert plans["available_to"].notna().sum() == 1
