"""review(): one quarter's M1 + M2 per clinician, its lost slots, and the other metrics."""

import dataclasses
import re
from datetime import date

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.loading.normalise import _derived_slot_ids
from capa_monitor.metrics import words
from capa_monitor.metrics.review import CLINICIAN_COLUMNS, Review, review
from capa_monitor.periods import Quarter

Q1, Q2 = Quarter(2026, 1), Quarter(2026, 2)

# (slot, clinician, team, date, kind, outcome, client, booked_on)
ROWS = [
    ("A1", "Jane Smith", "North", "2026-06-25", "core_new", "dna", "c1", None),  # Q1, lost
    ("A2", "Jane Smith", "North", "2026-07-06", "core_new", "attended", "c1", "2026-06-26"),
    ("A3", "Jane Smith", "North", "2026-07-07", "core_new", "attended", "c2", None),
    ("A4", "Jane Smith", "North", "2026-07-08", "choice", "dna", "c3", None),  # lost, no evidence
    ("A5", "Bob Ray", "North", "2026-07-09", "core_new", "attended", "c4", None),  # no plan
    ("A6", "Jane Smith", "North", "2026-07-17", "core_new", "unbooked", None, None),  # pending
    ("A7", "Jane Smith", "North", "2026-08-20", "core_new", "booked", "c5", "2026-07-10"),
    ("B1", "Ann Lee", "South", "2026-07-09", "core_new", "dna", "c6", None),
    ("B2", "Ann Lee", "South", "2026-07-13", "core_new", "attended", "c7", None),
]
PLANS = pd.DataFrame(
    {
        "clinician": ["Jane Smith", "Ann Lee", "Nia Cole"],
        "team": ["North", "South", "North"],
        "core_sessions": [4.0, 3.0, 2.0],
        "choice_per_week": [2.0, 1.0, 0.0],
        "available_to": pd.to_datetime([None, None, "2026-08-14"]),
    }
)


def activity_frame(rows):
    """rows of (slot, clinician, team, date, kind, outcome, client, booked_on) → canonical."""
    fields = ("slot_id", "clinician", "team", "date", "kind", "outcome", "client_key", "booked_on")
    return make_activity([{**dict(zip(fields, row, strict=True)), "duration_min": 60} for row in rows])


@pytest.fixture
def activity():
    return activity_frame(ROWS)


def test_north_in_q2(activity):
    result = review(activity, PLANS, Q2, teams=["north"])
    # A6 (17 Jul) is unbooked and A7 a future booking, so neither moves the as-of date: the
    # latest attended or missed North appointment is A5 on 9 Jul.
    assert (result.as_of, result.as_of_source) == (date(2026, 7, 9), "data")
    assert result.teams == ("north",)
    clinicians = result.clinicians.set_index("clinician")
    assert list(result.clinicians.columns) == list(CLINICIAN_COLUMNS)
    # South's Ann Lee is not in North's review.
    assert sorted(clinicians.index) == ["Bob Ray", "Jane Smith", "Nia Cole"]
    jane = clinicians.loc["Jane Smith"]
    # 1–3 Jul (3) + 6–9 Jul (4) = 7 of 65 working days; target 12 → 12 × 7 / 65 = 1.2923;
    # delivered 2 (A2, A3) → green, shortfall 0.
    assert jane["expected_to_date"] == pytest.approx(12 * 7 / 65)
    assert (jane["delivered"], jane["offered"], jane["status"]) == (2, 2, "green")
    # Lost in Q2 up to 9 Jul: A4 only (A6 on 17 Jul is after the as-of date).
    assert (jane["lost"], jane["reoffered"], jane["pending"], jane["not_reoffered"]) == (1, 0, 1, 0)
    assert clinicians.loc["Bob Ray", "status"] == "no_target"
    nia = clinicians.loc["Nia Cole"]
    assert (nia["delivered"], nia["status"]) == (0, "red")
    assert nia["leaving_date"] == pd.Timestamp("2026-08-14")
    assert result.lost_slots["slot_id"].tolist() == ["A4"]


def test_lost_slot_status_does_not_depend_on_the_quarter_viewed(activity):
    # A1 (Q1, 25 Jun) was rebooked by the family for 6 Jul (A2, in Q2): Q1's review lists it
    # as re-offered, Q2's review does not list it at all.
    q1 = review(activity, PLANS, Q1, as_of=date(2026, 7, 17), teams=["North"])
    assert q1.lost_slots[["slot_id", "status", "evidence_slot_id"]].values.tolist() == [
        ["A1", "reoffered_client", "A2"]
    ]
    q2 = review(activity, PLANS, Q2, as_of=date(2026, 7, 17), teams=["North"])
    assert q2.as_of_source == "given"
    # A4 (8 Jul, Choice) and A6 (17 Jul, unbooked; A7 was booked on 10 Jul, before A6 was
    # lost, so it is no replacement): both still inside their 28-day windows.
    assert q2.lost_slots[["slot_id", "status"]].values.tolist() == [
        ["A4", "pending"], ["A6", "pending"]
    ]
    assert "A1" not in q2.lost_slots["slot_id"].tolist()


def test_all_teams_and_the_other_metrics_are_frames(activity):
    result = review(activity, PLANS, Q2)
    assert result.teams is None
    assert result.teams_label == "All teams"
    assert "Ann Lee" in result.clinicians["clinician"].tolist()
    for name in ("balance", "balance_teams", "drift", "waits", "flow_summary", "dropoff",
                 "spc_weekly", "spc_dna"):
        assert isinstance(getattr(result, name), pd.DataFrame), name


def test_review_is_frozen(activity):
    result = review(activity, PLANS, Q2)
    assert isinstance(result, Review)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.as_of = date(2026, 1, 1)


def test_no_attended_or_missed_appointment_reviews_to_the_quarter_end(activity):
    booked_only = activity[activity["outcome"] == "booked"]
    result = review(booked_only, PLANS, Q2, teams=["North"])
    assert (result.as_of, result.as_of_source) == (Q2.last_day, "no data")


# Family c1 missed a North new Core slot on Wed 1 Jul and was rebooked with South's Ann Lee for
# Fri 10 Jul. Rule 2 is "the same client_key … any clinician", so the North slot is re-offered
# whichever teams are viewed. South's own DNA (S2, 2 Jul) never appears in North's review.
# As of: North's latest attended or missed date is 14 Jul (N2); South's (S3) is 20 Jul.
ACROSS_TEAMS = [
    ("N1", "Jane Smith", "North", "2026-07-01", "core_new", "dna", "c1", None),
    ("N2", "Jane Smith", "North", "2026-07-14", "core_new", "attended", "c3", None),
    ("S1", "Ann Lee", "South", "2026-07-10", "core_new", "attended", "c1", "2026-07-02"),
    ("S2", "Ann Lee", "South", "2026-07-02", "core_new", "dna", "c2", None),
    ("S3", "Ann Lee", "South", "2026-07-20", "core_new", "attended", "c4", None),
]


@pytest.mark.parametrize("teams", [["North"], [" north "], ["North", "East"]])
def test_a_family_rebooked_in_another_team_is_reoffered_in_the_viewed_team(teams):
    result = review(activity_frame(ACROSS_TEAMS), PLANS, Q2, teams=teams)
    assert result.as_of == date(2026, 7, 14)
    assert result.lost_slots[["slot_id", "status", "evidence_slot_id", "evidence_clinician"]
                             ].values.tolist() == [["N1", "reoffered_client", "S1", "Ann Lee"]]
    jane = result.clinicians.set_index("clinician").loc["Jane Smith"]
    assert (jane["lost"], jane["reoffered"], jane["not_reoffered"]) == (1, 1, 0)
    assert "Ann Lee" not in result.clinicians["clinician"].tolist()


def test_every_team_viewed_lists_both_teams_lost_slots():
    # As of 20 Jul (S3). S2 (2 Jul, c2): no later slot for c2; the only Ann Lee slot booked on
    # or after 2 Jul is S1, already taken by N1 (1 Jul, earlier in matching order); S3 has no
    # booked_on. No evidence, and its window runs to 30 Jul > 20 Jul → pending.
    result = review(activity_frame(ACROSS_TEAMS), PLANS, Q2)
    assert result.as_of == date(2026, 7, 20)
    assert result.lost_slots[["slot_id", "status"]].values.tolist() == [
        ["N1", "reoffered_client"], ["S2", "pending"]
    ]


# Plans with a blank team belong to the team their clinician works in (names matched as M1
# matches them: case and spacing ignored). Cara Dunn works in North, Dev Shah in South.
BLANK_TEAM_ACTIVITY = [
    ("N1", "CARA  DUNN", "North", "2026-07-06", "core_new", "attended", "c1", None),
    ("S1", "Dev Shah", "South", "2026-07-06", "core_new", "attended", "c2", None),
]


@pytest.mark.parametrize("blank", [None, "", "   "])
@pytest.mark.parametrize(
    ("teams", "shown"),
    [
        (["North"], ["Cara Dunn", "Eve Ford"]),
        (["South"], ["Dev Shah"]),
        (None, ["Cara Dunn", "Dev Shah", "Eve Ford"]),
    ],
)
def test_a_plan_with_a_blank_team_shows_in_its_clinicians_team(blank, teams, shown):
    plans = pd.DataFrame(
        {
            "clinician": ["Cara Dunn", "Dev Shah", "Eve Ford"],
            "team": [blank, blank, "North"],
            "core_sessions": [3.0, 2.0, 1.0],
        }
    )
    result = review(activity_frame(BLANK_TEAM_ACTIVITY), plans, Q2, teams=teams)
    clinicians = result.clinicians.set_index("clinician")
    assert sorted(clinicians.index) == shown
    # A blank-team plan still gives its target: Cara 3 sessions × 3 = 9, Dev 2 × 3 = 6.
    if "Cara Dunn" in shown:
        assert clinicians.loc["Cara Dunn", "target"] == pytest.approx(9.0)
        assert clinicians.loc["Cara Dunn", "status"] != "no_target"
    if "Dev Shah" in shown:
        assert clinicians.loc["Dev Shah", "target"] == pytest.approx(6.0)


# --- the headline counts planned clinicians with a target only (issue 12) -------------------

# Q2 as of Fri 17 Jul 2026: 13 of 65 working days.
# Ann Lee: 4 sessions → 12, expected 12 × 13 / 65 = 2.4, delivered 1 < 0.8 × 2.4 → behind.
# Ben Ray: 2 sessions → 6, expected 1.2, delivered 2 → on track.
# Cal Cox: a plan with no Core time and no Q2 target: no target, delivered 3.
# Dee Hart: no plan at all, delivered 4.
HEADLINE_PLANS = pd.DataFrame(
    {
        "clinician": ["Ann Lee", "Ben Ray", "Cal Cox"],
        "team": ["North"] * 3,
        "core_sessions": [4.0, 2.0, None],
    }
)


def _delivered(name, count, first):
    return [(f"{first}{n}", name, "North", "2026-07-06", "core_new", "attended", f"{first}c{n}", None)
            for n in range(count)]


def test_headline_counts_only_planned_clinicians_with_a_target():
    rows = (_delivered("Ann Lee", 1, "A") + _delivered("Ben Ray", 2, "B")
            + _delivered("Cal Cox", 3, "C") + _delivered("Dee Hart", 4, "D"))
    result = review(activity_frame(rows), HEADLINE_PLANS, Q2, as_of=date(2026, 7, 17))
    head = result.headline
    assert (head.delivered, head.with_target, head.behind, head.slightly_behind) == (3, 2, 1, 0)
    assert head.expected == pytest.approx(2.4 + 1.2)
    assert head.target == pytest.approx(18.0)
    assert (head.unplanned, head.unplanned_delivered) == (("Dee Hart",), 4)
    assert (head.no_core_time, head.no_core_time_delivered) == (("Cal Cox",), 3)
    assert head.apart() == [
        "plus 4 new Core Partnerships by a clinician with no job plan: Dee Hart",
        "plus 3 new Core Partnerships by a clinician whose job plan gives no Core time or "
        "target: Cal Cox",
    ]
    clinicians = result.clinicians.set_index("clinician")
    assert clinicians.loc["Cal Cox", "status_reason"] == "the job plan gives no Core time or target"
    assert clinicians.loc["Dee Hart", "status_reason"] == "no job plan"
    assert clinicians["planned"].to_dict() == {
        "Ann Lee": True, "Ben Ray": True, "Cal Cox": True, "Dee Hart": False}


def test_the_banner_names_the_planned_clinicians_without_core_time():
    assert words.no_core_time_banner((), "2026/27 Q2") is None
    one = words.no_core_time_banner(("Cal Cox",), "2026/27 Q2")
    assert one.startswith("The job plan of Cal Cox gives no Core time (sessions, hours or PAs) and "
                          "no 2026/27 Q2 target")
    two = words.no_core_time_banner(("Cal Cox", "Eve Ford", "Gil Hay"), "2026/27 Q2")
    assert two.startswith("The job plans of Cal Cox, Eve Ford and Gil Hay give no Core time")


# --- a slot is named by what the clinician can look up, never by a derived hash --------------


def test_lost_slots_are_named_by_date_time_clinician_type_and_the_exports_own_id():
    # N1 has the export's id; N2's id was derived by the loader (an export without ids).
    # N1 (Wed 1 Jul 09:30, DNA) was rebooked for the family on Fri 10 Jul 14:00 (N3, derived
    # id): the evidence names the later slot by its date and time, with no id.
    rows = [
        {"slot_id": "APT-77", "clinician": "Jane Smith", "team": "North", "date": "2026-07-01",
         "start": "09:30", "outcome": "dna", "client_key": "c1"},
        {"clinician": "Jane Smith", "team": "North", "date": "2026-07-02", "outcome": "dna",
         "client_key": "c2"},
        {"clinician": "Ann Lee", "team": "North", "date": "2026-07-10", "start": "14:00",
         "client_key": "c1"},
    ]
    frame = make_activity(rows)
    derived = _derived_slot_ids(frame)
    frame.loc[1:, "slot_id"] = derived.iloc[1:]
    assert words.DERIVED_SLOT_ID.fullmatch(frame.loc[1, "slot_id"])  # the loader's form
    lost = review(frame, PLANS, Q2, as_of=date(2026, 8, 31)).lost_slots.set_index("date")
    first, second = lost.loc["2026-07-01"], lost.loc["2026-07-02"]
    assert first["slot"] == "Wed 1 Jul 2026 09:30, Jane Smith, new Core Partnership (slot APT-77)"
    assert first["export_slot_id"] == "APT-77"
    assert first["evidence"] == "Rebooked: same family seen by Ann Lee on 10 Jul 2026 at 14:00."
    assert pd.isna(first["evidence_export_slot_id"])
    assert second["slot"] == "Thu 2 Jul 2026, Jane Smith, new Core Partnership"
    assert pd.isna(second["export_slot_id"])
    for text in (*lost["slot"], *lost["evidence"]):
        assert not re.search(r"h[0-9a-f]{16}", text), text


# One plan per clinician: Jane's is North's (2 Core sessions → 2 × 2 × 11.25 ÷ 7.5 = 6 a
# quarter); she also sees a family in South. Tom's plan is South's.
SHARED = [
    ("J1", "Jane Smith", "North", "2026-07-06", "core_new", "attended", "c1", None),
    ("J2", "Jane Smith", "North", "2026-07-07", "core_new", "attended", "c2", None),
    ("J3", "Jane Smith", "South", "2026-07-08", "core_new", "attended", "c3", None),
    ("T1", "Tom Pryce", "South", "2026-07-08", "core_new", "attended", "c4", None),
]
SHARED_PLANS = pd.DataFrame({"clinician": ["Jane Smith", "Tom Pryce"], "team": ["North", "South"],
                             "core_sessions": [2.0, 2.0]})


def _shared_review(teams):
    return review(activity_frame(SHARED), SHARED_PLANS, Q2, teams=teams, as_of=date(2026, 7, 31))


def test_a_clinician_whose_plan_is_another_teams_is_said_to_have_it_there_not_none():
    result = _shared_review(["South"])
    jane = result.clinicians.set_index("clinician").loc["Jane Smith"]
    # South's view has no plan of Jane's: no target here, and why in words; not "no job plan"
    assert (jane["status"], jane["status_reason"]) == ("no_target", "job plan in North")
    assert (jane["plan_team"], jane["team"], jane["delivered"]) == ("North", "South", 1)
    assert pd.isna(jane["also_in"])
    head = result.headline
    assert (head.with_target, head.delivered, head.unplanned) == (1, 1, ())  # Tom alone
    assert head.planned_elsewhere == ("Jane Smith (North)",)
    assert head.apart() == ["plus 1 new Core Partnership by a clinician whose job plan is in "
                            "another team: Jane Smith (North)"]
    assert words.clinician_notes(result.clinicians.set_index("clinician")).loc["Jane Smith"] \
        == "job plan in North"


def test_a_view_of_two_teams_says_which_other_team_a_clinicians_counts_include():
    for teams in (["North", "South"], None):
        clinicians = _shared_review(teams).clinicians.set_index("clinician")
        jane, tom = clinicians.loc["Jane Smith"], clinicians.loc["Tom Pryce"]
        # her three attended new Core Partnerships, under her plan's team, with South's named
        assert (jane["team"], jane["delivered"], jane["also_in"]) == ("North", 3, "South")
        assert pd.isna(jane["plan_team"]) and pd.isna(tom["also_in"])
        assert words.clinician_notes(clinicians).loc["Jane Smith"] == "also in South"
    # North's own view reads North's rows only: her two, nothing else to say
    north = _shared_review(["North"]).clinicians.set_index("clinician").loc["Jane Smith"]
    assert (north["delivered"], north["status"]) == (2, "amber")  # 2 ≥ 0.8 × 6 × 23/65 = 1.70
    assert pd.isna(north["also_in"]) and pd.isna(north["plan_team"])
