"""Job plans page (manager): the team's plans in an editable table with validation, import from
the job-plan spreadsheet, export to xlsx, the quarter's computed targets beside the inputs, and
the history of changes.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from capa_monitor.errors import CapaError
from capa_monitor.jobplans import load_jobplans, quarterly_targets
from capa_monitor.loading.normalise import normalise_names
from capa_monitor.model import JOBPLAN_COLUMNS
from capa_monitor.names import clinician_key, clinician_keys
from capa_monitor.periods import Quarter
from capa_monitor.store.jobplan_export import jobplans_xlsx
from capa_monitor.views import common, data

SESSIONS_HELP = "Half-day sessions per week"
EDITOR_COLUMNS = {
    "clinician": st.column_config.TextColumn("Clinician", required=True),
    "team": st.column_config.TextColumn("Team"),
    "fte": st.column_config.NumberColumn("FTE", min_value=0.0, max_value=2.0, step=0.05),
    "choice_per_week": st.column_config.NumberColumn(
        "Choice per week", min_value=0.0, help="Choice appointments per week"
    ),
    "core_sessions": st.column_config.NumberColumn("Core sessions", min_value=0.0, help=SESSIONS_HELP),
    "specific_sessions": st.column_config.NumberColumn(
        "Specific sessions", min_value=0.0, help=SESSIONS_HELP
    ),
    "nonclinical_sessions": st.column_config.NumberColumn(
        "Non-clinical sessions", min_value=0.0, help=SESSIONS_HELP
    ),
    **{
        f"q{n}_target": st.column_config.NumberColumn(
            f"Q{n} target", min_value=0.0,
            help=f"Explicit Q{n} new Core Partnerships; blank = worked out from Core sessions",
        )
        for n in range(1, 5)
    },
    "available_from": st.column_config.DateColumn("Available from", format="DD/MM/YYYY"),
    "available_to": st.column_config.DateColumn(
        "Available to", format="DD/MM/YYYY", help="Leaving date, or start of a long leave"
    ),
}


#: Computed columns shown beside the inputs (read-only).
TARGET_COLUMNS = ("core_target", "choice_target", "target_source")


def target_columns(quarter: Quarter) -> dict[str, object]:
    return {
        "core_target": st.column_config.NumberColumn(
            f"{quarter.label} new Core Partnerships", format="%.1f"
        ),
        "choice_target": st.column_config.NumberColumn(f"{quarter.label} Choice", format="%.1f"),
        "target_source": st.column_config.TextColumn(
            "Target from", help="explicit: the plan's own figure; capa: the CAPA arithmetic"
        ),
    }


def tidy_plans(plans: pd.DataFrame) -> pd.DataFrame:
    """The edited table as it will be saved: names normalised exactly as an imported plan's or
    an activity export's (`SMITH, Jane (Dr)` → `Jane Smith`), so a typed plan matches the
    clinician's activity; teams stripped, a blank team left blank."""
    tidy = plans.copy()
    tidy["clinician"] = normalise_names(plans["clinician"].astype("str")).astype("str")
    team = plans["team"].astype("str").str.strip()
    tidy["team"] = team.where(team != "")
    return tidy


def renamed(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """`typed → saved as` for each name the tidying changes (blank ones are problems)."""
    pairs = zip(before["clinician"], after["clinician"], strict=True)
    return sorted({f"{b} → {a}" for b, a in pairs if pd.notna(a) and str(b) != a})


def removed_clinicians(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """Clinicians whose rows were deleted in the editor (names matched as the store matches)."""
    kept = {clinician_key(name) for name in after["clinician"].dropna()}
    return [name for name in before["clinician"].dropna() if clinician_key(name) not in kept]


def problems(plans: pd.DataFrame) -> list[str]:
    """What stops an edited table being saved, one sentence per problem with its row."""
    found = []
    names = plans["clinician"].astype("object").map(lambda v: "" if pd.isna(v) else str(v).strip())
    for row, name in enumerate(names, start=1):
        if not name:
            found.append(f"Row {row}: the clinician's name is blank.")
    duplicated = names[(names != "") & clinician_keys(names).duplicated(keep=False)]
    for name in sorted(set(duplicated)):
        found.append(f"{name} appears more than once; keep one row per clinician.")
    starts = pd.to_datetime(plans["available_from"])
    ends = pd.to_datetime(plans["available_to"])
    for row in (ends < starts).to_numpy().nonzero()[0]:
        found.append(f"Row {row + 1} ({names.iloc[row]}): available to is before available from.")
    return found


def targets_quarter(settings) -> Quarter:
    """The quarter chosen on the review pages, else the one of the latest stored data."""
    chosen = st.session_state.get(common.PERIOD_KEY, {}).get("quarter")
    if chosen:
        return Quarter.parse(chosen, settings.fy_first_month)
    bounds = data.date_bounds(data.database_url(), data.store().data_version())
    latest = bounds[1] if bounds else pd.Timestamp.now().date()
    return Quarter.containing(latest, settings.fy_first_month)


def editor(user_email: str, plans: pd.DataFrame, settings) -> None:
    quarter = targets_quarter(settings)
    st.caption(
        "Add a row at the bottom; select rows and press Delete to remove them. The grey columns "
        f"are the full-quarter targets for {quarter.label} these plans give: core sessions × "
        f"{settings.appointments_per_half_day:g} × {settings.usable_weeks_per_quarter:g} ÷ "
        f"{settings.appointments_per_core_partnership:g} unless the plan states the quarter's "
        "target (they update when saved)."
    )
    inputs = plans[list(JOBPLAN_COLUMNS)].astype(
        {"available_from": "datetime64[ns]", "available_to": "datetime64[ns]"}
    ).reset_index(drop=True)
    targets = quarterly_targets(inputs, quarter, settings)[list(TARGET_COLUMNS)]
    edited = st.data_editor(
        pd.concat([inputs, targets], axis=1),
        column_config={**EDITOR_COLUMNS, **target_columns(quarter)},
        disabled=list(TARGET_COLUMNS),
        num_rows="dynamic",
        hide_index=True,
        key="jobplans_editor",
    )[list(JOBPLAN_COLUMNS)]
    typed, edited = edited, tidy_plans(edited)
    if changes := renamed(typed, edited):
        st.info("Names are saved in the usual form: " + "; ".join(changes) + ".")
    found = problems(edited)
    for problem in found:
        st.error(problem)
    gone = removed_clinicians(inputs, edited)
    if gone:
        st.warning("Saving removes the plans of: " + ", ".join(gone) + ".")
    if st.button("Save job plans", type="primary", disabled=bool(found), key="jobplans_save"):
        store = data.store()
        store.remove_jobplans(gone, user=user_email, source="edited in the app")
        saved = store.save_jobplans(edited, user=user_email, source="edited in the app")
        st.success(f"Saved {saved} job plans" + (f", removed {len(gone)}." if gone else "."))
        st.rerun()


def importer(user_email: str) -> None:
    st.subheader("Import a job-plan spreadsheet")
    st.caption(
        "Re-importing replaces the plan of each clinician in the file; others are kept. "
        "Columns are recognised by their usual names (Name, WTE, Core sessions, Q1 target, "
        "Leaving date…)."
    )
    upload = st.file_uploader(
        "Job-plan spreadsheet", type=["xlsx", "csv"], key="jobplans_upload"
    )
    if upload is None:
        return
    try:
        loaded = load_jobplans(upload.getvalue(), upload.name)
    except CapaError as exc:
        st.error(str(exc))
        return
    st.write(f"**{len(loaded.frame)}** plans read from {upload.name}.")
    common.table(loaded.frame, "jobplans_import_preview")
    if loaded.rejected:
        st.warning(f"{len(loaded.rejected)} rows could not be used:")
        common.table(pd.DataFrame([r.__dict__ for r in loaded.rejected]),
                     "jobplans_import_rejected")
    if st.button("Import these plans", type="primary", key="jobplans_import_confirm"):
        store = data.store()
        saved = store.save_jobplans(loaded.frame, user=user_email, source=upload.name)
        # The store logs which plans changed; this entry ties the change to the file (§7).
        store.record(
            "job plans imported",
            user=user_email,
            file=upload.name,
            file_sha256=hashlib.sha256(upload.getvalue()).hexdigest(),
            rows=len(loaded.frame),
            changed=saved,
            rejected=len(loaded.rejected),
        )
        st.success(f"Imported {saved} job plans from {upload.name}.")


def record_export(user_email: str, file_sha256: str, rows: int) -> None:
    data.store().record(
        "download", user=user_email, what="job plans xlsx", file_sha256=file_sha256, rows=rows
    )


def render() -> None:
    user = common.page_user("manager")
    st.title("Job plans")
    store = data.store()
    url, version = data.database_url(), store.data_version()
    settings = data.settings(url, version)
    plans = data.jobplans(url, version)
    if plans.empty:
        st.info(
            "No job plans yet. Import the team's job-plan spreadsheet below, or add rows to the "
            "table: without a plan a clinician has no target and shows as \u201cno job plan\u201d."
        )
    edit_tab, import_tab, history_tab = st.tabs(["Plans and targets", "Import / export", "History"])
    with edit_tab:
        editor(user.email, plans, settings)
    with import_tab:
        importer(user.email)
        if not plans.empty:
            exported = jobplans_xlsx(plans)
            st.download_button(
                "Export job plans (xlsx)",
                exported,
                file_name="job plans.xlsx",
                mime=common.XLSX_MIME,
                key="jobplans_export",
                on_click=record_export,
                args=(user.email, hashlib.sha256(exported).hexdigest(), len(plans)),
                icon=":material/download:",
            )
    with history_tab:
        history = store.jobplan_history()
        if history.empty:
            st.info("No changes recorded yet.")
        else:
            common.table(history, "jobplans_history")


if __name__ == "__main__":
    render()
