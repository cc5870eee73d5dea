"""`python -m capa_monitor inspect FILE`: the report as table or JSON, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

import pytest

import capa_monitor.cli as cli
from capa_monitor.loading import MappingProfile

# Four rows below the header: row 2 fine, row 3 has no such date, row 4 fine, row 5 blank.
SMALL_CSV = (
    "Appt Date,HCP,Appointment type,Attendance,NHS Number\r\n"
    "03/07/2026,\"SMITH, Jane (Dr)\",Choice,Attended,9990000018\r\n"
    "31/02/2026,Ravi Patel,Choice,DNA,9990000026\r\n"
    "06/07/2026,Ravi Patel,New Core Partnership,Was not brought,9990000019\r\n"
    ",,,,\r\n"
)


@pytest.fixture(autouse=True)
def only_inspect(monkeypatch):
    # The other verb groups are not this test's business (and may not import here).
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("capa_monitor.cli.inspect_cmd",))
    monkeypatch.setenv("CAPA_PSEUDONYM_KEY", "cli-test-key")


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "north.csv"
    path.write_bytes(SMALL_CSV.encode("utf-8"))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report(capsys, small_csv):
    code, out, err = run(capsys, "inspect", str(small_csv), "--team", "North", "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert {k: report[k] for k in ("rows_read", "accepted", "dropped", "encoding")} == {
        "rows_read": 4, "accepted": 2, "dropped": 1, "encoding": "utf-8",
    }
    assert report["rejected"] == [
        {"sheet": "north", "row": 3, "column": "Appt Date", "value": "31/02/2026",
         "reason": "unreadable appointment date"}
    ]
    assert report["columns"] == {
        "date": "Appt Date", "clinician": "HCP", "kind": "Appointment type",
        "outcome": "Attendance", "nhs_number": "NHS Number",
    }
    assert report["counts"]["kind"]["choice"] == 1 and report["counts"]["kind"]["core_new"] == 1
    assert report["counts"]["outcome"]["attended"] == 1 and report["counts"]["outcome"]["dna"] == 1
    assert report["clinicians"] == ["Jane Smith", "Ravi Patel"]
    assert report["date_range"] == ["2026-07-03", "2026-07-06"]
    assert report["invalid_nhs_numbers"] == [4]
    assert report["unmapped_values"] == {}
    assert "9990000018" not in out


def test_table_report(capsys, small_csv):
    code, out, _ = run(capsys, "inspect", str(small_csv))
    assert code == 0
    assert "Rows read: 4   accepted: 2   rejected: 1   dropped: 1 (blank 1)" in out
    assert "north row 3, Appt Date '31/02/2026': unreadable appointment date" in out
    assert "  clinician      <- HCP" in out


def test_profile_file(capsys, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("When,Who,What,How\r\n03/07/2026,Jane Smith,CAPA Ax,Seen\r\n")
    profile = MappingProfile(
        "odd", {"date": "When", "clinician": "Who", "kind": "What", "outcome": "How"},
        {"kind": {"CAPA Ax": "choice"}},
    )
    profile_path = tmp_path / "odd.json"
    profile_path.write_text(profile.to_json())
    code, out, err = run(capsys, "inspect", str(path), "--profile", str(profile_path),
                         "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["counts"]["kind"]["choice"] == 1


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "Cannot read the file"),
        (b"Clinician,When\r\nJane Smith,03/07/2026\r\n", [], "missing kind"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), [], "save it as an Excel Workbook"),
        (SMALL_CSV.encode(), ["--sheet", "Other"], "no sheet called 'Other'"),
        (SMALL_CSV.encode(), ["--profile", "/nonexistent/profile.json"], "Cannot read the profile"),
    ],
    ids=["no-file", "no-required-columns", "old-xls", "unknown-sheet", "no-profile"],
)
def test_unreadable_exits_1_with_one_line(capsys, tmp_path, content, extra, message):
    is_ole = content is not None and content.startswith(b"\xd0\xcf")
    path = tmp_path / ("upload.xls" if is_ole else "upload.csv")
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "inspect", str(path), *extra)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["inspect"], ["inspect", "f.csv", "--format", "yaml"]])
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage" in err


ODD_CSV = (
    "When,Who,What,Result,Notes\r\n"
    "03/07/2026,Jane Smith,New CP,Attended,x\r\n"
    "04/07/2026,Jane Smith,Choice,Cancelled by Unit,y\r\n"
    "05/07/2026,Ali Jones,Choice,DNA,z\r\n"
)


@pytest.fixture
def odd_csv(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(ODD_CSV)
    return path


def test_json_gains_mapping_unused_columns_sheets_and_doubts(capsys, small_csv):
    code, out, _ = run(capsys, "inspect", str(small_csv), "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["mapping"]["clinician"] == {
        "column": "HCP", "by": "header+values", "confidence": 1.0,
        "reason": "the header 'HCP' is a known name for it and 100% of its values are person names",
    }
    assert report["unused_columns"] == []
    assert report["sheets"] == {"read": ["north"], "skipped": {}}
    assert report["doubts"] == []


def test_map_and_value_options(capsys, odd_csv):
    code, out, err = run(
        capsys, "inspect", str(odd_csv), "--format", "json", "--map", "date=When",
        "--map", "clinician=Who", "--map", "kind=What", "--map", "outcome=Result",
        "--value", "outcome:Cancelled by Unit=cancelled_by_client",
    )
    assert code == 0
    report = json.loads(out)
    assert {f: m["by"] for f, m in report["mapping"].items()} == dict.fromkeys(
        ("date", "clinician", "kind", "outcome"), "manual")
    assert report["counts"]["outcome"]["cancelled_by_client"] == 1
    assert report["unused_columns"] == ["Notes"]
    assert err == "warning: Columns not used: 'Notes'.\n"  # warnings on stderr, JSON clean


def test_columns_found_by_values_are_checks_on_stderr(capsys, odd_csv):
    code, out, err = run(capsys, "inspect", str(odd_csv), "--map", "date=When")
    assert code == 0
    assert "  kind           <- What   (values, 0.50:" in out
    assert "Check before storing:" in out
    # Who, What and Result are found by their values only (names, types, outcome words).
    checks = [line.split(" was found")[0] for line in err.splitlines() if line.startswith("check")]
    assert checks == ["check: Clinician", "check: Appointment type",
                      "check: Outcome (attended, DNA, cancelled…)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--map", "colour=When"], "unknown field 'colour'; known fields: slot_id, clinician"),
        (["--map", "When"], "'When' is not FIELD=HEADER"),
        (["--map", "=When"], "unknown field ''"),
        (["--value", "team:North=south"], "unknown field 'team' for --value"),
        (["--value", "outcome:Seen=seen"], "'seen' is not a outcome value; known values: attended"),
    ],
)
def test_unknown_names_in_map_and_value_exit_2(capsys, odd_csv, argv, message):
    code, out, err = run(capsys, "inspect", str(odd_csv), *argv)
    assert code == 2 and out == ""
    assert message in err


def test_map_to_nothing_reads_the_field_from_no_column(capsys, small_csv):
    code, out, _ = run(capsys, "inspect", str(small_csv), "--map", "nhs_number=",
                       "--format", "json")
    report = json.loads(out)
    assert code == 0 and "nhs_number" not in report["mapping"]
    assert report["unused_columns"] == ["NHS Number"]


def test_map_to_a_header_not_in_the_file_exits_1(capsys, odd_csv):
    code, _, err = run(capsys, "inspect", str(odd_csv), "--map", "date=When",
                       "--map", "kind=Type")
    assert code == 1
    assert "--map kind='Type': no column has that header" in err


def test_save_profile_writes_a_file_for_profile(capsys, odd_csv, tmp_path):
    target = tmp_path / "odd_shape"
    code, _, err = run(capsys, "inspect", str(odd_csv), "--map", "date=When", "--map", "kind=What",
                       "--map", "outcome=Result", "--value", "kind:New CP=core_new",
                       "--save-profile", str(target))
    assert code == 0
    saved = MappingProfile.from_json((tmp_path / "odd_shape.json").read_text())
    assert saved == MappingProfile(
        "odd_shape",
        {"date": "When", "clinician": "Who", "kind": "What", "outcome": "Result"},
        {"kind": {"New CP": "core_new"}},
    )
    assert f"Saved the mapping profile to {target}.json." in err
    code, out, _ = run(capsys, "inspect", str(odd_csv), "--profile", str(target) + ".json",
                       "--format", "json")
    assert code == 0
    assert json.loads(out)["mapping"]["kind"]["by"] == "profile"


def test_ingest_saves_the_mapping_in_the_store_and_applies_it_by_name(
    capsys, monkeypatch, tmp_path, odd_csv
):
    from capa_monitor.store import Store

    monkeypatch.setattr(cli, "COMMAND_MODULES",
                        ("capa_monitor.cli.inspect_cmd", "capa_monitor.cli.store_cmds"))
    monkeypatch.setenv("CAPA_USER", "manager@example.org")
    db = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    code, _, err = run(capsys, "--db", db, "ingest", str(odd_csv), "--team", "North",
                       "--map", "date=When", "--map", "clinician=Who", "--map", "kind=What",
                       "--map", "outcome=Result",
                       "--value", "outcome:Cancelled by Unit=cancelled_by_client",
                       "--save-profile", "odd shape")
    assert code == 0, err
    assert "Saved the mapping profile 'odd shape' in the store." in err
    assert Store.open(db).profiles() == [MappingProfile(
        "odd shape", {"date": "When", "clinician": "Who", "kind": "What", "outcome": "Result"},
        {"outcome": {"Cancelled by Unit": "cancelled_by_client"}},
    )]
    august = tmp_path / "odd august.csv"
    august.write_text(ODD_CSV.replace("/07/2026", "/08/2026"))
    code, out, _ = run(capsys, "--db", db, "ingest", str(august), "--team", "North",
                       "--profile", "odd shape")
    assert code == 0
    assert "  kind           <- What   (profile, 1.00: the saved profile maps it)" in out
    outcomes = Store.open(db).activity()["outcome"].tolist()
    assert outcomes.count("cancelled_by_client") == 2  # July's and August's, by the saved map
