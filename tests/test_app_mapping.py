"""The upload page's mapping editor in words (issue 11 item 7), through AppTest: a SystmOne
"Appointments" report as SystmOne prints it reads with nothing to settle, one printed with
other words is put right in at most 4 actions, and the preview counts rows by type and outcome
in words. Expected figures are worked out by hand from the rows below.

The report's shape is SystmOne's own (the header of a real "Appointments" report in the public
access-es project, issue 11), with CAMHS rota types and invented people.
"""

from __future__ import annotations

import pandas as pd
from conftest import open_page
from streamlit.testing.v1 import AppTest
from test_app_upload import file_key, upload

from capa_monitor.loading import load_activity
from capa_monitor.views.upload import ReadFile
from capa_monitor.views.upload_mapping import counts_table, found_table, problems

HEADER = (
    "Appointment date,Appointment duration (actual),Appointment duration (booked),"
    "Appointment flags,Appointment location,Appointment status,Clinician,Rota start date,"
    "Rota start time,Rota type,Time between booking and appointment,Patient ID,Patient Count"
)
# type (from Rota type + "Initial Appointment" in the flags) / outcome, by hand:
ROWS = [
    # Choice, attended
    '06-Jul-26,55m,1h,Appointment Confirmed,Northfield Clinic,Finished,"ABLE, Ann (Dr)",'
    "06-Jul-26,09:00,CAMHS Choice,2wks 1d,40000001,1",
    # new Core Partnership, attended
    '07-Jul-26,1h 25m,1h 30m,"Appointment Confirmed, Initial Appointment",Northfield Clinic,'
    'Finished,"ABLE, Ann (Dr)",07-Jul-26,09:00,CAMHS Core,3wks,40000001,1',
    # Core follow-up (no "Initial Appointment" flag), attended
    '08-Jul-26,50m,1h,Has QOF Alerts,Northfield Clinic,Finished,"ABLE, Ann (Dr)",08-Jul-26,'
    "09:00,CAMHS Core,1wk 2d,40000002,1",
    # new Core Partnership, DNA
    '09-Jul-26,,1h 30m,Initial Appointment,Northfield Clinic,Did Not Attend,"ABLE, Ann (Dr)",'
    "09-Jul-26,13:30,CAMHS Core,4d,40000003,1",
    # Core follow-up, cancelled by the service (SystmOne's "Cancelled by Unit")
    '10-Jul-26,,1h,,Northfield Clinic,Cancelled by Unit,"ABLE, Ann (Dr)",10-Jul-26,13:30,'
    "CAMHS Core,6d,40000002,1",
    # new Core Partnership, attended
    '13-Jul-26,1h 30m,1h 30m,"Appointment Confirmed, Initial Appointment",Northfield Clinic,'
    'Finished,"BAKER, Ben (Mr)",13-Jul-26,09:00,CAMHS Core,2wks,40000004,1',
    # Choice, DNA
    '14-Jul-26,,1h,,Northfield Clinic,Did Not Attend,"BAKER, Ben (Mr)",14-Jul-26,09:00,'
    "CAMHS Choice,5d,40000005,1",
    # Choice, cancelled by the family
    '15-Jul-26,,1h,Appointment Confirmed,Northfield Clinic,Cancelled by Patient,'
    '"BAKER, Ben (Mr)",15-Jul-26,09:00,CAMHS Choice,1wk,40000006,1',
]
SYSTMONE = ("\ufeff" + HEADER + "\n" + "\n".join(ROWS) + "\n").encode("utf-8")
#: Rows by type and outcome, in the words the review uses, from the comments above.
COUNTS = [
    # type, attended, DNA/WNB, cancelled by family, cancelled by service, all
    ["Choice", 1, 1, 1, 0, 3],
    ["new Core Partnership", 2, 1, 0, 0, 3],
    ["Core follow-up", 1, 0, 0, 1, 2],
    ["All types", 4, 2, 1, 1, 8],
]
COUNT_COLUMNS = ["Appointment type", "attended", "DNA/WNB", "cancelled by family",
                 "cancelled by service", "All outcomes"]

# The same report as another trust's SystmOne prints it: the rota type headed just "Rota"
# (also a name for a team), the flags as "Flags", and "Patient Walked Out", which no rule may
# read (the patient came but left: DNA, late not seen or cancelled?), for the Choice of 15 Jul.
OTHER_WORDS = (
    SYSTMONE.decode("utf-8")
    .replace("Rota type", "Rota")
    .replace("Appointment flags", "Flags")
    .replace("Cancelled by Patient", "Patient Walked Out")
    .encode("utf-8")
)
#: The manager reads "Patient Walked Out" as a DNA: Choice has 1 attended and 2 DNA.
COUNTS_AFTER = [
    ["Choice", 1, 2, 0, 3],
    ["new Core Partnership", 2, 1, 0, 3],
    ["Core follow-up", 1, 0, 1, 2],
    ["All types", 4, 3, 1, 8],
]
COUNT_COLUMNS_AFTER = ["Appointment type", "attended", "DNA/WNB", "cancelled by service",
                       "All outcomes"]
MAX_ACTIONS = 4


def upload_page() -> AppTest:
    return open_page("upload")


def team(at: AppTest, content: bytes) -> AppTest:
    at.text_input(key=f"{file_key(content)}_team").set_value("North").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def editor(at: AppTest):
    """The mapping editor's expander (its label counts what is left to settle)."""
    return next(e for e in at.expander if e.label.startswith("Columns and values: "))


def counts_shown(at: AppTest) -> pd.DataFrame:
    shown = next(t.value for t in at.table if t.value.index.name == "Appointment type")
    return shown.reset_index()


def test_a_systmone_report_as_printed_reads_with_nothing_to_settle(db_url):
    at = team(upload(upload_page(), ("Appointments.csv", SYSTMONE)), SYSTMONE)
    assert editor(at).label == "Columns and values: nothing left to settle"
    by_field = next(t.value for t in at.table if "Found by" in t.value.columns)
    # Required fields are marked, named as a manager says them, with the column and why.
    assert by_field.loc["Appointment type", "Column in the file"] == "Rota type"
    assert by_field.loc["Appointment type", "Found by"].startswith("its header and its values: ")
    assert by_field.loc["New or follow-up", "Column in the file"] == "Appointment flags"
    assert by_field.loc["Outcome (attended, DNA, cancelled…)",
                        "Column in the file"] == "Appointment status"
    assert by_field.loc[by_field["Required"] == "required"].index.tolist() == [
        "Appointment date", "Clinician", "Appointment type", "Outcome (attended, DNA, cancelled…)"]
    captions = [c.value for c in at.caption]
    assert "Columns not used: “Appointment duration (actual)”, “Appointment location”, " \
           "“Rota start date”, “Patient Count”" in captions
    shown = counts_shown(at)
    assert list(shown.columns) == COUNT_COLUMNS
    assert shown.values.tolist() == COUNTS


def choose(at: AppTest, key: str, value) -> int:
    """Set a selectbox unless it already shows `value`; the number of actions it took."""
    box = at.selectbox(key=key)
    if box.value == value:
        return 0
    box.set_value(value)
    return 1


def apply(at: AppTest) -> int:
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return 1


def test_a_systmone_report_in_other_words_is_put_right_in_four_actions_or_fewer(db_url):
    at = team(upload(upload_page(), ("Appointments.csv", OTHER_WORDS)), OTHER_WORDS)
    key = file_key(OTHER_WORDS)
    actions = choose(at, f"{key}_column_kind", "Rota")
    actions += choose(at, f"{key}_column_new_followup", "Flags")
    if actions:
        actions += apply(at)
    walked_out = [s for s in at.selectbox if s.label.startswith("Outcome “Patient Walked Out”")]
    if walked_out:
        assert walked_out[0].label == "Outcome “Patient Walked Out” (1 row) means"
        # The meanings are offered in words; the choice is kept as its code.
        assert "Did not attend / was not brought" in walked_out[0].options
        walked_out[0].set_value("dna")
        actions += 1 + apply(at)
    assert actions <= MAX_ACTIONS
    assert editor(at).label == "Columns and values: nothing left to settle"
    shown = counts_shown(at)
    assert list(shown.columns) == COUNT_COLUMNS_AFTER
    assert shown.values.tolist() == COUNTS_AFTER


def read_of(content: bytes, name: str = "Appointments.csv") -> ReadFile:
    result = load_activity(content, name, team="North", pseudonym_key=b"test")
    return ReadFile(result, None, (name.rsplit(".", 1)[0],), result.report.headers, None, False)


def test_counts_table_is_types_by_outcomes_in_words():
    frame = read_of(SYSTMONE).result.frame
    table = counts_table(frame)
    assert list(table.columns) == COUNT_COLUMNS
    assert table.values.tolist() == COUNTS


def test_a_file_whose_columns_cannot_be_used_counts_what_is_missing():
    # Headers that name no field: every required one is a problem, named in words.
    read = ReadFile(None, "No header row was found", ("csv",), ("Wann", "Wer", "Was"), None,
                    False)
    assert problems(read) == [
        "No column chosen for Appointment date (required).",
        "No column chosen for Clinician (required).",
        "No column chosen for Appointment type (required).",
        "No column chosen for Outcome (required).",
    ]


def test_unknown_values_are_counted_with_their_rows():
    unknown = SYSTMONE.replace(b"Cancelled by Unit", b"Moved by admin")
    read = read_of(unknown)
    assert "Outcome: 1 value no rule knows (“Moved by admin” ×1): say what each means below." \
        in problems(read)


def test_a_required_field_not_found_is_marked_in_the_found_table():
    read = read_of(SYSTMONE)
    report = read.result.report
    report.mapping.pop("outcome")
    report.columns.pop("outcome")
    table = found_table(report).set_index("Field")
    assert table.loc["Outcome (attended, DNA, cancelled…)"].tolist() == [
        "required", "— not found", "", ""]
    assert "No column found for Outcome (required)." in problems(read)


def test_a_second_apply_keeps_the_first_answers(db_url):
    # "Moved by admin" is answered first; changing a column afterwards must not lose it.
    unknown = SYSTMONE.replace(b"Cancelled by Unit", b"Moved by admin")
    at = team(upload(upload_page(), ("Appointments.csv", unknown)), unknown)
    key = file_key(unknown)
    moved = next(s for s in at.selectbox if s.label.startswith("Outcome “Moved by admin”"))
    moved.set_value("cancelled_by_service")
    apply(at)
    at.selectbox(key=f"{key}_column_duration_min").set_value("Appointment duration (actual)")
    apply(at)
    assert editor(at).label == "Columns and values: nothing left to settle"
    profile = at.session_state[f"{key}_profile"]
    assert profile.values == {"outcome": {"Moved by admin": "cancelled_by_service"}}
    assert profile.columns["duration_min"] == "Appointment duration (actual)"
    # The 10 Jul Core follow-up is cancelled by the service, as in the SystmOne original.
    assert counts_shown(at).values.tolist() == COUNTS


def test_rows_that_do_not_say_new_or_follow_up_are_a_problem_naming_the_field_to_choose():
    # Two "Core Partnership" rows and nothing saying new or follow-up: both read as follow-up
    # (spec §3), so there is no new Core Partnership either (a doubt, issue 12 item 3).
    plain = (b"Appointment Date,Clinician,Appointment Type,Outcome\n"
             b"01/07/2026,Ann Able,Core Partnership,Attended\n"
             b"08/07/2026,Ann Able,Core Partnership,Attended\n")
    found = problems(read_of(plain, "plain.csv"))
    assert found[0] == (
        "2 rows (“Core Partnership” ×2) do not say whether they are new or follow-up, so they "
        "are read as follow-up: choose the column for “New or follow-up” if the file has one.")
    assert len(found) == 2 and "no new Core Partnership" in found[1]


def test_rows_not_marked_new_in_a_flags_column_name_that_column():
    # The SystmOne report with no "Initial Appointment" anywhere: the 5 Core rows read as
    # follow-up, and the problem names the flags column the loader read.
    unmarked = SYSTMONE.replace(b"Initial Appointment", b"Has QOF Alerts")
    found = problems(read_of(unmarked))
    assert found[0] == (
        "5 rows (“CAMHS Core” ×5) are not marked new in “Appointment flags”, so they are read "
        "as follow-up: check that column is the one that says it.")
