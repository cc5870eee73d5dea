"""`review` and `shortfalls` on the command line, over a stand-in store (issue 4 shapes)."""

import hashlib
import json
from datetime import date

import openpyxl
import pandas as pd
import pytest

import capa_monitor.cli as cli
import capa_monitor.store
from capa_monitor.metrics import daily
from capa_monitor.metrics.review import stored_review
from capa_monitor.model import ACTIVITY_COLUMNS
from capa_monitor.settings import Settings
from capa_monitor.store import derived
from capa_monitor.store.review_reads import ReviewInputs

# (slot, clinician, date, kind, outcome, client, booked_on)
ROWS = [
    ("L1", "Jane Smith", "2026-07-01", "core_new", "dna", "c1", None),
    ("R1", "Bob Ray", "2026-07-10", "core_new", "attended", "c1", None),
    ("L2", "Jane Smith", "2026-07-02", "core_new", "unbooked", None, None),
    ("X1", "Jane Smith", "2026-07-20", "core_new", "booked", "c9", "2026-07-02"),
    ("L3", "Ann Lee", "2026-07-06", "core_new", "dna", "c2", None),
    ("L4", "Ann Lee", "2026-07-30", "core_new", "cancelled_by_client", "c5", None),
    ("A1", "Ann Lee", "2026-08-10", "core_new", "attended", "c7", None),
    ("F1", "Ann Lee", "2026-08-20", "core_new", "booked", "c2", None),  # after L3's window
]
PLANS = pd.DataFrame(
    {
        "clinician": ["Jane Smith", "Ann Lee"],
        "team": ["North", "North"],
        "core_sessions": [4.0, 2.0],
        "available_to": pd.to_datetime([None, "2026-08-14"]),
    }
)


class StandInStore:
    """What the commands use of capa_monitor.store.Store, over fixed frames; a team filter is
    applied as the real store's SQL does (team IN (...), so a blank team never matches)."""

    records: list = []
    users: list = []  # who each record names
    other_rows: list = []  # (slot, clinician, team, date, kind, outcome, client, booked_on)
    plans = PLANS

    @classmethod
    def open(cls, url=None):
        return cls()

    def settings(self):
        return Settings()

    def teams(self):
        return sorted({"North", *(row[2] for row in self.other_rows)})

    def activity(self, teams=None):
        rows = [(slot, name, "North", *rest) for slot, name, *rest in ROWS] + self.other_rows
        frame = pd.DataFrame(rows, columns=["slot_id", "clinician", "team", "date", "kind",
                                            "outcome", "client_key", "booked_on"])
        if teams is not None:
            frame = frame[frame["team"].isin(teams)]
        frame["date"] = pd.to_datetime(frame["date"])
        frame["booked_on"] = pd.to_datetime(frame["booked_on"])
        frame["duration_min"] = pd.array([60] * len(frame), dtype="Int64")
        frame["reoffered"] = pd.array([pd.NA] * len(frame), dtype="boolean")
        frame["source_row"] = range(2, len(frame) + 2)
        return frame.reindex(columns=list(ACTIVITY_COLUMNS))

    def review_inputs(self, teams, quarter, as_of=None, *, looking_ahead=False):
        rows = self.activity(teams)
        dates = daily.by_date(daily.daily_counts(rows))
        return ReviewInputs(
            activity=rows, jobplans=self.jobplans(), settings=self.settings(),
            lost=derived.lost_slots_of(self.activity(), self.settings(), teams, quarter.start,
                                       quarter.last_day),
            dates=dates, clinicians=tuple(pd.unique(rows["clinician"])),
            as_of=daily.latest_happened(dates),
        )

    def review(self, teams, quarter, as_of=None):  # the real store's when nothing is kept
        return stored_review(self.review_inputs(teams, quarter, as_of), quarter, as_of=as_of,
                             teams=teams)

    def latest_as_of(self, teams):
        return daily.latest_happened(daily.by_date(daily.daily_counts(self.activity(teams))))

    def jobplans(self, teams=None):
        return self.plans if teams is None else self.plans[self.plans["team"].isin(teams)]

    def record(self, action, *, user, **details):
        StandInStore.records.append((action, details))
        StandInStore.users.append(user)


@pytest.fixture
def run(monkeypatch, capsys):
    monkeypatch.setattr(capa_monitor.store, "Store", StandInStore)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("capa_monitor.cli.review_cmds",))
    StandInStore.records = []
    StandInStore.users = []
    StandInStore.other_rows = []
    StandInStore.plans = PLANS

    def invoke(*argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_review_json(run):
    code, out, _ = run("review", "--quarter", "2026/27 Q2", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["quarter"], doc["as_of"]) == ("2026/27 Q2", "2026-08-10")
    assert doc["settings"]["reoffer_window_days"] == 28
    people = {c["clinician"]: c for c in doc["clinicians"]}
    assert sorted(people) == ["Ann Lee", "Bob Ray", "Jane Smith"]
    # As of 10 Aug: 1 Jul–10 Aug = 23 + 6 = 29 of 65 working days (31 Aug not yet).
    # Jane: 12 × 29 / 65 = 5.3538…, nothing attended → red, shortfall 5.3538…
    jane = people["Jane Smith"]
    assert jane["expected_to_date"] == pytest.approx(12 * 29 / 65)
    assert jane["expected_to_date"] != round(jane["expected_to_date"], 4)  # unrounded
    assert (jane["delivered"], jane["offered"], jane["status"]) == (0, 3, "red")
    assert (jane["lost"], jane["reoffered"], jane["pending"], jane["not_reoffered"]) == (2, 2, 0, 0)
    # Ann leaves 14 Aug; as of 10 Aug she has the same 29 days: 6 × 29 / 65 = 2.6769…
    ann = people["Ann Lee"]
    assert ann["expected_to_date"] == pytest.approx(6 * 29 / 65)
    assert ann["leaving_date"] == "2026-08-14"
    assert (ann["lost"], ann["pending"], ann["not_reoffered"]) == (2, 1, 1)
    assert (jane["status_words"], ann["status_words"]) == ("behind", "behind")
    assert (ann["availability"], ann["planned"]) == ("leaves 14 Aug", True)
    bob = people["Bob Ray"]
    assert bob["status"] == "no_target"
    assert (bob["status_words"], bob["status_reason"], bob["planned"]) == (
        "no target", "no job plan", False)
    # Headline over Jane and Ann only: Ann's 1 (A1, 10 Aug) of 12 × 29/65 + 6 × 29/65 = 8.03
    # expected; Bob's 1 apart.
    head = doc["headline"]
    assert (head["delivered"], head["clinicians_with_target"]) == (1, 2)
    assert head["expected_to_date"] == pytest.approx(18 * 29 / 65)
    assert (head["no_job_plan"], head["no_job_plan_delivered"]) == (["Bob Ray"], 1)
    assert (bob["target"], bob["expected_to_date"], bob["shortfall"]) == (None, None, None)
    slots = {s["slot_id"]: s for s in doc["lost_slots"]}
    assert {k: s["status"] for k, s in slots.items()} == {
        "L1": "reoffered_client",
        "L2": "reoffered_replacement",
        "L3": "not_reoffered",
        "L4": "pending",
    }
    assert slots["L1"]["evidence"] == "Rebooked: same family seen by Bob Ray on 10 Jul 2026 (slot R1)."
    assert slots["L1"]["slot"] == "Wed 1 Jul 2026, Jane Smith, new Core Partnership (slot L1)"
    assert slots["L3"]["status_words"] == "not re-offered"
    assert set(slots["L1"]) >= {"clinician", "date", "kind", "outcome", "status", "evidence",
                                "slot_id"}


def test_review_table_and_as_of(run):
    code, out, _ = run("review", "--quarter", "2026/27 Q2", "--team", "north", "--as-of",
                       "2026-07-17")
    assert code == 0
    assert out.startswith("2026/27 Q2 review, North, as of 17 Jul 2026 (given)")
    assert "Jane Smith" in out and "no target" in out and "no_target" not in out
    # As of 17 Jul (13 of 65 days): Jane 12 × 13 / 65 = 2.4 and Ann 6 × 13 / 65 = 1.2
    # expected, nothing attended by either; Bob's 1 (no plan) is said apart.
    assert ("New Core Partnerships by clinicians with a target: 0 delivered of 3.6 expected "
            "to date (quarter target 18.0); 2 of 2 behind, 0 slightly behind.") in out
    assert "Plus 1 new Core Partnership by a clinician with no job plan: Bob Ray." in out
    ann = next(line for line in out.splitlines() if line.startswith("Ann Lee"))
    assert "  behind  " in ann and ann.endswith("leaves 14 Aug")
    # one team chosen: its counts are that team's slots alone, and the rules line says so
    assert "Only the chosen teams' slots are counted" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("review", "--quarter", "2026 summer"), "is not a quarter"),
        (("review", "--quarter", "2026/27 Q2", "--team", "South"), "No team called 'South'"),
        (("shortfalls", "--quarter", "2026/27 Q2", "--out", "list.pdf"), "must end in .xlsx or .csv"),
    ],
)
def test_refusals_are_one_line(run, argv, message):
    code, out, err = run(*argv)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_shortfalls_xlsx_and_csv(run, tmp_path):
    xlsx = tmp_path / "short.xlsx"
    code, out, _ = run("shortfalls", "--quarter", "2026/27 Q2", "--out", str(xlsx))
    assert code == 0
    # Jane and Ann red, Bob without a plan; L3 not re-offered.
    assert "3 clinician(s) behind or with no target, 1 slot(s) not re-offered" in out
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["About", "Below target", "Not re-offered", "Next quarter diary"]
    assert book["Not re-offered"]["G2"].value == "L3"
    csv_path = tmp_path / "short.csv"
    assert run("shortfalls", "--quarter", "2026/27 Q2", "--out", str(csv_path))[0] == 0
    assert "Part 2: lost slots not re-offered" in csv_path.read_text(encoding="utf-8-sig")
    assert [(action, d["file"], d["quarter"], d["as_of"]) for action, d in StandInStore.records] == [
        ("download", "short.xlsx", "2026/27 Q2", "2026-08-10"),
        ("download", "short.csv", "2026/27 Q2", "2026-08-10"),
    ]
    # §7: each entry holds the hash of exactly the file written and its rows: 3 clinicians + 1
    # slot = 4.
    for (_, details), path in zip(StandInStore.records, (xlsx, csv_path), strict=True):
        assert details["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (details["rows"], details["clinicians"], details["slots"]) == (4, 3, 1)


def test_shortfall_download_is_recorded_under_the_acting_user(run, tmp_path, monkeypatch):
    # as every other CLI write: $CAPA_USER first, else the login name
    monkeypatch.setenv("CAPA_USER", "manager@example.org")
    assert run("shortfalls", "--quarter", "2026/27 Q2", "--out", str(tmp_path / "s.csv"))[0] == 0
    assert StandInStore.users == ["manager@example.org"]


def test_quarter_defaults_to_the_as_of_quarter(run):
    code, out, _ = run("review", "--as-of", "2026-07-17", "--format", "json")
    assert code == 0
    assert json.loads(out)["quarter"] == "2026/27 Q2"
    assert date.fromisoformat(json.loads(out)["as_of"]) == date(2026, 7, 17)


def test_a_team_review_matches_over_every_team_and_keeps_blank_team_plans(run):
    # L3 (Ann Lee, North, 6 Jul, c2) — not re-offered in North's own rows — was rebooked by the
    # family with South's Cara Dunn on 13 Jul (S1), inside the 28-day window: rule 2, "any
    # clinician", so re-offered (client rebooked) in North's review too. Eve Ford's plan has a
    # blank team; she works in North, so North's review shows her against a target of
    # 1 session × 3 = 3 (not "no job plan"); as of 10 Aug (29 of 65 working days) she is
    # expected 3 × 29 / 65 = 1.34 and 1 delivered < 0.8 × 1.34 = 1.07 → red. South's own lost
    # slot S2 is not in North's list.
    StandInStore.other_rows = [
        ("S1", "Cara Dunn", "South", "2026-07-13", "core_new", "attended", "c2", None),
        ("S2", "Cara Dunn", "South", "2026-07-14", "core_new", "dna", "c8", None),
        ("N9", "Eve Ford", "North", "2026-07-15", "core_new", "attended", "c6", None),
    ]
    StandInStore.plans = pd.concat(
        [PLANS, pd.DataFrame({"clinician": ["Eve Ford"], "team": [None], "core_sessions": [1.0]})],
        ignore_index=True,
    )
    code, out, _ = run("review", "--quarter", "2026/27 Q2", "--team", "North", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    slots = {s["slot_id"]: s for s in doc["lost_slots"]}
    assert sorted(slots) == ["L1", "L2", "L3", "L4"]
    assert slots["L3"]["status"] == "reoffered_client"
    assert slots["L3"]["evidence_slot_id"] == "S1"
    people = {c["clinician"]: c for c in doc["clinicians"]}
    assert "Cara Dunn" not in people
    assert (people["Eve Ford"]["target"], people["Eve Ford"]["status"]) == (3.0, "red")


def test_a_quarter_without_lost_slots_says_0_and_nothing_more(run):
    # As of 30 Jun, before the quarter: none of its slots is lost yet
    code, out, _ = run("review", "--quarter", "2026/27 Q2", "--as-of", "2026-06-30")
    assert code == 0
    assert "Lost slots in the quarter: 0\n" in out
    assert "()" not in out
    assert "Only the chosen teams" not in out  # every team
