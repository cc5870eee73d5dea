"""Per team, clinician and day counts of the stored rows: what the trend charts (M7), the
as-of date (§2) and "who works in this team" need from the whole history, small enough to keep.

The store keeps the same counts in a table refreshed at write time (store/counts.py), so a
review reads a few thousand of these instead of every row of five years; `daily_counts` is
the definition both follow (tests/test_bounded_review.py checks they agree).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from capa_monitor.model import CORE_KINDS, HAPPENED_OUTCOMES, SPECIFIC_KINDS, Kind, Outcome

#: Kinds whose DNA/WNB rate M7 charts (`other` kinds are often meetings or admin).
DNA_KINDS = frozenset({Kind.CHOICE}) | CORE_KINDS | SPECIFIC_KINDS
#: Outcomes in the DNA/WNB rate's denominator: the family was expected and came or did not.
DNA_SEEN_OUTCOMES = frozenset({Outcome.ATTENDED, Outcome.DNA, Outcome.LATE_NOT_SEEN})

COUNT_COLUMNS = ("rows", "happened", "core_new_attended", "dna", "dna_seen")
DAILY_COLUMNS = ("team", "clinician", "date", *COUNT_COLUMNS)


def daily_counts(activity: pd.DataFrame) -> pd.DataFrame:
    """One row per (team, clinician, date) with rows (any outcome), happened (attended or
    missed: the as-of date's outcomes), core_new_attended (M7's weekly count), dna and
    dna_seen (M7's monthly rate over DNA_KINDS). A missing team is ""."""
    kind, outcome = activity["kind"], activity["outcome"]
    dna_kind = kind.isin([str(k) for k in DNA_KINDS])
    counts = pd.DataFrame({
        "team": activity["team"].fillna("").astype("str"),
        "clinician": activity["clinician"].astype("str"),
        "date": activity["date"],
        "rows": 1,
        "happened": outcome.isin([str(o) for o in HAPPENED_OUTCOMES]).astype("int64"),
        "core_new_attended": ((kind == Kind.CORE_NEW) & (outcome == Outcome.ATTENDED)
                              ).astype("int64"),
        "dna": (dna_kind & (outcome == Outcome.DNA)).astype("int64"),
        "dna_seen": (dna_kind & outcome.isin([str(o) for o in DNA_SEEN_OUTCOMES])
                     ).astype("int64"),
    })
    summed = counts.groupby(["team", "clinician", "date"], sort=True, as_index=False).sum()
    return summed.reindex(columns=list(DAILY_COLUMNS))


def by_date(daily: pd.DataFrame) -> pd.DataFrame:
    """The counts summed over teams and clinicians: one row per date (index), COUNT_COLUMNS."""
    if daily.empty:
        return pd.DataFrame({name: pd.Series(dtype="int64") for name in COUNT_COLUMNS},
                            index=pd.DatetimeIndex([], name="date"))
    summed = daily.groupby("date", sort=True)[list(COUNT_COLUMNS)].sum()
    summed.index = pd.DatetimeIndex(summed.index, name="date")
    return summed.astype("int64")


def latest_happened(dates: pd.DataFrame) -> date | None:
    """The as-of date (§2) from `by_date` counts: the latest date something was attended or
    missed; None when nothing was."""
    happened = dates.index[dates["happened"].to_numpy() > 0]
    return None if len(happened) == 0 else happened.max().date()


def first_date(dates: pd.DataFrame) -> date | None:
    """The earliest stored date of `by_date` counts (None: no rows)."""
    return None if dates.empty else dates.index.min().date()
