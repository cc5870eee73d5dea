"""Benchmark data (issue 7): a large multi-team activity frame built with numpy and pyarrow
only (``generate_activity``).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from capa_monitor import model
from capa_monitor.model import Kind
from capa_monitor.sample.frames import (
    CLIENT_REF,
    DETAIL,
    FIRST_DAY,
    working_day_array,
)

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
    days = working_day_array(start, n_days)
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
