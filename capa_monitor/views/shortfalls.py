"""Shortfalls page (manager): the flagged list of domain spec §6 on screen, and as CSV and XLSX
downloads for supervision and job-plan reviews. Every download is written to the audit log.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from capa_monitor import access
from capa_monitor.exports import diary_table, shortfall_csv, shortfall_tables, shortfall_xlsx
from capa_monitor.metrics import words
from capa_monitor.views import common


def record_download(user_email: str, file_format: str, quarter: str, teams: tuple[str, ...],
                    file_sha256: str, clinicians: int, slots: int) -> None:
    """Audit (§7) the file exactly as served: its hash is of the bytes the button was given."""
    common.user_store().record(
        "download",
        user=user_email,
        what="shortfall list",
        format=file_format,
        quarter=quarter,
        teams=list(teams),
        file_sha256=file_sha256,
        rows=clinicians + slots,
        clinicians=clinicians,
        slots=slots,
    )


#: Shorter headers on screen (the download keeps its own), so Part 1 fits without scrolling.
SCREEN_HEADERS = {
    "Target (quarter)": st.column_config.NumberColumn("Target", format="%.1f",
                                                      help="Full-quarter target"),
    "Expected to date": st.column_config.NumberColumn("Expected", format="%.1f",
                                                      help="Expected to the as-of date"),
    "Shortfall": st.column_config.NumberColumn("Shortfall", format="%.1f"),
    "Lost slots": st.column_config.NumberColumn("Lost"),
}


def on_screen(part1: pd.DataFrame) -> pd.DataFrame:
    """Part 1 as the review page shows a row: the reason, the dates and the other teams
    counted in one note (the leaving date is in its words), so the table fits the screen."""
    shown = part1.drop(columns=["Why", "Also in", "Start / leaving", "Leaving date"])
    return _one_team(shown.assign(Note=words.notes(
        part1["Why"], part1["Start / leaving"], words.also_in_words(part1["Also in"]))))


def _one_team(table: pd.DataFrame) -> pd.DataFrame:
    """Without the Team column when every row is one team's (the caption above names it)."""
    return table.drop(columns="Team") if table["Team"].nunique(dropna=False) <= 1 else table


def render() -> None:
    user = common.page_user(access.DOWNLOAD)
    st.title("Shortfalls")
    st.write(
        "Clinicians behind their expected new Core Partnerships (or without a job plan), and "
        "every lost slot that was not offered again. No client identifier is included."
    )
    opened = common.picked_review(
        "shortfalls",
        "Nothing has been attended or missed yet in these teams, so nothing is flagged.",
    )
    if opened is None:
        return
    selection, result = opened
    common.rules_line(result)
    clinicians, slots = shortfall_tables(result)

    st.subheader(f"Clinicians flagged ({len(clinicians)})")
    if clinicians.empty:
        st.success("Every job-planned clinician is on track for this quarter so far.")
    else:
        shown = on_screen(clinicians)
        st.dataframe(shown, column_config={**common.readable_columns(shown), **SCREEN_HEADERS},
                     hide_index=True, key="shortfalls_clinicians", placeholder="—")
    st.subheader(f"Slots not re-offered ({len(slots)})")
    if slots.empty:
        st.success("Every lost slot so far was offered again or is still within its window.")
    else:
        shown = _one_team(slots)
        st.dataframe(
            shown,
            column_config={**common.readable_columns(shown),
                           "Evidence": st.column_config.TextColumn("Evidence", width=320)},
            hide_index=True, key="shortfalls_slots", placeholder="—",
        )
    diary = result.next_diary  # §8 L2, the download's Part 3
    if diary is not None:
        short = diary_table(result)
        st.subheader(f"{diary.quarter.label} diary: clinicians short ({len(short)})")
        if not diary.checked:
            st.info(f"Checked from {diary.ready_at:%d %b %Y}, {result.settings.diary_lead_weeks} "
                    "weeks before the quarter starts.")
        elif short.empty:
            st.success(f"Every planned clinician has their {diary.quarter.label} slots in the diary.")
        else:
            shown = _one_team(short)
            st.dataframe(shown, column_config=common.readable_columns(shown), hide_index=True,
                         key="shortfalls_diary", placeholder="—")

    stem = f"shortfalls {result.quarter.label.replace('/', '-')}"
    # The bytes are made once per run and the same object is served and hashed: each one
    # carries its generation time, so making it twice would give two files.
    csv_bytes, xlsx_bytes = shortfall_csv(result), shortfall_xlsx(result)
    audit = (result.quarter.label, selection.teams)
    counts = (len(clinicians), len(slots))
    csv_col, xlsx_col = st.columns(2)
    csv_col.download_button(
        "Download CSV",
        csv_bytes,
        file_name=f"{stem}.csv",
        mime="text/csv",
        key="shortfalls_csv",
        on_click=record_download,
        args=(user.email, "csv", *audit, hashlib.sha256(csv_bytes).hexdigest(), *counts),
        icon=":material/download:",
    )
    xlsx_col.download_button(
        "Download XLSX",
        xlsx_bytes,
        file_name=f"{stem}.xlsx",
        mime=common.XLSX_MIME,
        key="shortfalls_xlsx",
        on_click=record_download,
        args=(user.email, "xlsx", *audit, hashlib.sha256(xlsx_bytes).hexdigest(), *counts),
        icon=":material/download:",
        type="primary",
    )

if __name__ == "__main__":
    render()
