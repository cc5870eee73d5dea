"""A changed reading never passes silently (issue 11): one small export with its headers
abbreviated, re-cased, reordered, noise columns added and optional ones dropped reads to the
same canonical table as with its plain headers, or the report says so (a doubt, or the field
whose column changed has a lower confidence), or the loader refuses it."""

from __future__ import annotations

from datetime import date

import pandas as pd
from conftest import raw_cells
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capa_monitor.errors import LoadError
from capa_monitor.loading import load_raw
from capa_monitor.loading.read import RawSheet, RawWorkbook

KEY = b"property-key"
TODAY = date(2026, 9, 1)
#: Below this a changed column is said to be doubtful (an exact header scores 1.0, a
#: confirmed word pattern up to 1.0 too, so only a clear header may change a reading quietly).
FLAGGED_BELOW = 0.9

# field -> (plain header, other ways exports and trackers write it)
HEADERS: dict[str, tuple[str, list[str]]] = {
    # the last few of each are words no table or pattern knows: found by values, or refused
    "date": ("Appointment Date", ["Appt Date", "appt_date", "Date of appointment",
                                 "AppointmentDate", "Appt. Dt", "Contact date", "Day", "When"]),
    "clinician": ("Clinician", ["HCP", "Clinician Name", "Clin name", "Staff member", "Seen by",
                                "Practitioner", "Worker", "Who", "Lead"]),
    "kind": ("Appointment Type", ["Appt type", "ApptType", "Type of appointment", "Activity Type",
                                  "contact type", "Category", "Slot", "CAPA"]),
    "outcome": ("Outcome", ["Attendance", "Appt Status", "Attendance outcome", "Attend status",
                            "Result", "Att.", "What happened"]),
    "start": ("Start Time", ["Appt Time", "Time", "StartTime", "Appointment start time"]),
    "duration_min": ("Duration", ["Dur (mins)", "Appt duration", "Length (mins)",
                                  "Duration Minutes"]),
    "nhs_number": ("NHS Number", ["NHS No.", "NHSNumber", "Pt NHS No"]),
    "booked_on": ("Date Booked", ["Booked date", "Appt booked date", "Date appt made",
                                  "BookingDate"]),
    "team": ("Team", ["Team Name", "Service Team", "team"]),
}
OPTIONAL = ("start", "duration_min", "nhs_number", "booked_on", "team")
NHS = ["9990000018", "9990000026", "9990000034", "9990000042"]
ROWS = [
    {"date": f"{d:02d}/07/2026", "clinician": c, "kind": k, "outcome": o, "start": t,
     "duration_min": m, "nhs_number": NHS[i % 4], "booked_on": f"{d - 5:02d}/06/2026",
     "team": "CAMHS North"}
    for i, (d, c, k, o, t, m) in enumerate([
        (6, "SMITH, Jane (Dr)", "New Core Partnership", "Attended", "09:00", "60"),
        (6, "SMITH, Jane (Dr)", "Choice", "DNA", "10:00", "60"),
        (7, "Ravi Patel", "Core Partnership follow-up", "Attended", "11:30", "45m"),
        (8, "Ravi Patel", "Choice", "Cancelled by patient", "14:00", "1h"),
        (9, "SMITH, Jane (Dr)", "Specific - new", "Attended", "09:30", "90"),
        (10, "Ravi Patel", "Core Partnership follow-up", "Was not brought", "15:00", "60"),
        (13, "SMITH, Jane (Dr)", "Choice", "Attended", "09:00", "60"),
        (14, "Ravi Patel", "New Core Partnership", "Cancelled by hospital", "10:30", "1h 30m"),
    ])
]
NOISE = {
    "Notes": ["phoned", "letter", "", "seen with mum", "", "", "text sent", ""],
    "Room": ["R1", "R2", "R1", "R3", "R1", "R2", "R2", "R1"],
    "Letter sent": ["Y", "N", "Y", "Y", "N", "N", "Y", "Y"],
    "Comments": ["", "", "late", "", "", "", "", "x"],
    "Referral date": ["02/01/2026"] * 8,
    "Date of birth": ["03/03/2012", "04/05/2011", "03/03/2012", "01/01/2010", "03/03/2012",
                      "04/05/2011", "03/03/2012", "01/01/2010"],
    "Second clinician": ["", "Ali Jones", "", "", "Ali Jones", "", "", ""],
    "Previous outcome": ["Attended", "", "DNA", "Attended", "", "", "Attended", "DNA"],
}


def _load(headers: list[str], columns: list[list[str]]):
    rows = [headers, *map(list, zip(*columns, strict=True))]
    book = RawWorkbook("xlsx", (RawSheet("Diary", raw_cells(rows)),), None, "0" * 64)
    return load_raw(book, filename="diary.xlsx", pseudonym_key=KEY, today=TODAY)


def _values(field: str) -> list[str]:
    return [row[field] for row in ROWS]


def _recase(text: str, how: str) -> str:
    return {"upper": text.upper(), "lower": text.lower(), "title": text.title(),
            "snake": text.replace(" ", "_"), "same": text}[how]


@st.composite
def variants(draw):
    kept = [f for f in HEADERS if f not in OPTIONAL or draw(st.booleans())]
    chosen = {
        f: _recase(draw(st.sampled_from([HEADERS[f][0], *HEADERS[f][1]])),
                   draw(st.sampled_from(["upper", "lower", "title", "snake", "same"])))
        for f in kept
    }
    noise = draw(st.lists(st.sampled_from(sorted(NOISE)), unique=True, max_size=3))
    order = draw(st.permutations([*kept, *noise]))
    return kept, chosen, list(order)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_a_changed_reading_never_passes_silently(variant):
    kept, chosen, order = variant
    # The same columns, plainly headed, in the original order: what the file should read as.
    expected = _load([HEADERS[f][0] for f in kept], [_values(f) for f in kept])
    headers = [chosen.get(c, c) for c in order]
    columns = [_values(c) if c in chosen else NOISE[c] for c in order]
    try:
        result = _load(headers, columns)
    except LoadError:
        return  # refused, with its reason: loud, not silent
    report = result.report
    changed = [
        field for field in dict.fromkeys([*kept, *report.mapping])
        if report.mapping.get(field, {}).get("column") != chosen.get(field)
    ]
    flagged = bool(report.doubts) or all(
        field in report.mapping and report.mapping[field]["confidence"] < FLAGGED_BELOW
        for field in changed
    )
    if not changed:
        pd.testing.assert_frame_equal(result.frame, expected.frame)
    else:
        assert flagged, (headers, changed, report.mapping)
    # A required column found by its values alone is always a reading to check.
    by_values = [f for f in ("date", "clinician", "kind", "outcome")
                 if report.mapping[f]["by"] == "values"]
    assert all(any(f"values in {chosen[f]!r}" in d for d in report.doubts) for f in by_values)
