"""The Upload page through AppTest's file_uploader: what is shown before anything is stored,
confirming, value mapping saved as a profile and re-applied, rejected rows downloaded
formula-safe, superseding and restoring, and hostile files refused with the app still working.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from conftest import DASHBOARD, open_page, table_with
from streamlit.testing.v1 import AppTest

from capa_monitor.loading.read import FAULT_FOR_TEST_ENV
from capa_monitor.sample import demo_truth
from capa_monitor.settings import Limits, Settings
from capa_monitor.store import Store
from tests.hostile_corpus import build_corpus
from tests.test_hostile import REFUSALS, SMALL_ROW_LIMIT

HEADER = "Appointment ID,Appointment Date,Clinician,Appointment Type,Outcome\n"
# Five rows: one with a formula where the date should be (rejected: unreadable date), one with
# an outcome the vocabulary does not know (kept as booked, listed to map).
JULY = (
    HEADER
    + "X1,01/07/2026,\"ABLE, Ann\",Core Partnership New,Attended\n"
    + "X2,08/07/2026,\"ABLE, Ann\",Partnership - first,DNA\n"
    + "X3,09/07/2026,\"BAKER, Ben (Dr)\",Choice,Seen\n"
    + "X4,=NOW(),\"BAKER, Ben (Dr)\",Choice,Seen\n"
    + "X5,10/07/2026,\"BAKER, Ben (Dr)\",Choice,Mystery outcome\n"
).encode()
# The same team's July again, corrected: X2 attended after all, X5 gone.
JULY_CORRECTED = (
    HEADER
    + "X1,01/07/2026,\"ABLE, Ann\",Core Partnership New,Attended\n"
    + "X2,08/07/2026,\"ABLE, Ann\",Partnership - first,Attended\n"
    + "X3,09/07/2026,\"BAKER, Ben (Dr)\",Choice,Seen\n"
).encode()
# Every refused file of the issue-6 corpus, plus the one the loader (not the reader) refuses.
HOSTILE = {**REFUSALS, "no_recognisable_columns.csv": ("No header row was found",)}


def file_key(content: bytes) -> str:
    return f"upload_{hashlib.sha256(content).hexdigest()[:12]}"


def upload_page() -> AppTest:
    at = open_page("upload")
    assert at.title[0].value == "Upload"
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="upload_files").set_value(
        [(name, content, "application/octet-stream") for name, content in files]
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def team(at: AppTest, content: bytes, name: str) -> AppTest:
    at.text_input(key=f"{file_key(content)}_team").set_value(name).run()
    return at


def confirm(at: AppTest, content: bytes) -> AppTest:
    """Tick "I have checked" when the reading has checks to make, then confirm and store."""
    key = file_key(content)
    ticks = [c for c in at.checkbox if c.key == f"{key}_checked"]
    if ticks:
        ticks[0].check().run()
    at.button(key=f"{key}_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown] + [w.value for w in at.warning] + [i.value for i in at.info]
        + [e.value for e in at.error] + [s.value for s in at.success] + [c.value for c in at.caption]
    )


def test_report_is_shown_before_anything_is_stored_then_confirm_stores(db_url):
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    shown = texts(at)
    assert "Sheet **north july**, header on row **1**, encoding utf-8" in shown
    assert {m.label: m.value for m in at.metric} == {
        "Rows read": "5", "Accepted": "4", "Rejected": "1", "Blank or totals rows dropped": "0",
    }
    assert "“Mystery outcome” ×1" in shown
    # The preview in words, never codes: "Core Partnership New" is a new Core Partnership,
    # "Seen" is attended, the unknown outcome is kept as booked; the team typed in full.
    preview = table_with(at, "kind").set_index("slot_id")
    assert preview.loc["X1", ["kind", "outcome", "team"]].tolist() == [
        "new Core Partnership", "attended", "North"]
    assert preview.loc["X3", ["kind", "outcome"]].tolist() == ["Choice", "attended"]
    assert preview.loc["X5", "outcome"] == "booked"
    assert "Storing will keep **4** rows for **North** covering 01/07/2026 to 10/07/2026." in shown
    assert Store.open(db_url).uploads().empty  # nothing stored yet

    confirm(at, JULY)
    assert "Stored as upload 1." in texts(at)
    stored = Store.open(db_url)
    assert stored.uploads()["file_name"].tolist() == ["north july.csv"]
    assert sorted(stored.activity()["slot_id"]) == ["X1", "X2", "X3", "X5"]
    assert "upload" in set(stored.audit()["action"])


def test_rejected_rows_download_is_formula_safe_and_audited(db_url, downloads):
    at = upload(upload_page(), ("north july.csv", JULY))
    served = downloads["rejected rows north july.csv.csv"]
    csv_text = served.decode("utf-8-sig")
    assert "unreadable appointment date" in csv_text
    assert "'=NOW()" in csv_text  # text, not a formula, whatever the cell held
    # §7: the download is audited with the hash of exactly the bytes served and its 1 row,
    # and names the upload it came from.
    at.download_button(key=f"{file_key(JULY)}_rejected_csv").click().run()
    assert not at.exception, [e.value for e in at.exception]
    entry = Store.open(db_url).audit().iloc[-1]
    assert (entry["action"], entry["file_sha256"], entry["rows"]) == (
        "download", hashlib.sha256(served).hexdigest(), 1,
    )
    details = json.loads(entry["details"])
    assert (details["what"], details["source_file"]) == ("rejected rows csv", "north july.csv")
    assert details["source_sha256"] == hashlib.sha256(JULY).hexdigest()


def test_mapping_a_value_reloads_and_the_saved_mapping_applies_to_the_next_file(db_url):
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    mystery = next(s for s in at.selectbox if s.label.startswith("Outcome “Mystery outcome”"))
    mystery.set_value("dna")
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert "“Mystery outcome” ×1" not in texts(at)
    confirm(at, JULY)
    stored = Store.open(db_url)
    outcomes = stored.activity().set_index("slot_id")["outcome"]
    assert outcomes["X5"] == "dna"
    assert [p.values for p in stored.profiles()] == [{"outcome": {"Mystery outcome": "dna"}}]

    # Next month's file has the same columns: the saved mapping is applied without asking.
    august = JULY.replace(b"/07/2026", b"/08/2026").replace(b"X", b"Y")
    at = upload(upload_page(), ("north august.csv", august))
    assert "Saved mapping “north july” applied" in texts(at)
    assert "“Mystery outcome” ×1" not in texts(at)


def test_a_corrected_upload_says_what_it_supersedes_and_the_old_one_can_be_restored(db_url):
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    confirm(at, JULY)

    at = team(upload(upload_page(), ("north july v2.csv", JULY_CORRECTED)), JULY_CORRECTED, "North")
    # The corrected file covers 1–9 Jul: it replaces X1, X2, X3 of upload 1 (X5 is 10 Jul).
    assert "It replaces 3 earlier rows" in texts(at)
    assert "upload 1 (north july.csv): 3 rows" in texts(at)
    confirm(at, JULY_CORRECTED)
    assert "replacing 3 earlier rows" in texts(at)

    at.selectbox(key="upload_restore_choice").set_value(1).run()
    # Its preview: X1–X3 count again; upload 2's three rows (the same slots) are replaced.
    assert (
        "Restoring upload 1 (north july.csv, North) makes 3 of its rows count again (Jul 2026)."
        "\n\nRows of other uploads that are replaced:\n- upload 2 (north july v2.csv, North): "
        "3 rows"
    ) in texts(at)
    at.button(key="upload_restore").click().run()
    assert "Upload 1 restored: 3 of its rows count again." in texts(at)
    outcomes = Store.open(db_url).activity().set_index("slot_id")["outcome"]
    assert outcomes["X2"] == "dna"
    # The history shown right after the restore is the store as it is now (it was stale).
    shown = table_with(at, "rows_active").set_index("upload_id")
    assert shown["rows_active"].to_dict() == {2: 0, 1: 4}


def test_uploading_the_same_file_again_changes_nothing(db_url):
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    confirm(at, JULY)
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    assert "already stored as upload 1" in texts(at)


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    return build_corpus()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_and_the_app_keeps_working(db_url, corpus, name):
    if name == "too_many_rows.xlsx":  # the row limit comes from the stored settings
        Store.open(db_url).save_settings(Settings(limits=SMALL_ROW_LIMIT), user="setup")
    at = upload(upload_page(), (name, corpus[name]), ("north july.csv", JULY))
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith(f"{name}: ")
    for words in HOSTILE[name]:
        assert words in message
    # The good file beside it is still offered for storing, and the app answers the next run.
    at = team(at, JULY, "North")
    confirm(at, JULY)
    assert not at.exception
    assert Store.open(db_url).uploads()["file_name"].tolist() == ["north july.csv"]


def test_the_uploaders_cap_sits_above_the_guards_limit():
    # The uploader's own cap (config.toml, 60 MB) sits above the guard's, so the guard's clear
    # message is what a manager sees for an oversized file.
    config = (DASHBOARD.parent / ".streamlit" / "config.toml").read_text()
    assert "maxUploadSize = 60" in config
    assert Limits().max_upload_bytes == 50 * 1024 * 1024 < 60 * 1024 * 1024


def test_a_reader_crash_in_the_child_leaves_the_app_serving(db_url, monkeypatch):
    # The sandboxed reader's child aborts the way calamine does on a dimension bomb.
    monkeypatch.setenv(FAULT_FOR_TEST_ENV, "abort")
    at = upload(upload_page(), ("north july.csv", JULY))
    assert len(at.error) == 1 and "could not be read safely" in at.error[0].value
    monkeypatch.delenv(FAULT_FOR_TEST_ENV)
    at.run()  # the same session, the same file: now read and offered for storing
    assert not at.error
    assert at.button(key=f"{file_key(JULY)}_confirm")


def test_a_sample_xlsx_export_reads_as_the_generator_wrote_it(db_url):
    content = (DASHBOARD.parent / "sample_data" / "northfield_appointments.xlsx").read_bytes()
    at = upload(upload_page(), ("northfield_appointments.xlsx", content))
    shown = texts(at)
    assert "Sheet **Appointments**" in shown
    rows = len(demo_truth())  # the generator's own rows: every one must be accepted
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Accepted"], metrics["Rejected"]) == (str(rows), "0")
    # The sample carries exactly one NHS number with a wrong check digit, on purpose.
    assert "1 NHS numbers fail the check digit" in shown
    preview = next(t.value for t in at.dataframe if "slot_id" in t.value.columns)
    assert "client_key" not in preview.columns


# Headers no synonym knows: the loader refuses, the manager maps the columns by hand.
UNKNOWN_SHAPE = (
    b"Wann,Wer,Was,Ergebnis\n"
    b"01/07/2026,\"ABLE, Ann\",Core Partnership New,Attended\n"
    b"02/07/2026,\"ABLE, Ann\",Choice,DNA\n"
)
HAND_MAPPING = {"date": "Wann", "clinician": "Wer", "kind": "Was", "outcome": "Ergebnis"}


def test_a_file_of_unknown_shape_can_be_mapped_by_hand_and_the_mapping_is_kept(db_url):
    at = team(upload(upload_page(), ("fremd.csv", UNKNOWN_SHAPE)), UNKNOWN_SHAPE, "North")
    assert len(at.error) == 1 and at.error[0].value.startswith("fremd.csv: ")
    key = file_key(UNKNOWN_SHAPE)
    for field, header in HAND_MAPPING.items():
        at.selectbox(key=f"{key}_column_{field}").set_value(header)
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert not at.error
    assert {m.label: m.value for m in at.metric}["Accepted"] == "2"
    confirm(at, UNKNOWN_SHAPE)
    stored = Store.open(db_url)
    assert stored.activity()["kind"].tolist() == ["core_new", "choice"]
    assert [p.columns for p in stored.profiles()] == [HAND_MAPPING]

    august = UNKNOWN_SHAPE.replace(b"/07/2026", b"/08/2026")
    at = upload(upload_page(), ("fremd august.csv", august))
    assert not at.error
    assert "Saved mapping “fremd” applied" in texts(at)


def test_covering_whole_months_widens_what_the_upload_replaces(db_url):
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    at.checkbox(key=f"{file_key(JULY)}_whole_months").check().run()
    # 1–10 Jul widened to the whole of July.
    assert "covering 01/07/2026 to 31/07/2026" in texts(at)
    confirm(at, JULY)
    uploads = Store.open(db_url).uploads()
    assert (uploads["period_start"].dt.date.astype(str).tolist(),
            uploads["period_end"].dt.date.astype(str).tolist()) == (["2026-07-01"], ["2026-07-31"])


# ---- issue 12: the same slots from another system, the team prefilled, the gate, removal ----

RIO = (
    b"Appointment ID,Clinician,Team,Appointment Date,Start Time,Appointment Type,Outcome\n"
    b"R1,Ann Able,CAMHS North,01/07/2026,09:00,Core Partnership New,Attended\n"
    b"R2,Ann Able,CAMHS North,08/07/2026,09:00,Core Partnership New,DNA\n"
    b"R3,Ben Baker,CAMHS North,02/07/2026,10:00,Choice,Attended\n"
)
# The same three slots from the MHSDS extract (no team column, its own ids); R2 attended here.
MHSDS = (
    b"CareContactId,CareProfName,CareContDate,CareContTime,ActivityType,ConsType,AttendOrDNACode\n"
    b"700001,Ann Able,01/07/2026,09:00:00,Core Partnership,01,5\n"
    b"700002,Ann Able,08/07/2026,09:00:00,Core Partnership,01,5\n"
    b"700003,Ben Baker,02/07/2026,10:00:00,Choice,01,5\n"
)


def rio_stored(db_url) -> None:
    store = Store.open(db_url)
    from capa_monitor.loading import load_activity

    store.ingest(load_activity(RIO, "rio_style.csv"), user="setup@example.org")
    store.close()


def test_a_team_less_file_gets_its_team_and_says_which_rows_are_already_stored(db_url):
    rio_stored(db_url)
    at = upload(upload_page(), ("mhsds.csv", MHSDS))
    key = file_key(MHSDS)
    # The team is filled in from where Ann and Ben work, and said so.
    assert at.text_input(key=f"{key}_team").value == "CAMHS North"
    shown = texts(at)
    assert ("The team is filled in as **CAMHS North**: this file has no team column, and its "
            "clinicians work there (3 of their 3 stored rows are CAMHS North's).") in shown
    assert ("- 3 of these rows are already stored from upload 1, rio_style.csv, CAMHS North "
            "(1 of them differs in outcome, type or details).") in shown
    choice = at.radio(key=f"{key}_on_overlap")
    assert (choice.value, choice.options) == ("replace", [
        "Replace them with this file's rows", "Skip them: keep the stored rows",
        "Keep only the ones that differ",
    ])
    assert "They will be replaced by this file's rows." in shown
    choice.set_value("skip").run()
    assert ("The stored rows stay; this file's 3 copies of them are kept only as history, so "
            "nothing counts twice.") in texts(at)
    confirm(at, MHSDS)
    assert "Stored as upload 2; 3 rows already stored are kept only as history." in texts(at)
    assert sorted(Store.open(db_url).activity()["slot_id"]) == ["R1", "R2", "R3"]


def test_a_team_less_file_cannot_be_stored_with_its_team_cleared(db_url):
    rio_stored(db_url)
    at = upload(upload_page(), ("mhsds.csv", MHSDS))
    key = file_key(MHSDS)
    at.text_input(key=f"{key}_team").set_value("").run()
    assert at.text_input(key=f"{key}_team").value == ""  # filled in once, not forced back
    assert "This file has no team column and the store keeps teams" in texts(at)
    assert at.button(key=f"{key}_confirm").disabled


FOLLOWUPS_ONLY = (
    b"Appointment ID,Clinician,Team,Appointment Date,Appointment Type,Outcome\n"
    b"F1,Ann Able,North,01/07/2026,Core Partnership Follow-up,Attended\n"
    b"F2,Ann Able,North,02/07/2026,Core Partnership Follow-up,Attended\n"
)


def test_a_doubtful_reading_cannot_be_confirmed_without_the_tick(db_url):
    at = upload(upload_page(), ("systmone.csv", FOLLOWUPS_ONLY))
    key = file_key(FOLLOWUPS_ONLY)
    assert "**Check this reading before storing it:**\n- 2 Core Partnership rows but no new " \
        "Core Partnership" in texts(at)
    assert at.button(key=f"{key}_confirm").disabled
    at.checkbox(key=f"{key}_checked").check().run()
    assert not at.button(key=f"{key}_confirm").disabled
    at.button(key=f"{key}_confirm").click().run()
    assert "Stored as upload 1." in texts(at)


def test_removing_an_upload_shows_what_goes_and_what_comes_back(db_url):
    rio_stored(db_url)
    at = upload(upload_page(), ("mhsds.csv", MHSDS))
    confirm(at, MHSDS)  # replace: upload 2 takes R1–R3's place
    at.selectbox(key="upload_remove_choice").set_value(2).run()
    assert (
        "Removing upload 2 (mhsds.csv, CAMHS North) takes out its 3 counted rows (Jul 2026)."
        "\n\nRows of other uploads that come back:\n- upload 1 (rio_style.csv, CAMHS North): "
        "3 rows"
    ) in texts(at)
    assert at.button(key="upload_remove").disabled  # until the removal is ticked
    at.checkbox(key="upload_remove_sure_2").check().run()
    at.button(key="upload_remove").click().run()
    assert "Upload 2 (mhsds.csv) removed; 3 rows of other uploads count again." in texts(at)
    stored = Store.open(db_url)
    assert sorted(stored.activity()["slot_id"]) == ["R1", "R2", "R3"]
    assert stored.audit()["action"].iloc[-1] == "upload removed"
    shown = table_with(at, "rows_active").set_index("upload_id")
    assert shown["rows_active"].to_dict() == {1: 3}


def test_names_that_match_no_job_plan_are_listed_before_storing(db_url):
    store = Store.open(db_url)
    plans = pd.DataFrame({"clinician": ["Ann Able", "Benjamin Baker", "Cara Cole"],
                          "team": ["North"] * 3, "core_sessions": [2.0, 2.0, 2.0]})
    store.save_jobplans(plans, user="test", source="test")
    at = team(upload(upload_page(), ("north july.csv", JULY)), JULY, "North")
    shown = texts(at)
    # ABLE, Ann is Ann Able's plan; BAKER, Ben (Dr) has 2 accepted rows (X4's date is rejected)
    # and no plan under that name, most likely Benjamin Baker's.
    assert "Names to check against the job plans" in shown
    assert ("Ben Baker (2 rows) matches no job plan: perhaps Benjamin Baker (short form of the "
            "forename)?") in shown
    assert "The job plan of Cara Cole has no activity in this file." in shown
    assert "Ann Able" not in shown.split("Names to check against the job plans")[1]
