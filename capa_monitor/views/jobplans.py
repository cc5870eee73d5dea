"""Job plans page (manager): the team's plans in an editable table with validation, import from
the job-plan spreadsheet (a preview of what was read and how, a mapping editor, saved
mappings, then confirm), export to xlsx, the quarter's computed targets beside the inputs, and
the history of changes in words.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import streamlit as st

from capa_monitor import access
from capa_monitor.errors import CapaError
from capa_monitor.jobplan_fields import (
    EVERY_QUARTER_TARGET,
    FIELDS_BY_NAME,
    QUARTER_TARGETS,
    WEEKLY,
    jobplans_profile,
    profile_title,
)
from capa_monitor.jobplans import (
    JobPlanLoad,
    JobPlanRefused,
    load_jobplans,
)
from capa_monitor.loading.normalise import normalise_names
from capa_monitor.model import JOBPLAN_COLUMNS
from capa_monitor.names import clinician_key, clinician_keys
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import quarterly_targets
from capa_monitor.store.jobplan_export import jobplans_xlsx
from capa_monitor.views import common, data

SESSIONS_HELP = "Half-day sessions per week"
#: Widths in pixels that fit the page's 938 px with the row selector (no sideways scrolling).
NUMBER_WIDTH, DATE_WIDTH = 86, 100
EDITOR_COLUMNS = {
    "clinician": st.column_config.TextColumn("Clinician", required=True, width=140),
    "team": st.column_config.TextColumn("Team", width=130),
    "fte": st.column_config.NumberColumn(
        "FTE", min_value=0.0, max_value=2.0, step=0.05, width=56, help="Whole-time equivalent"
    ),
    "choice_per_week": st.column_config.NumberColumn(
        "Choice", min_value=0.0, width=NUMBER_WIDTH, help="Choice appointments per week"
    ),
    "core_sessions": st.column_config.NumberColumn(
        "Core", min_value=0.0, width=NUMBER_WIDTH, help="Core: " + SESSIONS_HELP
    ),
    "specific_sessions": st.column_config.NumberColumn(
        "Specific", min_value=0.0, width=NUMBER_WIDTH, help="Specific: " + SESSIONS_HELP
    ),
    "nonclinical_sessions": st.column_config.NumberColumn(
        "Non-clin.", min_value=0.0, width=NUMBER_WIDTH, help="Non-clinical: " + SESSIONS_HELP
    ),
    **{
        f"q{n}_target": st.column_config.NumberColumn(
            f"Q{n} target", min_value=0.0, width=NUMBER_WIDTH,
            help=f"Explicit Q{n} new Core Partnerships; blank = worked out from Core sessions",
        )
        for n in range(1, 5)
    },
    "available_from": st.column_config.DateColumn(
        "From", format="DD/MM/YYYY", width=DATE_WIDTH, help="Available from (a start date)"
    ),
    "available_to": st.column_config.DateColumn(
        "To", format="DD/MM/YYYY", width=DATE_WIDTH,
        help="Available to: a leaving date, or the start of a long leave",
    ),
}
#: The editor shows one group of plan fields at a time beside the name and team (all of them
#: at once need sideways scrolling); the hidden ones keep their values.
WEEKLY_VIEW, TARGETS_VIEW = "Weekly time", "Explicit quarter targets"
EDITOR_VIEWS = {
    WEEKLY_VIEW: ("fte", "choice_per_week", "core_sessions", "specific_sessions",
                  "nonclinical_sessions"),
    TARGETS_VIEW: tuple(f"q{n}_target" for n in range(1, 5)),
}


#: Computed targets, shown in their own read-only table below the editor.
TARGET_COLUMNS = ("core_target", "choice_target", "target_source")


def target_columns(quarter: Quarter) -> dict[str, object]:
    return {
        "clinician": st.column_config.TextColumn("Clinician"),
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


def targets(plans: pd.DataFrame, quarter: Quarter, settings) -> None:
    """The quarter's full-quarter targets the saved plans give, read-only below the editor."""
    if plans.empty:
        return
    st.caption(
        f"Full-quarter targets for {quarter.label} these plans give: core sessions × "
        f"{settings.appointments_per_half_day:g} × {settings.usable_weeks_per_quarter:g} ÷ "
        f"{settings.appointments_per_core_partnership:g} unless the plan states the quarter's "
        "target (they update when saved)."
    )
    shown = quarterly_targets(plans, quarter, settings)[["clinician", *TARGET_COLUMNS]]
    st.dataframe(shown, column_config=target_columns(quarter), hide_index=True,
                 key="jobplans_targets")


def editor(user_email: str, plans: pd.DataFrame, settings) -> None:
    quarter = targets_quarter(settings)
    st.caption(
        "Add a row at the bottom; select rows and press Delete to remove them. Choice is in "
        "appointments a week; Core, Specific and non-clinical time in half-day sessions a week."
    )
    view = st.segmented_control(
        "Columns", list(EDITOR_VIEWS), default=WEEKLY_VIEW, key="jobplans_editor_view",
        label_visibility="collapsed",
    ) or WEEKLY_VIEW
    inputs = plans[list(JOBPLAN_COLUMNS)].astype(
        {"available_from": "datetime64[ns]", "available_to": "datetime64[ns]"}
    ).reset_index(drop=True)
    edited = st.data_editor(
        inputs,
        column_config=EDITOR_COLUMNS,
        column_order=["clinician", "team", *EDITOR_VIEWS[view], "available_from", "available_to"],
        num_rows="dynamic",
        hide_index=True,
        placeholder="—",
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
        store = common.user_store()
        store.remove_jobplans(gone, user=user_email, source="edited in the app")
        saved = store.save_jobplans(edited, user=user_email, source="edited in the app")
        st.success(f"Saved {saved} job plans" + (f", removed {len(gone)}." if gone else "."))
        st.rerun()
    targets(inputs, quarter, settings)


#: How a field's column was found, in words (infer.FieldChoice.by).
FOUND_BY = {
    "manual": "your mapping",
    "profile": "the saved mapping",
    "header": "its header",
    "header+values": "its header and values",
    "values": "its values",
}
NOT_IN_FILE = "(not in this file)"
UPLOAD_KEY = "jobplans_upload"
#: session_state: the uploader's generation (a new key empties it after an import), the
#: message of the import just made, the manager's mapping per file, the last file read.
GENERATION_KEY, DONE_KEY, MAPPING_KEY, READ_KEY = (
    "jobplans_upload_generation", "jobplans_imported", "jobplans_mapping", "jobplans_read",
)
#: The mapping editor's groups of fields.
FIELD_GROUPS = (
    ("Who", ("clinician", "team", "fte")),
    ("Weekly time", tuple(WEEKLY)),
    ("Targets", (*QUARTER_TARGETS, EVERY_QUARTER_TARGET)),
    ("Dates", ("available_from", "available_to")),
)


@dataclass(frozen=True)
class PlanRead:
    """What reading a job-plan file gave: a load, or the refusal and the headers found."""

    load: JobPlanLoad | None
    refusal: str | None = None
    headers: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)  # field -> header found


def read_plans(content: bytes, name: str, settings, mapping: dict, profiles) -> PlanRead:
    try:
        load = load_jobplans(
            content, name, settings=settings, columns=mapping.get("columns"),
            values=mapping.get("values"), profiles=profiles,
        )
    except JobPlanRefused as exc:
        return PlanRead(None, str(exc), exc.headers, exc.columns)
    except CapaError as exc:
        return PlanRead(None, str(exc))
    return PlanRead(load, headers=load.headers, columns=dict(load.columns))


def mapping_in_words(load: JobPlanLoad) -> pd.DataFrame:
    """One row per field read: what it is (as a manager says it), from which column, how."""
    return pd.DataFrame(
        [
            {
                "What": FIELDS_BY_NAME[name].label,
                "Column": choice.header,
                "Found by": f"{FOUND_BY.get(choice.by, choice.by)} ({choice.confidence:.0%} sure)",
                "Why": choice.reason,
            }
            for name, choice in load.mapping.items()
        ],
        columns=["What", "Column", "Found by", "Why"],
    )


#: The preview's columns: weekly time in half-day sessions, Choice in appointments.
PREVIEW_COLUMNS = {
    "WTE": st.column_config.NumberColumn("WTE", format="%g"),
    "Choice": st.column_config.NumberColumn("Choice", format="%g",
                                            help="Choice appointments a week"),
    **{
        name: st.column_config.NumberColumn(name, format="%g", help="Half-day sessions a week")
        for name in ("Core", "Specific", "Non-clinical")
    },
    "Starts": st.column_config.DateColumn("Starts", format="DD/MM/YYYY"),
    "Leaves": st.column_config.DateColumn("Leaves", format="DD/MM/YYYY"),
}


def plans_read(load: JobPlanLoad, quarter: Quarter, settings) -> pd.DataFrame:
    """Per clinician what the file gave, in half-day sessions a week (Choice: appointments),
    with the quarter's target, or "none" where the plan gives no Core time or target (§4)."""
    plans = load.frame
    targets = quarterly_targets(plans, quarter, settings)["core_target"]
    has_target = plans["core_sessions"].notna() | plans[f"q{quarter.number}_target"].notna()
    return pd.DataFrame(
        {
            "Clinician": plans["clinician"],
            "Team": plans["team"],
            "WTE": plans["fte"],
            "Choice": plans["choice_per_week"],
            "Core": plans["core_sessions"],
            "Specific": plans["specific_sessions"],
            "Non-clinical": plans["nonclinical_sessions"],
            f"{quarter.label} target": [
                f"{value:.1f}" if ok else "none (no Core time or target)"
                for value, ok in zip(targets, has_target, strict=True)
            ],
            "Starts": plans["available_from"],
            "Leaves": plans["available_to"],
        }
    )


def mapping_editor(key: str, file_name: str, read: PlanRead, current: dict) -> dict | None:
    """Which column holds each field, named as a manager says it; the values of rejected
    cells (e.g. "nil") as numbers or dates. Returns the mapping when applied."""
    load = read.load
    chosen = read.columns
    options = [NOT_IN_FILE, *read.headers]
    field_of = {header: name for name, header in chosen.items()}
    doubtful = sorted(
        {(r.column, r.value) for r in (load.rejected if load else ()) if r.column in field_of
         and r.value is not None and "not a" in r.reason}
    )
    with st.form(f"{key}_mapping"):
        # Only what the manager changes is theirs (a field set to "not in this file" is ""),
        # over what they changed before; the rest stays found by its header and values.
        columns: dict[str, str] = dict(current.get("columns", {}))
        for title, names in FIELD_GROUPS:
            st.markdown(f"**{title}**")
            grid = st.columns(3)
            for i, name in enumerate(names):
                spec = FIELDS_BY_NAME[name]
                now = chosen.get(name, NOT_IN_FILE)
                picked = grid[i % 3].selectbox(
                    spec.label + (" (needed)" if spec.required else ""),
                    options,
                    index=options.index(now) if now in options else 0,
                    key=f"{key}_column_{name}",
                )
                if picked != now:
                    columns[name] = "" if picked == NOT_IN_FILE else picked
        values: dict[str, dict[str, str]] = {
            name: dict(texts) for name, texts in current.get("values", {}).items()
        }
        if doubtful:
            st.markdown("**Values not understood** — what each means")
        for header, text in doubtful:
            name = field_of[header]
            meant = st.text_input(
                f"{header}: “{text}” means", key=f"{key}_value_{name}_{text}",
                placeholder="a number, a date, or “blank”; empty: reject the row",
            ).strip()
            if meant:
                values.setdefault(name, {})[text] = "" if meant.casefold() == "blank" else meant
        title = st.text_input("Name for this mapping", value=current.get("name") or
                              file_name.rsplit(".", 1)[0], key=f"{key}_name")
        applied = st.form_submit_button("Apply this mapping")
    if applied:
        return {"columns": columns, "values": values, "name": title.strip() or "job plans"}
    return None


def importer(user_email: str, settings) -> None:
    st.subheader("Import a job-plan spreadsheet")
    st.caption(
        "Re-importing replaces the plan of each clinician in the file; others are kept. "
        "Columns are recognised by their words and values (Name, WTE, Core sessions/wk, Core "
        "hrs/wk, Core PAs, Q3 target, Leaving date…); you can say which column holds what "
        "before importing."
    )
    generation = st.session_state.get(GENERATION_KEY, 0)
    upload = st.file_uploader(
        "Job-plan spreadsheet", type=["xlsx", "csv"],
        key=f"{UPLOAD_KEY}_{generation}" if generation else UPLOAD_KEY,
    )
    if upload is None:
        return
    content = upload.getvalue()
    digest = hashlib.sha256(content).hexdigest()
    key = f"jobplans_{digest[:12]}"
    mappings = st.session_state.setdefault(MAPPING_KEY, {})
    mapping = mappings.get(digest, {})
    store = common.user_store()
    profiles = store.profiles()
    # The file is read once per mapping (the sandboxed reader takes a moment), not per rerun.
    cache_key = (digest, repr(mapping), repr(settings))
    cached = st.session_state.get(READ_KEY)
    if cached is None or cached[0] != cache_key:
        cached = (cache_key, read_plans(content, upload.name, settings, mapping, profiles))
        st.session_state[READ_KEY] = cached
    read: PlanRead = cached[1]
    load = read.load

    if load is None:
        st.error(read.refusal or "The file could not be read.")
    else:
        preview(load, upload.name, settings)
    if read.headers:
        with st.expander("Say which column holds what", expanded=load is None):
            applied = mapping_editor(key, upload.name, read, mapping)
        if applied is not None:
            mappings[digest] = applied
            st.rerun()
    if load is None:
        return
    save_as = mapping.get("name") if mapping.get("columns") or mapping.get("values") else None
    save = save_as is not None and st.checkbox(
        f"Save the mapping “{save_as}” for the next job-plan file of this shape", value=True,
        key=f"{key}_save_profile",
    )
    if st.button("Import these plans", type="primary", key="jobplans_import_confirm"):
        saved = store.save_jobplans(load.frame, user=user_email, source=upload.name)
        # The store logs which plans changed; this entry ties the change to the file (§7).
        store.record(
            "job plans imported",
            user=user_email,
            file=upload.name,
            file_sha256=digest,
            rows=len(load.frame),
            changed=saved,
            rejected=len(load.rejected),
        )
        if save:
            lacking = {n: "" for n, h in mapping.get("columns", {}).items() if not h}
            found = {n: c.header for n, c in load.mapping.items()}
            store.save_profile(jobplans_profile(save_as, {**lacking, **found},
                                                mapping.get("values")))
        # Shown after the rerun that reads the plans just saved (the page's tables were
        # read before this button ran), with an empty uploader.
        st.session_state[DONE_KEY] = f"Imported {saved} job plans from {upload.name}."
        st.session_state[GENERATION_KEY] = generation + 1
        mappings.pop(digest, None)
        st.session_state.pop(READ_KEY, None)
        st.rerun()


def preview(load: JobPlanLoad, file_name: str, settings) -> None:
    quarter = targets_quarter(settings)
    sheet = f" (sheet “{load.sheet}”)" if load.sheet and not file_name.endswith(".csv") else ""
    st.write(f"**{len(load.frame)}** plans read from {file_name}{sheet}. Nothing is saved "
             "until you press “Import these plans”.")
    if load.profile is not None:
        st.info(f"Columns read with the saved mapping “{profile_title(load.profile)}”.")
    st.caption("Choice in appointments a week; Core, Specific and non-clinical time in half-day "
               "sessions a week, whatever unit the file gave.")
    st.dataframe(plans_read(load, quarter, settings), column_config=PREVIEW_COLUMNS,
                 hide_index=True, key="jobplans_import_preview", placeholder="—")
    st.markdown("**How the columns were read**")
    st.dataframe(mapping_in_words(load), hide_index=True, key="jobplans_import_mapping")
    for warning in load.warnings:
        st.warning(warning)
    if load.rejected:
        st.warning(f"{len(load.rejected)} rows could not be used:")
        common.table(pd.DataFrame([r.__dict__ for r in load.rejected]),
                     "jobplans_import_rejected")


#: Plan fields in the history's words (the editor's column names).
HISTORY_FIELDS = {
    "team": "team", "fte": "WTE", "choice_per_week": "Choice per week",
    "core_sessions": "Core sessions", "specific_sessions": "Specific sessions",
    "nonclinical_sessions": "Non-clinical sessions",
    **{f"q{n}_target": f"Q{n} target" for n in range(1, 5)},
    "available_from": "available from", "available_to": "available to",
}


def history_in_words(history: pd.DataFrame) -> pd.DataFrame:
    """The job-plan history as a manager reads it: when, who, from where, whose plan, and
    what changed in words ("Core sessions 3 → 4"), newest first."""
    rows = []
    for entry in history.itertuples(index=False):
        before = json.loads(entry.before) if entry.before else {}
        after = json.loads(entry.after) if entry.after else {}
        rows.append({
            "When (UTC)": pd.Timestamp(entry.changed_at).strftime("%d/%m/%Y %H:%M"),
            "By": entry.changed_by,
            "From": entry.source,
            "Clinician": entry.clinician,
            "Change": {"created": "new plan", "replaced": "changed",
                       "removed": "removed"}.get(entry.change, entry.change),
            "What changed": _changes(before, after),
        })
    return pd.DataFrame(rows[::-1], columns=["When (UTC)", "By", "From", "Clinician", "Change",
                                             "What changed"])


def _changes(before: dict, after: dict) -> str:
    if not after:
        return "plan removed"
    parts = []
    for name, words in HISTORY_FIELDS.items():
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if before:
            parts.append(f"{words} {_shown(old)} → {_shown(new)}")
        elif new is not None:
            parts.append(f"{words} {_shown(new)}")
    return "; ".join(parts) or ("no change" if before else "an empty plan")


def _shown(value) -> str:
    if value is None:
        return "blank"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text


def record_export(user_email: str, file_sha256: str, rows: int) -> None:
    common.user_store().record(
        "download", user=user_email, what="job plans xlsx", file_sha256=file_sha256, rows=rows
    )


def render() -> None:
    user = common.page_user(access.EDIT_JOBPLANS)
    st.title("Job plans")
    store = common.scoped_store(user)
    url, version = data.database_url(), store.data_version()
    settings = data.settings(url, version)
    plans = user.scope.filter_teams(data.jobplans(url, version), "team", access.EDIT_JOBPLANS)
    # One container above the tabs whatever it shows, so the tab the manager is on stays
    # chosen when a notice comes or goes.
    notices = st.container()
    if done := st.session_state.pop(DONE_KEY, None):
        notices.success(done)
    if plans.empty:
        notices.info(
            "No job plans yet. Import the team's job-plan spreadsheet below, or add rows to the "
            "table: without a plan a clinician has no target and shows as \u201cno job plan\u201d."
        )
    edit_tab, import_tab, history_tab = st.tabs(["Plans and targets", "Import / export", "History"])
    with edit_tab:
        st.page_link(
            "capa_monitor/views/ahead.py", icon=":material/science:",
            label="Try a change before saving it: What if… on Looking ahead",
            help="A leaving date, a leave, sessions moved, a new starter: capacity, balance "
            "and targets before and after, without saving",
        )
        editor(user.email, plans, settings)
    with import_tab:
        importer(user.email, settings)
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
            st.dataframe(history_in_words(history), hide_index=True, key="jobplans_history")


if __name__ == "__main__":
    render()
