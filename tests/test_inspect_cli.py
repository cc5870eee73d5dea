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
        (b"Clinician,When\r\nJane Smith,03/07/2026\r\n", [], "missing date"),
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
