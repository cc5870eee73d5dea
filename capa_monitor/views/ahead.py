"""Looking ahead page (everyone; what-if for managers): where this quarter will end on the
slots in the diary (L1), whether next quarter's slots are in the diary (L2), the team's
capacity against demand (L3), and trying job-plan changes before saving them (L4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st

from capa_monitor import access, auth
from capa_monitor.charts import capacity_chart
from capa_monitor.errors import CapaError
from capa_monitor.metrics.ahead import ON_COURSE, under_way, whole_slots
from capa_monitor.metrics.capacity import rule_of_thumb
from capa_monitor.metrics.lookahead import Outlook, stored_outlook
from capa_monitor.metrics.review import team_rows
from capa_monitor.metrics.words import words
from capa_monitor.views import common, data
from capa_monitor.whatif import (
    ACTIVITIES,
    Leave,
    Leaving,
    MoveSessions,
    Starter,
    compare,
    try_changes,
)

TRIAL_KEY = "ahead_trial"  # the what-if's changes, kept while the manager tries them
SAVED_KEY = "ahead_saved_message"
CHANGE_KINDS = ("Leaving date", "Leave", "Move sessions", "New starter")
ACTIVITY_NAMES = {"choice": "Choice", "core": "Core", "specific": "Specific"}

#: Widths that fit the page unscrolled (a 1400 px window, sidebar open) and leave every cell
#: whole: "⚠️ left: 11 for the team to find", "starts 30 Nov: nothing expected yet".
PROJECTION_TABLE = {
    "clinician": st.column_config.TextColumn("Clinician", width=118),
    "status_word": st.column_config.TextColumn("Status now", width=120),
    "delivered": st.column_config.NumberColumn(
        "Delivered", width=64, help="New Core Partnerships delivered by the as-of date"),
    "booked_ahead": st.column_config.NumberColumn(
        "Booked", width=56,
        help="Booked ahead: new Core Partnership slots booked after the as-of date, this quarter"),
    "free_ahead": st.column_config.NumberColumn(
        "Free", width=44,
        help="Free ahead: new Core Partnership slots in the diary nobody is booked into yet"),
    "projected": st.column_config.NumberColumn(
        "Projected", format="%.1f", width=65,
        help="Delivered + booked ahead × (1 − the non-attendance rate)"),
    "target": st.column_config.NumberColumn("Target", format="%.1f", width=54),
    "end_word": st.column_config.TextColumn("Quarter end", width=197),
    "availability": st.column_config.TextColumn("Start / leaving", width=214),
}
DIARY_TABLE = {
    "clinician": st.column_config.TextColumn("Clinician"),
    "in_diary": st.column_config.NumberColumn(
        "In the diary", help="New Core Partnership slots dated next quarter (any outcome but "
        "cancelled by the service)"),
    "next_target": st.column_config.NumberColumn(
        "Target", format="%.1f", help="Next quarter's target, pro rata to availability"),
    "diary_word": st.column_config.TextColumn("Diary", width="large"),
}
#: The capacity table's columns and how each is written: a static table, so the balance and
#: wait sentences wrap instead of the table scrolling sideways.
CAPACITY_TABLE = {
    "quarter": ("Quarter", str),
    "basis": ("Choice counted", str),
    "choice": ("Choice seen", "{:.0f}".format),
    "demand": ("Demand", "{:.1f}".format),
    "capacity": ("Capacity", "{:.1f}".format),
    "balance": ("Capacity ÷ demand", "{:.2f}".format),
    "balance_words": ("Balance", str),
    "wait_words": ("Internal wait", str),
}


def capacity_table(capacity: pd.DataFrame) -> pd.DataFrame:
    """The quarters' capacity against demand as text, a missing figure as "—"."""
    shown = pd.DataFrame({
        label: [("—" if pd.isna(value) else write(value)) for value in capacity[name]]
        for name, (label, write) in CAPACITY_TABLE.items()
    })
    return shown.set_index("Quarter")


@st.cache_data(show_spinner="Looking ahead…", max_entries=16)
def cached_outlook(url: str, version: int, quarter_label: str, teams: tuple[str, ...],
                   as_of: date | None) -> Outlook:
    """L1–L3 for the review the same selection shows (cached like it, per data version)."""
    result = data.quarterly_review(url, version, quarter_label, teams, as_of)
    # the teams' own rows L1–L3 look at (they need nothing of other teams), and the
    # clinicians and first date the store keeps for them
    return stored_outlook(data.review_inputs(url, quarter_label, teams, as_of,
                                             looking_ahead=True), result)


def pack_file_name(result) -> str:
    return f"review pack {result.quarter.label.replace('/', '-')}.pdf"


def made_pack(result, look: Outlook, user_email: str) -> bytes:
    """The review pack, audited (§7) as served: its hash is of the bytes returned."""
    # imported when a pack is made: matplotlib and reportlab cost the first render of the
    # review page, which imports this module, 0.6 s otherwise
    from capa_monitor.pack import pack_pdf

    pdf = pack_pdf(result, look, made_on=date.today())
    data.store().record(
        "download", user=user_email, what="review pack", file=pack_file_name(result),
        quarter=result.quarter.label, as_of=result.as_of.isoformat(),
        teams=list(result.teams) if result.teams else None,
        file_sha256=hashlib.sha256(pdf).hexdigest(), clinicians=len(result.clinicians),
    )
    return pdf


def pack_button(result, look: Callable[[], Outlook], user: auth.User, key: str) -> None:
    """The quarterly review pack (PDF, A4): made only when asked for (about a second), so a
    page change never waits for it; `look` gives the outlook then (the review page has not
    read the earlier quarters it needs)."""
    st.download_button(
        "Download the review pack (PDF)", data=lambda: made_pack(result, look(), user.email),
        file_name=pack_file_name(result), mime="application/pdf", key=key,
        icon=":material/picture_as_pdf:", on_click="ignore",
        help="One A4 document for the quarterly review meeting: totals, each clinician in "
        "words, projections, next quarter's diary, lost slots not re-offered, balance, drift, "
        "waits, capacity against demand and the trend chart. No client identifiers.")


def end_words(codes: pd.Series) -> pd.Series:
    """L1's words with an icon before them (the words carry the meaning)."""
    return codes.map(lambda text: None if not isinstance(text, str)
                     else f"✅ {text}" if text == ON_COURSE else f"⚠️ {text}").astype("str")


def projection_section(result, look: Outlook) -> None:
    st.header("This quarter's end")
    if not under_way(result.quarter, result.as_of):
        st.info(f"{result.quarter.label} is not under way on {result.as_of:%d %b %Y}: "
                "projections are for the quarter the as-of date falls in, before its last day.")
        return
    c = look.clinicians
    s = result.settings
    st.caption(
        f"Projected = delivered + new Core Partnership slots booked ahead × (1 − the "
        f"clinician's non-attendance rate over the last {s.nonattendance_weeks} weeks; the "
        f"team's below {s.nonattendance_min_slots} slots). \"Needs N more slots\": slots still "
        "to put in the diary and fill this quarter to reach the full-quarter target.")
    with_target = c[c["projection_words"].notna()]
    short = with_target[with_target["projection_words"] != ON_COURSE]
    first, second = st.columns(2)
    first.metric("On course", f"{len(with_target) - len(short)} of {len(with_target)}",
                 help="Clinicians with a target whose projection reaches it", border=True)
    second.metric("Slots still to find", f"{sum(map(whole_slots, short['to_find']))}",
                  help="New Core Partnership slots the clinicians short of target need",
                  border=True)
    table = c.assign(status_word=words(c["status"], common.CLINICIAN_STATUS_WORDS),
                     end_word=end_words(c["projection_words"]))
    st.dataframe(table[list(PROJECTION_TABLE)], column_config=PROJECTION_TABLE,
                 hide_index=True, placeholder="—", key="ahead_projection")


def diary_words(frame: pd.DataFrame, checked: bool) -> pd.Series:
    """L2's words with an icon before them; missing where a clinician has none."""
    cells = [None if not isinstance(text, str)
             else f"{'⏳' if not checked else '⚠️' if flag is True else '✅'} {text}"
             for flag, text in zip(frame["diary_flag"].astype("object"),
                                   frame["diary_words"].astype("object"), strict=True)]
    return pd.Series(cells, index=frame.index, dtype="str")


def diary_section(result, look: Outlook) -> None:
    diary = look.diary
    if diary is None:
        st.header("Next quarter's diary")
        st.info("There is no next quarter to prepare for this review: choose the quarter of "
                "the as-of date.")
        return
    st.header(f"{diary.quarter.label} diary")
    s = result.settings
    st.caption(
        f"CAPA teams put next quarter's new Core Partnership slots in the diary about "
        f"{s.diary_lead_weeks} weeks ahead. From {diary.ready_at:%d %b %Y} a clinician with "
        f"fewer than {s.diary_ready_fraction:.0%} of their next-quarter target (pro rata to "
        "availability) in the diary is flagged, with the slots missing.")
    if diary.clinicians.empty:
        st.info(f"No clinician has a job plan with a target for {diary.quarter.label}.")
        return
    if not diary.checked:
        st.info(f"Checked from {diary.ready_at:%d %b %Y}; this is the diary so far.")
    else:
        flagged = diary.flagged
        first, second = st.columns(2)
        first.metric("Clinicians short", f"{len(flagged)} of {len(diary.clinicians)}",
                     help="Fewer slots in the diary than the ready share of their target",
                     border=True)
        second.metric("Slots missing", f"{int(flagged['slots_missing'].sum())}",
                      help="Next quarter's target less the slots in the diary, over the "
                      "clinicians short", border=True)
    table = diary.clinicians.assign(diary_word=diary_words(diary.clinicians, diary.checked))
    st.dataframe(table[list(DIARY_TABLE)], column_config=DIARY_TABLE, hide_index=True,
                 placeholder="—", key="ahead_diary")


def capacity_section(result, look: Outlook) -> None:
    st.header("Capacity against demand")
    s = result.settings
    st.caption(
        f"Demand = Choice appointments seen × the share of clients who go on to Core "
        f"Partnership; capacity = the job plans' new Core Partnership targets, clipped to "
        f"availability. In balance at {s.balance_low:.0%}–{s.balance_high:.0%} of demand.")
    now = look.current_capacity
    st.metric(f"{result.quarter.label}", now["balance_words"],
              help=f"Capacity {now['capacity']:.1f}, demand {now['demand']:.1f} new Core "
              "Partnerships a quarter", border=True)
    st.plotly_chart(capacity_chart(look.capacity), key="ahead_capacity_chart")
    st.caption(f"{look.conversion.words(s)}. {rule_of_thumb(now['choice'])}")
    st.caption("Choice counted — measured: the quarter is over; so far: scaled to the quarter by "
               "working days; forecast: at the rate of the conversion window.")
    st.table(capacity_table(look.capacity))


# -- L4: what-if ------------------------------------------------------------------------------


def change_form(kind: str, names: list[str], teams: list[str]):
    """The fields of one change; the Change when the form is sent, else None."""
    form = f"ahead_whatif_{CHANGE_KINDS.index(kind)}"  # widget keys: form_field
    with st.form(form, clear_on_submit=True, border=True):
        if kind == "New starter":
            name = st.text_input("Name", key=f"{form}_name")
            starts = st.date_input("Starts on", value=None, format="DD/MM/YYYY",
                                   key=f"{form}_starts")
            team = st.selectbox("Team", teams, key=f"{form}_team") if teams else None
            core_col, choice_col, specific_col = st.columns(3)
            core = core_col.number_input("Core sessions a week", min_value=0.0, step=0.5,
                                         key=f"{form}_core")
            choice = choice_col.number_input("Choice appointments a week", min_value=0.0,
                                             step=1.0, key=f"{form}_choice")
            specific = specific_col.number_input("Specific sessions a week", min_value=0.0,
                                                 step=0.5, key=f"{form}_specific")
        else:
            name = st.selectbox("Clinician", names, key=f"{form}_clinician")
        if kind == "Leaving date":
            last_day = st.date_input("Last day", value=None, format="DD/MM/YYYY",
                                     key=f"{form}_last_day")
        elif kind == "Leave":
            left, right = st.columns(2)
            starts_leave = left.date_input("Leave starts", value=None, format="DD/MM/YYYY",
                                           key=f"{form}_starts")
            back = right.date_input("Back on (only if the leave has begun)", value=None,
                                    format="DD/MM/YYYY", key=f"{form}_back")
        elif kind == "Move sessions":
            count_col, from_col, to_col, who_col = st.columns(4)
            sessions = count_col.number_input("Sessions a week", min_value=0.5, value=1.0,
                                              step=0.5, key=f"{form}_sessions")
            source = from_col.selectbox("From", ACTIVITIES, format_func=ACTIVITY_NAMES.get,
                                        index=1, key=f"{form}_from")
            target = to_col.selectbox("To", ACTIVITIES, format_func=ACTIVITY_NAMES.get,
                                      key=f"{form}_to")
            colleague = who_col.selectbox("Whose", ["their own", *names], key=f"{form}_whose")
        if not st.form_submit_button("Add to the trial", icon=":material/add:"):
            return None
    if kind == "New starter":
        if not name or not name.strip() or starts is None:
            raise CapaError("Give the starter's name and the day they start.")
        return Starter(name.strip(), starts, team=team, core_sessions=core,
                       choice_per_week=choice, specific_sessions=specific)
    if kind == "Leaving date":
        if last_day is None:
            raise CapaError(f"Give {name}'s last day.")
        return Leaving(name, last_day)
    if kind == "Leave":
        return Leave(name, starts_leave, back)
    return MoveSessions(name, sessions, source, target,
                        None if colleague == "their own" else colleague)


def whatif_section(user: auth.User, selection: common.Selection, result, look: Outlook) -> None:
    st.header("What if…")
    st.caption(
        "Try a leaving date, a leave, sessions moved between Choice, Core and Specific (or to "
        "a colleague) or a new starter. Nothing is saved until you save it; saving is an "
        "ordinary job-plan change, kept in the job plans' history and the audit log.")
    if SAVED_KEY in st.session_state:
        st.success(st.session_state.pop(SAVED_KEY))
    plans = look.plans
    if plans.empty:
        st.info("No job plans for these teams yet: add them on the Job plans page.")
        return
    changes = st.session_state.setdefault(TRIAL_KEY, [])
    names = sorted(plans["clinician"].astype(str))
    kind = st.segmented_control("Try", CHANGE_KINDS, default=CHANGE_KINDS[0],
                                key="ahead_whatif_kind") or CHANGE_KINDS[0]
    try:
        added = change_form(kind, names, data.teams(selection.url, selection.version))
    except CapaError as exc:
        st.error(str(exc))
        added = None
    if added is not None:
        changes.append(added)
    if not changes:
        return
    for index, change in enumerate(list(changes)):
        text_col, remove_col = st.columns([6, 1])
        text_col.markdown(f"{index + 1}. {change.words()}")
        if remove_col.button("Remove", key=f"ahead_whatif_remove_{index}"):
            changes.pop(index)
            st.rerun()
    try:
        trial = try_changes(plans, changes, result.settings)
    except CapaError as exc:
        st.error(str(exc))
        return
    for note in trial.notes:
        st.info(note)
    quarters = [result.quarter, result.quarter.next(), result.quarter.next().next()]
    viewed = data.review_inputs(selection.url, selection.quarter.label, selection.teams,
                                selection.as_of, looking_ahead=True).activity
    outcome = compare(team_rows(viewed, result.teams), plans, trial, quarters, result.as_of,
                      result.settings, look.conversion)
    st.subheader("Team, before and after")
    team = outcome.team
    st.dataframe(
        team[["quarter", "demand", "capacity_before", "capacity_after", "words_before",
              "words_after"]],
        column_config={
            "quarter": "Quarter",
            "demand": st.column_config.NumberColumn("Demand", format="%.1f"),
            "capacity_before": st.column_config.NumberColumn("Capacity now", format="%.1f"),
            "capacity_after": st.column_config.NumberColumn("Capacity after", format="%.1f"),
            "words_before": st.column_config.TextColumn("Balance now", width="medium"),
            "words_after": st.column_config.TextColumn("Balance after", width="medium"),
        },
        hide_index=True, key="ahead_whatif_team")
    st.subheader("Targets, before and after")
    per = outcome.clinicians
    wide = per.pivot_table(index=["clinician", "changed"], columns="quarter",
                           values=["available_before", "available_after"], aggfunc="first",
                           dropna=False)
    shown = pd.DataFrame({"Clinician": wide.index.get_level_values(0),
                          "Changed": ["changed" if c else "" for c in
                                      wide.index.get_level_values(1)]})
    for quarter in quarters:
        for when, label in (("available_before", "now"), ("available_after", "after")):
            shown[f"{quarter.label} {label}"] = wide[(when, quarter.label)].to_numpy()
    shown = shown.sort_values(["Changed", "Clinician"], ascending=[False, True])
    st.caption("Each clinician's new Core Partnership target for the quarter, pro rata to "
               "their availability (what capacity counts).")
    st.dataframe(shown, hide_index=True, key="ahead_whatif_targets",
                 column_config={c: st.column_config.NumberColumn(c, format="%.1f")
                                for c in shown.columns[2:]})
    save_col, clear_col = st.columns(2)
    if save_col.button("Save these job plans", type="primary", icon=":material/save:",
                       key="ahead_whatif_save"):
        saved = common.scoped_store(user).save_jobplans(trial.changed_plans, user=user.email,
                                           source=f"what-if: {trial.words()}")
        st.session_state[TRIAL_KEY] = []
        st.session_state[SAVED_KEY] = (f"Saved {saved} job plan{'' if saved == 1 else 's'}: "
                                       f"{trial.words()}.")
        st.rerun()
    if clear_col.button("Clear the trial", key="ahead_whatif_clear"):
        st.session_state[TRIAL_KEY] = []
        st.rerun()


def render() -> None:
    opened = common.open_review("ahead", "Looking ahead")
    if opened is None:
        return
    selection, result = opened
    common.rules_line(result)
    look = cached_outlook(selection.url, selection.version, selection.quarter.label,
                          selection.teams, selection.as_of)
    user = auth.current_user()
    if user is not None and user.scope.can(access.DOWNLOAD):  # not a team member's (issue 14)
        pack_button(result, lambda: look, user, "ahead_pack")
    projection_section(result, look)
    diary_section(result, look)
    capacity_section(result, look)
    if user is not None and user.scope.can(access.EDIT_JOBPLANS):
        whatif_section(user, selection, result, look)


if __name__ == "__main__":
    render()
