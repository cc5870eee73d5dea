"""Synthetic demo team and activity generator: the data the demo, the tests and the benchmarks use.

Two jobs, both deterministic (numpy ``Generator`` with fixed seeds, fixed workbook metadata):

* **The demo team** "Northfield CAMHS" (invented): 8 clinicians, activity 1 Apr – 20 Nov 2026 with
  outcomes and future bookings to 18 Dec 2026, simulated as a CAPA pull system (Choice → next free
  Core Partnership slot with any clinician → follow-ups; Specific work added after Core). The
  seed was chosen so the 2026/27 Q2 and Q3 reviews show the designed mix (tests/test_sample.py
  checks it): O'Neill green; McDonald amber; Raman red with a heavy, drifting Specific load (M3,
  M4); Reid red in Q2 (kept half his new Core slots off the booking list); Okafor leaving on
  13 Nov and taking no new Core from 12 Oct (M6); Hartley a locum with no job plan (no_target);
  Marsh job-planned from 30 Nov with no activity; Whitfield with an explicit Q3 target; lost
  slots of every M2 status; Choice → Core waits of 1–10 weeks.
  ``demo_truth()`` is the canonical frame; ``write_sample_data(folder)`` writes it in three
  export styles plus job plans:

  ============  ===================================  ==============================================
  style         file                                 canonical columns it lacks
  ============  ===================================  ==============================================
  diary         northfield_diary.xlsx                team (set at upload: "Northfield CAMHS")
  appointments  northfield_appointments.xlsx         reoffered (no re-offered marker)
  mhsds         northfield_mhsds.csv (cp1252, CRLF)  reoffered, booked_on
  ============  ===================================  ==============================================

  All three carry exactly the same rows (same slot ids, dates, start times, kinds, outcomes,
  durations, clients). Client identity: every style has the NHS number (10 plain digits, the
  client identifier to pseudonymise); the mhsds style also has ``LocalPatientId``. Exactly one NHS
  number (one row) fails the Modulus 11 check on purpose: ``DEMO_INVALID_NHS_NUMBER``. In the
  appointments style surnames are upper case (``MCDONALD, Hamish``, ``RAMAN, Priya (Dr)``) except
  on non-client rows (team meetings), keyed by admin in mixed case (``McDonald, Hamish``), so the
  source spells every name properly somewhere. Start times: diary and appointments ``HH:MM``,
  mhsds ``HH:MM:SS``. The mhsds style writes a free slot as ``AttendOrDNACode`` "Unbooked" (the
  NHS code list has no code for it) and a future booking as a blank code.

* **Benchmark data** (issue 7): ``generate_activity`` builds a large multi-team frame with numpy
  and pyarrow only, and ``write_diary_xlsx`` streams a diary-style workbook straight as
  SpreadsheetML (shared strings, date serials, no per-cell references): 1M rows in ~5 s and
  28 MB, where openpyxl's write-only mode takes minutes.

Frames from this module have the canonical columns of ``model.ACTIVITY_COLUMNS`` except that
``client_key`` is replaced by ``client_ref`` (a synthetic client reference such as ``C0000042``;
the writers turn it into an NHS number from the 999 test range, see ``nhs_numbers_for``, unless
the frame has an ``nhs_number`` column), plus a ``detail`` column (the Specific intervention,
e.g. "ADOS", or the non-client activity, e.g. "Team meeting") that the writers use for the
appointment-type text. ``source_row`` is the row in the diary style (header on row 4, first
appointment on row 5).

Run ``python -m capa_monitor.sample [FOLDER]`` to regenerate ``sample_data/`` byte for byte.
"""
from __future__ import annotations

import bisect
import functools
import io
import math
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from capa_monitor import model
from capa_monitor.model import Kind
from capa_monitor.periods import public_holidays
from capa_monitor.plan_targets import canonical_plans

TEAM = "Northfield CAMHS"
FIRST_DAY = date(2026, 4, 1)
AS_OF = date(2026, 11, 20)  # last day with outcomes: the expected as-of date of the review
LAST_BOOKED_DAY = date(2026, 12, 18)
RUN_DATE = date(2026, 11, 23)
SEED = 19  # chosen so the review shows the designed mix (tests check it)

SAMPLE_FILES: dict[str, str] = {
    "diary": "northfield_diary.xlsx",
    "appointments": "northfield_appointments.xlsx",
    "mhsds": "northfield_mhsds.csv",
    "jobplans": "northfield_jobplans.xlsx",
}

# Frames here: canonical columns, client_ref in place of client_key, plus detail.
CLIENT_REF = "client_ref"
DETAIL = "detail"
FRAME_COLUMNS: tuple[str, ...] = tuple(
    CLIENT_REF if c == model.CLIENT_KEY else c for c in model.ACTIVITY_COLUMNS
) + (DETAIL,)

_FIXED_ZIP_TIME = (2026, 11, 23, 7, 0, 0)
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

# --------------------------------------------------------------------------------------------
# NHS numbers from the 999 test range


def nhs_check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of 9-digit integers; 10 means no valid number has that stem."""
    stems = np.asarray(first_nine, dtype=np.int64)
    total = np.zeros_like(stems)
    for position, weight in enumerate(range(10, 1, -1)):
        total += ((stems // 10 ** (8 - position)) % 10) * weight
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


@functools.cache
def _valid_test_numbers() -> np.ndarray:
    stems = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
    check = nhs_check_digit(stems)
    keep = check != 10
    return stems[keep] * 10 + check[keep]


def nhs_numbers_for(client_refs: pd.Series) -> pd.Series:
    """The NHS number (10-digit text, 999 range, valid check digit) of each ``C<digits>`` ref."""
    valid = _valid_test_numbers()
    refs = pa.array(client_refs.astype("str"), type=pa.string(), from_pandas=True)
    serial = pc.cast(pc.utf8_slice_codeunits(refs, 1), pa.int64()).to_numpy(zero_copy_only=False)
    missing = np.isnan(serial) if serial.dtype.kind == "f" else np.zeros(len(serial), bool)
    index = np.where(missing, 0, serial).astype(np.int64)
    # Offset and stride spread the numbers out so neighbouring clients do not look sequential.
    numbers = valid[(index * 7 + 1234) % len(valid)].astype(str)
    out = pd.Series(numbers, index=client_refs.index, dtype="str")
    return out.where(~missing)


def _local_ids_for(client_refs: pd.Series) -> pd.Series:
    return "NF" + client_refs.str.slice(1).str.zfill(7)


# --------------------------------------------------------------------------------------------
# Working days


def working_days(start: date, end: date) -> list[date]:
    """Monday–Friday from start to end inclusive, minus England bank holidays."""
    bank = set(public_holidays(start.year, end.year).tolist())
    days = pd.bdate_range(start, end)
    return [d.date() for d in days if d.date() not in bank]


def _working_day_array(start: date, n_days: int) -> np.ndarray:
    return np.busday_offset(
        np.datetime64(start, "D"),
        np.arange(n_days),
        roll="forward",
        holidays=public_holidays(start.year, start.year + n_days // 200 + 2),
    )


# --------------------------------------------------------------------------------------------
# The demo team: who works when


@dataclass(frozen=True)
class _Weekly:
    """One recurring diary slot: weekday 0=Mon, group choice/core_new/core_fu/specific/other."""

    weekday: int
    time: str
    group: str
    detail: str = ""
    parity: int | None = None  # ISO week number parity for fortnightly slots
    reserved: bool = False  # kept for one long-running Specific client
    from_day: date = FIRST_DAY


@dataclass(frozen=True)
class _Clinician:
    forename: str
    surname: str
    title: str | None
    weekly: tuple[_Weekly, ...]
    active_from: date = FIRST_DAY
    active_to: date = LAST_BOOKED_DAY
    leave: tuple[tuple[date, date], ...] = ()
    no_new_core_from: date | None = None  # stops offering new Core Partnership slots (M6)
    withheld: tuple[date, date, float] | None = None  # share of core_new slots never released
    marks_rebooked: bool = False  # their admin fills the diary's "Rebooked" column
    reoffers: float = 0.0  # chance they offer a lost new Core slot to the waiting list

    @property
    def name(self) -> str:
        return f"{self.forename} {self.surname}"


def _week(*entries: tuple) -> tuple[_Weekly, ...]:
    return tuple(_Weekly(*e) for e in entries)


_MEETINGS = (
    (2, "09:00", "other", "Team meeting"),
    (4, "12:00", "other", "Consultation", 1),
)

DEMO_CLINICIANS: tuple[_Clinician, ...] = (
    _Clinician(
        "Aoife", "O'Neill", None,
        _week(
            (0, "09:30", "choice"), (0, "11:00", "core_new"), (0, "14:00", "core_fu"),
            (0, "15:30", "core_fu"), (1, "09:30", "core_fu"), (1, "11:00", "core_fu"),
            (1, "14:00", "specific", "Family Therapy", 1), (2, "11:00", "core_fu"),
            (2, "14:00", "core_fu"), (3, "09:30", "choice"), (3, "11:00", "core_fu"),
            (3, "14:00", "core_new", "", 0), (4, "10:00", "core_fu"), (4, "14:00", "core_fu"),
            *_MEETINGS,
        ),
        leave=((date(2026, 8, 10), date(2026, 8, 21)),),
        marks_rebooked=True,
        reoffers=0.7,
    ),
    _Clinician(
        "Hamish", "McDonald", None,
        _week(
            (0, "10:00", "choice"), (0, "14:00", "core_fu"), (1, "09:30", "core_new"),
            (1, "11:00", "core_fu"), (1, "14:00", "core_fu"), (2, "11:00", "core_fu"),
            (2, "14:00", "core_fu"), (3, "10:00", "choice"), (3, "14:00", "core_fu"),
            (4, "10:00", "core_fu"), (4, "14:00", "specific", "Family Therapy", 0),
            *_MEETINGS,
        ),
        leave=((date(2026, 8, 3), date(2026, 8, 7)),),
        marks_rebooked=True,
        reoffers=0.6,
    ),
    _Clinician(
        "Priya", "Raman", "Dr",
        _week(
            (0, "09:30", "specific", "ADOS"), (0, "13:30", "specific", "ADOS"),
            (1, "09:30", "choice"), (1, "11:00", "core_new", "", 0), (1, "14:00", "core_fu"),
            (2, "10:00", "specific", "Psychometrics"), (2, "13:30", "specific", "Psychometrics"),
            (3, "09:30", "specific", "ADOS"), (3, "14:00", "specific", "Psychotherapy", None, True),
            (3, "15:30", "core_fu"), (4, "10:00", "specific", "Psychometrics"),
            (4, "14:00", "specific", "ADOS"),
            *_MEETINGS,
        ),
        leave=((date(2026, 8, 17), date(2026, 8, 28)),),
        reoffers=0.3,
    ),
    _Clinician(
        "Marcus", "Whitfield", "Dr",
        _week(
            (0, "14:00", "choice"), (1, "10:00", "core_new", "", 1), (1, "14:00", "core_fu"),
            (3, "10:00", "core_fu"), (3, "14:00", "core_fu"), (2, "09:00", "other", "Team meeting"),
        ),
        leave=((date(2026, 8, 3), date(2026, 8, 14)),),
    ),
    _Clinician(
        "Rachel", "Okafor", None,
        _week(
            (0, "09:30", "choice"), (0, "11:00", "core_new"), (0, "14:00", "core_fu"),
            (1, "10:00", "core_fu"), (1, "14:00", "core_fu"), (2, "11:00", "core_fu"),
            (2, "14:00", "core_fu"), (3, "09:30", "choice"), (3, "11:00", "core_fu"),
            (3, "14:00", "core_new", "", 1), (4, "10:00", "core_fu"), (4, "14:00", "core_fu"),
            *_MEETINGS,
        ),
        active_to=date(2026, 11, 13),
        leave=((date(2026, 7, 13), date(2026, 7, 24)),),
        no_new_core_from=date(2026, 10, 12),
        reoffers=0.5,
    ),
    _Clinician(
        "Callum", "Reid", None,
        _week(
            (0, "10:00", "choice"), (0, "14:00", "core_new"), (1, "10:00", "core_fu"),
            (1, "14:00", "core_fu"), (2, "11:00", "core_fu"), (2, "14:00", "core_fu"),
            (3, "10:00", "choice"), (3, "14:00", "core_new", "", 0), (4, "10:00", "core_fu"),
            (4, "14:00", "specific", "Family Therapy", 1),
            *_MEETINGS,
        ),
        leave=((date(2026, 9, 7), date(2026, 9, 11)),),
        withheld=(date(2026, 7, 1), date(2026, 9, 30), 0.6),
    ),
    _Clinician(
        "Zoë", "Hartley", None,
        _week(
            (0, "10:00", "choice"), (1, "10:00", "core_new"), (1, "14:00", "core_fu"),
            (2, "11:00", "core_fu"), (3, "10:00", "choice"), (3, "14:00", "core_fu"),
            (4, "10:00", "core_fu"), (2, "09:00", "other", "Team meeting"),
            # extra Choice clinics for the autumn rise in referrals
            (2, "14:00", "choice", "", None, False, date(2026, 9, 1)),
            (4, "14:00", "choice", "", None, False, date(2026, 9, 1)),
        ),
        active_from=date(2026, 6, 1),
        reoffers=0.7,
    ),
    _Clinician("Ellie", "Marsh", None, (), active_from=date(2026, 11, 30)),
)

# name, fte, choice/week, core, specific, non-clinical sessions, q3 target, start, leaving
_DEMO_PLANS: tuple[tuple, ...] = (
    ("Aoife O'Neill", 1.0, 2, 4, 0.5, 2, None, None, None),
    ("Hamish McDonald", 1.0, 2, 4, 0.5, 2, None, None, None),
    ("Priya Raman", 1.0, 1, 3, 2, 2, None, None, None),
    ("Marcus Whitfield", 0.6, 1, 2, 0, 2, 4, None, None),
    ("Rachel Okafor", 1.0, 2, 4, 0, 2, None, None, date(2026, 11, 13)),
    ("Callum Reid", 1.0, 2, 4, 0.5, 2, None, None, None),
    ("Ellie Marsh", 0.8, 2, 3, 0, 2, None, date(2026, 11, 30), None),
)

_OUTCOME_ODDS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    group: (
        ("attended", "dna", "late_not_seen", "cancelled_by_client", "cancelled_by_service"),
        odds,
    )
    for group, odds in {
        "choice": (0.82, 0.07, 0.02, 0.06, 0.03),
        "core_new": (0.80, 0.08, 0.02, 0.06, 0.04),
        "core_fu": (0.84, 0.06, 0.01, 0.05, 0.04),
        "specific": (0.88, 0.04, 0.0, 0.05, 0.03),
    }.items()
}
_EPISODE_SESSIONS = {"ADOS": (2, 3), "Psychometrics": (1, 3), "Family Therapy": (5, 9)}


@dataclass
class _Slot:
    clinician: int
    day: date
    time: str
    group: str
    detail: str
    minutes: int
    pool: bool = True  # released for booking
    reserved: bool = False
    client: int | None = None
    booked_on: date | None = None
    kind: str = ""
    outcome: str = ""
    reoffered: bool | None = None


@dataclass
class _Episode:
    group: str  # the slot group its sessions are booked into: core_fu or specific
    remaining: int
    misses: int = 0


class _Simulation:
    """A CAPA pull system run slot by slot in date order (a few thousand slots: a loop is fine)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.days = working_days(FIRST_DAY, LAST_BOOKED_DAY)
        self.slots = self._diary_slots()
        self.by_group = {g: [s for s in self.slots if s.group == g]
                         for g in ("choice", "core_new", "core_fu", "specific")}
        self.group_days = {g: [s.day for s in slots] for g, slots in self.by_group.items()}
        self.next_client = 1
        self.episodes: dict[int, _Episode] = {}
        self.specific_queue: list[tuple[date, int]] = []
        self.reserved_client: int | None = None

    def _diary_slots(self) -> list[_Slot]:
        slots = []
        for index, clin in enumerate(DEMO_CLINICIANS):
            for day in self.days:
                if not clin.active_from <= day <= clin.active_to:
                    continue
                if any(start <= day <= end for start, end in clin.leave):
                    continue
                parity = day.isocalendar().week % 2
                for w in clin.weekly:
                    if (w.weekday != day.weekday() or w.parity not in (None, parity)
                            or day < w.from_day):
                        continue
                    group = w.group
                    if group == "core_new" and clin.no_new_core_from and day >= clin.no_new_core_from:
                        group = "core_fu"  # the leaver keeps seeing her caseload, takes no new
                    minutes = 90 if w.detail in ("ADOS", "Psychometrics") else 60
                    slots.append(_Slot(index, day, w.time, group, w.detail, minutes,
                                       reserved=w.reserved))
        slots.sort(key=lambda s: (s.day, s.time, s.clinician))
        for slot in slots:
            clin = DEMO_CLINICIANS[slot.clinician]
            if slot.group == "core_new" and clin.withheld:
                start, end, share = clin.withheld
                if start <= slot.day <= end and self.rng.random() < share:
                    slot.pool = False
        return slots

    def _new_client(self) -> int:
        self.next_client += 1
        return self.next_client - 1

    def _book(self, client: int, group: str, earliest: date, booked_on: date,
              clinician: int | None = None) -> _Slot | None:
        """Book the first free released slot of the group from `earliest` (pull: any clinician)."""
        if booked_on > AS_OF:
            return None
        candidates = self.by_group[group]
        start = bisect.bisect_left(self.group_days[group], earliest)
        for slot in candidates[start:]:
            if (slot.client is None and slot.pool and not slot.reserved
                    and (clinician is None or slot.clinician == clinician)):
                slot.client = client
                slot.booked_on = booked_on
                return slot
        return None

    def run(self) -> list[_Slot]:
        rng = self.rng
        position = 0
        while position < len(self.slots):
            slot = self.slots[position]
            position += 1
            past = slot.day <= AS_OF
            if slot.group == "other":
                slot.kind, slot.outcome = Kind.OTHER, ("attended" if past else "booked")
                continue
            self._fill(slot)
            if slot.client is None:
                slot.outcome = "unbooked"
                if past and slot.group == "core_new" and slot.pool:
                    self._reoffer(slot)
                continue
            if not past:
                slot.outcome = "cancelled_by_client" if rng.random() < 0.03 else "booked"
                continue
            names, odds = _OUTCOME_ODDS[slot.group]
            slot.outcome = str(rng.choice(names, p=odds))
            self._follow_on(slot)
        return [s for s in self.slots if s.kind]

    def _fill(self, slot: _Slot) -> None:
        """Give a slot not booked earlier its client (new referral, Specific queue) and kind."""
        rng = self.rng
        group = slot.group
        if group == "choice":
            slot.kind = Kind.CHOICE
            if slot.client is None:
                lead = int(rng.integers(14, 36))  # appointment letters go out 2–5 weeks ahead
                booked_on = slot.day - timedelta(days=lead)
                if booked_on <= AS_OF and rng.random() < 0.9:
                    slot.client, slot.booked_on = self._new_client(), booked_on
        elif group == "core_new":
            slot.kind = Kind.CORE_NEW
        elif group == "core_fu":
            slot.kind = Kind.CORE_FOLLOWUP if slot.client is not None else ""
        elif group == "specific":
            if slot.reserved:
                if slot.day - timedelta(days=7) > AS_OF:
                    return  # booked a week ahead: not in the diary yet
                first = self.reserved_client is None
                if first:
                    self.reserved_client = self._new_client()
                    self.episodes[self.reserved_client] = _Episode("specific", 10_000)
                slot.client = self.reserved_client
                slot.booked_on = slot.day - timedelta(days=7 if not first else 21)
                slot.kind = Kind.SPECIFIC_NEW if first else Kind.SPECIFIC_FOLLOWUP
            elif slot.client is not None:
                slot.kind = Kind.SPECIFIC_FOLLOWUP
            else:
                self._start_specific(slot)

    def _start_specific(self, slot: _Slot) -> None:
        booked_on = slot.day - timedelta(days=14)
        if booked_on > AS_OF:
            return
        ready = [i for i, (when, _) in enumerate(self.specific_queue) if when <= booked_on]
        if ready:
            client = self.specific_queue.pop(ready[0])[1]
        elif DEMO_CLINICIANS[slot.clinician].title == "Dr" and self.rng.random() < 0.85:
            client = self._new_client()  # referred for assessment from Choice before April
        else:
            return
        low, high = _EPISODE_SESSIONS[slot.detail]
        self.episodes[client] = _Episode("specific", int(self.rng.integers(low, high + 1)))
        slot.client, slot.booked_on, slot.kind = client, booked_on, Kind.SPECIFIC_NEW

    def _next_working(self, day: date) -> date:
        following = day + timedelta(days=1)
        while following.weekday() >= 5:
            following += timedelta(days=1)
        return following

    def _follow_on(self, slot: _Slot) -> None:
        """What the team does after the appointment: book the next one, or not."""
        rng = self.rng
        day, client, outcome = slot.day, slot.client, slot.outcome
        assert client is not None
        rebook_on = self._next_working(day)
        if slot.group == "choice":
            if outcome == "attended":
                if rng.random() < 0.8:
                    lead = int(rng.integers(7, 15))
                    self._book(client, "core_new", day + timedelta(days=lead), day)
            elif outcome == "cancelled_by_service" or rng.random() < 0.6:
                self._book(client, "choice", day + timedelta(days=4), rebook_on)
        elif slot.group == "core_new":
            if outcome == "attended":
                self.episodes[client] = _Episode("core_fu", int(rng.integers(4, 9)))
                self._book(client, "core_fu", day + timedelta(days=7), day, slot.clinician)
                if rng.random() < 0.2:
                    self.specific_queue.append((day + timedelta(days=21), client))
            elif outcome == "cancelled_by_service":
                self._book(client, "core_new", day + timedelta(days=3), rebook_on)
            elif rng.random() < 0.6:
                # The family is offered another appointment within a few weeks.
                extra = self._extra_core_slot(slot.clinician, day, rebook_on)
                if extra is not None:
                    extra.client = client
            else:
                self._reoffer(slot)
        else:
            episode = self.episodes.get(client)
            if episode is None or slot.reserved:
                return
            if outcome == "attended":
                episode.remaining -= 1
            elif outcome in ("dna", "late_not_seen"):
                episode.misses += 1
            if episode.remaining > 0 and episode.misses < 2:
                gap = 7 if episode.group == "specific" else int(rng.choice([7, 7, 14]))
                self._book(client, episode.group, day + timedelta(days=gap), day, slot.clinician)
                # a Specific slot booked for a running episode keeps its detail
            else:
                del self.episodes[client]

    def _extra_core_slot(self, clinician: int, lost_day: date, booked_on: date) -> _Slot | None:
        """A new Core Partnership slot the clinician adds 1–3 weeks after a lost one."""
        if booked_on > AS_OF:
            return None
        clin = DEMO_CLINICIANS[clinician]
        start = bisect.bisect_right(self.days, lost_day)
        for offset in range(int(self.rng.integers(5, 15)), 20):
            if start + offset >= len(self.days):
                return None
            day = self.days[start + offset]
            available = clin.active_from <= day <= clin.active_to and not any(
                a <= day <= b for a, b in clin.leave)
            if not available or (clin.no_new_core_from and day >= clin.no_new_core_from):
                continue
            for time in ("16:30", "12:30"):
                if not any(s.day == day and s.time == time and s.clinician == clinician
                           for s in self.by_group["core_new"]):
                    slot = _Slot(clinician, day, time, "core_new", "", 60, booked_on=booked_on)
                    self._insert(slot)
                    return slot
        return None

    def _insert(self, slot: _Slot) -> None:
        key = (slot.day, slot.time, slot.clinician)
        at = bisect.bisect_right(self.slots, key, key=lambda s: (s.day, s.time, s.clinician))
        self.slots.insert(at, slot)
        group = self.by_group[slot.group]
        at = bisect.bisect_right(self.group_days[slot.group], slot.day)
        group.insert(at, slot)
        self.group_days[slot.group].insert(at, slot.day)

    def _reoffer(self, lost: _Slot) -> None:
        """Some clinicians offer a lost new Core slot's time again: an extra slot, filled by
        bringing forward the family booked furthest ahead on the waiting list."""
        if self.rng.random() >= DEMO_CLINICIANS[lost.clinician].reoffers:
            return
        extra = self._extra_core_slot(lost.clinician, lost.day, self._next_working(lost.day))
        if extra is None:
            return
        waiting = [s for s in self.by_group["core_new"]
                   if s.client is not None and s.day > extra.day and not s.outcome]
        if waiting:
            furthest = waiting[-1]
            extra.client, furthest.client, furthest.booked_on = furthest.client, None, None
        else:  # nobody is waiting: no extra slot after all
            self.slots.remove(extra)
            at = self.by_group["core_new"].index(extra)
            del self.by_group["core_new"][at], self.group_days["core_new"][at]

    def mark_rebooked(self, slots: list[_Slot]) -> None:
        """Admins of some clinicians tick "Rebooked" on lost Choice/new Core slots, half the time."""
        for slot in slots:
            lost = slot.day <= AS_OF and slot.outcome in model.LOST_OUTCOMES
            if lost and slot.kind in (Kind.CHOICE, Kind.CORE_NEW):
                marks = DEMO_CLINICIANS[slot.clinician].marks_rebooked
                slot.reoffered = bool(marks and self.rng.random() < 0.5)


@dataclass(frozen=True)
class _Demo:
    truth: pd.DataFrame
    clients: pd.DataFrame


@functools.cache
def _demo() -> _Demo:
    sim = _Simulation(SEED)
    slots = sim.run()
    sim.mark_rebooked(slots)
    # Specific follow-ups inherit the intervention of the episode's first session.
    detail_of: dict[tuple[int, int], str] = {}
    for s in slots:
        if s.kind == Kind.SPECIFIC_NEW:
            detail_of[(s.client, s.clinician)] = s.detail
        elif s.kind == Kind.SPECIFIC_FOLLOWUP:
            s.detail = detail_of.get((s.client, s.clinician), s.detail)
    order = sorted(slots, key=lambda s: (s.day, s.time, s.clinician))
    slot_ids = {id(s): f"{4_100_000 + n:08d}" for n, s in enumerate(order, start=1)}
    diary_order = sorted(
        slots,
        key=lambda s: (DEMO_CLINICIANS[s.clinician].surname, DEMO_CLINICIANS[s.clinician].forename,
                       s.day, s.time),
    )
    frame = pd.DataFrame(
        {
            model.SLOT_ID: [slot_ids[id(s)] for s in diary_order],
            model.CLINICIAN: [DEMO_CLINICIANS[s.clinician].name for s in diary_order],
            model.TEAM: TEAM,
            model.DATE: pd.to_datetime([s.day for s in diary_order]),
            model.START: [s.time for s in diary_order],
            model.KIND: [str(s.kind) for s in diary_order],
            model.OUTCOME: [s.outcome for s in diary_order],
            CLIENT_REF: [f"C{s.client:07d}" if s.client else None for s in diary_order],
            model.BOOKED_ON: pd.to_datetime([s.booked_on for s in diary_order]),
            model.DURATION_MIN: pd.array([s.minutes for s in diary_order], dtype="Int64"),
            model.REOFFERED: pd.array([s.reoffered for s in diary_order], dtype="boolean"),
            model.SOURCE_ROW: np.arange(5, 5 + len(diary_order), dtype=np.int64),
            DETAIL: [s.detail or None for s in diary_order],
        },
        columns=list(FRAME_COLUMNS),
    )
    for column in (*(CLIENT_REF if c == model.CLIENT_KEY else c for c in model.ACTIVITY_TEXT_COLUMNS),
                   DETAIL):
        frame[column] = frame[column].astype("str")
    refs = frame[CLIENT_REF].dropna().drop_duplicates().sort_values().reset_index(drop=True)
    clients = pd.DataFrame({CLIENT_REF: refs, "nhs_number": nhs_numbers_for(refs),
                            "local_id": _local_ids_for(refs)})
    # One client seen once gets a mistyped NHS number, for the loader's report to catch.
    once = frame[CLIENT_REF].value_counts()
    single = frame[frame[CLIENT_REF].isin(once[once == 1].index) & (frame[model.KIND] == "choice")]
    invalid_ref = single.sort_values(model.SLOT_ID)[CLIENT_REF].iloc[0]
    clients.loc[clients[CLIENT_REF] == invalid_ref, "nhs_number"] = DEMO_INVALID_NHS_NUMBER
    return _Demo(frame, clients)


#: Fails Modulus 11: the stem 999123456 has weighted sum 320, remainder 1, so check digit 10,
#: which no valid number can have.
DEMO_INVALID_NHS_NUMBER = "9991234567"


def demo_truth() -> pd.DataFrame:
    """The demo team's activity in canonical form (``FRAME_COLUMNS``), in diary row order."""
    return _demo().truth.copy()


def demo_clients() -> pd.DataFrame:
    """``client_ref`` → ``nhs_number`` (10 digits) and ``local_id`` as the exports carry them."""
    return _demo().clients.copy()


def demo_jobplans() -> pd.DataFrame:
    """The demo team's job plans in canonical form (``model.JOBPLAN_COLUMNS``)."""
    rows = []
    for name, fte, choice, core, specific, nonclinical, q3, start, leaving in _DEMO_PLANS:
        rows.append({
            "clinician": name, "team": TEAM, "fte": fte, "choice_per_week": choice,
            "core_sessions": core, "specific_sessions": specific,
            "nonclinical_sessions": nonclinical, "q1_target": np.nan, "q2_target": np.nan,
            "q3_target": np.nan if q3 is None else float(q3), "q4_target": np.nan,
            "available_from": pd.Timestamp(start) if start else pd.NaT,
            "available_to": pd.Timestamp(leaving) if leaving else pd.NaT,
        })
    return canonical_plans(pd.DataFrame(rows))


# --------------------------------------------------------------------------------------------
# Benchmark data: many teams, numpy only (issue 7)

_FORENAMES = (
    "Aoife", "Ben", "Chloe", "Dev", "Eilidh", "Farah", "Gareth", "Hannah", "Imran", "Jess",
    "Kwame", "Leah", "Mohammed", "Niamh", "Oliver", "Priya", "Rhys", "Siobhán", "Tom", "Zoë",
    "Amara", "Bethan", "Callum", "Dafydd", "Esther", "Finn", "Grace", "Harpreet", "Isla", "Jonah",
)
_SURNAMES = (
    "O'Neill", "McDonald", "Raman", "Whitfield", "Okafor", "Reid", "Hartley", "Marsh", "Núñez",
    "Ahmed", "Baker", "Chowdhury", "Davies", "Evans", "Fraser", "Gill", "Hughes", "Iqbal",
    "Jones", "Kaur", "Lewis", "MacLeod", "Nowak", "Owusu", "Patel", "Quinn", "Roberts", "Singh",
    "Taylor", "Wright",
)
_PLACES = (
    "Northfield", "Southmere", "Eastbrook", "Westcombe", "Ashby", "Brackley", "Calderbank",
    "Dunmore", "Elmstead", "Fernhill", "Greywell", "Hollins", "Ivybridge Vale", "Juniper Cross",
    "Kingsmead", "Larchfield",
)
_KINDS = tuple(k.value for k in Kind)  # choice, core_new, core_followup, specific_*, other
_KIND_ODDS = (0.12, 0.08, 0.42, 0.04, 0.16, 0.18)
_PAST_OUTCOMES = ("attended", "dna", "late_not_seen", "cancelled_by_client",
                  "cancelled_by_service", "unbooked")
_PAST_ODDS = (0.80, 0.07, 0.01, 0.05, 0.03, 0.04)
_FUTURE_OUTCOMES = ("booked", "unbooked", "cancelled_by_client")
_FUTURE_ODDS = (0.88, 0.08, 0.04)
_TIMES = ("09:00", "09:30", "10:00", "11:00", "11:30", "13:30", "14:00", "15:00", "15:30")
_SPECIFIC_DETAILS = ("ADOS", "Psychometrics", "Psychotherapy", "Family Therapy")
_OTHER_DETAILS = ("Team meeting", "Consultation")
CLINICIANS_PER_TEAM = 8
SLOTS_PER_CLINICIAN_DAY = 7


def _strings(values: np.ndarray, codes: np.ndarray) -> pd.Series:
    return pd.Series(pc.take(pa.array(values, type=pa.string()), pa.array(codes)), dtype="str")


def generate_activity(n_rows: int, *, teams: int = 4, seed: int = 0,
                      start: date = FIRST_DAY) -> pd.DataFrame:
    """A synthetic multi-team activity frame (``FRAME_COLUMNS``) of exactly n_rows slots.

    Each team has 8 clinicians with about 7 slots a working day (56 a team-day), so the period
    is as long as the row count needs: 1M rows over 72 teams ≈ 250 working days, a year. The
    last ~8 % of working days hold future bookings. Every kind and outcome occurs; lost Choice /
    new Core slots carry a re-offered marker (True for about 30 %). numpy and pyarrow only:
    1M rows in about 1.5 s.
    """
    n_clinicians = teams * CLINICIANS_PER_TEAM
    if n_clinicians > len(_FORENAMES) * len(_SURNAMES):
        raise ValueError(f"at most {len(_FORENAMES) * len(_SURNAMES) // 8} teams, not {teams}")
    rng = np.random.default_rng(seed)
    n_days = max(20, math.ceil(n_rows / (n_clinicians * SLOTS_PER_CLINICIAN_DAY)))
    days = _working_day_array(start, n_days)
    as_of_index = int(n_days * 0.92)

    clinician = rng.integers(0, n_clinicians, n_rows)
    day_index = rng.integers(0, n_days, n_rows)
    time_index = rng.integers(0, len(_TIMES), n_rows)
    order = np.lexsort((time_index, day_index, clinician))
    clinician, day_index, time_index = clinician[order], day_index[order], time_index[order]
    team = clinician // CLINICIANS_PER_TEAM
    kind = rng.choice(len(_KINDS), size=n_rows, p=_KIND_ODDS)
    past = day_index <= as_of_index

    outcome_names = np.array(_PAST_OUTCOMES + ("booked",))
    outcome = rng.choice(len(_PAST_OUTCOMES), size=n_rows, p=_PAST_ODDS)
    future = rng.choice(len(_FUTURE_OUTCOMES), size=n_rows, p=_FUTURE_ODDS)
    future_codes = np.array([6, 5, 3])  # booked, unbooked, cancelled_by_client in outcome_names
    outcome = np.where(past, outcome, future_codes[future])
    monitored = kind <= 1  # choice, core_new
    is_other = kind == len(_KINDS) - 1
    # Only Choice and new Core slots show as free; other kinds' free time is not in a diary.
    outcome = np.where((outcome == 5) & ~monitored, np.where(past, 0, 6), outcome)
    outcome = np.where(is_other, np.where(past, 0, 6), outcome)
    has_client = ~is_other & (outcome != 5)

    clients_per_team = max(50, n_rows // (teams * 6))
    client = team * clients_per_team + rng.integers(0, clients_per_team, n_rows)
    client_text = pc.utf8_replace_slice(
        pc.cast(pa.array(client + 10_000_000), pa.string()), 0, 1, "C")
    client_ref = pd.Series(client_text, dtype="str").where(has_client)

    dates = days[day_index]
    lead = rng.integers(1, 43, n_rows).astype("timedelta64[D]")
    booked_on = np.where(has_client, dates - lead, np.datetime64("NaT"))
    booked_on = np.minimum(booked_on, days[as_of_index])  # nothing booked after the run date
    booked_on = np.where(has_client, booked_on, np.datetime64("NaT"))

    specific = (kind == 3) | (kind == 4)
    detail_index = np.where(specific, rng.integers(0, len(_SPECIFIC_DETAILS), n_rows),
                            rng.integers(0, len(_OTHER_DETAILS), n_rows))
    details = np.array(_SPECIFIC_DETAILS)[detail_index]
    details = np.where(is_other, np.array(_OTHER_DETAILS)[detail_index % 2], details)
    detail = pd.Series(details, dtype="str").where(specific | is_other)

    long_slot = (kind == 3) & (rng.random(n_rows) < 0.5)
    duration = np.where(long_slot, 90, 60)
    lost = past & monitored & np.isin(outcome, [1, 2, 3, 5])
    reoffered = pd.array(np.where(lost, rng.random(n_rows) < 0.3, False), dtype="boolean")
    reoffered[~lost] = pd.NA

    names = [f"{_FORENAMES[i % len(_FORENAMES)]} "
             f"{_SURNAMES[(i // len(_FORENAMES) + i) % len(_SURNAMES)]}"
             for i in range(n_clinicians)]
    places = [_PLACES[i % len(_PLACES)] + (f" {i // len(_PLACES) + 1}" if i >= len(_PLACES) else "")
              for i in range(teams)]
    team_names = np.array([f"{p} CAMHS" for p in places])
    slot_ids = pc.cast(pa.array(np.arange(20_000_001, 20_000_001 + n_rows)), pa.string())
    frame = pd.DataFrame({
        model.SLOT_ID: pd.Series(slot_ids, dtype="str"),
        model.CLINICIAN: _strings(np.array(names), clinician),
        model.TEAM: _strings(team_names, team),
        model.DATE: pd.Series(dates.astype("datetime64[s]")),
        model.START: _strings(np.array(_TIMES), time_index),
        model.KIND: _strings(np.array(_KINDS), kind),
        model.OUTCOME: _strings(outcome_names, outcome),
        CLIENT_REF: client_ref,
        model.BOOKED_ON: pd.Series(booked_on.astype("datetime64[s]")),
        model.DURATION_MIN: pd.array(duration, dtype="Int64"),
        model.REOFFERED: reoffered,
        model.SOURCE_ROW: np.arange(5, 5 + n_rows, dtype=np.int64),
        DETAIL: detail,
    })
    return frame


# --------------------------------------------------------------------------------------------
# A streamed SpreadsheetML writer: shared strings, date serials, fixed metadata (deterministic)


@dataclass(frozen=True)
class Column:
    """One body column: ``kind`` "text" (str or missing), "number" or "date" (datetime64)."""

    header: str
    kind: str
    values: pd.Series
    width: float = 14.0


@dataclass(frozen=True)
class Sheet:
    name: str
    top_rows: Sequence[Sequence[object]]  # title rows and the header row, written bold
    body: Sequence[Column]
    bottom_rows: Sequence[Sequence[object]] = ()  # totals / footer, written bold


_STYLE_DATE, _STYLE_BOLD = 1, 2
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CHUNK_ROWS = 100_000


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class _SharedStrings:
    def __init__(self) -> None:
        self.parts: list[pa.Array] = []
        self.count = 0

    def add_many(self, values: pa.Array) -> int:
        """Append distinct values; return the index of the first."""
        first = self.count
        self.parts.append(values)
        self.count += len(values)
        return first

    def add(self, value: str) -> int:
        return self.add_many(pa.array([value], type=pa.string()))

    def xml_chunks(self):
        yield f'{_XML}<sst {_NS} count="{self.count}" uniqueCount="{self.count}">'.encode()
        for part in self.parts:
            escaped = _xml_escape(part)
            # A leading or trailing space is kept only with xml:space="preserve".
            spaced = pc.or_(pc.starts_with(part, " "), pc.ends_with(part, " "))
            opening = pc.if_else(spaced, '<si><t xml:space="preserve">', "<si><t>")
            yield _joined_bytes([opening, escaped, pa.scalar("</t></si>")])
        yield b"</sst>"


def _xml_escape(values: pa.Array) -> pa.Array:
    values = pc.replace_substring(values, "&", "&amp;")
    values = pc.replace_substring(values, "<", "&lt;")
    return pc.replace_substring(values, ">", "&gt;")


def _joined_bytes(pieces: list) -> bytes:
    """Element-wise concatenation of string arrays/scalars, returned as one UTF-8 byte string."""
    joined = pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    if len(joined) == 0:
        return b""
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    start, end = offsets[joined.offset], offsets[joined.offset + len(joined)]
    return joined.buffers()[2].to_pybytes()[start:end]


def _python_row(row_number: int, values: Sequence[object], strings: _SharedStrings) -> str:
    cells = []
    for index, value in enumerate(values):
        ref = f"{_column_letter(index)}{row_number}"
        if value is None or value == "":
            continue
        if isinstance(value, (date, datetime)):
            serial = (np.datetime64(value, "D") - _EXCEL_EPOCH).astype(int)
            cells.append(f'<c r="{ref}" s="{_STYLE_DATE}"><v>{serial}</v></c>')
        elif isinstance(value, (int, float, np.integer, np.floating)):
            cells.append(f'<c r="{ref}" s="{_STYLE_BOLD}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" s="{_STYLE_BOLD}" t="s"><v>{strings.add(str(value))}</v></c>')
    return f'<row r="{row_number}">{"".join(cells)}</row>'


def _column_cells(column: Column, rows: slice, encoded: tuple[pa.Array, int] | None) -> pa.Array:
    """The `<c>` element of each row of one column; `<c/>` keeps the place of a missing value.

    Cells carry no `r` reference (it is optional; Excel, openpyxl and calamine count columns),
    which halves the sheet's size.
    """
    values = column.values.iloc[rows]
    if column.kind == "text":
        indices, first = encoded
        text = pc.cast(pc.add(indices[rows], first), pa.string())
        head = '<c t="s"><v>'
    elif column.kind == "date":
        days = values.to_numpy(dtype="datetime64[D]")
        serial = (days - _EXCEL_EPOCH).astype(np.int64)
        text = pc.cast(pa.array(serial, mask=np.isnat(days)), pa.string())
        head = f'<c s="{_STYLE_DATE}"><v>'
    else:
        numbers = pd.to_numeric(values).astype("Float64")
        array = pa.array(numbers, from_pandas=True)
        if numbers.dropna().mod(1).eq(0).all():
            array = pc.cast(array, pa.int64())
        text = pc.cast(array, pa.string())
        head = "<c><v>"
    cells = pc.binary_join_element_wise(head, text, "</v></c>", "", null_handling="emit_null")
    return pc.fill_null(cells, "<c/>")


def _text_encoding(values: pd.Series, strings: _SharedStrings) -> tuple[pa.Array, int]:
    """Shared-string indices of a text column (categoricals are used as they are: fast)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        labels = pa.array(values.cat.categories.astype("str"), type=pa.string())
        indices = pa.array(codes.astype(np.int32), mask=codes < 0)
        return indices, strings.add_many(labels)
    text = pa.array(values.astype("str"), type=pa.string(), from_pandas=True)
    encoded = pc.dictionary_encode(text)
    return encoded.indices, strings.add_many(encoded.dictionary)


def _sheet_chunks(sheet: Sheet, strings: _SharedStrings):
    n_body = len(sheet.body[0].values) if sheet.body else 0
    n_cols = max([len(sheet.body)] + [len(r) for r in (*sheet.top_rows, *sheet.bottom_rows)])
    last_row = len(sheet.top_rows) + n_body + len(sheet.bottom_rows)
    widths = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{c.width}" customWidth="1"/>'
        for i, c in enumerate(sheet.body)
    )
    yield (
        f'{_XML}<worksheet {_NS}><dimension ref="A1:{_column_letter(n_cols - 1)}{last_row}"/>'
        f'<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{widths}</cols>" if widths else ""}'
        "<sheetData>"
    ).encode()
    row_number = 1
    for values in sheet.top_rows:
        yield _python_row(row_number, values, strings).encode()
        row_number += 1
    encoded = [_text_encoding(c.values, strings) if c.kind == "text" else None
               for c in sheet.body]
    for begin in range(0, n_body, _CHUNK_ROWS):
        rows = slice(begin, min(begin + _CHUNK_ROWS, n_body))
        numbers = pc.cast(pa.array(np.arange(row_number + rows.start, row_number + rows.stop)),
                          pa.string())
        pieces = ['<row r="', numbers, '">']
        pieces += [_column_cells(c, rows, e) for c, e in zip(sheet.body, encoded, strict=True)]
        pieces.append("</row>")
        yield _joined_bytes(pieces)
    row_number += n_body
    for values in sheet.bottom_rows:
        yield _python_row(row_number, values, strings).encode()
        row_number += 1
    yield b"</sheetData></worksheet>"


_STYLES = (
    f"{_XML}<styleSheet {_NS}>"
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _package_parts(sheets: Sequence[Sheet], title: str) -> dict[str, str]:
    n = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    sheet_list = "".join(
        f'<sheet name="{escape(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    stamp = "2026-11-23T07:00:00Z"
    return {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"
        ),
        "docProps/core.xml": (
            f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>CAPA Monitor sample generator</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>"
        ),
        "docProps/app.xml": (
            f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>CAPA Monitor</Application></Properties>"
        ),
        "xl/workbook.xml": (
            f'{_XML}<workbook {_NS} xmlns:r="{_REL_NS}"><sheets>{sheet_list}</sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": _STYLES,
    }


def write_xlsx(target, sheets: Sequence[Sheet], *, title: str = "", compresslevel: int = 6) -> None:
    """Write sheets as an .xlsx to a path or binary file object, byte-identical on every run."""

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 0
        info._compresslevel = compresslevel  # ZipFile.open(ZipInfo) ignores the archive's level
        return info

    strings = _SharedStrings()
    with zipfile.ZipFile(target, "w") as archive:
        for name, text in _package_parts(sheets, title).items():
            archive.writestr(entry(name), text.encode())
        for number, sheet in enumerate(sheets, start=1):
            with archive.open(entry(f"xl/worksheets/sheet{number}.xml"), "w",
                              force_zip64=True) as out:
                for chunk in _sheet_chunks(sheet, strings):
                    out.write(chunk)
        with archive.open(entry("xl/sharedStrings.xml"), "w", force_zip64=True) as out:
            for chunk in strings.xml_chunks():
                out.write(chunk)


# --------------------------------------------------------------------------------------------
# The three export styles and the job-plan sheet


def _variant(frame: pd.DataFrame, every: int) -> np.ndarray:
    """A stable pseudo-random pick per slot (for wording variants such as DNA / Was not brought)."""
    hashed = pd.util.hash_pandas_object(frame[model.SLOT_ID].astype("str"), index=False)
    return (hashed.to_numpy() % np.uint64(every)).astype(np.int64) == 0


def _labelled(parts: Sequence[pd.Series | np.ndarray], label) -> pd.Series:
    """label(*values) worked out once per distinct combination of the parts, as a categorical.

    The export texts depend on a few low-cardinality columns, so this keeps 1M-row writes to
    numpy work plus a handful of Python calls. label may return None (an empty cell).
    """
    index = parts[0].index if isinstance(parts[0], pd.Series) else None
    combined = np.zeros(len(parts[0]), dtype=np.int64)
    uniques_of_part = []
    for part in parts:
        codes, uniques = pd.factorize(part, use_na_sentinel=False)
        combined = combined * len(uniques) + codes
        uniques_of_part.append(uniques)
    key_codes, keys = pd.factorize(combined)
    labels = []
    for key in keys:
        values = []
        for uniques in reversed(uniques_of_part):
            key, position = divmod(int(key), len(uniques))
            value = uniques[position]
            values.append(None if pd.isna(value) else value)
        labels.append(label(*reversed(values)))
    label_codes, label_uniques = pd.factorize(pd.Series(labels, dtype=object))
    codes = np.asarray(label_codes)[key_codes]
    categories = pd.Index(label_uniques, dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=index)


def _surname_first(name: str, *, upper: bool = False, title: bool = False) -> str:
    forename, _, surname = name.partition(" ")
    doctor = " (Dr)" if title and name in _DOCTORS else ""
    return f"{surname.upper() if upper else surname}, {forename}{doctor}"


_DOCTORS = frozenset(c.name for c in DEMO_CLINICIANS if c.title == "Dr")


def _nhs_column(frame: pd.DataFrame) -> pd.Series:
    if "nhs_number" in frame:
        return frame["nhs_number"].astype("str")
    return nhs_numbers_for(frame[CLIENT_REF])


def _diary_type(kind: str, detail: str | None) -> str:
    return {
        "choice": "CAPA Choice", "core_new": "Core Partnership - New",
        "core_followup": "Core Partnership Follow Up",
        "specific_new": f"Specific Partnership ({detail}) - Initial",
        "specific_followup": "Specific Partnership Review",
    }.get(kind, detail or "Team meeting")


_DIARY_OUTCOMES = {
    "attended": "Attended", "dna": "DNA", "late_not_seen": "Arrived late - not seen",
    "cancelled_by_client": "Cancelled by patient", "cancelled_by_service":
    "Cancelled by clinician", "unbooked": "Available", "booked": None,
}


def _diary_outcome(outcome: str, kind: str, alternate: bool, late: bool) -> str | None:
    if outcome == "dna" and alternate:
        return "Was not brought"
    if outcome == "attended" and late and kind != "other":
        return "Arrived late but seen"
    return _DIARY_OUTCOMES[outcome]


def diary_sheet(frame: pd.DataFrame, *, run_date: date = RUN_DATE) -> Sheet:
    """The patient-record "diary" report: title rows, header, one row per slot, a totals row."""
    kind = frame[model.KIND]
    type_text = _labelled([kind, frame[DETAIL]], _diary_type)
    outcome = _labelled([frame[model.OUTCOME], kind, _variant(frame, 2), _variant(frame, 15)],
                        _diary_outcome)
    rebooked = _labelled([frame[model.REOFFERED]],
                         lambda marked: None if marked is None else ("Y" if marked else "N"))
    columns = [Column("Clinician", "text", _labelled([frame[model.CLINICIAN]], _surname_first), 22)]
    if frame[model.TEAM].nunique() > 1:
        columns.append(Column("Team", "text", frame[model.TEAM], 20))
    columns += [
        Column("Appointment Date", "date", frame[model.DATE], 12),
        Column("Start Time", "text", frame[model.START], 8),
        Column("Duration", "number", frame[model.DURATION_MIN], 8),
        Column("Appointment Type", "text", type_text, 36),
        Column("Outcome", "text", outcome, 22),
        Column("Rebooked", "text", rebooked, 8),
        Column("Slot ID", "text", frame[model.SLOT_ID], 12),
        Column("NHS Number", "text", _nhs_column(frame), 12),
        Column("Date Booked", "date", frame[model.BOOKED_ON], 12),
    ]
    headers = [c.header for c in columns]
    totals: list[object] = [None] * len(columns)
    totals[0] = "Total"
    totals[headers.index("Duration")] = int(frame[model.DURATION_MIN].sum())
    totals[headers.index("Appointment Type")] = f"{len(frame)} appointments"
    first, last = frame[model.DATE].min(), frame[model.DATE].max()
    period = f"{first:%d/%m/%Y} to {last:%d/%m/%Y}" if len(frame) else ""
    return Sheet(
        "Diary",
        [["Clinician Diary Report"], [f"Run date: {run_date:%d/%m/%Y}   Period: {period}"], [],
         headers],
        columns,
        [totals],
    )


def write_diary_xlsx(frame: pd.DataFrame, path, *, run_date: date = RUN_DATE) -> None:
    """Write a frame (``FRAME_COLUMNS``) as a diary-style workbook; fast enough for 1M rows."""
    level = 6 if len(frame) <= 200_000 else 1  # deflate level 6 roughly triples the write time
    write_xlsx(path, [diary_sheet(frame, run_date=run_date)], title="Clinician Diary Report",
               compresslevel=level)


def _appointment_type(kind: str, detail: str | None) -> tuple[str | None, str | None]:
    if kind == "choice":
        return "Choice", "Y"
    if kind.startswith("core"):
        return "Core Partnership", "Y" if kind == "core_new" else "N"
    if kind.startswith("specific"):
        return f"Specific - {detail}", "Y" if kind == "specific_new" else "N"
    return detail or "Team meeting", None


_APPOINTMENT_OUTCOMES = {
    "attended": "Seen", "dna": "Did not attend", "late_not_seen": "Arrived late - not seen",
    "cancelled_by_client": "Patient cancelled", "cancelled_by_service": "Cancelled by service",
    "unbooked": "Unfilled", "booked": "Not yet outcomed",
}


def _text_dates(values: pd.Series, form: str) -> pd.Series:
    return pd.Series(pc.strftime(pa.array(values), format=form), index=values.index, dtype="str")


def appointments_sheet(frame: pd.DataFrame) -> Sheet:
    """The appointment report: text dates, SURNAME, Forename (Dr), an Initial appointment flag.

    Non-client rows (team meetings) are keyed by admin in mixed case ("McDonald, Hamish").
    """
    frame = frame.sort_values([model.DATE, model.START, model.CLINICIAN], kind="stable")
    kind = frame[model.KIND]
    clinician = _labelled(
        [frame[model.CLINICIAN], kind == "other"],
        lambda name, by_admin: _surname_first(name, upper=not by_admin, title=True))
    type_text = _labelled([kind, frame[DETAIL]], lambda k, d: _appointment_type(k, d)[0])
    initial = _labelled([kind, frame[DETAIL]], lambda k, d: _appointment_type(k, d)[1])
    length = _labelled([frame[model.DURATION_MIN]],
                       lambda m: None if m is None else ("1h" if m == 60 else f"{m}m"))
    columns = [
        Column("Appt Date", "text", _text_dates(frame[model.DATE], "%d-%b-%y"), 11),
        Column("Time", "text", frame[model.START], 7),
        Column("Clinician", "text", clinician, 26),
        Column("Team", "text", frame[model.TEAM], 18),
        Column("Appointment Type", "text", type_text, 26),
        Column("Initial appointment", "text", initial, 10),
        Column("Attendance", "text", _labelled([frame[model.OUTCOME]], _APPOINTMENT_OUTCOMES.get),
               22),
        Column("Length", "text", length, 7),
        Column("NHS No", "text", _nhs_column(frame), 12),
        Column("Appointment ID", "text", frame[model.SLOT_ID], 12),
        Column("Booked on", "text", _text_dates(frame[model.BOOKED_ON], "%d-%b-%y"), 11),
    ]
    return Sheet("Appointments", [[c.header for c in columns]], columns)


_ATTEND_CODES = {
    "attended": "5", "late_not_seen": "7", "cancelled_by_client": "2", "dna": "3",
    "cancelled_by_service": "4", "unbooked": "Unbooked", "booked": None,
}
_CONS_TYPES = {"choice": "01", "core_new": "01", "specific_new": "01", "core_followup": "02",
               "specific_followup": "02"}


def _activity_type(kind: str, detail: str | None) -> str:
    if kind == "choice":
        return "Choice"
    if kind.startswith("core"):
        return "Core Partnership"
    if kind.startswith("specific"):
        return f"Specific Partnership - {detail}"
    return detail or "Team meeting"


def _attend_code(outcome: str, kind: str, late: bool) -> str | None:
    if outcome == "attended" and late and kind != "other":
        return "6"  # arrived late but was seen
    return _ATTEND_CODES[outcome]


def mhsds_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The MHSDS-style extract as text columns (MHS201 care contact field names)."""
    frame = frame.sort_values(model.SLOT_ID, kind="stable")
    kind = frame[model.KIND]
    names = frame[model.CLINICIAN].astype("str")
    staff = {name: f"CP{i:04d}" for i, name in enumerate(sorted(names.unique()), start=1)}
    refs = frame[CLIENT_REF].astype("str")

    def text(values) -> pd.Series:
        return pd.Series(values, index=frame.index).astype("str")

    return pd.DataFrame({
        "CareContactId": frame[model.SLOT_ID],
        "LocalPatientId": _local_ids_for(refs),
        "NHSNumber": _nhs_column(frame),
        "CareProfLocalId": text(_labelled([names], staff.get)),
        "CareProfName": names,
        "TeamName": frame[model.TEAM],
        "CareContDate": _text_dates(frame[model.DATE], "%d/%m/%Y"),
        "CareContTime": frame[model.START] + ":00",
        "ClinContDurOfCareCont": frame[model.DURATION_MIN].astype("str"),
        "ConsType": text(_labelled([kind], _CONS_TYPES.get)),
        "ActivityType": text(_labelled([kind, frame[DETAIL]], _activity_type)),
        "AttendOrDNACode": text(_labelled([frame[model.OUTCOME], kind, _variant(frame, 15)],
                                          _attend_code)),
    })


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write a frame (``FRAME_COLUMNS``) as the MHSDS-style CSV: Windows-1252, CRLF line ends."""
    table = pa.Table.from_pandas(mhsds_frame(frame), preserve_index=False)
    buffer = io.BytesIO()
    try:
        options = pacsv.WriteOptions(eol="\r\n", quoting_style="none", quoting_header="none")
        pacsv.write_csv(table, buffer, options)
    except pa.ArrowInvalid:  # a value with a comma or quote: quote where needed
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(eol="\r\n", quoting_header="none"))
    Path(path).write_bytes(buffer.getvalue().decode("utf-8").encode("cp1252"))


def jobplans_sheet(plans: pd.DataFrame) -> Sheet:
    """The manager's job-plan spreadsheet (spec §4 with the headers managers use)."""
    columns = [
        Column("Name", "text", plans["clinician"], 20),
        Column("Team", "text", plans["team"], 18),
        Column("WTE", "number", plans["fte"], 6),
        Column("Choice appts per week", "number", plans["choice_per_week"], 10),
        Column("Core sessions", "number", plans["core_sessions"], 10),
        Column("Specific sessions", "number", plans["specific_sessions"], 10),
        Column("Non-clinical sessions", "number", plans["nonclinical_sessions"], 10),
        Column("Q3 target", "number", plans["q3_target"], 8),
        Column("Start date", "date", plans["available_from"], 12),
        Column("Leaving date", "date", plans["available_to"], 12),
    ]
    return Sheet("Job plans", [[c.header for c in columns]], columns)


def demo_export_frame() -> pd.DataFrame:
    """``demo_truth()`` with each client's ``nhs_number`` as the exports write it."""
    demo = _demo()
    nhs = demo.truth[CLIENT_REF].map(demo.clients.set_index(CLIENT_REF)["nhs_number"])
    return demo.truth.assign(nhs_number=nhs.astype("str"))


def write_sample_data(folder) -> dict[str, Path]:
    """Write the demo team's four files into folder; return style name → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = demo_export_frame()
    paths = {style: folder / name for style, name in SAMPLE_FILES.items()}
    write_diary_xlsx(frame, paths["diary"])
    write_xlsx(paths["appointments"], [appointments_sheet(frame)], title="Appointment report")
    write_csv(frame, paths["mhsds"])
    write_xlsx(paths["jobplans"], [jobplans_sheet(demo_jobplans())], title="Job plans")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else Path("sample_data")
    for style, path in write_sample_data(folder).items():
        print(f"{style:13} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
