"""Settings: defaults as the domain spec states them, and a lossless round trip through storage."""

import pandas as pd

from capa_monitor.loading.vocab import classify_kinds
from capa_monitor.settings import DEFAULT_SETTINGS, Limits, Settings


def test_defaults_are_the_spec_numbers():
    s = DEFAULT_SETTINGS
    assert s.fy_first_month == 4  # §2: financial year starts in April
    assert (s.appointments_per_half_day, s.usable_weeks_per_quarter) == (2.0, 11.25)  # §4
    assert s.appointments_per_core_partnership == 7.5  # §4
    assert s.reoffer_window_days == 28  # §5 M2
    assert s.amber_ratio == 0.8  # §5 M1
    assert set(s.monitored_kinds) == {"core_new", "choice"}  # §5 M2
    assert s.specific_margin_points == 10  # §5 M3
    assert (s.drift_gap_weeks, s.drift_max_sessions, s.drift_max_weeks) == (8, 12, 26)  # §5 M4
    assert s.wait_thresholds_days == (28, 42)  # §5 M5
    assert (s.dropoff_weeks, s.dropoff_fraction) == (4, 0.5)  # §5 M6
    assert s.spc_min_points == 12  # §5 M7


def test_round_trip_through_a_dict_keeps_every_value_and_type():
    changed = Settings(
        reoffer_window_days=21,
        monitored_kinds=("core_new",),
        specific_interventions=("ADOS", "DBT"),
        limits=Limits(max_rows=5_000),
    )
    assert Settings.from_dict(changed.to_dict()) == changed


def test_unknown_stored_keys_are_ignored_so_old_stores_open():
    assert Settings.from_dict({"no_such_setting": 1, "limits": {"gone": 2}}) == Settings()


def test_default_specific_interventions_make_a_type_specific():
    # "ADOS assessment" names no Specific/Core/Choice word; the configured name makes it
    # Specific, and with no newness word it is read as follow-up (§3's conservative reading).
    kinds = classify_kinds(
        pd.Series(["ADOS assessment", "Psychometric testing - new"], dtype="str"),
        specific_names=DEFAULT_SETTINGS.specific_interventions,
    )
    assert list(kinds.values) == ["specific_followup", "specific_new"]
