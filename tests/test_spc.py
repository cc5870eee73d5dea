"""M7 XmR rules (Making Data Count) on textbook series, limits worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.spc import (
    COUNT_BOUNDS,
    PERCENT_BOUNDS,
    RULE_FALLING,
    RULE_OUTSIDE,
    RULE_RISING,
    RULE_SHIFT,
    RULE_TWO_OF_THREE,
    XMR_COLUMNS,
    monthly_dna_rate,
    weekly_core_new,
    xmr,
)
from capa_monitor.settings import Settings


def rules_at(result: pd.DataFrame) -> dict[int, str]:
    return {i: r for i, r in enumerate(result["rule"]) if r}


# --- limits --------------------------------------------------------------------------------

# 12 points alternating 10, 12: mean 11; 11 moving ranges of 2, mean MR 2 (none screened:
# 3.267 × 2 = 6.53); limits 11 ± 2.66 × 2 = 5.68 .. 16.32. Two-thirds line: 11 ± 3.5467.
ALTERNATING = [10.0, 12.0] * 6


def test_limits_from_mean_moving_range():
    result = xmr(pd.Series(ALTERNATING))
    assert list(result.columns) == list(XMR_COLUMNS)
    assert result["mean"].iloc[0] == pytest.approx(11.0)
    assert result["lcl"].iloc[0] == pytest.approx(5.68)
    assert result["ucl"].iloc[0] == pytest.approx(16.32)
    assert pd.isna(result["moving_range"].iloc[0])
    assert result["moving_range"].iloc[1:].tolist() == [2.0] * 11
    assert not result["special_cause"].any()
    assert not result["trial"].any()


def test_flat_series_has_no_special_cause():
    # every value 5: mean 5, every MR 0, limits 5 .. 5; nothing is strictly outside, every
    # point sits on the mean (neither side), no value rises or falls.
    result = xmr(pd.Series([5.0] * 15))
    assert (result["lcl"] == 5.0).all() and (result["ucl"] == 5.0).all()
    assert not result["special_cause"].any()
    assert (result["rule"] == "").all()


# Screening: 10, 12 alternating (12 points), 30, 12, 10, 25, 12 (17 points).
# sum = 132 + 89 = 221, mean 13.0. MRs: 2 ×11 = 22, 18, 18, 2, 15, 13 -> 88 / 16 = 5.5.
# Screen at 3.267 × 5.5 = 17.9685: both 18s go; kept 22 + 2 + 15 + 13 = 52 over 14 = 3.7143.
# Limits 13 ± 2.66 × 3.7143 = 13 ± 9.88 -> 3.12 .. 22.88; unscreened they would be
# 13 ± 14.63 = 27.63 at the top, and the 25 would be inside.
# Everything before the 30 (10s and 12s) is below 13: a run of 12 -> shift on points 0..11.
# Two-thirds line 13 + 6.5867 = 19.5867: 30 and 25 are beyond it but never 2 in any 3.
SCREENED = [10.0, 12.0] * 6 + [30.0, 12.0, 10.0, 25.0, 12.0]


def test_moving_range_screening_changes_the_limits():
    result = xmr(pd.Series(SCREENED))
    assert result["mean"].iloc[0] == pytest.approx(13.0)
    assert result["ucl"].iloc[0] == pytest.approx(13 + 2.66 * 52 / 14)
    assert result["lcl"].iloc[0] == pytest.approx(13 - 2.66 * 52 / 14)
    assert rules_at(result) == {
        **dict.fromkeys(range(12), RULE_SHIFT),
        12: RULE_OUTSIDE,
        15: RULE_OUTSIDE,
    }


def test_screening_keeps_ordinary_ranges():
    # values 10, 12, 10, 12, 20, 12, 10, 12, 10, 12, 10, 12: mean = 142 / 12 = 11.8333.
    # MRs: 2, 2, 2, 8, 8, 2, 2, 2, 2, 2, 2 -> sum 34, mean 3.0909; screen at 10.098: none out.
    # Limits 11.8333 ± 2.66 × 3.0909 = 11.8333 ± 8.2218 -> 3.6115 .. 20.0552; 20 inside.
    values = [10.0, 12.0, 10.0, 12.0, 20.0, 12.0, 10.0, 12.0, 10.0, 12.0, 10.0, 12.0]
    result = xmr(pd.Series(values))
    assert result["ucl"].iloc[0] == pytest.approx(142 / 12 + 2.66 * 34 / 11)
    assert result["lcl"].iloc[0] == pytest.approx(142 / 12 - 2.66 * 34 / 11)
    assert RULE_OUTSIDE not in result["rule"].iloc[4]


# --- special-cause rules -------------------------------------------------------------------

# A single spike: 8, 12 alternating (12 points), 30, 8, 12 (15 points): sum 120 + 50 = 170,
# mean 11.3333 (the 8s below, the 12s above: no long run). MRs: 4 ×11 = 44, 18, 22, 4 ->
# 88 / 14 = 6.2857; screen at 20.535: the 22 goes; kept 66 / 13 = 5.0769.
# Limits 11.3333 ± 13.5046 = -2.1713 .. 24.8379: only the 30 is outside; the two-thirds line
# (11.3333 + 9.0031 = 20.3364) is passed by the 30 alone, so no 2 of 3.
SPIKE = [8.0, 12.0] * 6 + [30.0, 8.0, 12.0]


def test_single_spike_beyond_the_limit():
    result = xmr(pd.Series(SPIKE))
    assert result["ucl"].iloc[0] == pytest.approx(170 / 15 + 2.66 * 66 / 13)
    assert rules_at(result) == {12: RULE_OUTSIDE}


# Seven above the mean: 10, 12 ×3 (6 points), 14 ×7, 10, 12 ×3 (6 points); 19 points.
# mean = (6 × 10 + 6 × 12 + 7 × 14) / 19 = 230 / 19 = 12.105, so the 12s are below it too:
# points 0..5 and 13..18 are runs of 6 below (one short), the 14s (6..12) a run of 7 above.
# MRs: 2 ×5, 2, 0 ×6, 4, 2 ×5 -> 26 / 18 = 1.444; screen 4.72: none. Limits 12.105 ± 3.842;
# two-thirds lines 14.667 and 9.544: no point beyond either.
SEVEN_ABOVE = [10.0, 12.0] * 3 + [14.0] * 7 + [10.0, 12.0] * 3


def test_seven_on_one_side_marks_the_whole_run():
    result = xmr(pd.Series(SEVEN_ABOVE))
    assert result["mean"].iloc[0] == pytest.approx(230 / 19)
    assert rules_at(result) == dict.fromkeys(range(6, 13), RULE_SHIFT)


def test_six_on_one_side_is_not_a_shift():
    values = [10.0, 12.0] * 3 + [14.0] * 6 + [10.0, 12.0] * 3
    # mean = (60 + 72 + 84) / 18 = 12: the 12s sit ON the mean and break the runs below
    assert RULE_SHIFT not in "".join(xmr(pd.Series(values))["rule"])


# Seven rising: 10, 12 ×3 then 8, 9, 10, 11, 12, 13, 14 (6 rises) then 12, 10, 12 (16 points).
# The rising run is points 6..12. mean = (3 × 10 + 3 × 12 + 77 + 34) / 16 = 177 / 16 = 11.0625.
# MRs: 2 ×5, 4 (12->8), 1 ×6, 2, 2, 2 -> sum 10 + 4 + 6 + 6 = 26 / 15 = 1.7333; screen 5.66:
# none. Limits 11.0625 ± 4.6107 = 6.4518 .. 15.6732; two-thirds lines 14.136 and 7.989: only
# 14 < 14.136 and 8 > 7.989, so nothing is beyond them. Sides: 10s below and 12s above
# alternate; 8..11 below (points 6..9), 12, 13, 14, 12 above (10..13): no run of 7.
RISING = [10.0, 12.0] * 3 + [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0] + [12.0, 10.0, 12.0]


def test_seven_rising_marks_the_whole_run():
    result = xmr(pd.Series(RISING))
    assert rules_at(result) == dict.fromkeys(range(6, 13), RULE_RISING)


def test_seven_falling():
    falling = [10.0, 12.0] * 3 + [14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0] + [10.0, 12.0, 10.0]
    # mirror of RISING: mean = (30 + 36 + 77 + 32) / 16 = 175 / 16 = 10.9375, MRs sum
    # 10 + 2 + 6 + 2 + 2 + 2 = 24 / 15 = 1.6, limits 10.9375 ± 4.256 = 6.68 .. 15.19;
    # two-thirds lines 13.775 / 8.100: 14 (point 6) passes above, 8 (point 12) below, alone.
    result = xmr(pd.Series(falling))
    assert rules_at(result) == dict.fromkeys(range(6, 13), RULE_FALLING)


def test_six_rises_with_a_tie_is_not_a_trend():
    values = [10.0, 12.0] * 3 + [8.0, 9.0, 10.0, 10.0, 12.0, 13.0, 14.0] + [12.0, 10.0, 12.0]
    assert RULE_RISING not in "".join(xmr(pd.Series(values))["rule"])


# 2 of 3 beyond two-thirds: 10, 12 alternating (12 points), 18, 11, 18, 10, 12 (17 points).
# sum 132 + 69 = 201, mean 11.8235 (10s below, 12s above: no long run). MRs: 2 ×11 = 22, 6, 7,
# 7, 8, 2 -> 52 / 16 = 3.25; screen at 10.62: none. Limits 11.8235 ± 8.645 = 3.1785 ..
# 20.4685; two-thirds line 11.8235 + 5.7633 = 17.5868: both 18s (points 12 and 14) pass it,
# the 11 between does not, neither is outside.
TWO_OF_THREE = [10.0, 12.0] * 6 + [18.0, 11.0, 18.0, 10.0, 12.0]


def test_two_of_three_beyond_two_thirds():
    result = xmr(pd.Series(TWO_OF_THREE))
    assert result["ucl"].iloc[0] == pytest.approx(201 / 17 + 2.66 * 3.25)
    assert rules_at(result) == {12: RULE_TWO_OF_THREE, 14: RULE_TWO_OF_THREE}


def test_one_of_three_is_not_enough():
    values = [10.0, 12.0] * 6 + [18.0, 11.0, 12.0, 10.0, 12.0]
    # sum 132 + 63 = 195, mean 11.4706; MRs 22 + 6 + 7 + 1 + 2 + 2 = 40 / 16 = 2.5; upper
    # limit 11.4706 + 6.65 = 18.1206, two-thirds line 15.9039: the 18 alone passes it.
    assert not xmr(pd.Series(values))["special_cause"].any()


@pytest.mark.parametrize(
    ("points", "trial"),
    [(11, True), (12, False), (1, True)],
)
def test_trial_limits_below_twelve_points(points, trial):
    result = xmr(pd.Series([10.0, 12.0] * 6).iloc[:points])
    assert result["trial"].all() == trial
    assert len(result) == points


def test_trial_threshold_is_a_setting():
    result = xmr(pd.Series([10.0, 12.0] * 6), Settings(spc_min_points=20))
    assert result["trial"].all()


def test_empty_series():
    result = xmr(pd.Series([], dtype="float64"))
    assert result.empty and list(result.columns) == list(XMR_COLUMNS)


def test_period_labels_kept():
    index = pd.to_datetime(["2026-04-06", "2026-04-13"])
    result = xmr(pd.Series([3.0, 4.0], index=index))
    assert list(result["period"]) == list(index)


# --- the two series the review tracks ------------------------------------------------------


def test_weekly_core_new_counts_attended_per_whole_week():
    # Data from Wed 1 Apr 2026: first whole week starts Mon 6 Apr. As of Thu 30 Apr: last
    # complete week is Mon 20 – Sun 26 Apr. Weeks: 6, 13, 20 Apr.
    activity = make_activity(
        [
            {"clinician": "Ann Bell", "date": "2026-04-01", "kind": "core_new", "outcome": "attended"},
            {"clinician": "Ann Bell", "date": "2026-04-06", "kind": "core_new", "outcome": "attended"},
            {"clinician": "Cal Dee", "date": "2026-04-12", "kind": "core_new", "outcome": "attended"},
            {"clinician": "Cal Dee", "date": "2026-04-08", "kind": "core_new", "outcome": "dna"},
            {"clinician": "Cal Dee", "date": "2026-04-09", "kind": "core_followup", "outcome": "attended"},
            {"clinician": "Ann Bell", "date": "2026-04-22", "kind": "core_new", "outcome": "attended"},
            {"clinician": "Ann Bell", "date": "2026-04-28", "kind": "core_new", "outcome": "attended"},
        ]
    )
    result = weekly_core_new(activity, date(2026, 4, 30))
    # week of 6 Apr: the 6th and the 12th (Sunday) attended core_new = 2; 13 Apr: none = 0;
    # 20 Apr: the 22nd = 1. The 1 Apr (partial week) and 28 Apr (incomplete week) are out.
    assert list(result["period"]) == list(pd.to_datetime(["2026-04-06", "2026-04-13", "2026-04-20"]))
    assert result["value"].tolist() == [2.0, 0.0, 1.0]
    assert result["trial"].all()


def test_weekly_core_new_sunday_as_of_completes_the_week():
    activity = make_activity(
        [{"clinician": "Ann Bell", "date": "2026-04-06", "kind": "core_new", "outcome": "attended"}]
    )
    result = weekly_core_new(activity, date(2026, 4, 12))  # Sunday
    assert result["value"].tolist() == [1.0]


def test_monthly_dna_rate():
    # April: attended 3, dna 1, late_not_seen 0 -> 1 / 4 = 25 %; cancelled and other kinds out.
    # May: attended 1, dna 0, late_not_seen 1 -> 0 / 2 = 0 %. June is incomplete on 20 June.
    rows = [
        ("2026-04-01", "choice", "attended"),
        ("2026-04-02", "core_new", "attended"),
        ("2026-04-03", "specific_followup", "attended"),
        ("2026-04-07", "core_followup", "dna"),
        ("2026-04-08", "core_new", "cancelled_by_client"),
        ("2026-04-09", "other", "dna"),
        ("2026-05-04", "core_new", "attended"),
        ("2026-05-05", "choice", "late_not_seen"),
        ("2026-06-05", "choice", "dna"),
    ]
    activity = make_activity(
        [{"clinician": "Ann Bell", "date": d, "kind": k, "outcome": o} for d, k, o in rows]
    )
    result = monthly_dna_rate(activity, date(2026, 6, 20))
    assert list(result["period"]) == list(pd.to_datetime(["2026-04-01", "2026-05-01"]))
    assert result["value"].tolist() == pytest.approx([25.0, 0.0])


# --- a count cannot go below zero: the limits drawn are held at the bounds ------------------


def test_a_lower_limit_below_zero_is_held_at_zero_and_the_rules_do_not_change():
    # SPIKE's limits are -2.1713 .. 24.8379 (above). With COUNT_BOUNDS the lower limit drawn
    # is 0 and says it was clipped; the rules still use the unclipped sigma: the same marks.
    plain = xmr(pd.Series(SPIKE))
    bounded = xmr(pd.Series(SPIKE), bounds=COUNT_BOUNDS)
    assert plain["lcl"].iloc[0] == pytest.approx(170 / 15 - 2.66 * 66 / 13)  # -2.1713
    assert (bounded["lcl"] == 0.0).all() and bounded["lcl_clipped"].all()
    assert not bounded["ucl_clipped"].any()
    assert bounded["ucl"].iloc[0] == pytest.approx(plain["ucl"].iloc[0])
    assert rules_at(bounded) == rules_at(plain) == {12: RULE_OUTSIDE}
    # ALTERNATING's lower limit 5.68 is above 0: nothing to clip.
    ordinary = xmr(pd.Series(ALTERNATING), bounds=COUNT_BOUNDS)
    assert ordinary["lcl"].iloc[0] == pytest.approx(5.68) and not ordinary["lcl_clipped"].any()


def test_weekly_core_new_never_draws_a_lower_limit_below_zero():
    # Weeks of 6, 13, 20, 27 Jul 2026 with 3, 0, 3, 0 attended new Core Partnerships; as of
    # Sun 2 Aug. Mean 1.5; moving ranges 3, 3, 3 → 3; limits 1.5 ± 7.98 = -6.48 .. 9.48: the
    # lower one is drawn at 0.
    rows = [{"clinician": "Ann Bell", "date": day} for day in ["2026-07-06"] * 3 + ["2026-07-20"] * 3]
    result = weekly_core_new(make_activity(rows), date(2026, 8, 2))
    assert result["value"].tolist() == [3.0, 0.0, 3.0, 0.0]
    assert result["ucl"].iloc[0] == pytest.approx(1.5 + 2.66 * 3)
    assert (result["lcl"] == 0.0).all() and result["lcl_clipped"].all()


def test_a_percentage_limit_is_held_between_0_and_100():
    # 90, 10, 90, 10 %: mean 50, MR 80 → 50 ± 212.8: drawn at 0 and 100.
    result = xmr(pd.Series([90.0, 10.0, 90.0, 10.0]), bounds=PERCENT_BOUNDS)
    assert (result["lcl"].iloc[0], result["ucl"].iloc[0]) == (0.0, 100.0)
    assert result["lcl_clipped"].all() and result["ucl_clipped"].all()
