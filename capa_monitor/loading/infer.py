"""What each column holds, from its header's words and from its values: profile → score → assign.

Exports name the same field differently in every system and trust, and admins abbreviate; a
synonym list alone refuses whatever it has not seen. Here a header is read as a set of words
(abbreviations expanded, order, case and punctuation ignored), a sample of each column's values
is profiled (dates? outcome words? durations?), and the one-to-one assignment of columns to
fields that best explains both is chosen, each field with a confidence and a reason in words.
Used for activity exports (loading/__init__.py) and job plans (jobplans.py, with its own specs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from capa_monitor.loading.guard import column_letters
from capa_monitor.loading.headers import ACTIVITY_REQUIRED, ACTIVITY_SYNONYMS, Matcher, header_key
from capa_monitor.loading.parse import parse_dates
from capa_monitor.loading.vocab import (
    OTHER,
    flag_newness,
    is_flag_list,
    is_outcome_text,
    kind_family,
    outcome_of,
)
from capa_monitor.privacy import nhs_number_valid

# --- header words -----------------------------------------------------------------------------

#: Abbreviations exports and hand-kept trackers use, as data: word -> the words it stands for.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("appt", "appts", "apt", "apts", "appointments"), ("appointment",)),
    **dict.fromkeys(("wk", "wks", "weeks", "weekly", "pw"), ("week",)),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), ("hours",)),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), ("minutes",)),
    **dict.fromkeys(("dur", "durn"), ("duration",)),
    **dict.fromkeys(("no", "num", "nbr", "nr", "numb"), ("number",)),
    **dict.fromkeys(("clin", "clinicians"), ("clinician",)),
    **dict.fromkeys(("pt", "pts", "patients"), ("patient",)),
    **dict.fromkeys(("cp", "cps"), ("core", "partnership")),
    "sp": ("specific", "partnership"),
    "nfu": ("new", "followup"),
    "fu": ("followup",),
    **dict.fromkeys(("wte", "fte"), ("fte",)),
    **dict.fromkeys(("pa", "pas"), ("pa",)),
    **dict.fromkeys(("sess", "sessions", "sessns"), ("session",)),
    "cont": ("contact",),
    "prof": ("professional",),
    **dict.fromkeys(("dt", "dte"), ("date",)),
    "ref": ("reference",),
    "loc": ("location",),
    "desc": ("description",),
    "stat": ("status",),
    "att": ("attendance",),
    "yp": ("young", "person"),
    "flags": ("flag",),
    "types": ("type",),
    "dates": ("date",),
    "times": ("time",),
    "clients": ("client",),
    "teams": ("team",),
    "outcomes": ("outcome",),
}
#: Two words that are one (`follow up`, `f/u`, `re-offered`), joined before abbreviations.
JOINED: dict[tuple[str, ...], str] = {
    ("follow", "up"): "followup",
    ("f", "u"): "followup",
    ("n", "fu"): "nfu",
    ("re", "offered"): "reoffered",
    ("re", "booked"): "rebooked",
    ("non", "clinical"): "nonclinical",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])")
_WORD = re.compile(r"[a-z0-9]+")
_PLURAL_ACRONYM = re.compile(r"\b([A-Z]{2,})s\b")


def header_words(text: object) -> tuple[str, ...]:
    """`CareContBookedDate` → (care, contact, booked, date); `Appt. dur (mins)` → (appointment,
    duration, minutes); `N/FU` → (new, followup). Lower-case, in order, duplicates kept."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ()
    return _header_words(str(text))


@lru_cache(maxsize=16384)
def _header_words(text: str) -> tuple[str, ...]:
    # Once per distinct text: the header search asks for every cell of the top rows and field.
    plural_acronyms = _PLURAL_ACRONYM.sub(lambda m: m[1] + "S", str(text))  # PAs, not P As
    raw = _WORD.findall(_CAMEL.sub(" ", plural_acronyms).lower())
    joined: list[str] = []
    i = 0
    while i < len(raw):
        if i + 1 < len(raw) and (raw[i], raw[i + 1]) in JOINED:
            joined.append(JOINED[(raw[i], raw[i + 1])])
            i += 2
        else:
            joined.append(raw[i])
            i += 1
    return tuple(w for word in joined for w in ABBREVIATIONS.get(word, (word,)))


def words(text: str) -> frozenset[str]:
    """A word pattern written as text: `words("appt booked date")`."""
    return frozenset(header_words(text))


# --- value kinds and column profiles ----------------------------------------------------------

DATE, DATETIME, TIME, TIME_BAND = "date", "datetime", "time", "time_band"
DURATION, INTERVAL, NUMBER = "duration", "interval", "number"
OUTCOME, OUTCOME_CODE, TYPE = "outcome", "outcome_code", "type"
FLAG_LIST, NEWNESS, YES_NO = "flag_list", "newness", "yes_no"
NAME, ID, NHS = "name", "id", "nhs_number"

#: How a value kind is said in a reason.
KIND_WORDS: dict[str, str] = {
    DATE: "dates", DATETIME: "dates with times", TIME: "times", TIME_BAND: "time bands",
    DURATION: "durations", INTERVAL: "booking intervals", NUMBER: "numbers",
    OUTCOME: "outcome words", OUTCOME_CODE: "outcome codes", TYPE: "appointment types",
    FLAG_LIST: "lists of flags", NEWNESS: "new/follow-up words", YES_NO: "yes/no",
    NAME: "person names", ID: "codes", NHS: "NHS numbers",
}
#: Kinds clear enough that a column holding mostly them contradicts a header naming another field.
DECISIVE_KINDS = (DATE, TIME, TIME_BAND, DURATION, INTERVAL, OUTCOME, TYPE, NHS, YES_NO, FLAG_LIST)

FIRST_ROWS, SPREAD_ROWS = 500, 1500  # the sample: the first rows plus rows evenly spaced after
MAX_DISTINCT = 200  # distinct values examined per column (high-cardinality columns: a spread)

_DIGITS = re.compile(r"^\d+(?:\.\d+)?$")
_DATE_LIKE = re.compile(r"\d{1,4}[-/.\s]\s*(?:\d{1,2}|[a-z]{3,9})[-/.\s]\s*\d{2,4}", re.I)
_TIME_BAND = re.compile(
    r"^\s*(\d{1,2}[:.]\d{2})\s*([ap]\.?m\.?)?\s*(?:-|–|—|to)\s*(\d{1,2}[:.]\d{2})\s*([ap]\.?m\.?)?\s*$",
    re.I,
)
_CLOCKISH = re.compile(r"^\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?$", re.I)
_DURATION_TEXT = re.compile(
    r"^\s*(?:\d+(?:\.\d+)?\s*h(?:ours?|rs?)?\s*)?(?:\d+\s*m(?:in(?:ute)?s?)?\s*)?$"
    r"|^\s*\d{1,2}:\d{2}(?::00)?\s*$",
    re.I,
)
_INTERVAL = re.compile(
    r"^\s*(?:\d+\s*(?:w|wk|wks|weeks?|d|dys?|days?|h|hrs?|hours?|m|mins?|minutes?|mths?|months?)"
    r"\b[\s,]*)+$",
    re.I,
)
_NAME = re.compile(
    r"^(?:(?:dr|mr|mrs|ms|miss|mx|prof)\.?\s+)?[a-z][a-z'’\-]*\.?(?:\s+[a-z][a-z'’\-]*\.?){1,3}"
    r"(?:\s*\([a-z .]+\))?$"
    r"|^[a-z][a-z'’\-]+\s*,\s*[a-z][a-z'’\-]*\.?(?:\s+[a-z][a-z'’\-]*\.?){0,2}(?:\s*\([a-z .]+\))?$",
    re.I,
)
_CODE = re.compile(r"^[A-Za-z]{0,6}[-_/]?\d[0-9A-Za-z\-_/]+$")
_YES_NO = frozenset({"y", "yes", "n", "no", "true", "false", "t", "f", "x", "✓", "✔"})
_LIST_SPLIT = re.compile(r"\s*[;,|]\s*")


@dataclass(frozen=True)
class ColumnProfile:
    """What a sample of one column's non-blank values looks like."""

    count: int  # non-blank values sampled
    distinct: int  # distinct among them
    #: the set of value kinds a value is (empty: none) -> share of `count` with exactly that set
    signatures: dict[frozenset[str], float] = field(default_factory=dict)
    rows: int = 0  # cells sampled, blank ones included

    @property
    def filled(self) -> float:
        """Share of the sampled cells that are not blank."""
        return self.count / self.rows if self.rows else 1.0

    def share(self, kind: str) -> float:
        """Share of the values that are (among other things) `kind`."""
        return sum(w for kinds, w in self.signatures.items() if kind in kinds)

    def support(self, kinds: Iterable[str]) -> float:
        """Share of the values that are any of `kinds`."""
        wanted = set(kinds)
        return sum(w for found, w in self.signatures.items() if found & wanted)

    @property
    def shares(self) -> dict[str, float]:
        """value kind -> share, for kinds that occur."""
        return {k: self.share(k) for k in KIND_WORDS if self.share(k)}

    def dominant(self) -> str | None:
        """The decisive kind at least 80 % of the values are, if any."""
        best = max(DECISIVE_KINDS, key=self.share)
        return best if self.share(best) >= 0.8 else None


def sample_rows(n: int) -> np.ndarray:
    """Row positions profiled out of `n`: the first 500, then 1,500 evenly spaced."""
    if n <= FIRST_ROWS + SPREAD_ROWS:
        return np.arange(n)
    spread = np.linspace(FIRST_ROWS, n - 1, SPREAD_ROWS).astype(np.int64)
    return np.unique(np.concatenate([np.arange(FIRST_ROWS), spread]))


def profile_column(values: pd.Series | Sequence[object]) -> ColumnProfile:
    """Shares of the (already sampled) values that read as each value kind.

    Each distinct text is judged once and weighted by how often it occurs; a column with
    many distinct texts is judged on an even spread of MAX_DISTINCT of them.
    """
    cells = pd.Series(values, dtype="object")
    series = cells.dropna().astype(str).str.strip()
    series = series[series != ""]
    if series.empty:
        return ColumnProfile(0, 0, rows=len(cells))
    counts = series.value_counts(sort=False)
    distinct = len(counts)
    if distinct > MAX_DISTINCT:
        counts = counts.iloc[np.linspace(0, distinct - 1, MAX_DISTINCT).astype(np.int64)]
    texts = counts.index.astype(str).tolist()
    weights = counts.to_numpy(dtype=float)
    hits = _kinds_of(texts)
    total = weights.sum()
    signatures: dict[frozenset[str], float] = {}
    for i, weight in enumerate(weights):
        found = frozenset(kind for kind, mask in hits.items() if mask[i])
        signatures[found] = signatures.get(found, 0.0) + float(weight / total)
    return ColumnProfile(len(series), distinct, signatures, rows=len(cells))


def _kinds_of(texts: list[str]) -> dict[str, np.ndarray]:
    """Per value kind, which of the distinct texts are of that kind."""
    n = len(texts)
    kinds = {k: np.zeros(n, dtype=bool) for k in KIND_WORDS}
    date_like = [i for i, t in enumerate(texts) if _DATE_LIKE.search(t) and not _DIGITS.match(t)]
    if date_like:
        parsed, times = parse_dates(pd.Series([texts[i] for i in date_like], dtype="str"))
        ok = parsed.notna().to_numpy()
        kinds[DATE][np.array(date_like)[ok]] = True
        kinds[DATETIME][np.array(date_like)[ok & times.notna().to_numpy()]] = True
    for i, text in enumerate(texts):
        if kinds[DATE][i]:
            continue
        lower = text.lower()
        if _DIGITS.match(text):
            kinds[NUMBER][i] = True
            if len(text) == 10 and nhs_number_valid(text):
                kinds[NHS][i] = True
            if outcome_of(text) is not None and len(text) <= 2:
                kinds[OUTCOME_CODE][i] = True
            if len(text) >= 3:
                kinds[ID][i] = True
            continue
        if _CLOCKISH.match(text):
            kinds[TIME][i] = True
        if _TIME_BAND.match(text):
            kinds[TIME_BAND][i] = True
        if any(c.isdigit() for c in text):
            if _DURATION_TEXT.match(text) and not (kinds[TIME][i] and int(re.split(r"[:.]", text)[0]) > 4):
                kinds[DURATION][i] = True
            if _INTERVAL.match(text):
                kinds[INTERVAL][i] = True
            if re.fullmatch(r"\d{3}\s?\d{3}\s?\d{4}", text) and nhs_number_valid(text):
                kinds[NHS][i] = True
            elif _CODE.match(text) and not kinds[TIME][i]:
                kinds[ID][i] = True
            continue
        if lower in _YES_NO:
            kinds[YES_NO][i] = True
            continue
        if is_outcome_text(text):  # ambiguous ones too: they are what an outcome column holds
            kinds[OUTCOME][i] = True
            continue
        if kind_family(text)[0] != OTHER:
            kinds[TYPE][i] = True
        items = [s for s in _LIST_SPLIT.split(text) if s]
        newness = [flag_newness(s, "") for s in items]
        if any(newness):
            kinds[NEWNESS][i] = True
        if len(items) > 1 and (not _NAME.match(text) or any(newness)) or is_flag_list(text):
            kinds[FLAG_LIST][i] = True
        elif not kinds[TYPE][i] and not kinds[NEWNESS][i] and _NAME.match(text):
            kinds[NAME][i] = True
    return kinds


# --- field specs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field: how headers name it and what its values look like."""

    name: str
    label: str  # as a manager says it
    synonyms: tuple[str, ...] = ()  # exact header texts (header_key equality)
    patterns: tuple[frozenset[str], ...] = ()  # word sets that must all appear in a header
    excludes: frozenset[str] = frozenset()  # a header with any of these words is not this field
    values: tuple[str, ...] = ()  # value kinds that support it
    finds: tuple[str, ...] = ()  # value kinds that find it with no header (required fields)
    required: bool = False
    dense: bool = False  # every row has one: a mostly blank column is not it


def _spec(name: str, label: str, patterns: str, excludes: str = "", values: str = "",
          finds: str = "") -> FieldSpec:
    return FieldSpec(
        name=name,
        label=label,
        synonyms=ACTIVITY_SYNONYMS[name],
        patterns=tuple(words(p) for p in patterns.split("|") if p.strip()),
        excludes=words(excludes),
        values=tuple(values.split()),
        finds=tuple(finds.split()),
        required=name in ACTIVITY_REQUIRED,
        dense=name in ("date", "clinician", "kind"),  # a row without them is no appointment
    )


#: The activity fields (every key of headers.ACTIVITY_SYNONYMS), in the order ties go.
ACTIVITY_FIELDS: tuple[FieldSpec, ...] = (
    _spec("date", "Appointment date",
          "appointment date|contact date|session date|diary date|slot date|date|when",
          "booked booking made created birth dob rota referral discharge end due entered "
          "modified run report printed between",
          "date datetime", "date"),
    _spec("clinician", "Clinician",
          "clinician|professional|staff|practitioner|hcp|therapist|seen by|worker|clinician name"
          "|session holder|holder",
          "team id code number type grade role duration date time count location",
          "name", "name"),
    _spec("kind", "Appointment type",
          "appointment type|contact type|session type|slot type|clinic type|activity|rota type"
          "|type|capa type|appointment category",
          "new followup first initial outcome status attendance consultation medium mechanism id",
          "type", "type"),
    _spec("outcome", "Outcome (attended, DNA, cancelled…)",
          "outcome|attendance|attend|status",  # never value words (Attended, DNA): data rows
          "date time reason type code comment category",
          "outcome outcome_code", "outcome"),
    _spec("booked_on", "Date booked",
          "booked date|booking date|appointment made date|date made|booked on|created date"
          "|appointment booked|appointment created",
          "between time duration length", "date datetime"),
    _spec("start", "Start time",
          "start time|appointment time|time|slot time|time band|time slot",
          "between booking booked end finish duration length wait waiting arrived seen date",
          "time time_band datetime"),
    _spec("team", "Team",
          "team|team name|team id|team code|clinic|service|service team",
          "type status outcome clinician",
          ""),
    _spec("new_followup", "New or follow-up",
          "new followup|first appointment|initial appointment|first attendance|followup"
          "|new appointment|flag|first contact|initial contact|attendance category|new return",
          "date time",
          "yes_no flag_list newness number"),
    _spec("slot_id", "Appointment id",
          "appointment id|contact id|slot id|booking id|event id|appointment number"
          "|appointment reference|activity id",
          "patient client person nhs team staff",
          "id number"),
    _spec("nhs_number", "NHS number", "nhs|nhs number", "", "nhs_number number", "nhs_number"),
    _spec("client_id", "Patient id",
          "patient id|client id|patient number|client number|person id|rio id|mrn|hospital number"
          "|patient identifier|local patient id|system id|service user id|service user number"
          "|upcn|chi|chi number|client reference|patient reference",
          "nhs team count appointment contact",
          "id number"),
    _spec("client_name", "Patient name",
          "patient name|client name|service user|child name|young person name",
          "id number count clinician",
          "name"),
    _spec("duration_min", "Duration (minutes)",
          "duration|length|minutes|duration booked|booked length|slot length|planned duration",
          "between booking travel",
          "duration number"),
    _spec("booking_lag", "Time between booking and appointment",
          "time between booking|booking lead time|lead time|days booked ahead|booking interval"
          "|wait booking",
          "",
          "interval number"),
    _spec("reoffered", "Slot re-offered",
          "reoffered|rebooked|offered again", "", "yes_no"),
)


# --- the assignment ---------------------------------------------------------------------------

#: Words saying a column is about some other appointment or person than the row's own
#: ("Second clinician", "Previous outcome", "Referral date"): no word pattern matches it.
QUALIFIERS = words("second 2nd third previous prev other referring referral last next prior "
                   "original secondary additional alternative")

MANUAL, PROFILE, HEADER, HEADER_VALUES, VALUES = "manual", "profile", "header", "header+values", "values"
#: Below this a field's reading is weak: a required field found so is a doubt for the manager.
WEAK_CONFIDENCE = 0.6
_FINDS_SHARE = 0.6  # share of a column's values that must be of a `finds` kind
_MIN_VALUES = 3  # fewer sampled values say nothing either way


@dataclass(frozen=True)
class FieldChoice:
    field: str
    column: int  # position in the header row
    header: str
    by: str  # MANUAL | PROFILE | HEADER | HEADER_VALUES | VALUES
    confidence: float  # 0..1
    reason: str

    @property
    def weak(self) -> bool:
        return self.by == VALUES or self.confidence < WEAK_CONFIDENCE


@dataclass(frozen=True)
class Assignment:
    fields: dict[str, FieldChoice]  # field -> its column, in field-spec order
    unused: tuple[int, ...]  # positions of columns with a header or values that no field uses
    headers: tuple[str, ...]
    not_found: dict[str, str] = field(default_factory=dict)  # manual/saved field -> absent header

    def columns(self) -> dict[str, int]:
        return {name: choice.column for name, choice in self.fields.items()}

    def missing(self, specs: Iterable[FieldSpec]) -> list[str]:
        """Required fields with no column."""
        return [s.name for s in specs if s.required and s.name not in self.fields]

    def unused_headers(self) -> list[str]:
        return [column_label(self.headers, pos) for pos in self.unused]


def column_label(headers: Sequence[str], pos: int) -> str:
    """The header text, or `(column F, no header)` for a blank one."""
    text = headers[pos] if pos < len(headers) else ""
    return text or f"(column {column_letters(pos + 1)}, no header)"


@lru_cache(maxsize=16384)
def header_score(spec: FieldSpec, text: str) -> tuple[float, str]:
    """How well a header names the field: 1.0 an exact synonym (earlier ones a little higher),
    0.6–0.9 a word pattern (the more of the header's words it explains, the higher), else 0."""
    key = header_key(text)
    if not key:
        return 0.0, ""
    for priority, synonym_key in enumerate(_synonym_keys(spec)):
        if synonym_key == key:
            return 1.0 - 0.001 * priority, f"the header {text!r} is a known name for it"
    found = set(header_words(text))
    if found & spec.excludes:
        return 0.0, ""
    best = 0.0
    for pattern in spec.patterns:
        # A qualifier the pattern itself names ("last day") is part of the field's name.
        if pattern <= found and not (found & QUALIFIERS) - pattern:
            best = max(best, 0.6 + 0.3 * len(pattern) / len(found))
    if not best:
        return 0.0, ""
    return round(best, 3), f"the header {text!r} has the words for it"


@lru_cache(maxsize=256)
def _synonym_keys(spec: FieldSpec) -> tuple[str, ...]:
    """header_key of the field's synonyms and then its name, in priority order."""
    return tuple(header_key(synonym) for synonym in (*spec.synonyms, spec.name))


def header_matcher(specs: Sequence[FieldSpec]) -> Matcher:
    """headers.find_header's row matcher by header words alone (values come later, in
    `assign`): each column to the field its header scores best, one column per field."""

    def match(texts: list[str], alternatives: list[list[str]] | None) -> dict[str, int]:
        candidates = []
        for order, spec in enumerate(specs):
            for pos, text in enumerate(texts):
                tries = alternatives[pos] if alternatives else [text]
                score = max((header_score(spec, t)[0] for t in tries if t), default=0.0)
                if score:
                    candidates.append((-score, order, pos, spec.name))
        found: dict[str, int] = {}
        for _, _, pos, name in sorted(candidates):
            if name not in found and pos not in found.values():
                found[name] = pos
        return {name: pos for name, pos in sorted(found.items(), key=lambda kv: kv[1])}

    return match


def assign(
    specs: Sequence[FieldSpec],
    headers: Sequence[str],
    profiles: Sequence[ColumnProfile | None],
    manual: Mapping[str, str] | None = None,
    saved: Mapping[str, str] | None = None,
) -> Assignment:
    """The one-to-one assignment of columns to fields that best explains headers and values.

    `manual` (field -> header, given by the user now) and `saved` (a mapping profile's) are
    taken first, manual winning; a field mapped to "" is one the file lacks (never inferred). Then every (field, column) pair is scored and the best pairs
    taken greedily, highest score first, ties to the earlier field then the leftmost column.
    """
    headers = tuple(headers)
    profiles = list(profiles) + [None] * (len(headers) - len(profiles))
    by_name = {s.name: s for s in specs}
    chosen: dict[str, FieldChoice] = {}
    taken: set[int] = set()
    not_found: dict[str, str] = {}
    keys = [header_key(h) for h in headers]
    absent: set[str] = set()  # fields mapped to "": the file has no such column
    for source, given in ((MANUAL, manual or {}), (PROFILE, saved or {})):
        for name, text in given.items():
            if name in chosen or name in absent or name not in by_name:
                continue
            if not text.strip():
                absent.add(name)
                continue
            pos = next((i for i, k in enumerate(keys) if k and k == header_key(text) and i not in taken), None)
            if pos is None:
                not_found[name] = text
                continue
            chosen[name] = _given(by_name[name], source, pos, headers[pos], profiles[pos])
            taken.add(pos)

    candidates: list[tuple[float, int, int, FieldChoice]] = []
    for order, spec in enumerate(specs):
        if spec.name in chosen or spec.name in absent:
            continue
        for pos, text in enumerate(headers):
            if pos in taken:
                continue
            choice = _score(spec, pos, text, profiles[pos])
            if choice is not None:
                rank, made = choice
                candidates.append((-rank, order, pos, made))
    for _, _, pos, made in sorted(candidates, key=lambda c: c[:3]):
        if made.field in chosen or pos in taken:
            continue
        chosen[made.field] = made
        taken.add(pos)

    ordered = {s.name: chosen[s.name] for s in specs if s.name in chosen}
    unused = tuple(
        pos
        for pos, text in enumerate(headers)
        if pos not in taken and (text or (profiles[pos] is not None and profiles[pos].count))
    )
    return Assignment(ordered, unused, headers, not_found)


def _given(spec: FieldSpec, source: str, pos: int, text: str, profile: ColumnProfile | None) -> FieldChoice:
    who = "you mapped it" if source == MANUAL else "the saved profile maps it"
    contradiction = _contradiction(spec, profile)
    if contradiction:
        return FieldChoice(spec.name, pos, text, source, 0.5, f"{who}, {contradiction}")
    return FieldChoice(spec.name, pos, text, source, 1.0, who)


def _score(
    spec: FieldSpec, pos: int, text: str, profile: ColumnProfile | None
) -> tuple[float, FieldChoice] | None:
    """(rank, choice) for one field and one column, or None when nothing links them."""
    score, reason = header_score(spec, text)
    checked = profile is not None and profile.count >= _MIN_VALUES and bool(spec.values)
    support = profile.support(spec.values) if checked else None
    if score:
        contradiction = _contradiction(spec, profile)
        if contradiction:
            confidence = score * 0.5
            return confidence, FieldChoice(
                spec.name, pos, text, HEADER, round(confidence, 2), f"{reason}, {contradiction}"
            )
        if support is not None and support >= 0.8:
            confidence = min(1.0, score + 0.1)
            return confidence, FieldChoice(
                spec.name, pos, text, HEADER_VALUES, round(confidence, 2),
                f"{reason} and {support:.0%} of its values are {_kind_words(spec.values, profile)}",
            )
        return score, FieldChoice(spec.name, pos, text, HEADER, round(score, 2), reason)
    if not spec.finds or profile is None or profile.count < _MIN_VALUES:
        return None
    if set(header_words(text)) & (spec.excludes | QUALIFIERS):
        return None  # "Date of birth" holds dates, and says they are not appointment dates
    found = profile.support(spec.finds)
    if found < _FINDS_SHARE:
        return None
    confidence = round(0.5 * found, 2)
    shown = repr(text) if text else f"column {column_letters(pos + 1)}"
    return 0.55 * found, FieldChoice(
        spec.name, pos, text, VALUES, confidence,
        f"no header names it; {found:.0%} of the values in {shown} are "
        f"{_kind_words(spec.finds, profile)}",
    )


def _contradiction(spec: FieldSpec, profile: ColumnProfile | None) -> str:
    """Words saying the values are clearly something else, or "" when they are not."""
    if profile is None:
        return ""
    if spec.dense and profile.rows >= _MIN_VALUES and profile.filled < 0.5:
        return f"but {1 - profile.filled:.0%} of its cells are blank"
    if profile.count < _MIN_VALUES or not spec.values:
        return ""
    dominant = profile.dominant()
    if dominant is None or dominant in spec.values or profile.support(spec.values) >= 0.5:
        return ""
    return f"but {profile.share(dominant):.0%} of its values are {KIND_WORDS[dominant]}"


def _kind_words(kinds: Sequence[str], profile: ColumnProfile) -> str:
    """`durations or numbers`: the kinds present, commonest first."""
    present = sorted((k for k in kinds if profile.share(k)), key=lambda k: -profile.share(k))
    return " or ".join(KIND_WORDS[k] for k in present[:2]) or KIND_WORDS[kinds[0]]


def profile_columns(body: pd.DataFrame) -> list[ColumnProfile]:
    """A profile of every column of the rows below a header, on the sample rows."""
    sample = body.iloc[sample_rows(len(body))]
    return [profile_column(sample.iloc[:, i]) for i in range(sample.shape[1])]

