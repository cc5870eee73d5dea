"""The upload page's history (manager): every upload with how much of it counts, and restoring
or removing one — each with its preview in words (what counts again, what goes, what comes
back) and a confirmation. After either, the page runs again, so the table shows the store as
it is now (issue 12 item 5: it was stale after a restore).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from capa_monitor.errors import CapaError
from capa_monitor.store.previews import change_lines
from capa_monitor.views import common
from capa_monitor.views.audit import viewer_zone, when_text

FLASH_KEY = "upload_history_flash"
#: The history's columns: short labels (with help) and widths that fit the page unscrolled.
HISTORY_COLUMNS = {
    "upload_id": st.column_config.NumberColumn("Upload", width=52),
    "file_name": st.column_config.TextColumn("File", width=174),
    "teams": st.column_config.TextColumn("Teams", width=118),
    "period_start": st.column_config.DateColumn("From", format="DD/MM/YYYY", width=82,
                                                help="First activity date in the file"),
    "period_end": st.column_config.DateColumn("To", format="DD/MM/YYYY", width=82,
                                              help="Last activity date in the file"),
    "uploaded_by": st.column_config.TextColumn("By", width=104),
    "uploaded_at": st.column_config.TextColumn("Uploaded at", width=136,
                                               help="In your time zone"),
    "rows_accepted": st.column_config.NumberColumn("Rows", width=54, help="Rows accepted"),
    "rows_rejected": st.column_config.NumberColumn("Rejected", width=62,
                                                   help="Rows that could not be used"),
    "rows_active": st.column_config.NumberColumn(
        "Counting", width=64, help="Accepted rows that count now (later uploads replace some)"
    ),
}


def history_table(uploads: pd.DataFrame) -> pd.DataFrame:
    """The uploads as the table shows them: the upload time in the viewer's zone, a demo
    upload's file marked, the status left to Counting (hashes and mappings stay in the store)."""
    zone = viewer_zone()
    shown = uploads[list(HISTORY_COLUMNS)].copy()
    shown["uploaded_at"] = [when_text(at, zone) for at in uploads["uploaded_at"]]
    if "demo" in uploads:
        shown["file_name"] = shown["file_name"].where(~uploads["demo"].astype(bool),
                                                      shown["file_name"] + " (demo)")
    return shown


def history(user_email: str) -> None:
    store = common.user_store()  # only uploads of the manager's teams
    st.header("Upload history")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    uploads = store.uploads()
    if uploads.empty:
        st.info("Nothing stored yet.")
        return
    st.dataframe(history_table(uploads), column_config=HISTORY_COLUMNS, hide_index=True,
                 key="upload_history", placeholder="—")
    names = uploads.set_index("upload_id")["file_name"]
    restore_col, remove_col = st.columns(2)
    with restore_col:
        restorable = uploads.loc[uploads["rows_active"] < uploads["rows_accepted"], "upload_id"]
        if not restorable.empty:
            restore_section(store, restorable.tolist(), names, user_email)
    with remove_col:
        remove_section(store, uploads["upload_id"].tolist(), names, user_email)


def preview(change) -> str:
    head, heading, others = change_lines(change)
    return "\n".join([head, "", heading, *(f"- {line}" for line in others)])


def restore_section(store, restorable: list[int], names: pd.Series, user_email: str) -> None:
    choice = st.selectbox(
        "Restore an upload (its rows replace what later uploads put in their place)",
        restorable,
        format_func=lambda i: f"upload {i}: {names.at[i]}",
        key="upload_restore_choice",
    )
    try:
        change = store.plan_restore(int(choice))
    except CapaError as exc:  # removed meanwhile in another session
        st.error(str(exc))
        return
    st.info(preview(change))
    with st.form("upload_restore_form", border=False):
        confirmed = st.form_submit_button(f"Restore upload {choice}", key="upload_restore")
    if confirmed:
        act(lambda: store.restore(int(choice), user=user_email),
            f"Upload {choice} restored: {change.rows:,} of its rows count again.")


def remove_section(store, removable: list[int], names: pd.Series, user_email: str) -> None:
    choice = st.selectbox(
        "Remove an upload (its rows are deleted; what it replaced counts again)",
        removable,
        format_func=lambda i: f"upload {i}: {names.at[i]}",
        key="upload_remove_choice",
    )
    try:
        change = store.plan_remove(int(choice))
    except CapaError as exc:
        st.error(str(exc))
        return
    st.warning(preview(change))
    # Keyed by the upload, so a tick never carries over to the next one chosen.
    sure = st.checkbox(f"Yes, delete upload {choice} and its rows",
                       key=f"upload_remove_sure_{choice}")
    with st.form("upload_remove_form", border=False):
        confirmed = st.form_submit_button(f"Remove upload {choice}", key="upload_remove",
                                          disabled=not sure)
    if confirmed:
        act(lambda: store.remove_upload(int(choice), user=user_email),
            f"Upload {choice} ({change.file_name}) removed; {change.other_rows:,} rows of other "
            "uploads count again.")


def act(write, done: str) -> None:
    """Run the write; on success run the page again (fresh history) with `done` shown."""
    try:
        write()
    except CapaError as exc:
        st.error(str(exc))
        return
    st.session_state[FLASH_KEY] = done
    st.rerun()
