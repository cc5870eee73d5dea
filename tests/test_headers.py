"""Header row detection and column mapping (issue 2: titles, blank rows, two-row headers, synonyms)."""

from __future__ import annotations

import pytest
from conftest import raw_cells

from capa_monitor.errors import LoadError
from capa_monitor.loading.headers import (
    ACTIVITY_REQUIRED,
    ACTIVITY_SYNONYMS,
    find_header,
    header_key,
)
from capa_monitor.loading.infer import ACTIVITY_FIELDS, header_matcher

PLAIN = [
    ["Appt Date", "HCP", "Appointment type", "Attendance"],
    ["03/07/2026", "Smith, Jane", "Choice", "Attended"],
]
TITLE_ROWS = [
    ["North CAMHS diary report"],
    ["Run date: 01/08/2026", None, None, None],
    [None, None, None, None],
    ["Clinician", "Appointment Date", "Clinic Type", "Outcome"],
    ["Smith, Jane", "03/07/2026", "Choice", "Attended"],
]
TWO_ROW = [
    ["Team report"],
    ["Clinician", "Appointment", None, None, "Client"],
    [None, "Date", "Type", "Outcome", "NHS Number"],
    ["Smith, Jane", "03/07/2026", "Choice", "Attended", "9990000018"],
]
MHSDS = [
    ["CareContDate", "CareProfName", "ConsType", "AttendOrDNACode", "Activity", "LocalPatientId",
     "ClinContDurOfCareCont", "CareContactId", "Extra thing"],
    ["2026-07-03", "SMITH, Jane", "01", "5", "Core Partnership", "P1", "60", "C1", "x"],
]


@pytest.mark.parametrize(
    ("rows", "row", "data_start", "columns"),
    [
        (PLAIN, 0, 1, {"date": 0, "clinician": 1, "kind": 2, "outcome": 3}),
        # title, run date and a blank row above: the header is the 4th row (index 3)
        (TITLE_ROWS, 3, 4, {"clinician": 0, "date": 1, "kind": 2, "outcome": 3}),
        # "Appointment" merged over Date/Type/Outcome, "Client" over NHS Number
        (TWO_ROW, 2, 3, {"clinician": 0, "date": 1, "kind": 2, "outcome": 3, "nhs_number": 4}),
        (
            MHSDS,
            0,
            1,
            {"date": 0, "clinician": 1, "new_followup": 2, "outcome": 3, "kind": 4,
             "client_id": 5, "duration_min": 6, "slot_id": 7},
        ),
    ],
    ids=["plain", "title-rows", "two-row", "mhsds"],
)
def test_header_row_and_columns(rows, row, data_start, columns):
    match = find_header(raw_cells(rows), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    assert (match.row, match.data_start, match.columns) == (row, data_start, columns)


def test_two_row_header_texts_are_joined():
    match = find_header(raw_cells(TWO_ROW), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    assert match.headers == [
        "Clinician", "Appointment Date", "Appointment Type", "Appointment Outcome",
        "Client NHS Number",
    ]


def test_unmatched_headers_are_listed():
    match = find_header(raw_cells(MHSDS), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    assert match.unmatched_headers() == ["Extra thing"]
    assert match.source_headers()["outcome"] == "AttendOrDNACode"


@pytest.mark.parametrize(
    ("text", "key"),
    [("Appt. Date", "apptdate"), ("APPT_DATE", "apptdate"), ("  appt   date ", "apptdate"),
     ("Re-offered?", "reoffered"), (None, "")],
)
def test_header_key_ignores_case_spacing_punctuation(text, key):
    assert header_key(text) == key


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Appt Date", "date"), ("Appointment date", "date"), ("CareContDate", "date"),
        ("DateStart", "date"), ("HCP", "clinician"), ("Clinician", "clinician"),
        ("CareProfName", "clinician"), ("Staff", "clinician"), ("Attendance", "outcome"),
        ("Appointment status", "outcome"), ("AttendOrDNACode", "outcome"), ("Outcome", "outcome"),
        ("Appointment type", "kind"), ("Clinic type", "kind"), ("Activity", "kind"),
        ("Contact type", "kind"), ("ConsType", "new_followup"),
        ("FollowUpAppointment", "new_followup"), ("First attendance", "new_followup"),
        ("Initial Appointment", "new_followup"), ("Team", "team"), ("Clinic", "team"),
        ("Rota", "team"), ("Appointment ID", "slot_id"), ("CareContactId", "slot_id"),
        ("Slot ID", "slot_id"), ("NHS Number", "nhs_number"), ("Patient ID", "client_id"),
        ("RiO ID", "client_id"), ("LocalPatientId", "client_id"), ("Client name", "client_name"),
        ("Booked on", "booked_on"), ("Date booked", "booked_on"), ("Duration", "duration_min"),
        ("Length", "duration_min"), ("ClinContDurOfCareCont", "duration_min"),
        ("Start time", "start"), ("Time", "start"), ("Re-offered", "reoffered"),
        ("Rebooked", "reoffered"),
    ],
)
def test_synonym_maps_to_field(header, canonical):
    match = find_header(raw_cells([["Comments", header.upper()]]), ACTIVITY_SYNONYMS)
    assert match.columns == {canonical: 1}


def test_better_synonym_wins_over_leftmost_column():
    # "Date" is a weaker synonym than "Appointment Date"; "Date" is further left.
    rows = [["Date", "Clinician", "Type", "Outcome", "Appointment Date"]]
    match = find_header(raw_cells(rows), ACTIVITY_SYNONYMS)
    assert match.columns["date"] == 4


def test_missing_required_lists_found_headers_and_what_is_missing():
    rows = [["Name", "When", "Appointment type", "Outcome"], ["A", "B", "C", "D"]]
    with pytest.raises(LoadError) as err:
        find_header(raw_cells(rows), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    message = str(err.value)
    assert "missing date" in message and "clinician" in message
    assert "'Name', 'When', 'Appointment type', 'Outcome'" in message


def test_no_header_at_all_does_not_quote_the_data():
    rows = [["Amy Pond", "9990000018", "03/07/2026"]]
    with pytest.raises(LoadError) as err:
        find_header(raw_cells(rows), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    assert "No header row was found" in str(err.value)
    assert "Amy" not in str(err.value) and "9990000018" not in str(err.value)


def test_no_known_column_quotes_a_first_row_that_reads_like_headers():
    # No digits in any cell: a header row of the wrong file, safe to show back (issue 2 asks
    # for the headers found).
    rows = [["Fruit", "Colour", "Crate"], ["Apple", "Red", "12"]]
    with pytest.raises(LoadError) as err:
        find_header(raw_cells(rows), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)
    assert "the first row reads 'Fruit', 'Colour', 'Crate'" in str(err.value)


def test_header_below_scan_window_is_not_found():
    rows = [["filler"]] * 30 + [["Appt Date", "HCP", "Appointment type", "Attendance"]]
    with pytest.raises(LoadError):
        find_header(raw_cells(rows), ACTIVITY_SYNONYMS, ACTIVITY_REQUIRED)


def test_job_plan_style_synonyms_work_too():
    synonyms = {"clinician": ("Name", "Staff", "HCP"), "fte": ("WTE",)}
    rows = [["Job plans 2026/27"], ["WTE", "Name"], ["0.8", "Jane Smith"]]
    match = find_header(raw_cells(rows), synonyms, ("clinician",))
    assert (match.row, match.columns) == (1, {"fte": 0, "clinician": 1})


# --- header rows found by header words (infer.header_matcher) -----------------------------------

SYSTMONE_TITLED = [
    ["Appointments"],
    ["Report run on 30 Nov 2026 14:02"],
    [],
    ["Appointment date", "Appointment flags", "Appointment status", "Clinician", "Rota type"],
    ["02/11/2026", "Appointment Confirmed, Initial Appointment", "Finished", "HARTLEY, Ben (Dr)",
     "CAMHS Core Partnership"],
]


def test_word_matcher_finds_a_header_no_synonym_table_knows_whole():
    match = find_header(raw_cells(SYSTMONE_TITLED), ACTIVITY_SYNONYMS,
                        matcher=header_matcher(ACTIVITY_FIELDS))
    assert (match.row, match.data_start) == (3, 4)  # the first data row is not glued below it
    assert match.columns == {"date": 0, "new_followup": 1, "outcome": 2, "clinician": 3, "kind": 4}


def test_a_data_row_below_a_header_is_never_the_header():
    # The header names one field ("NHS no"); the row below holds words a header could use
    # ("Follow-up", "Status") but also a date, so it is data.
    rows = [["Wann", "NHS no", "Ergebnis"], ["01/07/2026", "Follow-up", "Status"]]
    match = find_header(raw_cells(rows), ACTIVITY_SYNONYMS, matcher=header_matcher(ACTIVITY_FIELDS))
    assert match.row == 0 and match.columns == {"nhs_number": 1}
