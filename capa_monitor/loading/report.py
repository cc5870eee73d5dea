"""What the loader hands on: the canonical frame plus a report of everything it did with the file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class MappingProfile:
    """A saved column mapping, so next month's file of the same shape needs no questions."""

    name: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical column -> source header
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {source: canonical}

    def to_json(self) -> str:
        return json.dumps(
            {"name": self.name, "columns": self.columns, "values": self.values},
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> MappingProfile:
        data = json.loads(text)
        return cls(
            name=str(data.get("name", "profile")),
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            values={
                str(col): {str(k): str(v) for k, v in mapping.items()}
                for col, mapping in data.get("values", {}).items()
            },
        )


@dataclass(frozen=True)
class Rejection:
    """One row the loader could not use, and where and why."""

    sheet: str
    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass
class LoadReport:
    file_name: str
    sha256: str
    sheet: str
    header_row: int
    encoding: str | None
    rows_read: int
    accepted: int
    rejected: list[Rejection] = field(default_factory=list)
    dropped: int = 0
    dropped_detail: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    clinicians: list[str] = field(default_factory=list)
    date_range: tuple[date, date] | None = None
    invalid_nhs_numbers: list[int] = field(default_factory=list)
    blank_past_outcomes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Every non-blank header text of the sheet read, for mapping columns by hand.
    headers: tuple[str, ...] = ()
    #: field -> {"column": header, "by": how found, "confidence": 0..1, "reason": words}
    mapping: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Header texts of the columns no field uses ("(column F, no header)" for a blank one).
    unused_columns: list[str] = field(default_factory=list)
    #: {"read": [sheet names], "skipped": {sheet name: why}}
    sheets: dict[str, Any] = field(default_factory=dict)
    #: Reasons the manager must tick "I have checked" before storing (empty: none).
    doubts: list[str] = field(default_factory=list)
    #: Names against the job plans (loading.plan_names.against_plans), empty until checked:
    #: {"activity_without_plan": [{name, rows, likely, reason}], "plans_without_activity": [...]}
    plan_matches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The `inspect --format json` shape (issue 2)."""
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": [
                {"sheet": r.sheet, "row": r.row, "column": r.column, "value": r.value, "reason": r.reason}
                for r in self.rejected
            ],
            "dropped": self.dropped,
            "dropped_detail": self.dropped_detail,
            "encoding": self.encoding,
            "columns": self.columns,
            "unmapped_values": self.unmapped_values,
            "counts": self.counts,
            "clinicians": self.clinicians,
            "date_range": (
                [self.date_range[0].isoformat(), self.date_range[1].isoformat()]
                if self.date_range
                else None
            ),
            "invalid_nhs_numbers": self.invalid_nhs_numbers,
            "blank_past_outcomes": self.blank_past_outcomes,
            "warnings": self.warnings,
            "mapping": self.mapping,
            "unused_columns": self.unused_columns,
            "sheets": self.sheets,
            "doubts": self.doubts,
            "plan_matches": self.plan_matches,
        }


@dataclass(frozen=True)
class LoadResult:
    frame: pd.DataFrame  # model.ACTIVITY_COLUMNS, typed as model.py documents
    report: LoadReport
