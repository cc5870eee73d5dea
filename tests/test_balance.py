"""M3 balance: shares of attended clinical time in Choice / Core / Specific against the plan."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.balance import (
    CLINICIAN_BALANCE_COLUMNS,
    TEAM_BALANCE_COLUMNS,
    balance,
)
from capa_monitor.plan_targets import canonical_plans
from capa_monitor.settings import Settings

START, END = date(2026, 4, 1), date(2026, 7, 1)


def slots(clinician, kind, count, duration=None, outcome="attended", day="2026-04-15", team="North"):
    return [
        {"clinician": clinician, "team": team, "date": day, "kind": kind, "outcome": outcome,
         "duration_min": duration}
        for _ in range(count)
    ]


def plans(rows: list[dict]) -> pd.DataFrame:
    return canonical_plans(pd.DataFrame(rows))


ROWS = (
    # Ann: Choice 2 × 50 = 100, Core 10 × 60 (no length: the default 60) = 600,
    # Specific 5 × 60 = 300 -> 1000 min: 10 / 60 / 30 %.
    slots("Ann Bell", "choice", 2, duration=50)
    + slots("Ann Bell", "core_new", 4)
    + slots("Ann Bell", "core_followup", 6, duration=60)
    + slots("Ann Bell", "specific_new", 5)
    # none of these is clinical time in the period:
    + slots("Ann Bell", "specific_followup", 1, outcome="dna")
    + slots("Ann Bell", "specific_followup", 1, outcome="booked", day="2026-06-30")
    + slots("Ann Bell", "core_followup", 1, outcome="cancelled_by_client")
    + slots("Ann Bell", "other", 3)
    + slots("Ann Bell", "specific_followup", 1, day="2026-07-01")
    + slots("Ann Bell", "core_followup", 1, day="2026-03-31")
    # Cal (activity spelled in lower case, shown as the plan spells it): Choice 60, Core 2 × 60 = 120, Specific 7 × 60 = 420
    # -> 600 min: 10 / 20 / 70 %.
    + slots("cal dee", "choice", 1)
    + slots("cal dee", "core_new", 2)
    + slots("cal dee", "specific_followup", 7)
    # Dee: no job plan, Specific 60 -> 0 / 0 / 100 %, in team South.
    + slots("Dee Eve", "specific_new", 1, team="South")
)

PLANS = plans(
    [
        # Ann: Choice 2 appointments a week ÷ 2 per half-day = 1 half-day, Core 3, Specific 1
        # -> 5 half-days: 20 / 60 / 20 %. Specific 30 − 20 = 10 points: AT the margin, not flagged.
        {"clinician": "Ann Bell", "team": "North", "choice_per_week": 2, "core_sessions": 3,
         "specific_sessions": 1, "nonclinical_sessions": 4},
        # Cal: 1 + 2 + 2 = 5 half-days: 20 / 40 / 40 %. Specific 70 − 40 = 30 points: flagged.
        {"clinician": "Cal Dee", "team": "North", "choice_per_week": 2, "core_sessions": 2,
         "specific_sessions": 2},
        # Eve: planned, no activity: 0 / 100 / 0 % planned, no actual shares.
        {"clinician": "Eve Fox", "team": "North", "core_sessions": 4},
        # Fox left before the period: not listed.
        {"clinician": "Fox Gale", "team": "North", "core_sessions": 4,
         "available_to": "2026-03-31"},
    ]
)

NAN = np.nan
# clinician, team, choice/core/specific minutes, clinical minutes, shares, plan shares,
# excess, flagged
EXPECTED_CLINICIANS = [
    ("Ann Bell", "North", 100.0, 600.0, 300.0, 1000.0, 10.0, 60.0, 30.0, 20.0, 60.0, 20.0, 10.0, False),
    ("Cal Dee", "North", 60.0, 120.0, 420.0, 600.0, 10.0, 20.0, 70.0, 20.0, 40.0, 40.0, 30.0, True),
    ("Eve Fox", "North", 0.0, 0.0, 0.0, 0.0, NAN, NAN, NAN, 0.0, 100.0, 0.0, NAN, False),
    ("Dee Eve", "South", 0.0, 0.0, 60.0, 60.0, 0.0, 0.0, 100.0, NAN, NAN, NAN, NAN, False),
]
# North minutes: Choice 100 + 60 = 160, Core 600 + 120 = 720, Specific 300 + 420 = 720 of
# 1600 -> 10 / 45 / 45 %. Planned half-days: Choice 1 + 1 = 2, Core 3 + 2 + 4 = 9,
# Specific 1 + 2 = 3 of 14 -> 14.2857 / 64.2857 / 21.4286 %; excess 45 − 300/14 = 23.5714.
EXPECTED_TEAMS = [
    ("North", 160.0, 720.0, 720.0, 1600.0, 10.0, 45.0, 45.0, 200 / 14, 900 / 14, 300 / 14,
     45 - 300 / 14, True),
    ("South", 0.0, 0.0, 60.0, 60.0, 0.0, 0.0, 100.0, NAN, NAN, NAN, NAN, False),
]


def test_balance_per_clinician_and_team():
    per_clinician, per_team = balance(make_activity(ROWS), PLANS, START, END, Settings())
    assert list(per_clinician.columns) == list(CLINICIAN_BALANCE_COLUMNS)
    assert list(per_team.columns) == list(TEAM_BALANCE_COLUMNS)
    pd.testing.assert_frame_equal(
        per_clinician,
        pd.DataFrame(EXPECTED_CLINICIANS, columns=list(CLINICIAN_BALANCE_COLUMNS)),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        per_team,
        pd.DataFrame(EXPECTED_TEAMS, columns=list(TEAM_BALANCE_COLUMNS)),
        check_dtype=False,
    )


@pytest.mark.parametrize(
    ("specific_minutes", "flagged"),
    [
        # Plan: Choice 1 appointment = 0.5 half-day, Core 1.5, Specific 3.5 -> 5.5 half-days,
        # Specific 3.5 / 5.5 = 63.6364 %. Actual Choice 45 + Core 100 + Specific s.
        # s = 405: 405 / 550 = 73.6364 %, exactly 10 points over (in floats 10.000000000000007):
        (405, False),
        # s = 410: 410 / 555 = 73.8739 %, 10.2375 points over:
        (410, True),
    ],
)
def test_exactly_at_the_margin_is_not_flagged(specific_minutes, flagged):
    rows = (
        slots("Ann Bell", "choice", 1, duration=45)
        + slots("Ann Bell", "core_new", 1, duration=100)
        + slots("Ann Bell", "specific_new", 1, duration=specific_minutes)
    )
    plan = plans([{"clinician": "Ann Bell", "team": "North", "choice_per_week": 1,
                   "core_sessions": 1.5, "specific_sessions": 3.5}])
    per_clinician, _ = balance(make_activity(rows), plan, START, END, Settings())
    assert per_clinician["flagged"].tolist() == [flagged]


def test_margin_and_default_length_are_settings():
    # With a 30-minute default length, Ann's slots without a length count 30: Choice 100,
    # Core 4 × 30 + 6 × 60 = 480, Specific 5 × 30 = 150 -> 730 min; Specific 150 / 730 =
    # 20.548 % against 20 % planned: 0.548 points over a 0.5-point margin.
    settings = Settings(specific_margin_points=0.5, default_slot_minutes=30)
    per_clinician, _ = balance(make_activity(ROWS), PLANS, START, END, settings)
    ann = per_clinician.iloc[0]
    assert (ann["core_minutes"], ann["specific_minutes"], ann["clinical_minutes"]) == (480, 150, 730)
    assert ann["specific_excess_points"] == pytest.approx(100 * 150 / 730 - 20)
    assert ann["flagged"]


@pytest.mark.parametrize("reverse", [False, True])
def test_spellings_and_teams_of_one_clinician_whatever_the_row_order(reverse):
    """Hand-worked: Ann Bell's plan (North) names her; her activity spells her "ann bell"
    (North, 60 min Core) and "ANN BELL" (South, 120 min Specific): 180 minutes, shown as the
    plan spells her, in South (most of her time). Zoë Ár has no plan: "zoë ár" 30 min in
    East, "Zoë Ár" 30 min in West and 45 min with no team: shown as "Zoë Ár" (first
    alphabetically), in East (a tie of 30 and 30, alphabetical; minutes with no team are
    nobody's team)."""
    rows = (slots("ann bell", "core_new", 1, duration=60)
            + slots("ANN BELL", "specific_new", 1, duration=120, team="South")
            + slots("zoë ár", "choice", 1, duration=30, team="East")
            + slots("Zoë Ár", "choice", 1, duration=30, team="West")
            + slots("Zoë Ár", "core_new", 1, duration=45, team=None))
    plan = plans([{"clinician": "Ann Bell", "team": "North", "core_sessions": 2}])
    per_clinician, per_team = balance(make_activity(rows[::-1] if reverse else rows), plan,
                                      START, END, Settings())
    shown = per_clinician[["clinician", "team", "core_minutes", "specific_minutes",
                           "clinical_minutes"]]
    assert shown.values.tolist() == [["Zoë Ár", "East", 45.0, 0.0, 105.0],
                                     ["Ann Bell", "South", 60.0, 120.0, 180.0]]
    assert per_team["team"].tolist() == ["East", "South"]


def _reference_balance(activity, plans_frame, start, end, settings):
    """M3 written plainly with pandas (the implementation before issue 13's rewrite), the
    oracle for the randomised test below."""
    from capa_monitor.metrics.balance import _GROUP_OF_KIND, GROUPS, _with_shares
    from capa_monitor.metrics.targets import available_in
    from capa_monitor.names import clinician_keys

    in_period = activity[(activity["date"] >= pd.Timestamp(start))
                         & (activity["date"] < pd.Timestamp(end))]
    clinical = in_period[(in_period["outcome"] == "attended")
                         & in_period["kind"].isin(_GROUP_OF_KIND.keys())]
    spent = pd.DataFrame({
        "clinician": clinical["clinician"], "team": clinical["team"],
        "group": clinical["kind"].map(_GROUP_OF_KIND),
        "minutes": clinical["duration_min"].fillna(settings.default_slot_minutes)
        .astype("float64"),
    }).groupby(["clinician", "team", "group"], dropna=False, observed=True)["minutes"].sum()
    spent = spent.reset_index()
    spent["name_key"] = clinician_keys(spent["clinician"])
    by_clinician = (spent.groupby(["name_key", "group"])["minutes"].sum()
                    .unstack("group", fill_value=0.0).reindex(columns=list(GROUPS), fill_value=0.0)
                    .add_suffix("_minutes"))
    per_team = spent.groupby(["name_key", "team"], as_index=False)["minutes"].sum()
    main_team = (per_team.sort_values(["name_key", "minutes", "team"],
                                      ascending=[True, False, True], kind="stable")
                 .drop_duplicates("name_key").set_index("name_key")["team"])
    display_name = spent.groupby("name_key")["clinician"].first()
    chosen = plans_frame[available_in(plans_frame, start, end)]
    planned = pd.DataFrame({
        "name_key": clinician_keys(chosen["clinician"]), "clinician": chosen["clinician"],
        "team": chosen["team"],
        "plan_choice_half_days": chosen["choice_per_week"].astype("float64")
        / settings.appointments_per_half_day,
        "plan_core_half_days": chosen["core_sessions"].astype("float64"),
        "plan_specific_half_days": chosen["specific_sessions"].astype("float64"),
    }).drop_duplicates("name_key", keep="last").set_index("name_key")
    people = by_clinician.join(planned, how="outer")
    minutes = [f"{g}_minutes" for g in GROUPS]
    people[minutes] = people[minutes].fillna(0.0)
    people["clinician"] = planned["clinician"].reindex(people.index).fillna(display_name)
    people["team"] = main_team.reindex(people.index).fillna(planned["team"])
    clinicians = _with_shares(people, settings.specific_margin_points).sort_values(
        ["team", "clinician"], kind="stable")
    teams = people.groupby("team", dropna=False)[
        minutes + [f"plan_{g}_half_days" for g in GROUPS]].sum(min_count=1)
    return (clinicians[list(CLINICIAN_BALANCE_COLUMNS)].reset_index(drop=True),
            _with_shares(teams, settings.specific_margin_points).reset_index()[
                list(TEAM_BALANCE_COLUMNS)].reset_index(drop=True))


@pytest.mark.parametrize("seed", range(4))
def test_balance_equals_the_plain_pandas_reference_on_random_diaries(seed):
    """Spellings, teams (blank and missing among them), lengths, outcomes and plans at
    random: the same frames as the reference above, to the last float."""
    rng = np.random.default_rng(seed)
    names = ["Ann Bell", "ann  bell", "ANN BELL", "Cal Dee", "cal dee", "Zoë Ár", "zoë ár"]
    teams = ["North", "South", None, "", "Éast"]
    kinds = ["choice", "core_new", "core_followup", "specific_new", "specific_followup", "other"]
    for _ in range(60):
        rows = [{"clinician": rng.choice(names), "team": teams[rng.integers(len(teams))],
                 "date": str(date(2026, 3, 20) + pd.Timedelta(days=int(rng.integers(0, 120)))),
                 "kind": rng.choice(kinds),
                 "outcome": rng.choice(["attended"] * 5 + ["dna", "booked"]),
                 "duration_min": [None, 30, 45, 60, 90][rng.integers(5)]}
                for _ in range(rng.integers(1, 40))]
        plan = plans([{"clinician": rng.choice(names), "team": teams[rng.integers(len(teams))],
                       "choice_per_week": [None, 2, 4][rng.integers(3)],
                       "core_sessions": [None, 0, 3][rng.integers(3)],
                       "specific_sessions": [None, 1, 2][rng.integers(3)],
                       "available_to": [None, "2026-03-31", "2026-05-01"][rng.integers(3)]}
                      for _ in range(rng.integers(0, 6))]
                     or [{"clinician": "Nobody Here", "available_to": "2020-01-01"}])
        activity = make_activity(rows)
        for got, expected in zip(balance(activity, plan, START, END, Settings()),
                                 _reference_balance(activity, plan, START, END, Settings()),
                                 strict=True):
            pd.testing.assert_frame_equal(got, expected)
