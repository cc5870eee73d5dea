"""Builds the hostile and broken uploads of issue 6 from code, so no binary is ever committed.

`python tests/hostile_corpus.py DIR` writes every file into DIR (to try them by hand with
`python -m capa_monitor inspect`); the tests call `build_corpus()` / the builders directly.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

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


def column_letters(number: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 16384 → XFD."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A minimal xlsx from sheet name → worksheet XML, written part by part (no openpyxl)."""
    buffer = io.BytesIO()
    names = list(sheets)
    with zipfile.ZipFile(buffer, "w", compression) as archive:
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


if __name__ == "__main__":  # pragma: no cover - a convenience for trying files by hand
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    target.mkdir(parents=True, exist_ok=True)
