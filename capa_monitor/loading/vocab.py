"""Outcome and kind vocabularies (domain spec §3): export texts and codes → canonical values.

Exports carry few distinct values in many rows, so every rule runs once per distinct value and
the answer is spread back over the rows by position. Anything no rule recognises is counted
and handed back for the report: nothing is guessed silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capa_monitor.model import Kind, Outcome

NEW = "new"
FOLLOWUP = "followup"

# --- outcomes ---------------------------------------------------------------------------------
# Sources for every table below: docs/vocabularies.md (one line per source, with its address).

#: NHS "attended or did not attend" codes (NHS Data Dictionary ATTENDED OR DID NOT ATTEND CODE,
#: used by MHSDS v5 `AttendOrDNACode` and by v6 `AttendStatus`, the data element ATTENDANCE
#: STATUS, with the same national codes), leading zeros ignored.
OUTCOME_CODES: dict[str, Outcome] = {
    "5": Outcome.ATTENDED,
    "6": Outcome.ATTENDED,
    "7": Outcome.LATE_NOT_SEEN,
    "3": Outcome.DNA,
    "2": Outcome.CANCELLED_BY_CLIENT,
    "4": Outcome.CANCELLED_BY_SERVICE,
    "0": Outcome.BOOKED,
}

#: Scotland's CAPTND ATTENDANCE_STATUS codes, decoded as Public Health Scotland's own pipeline
#: does (Public-Health-Scotland/CAPTND 06_calculations/calculate_first_con_attendance.R):
#: 1 Attended, 2 Clinic cancelled, 3 Patient cancelled, 5 Patient CNW (could not wait),
#: 8 Patient DNA, 9 Patient died, 99 Not known. 5 and 99 have no reading (see AMBIGUOUS_OUTCOMES);
#: a death is a cancellation on behalf of the patient (NHS DD change request CR278).
CAPTND_OUTCOME_CODES: dict[str, Outcome | None] = {
    "1": Outcome.ATTENDED,
    "2": Outcome.CANCELLED_BY_SERVICE,
    "3": Outcome.CANCELLED_BY_CLIENT,
    "5": None,
    "8": Outcome.DNA,
    "9": Outcome.CANCELLED_BY_CLIENT,
    "99": None,
}
#: Codes only one of the two tables has: a numeric outcome column holding 1, 8, 9 or 99 and none
#: of 0, 4, 6, 7 is CAPTND's; one holding both kinds is read by neither (every code listed).
_CAPTND_ONLY = frozenset({"1", "8", "9", "99"})
_ENGLAND_ONLY = frozenset({"0", "4", "6", "7"})

#: Texts seen in exports (spec §3 table), the NHS Data Dictionary's own code wordings, the
#: statuses SystmOne prints (TPP's Appointment.Status list as OpenSAFELY decodes it; a real
#: SystmOne "Appointments" report in janduplessis883/access-es), EMIS Web slot statuses (EMIS
#: OpenHR voc.AptStatus; Hero Health's EMIS Web guide), CAPTND descriptions and the
#: abbreviations hand-kept trackers use.
OUTCOME_TEXTS: dict[str, Outcome] = {
    **dict.fromkeys(
        ("Attended", "Seen", "Finished", "Arrived late but seen", "Completed", "Attended on time",
         "Arrived late, seen", "Att", "Attended - seen",
         # NHS DD codes 5 and 6 as worded there
         "Attended on time or, if late, before the relevant care professional was ready to see "
         "the patient",
         "Arrived late, after the relevant care professional was ready to see the patient, but "
         "was seen",
         # EMIS Web: Left = seen and gone; visits and telephone consultations completed
         "Left", "Patient Left", "Visited", "Visited and seen", "Telephone - Complete",
         "Telephone consultation completed"),
        Outcome.ATTENDED,
    ),
    **dict.fromkeys(
        ("Arrived late - not seen", "Arrived late not seen",
         "Patient arrived late and could not be seen", "Late - not seen"),
        Outcome.LATE_NOT_SEEN,
    ),
    **dict.fromkeys(
        ("DNA", "Did not attend", "Was not brought", "WNB", "No show",
         "Did not attend - no advance warning given", "DNA/WNB", "Patient DNA", "Not brought",
         # EMIS Web: "effectively a home-visit DNA" / "marked as a telephone DNA";
         # SystmOne: a home visit where nobody was in
         "Visited and not seen", "Telephone - Not In", "Telephoned but no answer",
         "No Access Visit"),
        Outcome.DNA,
    ),
    **dict.fromkeys(
        ("Cancelled by patient", "Cancelled by client", "Cancelled by family",
         "Patient cancelled", "Client cancelled", "Family cancelled", "Could not attend",
         "Appointment cancelled by, or on behalf of, the patient",
         # SystmOne status 15, CAPTND 9: NHS DD CR278 puts a death under code 2
         "Cancelled Due To Death", "Patient died",
         # tracker abbreviations: cancelled by patient, could / unable to attend
         "CBP", "CNA", "UTA", "Unable to attend"),
        Outcome.CANCELLED_BY_CLIENT,
    ),
    **dict.fromkeys(
        ("Cancelled by hospital", "Cancelled by service", "Cancelled by clinician",
         "Cancelled by provider", "Hospital cancelled", "Service cancelled",
         "Clinician cancelled", "Provider cancelled",
         "Appointment cancelled or postponed by the health care provider",
         # SystmOne: the unit is the service's own; another service cancelling is not the family
         "Cancelled by Unit", "Cancelled by Other Service", "Clinic cancelled",
         "CBH", "CBS"),
        Outcome.CANCELLED_BY_SERVICE,
    ),
    **dict.fromkeys(
        ("Available", "Unbooked", "Free slot", "Not booked", "Unfilled", "Free", "Slot Available",
         "Avail"),
        Outcome.UNBOOKED,
    ),
    **dict.fromkeys(
        ("Booked", "Not yet outcomed", "Future", "Not applicable - appointment occurs in the future",
         "Slot Booked"),
        Outcome.BOOKED,
    ),
}

#: Texts the systems really print that have no reading by the spec: each is listed with its
#: count for the manager to map (a saved profile), never guessed. The reason is the question.
AMBIGUOUS_OUTCOMES: dict[str, str] = {
    "Patient Walked Out": "the patient came but left before being seen: DNA, late not seen or "
                          "cancelled by the family?",
    "Walked Out": "the patient came but left before being seen: DNA, late not seen or "
                  "cancelled by the family?",
    "Patient CNW": "CAPTND 'could not wait': the patient came but left before being seen",
    "CNW": "CAPTND 'could not wait': the patient came but left before being seen",
    "Arrived": "the patient arrived but the appointment was never closed: seen or not?",
    "Patient Arrived": "the patient arrived but the appointment was never closed: seen or not?",
    "Sent In": "sent in to the clinician but never closed: seen or not?",
    "Patient Sent In": "sent in to the clinician but never closed: seen or not?",
    "Send in": "sent in to the clinician but never closed: seen or not?",
    "In Progress": "started but never finished: seen or not?",
    "Waiting": "waiting to be seen when the report was run: seen or not?",
    "Start call": "a telephone call started but never completed: seen or not?",
    "Visit": "a SystmOne visit slot with no result recorded",
    "Requested": "an appointment requested, not yet booked",
    "Blocked": "a blocked slot: neither offered nor used",
    "Cancelled": "cancelled, but by whom?",
    "canx": "cancelled, but by whom?",
    "CBC": "cancelled by client or by clinician?",
    "Not known": "the export says the outcome is not known",
    "Rebooked": "moved to another date: cancelled by whom?",
}

FAMILY_SIDE_WORDS = (
    "patient", "client", "family", "parent", "carer", "mum", "dad", "mother", "father",
    "guardian", "child", "young person", "pt", "yp", "service user", "su",
)
SERVICE_SIDE_WORDS = (
    "hospital", "service", "clinician", "provider", "team", "staff", "therapist", "trust",
    "clinic", "clin", "unit", "doctor",
)
def _side_words(words: Iterable[str]) -> str:
    """Words as the start of a word (`parent` in `parents`); abbreviations of two letters
    (`pt`, `su`) only as whole words, so `sudden` is not a service user."""
    return "|".join(w + (r"\b" if len(w) <= 2 else "") for w in words)


_FAMILY_SIDE = re.compile(r"\b(" + _side_words(FAMILY_SIDE_WORDS) + ")")
#: "Service user" (Carenotes, PARIS, mental health trusts' word for the client) is the family's side.
_SERVICE_SIDE = re.compile(r"\b(" + _side_words(SERVICE_SIDE_WORDS) + r")(?!\s+users?\b)")

# --- kinds ------------------------------------------------------------------------------------

CHOICE = "choice"
CORE = "core"
SPECIFIC = "specific"
OTHER = "other"

#: Abbreviations the word rules cannot see; values are a Kind or a family to split new/follow-up.
#: Trackers kept by hand write Ch (Choice), CP (Core Partnership), SP (Specific Partnership).
KIND_TEXTS: dict[str, str] = {
    "CP": CORE,
    "Core P": CORE,
    "New CP": Kind.CORE_NEW,
    "CP new": Kind.CORE_NEW,
    "CP FU": Kind.CORE_FOLLOWUP,
    "SP": SPECIFIC,
    "Ch": CHOICE,
    "Chc": CHOICE,
}
#: Type abbreviations with two readings: listed (as unknown kinds), never guessed.
AMBIGUOUS_KINDS: dict[str, str] = {
    "C-new": "C is Choice or Core: which?",
    "C": "C is Choice or Core: which?",
    "C FU": "C is Choice or Core: which?",
    "P": "P is Partnership, but Core or Specific?",
}

#: `np` is "new patient", as trackers write it (NP / FU).
_NEW_WORDS = re.compile(r"\b(new|first|1st|initial|np)\b")
#: In a header, "N/FU" names both sides: its N is "new", not "no".
_HEADER_N = re.compile(r"\bn\s*/\s*(f|fu|r)\b")
_FOLLOWUP_WORDS = re.compile(r"follow|f/u|\bfu\b|\breview|\bsubsequent\b|\bcontinuing\b")
_FAMILY_KINDS = {
    (CORE, NEW): Kind.CORE_NEW,
    (CORE, FOLLOWUP): Kind.CORE_FOLLOWUP,
    (SPECIFIC, NEW): Kind.SPECIFIC_NEW,
    (SPECIFIC, FOLLOWUP): Kind.SPECIFIC_FOLLOWUP,
}

#: A separate new/follow-up column's numeric codes, read by the code table and never as yes/no:
#: ConsType 01 first / 02 follow-up, and the NHS "First attendance" code (MHSDS), whose 3 and
#: 4 are the telephone / telemedicine forms of 1 (first) and 2 (follow-up). 3 and 4 mean that
#: only under an attendance header; elsewhere, like 0 or 5, they are listed, not guessed.
_FLAG_CODES = {"1": NEW, "2": FOLLOWUP}
_ATTENDANCE_CODES = {**_FLAG_CODES, "3": NEW, "4": FOLLOWUP}
#: Yes/no words: what they mean depends on the header ("Initial Appointment" vs
#: "FollowUpAppointment"); a header naming both sides, or neither, leaves them undecided.
_YES = frozenset({"y", "yes", "true", "t", "x", "tick", "ticked"})
_NO = frozenset({"n", "no", "false", "f"})
_TICK_MARKS = frozenset("✓✔☑✅")
#: Camel-case word boundaries (`CoreNew`, `NewCore`, `CAMHSCore`) become spaces before the
#: word rules run; runs of capitals (`SCORE`) are left whole.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: The Core rule: `core` at the start of a word once camel case is split, i.e. not preceded by
#: a letter (`Core-Partnership`, `CoreNew`, `NewCore`, `CP core`) but not inside a word
#: (`Score`, `scored`, `encore`, `SCORE`).
_CORE = re.compile(r"(?<![a-z])core")
#: Trackers' Ch / CP / SP as words of a longer type text (`CP NP`, `SP ADOS f/u`).
_TRACKER_CHOICE = re.compile(r"\bch\b")
_TRACKER_CORE = re.compile(r"\bcp\b")
_TRACKER_SPECIFIC = re.compile(r"\bsp\b")


def value_key(text: str) -> str:
    """Case, spacing and punctuation-insensitive key; `05` and `5` are one code."""
    key = " ".join(re.sub(r"[^0-9a-z/]+", " ", text.lower()).split())
    if key.isdigit():
        return key.lstrip("0") or "0"
    return key


_OUTCOME_KEYS = {value_key(k): v for k, v in {**OUTCOME_CODES, **OUTCOME_TEXTS}.items()}
# Abbreviations written with dots or spaces (`W.N.B.`, `D N A`) meet their table entry here.
_OUTCOME_COMPACT = {k.replace(" ", ""): v for k, v in _OUTCOME_KEYS.items()}
_CANCEL = re.compile(r"\bcan[cx]|\bcx\b")
_AMBIGUOUS_KEYS = {value_key(k): v for k, v in AMBIGUOUS_OUTCOMES.items()}
#: "late" then "not seen" / "could not be seen", however worded (`Service User Arrived Late - Not Seen`).
_LATE_NOT_SEEN = re.compile(r"\blate\b.*\b(not|n t|couldn t) (be )?seen\b")
_KIND_KEYS = {value_key(k): v for k, v in KIND_TEXTS.items()}


@dataclass(frozen=True)
class Mapped:
    """Canonical values aligned with the input rows, plus the source texts no rule knew."""

    values: pd.Series  # canonical values; <NA> where the source cell was blank
    unknown: dict[str, int] = field(default_factory=dict)  # source text -> rows
    assumed: dict[str, int] = field(default_factory=dict)  # kinds only: follow-up by default
    unknown_flags: dict[str, int] = field(default_factory=dict)  # kinds only: new/FU column


def outcome_of(
    text: str, overrides: Mapping[str, str] | None = None, *, captnd: bool = False
) -> Outcome | None:
    """One source text → Outcome, or None when no rule recognises it or it is ambiguous.

    `captnd`: numbers are CAPTND ATTENDANCE_STATUS codes, not the NHS England ones.
    """
    key = value_key(text)
    if overrides and key in overrides:
        return Outcome(overrides[key])
    if key.isdigit():
        return CAPTND_OUTCOME_CODES.get(key) if captnd else OUTCOME_CODES.get(key)
    if key in _AMBIGUOUS_KEYS:
        return None
    if key in _OUTCOME_KEYS:
        return _OUTCOME_KEYS[key]
    if key.replace(" ", "") in _OUTCOME_COMPACT:
        return _OUTCOME_COMPACT[key.replace(" ", "")]
    if _LATE_NOT_SEEN.search(key):
        return Outcome.LATE_NOT_SEEN
    if _CANCEL.search(key):
        family = bool(_FAMILY_SIDE.search(key))
        service = bool(_SERVICE_SIDE.search(key))
        if family != service:
            return Outcome.CANCELLED_BY_CLIENT if family else Outcome.CANCELLED_BY_SERVICE
    return None


def outcome_question(text: str) -> str | None:
    """Why a text the systems print has no reading (the question for the manager), else None."""
    return _AMBIGUOUS_KEYS.get(value_key(text))


def is_outcome_text(text: str) -> bool:
    """A text an outcome column holds, whether or not it has a reading (for column profiling)."""
    return outcome_of(text) is not None or value_key(text) in _AMBIGUOUS_KEYS


def outcome_code_table(texts: Iterable[str]) -> str | None:
    """Which code table a column's numbers follow: "nhs" (England, MHSDS), "captnd" (Scotland),
    or None when it holds codes only one table has from both (every number is then listed)."""
    numbers = {k for k in (value_key(t) for t in texts) if k.isdigit()}
    captnd, england = bool(numbers & _CAPTND_ONLY), bool(numbers & _ENGLAND_ONLY)
    if captnd and england:
        return None
    return "captnd" if captnd else "nhs"


def classify_outcomes(raw: pd.Series, overrides: Mapping[str, str] | None = None) -> Mapped:
    """Outcome column → Outcome values. Unknown texts become `booked` (unknown) and are counted.

    The column's numbers are read by the one code table that explains them all (NHS England's
    or CAPTND's, which give 2, 3 and 5 different meanings); a column mixing both is listed.
    """
    keyed = _keyed_overrides(overrides)
    uniques, codes = _uniques(raw)
    table = outcome_code_table(uniques)
    found = [
        None if table is None and value_key(text).isdigit() and value_key(text) not in keyed
        else outcome_of(text, keyed, captnd=table == "captnd")
        for text in uniques
    ]
    unknown = _counts(uniques, codes, [o is None for o in found])
    values = [str(o) if o is not None else str(Outcome.BOOKED) for o in found]
    spread = pd.array(values, dtype="str").take(codes, allow_fill=True)
    return Mapped(values=pd.Series(spread, index=raw.index), unknown=unknown)


def kind_family(text: str, specific_names: Iterable[str] = ()) -> tuple[str, str | None]:
    """Type text → (family or Kind, new/follow-up or None) by the §3 word rules."""
    key = value_key(text)
    words = _word_key(text)
    names = [value_key(n) for n in specific_names if n.strip()]
    if key in _KIND_KEYS:
        family = _KIND_KEYS[key]
    elif "choice" in key or _TRACKER_CHOICE.search(key):
        return CHOICE, None
    elif "specific" in key or _TRACKER_SPECIFIC.search(key) or any(
        n in key or n in words for n in names
    ):
        family = SPECIFIC
    elif "partnership" in key or _CORE.search(words) or _TRACKER_CORE.search(key):
        family = CORE
    else:
        return OTHER, None
    if family in (CORE, SPECIFIC):
        return family, _newness(words)
    return family, None


def flag_newness(text: str, header: str, *, bits: bool = False) -> str | None:
    """A separate new/follow-up column's value → NEW / FOLLOWUP / None (listed as unknown).

    Numbers are codes (ConsType 01/02, First attendance 1-4), whatever the header says, unless
    `bits`: the column holds only 0 and 1, which no code table explains, so they are no/yes.
    Yes/no words take their meaning from the header; the words `new` / `follow up` in the
    cell decide by themselves.
    """
    key = _flag_key(text)
    if bits and key in ("0", "1"):
        key = "y" if key == "1" else "n"
    if key.isdigit():
        codes = _ATTENDANCE_CODES if "attend" in value_key(header) else _FLAG_CODES
        return codes.get(key)
    if key == "n" and _HEADER_N.search(value_key(header)):
        return NEW  # "N" under "N/FU" is "new"
    if key in _YES or key in _NO:
        side = header_side(header)
        if side is None:  # "New/Follow-up: Y" says nothing about which
            return None
        if key in _YES:
            return side
        return FOLLOWUP if side == NEW else NEW
    return _newness(_word_key(text))


def header_side(header: str) -> str | None:
    """What a "yes" in this new/follow-up column means: NEW for "Initial Appointment",
    FOLLOWUP for "FollowUpAppointment", None when the header names both sides or neither."""
    if _HEADER_N.search(value_key(header)):
        return None
    return _newness(_word_key(header))


def classify_kinds(
    types: pd.Series,
    flags: pd.Series | None = None,
    *,
    flag_header: str = "",
    overrides: Mapping[str, str] | None = None,
    flag_overrides: Mapping[str, str] | None = None,
    specific_names: Iterable[str] = (),
) -> Mapped:
    """Appointment type (and the optional new/follow-up column) → Kind values.

    A Core or Specific type whose newness neither its text nor the flag column decides is
    read as follow-up (it does not inflate new counts) and counted in `assumed`.
    """
    keyed = _keyed_overrides(overrides)
    specific_names = tuple(specific_names)
    uniques, codes = _uniques(types)
    families: list[str] = []
    newness: list[str | None] = []
    unknown: list[bool] = []
    for text in uniques:
        key = value_key(text)
        family, new = (keyed[key], None) if key in keyed else kind_family(text, specific_names)
        families.append(str(family))
        newness.append(new)
        unknown.append(family == OTHER and key not in keyed)

    flag_new: list[str | None] = [None]  # position -1: no flag column / a blank flag
    flag_codes = np.full(len(codes), -1)
    unknown_flags: dict[str, int] = {}
    if flags is not None:
        flag_new, flag_codes, unknown_flags = _flag_column(flags, flag_header, flag_overrides)

    # Decide once per distinct (type, flag) pair; exports have a few dozen such pairs.
    width = len(flag_new)
    pair_codes, pairs = pd.factorize((codes + 1) * width + (flag_codes + 1))
    kinds: list[str | None] = []
    undecided = np.zeros(len(pairs), dtype=bool)
    for i, pair in enumerate(pairs.tolist()):
        t, f = divmod(pair, width)
        if t == 0:  # blank type
            kinds.append(None)
            continue
        family, new = families[t - 1], newness[t - 1] or flag_new[f - 1]
        if family in (CORE, SPECIFIC):
            undecided[i] = new is None
            kinds.append(str(_FAMILY_KINDS[(family, new or FOLLOWUP)]))
        else:
            kinds.append(family)

    values = pd.Series(pd.array(kinds, dtype="str").take(pair_codes, allow_fill=True),
                       index=types.index)
    per_pair = np.bincount(pair_codes, minlength=len(pairs))
    assumed: dict[str, int] = {}
    for i in np.flatnonzero(undecided):
        text = uniques[pairs[i] // width - 1]
        assumed[text] = assumed.get(text, 0) + int(per_pair[i])
    return Mapped(
        values=values,
        unknown=_counts(uniques, codes, unknown),
        assumed=assumed,
        unknown_flags=unknown_flags,
    )


# --- multi-valued flag cells ------------------------------------------------------------------

#: Every item a real SystmOne "Appointments" report printed in its "Appointment flags" cells
#: (janduplessis883/access-es, ACCESS_Oct_25.csv at 8dff6e9), comma-separated, several per cell.
#: Only "Initial Appointment" says anything about new vs follow-up; the rest are known and silent.
FLAG_ITEMS: dict[str, str | None] = {
    "Initial Appointment": NEW,
    **dict.fromkeys(
        ("Appointment Confirmed", "Has QOF Alerts", "Telephone Appointment", "Embargoed Slot",
         "Notes Not Required", "Online Services Appointment", "Appointment Rebooked",
         "Outcome Recorded", "Waiting List Appointment", "SMS Reminder Sent", "Booked Admission",
         "Reserved Appointment"),
        None,
    ),
}
_FLAG_SPLIT = re.compile(r"\s*[,;|]\s*")


@dataclass(frozen=True)
class FlagList:
    """One flags cell read item by item."""

    newness: str | None  # NEW when an item says so (Initial Appointment), else None
    items: tuple[str, ...]
    unknown: tuple[str, ...]  # items no table knows and no new/follow-up word explains


def read_flag_list(text: str) -> FlagList:
    """`Appointment Confirmed, Initial Appointment` → FlagList(NEW, both items, ())."""
    items = tuple(i for i in _FLAG_SPLIT.split(text.strip()) if i)
    found: set[str] = set()
    unknown: list[str] = []
    for item in items:
        key = value_key(item)
        if key in _FLAG_KEYS:
            side = _FLAG_KEYS[key]
        else:
            side = _newness(_word_key(item))
            if side is None:
                unknown.append(item)
        if side is not None:
            found.add(side)
    newness = found.pop() if len(found) == 1 else None
    return FlagList(newness=newness, items=items, unknown=tuple(unknown))


def flag_list_newness(text: str) -> str | None:
    """The new/follow-up reading of one flags cell: NEW, FOLLOWUP or None (not stated)."""
    return read_flag_list(text).newness


def is_flag_list(text: str) -> bool:
    """A cell of the SystmOne flags kind: at least one item is a known flag."""
    return any(value_key(i) in _FLAG_KEYS for i in _FLAG_SPLIT.split(text.strip()) if i)


_FLAG_KEYS = {value_key(k): v for k, v in FLAG_ITEMS.items()}


def _newness(key: str) -> str | None:
    new = bool(_NEW_WORDS.search(key))
    follow = bool(_FOLLOWUP_WORDS.search(key))
    if new != follow:
        return NEW if new else FOLLOWUP
    return None


def _flag_column(
    flags: pd.Series, header: str, overrides: Mapping[str, str] | None
) -> tuple[list[str | None], np.ndarray, dict[str, int]]:
    """Newness per distinct flag value (the last entry for a blank cell), row codes, unknowns."""
    keyed = _keyed_overrides(overrides)
    uniques, codes = _uniques(flags)
    if any(is_flag_list(t) for t in uniques):
        return _flag_list_column(uniques, codes, keyed)
    keys = {_flag_key(t) for t in uniques}
    numbers = {k for k in keys if k.isdigit()}
    bits = "0" in numbers and numbers <= {"0", "1"}
    found = [keyed.get(value_key(t)) or flag_newness(t, header, bits=bits) for t in uniques]
    # A tick column ("Initial appointment": Y, ✓ or 1, else blank): blank means "no", i.e.
    # follow-up. A follow-up tick column's blank is left undecided (read as follow-up anyway,
    # but counted), so it never inflates new counts.
    blank = None
    if keys and keys <= _YES | {"1"} and header_side(header) == NEW:
        blank = FOLLOWUP
    unknown = _counts(uniques, codes, [f is None for f in found])
    return [*found, blank], codes, unknown


def _flag_list_column(
    uniques: list[str], codes: np.ndarray, keyed: Mapping[str, str]
) -> tuple[list[str | None], np.ndarray, dict[str, int]]:
    """A flags column: "Initial Appointment" somewhere in it means every other cell (blank
    included) is not initial, i.e. follow-up; a column that never says so decides nothing.
    Items no table knows are listed with the rows they occur in."""
    read = [read_flag_list(t) for t in uniques]
    says_new = any(r.newness == NEW for r in read)
    default = FOLLOWUP if says_new else None
    found = [keyed.get(value_key(t)) or r.newness or default for t, r in zip(uniques, read, strict=True)]
    per_unique = np.bincount(codes[codes >= 0], minlength=len(uniques))
    unknown: dict[str, int] = {}
    for i, r in enumerate(read):
        for item in r.unknown:
            unknown[item] = unknown.get(item, 0) + int(per_unique[i])
    return [*found, default], codes, unknown


def _word_key(text: str) -> str:
    """value_key with camel-case words split first: `FollowUpAppointment` → `follow up appointment`."""
    return value_key(_CAMEL.sub(" ", text))


def _flag_key(text: str) -> str:
    return "tick" if text.strip() in _TICK_MARKS else value_key(text)


def _keyed_overrides(overrides: Mapping[str, str] | None) -> dict[str, str]:
    return {value_key(k): v for k, v in (overrides or {}).items()}


def _uniques(raw: pd.Series) -> tuple[list[str], np.ndarray]:
    """Distinct non-blank texts and each row's position among them (-1 for blank).

    Stripped once per distinct text, then texts that differ only in spacing are merged.
    """
    codes, uniques = pd.factorize(raw.astype("str"))
    stripped = pd.Series(uniques, dtype="str").str.strip()
    merged, texts = pd.factorize(stripped.where(stripped != ""))
    # Position -1 (a blank cell) is looked up as the last entry, which is -1 too.
    remap = np.append(merged, -1)
    return [str(t) for t in texts], remap[np.asarray(codes)]


def _counts(uniques: list[str], codes: np.ndarray, flagged: list[bool]) -> dict[str, int]:
    if not any(flagged):
        return {}
    per_unique = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return {text: int(per_unique[i]) for i, text in enumerate(uniques) if flagged[i]}
