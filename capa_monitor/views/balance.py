"""Balance & flow page (everyone): Core/Specific balance against plan (M3), Specific drift (M4),
the internal wait from Choice to Core Partnership and handovers (M5), drop-off alerts (M6).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from capa_monitor.charts import balance_chart, wait_chart
from capa_monitor.views import common

FLAG_WORDS = {True: "⚠️ flagged", False: "ok"}


def flagged_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Flagged rows first, with the flag as a word so it never relies on colour."""
    shown = frame.assign(flag=frame["flagged"].map(FLAG_WORDS)).drop(columns="flagged")
    order = frame["flagged"].fillna(False).astype(bool).to_numpy()
    return pd.concat([shown[order], shown[~order]])[["flag", *frame.columns.drop("flagged")]]


#: The balance tables on screen: shares against plan (the minutes behind them stay in the
#: frame), with short headers so a table fits the screen.
BALANCE_COLUMNS = {
    "flag": st.column_config.TextColumn("Flag", width=110),
    "clinician": st.column_config.TextColumn("Clinician"),
    "team": st.column_config.TextColumn("Team"),
    "clinical_minutes": st.column_config.NumberColumn(
        "Clinical hours", help="Attended Choice, Core and Specific time", format="%.0f"
    ),
    **{
        f"{group}_share": st.column_config.NumberColumn(
            f"{group.capitalize()} %", format="%.0f", help=f"{group.capitalize()} share of clinical time"
        )
        for group in ("choice", "core", "specific")
    },
    **{
        f"plan_{group}_share": st.column_config.NumberColumn(
            f"Plan {group}", format="%.0f", help=f"{group.capitalize()} % in the job plan"
        )
        for group in ("choice", "core", "specific")
    },
    "specific_excess_points": st.column_config.NumberColumn(
        "Over plan", format="%+.0f", help="Specific share above the plan's, in points"
    ),
}


def balance_table(frame: pd.DataFrame, key: str) -> None:
    shown = flagged_first(frame)
    shown = shown.assign(clinical_minutes=shown["clinical_minutes"] / 60)
    # per clinician, the team only when the table holds more than one (room for the shares)
    one_team = "clinician" in shown and shown["team"].nunique(dropna=False) <= 1
    columns = [c for c in BALANCE_COLUMNS if c in shown.columns and not (c == "team" and one_team)]
    st.dataframe(shown[columns],
                 column_config=BALANCE_COLUMNS, hide_index=True, key=key, placeholder="—")


def dropoff_columns(frame: pd.DataFrame, settings) -> dict[str, object]:
    """The drop-off table's headers say what its figures are: totals over the last N weeks."""
    weeks = settings.dropoff_weeks
    total = f"{weeks}-week total"
    return {
        **common.readable_columns(frame),
        "flag": st.column_config.TextColumn("Flag", width=110),  # auto width cut the icon's word
        "offered_last_weeks": st.column_config.NumberColumn(
            f"Offered ({total})", help=f"New Core Partnership slots offered in the last {weeks} "
            "complete weeks (any outcome but cancelled by service)"
        ),
        "planned_weekly": st.column_config.NumberColumn(
            "Planned per week", format="%.1f", help="Quarter target ÷ usable weeks"
        ),
        "threshold": st.column_config.NumberColumn(
            f"Flagged below ({total})", format="%.1f",
            help=f"{settings.dropoff_fraction:.0%} of the planned weekly rate × {weeks} weeks",
        ),
        "leaving_date": st.column_config.DateColumn("Leaving date", format="DD/MM/YYYY"),
    }


def render() -> None:
    opened = common.open_review("balance", "Balance & flow")
    if opened is None:
        return
    _, result = opened
    common.rules_line(result)
    settings = result.settings

    st.header("Core / Specific balance")
    st.caption(
        f"Share of attended clinical time against the job plan's shares; flagged when the "
        f"Specific share is more than {settings.specific_margin_points:g} points above plan."
    )
    if result.balance.empty:
        st.info("No attended Choice, Core or Specific appointments in this quarter yet.")
    else:
        st.plotly_chart(balance_chart(result.balance), key="balance_chart")
        balance_table(result.balance_teams, "balance_teams")
        balance_table(result.balance, "balance_table")

    st.header("Specific drift")
    st.caption(
        f"Open Specific episodes over {settings.drift_max_sessions} sessions or "
        f"{settings.drift_max_weeks} weeks (a gap of {settings.drift_gap_weeks} weeks ends an "
        "episode). Clients are shown by a short reference, never by name or number."
    )
    flagged_drift = result.drift[result.drift["flagged"]]  # a bool column, also when empty
    if flagged_drift.empty:
        st.success("No Specific episode has drifted past the limits.")
    else:
        # every listed episode is open (only open ones are flagged), so no "open" column
        common.table(flagged_first(flagged_drift).drop(columns="open"), "balance_drift")

    st.header("Internal wait and handover")
    thresholds = " and ".join(str(days) for days in settings.wait_thresholds_days)
    st.caption(
        "Days from a client's last attended Choice to their first attended new Core "
        f"Partnership; per cent seen within {thresholds} days; handover = the Core clinician "
        "is not the Choice clinician."
    )
    if result.waits.empty:
        st.info("No client has gone from Choice to Core Partnership in this quarter yet.")
    else:
        common.table(result.flow_summary, "balance_flow_summary")
        st.plotly_chart(
            wait_chart(result.waits, settings.wait_thresholds_days), key="balance_wait_chart"
        )
        limit = settings.wait_thresholds_days[0]
        waits = result.waits
        long_waits = waits[waits["waiting"].fillna(False).astype(bool) & (waits["wait_days"] > limit)]
        if not long_waits.empty:
            st.subheader(f"Seen at Choice, still waiting after {limit} days ({len(long_waits)})")
            st.caption("The export does not say who was discharged at Choice: check these.")
            common.table(
                long_waits[["team", "choice_date", "choice_clinician", "wait_days"]],
                "balance_long_waits",
            )

    st.header("Drop-off alerts")
    st.caption(
        f"New Core Partnership slots offered over the last {settings.dropoff_weeks} complete "
        f"weeks, flagged below {settings.dropoff_fraction:.0%} of the planned weekly rate."
    )
    if result.dropoff.empty:
        st.info("No job-planned clinician to check: add job plans on the Job plans page.")
    else:
        shown = flagged_first(result.dropoff)
        st.dataframe(shown, column_config=dropoff_columns(shown, settings),
                     hide_index=True, key="balance_dropoff", placeholder="—")


if __name__ == "__main__":
    render()
