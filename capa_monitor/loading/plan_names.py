"""Activity clinicians against the job plans' names, before anything is stored (issue 11 item 3).

A name that matches no plan is never a target silently missed: the manager sees which activity
names have no plan and which plans have no activity, each with its likely match, and exports that
print names in capitals (`MCDONALD`) get the plan's spelling (`McDonald`) back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from capa_monitor import model
from capa_monitor.loading.report import LoadResult
from capa_monitor.names import clinician_key, plan_matches, restore_capitals


def against_plans(result: LoadResult, plan_names: Iterable[str]) -> LoadResult:
    """The result with capitals restored from the plans' spellings and `report.plan_matches` set.

    With no plans at all nothing is listed (every clinician would be "without a plan").
    """
    plans = sorted({str(p) for p in plan_names if isinstance(p, str) and p.strip()})
    if not plans:
        return result
    frame = result.frame
    names = frame[model.CLINICIAN]
    uniques = sorted(names.dropna().unique().tolist())
    restored = dict(zip(uniques, restore_capitals(uniques, plans), strict=True))
    changed = {old: new for old, new in restored.items() if old != new}
    if changed:
        frame = frame.copy()
        frame[model.CLINICIAN] = names.map(lambda n: changed.get(n, n)).astype(names.dtype)
    rows = frame[model.CLINICIAN].value_counts()
    matches = plan_matches(rows.index.tolist(), plans)
    listed = {
        "activity_without_plan": [
            {"name": u.name, "rows": int(rows.get(u.name, 0)), "likely": list(u.likely),
             "reason": u.reason}
            for u in matches.activity_without_plan
        ],
        "plans_without_activity": [
            {"name": u.name, "likely": list(u.likely), "reason": u.reason}
            for u in matches.plans_without_activity
        ],
    }
    report = replace(
        result.report,
        clinicians=sorted(rows.index.tolist(), key=clinician_key),
        plan_matches=listed,
        warnings=[*result.report.warnings, *_respelt(changed)],
    )
    return LoadResult(frame=frame, report=report)


def describe(listed: dict) -> list[str]:
    """One line per name to check, as the CLI and the upload page say it."""
    lines = []
    for item in listed.get("activity_without_plan", ()):
        rows = item["rows"]
        line = f"{item['name']} ({rows:,} {'row' if rows == 1 else 'rows'}) matches no job plan"
        lines.append(line + _likely(item))
    for item in listed.get("plans_without_activity", ()):
        lines.append(f"The job plan of {item['name']} has no activity in this file" + _likely(item))
    return lines


def _likely(item: dict) -> str:
    likely = item.get("likely") or []
    if not likely:
        return "."
    if len(likely) == 1:
        return f": perhaps {likely[0]} ({item['reason']})?"
    return f": perhaps one of {', '.join(likely)} ({item['reason']})?"


def _respelt(changed: dict[str, str]) -> list[str]:
    """The warning naming the names re-spelt from the plans (none when nothing changed)."""
    if not changed:
        return []
    pairs = ", ".join(f"{old!r} → {new!r}" for old, new in sorted(changed.items()))
    return [f"Names spelt as the job plans spell them: {pairs}."]
