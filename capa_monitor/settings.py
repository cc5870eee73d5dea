"""Every tunable number of the domain spec (§2, §4, §5, §8) and the upload limits, with defaults.

The store keeps overrides; the review shows the settings it used so a reader knows the rules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Upload limits the guard and the sandboxed reader enforce (issue 6)."""

    max_upload_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_entry_uncompressed_bytes: int = 800 * 1024 * 1024
    max_compression_ratio: float = 200.0
    max_rows: int = 1_100_000
    max_columns: int = 300
    max_field_chars: int = 32_767
    read_timeout_s: float = 120.0
    read_memory_bytes: int = 6 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    # Periods (§2)
    fy_first_month: int = 4
    holiday_country: str = "GB"
    holiday_subdiv: str | None = "ENG"
    # Kind vocabulary (§3): appointment types naming one of these are Specific Partnership work
    specific_interventions: tuple[str, ...] = ("ADOS", "ADI-R", "psychometric", "psychodynamic")
    # CAPA target arithmetic (§4)
    appointments_per_half_day: float = 2.0
    usable_weeks_per_quarter: float = 11.25
    appointments_per_core_partnership: float = 7.5
    # Job plans given in hours or PAs (§4): a half-day session is 3.5 hours, and a PA is one
    # half-day session of the week. A PA (programmed activity) has "a timetabled value of four
    # hours" and a full-time week is 10 of them (NHS consultant contract; BMA, "Consultant
    # contract for Scotland", and Terms and Conditions – Consultants (England) 2003), just as a
    # week is 10 half-days: so 1 PA = 1 session, not 4 ÷ 3.5. A team that counts PAs by their
    # hours sets pa_half_days to 4 / 3.5.
    half_day_hours: float = 3.5
    pa_half_days: float = 1.0
    # M1 status thresholds: green at >= green_ratio of expected, amber at >= amber_ratio
    green_ratio: float = 1.0
    amber_ratio: float = 0.8
    # M2 lost slots
    reoffer_window_days: int = 28
    monitored_kinds: tuple[str, ...] = ("core_new", "choice")
    # M3 balance
    default_slot_minutes: int = 60
    specific_margin_points: float = 10.0
    # M4 Specific drift
    drift_gap_weeks: int = 8
    drift_max_sessions: int = 12
    drift_max_weeks: int = 26
    # M5 flow
    wait_thresholds_days: tuple[int, ...] = (28, 42)
    # M6 drop-off
    dropoff_weeks: int = 4
    dropoff_fraction: float = 0.5
    # M7 SPC
    spc_min_points: int = 12
    # §8 Looking ahead. L1: a clinician's non-attendance rate over their new Core Partnership
    # slots of the last N weeks, the team's when they have fewer than the minimum such slots.
    nonattendance_weeks: int = 13
    nonattendance_min_slots: int = 10
    # L2: next quarter's slots go in the diary this many weeks ahead; flagged below this share
    diary_lead_weeks: int = 6
    diary_ready_fraction: float = 0.8
    # L3: Choice -> Core conversion measured over the last N weeks; the default below the
    # minimum number of clients; capacity / demand counts as "in balance" from low to high.
    conversion_weeks: int = 26
    conversion_min_clients: int = 30
    default_conversion: float = 0.67
    balance_low: float = 0.95
    balance_high: float = 1.10
    limits: Limits = field(default_factory=Limits)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Build from stored overrides; unknown keys are ignored so old stores still open."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "limits"}
        for key in ("monitored_kinds", "wait_thresholds_days", "specific_interventions"):
            if key in values:
                values[key] = tuple(values[key])
        limit_fields = {f.name for f in dataclasses.fields(Limits)}
        limits = Limits(**{k: v for k, v in data.get("limits", {}).items() if k in limit_fields})
        return cls(**values, limits=limits)


DEFAULT_SETTINGS = Settings()
