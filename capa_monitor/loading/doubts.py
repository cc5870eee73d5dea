"""Readings a manager must check before storing (issue 12 item 3): each a sentence saying why.

The loader reads every file it can; these are the readings that may make a figure wrong while
looking right (no new Core Partnership at all, a required column found only by its values,
many unknown outcomes or types, dates far from the file's stated or usual range). The upload
page and the CLI show them and ask for "I have checked" before storing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pandas as pd

from capa_monitor import model
from capa_monitor.loading.infer import FieldChoice, FieldSpec
from capa_monitor.loading.parse import parse_dates

#: Share of unknown outcomes or types above which the reading is doubtful.
UNKNOWN_SHARE = 0.05
#: Dates this far before the bulk's 5th or after its 95th percentile are "years away".
USUAL_RANGE_MARGIN = timedelta(days=366)
MAX_EXAMPLES = 3

_DATE_TEXT = r"(\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4})"
#: "Report period 01/04/2026 to 30/04/2026", "Date range: 01/04/2026 - 30/04/2026",
#: "From 1 Apr 2026 to 30 Apr 2026", "Dates between 2026-04-01 and 2026-04-30".
_STATED_RANGE = re.compile(
    r"(?:period|range|from|between|dates?|covering|for)\b[^0-9]{0,20}" + _DATE_TEXT
    + r"\s*(?:-|–|to|until|and)\s*" + _DATE_TEXT,
    re.IGNORECASE,
)


def stated_range(title_rows: pd.DataFrame) -> tuple[date, date] | None:
    """The period the rows above the header say the file covers, if they say one."""
    for values in title_rows.to_numpy(dtype=object).tolist():
        text = " ".join(str(v) for v in values if isinstance(v, str) and v.strip())
        match = _STATED_RANGE.search(text)
        if not match:
            continue
        parsed, _ = parse_dates(pd.Series([match[1], match[2]], dtype="str"))
        if parsed.notna().all():
            start, end = sorted(parsed.dt.date)
            return start, end
    return None


def doubts(
    frame: pd.DataFrame,
    *,
    mapping: Mapping[str, FieldChoice],
    specs: Sequence[FieldSpec],
    unmapped: Mapping[str, Mapping[str, int]],
    stated: tuple[date, date] | None,
) -> list[str]:
    """The sentences, in a fixed order: new Core, weak columns, unknown values, dates."""
    found: list[str] = []
    kinds = frame[model.KIND].value_counts()
    core_rows = int(kinds.get(str(model.Kind.CORE_FOLLOWUP), 0))
    if core_rows and not kinds.get(str(model.Kind.CORE_NEW), 0):
        flag = mapping.get("new_followup")
        where = (
            f"the new/follow-up column {flag.header!r} marked none as new"
            if flag
            else "no column says which are new"
        )
        found.append(
            f"{core_rows} Core Partnership rows but no new Core Partnership: every Core row was "
            f"read as follow-up ({where})."
        )
    for spec in specs:
        choice = mapping.get(spec.name)
        if spec.required and choice is not None and choice.weak:
            column = repr(choice.header) if choice.header else "a column with no header"
            found.append(
                f"{spec.label} was found only on weak evidence: {column}, confidence "
                f"{choice.confidence:.2f} ({choice.reason})."
            )
    rows = len(frame)
    for field, words in (("outcome", "outcomes"), ("kind", "appointment types")):
        unknown = sum(unmapped.get(field, {}).values())
        if rows and unknown / rows > UNKNOWN_SHARE:
            found.append(
                f"{unknown} of {rows} {words} ({unknown / rows:.0%}) are not recognised; "
                "map them or check them."
            )
    found += _date_doubts(frame[model.DATE], stated)
    return found


def _date_doubts(dates: pd.Series, stated: tuple[date, date] | None) -> list[str]:
    if dates.empty:
        return []
    days = dates.dt.normalize()
    found = []
    if stated:
        start, end = (pd.Timestamp(d) for d in stated)
        outside = days[(days < start) | (days > end)]
        if len(outside):
            found.append(
                f"{len(outside)} rows are dated outside the period the file states "
                f"({stated[0].isoformat()} to {stated[1].isoformat()}), e.g. {_examples(outside)}."
            )
    low, high = days.quantile(0.05), days.quantile(0.95)
    far = days[(days < low - USUAL_RANGE_MARGIN) | (days > high + USUAL_RANGE_MARGIN)]
    if len(far):
        found.append(
            f"{len(far)} rows are dated more than a year away from the rest of the file "
            f"({low.date().isoformat()} to {high.date().isoformat()}), e.g. {_examples(far)}; "
            "check for mistyped years."
        )
    return found


def _examples(days: pd.Series) -> str:
    shown = sorted({d.date().isoformat() for d in days})
    return ", ".join(shown[:MAX_EXAMPLES]) + (", …" if len(shown) > MAX_EXAMPLES else "")
