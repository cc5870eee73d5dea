"""Checks on the raw bytes of an upload before any parser sees them (issue 6).

A 5 KB workbook declaring a cell at XFD1048576 makes calamine abort the whole process and
openpyxl run out of memory; a small ZIP can unpack to gigabytes. Everything here reads only the
ZIP directory and streams the XML with bounded buffers, so refusing a hostile file is cheap and
reading a good one costs a fraction of the parse. Each refusal is one sentence: what is wrong and
what to do.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from collections.abc import Iterator

import numpy as np

from capa_monitor.errors import LoadError
from capa_monitor.settings import Limits

XLSX = "xlsx"
CSV = "csv"

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# A real workbook has tens of parts; thousands means something built to waste our time.
MAX_ZIP_ENTRIES = 2_000
# Compression ratios are only meaningful once a part is big enough to matter.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
STREAM_CHUNK_BYTES = 4 * 1024 * 1024
# Enough overlap between chunks that no cell reference or declaration is split unseen.
CHUNK_OVERLAP_BYTES = 64
# The head of a part read before parsing starts: a DTD can only come before the root element,
# and a worksheet's <dimension> is its second child.
HEAD_BYTES = 64 * 1024
DENSITY_SAMPLE_BYTES = 64 * 1024
# Control bytes other than tab, line feed, form feed, carriage return and Ctrl-Z (an old
# end-of-file marker some exports still write).
TEXT_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13, 26}
BINARY_SAMPLE_BYTES = 64 * 1024
BINARY_CONTROL_SHARE = 0.01

_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]*)([0-9]*)(?::([A-Z]*)([0-9]*))?"')
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_EXTERNAL_REFERENCE = re.compile(rb"\b(?:SYSTEM|PUBLIC)\b")
_WORKBOOK_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_RELATIONSHIP = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_RELATIONSHIP_TARGET_FIRST = re.compile(
    rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"'
)


def check_upload(data: bytes, filename: str, limits: Limits) -> str:
    """The kind of file ("xlsx" or "csv") if it is safe to parse, else LoadError saying why."""
    kind = screen_upload(data, filename, limits)
    if kind == XLSX:
        scan_xlsx(data, limits)
    return kind


def screen_upload(data: bytes, filename: str, limits: Limits) -> str:
    """`check_upload` without the pass through the big XML parts (`scan_xlsx`).

    Sizes, ratios, parts, the small XML parts and each sheet's head (declarations, declared
    dimension) cost milliseconds, and settle everything that could hurt the parser's process
    before it starts; the reference scan can then run while the sandboxed child parses.
    """
    if not data:
        raise LoadError("The file is empty (0 bytes); export the report again and upload the saved file.")
    if len(data) > limits.max_upload_bytes:
        raise LoadError(
            f"The file is {_megabytes(len(data))}, more than the {_megabytes(limits.max_upload_bytes)} "
            "upload limit; export a shorter period (for example one quarter) and upload that."
        )
    if data.startswith(ZIP_SIGNATURES):
        screen_xlsx(data, limits)
        return XLSX
    if data.startswith(OLE2_SIGNATURE):
        raise LoadError(_ole2_message(data))
    _refuse_known_non_spreadsheets(data)
    if _named_as_excel(filename):
        raise LoadError(
            f"{base_name(filename)!r} is named as an Excel file but holds plain text; if it is a "
            "CSV export rename it to .csv, otherwise save it from Excel as .xlsx and upload again."
        )
    check_csv(data, limits)
    return CSV


# --- what kind of file ------------------------------------------------------------------------


def _ole2_message(data: bytes) -> str:
    # An encrypted .xlsx is stored as an OLE2 container whose directory names these streams.
    if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
        return (
            "This workbook is password-protected; open it in Excel, remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save it as .xlsx."
        )
    return (
        "This is an old-format Excel file (.xls) or another Office 97-2003 document; open it in "
        "Excel and save it as an Excel Workbook (.xlsx), then upload that."
    )


def _refuse_known_non_spreadsheets(data: bytes) -> None:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        raise LoadError(
            "This is a PDF document, not a spreadsheet; upload the .xlsx or .csv export of the "
            "report instead."
        )
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<head", b"<body")):
        raise LoadError(
            "This is a web page (HTML) saved with a spreadsheet name; open it in Excel and save it "
            "as .xlsx, or export the report again as .xlsx or .csv."
        )
    if head.startswith(b"<?xml"):
        raise LoadError(
            "This is an XML file, not an .xlsx workbook or a CSV; open it in Excel and save it as "
            "an Excel Workbook (.xlsx), then upload that."
        )


def _named_as_excel(filename: str) -> bool:
    return base_name(filename).lower().endswith((".xlsx", ".xlsm", ".xls", ".xlsb"))


def base_name(filename: str) -> str:
    """The file's own name, whether the browser sent a Windows or a POSIX path."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- xlsx -------------------------------------------------------------------------------------


def screen_xlsx(data: bytes, limits: Limits) -> None:
    """ZIP structure, parts, sizes and ratios, small parts in full, big parts' heads."""
    with _open_archive(data) as (archive, entries):
        _check_parts(archive, entries)
        _check_sizes(entries, limits)
        sheet_names = _sheet_names_by_part(archive)
        for entry in _xml_parts(entries):
            if _is_worksheet(entry.filename):
                head = _head(archive, entry)
                _refuse_declarations(head)
                _check_dimension(head, _sheet_name(sheet_names, entry), limits)
            elif _is_big_part(entry):
                _refuse_declarations(_head(archive, entry))
            else:
                _check_no_declarations(archive, entry)


def scan_xlsx(data: bytes, limits: Limits) -> None:
    """The big parts in full: every cell reference and row, declarations anywhere.

    Call after `screen_xlsx` passed (it is what makes opening the archive safe).
    """
    with _open_archive(data) as (archive, entries):
        sheet_names = _sheet_names_by_part(archive)
        for entry in _xml_parts(entries):
            if _is_worksheet(entry.filename):
                _check_worksheet(archive, entry, _sheet_name(sheet_names, entry), limits)
            elif _is_big_part(entry):
                _check_no_declarations(archive, entry)


@contextlib.contextmanager
def _open_archive(data: bytes) -> Iterator[tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise LoadError(_damaged_message()) from exc
    with archive:
        yield archive, entries


def _xml_parts(entries: list[zipfile.ZipInfo]) -> Iterator[zipfile.ZipInfo]:
    for entry in entries:
        if not entry.is_dir() and entry.filename.endswith((".xml", ".rels", ".vml")):
            yield entry


def _is_big_part(entry: zipfile.ZipInfo) -> bool:
    # Shared strings grow with the data; every other non-sheet part is a few kilobytes.
    return entry.file_size > HEAD_BYTES


def _sheet_name(sheet_names: dict[str, str], entry: zipfile.ZipInfo) -> str:
    return sheet_names.get(entry.filename, entry.filename.rsplit("/", 1)[-1])


def _head(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    """The first HEAD_BYTES of a part: where XML puts any DTD, and a sheet its dimension."""
    try:
        with archive.open(entry) as part:
            return part.read(HEAD_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise LoadError(_damaged_message()) from exc


def _damaged_message() -> str:
    return (
        "The workbook is damaged or incomplete (perhaps cut off while downloading); open it in "
        "Excel, save it again as .xlsx and upload the new copy."
    )


def _check_parts(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    names = {entry.filename for entry in entries}
    lower = {name.lower() for name in names}
    if len(entries) > MAX_ZIP_ENTRIES:
        raise LoadError(
            f"This ZIP file holds {len(entries):,} parts, far more than any Excel workbook; "
            "upload the .xlsx or .csv export itself."
        )
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise LoadError(
            "This ZIP file is encrypted; upload the workbook itself, saved as .xlsx without a password."
        )
    if any(name.endswith("vbaproject.bin") for name in lower):
        raise LoadError(
            "This workbook contains macros (.xlsm); in Excel choose Save As > Excel Workbook "
            "(.xlsx) to save it without them, then upload that."
        )
    if "[content_types].xml" in lower and "xl/workbook.bin" in lower:
        raise LoadError(
            "This is an Excel binary workbook (.xlsb); in Excel choose Save As > Excel Workbook "
            "(.xlsx), then upload that."
        )
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return
    if "word/document.xml" in names:
        raise LoadError("This is a Word document, not a spreadsheet; upload the .xlsx or .csv export instead.")
    if "ppt/presentation.xml" in names:
        raise LoadError("This is a PowerPoint file, not a spreadsheet; upload the .xlsx or .csv export instead.")
    if "mimetype" in names and b"opendocument" in _read_small(archive, "mimetype"):
        raise LoadError(
            "This is an OpenDocument file (.ods); open it and save it as an Excel Workbook "
            "(.xlsx), then upload that."
        )
    raise LoadError(
        "This is a ZIP archive, not an Excel workbook; unzip it and upload the .xlsx or .csv "
        "file inside."
    )


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as part:
        return part.read(256)


def _check_sizes(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise LoadError(
            f"This workbook unpacks to {_megabytes(total)}, more than the "
            f"{_megabytes(limits.max_uncompressed_bytes)} limit; export a shorter period "
            "(for example one quarter) and upload that."
        )
    for entry in entries:
        if entry.file_size > limits.max_entry_uncompressed_bytes:
            raise LoadError(
                f"Part {entry.filename!r} of this workbook unpacks to {_megabytes(entry.file_size)}, "
                f"more than the {_megabytes(limits.max_entry_uncompressed_bytes)} limit; export a "
                "shorter period and upload that."
            )
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= RATIO_CHECK_MIN_BYTES and ratio > limits.max_compression_ratio:
            raise LoadError(
                f"Part {entry.filename!r} of this workbook is compressed {ratio:,.0f} to 1, which "
                "only padding built to exhaust memory does (a 'zip bomb'); save the data from "
                "Excel as a fresh .xlsx and upload that."
            )


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.count("/") == 2


def _sheet_names_by_part(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name → the sheet's name as the user sees it (for messages)."""
    try:
        workbook = _read_checked_part(archive, "xl/workbook.xml")
        rels = _read_checked_part(archive, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {rel_id: target for rel_id, target in _RELATIONSHIP.findall(rels)}
    targets.update({rel_id: target for target, rel_id in _RELATIONSHIP_TARGET_FIRST.findall(rels)})
    names = {}
    for name, rel_id in _WORKBOOK_SHEET.findall(workbook):
        target = targets.get(rel_id, b"").decode("utf-8", "replace")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        names[part] = _xml_unescape(name.decode("utf-8", "replace"))
    return names


def _read_checked_part(archive: zipfile.ZipFile, name: str) -> bytes:
    entry = archive.getinfo(name)
    _check_no_declarations(archive, entry)
    with archive.open(entry) as part:
        return part.read()


def _xml_unescape(text: str) -> str:
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(escaped, plain)
    return text


def _stream(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes in bounded chunks, each starting with the tail of the previous one.

    zipfile stops at the size the directory declares, so a lying header cannot make this read more.
    """
    tail = b""
    try:
        with archive.open(entry) as part:
            while chunk := part.read(STREAM_CHUNK_BYTES):
                yield tail + chunk
                tail = chunk[-CHUNK_OVERLAP_BYTES:]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise LoadError(_damaged_message()) from exc


def _refuse_declarations(chunk: bytes) -> None:
    # "!" is rare in sheet XML and a one-byte search runs at memory speed; "<!" is not.
    if b"!" not in chunk:
        return
    found = _DECLARATION.search(chunk)
    if not found:
        return
    if _EXTERNAL_REFERENCE.search(chunk, found.start(), found.start() + 4096):
        raise LoadError(
            "This workbook's XML refers to outside files (an external entity), which Excel never "
            "writes and attackers use to read a server's files; open it in Excel and save it "
            "again as .xlsx."
        )
    raise LoadError(
        "This workbook's XML declares entities (a DTD), which Excel never writes and which can "
        "expand to billions of characters; open it in Excel and save it again as .xlsx."
    )


def _check_no_declarations(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    for chunk in _stream(archive, entry):
        _refuse_declarations(chunk)


def _check_worksheet(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, sheet: str, limits: Limits
) -> None:
    """Declared dimension and every cell/row reference actually present, against the limits."""
    beyond_limits = _reference_beyond_limits(limits)
    suspect_shapes = _suspect_reference_shapes(limits)
    implicit_rows = 0
    first = True
    for chunk in _stream(archive, entry):
        _refuse_declarations(chunk)
        if first:
            _check_dimension(chunk, sheet, limits)
            first = False
        # Rows may omit their number: then the parser counts them, so count them too. The
        # overlap can repeat at most one "<row" per chunk, and "<rowBreaks" counts as one too:
        # both only make the check stricter.
        implicit_rows += chunk.count(b"<row")
        # When cells carry their own references (Excel always writes them) the regex would stop
        # at every one; first look for the shapes an out-of-bounds reference must have.
        if _cells_carry_references(chunk) and not _has_suspect_shape(chunk, suspect_shapes):
            continue
        for found in beyond_limits.finditer(chunk):
            # The pattern has no leading \b so the regex engine can jump between literal `r="`
            # (three times faster); an attribute that merely ends in "r" is skipped here instead.
            if found.start() > 0 and chunk[found.start() - 1] in b" \t\r\n":
                _refuse_reference(found.group(1).decode("ascii"), sheet, limits)
    if implicit_rows > limits.max_rows:
        _refuse_rows(implicit_rows, sheet, limits)


def _check_dimension(chunk: bytes, sheet: str, limits: Limits) -> None:
    found = _DIMENSION.search(chunk)
    if not found:
        return
    start_col, start_row, end_col, end_row = (g.decode("ascii") if g else "" for g in found.groups())
    column = end_col or start_col
    row = end_row or start_row
    if column and column_number(column) > limits.max_columns:
        _refuse_columns(column, sheet, limits, declared=True)
    if row and int(row) > limits.max_rows:
        _refuse_rows(int(row), sheet, limits, declared=True)


def _refuse_reference(ref: str, sheet: str, limits: Limits) -> None:
    letters = ref.rstrip("0123456789")
    if letters and column_number(letters) > limits.max_columns:
        _refuse_columns(letters, sheet, limits, declared=False)
    raise LoadError(
        f"Sheet {sheet!r} has more than {limits.max_rows:,} rows (it has a cell in row "
        f"{int(ref[len(letters):]):,}), which is over the row limit; export a shorter period "
        "(for example one quarter), or delete the empty rows below the data, and upload again."
    )


def _refuse_columns(letters: str, sheet: str, limits: Limits, *, declared: bool) -> None:
    what = "declares cells out to" if declared else "has a cell in"
    raise LoadError(
        f"Sheet {sheet!r} {what} column {letters} ({column_number(letters):,} columns), more than "
        f"the {limits.max_columns:,} columns CAPA Monitor reads; delete the unused columns to the "
        "right of the data in Excel, save and upload again."
    )


def _refuse_rows(rows: int, sheet: str, limits: Limits, *, declared: bool = False) -> None:
    what = "declares" if declared else "has"
    raise LoadError(
        f"Sheet {sheet!r} {what} {rows:,} rows, more than the {limits.max_rows:,}-row limit; "
        "export a shorter period (for example one quarter), or delete the empty rows below the "
        "data, and upload again."
    )


def column_number(letters: str) -> int:
    """A → 1, Z → 26, AA → 27, XFD → 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def column_letters(number: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 16384 → XFD."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _reference_beyond_limits(limits: Limits) -> re.Pattern[bytes]:
    """A regex finding any `r="…"` reference past the column or row limit, without parsing.

    Scanning for the rare offending reference keeps the pass at memory speed; collecting every
    reference to take a maximum would cost seconds on a year of activity.
    """
    columns = _greater_than(column_letters(limits.max_columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    rows = _greater_than(str(limits.max_rows), "0123456789")
    return re.compile(
        rb'r="((?:' + columns.encode() + rb')[0-9]+|[A-Z]*(?:' + rows.encode() + rb'))"'
    )


# Capital letters → "A" and digits → "0": a reference's shape, found by plain substring search.
_SHAPES = bytes(
    ord("A") if 65 <= code <= 90 else ord("0") if 48 <= code <= 57 else code for code in range(256)
)


def _suspect_reference_shapes(limits: Limits) -> tuple[bytes, ...]:
    """Shapes every reference beyond the limits contains: at least as many column letters as
    the last column allowed, or at least as many row digits as the row limit."""
    letters = len(column_letters(limits.max_columns))
    digits = len(str(limits.max_rows))
    return (b'"' + b"A" * letters, b"A" + b"0" * digits, b'"' + b"0" * digits)


def _cells_carry_references(chunk: bytes) -> bool:
    """More `r="` than rows account for, judged on the chunk's start (only speed depends on it)."""
    sample = DENSITY_SAMPLE_BYTES
    return chunk.count(b'r="', 0, sample) > 2 * chunk.count(b"<row", 0, sample) + 16


def _has_suspect_shape(chunk: bytes, shapes: tuple[bytes, ...]) -> bool:
    shaped = chunk.translate(_SHAPES)
    return any(shape in shaped for shape in shapes)


def _greater_than(bound: str, alphabet: str) -> str:
    """Regex for strings over `alphabet` (no leading lowest symbol for digits) greater than bound.

    Longer strings are greater; among strings of the same length, compare symbol by symbol.
    """
    low, high = alphabet[0], alphabet[-1]
    symbol = f"[{low}-{high}]"
    lead = f"[{alphabet[1]}-{high}]" if alphabet[0] == "0" else symbol
    options = [f"{lead}{symbol}{{{len(bound)},}}"]
    for i, char in enumerate(bound):
        if char == high:
            continue
        bigger = alphabet[alphabet.index(char) + 1]
        options.append(f"{re.escape(bound[:i])}[{bigger}-{high}]{symbol}{{{len(bound) - i - 1}}}")
    return "|".join(options)


# --- csv --------------------------------------------------------------------------------------


def check_csv(data: bytes, limits: Limits) -> None:
    """Text, not binary; no NUL bytes; a known encoding; row and field counts within limits."""
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise _nul_error()
    rows = text.count("\n") + (0 if text.endswith("\n") else 1)
    if rows > limits.max_rows:
        raise LoadError(
            f"This CSV file has {rows:,} lines, more than the {limits.max_rows:,}-row limit; "
            "export a shorter period (for example one quarter) and upload that."
        )
    longest = _field_over_limit(data, text, encoding, limits.max_field_chars)
    if longest is not None:
        raise LoadError(
            f"This CSV file has a field of {longest:,} characters, more than the "
            f"{limits.max_field_chars:,} a spreadsheet cell can hold; check that it is really a "
            "CSV export and export it again."
        )


def decode_text(data: bytes) -> tuple[str, str]:
    """Text and its encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Strict decoding, so a file is never read with silent replacement characters.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        _refuse_binary(data)
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise LoadError(
        "This CSV file is not in a text encoding CAPA Monitor can read (UTF-8, UTF-16 or "
        "Windows-1252); save it from Excel as 'CSV UTF-8' and upload that."
    )


def _refuse_binary(data: bytes) -> None:
    sample = np.frombuffer(data[:BINARY_SAMPLE_BYTES], dtype=np.uint8)
    zeros = sample == 0
    # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
    if sample.size >= 8 and (zeros[1::2].mean() > 0.9 or zeros[0::2].mean() > 0.9):
        raise LoadError(
            "This CSV file looks like UTF-16 text without a byte-order mark; save it from Excel as "
            "'CSV UTF-8' and upload that."
        )
    # NUL is left out here: a text export with a stray NUL gets its own message below.
    control = np.isin(sample, np.fromiter(TEXT_CONTROL_BYTES - {0}, dtype=np.uint8))
    if sample.size and control.mean() > BINARY_CONTROL_SHARE:
        raise LoadError(
            "This file is binary data, not a text CSV or an Excel workbook; upload the .xlsx or "
            ".csv export of the report."
        )
    if b"\x00" in data:
        raise _nul_error()


def _nul_error() -> LoadError:
    return LoadError(
        "This CSV file contains NUL (zero) bytes, so it is not a plain text export; export the "
        "report again as CSV, or upload the .xlsx instead."
    )


def _field_over_limit(data: bytes, text: str, encoding: str, limit: int) -> int | None:
    """Length of a field longer than `limit` characters, if any; None when every field fits.

    Fields are runs between any of , ; tab and newline. Works on bytes (separators are single
    bytes in UTF-8 and Windows-1252), where a run's byte length bounds its character length, so
    only runs whose bytes exceed the limit are decoded and counted exactly.
    """
    raw = data if encoding in ("utf-8", "cp1252") else text.encode("utf-8")
    codec = encoding if raw is data else "utf-8"
    codes = np.frombuffer(raw, dtype=np.uint8)
    separators = np.flatnonzero(np.isin(codes, np.frombuffer(b",;\t\n", dtype=np.uint8)))
    bounds = np.concatenate(([-1], separators, [codes.size]))
    for at in np.flatnonzero(np.diff(bounds) - 1 > limit):
        length = len(raw[int(bounds[at]) + 1 : int(bounds[at + 1])].decode(codec, "ignore"))
        if length > limit:
            return length
    return None
