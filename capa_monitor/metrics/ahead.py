"""Looking ahead, per clinician (domain spec §8 L1, L2): where the quarter will end on the slots
already in the diary, and whether next quarter's new Core Partnership slots are in the diary.

Both read future rows of the export (outcome `booked` or `unbooked` after the as-of date), so a
manager can act while there is time. Pure functions over the canonical activity frame of the
teams viewed, the job plans and the settings.

`projection` (L1) — for the quarter containing the as-of date, one row per clinician of the
review's clinicians frame (same order):
    booked_ahead, free_ahead   core_new slots dated after as_of and in the quarter, booked /
                               unbooked (Int64; missing when the quarter has ended)
    nonattendance_rate         (dna + late_not_seen + cancelled_by_client) ÷ (those + attended)
                               over core_new slots dated after as_of − N weeks, up to as_of
    rate_basis                 "own" | "team" (fewer than the minimum own slots) | "none"
                               (no such slots in the team either: booked slots counted in full)
    projected                  delivered + booked_ahead × (1 − rate)
    to_find                    max(0, target − projected); missing without a target
    projection_words           "on course" | "needs N more slots" (N = to_find rounded up: a
                               slot is whole) | missing (no target, or no quarter under way)

`next_diary` (L2) — next quarter's diary, one row per clinician planned for it with a target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from capa_monitor.model import CLINICIAN, DATE, KIND, OUTCOME, TEAM, Kind, Outcome
from capa_monitor.names import clinician_key_codes, clinician_keys
from capa_monitor.periods import Quarter, working_days
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

PROJECTION_COLUMNS: tuple[str, ...] = (
    "booked_ahead", "free_ahead", "nonattendance_rate", "rate_basis", "projected", "to_find",
    "projection_words",
)
#: L2 per clinician of a review (diary_by_clinician).
DIARY_BY_CLINICIAN: tuple[str, ...] = ("in_diary", "next_target", "diary_flag", "slots_missing",
                                      "diary_words")
#: What `with_outlook` adds to a review's clinicians frame.
OUTLOOK_COLUMNS: tuple[str, ...] = (*PROJECTION_COLUMNS, *DIARY_BY_CLINICIAN)
DIARY_COLUMNS: tuple[str, ...] = (
    "clinician", "team", "next_target", "in_diary", "ready_at", "diary_flag", "slots_missing",
    "diary_words",
)
ON_COURSE = "on course"
#: Outcomes of a slot that happened or was missed by the family: the non-attendance rate's base.
_SEEN_OR_MISSED = (Outcome.ATTENDED, Outcome.DNA, Outcome.LATE_NOT_SEEN, Outcome.CANCELLED_BY_CLIENT)
_MISSED = (Outcome.DNA, Outcome.LATE_NOT_SEEN, Outcome.CANCELLED_BY_CLIENT)
#: Slack for comparing fractional targets (0.8 × 5 is exactly 4).
_SLACK = 1e-9


def slots_word(count: int) -> str:
    return f"{count} slot{'' if count == 1 else 's'}"


def whole_slots(count) -> int:
    """Slots to find, rounded up (a slot is whole; 2.0000000001 is 2); missing counts 0."""
    return 0 if pd.isna(count) else max(0, math.ceil(float(count) - _SLACK))


def needs_words(to_find: float, *, gone: bool = False) -> str:
    """L1's words: "on course", or "needs N more slots" with N rounded up (slots are whole);
    for a clinician who has left, "left: N for the team to find"."""
    needed = whole_slots(to_find)
    if not needed:
        return ON_COURSE
    slots = f"{needed} more slot{'' if needed == 1 else 's'}"
    return f"left: {needed} for the team to find" if gone else f"needs {slots}"


def under_way(quarter: Quarter, as_of: date) -> bool:
    """L1 applies inside the quarter only, never once it has ended (its last day is done)."""
    return quarter.start <= as_of < quarter.last_day


def projection(
    activity: pd.DataFrame,
    clinicians: pd.DataFrame,
    quarter: Quarter,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """L1 for each row of `clinicians` (needs clinician, team, target, delivered): the columns
    PROJECTION_COLUMNS, same index. Everything missing when the quarter is not under way."""
    if not under_way(quarter, as_of):
        return pd.DataFrame({column: _missing(clinicians.index, _dtype(column))
                             for column in PROJECTION_COLUMNS}, index=clinicians.index)
    # counted per clinician key with bincount over the rows' key codes, then looked up for the
    # review's few clinicians (value_counts and map per column cost a team's review 10 ms)
    code, distinct = clinician_key_codes(activity[CLINICIAN])
    dates = activity[DATE].to_numpy()
    outcome = activity[OUTCOME]
    core = (activity[KIND] == Kind.CORE_NEW.value).to_numpy()
    ahead = core & (dates > np.datetime64(as_of)) & (dates < np.datetime64(quarter.end))
    since = np.datetime64(as_of - timedelta(weeks=settings.nonattendance_weeks))
    recent = (core & (dates > since) & (dates <= np.datetime64(as_of))
              & outcome.isin([str(o) for o in _SEEN_OR_MISSED]).to_numpy())
    missed = recent & outcome.isin([str(o) for o in _MISSED]).to_numpy()

    def per_key(rows: np.ndarray) -> np.ndarray:
        return np.bincount(code[rows & (code >= 0)], minlength=len(distinct))

    booked = per_key(ahead & (outcome == Outcome.BOOKED.value).to_numpy())
    free = per_key(ahead & (outcome == Outcome.UNBOOKED.value).to_numpy())
    position = {key: i for i, key in enumerate(distinct)}
    at = np.array([position.get(key, -1) if isinstance(key, str) else -1
                   for key in clinician_keys(clinicians["clinician"].astype("str")).tolist()],
                  dtype=np.intp)
    # each clinician's count, 0 for one with no rows (at -1: the 0 appended; there may be
    # no keys at all, in a view whose quarter has no rows yet)
    booked_ahead = np.append(booked, 0)[at].astype("int64")
    free_ahead = np.append(free, 0)[at].astype("int64")

    rate, basis = _nonattendance(activity[TEAM], recent, missed, per_key(recent),
                                 per_key(missed), at, clinicians["team"], settings)
    delivered = clinicians["delivered"].to_numpy(dtype="float64")
    projected = delivered + booked_ahead.astype("float64") * (1 - rate)
    target = clinicians["target"].to_numpy(dtype="float64")
    to_find = np.maximum(0.0, target - projected)  # NaN without a target
    # A clinician who has left cannot book more: the slots are the team's to find (§8 L1 keeps
    # the full target; the words say who has to act on it).
    left = np.zeros(len(clinicians), dtype=bool)
    if "available_to" in clinicians:
        left = (clinicians["available_to"] < pd.Timestamp(as_of)).fillna(False).to_numpy()
    words = [None if np.isnan(n) else needs_words(n, gone=bool(g))
             for n, g in zip(to_find, left, strict=True)]
    return pd.DataFrame(
        {
            "booked_ahead": booked_ahead,
            "free_ahead": free_ahead,
            "nonattendance_rate": rate,
            "rate_basis": pd.array(basis, dtype="str"),
            "projected": projected,
            "to_find": to_find,
            "projection_words": pd.array(words, dtype="str"),
        },
        index=clinicians.index,
    )


def _missing(index: pd.Index, dtype: str) -> pd.Series:
    return pd.Series([None] * len(index), index=index, dtype="object").astype(dtype)


def _dtype(column: str) -> str:
    if column in ("booked_ahead", "free_ahead"):
        return "Int64"
    return "str" if column in ("rate_basis", "projection_words") else "float64"


def _nonattendance(row_teams: pd.Series, recent: np.ndarray, missed: np.ndarray,
                   own_base: np.ndarray, own_missed: np.ndarray, at: np.ndarray,
                   teams: pd.Series, settings: Settings) -> tuple[np.ndarray, list[str]]:
    """Each clinician's rate over their own recent slots, else their team's (§8 L1). `recent`
    and `missed` mark rows, `own_base` and `own_missed` count them per key, and `at` is each
    clinician's key position (-1: no rows)."""
    team_code, team_names = pd.factorize(row_teams)
    team_base: dict[str, int] = {}
    team_missed: dict[str, int] = {}
    for counts, rows in ((team_base, recent), (team_missed, missed)):
        tally = np.bincount(team_code[rows & (team_code >= 0)], minlength=len(team_names))
        for name, count in zip(team_names, tally.tolist(), strict=True):
            folded = str(name).strip().casefold()
            counts[folded] = counts.get(folded, 0) + count
    all_base, all_missed = int(recent.sum()), int(missed.sum())
    rates, bases = [], []
    for position, team in zip(at.tolist(), teams.astype("object"), strict=True):
        base = int(own_base[position]) if position >= 0 else 0
        if base >= settings.nonattendance_min_slots:
            rates.append(int(own_missed[position]) / base)
            bases.append("own")
            continue
        # a clinician with no team (a single-team file) takes every viewed row's rate
        if isinstance(team, str):
            team = team.strip().casefold()
            base, lost = team_base.get(team, 0), team_missed.get(team, 0)
        else:
            base, lost = all_base, all_missed
        rates.append(lost / base if base else 0.0)
        bases.append("team" if base else "none")
    return np.array(rates, dtype="float64"), bases


def available_share(plans: pd.DataFrame, quarter: Quarter, settings: Settings = DEFAULT_SETTINGS
                    ) -> np.ndarray:
    """Each plan's share of the quarter's working days inside its availability window
    (available_from / available_to, NaT: open), 0 to 1: the pro rata of a full-quarter target."""
    quarter_days = working_days(quarter.start, quarter.last_day, settings)
    if not quarter_days or plans.empty:
        return np.zeros(len(plans))
    first = pd.to_datetime(plans["available_from"]).clip(lower=pd.Timestamp(quarter.start))
    last = pd.to_datetime(plans["available_to"]).clip(upper=pd.Timestamp(quarter.last_day))
    first = first.fillna(pd.Timestamp(quarter.start)).to_numpy("datetime64[D]")
    last = last.fillna(pd.Timestamp(quarter.last_day)).to_numpy("datetime64[D]")
    return working_days(first, last, settings) / quarter_days


@dataclass(frozen=True)
class NextDiary:
    """L2 for one review: next quarter's diary. `clinicians` has DIARY_COLUMNS."""

    quarter: Quarter  # the next quarter
    ready_at: date  # diary_lead_weeks before it starts: from here the diary is checked
    checked: bool  # the as-of date is on or after ready_at (and before the quarter starts)
    clinicians: pd.DataFrame

    @property
    def flagged(self) -> pd.DataFrame:
        return self.clinicians[self.clinicians["diary_flag"].to_numpy(dtype=bool)]


def diary_ready_at(next_quarter: Quarter, settings: Settings = DEFAULT_SETTINGS) -> date:
    """The day from which fewer than diary_lead_weeks weeks remain before next quarter: the
    as-of date is a complete day, so the weeks left are counted from the day after it."""
    return next_quarter.start - timedelta(weeks=settings.diary_lead_weeks)


def next_diary(
    activity: pd.DataFrame,
    plans: pd.DataFrame,
    quarter: Quarter,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
) -> NextDiary | None:
    """L2 for the quarter after `quarter`; None once that next quarter has started or before
    `quarter` has (there is no "next" diary to prepare then).

    Per clinician planned for the next quarter with a target (a leaver gone by then is not):
    next_target = that quarter's target × their available share of it; in_diary = their core_new
    slots dated in it, any outcome but cancelled_by_service; flagged (once checked) when
    in_diary < next_target × diary_ready_fraction; slots_missing = next_target − in_diary,
    rounded up.
    """
    following = quarter.next()
    if not quarter.start <= as_of < following.start:
        return None
    ready_at = diary_ready_at(following, settings)
    checked = as_of >= ready_at
    targets = quarterly_targets(plans, following, settings)
    share = available_share(targets, following, settings)
    planned = targets["core_target"].notna().to_numpy() & (share > 0)
    targets = targets[planned].assign(next_target=targets["core_target"][planned] * share[planned])

    dates = activity[DATE].to_numpy()
    rows = ((activity[KIND] == Kind.CORE_NEW.value).to_numpy()
            & (activity[OUTCOME] != Outcome.CANCELLED_BY_SERVICE.value).to_numpy()
            & (dates >= np.datetime64(following.start)) & (dates < np.datetime64(following.end)))
    code, distinct = clinician_key_codes(activity[CLINICIAN])
    counts = dict(zip(distinct, np.bincount(code[rows & (code >= 0)],
                                            minlength=len(distinct)).tolist(), strict=True))
    in_diary = np.array([counts.get(key, 0) for key in
                         clinician_keys(targets["clinician"]).tolist()], dtype="int64")
    next_target = targets["next_target"].to_numpy(dtype="float64")
    flag = checked & (in_diary < next_target * settings.diary_ready_fraction - _SLACK)
    missing = np.ceil(np.maximum(0.0, next_target - in_diary) - _SLACK).astype("int64")
    frame = pd.DataFrame(
        {
            "clinician": targets["clinician"].to_numpy(),
            "team": targets["team"].to_numpy(),
            "next_target": next_target,
            "in_diary": in_diary,
            "ready_at": pd.Timestamp(ready_at),
            "diary_flag": flag,
            "slots_missing": pd.array(np.where(flag, missing, 0), dtype="Int64"),
        }
    )
    frame["diary_words"] = pd.array(
        [_diary_words(f, n, d, t, following, ready_at, checked)
         for f, n, d, t in zip(flag, missing, frame["in_diary"], next_target, strict=True)],
        dtype="str",
    )
    frame = frame.sort_values(["diary_flag", "team", "clinician"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)
    return NextDiary(quarter=following, ready_at=ready_at, checked=checked,
                     clinicians=frame[list(DIARY_COLUMNS)])


def _diary_words(flag: bool, missing: int, in_diary: int, target: float, following: Quarter,
                 ready_at: date, checked: bool) -> str:
    have = f"{in_diary} of {target:.0f} in the {following.label} diary"
    if not checked:
        return f"{have}; checked from {ready_at.day} {ready_at:%b}"
    if flag:
        if in_diary == 0:
            return f"no slots in the {following.label} diary yet: {slots_word(missing)} missing"
        return f"{slots_word(missing)} missing ({have})"
    return f"diary ready ({have})"


def with_outlook(activity: pd.DataFrame, clinicians: pd.DataFrame, diary: NextDiary | None,
                 quarter: Quarter, as_of: date, settings: Settings = DEFAULT_SETTINGS
                 ) -> pd.DataFrame:
    """A review's clinicians frame with L1 and L2 beside M1 (OUTLOOK_COLUMNS added)."""
    return pd.concat([clinicians, projection(activity, clinicians, quarter, as_of, settings),
                      diary_by_clinician(diary, clinicians)], axis=1)


def diary_by_clinician(diary: NextDiary | None, clinicians: pd.DataFrame) -> pd.DataFrame:
    """L2's in_diary, next_target and words for each row of a review's clinicians frame (same
    index); missing for a clinician not planned next quarter, or when there is no L2."""
    columns = {"in_diary": "Int64", "next_target": "float64", "diary_flag": "boolean",
               "slots_missing": "Int64", "diary_words": "str"}
    if diary is None:
        return pd.DataFrame({column: _missing(clinicians.index, dtype)
                             for column, dtype in columns.items()}, index=clinicians.index)
    position = {key: i for i, key in
                enumerate(clinician_keys(diary.clinicians["clinician"]).tolist())}
    at = [position.get(key, -1) if isinstance(key, str) else -1
          for key in clinician_keys(clinicians["clinician"].astype("str")).tolist()]
    return pd.DataFrame(
        {column: pd.Series(take(diary.clinicians[column].to_numpy(), at, allow_fill=True))
         .astype(dtype).to_numpy() for column, dtype in columns.items()},
        index=clinicians.index,
    )
