"""M7: XmR charts' data in the NHS "Making Data Count" style (domain spec §5 M7).

`xmr` turns any series into centre line, limits and special-cause marks; `weekly_core_new`
and `monthly_dna_rate` build the two series the quarterly review tracks.

Rules, as read here:
- centre = mean of the values; moving range = |value - previous value|; moving ranges above
  3.267 × their mean are screened out once and the mean moving range recomputed from the
  rest; limits = mean ± 2.66 × screened mean moving range. A count or a rate cannot go below
  zero (nor a per cent above 100), so the limits drawn are held at those bounds
  (`lcl_clipped` / `ucl_clipped` say where); the rules below use the unclipped sigma lines.
- outside limits: a value strictly above the upper or below the lower limit.
- shift: 7 or more consecutive points strictly on one side of the mean; a point exactly on
  the mean belongs to neither side and breaks the run. Every point of the run is marked.
- trend: 7 or more consecutive points each strictly higher than the one before (6 rises in a
  row), or each strictly lower; an equal value breaks it. Every point of the run is marked.
- 2 of 3: in 3 consecutive points at least 2 lie strictly beyond two-thirds of the way from
  the mean to the same limit; those points (not the third) are marked.
- trial: fewer than `settings.spc_min_points` points, so the limits are provisional.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from capa_monitor.metrics import daily
from capa_monitor.periods import sunday_on_or_before
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

XMR_COLUMNS = (
    "period",
    "value",
    "mean",
    "lcl",
    "ucl",
    "lcl_clipped",
    "ucl_clipped",
    "moving_range",
    "special_cause",
    "rule",
    "trial",
)

RULE_OUTSIDE = "outside limits"
RULE_SHIFT = "7 on one side of mean"
RULE_RISING = "7 rising"
RULE_FALLING = "7 falling"
RULE_TWO_OF_THREE = "2 of 3 near a limit"

#: What the measures cannot pass: a weekly count not below 0, a per cent not outside 0–100.
COUNT_BOUNDS: tuple[float | None, float | None] = (0.0, None)
PERCENT_BOUNDS: tuple[float | None, float | None] = (0.0, 100.0)

MR_SCREEN_FACTOR = 3.267
LIMIT_FACTOR = 2.66
RUN_LENGTH = 7

def xmr(
    values: pd.Series,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    bounds: tuple[float | None, float | None] = (None, None),
) -> pd.DataFrame:
    """XmR frame for `values` (index = period labels), one row per point, columns XMR_COLUMNS.

    `bounds` (lowest, highest) are values the measure cannot pass, e.g. (0, None) for a count:
    a limit beyond one is held at it.
    """
    value = values.astype("float64").to_numpy()
    n = len(value)
    moving_range = np.abs(np.diff(value, prepend=np.nan))
    centre = float(value.mean()) if n else np.nan
    mean_mr = _screened_mean_moving_range(moving_range[1:])
    ucl = centre + LIMIT_FACTOR * mean_mr
    lcl = centre - LIMIT_FACTOR * mean_mr

    low, high = bounds
    lcl_clipped = low is not None and bool(lcl < low)
    ucl_clipped = high is not None and bool(ucl > high)
    shown_lcl = low if lcl_clipped else lcl
    shown_ucl = high if ucl_clipped else ucl

    outside = (value > ucl) | (value < lcl)
    side = np.sign(value - centre)
    shift = _in_long_run(side)
    step = np.sign(np.diff(value, prepend=np.nan))
    rising = _trend_points(step == 1)
    falling = _trend_points(step == -1)
    two_of_three = _two_of_three(value > centre + (ucl - centre) * 2 / 3) | _two_of_three(
        value < centre - (centre - lcl) * 2 / 3
    )

    marks = {
        RULE_OUTSIDE: outside,
        RULE_SHIFT: shift,
        RULE_RISING: rising,
        RULE_FALLING: falling,
        RULE_TWO_OF_THREE: two_of_three,
    }
    rule = np.full(n, "", dtype=object)
    for name, mark in marks.items():
        rule[mark] = np.where(rule[mark] == "", name, rule[mark] + "; " + name)

    return pd.DataFrame(
        {
            "period": values.index.to_numpy(),
            "value": value,
            "mean": np.full(n, centre),
            "lcl": np.full(n, shown_lcl, dtype="float64"),
            "ucl": np.full(n, shown_ucl, dtype="float64"),
            "lcl_clipped": np.full(n, lcl_clipped),
            "ucl_clipped": np.full(n, ucl_clipped),
            "moving_range": moving_range,
            "special_cause": rule != "",
            "rule": pd.array(rule, dtype="str"),
            "trial": np.full(n, n < settings.spc_min_points),
        },
        columns=list(XMR_COLUMNS),
    )


def weekly_core_new(
    activity: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """XmR of new Core Partnerships delivered (attended `core_new`) per Monday–Sunday week.

    Weeks run from the first whole week of the data (the Monday on or after its earliest
    date) to the last week ending on or before `as_of`; weeks with none are zero. `period`
    is the Monday the week commences.
    """
    return weekly_from_counts(daily.by_date(daily.daily_counts(activity)), as_of, settings)


def weekly_from_counts(
    dates: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """weekly_core_new from the counts per date (metrics.daily.by_date) the store keeps."""
    earliest = daily.first_date(dates)
    first = None if earliest is None else _monday_on_or_after(earliest)
    last_end = sunday_on_or_before(as_of)
    if first is None or first > last_end:
        return xmr(pd.Series([], dtype="float64"), settings)
    weeks = pd.period_range(first, last_end, freq="W-SUN")
    delivered = dates["core_new_attended"]
    counts = delivered.groupby(delivered.index.to_period("W-SUN")).sum()
    counts = counts.reindex(weeks, fill_value=0)
    counts.index = counts.index.start_time.rename("period")
    return xmr(counts.astype("float64"), settings, bounds=COUNT_BOUNDS)


def monthly_dna_rate(
    activity: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """XmR of the DNA/WNB rate (per cent) per complete calendar month.

    DNA/WNB is outcome `dna` (the spec's "DNA/WNB" is the UI word for it); the rate is
    dna ÷ (attended + dna + late_not_seen) over Choice, Core and Specific appointments
    (`other` kinds are left out: they are often meetings or admin). `late_not_seen` is in the
    denominator (the family came) but not the numerator. Months run from the first whole
    month of the data to the last month ending on or before `as_of`; a month
    with no such appointments has no rate and is left out rather than shown as 0 %.
    """
    return monthly_from_counts(daily.by_date(daily.daily_counts(activity)), as_of, settings)


def monthly_from_counts(
    dates: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """monthly_dna_rate from the counts per date (metrics.daily.by_date) the store keeps."""
    earliest = daily.first_date(dates)
    first = None if earliest is None else _month_start_on_or_after(earliest)
    last_month = pd.Timestamp(as_of + timedelta(days=1)).to_period("M") - 1
    if first is None or pd.Timestamp(first).to_period("M") > last_month:
        return xmr(pd.Series([], dtype="float64"), settings)
    months = pd.period_range(pd.Timestamp(first).to_period("M"), last_month, freq="M")
    # months since 1970 as integers: a bincount is far cheaper than grouping Periods
    month_number = dates.index.to_numpy().astype("datetime64[M]").astype("int64")
    first_number = months[0].ordinal
    in_range = (month_number >= first_number) & (month_number <= months[-1].ordinal)
    slot = month_number[in_range] - first_number
    denominator = np.bincount(slot, weights=dates["dna_seen"].to_numpy()[in_range],
                              minlength=len(months))
    numerator = np.bincount(slot, weights=dates["dna"].to_numpy()[in_range],
                            minlength=len(months))
    has_rate = denominator > 0
    rate = pd.Series(
        100.0 * numerator[has_rate] / denominator[has_rate],
        index=months[has_rate].to_timestamp().rename("period"),
    )
    return xmr(rate.astype("float64"), settings, bounds=PERCENT_BOUNDS)


def _screened_mean_moving_range(moving_range: np.ndarray) -> float:
    if len(moving_range) == 0:
        return np.nan
    mean_mr = moving_range.mean()
    kept = moving_range[moving_range <= MR_SCREEN_FACTOR * mean_mr]
    return float(kept.mean()) if len(kept) else float(mean_mr)


def _run_lengths(key: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of equal consecutive `key` values it is in."""
    if len(key) == 0:
        return np.zeros(0, dtype=int)
    run_id = np.concatenate(([0], np.cumsum(key[1:] != key[:-1])))
    return np.bincount(run_id)[run_id]


def _in_long_run(side: np.ndarray) -> np.ndarray:
    """Points in a run of RUN_LENGTH (or more) on one side of the mean; on the mean is no side."""
    key = np.nan_to_num(side, nan=0.0)
    return (_run_lengths(key) >= RUN_LENGTH) & (key != 0)


def _trend_points(step_in_direction: np.ndarray) -> np.ndarray:
    """Points in a run of RUN_LENGTH - 1 (or more) steps the same way, plus the run's first point."""
    steps = step_in_direction.astype(int)
    in_step_run = (_run_lengths(steps) >= RUN_LENGTH - 1) & step_in_direction
    # the point before the first step of a run is the run's first point
    starts = np.zeros_like(in_step_run)
    starts[:-1] = in_step_run[1:]
    return in_step_run | starts


def _two_of_three(beyond: np.ndarray) -> np.ndarray:
    n = len(beyond)
    if n < 3:
        return np.zeros(n, dtype=bool)
    hits = beyond.astype(int)
    window_ok = (hits[:-2] + hits[1:-1] + hits[2:]) >= 2  # window starting at i
    covered = np.zeros(n, dtype=bool)
    for offset in range(3):
        covered[offset : n - 2 + offset] |= window_ok
    return covered & beyond


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _month_start_on_or_after(day: date) -> date:
    if day.day == 1:
        return day
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
