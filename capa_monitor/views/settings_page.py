"""Settings page (manager): every rule the review uses (domain spec §2, §4, §5), with defaults,
saved to the store (and audited) so every page and the CLI use the same rules.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import streamlit as st

from capa_monitor.errors import CapaError
from capa_monitor.model import Kind
from capa_monitor.periods import public_holidays
from capa_monitor.settings import DEFAULT_SETTINGS, Settings
from capa_monitor.views import common, data

#: Field -> (section, label). Every Settings field except the upload limits is editable here.
LABELS: dict[str, tuple[str, str]] = {
    "fy_first_month": ("Periods", "First month of the financial year (1 = January, 4 = April)"),
    "holiday_country": ("Periods", "Public holidays: country code"),
    "holiday_subdiv": ("Periods", "Public holidays: region (e.g. ENG, SCT, WLS, NIR; blank for none)"),
    "appointments_per_half_day": ("Targets", "Appointments per half-day"),
    "usable_weeks_per_quarter": ("Targets", "Usable weeks per quarter"),
    "appointments_per_core_partnership": ("Targets", "Appointments per Core Partnership"),
    "green_ratio": ("Status", "On track at this share of expected (1.0 = 100 %)"),
    "amber_ratio": ("Status", "Slightly behind at this share of expected"),
    "reoffer_window_days": ("Lost slots", "Re-offer window (days)"),
    "monitored_kinds": ("Lost slots", "Kinds watched for lost slots (comma separated)"),
    "default_slot_minutes": ("Balance", "Length of a slot with no duration (minutes)"),
    "specific_margin_points": ("Balance", "Flag Specific share above plan by more than (points)"),
    "drift_gap_weeks": ("Specific drift", "A gap of this many weeks ends an episode"),
    "drift_max_sessions": ("Specific drift", "Flag open episodes over this many sessions"),
    "drift_max_weeks": ("Specific drift", "Flag open episodes over this many weeks"),
    "wait_thresholds_days": ("Flow", "Wait thresholds (days, comma separated)"),
    "dropoff_weeks": ("Drop-off", "Complete weeks looked at"),
    "dropoff_fraction": ("Drop-off", "Flag below this fraction of the planned weekly rate"),
    "spc_min_points": ("Trends", "Points before limits stop being trial limits"),
}


MONTH_RANGE = (1, 12)
KINDS = tuple(kind.value for kind in Kind)


def problems(candidate: Settings) -> list[str]:
    """What would make every review fail or mislead, one sentence each."""
    found = []
    unknown = [k for k in candidate.monitored_kinds if k not in KINDS]
    if unknown:
        found.append(f"unknown kinds {', '.join(unknown)}; use {', '.join(KINDS)}.")
    if candidate.amber_ratio > candidate.green_ratio:
        found.append("the slightly-behind share must not be above the on-track share.")
    if not candidate.wait_thresholds_days:
        found.append("give at least one wait threshold.")
    try:
        year = date.today().year
        public_holidays(year, year, candidate)
    except (NotImplementedError, KeyError, ValueError):
        found.append(f"no public holidays are known for {common.holiday_region(candidate)}; "
                     "use a code like GB and ENG.")
    return found


def field_input(name: str, current, default):
    label = LABELS[name][1]
    help_text = f"Default: {default}"
    key = f"settings_{name}"
    if isinstance(default, bool):
        return st.checkbox(label, value=current, help=help_text, key=key)
    if isinstance(default, int):
        low, high = MONTH_RANGE if name == "fy_first_month" else (0, None)
        return st.number_input(label, value=int(current), min_value=low, max_value=high, step=1,
                               help=help_text, key=key)
    if isinstance(default, float):
        return st.number_input(label, value=float(current), min_value=0.0, help=help_text,
                               key=key, format="%g")
    if isinstance(default, tuple):
        text = st.text_input(label, value=", ".join(str(v) for v in current), help=help_text, key=key)
        items = [item.strip() for item in text.split(",") if item.strip()]
        return tuple(int(item) if isinstance(default[0], int) else item for item in items)
    text = st.text_input(label, value=current or "", help=help_text, key=key)
    return text.strip() or (None if default is None or name == "holiday_subdiv" else default)


def render() -> None:
    user = common.page_user("manager")
    st.title("Settings")
    store = data.store()
    current = store.settings()
    st.write("The rules every review uses. Changes apply to every page and the command line.")
    values = {}
    with st.form("settings_form"):
        section = None
        for name, (field_section, _label) in LABELS.items():
            if field_section != section:
                section = field_section
                st.subheader(section)
            try:
                values[name] = field_input(name, getattr(current, name), getattr(DEFAULT_SETTINGS, name))
            except ValueError:
                st.error(f"{LABELS[name][1]}: write whole numbers separated by commas.")
                values[name] = getattr(current, name)
        saved = st.form_submit_button("Save settings", type="primary")
    if saved:
        candidate = dataclasses.replace(current, **values)
        found = problems(candidate)
        for problem in found:
            st.error(f"Settings not saved: {problem}")
        if not found:
            try:
                store.save_settings(candidate, user=user.email)
            except CapaError as exc:
                st.error(f"Settings not saved: {exc}")
            else:
                st.success("Settings saved.")
    with st.expander("Upload limits (set by the administrator)"):
        st.json(dataclasses.asdict(current.limits))
    if st.button("Restore the defaults", key="settings_reset"):
        store.save_settings(Settings(limits=current.limits), user=user.email)
        st.success("Default settings restored.")
        st.rerun()


if __name__ == "__main__":
    render()
