"""M4 Specific drift: episodes, gaps, open/closed and the session and week limits."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from conftest import make_activity

from capa_monitor.metrics.drift import DRIFT_COLUMNS, specific_drift
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

CLIENT_A = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
CLIENT_B = "b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f4a5a5a5a5b6b6b6b6c7c7c7c7"
MONDAY = date(2026, 1, 5)


def sessions(client: str, clinician: str, days: list[date], **extra) -> list[dict]:
    return [
        {
            "clinician": clinician,
            "team": "North",
            "date": day.isoformat(),
            "kind": "specific_followup",
            "outcome": "attended",
            "client_key": client,
            **extra,
        }
        for day in days
    ]


def weekly(first: date, count: int, every_weeks: int = 1) -> list[date]:
    return [first + timedelta(weeks=every_weeks * i) for i in range(count)]


def episodes(rows: list[dict], as_of: date, settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    return specific_drift(make_activity(rows), as_of, settings).sort_values("first_date")


def test_columns_and_client_ref_is_eight_characters():
    result = episodes(sessions(CLIENT_A, "Ann Bell", [MONDAY]), MONDAY)
    assert list(result.columns) == list(DRIFT_COLUMNS)
    assert result["client_ref"].tolist() == ["a1b2c3d4"]
    assert result["team"].tolist() == ["North"]


@pytest.mark.parametrize(
    ("gap_days", "expected"),
    [
        # 19 Jan + 56 days = 16 Mar: a gap of exactly 8 weeks starts a new episode.
        # E1 5, 12, 19 Jan: 3 sessions, 2 weeks; closed (31 Mar − 19 Jan = 71 days ≥ 56).
        # E2 16, 23 Mar: 2 sessions, 1 week; open (31 Mar − 23 Mar = 8 days).
        (56, [(3, 2.0, False), (2, 1.0, True)]),
        # 55 days (7 weeks 6 days) keeps it one episode: 5 sessions 5 Jan – 22 Mar,
        # (22 Mar − 5 Jan) = 76 days = 10.857 weeks.
        (55, [(5, 76 / 7, True)]),
    ],
)
def test_a_gap_of_eight_weeks_breaks_the_episode(gap_days, expected):
    first_run = weekly(MONDAY, 3)
    restart = first_run[-1] + timedelta(days=gap_days)
    rows = sessions(CLIENT_A, "Ann Bell", first_run + [restart, restart + timedelta(weeks=1)])
    result = episodes(rows, date(2026, 3, 31))
    got = list(zip(result["sessions"], result["weeks"], result["open"], strict=True))
    assert [(n, pytest.approx(w), o) for n, w, o in got] == expected
    assert not result["flagged"].any()


@pytest.mark.parametrize(
    ("count", "flagged", "reason"),
    [
        # 13 weekly sessions 5 Jan – 30 Mar: 13 > 12 -> flagged; 12 weeks is under 26.
        (13, True, "13 sessions (over 12)"),
        # 12 sessions is the limit, not over it.
        (12, False, ""),
    ],
)
def test_an_open_episode_over_twelve_sessions_is_flagged(count, flagged, reason):
    days = weekly(MONDAY, count)
    result = episodes(sessions(CLIENT_A, "Ann Bell", days), days[-1] + timedelta(days=1))
    assert result["open"].tolist() == [True]
    assert result["flagged"].tolist() == [flagged]
    assert result["reason"].tolist() == [reason]


@pytest.mark.parametrize(
    ("count", "flagged", "reason"),
    [
        # every 4 weeks (under the 8-week gap), 8 sessions: span 7 × 4 = 28 weeks > 26.
        (8, True, "28.0 weeks (over 26)"),
        # 7 sessions: 6 × 4 = 24 weeks, not over.
        (7, False, ""),
    ],
)
def test_an_open_episode_over_twenty_six_weeks_is_flagged(count, flagged, reason):
    days = weekly(MONDAY, count, every_weeks=4)
    result = episodes(sessions(CLIENT_A, "Ann Bell", days), days[-1] + timedelta(weeks=2))
    assert result["flagged"].tolist() == [flagged]
    assert result["reason"].tolist() == [reason]


def test_both_limits_give_both_reasons():
    # 15 sessions every 2 weeks: 15 > 12 and 14 × 2 = 28 weeks > 26.
    days = weekly(MONDAY, 15, every_weeks=2)
    result = episodes(sessions(CLIENT_A, "Ann Bell", days), days[-1])
    assert result["reason"].tolist() == ["15 sessions (over 12); 28.0 weeks (over 26)"]


def test_a_closed_episode_is_never_flagged():
    # 13 weekly sessions ending 30 Mar; as of 25 May is 56 days later: closed.
    days = weekly(MONDAY, 13)
    result = episodes(sessions(CLIENT_A, "Ann Bell", days), date(2026, 5, 25))
    assert result["open"].tolist() == [False]
    assert result["flagged"].tolist() == [False]


def test_a_future_booking_keeps_the_latest_episode_open():
    # 13 weekly sessions ending 30 Mar, then DNAs; as of 15 Jun (77 days later) the run is
    # over by dates, but a Specific slot is still booked for 22 Jun: open, so flagged.
    days = weekly(MONDAY, 13)
    rows = sessions(CLIENT_A, "Ann Bell", days)
    rows += sessions(CLIENT_A, "Ann Bell", [date(2026, 4, 6), date(2026, 4, 13)], outcome="dna")
    rows += sessions(CLIENT_A, "Ann Bell", [date(2026, 6, 22)], outcome="booked")
    result = episodes(rows, date(2026, 6, 15))
    assert result["sessions"].tolist() == [13]  # the DNAs are not sessions
    assert result["open"].tolist() == [True]
    assert result["flagged"].tolist() == [True]


def test_episodes_are_per_client_and_clinician():
    # The same client with two clinicians, and another client with the first clinician,
    # all in the same weeks: three episodes of 2 sessions each.
    days = weekly(MONDAY, 2)
    rows = (
        sessions(CLIENT_A, "Ann Bell", days)
        + sessions(CLIENT_A, "Cal Dee", days)
        + sessions(CLIENT_B, "Ann Bell", days)
    )
    result = episodes(rows, days[-1])
    pairs = sorted(zip(result["client_ref"], result["clinician"], result["sessions"], strict=True))
    assert pairs == [("a1b2c3d4", "Ann Bell", 2), ("a1b2c3d4", "Cal Dee", 2), ("b0b0b0b0", "Ann Bell", 2)]


def test_other_kinds_and_missing_clients_are_ignored():
    rows = sessions(CLIENT_A, "Ann Bell", weekly(MONDAY, 2), kind="core_followup")
    rows += sessions(None, "Ann Bell", weekly(MONDAY, 2))
    result = episodes(rows, MONDAY + timedelta(weeks=2))
    assert result.empty and list(result.columns) == list(DRIFT_COLUMNS)


def test_limits_are_settings():
    # 5 weekly sessions: over a limit of 4 sessions.
    days = weekly(MONDAY, 5)
    result = episodes(sessions(CLIENT_A, "Ann Bell", days), days[-1], Settings(drift_max_sessions=4))
    assert result["flagged"].tolist() == [True]
