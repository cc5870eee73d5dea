"""M5: the internal wait from Choice to Core Partnership, and handovers (domain spec §5 M5).

Each client's attended Choice and attended `core_new` appointments (dated on or before the
as-of date, with a client key) are put in date order, Choice first on the same day. A wait
ends at a `core_new` that directly follows a Choice in that order: it runs from that Choice
(the client's last Choice before the Core Partnership) to the `core_new`, so a same-day pair
waits 0 days. A client whose latest such appointment is a Choice is still waiting; their
wait so far runs to the as-of date. (The export does not say who was discharged at Choice,
so such a client is counted as waiting; the list lets the manager check.)

Which waits belong to a period [start, end): completed ones whose `core_new` falls in it, and
still-waiting ones whose Choice falls in it (so a client still waiting from an earlier
quarter shows in that quarter's review, not this one).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from capa_monitor.model import Kind, Outcome
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

WAIT_COLUMNS = (
    "client_key",
    "team",
    "choice_date",
    "core_date",
    "wait_days",
    "waiting",
    "choice_clinician",
    "core_clinician",
    "handover",
)

ALL_TEAMS = "All teams"


def internal_waits(activity: pd.DataFrame, start: date, end: date, as_of: date) -> pd.DataFrame:
    """One row per wait belonging to [start, end) (columns WAIT_COLUMNS), longest first.

    `waiting` is True for clients still waiting (then `core_date`, `core_clinician` and
    `handover` are missing); `team` is the Core Partnership's team, or the Choice's while
    waiting; `handover` is True when the Core clinician is not the Choice clinician.
    """
    as_of_ts = pd.Timestamp(as_of)
    events = activity.loc[
        activity["kind"].isin([Kind.CHOICE, Kind.CORE_NEW])
        & (activity["outcome"] == Outcome.ATTENDED)
        & activity["client_key"].notna()
        & (activity["date"] <= as_of_ts),
        ["client_key", "clinician", "team", "date", "kind"],
    ]
    # order on integer codes: sorting long pseudonym strings is the slow part on big exports
    client_code, _ = pd.factorize(events["client_key"], sort=True)
    clinician_code, _ = pd.factorize(events["clinician"], sort=True)
    is_core = (events["kind"] == Kind.CORE_NEW).to_numpy()
    dates = events["date"].to_numpy()
    # Choice before Core on the same day; two alike on one day by clinician, so the order
    # never depends on the order the rows came in
    order = np.lexsort((clinician_code, is_core, dates, client_code))
    client_code, is_core, dates = client_code[order], is_core[order], dates[order]
    same_client_prev = np.zeros(len(order), dtype=bool)
    same_client_prev[1:] = client_code[1:] == client_code[:-1]
    prev_is_choice = np.zeros(len(order), dtype=bool)
    prev_is_choice[1:] = ~is_core[:-1]
    completes = np.flatnonzero(is_core & same_client_prev & prev_is_choice)
    last_of_client = np.ones(len(order), dtype=bool)
    last_of_client[:-1] = client_code[1:] != client_code[:-1]
    still = np.flatnonzero(last_of_client & ~is_core)

    # only the waits of the period get text columns: most of the history is other quarters'
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    core_date = dates[completes]
    completes = completes[(core_date >= start_ts) & (core_date < end_ts)]
    choice_date = dates[still]
    still = still[(choice_date >= start_ts) & (choice_date < end_ts)]

    def column(name: str, at: np.ndarray) -> np.ndarray:
        return events[name].take(order[at]).to_numpy()

    completed = pd.DataFrame(
        {
            "client_key": column("client_key", completes),
            "team": column("team", completes),
            "choice_date": dates[completes - 1],
            "core_date": dates[completes],
            "choice_clinician": column("clinician", completes - 1),
            "core_clinician": column("clinician", completes),
            "waiting": False,
        }
    )
    waiting = pd.DataFrame(
        {
            "client_key": column("client_key", still),
            "team": column("team", still),
            "choice_date": dates[still],
            "core_date": np.full(len(still), np.datetime64("NaT"), dtype=dates.dtype),
            "choice_clinician": column("clinician", still),
            "core_clinician": pd.array([pd.NA] * len(still), dtype="str"),
            "waiting": True,
        }
    )

    waits = pd.concat([completed, waiting], ignore_index=True)

    waits["wait_days"] = (
        waits["core_date"].where(~waits["waiting"], as_of_ts) - waits["choice_date"]
    ).dt.days.astype("int64")
    waits["handover"] = pd.array(
        np.where(
            waits["waiting"],
            None,
            waits["choice_clinician"].to_numpy() != waits["core_clinician"].to_numpy(),
        ),
        dtype="boolean",
    )
    waits = waits.sort_values(["wait_days", "client_key"], ascending=[False, True], kind="stable")
    return waits[list(WAIT_COLUMNS)].reset_index(drop=True)


def summarise_waits(waits: pd.DataFrame, settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Summary of an `internal_waits` frame, one row per team and a last "All teams" row.

    Columns: team, n (completed waits), median and p90 of their wait_days (90th percentile by
    linear interpolation between ranks, numpy's default), pct_within_<d> for each threshold d
    of settings.wait_thresholds_days (per cent of completed waits of at most d days),
    still_waiting (clients waiting), still_waiting_over_<first threshold> (of them, waiting
    more than that many days at the as-of date), handover_rate (per cent of completed waits
    whose Core clinician differs from the Choice clinician). Rates are NaN when n is 0.
    """
    groups = [(team, rows) for team, rows in waits.groupby("team", sort=True, dropna=False)]
    groups.append((ALL_TEAMS, waits))
    first_threshold = settings.wait_thresholds_days[0]
    rows = []
    for team, group in groups:
        done = group.loc[~group["waiting"], "wait_days"].to_numpy(dtype="float64")
        still = group.loc[group["waiting"], "wait_days"].to_numpy()
        handover = group.loc[~group["waiting"], "handover"].to_numpy(dtype="float64")
        row = {
            "team": team,
            "n": len(done),
            "median": float(np.median(done)) if len(done) else np.nan,
            "p90": float(np.percentile(done, 90)) if len(done) else np.nan,
        }
        for days in settings.wait_thresholds_days:
            row[f"pct_within_{days}"] = 100.0 * (done <= days).mean() if len(done) else np.nan
        row["still_waiting"] = len(still)
        row[f"still_waiting_over_{first_threshold}"] = int((still > first_threshold).sum())
        row["handover_rate"] = 100.0 * handover.mean() if len(done) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
