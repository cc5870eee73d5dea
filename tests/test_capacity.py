"""§8 L3: team capacity for new Core Partnerships against demand, per quarter, worked by hand.

As of Fri 20 Nov 2026. 2026/27 Q2 (Jul–Sep) has ended; Q3 (Oct–Dec, 64 working days) is under
way with 37 working days done (October 22, 2–20 November 15); Q4 (Jan–Mar 2027, 61 working
days) is to come. The conversion window is the 26 weeks after 22 May 2026 up to 20 Nov: 130
weekdays less the 25 May and 31 Aug bank holidays = 128 working days. Targets: 3 × Core
sessions (defaults); a quarter is 11.25 usable weeks.
"""

from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.capacity import (
    IN_BALANCE,
    NO_DEMAND,
    balance_words,
    capacity_by_quarter,
    conversion,
    rule_of_thumb,
)
from capa_monitor.periods import Quarter
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

Q2, Q3, Q4 = Quarter(2026, 2), Quarter(2026, 3), Quarter(2026, 4)
AS_OF = date(2026, 11, 20)


def choices(day, count, client=None):
    return [{"clinician": "Aisha Khan", "team": "North", "date": day, "kind": "choice",
             "outcome": "attended", "client_key": client}] * count


def plans(*entries):
    """(clinician, core_sessions, available_from, available_to)."""
    frame = pd.DataFrame(entries, columns=["clinician", "core_sessions", "available_from",
                                           "available_to"]).assign(team="North")
    for column in ("available_from", "available_to"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


TWO = plans(("Aisha Khan", 5, None, None), ("Ben Cole", 3, None, None))  # 15 + 9 = 24


def l3(activity, plan_frame=TWO, quarters=(Q2,), settings=DEFAULT_SETTINGS):
    return capacity_by_quarter(activity, plan_frame, list(quarters), AS_OF, settings
                               ).set_index("quarter")


@pytest.mark.parametrize(("choice", "demand", "words"), [
    # no client keys: fewer than 30 clients, so the default conversion 0.67
    (60, 40.2, "capacity short by 16 new Core Partnerships a quarter"),  # 24 / 40.2 = 0.60
    (20, 13.4, "spare capacity 11 new Core Partnerships a quarter"),  # 24 / 13.4 = 1.79
    (36, 24.12, IN_BALANCE),  # 24 / 24.12 = 0.995
])
def test_a_team_in_and_out_of_balance_each_way(choice, demand, words):
    row = l3(make_activity(choices("2026-07-15", choice))).loc[Q2.label]
    assert (row["basis"], row["choice_attended"], row["conversion"]) == ("measured", choice, 0.67)
    assert row["demand"] == pytest.approx(demand)
    assert row["capacity"] == 24
    assert row["demand_per_week"] == pytest.approx(demand / 11.25)
    assert row["capacity_per_week"] == pytest.approx(24 / 11.25)
    assert row["balance"] == pytest.approx(24 / demand)
    assert row["balance_words"] == words


def test_the_quarter_under_way_is_scaled_and_a_leaver_clipped():
    # 37 Choice seen in 37 of 64 working days → 64 for the quarter; a booked one ahead is not
    activity = make_activity(choices("2026-10-14", 37)
                             + [{**choices("2026-12-02", 1)[0], "outcome": "booked"}])
    # Cara Dunn (4 sessions, 12) leaves Fri 13 Nov: 32 of 64 working days → 6
    with_leaver = plans(("Aisha Khan", 5, None, None), ("Ben Cole", 3, None, None),
                        ("Cara Dunn", 4, None, "2026-11-13"))
    row = l3(activity, with_leaver, [Q3]).loc[Q3.label]
    assert (row["basis"], row["choice_attended"], row["choice"]) == ("so far", 37, 64)
    assert row["demand"] == pytest.approx(64 * 0.67)  # 42.88
    assert row["capacity"] == pytest.approx(30)  # 15 + 9 + 6
    assert row["balance_words"] == "capacity short by 13 new Core Partnerships a quarter"


def test_a_quarter_to_come_is_forecast_and_counts_a_starter_pro_rata():
    # 37 Choice in the window's 128 working days → 37 × 61 / 128 = 17.63 in Q4; Fay Green
    # (4 sessions) starts Mon 1 Feb 2027: 12 × 41 / 61 = 8.07
    with_starter = plans(("Aisha Khan", 5, None, None), ("Ben Cole", 3, None, None),
                         ("Fay Green", 4, "2027-02-01", None))
    row = l3(make_activity(choices("2026-10-14", 37)), with_starter, [Q4]).loc[Q4.label]
    assert (row["basis"], row["choice_attended"]) == ("forecast", 37)
    assert row["choice"] == pytest.approx(37 * 61 / 128)
    assert row["demand"] == pytest.approx(37 * 61 / 128 * 0.67)  # 11.81
    assert row["capacity"] == pytest.approx(24 + 12 * 41 / 61)  # 32.07
    assert row["balance_words"] == "spare capacity 20 new Core Partnerships a quarter"
    assert row["wait_words"] == "still to come"


def test_conversion_is_measured_from_30_clients():
    rows = []
    for n in range(40):  # 40 clients seen at Choice on 1 Sep; 30 of them go on to Core
        rows += choices("2026-09-01", 1, client=f"k{n:02d}")
        if n < 20:
            rows.append({"clinician": "Ben Cole", "date": "2026-09-20", "kind": "core_new",
                         "outcome": "attended", "client_key": f"k{n:02d}"})
        elif n < 30:  # booked ahead, or a DNA/WNB: put into a Core slot all the same
            rows.append({"clinician": "Ben Cole", "date": "2026-12-01", "kind": "core_new",
                         "outcome": "booked" if n < 25 else "dna", "client_key": f"k{n:02d}"})
        elif n == 30:  # a Core Partnership before the Choice does not count
            rows.append({"clinician": "Ben Cole", "date": "2026-08-01", "kind": "core_new",
                         "outcome": "attended", "client_key": "k30"})
    rows += choices("2026-05-22", 1, client="early")  # the window starts after 22 May
    measured = conversion(make_activity(rows), AS_OF)
    assert (measured.clients, measured.converted, measured.measured) == (40, 30, True)
    assert measured.rate == 0.75
    assert measured.words() == ("75% of clients go on from Choice to Core Partnership (30 of "
                                "40 seen at Choice in the last 26 weeks)")
    fewer = conversion(make_activity(rows), AS_OF, Settings(conversion_min_clients=41))
    assert (fewer.rate, fewer.measured) == (0.67, False)


def test_the_internal_wait_trend_sits_beside_the_balance():
    rows = []
    for client, choice_day, core_day in (
        ("a", "2026-07-01", "2026-07-21"), ("b", "2026-07-01", "2026-07-31"),
        ("c", "2026-07-01", "2026-08-10"),  # Q2: 20, 30, 40 days: median 30
        ("d", "2026-10-01", "2026-11-05"), ("e", "2026-10-01", "2026-11-15"),  # Q3: 35, 45
    ):
        rows += choices(choice_day, 1, client)
        rows.append({"clinician": "Ben Cole", "date": core_day, "kind": "core_new",
                     "outcome": "attended", "client_key": client})
    frame = l3(make_activity(rows), quarters=[Q2, Q3])
    assert list(frame["median_wait"]) == [30, 40]
    assert list(frame["waits"]) == [3, 2]
    assert frame.loc[Q3.label, "wait_change"] == 10
    assert frame.loc[Q2.label, "wait_words"] == "median 30 days"
    assert frame.loc[Q3.label, "wait_words"] == "median 40 days, up 10 on the quarter before"


@pytest.mark.parametrize(("capacity", "demand", "words"), [
    (95, 100, IN_BALANCE), (110, 100, IN_BALANCE),  # the band's ends are inside it
    (94, 100, "capacity short by 6 new Core Partnerships a quarter"),
    (111, 100, "spare capacity 11 new Core Partnerships a quarter"),
    (10, 0, NO_DEMAND),
])
def test_balance_words_at_the_band(capacity, demand, words):
    assert balance_words(capacity, demand) == words


def test_the_band_is_a_setting():
    exact = Settings(balance_low=1.0, balance_high=1.0)
    assert balance_words(99.7, 100, exact) == (
        "capacity short by less than 1 new Core Partnership a quarter")
    assert balance_words(101, 100, exact) == "spare capacity 1 new Core Partnership a quarter"


def test_rule_of_thumb_in_calendar_weeks():
    # 65 Choice a quarter = 5 a week over 13 weeks: 40–45 new Core Partnerships a quarter
    assert rule_of_thumb(65) == ("CAPA's rule of thumb: at 5.0 Choice appointments a week, a "
                                 "team in balance delivers about 40–45 new Core Partnerships a "
                                 "quarter.")


def test_the_chart_puts_the_balance_in_words_under_each_quarter():
    from capa_monitor.charts import capacity_chart

    frame = capacity_by_quarter(make_activity(choices("2026-10-14", 37)), TWO, [Q3, Q4], AS_OF)
    figure = capacity_chart(frame)
    assert [trace.name for trace in figure.data] == ["Demand", "Capacity (job plans)"]
    labels = list(figure.data[0].x)
    # Q3: 37 seen → 64 × 0.67 = 42.9 against 24: short by 19; Q4 forecast 11.81: spare 12
    assert labels[0] == ("<b>2026/27 Q3</b><br>capacity short by 19<br>new Core Partnerships "
                         "a quarter")
    assert labels[1].startswith("<b>2026/27 Q4</b> (forecast)<br>spare capacity 12")
    assert list(figure.data[1].marker.pattern.shape) == ["", "/"]  # the forecast is hatched
