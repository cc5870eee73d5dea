"""Find the header row of an export and say which column holds which canonical field.

Exports put title and "run date" rows above the header, sometimes split it over two rows
(a merged group label above the column names), and name the same field differently in every
patient-record system; this module absorbs all of that so the normaliser sees positions only.
Used for activity exports and, with its own synonym table, for job plans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from capa_monitor.errors import LoadError

#: How far down a sheet the header row may sit (title blocks are rarely more than a dozen rows).
MAX_SCAN_ROWS = 30

# Source-side fields that are not activity columns themselves but feed one:
NEW_FOLLOWUP = "new_followup"  # separate new / follow-up flag column (ConsType, Initial Appointment)
NHS_NUMBER = "nhs_number"
CLIENT_ID = "client_id"  # a local patient identifier (RiO ID, Patient ID, LocalPatientId)
CLIENT_NAME = "client_name"
BOOKING_LAG = "booking_lag"  # "Time between booking and appointment" (SystmOne): booked_on = date - it

#: Header texts seen in RiO, SystmOne, EMIS, MHSDS and CAMHS dataset exports, per field.
#: Keys are the names a MappingProfile uses. Earlier synonyms win when two columns match.
ACTIVITY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "slot_id": (
        "Appointment ID", "Appt ID", "Slot ID", "CareContactId", "Care Contact ID",
        "Contact ID", "Appointment Number", "Booking ID", "Event ID",
    ),
    "clinician": (
        "Clinician", "HCP", "CareProfName", "Care Professional", "Care Professional Name",
        "Staff", "Staff Name", "Staff Member", "Practitioner", "Clinician Name", "Seen By",
        "Professional", "Responsible Clinician", "Health Care Professional", "Therapist",
    ),
    "team": ("Team", "Team Name", "Clinic", "Clinic Name", "Rota", "Service", "Service Team"),
    "date": (
        "Appointment Date", "Appt Date", "CareContDate", "Care Contact Date", "DateStart",
        "Date Start", "Contact Date", "Date", "Appointment Date Time", "Appt Date Time",
        "Start Date", "Session Date", "Diary Date",
    ),
    "start": (
        "Start Time", "Appointment Time", "Appt Time", "Time", "CareContTime",
        "Care Contact Time", "Start", "Slot Time",
    ),
    "kind": (
        "Appointment Type", "Appt Type", "Clinic Type", "Activity", "Activity Type",
        "Contact Type", "Slot Type", "Session Type", "Care Contact Type", "Type",
        "Appt", "Appointment",  # hand-kept trackers: the column of "Ch", "CP new", "SP FU"
    ),
    NEW_FOLLOWUP: (
        "ConsType", "Consultation Type", "FollowUpAppointment", "Follow Up Appointment",
        "First Attendance", "Initial Appointment", "New Or Follow Up", "New/Follow-up",
        "New/FU", "First Appointment", "New Appointment",
    ),
    "outcome": (
        "Outcome", "Attendance", "Appointment Status", "AttendOrDNACode",
        "Attended Or Did Not Attend", "Attendance Status", "Appt Status", "Status",
        "Appointment Outcome", "Attendance Outcome", "Attend Status",
    ),
    NHS_NUMBER: ("NHS Number", "NHS No", "NHSNumber", "NHS"),
    CLIENT_ID: (
        "Patient ID", "RiO ID", "LocalPatientId", "Local Patient ID", "Client ID",
        "Patient Number", "Client Number", "Hospital Number", "System ID", "MRN",
        "Person ID", "Patient Identifier",
    ),
    CLIENT_NAME: ("Client Name", "Patient Name", "Client", "Patient", "Service User"),
    "booked_on": (
        "Booked On", "Date Booked", "Booking Date", "Booked Date", "Date Appointment Booked",
        "Created On", "Date Created",
    ),
    "duration_min": (
        "Duration", "Length", "ClinContDurOfCareCont", "Duration (mins)", "Duration Minutes",
        "Appointment Length", "Slot Length", "Minutes", "Mins",
    ),
    BOOKING_LAG: (
        "Time between booking and appointment", "Booking Lead Time", "Lead Time",
        "Days Booked In Advance", "Booking Interval",
    ),
    "reoffered": (
        "Re-offered", "Reoffered", "Rebooked", "Re-booked", "Slot Re-offered",
        "Slot Reoffered", "Offered Again",
    ),
}

#: What every activity export must have (the rest is optional or derived).
ACTIVITY_REQUIRED: tuple[str, ...] = ("date", "clinician", "kind", "outcome")

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

#: (header texts, per-column alternative texts or None) -> {field: column position}.
Matcher = Callable[[list[str], "list[list[str]] | None"], dict[str, int]]


@dataclass(frozen=True)
class HeaderMatch:
    row: int  # 0-based index of the (last) header row in the cells frame
    columns: dict[str, int]  # canonical -> column position
    headers: list[str]  # header text of every column as found; two-row headers joined
    data_start: int  # 0-based index of the first row below the header

    def source_headers(self) -> dict[str, str]:
        """canonical -> source header text, for the report."""
        return {canonical: self.headers[pos] for canonical, pos in self.columns.items()}

    def unmatched_headers(self) -> list[str]:
        """Non-blank header texts no field was matched to (listed, never used)."""
        used = set(self.columns.values())
        return [text for pos, text in enumerate(self.headers) if text and pos not in used]


def header_key(text: object) -> str:
    """Case, spacing and punctuation do not matter: `Appt. date` == `APPT_DATE` == `apptdate`."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    return _NOT_ALNUM.sub("", str(text).lower())


def synonym_index(synonyms: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, int]]:
    """header key -> (canonical, priority); the canonical name itself is its last synonym,
    and the first field to claim a text keeps it."""
    index: dict[str, tuple[str, int]] = {}
    for canonical, texts in synonyms.items():
        for priority, text in enumerate((*texts, canonical)):
            key = header_key(text)
            if key and key not in index:
                index[key] = (canonical, priority)
    return index


def find_header(
    cells: pd.DataFrame,
    synonyms: Mapping[str, Iterable[str]],
    required: Iterable[str] = (),
    *,
    max_scan_rows: int = MAX_SCAN_ROWS,
    matcher: Matcher | None = None,
) -> HeaderMatch:
    """The row (or pair of rows) near the top whose texts match the most fields.

    `matcher` (texts, per-column alternatives or None) -> {field: position} replaces the
    synonym match, e.g. infer.header_matcher's word patterns. Raises LoadError naming the
    headers found and the fields missing when a `required` field has no column.
    """
    required = tuple(required)
    if matcher is None:
        index = synonym_index(synonyms)

        def matcher(texts: list[str], alternatives: list[list[str]] | None) -> dict[str, int]:
            return _match(texts, index, alternatives)
    # One conversion of the top rows to Python values; per-row .iloc costs more than the match.
    rows = [_row_texts(values) for values in cells.head(max_scan_rows).to_numpy(dtype=object).tolist()]

    best: HeaderMatch | None = None
    best_score = 0
    singles = [matcher(texts, None) for texts in rows]
    single_scores = [len(match) for match in singles]
    data_like = [_data_like(texts) for texts in rows]
    for i, texts in enumerate(rows):
        if data_like[i] and any(s and not d for s, d in zip(single_scores[:i], data_like, strict=False)):
            # Below a header-like row, a row with dates or numbers is data, however many of
            # its values happen to be words a header could use ("Attended", "Follow-up").
            single_scores[i] = 0
            continue
        if single_scores[i] > best_score:
            best_score = single_scores[i]
            best = HeaderMatch(i, singles[i], texts, i + 1)
        if i + 1 < len(rows) and not data_like[i + 1]:
            # A two-row header only counts when it explains more than either row alone,
            # otherwise a title row above the header would be glued onto it; and its lower
            # row holds no dates or numbers, or the first data row would be glued below it.
            joined, alternatives = _two_row_texts(texts, rows[i + 1])
            pair = matcher(joined, alternatives)
            if len(pair) > max(single_scores[i], single_scores[i + 1], best_score):
                best_score = len(pair)
                best = HeaderMatch(i + 1, pair, joined, i + 2)

    if best is None:
        found = _header_like(rows)
        raise LoadError(
            f"No header row was found in the first {max_scan_rows} rows: "
            + (
                f"the first row reads {', '.join(map(repr, found))}, and no row names"
                if found
                else "no row names"
            )
            + f" any of the expected columns ({_examples(required or list(synonyms), synonyms)})."
        )
    missing = [field for field in required if field not in best.columns]
    if missing:
        found = [t for t in best.headers if t]
        raise LoadError(missing_message(found, missing, synonyms))
    return best


_DATA_CELL = re.compile(r"^[\d\s/.:\-]*\d[\d\s/.:\-]*$")


def _data_like(texts: list[str]) -> bool:
    """A row with a cell of digits and separators only (a date, time, number): data."""
    return any(_DATA_CELL.match(t) for t in texts if t)


def _header_like(rows: list[list[str]]) -> list[str]:
    """The first non-blank row's texts, if it looks like a header rather than data.

    A row with a digit in any cell (dates, NHS numbers, ids) is never quoted back: without a
    recognised header it may be a patient's row.
    """
    for texts in rows:
        cells = [t for t in texts if t]
        if cells:
            if any(ch.isdigit() for t in cells for ch in t) or any(len(t) > 40 for t in cells):
                return []
            return cells[:12]
    return []


def _row_texts(values: list[object]) -> list[str]:
    return ["" if pd.isna(value) else " ".join(str(value).split()) for value in values]


def _two_row_texts(upper: list[str], lower: list[str]) -> tuple[list[str], list[list[str]]]:
    """Join a group label row with the names below it; a merged label covers the blanks
    to its right. Returns the joined texts and the per-column texts to try."""
    joined: list[str] = []
    alternatives: list[list[str]] = []
    label = ""
    for above, below in zip(upper, lower, strict=True):
        if above:
            label = above
        elif not below:
            label = ""
        group = above or (label if below else "")
        text = " ".join(t for t in (group, below) if t)
        joined.append(text)
        alternatives.append([t for t in (text, below, above) if t])
    return joined, alternatives


def _match(
    texts: list[str],
    index: Mapping[str, tuple[str, int]],
    alternatives: list[list[str]] | None = None,
) -> dict[str, int]:
    """canonical -> column position, best synonym first, then leftmost column."""
    claims: dict[str, tuple[int, int]] = {}
    for pos, text in enumerate(texts):
        tries = alternatives[pos] if alternatives else [text]
        for attempt in tries:
            hit = index.get(header_key(attempt))
            if hit is None:
                continue
            canonical, priority = hit
            if canonical not in claims or (priority, pos) < claims[canonical]:
                claims[canonical] = (priority, pos)
            break
    # One column feeds one field: a column claimed twice keeps its better claim.
    by_column: dict[int, tuple[int, str]] = {}
    for canonical, (priority, pos) in claims.items():
        if pos not in by_column or priority < by_column[pos][0]:
            by_column[pos] = (priority, canonical)
    return {canonical: pos for pos, (_, canonical) in sorted(by_column.items())}


def missing_message(
    found: list[str], missing: list[str], synonyms: Mapping[str, Iterable[str]]
) -> str:
    shown = ", ".join(repr(t) for t in found[:40])
    return (
        f"The header row (found: {shown}) lacks required columns: missing "
        f"{_examples(missing, synonyms)}."
    )


def _examples(fields: Iterable[str], synonyms: Mapping[str, Iterable[str]]) -> str:
    return "; ".join(
        f"{field} (e.g. {', '.join(repr(t) for t in list(synonyms.get(field, ()))[:3])})"
        for field in fields
    )
