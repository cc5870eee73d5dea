"""Quarterly review page (everyone; the default page): new Core Partnerships against job plans,
lost slots and whether they were offered again, with a drill-down per clinician.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from capa_monitor import access, auth
from capa_monitor.charts import delivery_chart
from capa_monitor.metrics import words as vocabulary
from capa_monitor.metrics.flow import ALL_TEAMS
from capa_monitor.metrics.words import words
from capa_monitor.model import Kind
from capa_monitor.names import clinician_key
from capa_monitor.views import ahead, common, data

#: The clinicians' figures against target; offers and lost slots are a second table, so that
#: each fits the screen without scrolling sideways.
CLINICIAN_TABLE = {
    "clinician": st.column_config.TextColumn("Clinician", width=135),
    "team": st.column_config.TextColumn("Team", width=120),
    "status_word": st.column_config.TextColumn(
        "Status", width=120, help="On track: delivered ≥ expected to date. Slightly behind: ≥ the amber "
        "share. No target: no job plan (or a plan in another team), or a plan giving no Core time "
        "or target."
    ),
    "delivered": st.column_config.NumberColumn(
        "Delivered", help="New Core Partnerships attended", width=68
    ),
    "expected_to_date": st.column_config.NumberColumn(
        "Expected", format="%.1f", help="Expected to the as-of date", width=68
    ),
    "target": st.column_config.NumberColumn(
        "Target", format="%.1f", help="Full-quarter target", width=68
    ),
    "shortfall": st.column_config.NumberColumn("Shortfall", format="%.1f", width=68),
    "note": st.column_config.TextColumn(
        "Note", width=280,
        help="Why there is no target (or a target of 0), start or leaving dates, and the "
        "other teams viewed whose slots are counted in this row",
    ),
}
OFFERS_TABLE = {
    "clinician": st.column_config.TextColumn("Clinician"),
    "offered": st.column_config.NumberColumn(
        "Offered", help="New Core Partnership slots offered (any outcome but cancelled by service)"
    ),
    "choice_delivered": st.column_config.NumberColumn("Choice seen"),
    "choice_target": st.column_config.NumberColumn("Choice target", format="%.1f"),
    "lost": st.column_config.NumberColumn("Lost", help="Lost slots: DNA/WNB, late, cancelled "
                                          "by family or unbooked"),
    "reoffered": st.column_config.NumberColumn("Re-offered"),
    "pending": st.column_config.NumberColumn("Pending"),
    "not_reoffered": st.column_config.NumberColumn("Not re-offered"),
}
#: §8 L1 and L2 per clinician (the Looking ahead page has L3, the what-if and the pack too).
# Widths set so the table fits a laptop's page without sideways scrolling: the diary's words
# ("⚠️ no slots in the 2026/27 Q4 diary yet: 12 slots missing") in 340 px, not "large"'s 400.
AHEAD_TABLE = {
    "clinician": st.column_config.TextColumn("Clinician"),
    "booked_ahead": st.column_config.NumberColumn(
        "Booked ahead",
        help="New Core Partnership slots booked after the as-of date, this quarter"),
    "free_ahead": st.column_config.NumberColumn(
        "Free ahead", width="small",
        help="New Core Partnership slots in the diary nobody is booked into yet"),
    "projected": st.column_config.NumberColumn(
        "Projected", format="%.1f", width="small",
        help="Delivered + booked ahead × (1 − the non-attendance rate)"),
    "end_word": st.column_config.TextColumn("Quarter end"),
    "diary_word": st.column_config.TextColumn("Next quarter's diary", width=340),
}
LOST_SLOT_TABLE = {
    "date": st.column_config.DateColumn("Date", format="ddd DD/MM/YYYY"),
    "start": st.column_config.TextColumn("Time"),
    "kind_word": st.column_config.TextColumn("Type"),
    "outcome_word": st.column_config.TextColumn("Outcome"),
    "status_word": st.column_config.TextColumn("Status"),
    "export_slot_id": st.column_config.TextColumn(
        "Slot id", help="The export's own appointment id (blank when the export had none)"
    ),
    "evidence": st.column_config.TextColumn("Evidence", width="large"),
}


def clinician_table(clinicians: pd.DataFrame) -> pd.DataFrame:
    table = clinicians.assign(
        status_word=words(clinicians["status"], common.CLINICIAN_STATUS_WORDS),
        note=vocabulary.clinician_notes(clinicians),
    )
    return table[_shown(CLINICIAN_TABLE, clinicians)]


def offers_table(clinicians: pd.DataFrame) -> pd.DataFrame:
    return clinicians[list(OFFERS_TABLE)]


def _shown(columns: dict, clinicians: pd.DataFrame) -> list[str]:
    """The table's columns; the team only when there is more than one (room for the note)."""
    one_team = clinicians["team"].nunique(dropna=False) <= 1
    return [name for name in columns if not (name == "team" and one_team)]


def week_summary(slots: pd.DataFrame) -> pd.DataFrame:
    """One row per week commencing Monday (as job plans and diaries count weeks), a column per
    type, each cell the week's slots by outcome in words: "3 attended, 1 DNA/WNB"; "none" for
    a type without slots that week. Counted in Python: a clinician's quarter is a few hundred
    slots, and a crosstab of them cost each switch of the page 20 ms."""
    weeks: dict = {}
    for day, kind, outcome in zip(slots["date"], slots["kind"], slots["outcome"], strict=True):
        if pd.isna(day) or not isinstance(kind, str) or not isinstance(outcome, str):
            continue
        week = day.date() - timedelta(days=day.weekday())
        cell = weeks.setdefault(week, {}).setdefault(vocabulary.KIND_WORDS.get(kind, kind), {})
        said = vocabulary.OUTCOME_WORDS.get(outcome, outcome)
        cell[said] = cell.get(said, 0) + 1
    kinds = sorted({kind for cells in weeks.values() for kind in cells})
    ordered = sorted(weeks)
    return pd.DataFrame({
        "Week commencing": ordered,
        **{kind: [", ".join(f"{n} {said}" for said, n in sorted(weeks[week][kind].items()))
                  if kind in weeks[week] else "none" for week in ordered] for kind in kinds},
    })


def lost_slot_table(lost_slots: pd.DataFrame) -> pd.DataFrame:
    """One clinician's lost slots (the drill-down names them, so no clinician column)."""
    table = lost_slots.assign(
        kind_word=words(lost_slots["kind"], vocabulary.KIND_WORDS),
        outcome_word=words(lost_slots["outcome"], vocabulary.OUTCOME_WORDS),
        status_word=words(lost_slots["status"], common.SLOT_STATUS_WORDS),
    )
    return table[list(LOST_SLOT_TABLE)]


def headline(result) -> None:
    """Totals over the planned clinicians with a target; everyone else's activity said apart."""
    head, lost = result.headline, result.lost_slots
    not_reoffered = int((lost["status"] == "not_reoffered").sum())
    pending = int((lost["status"] == "pending").sum())
    everyone = result.flow_summary[result.flow_summary["team"] == ALL_TEAMS]
    median_wait = everyone["median"].iloc[0] if len(everyone) else float("nan")

    first, second, third = st.columns(3)
    first.metric(
        "New Core Partnerships",
        f"{head.delivered} / {head.expected:.1f}",
        help=f"Delivered / expected to the as-of date, over the {head.with_target} clinicians "
        f"with a target (full-quarter target {head.target:.1f}): {head.behind} behind, "
        f"{head.slightly_behind} slightly behind. Clinicians without a target are counted "
        "apart, below.",
        border=True,
    )
    second.metric(
        "Not re-offered",
        f"{not_reoffered}",
        help=f"Lost slots not offered again: {len(lost)} lost slots in the quarter so far; "
        f"{pending} still pending.",
        border=True,
    )
    third.metric(
        "Median internal wait",
        "none yet" if pd.isna(median_wait) else f"{median_wait:.0f} days",
        help="Days from a client's last attended Choice to their first attended new Core "
        "Partnership, median over the waits completed in the quarter (Balance & flow has more).",
        border=True,
    )
    for line in head.apart():
        st.caption(f"{line[0].upper()}{line[1:]}.")


def looking_ahead(selection: common.Selection, result) -> None:
    """L1 and L2 per clinician, with the way to the rest and the review pack."""
    c = result.clinicians
    diary = result.next_diary
    if c["projection_words"].isna().all() and c["diary_words"].isna().all():
        return
    st.subheader("Looking ahead")
    st.caption("Where the quarter ends on the new Core Partnership slots booked ahead (less the "
               "clinician's non-attendance), and next quarter's slots in the diary"
               + (f" (checked from {diary.ready_at:%d %b %Y})" if diary else "") + ".")
    table = c.assign(end_word=ahead.end_words(c["projection_words"]),
                     diary_word=ahead.diary_words(c, diary is not None and diary.checked))
    st.dataframe(table[list(AHEAD_TABLE)], column_config=AHEAD_TABLE, hide_index=True,
                 placeholder="—", key="review_ahead")
    link_col, pack_col = st.columns(2)
    link_col.page_link("capa_monitor/views/ahead.py", icon="🔭",
                       label="Looking ahead: capacity against demand, and what-if")
    user = auth.current_user()
    if user is not None and user.scope.can(access.DOWNLOAD):  # not a team member's (issue 14)
        with pack_col:
            ahead.pack_button(result, lambda: ahead.cached_outlook(
                selection.url, selection.version, selection.quarter.label, selection.teams,
                selection.as_of), user, "review_pack")


def drill_down(selection: common.Selection, result) -> None:
    names = sorted(result.clinicians["clinician"].astype(str))
    if not names:
        return
    st.subheader("One clinician")
    name = st.selectbox("Clinician", names, key="review_clinician")
    row = result.clinicians[result.clinicians["clinician"] == name].iloc[0]
    status = common.CLINICIAN_STATUS_WORDS.get(row["status"], row["status"])
    note = vocabulary.clinician_notes(row.to_frame().T).iloc[0]
    st.markdown(
        f"**{name}** — {status}{'' if pd.isna(note) else f' ({note})'}; delivered "
        f"{row['delivered']} new Core Partnerships."
    )

    weeks_tab, lost_tab, plan_tab = st.tabs(["Their weeks", "Their lost slots", "Their job plan"])
    quarter = selection.quarter
    theirs = data.clinician_slots(
        selection.url, selection.version, selection.teams, quarter.start, quarter.end, name,
        (Kind.CORE_NEW.value, Kind.CHOICE.value),
    )
    with weeks_tab:
        if theirs.empty:
            st.info(f"{name} has no new Core Partnership or Choice slots in {quarter.label}.")
        else:
            st.dataframe(
                week_summary(theirs), hide_index=True, key="review_weeks",
                column_config={"Week commencing": st.column_config.DateColumn(
                    "Week commencing", format="ddd DD/MM/YYYY")},
            )
    with lost_tab:
        lost = result.lost_slots[result.lost_slots["clinician"] == name]
        if lost.empty:
            st.info(f"{name} has no lost slots in {quarter.label} up to the as-of date.")
        else:
            st.dataframe(
                lost_slot_table(lost), column_config=LOST_SLOT_TABLE, hide_index=True,
                key="review_clinician_lost",
            )
    with plan_tab:
        plans = data.jobplans(selection.url, selection.version)
        plan = plans[plans["clinician"].map(clinician_key) == clinician_key(name)]
        if plan.empty:
            st.info(
                f"{name} has no job plan, so there is no target. A manager adds one on the "
                "**Job plans** page."
            )
        else:
            common.table(plan, "review_clinician_plan")


def render() -> None:
    opened = common.open_review(
        "review",
        "Quarterly review",
        "None of these teams' appointments has been attended or missed yet, so there is "
        "nothing to review. Upload a later export, or choose other teams.",
    )
    if opened is None:
        return
    selection, result = opened
    common.rules_line(result)
    if result.clinicians.empty:
        st.info(
            f"No clinician has a job plan or new Core Partnership activity in "
            f"{result.quarter.label}. Choose another quarter, upload that quarter's export, or "
            "add job plans."
        )
        return
    banner = vocabulary.no_core_time_banner(result.headline.no_core_time, result.quarter.label)
    if banner:
        st.warning(banner, icon=":material/warning:")
    headline(result)
    st.subheader("Clinicians")
    st.dataframe(
        clinician_table(result.clinicians),
        column_config=CLINICIAN_TABLE,
        hide_index=True,
        placeholder="—",
        key="review_clinicians",
    )
    st.subheader("Offers and lost slots")
    st.dataframe(
        offers_table(result.clinicians),
        column_config=OFFERS_TABLE,
        hide_index=True,
        placeholder="—",
        key="review_offers",
    )
    looking_ahead(selection, result)
    st.plotly_chart(delivery_chart(result.clinicians), key="review_delivery_chart")
    drill_down(selection, result)


if __name__ == "__main__":
    render()
