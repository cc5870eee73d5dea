"""The words a review is read in, defined once for the pages, the CLI and the downloads.

Statuses, kinds and outcomes are codes in the frames (machines keep them); people read these
words, the same in every place, so "behind" on the page is "behind" in the spreadsheet too.
Pages may put an icon before a word, never a second wording. Also here: how a clinician's
start and leaving dates and a slot are put in words.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

#: M1 statuses (metrics.targets.STATUSES) in words.
STATUS_WORDS: dict[str, str] = {
    "green": "on track",
    "amber": "slightly behind",
    "red": "behind",
    "no_target": "no target",
}
#: M2 lost-slot statuses (metrics.reoffer.SLOT_STATUSES) in words.
SLOT_STATUS_WORDS: dict[str, str] = {
    "reoffered_marked": "re-offered (marked)",
    "reoffered_client": "re-offered (client rebooked)",
    "reoffered_replacement": "re-offered (replacement slot)",
    "pending": "pending",
    "not_reoffered": "not re-offered",
}
KIND_WORDS: dict[str, str] = {
    "choice": "Choice",
    "core_new": "new Core Partnership",
    "core_followup": "Core follow-up",
    "specific_new": "new Specific Partnership",
    "specific_followup": "Specific follow-up",
    "other": "other",
}
OUTCOME_WORDS: dict[str, str] = {
    "attended": "attended",
    "dna": "DNA/WNB",
    "late_not_seen": "arrived late, not seen",
    "cancelled_by_client": "cancelled by family",
    "cancelled_by_service": "cancelled by service",
    "unbooked": "unbooked",
    "booked": "booked",
}

#: Why a clinician has no target, or a target of 0 (§4, §5 M1): the review's status_reason.
NO_JOB_PLAN = "no job plan"
NO_CORE_TIME = "the job plan gives no Core time or target"
EXPLICIT_ZERO = "the job plan sets a target of 0 for this quarter"
ZERO_CORE_TIME = "the job plan gives 0 Core sessions, so the target is 0"


#: Said under a review of some teams (not all): its counts are those teams' slots only.
CHOSEN_TEAMS_ONLY = ("Only the chosen teams' slots are counted: a clinician who also works in "
                     "another team is measured here without those slots (choose both teams, "
                     "or all teams, to count them together).")


def plan_elsewhere(team: str) -> str:
    """Why a clinician with a plan in a team not viewed has no target here (one plan per
    clinician, kept under its team: a view without that team has no target to measure)."""
    return f"job plan in {team}"


#: The form of the ids the loader makes up when an export has none (loading.normalise.
#: _derived_slot_ids: "h" + 16 hex digits, "-2", "-3"… for repeats). Such an id is nowhere in
#: the clinician's system, so it is never shown: a slot is named by date, time, clinician and
#: type instead. The loader keeps no marker, so an export id of exactly this form would be
#: hidden too; no export style seen uses it.
DERIVED_SLOT_ID = re.compile(r"h[0-9a-f]{16}(?:-\d+)?")


def words(codes: pd.Series, vocabulary: dict[str, str]) -> pd.Series:
    """Codes as words (str dtype); an unknown code is shown as it is, a missing one stays missing."""
    return codes.map(lambda code: vocabulary.get(code, code) if isinstance(code, str) else None
                     ).astype("str")


def day_words(day, as_of: date) -> str:
    """`30 Nov`, with the year when it is not the as-of date's year (`2 Jan 2027`)."""
    day = pd.Timestamp(day)
    return f"{day.day} {day:%b}" + ("" if day.year == as_of.year else f" {day.year}")


def availability_words(available_from, available_to, as_of: date, quarter_start: date) -> str | None:
    """A clinician's start and leaving dates as the review reads them (None: nothing to say).

    "starts 30 Nov: nothing expected yet" before the start, "started 3 Aug" for a start inside
    the quarter (the expectation runs from then), "left 14 Aug" after the last day,
    "leaves 13 Nov" up to and on it.
    """
    parts = []
    if not pd.isna(available_from):
        start = pd.Timestamp(available_from)
        if start > pd.Timestamp(as_of):
            parts.append(f"starts {day_words(start, as_of)}: nothing expected yet")
        elif start > pd.Timestamp(quarter_start):
            parts.append(f"started {day_words(start, as_of)}")
    if not pd.isna(available_to):
        end = pd.Timestamp(available_to)
        verb = "left" if end < pd.Timestamp(as_of) else "leaves"
        parts.append(f"{verb} {day_words(end, as_of)}")
    return "; ".join(parts) or None


def export_slot_ids(slot_ids: pd.Series) -> pd.Series:
    """The export's own slot ids; missing where the loader derived the id (DERIVED_SLOT_ID).
    A value at a time: a quarter's few hundred lost slots, where pandas' regex costs 1 ms."""
    kept = [None if not isinstance(text, str) or DERIVED_SLOT_ID.fullmatch(text) else text
            for text in slot_ids.astype("str").to_numpy(dtype=object)]
    return pd.Series(kept, index=slot_ids.index, dtype="str")


def slot_references(days: pd.Series, starts: pd.Series, clinicians: pd.Series,
                    kinds: pd.Series, export_ids: pd.Series) -> pd.Series:
    """A slot as the clinician can look it up in the diary: "Thu 2 Jul 2026 09:30, Jane Smith,
    new Core Partnership (slot A17)" (no time when the export had none, no id when it had none;
    missing without a day, clinician or type)."""
    # few distinct days among many slots: each day written once; then a slot at a time
    codes, distinct = pd.factorize(pd.to_datetime(days))
    written = [f"{d:%a} {d.day} {d:%b %Y}" for d in distinct] + [None]
    texts = [
        None if when is None or not isinstance(who, str) or not isinstance(kind, str)
        else (f"{when}{f' {start}' if isinstance(start, str) else ''}, {who}, "
              f"{KIND_WORDS.get(kind, kind)}{f' (slot {ident})' if isinstance(ident, str) else ''}")
        for when, start, who, kind, ident in zip(
            [written[code] for code in codes.tolist()], _texts(starts), _texts(clinicians),
            _texts(kinds), _texts(export_ids), strict=True)
    ]
    return pd.Series(texts, index=days.index, dtype="str")


def _texts(values: pd.Series) -> list:
    """Each value as its text (astype("str")); a missing one is not a str."""
    return values.astype("str").to_numpy(dtype=object).tolist()


def clinician_notes(clinicians: pd.DataFrame) -> pd.Series:
    """A review row's reason for its status, its start/leaving dates and the other viewed
    teams its counts include ("also in South"), in one short text."""
    also = clinicians["also_in"] if "also_in" in clinicians else pd.Series(
        pd.NA, index=clinicians.index, dtype="str")
    return notes(clinicians["status_reason"], clinicians["availability"], also_in_words(also))


def also_in_words(also_in: pd.Series) -> pd.Series:
    """"also in South, West" for a clinician whose counted rows include those teams'."""
    return pd.Series([f"also in {teams}" if isinstance(teams, str) else None
                      for teams in also_in.astype("object")], index=also_in.index, dtype="str")


def notes(*parts: pd.Series) -> pd.Series:
    """Texts (missing allowed) joined row by row with "; "; missing when all are."""
    joined = [
        "; ".join(part for part in row if isinstance(part, str) and part)
        for row in zip(*(part.astype("object") for part in parts), strict=True)
    ]
    return pd.Series(joined, index=parts[0].index, dtype="str").replace("", pd.NA)


def no_core_time_banner(names: tuple[str, ...] | list[str], quarter_label: str) -> str | None:
    """The warning naming planned clinicians whose plan gives no Core time (§4); None if none."""
    if not names:
        return None
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    one = len(names) == 1
    return (
        f"The job plan{'' if one else 's'} of {who} give{'s' if one else ''} no Core time "
        f"(sessions, hours or PAs) and no {quarter_label} target, "
        "so there is no target to measure against: they are shown as \u201cno target\u201d and "
        "left out of the team totals. Add Core sessions or the quarter's target to the job plan."
    )
