"""Pieces every page shares: the signed-in user, the quarter/team/as-of selection kept across
pages, the line saying which rules apply, and status words (never colour alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from capa_monitor import access, auth
from capa_monitor.metrics import words as vocabulary
from capa_monitor.periods import Quarter
from capa_monitor.settings import Settings
from capa_monitor.store.scoped import ScopedStore
from capa_monitor.views import data

if TYPE_CHECKING:
    from capa_monitor.metrics.review import Review

#: What a review page says when none of the chosen teams' appointments is attended or missed yet.
NOTHING_YET = "Nothing has been attended or missed yet in these teams."

#: Shared selection, initialised once by dashboard.py: {"quarter": label|None, "teams": [...],
#: "as_of": date|None (None = worked out from the data)}.
PERIOD_KEY = "period"

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: The review's words (metrics.words, the same in the CLI and the downloads) with an icon
#: before them: the word carries the status, the icon only helps.
STATUS_DOTS = {"green": "🟢", "amber": "🟠", "red": "🔴", "no_target": "⚪"}
SLOT_ICONS = {
    "reoffered_marked": "✅", "reoffered_client": "✅", "reoffered_replacement": "✅",
    "pending": "⏳", "not_reoffered": "❌",
}
CLINICIAN_STATUS_WORDS = {
    status: f"{dot} {vocabulary.STATUS_WORDS[status]}" for status, dot in STATUS_DOTS.items()
}
SLOT_STATUS_WORDS = {
    status: f"{icon} {vocabulary.SLOT_STATUS_WORDS[status]}" for status, icon in SLOT_ICONS.items()
}


def init_session_state() -> dict:
    """The shared selection, set to its defaults on a session's first run."""
    return st.session_state.setdefault(PERIOD_KEY, {"quarter": None, "teams": [], "as_of": None})


def page_user(action: str = access.VIEW_REVIEW) -> auth.User:
    """The signed-in user; a page reached (by its address, say) by someone whose role does not
    allow `action` refuses to render, and the refused attempt is audited."""
    user = auth.current_user()
    if user is None:
        st.stop()
    if not user.scope.can(action):
        page = str(st.context.url or "").split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        scoped_store(user).refused(
            access.AccessDenied(auth.refusal(user, action), action=action),
            what=f"page {page or 'home'}")
        st.error(auth.refusal(user, action))
        st.stop()
    return user


def user_store() -> ScopedStore:
    """The store as this session's user may use it."""
    return scoped_store(page_user())


def scoped_store(user: auth.User) -> ScopedStore:
    """The store as `user` may use it: the pages' way to uploads, job plans and the audit log."""
    return ScopedStore(data.store(), user.scope, user.email)


@dataclass(frozen=True)
class Selection:
    """What the reader asked to see, plus the cache key parts for it."""

    url: str
    version: int
    quarter: Quarter
    teams: tuple[str, ...]
    as_of: date | None  # None: the review works it out (§2)
    settings: Settings
    scope: access.Scope  # teams is within it; () only for a scope over every team

    def review(self):
        """The review of these teams, its evidence naming nobody outside the viewer's teams."""
        teams = self.scope.review_teams(self.teams, ())
        result = data.quarterly_review(self.url, self.version, self.quarter.label, teams,
                                       self.as_of)
        return access.redact_review(result, self.scope)


def _quarter_options(first: date, last: date, first_month: int) -> list[str]:
    quarter = Quarter.containing(last, first_month)
    earliest = Quarter.containing(first, first_month)
    labels = []
    while quarter >= earliest:
        labels.append(quarter.label)
        quarter = quarter.previous()
    return labels


def period_picker(page: str) -> Selection | None:
    """Team, quarter and as-of widgets; None (with what to do) when the store has no activity."""
    url, version = data.database_url(), data.store().data_version()
    bounds = data.date_bounds(url, version)
    if bounds is None:
        st.info(
            "No activity has been uploaded yet. A team manager uploads the monthly export on "
            "the **Upload** page (or loads the demo team from the welcome page)."
        )
        return None
    settings = data.settings(url, version)
    saved = init_session_state()  # also when a page runs on its own, without dashboard.py
    user = page_user()
    team_options = user.scope.visible_teams(data.teams(url, version))
    if not team_options and not user.scope.every_team:
        st.info("None of your teams has data in the store yet "
                f"({user.scope.describe()}).")
        return None
    team_col, quarter_col, as_of_col = st.columns([2, 1, 1])
    chosen_teams = team_col.multiselect(
        "Teams",
        team_options,
        default=[t for t in saved["teams"] if t in team_options],
        placeholder="All teams" if user.scope.every_team else "All your teams",
        key=f"{page}_teams",
    )
    try:  # whatever the widget or session state say, never a team outside the scope
        teams = user.scope.review_teams(data.teams_key(chosen_teams), team_options)
    except access.AccessDenied as refused:
        scoped_store(user).refused(refused, what=f"{page} page")
        st.error(str(refused))
        return None
    latest = data.latest_as_of(url, version, teams)
    options = _quarter_options(bounds[0], bounds[1], settings.fy_first_month)
    default_label = saved["quarter"]
    if default_label not in options:
        default_label = (
            Quarter.containing(latest, settings.fy_first_month).label if latest else options[0]
        )
    label = quarter_col.selectbox(
        "Quarter", options, index=options.index(default_label), key=f"{page}_quarter"
    )
    quarter = Quarter.parse(label, settings.fy_first_month)
    manual = as_of_col.toggle(
        "Choose the as-of date",
        value=saved["as_of"] is not None,
        key=f"{page}_as_of_manual",
        help="By default the review runs to the latest date on which an appointment of these "
        "teams was attended or missed, so future bookings in the export do not count.",
    )
    as_of = None
    if manual:
        as_of = as_of_col.date_input(
            "As of",
            value=saved["as_of"] or latest or quarter.last_day,
            format="DD/MM/YYYY",
            key=f"{page}_as_of",
        )
    st.session_state[PERIOD_KEY] = {"quarter": label, "teams": list(chosen_teams), "as_of": as_of}
    return Selection(url, version, quarter, teams, as_of, settings, user.scope)


def open_review(page: str, title: str, nothing_yet: str = NOTHING_YET
                ) -> tuple[Selection, Review] | None:
    """The opening of a review page for everyone: the user, the title, the period picker and the
    quarterly review; None (having said why) when there is nothing to show yet."""
    page_user()
    st.title(title)
    return picked_review(page, nothing_yet)


def picked_review(page: str, nothing_yet: str = NOTHING_YET) -> tuple[Selection, Review] | None:
    """The period picker and the quarterly review it selects; None (having said why) when there
    is nothing to show yet."""
    selection = period_picker(page)
    if selection is None:
        return None
    result = selection.review()
    if result.as_of_source == "no data":
        st.info(nothing_yet)
        return None
    _audit_view(page, selection, result)
    return selection, result


def _audit_view(page: str, selection: Selection, result: Review) -> None:
    """One audit entry per review a person opens (page, teams, quarter, as of) per session,
    not one per rerun."""
    teams = list(selection.teams) or ["every team"]
    seen = (page, result.quarter.label, tuple(teams), str(result.as_of))
    views = st.session_state.setdefault("audited_views", set())
    if seen in views:
        return
    views.add(seen)
    user = auth.current_user()
    if user is not None:
        scoped_store(user).note("review viewed", page=page, quarter=result.quarter.label,
                                as_of=result.as_of.isoformat(),
                                teams=list(selection.teams) or None)


def holiday_region(settings: Settings) -> str:
    """The public-holiday region as one code, e.g. `GB-ENG`."""
    return settings.holiday_country + (f"-{settings.holiday_subdiv}" if settings.holiday_subdiv else "")


def rules_line(result: Review) -> None:
    """One line saying what the figures were worked out from, so a reader knows the rules."""
    settings, quarter, teams = result.settings, result.quarter, result.teams
    st.caption(
        f"**{quarter.label}** ({quarter.start:%d %b %Y} – {quarter.last_day:%d %b %Y}), "
        f"{', '.join(teams) if teams else 'all teams'}, as of **{result.as_of:%d %b %Y}**. "
        f"Targets: job-plan figure, else core half-days × {settings.appointments_per_half_day:g} "
        f"× {settings.usable_weeks_per_quarter:g} weeks ÷ "
        f"{settings.appointments_per_core_partnership:g}; no Core time and no figure: no "
        "target; expected to date pro rata over "
        f"working days ({holiday_region(settings)} holidays). "
        f"On track at ≥ {settings.green_ratio:.0%} of expected, "
        f"slightly behind at ≥ {settings.amber_ratio:.0%}. Lost slots count as re-offered "
        f"within {settings.reoffer_window_days} days."
        + (f" {vocabulary.CHOSEN_TEAMS_ONLY}" if teams else "")
    )


def demo_loaded() -> bool:
    uploads = data.uploads(data.database_url(), data.store().data_version())
    return bool(len(uploads) and (uploads["demo"] & (uploads["rows_active"] > 0)).any())


def sidebar(user: auth.User) -> None:
    """Who is signed in, and a demo badge on every page while demo data is in the store."""
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({user.scope.describe().removeprefix('you are ')})")
        if not user.local and st.button("Sign out", key="sidebar_sign_out"):
            st.logout()
        if demo_loaded():
            st.badge("Demo data", icon=":material/science:", color="orange",
                     help="The invented demo team is loaded; a manager can remove it on the "
                     "Upload page.")


def readable_columns(frame: pd.DataFrame) -> dict[str, object]:
    """Column settings that make a metrics frame readable: words for names, one decimal for
    fractional numbers, dates without a time."""
    config: dict[str, object] = {}
    for name, dtype in frame.dtypes.items():
        label = str(name).replace("_", " ").capitalize()
        if pd.api.types.is_datetime64_any_dtype(dtype):
            config[name] = st.column_config.DateColumn(label, format="DD/MM/YYYY")
        elif pd.api.types.is_float_dtype(dtype):
            config[name] = st.column_config.NumberColumn(label, format="%.1f")
        else:
            config[name] = label
    return config


def table(frame: pd.DataFrame, key: str) -> None:
    """A read-only, sortable table with readable headers and numbers."""
    st.dataframe(frame, column_config=readable_columns(frame), hide_index=True, key=key,
                 placeholder="—")
