"""The upload page's mapping editor and reading summary, in a manager's words (issue 11 item 7).

What the loader made of a file, before anything is stored: each field it found, in which
column and why ("its header", "its values"), the required fields marked, the problems left to
settle counted ("2 to settle"), the columns it did not use, and a form to choose columns and
say what unknown values mean, all named as a manager says them ("New or follow-up",
"Cancelled by the service"). The summary's small table counts the rows by appointment type
and outcome in words.

The report's `mapping`, `unused_columns` and `doubts` come from the loader's column inference
(loading/infer.py, loading/doubts.py). A file whose columns could not be used at all comes with
its header texts only; the form is then prefilled from the header words (infer.header_matcher),
so the manager chooses only what the headers do not say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from capa_monitor.loading import LoadResult, MappingProfile
from capa_monitor.loading.headers import NEW_FOLLOWUP
from capa_monitor.loading.infer import ACTIVITY_FIELDS, WEAK_CONFIDENCE, FieldSpec, header_matcher
from capa_monitor.loading.plan_names import describe as describe_names
from capa_monitor.metrics.words import KIND_WORDS, OUTCOME_WORDS
from capa_monitor.model import Kind, Outcome

if TYPE_CHECKING:
    from capa_monitor.views.upload import ReadFile

NOT_IN_FILE = "(not in this file)"
AS_READ = "(leave as read)"
#: What an unknown value may be said to mean, in the words a manager uses for it.
VALUE_WORDS: dict[str, dict[str, str]] = {
    "kind": {
        Kind.CHOICE.value: "Choice appointment",
        Kind.CORE_NEW.value: "Core Partnership: new (first) appointment",
        Kind.CORE_FOLLOWUP.value: "Core Partnership: follow-up",
        Kind.SPECIFIC_NEW.value: "Specific Partnership: new (first) appointment",
        Kind.SPECIFIC_FOLLOWUP.value: "Specific Partnership: follow-up",
        Kind.OTHER.value: "Other work (not counted for CAPA)",
    },
    "outcome": {
        Outcome.ATTENDED.value: "Attended (seen)",
        Outcome.DNA.value: "Did not attend / was not brought",
        Outcome.LATE_NOT_SEEN.value: "Arrived late, not seen",
        Outcome.CANCELLED_BY_CLIENT.value: "Cancelled by the family",
        Outcome.CANCELLED_BY_SERVICE.value: "Cancelled by the service",
        Outcome.UNBOOKED.value: "Slot not booked",
        Outcome.BOOKED.value: "Booked, not happened yet",
    },
    NEW_FOLLOWUP: {"new": "New (first appointment)", "followup": "Follow-up"},
}
#: How a field was found, in words (infer.FieldChoice.by).
BY_WORDS = {
    "manual": "your choice",
    "profile": "the saved mapping",
    "header": "its header",
    "header+values": "its header and its values",
    "values": "its values only",
}
#: Unreadable texts of these fields cannot be mapped here; they are listed as notes.
READ_AS_WORDS = {
    "start": "start times",
    "booked_on": "booked dates",
    "duration_min": "durations",
    "reoffered": "re-offered markers",
    "booking_lag": "times between booking and appointment",
}
#: The loader's note for Core/Specific rows whose new/follow-up the file does not say.
ASSUMED_FOLLOWUP = "kind ("
#: Outcome columns of the counts table, in this order when present.
OUTCOME_ORDER = tuple(o.value for o in Outcome)
KIND_ORDER = tuple(k.value for k in Kind)


def field_labels(fields: Sequence[FieldSpec] = ACTIVITY_FIELDS) -> dict[str, str]:
    return {spec.name: spec.label for spec in fields}


def short_label(label: str) -> str:
    """`Outcome (attended, DNA, cancelled…)` -> `Outcome`."""
    return label.split(" (", 1)[0]


def sureness(confidence) -> str:
    """A confidence (0..1) in words; weak readings are the ones to check."""
    if not isinstance(confidence, int | float):
        return ""
    if confidence >= 0.9:
        return "sure"
    if confidence >= WEAK_CONFIDENCE:
        return "likely"
    return "unsure: check it"


def found_table(report, fields: Sequence[FieldSpec] = ACTIVITY_FIELDS) -> pd.DataFrame:
    """One row per field: its name in words (required ones marked), the column used, how it
    was found and how sure the loader is; required fields with no column say so."""
    rows = []
    for spec in fields:
        entry = report.mapping.get(spec.name)
        column = entry["column"] if entry else report.columns.get(spec.name)
        if column is None and not spec.required:
            continue
        required = "required" if spec.required else ""
        if column is None:
            rows.append((spec.label, required, "— not found", "", ""))
            continue
        entry = entry or {}
        by, reason = entry.get("by", ""), entry.get("reason") or ""
        how = BY_WORDS.get(by, by)
        rows.append((spec.label, required, str(column),
                     f"{how}: {reason}" if how and reason else how or reason,
                     sureness(entry.get("confidence"))))
    return pd.DataFrame(rows, columns=["Field", "Required", "Column in the file", "Found by",
                                       "How sure"])


def _count_words(counts: Mapping[str, int], shown: int = 5) -> str:
    items = list(counts.items())
    listed = ", ".join(f"“{value}” ×{n:,}" for value, n in items[:shown])
    return listed + (f" and {len(items) - shown} more" if len(items) > shown else "")


def problems(read: ReadFile, fields: Sequence[FieldSpec] = ACTIVITY_FIELDS) -> list[str]:
    """What is left for the manager to settle, one sentence each: required fields with no
    column, values no rule knows, rows read as follow-up because the file does not say, and
    the loader's doubts (a weak column, no new Core Partnership, dates far away...)."""
    labels = field_labels(fields)
    required = [spec.name for spec in fields if spec.required]
    if read.result is None:
        chosen = prefilled(read, fields)
        missing = [labels[name] for name in required if name not in chosen]
        found = [f"No column chosen for {short_label(label)} (required)." for label in missing]
        return found or [read.error or "The file could not be read with these columns."]
    report = read.result.report
    found = [f"No column found for {short_label(labels[name])} (required)."
             for name in required if name not in report.columns]
    for field_name, counts in report.unmapped_values.items():
        if not counts:
            continue
        if field_name in VALUE_WORDS:
            label = short_label(labels.get(field_name, field_name))
            found.append(f"{label}: {len(counts)} value{'s' if len(counts) > 1 else ''} no rule "
                         f"knows ({_count_words(counts)}): say what each means below.")
        elif field_name.startswith(ASSUMED_FOLLOWUP):
            rows = f"{sum(counts.values()):,} rows ({_count_words(counts)})"
            flags = report.columns.get(NEW_FOLLOWUP)
            found.append(
                f"{rows} are not marked new in “{flags}”, so they are read as follow-up: check "
                "that column is the one that says it." if flags else
                f"{rows} do not say whether they are new or follow-up, so they are read as "
                f"follow-up: choose the column for “{labels.get(NEW_FOLLOWUP, 'New or follow-up')}” "
                "if the file has one."
            )
    return found + [str(doubt) for doubt in report.doubts]


def prefilled(read: ReadFile, fields: Sequence[FieldSpec] = ACTIVITY_FIELDS) -> dict[str, str]:
    """The column each field starts at in the form: as read; for a file that could not be
    used, the manager's last choices, else what the header words say."""
    if read.result is not None:
        return dict(read.result.report.columns)
    if read.profile is not None:
        return dict(read.profile.columns)
    headers = list(read.headers)
    return {name: headers[pos] for name, pos in header_matcher(fields)(headers, None).items()}


def notes(report) -> list[str]:
    """Values the loader could not read in optional fields: said, not counted as problems."""
    return [
        f"{len(counts)} kinds of {READ_AS_WORDS[name]} could not be read and are left blank "
        f"({_count_words(counts)})."
        for name, counts in report.unmapped_values.items()
        if name in READ_AS_WORDS and counts
    ]


def problems_heading(found: list[str]) -> str:
    n = len(found)
    return "Nothing left to settle" if not n else f"{n} thing{'s' if n > 1 else ''} to settle"


def mapping_form(key: str, file_name: str, read: ReadFile,
                 fields: Sequence[FieldSpec] = ACTIVITY_FIELDS) -> MappingProfile | None:
    """What the loader found and the column and value choices, in an expander whose title
    counts what is left to settle; returns a profile when the manager applies changes."""
    report = read.result.report if read.result else None
    found = problems(read, fields)
    with st.expander(f"Columns and values: {problems_heading(found).lower()}",
                     expanded=report is None or bool(found)):
        if found:
            st.markdown(f"**{problems_heading(found)}**\n\n"
                        + "\n".join(f"{i}. {text}" for i, text in enumerate(found, start=1)))
        else:
            st.markdown("**Nothing left to settle**: every required field has a column and "
                        "every value a meaning.")
        if report is not None:
            # A static table: its reasons wrap instead of running off to the right.
            st.table(found_table(report, fields).set_index("Field"))
            if report.unused_columns:
                st.caption("Columns not used: "
                           + ", ".join(f"“{text}”" for text in report.unused_columns))
            for note in notes(report):
                st.caption(note)
        return _choices_form(key, file_name, read, fields)


def _choices_form(key: str, file_name: str, read: ReadFile,
                  fields: Sequence[FieldSpec]) -> MappingProfile | None:
    mapped = prefilled(read, fields)
    unmapped = read.result.report.unmapped_values if read.result else {}
    options = [NOT_IN_FILE, *read.headers]
    with st.form(f"{key}_mapping"):
        st.markdown("**Which column holds each field** (required ones are marked)")
        columns: dict[str, str] = {}
        grid = st.columns(3)
        for i, spec in enumerate(fields):
            current = mapped.get(spec.name, NOT_IN_FILE)
            choice = grid[i % 3].selectbox(
                spec.label + (" — required" if spec.required else ""),
                options,
                index=options.index(current) if current in options else 0,
                key=f"{key}_column_{spec.name}",
            )
            if choice != NOT_IN_FILE:
                columns[spec.name] = choice
        # Earlier answers stay: their values are no longer unknown, so no longer asked.
        earlier = read.profile.values if read.profile else {}
        values = {column: dict(meanings) for column, meanings in earlier.items()}
        unknown = {c: v for c, v in unmapped.items() if c in VALUE_WORDS and v}
        if unknown:
            st.markdown("**What each value no rule knows means**")
        labels = field_labels(fields)
        for column, counts in unknown.items():
            meanings = VALUE_WORDS[column]
            for value, count in counts.items():
                choice = st.selectbox(
                    f"{short_label(labels.get(column, column))} “{value}” "
                    f"({count:,} row{'s' if count > 1 else ''}) means",
                    [AS_READ, *meanings],
                    format_func=lambda code, m=meanings: m.get(code, code),
                    key=f"{key}_value_{column}_{hashlib.sha1(value.encode()).hexdigest()[:10]}",
                )
                if choice != AS_READ:
                    values.setdefault(column, {})[value] = str(choice)
        name = st.text_input(
            "Name for this mapping", value=file_name.rsplit(".", 1)[0], key=f"{key}_name"
        )
        applied = st.form_submit_button("Apply this mapping")
    if applied:
        # Every column is kept, found or chosen: the profile names the file's shape, so that
        # next month's file of this shape gets it (loading.fitting_profile).
        return MappingProfile(name=name.strip() or "mapping", columns=columns, values=values)
    return None


def counts_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by appointment type (rows) and outcome (columns) in words, with totals."""
    table = pd.crosstab(frame["kind"].astype("str"), frame["outcome"].astype("str"))
    kinds = [k for k in KIND_ORDER if k in table.index] + [
        k for k in table.index if k not in KIND_ORDER]
    outcomes = [o for o in OUTCOME_ORDER if o in table.columns] + [
        o for o in table.columns if o not in OUTCOME_ORDER]
    table = table.loc[kinds, outcomes]
    table["All outcomes"] = table.sum(axis=1)
    table.loc["all"] = table.sum(axis=0)
    table.index = [KIND_WORDS.get(k, "All types" if k == "all" else k) for k in table.index]
    table.columns = [OUTCOME_WORDS.get(o, o) for o in table.columns]
    return table.rename_axis("Appointment type").reset_index()


def row_list(rows: list[int], shown: int = 10) -> str:
    listed = ", ".join(str(row) for row in rows[:shown])
    return listed + (f" and {len(rows) - shown} more" if len(rows) > shown else "")


def report_summary(result: LoadResult) -> None:
    report = result.report
    st.markdown(
        f"Sheet **{report.sheet}**, header on row **{report.header_row}**"
        + (f", encoding {report.encoding}" if report.encoding else "")
        + (
            f"; dates {report.date_range[0]:%d/%m/%Y} to {report.date_range[1]:%d/%m/%Y}"
            if report.date_range else ""
        )
        + f"; {len(report.clinicians)} clinician{'' if len(report.clinicians) == 1 else 's'}."
    )
    read_sheets = report.sheets.get("read", [])
    if len(read_sheets) > 1 or report.sheets.get("skipped"):
        st.markdown(
            "Sheets read together: " + ", ".join(f"**{name}**" for name in read_sheets)
            + "".join(f"; skipped **{name}** ({why})"
                      for name, why in report.sheets.get("skipped", {}).items())
            + "."
        )
    read_col, accepted_col, rejected_col, dropped_col = st.columns(4)
    read_col.metric("Rows read", report.rows_read)
    accepted_col.metric("Accepted", report.accepted)
    rejected_col.metric("Rejected", len(report.rejected))
    dropped_col.metric(
        "Blank or totals rows dropped", report.dropped,
        help=", ".join(f"{k}: {v}" for k, v in report.dropped_detail.items()) or None,
    )
    if not result.frame.empty:
        st.markdown("**Rows by appointment type and outcome**, as they will be counted")
        # a static table: outcome words wrap instead of pushing the table past the screen
        st.table(counts_table(result.frame).set_index("Appointment type"))
    if report.blank_past_outcomes:
        st.warning(
            f"{len(report.blank_past_outcomes)} past appointments have no outcome; they count as "
            f"booked (unknown). Sheet rows: {row_list(report.blank_past_outcomes)}."
        )
    if report.invalid_nhs_numbers:
        st.warning(
            f"{len(report.invalid_nhs_numbers)} NHS numbers fail the check digit (sheet rows "
            f"{row_list(report.invalid_nhs_numbers)}); they were pseudonymised like the others, "
            "but check them in the source system."
        )
    names = describe_names(report.plan_matches)
    if names:
        st.warning(
            "**Names to check against the job plans** (a clinician with no plan has no target):\n"
            + "\n".join(f"- {line}" for line in names)
        )
    for warning in report.warnings:
        st.warning(warning)
