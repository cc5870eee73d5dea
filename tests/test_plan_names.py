"""Activity names against job-plan names before storing (issue 11 item 3): capitals restored from
the plans' spelling, unmatched names listed with their likely match, in the report and the CLI."""

from __future__ import annotations

import json

from conftest import raw_cells

from capa_monitor.cli import main
from capa_monitor.loading import load_raw
from capa_monitor.loading.plan_names import against_plans, describe
from capa_monitor.loading.read import RawSheet, RawWorkbook

KEY = b"k" * 32

# A SystmOne-shaped sheet: surnames in capitals, titles in brackets, one clinician by initial.
ROWS = [
    ["Appointment date", "Clinician", "Rota type", "Appointment status"],
    ["01/07/2026", "MCDONALD, Ann (Dr)", "Core Partnership - New", "Finished"],
    ["02/07/2026", "MCDONALD, Ann (Dr)", "Core Partnership - Follow up", "Finished"],
    ["03/07/2026", "O'NEILL, Sean (Mr)", "Choice", "Did Not Attend"],
    ["03/07/2026", "J Whitfield", "Choice", "Finished"],
]
PLANS = ["Ann McDonald", "Sean O'Neill", "Jo Whitfield", "Priya Raman"]


def _result():
    book = RawWorkbook("csv", (RawSheet("appts", raw_cells(ROWS)),), "utf-8", "0" * 64)
    return load_raw(book, filename="appts.csv", team="North", pseudonym_key=KEY)


def test_capitals_come_back_from_the_plans_and_unmatched_names_are_listed():
    checked = against_plans(_result(), PLANS)
    # Read as printed: "Ann Mcdonald"; the plan writes McDonald, so that spelling is kept.
    assert sorted(set(checked.frame["clinician"])) == ["Ann McDonald", "J Whitfield", "Sean O'Neill"]
    assert checked.report.clinicians == ["Ann McDonald", "J Whitfield", "Sean O'Neill"]
    listed = checked.report.plan_matches
    assert listed["activity_without_plan"] == [
        {"name": "J Whitfield", "rows": 1, "likely": ["Jo Whitfield"],
         "reason": "initial matches forename"},
    ]
    # Raman has a plan and no activity; Jo Whitfield's likely activity name is J Whitfield
    # (listed in name order, as the job plans page lists them).
    assert [p["name"] for p in listed["plans_without_activity"]] == ["Jo Whitfield", "Priya Raman"]
    assert listed["plans_without_activity"][0]["likely"] == ["J Whitfield"]
    assert listed["plans_without_activity"][1]["likely"] == []
    assert describe(listed)[0] == (
        "J Whitfield (1 row) matches no job plan: perhaps Jo Whitfield (initial matches forename)?"
    )
    assert any("'Ann Mcdonald' → 'Ann McDonald'" in w for w in checked.report.warnings)


def test_no_plans_lists_nothing():
    result = _result()
    assert against_plans(result, []).report.plan_matches == {}


def test_inspect_names_the_clinicians_with_no_plan(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    plans = tmp_path / "plans.csv"
    plans.write_text(
        "Name,Team,Core sessions\nAnn McDonald,North,2\nSean O'Neill,North,2\n"
        "Jo Whitfield,North,1\nPriya Raman,North,3\n",
        encoding="utf-8",
    )
    assert main(["--db", db, "jobplans", "import", str(plans)]) == 0
    export = tmp_path / "appts.csv"
    export.write_text("\n".join(",".join(f'"{c}"' for c in r) for r in ROWS) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", db, "inspect", str(export), "--team", "North"]) == 0
    out = capsys.readouterr().out
    assert "Names to check against the job plans:" in out
    assert "J Whitfield (1 row) matches no job plan: perhaps Jo Whitfield" in out
    assert "The job plan of Priya Raman has no activity in this file." in out
    assert main(["--db", db, "inspect", str(export), "--team", "North", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "Ann McDonald" in report["clinicians"]
    assert [u["name"] for u in report["plan_matches"]["activity_without_plan"]] == ["J Whitfield"]
