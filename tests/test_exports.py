"""The shortfall list (spec §6): both parts, as XLSX and CSV, with no formula from data."""

import csv
import io
import json
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from capa_monitor.cli.review_cmds import review_json, review_table
from capa_monitor.exports import safe_text, shortfall_csv, shortfall_tables, shortfall_xlsx
from capa_monitor.loading.normalise import _derived_slot_ids
from capa_monitor.metrics.review import review
from capa_monitor.model import ACTIVITY_COLUMNS
from capa_monitor.periods import Quarter

GENERATED = datetime(2026, 8, 1, 9, 30)
HOSTILE_SLOT = '=HYPERLINK("http://evil.example","click")'
CLIENT = "c0ffee-client-key"

# (slot, clinician, date, kind, outcome, client)
ROWS = [
    ("S1", "Jane Smith", "2026-07-01", "core_new", "attended", CLIENT),
    (HOSTILE_SLOT, "Jane Smith", "2026-07-02", "core_new", "dna", CLIENT),  # not re-offered
    ("S3", "@Bob Ray", "2026-07-03", "core_new", "attended", "k2"),  # no plan
    ("+S4", "Ann Lee", "2026-07-02", "choice", "unbooked", None),  # window shut 30 Jul
    ("S5", "Ann Lee", "2026-07-31", "core_new", "dna", "k3"),  # pending on 31 Jul
    ("S6", "Pat Kay", "2026-07-06", "core_new", "attended", "k4"),
]
PLANS = pd.DataFrame(
    {
        "clinician": ["Jane Smith", "Ann Lee", "Pat Kay"],
        "team": ["-North"] * 3,
        "core_sessions": [4.0, 2.0, 0.2],
        "available_to": pd.to_datetime([None, "2026-09-04", None]),
    }
)


@pytest.fixture(scope="module")
def result():
    frame = pd.DataFrame(ROWS, columns=["slot_id", "clinician", "date", "kind", "outcome",
                                        "client_key"])
    frame["team"] = "-North"
    frame["date"] = pd.to_datetime(frame["date"])
    frame["booked_on"] = pd.NaT
    frame["duration_min"] = pd.array([60] * len(frame), dtype="Int64")
    frame["reoffered"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    frame["source_row"] = range(2, len(frame) + 2)
    return review(frame.reindex(columns=list(ACTIVITY_COLUMNS)), PLANS, Quarter(2026, 2),
                  as_of=date(2026, 7, 31))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Jane Smith", "Jane Smith"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
        (12, "12"),
        # XML 1.0 cannot hold C0 controls other than tab, LF and CR: each becomes a space.
        ("Jane\x0cSmith", "Jane Smith"),
        ("S\x1a1", "S 1"),
        ("\x00\x08\x0b\x1f", "    "),
        ("\x0c=1+1", " =1+1"),  # no longer starts a formula once the form feed is a space
        ("line\nbreak\tand tab", "line\nbreak\tand tab"),
    ],
)
def test_safe_text(value, expected):
    assert safe_text(value) == expected


def test_tables_hold_the_flagged_clinicians_and_not_reoffered_slots(result):
    part1, part2 = shortfall_tables(result)
    # As of 31 Jul: 23 of 65 working days. Jane 12 × 23/65 = 4.25, 1 delivered → red;
    # Ann 6 × 23/65 = 2.12, 0 → red; Pat 0.6 × 23/65 = 0.21, 1 → green (not listed);
    # "@Bob Ray" has no plan. The status words are the pages' (metrics.words): "behind", never
    # "Red" (the old wording here); the reason and Ann's leaving date (4 Sep) in words.
    assert part1["Clinician"].tolist() == ["Jane Smith", "Ann Lee", "@Bob Ray"]
    assert part1["Status"].tolist() == ["behind", "behind", "no target"]
    assert part1["Why"].tolist()[2] == "no job plan"
    assert part1["Why"].isna().tolist()[:2] == [True, True]
    assert part1["Start / leaving"].tolist()[1] == "leaves 4 Sep"
    assert list(part1.columns) == [
        "Team", "Clinician", "Status", "Why", "Also in", "Target (quarter)", "Expected to date",
        "Delivered", "Shortfall", "Lost slots", "Not re-offered", "Pending", "Start / leaving",
        "Leaving date",
    ]
    assert part1["Expected to date"].tolist()[0] == pytest.approx(12 * 23 / 65)
    # Ann: S4 not re-offered, S5 pending.
    assert part1.loc[1, ["Lost slots", "Not re-offered", "Pending"]].tolist() == [2, 1, 1]
    assert list(part2.columns) == ["Team", "Clinician", "Date", "Time", "Type", "Outcome",
                                   "Slot id (export)", "Evidence"]
    assert part2["Slot id (export)"].tolist() == ["+S4", HOSTILE_SLOT]
    assert part2["Type"].tolist() == ["Choice", "new Core Partnership"]
    assert part2["Outcome"].tolist() == ["unbooked", "DNA/WNB"]


def _workbook(result):
    return openpyxl.load_workbook(io.BytesIO(shortfall_xlsx(result, generated_at=GENERATED)))


def test_xlsx_has_front_sheet_and_a_sheet_per_part(result):
    book = _workbook(result)
    assert book.sheetnames == ["About", "Below target", "Not re-offered", "Next quarter diary"]
    about = {row[0]: row[1] for row in book["About"].iter_rows(min_row=3, values_only=True)}
    assert about["Quarter"] == "2026/27 Q2"
    assert about["As of"] == datetime(2026, 7, 31)  # a real date cell
    assert about["Teams"] == "All teams"
    assert about["Generated at"] == GENERATED
    assert about["Setting: reoffer_window_days"] == 28
    assert about["Setting: monitored_kinds"] == "core_new, choice"
    # §8 L2: Q3's diary is checked from 1 Oct − 6 weeks = 20 Aug, after this 31 Jul as-of date
    assert about["Next quarter's diary"] == "2026/27 Q3, not checked yet: from 20 Aug 2026"
    assert book["Next quarter diary"].max_row == 1  # the header row alone: nobody flagged yet
    sheet = book["Below target"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "Team" and sheet["A1"].font.bold
    assert sheet.column_dimensions["B"].width >= len("Jane Smith")
    assert sheet["N3"].value == datetime(2026, 9, 4)  # Ann's leaving date, as a date
    assert sheet["N3"].is_date


def test_xlsx_has_no_formula_and_keeps_the_text(result):
    book = _workbook(result)
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    slots = book["Not re-offered"]
    assert [slots.cell(r, 7).value for r in (2, 3)] == ["'+S4", "'" + HOSTILE_SLOT]
    assert slots["A2"].value == "'-North"
    assert book["Below target"]["B4"].value == "'@Bob Ray"
    texts = [str(cell.value) for cell in cells if cell.value is not None]
    assert not [t for t in texts if t[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_no_client_identifier_in_either_download(result):
    book = _workbook(result)
    texts = " ".join(str(c.value) for s in book for row in s.iter_rows() for c in row)
    assert CLIENT not in texts
    assert CLIENT not in shortfall_csv(result).decode("utf-8-sig")


def test_csv_has_both_parts_one_after_the_other(result):
    data = shortfall_csv(result, generated_at=GENERATED)
    assert data.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["CAPA Monitor shortfall list"]
    assert ["Quarter", "2026/27 Q2"] in rows and ["As of", "2026-07-31"] in rows
    part1 = rows.index(["Part 1: clinicians behind, slightly behind or with no target"])
    part2 = rows.index(["Part 2: lost slots not re-offered"])
    assert rows[part1 + 1][:3] == ["Team", "Clinician", "Status"]
    # Jane: target 12, expected 4.25 → shown 4.2, delivered 1, shortfall 3.25 → 3.2
    assert rows[part1 + 2] == ["'-North", "Jane Smith", "behind", "", "", "12.0", "4.2", "1",
                               "3.2", "1", "1", "0", "", ""]
    assert rows[part1 + 4][:4] == ["'-North", "'@Bob Ray", "no target", "no job plan"]
    assert rows[part2 + 1] == ["Team", "Clinician", "Date", "Time", "Type", "Outcome",
                               "Slot id (export)", "Evidence"]
    part3 = rows.index(["Part 3: next quarter's diary: clinicians short of new Core "
                        "Partnership slots"])
    assert [row[6] for row in rows[part2 + 2:part3 - 1]] == ["'+S4", "'" + HOSTILE_SLOT]
    assert rows[part3 + 2:] == [["(none)"]]  # Q3's diary is not checked before 20 Aug
    assert rows[part2 + 2][2] == "2026-07-02"
    every_cell = [cell for row in rows for cell in row]
    assert not [c for c in every_cell if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


# A clinician name and a slot id holding a form feed (\x0c) and Ctrl-Z (\x1a), as stray bytes
# in an export do. Jo West has no plan (listed as "no target": "no job plan") and her DNA of 2 Jul has no
# later slot by 31 Jul, its window's end (2 Jul + 28 days = 30 Jul) → not re-offered.
CONTROL_ROWS = [("S\x1a9", "Jo\x0cWest", "2026-07-02", "core_new", "dna", "k9")]


@pytest.fixture(scope="module")
def control_result():
    frame = pd.DataFrame(CONTROL_ROWS, columns=["slot_id", "clinician", "date", "kind",
                                                "outcome", "client_key"])
    frame["team"] = "North"
    frame["date"] = pd.to_datetime(frame["date"])
    frame["source_row"] = 2
    frame["reoffered"] = pd.array([pd.NA], dtype="boolean")
    return review(frame.reindex(columns=list(ACTIVITY_COLUMNS)), PLANS.iloc[:0], Quarter(2026, 2),
                  as_of=date(2026, 7, 31))


def test_control_characters_reach_neither_download(control_result):
    book = _workbook(control_result)  # openpyxl raised IllegalCharacterError here before
    assert book["Below target"]["B2"].value == "Jo West"
    slots = book["Not re-offered"]
    assert (slots["B2"].value, slots["G2"].value) == ("Jo West", "S 9")
    assert "Jo West" in slots["H2"].value  # the evidence names her too
    text = shortfall_csv(control_result, generated_at=GENERATED).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    part2 = rows.index(["Part 2: lost slots not re-offered"])
    assert rows[part2 + 2][1] == "Jo West"
    assert rows[part2 + 2][6] == "S 9"
    assert "\x0c" not in text and "\x1a" not in text


# --- one set of words everywhere; slots without the loader's derived ids --------------------

# By hand (see test_tables_hold_…): Jane and Ann behind, Pat on track, Bob no plan.
WORDS_BY_CLINICIAN = {"Jane Smith": "behind", "Ann Lee": "behind", "@Bob Ray": "no target",
                      "Pat Kay": "on track"}


def test_the_download_and_the_cli_say_the_same_status_words(result):
    part1, _ = shortfall_tables(result)
    assert dict(zip(part1["Clinician"], part1["Status"], strict=True)) == {
        name: word for name, word in WORDS_BY_CLINICIAN.items() if word != "on track"}
    doc = review_json(result)
    assert {c["clinician"]: c["status_words"] for c in doc["clinicians"]} == WORDS_BY_CLINICIAN
    assert {c["clinician"]: c["status"] for c in doc["clinicians"]}["Jane Smith"] == "red"
    table = review_table(result).splitlines()
    for name, word in WORDS_BY_CLINICIAN.items():
        line = next(line for line in table if line.startswith(name))
        assert f"  {word}  " in line, line
    assert not any(word in text for word in ("Red", "Amber", "Green")
                   for text in (shortfall_csv(result).decode("utf-8-sig"), "\n".join(table)))


def test_a_derived_slot_id_is_never_shown():
    # An export without appointment ids: the loader derives them (a hash). Jo West's DNA of
    # Thu 2 Jul 10:15 is not re-offered by 31 Jul; the download names it by date and time.
    frame = pd.DataFrame({"clinician": ["Jo West"], "date": pd.to_datetime(["2026-07-02"]),
                          "start": ["10:15"], "kind": ["core_new"], "outcome": ["dna"],
                          "client_key": ["k9"], "team": ["North"]})
    frame["slot_id"] = _derived_slot_ids(frame.reindex(columns=list(ACTIVITY_COLUMNS)))
    frame["source_row"] = 2
    frame["reoffered"] = pd.array([pd.NA], dtype="boolean")
    derived = review(frame.reindex(columns=list(ACTIVITY_COLUMNS)), PLANS.iloc[:0],
                     Quarter(2026, 2), as_of=date(2026, 7, 31))
    _, part2 = shortfall_tables(derived)
    assert part2[["Date", "Time"]].values.tolist() == [[pd.Timestamp("2026-07-02"), "10:15"]]
    assert part2["Slot id (export)"].isna().all()
    hash_id = frame["slot_id"].iloc[0]
    assert hash_id.startswith("h")
    assert hash_id not in shortfall_csv(derived).decode("utf-8-sig")
    assert hash_id not in json.dumps(review_json(derived))
    assert hash_id not in review_table(derived)
    assert review_json(derived)["lost_slots"][0]["slot"] == "Thu 2 Jul 2026 10:15, Jo West, new Core Partnership"
