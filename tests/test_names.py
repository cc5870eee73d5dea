"""Clinician names (issue 11 item 3): printed forms, capitals from other sources, plan matching."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from capa_monitor.jobplans import load_jobplans
from capa_monitor.loading import load_activity
from capa_monitor.loading.normalise import normalise_names
from capa_monitor.names import (
    Unmatched,
    arrange_name,
    clinician_key,
    plan_matches,
    restore_capitals,
)

# How SystmOne, EMIS Web, RiO and hand-kept trackers print a clinician, and the display name.
PRINTED = [
    ("SMITH, Jane (Dr)", "Jane Smith"),  # SystmOne/EMIS "SURNAME, Forename (Title)"
    ("MILNER, Jennifer (Miss)", "Jennifer Milner"),
    ("LOPES VIEIRA, Arianna (Dr)", "Arianna Lopes Vieira"),
    ("Dr Jane Smith", "Jane Smith"),  # "Title Forename Surname"
    ("Mrs. Priya Shah", "Priya Shah"),
    ("Dr J SMITH", "J Smith"),
    ("SMITH Jane", "Jane Smith"),  # capitals-only surname first, no comma
    ("OKAFOR-BROWN Chidi", "Chidi Okafor-Brown"),
    ("Jane SMITH", "Jane Smith"),
    ("JANE SMITH", "Jane Smith"),
    ("Smith, Jane Dr", "Jane Smith"),
    ("Tom Price (Locum)", "Tom Price"),
    ("Anna van Dijk", "Anna van Dijk"),
]


@pytest.mark.parametrize(("printed", "display"), PRINTED)
def test_printed_forms(printed, display):
    assert normalise_names(pd.Series([printed], dtype="str")).tolist() == [display]


def test_arrange_keeps_source_capitals_for_the_tidy_step():
    assert arrange_name("MCGREAL, Sinead") == "Sinead MCGREAL"
    assert arrange_name("(Dr)") == ""


def test_capitals_from_another_row_of_the_same_file():
    result = normalise_names(pd.Series(["MCDONALD, Ross", "Ann McDonald"], dtype="str"))
    assert result.tolist() == ["Ross McDonald", "Ann McDonald"]


def test_restore_capitals_from_a_job_plan():
    names = ["Ann Mcdonald", "Ross Mcdonald", "Aoife O'neill", "Ravi Patel", "Kim MacLeod"]
    known = ["Ann McDonald", "Aoife O'Neill", "Kim Macleod"]
    assert restore_capitals(names, known) == [
        "Ann McDonald", "Ross McDonald", "Aoife O'Neill", "Ravi Patel",
        "Kim MacLeod",  # already written with inner capitals: kept as written
    ]


# ~20 hand-made cases: an activity name, the team's job-plan names, the likely plan (or None).
PLANS = ["Jane Smith", "John Smith", "Aoife O'Neill", "Ravi Patel", "Siobhán Kelly",
         "Mark Evans-Jones", "Lucy Okafor", "Tom Price", "Hannah Lee", "Ross McDonald"]
LIKELY = [
    ("J Smith", ("Jane Smith", "John Smith"), "initial matches forename"),  # two: a question
    ("R Patel", ("Ravi Patel",), "initial matches forename"),
    ("Patel Ravi", ("Ravi Patel",), "forename and surname swapped"),
    ("Okafor Lucy", ("Lucy Okafor",), "forename and surname swapped"),
    ("Patel", ("Ravi Patel",), "surname only"),
    ("Smith", ("Jane Smith", "John Smith"), "surname only"),
    ("Aoife O'Neil", ("Aoife O'Neill",), "near spelling"),
    ("Aoife ONeill", ("Aoife O'Neill",), "forename and surname swapped"),  # apostrophe folded
    ("Siobhan Kelly", ("Siobhán Kelly",), "forename and surname swapped"),  # accent folded
    ("Mark Evans Jones", ("Mark Evans-Jones",), "forename and surname swapped"),
    ("Tom Pryce", ("Tom Price",), "near spelling"),
    ("Hanna Lee", ("Hannah Lee",), "near spelling"),
    ("Ross Macdonald", ("Ross McDonald",), "near spelling"),
    ("L Okafor", ("Lucy Okafor",), "initial matches forename"),
    ("Thomas Price", ("Tom Price",), "near spelling"),  # a short form is a hint, not a match
    ("Priya Shah", (), ""),
    ("Sam Evans", (), ""),
    ("Lee", ("Hannah Lee",), "surname only"),
    ("Kelly Siobhan", ("Siobhán Kelly",), "forename and surname swapped"),
    ("Jane Smyth", ("Jane Smith",), "near spelling"),
    ("Han Lee", ("Hannah Lee",), "short form of the forename"),
]


@pytest.mark.parametrize(("activity", "likely", "reason"), LIKELY)
def test_likely_plan_for_an_unmatched_activity_name(activity, likely, reason):
    result = plan_matches([activity], PLANS)
    assert result.activity_without_plan == (Unmatched(activity, likely, reason),)


def test_plan_matches_lists_both_sides():
    activity = ["Jane Smith", "jane  smith", "R Patel", "Priya Shah"]
    plans = ["JANE SMITH".title(), "Ravi Patel", "Tom Price"]
    result = plan_matches(activity, plans)
    assert {(clinician_key(a), p) for a, p in result.matched} == {("jane smith", "Jane Smith")}
    assert result.activity_without_plan == (
        Unmatched("Priya Shah"),
        Unmatched("R Patel", ("Ravi Patel",), "initial matches forename"),
    )
    assert result.plans_without_activity == (
        Unmatched("Ravi Patel", ("R Patel",), "initial matches forename"),
        Unmatched("Tom Price"),
    )


# --- the corpus: activity names against the team's job plan (tests/exports) --------------------

EXPORTS = Path(__file__).parent / "exports"


def _clinicians(name: str) -> list[str]:
    path = EXPORTS / name
    return load_activity(path.read_bytes(), name, pseudonym_key=b"k").report.clinicians


def test_tracker_initials_are_likely_matches_for_the_plan_forenames():
    plans = load_jobplans((EXPORTS / "jobplans/sessions_per_week.xlsx").read_bytes(),
                          "sessions_per_week.xlsx").frame["clinician"].tolist()
    result = plan_matches(_clinicians("tracker_by_month.xlsx"), plans)
    assert result.matched == ()
    assert result.activity_without_plan == (
        Unmatched("A Okonjo", ("Amara Okonjo",), "initial matches forename"),
        Unmatched("R McDonald", ("Ross McDonald",), "initial matches forename"),
        Unmatched("S Kelly", ("Siobhán Kelly",), "initial matches forename"),
    )
    # Ben Hartley, Priya Nair and Tom Pryce have a plan and no row in the tracker.
    assert [u.name for u in result.plans_without_activity] == [
        "Amara Okonjo", "Ben Hartley", "Priya Nair", "Ross McDonald", "Siobhán Kelly",
        "Tom Pryce",
    ]


def test_systmone_capitals_restored_from_the_job_plan():
    # SystmOne prints MCDONALD; alone the file can only title-case it.
    activity = _clinicians("systmone_appointments.csv")
    assert "Ross Mcdonald" in activity
    restored = restore_capitals(activity, ["Ross McDonald", "Amara Okonjo"])
    assert restored == ["Amara Okonjo", "Ross McDonald", "Siobhán Kelly"]


def test_key_codes_give_spellings_of_one_name_one_code_and_a_missing_name_minus_one():
    from capa_monitor.names import clinician_key_codes

    names = pd.Series(["Jane Smith", "JANE  SMITH", None, "Tom Pryce", "jane smith"], dtype="str")
    codes, keys = clinician_key_codes(names)
    assert keys == ["jane smith", "tom pryce"]  # in order of first sight
    assert codes.tolist() == [0, 0, -1, 1, 0]
