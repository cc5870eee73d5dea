"""L3 (domain spec §8): the team's capacity for new Core Partnerships against the demand for
them, per quarter, with the internal wait (M5) beside it.

Demand = attended Choice appointments × the measured Choice → Core conversion. Capacity = the
planned clinicians' quarter targets, each clipped to their availability. Weeks are the
settings' usable weeks (targets and Choice targets count in them), so "per week" is a quarter
figure ÷ usable_weeks_per_quarter and the ratio does not depend on which is used.

A quarter's attended Choice appointments are counted as they are once it has ended; while it
is under way the count so far is scaled to the quarter by working days; a quarter still to
come takes the rate of the conversion window (the last N weeks up to the as-of date). The
`basis` column says which.

Columns of `capacity_by_quarter` (one row per quarter asked for, in order):
    quarter (label), start, basis ("measured" | "so far" | "forecast"), choice_attended (the
    count behind it), choice (the quarter's Choice, scaled), conversion, demand, capacity,
    demand_per_week, capacity_per_week, balance (capacity ÷ demand; NaN without demand),
    balance_words, median_wait, waits (completed), still_waiting, wait_change (median −
    the previous row's), wait_words
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from capa_monitor.metrics import flow
from capa_monitor.metrics.ahead import available_share
from capa_monitor.model import CLIENT_KEY, DATE, KIND, OUTCOME, Kind, Outcome
from capa_monitor.periods import Quarter, working_days
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

CAPACITY_COLUMNS: tuple[str, ...] = (
    "quarter", "start", "basis", "choice_attended", "choice", "conversion", "demand", "capacity",
    "demand_per_week", "capacity_per_week", "balance", "balance_words", "median_wait", "waits",
    "still_waiting", "wait_change", "wait_words",
)
IN_BALANCE = "in balance"
NO_DEMAND = "no demand measured (no attended Choice)"
#: Outcomes that show a client was put into a new Core Partnership slot (booked or past).
_INTO_CORE = (Outcome.ATTENDED, Outcome.DNA, Outcome.LATE_NOT_SEEN, Outcome.CANCELLED_BY_CLIENT,
              Outcome.BOOKED)


@dataclass(frozen=True)
class Conversion:
    """The Choice → Core conversion used for demand, and what it rests on."""

    rate: float
    clients: int  # clients with an attended Choice in the window
    converted: int  # of them, with a new Core Partnership on or after it
    measured: bool  # False: fewer than conversion_min_clients, so the default
    since: date  # window: after this day, up to the as-of date

    def words(self, settings: Settings = DEFAULT_SETTINGS) -> str:
        if self.measured:
            return (f"{self.rate:.0%} of clients go on from Choice to Core Partnership "
                    f"({self.converted} of {self.clients} seen at Choice in the last "
                    f"{settings.conversion_weeks} weeks)")
        return (f"{self.rate:.0%} of clients go on from Choice to Core Partnership (CAPA's "
                f"usual figure: only {self.clients} clients seen at Choice in the last "
                f"{settings.conversion_weeks} weeks, fewer than {settings.conversion_min_clients})")


def conversion(activity: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
               ) -> Conversion:
    """Share of clients with an attended Choice in the last conversion_weeks weeks (up to
    as_of) who had a new Core Partnership (booked, attended or missed) on or after their first
    such Choice; the default below conversion_min_clients clients."""
    since = as_of - timedelta(weeks=settings.conversion_weeks)
    keyed = activity[activity[CLIENT_KEY].notna()]
    choices = keyed[(keyed[KIND] == Kind.CHOICE.value) & (keyed[OUTCOME] == Outcome.ATTENDED.value)
                    & (keyed[DATE] > pd.Timestamp(since)) & (keyed[DATE] <= pd.Timestamp(as_of))]
    first_choice = choices.groupby(CLIENT_KEY)[DATE].min()
    cores = keyed[(keyed[KIND] == Kind.CORE_NEW.value)
                  & keyed[OUTCOME].isin([str(o) for o in _INTO_CORE])]
    last_core = cores.groupby(CLIENT_KEY)[DATE].max()
    later = last_core.reindex(first_choice.index)
    converted = int((later >= first_choice).sum())
    clients = len(first_choice)
    measured = clients >= settings.conversion_min_clients
    rate = converted / clients if measured else settings.default_conversion
    return Conversion(rate, clients, converted, measured, since)


def plan_capacity(plans: pd.DataFrame, quarter: Quarter, settings: Settings = DEFAULT_SETTINGS
                  ) -> pd.DataFrame:
    """Each planned clinician's quarter target and the part of it their availability allows
    (`available_target`, what counts in capacity): clinician, team, target, available_target."""
    targets = quarterly_targets(plans, quarter, settings)
    share = available_share(targets, quarter, settings)
    return pd.DataFrame({
        "clinician": targets["clinician"],
        "team": targets["team"],
        "target": targets["core_target"],
        "available_target": targets["core_target"] * share,
    })


def balance_words(capacity: float, demand: float, settings: Settings = DEFAULT_SETTINGS) -> str:
    """"in balance" inside the band; else the gap a quarter, in whole new Core Partnerships."""
    if not demand > 0:
        return NO_DEMAND
    ratio = capacity / demand
    if settings.balance_low <= ratio <= settings.balance_high:
        return IN_BALANCE
    if ratio < settings.balance_low:
        return f"capacity short by {_partnerships(demand - capacity)} a quarter"
    return f"spare capacity {_partnerships(capacity - demand)} a quarter"


def _partnerships(count: float) -> str:
    shown = int(np.floor(count + 0.5))
    if shown < 1:
        return "less than 1 new Core Partnership"
    return f"{shown} new Core Partnership{'' if shown == 1 else 's'}"


def quarter_choice(activity: pd.DataFrame, quarter: Quarter, as_of: date,
                   settings: Settings = DEFAULT_SETTINGS) -> tuple[int, float, str]:
    """(attended Choice counted, the quarter's Choice, basis): see the module docstring."""
    attended = activity[(activity[KIND] == Kind.CHOICE.value)
                        & (activity[OUTCOME] == Outcome.ATTENDED.value)]
    days = attended[DATE]
    quarter_days = working_days(quarter.start, quarter.last_day, settings)
    if as_of >= quarter.last_day:
        count = int(((days >= pd.Timestamp(quarter.start)) & (days < pd.Timestamp(quarter.end))).sum())
        return count, float(count), "measured"
    if as_of >= quarter.start:
        count = int(((days >= pd.Timestamp(quarter.start)) & (days <= pd.Timestamp(as_of))).sum())
        elapsed = working_days(quarter.start, as_of, settings)
        if elapsed:
            return count, count * quarter_days / elapsed, "so far"
    since = as_of - timedelta(weeks=settings.conversion_weeks)
    count = int(((days > pd.Timestamp(since)) & (days <= pd.Timestamp(as_of))).sum())
    window_days = working_days(since + timedelta(days=1), as_of, settings)
    return count, (count * quarter_days / window_days if window_days else 0.0), "forecast"


def capacity_by_quarter(
    activity: pd.DataFrame,
    plans: pd.DataFrame,
    quarters: Sequence[Quarter],
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
    measured: Conversion | None = None,
) -> pd.DataFrame:
    """L3 for each quarter (columns CAPACITY_COLUMNS): `activity` and `plans` are the viewed
    teams'; `measured` saves working the conversion out again (it depends on as_of only)."""
    measured = measured or conversion(activity, as_of, settings)
    weeks = settings.usable_weeks_per_quarter
    rows = []
    previous_wait = np.nan
    for quarter in quarters:
        counted, choice, basis = quarter_choice(activity, quarter, as_of, settings)
        demand = choice * measured.rate
        capacity = float(plan_capacity(plans, quarter, settings)["available_target"].sum())
        wait = _wait(activity, quarter, as_of, settings)
        change = wait["median"] - previous_wait
        previous_wait = wait["median"] if not np.isnan(wait["median"]) else previous_wait
        rows.append({
            "quarter": quarter.label,
            "start": pd.Timestamp(quarter.start),
            "basis": basis,
            "choice_attended": counted,
            "choice": choice,
            "conversion": measured.rate,
            "demand": demand,
            "capacity": capacity,
            "demand_per_week": demand / weeks,
            "capacity_per_week": capacity / weeks,
            "balance": capacity / demand if demand > 0 else np.nan,
            "balance_words": balance_words(capacity, demand, settings),
            "median_wait": wait["median"],
            "waits": wait["n"],
            "still_waiting": wait["still_waiting"],
            "wait_change": change,
            "wait_words": _wait_words(wait["median"], change, basis),
        })
    return pd.DataFrame(rows, columns=list(CAPACITY_COLUMNS))


def _wait(activity: pd.DataFrame, quarter: Quarter, as_of: date, settings: Settings) -> dict:
    if as_of < quarter.start:
        return {"median": np.nan, "n": 0, "still_waiting": 0}
    waits = flow.internal_waits(activity, quarter.start, quarter.end, as_of)
    summary = flow.summarise_waits(waits, settings)
    return summary[summary["team"] == flow.ALL_TEAMS].iloc[0].to_dict()


def _wait_words(median: float, change: float, basis: str) -> str:
    if basis == "forecast":
        return "still to come"
    if np.isnan(median):
        return "no completed waits"
    text = f"median {median:.0f} days"
    if np.isnan(change):
        return text
    if abs(change) < 0.5:
        return f"{text}, as the quarter before"
    return f"{text}, {'up' if change > 0 else 'down'} {abs(change):.0f} on the quarter before"


def rule_of_thumb(quarter_choice: float) -> str:
    """CAPA's check: a team in balance delivers 8–9 new Core Partnerships a quarter per
    accepted referral a week (each accepted referral comes to a Choice appointment; a quarter
    is 13 calendar weeks, the rule's weeks)."""
    per_week = quarter_choice / 13
    return (f"CAPA's rule of thumb: at {per_week:.1f} Choice appointments a week, a team in "
            f"balance delivers about {8 * per_week:.0f}–{9 * per_week:.0f} new Core "
            "Partnerships a quarter.")
