"""The words of the store's previews — rows already stored, what a removal or restore does —
one wording for the upload page and the CLI (issue 12)."""

from __future__ import annotations

from capa_monitor.store.overlap import KEEP_DIFFERENT, REPLACE, SKIP, UploadChange
from capa_monitor.store.upload_ops import IngestPlan

#: What each on_overlap choice does, as a preview says it ({rows}: rows kept as history).
CHOICE_WORDS = {
    REPLACE: "They will be replaced by this file's rows.",
    SKIP: "The stored rows stay; this file's {rows:,} copies of them are kept only as history, "
    "so nothing counts twice.",
    KEEP_DIFFERENT: "Those that differ will be replaced by this file's rows; its {rows:,} "
    "identical copies are kept only as history.",
}
#: The choices as a manager picks them.
CHOICE_LABELS = {
    REPLACE: "Replace them with this file's rows",
    SKIP: "Skip them: keep the stored rows",
    KEEP_DIFFERENT: "Keep only the ones that differ",
}


def overlap_sentences(plan: IngestPlan) -> list[str]:
    """"1,327 of these rows are already stored from upload 3, rio_style.xlsx, CAMHS North",
    one per earlier upload."""
    out = []
    for o in plan.overlaps:
        line = (
            f"{o.rows:,} of these rows are already stored from upload {o.upload_id}, "
            f"{o.file_name}, {o.teams}"
        )
        if o.differing:
            verb = "differs" if o.differing == 1 else "differ"
            line += f" ({o.differing:,} of them {verb} in outcome, type or details)"
        out.append(line + ".")
    return out


def choice_sentence(plan: IngestPlan) -> str:
    return CHOICE_WORDS[plan.on_overlap].format(rows=plan.deferred_rows)


def change_lines(change: UploadChange) -> tuple[str, str, list[str]]:
    """A removal or restore in words: the headline, the heading of the other uploads' rows
    and one line per other upload (empty: the heading says there are none)."""
    months = ", ".join(change.months) or "no months"
    if change.action == "remove":
        head = (
            f"Removing upload {change.upload_id} ({change.file_name}, {change.teams}) takes "
            f"out its {change.rows:,} counted rows ({months})."
        )
        back = "come back"
    else:
        head = (
            f"Restoring upload {change.upload_id} ({change.file_name}, {change.teams}) makes "
            f"{change.rows:,} of its rows count again ({months})."
        )
        back = "are replaced"
    others = [
        f"upload {o.upload_id} ({o.file_name}, {o.teams}): {o.rows:,} rows" for o in change.others
    ]
    heading = f"Rows of other uploads that {back}:" if others else (
        f"No rows of other uploads {back}."
    )
    return head, heading, others
