"""Reading uploads into raw text tables (issue 2, Reading): every cell as the text a person sees."""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, time

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capa_monitor.errors import LoadError
from capa_monitor.loading import read as read_module
from capa_monitor.loading.read import RawSheet, RawWorkbook, read_upload, sandboxed_parse, warm_up
from capa_monitor.settings import Limits
from tests.hostile_corpus import raw_xlsx, rows_xml, simple_xlsx, worksheet_xml

# 9990000018: digits 9,9,9,0,0,0,0,0,1 weighted 10..2 → 90+81+72+2 = 245; 245 mod 11 = 3;
# check digit 11 - 3 = 8. A valid NHS number from the 999 test range.
NHS_NUMBER = 9990000018


def openpyxl_xlsx(values: dict[str, object], title: str = "Activity") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for ref, value in values.items():
        sheet[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cell(workbook: RawWorkbook, row: int, column: int, sheet: int = 0) -> object:
    """The text at a 1-based sheet row and 0-based column (A = 0)."""
    return workbook.sheets[sheet].cells.loc[row - 1, column]


# (value as Excel stores it, the text the reader must give)
XLSX_CELL_TEXT = [
    (date(2026, 7, 3), "2026-07-03"),
    (datetime(2026, 7, 3, 9, 30), "2026-07-03 09:30:00"),
    (5, "5"),
    (45000.0, "45000"),
    (3.5, "3.5"),
    ("0012345", "0012345"),
    (NHS_NUMBER, "9990000018"),
    (time(9, 30), "09:30:00"),
    (True, "TRUE"),
    ("NA", "NA"),
    ("  Smith, Jane (Dr) ", "  Smith, Jane (Dr) "),
]


@pytest.mark.parametrize(("value", "expected"), XLSX_CELL_TEXT)
def test_xlsx_cell_is_read_as_the_text_a_person_sees(value, expected):
    workbook = read_upload(openpyxl_xlsx({"A1": "header", "A2": value}), "a.xlsx")
    assert cell(workbook, 2, 0) == expected


@pytest.mark.parametrize(("stored", "expected"), [("5.0", "5"), ("12", "12"), ("0.25", "0.25")])
def test_xlsx_numbers_stored_with_a_decimal_point_read_without_dot_zero(stored, expected):
    sheet = worksheet_xml(f'<row r="1"><c r="A1"><v>{stored}</v></c></row>')
    assert cell(read_upload(raw_xlsx({"S": sheet}), "a.xlsx"), 1, 0) == expected


def test_xlsx_frame_index_is_sheet_row_minus_one_and_column_zero_is_a():
    # Cells at C4 and D6 only: rows 1-3 and column A-B blank must still be there.
    workbook = read_upload(openpyxl_xlsx({"C4": "Appt Date", "D6": "x"}), "a.xlsx")
    cells = workbook.sheets[0].cells
    assert cells.shape == (6, 4)
    assert cells.loc[3, 2] == "Appt Date"
    assert cells.loc[5, 3] == "x"
    assert cells.iloc[:3].isna().all().all()
    assert list(cells.columns) == [0, 1, 2, 3]


def test_xlsx_every_column_is_str_and_blank_is_nan():
    cells = read_upload(openpyxl_xlsx({"A1": 1, "B2": date(2026, 1, 2)}), "a.xlsx").sheets[0].cells
    assert all(dtype == "str" for dtype in cells.dtypes)
    assert pd.isna(cells.loc[0, 1]) and pd.isna(cells.loc[1, 0])


def test_xlsx_text_after_a_thousand_numbers_is_kept():
    # fastexcel's default guesses the type from the first 1,000 rows and would blank row 1,204.
    rows = [["Id"]] + [[n] for n in range(1, 1203)] + [["C-PENDING"]]
    workbook = read_upload(simple_xlsx(rows), "a.xlsx")
    assert cell(workbook, 1204, 0) == "C-PENDING"
    assert cell(workbook, 1203, 0) == "1202"


TWO_SHEETS = raw_xlsx(
    {
        "Notes": worksheet_xml(rows_xml([["Run on 1 July"]])),
        "Activity": worksheet_xml(rows_xml([["Date", "Clinician"], ["2026-07-03", "Jane Smith"]])),
    }
)


def test_xlsx_all_sheets_in_workbook_order():
    workbook = read_upload(TWO_SHEETS, "two.xlsx")
    assert [s.name for s in workbook.sheets] == ["Notes", "Activity"]
    assert workbook.file_kind == "xlsx" and workbook.encoding is None
    assert cell(workbook, 2, 1, sheet=1) == "Jane Smith"


def test_xlsx_named_sheet_only():
    workbook = read_upload(TWO_SHEETS, "two.xlsx", sheet="Activity")
    assert [s.name for s in workbook.sheets] == ["Activity"]


def test_xlsx_unknown_sheet_names_the_sheets_there_are():
    with pytest.raises(LoadError, match=r"no sheet called 'Diary'.*'Notes', 'Activity'"):
        read_upload(TWO_SHEETS, "two.xlsx", sheet="Diary")


def test_sha256_is_of_the_uploaded_bytes():
    assert read_upload(TWO_SHEETS, "two.xlsx").sha256 == hashlib.sha256(TWO_SHEETS).hexdigest()


# --- CSV ---

CSV_TEXT = "Appointment report\n\nDate,Clinician,Outcome\n03/07/2026,Ó Briain,Attended\n"
# (bytes, encoding the reader must report)
CSV_ENCODINGS = [
    (CSV_TEXT.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
    (CSV_TEXT.encode("utf-16"), "utf-16"),
    (CSV_TEXT.encode("utf-16-be").join([b"\xfe\xff", b""]), "utf-16"),
    (CSV_TEXT.encode("cp1252"), "cp1252"),
]


@pytest.mark.parametrize(("data", "encoding"), CSV_ENCODINGS)
def test_csv_encoding_is_detected_and_reported(data, encoding):
    workbook = read_upload(data, "export.csv")
    assert workbook.encoding == encoding
    assert workbook.file_kind == "csv"
    assert cell(workbook, 4, 1) == "Ó Briain"
    assert cell(workbook, 3, 2) == "Outcome"


def test_csv_in_no_known_encoding_is_refused_not_garbled():
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8 here.
    with pytest.raises(LoadError, match="encoding"):
        read_upload(b"Date,Clinician\n03/07/2026,Jos\x81\n", "x.csv")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiter_is_detected(delimiter):
    text = "Run date 01/07/2026\n" + "\n".join(
        delimiter.join(row) for row in [["Date", "Clinician", "Outcome"], ["03/07/2026", "Jane Smith", "DNA"]]
    )
    cells = read_upload(text.encode(), "x.csv").sheets[0].cells
    assert cells.shape == (3, 3)
    assert list(cells.loc[2]) == ["03/07/2026", "Jane Smith", "DNA"]


def test_semicolon_file_with_commas_in_names_splits_on_semicolons():
    text = "Date;Clinician;Outcome\n03/07/2026;Smith, Jane;DNA\n04/07/2026;Jones, Ann;Attended\n"
    cells = read_upload(text.encode(), "x.csv").sheets[0].cells
    assert list(cells.loc[1]) == ["03/07/2026", "Smith, Jane", "DNA"]


def test_csv_fields_are_text_blank_is_nan_and_na_stays_text():
    text = 'Id,Name,Note,NHS\n0012345,NA,,9990000018\n"7","Smith, Jane",N/A,\n'
    cells = read_upload(text.encode(), "x.csv").sheets[0].cells
    assert all(dtype == "str" for dtype in cells.dtypes)
    assert list(cells.loc[1, [0, 1, 3]]) == ["0012345", "NA", "9990000018"]
    assert pd.isna(cells.loc[1, 2])
    assert list(cells.loc[2, [0, 1, 2]]) == ["7", "Smith, Jane", "N/A"]
    assert pd.isna(cells.loc[2, 3])


def test_csv_ragged_rows_keep_row_numbers():
    # A title line with one field above a three-field header; a blank line stays a row.
    text = "Activity export\n\nDate,Clinician,Outcome\n03/07/2026,Jane Smith,DNA,extra\n"
    cells = read_upload(text.encode(), "x.csv").sheets[0].cells
    assert cells.shape == (4, 4)
    assert cells.loc[0, 0] == "Activity export"
    assert cells.loc[1].isna().all()
    assert cells.loc[3, 3] == "extra"


def test_csv_is_one_sheet_named_after_the_file():
    workbook = read_upload(b"a,b\n1,2\n", "C:\\exports\\March activity.csv")
    assert [s.name for s in workbook.sheets] == ["March activity"]
    assert isinstance(workbook.sheets[0], RawSheet)
    assert np.array_equal(workbook.sheets[0].cells.index, [0, 1])


# --- the sandbox: what runs beside the child, and starting it early ---


def test_reference_scan_runs_while_the_child_parses_and_its_refusal_wins():
    # No <dimension>, so only the full scan (not the screen) sees the cell in row 21 of a
    # sheet limited to 20 rows; the child would have read the file without complaint.
    data = raw_xlsx({"Diary": worksheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="B21"><v>1</v></c></row>')})
    with pytest.raises(LoadError, match=r"Sheet 'Diary' has more than 20 rows \(it has a cell in row 21\)"):
        read_upload(data, "a.xlsx", limits=Limits(max_rows=20))


def test_a_refusal_beside_the_child_kills_it_and_the_reader_serves_the_next_file():
    seen = []

    def refuse() -> None:
        seen.append("scanned")
        raise LoadError("refused beside the child")

    with pytest.raises(LoadError, match="refused beside the child"):
        sandboxed_parse(simple_xlsx([["a"]]), "a.xlsx", "xlsx", None, Limits(), while_parsing=refuse)
    assert seen == ["scanned"]
    assert cell(read_upload(simple_xlsx([["after"]]), "b.xlsx"), 1, 0) == "after"


def test_warm_up_starts_one_reader_that_uploads_then_use():
    warm_up()
    warm_up()  # a second call while the first is starting must not start another reader
    workbook = read_upload(simple_xlsx([["warm"]]), "w.xlsx")
    assert cell(workbook, 1, 0) == "warm"
    started = read_module._zygote._process
    warm_up()
    assert cell(read_upload(simple_xlsx([["again"]]), "w.xlsx"), 1, 0) == "again"
    assert read_module._zygote._process is started


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # Three sheets come back through one shared-memory file, each at its own offset.
        ({"First": [["1"]], "Second": [["x", "y"], ["z", None]], "Third": [[None, "end"]]},
         {"First": [["1"]], "Second": [["x", "y"], ["z", None]], "Third": [[None, "end"]]}),
    ],
)
def test_every_sheet_comes_back_from_the_child_whole(cells, expected):
    sheets = {name: worksheet_xml(rows_xml(rows)) for name, rows in cells.items()}
    workbook = read_upload(raw_xlsx(sheets), "many.xlsx")
    got = {
        sheet.name: [[None if pd.isna(v) else v for v in row] for row in sheet.cells.values.tolist()]
        for sheet in workbook.sheets
    }
    assert got == expected
