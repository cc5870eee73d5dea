"""Financial quarters, working days with bank holidays, and the as-of date (spec §2)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from capa_monitor.errors import CapaError
from capa_monitor.periods import Quarter, as_of_date, working_days
from capa_monitor.settings import Settings

# (label, start, last day) of the four quarters of 2026/27 (April start).
QUARTERS_2026 = [
    ("2026/27 Q1", date(2026, 4, 1), date(2026, 6, 30)),
    ("2026/27 Q2", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026/27 Q3", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026/27 Q4", date(2027, 1, 1), date(2027, 3, 31)),
]

# Working days per quarter, England & Wales, counted by hand from a calendar:
# Q1: April 22 weekdays - Good Friday 3 Apr - Easter Monday 6 Apr = 20; May 21 - 4 May - 25 May
#     = 19; June 22 → 61.
# Q2: July 23; August 21 - 31 Aug = 20; September 22 → 65.
# Q3: October 22; November 21; December 23 - 25 Dec - 28 Dec (Boxing Day, Saturday, observed
#     Monday) = 21 → 64.
# Q4: January 21 - 1 Jan = 20; February 20; March 23 - Good Friday 26 Mar - Easter Monday
#     29 Mar 2027 = 21 → 61.
WORKING_DAYS_2026 = {"2026/27 Q1": 61, "2026/27 Q2": 65, "2026/27 Q3": 64, "2026/27 Q4": 61}


@pytest.mark.parametrize(("label", "start", "last_day"), QUARTERS_2026)
def test_quarter_bounds_and_label(label, start, last_day):
    quarter = Quarter.parse(label)
    assert (quarter.start, quarter.last_day, quarter.label, str(quarter)) == (
        start, last_day, label, label
    )
    assert quarter.end == date.fromordinal(last_day.toordinal() + 1)
    assert Quarter.containing(start) == quarter
    assert Quarter.containing(last_day) == quarter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/27 Q2", Quarter(2026, 2)),
        ("2026/2027 Q2", Quarter(2026, 2)),
        (" 2026/27   q4 ", Quarter(2026, 4)),
        ("2026-Q1", Quarter(2026, 1)),
        ("2099/00 Q3", Quarter(2099, 3)),
    ],
)
def test_parse_accepts_the_usual_spellings(text, expected):
    assert Quarter.parse(text) == expected


@pytest.mark.parametrize("text", ["2026/28 Q2", "Q2 2026", "2026/27 Q5", "", "summer"])
def test_parse_refuses_with_one_sentence(text):
    with pytest.raises(CapaError, match="quarter"):
        Quarter.parse(text)


def test_next_and_previous_cross_the_financial_year():
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2027, 1).previous() == Quarter(2026, 4)
    assert Quarter(2026, 2).next().previous() == Quarter(2026, 2)


def test_quarters_are_ordered():
    assert sorted([Quarter(2027, 1), Quarter(2026, 4), Quarter(2026, 1)]) == [
        Quarter(2026, 1), Quarter(2026, 4), Quarter(2027, 1)
    ]


@pytest.mark.parametrize(
    ("first_month", "day", "fy_start_year", "number", "start"),
    [
        (4, date(2027, 2, 15), 2026, 4, date(2027, 1, 1)),
        (4, date(2026, 3, 31), 2025, 4, date(2026, 1, 1)),
        (1, date(2026, 5, 2), 2026, 2, date(2026, 4, 1)),
        (7, date(2026, 6, 30), 2025, 4, date(2026, 4, 1)),
        (7, date(2026, 7, 1), 2026, 1, date(2026, 7, 1)),
    ],
)
def test_first_month_is_a_setting(first_month, day, fy_start_year, number, start):
    quarter = Quarter.containing(day, first_month)
    assert (quarter.fy_start_year, quarter.number, quarter.start) == (fy_start_year, number, start)
    assert Quarter.parse(quarter.label, first_month) == quarter


def test_calendar_year_label_has_one_year():
    assert Quarter(2026, 2, first_month=1).label == "2026 Q2"


@pytest.mark.parametrize(("label", "days"), WORKING_DAYS_2026.items())
def test_working_days_in_each_quarter_skip_bank_holidays(label, days):
    quarter = Quarter.parse(label)
    assert working_days(quarter.start, quarter.last_day) == days


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 4, 3), date(2026, 4, 3), 0),  # Good Friday
        (date(2026, 4, 4), date(2026, 4, 5), 0),  # a weekend
        (date(2026, 4, 7), date(2026, 4, 7), 1),  # an ordinary Tuesday
        # 1, 2 Apr (Wed, Thu) + 7–10 Apr (Tue–Fri) = 6; 3 and 6 April are bank holidays
        (date(2026, 4, 1), date(2026, 4, 10), 6),
        (date(2026, 4, 10), date(2026, 4, 1), 0),  # end before start
        # Christmas 2026 to New Year 2027 across the year end: 29, 30, 31 Dec = 3
        (date(2026, 12, 24), date(2027, 1, 1), 4),  # 24 Dec (Thu) too
    ],
)
def test_working_days_of_a_range(start, end, days):
    assert working_days(start, end) == days


def test_working_days_work_on_arrays_with_missing_ends():
    starts = np.array(["2026-04-01", "2026-07-01", "2026-07-01"], dtype="datetime64[D]")
    ends = np.array(["2026-04-10", "NaT", "2026-07-03"], dtype="datetime64[D]")
    assert working_days(starts, ends).tolist() == [6, 0, 3]


def test_holiday_region_is_a_setting():
    # Scotland has no Easter Monday bank holiday: 1–10 April 2026 has 7 working days there.
    scotland = Settings(holiday_subdiv="SCT")
    assert working_days(date(2026, 4, 1), date(2026, 4, 10), scotland) == 7


def _activity(rows):
    return pd.DataFrame(
        rows, columns=["date", "outcome"]
    ).assign(date=lambda f: pd.to_datetime(f["date"]))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Future bookings, free slots and cancellations do not move the as-of date.
        (
            [
                ("2026-07-14", "attended"),
                ("2026-07-15", "dna"),
                ("2026-07-20", "booked"),
                ("2026-07-21", "unbooked"),
                ("2026-07-22", "cancelled_by_client"),
                ("2026-07-23", "cancelled_by_service"),
            ],
            date(2026, 7, 15),
        ),
        ([("2026-07-14", "attended"), ("2026-07-16", "late_not_seen")], date(2026, 7, 16)),
        ([("2026-07-20", "booked")], None),
        ([], None),
    ],
)
def test_as_of_date_is_the_latest_attended_or_missed(rows, expected):
    assert as_of_date(_activity(rows)) == expected
