"""M4: Specific work drifting into long, unfocused contact (domain spec §5 M4).

An episode is one client's run of attended Specific appointments (`specific_new` or
`specific_followup`) with one clinician, consecutive sessions less than
`settings.drift_gap_weeks` weeks apart; a gap of exactly that many weeks or more starts a new
episode. DNAs, cancellations and free slots are not sessions. Only attended sessions dated on
or before the as-of date count.

An episode is open when its last session is less than the gap before the as-of date, or when
it is the latest episode of that client and clinician and they have a Specific slot still
`booked` on or after the as-of date (the work has not ended, even after a run of DNAs). An open
episode is flagged when it has more than `drift_max_sessions` sessions or spans more than
`drift_max_weeks` weeks (first to last session). Closed episodes are listed, never flagged.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from capa_monitor.model import SPECIFIC_KINDS, Outcome
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

DRIFT_COLUMNS = (
    "clinician",
    "team",
    "client_ref",
    "first_date",
    "last_date",
    "sessions",
    "weeks",
    "open",
    "flagged",
    "reason",
)

#: Characters of the keyed pseudonym shown to tell episodes apart; never the whole key.
CLIENT_REF_CHARS = 8


def specific_drift(
    activity: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per Specific episode (columns DRIFT_COLUMNS), flagged ones first then by clinician."""
    as_of_ts = pd.Timestamp(as_of)
    gap = pd.Timedelta(weeks=settings.drift_gap_weeks)
    # masks over the columns, then only the rows needed: copying every row first is the cost
    specific = (activity["kind"].isin(SPECIFIC_KINDS) & activity["client_key"].notna()).to_numpy()
    outcome, day = activity["outcome"], activity["date"]
    sessions = activity.loc[
        specific & ((outcome == Outcome.ATTENDED) & (day <= as_of_ts)).to_numpy(),
        ["client_key", "clinician", "team", "date"],
    ]
    if sessions.empty:
        return pd.DataFrame({name: [] for name in DRIFT_COLUMNS}).astype(_EMPTY_DTYPES)

    # work on integer codes: sorting and taking long pseudonym strings is the slow part
    client_code, clients = pd.factorize(sessions["client_key"])
    clinician_code, clinicians = pd.factorize(sessions["clinician"], sort=True)  # alphabetical
    team_code, teams = pd.factorize(sessions["team"], use_na_sentinel=False)
    dates = sessions["date"].to_numpy()
    order = np.lexsort((dates, clinician_code, client_code))
    client_code, clinician_code, team_code, dates = (
        client_code[order], clinician_code[order], team_code[order], dates[order]
    )
    new_pair = np.ones(len(order), dtype=bool)
    new_pair[1:] = (client_code[1:] != client_code[:-1]) | (
        clinician_code[1:] != clinician_code[:-1]
    )
    new_episode = new_pair.copy()
    new_episode[1:] |= (dates[1:] - dates[:-1]) >= gap.to_timedelta64()
    first = np.flatnonzero(new_episode)
    last = np.append(first[1:], len(order)) - 1
    client_of_episode = client_code[first]
    clinician_of_episode = clinician_code[first]
    episodes = pd.DataFrame(
        {
            "clinician": clinicians.take(clinician_of_episode),
            "team": teams.take(team_code[last]),
            "client_ref": clients.take(client_of_episode).str.slice(0, CLIENT_REF_CHARS),
            "first_date": dates[first],
            "last_date": dates[last],
            "sessions": last - first + 1,
        }
    )
    latest_of_pair = np.append(new_pair[first][1:], True)

    # a Specific slot still booked from the as-of date on, per (client, clinician) code pair
    booked = activity.loc[
        specific & ((outcome == Outcome.BOOKED) & (day >= as_of_ts)).to_numpy(),
        ["client_key", "clinician"],
    ]
    booked_client = clients.get_indexer(booked["client_key"])
    booked_clinician = clinicians.get_indexer(booked["clinician"])
    known = (booked_client >= 0) & (booked_clinician >= 0)
    booked_pair = (booked_client * len(clinicians) + booked_clinician)[known]
    episode_pair = client_of_episode * len(clinicians) + clinician_of_episode
    has_booking = np.isin(episode_pair, booked_pair)
    still_booked = latest_of_pair & has_booking
    episodes["open"] = (as_of_ts - episodes["last_date"] < gap) | still_booked
    episodes["weeks"] = (episodes["last_date"] - episodes["first_date"]).dt.days / 7

    too_many = episodes["sessions"] > settings.drift_max_sessions
    too_long = episodes["weeks"] > settings.drift_max_weeks
    episodes["flagged"] = episodes["open"] & (too_many | too_long)
    episodes["reason"] = _reasons(episodes, too_many, too_long, settings)

    # ties (one clinician, two clients, the same first day) by the client's reference, so
    # the order never depends on the order the rows came in
    flagged_first = np.lexsort(
        (episodes["client_ref"].to_numpy(dtype=object), episodes["first_date"].to_numpy(),
         clinician_of_episode, ~episodes["flagged"].to_numpy())
    )
    return episodes.iloc[flagged_first][list(DRIFT_COLUMNS)].reset_index(drop=True)


def open_episodes(
    activity: pd.DataFrame, as_of: date, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """The episodes open at `as_of` (what the review shows and flags; closed ones are history)."""
    episodes = specific_drift(activity, as_of, settings)
    return episodes[episodes["open"].to_numpy(dtype=bool)].reset_index(drop=True)


_EMPTY_DTYPES = {
    "clinician": "str",
    "team": "str",
    "client_ref": "str",
    "first_date": "datetime64[ns]",
    "last_date": "datetime64[ns]",
    "sessions": "int64",
    "weeks": "float64",
    "open": "bool",
    "flagged": "bool",
    "reason": "str",
}


def _reasons(
    episodes: pd.DataFrame, too_many: pd.Series, too_long: pd.Series, settings: Settings
) -> pd.Series:
    """Why an episode is flagged, in words (empty when it is not)."""
    reasons = pd.Series("", index=episodes.index, dtype="str")
    flagged = episodes[episodes["flagged"]]
    if flagged.empty:
        return reasons
    session_text = flagged["sessions"].map(
        lambda n: f"{n} sessions (over {settings.drift_max_sessions})"
    )
    weeks_text = flagged["weeks"].map(lambda w: f"{w:.1f} weeks (over {settings.drift_max_weeks})")
    many, long = too_many[flagged.index], too_long[flagged.index]
    reasons[flagged.index] = np.where(
        many & long, session_text + "; " + weeks_text, np.where(many, session_text, weeks_text)
    )
    return reasons
