"""Slot identity across uploads (issue 12, domain spec §3): the same slots uploaded twice —
another system's file, another team label, no team at all — are found, shown per earlier upload
and never counted twice; replace / skip / keep_different; removing and restoring an upload
with their previews; the team of a team-less file prefilled from where its clinicians work.

Every test runs on SQLite and, when CAPA_TEST_POSTGRES_URL is set, on PostgreSQL. Files go
through the real loader, so the mapping (which says which system the ids come from) is real.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import plans_frame
from sqlalchemy import text

from capa_monitor import model
from capa_monitor.errors import StoreError
from capa_monitor.jobplans import load_jobplans
from capa_monitor.loading import load_activity
from capa_monitor.metrics.review import review
from capa_monitor.periods import Quarter
from capa_monitor.store import KEEP_DIFFERENT, SKIP, Store, UploadRows
from capa_monitor.store.database import write_transaction
from capa_monitor.store.schema import migrate

USER = "manager@example.org"
KEY = b"overlap-test-key"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

# RiO-style July for CAMHS North: six slots (NHS numbers from the 999 test range).
RIO = (
    "Appointment ID,Clinician,Team,Appointment Date,Start Time,Appointment Type,Outcome,NHS Number\n"
    "R1,Ann Able,CAMHS North,01/07/2026,09:00,Core Partnership New,Attended,9990013667\n"
    "R2,Ann Able,CAMHS North,08/07/2026,09:00,Core Partnership New,DNA,9990013748\n"
    "R3,Ben Baker,CAMHS North,02/07/2026,10:00,Choice,Attended,9990013810\n"
    "R4,Ben Baker,CAMHS North,09/07/2026,10:00,Core Partnership Follow-up,Attended,9990013667\n"
    "R5,Ann Able,CAMHS North,15/07/2026,14:00,Core Partnership New,Attended,9990013896\n"
    "R6,Ben Baker,CAMHS North,16/07/2026,11:00,Choice,Unbooked,\n"
)
# The same six slots from the MHSDS extract (its own ids, seconds on the times, NHS codes for
# outcomes, no team column), where M2 says attended (RiO: DNA), plus one slot RiO lacks (M7).
MHSDS = (
    "CareContactId,CareProfName,CareContDate,CareContTime,ActivityType,ConsType,"
    "AttendOrDNACode,NHSNumber\n"
    "700001,Ann Able,01/07/2026,09:00:00,Core Partnership,01,5,9990013667\n"
    "700002,Ann Able,08/07/2026,09:00:00,Core Partnership,01,5,9990013748\n"
    "700003,Ben Baker,02/07/2026,10:00:00,Choice,01,5,9990013810\n"
    "700004,Ben Baker,09/07/2026,10:00:00,Core Partnership,02,5,9990013667\n"
    "700005,Ann Able,15/07/2026,14:00:00,Core Partnership,01,5,9990013896\n"
    "700006,Ben Baker,16/07/2026,11:00:00,Choice,01,Unbooked,\n"
    "700007,Ann Able,20/07/2026,09:00:00,Core Partnership,01,3,9990013667\n"
)
RIO_IDS = ["R1", "R2", "R3", "R4", "R5", "R6"]
MHSDS_IDS = [f"70000{i}" for i in range(1, 8)]


def load(content: str, name: str, team: str | None = None):
    return load_activity(content.encode(), name, team=team, pseudonym_key=KEY)


def active(store: Store) -> list[str]:
    return sorted(store.activity()[model.SLOT_ID])


def stored_rio(store: Store) -> None:
    assert store.ingest(load(RIO, "rio_style.csv"), user=USER).upload_id == 1


@pytest.mark.parametrize("team", ["CAMHS North", "North CAMHS"])
def test_the_doubled_upload_stores_each_slot_once(store, team):
    # With the stored team label the cover (CAMHS North × 1–20 Jul) reaches the RiO rows
    # anyway; with another label only slot identity does. Either way: each slot once.
    stored_rio(store)
    mhsds = load(MHSDS, "mhsds.csv", team=team)
    plan = store.plan_ingest(mhsds)
    # R1..R6 are M1..M6 (clinician, date, start, kind family, client); only M2 differs.
    assert plan.overlaps == (UploadRows(1, "rio_style.csv", "CAMHS North", 6, 1),)
    assert plan.overlap_rows == 6
    assert plan.supersedes == {1: 6}
    assert (plan.deferred_rows, plan.stored_rows, plan.team_needed) == (0, 7, False)
    outcome = store.ingest(mhsds, user=USER)
    assert (outcome.superseded_rows, outcome.deferred_rows) == (6, 0)
    assert active(store) == MHSDS_IDS
    history = store.uploads().set_index("upload_id")
    assert history.loc[1, ["rows_active", "status"]].tolist() == [0, "superseded"]
    entry = json.loads(store.audit().query("action == 'upload'").iloc[-1]["details"])
    assert (entry["on_overlap"], entry["already_stored"], entry["differing"]) == (
        "replace", {"1": 6}, {"1": 1},
    )


def test_a_file_without_a_team_must_be_given_the_team_its_clinicians_work_in(store):
    stored_rio(store)
    bare = load(MHSDS, "mhsds.csv")
    plan = store.plan_ingest(bare)
    # Ann's 3 and Ben's 3 stored rows are all CAMHS North's.
    assert (plan.team_needed, plan.suggested_team) == (True, "CAMHS North")
    assert plan.team_evidence == "6 of their 6 stored rows are CAMHS North's"
    with pytest.raises(StoreError, match=r"mhsds.csv has no team column.*work in CAMHS North"):
        store.ingest(bare, user=USER)
    assert len(store.uploads()) == 1


def test_the_team_comes_from_job_plans_when_no_rows_are_stored(store):
    store.save_jobplans(
        plans_frame([
            {"clinician": "Ann Able", "team": "CAMHS North"},
            {"clinician": "ben  BAKER", "team": "CAMHS North"},
            {"clinician": "Cat Cole", "team": "CAMHS South"},
        ]),
        user=USER, source="plans.xlsx",
    )
    plan = store.plan_ingest(load(MHSDS, "mhsds.csv"))
    assert (plan.team_needed, plan.suggested_team) == (True, "CAMHS North")
    assert plan.team_evidence == "2 of its 2 clinicians have a job plan in CAMHS North"


def test_no_team_is_needed_in_a_store_without_teams(store):
    store.ingest(load(MHSDS, "mhsds.csv"), user=USER)
    assert store.plan_ingest(load(RIO, "rio_style.csv")).team_needed is False  # it has a team
    assert store.teams() == []


def test_skip_keeps_the_stored_copies_and_stores_only_new_slots(store):
    stored_rio(store)
    mhsds = load(MHSDS, "mhsds.csv", team="CAMHS North")
    plan = store.plan_ingest(mhsds, on_overlap=SKIP)
    # The stored R1..R6 stay, although in the cover; M1..M6 are kept only as history.
    assert (plan.supersedes, plan.deferred_rows, plan.stored_rows) == ({}, 6, 1)
    outcome = store.ingest(mhsds, user=USER, on_overlap=SKIP)
    assert (outcome.superseded_rows, outcome.deferred_rows) == (0, 6)
    assert active(store) == ["700007", *RIO_IDS]
    history = store.uploads().set_index("upload_id")
    assert history.loc[2, ["rows_accepted", "rows_active", "status"]].tolist() == [
        7, 1, "partly superseded",
    ]
    assert history.loc[1, "rows_active"] == 6


def test_keep_different_replaces_only_the_slots_that_differ(store):
    stored_rio(store)
    mhsds = load(MHSDS, "mhsds.csv", team="North CAMHS")
    plan = store.plan_ingest(mhsds, on_overlap=KEEP_DIFFERENT)
    # Only M2 differs (attended, not DNA): R2 goes, M2 comes; M1, M3..M6 are history.
    assert (plan.supersedes, plan.deferred_rows) == ({1: 1}, 5)
    store.ingest(mhsds, user=USER, on_overlap=KEEP_DIFFERENT)
    assert active(store) == ["700002", "700007", "R1", "R3", "R4", "R5", "R6"]
    outcomes = store.activity().set_index(model.SLOT_ID)[model.OUTCOME]
    assert outcomes["700002"] == "attended"


def test_an_id_from_the_same_system_follows_a_rescheduled_slot(store):
    stored_rio(store)
    # August's RiO file: R5 moved from 15 Jul to 3 Aug (same id, so the same slot), one new.
    august = RIO.split("\n")[0] + "\n" + (
        "R5,Ann Able,CAMHS North,03/08/2026,14:00,Core Partnership New,Booked,9990013896\n"
        "R9,Ben Baker,CAMHS North,04/08/2026,10:00,Choice,Booked,9990013810\n"
    )
    plan = store.plan_ingest(load(august, "rio_august.csv"))
    assert plan.overlaps == (UploadRows(1, "rio_style.csv", "CAMHS North", 1, 1),)
    store.ingest(load(august, "rio_august.csv"), user=USER)
    frame = store.activity().set_index(model.SLOT_ID)
    assert sorted(frame.index) == ["R1", "R2", "R3", "R4", "R5", "R6", "R9"]
    assert frame.loc["R5", model.DATE] == pd.Timestamp("2026-08-03")


def test_the_same_id_from_another_system_is_another_slot(store):
    stored_rio(store)
    # Another system's export (other columns) that also numbers its appointments R1…
    other = (
        "Appointment ID,Clinician,Team,Appointment Date,Appointment Type,Outcome\n"
        "R1,Ann Able,CAMHS North,03/08/2026,Choice,Booked\n"
    )
    plan = store.plan_ingest(load(other, "other_system.csv"))
    assert plan.overlaps == ()


def test_removing_an_upload_brings_back_what_it_replaced(store):
    stored_rio(store)
    store.ingest(load(MHSDS, "mhsds.csv", team="CAMHS North"), user=USER)
    preview = store.plan_remove(2)
    assert (preview.action, preview.file_name, preview.teams) == ("remove", "mhsds.csv",
                                                                  "CAMHS North")
    assert (preview.rows, preview.months) == (7, ("Jul 2026",))
    assert preview.others == (UploadRows(1, "rio_style.csv", "CAMHS North", 6),)
    version = store.data_version()
    assert store.remove_upload(2, user=USER) == preview
    assert store.data_version() == version + 1
    assert active(store) == RIO_IDS
    history = store.uploads()
    assert history["upload_id"].tolist() == [1]
    assert history[["rows_active", "status"]].values.tolist() == [[6, "active"]]
    entry = store.audit().iloc[-1]
    assert (entry["action"], entry["rows"]) == ("upload removed", 7)
    assert json.loads(entry["details"])["back"] == {"1": 6}


def test_removing_an_upload_brings_nothing_back_that_a_later_upload_covers(store):
    stored_rio(store)
    store.ingest(load(MHSDS, "mhsds.csv", team="CAMHS North"), user=USER)
    # Upload 3: RiO's July again, corrected to R1 alone, covering the whole of July.
    corrected = RIO.split("\n")[0] + "\n" + RIO.split("\n")[1] + "\n"
    store.ingest(load(corrected, "rio_july_v2.csv"), user=USER,
                 period=(date(2026, 7, 1), date(2026, 7, 31)))
    assert active(store) == ["R1"]
    # Upload 2 counts nowhere now; removing it brings back none of R1..R6: upload 3 won after
    # them and covers CAMHS North in July (R1 itself is upload 3's own copy).
    preview = store.plan_remove(2)
    assert (preview.rows, preview.others) == (0, ())
    store.remove_upload(2, user=USER)
    assert active(store) == ["R1"]
    assert store.activity()["upload_id"].tolist() == [3]


def test_restore_shows_what_comes_back_and_what_it_replaces(store):
    stored_rio(store)
    store.ingest(load(MHSDS, "mhsds.csv", team="North CAMHS"), user=USER)
    preview = store.plan_restore(1)
    # R1..R6 count again; M1..M6 (same slots, filed under North CAMHS) go; M7 (20 Jul, another
    # slot, outside CAMHS North's cover) stays.
    assert (preview.action, preview.rows, preview.months) == ("restore", 6, ("Jul 2026",))
    assert preview.others == (UploadRows(2, "mhsds.csv", "North CAMHS", 6),)
    assert store.restore(1, user=USER) == preview
    assert active(store) == ["700007", *RIO_IDS]


def test_remove_and_restore_of_an_unknown_upload_are_refused(store):
    for verb in (store.plan_remove, store.plan_restore):
        with pytest.raises(StoreError, match="no upload 9"):
            verb(9)
    with pytest.raises(StoreError, match="no upload 9"):
        store.remove_upload(9, user=USER)


def test_rows_stored_before_slot_identity_get_their_keys_on_upgrade(store_url):
    engine = Store(store_url).engine
    with write_transaction(engine) as conn:
        migrate(conn, target=2)
        conn.execute(text(
            "INSERT INTO uploads (file_name, sha256, rows_digest, teams, period_start, period_end,"
            " uploaded_by, uploaded_at, rows_accepted, rows_rejected, rows_active, mapping,"
            " status) VALUES ('old.csv', 'x', 'y', '[\"CAMHS North\"]', '2026-07-01',"
            " '2026-07-01', 'old', '2026-08-01 09:00:00', 1, 0, 1, '{\"slot_id\": \"Appt ID\"}',"
            " 'active')"
        ))
        conn.execute(text(
            "INSERT INTO activity (upload_id, slot_id, clinician, team, date, start, kind,"
            " outcome, source_row) VALUES (1, 'R1', 'Ann Able', 'CAMHS North', '2026-07-01',"
            " '09:00', 'core_new', 'attended', 2)"
        ))
    engine.dispose()
    upgraded = Store.open(store_url)
    # The same slot (Ann, 1 Jul, 09:00, Core, no client), sent again without a team label.
    again = load("Clinician,Appointment Date,Start Time,Appointment Type,Outcome\n"
                 "Ann Able,01/07/2026,09:00,Core Partnership New,Attended\n", "again.csv",
                 team="North CAMHS")
    assert upgraded.plan_ingest(again).overlaps == (UploadRows(1, "old.csv", "CAMHS North", 1, 0),)
    upgraded.close()


# ---- the sample team: three systems' exports of the same slots ------------------------------


def without_column(content: bytes, column: str, id_prefix: str) -> bytes:
    """The MHSDS sample with one column taken out and its own ids renamed (another extract)."""
    rows = list(csv.reader(io.StringIO(content.decode("cp1252"))))
    drop = rows[0].index(column)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c for i, c in enumerate(rows[0]) if i != drop])
    for row in rows[1:]:
        row[0] = id_prefix + row[0]
        writer.writerow([c for i, c in enumerate(row) if i != drop])
    return out.getvalue().encode("cp1252")


def clinician_review(store: Store) -> pd.DataFrame:
    plans = load_jobplans((SAMPLE / "northfield_jobplans.xlsx").read_bytes(), "plans.xlsx").frame
    result = review(store.activity(), plans, Quarter.parse("2026/27 Q2"))
    return result.clinicians.drop(columns=["team"]).sort_values("clinician").reset_index(drop=True)


@pytest.fixture(scope="module")
def sample_loads():
    appointments = load_activity((SAMPLE / "northfield_appointments.xlsx").read_bytes(),
                                 "northfield_appointments.xlsx", pseudonym_key=KEY)
    bare = without_column((SAMPLE / "northfield_mhsds.csv").read_bytes(), "TeamName", "M")
    return appointments, bare


def test_the_sample_team_uploaded_twice_reviews_as_uploaded_once(store, tmp_path, sample_loads):
    appointments, bare = sample_loads
    store.ingest(appointments, user=USER)
    plan = store.plan_ingest(load_activity(bare, "mhsds_no_team.csv", pseudonym_key=KEY))
    assert (plan.team_needed, plan.suggested_team) == (True, "Northfield CAMHS")
    mhsds = load_activity(bare, "mhsds_no_team.csv", team="CAMHS North", pseudonym_key=KEY)
    plan = store.plan_ingest(mhsds)
    # Every slot of the MHSDS file is one of the appointments file's (the generator wrote the
    # same rows in both styles), stored under another team label.
    assert [(o.upload_id, o.rows) for o in plan.overlaps] == [(1, len(appointments.frame))]
    store.ingest(mhsds, user=USER)
    assert len(store.activity()) == len(mhsds.frame) == len(appointments.frame)
    single = Store.open(f"sqlite:///{tmp_path / 'single.sqlite'}")
    single.ingest(mhsds, user=USER)
    pd.testing.assert_frame_equal(clinician_review(store), clinician_review(single))
    single.close()
