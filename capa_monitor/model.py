"""The canonical activity record (domain spec §3): column names, kinds and outcomes.

Everything downstream of the loader speaks only these names.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    CHOICE = "choice"
    CORE_NEW = "core_new"
    CORE_FOLLOWUP = "core_followup"
    SPECIFIC_NEW = "specific_new"
    SPECIFIC_FOLLOWUP = "specific_followup"
    OTHER = "other"


class Outcome(StrEnum):
    ATTENDED = "attended"
    DNA = "dna"
    LATE_NOT_SEEN = "late_not_seen"
    CANCELLED_BY_CLIENT = "cancelled_by_client"
    CANCELLED_BY_SERVICE = "cancelled_by_service"
    UNBOOKED = "unbooked"
    BOOKED = "booked"


#: Outcomes that say the appointment date has happened (they move the as-of date, §2).
HAPPENED_OUTCOMES = frozenset({Outcome.ATTENDED, Outcome.DNA, Outcome.LATE_NOT_SEEN})
#: Outcomes that make a slot "lost" (M2) when dated on or before the as-of date.
LOST_OUTCOMES = frozenset(
    {Outcome.DNA, Outcome.LATE_NOT_SEEN, Outcome.CANCELLED_BY_CLIENT, Outcome.UNBOOKED}
)
CORE_KINDS = frozenset({Kind.CORE_NEW, Kind.CORE_FOLLOWUP})
SPECIFIC_KINDS = frozenset({Kind.SPECIFIC_NEW, Kind.SPECIFIC_FOLLOWUP})

# Canonical activity columns, in order. Types (pandas):
#   slot_id       str            export's id, else a stable hash of the identifying fields
#   clinician     str            normalised display name, "Jane Smith"
#   team          str | <NA>     team / rota / clinic
#   date          datetime64     appointment date at midnight (never NaT in accepted rows)
#   start         str | <NA>     "HH:MM" start time when the export has one
#   kind          str            a Kind value
#   outcome       str            an Outcome value
#   client_key    str | <NA>     keyed pseudonym (HMAC-SHA256 hex), never a raw identifier
#   booked_on     datetime64     NaT when unknown
#   duration_min  Int64          <NA> when unknown
#   reoffered     boolean        <NA> when the export has no marker
#   source_row    int64          1-based row number in the uploaded sheet
SLOT_ID = "slot_id"
CLINICIAN = "clinician"
TEAM = "team"
DATE = "date"
START = "start"
KIND = "kind"
OUTCOME = "outcome"
CLIENT_KEY = "client_key"
BOOKED_ON = "booked_on"
DURATION_MIN = "duration_min"
REOFFERED = "reoffered"
SOURCE_ROW = "source_row"

ACTIVITY_COLUMNS: tuple[str, ...] = (
    SLOT_ID,
    CLINICIAN,
    TEAM,
    DATE,
    START,
    KIND,
    OUTCOME,
    CLIENT_KEY,
    BOOKED_ON,
    DURATION_MIN,
    REOFFERED,
    SOURCE_ROW,
)
#: The columns typed pandas "str" and datetime64 above (the store and test builders type by these).
ACTIVITY_TEXT_COLUMNS: tuple[str, ...] = (SLOT_ID, CLINICIAN, TEAM, START, KIND, OUTCOME, CLIENT_KEY)
ACTIVITY_DATE_COLUMNS: tuple[str, ...] = (DATE, BOOKED_ON)

# Canonical job-plan columns (domain spec §4). Types:
#   clinician str; team str|<NA>; fte float|NaN; choice_per_week, core_sessions,
#   specific_sessions, nonclinical_sessions float|NaN; q1_target..q4_target float|NaN
#   (explicit targets override the CAPA arithmetic); available_from, available_to datetime64|NaT.
JOBPLAN_NUMBER_COLUMNS: tuple[str, ...] = (
    "fte",
    "choice_per_week",
    "core_sessions",
    "specific_sessions",
    "nonclinical_sessions",
    "q1_target",
    "q2_target",
    "q3_target",
    "q4_target",
)
JOBPLAN_DATE_COLUMNS: tuple[str, ...] = ("available_from", "available_to")
JOBPLAN_COLUMNS: tuple[str, ...] = (
    "clinician",
    "team",
    *JOBPLAN_NUMBER_COLUMNS,
    *JOBPLAN_DATE_COLUMNS,
)
