"""The guard on raw upload bytes (issue 6): file kind by signature, ZIP limits, sheet extents,
CSV text checks. Small hand-built files; the full hostile corpus is in test_hostile.py."""

from __future__ import annotations

import re
import zipfile

import pytest

from capa_monitor.errors import LoadError
from capa_monitor.loading import guard
from capa_monitor.settings import Limits
from tests.hostile_corpus import (
    ACTIVITY_ROWS,
    openpyxl_xlsx,
    raw_xlsx,
    rows_xml,
    simple_xlsx,
    worksheet_xml,
)

GOOD_XLSX = simple_xlsx(ACTIVITY_ROWS)
GOOD_CSV = b"Appt Date,Clinician\n03/07/2026,Jane Smith\n"


@pytest.mark.parametrize(
    ("data", "filename", "kind"),
    [
        (GOOD_XLSX, "activity.xlsx", "xlsx"),
        (openpyxl_xlsx(ACTIVITY_ROWS), "activity.xlsx", "xlsx"),
        (GOOD_XLSX, "activity.csv", "xlsx"),  # the signature decides, not the name
        (GOOD_CSV, "activity.csv", "csv"),
        (GOOD_CSV, "activity.txt", "csv"),
        (GOOD_CSV, "activity", "csv"),
    ],
)
def test_kind_comes_from_the_signature(data, filename, kind):
    assert guard.check_upload(data, filename, Limits()) == kind


@pytest.mark.parametrize(
    ("letters", "number"), [("A", 1), ("Z", 26), ("AA", 27), ("AZ", 52), ("KN", 300), ("XFD", 16384)]
)
def test_column_letters_and_numbers(letters, number):
    # KN = 11 × 26 + 14 = 300; XFD = 24 × 676 + 6 × 26 + 4 = 16384.
    assert guard.column_number(letters) == number
    assert guard.column_letters(number) == letters


# Limits(max_rows=1_100_000, max_columns=300): refs just inside and just outside.
REFERENCES = [
    ("A1", False),
    ("KN1100000", False),
    ("KO1", True),
    ("LA1", True),
    ("ZZ1", True),
    ("AAA1", True),
    ("A1100001", True),
    ("A1200000", True),
    ("A9999999", True),
    ("A10000000", True),
    ("1100000", False),  # a <row r="…"> element
    ("1100001", True),
]


@pytest.mark.parametrize(("ref", "beyond"), REFERENCES)
def test_reference_pattern_matches_exactly_the_references_beyond_the_limits(ref, beyond):
    pattern = guard._reference_beyond_limits(Limits())
    assert bool(pattern.search(f' r="{ref}"'.encode())) is beyond


@pytest.mark.parametrize("bound", [1, 9, 10, 20, 99, 100, 1_048_576, 1_100_000])
def test_greater_than_agrees_with_integer_comparison(bound):
    pattern = re.compile(f"(?:{guard._greater_than(str(bound), '0123456789')})")
    for value in {1, bound - 1, bound, bound + 1, bound * 10, 10 ** len(str(bound))} - {0}:
        assert bool(pattern.fullmatch(str(value))) is (value > bound), value


def sheet_with(cells: str, dimension: str | None = None) -> bytes:
    return raw_xlsx({"Diary": worksheet_xml(cells, dimension=dimension)})


@pytest.mark.parametrize(
    ("cells", "dimension", "words"),
    [
        ('<row r="1"><c r="A1"><v>1</v></c></row>', "A1:KO1", "Sheet 'Diary' declares cells out to column KO (301 columns)"),
        ('<row r="1"><c r="A1"><v>1</v></c></row>', "A1:B21", "Sheet 'Diary' declares 21 rows, more than the 20-row limit"),
        ('<row r="1"><c r="A1"><v>1</v><c r="KO1"><v>1</v></c></c></row>', None, "has a cell in column KO"),
        ('<row r="1"><c r="A1"><v>1</v></c><c r="B21"><v>1</v></c></row>', None, "(it has a cell in row 21)"),
        ('<row r="1"><c\tr="A1"><v>1</v></c></row><row\nr="21"/>', None, "(it has a cell in row 21)"),
    ],
)
def test_sheet_extents_declared_and_present(cells, dimension, words):
    with pytest.raises(LoadError) as refused:
        guard.check_upload(sheet_with(cells, dimension), "a.xlsx", Limits(max_rows=20))
    assert words in str(refused.value)


def test_sheet_exactly_at_the_limits_passes():
    cells = '<row r="20"><c r="A20"><v>1</v></c><c r="KN20"><v>1</v></c></row>'
    guard.check_upload(sheet_with(cells, "A1:KN20"), "a.xlsx", Limits(max_rows=20))


def test_attribute_ending_in_r_is_not_a_reference():
    # <pageMargins footer="…"> ends in r=": a number there is not a cell reference.
    cells = '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><pageMargins footer="99999999"/><sheetData>'
    guard.check_upload(sheet_with(cells), "a.xlsx", Limits(max_rows=20))


def test_references_split_across_stream_chunks_are_seen(monkeypatch):
    monkeypatch.setattr(guard, "STREAM_CHUNK_BYTES", 100)
    rows = rows_xml([["x"]] * 10) + '<row r="21"><c r="A21"><v>1</v></c></row>'
    with pytest.raises(LoadError, match="row 21"):
        guard.check_upload(sheet_with(rows), "a.xlsx", Limits(max_rows=20))


def referenced_rows(count: int, width: int = 5) -> str:
    """Rows whose every cell carries its reference, as Excel writes them (A1, B1, … E1)."""
    letters = "ABCDEFGHIJ"[:width]
    return "".join(
        f'<row r="{r}" spans="1:{width}">'
        + "".join(f'<c r="{col}{r}"><v>{r}</v></c>' for col in letters)
        + "</row>"
        for r in range(1, count + 1)
    )


# Limits(max_rows=1000): a beyond-limit row has 4+ digits, a beyond-limit column (past KN) 2+
# letters; 300 rows of 5 referenced cells are dense enough for the shape pre-check to run.
DENSE_LIMITS = Limits(max_rows=1000)
DENSE_OFFENDERS = [
    ('<row r="301"><c r="A1001"><v>1</v></c></row>', "(it has a cell in row 1,001)"),
    ('<row r="301"><c r="KO301"><v>1</v></c></row>', "has a cell in column KO"),
    ('<row r="1001"/>', "(it has a cell in row 1,001)"),
]


@pytest.mark.parametrize(("offender", "words"), DENSE_OFFENDERS)
@pytest.mark.parametrize("chunk_bytes", [guard.STREAM_CHUNK_BYTES, 1000])
def test_out_of_bounds_reference_among_referenced_cells_is_found(
    monkeypatch, offender, words, chunk_bytes
):
    monkeypatch.setattr(guard, "STREAM_CHUNK_BYTES", chunk_bytes)
    with pytest.raises(LoadError) as refused:
        guard.check_upload(sheet_with(referenced_rows(300) + offender), "a.xlsx", DENSE_LIMITS)
    assert words in str(refused.value)


def test_referenced_cells_within_the_limits_pass():
    # Row 1000 and column KN: exactly at the limits.
    last = '<row r="1000"><c r="A1000"><v>1</v></c><c r="KN1000"><v>1</v></c></row>'
    guard.check_upload(sheet_with(referenced_rows(300) + last), "a.xlsx", DENSE_LIMITS)


@pytest.mark.parametrize(
    ("cells", "limits", "words"),
    [
        # The shape check: 2 letters (KN has two), 4 digits (1000 has four).
        ('<c r="KO1">', Limits(max_rows=1000), ('"AA', "A0000", '"0000')),
        ('<c r="A21">', Limits(max_rows=20), ('"AA', "A00", '"00')),
    ],
)
def test_suspect_shapes_follow_the_limits(cells, limits, words):
    assert guard._suspect_reference_shapes(limits) == tuple(w.encode() for w in words)
    assert guard._has_suspect_shape(cells.encode(), guard._suspect_reference_shapes(limits))


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (Limits(max_upload_bytes=100), "upload limit"),
        (Limits(max_uncompressed_bytes=1000), "unpacks to"),
        (Limits(max_entry_uncompressed_bytes=600), "Part 'xl/worksheets/sheet1.xml'"),
    ],
)
def test_size_limits(limits, words):
    big = simple_xlsx([["x" * 800]])
    with pytest.raises(LoadError, match=re.escape(words)):
        guard.check_upload(big, "a.xlsx", limits)


def test_highly_compressed_part_is_refused_only_above_the_minimum_size():
    # 2 MiB of one byte deflates about 1000:1, over the default 200:1; 100 KB is too small to matter.
    small = raw_xlsx({"S": worksheet_xml("")}, extra_parts={"xl/media/pad.bin": b"\0" * 100_000})
    guard.check_upload(small, "a.xlsx", Limits())
    large = raw_xlsx({"S": worksheet_xml("")}, extra_parts={"xl/media/pad.bin": b"\0" * 2 * 1024 * 1024})
    with pytest.raises(LoadError, match="zip bomb"):
        guard.check_upload(large, "a.xlsx", Limits())


@pytest.mark.parametrize(
    ("extra_part", "words"),
    [
        ("xl/workbook.bin", "binary workbook (.xlsb)"),
        ("xl/vbaProject.bin", "macros"),
    ],
)
def test_excel_variants_we_do_not_read(extra_part, words):
    data = raw_xlsx({"S": worksheet_xml("")}, extra_parts={extra_part: b"\0"})
    with pytest.raises(LoadError, match=re.escape(words)):
        guard.check_upload(data, "a.xlsx", Limits())


def test_opendocument_spreadsheet_is_named():
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(LoadError, match=r"OpenDocument file \(\.ods\)"):
        guard.check_upload(buffer.getvalue(), "a.ods", Limits())


def test_declaration_in_shared_strings_is_refused():
    strings = b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaa">]><sst/>'
    data = raw_xlsx({"S": worksheet_xml("")}, extra_parts={"xl/sharedStrings.xml": strings})
    with pytest.raises(LoadError, match="declares entities"):
        guard.check_upload(data, "a.xlsx", Limits())


# --- CSV ---

TEXT = "Appt Date,Clinician\n03/07/2026,Zoë Ó Briain\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-8-sig"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
        (b"\x1a" + TEXT.encode("cp1252"), "cp1252"),  # an old end-of-file marker is not binary
    ],
)
def test_csv_text_decodes_strictly_with_its_encoding(data, encoding):
    text, found = guard.decode_text(data)
    assert found == encoding
    assert "Zoë Ó Briain" in text


@pytest.mark.parametrize(
    ("data", "limits", "words"),
    [
        (TEXT.encode("utf-16-le"), Limits(), "UTF-16 text without a byte-order mark"),
        (b"a,b\n" + bytes(range(1, 9)) * 20, Limits(), "binary data"),
        (b"a,b\n1,\x002\n", Limits(), "NUL (zero) bytes"),
        ("a,b\n1,\x002\n".encode("utf-16"), Limits(), "NUL (zero) bytes"),
        (b"a,b\n" * 21, Limits(max_rows=20), "21 lines, more than the 20-row limit"),
        (b"a," + b"x" * 101 + b",c\n", Limits(max_field_chars=100), "a field of 101 characters"),
        (b"a;" + "é".encode() * 101 + b"\n", Limits(max_field_chars=100), "a field of 101 characters"),
        (b"Jos\x81,a\n", Limits(), "not in a text encoding"),
    ],
)
def test_csv_refusals(data, limits, words):
    with pytest.raises(LoadError) as refused:
        guard.check_upload(data, "a.csv", limits)
    assert words in str(refused.value)


def test_field_of_multibyte_characters_within_the_limit_passes():
    # 60 'é' are 120 bytes of UTF-8 but 60 characters: within a 100-character limit.
    guard.check_upload(b"a," + "é".encode() * 60 + b"\n", "a.csv", Limits(max_field_chars=100))


def test_csv_exactly_at_the_row_limit_passes():
    guard.check_upload(b"a,b\n" * 20, "a.csv", Limits(max_rows=20))
