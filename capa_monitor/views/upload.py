"""Upload page (manager): read one or more activity exports, show everything the loader did with
each file BEFORE anything is stored — sheet, header row, column mapping (editable), a preview,
values to map, rejected rows, the rows already stored (replace, skip or keep the ones that
differ), what the upload will supersede, the team a team-less file needs and the checks its
reading asks for — then store it on confirmation. Saved mapping profiles are applied to files
of the same shape; the history (upload_history.py) allows a restore or a removal.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from capa_monitor import access
from capa_monitor.errors import CapaError, LoadError
from capa_monitor.exports import safe_text
from capa_monitor.jobplan_fields import is_jobplan_profile
from capa_monitor.loading import (
    LoadResult,
    MappingProfile,
    activity_synonyms,
    fitting_profile,
    header_guess,
    load_raw,
)
from capa_monitor.loading.plan_names import against_plans
from capa_monitor.loading.read import read_upload
from capa_monitor.metrics.words import DERIVED_SLOT_ID, KIND_WORDS, OUTCOME_WORDS, words
from capa_monitor.periods import month_end
from capa_monitor.store import ON_OVERLAP, REPLACE
from capa_monitor.store.previews import CHOICE_LABELS, choice_sentence, overlap_sentences
from capa_monitor.views import common, data
from capa_monitor.views.upload_history import history
from capa_monitor.views.upload_mapping import mapping_form, report_summary

LOG = logging.getLogger(__name__)
#: Per-file results kept between reruns (never in st.cache_data: it would hash the bytes).
MEMO_KEY = "upload_memo"
DETECTED = "(the one that looks like activity)"
FILE_TYPES = ["xlsx", "csv", "xlsm", "xls"]  # .xlsm/.xls reach the loader for its clear refusal


#: How many loaded versions of the uploads a session keeps (each holds a canonical frame).
MEMO_ENTRIES = 4


@dataclass(frozen=True)
class ReadFile:
    """One upload as loaded with one set of choices, plus what the mapping editor needs."""

    result: LoadResult | None  # None: read, but its columns could not be used (see error)
    error: str | None
    sheets: tuple[str, ...]
    headers: tuple[str, ...]  # header texts of the sheet used, for the mapping editor
    profile: MappingProfile | None  # the mapping applied: the manager's, or a saved one
    profile_saved: bool  # the mapping is a saved profile that fits this file's columns


#: The preview's columns, in words and widths that fit the file's box (904 px) unscrolled.
PREVIEW_COLUMNS = {
    "slot_id": st.column_config.TextColumn("Id", width=70, help="The appointment's id in "
                                           "the export (— : the export gives none)"),
    "clinician": st.column_config.TextColumn("Clinician", width=112),
    "team": st.column_config.TextColumn("Team", width=118),
    "date": st.column_config.DateColumn("Date", format="DD/MM/YYYY", width=80),
    "start": st.column_config.TextColumn("Start", width=46),
    "kind": st.column_config.TextColumn("Type", width=146),
    "outcome": st.column_config.TextColumn("Outcome", width=130),
    "booked_on": st.column_config.DateColumn("Booked", format="DD/MM/YYYY", width=80),
    "duration_min": st.column_config.NumberColumn("Mins", width=42, help="Duration in minutes"),
    "reoffered": st.column_config.CheckboxColumn("Re-offered", width=68,
                                                 help="The export marks the slot re-offered"),
}


def preview_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The first rows as a reader checks them: types and outcomes in words, ids the loader
    made up left blank (they are nowhere in the clinician's system)."""
    shown = frame.head(10)[[c for c in PREVIEW_COLUMNS if c in frame]].copy()
    shown["kind"] = words(shown["kind"], KIND_WORDS)
    shown["outcome"] = words(shown["outcome"], OUTCOME_WORDS)
    made_up = shown["slot_id"].map(lambda v: isinstance(v, str) and bool(DERIVED_SLOT_ID.fullmatch(v)))
    shown["slot_id"] = shown["slot_id"].where(~made_up.astype(bool))
    return shown


def read_file(content: bytes, digest: str, name: str, team: str | None, sheet: str | None,
              profile: MappingProfile | None, settings,
              profiles: list[MappingProfile], plans: tuple[str, ...] = ()) -> ReadFile:
    """Load a file (`digest`: its SHA-256) once per set of choices (memo in this session only),
    its clinicians checked against the job plans' names (`plans`).
    An unreadable file raises LoadError; a readable one whose columns cannot be used comes back
    with `error`, so the manager can map its columns by hand."""
    choice = (digest, team, sheet, profile.to_json() if profile else None, plans)
    memo = st.session_state.setdefault(MEMO_KEY, {})
    if choice not in memo:
        workbook = read_upload(content, name, limits=settings.limits, sheet=sheet)
        headers = header_guess(workbook, activity_synonyms(profile), sheet)
        saved = fitting_profile(profiles, headers) if profile is None else None
        used = profile or saved
        try:
            result = load_raw(
                workbook, filename=name, team=team, sheet=sheet, profile=used, settings=settings
            )
        except LoadError as exc:
            result, error = None, str(exc)
        else:
            error = None
            headers = result.report.headers
            result = against_plans(result, plans)
        sheets = tuple(s.name for s in workbook.sheets)
        memo[choice] = ReadFile(result, error, sheets, headers, used, saved is not None)
        for stale in list(memo)[:-MEMO_ENTRIES]:
            del memo[stale]
    return memo[choice]


def forget_other_files(digests: set[str]) -> None:
    memo = st.session_state.get(MEMO_KEY, {})
    for choice in [c for c in memo if c[0] not in digests]:
        del memo[choice]


def rejected_frame(result: LoadResult) -> pd.DataFrame:
    return pd.DataFrame(
        [(r.sheet, r.row, r.column, r.value, r.reason) for r in result.report.rejected],
        columns=["sheet", "row", "column", "value", "reason"],
    )


def formula_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV whose text cells a spreadsheet program will not run as formulas."""
    return frame.map(safe_text).to_csv(index=False).encode("utf-8-sig")


def record_rejected_download(user_email: str, source_file: str, source_sha256: str,
                             file_sha256: str, rows: int) -> None:
    """Audit (§7) the rejected-rows CSV as served, and the upload it came from."""
    common.user_store().record(
        "download",
        user=user_email,
        what="rejected rows csv",
        source_file=source_file,
        source_sha256=source_sha256,
        file_sha256=file_sha256,
        rows=rows,
    )


def whole_months(period: tuple[date, date]) -> tuple[date, date]:
    start, end = period
    return start.replace(day=1), month_end(end)


def ingest_section(key: str, user_email: str, result: LoadResult,
                   profile: MappingProfile | None, team: str | None) -> None:
    """What storing would do — rows already stored (and the choice what to do with them), what
    it replaces, the team it needs, the checks to make — then the confirm button."""
    store = common.user_store()
    flash = st.session_state.pop(f"{key}_flash", None)
    if flash:
        st.success(flash)
    if refused := store.refused_rows(result):  # rows of teams outside the manager's
        st.warning("Not stored, outside your teams: " + ", ".join(
            f"{team} ({rows:,} row{'' if rows == 1 else 's'})" for team, rows in refused.items())
            + ".")
        if sum(refused.values()) == len(result.frame):
            return
    widen = st.checkbox(
        "Cover whole months", key=f"{key}_whole_months",
        help="By default the upload replaces earlier rows of its teams from its first to its "
        "last appointment date; tick to replace whole calendar months instead.",
    )
    on_overlap = st.session_state.get(f"{key}_on_overlap", REPLACE)
    plan = planned(store, key, result, None, on_overlap)
    period = whole_months(plan.period) if widen else None
    if period is not None:
        plan = planned(store, key, result, period, on_overlap)
    if plan.status == "unchanged":
        st.info(
            f"This file is already stored as upload {plan.unchanged_upload_id}: storing it again "
            "changes nothing."
        )
    else:
        if offer_team(key, plan, team):
            return
        st.markdown(
            f"Storing will keep **{plan.stored_rows}** rows for **{plan.teams_label}** covering "
            f"{plan.period[0]:%d/%m/%Y} to {plan.period[1]:%d/%m/%Y}."
        )
        if plan.overlaps:
            st.warning("\n".join(f"- {line}" for line in overlap_sentences(plan)))
            st.radio("What to do with the rows already stored", list(ON_OVERLAP),
                     format_func=CHOICE_LABELS.get, key=f"{key}_on_overlap")
            st.caption(choice_sentence(plan))
        if plan.supersedes:
            uploads = store.uploads().set_index("upload_id")
            lines = [
                f"- upload {upload_id} ({uploads.at[upload_id, 'file_name']}): {rows} rows"
                if upload_id in uploads.index else f"- upload {upload_id}: {rows} rows"
                for upload_id, rows in plan.supersedes.items()
            ]
            st.warning(
                f"It replaces {plan.superseded_rows} earlier rows (they stay in the history and "
                "can be restored):\n" + "\n".join(lines)
            )
        elif not plan.overlaps:
            st.caption("It replaces nothing stored earlier.")
    doubts = list(getattr(result.report, "doubts", []))
    checked = True
    if doubts:
        st.warning("**Check this reading before storing it:**\n"
                   + "\n".join(f"- {doubt}" for doubt in doubts))
        checked = st.checkbox("I have checked", key=f"{key}_checked",
                              help="The confirm button stays off until you have.")
    blocked = not checked or (plan.status == "new" and plan.team_needed)
    # A form, so the confirm button is a submit button: Enter on it stores, as a click does.
    with st.form(f"{key}_store", border=False):
        save_profile = profile is not None and st.checkbox(
            f"Save the mapping “{profile.name}” for next month's file", value=True,
            key=f"{key}_save_profile",
        )
        confirmed = st.form_submit_button("Confirm and store", type="primary",
                                          key=f"{key}_confirm", disabled=blocked)
    if not confirmed:
        return
    try:
        outcome = store.ingest(result, user=user_email, period=period, on_overlap=on_overlap)
    except CapaError as exc:
        st.error(f"Nothing was stored: {exc}")
        return
    if save_profile:
        store.save_profile(profile)
    st.session_state[f"{key}_flash"] = stored_words(outcome)
    st.rerun()  # the preview and the history below read the store as it is now


def planned(store, key: str, result: LoadResult, period, on_overlap: str):
    """store.plan_ingest, kept in this session until the store or a choice changes: on a large
    file it looks up every row's slot, which a widget change elsewhere should not repeat."""
    choice = (store.data_version(), id(result), result.report.sha256, period, on_overlap)
    memo = st.session_state.setdefault(f"{key}_plans", {})
    if choice not in memo:
        memo[choice] = store.plan_ingest(result, period=period, on_overlap=on_overlap)
        for stale in list(memo)[:-4]:
            del memo[stale]
    return memo[choice]


def offer_team(key: str, plan, team: str | None) -> bool:
    """A team-less file into a store that keeps teams: fill the team in once from where its
    clinicians work (True: the page reruns with it), else say what is missing."""
    offer = st.session_state.get(f"{key}_team_offer")
    if plan.team_needed and plan.suggested_team and offer is None:
        st.session_state[f"{key}_team_offer"] = (plan.suggested_team, plan.team_evidence)
        st.session_state[f"{key}_team_prefill"] = plan.suggested_team
        st.rerun()
        return True
    if plan.team_needed:
        st.error(
            "This file has no team column and the store keeps teams: type the team its rows "
            "are for in “Team for rows that have none” above."
            + (f" Its clinicians work in {plan.suggested_team} ({plan.team_evidence})."
               if plan.suggested_team else "")
        )
    elif offer is not None and team == offer[0]:
        st.info(
            f"The team is filled in as **{offer[0]}**: this file has no team column, and its "
            f"clinicians work there ({offer[1]}). Change it above if that is wrong."
        )
    return False


def stored_words(outcome) -> str:
    if outcome.status == "unchanged":
        return f"Already stored as upload {outcome.upload_id}; nothing changed."
    text = f"Stored as upload {outcome.upload_id}"
    if outcome.superseded_rows:
        text += f", replacing {outcome.superseded_rows} earlier rows"
    if outcome.deferred_rows:
        text += f"; {outcome.deferred_rows} rows already stored are kept only as history"
    return text + "."


def one_file(user_email: str, upload, digest: str, settings,
             profiles: list[MappingProfile], plans: tuple[str, ...] = ()) -> None:
    content = upload.getvalue()
    key = f"upload_{digest[:12]}"
    with st.expander(upload.name, expanded=True):
        team_col, sheet_col = st.columns(2)
        prefill = st.session_state.pop(f"{key}_team_prefill", None)
        if prefill:  # set before the widget is made: the team its clinicians work in
            st.session_state[f"{key}_team"] = prefill
        team = team_col.text_input(
            "Team for rows that have none", key=f"{key}_team",
            help="For an export of one team without a team column.",
        ).strip() or None
        chosen_profile = st.session_state.get(f"{key}_profile")
        try:
            read = read_file(content, digest, upload.name, team, None, chosen_profile, settings,
                             profiles, plans)
            if len(read.sheets) > 1:
                sheet = sheet_col.selectbox("Sheet", [DETECTED, *read.sheets], key=f"{key}_sheet")
                if sheet != DETECTED:
                    read = read_file(content, digest, upload.name, team, sheet, chosen_profile,
                                     settings, profiles, plans)
        except CapaError as exc:
            st.error(f"{upload.name}: {exc}")
            return
        except Exception:  # a hostile file must not take the page down; details to the log
            LOG.exception("unexpected failure reading %s", upload.name)
            st.error(
                f"{upload.name} could not be read safely. Save it again from the source "
                "system as .xlsx or .csv and upload that."
            )
            return
        if read.profile_saved:
            st.caption(f"Saved mapping “{read.profile.name}” applied: this file has its columns.")
        if read.result is None:
            st.error(f"{upload.name}: {read.error}")
            st.write("Say which column holds each field, then apply the mapping:")
        result = read.result
        applied = mapping_form(key, upload.name, read)  # in its own expander
        if applied is not None:
            st.session_state[f"{key}_profile"] = applied
            st.rerun()
        if result is None:
            return
        report_summary(result)
        st.markdown("**Preview** — the first rows as they will be stored")
        # Client pseudonyms are left out of the screen: nothing a reader needs to check.
        st.dataframe(preview_frame(result.frame), column_config=PREVIEW_COLUMNS,
                     hide_index=True, key=f"{key}_preview", placeholder="—")
        unknown = {c: v for c, v in result.report.unmapped_values.items() if v}
        if unknown:
            st.warning(
                "Values the loader did not recognise (open “Columns and values” "
                "to say what they mean): "
                + "; ".join(
                    f"{column}: " + ", ".join(f"“{v}” ×{n}" for v, n in values.items())
                    for column, values in unknown.items()
                )
            )
        rejected = rejected_frame(result)
        if not rejected.empty:
            st.markdown(f"**Rejected rows** ({len(rejected)})")
            st.dataframe(rejected.head(200), hide_index=True, key=f"{key}_rejected")
            rejected_csv = formula_safe_csv(rejected)
            st.download_button(
                "Download rejected rows (CSV)",
                rejected_csv,
                file_name=f"rejected rows {upload.name}.csv",
                mime="text/csv",
                key=f"{key}_rejected_csv",
                on_click=record_rejected_download,
                args=(user_email, upload.name, result.report.sha256,
                      hashlib.sha256(rejected_csv).hexdigest(), len(rejected)),
            )
        if result.frame.empty:
            st.error(f"{upload.name} has no usable rows, so there is nothing to store.")
            return
        # A saved profile that fitted needs no saving again; the manager's own mapping may.
        ingest_section(key, user_email, result, None if read.profile_saved else read.profile,
                       team)


def demo_removal(user_email: str) -> None:
    if not common.demo_loaded():
        return
    st.info("The invented demo team is loaded. Remove it before relying on your own figures.")
    if st.button("Remove the demo data", key="upload_remove_demo"):
        removed = common.user_store().remove_demo(user=user_email)
        st.success(f"Demo data removed ({removed} uploads).")


def render() -> None:
    user = common.page_user(access.UPLOAD)
    st.title("Upload")
    demo_removal(user.email)
    st.write(
        "Upload the monthly activity export from your patient record system (xlsx or csv; "
        "several at once is fine). Nothing is stored until you confirm each file."
    )
    files = st.file_uploader(
        "Activity exports", type=FILE_TYPES, accept_multiple_files=True, key="upload_files"
    )
    # Each file's SHA-256 once per run: it keys the file's widgets and its memo entries.
    digests = [(hashlib.sha256(f.getvalue()).hexdigest(), f) for f in files or []]
    forget_other_files({digest for digest, _ in digests})
    if digests:
        store = common.scoped_store(user)
        version = store.data_version()
        settings = data.settings(data.database_url(), version)
        # Names are checked against the plans of this manager's teams only (never another
        # team's clinicians in the preview).
        own_plans = user.scope.filter_teams(data.jobplans(data.database_url(), version),
                                            "team", access.UPLOAD)
        plans = tuple(own_plans["clinician"].dropna().tolist())
        # Job-plan mappings share the profile table; only activity ones fit an export.
        profiles = [p for p in store.profiles() if not is_jobplan_profile(p)]
        for digest, upload in digests:
            one_file(user.email, upload, digest, settings, profiles, plans)
    history(user.email)


if __name__ == "__main__":
    render()
