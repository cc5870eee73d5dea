"""Uploaded bytes → raw text tables, every cell as the text a person would read in the sheet.

Nothing here guesses what a column means: the header finder and the normaliser do that. Keeping
every cell as text first is what keeps ids like `0012345` and NHS numbers in their form.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capa_monitor.errors import LoadError
from capa_monitor.settings import Limits


@dataclass(frozen=True)
class RawSheet:
    name: str
    cells: pd.DataFrame  # every column dtype "str" (missing = NaN), columns 0..n-1,
    # index 0..m-1 = sheet row - 1 (so sheet row number = index + 1)


@dataclass(frozen=True)
class RawWorkbook:
    file_kind: str  # "xlsx" | "csv"
    sheets: tuple[RawSheet, ...]  # workbook order; a CSV is one sheet named after the file
    encoding: str | None  # CSV only: "utf-8", "utf-8-sig", "utf-16", "cp1252"
    sha256: str  # of the uploaded bytes


DEFAULT_LIMITS = Limits()
CSV_DELIMITERS = (",", ";", "\t")
# How many lines the delimiter vote looks at: enough to get past title rows above the header.
DELIMITER_SAMPLE_LINES = 200


def read_upload(
    data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS, sheet: str | None = None
) -> RawWorkbook:
    """Read an uploaded .xlsx or .csv into raw text tables, or raise LoadError saying why not."""
    sha256 = hashlib.sha256(data).hexdigest()
    if data[:4] == b"PK\x03\x04":
        return RawWorkbook("xlsx", read_xlsx_sheets(data, sheet), None, sha256)
    sheet_name, cells, encoding = read_csv_table(data, filename)
    if sheet is not None and sheet != sheet_name:
        raise LoadError(
            f"There is no sheet called {sheet!r}: a CSV file has one table, called {sheet_name!r}."
        )
    return RawWorkbook("csv", (RawSheet(sheet_name, cells),), encoding, sha256)


# --- xlsx -----------------------------------------------------------------------------------


def read_xlsx_sheets(data: bytes, sheet: str | None) -> tuple[RawSheet, ...]:
    """All sheets in workbook order, or just the named one."""
    import fastexcel  # imported here so CSV-only callers never load the Rust extension

    reader = fastexcel.read_excel(data)
    names = list(reader.sheet_names)
    if sheet is not None:
        if sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise LoadError(
                f"There is no sheet called {sheet!r} in this workbook; its sheets are {listed}."
            )
        names = [sheet]
    return tuple(RawSheet(name, _xlsx_sheet_cells(reader, name)) for name in names)


def _xlsx_sheet_cells(reader, name: str) -> pd.DataFrame:
    # dtypes="string" for ALL columns: fastexcel otherwise guesses a column's type from its first
    # 1,000 rows and silently blanks later values that do not fit. skip_rows=0 keeps leading blank
    # rows so that the frame index stays "sheet row - 1".
    loaded = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
    columns = loaded.available_columns()
    if not columns:
        return _empty_cells()
    table = loaded.to_arrow()
    frame = table.to_pandas()
    frame.columns = range(frame.shape[1])
    # calamine starts the table at the first used column; pad so that column 0 is sheet column A.
    first_column = columns[0].absolute_index
    if first_column:
        padding = pd.DataFrame(
            {i: pd.Series(np.nan, index=frame.index, dtype="str") for i in range(first_column)}
        )
        frame = pd.concat([padding, frame.set_axis(range(first_column, first_column + frame.shape[1]), axis=1)], axis=1)
    return frame.apply(_excel_text).astype("str")


def _excel_text(column: pd.Series) -> pd.Series:
    """fastexcel's text for date cells → ISO dates; time-only cells → HH:MM:SS; TRUE/FALSE."""
    column = column.astype("str")
    midnight = column.str.endswith(" 00:00:00", na=False)
    if midnight.any():
        is_date = midnight & column.str.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00", na=False)
        column = column.where(~is_date, column.str.slice(0, 10))
    # Excel keeps a time-only cell as a fraction of a day; calamine renders it on its epoch day.
    epoch_day = column.str.startswith("1899-12-3", na=False)
    if epoch_day.any():
        is_time = epoch_day & column.str.fullmatch(r"1899-12-3[01] \d\d:\d\d:\d\d", na=False)
        column = column.where(~is_time, column.str.slice(11))
    booleans = column.isin(["true", "false"])
    if booleans.any():
        column = column.where(~booleans, column.str.upper())
    return column


def _empty_cells() -> pd.DataFrame:
    return pd.DataFrame({0: pd.Series([], dtype="str")})


# --- csv ------------------------------------------------------------------------------------


def read_csv_table(data: bytes, filename: str) -> tuple[str, pd.DataFrame, str]:
    """(sheet name, cells, encoding) of a delimited text file."""
    text, encoding = decode_csv(data)
    utf8 = text.encode("utf-8")
    delimiter = detect_delimiter(text)
    width = _max_fields(utf8, delimiter)
    cells = pd.read_csv(
        io.BytesIO(utf8),
        sep=delimiter,
        header=None,
        names=range(width),
        dtype="str",
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        encoding="utf-8",
        engine="c",
    )
    cells = _drop_trailing_blank_columns(cells.astype("str"))
    return _csv_sheet_name(filename), cells.reset_index(drop=True), encoding


def decode_csv(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in. Strict decoding: never a silent replacement character."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise LoadError(
        "This CSV file is not in a text encoding CAPA Monitor can read (UTF-8, UTF-16 or "
        "Windows-1252); save it again as 'CSV UTF-8' and upload that."
    )


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the most sample lines into the same number of fields."""
    sample_lines = text[: 1 << 20].splitlines()[:DELIMITER_SAMPLE_LINES]
    sample = "\n".join(sample_lines)
    best, best_score = ",", 0
    for delimiter in CSV_DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter)]
        widths = [w for w in widths if w > 1]
        if not widths:
            continue
        values, counts = np.unique(widths, return_counts=True)
        # Agreement (lines sharing the commonest width) weighted by how many fields it gives.
        score = int(counts.max()) * int(values[counts.argmax()])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _max_fields(utf8: bytes, delimiter: str) -> int:
    """An upper bound on the fields in any line (quoted delimiters count too: trimmed later)."""
    raw = np.frombuffer(utf8, dtype=np.uint8)
    if raw.size == 0:
        return 1
    newline_at = np.flatnonzero(raw == ord("\n"))
    running = np.cumsum(raw == ord(delimiter), dtype=np.int64)
    line_ends = np.append(newline_at, raw.size - 1)
    per_line = np.diff(np.concatenate(([0], running[line_ends])))
    return int(per_line.max()) + 1


def _drop_trailing_blank_columns(cells: pd.DataFrame) -> pd.DataFrame:
    used = cells.notna().any(axis=0).to_numpy()
    last = int(np.flatnonzero(used).max()) + 1 if used.any() else 1
    return cells.iloc[:, :last]


def _csv_sheet_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem or "CSV"
