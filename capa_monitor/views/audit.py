"""Audit log page (manager): who uploaded, replaced, restored, changed job plans or settings or
downloaded what, and when — newest first, in words, filterable by action.

The store keeps times as naive UTC; they are shown in the viewer's time zone (the browser's,
else UK time) as "Tue 1 Dec 2026, 21:17", and each entry's details as a sentence.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from capa_monitor import access
from capa_monitor.views import common
from capa_monitor.views.settings_page import change_text

#: Where the app is used when the browser does not say its time zone.
HOME_ZONE = "Europe/London"
#: Detail keys in words, in the order a reader wants them; any other key follows, with its
#: underscores as spaces.
DETAIL_WORDS = {
    "what": "",
    "file_name": "file",
    "source_file": "from file",
    "upload_id": "upload",
    "upload_ids": "uploads",
    "superseded_by": "replaced by upload",
    "teams": "teams",
    "source": "from",
    "jobplans": "job plans of",
}
#: Actions in words where the store's name is jargon; the rest are shown capitalised.
ACTION_WORDS = {
    "supersede": "Rows replaced by a later upload",
    "upload unchanged": "Upload of a file already stored",
    "restore": "Upload restored",
    "demo removed": "Demo data removed",
    "refused": "Refused attempt",
    "access granted": "Access given",
    "access revoked": "Access taken away",
}
#: Details holding {upload id: rows}, in words: "5 rows of upload 1".
PER_UPLOAD_WORDS = {
    "already_stored": "already stored",
    "differing": "of them differing",
    "back": "counting again",
}
#: Row counts in words: "3 rows rejected".
COUNT_WORDS = {
    "rejected": "rejected",
    "kept_as_history": "already stored kept only as history",
    "rows_back": "counting again",
}
#: What an upload did with rows already stored from another upload (store.overlap).
OVERLAP_WORDS = {"replace": "replaced", "skip": "skipped", "keep_different": "kept where different"}
#: The order a reader wants the details in; any other key follows, alphabetically.
ORDER = (*DETAIL_WORDS, "already_stored", "differing", "on_overlap", "kept_as_history",
         "rows_back", "back")
#: Hashes mean nothing to a reader of the log (they stay in the store); a false flag says
#: nothing.
HIDDEN_DETAILS = frozenset({"source_sha256", "sha256"})


def viewer_zone() -> ZoneInfo:
    name = st.context.timezone
    try:
        return ZoneInfo(name if isinstance(name, str) and name else HOME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(HOME_ZONE)


def when_text(at: pd.Timestamp | datetime | None, zone: ZoneInfo) -> str:
    """A stored UTC time as the viewer reads it: "Tue 1 Dec 2026, 21:17"."""
    if at is None or pd.isna(at):
        return ""
    local = pd.Timestamp(at).tz_localize("UTC").tz_convert(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def period_text(start, end) -> str:
    if pd.isna(start) or pd.isna(end):
        return ""
    return f"{pd.Timestamp(start):%d/%m/%Y} to {pd.Timestamp(end):%d/%m/%Y}"


def details_text(action: str, details: str | None) -> str:
    """An entry's JSON details as words: "file north.xlsx; upload 3; teams North"."""
    try:
        parsed = json.loads(details) if details else {}
    except ValueError:
        return str(details)
    if not isinstance(parsed, dict):
        return str(parsed)
    if action == "settings changed":
        overrides = parsed.get("overrides") or {}
        return "; ".join(change_text(k, v) for k, v in overrides.items()) or "all defaults"
    order = {key: i for i, key in enumerate(ORDER)}
    parts = []
    for key in sorted(parsed, key=lambda k: (order.get(k, len(order)), k)):
        value = parsed[key]
        if key in HIDDEN_DETAILS or value in (None, "", [], {}, False):
            continue
        if key == "demo":
            parts.append("demo data")
        elif key == "as_of" and isinstance(value, str):
            day = pd.to_datetime(value, errors="coerce")
            parts.append(f"as of {day.day} {day:%b %Y}" if not pd.isna(day) else f"as of {value}")
        elif key in COUNT_WORDS:
            parts.append(f"{row_count(value)} {COUNT_WORDS[key]}")
        elif key in PER_UPLOAD_WORDS and isinstance(value, dict):
            rows = ", ".join(f"{row_count(n)} of upload {upload}" for upload, n in value.items()
                             if n)
            if rows:
                parts.append(f"{PER_UPLOAD_WORDS[key]}: {rows}")
        elif key == "on_overlap":
            parts.append(f"rows already stored {OVERLAP_WORDS.get(value, value)}")
        else:
            shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
            label = DETAIL_WORDS.get(key, key.replace("_", " "))
            parts.append(f"{label} {shown}".strip())
    return "; ".join(parts)


def row_count(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def action_words(action) -> str:
    text = str(action)
    return ACTION_WORDS.get(text, text[:1].upper() + text[1:])


def readable_log(log: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """The log newest first, in words: when, who, what, the period and rows it touched."""
    newest = log.sort_values("id", ascending=False)
    return pd.DataFrame(
        {
            "When": [when_text(at, zone) for at in newest["at"]],
            "Who": newest["user"].astype("str").to_numpy(),
            "What": [action_words(action) for action in newest["action"]],
            "Details": [details_text(a, d) for a, d in zip(newest["action"], newest["details"],
                                                           strict=True)],
            "Period": [period_text(s, e) for s, e in zip(newest["period_start"],
                                                         newest["period_end"], strict=True)],
            "Rows": newest["rows"].to_numpy(),
        }
    )


def render() -> None:
    user = common.page_user(access.VIEW_AUDIT)
    st.title("Audit log")
    log = common.scoped_store(user).audit()  # only entries about the reader's teams
    if log.empty:
        st.info("Nothing has been recorded yet: uploads, restores, job-plan changes and "
                "downloads appear here as they happen.")
        return
    actions = sorted(log["action"].dropna().astype(str).unique())
    chosen = st.multiselect("Actions", actions, placeholder="All actions", key="audit_actions",
                            format_func=action_words)
    shown = log[log["action"].isin(chosen)] if chosen else log
    zone = viewer_zone()
    st.caption(f"{len(shown)} of {len(log)} entries, newest first; times in {zone.key}.")
    st.dataframe(readable_log(shown, zone), hide_index=True, key="audit_table",
                 placeholder="—", column_config={"Details": st.column_config.TextColumn(
                     "Details", width="large")})


if __name__ == "__main__":
    render()
