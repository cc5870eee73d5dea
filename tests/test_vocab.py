"""Outcome and kind vocabularies, row by row from domain spec §3."""

from __future__ import annotations

import pandas as pd
import pytest

from capa_monitor.loading.vocab import (
    classify_kinds,
    classify_outcomes,
    flag_list_newness,
    is_outcome_text,
    outcome_of,
    outcome_question,
    read_flag_list,
)


def texts(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="str")


# Spec §3 outcome table: NHS attend codes and the texts seen in exports.
OUTCOME_ROWS = [
    ("5", "attended"), ("6", "attended"), ("05", "attended"), ("06", "attended"),
    ("7", "late_not_seen"), ("3", "dna"), ("03", "dna"), ("2", "cancelled_by_client"),
    ("4", "cancelled_by_service"), ("0", "booked"), ("00", "booked"),
    ("Attended", "attended"), ("Seen", "attended"), ("Finished", "attended"),
    ("Arrived late but seen", "attended"), ("Completed", "attended"),
    ("Arrived late - not seen", "late_not_seen"),
    ("DNA", "dna"), ("Did not attend", "dna"), ("Was not brought", "dna"), ("WNB", "dna"),
    ("No show", "dna"),
    ("Cancelled by patient", "cancelled_by_client"), ("Cancelled by client", "cancelled_by_client"),
    ("Cancelled by family", "cancelled_by_client"), ("Patient cancelled", "cancelled_by_client"),
    ("Could not attend", "cancelled_by_client"),
    ("Cancelled by hospital", "cancelled_by_service"),
    ("Cancelled by service", "cancelled_by_service"),
    ("Cancelled by clinician", "cancelled_by_service"),
    ("Cancelled by provider", "cancelled_by_service"),
    ("Available", "unbooked"), ("Unbooked", "unbooked"), ("Free slot", "unbooked"),
    ("Not booked", "unbooked"), ("Unfilled", "unbooked"),
    ("Booked", "booked"), ("Not yet outcomed", "booked"), ("Future", "booked"),
    # case, spacing and punctuation do not matter
    ("  ATTENDED ", "attended"), ("did-not-attend", "dna"), ("w.n.b.", "dna"),
]

# Word rules: "cancel" + a family-side word / a service-side word; neither or both: unknown.
WORD_RULE_ROWS = [
    ("Appointment cancelled by parent", "cancelled_by_client"),
    ("Cancellation - carer request", "cancelled_by_client"),
    ("Canc. by client (illness)", "cancelled_by_client"),
    ("Family cancelled at short notice", "cancelled_by_client"),
    ("Cancelled by team - staff sickness", "cancelled_by_service"),
    ("Clinician cancelled (training)", "cancelled_by_service"),
    ("Hospital cancellation", "cancelled_by_service"),
    ("Cancelled", None),
    ("Cancelled by clinician, patient informed", None),
    ("Rescheduled", None),
]


@pytest.mark.parametrize(("text", "outcome"), OUTCOME_ROWS + WORD_RULE_ROWS)
def test_outcome_vocabulary(text, outcome):
    assert outcome_of(text) == outcome


def test_unknown_outcomes_are_counted_and_read_as_booked():
    result = classify_outcomes(texts("Attended", "Rescheduled", "Rescheduled", None, "Cancelled"))
    assert result.values.tolist()[:3] == ["attended", "booked", "booked"]
    assert pd.isna(result.values[3])  # blank stays blank: the normaliser decides by date
    assert result.unknown == {"Rescheduled": 2, "Cancelled": 1}


def test_texts_differing_only_in_outer_spaces_are_one_value_and_spaces_alone_are_blank():
    # "Rescheduled" three times however padded: one unknown text counted 3 times.
    result = classify_outcomes(texts(" Rescheduled", "Rescheduled ", "Rescheduled", "   ", "Seen "))
    assert result.unknown == {"Rescheduled": 3}
    assert result.values.tolist()[:3] == ["booked"] * 3
    assert pd.isna(result.values[3])
    assert result.values[4] == "attended"


def test_profile_outcome_overrides_come_first():
    result = classify_outcomes(texts("Seen by duty", "DNA"), {"seen by duty": "attended",
                                                             "DNA": "late_not_seen"})
    assert result.values.tolist() == ["attended", "late_not_seen"]
    assert result.unknown == {}


# (type text, kind) with no new/follow-up column.
KIND_ROWS = [
    ("Choice", "choice"), ("CHOICE appointment", "choice"), ("Extended Choice - new", "choice"),
    ("New Core Partnership", "core_new"), ("Core Partnership - first", "core_new"),
    ("Partnership 1st", "core_new"), ("Core initial", "core_new"),
    ("Core Partnership follow up", "core_followup"), ("Core Partnership Follow-up", "core_followup"),
    ("Core f/u", "core_followup"), ("Core FU", "core_followup"), ("Core review", "core_followup"),
    ("Partnership subsequent", "core_followup"), ("Core continuing", "core_followup"),
    ("Specific Partnership - new", "specific_new"), ("Specific ADOS first", "specific_new"),
    ("Specific f/u", "specific_followup"),
    # no new/follow-up word and no column: follow-up, listed as assumed
    ("Core Partnership", "core_followup"), ("Specific", "specific_followup"),
    ("Admin", "other"), ("Supervision", "other"), ("Fundraising", "other"),
]


@pytest.mark.parametrize(("text", "kind"), KIND_ROWS)
def test_kind_vocabulary(text, kind):
    assert classify_kinds(texts(text)).values.tolist() == [kind]


def test_unknown_and_assumed_kinds_are_counted():
    result = classify_kinds(texts("Admin", "Admin", "Core Partnership", "Choice", None))
    assert result.unknown == {"Admin": 2}
    assert result.assumed == {"Core Partnership": 1}
    assert pd.isna(result.values[4])


def test_configured_specific_intervention_name():
    result = classify_kinds(texts("ADOS assessment", "ADOS new"), specific_names=("ADOS",))
    assert result.values.tolist() == ["specific_followup", "specific_new"]


# (flag column header, flag value, kind of a "Core Partnership" row)
FLAG_ROWS = [
    ("ConsType", "01", "core_new"), ("ConsType", "02", "core_followup"),
    ("ConsType", "1", "core_new"), ("ConsType", "2", "core_followup"),
    ("FollowUpAppointment", "true", "core_followup"), ("FollowUpAppointment", "False", "core_new"),
    ("FollowUpAppointment", "Y", "core_followup"), ("FollowUpAppointment", "N", "core_new"),
    ("First attendance", "1", "core_new"), ("First attendance", "2", "core_followup"),
    ("First attendance", "3", "core_new"), ("First attendance", "4", "core_followup"),
    ("Initial Appointment", "Y", "core_new"), ("Initial Appointment", "No", "core_followup"),
    ("Initial Appointment", "Yes", "core_new"), ("New/FU", "New", "core_new"),
    ("New/FU", "Follow-up", "core_followup"),
]


@pytest.mark.parametrize(("header", "flag", "kind"), FLAG_ROWS)
def test_separate_new_followup_column(header, flag, kind):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == [kind]
    assert result.assumed == {}


def test_type_words_win_over_the_flag_column_and_choice_ignores_it():
    result = classify_kinds(
        texts("New Core Partnership", "Core follow up", "Choice"),
        texts("02", "01", "01"),
        flag_header="ConsType",
    )
    assert result.values.tolist() == ["core_new", "core_followup", "choice"]


def test_tick_column_blank_means_not_initial():
    # Only "Y" ever appears in the column, so a blank cell is a "no".
    result = classify_kinds(
        texts("Core Partnership", "Core Partnership"), texts("Y", None),
        flag_header="Initial Appointment",
    )
    assert result.values.tolist() == ["core_new", "core_followup"]
    assert result.assumed == {}


def test_unknown_flag_values_are_listed_and_read_as_follow_up():
    result = classify_kinds(texts("Core Partnership"), texts("Maybe"), flag_header="ConsType")
    assert result.values.tolist() == ["core_followup"]
    assert result.unknown_flags == {"Maybe": 1}
    assert result.assumed == {"Core Partnership": 1}


def test_profile_kind_overrides_are_not_listed_as_unknown():
    result = classify_kinds(
        texts("CAPA Ax", "Group work", "Core Partnership"),
        overrides={"CAPA Ax": "choice", "Group work": "other", "core partnership": "core_new"},
    )
    assert result.values.tolist() == ["choice", "other", "core_new"]
    assert (result.unknown, result.assumed) == ({}, {})


# Numbers in a new/follow-up column are codes, never yes/no, whatever the header says:
# ConsType 01/1 first, 02/2 follow-up. A header naming both sides ("New/Follow-up") used to read
# every number as follow-up with nothing listed.
CODE_HEADERS = ("New/Follow-up", "New Or Follow Up", "FollowUpAppointment", "ConsType", "New/FU")
NUMERIC_FLAG_ROWS = [
    (header, flag, kind)
    for header in CODE_HEADERS
    for flag, kind in (("01", "core_new"), ("1", "core_new"),
                       ("02", "core_followup"), ("2", "core_followup"))
]


@pytest.mark.parametrize(("header", "flag", "kind"), NUMERIC_FLAG_ROWS)
def test_numeric_flags_are_codes_under_any_header(header, flag, kind):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == [kind]
    assert (result.assumed, result.unknown_flags) == ({}, {})


# NHS "First attendance": 1 first face to face, 2 follow-up face to face, 3 first and 4
# follow-up by telephone/telemedicine; 5 (administrative event) is not an appointment kind.
# Outside an attendance header 3, 4 and 0 have no meaning: listed, read as follow-up.
@pytest.mark.parametrize(
    ("header", "flag", "kind", "listed"),
    [
        ("First attendance", "3", "core_new", False),
        ("First Attendance", "04", "core_followup", False),
        ("First attendance", "5", "core_followup", True),
        ("ConsType", "03", "core_followup", True),
        ("New/Follow-up", "4", "core_followup", True),
        ("New/Follow-up", "0", "core_followup", True),
    ],
)
def test_attendance_codes_and_unknown_numbers(header, flag, kind, listed):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == [kind]
    assert result.unknown_flags == ({flag: 1} if listed else {})
    assert result.assumed == ({"Core Partnership": 1} if listed else {})


# A bare yes/no under a header naming both sides (or neither) cannot say which: listed as
# unknown and read as follow-up (counted as assumed). Words in the cell decide by themselves.
@pytest.mark.parametrize("header", ["New/Follow-up", "New Or Follow Up", "New/FU", "ConsType"])
@pytest.mark.parametrize("flag", ["Y", "N", "yes", "no", "True", "false", "✓"])
def test_yes_no_under_a_two_sided_header_is_listed(header, flag):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == ["core_followup"]
    assert result.unknown_flags == {flag: 1}
    assert result.assumed == {"Core Partnership": 1}


@pytest.mark.parametrize("header", ["New/Follow-up", "New Or Follow Up", "FollowUpAppointment"])
@pytest.mark.parametrize(
    ("flag", "kind"),
    [("New", "core_new"), ("new", "core_new"), ("Follow up", "core_followup"),
     ("Follow-Up", "core_followup"), ("FollowUp", "core_followup"), ("First", "core_new")],
)
def test_words_in_the_flag_cell_decide(header, flag, kind):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == [kind]
    assert result.unknown_flags == {}


# Yes/no polarity from a one-sided header: "FollowUpAppointment" yes = follow-up; "Initial
# Appointment" / "First Appointment" yes = new; a tick mark is a yes.
@pytest.mark.parametrize(
    ("header", "flag", "kind"),
    [
        ("FollowUpAppointment", "TRUE", "core_followup"), ("FollowUpAppointment", "false", "core_new"),
        ("Follow Up Appointment", "yes", "core_followup"), ("Follow Up Appointment", "no", "core_new"),
        ("FollowUpAppointment", "✓", "core_followup"),
        ("Initial Appointment", "✓", "core_new"), ("First Appointment", "N", "core_followup"),
        ("New Appointment", "Y", "core_new"),
    ],
)
def test_yes_no_polarity_follows_a_one_sided_header(header, flag, kind):
    result = classify_kinds(texts("Core Partnership"), texts(flag), flag_header=header)
    assert result.values.tolist() == [kind]
    assert (result.assumed, result.unknown_flags) == ({}, {})


# A column holding only 0 and 1 is a yes/no column (0 is in no code table), read by the
# header: FollowUpAppointment 1 = follow-up, 0 = new; Initial Appointment 1 = new, 0 = not.
@pytest.mark.parametrize(
    ("header", "kinds"),
    [
        ("FollowUpAppointment", ["core_followup", "core_new"]),
        ("Initial Appointment", ["core_new", "core_followup"]),
    ],
)
def test_zero_one_columns_are_yes_no(header, kinds):
    result = classify_kinds(texts("Core Partnership", "Core Partnership"), texts("1", "0"),
                            flag_header=header)
    assert result.values.tolist() == kinds
    assert (result.assumed, result.unknown_flags) == ({}, {})


def test_zero_one_under_a_two_sided_header_is_listed():
    result = classify_kinds(texts("Core Partnership", "Core Partnership"), texts("1", "0"),
                            flag_header="New/Follow-up")
    assert result.values.tolist() == ["core_followup", "core_followup"]
    assert result.unknown_flags == {"1": 1, "0": 1}


def test_follow_up_tick_column_blank_is_not_read_as_new():
    # "FollowUpAppointment": Y or blank. A blank is not evidence of a new appointment.
    result = classify_kinds(texts("Core Partnership", "Core Partnership"), texts("Y", None),
                            flag_header="FollowUpAppointment")
    assert result.values.tolist() == ["core_followup", "core_followup"]
    assert result.assumed == {"Core Partnership": 1}


# Spec: the type "contains partnership or core". `core` counts where it starts a word, camel
# case included (CoreNew, NewCore), but not inside a word (Score, scored, encore).
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CoreNew", "core_new"), ("NewCore", "core_new"), ("CoreFollowUp", "core_followup"),
        ("Core-Partnership", "core_followup"), ("CORE", "core_followup"),
        ("CAMHSCore new", "core_new"), ("core-new", "core_new"), ("Core_FU", "core_followup"),
        ("Score", "other"), ("scored", "other"), ("encore", "other"), ("SCORE review", "other"),
        ("Encore new", "other"), ("Rating scores", "other"),
    ],
)
def test_core_rule_starts_a_word(text, kind):
    assert classify_kinds(texts(text)).values.tolist() == [kind]


# --- issue 11: what the systems really print (sources in docs/vocabularies.md) ----------------

# SystmOne statuses (TPP Appointment.Status as OpenSAFELY decodes it), EMIS Web slot statuses,
# NHS Data Dictionary wordings, CAPTND descriptions, tracker abbreviations.
SYSTEM_OUTCOME_ROWS = [
    ("Finished", "attended"), ("Did Not Attend", "dna"), ("Booked", "booked"),
    ("Cancelled by Patient", "cancelled_by_client"), ("Cancelled by Unit", "cancelled_by_service"),
    ("Cancelled by Other Service", "cancelled_by_service"),
    ("Cancelled Due To Death", "cancelled_by_client"), ("No Access Visit", "dna"),
    # EMIS Web: Left = seen and gone; "Telephoned but no answer" is a telephone DNA
    ("Left", "attended"), ("Patient Left", "attended"), ("Telephone - Complete", "attended"),
    ("Visited and not seen", "dna"), ("Telephone - Not In", "dna"), ("Slot Available", "unbooked"),
    ("Slot Booked", "booked"), ("Patient DNA", "dna"),
    # NHS DD code wordings
    ("Attended on time or, if late, before the relevant care professional was ready to see the "
     "patient", "attended"),
    ("Appointment cancelled by, or on behalf of, the patient", "cancelled_by_client"),
    ("Appointment cancelled or postponed by the health care provider", "cancelled_by_service"),
    # CAPTND descriptions
    ("Clinic cancelled", "cancelled_by_service"), ("Patient cancelled", "cancelled_by_client"),
    ("Patient died", "cancelled_by_client"),
    # trackers
    ("CBP", "cancelled_by_client"), ("CNA", "cancelled_by_client"), ("UTA", "cancelled_by_client"),
    ("CBH", "cancelled_by_service"), ("pt canc", "cancelled_by_client"),
    ("pt canx", "cancelled_by_client"), ("clin canx", "cancelled_by_service"),
    ("Cx by parent", "cancelled_by_client"), ("Att", "attended"), ("Avail", "unbooked"),
]

# Printed by real systems but ambiguous by the spec: no reading, listed for the manager.
AMBIGUOUS_ROWS = [
    "Patient Walked Out", "Walked Out", "Arrived", "Sent In", "In Progress", "Waiting",
    "Patient CNW", "Requested", "Blocked", "canx", "CBC", "Cancelled", "Visit",
]


@pytest.mark.parametrize(("text", "outcome"), SYSTEM_OUTCOME_ROWS)
def test_system_outcome_vocabulary(text, outcome):
    assert outcome_of(text) == outcome


@pytest.mark.parametrize("text", AMBIGUOUS_ROWS)
def test_ambiguous_outcomes_are_listed_with_a_question(text):
    assert outcome_of(text) is None
    assert outcome_question(text)
    assert is_outcome_text(text)  # still an outcome word for column profiling
    result = classify_outcomes(texts(text, text, "Finished"))
    assert result.unknown == {text: 2}


def test_captnd_codes_are_read_by_captnd_table():
    # CAPTND: 1 attended, 2 clinic cancelled, 3 patient cancelled, 8 DNA, 9 died, 5 CNW, 99 n/k.
    result = classify_outcomes(texts("1", "2", "3", "8", "9", "5", "99", "01"))
    assert result.values.tolist()[:5] == [
        "attended", "cancelled_by_service", "cancelled_by_client", "dna", "cancelled_by_client"]
    assert result.values[7] == "attended"  # 01 is 1
    assert result.unknown == {"5": 1, "99": 1}


def test_england_codes_stay_england_when_no_captnd_only_code_occurs():
    result = classify_outcomes(texts("5", "2", "3", "4"))
    assert result.values.tolist() == ["attended", "cancelled_by_client", "dna",
                                      "cancelled_by_service"]
    assert result.unknown == {}


def test_a_column_mixing_both_code_tables_is_listed_not_read():
    result = classify_outcomes(texts("1", "6", "Attended", "1"))
    assert result.unknown == {"1": 2, "6": 1}
    assert result.values[2] == "attended"


# SystmOne "Appointment flags": several items per cell; only "Initial Appointment" speaks.
@pytest.mark.parametrize(
    ("cell", "newness", "unknown"),
    [
        ("Appointment Confirmed, Initial Appointment", "new", ()),
        ("Initial Appointment", "new", ()),
        ("Has QOF Alerts, Telephone Appointment", None, ()),
        ("Appointment Confirmed, Interpreter Booked", None, ("Interpreter Booked",)),
        ("Embargoed Slot; First Appointment", "new", ()),
        ("", None, ()),
    ],
)
def test_flag_list_cells(cell, newness, unknown):
    read = read_flag_list(cell)
    assert flag_list_newness(cell) == newness
    assert read.unknown == unknown


def test_flag_list_column_initial_somewhere_means_the_rest_are_follow_up():
    result = classify_kinds(
        texts("Core Partnership", "Core Partnership", "Core Partnership", "Choice"),
        texts("Appointment Confirmed, Initial Appointment", "Appointment Confirmed", None,
              "Initial Appointment"),
        flag_header="Appointment flags",
    )
    assert result.values.tolist() == ["core_new", "core_followup", "core_followup", "choice"]
    assert (result.assumed, result.unknown_flags) == ({}, {})


def test_flag_list_column_that_never_says_initial_decides_nothing():
    result = classify_kinds(
        texts("Core Partnership", "Core Partnership"),
        texts("Appointment Confirmed, Interpreter Booked", "Has QOF Alerts"),
        flag_header="Appointment flags",
    )
    assert result.values.tolist() == ["core_followup", "core_followup"]
    assert result.assumed == {"Core Partnership": 2}
    assert result.unknown_flags == {"Interpreter Booked": 1}


# Tracker abbreviations for types and a "N/FU" column (N = new there, not "no").
@pytest.mark.parametrize(
    ("kind_text", "flag", "kind"),
    [("CP", "N", "core_new"), ("CP", "FU", "core_followup"), ("CP", "NP", "core_new"),
     ("SP", "N", "specific_new"), ("Ch", "N", "choice"), ("CP NP", None, "core_new")],
)
def test_tracker_abbreviations(kind_text, flag, kind):
    result = classify_kinds(texts(kind_text), texts(flag), flag_header="N/FU")
    assert result.values.tolist() == [kind]
    assert result.unknown_flags == {}


def test_yes_under_n_fu_is_not_read_as_either_side():
    result = classify_kinds(texts("CP"), texts("Y"), flag_header="N/FU")
    assert result.unknown_flags == {"Y": 1}


@pytest.mark.parametrize("text", ["C-new", "C", "P"])
def test_ambiguous_type_abbreviations_are_listed(text):
    result = classify_kinds(texts(text))
    assert result.values.tolist() == ["other"]
    assert result.unknown == {text: 1}


@pytest.mark.parametrize(
    ("text", "outcome"),
    [("Cancelled by service user", "cancelled_by_client"), ("Service user cancelled",
      "cancelled_by_client"), ("Cancelled by SU", "cancelled_by_client"),
     ("Cancelled by service", "cancelled_by_service"), ("Service cancelled", "cancelled_by_service")],
)
def test_service_user_is_the_family_side(text, outcome):
    # Carenotes / PARIS and mental health trusts call the client a "service user".
    assert outcome_of(text) == outcome


@pytest.mark.parametrize(
    "text", ["Service User Arrived Late - Not Seen", "Client arrived late, could not be seen",
             "Late - not seen"],
)
def test_late_and_not_seen_in_any_words(text):
    assert outcome_of(text) == "late_not_seen"


def test_docs_name_every_listed_value_and_flag_item():
    # docs/vocabularies.md says why each value is listed and where each flag item comes from.
    from pathlib import Path

    from capa_monitor.loading.vocab import AMBIGUOUS_KINDS, AMBIGUOUS_OUTCOMES, FLAG_ITEMS

    text = (Path(__file__).parents[1] / "docs" / "vocabularies.md").read_text(encoding="utf-8")
    doc = " ".join(text.split())  # line wrapping does not matter
    missing = [t for t in (*AMBIGUOUS_OUTCOMES, *AMBIGUOUS_KINDS, *FLAG_ITEMS) if t not in doc]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "outcome"),
    [("Cancelled - sudden staff illness", "cancelled_by_service"),  # "su" only as a word
     ("Cancelled by parents", "cancelled_by_client"), ("Cx - pt unwell", "cancelled_by_client"),
     ("Cancelled by clinic", "cancelled_by_service")],
)
def test_side_words_are_words(text, outcome):
    assert outcome_of(text) == outcome
