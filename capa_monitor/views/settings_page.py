"""Settings page (manager): every rule the review uses (domain spec §2, §4, §5), in words with
its unit ("Re-offer window: 28 days", public holidays "England & Wales"), with defaults, saved
to the store (and audited) so every page and the CLI use the same rules.

The store keeps codes (`reoffer_window_days = 28`, `GB`/`ENG`, `green_ratio = 1.0`); this page
is the one place that turns them into a manager's words and back. The audit log words a
settings change with `setting_text` too.
"""

from __future__ import annotations

import calendar
import dataclasses
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from capa_monitor import access
from capa_monitor.errors import CapaError
from capa_monitor.metrics.words import KIND_WORDS
from capa_monitor.model import Kind
from capa_monitor.periods import public_holidays
from capa_monitor.settings import DEFAULT_SETTINGS, Settings
from capa_monitor.views import common


@dataclass(frozen=True)
class Rule:
    """One setting as a manager reads it: its section, what it means, and its unit."""

    section: str
    label: str
    unit: str = ""  # "days", "weeks", "%" (a share stored as a fraction), ...


#: Every Settings field the manager edits here (the upload limits are the administrator's).
RULES: dict[str, Rule] = {
    "fy_first_month": Rule("Periods", "The financial year starts in"),
    "holiday_subdiv": Rule("Periods", "Public holidays of"),
    "appointments_per_half_day": Rule("Targets", "Appointments in a half-day Core session",
                                      "appointments"),
    "usable_weeks_per_quarter": Rule("Targets", "Weeks worked in a quarter (after leave)",
                                     "weeks"),
    "appointments_per_core_partnership": Rule(
        "Targets", "Appointments in a Core Partnership, on average", "appointments"),
    "half_day_hours": Rule("Targets", "Hours in a half-day session (plans given in hours)", "hours"),
    "pa_half_days": Rule("Targets", "Half-day sessions in a PA (plans given in PAs)", "sessions"),
    "green_ratio": Rule("Status", "On track from", "% of expected to date"),
    "amber_ratio": Rule("Status", "Slightly behind from", "% of expected to date"),
    "specific_interventions": Rule("Appointment types",
                                   "Types naming any of these are Specific Partnership work"),
    "reoffer_window_days": Rule("Lost slots", "Re-offer window", "days"),
    "monitored_kinds": Rule("Lost slots", "Lost slots are watched for"),
    "default_slot_minutes": Rule("Balance", "A slot with no length counts as", "minutes"),
    "specific_margin_points": Rule("Balance", "Flag a Specific share above plan by more than",
                                   "percentage points"),
    "drift_gap_weeks": Rule("Specific drift", "A gap that ends an episode", "weeks"),
    "drift_max_sessions": Rule("Specific drift", "Flag open episodes longer than", "sessions"),
    "drift_max_weeks": Rule("Specific drift", "Flag open episodes older than", "weeks"),
    "wait_thresholds_days": Rule("Flow", "Waits are counted past", "days"),
    "dropoff_weeks": Rule("Drop-off", "Complete weeks looked at", "weeks"),
    "dropoff_fraction": Rule("Drop-off", "Flag a clinician below", "% of the planned weekly rate"),
    "spc_min_points": Rule("Trends", "Points before a chart's limits stop being trial limits",
                           "points"),
    "nonattendance_weeks": Rule("Looking ahead", "Non-attendance rate measured over the last",
                                "weeks"),
    "nonattendance_min_slots": Rule("Looking ahead", "A clinician's own rate needs at least",
                                    "slots (else the team's rate)"),
    "diary_lead_weeks": Rule("Looking ahead", "Next quarter's slots are in the diary",
                             "weeks before it starts"),
    "diary_ready_fraction": Rule("Looking ahead", "Flag next quarter's diary below",
                                 "% of its target"),
    "conversion_weeks": Rule("Looking ahead", "Choice to Core conversion measured over the last",
                             "weeks"),
    "conversion_min_clients": Rule("Looking ahead", "Measured conversion needs at least",
                                   "clients (else the default)"),
    "default_conversion": Rule("Looking ahead", "Conversion with too few clients",
                               "% of clients seen at Choice"),
    "balance_low": Rule("Looking ahead", "Capacity in balance from", "% of demand"),
    "balance_high": Rule("Looking ahead", "Capacity in balance up to", "% of demand"),
}
#: Shares stored as fractions (1.0) and shown as percentages (100 %).
PERCENT = frozenset({"green_ratio", "amber_ratio", "dropoff_fraction", "diary_ready_fraction",
                     "default_conversion", "balance_low", "balance_high"})
#: Public-holiday regions (python-holidays codes) by the name a manager knows them by;
#: England and Wales share their bank holidays.
REGIONS: dict[tuple[str, str | None], str] = {
    ("GB", "ENG"): "England & Wales",
    ("GB", "WLS"): "Wales",
    ("GB", "SCT"): "Scotland",
    ("GB", "NIR"): "Northern Ireland",
}
OFFERED_REGIONS = (("GB", "ENG"), ("GB", "SCT"), ("GB", "NIR"))
#: Upload limits, in words with their unit.
LIMIT_WORDS: dict[str, tuple[str, str]] = {
    "max_upload_bytes": ("Largest file", "MB"),
    "max_uncompressed_bytes": ("Largest workbook once unpacked", "MB"),
    "max_entry_uncompressed_bytes": ("Largest part of a workbook once unpacked", "MB"),
    "max_compression_ratio": ("Most a workbook may be compressed", "times"),
    "max_rows": ("Most rows", "rows"),
    "max_columns": ("Most columns", "columns"),
    "max_field_chars": ("Longest cell", "characters"),
    "read_timeout_s": ("Longest time to read a file", "seconds"),
    "read_memory_bytes": ("Most memory to read a file", "MB"),
}

RESTORED_KEY = "restored_settings_message"
KINDS = tuple(kind.value for kind in Kind)


def region_words(country: str, subdiv: str | None) -> str:
    """`GB`/`ENG` -> "England & Wales"; a region this page does not name keeps its code."""
    if (country, subdiv) in REGIONS:
        return REGIONS[(country, subdiv)]
    return f"{country}-{subdiv}" if subdiv else f"{country} (the whole country)"


#: A unit's first word when the value is 1 ("1 week", "1 session").
SINGULAR = {"days": "day", "weeks": "week", "sessions": "session", "minutes": "minute",
            "appointments": "appointment", "hours": "hour", "points": "point", "slots": "slot",
            "clients": "client"}


def _unit_for(value, unit: str) -> str:
    first, _, rest = unit.partition(" ")
    if value == 1 and first in SINGULAR:
        return " ".join(filter(None, (SINGULAR[first], rest)))
    return unit.replace("percentage points", "percentage point") if value == 1 else unit


def _number(value: float) -> str:
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def setting_text(name: str, value) -> str:
    """One setting's value in words with its unit: `reoffer_window_days`, 28 -> "28 days"."""
    unit = RULES[name].unit if name in RULES else ""
    if name == "fy_first_month":
        return calendar.month_name[int(value)]
    if name == "monitored_kinds":
        return ", ".join(KIND_WORDS.get(kind, kind) for kind in value) or "nothing"
    if name == "specific_interventions":
        return ", ".join(value) or "none"
    if name in PERCENT:
        return f"{float(value) * 100:g} {unit}"
    if isinstance(value, list | tuple):
        numbers = [_number(v) for v in value]
        listed = " and ".join([", ".join(numbers[:-1]), numbers[-1]] if len(numbers) > 1
                              else numbers)
        return f"{listed} {_unit_for(value[0] if len(value) == 1 else None, unit)}".strip()
    if value is None:
        return "none"
    return f"{_number(value)} {_unit_for(value, unit)}".strip()


def change_text(name: str, value) -> str:
    """A stored override in words: "Re-offer window: 42 days" (the audit log's details)."""
    if name == "holiday_country":
        return f"Public holidays country: {value}"
    if name == "holiday_subdiv":
        return f"Public holidays of: {value or 'the whole country'}"
    if name in RULES:
        return f"{RULES[name].label}: {setting_text(name, value)}"
    if name == "limits" and isinstance(value, dict):
        return "; ".join(limit_text(key, v) for key, v in value.items())
    return f"{name.replace('_', ' ')}: {value}"


def limit_text(name: str, value) -> str:
    label, unit = LIMIT_WORDS.get(name, (name.replace("_", " "), ""))
    shown = value / (1024 * 1024) if unit == "MB" else value
    return f"{label}: {_number(shown)} {unit}".strip()


def describe(settings: Settings) -> pd.DataFrame:
    """The rules in use, one row each in words: section, rule, value now, default."""
    rows = []
    for name, rule in RULES.items():
        if name == "holiday_subdiv":
            now = region_words(settings.holiday_country, settings.holiday_subdiv)
            default = region_words(DEFAULT_SETTINGS.holiday_country,
                                   DEFAULT_SETTINGS.holiday_subdiv)
        else:
            now = setting_text(name, getattr(settings, name))
            default = setting_text(name, getattr(DEFAULT_SETTINGS, name))
        rows.append((rule.section, rule.label, now, default))
    return pd.DataFrame(rows, columns=["Section", "Rule", "Now", "Default"])


def problems(candidate: Settings) -> list[str]:
    """What would make every review fail or mislead, one sentence each."""
    found = []
    unknown = [k for k in candidate.monitored_kinds if k not in KINDS]
    if unknown:
        found.append(f"unknown kinds {', '.join(unknown)}; use {', '.join(KINDS)}.")
    if candidate.amber_ratio > candidate.green_ratio:
        found.append("the slightly-behind share must not be above the on-track share.")
    if candidate.balance_low > candidate.balance_high:
        found.append("capacity cannot be in balance from a share above the one it is in "
                     "balance up to.")
    if not candidate.wait_thresholds_days:
        found.append("give at least one wait threshold.")
    try:
        year = date.today().year
        public_holidays(year, year, candidate)
    except (NotImplementedError, KeyError, ValueError):
        found.append(f"no public holidays are known for {common.holiday_region(candidate)}; "
                     "use a code like GB and ENG.")
    return found


def _label(name: str) -> str:
    rule = RULES[name]
    if not rule.unit:
        return rule.label
    return f"{rule.label}: {rule.unit}" if "(" in rule.label else f"{rule.label} ({rule.unit})"


def field_input(name: str, current, default):
    """The widget for one setting, in the manager's units; returns the value in the store's."""
    label = _label(name)
    help_text = f"Default: {setting_text(name, default)}"
    key = f"settings_{name}"
    if name == "fy_first_month":
        return st.selectbox(label, range(1, 13), index=int(current) - 1, help=help_text, key=key,
                            format_func=lambda month: calendar.month_name[month])
    if name == "monitored_kinds":
        return tuple(st.multiselect(label, KINDS, default=[k for k in current if k in KINDS],
                                    help=help_text, key=key,
                                    format_func=lambda kind: KIND_WORDS[kind]))
    if name in PERCENT:
        shown = st.number_input(label, value=float(current) * 100, min_value=0.0, step=5.0,
                                help=help_text, key=key, format="%g")
        return shown / 100
    if isinstance(default, int):
        return st.number_input(label, value=int(current), min_value=0, step=1,
                               help=help_text, key=key)
    if isinstance(default, float):
        return st.number_input(label, value=float(current), min_value=0.0, help=help_text,
                               key=key, format="%g")
    if name == "specific_interventions":
        text = st.text_input(f"{label} (comma separated)", value=", ".join(current),
                             help=help_text, key=key)
        return tuple(item.strip() for item in text.split(",") if item.strip())
    text = st.text_input(f"{RULES[name].label} ({RULES[name].unit}, comma separated)",
                         value=", ".join(str(v) for v in current), help=help_text, key=key)
    return tuple(int(item.strip()) for item in text.split(",") if item.strip())


def region_input(current: Settings) -> tuple[str, str | None]:
    """The public-holiday region by name; a stored region this page does not offer stays."""
    here = (current.holiday_country, current.holiday_subdiv)
    options = list(OFFERED_REGIONS) if here in OFFERED_REGIONS else [*OFFERED_REGIONS, here]
    return st.selectbox(
        RULES["holiday_subdiv"].label, options, index=options.index(here),
        format_func=lambda region: region_words(*region), key="settings_holiday_region",
        help=f"Default: {region_words(DEFAULT_SETTINGS.holiday_country, DEFAULT_SETTINGS.holiday_subdiv)}. "
        "Bank holidays are not working days when the expected figure to date is worked out.",
    )


def rules_form(current: Settings) -> dict | None:
    """The form; the new values (store codes) when the manager saves, else None."""
    values: dict = {}
    with st.form("settings_form"):
        section = None
        for name, rule in RULES.items():
            if rule.section != section:
                section = rule.section
                st.subheader(section)
            if name == "holiday_subdiv":
                values["holiday_country"], values["holiday_subdiv"] = region_input(current)
                continue
            try:
                values[name] = field_input(name, getattr(current, name),
                                           getattr(DEFAULT_SETTINGS, name))
            except ValueError:
                st.error(f"{rule.label}: write whole numbers separated by commas.")
                values[name] = getattr(current, name)
        saved = st.form_submit_button("Save settings", type="primary")
    return values if saved else None


def render() -> None:
    user = common.page_user(access.EDIT_SETTINGS)
    st.title("Settings")
    store = common.scoped_store(user)
    current = store.settings()
    st.write("The rules every review uses. Changes apply to every page and the command line.")
    if message := st.session_state.pop(RESTORED_KEY, None):
        st.success(message)
    summary = st.container()  # drawn after a save below, so it never shows the old rules
    st.header("Change the rules")
    values = rules_form(current)
    if values is not None:
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
                current = candidate
    with summary:
        st.subheader("The rules in use")
        # A static table: every rule shown whole, with no scrolling inside it.
        st.table(describe(current).set_index("Rule"))
    with st.expander("Upload limits (set by the administrator)"):
        limits = dataclasses.asdict(current.limits)
        st.markdown("\n".join(f"- {limit_text(name, value)}" for name, value in limits.items()))
    if st.button("Restore the defaults", key="settings_reset"):
        store.save_settings(Settings(limits=current.limits), user=user.email)
        # The form's widgets still hold the old values: start the page again, saying so.
        for name in [k for k in st.session_state if str(k).startswith("settings_")]:
            del st.session_state[name]
        st.session_state[RESTORED_KEY] = "Default settings restored."
        st.rerun()


if __name__ == "__main__":
    render()
