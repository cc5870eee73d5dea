"""§8 L1 (projected quarter end) and L2 (next quarter's diary), worked by hand.

The fixture: team North, 2026/27 Q3 (1 Oct – 31 Dec 2026), as of Fri 20 Nov 2026. The
non-attendance lookback is 13 weeks: slots dated after 21 Aug 2026 (20 Nov − 91 days) and on
or before 20 Nov count. Q4 (1 Jan – 31 Mar 2027) has 61 working days: January 20 (New Year's
Day off), February 20, March 21 (Good Friday 26 and Easter Monday 29 March off).
"""

from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.ahead import needs_words, next_diary, projection
from capa_monitor.metrics.targets import against_target
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

Q2, Q3, Q4 = Quarter(2026, 2), Quarter(2026, 3), Quarter(2026, 4)
AS_OF = date(2026, 11, 20)


def rows(clinician, day, outcome, count=1, kind="core_new", team="North"):
    return [{"clinician": clinician, "date": day, "kind": kind, "outcome": outcome,
             "team": team}] * count


def plans(*entries):
    """(clinician, core_sessions, available_from, available_to) per row; team North."""
    frame = pd.DataFrame(entries, columns=["clinician", "core_sessions", "available_from",
                                           "available_to"])
    frame["team"] = "North"
    for column in ("available_from", "available_to"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


# Aisha Khan (5 sessions: target 15): 10 attended and 2 DNA/WNB in Q3, 1 attended on 22 Aug
# (inside the lookback), 1 DNA/WNB on 21 Aug (outside: the lookback starts after that day);
# 8 booked ahead in December, 1 cancelled by the family ahead (neither booked nor free);
# Q4: 12 booked, 1 free, 1 cancelled by the service (not in the diary).
# Ben Cole (3 sessions: target 9): 2 attended, 1 DNA/WNB; 5 booked and 2 free ahead; nothing
# in Q4. Cara Dunn (4 sessions: target 12) leaves on Fri 13 Nov: 6 attended.
# Dev Patel: no job plan, one Choice seen. Fay Green starts Mon 1 Feb 2027 (4 sessions): 3 in Q4.
ACTIVITY = make_activity(
    rows("Aisha Khan", "2026-10-05", "attended", 10)
    + rows("Aisha Khan", "2026-10-12", "dna", 2)
    + rows("Aisha Khan", "2026-08-22", "attended")
    + rows("Aisha Khan", "2026-08-21", "dna")
    + rows("Aisha Khan", "2026-12-07", "booked", 8)
    + rows("Aisha Khan", "2026-12-08", "cancelled_by_client")
    + rows("Aisha Khan", "2027-01-11", "booked", 12)
    + rows("Aisha Khan", "2027-01-12", "unbooked")
    + rows("Aisha Khan", "2027-01-13", "cancelled_by_service")
    + rows("Ben Cole", "2026-10-06", "attended", 2)
    + rows("Ben Cole", "2026-10-07", "dna")
    + rows("Ben Cole", "2026-12-01", "booked", 5)
    + rows("Ben Cole", "2026-12-02", "unbooked", 2)
    + rows("Cara Dunn", "2026-10-08", "attended", 6)
    + rows("Dev Patel", "2026-10-09", "attended", kind="choice")
    + rows("Fay Green", "2027-02-03", "booked", 3)
)
PLANS = plans(
    ("Aisha Khan", 5, None, None),
    ("Ben Cole", 3, None, None),
    ("Cara Dunn", 4, None, "2026-11-13"),
    ("Fay Green", 4, "2027-02-01", None),
)


def l1(activity=ACTIVITY, plan_frame=PLANS, quarter=Q3, as_of=AS_OF, settings=DEFAULT_SETTINGS):
    targets = quarterly_targets(plan_frame, quarter, settings)
    clinicians = against_target(activity, targets, quarter, as_of, settings)
    return clinicians.join(projection(activity, clinicians, quarter, as_of, settings)
                           ).set_index("clinician")


def test_booked_slots_carry_a_clinician_over_target():
    row = l1().loc["Aisha Khan"]
    assert (row["target"], row["delivered"]) == (15, 10)
    assert (row["booked_ahead"], row["free_ahead"]) == (8, 0)
    # own rate: 2 missed of 13 (10 + 2 in Q3, 1 on 22 Aug; 21 Aug is outside the lookback)
    assert row["rate_basis"] == "own"
    assert row["nonattendance_rate"] == pytest.approx(2 / 13)
    # 10 + 8 × 11/13 = 16.77 ≥ 15
    assert row["projected"] == pytest.approx(10 + 8 * 11 / 13)
    assert row["to_find"] == 0
    assert row["projection_words"] == "on course"


def test_too_few_own_slots_take_the_team_rate():
    row = l1().loc["Ben Cole"]
    assert (row["booked_ahead"], row["free_ahead"]) == (5, 2)
    # own base 3 < 10: the team's, 3 missed (Aisha 2, Ben 1) of 22 (Aisha 13, Ben 3, Cara 6)
    assert row["rate_basis"] == "team"
    assert row["nonattendance_rate"] == pytest.approx(3 / 22)
    assert row["projected"] == pytest.approx(2 + 5 * 19 / 22)  # 6.32
    assert row["to_find"] == pytest.approx(9 - 2 - 5 * 19 / 22)  # 2.68: three whole slots
    assert row["projection_words"] == "needs 3 more slots"


def test_a_leaver_is_projected_against_the_full_target():
    row = l1().loc["Cara Dunn"]
    assert row["availability"] == "left 13 Nov"
    assert (row["booked_ahead"], row["projected"]) == (0, 6)
    assert row["to_find"] == 6  # 12 − 6: the team still has to find them
    # she cannot book them: the words say who has to
    assert row["projection_words"] == "left: 6 for the team to find"


def test_no_target_gets_a_projection_but_no_words():
    row = l1().loc["Dev Patel"]
    assert row["status"] == "no_target"
    assert row["projected"] == 0
    assert pd.isna(row["to_find"]) and pd.isna(row["projection_words"])


def test_the_minimum_own_slots_is_a_setting():
    # with a minimum of 3, Ben's own 3 slots count: rate 1/3, projected 2 + 5 × 2/3
    row = l1(settings=Settings(nonattendance_min_slots=3)).loc["Ben Cole"]
    assert row["rate_basis"] == "own"
    assert row["projected"] == pytest.approx(2 + 10 / 3)


def test_a_team_with_no_recent_slots_counts_booked_slots_in_full():
    activity = make_activity(rows("Gus Hill", "2026-12-01", "booked", 4, team="South"))
    frame = plans(("Gus Hill", 2, None, None)).assign(team="South")
    row = l1(activity, frame).loc["Gus Hill"]
    assert (row["rate_basis"], row["projected"], row["to_find"]) == ("none", 4, 2)  # 6 − 4


def test_a_planned_clinician_in_a_view_with_no_rows_is_projected_on_nothing():
    # a team whose uploads were all removed, its plan kept: no rows, so no clinician keys
    row = l1(ACTIVITY.iloc[0:0], plans(("Gus Hill", 2, None, None))).loc["Gus Hill"]
    assert (row["delivered"], row["booked_ahead"], row["free_ahead"]) == (0, 0, 0)
    assert (row["rate_basis"], row["projected"], row["to_find"]) == ("none", 0, 6)


def test_never_for_a_quarter_that_has_ended():
    ended = l1(quarter=Q2)
    assert ended["projection_words"].isna().all()
    assert ended["booked_ahead"].isna().all()
    # …nor on the quarter's last day
    assert l1(as_of=date(2026, 12, 31))["projected"].isna().all()


@pytest.mark.parametrize(("to_find", "text"), [
    (0.0, "on course"), (0.2, "needs 1 more slot"), (1.0, "needs 1 more slot"),
    (2.0000000001, "needs 2 more slots"), (2.01, "needs 3 more slots"),
])
def test_needs_words_round_up_to_whole_slots(to_find, text):
    assert needs_words(to_find) == text


def diary(as_of=AS_OF, settings=DEFAULT_SETTINGS):
    found = next_diary(ACTIVITY, PLANS, Q3, as_of, settings)
    return found, found.clinicians.set_index("clinician")


def test_next_quarter_diary_from_six_weeks_before():
    found, rows_ = diary()
    assert found.quarter == Q4
    assert found.ready_at == date(2026, 11, 20)  # 1 Jan 2027 − 42 days
    assert found.checked
    assert sorted(rows_.index) == ["Aisha Khan", "Ben Cole", "Fay Green"]  # Cara has left
    aisha = rows_.loc["Aisha Khan"]
    # 12 booked + 1 free = 13 (the cancelled-by-service slot is not); 13 ≥ 0.8 × 15 = 12
    assert (aisha["in_diary"], aisha["next_target"], aisha["diary_flag"]) == (13, 15, False)
    assert aisha["diary_words"] == "diary ready (13 of 15 in the 2026/27 Q4 diary)"


def test_next_quarter_with_no_slots_in_the_diary():
    ben = diary()[1].loc["Ben Cole"]
    assert (ben["in_diary"], ben["next_target"], ben["diary_flag"]) == (0, 9, True)
    assert ben["slots_missing"] == 9
    assert ben["diary_words"] == "no slots in the 2026/27 Q4 diary yet: 9 slots missing"


def test_a_starter_is_measured_pro_rata_to_availability():
    fay = diary()[1].loc["Fay Green"]
    # 12 × 41 of 61 working days (February 20 + March 21) = 8.07; 3 < 0.8 × 8.07 = 6.45
    assert fay["next_target"] == pytest.approx(12 * 41 / 61)
    assert (fay["in_diary"], fay["diary_flag"], fay["slots_missing"]) == (3, True, 6)  # ⌈5.07⌉
    assert fay["diary_words"] == "6 slots missing (3 of 8 in the 2026/27 Q4 diary)"


def test_no_flag_before_the_lead_time():
    found, rows_ = diary(as_of=date(2026, 11, 19))
    assert not found.checked and found.flagged.empty
    assert rows_.loc["Ben Cole", "diary_words"] == (
        "0 of 9 in the 2026/27 Q4 diary; checked from 20 Nov")
    # eight weeks' lead: checked from 6 Nov
    assert diary(as_of=date(2026, 11, 19), settings=Settings(diary_lead_weeks=8))[0].checked


def test_the_ready_share_is_a_setting():
    # at 0.5, Fay's 3 of 8.07 is still short (4.03), Aisha's 13 of 15 is ready
    flagged = diary(settings=Settings(diary_ready_fraction=0.5))[0].flagged
    assert sorted(flagged["clinician"]) == ["Ben Cole", "Fay Green"]
    # at 0.35 Fay's 3 ≥ 2.82
    flagged = diary(settings=Settings(diary_ready_fraction=0.35))[0].flagged
    assert list(flagged["clinician"]) == ["Ben Cole"]


def test_no_next_diary_once_the_next_quarter_has_started():
    assert next_diary(ACTIVITY, PLANS, Q2, AS_OF) is None


def test_the_shortfall_download_lists_next_quarters_diary_as_a_third_part():
    import csv
    import io

    from capa_monitor.exports import PART3_TITLE, shortfall_csv
    from capa_monitor.metrics.review import review

    result = review(ACTIVITY, PLANS, Q3, as_of=AS_OF)
    # the review's clinicians carry L1 and L2 beside M1; the starter is in next_diary only
    assert result.clinicians.set_index("clinician").loc["Ben Cole", "diary_words"] == (
        "no slots in the 2026/27 Q4 diary yet: 9 slots missing")
    assert "Fay Green" not in set(result.clinicians["clinician"])
    rows = list(csv.reader(io.StringIO(shortfall_csv(result).decode("utf-8-sig"))))
    assert ["Next quarter's diary", "2026/27 Q4, checked from 20 Nov 2026"] in rows
    part3 = rows.index([PART3_TITLE])
    assert rows[part3 + 1] == ["Team", "Clinician", "Target (next quarter)", "In the diary",
                               "Slots missing", "Diary"]
    assert rows[part3 + 2:] == [
        ["North", "Ben Cole", "9.0", "0", "9",
         "no slots in the 2026/27 Q4 diary yet: 9 slots missing"],
        ["North", "Fay Green", "8.1", "3", "6", "6 slots missing (3 of 8 in the 2026/27 Q4 diary)"],
    ]


def test_the_json_review_carries_l1_and_l2_named_as_in_the_spec():
    import json

    from capa_monitor.cli.review_cmds import review_json, review_table
    from capa_monitor.metrics.review import review

    result = review(ACTIVITY, PLANS, Q3, as_of=AS_OF)
    document = json.loads(json.dumps(review_json(result), allow_nan=False))
    people = {c["clinician"]: c for c in document["clinicians"]}
    aisha, ben, dev = people["Aisha Khan"], people["Ben Cole"], people["Dev Patel"]
    assert (aisha["booked_ahead"], aisha["free_ahead"], aisha["to_find"]) == (8, 0, 0)
    assert aisha["projected"] == pytest.approx(10 + 8 * 11 / 13)
    assert (aisha["in_diary"], aisha["next_target"], aisha["diary_flag"]) == (13, 15, False)
    assert (ben["booked_ahead"], ben["free_ahead"], ben["in_diary"], ben["slots_missing"]) == (
        5, 2, 0, 9)
    assert ben["to_find"] == pytest.approx(9 - 2 - 5 * 19 / 22)
    assert ben["projection_words"] == "needs 3 more slots"
    assert (dev["to_find"], dev["in_diary"], dev["next_target"]) == (None, None, None)
    assert document["next_diary"] == {"quarter": "2026/27 Q4", "ready_at": "2026-11-20",
                                      "checked": True, "clinicians_short": 2,
                                      "slots_missing": 15}  # Ben 9 + Fay 6
    table = review_table(result)
    assert ("  Ben Cole: needs 3 more slots (projected 6.3: 5 booked, 2 free ahead); next "
            "quarter: no slots in the 2026/27 Q4 diary yet: 9 slots missing") in table
