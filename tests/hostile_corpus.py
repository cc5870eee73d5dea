"""Builds the hostile and broken uploads of issue 6 from code, so no binary is ever committed.

`python -m tests.hostile_corpus DIR` (from the project root) writes every file into DIR (to
try them by hand with `python -m capa_monitor inspect`); the tests call `build_corpus()` / the
builders directly.
"""

from __future__ import annotations

import io
import random
import re
import struct
import sys
import zipfile
from pathlib import Path

from capa_monitor.loading.guard import column_letters

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
{overrides}
</Types>"""
SHEET_CONTENT_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets>{sheets}</sheets>
</workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
{rels}
</Relationships>"""
WORKSHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
{prolog}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
{dimension}<sheetData>{rows}</sheetData>
</worksheet>"""


def cell_xml(ref: str, value: object) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def rows_xml(rows: list[list[object]], first_row: int = 1) -> str:
    """Rows of values from A1 down (None leaves a cell out)."""
    out = []
    for offset, values in enumerate(rows):
        number = first_row + offset
        cells = "".join(
            cell_xml(f"{column_letters(i + 1)}{number}", v) for i, v in enumerate(values) if v is not None
        )
        out.append(f'<row r="{number}">{cells}</row>')
    return "".join(out)


def worksheet_xml(sheet_data: str, *, dimension: str | None = None, prolog: str = "") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return WORKSHEET.format(prolog=prolog, dimension=dim, rows=sheet_data)


def raw_xlsx(
    sheets: dict[str, str],
    *,
    extra_parts: dict[str, bytes] | None = None,
    replace_parts: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A minimal xlsx from sheet name → worksheet XML, written part by part (no openpyxl)."""
    buffer = io.BytesIO()
    names = list(sheets)
    replace_parts = replace_parts or {}

    class _Archive(zipfile.ZipFile):
        def writestr(self, name, data, *args, **kwargs):  # lets a case swap one standard part
            return super().writestr(name, replace_parts.get(name, data), *args, **kwargs)

    with _Archive(buffer, "w", compression) as archive:
        overrides = "".join(SHEET_CONTENT_TYPE.format(n=i + 1) for i in range(len(names)))
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(overrides=overrides))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr(
            "xl/workbook.xml",
            WORKBOOK.format(
                sheets="".join(
                    f'<sheet name="{name}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                    for i, name in enumerate(names)
                )
            ),
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            WORKBOOK_RELS.format(
                rels="".join(
                    f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/'
                    f'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                    for i in range(len(names))
                )
            ),
        )
        for i, name in enumerate(names):
            archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", sheets[name])
        for part, content in (extra_parts or {}).items():
            archive.writestr(part, content)
    return buffer.getvalue()


def simple_xlsx(rows: list[list[object]], *, sheet: str = "Activity") -> bytes:
    return raw_xlsx({sheet: worksheet_xml(rows_xml(rows))})


def openpyxl_xlsx(rows: list[list[object]], *, sheet: str = "Activity") -> bytes:
    """A workbook as Excel-like tools write it (styles, shared strings), for realistic cases."""
    import openpyxl

    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ACTIVITY_ROWS = [
    ["Appt Date", "Clinician", "Appointment type", "Outcome"],
    ["03/07/2026", "Smith, Jane", "Choice", "Attended"],
    ["04/07/2026", "O'Neill, Aoife", "Partnership", "DNA"],
]

# --- hostile workbooks ---


def billion_laughs_xlsx() -> bytes:
    """Nested internal entities: ten levels of ten make 10^9 'lol's from a few hundred bytes."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    prolog = f"<!DOCTYPE worksheet [{''.join(entities)}]>\n"
    sheet = worksheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=prolog)
    return raw_xlsx({"Activity": sheet})


def external_entity_xlsx() -> bytes:
    """An entity that asks the reader to fetch a local file into the workbook (XXE)."""
    workbook = WORKBOOK.format(sheets='<sheet name="&xxe;" sheetId="1" r:id="rId1"/>')
    workbook = workbook.replace(
        "<workbook ", '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<workbook ', 1
    )
    return raw_xlsx(
        {"Activity": worksheet_xml(rows_xml(ACTIVITY_ROWS))},
        replace_parts={"xl/workbook.xml": workbook.encode()},
    )


def zip_bomb_xlsx(padding_bytes: int = 64 * 1024 * 1024) -> bytes:
    """A sheet padded with whitespace: deflate packs 64 MiB of spaces into about 64 KB."""
    padding = " " * padding_bytes
    sheet = worksheet_xml(rows_xml(ACTIVITY_ROWS)).replace("<sheetData>", padding + "<sheetData>")
    return raw_xlsx({"Activity": sheet})


def corner_cell_bomb_xlsx(*, declare_dimension: bool = True) -> bytes:
    """One cell at A1 and one at XFD1048576: calamine allocates all 17 billion cells between."""
    cells = '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    dimension = "A1:XFD1048576" if declare_dimension else None
    return raw_xlsx({"Activity": worksheet_xml(cells, dimension=dimension)})


def declared_dimension_bomb_xlsx() -> bytes:
    """Small data but a <dimension> claiming the whole grid."""
    return raw_xlsx({"Activity": worksheet_xml(rows_xml(ACTIVITY_ROWS), dimension="A1:XFD1048576")})


def long_sheet_xlsx(rows: int, *, numbered: bool = True) -> bytes:
    """`rows` data rows under a header; unnumbered rows make the parser count them itself."""
    data = [ACTIVITY_ROWS[0]] + [ACTIVITY_ROWS[1 + n % 2] for n in range(rows)]
    xml = rows_xml(data)
    if not numbered:
        xml = re.sub(r'<row r="\d+">', "<row>", xml)
        xml = re.sub(r'<c r="[A-Z]+\d+"', "<c", xml)
    return raw_xlsx({"Activity": worksheet_xml(xml)})


def macro_xlsm() -> bytes:
    return raw_xlsx(
        {"Activity": worksheet_xml(rows_xml(ACTIVITY_ROWS))},
        extra_parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(508)},
    )


def truncated_xlsx() -> bytes:
    """A real workbook cut off half-way, as an interrupted download leaves it."""
    whole = openpyxl_xlsx(ACTIVITY_ROWS)
    return whole[: len(whole) // 2]


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("activity/export.csv", "Appt Date,Clinician\n03/07/2026,Jane Smith\n")
        archive.writestr("readme.txt", "Monthly export")
    return buffer.getvalue()


def word_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


# --- OLE2 compound files (legacy .xls, password-protected .xlsx) ---

CFB_FREE = 0xFFFFFFFF
CFB_END_OF_CHAIN = 0xFFFFFFFE
CFB_FAT_SECTOR = 0xFFFFFFFD
CFB_NO_STREAM = 0xFFFFFFFF


def _cfb_directory_entry(name: str, kind: int, *, child: int = CFB_NO_STREAM,
                         right: int = CFB_NO_STREAM, start: int = CFB_END_OF_CHAIN, size: int = 0) -> bytes:
    """One 128-byte directory entry (MS-CFB 2.6): UTF-16 name, type, red-black links, stream."""
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, colour black
        + struct.pack("<III", CFB_NO_STREAM, right, child)  # left sibling, right sibling, child
        + bytes(16 + 4 + 16)  # CLSID, state bits, creation and modified times
        + struct.pack("<IQ", start, size)
    )


def ole2_file(stream_names: list[str]) -> bytes:
    """A version-3 compound file: header, one FAT sector, one directory sector, one data sector.

    Streams are tiny and empty here; what matters to the guard (and to Excel) is the container
    signature and the names in the directory: "EncryptionInfo" + "EncryptedPackage" is how Office
    stores a password-protected .xlsx, "Workbook" is a legacy .xls.
    """
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)  # CLSID
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)  # minor, major, byte order, sector shifts
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, CFB_END_OF_CHAIN, 0, CFB_END_OF_CHAIN, 0)
    )  # dir sectors, FAT sectors, first dir sector, txn, mini cutoff, mini FAT start/count, DIFAT start/count
    header += struct.pack("<I", 0) + struct.pack("<I", CFB_FREE) * 108  # DIFAT: FAT in sector 0
    fat = struct.pack("<III", CFB_FAT_SECTOR, CFB_END_OF_CHAIN, CFB_END_OF_CHAIN)
    fat += struct.pack("<I", CFB_FREE) * (128 - 3)
    entries = [_cfb_directory_entry("Root Entry", 5, child=1 if stream_names else CFB_NO_STREAM)]
    for i, name in enumerate(stream_names):
        right = i + 2 if i + 1 < len(stream_names) else CFB_NO_STREAM
        entries.append(_cfb_directory_entry(name, 2, right=right, start=2, size=0))
    directory = b"".join(entries).ljust(512, b"\0")
    return header + fat + directory + bytes(512)


def password_protected_xlsx() -> bytes:
    return ole2_file(["EncryptionInfo", "EncryptedPackage"])


def legacy_xls() -> bytes:
    return ole2_file(["Workbook"])


# --- not spreadsheets at all ---

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html>\n<html><body><table><tr><td>Appt Date</td></tr></table></body></html>\n"
PLAIN_TEXT = b"Appointments for July\nJane Smith saw 12 clients\n"


# --- CSV ---

CSV_ACTIVITY_TEXT = "Appt Date,Clinician,Appointment type,Outcome\n03/07/2026,Ó Briain,Choice,Attended\n"


def binary_junk(size: int = 4096, seed: int = 6) -> bytes:
    return random.Random(seed).randbytes(size)


def csv_with_nul_bytes() -> bytes:
    return CSV_ACTIVITY_TEXT.replace("Ó Briain", "Jane\0Smith").encode("utf-8")


def no_recognisable_columns_csv() -> bytes:
    return b"Fruit,Colour,Weight\nApple,Red,120\nPear,Green,140\n"


def build_corpus() -> dict[str, bytes]:
    """File name → bytes of every hostile or awkward upload of issue 6."""
    return {
        "billion_laughs.xlsx": billion_laughs_xlsx(),
        "external_entity.xlsx": external_entity_xlsx(),
        "zip_bomb.xlsx": zip_bomb_xlsx(),
        "corner_cell_bomb.xlsx": corner_cell_bomb_xlsx(),
        "corner_cell_undeclared.xlsx": corner_cell_bomb_xlsx(declare_dimension=False),
        "declared_dimension_bomb.xlsx": declared_dimension_bomb_xlsx(),
        "too_many_rows.xlsx": long_sheet_xlsx(50),
        "macros.xlsm": macro_xlsm(),
        "truncated.xlsx": truncated_xlsx(),
        "password_protected.xlsx": password_protected_xlsx(),
        "legacy.xls": legacy_xls(),
        "pdf_renamed.xlsx": PDF,
        "html_renamed.xlsx": HTML,
        "text_renamed.xlsx": PLAIN_TEXT,
        "plain_zip_renamed.xlsx": plain_zip(),
        "word_renamed.xlsx": word_docx(),
        "empty.csv": b"",
        "utf16.csv": CSV_ACTIVITY_TEXT.encode("utf-16"),
        "windows1252.csv": CSV_ACTIVITY_TEXT.encode("cp1252"),
        "binary_junk.csv": binary_junk(),
        "nul_bytes.csv": csv_with_nul_bytes(),
        "no_recognisable_columns.csv": no_recognisable_columns_csv(),
    }


if __name__ == "__main__":  # pragma: no cover - a convenience for trying files by hand
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    target.mkdir(parents=True, exist_ok=True)
    for name, content in build_corpus().items():
        (target / name).write_bytes(content)
    print(f"wrote {len(build_corpus())} files to {target}")
