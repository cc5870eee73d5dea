"""The Job plans page: import a job-plan spreadsheet through the uploader (rejected rows shown,
nothing saved until confirmed), targets worked out beside the plans, and the editor's checks.

AppTest cannot type into st.data_editor cells (its Dataframe.set_value refuses), so the
editor's validation is tested on `tidy_plans()` and `problems()`, the functions the page runs on
the edited table before checking and saving it.
"""

from __future__ import annotations

import hashlib
import io

import openpyxl
import pandas as pd
import pytest
from conftest import open_page, plans_frame, table_with
from streamlit.testing.v1 import AppTest

from capa_monitor.store import Store
from capa_monitor.views.jobplans import problems, removed_clinicians, renamed, tidy_plans

PLANS_CSV = (
    b"Name,Team,WTE,Core sessions,Choice per week,Q2 target,Leaving date\n"
    b"Ann Able,North,1,2,2,,\n"
    b"\"BAKER, Ben (Dr)\",North,0.8,4,1,9,31/08/2026\n"
    b",North,1,1,1,,\n"
)
# Q2 2026/27 targets: Ann 2 sessions × 2 × 11.25 ÷ 7.5 = 6.0 (CAPA arithmetic), Choice
# 2 × 11.25 = 22.5; Ben's plan states 9 for Q2 (explicit), Choice 1 × 11.25 = 11.25.
EXPECTED_TARGETS = [
    ["Ann Able", 6.0, 22.5, "capa"],
    ["Ben Baker", 9.0, 11.25, "explicit"],
]


def jobplans_page() -> AppTest:
    return open_page("jobplans")


def test_empty_store_says_how_to_add_plans(db_url):
    at = jobplans_page()
    assert at.info[0].value.startswith("No job plans yet.")


def upload(at: AppTest, name: str, content: bytes, key: str = "jobplans_upload") -> AppTest:
    return at.file_uploader(key=key).set_value((name, content, "text/csv")).run()


def test_import_previews_what_was_read_then_saves_and_the_tables_follow(db_url):
    at = jobplans_page()
    at.session_state["period"] = {"quarter": "2026/27 Q2", "teams": [], "as_of": None}
    upload(at, "plans.csv", PLANS_CSV)
    assert not at.exception
    preview = table_with(at, "Core")
    assert preview["Clinician"].tolist() == ["Ann Able", "Ben Baker"]
    assert preview["2026/27 Q2 target"].tolist() == ["6.0", "9.0"]
    how = table_with(at, "Found by")
    assert dict(zip(how["Column"], how["What"], strict=True))["Core sessions"] == (
        "Core sessions (half-days) per week"
    )
    rejected = table_with(at, "reason")
    assert rejected[["row", "reason"]].values.tolist() == [[4, "no clinician name"]]
    assert Store.open(db_url).jobplans().empty  # not saved before confirming

    at.button(key="jobplans_import_confirm").click().run()
    assert not at.exception
    assert at.success[0].value == "Imported 2 job plans from plans.csv."
    # The same run shows the plans just saved: no "No job plans yet" beside "Imported 2".
    assert not [i.value for i in at.info if i.value.startswith("No job plans yet")]
    targets = table_with(at, "core_target")
    columns = ["clinician", "core_target", "choice_target", "target_source"]
    assert targets[columns].values.tolist() == EXPECTED_TARGETS
    # The uploader is emptied for the next file.
    assert at.file_uploader(key="jobplans_upload_1").value in (None, [])
    # §7: the import is audited with the hash of the imported file and its 2 usable rows.
    audit = Store.open(db_url).audit()
    imported = audit[audit["action"] == "job plans imported"]
    assert imported["file_sha256"].tolist() == [hashlib.sha256(PLANS_CSV).hexdigest()]
    assert imported["rows"].tolist() == [2]
    assert sorted(Store.open(db_url).jobplans()["clinician"]) == ["Ann Able", "Ben Baker"]
    # The history in words: who, from which file, what each plan was given.
    history = table_with(at, "What changed")
    assert set(history["From"]) == {"plans.csv"}
    assert set(history["Change"]) == {"new plan"}
    ben = history[history["Clinician"] == "Ben Baker"]["What changed"].item()
    assert ben == ("team North; WTE 0.8; Choice per week 1; Core sessions 4; Q2 target 9; "
                   "available to 31/08/2026")


# Issue 11's job plan: every header ends in /wk; hours for one, a column nobody needs.
PER_WEEK_CSV = (
    b"Name,Choice appts/wk,Core sessions/wk,Specific hrs/wk,Band\n"
    b"Ann Able,4,3,7,7\n"
    b"Cy Cole,2,,3.5,6\n"
)


def test_the_preview_says_how_each_column_was_read_and_which_were_not_used(db_url):
    at = jobplans_page()
    at.session_state["period"] = {"quarter": "2026/27 Q3", "teams": [], "as_of": None}
    upload(at, "per week.csv", PER_WEEK_CSV)
    preview = table_with(at, "Core")
    # Ann: 3 Core sessions → 3 × 2 × 11.25 ÷ 7.5 = 9; 7 Specific hours ÷ 3.5 = 2 sessions.
    # Cy: no Core time and no target: no target, in words (§4), never 0.
    assert preview["2026/27 Q3 target"].tolist() == [
        "9.0", "none (no Core time or target)",
    ]
    assert preview["Specific"].tolist() == [2.0, 1.0]
    how = table_with(at, "Found by")
    assert how[how["Column"] == "Specific hrs/wk"]["What"].item() == "Specific hours per week"
    warnings = [w.value for w in at.warning]
    assert "Columns not used: 'Band'." in warnings
    assert any(w.startswith("Cy Cole: the job plan gives no Core time or target") for w in warnings)


# "Clinic hrs" names no activity: nothing says it is Core time until the manager does.
REFUSED_CSV = b"Who,Clinic hrs,Team\nAnn Able,7,North\nBo Bell,3.5,North\nCy Cole,0,North\n"


def test_a_refused_file_is_mapped_by_hand_saved_as_a_profile_and_fits_next_time(db_url):
    at = jobplans_page()
    upload(at, "trust.csv", REFUSED_CSV)
    assert "no row gives Core time or a target" in at.error[0].value
    assert "'Clinic hrs'" in at.error[0].value
    # The form starts from what was found: the names by their values, the team by its header.
    key = "jobplans_" + hashlib.sha256(REFUSED_CSV).hexdigest()[:12]
    assert at.selectbox(key=f"{key}_column_clinician").value == "Who"
    assert at.selectbox(key=f"{key}_column_team").value == "Team"
    assert at.selectbox(key=f"{key}_column_core_hours").value == "(not in this file)"
    at.selectbox(key=f"{key}_column_core_hours").set_value("Clinic hrs")
    at.text_input(key=f"{key}_name").set_value("Trust A")
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert not at.error, [e.value for e in at.error]
    preview = table_with(at, "Core")
    assert preview["Core"].tolist() == [2.0, 1.0, 0.0]  # hours ÷ 3.5
    how = table_with(at, "Found by")
    assert how[how["Column"] == "Clinic hrs"]["Found by"].item() == "your mapping (100% sure)"
    at.button(key="jobplans_import_confirm").click().run()
    assert at.success[0].value == "Imported 3 job plans from trust.csv."
    (saved,) = Store.open(db_url).profiles()
    assert (saved.name, saved.columns["core_hours"]) == ("Job plans: Trust A", "Clinic hrs")

    # Next month's file of the same shape reads with the saved mapping, no questions.
    at = jobplans_page()
    upload(at, "trust next.csv", REFUSED_CSV.replace(b"Ann Able,7", b"Ann Able,14"))
    assert not at.error
    assert at.info[0].value == "Columns read with the saved mapping “Trust A”."
    assert table_with(at, "Core")["Core"].tolist()[0] == 4.0


def plans(*rows: dict) -> pd.DataFrame:
    return plans_frame(list(rows))


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (plans({"clinician": "Ann Able"}, {"clinician": "Ben Baker"}), []),
        (plans({"clinician": "Ann Able"}, {"clinician": "  "}),
         ["Row 2: the clinician's name is blank."]),
        (plans({"clinician": "Ann Able"}, {"clinician": "ann able"}),
         ["Ann Able appears more than once; keep one row per clinician.",
          "ann able appears more than once; keep one row per clinician."]),
        # matched as the store matches: inner spacing does not make a second clinician
        (plans({"clinician": "Ann Able"}, {"clinician": "Ann  Able"}),
         ["Ann  Able appears more than once; keep one row per clinician.",
          "Ann Able appears more than once; keep one row per clinician."]),
        (plans({"clinician": "Ann Able", "available_from": pd.Timestamp("2026-09-01"),
                "available_to": pd.Timestamp("2026-08-01")}),
         ["Row 1 (Ann Able): available to is before available from."]),
    ],
    ids=["valid", "blank name", "duplicate name", "spacing", "dates reversed"],
)
def test_editor_checks(table, expected):
    assert problems(table) == expected


# A name typed into the editor is saved as an imported one would be (spec §3: `SMITH, Jane
# (Dr)` → `Jane Smith`), so the plan meets the clinician's activity rows.
@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("SMITH, Jane (Dr)", "Jane Smith"),
        ("Dr Jane Smith", "Jane Smith"),
        ("  jane   smith ", "Jane Smith"),
        ("O'NEILL, Aoife", "Aoife O'Neill"),
        ("BAKER, Ben (Dr)", "Ben Baker"),
        ("Anna van Dijk", "Anna van Dijk"),
        ("Jane\x1aSmith", "Jane Smith"),
        ("Jane Smith", "Jane Smith"),
    ],
)
def test_typed_names_are_normalised_before_saving(typed, saved):
    tidy = tidy_plans(plans({"clinician": typed, "team": " North ", "core_sessions": 2.0}))
    assert tidy[["clinician", "team", "core_sessions"]].values.tolist() == [[saved, "North", 2.0]]
    assert problems(tidy) == []
    assert renamed(plans({"clinician": typed}), tidy) == (
        [] if typed == saved else [f"{typed} → {saved}"]
    )


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # the same clinician typed two ways is one clinician
        (["SMITH, Jane (Dr)", "Jane Smith"],
         ["Jane Smith appears more than once; keep one row per clinician."]),
        # a title alone is no name
        (["Ann Able", "(Dr)"], ["Row 2: the clinician's name is blank."]),
        (["Ann Able", None], ["Row 2: the clinician's name is blank."]),
    ],
    ids=["one person typed two ways", "title only", "empty row"],
)
def test_editor_checks_run_on_the_normalised_names(names, expected):
    assert problems(tidy_plans(plans(*({"clinician": n} for n in names)))) == expected


def test_export_downloads_the_plans_as_xlsx_and_is_audited(db_url, downloads):
    captured = downloads
    Store.open(db_url).save_jobplans(
        plans({"clinician": "=Ann Able", "team": "North", "core_sessions": 2.0}),
        user="setup@example.org", source="test",
    )
    at = jobplans_page()
    sheet = openpyxl.load_workbook(io.BytesIO(captured["job plans.xlsx"])).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    # The name survives as inert text (written "'=Ann Able", a text cell), never a formula.
    assert [v for v in values if isinstance(v, str) and "Ann Able" in v] == ["'=Ann Able"]
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    served = hashlib.sha256(captured["job plans.xlsx"]).hexdigest()
    at.download_button(key="jobplans_export").click().run()
    audit = Store.open(db_url).audit()
    downloads = audit[audit["action"] == "download"]
    assert downloads["user"].tolist() == ["local@localhost"]
    # §7: the hash of exactly the file served, and its 1 plan row.
    assert (downloads["file_sha256"].tolist(), downloads["rows"].tolist()) == ([served], [1])


def test_rows_deleted_in_the_editor_are_the_plans_removed_on_save():
    # Before: three plans; after: Ben's row deleted and Jane's name retyped in another case,
    # which is the same clinician to the store (names match case-insensitively).
    before = pd.DataFrame({"clinician": ["Jane Smith", "Ben Baker", "Ann Lee"]})
    after = pd.DataFrame({"clinician": ["JANE smith", "Ann Lee", None]})
    assert removed_clinicians(before, after) == ["Ben Baker"]


NIL_CSV = b"Name,Core sessions/wk,Leaving date\nAnn Able,nil,\nBo Bell,3,n/a\n"


def test_values_not_understood_are_asked_for_in_words(db_url):
    at = jobplans_page()
    upload(at, "nil.csv", NIL_CSV)
    rejected = table_with(at, "reason")
    assert rejected[["row", "value"]].values.tolist() == [[2, "nil"], [3, "n/a"]]
    key = "jobplans_" + hashlib.sha256(NIL_CSV).hexdigest()[:12]
    at.text_input(key=f"{key}_value_core_sessions_nil").set_value("0")
    at.text_input(key=f"{key}_value_available_to_n/a").set_value("blank")
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert not at.exception
    assert not [t for t in at.dataframe if "reason" in t.value.columns]  # nothing rejected now
    # "nil" is an explicit 0 Core sessions (a target of 0); "n/a" is no leaving date.
    preview = table_with(at, "Core")
    assert preview["Core"].tolist() == [0.0, 3.0]
    assert preview["Leaves"].isna().all()
