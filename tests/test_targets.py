"""M1 (spec §5): new Core Partnerships and Choice against the job plan, pro rata."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics import words
from capa_monitor.metrics.targets import against_target
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

Q1 = Quarter(2026, 1)  # 61 working days (Easter and two May bank holidays)
Q2 = Quarter(2026, 2)  # 65 working days: July 23, August 20 (31 Aug), September 22


def slots(*rows):
    """rows of (clinician, date, kind, outcome) → a canonical activity frame."""
    return make_activity([{"clinician": clinician, "date": day, "kind": kind, "outcome": outcome,
                           "team": "North"} for clinician, day, kind, outcome in rows])


def plans(*rows):
    """rows of (clinician, core_sessions, choice_per_week, q2_target, from, to)."""
    frame = pd.DataFrame(
        rows,
        columns=["clinician", "core_sessions", "choice_per_week", "q2_target",
                 "available_from", "available_to"],
    )
    frame["team"] = "North"
    for column in ("available_from", "available_to"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def m1(activity, plan_frame, quarter, as_of, settings=DEFAULT_SETTINGS):
    targets = quarterly_targets(plan_frame, quarter, settings)
    return against_target(activity, targets, quarter, as_of, settings).set_index("clinician")


def test_expectation_counts_bank_holidays():
    # Q1, as of Fri 10 Apr 2026: working days 1, 2, 7, 8, 9, 10 April = 6 (3 and 6 April are
    # bank holidays). Target 4 × 3 = 12; expected = 12 × 6 / 61 = 1.18033…
    result = m1(slots(("Jane Smith", "2026-04-02", "core_new", "attended")),
                plans(("Jane Smith", 4, None, None, None, None)), Q1, date(2026, 4, 10))
    row = result.loc["Jane Smith"]
    assert row["target"] == 12
    assert row["available_days"] == 6
    assert row["quarter_days"] == 61
    assert row["expected_to_date"] == pytest.approx(72 / 61)
    # 1 delivered < 0.8 × 1.18 = 0.944? No: 1 ≥ 0.944 but < 1.18 → amber; shortfall 0.18033
    assert row["status"] == "amber"
    assert row["shortfall"] == pytest.approx(72 / 61 - 1)


# As of Fri 17 Jul 2026: 1–3 Jul (3) + 6–10 (5) + 13–17 (5) = 13 of Q2's 65 working days,
# so an explicit target of 25 expects 25 × 13 / 65 = 5 (0.8 × 5 = 4 for amber).
@pytest.mark.parametrize(
    ("attended", "status", "shortfall"),
    [(6, "green", 0.0), (5, "green", 0.0), (4, "amber", 1.0), (3, "red", 2.0), (0, "red", 5.0)],
)
def test_status_thresholds_at_their_boundaries(attended, status, shortfall):
    activity = slots(*[("Jane Smith", "2026-07-06", "core_new", "attended")] * attended,
                     ("Jane Smith", "2026-07-07", "core_new", "dna"))
    result = m1(activity, plans(("Jane Smith", 4, None, 25, None, None)), Q2, date(2026, 7, 17))
    row = result.loc["Jane Smith"]
    assert row["target"] == 25
    assert row["target_source"] == "explicit"
    assert row["expected_to_date"] == pytest.approx(5.0)
    assert (row["delivered"], row["status"]) == (attended, status)
    assert row["shortfall"] == pytest.approx(shortfall)


def test_thresholds_are_settings():
    # Expected 5 as above; green from 0.9 × 5 = 4.5, amber from 0.6 × 5 = 3:
    # 5 → green, 4 → amber, 3 → amber (on the boundary), 2 → red.
    settings = Settings(green_ratio=0.9, amber_ratio=0.6)
    for attended, status in ((5, "green"), (4, "amber"), (3, "amber"), (2, "red")):
        activity = slots(*[("Jane Smith", "2026-07-06", "core_new", "attended")] * attended)
        result = m1(activity, plans(("Jane Smith", 0, None, 25, None, None)), Q2,
                    date(2026, 7, 17), settings)
        assert result.loc["Jane Smith", "status"] == status


def test_leaver_expectation_stops_on_the_last_day():
    # Leaving Fri 14 Aug 2026, as of quarter end: available 1 Jul–14 Aug = July 23 + 3–7 Aug (5)
    # + 10–14 Aug (5) = 33 of 65. Target 4 × 3 = 12 → expected 12 × 33 / 65 = 6.0923…
    activity = slots(*[("Priya Patel", "2026-07-08", "core_new", "attended")] * 6)
    result = m1(activity, plans(("Priya Patel", 4, None, None, None, "2026-08-14")), Q2,
                date(2026, 9, 30))
    row = result.loc["Priya Patel"]
    assert row["available_days"] == 33
    assert row["expected_to_date"] == pytest.approx(12 * 33 / 65)
    # §5: "at quarter end it is against target": 12 − 6 = 6 (not 6.09 − 6 = 0.09, the reading
    # this test pinned before; the spec says the quarter's shortfall is what the target owes).
    assert row["shortfall"] == pytest.approx(6.0)
    assert row["status"] == "amber"  # thresholds stay on expected: 6 ≥ 0.8 × 6.09 = 4.87
    # …and the expectation does not grow after the leaving date: as of 14 Aug it is the same,
    # and there (before quarter end) the shortfall is against it: 6.0923 − 6 = 0.0923.
    earlier = m1(activity, plans(("Priya Patel", 4, None, None, None, "2026-08-14")), Q2,
                 date(2026, 8, 14)).loc["Priya Patel"]
    assert earlier["expected_to_date"] == pytest.approx(12 * 33 / 65)
    assert earlier["shortfall"] == pytest.approx(12 * 33 / 65 - 6)
    assert result.loc["Priya Patel", "available_to"] == pd.Timestamp("2026-08-14")


# A leaver (last day Fri 14 Aug, 33 of Q2's 65 working days) with 3 core sessions: target
# 3 × 3 = 9, expected 9 × 33 / 65 = 4.5692…, delivered 1. Before the quarter's last day the
# shortfall is against the expectation; from 30 Sep (and after: as-of is clipped) against the
# target, 9 − 1 = 8. Status stays on expected: 1 < 0.8 × 4.57 = 3.66 → red.
@pytest.mark.parametrize(
    ("as_of", "shortfall"),
    [
        (date(2026, 9, 29), 9 * 33 / 65 - 1),
        (date(2026, 9, 30), 8.0),
        (date(2026, 10, 15), 8.0),
    ],
)
def test_leaver_shortfall_at_quarter_end_is_against_the_target(as_of, shortfall):
    activity = slots(("Priya Patel", "2026-07-08", "core_new", "attended"))
    row = m1(activity, plans(("Priya Patel", 3, None, None, None, "2026-08-14")), Q2,
             as_of).loc["Priya Patel"]
    assert row["target"] == pytest.approx(9.0)
    assert row["expected_to_date"] == pytest.approx(9 * 33 / 65)
    assert row["shortfall"] == pytest.approx(shortfall)
    assert row["status"] == "red"


def test_choice_shortfall_at_quarter_end_is_against_the_choice_target():
    # 2 Choice a week × 11.25 = 22.5; a leaver on 14 Aug is expected 22.5 × 33 / 65 = 11.423;
    # 10 attended ≥ 0.8 × 11.42 = 9.14 → amber; at quarter end shortfall 22.5 − 10 = 12.5.
    activity = slots(*[("Priya Patel", "2026-07-02", "choice", "attended")] * 10)
    row = m1(activity, plans(("Priya Patel", 0, 2, None, None, "2026-08-14")), Q2,
             date(2026, 9, 30)).loc["Priya Patel"]
    assert row["choice_expected_to_date"] == pytest.approx(22.5 * 33 / 65)
    assert row["choice_shortfall"] == pytest.approx(12.5)
    assert row["choice_status"] == "amber"


def test_starter_expectation_starts_on_the_first_day():
    # Starting Tue 1 Sep 2026, as of Wed 30 Sep: September's 22 working days of 65 (the 31 Aug
    # bank holiday is before the start anyway). Target 2 × 3 = 6 → 6 × 22 / 65 = 2.0307…
    result = m1(slots(), plans(("Ali Khan", 2, None, None, "2026-09-01", None)), Q2,
                date(2026, 9, 30))
    assert result.loc["Ali Khan", "expected_to_date"] == pytest.approx(6 * 22 / 65)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 6, 30), 0.0),  # before the quarter starts: nothing expected yet
        (date(2026, 9, 30), 12.0),  # the last day: the whole target
        (date(2026, 12, 1), 12.0),  # after the quarter: clipped to its last day
    ],
)
def test_as_of_is_clipped_to_the_quarter(as_of, expected):
    result = m1(slots(("Jane Smith", "2026-10-01", "core_new", "attended")),
                plans(("Jane Smith", 4, None, None, None, None)), Q2, as_of)
    assert result.loc["Jane Smith", "expected_to_date"] == pytest.approx(expected)
    # The October appointment belongs to Q3, never to Q2.
    assert result.loc["Jane Smith", "delivered"] == 0


def test_delivered_and_offered_count_only_core_new_in_the_quarter_up_to_as_of():
    activity = slots(
        ("Jane Smith", "2026-06-30", "core_new", "attended"),  # Q1: not counted
        ("Jane Smith", "2026-07-01", "core_new", "attended"),  # delivered, offered
        ("Jane Smith", "2026-07-02", "core_new", "dna"),  # offered
        ("Jane Smith", "2026-07-03", "core_new", "late_not_seen"),  # offered
        ("Jane Smith", "2026-07-06", "core_new", "cancelled_by_client"),  # offered
        ("Jane Smith", "2026-07-07", "core_new", "unbooked"),  # offered (a slot put out)
        ("Jane Smith", "2026-07-08", "core_new", "cancelled_by_service"),  # not offered
        ("Jane Smith", "2026-07-09", "core_followup", "attended"),  # not a new Partnership
        ("Jane Smith", "2026-07-10", "core_new", "booked"),  # offered (blank outcome too)
        ("Jane Smith", "2026-07-20", "core_new", "attended"),  # after as-of: not counted
    )
    row = m1(activity, plans(("Jane Smith", 4, None, None, None, None)), Q2,
             date(2026, 7, 17)).loc["Jane Smith"]
    assert (row["delivered"], row["offered"]) == (1, 6)


def test_activity_without_a_plan_is_shown_with_no_target():
    activity = slots(("Bob Ray", "2026-07-01", "core_new", "attended"),
                     ("Bob Ray", "2026-07-02", "choice", "attended"))
    result = m1(activity, plans(("Jane Smith", 4, 2, None, None, None)), Q2, date(2026, 7, 17))
    bob = result.loc["Bob Ray"]
    assert (bob["status"], bob["choice_status"]) == ("no_target", "no_target")
    assert (bob["delivered"], bob["choice_delivered"]) == (1, 1)
    for column in ("target", "expected_to_date", "shortfall", "choice_target", "choice_shortfall"):
        assert np.isnan(bob[column])


def test_plan_without_activity_has_delivered_zero():
    result = m1(slots(), plans(("Jane Smith", 4, None, None, None, None)), Q2, date(2026, 7, 17))
    jane = result.loc["Jane Smith"]
    # 12 × 13 / 65 = 2.4 expected, none delivered → red, shortfall 2.4
    assert (jane["delivered"], jane["offered"], jane["status"]) == (0, 0, "red")
    assert jane["shortfall"] == pytest.approx(2.4)


def test_names_match_case_insensitively_and_plan_spelling_is_shown():
    activity = slots(("JANE SMITH", "2026-07-01", "core_new", "attended"))
    result = m1(activity, plans(("Jane Smith", 4, None, None, None, None)), Q2, date(2026, 7, 17))
    assert result.index.tolist() == ["Jane Smith"]
    assert result.loc["Jane Smith", "delivered"] == 1


@pytest.mark.parametrize("reverse", [False, True])
def test_a_clinician_without_a_plan_in_two_teams_shows_one_team_whatever_the_row_order(reverse):
    """Hand-worked: Ravi Raman has no plan; 2 of his quarter's rows are South's, 1 North's
    (North first in the export). He is shown in South, spelled as his first spelling
    alphabetically, with all 3 offers and 2 delivered counted; the order rows are read in
    (a store reads them team by team) changes nothing."""
    rows = [("ravi raman", "North", "2026-07-01", "attended"),
            ("Ravi Raman", "South", "2026-07-02", "attended"),
            ("Ravi Raman", "South", "2026-07-03", "dna")]
    activity = make_activity([
        {"clinician": name, "team": team, "date": day, "kind": "core_new", "outcome": outcome}
        for name, team, day, outcome in (reversed(rows) if reverse else rows)])
    result = m1(activity, plans(), Q2, date(2026, 7, 17))
    assert result.index.tolist() == ["Ravi Raman"]
    ravi = result.loc["Ravi Raman"]
    assert (ravi["team"], ravi["delivered"], ravi["offered"], ravi["status"]) == (
        "South", 2, 3, "no_target")


def test_a_plan_that_ended_before_the_quarter_is_left_out_unless_they_worked():
    result = m1(slots(), plans(("Old Leaver", 4, None, None, None, "2026-05-29")), Q2,
                date(2026, 7, 17))
    assert result.empty


def test_choice_is_measured_the_same_way():
    # 2 Choice a week × 11.25 = 22.5 a quarter; as of 17 Jul: 22.5 × 13 / 65 = 4.5.
    # 4 attended ≥ 0.8 × 4.5 = 3.6 → amber, shortfall 0.5. A Choice DNA is offered, not done.
    activity = slots(*[("Jane Smith", "2026-07-02", "choice", "attended")] * 4,
                     ("Jane Smith", "2026-07-03", "choice", "dna"))
    row = m1(activity, plans(("Jane Smith", 4, 2, None, None, None)), Q2,
             date(2026, 7, 17)).loc["Jane Smith"]
    assert row["choice_target"] == pytest.approx(22.5)
    assert row["choice_expected_to_date"] == pytest.approx(4.5)
    assert (row["choice_delivered"], row["choice_offered"]) == (4, 5)
    assert row["choice_shortfall"] == pytest.approx(0.5)
    assert row["choice_status"] == "amber"


# --- §4: no Core time, no target; a target of 0 only when the plan says 0 --------------------


def test_a_plan_without_core_time_or_target_has_no_target_with_its_reason():
    # Jane's plan gives no Core sessions and no Q2 target: NO target (never 0, never "on track
    # against 0"), though she delivered 2.
    activity = slots(*[("Jane Smith", "2026-07-06", "core_new", "attended")] * 2)
    row = m1(activity, plans(("Jane Smith", None, None, None, None, None)), Q2,
             date(2026, 7, 17)).loc["Jane Smith"]
    assert (row["status"], row["status_reason"]) == ("no_target", words.NO_CORE_TIME)
    assert words.NO_CORE_TIME == "the job plan gives no Core time or target"
    assert row["planned"] and row["target_source"] == "none"
    assert row["delivered"] == 2
    for column in ("target", "expected_to_date", "shortfall"):
        assert np.isnan(row[column]), column
    # no Choice figure either: no Choice target, not 0
    assert row["choice_status"] == "no_target" and np.isnan(row["choice_target"])


@pytest.mark.parametrize(
    ("core_sessions", "q2_target", "reason"),
    [
        (0.0, None, words.ZERO_CORE_TIME),  # explicit zero Core time: 0 × 3 = 0
        (4.0, 0.0, words.EXPLICIT_ZERO),  # explicit target of 0 overrides 4 × 3 = 12
        (None, 0.0, words.EXPLICIT_ZERO),
    ],
)
def test_a_target_of_0_comes_only_from_the_plan_and_says_so(core_sessions, q2_target, reason):
    row = m1(slots(), plans(("Jane Smith", core_sessions, None, q2_target, None, None)), Q2,
             date(2026, 7, 17)).loc["Jane Smith"]
    assert (row["target"], row["expected_to_date"], row["shortfall"]) == (0.0, 0.0, 0.0)
    assert row["status"] == "green"
    assert row["status_reason"] == reason


def test_an_ordinary_target_has_no_reason_and_no_plan_says_no_job_plan():
    activity = slots(("Bob Ray", "2026-07-01", "core_new", "attended"))
    result = m1(activity, plans(("Jane Smith", 4, 2, None, None, None)), Q2, date(2026, 7, 17))
    assert pd.isna(result.loc["Jane Smith", "status_reason"])
    assert bool(result.loc["Jane Smith", "planned"])
    bob = result.loc["Bob Ray"]
    assert (bob["status"], bob["status_reason"], bool(bob["planned"])) == (
        "no_target", "no job plan", False)


@pytest.mark.parametrize(
    ("available_from", "available_to", "as_of", "words_shown", "expected"),
    [
        # starts Tue 1 Sep, reviewed on 17 Jul: nothing expected yet (0 of 13 days)
        ("2026-09-01", None, date(2026, 7, 17), "starts 1 Sep: nothing expected yet", 0.0),
        # started Mon 3 Aug (1 Aug is a Saturday), reviewed on 30 Sep: all of August's 20
        # working days (31 Aug a bank holiday) + September's 22 = 42
        ("2026-08-03", None, date(2026, 9, 30), "started 3 Aug", 12 * 42 / 65),
        # leaves Fri 14 Aug: before it "leaves", after it "left" (33 of 65 days at the end)
        (None, "2026-08-14", date(2026, 7, 17), "leaves 14 Aug", 12 * 13 / 65),
        (None, "2026-08-14", date(2026, 8, 14), "leaves 14 Aug", 12 * 33 / 65),
        (None, "2026-08-14", date(2026, 9, 30), "left 14 Aug", 12 * 33 / 65),
        # a leaving date in another calendar year carries its year
        (None, "2027-01-08", date(2026, 9, 30), "leaves 8 Jan 2027", 12.0),
        # started before the quarter: nothing to say
        ("2026-04-01", None, date(2026, 7, 17), None, 12 * 13 / 65),
    ],
)
def test_start_and_leaving_dates_in_words(available_from, available_to, as_of, words_shown,
                                          expected):
    row = m1(slots(), plans(("Ali Khan", 4, None, None, available_from, available_to)), Q2,
             as_of).loc["Ali Khan"]
    assert row["expected_to_date"] == pytest.approx(expected)
    if words_shown is None:
        assert pd.isna(row["availability"])
    else:
        assert row["availability"] == words_shown
