"""What every synthetic frame here shares: the demo team's name and dates, the frame columns
(canonical ones, ``client_ref`` for ``client_key``, plus ``detail``), NHS numbers from the
999 test range and working days.
"""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from capa_monitor import model
from capa_monitor.periods import public_holidays

TEAM = "Northfield CAMHS"
FIRST_DAY = date(2026, 4, 1)
AS_OF = date(2026, 11, 20)  # last day with outcomes: the expected as-of date of the review
LAST_BOOKED_DAY = date(2026, 12, 18)
RUN_DATE = date(2026, 11, 23)
SEED = 19  # chosen so the review shows the designed mix (tests check it)

SAMPLE_FILES: dict[str, str] = {
    "diary": "northfield_diary.xlsx",
    "appointments": "northfield_appointments.xlsx",
    "mhsds": "northfield_mhsds.csv",
    "jobplans": "northfield_jobplans.xlsx",
}

# Frames here: canonical columns, client_ref in place of client_key, plus detail.
CLIENT_REF = "client_ref"
DETAIL = "detail"
FRAME_COLUMNS: tuple[str, ...] = tuple(
    CLIENT_REF if c == model.CLIENT_KEY else c for c in model.ACTIVITY_COLUMNS
) + (DETAIL,)



# --------------------------------------------------------------------------------------------
# NHS numbers from the 999 test range


def nhs_check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of 9-digit integers; 10 means no valid number has that stem."""
    stems = np.asarray(first_nine, dtype=np.int64)
    total = np.zeros_like(stems)
    for position, weight in enumerate(range(10, 1, -1)):
        total += ((stems // 10 ** (8 - position)) % 10) * weight
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


@functools.cache
def _valid_test_numbers() -> np.ndarray:
    stems = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
    check = nhs_check_digit(stems)
    keep = check != 10
    return stems[keep] * 10 + check[keep]


def nhs_numbers_for(client_refs: pd.Series) -> pd.Series:
    """The NHS number (10-digit text, 999 range, valid check digit) of each ``C<digits>`` ref."""
    valid = _valid_test_numbers()
    refs = pa.array(client_refs.astype("str"), type=pa.string(), from_pandas=True)
    serial = pc.cast(pc.utf8_slice_codeunits(refs, 1), pa.int64()).to_numpy(zero_copy_only=False)
    missing = np.isnan(serial) if serial.dtype.kind == "f" else np.zeros(len(serial), bool)
    index = np.where(missing, 0, serial).astype(np.int64)
    # Offset and stride spread the numbers out so neighbouring clients do not look sequential.
    numbers = valid[(index * 7 + 1234) % len(valid)].astype(str)
    out = pd.Series(numbers, index=client_refs.index, dtype="str")
    return out.where(~missing)


def local_ids_for(client_refs: pd.Series) -> pd.Series:
    return "NF" + client_refs.str.slice(1).str.zfill(7)


# --------------------------------------------------------------------------------------------
# Working days


def working_days(start: date, end: date) -> list[date]:
    """Monday–Friday from start to end inclusive, minus England bank holidays."""
    bank = set(public_holidays(start.year, end.year).tolist())
    days = pd.bdate_range(start, end)
    return [d.date() for d in days if d.date() not in bank]


def working_day_array(start: date, n_days: int) -> np.ndarray:
    return np.busday_offset(
        np.datetime64(start, "D"),
        np.arange(n_days),
        roll="forward",
        holidays=public_holidays(start.year, start.year + n_days // 200 + 2),
    )
