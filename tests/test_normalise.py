"""Raw cells → canonical frame: value forms, names, rejections, dropped rows, slots, clients."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pandas as pd
import pytest
from conftest import raw_cells

from capa_monitor import model
from capa_monitor.errors import LoadError
from capa_monitor.loading import MappingProfile, Rejection, load_activity, load_raw
from capa_monitor.loading.normalise import normalise_names, without_controls
from capa_monitor.loading.parse import (
    parse_dates,
    parse_duration,
    parse_interval,
    parse_start,
    parse_time,
)
from capa_monitor.loading.read import RawSheet, RawWorkbook

KEY = b"test-key"
TODAY = date(2026, 8, 1)
HEADER = ["Clinician", "Appt Date", "Appointment type", "Outcome"]


def workbook(rows: list[list[str | None]], sheet: str = "Diary", *more: RawSheet) -> RawWorkbook:
    return RawWorkbook("xlsx", (*more, RawSheet(sheet, raw_cells(rows))), None, "0" * 64)


def load(rows, **kwargs):
    kwargs.setdefault("pseudonym_key", KEY)
    kwargs.setdefault("today", TODAY)
    return load_raw(workbook(rows), filename="diary.xlsx", **kwargs)


# --- value forms ------------------------------------------------------------------------------

DATE_ROWS = [
    ("03/07/2026", "2026-07-03", None),
    ("3/7/26", "2026-07-03", None),
    ("03/07/2026 14:15", "2026-07-03", "14:15"),
    ("03-Jul-26", "2026-07-03", None),
    ("03-JUL-2026", "2026-07-03", None),
    ("3 July 2026", "2026-07-03", None),
    ("3 Jul 2026", "2026-07-03", None),
    ("03.07.2026", "2026-07-03", None),
    ("2026-07-03", "2026-07-03", None),
    ("2026-07-03 09:30:00", "2026-07-03", "09:30"),
    ("2026-07-03T09:30:00", "2026-07-03", "09:30"),
    ("20260703", "2026-07-03", None),
    # Excel serial: 2026-01-01 is day 46023 (2025-01-01 = 45658, + 365);
    # + 31 + 28 + 31 + 30 + 31 + 30 = 181 → 1 July = 46204, so 3 July = 46206
    ("46206", "2026-07-03", None),
    ("46206.5", "2026-07-03", "12:00"),  # half a day = noon
    ("01/12/2026", "2026-12-01", None),  # day first: 1 December, never 12 January
    ("31/02/2026", None, None),
    ("next week", None, None),
    ("01/01/1850", None, None),  # implausible for an appointment
]


@pytest.mark.parametrize(("text", "expected", "time"), DATE_ROWS)
def test_date_forms(text, expected, time):
    parsed, times = parse_dates(pd.Series([text], dtype="str"))
    if expected is None:
        assert pd.isna(parsed[0])
    else:
        assert parsed[0].date().isoformat() == expected
    assert (None if pd.isna(times[0]) else times[0]) == time


TIME_ROWS = [
    ("09:30", "09:30"), ("9:30", "09:30"), ("9.30", "09:30"), ("0930", "09:30"),
    ("09:30:00", "09:30"), ("2:15 pm", "14:15"), ("2:15PM", "14:15"), ("12:05 am", "00:05"),
    ("12:30 pm", "12:30"), ("0.375", "09:00"),  # 0.375 of a day = 9 hours
    ("1899-12-30 09:30:00", "09:30"), ("25:00", None), ("lunch", None),
]


@pytest.mark.parametrize(("text", "expected"), TIME_ROWS)
def test_time_forms(text, expected):
    assert parse_time(text) == expected


DURATION_ROWS = [
    ("60", 60), ("60.0", 60), ("60m", 60), ("60 mins", 60), ("45 minutes", 45), ("1h", 60),
    ("1 hr", 60), ("1h 30m", 90), ("1hr30", None), ("1 hour 30 mins", 90), ("1:30", 90),
    ("1.5h", 90), ("0:50", 50), ("an hour", None), ("", None),
    ("01:30:00", 90), ("50 mins", 50), ("45m", 45), ("90", 90),  # SystmOne and tracker forms
]


@pytest.mark.parametrize(("text", "minutes"), DURATION_ROWS)
def test_duration_forms(text, minutes):
    assert parse_duration(text) == minutes


START_ROWS = [
    ("09:30", "09:30"),  # a plain time as before
    ("09:00 - 10:00", "09:00"), ("09:00-10:00", "09:00"), ("9.00-9.50am", "09:00"),
    ("2.00-2.50pm", "14:00"),  # the band's pm is its start's too
    ("11.00-1.00pm", "11:00"),  # 11 is later on the clock than 1: the pm is the end's only
    ("13:00 to 14:00", "13:00"), ("9:00 am - 10:00 am", "09:00"), ("morning", None),
]


@pytest.mark.parametrize(("text", "expected"), START_ROWS)
def test_start_of_a_time_band(text, expected):
    assert parse_start(text) == expected


DAY = 24 * 60
INTERVAL_ROWS = [
    ("2wks 1d", 15 * DAY), ("3 days", 3 * DAY), ("0 days", 0), ("1wk", 7 * DAY),
    ("4 wks 2 days", 30 * DAY), ("1 week", 7 * DAY), ("14", 14 * DAY),  # a bare number: days
    ("4d 22h", 4 * DAY + 22 * 60), ("2h 30m", 150), ("0m", 0),  # SystmOne's hours and minutes
    ("2 months", None), ("soon", None), ("", None),
]


@pytest.mark.parametrize(("text", "minutes"), INTERVAL_ROWS)
def test_booking_interval_forms(text, minutes):
    assert parse_interval(text) == minutes


def test_booked_on_counts_back_from_the_start_time():
    rows = [[*HEADER, "Start", "Time between booking and appointment"],
            ["Jane Smith", "23/10/2026", "Choice", "Attended", "16:00", "2h 30m"],  # same day
            ["Jane Smith", "06/11/2026", "Choice", "Attended", "16:00", "1d 2h"],  # 5 Nov 14:00
            ["Jane Smith", "08/10/2026", "Choice", "Attended", None, "4d 22h"]]  # no time: 4 days
    booked = load(rows).frame[model.BOOKED_ON].dt.strftime("%Y-%m-%d").tolist()
    assert booked == ["2026-10-23", "2026-11-05", "2026-10-04"]


def test_booked_on_from_the_booking_interval_and_listed_when_unreadable():
    rows = [[*HEADER, "Time between booking and appointment"],
            ["Jane Smith", "20/07/2026", "Choice", "Attended", "2wks 1d"],
            ["Jane Smith", "21/07/2026", "Choice", "Attended", "ages"]]
    result = load(rows)
    assert result.frame[model.BOOKED_ON].dt.strftime("%Y-%m-%d").fillna("-").tolist() == [
        "2026-07-05", "-"]  # 20 July − 15 days
    assert result.report.unmapped_values["booking_lag"] == {"ages": 1}


def test_time_band_column_gives_the_start():
    rows = [[*HEADER, "Time slot"], ["Jane Smith", "20/07/2026", "Choice", "Attended", "9.00-9.50am"]]
    result = load(rows)
    assert result.report.columns["start"] == "Time slot"
    assert result.frame[model.START].tolist() == ["09:00"]


NAME_ROWS = [
    (["SMITH, Jane (Dr)"], ["Jane Smith"]),
    (["Smith, Jane"], ["Jane Smith"]),
    (["Dr Jane Smith"], ["Jane Smith"]),
    (["Dr. SMITH, Jane"], ["Jane Smith"]),
    (["  jane   smith "], ["Jane Smith"]),
    (["O'NEILL, Aoife"], ["Aoife O'Neill"]),
    (["SMITH-JONES, Priya (Mrs)"], ["Priya Smith-Jones"]),
    (["DUBOIS, Zoë"], ["Zoë Dubois"]),
    (["ÉCLAIR, Léa"], ["Léa Éclair"]),
    (["MCDONALD, Ross"], ["Ross Mcdonald"]),  # no row shows the capitals: plain title case
    (["MCDONALD, Ross", "Ross McDonald"], ["Ross McDonald", "Ross McDonald"]),
    (["Anna van Dijk"], ["Anna van Dijk"]),  # a mixed-case name is kept as written
    (["SMITH, J"], ["J Smith"]),
    (["(Dr)"], [None]),
    # control characters are spaces (job plans and typed names use this function too)
    (["Jane\x1aSmith"], ["Jane Smith"]),
    (["SMITH,\x0cJane\x00(Dr)"], ["Jane Smith"]),
    (["\x1a\x1b"], [None]),
]


@pytest.mark.parametrize(("raw", "expected"), NAME_ROWS)
def test_clinician_names(raw, expected):
    result = normalise_names(pd.Series(raw, dtype="str"))
    assert [None if pd.isna(v) else v for v in result] == expected


# --- a small diary export, worked by hand ----------------------------------------------------

DIARY = [
    ["North CAMHS - diary report"],  # sheet row 1
    ["Run date: 01/08/2026"],  # 2
    [],  # 3
    [*HEADER, "NHS Number", "Start time", "Duration", "Re-offered", "Team", "Notes"],  # 4
    ["SMITH, Jane (Dr)", "03/07/2026", "Choice", "Attended", "9990000018", "09:30", "60", None,
     "North", "x"],  # 5
    ["O'NEILL, Aoife", "46206", "New Core Partnership", "DNA", "9990000019", "1400", "1h 30m",
     "Yes", None, None],  # 6: NHS check digit wrong (should be 8)
    [],  # 7 blank
    ["Jane Smith", "06/07/2026", "Core Partnership", None, None, None, "45m", None, "North"],  # 8
    [None, "06/07/2026", "Choice", "Attended"],  # 9: no clinician
    ["Jane Smith", "31/02/2026", "Choice", "Attended"],  # 10: no such date
    ["Jane Smith", None, "Choice", "Attended"],  # 11: no date
    ["Jane Smith", "01/09/2026", "Core f/u", None],  # 12: future, blank outcome
    ["Jane Smith", "02/09/2026", "Admin", "Rescheduled"],  # 13
    ["Clinician", "Appt Date", "Appointment type", "Outcome"],  # 14: repeated page header
    [],  # 15
    ["Total appointments: 7"],  # 16
    [None, None, None, None, None, None, None, None, None, "printed by J Bloggs"],  # 17
]


@pytest.fixture(scope="module")
def diary():
    return load_raw(
        workbook(DIARY), filename="diary.xlsx", team="South", pseudonym_key=KEY, today=TODAY
    )


def test_rows_accounted_for(diary):
    report = diary.report
    # 13 rows below the header (5..17): accepted 5, 6, 8, 12, 13 = 5; rejected 9, 10, 11 = 3;
    # dropped: blank 7, 15 = 2; footer 16, 17 = 2; repeated header 14 = 1
    assert (report.rows_read, report.accepted, len(report.rejected), report.dropped) == (13, 5, 3, 5)
    assert report.dropped_detail == {"blank": 2, "totals/footer": 2, "repeated header": 1}
    assert report.header_row == 4
    assert diary.frame[model.SOURCE_ROW].tolist() == [5, 6, 8, 12, 13]


def test_rejections_name_sheet_row_column_value(diary):
    assert diary.report.rejected == [
        Rejection("Diary", 9, "Clinician", None, "no clinician"),
        Rejection("Diary", 10, "Appt Date", "31/02/2026", "unreadable appointment date"),
        Rejection("Diary", 11, "Appt Date", None, "no appointment date"),
    ]


EXPECTED_DIARY = pd.DataFrame(
    {
        "clinician": ["Jane Smith", "Aoife O'Neill", "Jane Smith", "Jane Smith", "Jane Smith"],
        # a row without a team takes the upload's team ("South")
        "team": ["North", "South", "North", "South", "South"],
        "date": ["2026-07-03", "2026-07-03", "2026-07-06", "2026-09-01", "2026-09-02"],
        "start": ["09:30", "14:00", None, None, None],
        "kind": ["choice", "core_new", "core_followup", "core_followup", "other"],
        "outcome": ["attended", "dna", "booked", "booked", "booked"],
        "duration_min": [60, 90, 45, None, None],
        # a marker column: "Yes" marks the slot re-offered, an empty cell does not
        "reoffered": [False, True, False, False, False],
    }
)


def test_canonical_values(diary):
    frame = diary.frame
    assert list(frame.columns) == list(model.ACTIVITY_COLUMNS)
    got = frame[list(EXPECTED_DIARY.columns)].copy()
    got["date"] = got["date"].dt.strftime("%Y-%m-%d")
    expected = EXPECTED_DIARY.astype(
        {"duration_min": "Int64", "reoffered": "boolean", "start": "str"}
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_dtypes(diary):
    dtypes = diary.frame.dtypes
    assert str(dtypes["duration_min"]) == "Int64"
    assert str(dtypes["reoffered"]) == "boolean"
    assert str(dtypes["source_row"]) == "int64"
    assert dtypes["date"].kind == "M" and dtypes["booked_on"].kind == "M"
    assert all(str(dtypes[c]) == "str" for c in ("slot_id", "clinician", "kind", "outcome"))


def test_report_lists_unknowns_nhs_and_blank_past_outcomes(diary):
    report = diary.report
    assert report.unmapped_values == {
        "kind": {"Admin": 1},
        "kind (new/follow-up not stated: read as follow-up)": {"Core Partnership": 1},
        "outcome": {"Rescheduled": 1},
    }
    assert report.invalid_nhs_numbers == [6]
    # row 8 (6 July, before today 1 Aug) had no outcome; row 12 (1 Sept) is future: silent
    assert report.blank_past_outcomes == [8]
    assert report.clinicians == ["Aoife O'Neill", "Jane Smith"]
    assert report.date_range == (date(2026, 7, 3), date(2026, 9, 2))
    assert report.counts["outcome"]["booked"] == 3 and report.counts["kind"]["core_new"] == 1
    assert "Columns not used: 'Notes'." in report.warnings


def test_client_keys_are_keyed_pseudonyms_of_the_nhs_number(diary):
    keys = diary.frame[model.CLIENT_KEY]
    assert keys[0] == hmac.new(KEY, b"nhs:9990000018", hashlib.sha256).hexdigest()
    # an invalid NHS number is reported but the row keeps a key from it
    assert keys[1] == hmac.new(KEY, b"nhs:9990000019", hashlib.sha256).hexdigest()
    assert keys[2:].isna().all()


def test_no_raw_identifier_leaves_the_loader():
    rows = [
        [*HEADER, "NHS Number", "RiO ID", "Client name"],
        ["Jane Smith", "03/07/2026", "Choice", "Attended", "9990000018", "0012345", "Amy Pond"],
        ["Jane Smith", "04/07/2026", "Choice", "Attended", None, "0012345", "Amy Pond"],
        ["Jane Smith", "05/07/2026", "Choice", "Attended", None, None, "AMY  POND"],
    ]
    result = load(rows)
    text = result.frame.astype("str").to_csv()
    for secret in ("9990000018", "0012345", "Amy", "POND"):
        assert secret not in text
    keys = result.frame[model.CLIENT_KEY].tolist()
    # NHS number first, else the local id, else the name (case and spacing folded)
    assert keys[0] == hmac.new(KEY, b"nhs:9990000018", hashlib.sha256).hexdigest()
    assert keys[1] == hmac.new(KEY, b"id:0012345", hashlib.sha256).hexdigest()
    assert keys[2] == hmac.new(KEY, b"name:amy pond", hashlib.sha256).hexdigest()


def test_repeated_identifiers_share_a_key_and_a_dash_is_no_nhs_number():
    rows = [
        [*HEADER, "NHS Number", "RiO ID"],
        ["Jane Smith", "03/07/2026", "Choice", "Attended", "999 000 0018", None],
        ["Jane Smith", "04/07/2026", "Choice", "Attended", "-", "0012345"],
        ["Jane Smith", "05/07/2026", "Choice", "Attended", "999-000-0018", None],
        ["Jane Smith", "06/07/2026", "Choice", "Attended", "-", None],
        ["Jane Smith", "07/07/2026", "Choice", "Attended", None, "0012345"],
    ]
    keys = load(rows).frame[model.CLIENT_KEY].tolist()
    nhs = hmac.new(KEY, b"nhs:9990000018", hashlib.sha256).hexdigest()
    local = hmac.new(KEY, b"id:0012345", hashlib.sha256).hexdigest()
    # a dash in the NHS column holds no number: the local id decides, and with none, no key
    assert keys[:3] == [nhs, local, nhs]
    assert pd.isna(keys[3])
    assert keys[4] == local


# --- slot ids ---------------------------------------------------------------------------------

SLOTS = [
    [*HEADER, "Start time"],
    ["Jane Smith", "03/07/2026", "Choice", "Attended", "09:30"],
    ["Jane Smith", "03/07/2026", "Choice", "Attended", "09:30"],  # a true duplicate
    ["Ravi Patel", "03/07/2026", "Choice", "DNA", "10:30"],
]


def test_derived_slot_ids_are_stable_and_tell_duplicates_apart():
    ids = load(SLOTS).frame[model.SLOT_ID].tolist()
    assert len(set(ids)) == 3
    again = load(SLOTS).frame[model.SLOT_ID].tolist()
    assert again == ids
    # the same slot keeps its id when other rows move around it
    reordered = load([SLOTS[0], SLOTS[3], SLOTS[1], SLOTS[2]]).frame[model.SLOT_ID].tolist()
    assert reordered == [ids[2], ids[0], ids[1]]


def test_export_slot_ids_are_kept():
    rows = [[*HEADER, "Appointment ID"],
            ["Jane Smith", "03/07/2026", "Choice", "Attended", "0000123"],
            ["Jane Smith", "04/07/2026", "Choice", "Attended", None]]
    ids = load(rows).frame[model.SLOT_ID].tolist()
    assert ids[0] == "0000123"
    assert ids[1].startswith("h")


@pytest.mark.parametrize(
    ("ids", "warned"),
    [
        (["A1", "A2", "A3"], None),
        # A1 twice: 2 rows share an id; the blank is not a shared id (it gets a derived one).
        (["A1", "A1", None], "2 rows share an appointment id"),
        # Two blanks make the column non-unique, yet no id is actually shared.
        (["A1", None, None], None),
        (["A1", "A2", "A1"], "2 rows share an appointment id"),
    ],
)
def test_shared_export_ids_are_warned_about_and_kept(ids, warned):
    rows = [[*HEADER, "Appointment ID"]] + [
        ["Jane Smith", f"0{day}/07/2026", "Choice", "Attended", slot]
        for day, slot in enumerate(ids, start=3)
    ]
    result = load(rows)
    shared = [w for w in result.report.warnings if "share an appointment id" in w]
    assert shared == ([] if warned is None else [f"{warned} with another row; they are kept as separate slots."])
    assert [i for i in result.frame[model.SLOT_ID] if not i.startswith("h")] == [i for i in ids if i]


# --- control characters -----------------------------------------------------------------------

# XML 1.0 (so .xlsx) and spreadsheet cells cannot hold C0 controls other than tab, newline and
# return: in the text fields each run of them, with any spaces beside it, becomes one space.
CONTROL_HEADER = ["Clinician", "Appt Date", "Appointment type", "Outcome", "Team", "Appointment ID",
                  "Start time"]
CONTROL_ROWS = [
    # (clinician, team, slot id, start) as exported → as loaded
    (("Jane\x1aSmith", "North Team", "A\x0cB", "09:30"), ("Jane Smith", "North Team", "A B", "09:30")),
    (("SMITH,\x00Jane (Dr)", "North\x07 \x08Team", "S\x1f7", "10:00\x0b"),
     ("Jane Smith", "North Team", "S 7", "10:00")),
    (("Ravi \x0e\x1d Patel", "\x01North Team\x02", "\x1bC-3", "11:15"),
     ("Ravi Patel", "North Team", "C-3", "11:15")),
    # tab is a character a cell may hold: untouched inside a slot id
    (("Ravi Patel", "North Team", "D\t4", "12:00"), ("Ravi Patel", "North Team", "D\t4", "12:00")),
]


def _control_frame(result) -> list[tuple]:
    fields = [model.CLINICIAN, model.TEAM, model.SLOT_ID, model.START]
    return [tuple(r) for r in result.frame[fields].itertuples(index=False)]


@pytest.mark.parametrize(("exported", "loaded"), CONTROL_ROWS)
def test_control_characters_leave_text_fields_from_a_raw_table(exported, loaded):
    clinician, team, slot, start = exported
    result = load([CONTROL_HEADER, [clinician, "03/07/2026", "Choice", "Attended", team, slot, start]])
    assert _control_frame(result) == [loaded]
    assert result.report.unmapped_values == {}


def test_control_characters_leave_text_fields_from_a_csv():
    # The upload guard refuses a CSV holding NUL, or controls in more than 1 % of its bytes:
    # the rows without NUL, among ordinary ones.
    kept = [(e, loaded) for e, loaded in CONTROL_ROWS if not any("\x00" in v for v in e)]
    filler = ("Ravi Patel", "North Team", "F", "13:00")
    rows = kept + [((*filler[:2], f"F{i}", filler[3]), (*filler[:2], f"F{i}", filler[3]))
                   for i in range(60)]
    lines = [",".join(CONTROL_HEADER)] + [
        f'"{c}",03/07/2026,Choice,Attended,"{t}","{s}","{st}"' for (c, t, s, st), _ in rows
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    result = load_activity(data, "diary.csv", pseudonym_key=KEY, today=TODAY)
    assert _control_frame(result) == [loaded for _, loaded in rows]
    assert sorted(set(result.frame[model.CLINICIAN])) == ["Jane Smith", "Ravi Patel"]
    assert sorted(set(result.frame[model.TEAM])) == ["North Team"]


def test_a_column_without_control_characters_is_returned_as_it_is():
    clean = pd.Series(["Jane Smith", "A1", None, "tab\tand\nnewline"], dtype="str")
    assert without_controls(clean) is clean
    assert without_controls(clean.iloc[1:3]).tolist()[0] == "A1"


def test_a_clinician_cell_of_control_characters_only_is_blank():
    result = load([HEADER, ["\x1a\x1a", "03/07/2026", "Choice", "Attended"],
                   ["Jane Smith", "03/07/2026", "Choice", "Attended"]])
    assert result.report.rejected == [
        Rejection("Diary", 2, "Clinician", None, "no clinician")
    ]


# --- sheets, profiles and refusals ------------------------------------------------------------


def test_activity_sheet_chosen_over_a_cover_sheet():
    cover = RawSheet("Cover", raw_cells([["About this report"], ["Team", "North"]]))
    result = load_raw(workbook([HEADER, ["Jane Smith", "03/07/2026", "Choice", "Attended"]],
                               "Activity", cover), pseudonym_key=KEY, today=TODAY)
    assert result.report.sheet == "Activity"


def test_named_sheet_must_exist():
    with pytest.raises(LoadError, match="no sheet called 'Data'"):
        load_raw(workbook([HEADER]), sheet="Data", pseudonym_key=KEY)


def test_profile_maps_an_unknown_header_and_values():
    rows = [["Seen by", "Appt Date", "Clinic", "Outcome"],
            ["Jane Smith", "03/07/2026", "CAPA Ax", "Seen by duty"]]
    profile = MappingProfile(
        name="north diary",
        columns={"clinician": "Seen by", "kind": "Clinic"},  # "Clinic" would otherwise be team
        values={"kind": {"CAPA Ax": "choice"}, "outcome": {"Seen by duty": "attended"}},
    )
    result = load(rows, profile=profile)
    assert result.report.columns == {
        "clinician": "Seen by", "date": "Appt Date", "kind": "Clinic", "outcome": "Outcome"
    }
    assert result.frame[["kind", "outcome"]].values.tolist() == [["choice", "attended"]]


def test_profile_with_a_value_outside_the_vocabulary_is_refused():
    profile = MappingProfile(name="bad", values={"outcome": {"Seen": "happy"}})
    with pytest.raises(LoadError, match="happy"):
        load([HEADER, ["Jane Smith", "03/07/2026", "Choice", "Seen"]], profile=profile)


def test_missing_required_columns_refused_with_found_headers():
    with pytest.raises(LoadError) as err:
        load([["Clinician", "Appt Date", "Notes"], ["Jane Smith", "03/07/2026", "x"]])
    message = str(err.value)
    assert "missing kind" in message and "outcome" in message and "'Notes'" in message


def test_no_usable_row_refused():
    with pytest.raises(LoadError, match="no usable appointment rows"):
        load([HEADER, ["Jane Smith", "someday", "Choice", "Attended"]])


# --- cost: parsers run once per distinct value, never once per row ---------------------------


def test_parsers_run_once_per_distinct_value(monkeypatch):
    import capa_monitor.loading.normalise as normalise_module
    import capa_monitor.loading.parse as parse_module
    import capa_monitor.loading.vocab as vocab_module

    calls: dict[str, int] = {}

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module, name in [(parse_module, "parse_time"), (normalise_module, "parse_duration"),
                         (normalise_module, "_arrange_name"), (vocab_module, "outcome_of"),
                         (vocab_module, "kind_family")]:
        counting(module, name)
    # Column profiling samples values too (tested in test_infer); here only the normaliser counts.
    monkeypatch.setattr("capa_monitor.loading.profile_columns", lambda body: [])
    # 3,000 rows cycling through 3 clinicians, 2 times, 3 durations, 2 kinds, 2 outcomes
    body = [
        [["SMITH, Jane", "Ravi Patel", "O'NEILL, Aoife"][i % 3], "03/07/2026",
         ["Choice", "New Core Partnership"][i % 2], ["Attended", "DNA"][i % 2],
         ["09:30", "14:00"][i % 2], ["60", "45m", "1h 30m"][i % 3]]
        for i in range(3000)
    ]
    result = load([[*HEADER, "Start time", "Duration"], *body])
    assert result.report.accepted == 3000
    assert calls == {"_arrange_name": 3, "kind_family": 2, "outcome_of": 2, "parse_time": 2,
                     "parse_duration": 3}


def test_profile_round_trips_through_json():
    profile = MappingProfile("north", {"clinician": "Seen by"}, {"kind": {"CAPA Ax": "choice"}})
    assert MappingProfile.from_json(profile.to_json()) == profile
