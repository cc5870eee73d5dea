"""Financial quarters, working days and the as-of date (domain spec §2).

Everything that turns calendar dates into "how far through the quarter are we" lives here, so
the metrics only ever ask for a Quarter and a count of working days.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

# country_holidays() imports every country's module on its first call (~0.1 s): pay that with
# the package's other imports rather than inside the first review of the process.
import holidays
import holidays.countries  # noqa: F401
import numpy as np
import pandas as pd

from capa_monitor.errors import CapaError
from capa_monitor.model import DATE, HAPPENED_OUTCOMES, OUTCOME
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

_LABEL = re.compile(r"^\s*(\d{4})(?:\s*/\s*(\d{2}|\d{4}))?\s*[- ]?\s*Q([1-4])\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Quarter:
    """A quarter of the financial year that starts in `first_month` of `fy_start_year`."""

    fy_start_year: int
    number: int
    first_month: int = 4

    def __post_init__(self) -> None:
        if self.number not in (1, 2, 3, 4):
            raise CapaError(f"A quarter number must be 1 to 4, not {self.number}.")
        if not 1 <= self.first_month <= 12:
            raise CapaError(f"The financial year's first month must be 1 to 12, not {self.first_month}.")

    @property
    def start(self) -> date:
        months = self.first_month - 1 + 3 * (self.number - 1)
        return date(self.fy_start_year + months // 12, months % 12 + 1, 1)

    @property
    def end(self) -> date:
        """The first day of the next quarter (exclusive end)."""
        return self.next().start

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.first_month == 1:
            # A calendar financial year has no second year to name.
            return f"{self.fy_start_year} Q{self.number}"
        return f"{self.fy_start_year}/{(self.fy_start_year + 1) % 100:02d} Q{self.number}"

    def __str__(self) -> str:
        return self.label

    def next(self) -> Quarter:
        if self.number == 4:
            return Quarter(self.fy_start_year + 1, 1, self.first_month)
        return Quarter(self.fy_start_year, self.number + 1, self.first_month)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.fy_start_year - 1, 4, self.first_month)
        return Quarter(self.fy_start_year, self.number - 1, self.first_month)

    @classmethod
    def containing(cls, day: date, first_month: int = 4) -> Quarter:
        months_into_year = (day.month - first_month) % 12
        fy_start_year = day.year if day.month >= first_month else day.year - 1
        return cls(fy_start_year, months_into_year // 3 + 1, first_month)

    @classmethod
    def parse(cls, label: str, first_month: int = 4) -> Quarter:
        """Read `2026/27 Q2` (also `2026/2027 Q2`, `2026-Q2`; a calendar year as `2026 Q2`)."""
        match = _LABEL.match(str(label))
        if not match:
            raise CapaError(f'"{label}" is not a quarter; write it like "2026/27 Q2".')
        year, second, number = int(match.group(1)), match.group(2), int(match.group(3))
        if second is not None and int(second) % 100 != (year + 1) % 100:
            raise CapaError(
                f'"{label}" is not a quarter: the financial year {year} is followed by '
                f"{(year + 1) % 100:02d}, not {second}."
            )
        return cls(year, number, first_month)


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdiv: str | None, year: int) -> tuple[np.datetime64, ...]:
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return tuple(np.datetime64(day, "D") for day in sorted(calendar))


def public_holidays(first_year: int, last_year: int, settings: Settings = DEFAULT_SETTINGS) -> np.ndarray:
    """Public holidays of the configured region in the given years, as datetime64[D]."""
    days: list[np.datetime64] = []
    for year in range(first_year, last_year + 1):
        days.extend(_holidays_of_year(settings.holiday_country, settings.holiday_subdiv, year))
    return np.array(days, dtype="datetime64[D]")


def working_days(start, end_inclusive, settings: Settings = DEFAULT_SETTINGS):
    """Monday–Friday days minus public holidays from `start` to `end_inclusive`, both counted.

    Takes dates or arrays of dates (element-wise); an empty range (end before start) counts 0.
    Returns an int for scalars, an int64 array for arrays.
    """
    starts = np.asarray(start, dtype="datetime64[D]")
    ends = np.asarray(end_inclusive, dtype="datetime64[D]")
    # busday_count's end is exclusive; NaT ranges count nothing.
    valid = ~(np.isnat(starts) | np.isnat(ends))
    if not valid.any():
        counts = np.zeros(np.broadcast(starts, ends).shape, dtype=np.int64)
        return int(counts) if counts.ndim == 0 else counts
    years = np.concatenate([starts[valid].ravel(), ends[valid].ravel()]).astype("datetime64[Y]")
    first_year = int(years.min().astype(int)) + 1970
    last_year = int(years.max().astype(int)) + 1970
    calendar = public_holidays(first_year, last_year, settings)
    safe_starts = np.where(valid, starts, np.datetime64("2000-01-01"))
    safe_ends = np.where(valid, ends, np.datetime64("1999-12-31"))
    counts = np.busday_count(safe_starts, safe_ends + np.timedelta64(1, "D"), holidays=calendar)
    counts = np.where(valid, np.maximum(counts, 0), 0).astype(np.int64)
    return int(counts) if counts.ndim == 0 else counts


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=monthrange(day.year, day.month)[1])


def sunday_on_or_before(day: date) -> date:
    """The last day of the last complete Monday–Sunday week up to `day` (weeks are Monday to
    Sunday throughout the review)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def as_of_date(activity: pd.DataFrame) -> date | None:
    """The latest date with an appointment attended or missed (§2); None when there is none.

    Future bookings and free slots do not move it: exports carry them ahead of today.
    """
    if activity.empty:
        return None
    happened = activity[OUTCOME].isin([str(o) for o in HAPPENED_OUTCOMES])
    latest = activity.loc[happened, DATE].max()
    if pd.isna(latest):
        return None
    return pd.Timestamp(latest).date()
