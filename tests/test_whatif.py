"""§8 L4: what-if on job plans, worked by hand; nothing is saved until the manager says so.

As of Fri 20 Nov 2026. 2026/27 Q4 (Jan–Mar 2027) has 61 working days, January 20 of them.
Demand in Q4 is forecast from the 26 weeks to 20 Nov (128 working days): 120 Choice seen there
→ 120 × 61 / 128 = 57.19 Choice in Q4 × 0.67 (fewer than 30 clients) = 38.32 new Core
Partnerships. Targets: 3 × Core sessions.
"""

from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.errors import CapaError
from capa_monitor.periods import Quarter
from capa_monitor.store import Store
from capa_monitor.whatif import Leave, Leaving, MoveSessions, Starter, compare, try_changes

Q3, Q4 = Quarter(2026, 3), Quarter(2026, 4)
AS_OF = date(2026, 11, 20)
DEMAND_Q4 = 120 * 61 / 128 * 0.67
ACTIVITY = make_activity([{"clinician": "Ben Cole", "team": "North", "date": "2026-10-14",
                           "kind": "choice", "outcome": "attended"}] * 120)


def plans():
    frame = pd.DataFrame([
        {"clinician": "Aisha Khan", "team": "North", "core_sessions": 5, "choice_per_week": 4,
         "specific_sessions": 1},
        {"clinician": "Ben Cole", "team": "North", "core_sessions": 3, "choice_per_week": 2,
         "specific_sessions": 2},
    ])
    return frame


def by_clinician(result, quarter):
    frame = result.clinicians[result.clinicians["quarter"] == quarter.label]
    return frame.set_index("clinician")


def test_core_sessions_move_from_a_person_going_on_leave_to_choice_and_to_a_colleague():
    # Aisha goes on maternity leave from Mon 1 Feb 2027; until then she takes 2 of her 5 Core
    # sessions to Choice (4 → 8 appointments a week) and Ben takes the other 3 (3 → 6 Core).
    before = plans()
    trial = try_changes(before, [
        Leave("Aisha Khan", starts=date(2027, 2, 1)),
        MoveSessions("Aisha Khan", 2, "core", "choice"),
        MoveSessions("Aisha Khan", 3, "core", "core", to_clinician="Ben Cole"),
    ])
    aisha, ben = trial.plans.set_index("clinician").loc[["Aisha Khan", "Ben Cole"]].to_dict("records")
    assert (aisha["core_sessions"], aisha["choice_per_week"], aisha["specific_sessions"]) == (0, 8, 1)
    assert aisha["available_to"] == pd.Timestamp("2027-01-31")
    assert (ben["core_sessions"], ben["choice_per_week"]) == (6, 2)
    assert trial.changed == ("Aisha Khan", "Ben Cole")
    assert before.loc[0, "core_sessions"] == 5  # the plans given are left alone

    result = compare(ACTIVITY, before, trial, [Q3, Q4], AS_OF)
    q4 = result.team.set_index("quarter").loc[Q4.label]
    assert q4["demand"] == pytest.approx(DEMAND_Q4)
    # before: 15 + 9 = 24; after: Aisha 0 (0 Core sessions), Ben 18
    assert (q4["capacity_before"], q4["capacity_after"]) == (24, 18)
    assert q4["words_before"] == "capacity short by 14 new Core Partnerships a quarter"  # 14.3
    assert q4["words_after"] == "capacity short by 20 new Core Partnerships a quarter"  # 20.3
    rows = by_clinician(result, Q4)
    assert rows.loc["Aisha Khan", ["target_before", "target_after"]].tolist() == [15, 0]
    assert rows.loc["Ben Cole", ["target_before", "target_after"]].tolist() == [9, 18]
    assert rows["changed"].all()


def test_a_leave_alone_clips_the_quarter_to_the_days_before_it():
    trial = try_changes(plans(), [Leave("Aisha Khan", starts=date(2027, 2, 1))])
    rows = by_clinician(compare(ACTIVITY, plans(), trial, [Q4], AS_OF), Q4)
    # 15 × 20 of 61 working days (January) = 4.92; her full-quarter target stays 15
    assert rows.loc["Aisha Khan", "available_after"] == pytest.approx(15 * 20 / 61)
    assert rows.loc["Aisha Khan", "target_after"] == 15
    assert not rows.loc["Ben Cole", "changed"]


def test_a_leaving_date_and_a_new_starter():
    trial = try_changes(plans(), [
        Leaving("Ben Cole", date(2026, 12, 31)),
        Starter("Eve Shaw", date(2027, 2, 1), team="North", core_sessions=4),
    ])
    result = compare(ACTIVITY, plans(), trial, [Q4], AS_OF)
    q4 = result.team.iloc[0]
    # after: Aisha 15, Ben gone, Eve 12 × 41 / 61 (February 20 + March 21 working days)
    assert q4["capacity_after"] == pytest.approx(15 + 12 * 41 / 61)  # 23.07
    rows = by_clinician(result, Q4)
    assert pd.isna(rows.loc["Eve Shaw", "target_before"])
    assert rows.loc["Eve Shaw", "target_after"] == 12
    assert rows.loc["Ben Cole", "available_after"] == 0
    assert trial.words() == ("Ben Cole leaves on 31 Dec 2026; Eve Shaw starts on 1 Feb 2027 "
                             "with 4 Core sessions a week")


def test_explicit_targets_follow_moved_core_sessions():
    frame = plans().assign(q4_target=[20.0, None])
    trial = try_changes(frame, [MoveSessions("Aisha Khan", 1, "core", "specific")])
    aisha = trial.plans.set_index("clinician").loc["Aisha Khan"]
    assert (aisha["core_sessions"], aisha["specific_sessions"]) == (4, 2)
    assert aisha["q4_target"] == 16  # 20 × 4 / 5
    assert trial.notes == ("Aisha Khan's explicit quarterly targets are scaled with their Core "
                           "sessions (5 to 4 a week).",)


def test_a_leave_with_a_return_keeps_the_start_and_says_why():
    trial = try_changes(plans(), [Leave("Aisha Khan", date(2027, 2, 1), date(2027, 11, 1))])
    assert trial.plans.loc[0, "available_to"] == pd.Timestamp("2027-01-31")
    assert pd.isna(trial.plans.loc[0, "available_from"])
    assert "return on 1 Nov 2027 is not in the trial" in trial.notes[0]
    back = try_changes(plans(), [Leave("Aisha Khan", returns=date(2027, 2, 1))])
    assert back.plans.loc[0, "available_from"] == pd.Timestamp("2027-02-01")


@pytest.mark.parametrize(("change", "message"), [
    (MoveSessions("Aisha Khan", 6, "core", "choice"),
     "Aisha Khan's job plan has 5 Core sessions a week, fewer than the 6 to move."),
    (MoveSessions("Aisha Khan", 3, "choice", "core"),  # 4 appointments = 2 sessions
     "Aisha Khan's job plan has 2 Choice sessions a week, fewer than the 3 to move."),
    (Leaving("Nobody Here", date(2027, 1, 1)),
     "There is no job plan for 'Nobody Here' to change; add it as a new starter or on the Job "
     "plans page."),
    (Starter("ben cole", date(2027, 1, 4)),
     "ben cole already has a job plan; change it rather than adding them as a starter."),
])
def test_a_change_that_cannot_apply_is_refused_in_one_sentence(change, message):
    with pytest.raises(CapaError) as refused:
        try_changes(plans(), [change])
    assert str(refused.value) == message


def test_saving_a_trial_is_an_ordinary_audited_plan_change(sqlite_url):
    store = Store.open(sqlite_url)
    store.save_jobplans(plans(), user="manager@example.org", source="job plans page")
    trial = try_changes(store.jobplans(), [Leaving("Ben Cole", date(2026, 12, 31))])
    assert list(trial.changed_plans["clinician"]) == ["Ben Cole"]
    saved = store.save_jobplans(trial.changed_plans, user="manager@example.org",
                                source=f"what-if: {trial.words()}")
    assert saved == 1
    stored = store.jobplans().set_index("clinician")
    assert stored.loc["Ben Cole", "available_to"] == pd.Timestamp("2026-12-31")
    assert pd.isna(stored.loc["Aisha Khan", "available_to"])
    assert "what-if: Ben Cole leaves on 31 Dec 2026" in store.jobplan_history()["source"].tolist()
