"""Cell texts → values: dates, times and time bands, durations, booking intervals, markers.

One text at a time (or, for dates, the distinct texts of a column at once); the normaliser
runs each once per distinct text and the column profiler uses the same rules, so a column is
judged by exactly what loading it would make of it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Day-first forms tried in turn on the texts still unparsed (ISO first: the reader writes
#: Excel date cells that way).
DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y", "%d/%m/%y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M",
    "%d-%b-%y", "%d-%b-%Y", "%d-%b-%y %H:%M", "%d-%b-%Y %H:%M", "%d-%b-%Y %H:%M:%S",
    "%d %b %Y", "%d %B %Y", "%d %b %y", "%d-%B-%Y",
    "%d-%m-%Y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y %H:%M", "%d %b %Y %H:%M",
    "%Y%m%d",
)
# Excel serial day numbers (as text when a date cell was stored as a number): 1955..2119.
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.]\d{2}(?:\.\d+)?)?\s*([ap]\.?m\.?)?$", re.IGNORECASE)
_DURATION_PARTS = re.compile(
    r"^(?:(\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in(?:ute)?s?)?)?$",
    re.IGNORECASE,
)
_TIME_BAND = re.compile(
    r"^(\d{1,2}[:.]\d{2})\s*([ap]\.?m\.?)?\s*(?:-|–|—|to)\s*(\d{1,2}[:.]\d{2})\s*([ap]\.?m\.?)?$",
    re.IGNORECASE,
)
_INTERVAL_PART = re.compile(
    r"(\d+)\s*(weeks?|wks?|w|days?|dys?|d|hours?|hrs?|h|minutes?|mins?|m)\b"
)
MINUTES_PER_DAY = 24 * 60
_MINUTES = {"w": 7 * MINUTES_PER_DAY, "d": MINUTES_PER_DAY, "h": 60, "m": 1}
_YES = frozenset({"y", "yes", "true", "t", "1", "x", "✓", "re-offered", "reoffered", "rebooked",
                  "re-booked", "offered again"})
_NO = frozenset({"n", "no", "false", "f", "0", "not re-offered", "not reoffered"})


def parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Day-first date texts → (datetime64 with any time kept, "HH:MM" of non-midnight times)."""
    codes, uniques = pd.factorize(raw)
    parsed = _parse_date_uniques(pd.Series(uniques, dtype="str"))
    has_time = parsed.notna() & (parsed != parsed.dt.normalize())
    times = parsed.dt.strftime("%H:%M").where(has_time).astype("str")
    return spread(parsed, codes, raw.index), spread(times, codes, raw.index)


def _parse_date_uniques(uniques: pd.Series) -> pd.Series:
    result = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[us]")
    numeric = pd.to_numeric(uniques, errors="coerce")
    serial = numeric.between(_SERIAL_MIN, _SERIAL_MAX) & uniques.str.fullmatch(r"\d+(\.\d+)?")
    if serial.any():
        days = numeric[serial]
        result[serial] = _EXCEL_EPOCH + pd.to_timedelta(days.round(6) * 86400, unit="s").dt.round(
            "min"
        )
    remaining = ~serial
    for fmt in DATE_FORMATS:
        if not remaining.any():
            break
        attempt = pd.to_datetime(uniques[remaining], format=fmt, errors="coerce")
        hit = attempt.notna()
        result[hit[hit].index] = attempt[hit]
        remaining &= result.isna()
    plausible = result.dt.year.between(1990, 2100)
    return result.where(plausible)


def parse_time(text: str) -> str | None:
    """`09:30`, `9.30`, `9:30 pm`, `0930`, `09:30:00`, an Excel day fraction → "HH:MM"."""
    text = text.strip()
    if " " in text and re.match(r"^\d{4}-\d{2}-\d{2}", text):
        text = text.split(" ", 1)[1]  # a date-time cell holding only a time (1899-12-30 09:30)
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}:{text[2:]}"
    if re.fullmatch(r"0?\.\d+", text):
        minutes = round(float(text) * 24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}" if minutes < 24 * 60 else None
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute, meridiem = int(match[1]), int(match[2]), (match[3] or "").lower()
    if meridiem.startswith("p") and hour < 12:
        hour += 12
    elif meridiem.startswith("a") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def parse_start(text: str) -> str | None:
    """A start time, or a time band's start: `09:00 - 10:00` → 09:00, `9.00-9.50am` → 09:00
    (the band's am/pm applies to its start when the start is not later on the clock)."""
    time = parse_time(text)
    if time is not None:
        return time
    band = _TIME_BAND.match(text.strip())
    if not band:
        return None
    start, start_meridiem, end, end_meridiem = band.groups()
    if not start_meridiem and end_meridiem and _hour(start) <= _hour(end):
        start_meridiem = end_meridiem
    return parse_time(f"{start} {start_meridiem or ''}".strip())


def _hour(clock: str) -> int:
    return int(re.split(r"[:.]", clock)[0])


def parse_interval(text: str) -> int | None:
    """Time between booking and appointment → minutes: `2wks 1d`, `3 days`, `0 days`, `1wk`,
    `4d 22h`, `2h 30m`, `0m` (SystmOne), a bare `14` (days)."""
    key = text.strip().lower()
    if key.isdigit():
        return int(key) * _MINUTES["d"]
    parts = _INTERVAL_PART.findall(key)
    if not parts or _INTERVAL_PART.sub(" ", key).strip(" ,"):
        return None
    return sum(int(n) * _MINUTES[unit[0]] for n, unit in parts)


def parse_duration(text: str) -> int | None:
    """`60`, `60m`, `60 mins`, `1h 30m`, `1 hr`, `1:30`, `1.5h` → minutes."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    if match := re.fullmatch(r"(\d+):(\d{2})(?::00)?", text):
        return int(match[1]) * 60 + int(match[2])
    match = _DURATION_PARTS.fullmatch(text)
    if not match or not (match[1] or match[2]):
        return None
    minutes = float(match[1] or 0) * 60 + float(match[2] or 0)
    return round(minutes)


def reoffered_value(text: str) -> bool | None:
    key = " ".join(text.strip().lower().split())
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


def spread(answers: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Row i gets answers[codes[i]]; code -1 (a blank cell) gets a missing value."""
    array = answers.reset_index(drop=True).array
    return pd.Series(array.take(codes, allow_fill=True), index=index)
