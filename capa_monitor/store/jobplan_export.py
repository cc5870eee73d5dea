"""Job plans back out as an xlsx a manager can edit and import again (`jobplans export`).

Headers are ones the job-plan reader recognises, so export → edit → import round-trips. Text
cells follow the shortfall list's rule (exports.text_cell): no spreadsheet runs them as formulas.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from capa_monitor import model
from capa_monitor.exports import text_cell

HEADERS: dict[str, str] = {
    "clinician": "Clinician Name",
    "team": "Team",
    "fte": "WTE",
    "choice_per_week": "Choice appointments per week",
    "core_sessions": "Core half-days per week",
    "specific_sessions": "Specific half-days per week",
    "nonclinical_sessions": "Non-clinical half-days per week",
    "q1_target": "Q1 target",
    "q2_target": "Q2 target",
    "q3_target": "Q3 target",
    "q4_target": "Q4 target",
    "available_from": "Start date",
    "available_to": "Leaving date",
}
DATE_FORMAT = "dd/mm/yyyy"


def jobplans_xlsx(plans: pd.DataFrame) -> bytes:
    """One sheet "Job plans": a header row, then a row per clinician (model.JOBPLAN_COLUMNS)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Job plans"
    for col, name in enumerate(model.JOBPLAN_COLUMNS, start=1):
        header = sheet.cell(row=1, column=col)
        text_cell(header, HEADERS[name])
        header.font = Font(bold=True)
        sheet.column_dimensions[header.column_letter].width = max(12, len(HEADERS[name]) + 2)
    for row, plan in enumerate(
        plans.loc[:, list(model.JOBPLAN_COLUMNS)].itertuples(index=False), 2
    ):
        for col, (name, value) in enumerate(zip(model.JOBPLAN_COLUMNS, plan, strict=True), 1):
            cell = sheet.cell(row=row, column=col)
            if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
                continue
            if name in model.JOBPLAN_DATE_COLUMNS:
                cell.value = pd.Timestamp(value).date()
                cell.number_format = DATE_FORMAT
            elif name in ("clinician", "team"):
                text_cell(cell, value)
            else:
                cell.value = float(value)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
