"""M2 (domain spec §5): lost slots and the evidence that each was offered again.

A DNA'd, late, client-cancelled or unbooked Choice / new Core slot is capacity lost unless the
family was rebooked or the clinician put another slot out. The matching is greedy and must be
deterministic over the whole history, so a slot's status never depends on the quarter viewed:
lost slots are taken in date order (then clinician, then slot id), rules tried in turn, the
earliest unused candidate taken (ties by slot id), each later slot evidence for one lost slot.

The greedy pass is inherently sequential; it stays fast by pre-sorting the candidates once per
rule and finding each lost slot's candidate range with a vectorised searchsorted, so the Python
loop only walks the few candidates inside each window.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from capa_monitor.metrics.words import export_slot_ids, slot_references
from capa_monitor.model import (
    BOOKED_ON,
    CLIENT_KEY,
    CLINICIAN,
    DATE,
    KIND,
    LOST_OUTCOMES,
    OUTCOME,
    REOFFERED,
    SLOT_ID,
    START,
    TEAM,
    Outcome,
)
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

MARKED = "reoffered_marked"
CLIENT = "reoffered_client"
REPLACEMENT = "reoffered_replacement"
PENDING = "pending"
NOT_REOFFERED = "not_reoffered"
SLOT_STATUSES = (MARKED, CLIENT, REPLACEMENT, PENDING, NOT_REOFFERED)
REOFFERED_STATUSES = (MARKED, CLIENT, REPLACEMENT)

#: A later slot with these outcomes is no evidence: nobody was offered it.
NOT_EVIDENCE = (Outcome.CANCELLED_BY_SERVICE.value, Outcome.UNBOOKED.value)

LOST_SLOT_COLUMNS: tuple[str, ...] = (
    "slot_id", "clinician", "team", "date", "start", "kind", "outcome", "export_slot_id", "slot",
    "status", "evidence", "evidence_slot_id", "evidence_clinician", "evidence_date",
    "evidence_start", "evidence_export_slot_id", "window_end",
)
SUMMARY_COLUMNS: tuple[str, ...] = ("lost", "reoffered", "pending", "not_reoffered")

_KIND_WORDS = {"choice": "Choice appointment", "core_new": "new Core Partnership slot"}
_OUTCOME_AFTERWARDS = {
    Outcome.ATTENDED.value: "",
    Outcome.BOOKED.value: "",
    Outcome.DNA.value: ", then DNA/WNB",
    Outcome.LATE_NOT_SEEN.value: ", then arrived late and not seen",
    Outcome.CANCELLED_BY_CLIENT.value: ", then cancelled by the family",
}
_NO_DAY = np.iinfo(np.int64).min // 4


def lost_slots(
    activity: pd.DataFrame,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    reported: np.ndarray | None = None,
) -> pd.DataFrame:
    """Every lost slot dated on or before as_of, with its status and evidence (LOST_SLOT_COLUMNS).

    Matching runs over all of `activity` (the whole stored history of every team: a family may
    be rebooked with any clinician). `reported`, a boolean per activity row, limits which lost
    slots are returned (the quarter and teams viewed) without changing how any is matched.
    Sorted in matching order.
    """
    order, found, evidence_at = match(activity, settings, as_of=as_of)
    if reported is not None:
        # Words and columns only for the lost slots asked for: across every team there are
        # many times more, and the evidence texts are the costly part.
        keep = np.asarray(reported, dtype=bool)[order]
        order, found, evidence_at = order[keep], found[keep], evidence_at[keep]
    columns = [c for c in DESCRIBED_COLUMNS if c in activity]
    lost = activity.iloc[order][columns]
    evidence = activity.iloc[np.where(evidence_at >= 0, evidence_at, 0)][columns]
    return describe(lost, evidence, found, as_of, settings)


def match(
    activity: pd.DataFrame,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    as_of: date | None = None,
    used: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The greedy matching of every lost slot of `activity` dated on or before as_of (None:
    every one), in matching order.

    Returns (lost row positions, what was found per lost slot: MARKED | CLIENT | REPLACEMENT |
    "" for nothing yet, the evidence row position or -1). `used`, a boolean per activity row,
    marks rows that are already evidence for a lost slot outside `activity` (store/derived.py
    matches a date suffix of the history this way). Ties go by row order, so the store reads
    rows in id order. Which of pending / not re-offered a "" is depends on as_of: describe().
    """
    window = int(settings.reoffer_window_days)
    nothing = (np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, np.int64))
    # Only the monitored kinds can be lost or be evidence. Matching reads integer codes of the
    # monitored rows' columns (`at` maps a monitored slot back to its activity row).
    kind_code, kinds = pd.factorize(activity[KIND])
    monitored_codes = [code for code, kind in enumerate(kinds) if kind in settings.monitored_kinds]
    at = np.flatnonzero(np.isin(kind_code, monitored_codes))
    kind_code = kind_code[at]
    day = activity[DATE].to_numpy()[at].astype("datetime64[D]").astype(np.int64)
    outcome = activity[OUTCOME].take(at)
    is_lost = outcome.isin([o.value for o in LOST_OUTCOMES]).to_numpy(dtype=bool)
    if as_of is not None:
        is_lost = is_lost & (day <= np.datetime64(as_of, "D").astype(np.int64))
    lost_at = np.flatnonzero(is_lost)
    if lost_at.size == 0:
        return nothing

    clinician_rank = pd.factorize(activity[CLINICIAN].take(at), sort=True)[0]
    slot_rank = slot_ranks(activity[SLOT_ID].take(at))
    client_code = (
        pd.factorize(activity[CLIENT_KEY].take(at))[0]
        if CLIENT_KEY in activity
        else np.full(at.size, -1, dtype=np.int64)
    )
    booked = (
        activity[BOOKED_ON].to_numpy()[at].astype("datetime64[D]")
        if BOOKED_ON in activity
        else np.full(at.size, np.datetime64("NaT"), dtype="datetime64[D]")
    )
    booked_day = np.where(np.isnat(booked), _NO_DAY, booked.astype(np.int64))
    marked = (
        activity[REOFFERED].take(at).fillna(False).to_numpy(dtype=bool)
        if REOFFERED in activity
        else np.zeros(at.size, dtype=bool)
    )
    is_candidate = ~outcome.isin(NOT_EVIDENCE).to_numpy(dtype=bool)
    if used is not None:
        is_candidate = is_candidate & ~np.asarray(used, dtype=bool)[at]

    # Rule 2 looks by (client, kind), rule 3 by (clinician, kind).
    n_kinds = max(len(kinds), 1)
    family_key = np.where(client_code >= 0, client_code * n_kinds + kind_code, -1)
    clinician_key = clinician_rank * n_kinds + kind_code
    first_day = int(day.min())
    span = int(day.max()) - first_day + window + 2
    offset = day - first_day
    family = _Candidates(family_key, offset, slot_rank, is_candidate, span)
    own = _Candidates(clinician_key, offset, slot_rank, is_candidate, span)

    order = lost_at[np.lexsort((slot_rank[lost_at], clinician_rank[lost_at], day[lost_at]))]
    family_lo, family_hi = family.ranges(family_key[order], offset[order], window)
    own_lo, own_hi = own.ranges(clinician_key[order], offset[order], window)

    found, evidence_at = _match(
        marked[order].tolist(),
        day[order].tolist(),
        family_lo.tolist(), family_hi.tolist(), family.positions.tolist(),
        own_lo.tolist(), own_hi.tolist(), own.positions.tolist(),
        booked_day[own.positions].tolist(),
        at.size,
    )
    evidence_at = np.asarray(evidence_at, dtype=np.int64)
    return at[order], found, np.where(evidence_at >= 0, at[np.maximum(evidence_at, 0)], -1)


#: The columns describe() reads of a lost slot and of its evidence.
DESCRIBED_COLUMNS = (SLOT_ID, CLINICIAN, TEAM, DATE, START, KIND, OUTCOME, BOOKED_ON)


def describe(
    lost: pd.DataFrame,
    evidence: pd.DataFrame,
    found: np.ndarray,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """The LOST_SLOT_COLUMNS frame of matched lost slots: `lost` and `evidence` are the rows
    (DESCRIBED_COLUMNS) of the lost slots and of their evidence, aligned (an evidence row is
    any placeholder where `found` is no CLIENT or REPLACEMENT); a slot with nothing found is pending while its
    window is open on as_of, else not re-offered."""
    if len(lost) == 0:
        return _no_lost_slots()
    window = int(settings.reoffer_window_days)
    found = np.asarray(found, dtype=object)
    has = (found == CLIENT) | (found == REPLACEMENT)  # a later slot is the evidence
    day = lost[DATE].to_numpy().astype("datetime64[D]").astype(np.int64)
    open_window = np.datetime64(as_of, "D").astype(np.int64) < day + window
    status = np.where(found != "", found, np.where(open_window, PENDING, NOT_REOFFERED))
    result = pd.DataFrame(
        {
            "slot_id": lost[SLOT_ID].astype("str").to_numpy(),
            "clinician": lost[CLINICIAN].astype("str").to_numpy(),
            "team": _column(lost, TEAM, pd.NA).to_numpy(),
            "date": lost[DATE].to_numpy(),
            "start": _column(lost, START, pd.NA).astype("str").to_numpy(),
            "kind": lost[KIND].astype("str").to_numpy(),
            "outcome": lost[OUTCOME].astype("str").to_numpy(),
            "status": status,
            "evidence_slot_id": np.where(has, evidence[SLOT_ID].astype("str").to_numpy(), None),
            "evidence_clinician": np.where(
                has, evidence[CLINICIAN].astype("str").to_numpy(), None
            ),
            "evidence_date": np.where(has, evidence[DATE].to_numpy(), np.datetime64("NaT")),
            "evidence_start": np.where(
                has, _column(evidence, START, pd.NA).astype("str").to_numpy(), None
            ),
            "window_end": lost[DATE].to_numpy() + np.timedelta64(window, "D"),
        }
    )
    for name in ("team", "start", "evidence_slot_id", "evidence_clinician", "evidence_start"):
        result[name] = result[name].astype("str")
    result["evidence_date"] = pd.to_datetime(result["evidence_date"])
    result["export_slot_id"] = export_slot_ids(result["slot_id"])
    result["evidence_export_slot_id"] = export_slot_ids(result["evidence_slot_id"])
    result["slot"] = slot_references(result["date"], result["start"], result["clinician"],
                                     result["kind"], result["export_slot_id"])
    evidence_outcome = np.where(has, evidence[OUTCOME].astype("str").to_numpy(), "")
    evidence_booked = np.where(
        has,
        _column(evidence, BOOKED_ON, pd.NaT).to_numpy().astype("datetime64[D]"),
        np.datetime64("NaT"),
    )
    result["evidence"] = _evidence_texts(result, evidence_outcome, evidence_booked)
    return result.reindex(columns=list(LOST_SLOT_COLUMNS))


def summary_by_clinician(lost: pd.DataFrame) -> pd.DataFrame:
    """Per clinician (index: clinician name): lost, reoffered, pending, not_reoffered counts."""
    status = lost["status"]
    tallies = pd.DataFrame(
        {
            "clinician": lost["clinician"],
            "lost": 1,
            "reoffered": status.isin(REOFFERED_STATUSES),
            "pending": status == PENDING,
            "not_reoffered": status == NOT_REOFFERED,
        }
    )
    return tallies.groupby("clinician")[list(SUMMARY_COLUMNS)].sum().astype("int64")


class _Candidates:
    """Candidate slots of one rule sorted by (key, day, slot id), packed for searchsorted."""

    def __init__(self, key: np.ndarray, offset: np.ndarray, slot_rank: np.ndarray,
                 usable: np.ndarray, span: int) -> None:
        self.span = span
        at = np.flatnonzero(usable & (key >= 0))
        packed = key[at] * span + offset[at]
        ranks = len(slot_rank) + 1  # slot ranks run from -1 (missing id)
        if packed.size and int(packed.max()) < np.iinfo(np.int64).max // ranks - 1:
            # one integer sort of (key, day, slot id) instead of a two-key lexsort
            sort = np.argsort(packed * ranks + (slot_rank[at] + 1), kind="stable")
        else:
            sort = np.lexsort((slot_rank[at], packed))
        self.positions = at[sort]
        self.packed = packed[sort]

    def ranges(self, key: np.ndarray, offset: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) of candidates dated strictly after each lost slot and within the window."""
        base = key * self.span + offset
        lo = np.searchsorted(self.packed, base, side="right")
        hi = np.searchsorted(self.packed, base + window, side="right")
        none = key < 0
        return np.where(none, 0, lo), np.where(none, 0, hi)


def _match(marked, day, family_lo, family_hi, family_pos, own_lo, own_hi, own_pos,
           own_booked_day, n_slots) -> tuple[np.ndarray, list[int]]:
    """The sequential greedy pass: status per lost slot ("" = none found) and evidence row.

    `own_booked_day[j]` is the booking day of own candidate `own_pos[j]`.
    """
    used = [False] * n_slots
    status = [""] * len(day)
    evidence = [-1] * len(day)
    for i, lost_day in enumerate(day):
        if marked[i]:
            status[i] = MARKED
            continue
        for j in range(family_lo[i], family_hi[i]):
            at = family_pos[j]
            if not used[at]:
                used[at] = True
                status[i], evidence[i] = CLIENT, at
                break
        else:
            for j in range(own_lo[i], own_hi[i]):
                at = own_pos[j]
                if not used[at] and own_booked_day[j] >= lost_day:
                    used[at] = True
                    status[i], evidence[i] = REPLACEMENT, at
                    break
    return np.asarray(status, dtype=object), evidence


def slot_ranks(slot_ids: pd.Series) -> np.ndarray:
    """Each slot id's place in sorted order (missing ids first, as -1), for tie-breaking.

    Equal ids get distinct places in row order, which orders exactly as equal ranks do in the
    stable sorts that read them; ranking this way is cheaper than factorizing with sort.
    """
    ids = pa.array(slot_ids.astype("str"), type=pa.large_string(), from_pandas=True)
    rank = pc.rank(ids, sort_keys="ascending", tiebreaker="first").to_numpy().astype(np.int64) - 1
    missing = ids.is_null().to_numpy(zero_copy_only=False)
    return np.where(missing, -1, rank)


def _evidence_texts(
    result: pd.DataFrame, evidence_outcome: np.ndarray, evidence_booked: np.ndarray
) -> np.ndarray:
    """The evidence in words, a slot at a time: a quarter's lost slots are a few hundred a
    team, and a formula per status over text columns cost 8 ms of pandas' work on each."""
    def texts(values) -> list:
        return [value if isinstance(value, str) else None for value in values]

    rows = zip(
        result["status"].tolist(), texts(result["evidence_clinician"]),
        texts(result["evidence_export_slot_id"]), texts(_days(result["evidence_date"])),
        texts(result["evidence_start"]), texts(_days(result["window_end"])),
        result["kind"].tolist(), evidence_outcome.tolist(),
        texts(_days(pd.Series(evidence_booked, index=result.index))),
        result["clinician"].tolist(),
        strict=True,
    )
    return np.array([_evidence_text(*row) for row in rows], dtype=object)


def _evidence_text(status: str, by: str | None, slot_id: str | None, day: str | None,
                   start: str | None, window_end: str | None, kind: str, outcome: str,
                   booked: str | None, clinician: str) -> str | None:
    """One lost slot's evidence in words (the later slot as the clinician finds it: its date
    and time, and the export's own id, never an id the loader derived)."""
    if status == MARKED:
        return "Marked re-offered in the export."
    by = by or ""
    slot = f" (slot {slot_id})" if slot_id is not None else ""
    when = None if day is None else day + (f" at {start}" if start is not None else "")
    what = _KIND_WORDS.get(kind, kind.replace("_", " ") + " slot")
    if status == CLIENT:
        if when is None:
            return None
        verb = (f"seen by {by} on " if outcome == Outcome.ATTENDED.value
                else f"booked with {by} for " if outcome == Outcome.BOOKED.value
                else f"offered {by} on ")
        return f"Rebooked: same family {verb}{when}{slot}{_OUTCOME_AFTERWARDS.get(outcome, '')}."
    if status == REPLACEMENT:
        if when is None:
            return None
        return (f"Replacement slot: {by} offered another {what} on {when}, booked on "
                f"{booked or 'an unknown date'}{slot}.")
    if window_end is None:
        return None
    if status == PENDING:
        return f"Pending: no re-offer found yet; the window runs to {window_end}."
    return (f"Not re-offered: no later {what} for the family or from {clinician} by "
            f"{window_end}.")


def _days(values: pd.Series) -> pd.Series:
    """`12 Jul 2026`, the way the team writes dates; NaT stays missing."""
    # Few distinct days among many slots: format each day once.
    codes, days = pd.factorize(pd.to_datetime(values))
    texts = np.array([f"{d.day} {d:%b %Y}" for d in days] + [None], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype="str")


def _column(frame: pd.DataFrame, name: str, default) -> pd.Series:
    """An optional canonical column, or `default` throughout when the export had none."""
    return frame[name] if name in frame else pd.Series(default, index=frame.index)


def _no_lost_slots() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=_dtype(name)) for name in LOST_SLOT_COLUMNS})


def _dtype(name: str) -> str:
    return "datetime64[ns]" if name in ("date", "evidence_date", "window_end") else "str"

