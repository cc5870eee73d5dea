"""M2 (spec §5): lost slots, the three kinds of evidence, pending and not re-offered."""

from datetime import date

import pandas as pd
import pytest

from capa_monitor.metrics.reoffer import lost_slots, summary_by_clinician
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

AS_OF = date(2026, 9, 30)


def slots(*rows):
    """rows of (slot_id, clinician, date, kind, outcome, client, booked_on[, reoffered])."""
    padded = [tuple(row) + (None,) * (8 - len(row)) for row in rows]
    frame = pd.DataFrame(
        padded,
        columns=["slot_id", "clinician", "date", "kind", "outcome", "client_key", "booked_on",
                 "reoffered"],
    )
    return frame.assign(
        team="North",
        date=pd.to_datetime(frame["date"]),
        booked_on=pd.to_datetime(frame["booked_on"]),
        client_key=frame["client_key"].astype("str"),
        reoffered=frame["reoffered"].astype("boolean"),
    )


def statuses(activity, as_of=AS_OF, settings=DEFAULT_SETTINGS, reported=None):
    result = lost_slots(activity, as_of, settings, reported=reported)
    return dict(zip(result["slot_id"], zip(result["status"], result["evidence_slot_id"].fillna(""),
                                           strict=True), strict=True))


@pytest.mark.parametrize("outcome", ["dna", "late_not_seen", "cancelled_by_client", "unbooked"])
def test_lost_outcomes(outcome):
    activity = slots(("L", "Jane Smith", "2026-07-01", "core_new", outcome))
    assert statuses(activity) == {"L": ("not_reoffered", "")}


@pytest.mark.parametrize(
    ("kind", "outcome", "day"),
    [
        ("core_new", "attended", "2026-07-01"),
        ("core_new", "cancelled_by_service", "2026-07-01"),
        ("core_new", "booked", "2026-07-01"),
        ("core_followup", "dna", "2026-07-01"),  # not a monitored kind
        ("specific_new", "dna", "2026-07-01"),
        ("core_new", "unbooked", "2026-10-01"),  # after the as-of date: not lost yet
        ("choice", "cancelled_by_client", "2026-10-05"),
    ],
)
def test_not_lost(kind, outcome, day):
    assert statuses(slots(("X", "Jane Smith", day, kind, outcome))) == {}


def test_monitored_kinds_are_a_setting():
    activity = slots(("L", "Jane Smith", "2026-07-01", "specific_new", "dna"))
    settings = Settings(monitored_kinds=("specific_new",))
    assert statuses(activity, settings=settings) == {"L": ("not_reoffered", "")}


def test_rule_1_marked_in_the_export_uses_no_evidence():
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "dna", "c1", None, True),
        ("R", "Jane Smith", "2026-07-08", "core_new", "attended", "c1"),
        ("L2", "Jane Smith", "2026-07-02", "core_new", "dna", "c1"),
    )
    # L is marked; the rebooking R is still free for L2.
    assert statuses(activity) == {"L": ("reoffered_marked", ""), "L2": ("reoffered_client", "R")}


def test_rule_2_client_rebooked_with_any_clinician():
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Bob Ray", "2026-07-10", "core_new", "attended", "c1"),
    )
    result = lost_slots(activity, AS_OF)
    assert result["status"].tolist() == ["reoffered_client"]
    assert result["evidence"].tolist() == [
        "Rebooked: same family seen by Bob Ray on 10 Jul 2026 (slot R)."
    ]
    assert result["evidence_date"].tolist() == [pd.Timestamp("2026-07-10")]


@pytest.mark.parametrize(
    ("outcome", "counts"),
    [
        ("attended", True),
        ("booked", True),  # a future booking: the family has been rebooked
        ("dna", True),  # offered again, even if missed again
        ("cancelled_by_client", True),
        ("cancelled_by_service", False),
        ("unbooked", False),
    ],
)
def test_which_later_slots_count_as_evidence(outcome, counts):
    activity = slots(
        ("L", "Jane Smith", "2026-09-10", "core_new", "dna", "c1"),
        ("R", "Jane Smith", "2026-09-20", "core_new", outcome, "c1", "2026-08-01"),
    )
    # Lost 10 Sep: the window runs to 8 Oct, so without evidence it is still pending on 30 Sep.
    expected = ("reoffered_client", "R") if counts else ("pending", "")
    assert statuses(activity)["L"] == expected


@pytest.mark.parametrize(
    ("later_kind", "lost_kind", "counts"),
    [
        ("core_new", "core_new", True),
        ("choice", "choice", True),
        ("core_followup", "core_new", False),  # same family, but not a new Partnership
        ("choice", "core_new", False),
        ("core_new", "choice", False),
    ],
)
def test_rule_2_needs_the_same_kind_group(later_kind, lost_kind, counts):
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", lost_kind, "dna", "c1"),
        ("R", "Jane Smith", "2026-07-10", later_kind, "attended", "c1"),
    )
    assert statuses(activity)["L"] == (("reoffered_client", "R") if counts else ("not_reoffered", ""))


@pytest.mark.parametrize(
    ("later_day", "counts"),
    [
        ("2026-07-01", False),  # same day: not strictly after
        ("2026-07-02", True),
        ("2026-07-29", True),  # lost date + 28 days: the window's last day
        ("2026-07-30", False),  # 29 days later
    ],
)
def test_window_bounds(later_day, counts):
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Jane Smith", later_day, "core_new", "attended", "c1"),
    )
    assert statuses(activity)["L"] == (("reoffered_client", "R") if counts else ("not_reoffered", ""))


def test_window_is_a_setting():
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Jane Smith", "2026-07-30", "core_new", "attended", "c1"),
    )
    assert statuses(activity, settings=Settings(reoffer_window_days=29))["L"] == (
        "reoffered_client", "R"
    )


@pytest.mark.parametrize(
    ("clinician", "kind", "booked_on", "counts"),
    [
        ("Jane Smith", "core_new", "2026-07-01", True),  # booked on the lost date itself
        ("Jane Smith", "core_new", "2026-07-05", True),
        ("Jane Smith", "core_new", "2026-06-30", False),  # booked before the slot was lost
        ("Jane Smith", "core_new", None, False),  # no booking date: no proof
        ("Bob Ray", "core_new", "2026-07-05", False),  # another clinician's slot
        ("Jane Smith", "core_followup", "2026-07-05", False),  # another kind
    ],
)
def test_rule_3_replacement_slot(clinician, kind, booked_on, counts):
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "unbooked"),
        ("N", clinician, "2026-07-15", kind, "attended", "c7", booked_on),
    )
    assert statuses(activity)["L"] == (("reoffered_replacement", "N") if counts else ("not_reoffered", ""))


def test_replacement_evidence_in_words():
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "choice", "unbooked"),
        ("N", "Jane Smith", "2026-07-15", "choice", "attended", "c7", "2026-07-03"),
    )
    assert lost_slots(activity, AS_OF)["evidence"].tolist() == [
        "Replacement slot: Jane Smith offered another Choice appointment on 15 Jul 2026, "
        "booked on 3 Jul 2026 (slot N)."
    ]


def test_rule_2_is_tried_before_rule_3():
    # The same later slot could prove either; the family's rebooking is named.
    activity = slots(
        ("L", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Jane Smith", "2026-07-10", "core_new", "attended", "c1", "2026-07-02"),
    )
    assert statuses(activity)["L"] == ("reoffered_client", "R")


def test_evidence_is_used_once():
    # Jane lost two slots of family c1 on 1 Jul (L1 before L2 by slot id), Zoe one (after Jane
    # by name). The one rebooking R goes to L1; L2 then takes Jane's replacement slot N (booked
    # 3 Jul ≥ 1 Jul); Zoe has no slot of her own and R is used: not re-offered.
    activity = slots(
        ("L2", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("L1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Bob Ray", "2026-07-10", "core_new", "attended", "c1"),
        ("N", "Jane Smith", "2026-07-12", "core_new", "attended", "c5", "2026-07-03"),
        ("L3", "Zoe West", "2026-07-01", "core_new", "dna", "c1"),
    )
    assert statuses(activity) == {
        "L1": ("reoffered_client", "R"),
        "L2": ("reoffered_replacement", "N"),
        "L3": ("not_reoffered", ""),
    }
    assert lost_slots(activity, AS_OF)["slot_id"].tolist() == ["L1", "L2", "L3"]


def test_lost_slots_are_matched_in_date_order():
    # One replacement slot N (booked 3 Jul) fits both F (lost 3 Jul) and E (lost 1 Jul); E is
    # earlier so it takes N even though F comes first in the file.
    activity = slots(
        ("F", "Jane Smith", "2026-07-03", "core_new", "unbooked"),
        ("E", "Jane Smith", "2026-07-01", "core_new", "unbooked"),
        ("N", "Jane Smith", "2026-07-20", "core_new", "attended", "c9", "2026-07-03"),
    )
    assert statuses(activity) == {
        "E": ("reoffered_replacement", "N"),
        "F": ("not_reoffered", ""),
    }


def test_ties_go_by_clinician_then_slot_id_and_earliest_candidate_by_slot_id():
    # Three slots lost on one day by the same family: order Ann Lee (A9) first, then Jane's
    # B1 before B2. Candidates: two on 10 Jul (R2, R1 → R1 first by id) and one on 8 Jul.
    activity = slots(
        ("B2", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("B1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("A9", "Ann Lee", "2026-07-01", "core_new", "dna", "c1"),
        ("R2", "Bob Ray", "2026-07-10", "core_new", "attended", "c1"),
        ("R1", "Bob Ray", "2026-07-10", "core_new", "attended", "c1"),
        ("R0", "Bob Ray", "2026-07-08", "core_new", "attended", "c1"),
    )
    assert statuses(activity) == {
        "A9": ("reoffered_client", "R0"),
        "B1": ("reoffered_client", "R1"),
        "B2": ("reoffered_client", "R2"),
    }


def test_a_later_lost_slot_can_be_evidence_for_an_earlier_one():
    # The family was rebooked (L2) and missed again: L1 was re-offered; L2 itself is still lost.
    activity = slots(
        ("L1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("L2", "Jane Smith", "2026-07-15", "core_new", "dna", "c1"),
    )
    assert statuses(activity) == {"L1": ("reoffered_client", "L2"), "L2": ("not_reoffered", "")}


def test_evidence_in_the_next_quarter_counts():
    # Lost on 25 Sep (Q2), rebooked for 5 Oct (Q3), booked in advance: re-offered whichever
    # quarter is viewed, even though the review of Q2 runs to 30 Sep.
    activity = slots(
        ("L", "Jane Smith", "2026-09-25", "core_new", "dna", "c1"),
        ("R", "Jane Smith", "2026-10-05", "core_new", "booked", "c1", "2026-09-26"),
    )
    assert statuses(activity, as_of=date(2026, 9, 30))["L"] == ("reoffered_client", "R")
    assert statuses(activity, as_of=date(2026, 11, 30))["L"] == ("reoffered_client", "R")


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (date(2026, 9, 1), "pending"),  # the lost date itself
        (date(2026, 9, 28), "pending"),  # 27 days later: as-of < lost date + 28
        (date(2026, 9, 29), "not_reoffered"),  # lost date + 28: the window has closed
    ],
)
def test_pending_while_the_window_is_open_at_the_as_of_date(as_of, status):
    activity = slots(("L", "Jane Smith", "2026-09-01", "core_new", "dna", "c1"))
    result = lost_slots(activity, as_of)
    assert result["status"].tolist() == [status]
    assert result["window_end"].tolist() == [pd.Timestamp("2026-09-29")]
    words = {"pending": "Pending: no re-offer found yet; the window runs to 29 Sep 2026.",
             "not_reoffered": "Not re-offered: no later new Core Partnership slot for the family "
             "or from Jane Smith by 29 Sep 2026."}
    assert result["evidence"].tolist() == [words[status]]


def test_summary_by_clinician():
    activity = slots(
        ("L1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
        ("R", "Jane Smith", "2026-07-10", "core_new", "attended", "c1"),
        ("L2", "Jane Smith", "2026-07-02", "choice", "dna", "c2"),
        ("L3", "Jane Smith", "2026-09-20", "core_new", "unbooked"),
        ("L4", "Bob Ray", "2026-07-02", "core_new", "dna", "c3", None, True),
    )
    summary = summary_by_clinician(lost_slots(activity, AS_OF))
    assert summary.loc["Jane Smith"].tolist() == [3, 1, 1, 1]  # lost, reoffered, pending, not
    assert summary.loc["Bob Ray"].tolist() == [1, 1, 0, 0]


def test_no_lost_slots_gives_an_empty_frame_with_the_columns():
    result = lost_slots(slots(("A", "Jane Smith", "2026-07-01", "core_new", "attended")), AS_OF)
    assert result.empty
    assert "evidence" in result.columns


def test_without_client_key_booked_on_or_marker_columns():
    # An export with none of the optional columns: only the window can be judged.
    activity = slots(("L", "Jane Smith", "2026-07-01", "core_new", "dna")).drop(
        columns=["client_key", "booked_on", "reoffered"]
    )
    assert statuses(activity) == {"L": ("not_reoffered", "")}


# Two lost slots compete for one later slot R (Ann Lee, 10 Jul, family c1, booked on 5 Jul):
# L1 (Jane Smith, DNA 1 Jul, family c1) by rule 2, and L2 (Ann Lee's unbooked 2 Jul slot) by
# rule 3 (R was booked on 5 Jul ≥ 2 Jul). L1 is first in matching order and takes R; L2 has no
# other evidence and its window (to 30 Jul) has closed by 30 Sep → not re-offered. Asking only
# for L2's row must not hand R to L2: `reported` limits what is returned, never the matching.
COMPETING = [
    ("L1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1"),
    ("L2", "Ann Lee", "2026-07-02", "core_new", "unbooked", None),
    ("R", "Ann Lee", "2026-07-10", "core_new", "attended", "c1", "2026-07-05"),
    ("F", "Ann Lee", "2026-07-13", "choice", "attended", "c9"),  # another kind: no evidence
]


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        (None, {"L1": ("reoffered_client", "R"), "L2": ("not_reoffered", "")}),
        ([False, True, False, False], {"L2": ("not_reoffered", "")}),
        ([True, False, True, True], {"L1": ("reoffered_client", "R")}),
        ([False] * 4, {}),
    ],
)
def test_reported_rows_limit_the_result_not_the_matching(reported, expected):
    found = statuses(slots(*COMPETING),
                     reported=None if reported is None else pd.Series(reported).to_numpy())
    assert found == expected
