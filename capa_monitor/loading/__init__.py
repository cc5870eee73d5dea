"""Upload bytes → canonical activity frame + a report of everything done with the file.

`load_activity` reads (guard + sandboxed reader), `load_raw` does the rest without I/O:
choose the sheet, find the header, map columns, normalise values, pseudonymise clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from capa_monitor import model
from capa_monitor.errors import LoadError
from capa_monitor.loading.headers import (
    ACTIVITY_REQUIRED,
    ACTIVITY_SYNONYMS,
    NEW_FOLLOWUP,
    HeaderMatch,
    find_header,
    header_key,
)
from capa_monitor.loading.normalise import normalise_cells
from capa_monitor.loading.read import RawSheet, RawWorkbook, read_upload
from capa_monitor.loading.report import LoadReport, LoadResult, MappingProfile, Rejection
from capa_monitor.loading.vocab import CORE, FOLLOWUP, NEW, SPECIFIC
from capa_monitor.privacy import pseudonym_key as stored_pseudonym_key
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

__all__ = [
    "LoadReport",
    "LoadResult",
    "MappingProfile",
    "Rejection",
    "activity_synonyms",
    "choose_sheet",
    "fitting_profile",
    "header_guess",
    "load_activity",
    "load_raw",
]

#: Values a profile may map source texts to, per field.
_PROFILE_TARGETS: dict[str, frozenset[str]] = {
    "outcome": frozenset(model.Outcome),
    "kind": frozenset(model.Kind) | {CORE, SPECIFIC},
    NEW_FOLLOWUP: frozenset({NEW, FOLLOWUP}),
}


def load_activity(
    data: bytes,
    filename: str,
    *,
    team: str | None = None,
    sheet: str | None = None,
    profile: MappingProfile | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    pseudonym_key: bytes | None = None,
    today: date | None = None,
) -> LoadResult:
    """Read an uploaded .xlsx/.csv and load it; LoadError (one sentence) when it cannot be used."""
    workbook = read_upload(data, filename, limits=settings.limits, sheet=sheet)
    return load_raw(
        workbook,
        filename=filename,
        team=team,
        sheet=sheet,
        profile=profile,
        settings=settings,
        pseudonym_key=pseudonym_key,
        today=today,
    )


def load_raw(
    workbook: RawWorkbook,
    *,
    filename: str = "",
    team: str | None = None,
    sheet: str | None = None,
    profile: MappingProfile | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    pseudonym_key: bytes | None = None,
    today: date | None = None,
) -> LoadResult:
    """The loader without I/O (tests build RawWorkbooks by hand)."""
    synonyms = activity_synonyms(profile)
    chosen, match = choose_sheet(workbook, synonyms, sheet)
    values = _profile_values(profile)
    normalised = normalise_cells(
        chosen.cells,
        sheet=chosen.name,
        columns=match.columns,
        headers=match.headers,
        data_start=match.data_start,
        key=pseudonym_key if pseudonym_key is not None else stored_pseudonym_key(),
        team=team,
        values=values,
        # Appointment types naming a configured Specific intervention are Specific (spec §3).
        specific_names=settings.specific_interventions,
        today=today,
    )
    frame = normalised.frame
    if frame.empty:
        raise LoadError(
            f"Sheet {chosen.name!r} has no usable appointment rows: "
            f"{normalised.rows_read} rows below the header, {len(normalised.rejected)} rejected "
            f"(first reason: {_first_reason(normalised.rejected)})."
        )

    warnings = list(normalised.warnings)
    ignored = match.unmatched_headers()
    if ignored:
        warnings.append("Columns not used: " + ", ".join(repr(h) for h in ignored) + ".")
    columns = match.source_headers()
    if profile:
        missing = [c for c, h in profile.columns.items() if columns.get(c) != h]
        if missing:
            warnings.append(
                f"Profile {profile.name!r}: columns not found as saved: {', '.join(missing)}."
            )
    dates = frame[model.DATE]
    report = LoadReport(
        file_name=filename,
        sha256=workbook.sha256,
        sheet=chosen.name,
        header_row=match.row + 1,
        encoding=workbook.encoding,
        rows_read=normalised.rows_read,
        accepted=len(frame),
        rejected=normalised.rejected,
        dropped=sum(normalised.dropped_detail.values()),
        dropped_detail=normalised.dropped_detail,
        columns=columns,
        unmapped_values=normalised.unmapped_values,
        counts={
            "kind": _counts(frame[model.KIND], model.Kind),
            "outcome": _counts(frame[model.OUTCOME], model.Outcome),
        },
        clinicians=sorted(frame[model.CLINICIAN].unique().tolist()),
        date_range=(dates.min().date(), dates.max().date()),
        invalid_nhs_numbers=normalised.invalid_nhs_numbers,
        blank_past_outcomes=normalised.blank_past_outcomes,
        warnings=warnings,
        headers=tuple(h for h in match.headers if h),
    )
    return LoadResult(frame=frame, report=report)


def activity_synonyms(profile: MappingProfile | None) -> dict[str, tuple[str, ...]]:
    """The default synonym table with a profile's saved headers put first (and taken from
    any other field that also claimed them)."""
    if not profile or not profile.columns:
        return dict(ACTIVITY_SYNONYMS)
    unknown = sorted(set(profile.columns) - set(ACTIVITY_SYNONYMS))
    if unknown:
        raise LoadError(
            f"Profile {profile.name!r} maps unknown fields {', '.join(unknown)}; "
            f"known fields are {', '.join(ACTIVITY_SYNONYMS)}."
        )
    saved = {header_key(h) for h in profile.columns.values()}
    synonyms = {
        field: tuple(t for t in texts if header_key(t) not in saved)
        for field, texts in ACTIVITY_SYNONYMS.items()
    }
    for field, header in profile.columns.items():
        synonyms[field] = (header, *synonyms[field])
    return synonyms


def choose_sheet(
    workbook: RawWorkbook, synonyms: Mapping[str, tuple[str, ...]], sheet: str | None
) -> tuple[RawSheet, HeaderMatch]:
    """The named sheet, else the one whose header matches activity best (first on ties)."""
    sheets = [s for s in workbook.sheets if sheet is None or s.name == sheet]
    if not sheets:
        names = ", ".join(repr(s.name) for s in workbook.sheets)
        raise LoadError(f"There is no sheet called {sheet!r}; the sheets are {names}.")
    best: tuple[tuple[int, int], RawSheet, HeaderMatch] | None = None
    for candidate in sheets if len(sheets) > 1 else ():  # one sheet: nothing to choose
        try:
            match = find_header(candidate.cells, synonyms)
        except LoadError:
            continue
        score = (sum(f in match.columns for f in ACTIVITY_REQUIRED), len(match.columns))
        if best is None or score > best[0]:
            best = (score, candidate, match)
    target = best[1] if best else sheets[0]
    try:
        match = find_header(target.cells, synonyms, ACTIVITY_REQUIRED)
    except LoadError as exc:
        if workbook.file_kind == "csv":
            raise
        raise LoadError(f"In sheet {target.name!r}: {exc}") from None
    return target, match


def header_guess(
    workbook: RawWorkbook, synonyms: Mapping[str, tuple[str, ...]], sheet: str | None
) -> tuple[str, ...]:
    """The header texts of the sheet that looks most like activity (else the first non-blank
    row), found without requiring any column, so a file of unknown shape can still be mapped."""
    best: tuple[int, tuple[str, ...]] = (-1, ())
    for candidate in workbook.sheets:
        if sheet is not None and candidate.name != sheet:
            continue
        try:
            match = find_header(candidate.cells, synonyms)
        except LoadError:
            rows = candidate.cells.dropna(how="all")
            texts = tuple(str(v).strip() for v in rows.iloc[0].dropna()) if len(rows) else ()
            score = 0
        else:
            texts, score = tuple(match.headers), len(match.columns)
        if score > best[0]:
            best = (score, tuple(t for t in texts if t))
    return best[1]


def fitting_profile(
    profiles: list[MappingProfile], headers: tuple[str, ...]
) -> MappingProfile | None:
    """The first saved profile whose every source column is among this file's headers."""
    present = {header_key(h) for h in headers}
    for profile in profiles:
        if profile.columns and all(header_key(h) in present for h in profile.columns.values()):
            return profile
    return None


def _profile_values(profile: MappingProfile | None) -> dict[str, dict[str, str]]:
    if not profile:
        return {}
    for field, mapping in profile.values.items():
        allowed = _PROFILE_TARGETS.get(field)
        if allowed is None:
            raise LoadError(
                f"Profile {profile.name!r} maps values of {field!r}; only "
                f"{', '.join(_PROFILE_TARGETS)} values can be mapped."
            )
        wrong = sorted({v for v in mapping.values() if v not in allowed})
        if wrong:
            raise LoadError(
                f"Profile {profile.name!r} maps {field} values to {', '.join(wrong)}; "
                f"allowed: {', '.join(sorted(allowed))}."
            )
    return {field: dict(mapping) for field, mapping in profile.values.items()}


def _counts(values: pd.Series, enum) -> dict[str, int]:
    counted = values.value_counts()
    return {str(member): int(counted.get(str(member), 0)) for member in enum}


def _first_reason(rejected: list[Rejection]) -> str:
    if not rejected:
        return "no rows"
    first = rejected[0]
    return f"row {first.row}: {first.reason}"
