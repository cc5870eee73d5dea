"""Column inference (issue 11 item 1): header words, value profiles, the assignment of columns."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import raw_cells

from capa_monitor import model
from capa_monitor.errors import LoadError
from capa_monitor.loading import load_raw
from capa_monitor.loading.doubts import stated_range
from capa_monitor.loading.infer import (
    ACTIVITY_FIELDS,
    DATE,
    DATETIME,
    DURATION,
    FLAG_LIST,
    HEADER,
    HEADER_VALUES,
    ID,
    INTERVAL,
    MANUAL,
    NAME,
    NEWNESS,
    NHS,
    NUMBER,
    OUTCOME,
    OUTCOME_CODE,
    PROFILE,
    TIME,
    TIME_BAND,
    TYPE,
    VALUES,
    YES_NO,
    FieldSpec,
    assign,
    header_matcher,
    header_score,
    header_words,
    profile_column,
    profile_columns,
    sample_rows,
    words,
)
from capa_monitor.loading.read import RawSheet, RawWorkbook

SPECS = {s.name: s for s in ACTIVITY_FIELDS}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("CareContBookedDate", ("care", "contact", "booked", "date")),
        ("Appt. dur (mins)", ("appointment", "duration", "minutes")),
        ("N/FU", ("new", "followup")),
        ("F/U", ("followup",)),
        ("Follow-up", ("followup",)),
        ("Re-offered?", ("reoffered",)),
        ("CareProfTeamLocalId", ("care", "professional", "team", "local", "id")),
        ("Choice appts/wk", ("choice", "appointment", "week")),
        ("Core sess/wk", ("core", "session", "week")),
        ("PAs per week", ("pa", "per", "week")),
        ("WTE", ("fte",)),
        ("CP hrs", ("core", "partnership", "hours")),
        ("SP no.", ("specific", "partnership", "number")),
        ("Pt NHS No", ("patient", "nhs", "number")),
        ("Clin name", ("clinician", "name")),
        ("NHSNumber", ("nhs", "number")),
        ("Appt Dt", ("appointment", "date")),
        ("", ()),
        (None, ()),
    ],
)
def test_header_words_expand_abbreviations_and_split_words(header, expected):
    assert header_words(header) == expected


@pytest.mark.parametrize(
    "header",
    ["Date booked", "Booked date", "Appointment booked date", "Date appt made", "CareContBookedDate",
     "BOOKING DATE", "date_booked"],
)
def test_booked_date_in_any_word_order_is_booked_on(header):
    scores = {name: header_score(spec, header)[0] for name, spec in SPECS.items()}
    assert max(scores, key=scores.get) == "booked_on"
    assert scores["date"] == 0  # "booked"/"made" rule out the appointment date


def test_exact_synonym_beats_word_pattern():
    exact, _ = header_score(SPECS["date"], "Appointment Date")
    pattern, _ = header_score(SPECS["date"], "Date of appointment")
    assert exact > 0.99
    assert 0.6 <= pattern < 0.9


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Appointment duration (booked)", "duration_min"),
        ("Appointment duration (actual)", "duration_min"),
        ("Rota type", "kind"),
        ("CareProfTeamLocalId", "team"),
        ("Team ID", "team"),
        ("Appointment flags", "new_followup"),
        ("Time between booking and appointment", "booking_lag"),
        ("AttendStatus", "outcome"),
        ("Seen by", "clinician"),
        ("Appt Type (CAPA)", "kind"),
    ],
)
def test_headers_read_by_their_words(header, field):
    scores = {name: header_score(spec, header)[0] for name, spec in SPECS.items()}
    assert max(scores, key=scores.get) == field
    assert scores[field] > 0


@pytest.mark.parametrize(
    ("header", "not_field"),
    [
        ("Rota start date", "date"),  # the rota's start, not the appointment's date
        ("Time between booking and appointment", "start"),
        ("CareProfTeamLocalId", "clinician"),  # a team id names no clinician
        ("Date of birth", "date"),
        ("Patient Count", "client_name"),
    ],
)
def test_excluded_words_stop_a_pattern(header, not_field):
    assert header_score(SPECS[not_field], header)[0] == 0


def _share(values, kind):
    return profile_column(values).share(kind)


def test_profile_counts_shares_of_non_blank_values():
    profile = profile_column(["03/07/2026", "2026-07-04", "soon", None, "", "03/07/2026"])
    assert profile.count == 4  # blanks ignored
    assert profile.distinct == 3
    assert profile.share(DATE) == pytest.approx(3 / 4)


@pytest.mark.parametrize(
    ("values", "kind", "share"),
    [
        (["03/07/2026 09:30", "03/07/2026", "x"], DATETIME, 1 / 3),
        (["09:30", "9.30am", "14:00:00", "later"], TIME, 3 / 4),
        (["09:00 - 10:00", "9.00-9.50am", "13:00 to 14:00", "AM"], TIME_BAND, 3 / 4),
        (["1h 30m", "45m", "50 mins", "1:30", "01:30:00", "n/a"], DURATION, 5 / 6),
        (["2wks 1d", "3 days", "0 days", "1wk", "4 wks 2 days", "?"], INTERVAL, 5 / 6),
        (["Attended", "DNA", "Was not brought", "Cancelled by patient", "Erm"], OUTCOME, 4 / 5),
        (["5", "3", "2"], OUTCOME_CODE, 1.0),
        (["Choice", "Core Partnership", "CAMHS Specific", "Assessment"], TYPE, 3 / 4),
        (["Appointment Confirmed, Initial Appointment", "Confirmed; Late", "Smith, Jane"],
         FLAG_LIST, 2 / 3),
        (["Initial Appointment", "Follow-up", "Confirmed"], NEWNESS, 2 / 3),
        (["SMITH, Jane (Dr)", "Ali Jones", "Dr Sam Patel", "CAMHS01"], NAME, 3 / 4),
        (["P1001", "P1002", "RX-77", "hello"], ID, 3 / 4),
        (["9990000018", "999 000 0026", "1234567890"], NHS, 2 / 3),
        (["Y", "N", "yes", "maybe"], YES_NO, 3 / 4),
        (["60", "90", "x"], NUMBER, 2 / 3),
    ],
)
def test_profile_value_kinds(values, kind, share):
    assert _share(values, kind) == pytest.approx(share)


def test_profile_of_blank_column_is_empty():
    profile = profile_column([None, "", "  "])
    assert profile.count == 0 and profile.dominant() is None


def test_sample_rows_are_the_first_rows_and_an_even_spread():
    assert list(sample_rows(5)) == [0, 1, 2, 3, 4]
    rows = sample_rows(100_000)
    assert len(rows) <= 2000
    assert list(rows[:500]) == list(range(500))
    assert rows[-1] == 99_999


SYSTMONE_HEADERS = [
    "Appointment date", "Appointment duration (actual)", "Appointment duration (booked)",
    "Appointment flags", "Appointment location", "Appointment status", "Clinician",
    "Rota start date", "Rota type", "Time between booking and appointment", "Patient ID",
    "Patient Count",
]
SYSTMONE_ROWS = [
    ["03/07/2026", "50 mins", "1h 30m", "Appointment Confirmed, Initial Appointment", "Clinic A",
     "Finished", "SMITH, Jane (Dr)", "01/04/2026", "CAMHS Core Partnership", "2wks 1d", "P1001", "1"],
    ["04/07/2026", "45m", "1h", "Appointment Confirmed", "Clinic A", "Did Not Attend",
     "JONES, Ali (Mr)", "01/04/2026", "Choice", "3 days", "P1002", "1"],
    ["05/07/2026", None, "1h", None, "Clinic B", "Cancelled by patient", "SMITH, Jane (Dr)",
     "01/04/2026", "Core Partnership", "0 days", "P1003", "1"],
    ["06/07/2026", "60", "60", "Initial Appointment", "Clinic B", "Booked", "SMITH, Jane (Dr)",
     "01/04/2026", "Choice", "1wk", "P1004", "1"],
]


def _assign(headers, rows, **kwargs):
    return assign(ACTIVITY_FIELDS, headers, profile_columns(pd.DataFrame(rows)), **kwargs)


def test_systmone_appointments_report_is_read_by_words_and_values():
    found = _assign(SYSTMONE_HEADERS, SYSTMONE_ROWS)
    assert {f: c.header for f, c in found.fields.items()} == {
        "date": "Appointment date",
        "clinician": "Clinician",
        "kind": "Rota type",
        "outcome": "Appointment status",
        "new_followup": "Appointment flags",
        "client_id": "Patient ID",
        "duration_min": "Appointment duration (booked)",  # the slot's length, not time spent
        "booking_lag": "Time between booking and appointment",
    }
    assert found.unused_headers() == [
        "Appointment duration (actual)", "Appointment location", "Rota start date", "Patient Count",
    ]
    assert found.fields["kind"].by == HEADER_VALUES
    assert "appointment types" in found.fields["kind"].reason
    assert not found.missing(ACTIVITY_FIELDS)


def test_mhsds_v6_booked_date_and_team_id_are_used():
    headers = ["CareContDate", "CareContTime", "CareContBookedDate", "AttendStatus",
               "ConsMechanismMH", "CareProfTeamLocalId", "ClinContDurOfCareCont", "CareContactId",
               "LocalPatientId", "NHSNumber", "CareProfName", "ActivityType"]
    rows = [["2026-07-03", "09:30", "2026-06-20", "5", "01", "T0042", "60", "CC1", "LP1",
             "9990000018", "Jane Smith", "Core Partnership"]] * 3
    found = _assign(headers, rows)
    columns = {f: c.header for f, c in found.fields.items()}
    assert columns["booked_on"] == "CareContBookedDate"
    assert columns["team"] == "CareProfTeamLocalId"
    assert columns["outcome"] == "AttendStatus"
    assert columns["duration_min"] == "ClinContDurOfCareCont"
    assert columns["kind"] == "ActivityType"
    assert found.unused_headers() == ["ConsMechanismMH"]


def test_required_field_found_by_values_when_no_header_fits():
    headers = ["Date", "Clinician", "Type", "Result"]
    rows = [["03/07/2026", "Jane Smith", "Choice", "Attended"],
            ["03/07/2026", "Jane Smith", "Choice", "DNA"],
            ["04/07/2026", "Ali Jones", "Choice", "Cancelled by patient"],
            ["04/07/2026", "Ali Jones", "Choice", "Attended"]]
    found = _assign(headers, rows)
    outcome = found.fields["outcome"]
    assert (outcome.header, outcome.by) == ("Result", VALUES)
    assert outcome.confidence == pytest.approx(0.5)  # 100 % outcome words, values alone: 0.5
    assert outcome.weak
    assert "outcome words" in outcome.reason


def test_outcome_words_win_over_a_header_whose_values_contradict_it():
    # "Status" names the outcome, but its values are dates; the unnamed column has outcomes.
    headers = ["Date", "Clinician", "Type", "Status", ""]
    rows = [["03/07/2026", "Jane Smith", "Choice", "01/07/2026", "Attended"]] * 4
    found = _assign(headers, rows)
    assert found.fields["outcome"].column == 4
    assert found.fields["outcome"].by == VALUES
    assert "column E" in found.fields["outcome"].reason
    assert found.unused_headers() == ["Status"]


def test_values_contradicting_a_header_lower_its_confidence():
    headers = ["Date", "Clinician", "Type", "Outcome"]
    rows = [["03/07/2026", "01/07/2026", "Choice", "Attended"]] * 4
    found = _assign(headers, rows)
    clinician = found.fields["clinician"]
    assert clinician.by == HEADER
    assert clinician.confidence == pytest.approx(0.5)  # exact header 1.0, halved
    assert "100% of its values are dates" in clinician.reason
    assert clinician.weak


def test_manual_then_saved_mapping_come_first_and_missing_headers_are_listed():
    headers = ["Date", "Clinician", "Type", "Outcome", "Session"]
    rows = [["03/07/2026", "Jane Smith", "Choice", "Attended", "Choice"]] * 3
    found = _assign(headers, rows, manual={"kind": "Session"},
                    saved={"kind": "Type", "team": "Team name", "outcome": "OUTCOME"})
    assert (found.fields["kind"].header, found.fields["kind"].by) == ("Session", MANUAL)
    assert (found.fields["outcome"].header, found.fields["outcome"].by) == ("Outcome", PROFILE)
    assert found.not_found == {"team": "Team name"}
    assert found.unused_headers() == ["Type"]


def test_a_field_mapped_to_nothing_is_never_inferred():
    headers = ["Date", "Clinician", "Type", "Outcome", "Team"]
    rows = [["03/07/2026", "Jane Smith", "Choice", "Attended", "North"]] * 3
    found = _assign(headers, rows, manual={"team": ""}, saved={"outcome": " "})
    assert "team" not in found.fields and "outcome" not in found.fields
    assert found.not_found == {}
    assert found.unused_headers() == ["Outcome", "Team"]


def test_assignment_is_one_to_one_and_deterministic():
    headers = ["Appointment Date", "Date", "Clinician", "Type", "Outcome"]
    rows = [["03/07/2026", "04/07/2026", "Jane Smith", "Choice", "Attended"]] * 3
    first = _assign(headers, rows)
    assert first.fields["date"].header == "Appointment Date"  # the earlier synonym
    assert first == _assign(headers, rows)
    assert len({c.column for c in first.fields.values()}) == len(first.fields)


def test_header_matcher_counts_word_matches_on_two_row_headers():
    match = header_matcher(ACTIVITY_FIELDS)
    texts = ["Clinician", "Appointment Date", "Appointment Type", "Appointment Outcome"]
    alternatives = [["Clinician"], ["Appointment Date", "Date", "Appointment"],
                    ["Appointment Type", "Type"], ["Appointment Outcome", "Outcome"]]
    assert match(texts, alternatives) == {"clinician": 0, "date": 1, "kind": 2, "outcome": 3}


# --- the loader reading with inference ---------------------------------------------------------

KEY = b"test-key"
TODAY = date(2026, 9, 1)


def _book(*sheets: tuple[str, list[list[str | None]]]) -> RawWorkbook:
    return RawWorkbook("xlsx", tuple(RawSheet(n, raw_cells(r)) for n, r in sheets), None, "0" * 64)


def _load(*sheets, **kwargs):
    kwargs.setdefault("pseudonym_key", KEY)
    kwargs.setdefault("today", TODAY)
    return load_raw(_book(*sheets), filename="export.xlsx", **kwargs)


def test_systmone_report_loads_with_derived_booked_dates_durations_and_new_core():
    result = _load(("Appointments", [SYSTMONE_HEADERS, *SYSTMONE_ROWS]))
    frame, report = result.frame, result.report
    # booked_on = appointment date − "Time between booking and appointment"
    assert frame[model.BOOKED_ON].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-06-18",  # 03/07 − (2 weeks 1 day = 15 days)
        "2026-07-01",  # 04/07 − 3 days
        "2026-07-05",  # 05/07 − 0 days
        "2026-06-29",  # 06/07 − 1 week
    ]
    assert frame[model.DURATION_MIN].tolist() == [90, 60, 60, 60]  # the booked durations
    # Row 1 is Core with "Initial Appointment" among its flags: new; row 3 is Core unflagged.
    assert frame[model.KIND].tolist() == ["core_new", "choice", "core_followup", "choice"]
    assert report.mapping["kind"] == {
        "column": "Rota type", "by": "header+values", "confidence": 1.0,
        "reason": "the header 'Rota type' has the words for it and 100% of its values are "
                  "appointment types",
    }
    assert report.unused_columns == [
        "Appointment duration (actual)", "Appointment location", "Rota start date", "Patient Count",
    ]
    assert report.sheets == {"read": ["Appointments"], "skipped": {}}
    assert report.doubts == []
    assert report.to_json_dict()["mapping"]["booking_lag"]["column"] == (
        "Time between booking and appointment"
    )


def test_a_booked_date_column_wins_over_the_booking_interval():
    headers = [*SYSTMONE_HEADERS, "Date booked"]
    rows = [[*r, "01/06/2026"] for r in SYSTMONE_ROWS]
    frame = _load(("A", [headers, *rows])).frame
    assert set(frame[model.BOOKED_ON].dt.strftime("%Y-%m-%d")) == {"2026-06-01"}


MHSDS_HEADERS = ["CareContDate", "CareContTime", "CareContBookedDate", "AttendStatus",
                 "CareProfTeamLocalId", "ClinContDurOfCareCont", "CareContactId", "NHSNumber",
                 "CareProfName", "ActivityType"]


def test_mhsds_booked_date_and_team_id_reach_the_frame():
    rows = [["2026-07-03", "09:30", "2026-06-20", "5", "T0042", "60", "CC1", "9990000018",
             "Jane Smith", "Core Partnership"],
            ["2026-07-04", "10:00", "2026-06-21", "3", "T0042", "45", "CC2", "9990000026",
             "Jane Smith", "Choice"],
            ["2026-07-05", "11:00", "2026-07-01", "5", "T0043", "30", "CC3", "9990000034",
             "Ali Jones", "Choice"]]
    frame = _load(("MHSDS", [MHSDS_HEADERS, *rows])).frame
    assert frame[model.TEAM].tolist() == ["T0042", "T0042", "T0043"]
    assert frame[model.BOOKED_ON].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-06-20", "2026-06-21", "2026-07-01"]
    assert frame[model.OUTCOME].tolist() == ["attended", "dna", "attended"]


MONTH_HEADER = ["Date", "Clinician", "Appt type", "Outcome"]
JULY = [MONTH_HEADER, ["03/07/2026", "Jane Smith", "New CP", "Attended"],
        ["10/07/2026", "Jane Smith", "Choice", "DNA"]]
AUGUST = [MONTH_HEADER, ["07/08/2026", "Ali Jones", "CP new", "Attended"],
          ["14/08/2026", None, "Choice", "Attended"]]  # no clinician: rejected, sheet named
SUMMARY = [["CAPA summary"], ["Clinician", "Choice", "Core"], ["Jane Smith", "1", "1"]]


def test_sheets_of_one_shape_are_read_together_behind_a_summary():
    result = _load(("Summary", SUMMARY), ("Jul 26", JULY), ("Aug 26", AUGUST))
    frame, report = result.frame, result.report
    assert frame[model.DATE].dt.strftime("%d/%m").tolist() == ["03/07", "10/07", "07/08"]
    assert frame[model.SOURCE_ROW].tolist() == [2, 3, 2]  # each its own sheet's row
    assert report.sheets == {
        "read": ["Jul 26", "Aug 26"],
        "skipped": {"Summary": "summary, no appointment columns"},
    }
    assert report.sheet == "Jul 26"
    assert [(r.sheet, r.row, r.reason) for r in report.rejected] == [
        ("Aug 26", 3, "no clinician")]
    assert report.rows_read == 4
    assert report.counts["kind"]["core_new"] == 2
    assert frame[model.SLOT_ID].is_unique


def test_a_sheet_of_different_columns_is_skipped_and_named():
    other = [["Date", "Clinician", "Appt type", "Outcome", "Duration"],
             ["05/07/2026", "Ali Jones", "Choice", "Attended", "60"]]
    # The shape most sheets share wins; the odd one is named with what differs.
    report = _load(("Jul 26", JULY), ("Extra", other), ("Aug 26", AUGUST)).report
    assert report.sheets["read"] == ["Jul 26", "Aug 26"]
    assert report.sheets["skipped"] == {
        "Extra": "different columns: 'Duration' as well (compared with sheet 'Jul 26')"}


def test_sheet_option_still_picks_one():
    report = _load(("Jul 26", JULY), ("Aug 26", AUGUST), sheet="Aug 26").report
    assert report.sheets == {"read": ["Aug 26"], "skipped": {}}
    assert report.accepted == 1


def test_manual_map_wins_and_is_checked():
    rows = [["When", "Who", "What", "How"], ["03/07/2026", "Jane Smith", "Choice", "Seen"]]
    report = _load(("A", rows), manual={"date": "When", "clinician": "Who", "kind": "What",
                                        "outcome": "How"}).report
    assert report.mapping["kind"]["by"] == "manual"
    assert report.counts["outcome"]["attended"] == 1
    with pytest.raises(LoadError, match="known fields are"):
        _load(("A", rows), manual={"colour": "When"})
    with pytest.raises(LoadError, match="--map kind='Type': no column has that header"):
        _load(("A", rows), manual={"date": "When", "kind": "Type"})


def _rows(n, outcome="Attended", kind="Choice", day="03/07/2026"):
    return [[day, "Jane Smith", kind, outcome] for _ in range(n)]


def test_doubt_core_rows_without_any_new_core():
    report = _load(("A", [MONTH_HEADER, *_rows(3, kind="Core Partnership")])).report
    assert report.doubts == [
        "3 Core Partnership rows but no new Core Partnership: every Core row was read as "
        "follow-up (no column says which are new)."
    ]


def test_doubt_required_field_found_only_by_values():
    rows = [["Date", "Clinician", "Type", "Result"], *_rows(4)]
    report = _load(("A", rows)).report
    assert report.doubts == [
        "Outcome (attended, DNA, cancelled…) was found only on weak evidence: 'Result', "
        "confidence 0.50 (no header names it; 100% of the values in 'Result' are outcome words)."
    ]


@pytest.mark.parametrize(("unknown", "doubt"), [(1, False), (2, True)])
def test_doubt_more_than_5_percent_unknown_outcomes(unknown, doubt):
    # 20 rows: 1 unknown is 5 % (not more), 2 are 10 %.
    rows = [MONTH_HEADER, *_rows(20 - unknown), *_rows(unknown, outcome="Zapped")]
    doubts = _load(("A", rows)).report.doubts
    expected = [f"{unknown} of 20 outcomes ({unknown / 20:.0%}) are not recognised; map them or "
                "check them."]
    assert doubts == (expected if doubt else [])


def test_doubt_more_than_5_percent_unknown_types():
    rows = [MONTH_HEADER, *_rows(18), *_rows(2, kind="Coffee")]
    assert _load(("A", rows)).report.doubts == [
        "2 of 20 appointment types (10%) are not recognised; map them or check them."]


def test_doubt_dates_outside_the_stated_period():
    rows = [["Appointments report"], ["Report period 01/07/2026 to 31/07/2026"], MONTH_HEADER,
            *_rows(3), *_rows(1, day="15/08/2026")]
    assert _load(("A", rows)).report.doubts == [
        "1 rows are dated outside the period the file states (2026-07-01 to 2026-07-31), "
        "e.g. 2026-08-15."]


def test_doubt_dates_years_away_from_the_rest():
    # 20 rows in July 2026 and one typed 2016: the bulk's 5th–95th percentile is 3 July 2026.
    rows = [MONTH_HEADER, *_rows(20), *_rows(1, day="03/07/2016")]
    assert _load(("A", rows)).report.doubts == [
        "1 rows are dated more than a year away from the rest of the file (2026-07-03 to "
        "2026-07-03), e.g. 2016-07-03; check for mistyped years."]


def test_stated_range_forms():
    cells = raw_cells([["Date range: 01/04/2026 - 30/04/2026"]])
    assert stated_range(cells) == (date(2026, 4, 1), date(2026, 4, 30))
    assert stated_range(raw_cells([["From 1 Apr 2026 to 30 Apr 2026"]])) == (
        date(2026, 4, 1), date(2026, 4, 30))
    assert stated_range(raw_cells([["Run date: 01/08/2026"]])) is None


@pytest.mark.parametrize(
    ("header", "field"),
    [("Second clinician", "clinician"), ("Previous outcome", "outcome"),
     ("Referral date", "date"), ("Next appointment date", "date")],
)
def test_qualified_headers_name_another_appointment(header, field):
    assert header_score(SPECS[field], header)[0] == 0


def test_a_qualifier_in_the_pattern_itself_still_matches():
    spec = FieldSpec("available_to", "Last day", patterns=(words("last day"),))
    assert header_score(spec, "Last day in post")[0] == pytest.approx(0.6 + 0.3 * 2 / 4)
    assert header_score(spec, "Previous last day")[0] == 0  # a qualifier the pattern lacks


def test_a_mostly_blank_column_is_a_doubtful_clinician_and_values_find_the_real_one():
    headers = ["Date", "Clinician", "Who", "Type", "Outcome"]
    rows = [["03/07/2026", None, "Jane Smith", "Choice", "Attended"],
            ["03/07/2026", None, "Jane Smith", "Choice", "DNA"],
            ["04/07/2026", "Ali Jones", "Ravi Patel", "Choice", "Attended"],
            ["04/07/2026", None, "Ravi Patel", "Choice", "Attended"]]
    found = _assign(headers, rows)
    # "Clinician" is an exact name (1.0), but 3 of its 4 cells are blank: halved to 0.5,
    # below "Who" found by values (0.55 × 100 % names).
    assert found.fields["clinician"].header == "Who"
    assert found.fields["clinician"].by == VALUES
    assert found.unused_headers() == ["Clinician"]


def test_values_never_find_a_column_whose_header_rules_it_out():
    headers = ["Day", "Date of birth", "Clinician", "Type", "Outcome"]
    rows = [["Mon", "03/03/2012", "Jane Smith", "Choice", "Attended"]] * 4
    assert "date" not in _assign(headers, rows).fields


def test_a_sheet_repeating_the_other_sheets_rows_is_not_read_twice():
    # "All" holds July's and August's rows again: read once, from the month sheets.
    every = [MONTH_HEADER, *JULY[1:], *AUGUST[1:2]]
    report = _load(("All", every), ("Jul 26", JULY), ("Aug 26", AUGUST)).report
    assert report.sheets == {
        "read": ["Jul 26", "Aug 26"],
        "skipped": {"All": "repeats the rows of sheets 'Jul 26', 'Aug 26'"},
    }
    assert report.accepted == 3
