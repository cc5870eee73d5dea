"""Chart builders return figures with the expected traces, words and titles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from capa_monitor.charts import (
    SPECIAL_CAUSE_SYMBOL,
    TRIAL_SUFFIX,
    balance_chart,
    delivery_chart,
    wait_chart,
    xmr_chart,
)
from capa_monitor.metrics.spc import COUNT_BOUNDS, xmr

CLINICIANS = pd.DataFrame(
    {
        "clinician": ["Ann Bell", "Cal Dee", "Dee Eve", "Eve Fox"],
        "team": ["North"] * 4,
        "target": [12.0, 9.0, 6.0, np.nan],
        "expected_to_date": [6.0, 4.5, 3.0, np.nan],
        "delivered": [7, 4, 1, 2],
        "status": ["green", "amber", "red", "no_target"],
    }
)


def trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name is not None and t.name.startswith(name)]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def test_delivery_chart_traces_and_status_words():
    fig = delivery_chart(CLINICIANS)
    assert [t.name for t in fig.data] == ["Expected to date", "Delivered", "Quarter target"]
    delivered = trace(fig, "Delivered")
    assert list(delivered.y) == ["Ann Bell", "Cal Dee", "Dee Eve", "Eve Fox"]
    assert list(delivered.x) == [7, 4, 1, 2]
    # the status is in words on the bar and in the hover, not only in the colour
    assert list(delivered.text) == [
        "7 · on track", "4 · slightly behind", "1 · behind", "2 · no target"]
    assert "Status: slightly behind" in delivered.hovertext[1]
    assert list(trace(fig, "Quarter target").x)[:3] == [12.0, 9.0, 6.0]
    assert len(set(delivered.marker.color)) == 4


def test_charts_leave_the_background_to_the_theme():
    fig = delivery_chart(CLINICIANS)
    assert fig.layout.paper_bgcolor is None and fig.layout.plot_bgcolor is None


# 12 points, one spike: see test_spc SPIKE (point 12 of 15 is outside the limits)
SPIKE = [8.0, 12.0] * 6 + [30.0, 8.0, 12.0]


def test_xmr_chart_marks_special_causes_with_a_shape():
    frame = xmr(pd.Series(SPIKE, index=pd.date_range("2026-04-06", periods=15, freq="W-MON")))
    fig = xmr_chart(frame, "New Core Partnerships per week", "New Core Partnerships")
    names = [t.name for t in fig.data]
    assert names == ["New Core Partnerships", "Mean", "Upper process limit",
                     "Lower process limit", "Special cause"]
    assert fig.layout.title.text == "New Core Partnerships per week"
    special = trace(fig, "Special cause")
    assert list(special.y) == [30.0]
    assert special.marker.symbol == SPECIAL_CAUSE_SYMBOL != trace(fig, "New Core").marker.symbol
    assert list(special.text) == ["outside limits"]
    assert trace(fig, "Upper process limit").line.dash == "dash"
    assert trace(fig, "Mean").line.dash == "solid"


@pytest.mark.parametrize(("points", "titled_trial"), [(11, True), (12, False)])
def test_xmr_chart_says_trial_limits(points, titled_trial):
    frame = xmr(pd.Series([10.0, 12.0] * 6).iloc[:points])
    fig = xmr_chart(frame, "DNA/WNB rate per month", "% DNA/WNB")
    assert fig.layout.title.text.endswith(TRIAL_SUFFIX) == titled_trial
    assert "Trial limits" in fig.layout.title.text or not titled_trial
    assert "Special cause" not in [t.name for t in fig.data]


def test_xmr_chart_of_no_points():
    fig = xmr_chart(xmr(pd.Series([], dtype="float64")), "Empty", "Count")
    assert fig.layout.title.text == "Empty"


BALANCE = pd.DataFrame(
    {
        "clinician": ["Ann Bell", "Cal Dee", "Eve Fox"],
        "team": ["North"] * 3,
        "clinical_minutes": [1000.0, 600.0, 0.0],
        "choice_share": [10.0, 10.0, np.nan],
        "core_share": [60.0, 20.0, np.nan],
        "specific_share": [30.0, 70.0, np.nan],
        "plan_choice_share": [20.0, 20.0, 0.0],
        "plan_core_share": [60.0, 40.0, 100.0],
        "plan_specific_share": [20.0, 40.0, 0.0],
        "specific_excess_points": [10.0, 30.0, np.nan],
        "flagged": [False, True, False],
    }
)


def test_balance_chart():
    fig = balance_chart(BALANCE)
    assert [t.name for t in fig.data][:3] == ["Choice", "Core", "Specific"]
    assert fig.layout.barmode == "stack"
    # Eve has no clinical time: not drawn
    assert list(trace(fig, "Specific").y) == ["Ann Bell", "Cal Dee"]
    assert list(trace(fig, "Specific").x) == [30.0, 70.0]
    # planned Specific starts at 100 − 20 = 80 and 100 − 40 = 60
    assert list(trace(fig, "Planned Specific").x) == [80.0, 60.0]
    flag = trace(fig, "Flag")
    assert list(flag.y) == ["Cal Dee"]
    assert list(flag.text) == ["Specific above plan (+30 points)"]


WAITS = pd.DataFrame(
    {
        "client_key": ["C", "B", "A"],
        "team": ["North"] * 3,
        "wait_days": [60, 42, 28],
        "waiting": [True, False, False],
    }
)


def test_wait_chart():
    fig = wait_chart(WAITS)
    assert [t.name for t in fig.data] == [
        "Seen at Core Partnership (2)", "Still waiting (so far) (1)"]
    assert list(fig.data[0].x) == [42, 28]
    assert list(fig.data[1].x) == [60]
    lines = [shape.x0 for shape in fig.layout.shapes]
    assert lines == [28, 42]
    assert [a.text for a in fig.layout.annotations] == ["28 days", "42 days"]


def test_xmr_chart_draws_a_count_limit_at_zero_and_says_so():
    # SPIKE's lower limit is -2.17; a weekly count cannot go below zero: drawn at 0, named so.
    frame = xmr(pd.Series(SPIKE, index=pd.date_range("2026-04-06", periods=15, freq="W-MON")),
                bounds=COUNT_BOUNDS)
    fig = xmr_chart(frame, "New Core Partnerships per week", "New Core Partnerships")
    lower = trace(fig, "Lower process limit")
    assert list(lower.y) == [0.0] * 15
    assert lower.name == "Lower process limit (held at 0: values cannot go below 0)"
    assert trace(fig, "Upper process limit").name == "Upper process limit"
