"""The store verbs of `python -m capa_monitor` (issue 3): ingest with confirmation, uploads and
restore, job plans import/export/list, demo, audit. Run in-process through cli.main."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from capa_monitor.cli import main
from capa_monitor.cli.store_cmds import parse_period

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Slot ID,Clinician,Team,Appointment Date,Appointment Type,Outcome\n"
# July for teams North and South: 4 rows.
JULY = HEADER + (
    "J1,Ann Able,North,2026-07-01,Core Partnership New,Attended\n"
    "J2,Ann Able,North,2026-07-15,Core Partnership New,DNA\n"
    "J3,Ben Baker,South,2026-07-15,Choice,Attended\n"
    "J4,Ann Able,North,2026-07-31,Core Partnership New,Attended\n"
)
# A North-only correction dated 10–20 July: replaces J2 (North, 15 July) only.
CORRECTION = HEADER + (
    "K1,Ann Able,North,2026-07-10,Core Partnership New,Attended\n"
    "K2,Ann Able,North,2026-07-20,Core Partnership New,Attended\n"
)


class Terminal(io.StringIO):
    """stdin as if a person were typing at a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli(store_url, monkeypatch, capsys):
    monkeypatch.setenv("CAPA_USER", "manager@example.org")
    monkeypatch.setenv("CAPA_PSEUDONYM_KEY", "ab" * 32)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal unless a test says so

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", store_url, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def uploads_json(cli) -> list[dict]:
    code, out, _ = cli("uploads", "--format", "json")
    assert code == 0
    return json.loads(out)


def test_ingest_stores_then_says_unchanged(cli, tmp_path):
    july = write(tmp_path, "july.csv", JULY)
    code, out, err = cli("ingest", july)
    assert (code, err) == (0, "")
    assert "Rows read: 4   accepted: 4" in out  # the loader's report comes first
    assert "Stored upload 1: 4 rows for North, South, 2026-07-01 to 2026-07-31." in out
    code, out, _ = cli("ingest", july)
    assert code == 0
    assert "Unchanged: this file is already stored as upload 1; nothing was written." in out
    assert [u["upload_id"] for u in uploads_json(cli)] == [1]


def test_ingest_refuses_to_supersede_without_yes_when_nobody_can_answer(cli, tmp_path):
    cli("ingest", write(tmp_path, "july.csv", JULY))
    code, out, err = cli("ingest", write(tmp_path, "fix.csv", CORRECTION))
    assert code == 1
    assert "replaces 1 rows of earlier uploads:\n  upload 1 (july.csv): 1 rows" in out
    assert err.strip().splitlines() == [
        "error: This upload would replace 1 rows of earlier uploads; nothing was changed "
        "(run again with --yes to confirm)."
    ]
    assert len(uploads_json(cli)) == 1


@pytest.mark.parametrize(("answer", "code", "stored"), [("y\n", 0, 2), ("n\n", 1, 1), ("\n", 1, 1)])
def test_ingest_asks_at_a_terminal(cli, tmp_path, monkeypatch, answer, code, stored):
    cli("ingest", write(tmp_path, "july.csv", JULY))
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    result, out, _ = cli("ingest", write(tmp_path, "fix.csv", CORRECTION))
    assert result == code
    assert len(uploads_json(cli)) == stored


def test_ingest_yes_supersedes_and_restore_brings_the_old_rows_back(cli, tmp_path):
    cli("ingest", write(tmp_path, "july.csv", JULY))
    code, out, _ = cli("ingest", write(tmp_path, "fix.csv", CORRECTION), "--yes")
    assert code == 0
    assert "Stored upload 2: 2 rows for North, 2026-07-10 to 2026-07-20; replaced 1 rows" in out
    statuses = {u["upload_id"]: (u["status"], u["rows_active"]) for u in uploads_json(cli)}
    assert statuses == {1: ("partly superseded", 3), 2: ("active", 2)}
    code, out, _ = cli("uploads", "restore", "1", "--yes")
    assert code == 0
    # The preview first: J2 comes back; K1 and K2 (North, 10 and 20 July) lie in its cover.
    assert out.startswith(
        "Restoring upload 1 (july.csv, North, South) makes 1 of its rows count again (Jul 2026).\n"
        "Rows of other uploads that are replaced:\n"
        "  upload 2 (fix.csv, North): 2 rows\n"
        "Restored upload 1 (july.csv)"
    )
    statuses = {u["upload_id"]: (u["status"], u["rows_active"]) for u in uploads_json(cli)}
    assert statuses == {1: ("active", 4), 2: ("superseded", 0)}


def test_restore_of_an_unknown_upload_is_one_line(cli):
    code, _, err = cli("uploads", "restore", "99")
    assert code == 1
    assert err == "error: There is no upload 99; `uploads` lists them.\n"


def test_period_widens_the_cover_to_whole_months(cli, tmp_path):
    cli("ingest", write(tmp_path, "fix.csv", CORRECTION), "--period", "2026-07:2026-09")
    (only,) = uploads_json(cli)
    assert (only["period_start"], only["period_end"]) == ("2026-07-01", "2026-09-30")
    assert only["uploaded_by"] == "manager@example.org"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07", (date(2026, 7, 1), date(2026, 7, 31))),
        ("2026-07:2026-09", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),  # leap year
        ("2026-11:2027-01", (date(2026, 11, 1), date(2027, 1, 31))),
    ],
)
def test_parse_period(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "26-07", "July", "2026-09:2026-07", "2026-07:"])
def test_parse_period_rejects(text):
    if text == "2026-07:":  # an empty end means the same month
        assert parse_period(text) == (date(2026, 7, 1), date(2026, 7, 31))
        return
    with pytest.raises(argparse.ArgumentTypeError):
        parse_period(text)


def test_uploads_table_and_empty_history(cli, tmp_path):
    assert cli("uploads") == (0, "No uploads yet.\n", "")
    cli("ingest", write(tmp_path, "july.csv", JULY))
    code, out, _ = cli("uploads")
    header, row = out.splitlines()
    assert header.split() == [
        "id",
        "file",
        "teams",
        "period",
        "rows",
        "active",
        "rejected",
        "status",
        "by",
        "at",
        "(UTC)",
    ]
    assert "july.csv" in row and "2026-07-01 to 2026-07-31" in row and "active" in row


PLANS = (
    "Name,Team,WTE,Core half-days per week,Leaving date\n"
    "Ann Able,North,1.0,4,\n"
    "=cmd|' /C calc'!A0,North,0.5,2,31/08/2026\n"
)


def test_jobplans_import_list_export_round_trip(cli, tmp_path):
    code, out, _ = cli("jobplans", "import", write(tmp_path, "plans.csv", PLANS))
    assert code == 0
    assert "Job plans: 2 read from plans.csv, 2 new or changed, 0 rejected." in out
    code, out, _ = cli("jobplans", "list", "--format", "json")
    plans = {p["clinician"]: p for p in json.loads(out)}
    assert plans["Ann Able"]["core_sessions"] == 4.0
    assert plans["=cmd|' /C calc'!A0"]["available_to"] == "2026-08-31"
    target = tmp_path / "out.xlsx"
    code, out, _ = cli("jobplans", "export", str(target))
    assert (code, out) == (0, f"Wrote 2 job plans to {target}.\n")
    sheet = load_workbook(target).active
    assert [c.value for c in sheet[1]][:3] == ["Clinician Name", "Team", "WTE"]
    names = {row[0].value: row[0] for row in sheet.iter_rows(min_row=2)}
    hostile = names["'=cmd|' /C calc'!A0"]  # same rule as the shortfall list: text, never a formula
    assert hostile.data_type == "s"
    assert names["Ann Able"].data_type == "s"
    # §7: the import and the export each carry the hash of exactly the bytes read / written
    # and their row count (2 plans in the file, 2 exported).
    entries = json.loads(cli("audit", "--format", "json")[1])
    assert [(e["action"], e["rows"]) for e in entries] == [
        ("job plans changed", 2), ("job plans imported", 2), ("download", 2),
    ]
    imported, exported = entries[1], entries[2]
    assert imported["file_sha256"] == hashlib.sha256((tmp_path / "plans.csv").read_bytes()).hexdigest()
    assert imported["details"]["file"] == "plans.csv"
    assert exported["file_sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert exported["details"]["what"] == "job plans xlsx"


def test_jobplans_list_when_there_are_none(cli):
    assert cli("jobplans", "list") == (0, "No job plans yet.\n", "")


def test_demo_loads_tagged_data_and_remove_takes_it_out(cli):
    code, out, _ = cli("demo")
    assert code == 0
    assert out.startswith("Demo team Northfield CAMHS loaded: upload 1,")
    (demo,) = uploads_json(cli)
    assert (demo["demo"], demo["file_name"], demo["teams"]) == (
        True,
        "northfield_diary.xlsx",
        "Northfield CAMHS",
    )
    assert cli("demo")[1].startswith("Demo team Northfield CAMHS already loaded: upload 1,")
    assert json.loads(cli("jobplans", "list", "--format", "json")[1])  # demo plans present
    assert cli("demo", "--remove")[1] == "Removed the demo data (1 demo upload).\n"
    assert uploads_json(cli) == []
    assert json.loads(cli("jobplans", "list", "--format", "json")[1]) == []


def test_audit_lists_who_did_what(cli, tmp_path):
    assert cli("audit") == (0, "The audit log is empty.\n", "")
    cli("ingest", write(tmp_path, "july.csv", JULY))
    cli("ingest", write(tmp_path, "fix.csv", CORRECTION), "--yes")
    entries = json.loads(cli("audit", "--format", "json")[1])
    assert [(e["action"], e["user"], e["rows"]) for e in entries] == [
        ("upload", "manager@example.org", 4),
        ("upload", "manager@example.org", 2),
        ("supersede", "manager@example.org", 1),
    ]
    assert entries[2]["details"] == {"superseded_by": 2, "upload_id": 1}
    assert (entries[1]["period_start"], entries[1]["period_end"]) == ("2026-07-10", "2026-07-20")
    code, out, _ = cli("audit")
    assert code == 0 and "supersede" in out


# ---- issue 12: the same slots twice, a file without a team, doubts, remove -----------------

RIO = (
    "Appointment ID,Clinician,Team,Appointment Date,Start Time,Appointment Type,Outcome\n"
    "R1,Ann Able,CAMHS North,01/07/2026,09:00,Core Partnership New,Attended\n"
    "R2,Ann Able,CAMHS North,08/07/2026,09:00,Core Partnership New,DNA\n"
    "R3,Ben Baker,CAMHS North,02/07/2026,10:00,Choice,Attended\n"
)
# The same three slots from another system, without a team column; the second says attended.
MHSDS = (
    "CareContactId,CareProfName,CareContDate,CareContTime,ActivityType,ConsType,AttendOrDNACode\n"
    "700001,Ann Able,01/07/2026,09:00:00,Core Partnership,01,5\n"
    "700002,Ann Able,08/07/2026,09:00:00,Core Partnership,01,5\n"
    "700003,Ben Baker,02/07/2026,10:00:00,Choice,01,5\n"
)


def test_ingest_without_a_team_is_refused_naming_the_team(cli, tmp_path):
    cli("ingest", write(tmp_path, "rio_style.csv", RIO))
    code, _, err = cli("ingest", write(tmp_path, "mhsds.csv", MHSDS), "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (
        "error: mhsds.csv has no team column and this store keeps teams: give --team TEAM; its "
        "clinicians work in CAMHS North (3 of their 3 stored rows are CAMHS North's), so "
        'probably --team "CAMHS North". Nothing was stored.'
    )
    assert len(uploads_json(cli)) == 1


def test_ingest_says_which_rows_are_already_stored_and_replaces_them(cli, tmp_path):
    cli("ingest", write(tmp_path, "rio_style.csv", RIO))
    mhsds = write(tmp_path, "mhsds.csv", MHSDS)
    code, out, err = cli("ingest", mhsds, "--team", "North CAMHS")
    assert code == 1  # nobody at a terminal to confirm
    assert (
        "3 of these rows are already stored from upload 1, rio_style.csv, CAMHS North (1 of them "
        "differs in outcome, type or details).\n"
        "They will be replaced by this file's rows (--on-overlap replace).\n"
        "This upload covers North CAMHS from 2026-07-01 to 2026-07-08 and replaces 3 rows of "
        "earlier uploads:\n  upload 1 (rio_style.csv): 3 rows"
    ) in out
    code, out, _ = cli("ingest", mhsds, "--team", "North CAMHS", "--yes")
    assert code == 0
    statuses = {u["upload_id"]: (u["rows_active"], u["status"]) for u in uploads_json(cli)}
    assert statuses == {1: (0, "superseded"), 2: (3, "active")}


def test_ingest_on_overlap_skip_keeps_the_stored_rows(cli, tmp_path):
    cli("ingest", write(tmp_path, "rio_style.csv", RIO))
    code, out, _ = cli("ingest", write(tmp_path, "mhsds.csv", MHSDS), "--team", "CAMHS North",
                       "--on-overlap", "skip", "--yes")
    assert code == 0
    assert "The stored rows stay; this file's 3 copies of them are kept only as history" in out
    assert out.rstrip().endswith(
        "Stored upload 2: 3 rows for CAMHS North, 2026-07-01 to 2026-07-08; 3 rows already "
        "stored were kept only as history."
    )
    statuses = {u["upload_id"]: (u["rows_active"], u["status"]) for u in uploads_json(cli)}
    assert statuses == {1: (3, "active"), 2: (0, "superseded")}


def test_ingest_with_checks_to_make_needs_yes(cli, tmp_path):
    # Core rows but not one new Core Partnership: a doubtful reading (the loader's check).
    followups = HEADER + (
        "F1,Ann Able,North,2026-07-01,Core Partnership Follow-up,Attended\n"
        "F2,Ann Able,North,2026-07-02,Core Partnership Follow-up,Attended\n"
    )
    path = write(tmp_path, "followups.csv", followups)
    code, _, err = cli("ingest", path)
    assert code == 1
    assert "check: 2 Core Partnership rows but no new Core Partnership" in err
    assert err.splitlines()[-1] == (
        "error: The reading of followups.csv has 1 check to make (the 'check:' lines above); "
        "nothing was stored (check them, then run again with --yes)."
    )
    assert uploads_json(cli) == []
    assert cli("ingest", path, "--yes")[0] == 0


def test_uploads_remove_previews_asks_and_brings_back_what_it_replaced(cli, tmp_path, monkeypatch):
    cli("ingest", write(tmp_path, "rio_style.csv", RIO))
    cli("ingest", write(tmp_path, "mhsds.csv", MHSDS), "--team", "North CAMHS", "--yes")
    preview = (
        "Removing upload 2 (mhsds.csv, North CAMHS) takes out its 3 counted rows (Jul 2026).\n"
        "Rows of other uploads that come back:\n"
        "  upload 1 (rio_style.csv, CAMHS North): 3 rows\n"
    )
    code, out, err = cli("uploads", "remove", "2")
    assert (code, out) == (1, preview)
    assert err == (
        "error: Removing upload 2 deletes its rows; nothing was changed (run again with --yes "
        "to confirm).\n"
    )
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert cli("uploads", "remove", "2")[0] == 1
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, _ = cli("uploads", "remove", "2")
    assert code == 0
    assert out == preview + "Remove it? [y/N] Removed upload 2 (mhsds.csv); 3 rows of other " \
        "uploads count again.\n"
    assert [(u["upload_id"], u["rows_active"]) for u in uploads_json(cli)] == [(1, 3)]
    assert json.loads(cli("audit", "--format", "json")[1])[-1]["action"] == "upload removed"


def test_remove_of_an_unknown_upload_is_one_line(cli):
    assert cli("uploads", "remove", "7", "--yes") == (
        1, "", "error: There is no upload 7; `uploads` lists them.\n"
    )
