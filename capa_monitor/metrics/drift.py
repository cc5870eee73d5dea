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
    specific = activity[
        activity["kind"].isin(SPECIFIC_KINDS) & activity["client_key"].notna()
    ]
    sessions = specific[
        (specific["outcome"] == Outcome.ATTENDED) & (specific["date"] <= as_of_ts)
    ][["client_key", "clinician", "team", "date"]].sort_values(
        ["client_key", "clinician", "date"], kind="stable"
    )
    if sessions.empty:
        return pd.DataFrame({name: [] for name in DRIFT_COLUMNS}).astype(_EMPTY_DTYPES)

    same_pair = (sessions["client_key"] == sessions["client_key"].shift()) & (
        sessions["clinician"] == sessions["clinician"].shift()
    )
    new_episode = ~same_pair | (sessions["date"] - sessions["date"].shift() >= gap)
    episode_id = new_episode.cumsum().rename("episode")
    episodes = sessions.groupby(episode_id, sort=False).agg(
        client_key=("client_key", "first"),
        clinician=("clinician", "first"),
        team=("team", "last"),
        first_date=("date", "first"),
        last_date=("date", "last"),
        sessions=("date", "size"),
    )

    next_booked = (
        specific[(specific["outcome"] == Outcome.BOOKED) & (specific["date"] >= as_of_ts)]
        .groupby(["client_key", "clinician"])["date"]
        .min()
        .rename("next_booked")
    )
    episodes = episodes.join(next_booked, on=["client_key", "clinician"])
    latest_of_pair = ~episodes.duplicated(["client_key", "clinician"], keep="last")
    still_booked = latest_of_pair & episodes["next_booked"].notna()
    episodes["open"] = (as_of_ts - episodes["last_date"] < gap) | still_booked
    episodes["weeks"] = (episodes["last_date"] - episodes["first_date"]).dt.days / 7

    too_many = episodes["sessions"] > settings.drift_max_sessions
    too_long = episodes["weeks"] > settings.drift_max_weeks
    episodes["flagged"] = episodes["open"] & (too_many | too_long)
    episodes["reason"] = _reasons(episodes, too_many, too_long, settings)
    episodes["client_ref"] = episodes["client_key"].str.slice(0, CLIENT_REF_CHARS)

    result = episodes.sort_values(
        ["flagged", "clinician", "first_date"], ascending=[False, True, True], kind="stable"
    )
    return result[list(DRIFT_COLUMNS)].reset_index(drop=True)


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
) -> np.ndarray:
    """Why an episode is flagged, in words (empty when it is not)."""
    session_text = (
        episodes["sessions"].astype("str")
        + f" sessions (over {settings.drift_max_sessions})"
    )
    weeks_text = (
        episodes["weeks"].round(1).astype("str") + f" weeks (over {settings.drift_max_weeks})"
    )
    flagged = episodes["flagged"].to_numpy()
    many = flagged & too_many.to_numpy()
    long = flagged & too_long.to_numpy()
    return np.where(
        many & long,
        session_text + "; " + weeks_text,
        np.where(many, session_text, np.where(long, weeks_text, "")),
    )
