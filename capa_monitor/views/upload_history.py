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

FLASH_KEY = "upload_history_flash"


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
    shown = uploads.drop(columns=["sha256", "mapping"], errors="ignore")
    common.table(shown, "upload_history")
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
