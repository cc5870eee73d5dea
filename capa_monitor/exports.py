"""The shortfall list download (domain spec §6) as XLSX and CSV, safe to open in Excel.

Managers take it into supervision and job-plan reviews, so it says which quarter, as-of date,
teams and rules produced it. Data from an export can hold anything, so every text cell is
neutralised against formula injection (OWASP: a cell starting `= + - @`, tab or CR gets a
leading `'`) and, in the XLSX, is also stored with the string type so no formula can appear.
Control characters XML cannot hold become spaces. No client identifier is written: only
clinicians, slots by date, time and the export's own id, and evidence in words. Statuses,
kinds and outcomes are in the same words as on the pages (metrics.words).

CSV layout (one file, so it opens with a double click): a short "about" block, a blank line,
then "Part 1" — a title row, its header row and the clinicians; a blank line; "Part 2" — a
title row, its header row and the slots; a blank line; "Part 3" (§8 L2) — the clinicians short
of next quarter's new Core Partnership slots in the diary. UTF-8 with a byte-order mark so
Excel shows accents.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from capa_monitor.metrics import words
from capa_monitor.metrics.reoffer import NOT_REOFFERED

if TYPE_CHECKING:
    from capa_monitor.metrics.review import Review

#: First characters that make a spreadsheet program read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PART1_TITLE = "Part 1: clinicians behind, slightly behind or with no target"
PART2_TITLE = "Part 2: lost slots not re-offered"
PART3_TITLE = "Part 3: next quarter's diary: clinicians short of new Core Partnership slots"

#: Part 1 columns: header -> clinicians-frame column.
CLINICIAN_HEADERS: dict[str, str] = {
    "Team": "team",
    "Clinician": "clinician",
    "Status": "status",
    "Why": "status_reason",
    "Also in": "also_in",
    "Target (quarter)": "target",
    "Expected to date": "expected_to_date",
    "Delivered": "delivered",
    "Shortfall": "shortfall",
    "Lost slots": "lost",
    "Not re-offered": "not_reoffered",
    "Pending": "pending",
    "Start / leaving": "availability",
    "Leaving date": "leaving_date",
}
#: Part 2 columns: header -> lost-slots-frame column.
SLOT_HEADERS: dict[str, str] = {
    "Team": "team",
    "Clinician": "clinician",
    "Date": "date",
    "Time": "start",
    "Type": "kind",
    "Outcome": "outcome",
    "Slot id (export)": "export_slot_id",
    "Evidence": "evidence",
}
#: Part 3 columns: header -> next_diary.clinicians column.
DIARY_HEADERS: dict[str, str] = {
    "Team": "team",
    "Clinician": "clinician",
    "Target (next quarter)": "next_target",
    "In the diary": "in_diary",
    "Slots missing": "slots_missing",
    "Diary": "diary_words",
}
FLAGGED_STATUSES = ("red", "amber", "no_target")
#: Numbers shown rounded (they stay exact in the workbook cell; only the format rounds).
DECIMAL_HEADERS = ("Target (quarter)", "Expected to date", "Shortfall",
                   "Target (next quarter)")

AS_OF_SOURCES = {
    "given": "chosen by the user",
    "data": "latest attended or missed appointment in the data",
    "no data": "no attended or missed appointment yet: the quarter's end",
}

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
_DATE_FORMAT = "dd mmm yyyy"


def safe_text(value: Any) -> str:
    """Text for a spreadsheet cell that no program will run as a formula and that XML can hold;
    missing → ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    # Exports carry stray control characters (form feed, Ctrl-Z…) that XML 1.0 cannot hold:
    # openpyxl refuses the whole workbook for one of them, so each becomes a space.
    text = ILLEGAL_CHARACTERS_RE.sub(" ", str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def shortfall_tables(review: Review) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Part 1 clinicians, Part 2 slots) with the download's headers; no client identifiers."""
    clinicians = review.clinicians
    flagged = clinicians[clinicians["status"].isin(FLAGGED_STATUSES)].copy()
    flagged["_order"] = flagged["status"].map({s: i for i, s in enumerate(FLAGGED_STATUSES)})
    flagged = flagged.sort_values(
        ["team", "_order", "shortfall", "clinician"],
        ascending=[True, True, False, True],
        na_position="last",
        kind="stable",
    )
    part1 = pd.DataFrame({header: flagged[column] for header, column in CLINICIAN_HEADERS.items()})
    part1["Status"] = words.words(part1["Status"], words.STATUS_WORDS)

    lost = review.lost_slots
    missed = lost[lost["status"] == NOT_REOFFERED].sort_values(
        ["team", "clinician", "date", "slot_id"], kind="stable"
    )
    part2 = pd.DataFrame({header: missed[column] for header, column in SLOT_HEADERS.items()})
    part2["Type"] = words.words(part2["Type"], words.KIND_WORDS)
    part2["Outcome"] = words.words(part2["Outcome"], words.OUTCOME_WORDS)
    return part1.reset_index(drop=True), part2.reset_index(drop=True)


def diary_table(review: Review) -> pd.DataFrame:
    """Part 3 (§8 L2): the clinicians flagged short of next quarter's slots, with the headers
    of the download; empty before the diary is checked or once the next quarter has begun."""
    diary = review.next_diary
    flagged = diary.flagged if diary is not None else pd.DataFrame(columns=list(DIARY_HEADERS.values()))
    return pd.DataFrame({header: flagged[column] for header, column in DIARY_HEADERS.items()}
                        ).reset_index(drop=True)


def _diary_about(review: Review) -> str:
    diary = review.next_diary
    if diary is None:
        return "none: the next quarter has begun"
    if diary.checked:
        return f"{diary.quarter.label}, checked from {diary.ready_at:%d %b %Y}"
    return f"{diary.quarter.label}, not checked yet: from {diary.ready_at:%d %b %Y}"


def about_rows(review: Review, generated_at: datetime) -> list[tuple[str, Any]]:
    """What produced the list: quarter, as-of date, teams, when, and every rule setting."""
    rows: list[tuple[str, Any]] = [
        ("Quarter", review.quarter.label),
        ("As of", review.as_of),
        ("As-of date from", AS_OF_SOURCES.get(review.as_of_source, review.as_of_source)),
        ("Teams", review.teams_label),
        ("Generated at", generated_at.replace(microsecond=0)),
        ("Clinicians listed", "status "
         + ", ".join(words.STATUS_WORDS[s] for s in FLAGGED_STATUSES[:-1])
         + f" or {words.STATUS_WORDS[FLAGGED_STATUSES[-1]]}"),
        ("Slots listed", "lost in the quarter up to the as-of date and not re-offered"),
        ("Next quarter's diary", _diary_about(review)),
    ]
    for name, value in review.settings.to_dict().items():
        if name == "limits":
            continue  # upload limits are not rules of the review
        shown = ", ".join(str(v) for v in value) if isinstance(value, (tuple, list)) else value
        rows.append((f"Setting: {name}", "" if shown is None else shown))
    return rows


def shortfall_csv(review: Review, *, generated_at: datetime | None = None) -> bytes:
    """Both parts in one CSV, one after the other (see the module docstring)."""
    generated_at = generated_at or datetime.now()
    part1, part2 = shortfall_tables(review)
    part3 = diary_table(review)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text("CAPA Monitor shortfall list")])
    for label, value in about_rows(review, generated_at):
        writer.writerow([safe_text(label), _csv_value(value)])
    for title, table in ((PART1_TITLE, part1), (PART2_TITLE, part2), (PART3_TITLE, part3)):
        writer.writerow([])
        writer.writerow([safe_text(title)])
        writer.writerow([safe_text(h) for h in table.columns])
        for row in table.itertuples(index=False):
            writer.writerow([_csv_value(v, h) for v, h in zip(row, table.columns, strict=True)])
        if table.empty:
            writer.writerow([safe_text("(none)")])
    return out.getvalue().encode("utf-8-sig")


def shortfall_xlsx(review: Review, *, generated_at: datetime | None = None) -> bytes:
    """Front sheet "About", then a sheet per part, styled for reading and printing."""
    generated_at = generated_at or datetime.now()
    part1, part2 = shortfall_tables(review)
    part3 = diary_table(review)
    book = Workbook()
    about = book.active
    about.title = "About"
    about.append(["CAPA Monitor shortfall list"])
    about["A1"].font = Font(bold=True, size=14)
    for offset, (label, value) in enumerate(about_rows(review, generated_at), start=3):
        _put(about.cell(offset, 1), label)
        about.cell(offset, 1).font = Font(bold=True)
        _put(about.cell(offset, 2), value)
    about.column_dimensions["A"].width = 36
    about.column_dimensions["B"].width = 60

    for title, table, sheet_name in (
        (PART1_TITLE, part1, "Below target"),
        (PART2_TITLE, part2, "Not re-offered"),
        (PART3_TITLE, part3, "Next quarter diary"),
    ):
        sheet = book.create_sheet(sheet_name)
        sheet.sheet_properties.tabColor = "005EB8"
        _write_table(sheet, table)
        sheet.oddHeader.center.text = f"{title} - {review.quarter.label}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_table(sheet, table: pd.DataFrame) -> None:
    for col, header in enumerate(table.columns, start=1):
        cell = sheet.cell(1, col)
        _put(cell, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, row in enumerate(table.itertuples(index=False), start=2):
        for col, (value, header) in enumerate(zip(row, table.columns, strict=True), start=1):
            cell = sheet.cell(r, col)
            _put(cell, value)
            if header in DECIMAL_HEADERS:
                cell.number_format = "0.0"
            if header == "Evidence":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    if len(table.columns):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(len(table) + 1, 1)}"
    for col, header in enumerate(table.columns, start=1):
        lengths = [len(str(header))] + [len(_shown(v)) for v in table.iloc[:, col - 1]]
        sheet.column_dimensions[get_column_letter(col)].width = min(max(max(lengths) + 2, 10), 70)


def _put(cell, value: Any) -> None:
    """Dates as real dates, numbers as numbers, everything else as neutralised text."""
    if value is None or value is pd.NaT or value is pd.NA:
        return
    if isinstance(value, date):  # datetime and Timestamp are dates too
        stamp = pd.Timestamp(value)
        if stamp == stamp.normalize():
            cell.value = stamp.date()
            cell.number_format = _DATE_FORMAT
        else:
            cell.value = stamp.to_pydatetime()
            cell.number_format = _DATE_FORMAT + " hh:mm"
        return
    if isinstance(value, bool):
        cell.value = "Yes" if value else "No"
        cell.data_type = "s"
        return
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isnan(value):
            cell.value = value
        return
    if hasattr(value, "item"):  # numpy scalars
        _put(cell, value.item())
        return
    text_cell(cell, value)


def text_cell(cell, value: Any) -> None:
    """An openpyxl cell holding `value` as neutralised text (safe_text), never a formula."""
    text = safe_text(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl would make a formula of any text starting with "="
    if text != str(value):
        cell.quotePrefix = True


def _csv_value(value: Any, header: str | None = None) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, date):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(" ")
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return round(value, 1) if header in DECIMAL_HEADERS else value
    if isinstance(value, int):
        return value
    return safe_text(value)


def _shown(value: Any) -> str:
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.1f}"
    if isinstance(value, date):
        return "00 Mmm 0000"
    return str(value)
