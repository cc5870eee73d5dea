"""The demo team "Northfield CAMHS": who works when, and a year of its diary simulated as a
CAPA pull system (``demo_truth``, ``demo_clients``, ``demo_jobplans``; see the package's
docstring for the designed mix).
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from capa_monitor import model
from capa_monitor.model import Kind
from capa_monitor.plan_targets import canonical_plans
from capa_monitor.sample.frames import (
    AS_OF,
    CLIENT_REF,
    DETAIL,
    FIRST_DAY,
    FRAME_COLUMNS,
    LAST_BOOKED_DAY,
    SEED,
    TEAM,
    local_ids_for,
    nhs_numbers_for,
    working_days,
)


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
                            "local_id": local_ids_for(refs)})
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
