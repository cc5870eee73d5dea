"""Upload bytes → canonical activity frame + a report of everything done with the file.

`load_activity` reads (guard + sandboxed reader), `load_raw` does the rest without I/O:
choose the sheet, find the header, map columns, normalise values, pseudonymise clients.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from capa_monitor import model
from capa_monitor.errors import LoadError
from capa_monitor.loading.doubts import doubts, stated_range
from capa_monitor.loading.headers import (
    ACTIVITY_REQUIRED,
    ACTIVITY_SYNONYMS,
    NEW_FOLLOWUP,
    HeaderMatch,
    find_header,
    header_key,
    missing_message,
)
from capa_monitor.loading.infer import (
    ACTIVITY_FIELDS,
    Assignment,
    FieldSpec,
    assign,
    header_matcher,
    profile_columns,
)
from capa_monitor.loading.normalise import Normalised, _derived_slot_ids, normalise_cells
from capa_monitor.loading.read import RawSheet, RawWorkbook, read_upload
from capa_monitor.loading.report import LoadReport, LoadResult, MappingProfile, Rejection
from capa_monitor.loading.vocab import CORE, FOLLOWUP, NEW, SPECIFIC
from capa_monitor.privacy import pseudonym_key as stored_pseudonym_key
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

__all__ = [
    "PROFILE_TARGETS",
    "LoadReport",
    "LoadResult",
    "MappingProfile",
    "Rejection",
    "activity_specs",
    "activity_synonyms",
    "read_sheets",
    "fitting_profile",
    "header_guess",
    "load_activity",
    "load_raw",
]

#: Values a profile may map source texts to, per field.
PROFILE_TARGETS: dict[str, frozenset[str]] = {
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
    manual: Mapping[str, str] | None = None,
) -> LoadResult:
    """Read an uploaded .xlsx/.csv and load it; LoadError (one sentence) when it cannot be used.
    `manual`: field -> header chosen by the user (`--map`), before profile and inference."""
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
        manual=manual,
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
    manual: Mapping[str, str] | None = None,
) -> LoadResult:
    """The loader without I/O (tests build RawWorkbooks by hand). `manual` maps fields to
    header texts chosen by the user now (`--map`), before any profile or inference."""
    reading = read_sheets(workbook, sheet, profile=profile, manual=manual)
    values = _profile_values(profile)
    key = pseudonym_key if pseudonym_key is not None else stored_pseudonym_key()
    parts = [
        normalise_cells(
            part.sheet.cells,
            sheet=part.sheet.name,
            columns=part.assignment.columns(),
            headers=part.match.headers,
            data_start=part.match.data_start,
            key=key,
            team=team,
            values=values,
            # Appointment types naming a configured Specific intervention are Specific (spec §3).
            specific_names=settings.specific_interventions,
            today=today,
        )
        for part in reading.parts
    ]
    if len(parts) > 1:
        reading, parts = _without_repeats(reading, parts)
    normalised = _combined(parts, derive_slot_ids="slot_id" not in reading.first.assignment.fields)
    frame = normalised.frame
    names = ", ".join(repr(p.sheet.name) for p in reading.parts)
    if frame.empty:
        raise LoadError(
            f"{'Sheets' if len(reading.parts) > 1 else 'Sheet'} {names} "
            f"{'have' if len(reading.parts) > 1 else 'has'} no usable appointment rows: "
            f"{normalised.rows_read} rows below the header, {len(normalised.rejected)} rejected "
            f"(first reason: {_first_reason(normalised.rejected)})."
        )

    first = reading.first
    warnings = list(dict.fromkeys(normalised.warnings))
    unused = first.assignment.unused_headers()
    if unused:
        warnings.append("Columns not used: " + ", ".join(repr(h) for h in unused) + ".")
    if profile and first.assignment.not_found:
        warnings.append(
            f"Profile {profile.name!r}: columns not found as saved: "
            f"{', '.join(first.assignment.not_found)}."
        )
    dates = frame[model.DATE]
    mapping = first.assignment.fields
    report = LoadReport(
        file_name=filename,
        sha256=workbook.sha256,
        sheet=first.sheet.name,
        header_row=first.match.row + 1,
        encoding=workbook.encoding,
        rows_read=normalised.rows_read,
        accepted=len(frame),
        rejected=normalised.rejected,
        dropped=sum(normalised.dropped_detail.values()),
        dropped_detail=normalised.dropped_detail,
        columns={name: choice.header for name, choice in mapping.items()},
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
        headers=tuple(h for h in first.match.headers if h),
        mapping={
            name: {
                "column": choice.header,
                "by": choice.by,
                "confidence": choice.confidence,
                "reason": choice.reason,
            }
            for name, choice in mapping.items()
        },
        unused_columns=unused,
        sheets={"read": [p.sheet.name for p in reading.parts], "skipped": reading.skipped},
        doubts=doubts(
            frame,
            mapping=mapping,
            specs=reading.specs,
            unmapped=normalised.unmapped_values,
            stated=reading.stated,
        ),
    )
    return LoadResult(frame=frame, report=report)


def activity_synonyms(profile: MappingProfile | None) -> dict[str, tuple[str, ...]]:
    """The default synonym table with a profile's saved headers put first (and taken from
    any other field that also claimed them)."""
    if not profile or not profile.columns:
        return dict(ACTIVITY_SYNONYMS)
    _check_fields(profile.columns, f"Profile {profile.name!r} maps")
    saved = {header_key(h) for h in profile.columns.values()}
    synonyms = {
        field: tuple(t for t in texts if header_key(t) not in saved)
        for field, texts in ACTIVITY_SYNONYMS.items()
    }
    for field, header in profile.columns.items():
        synonyms[field] = (header, *synonyms[field])
    return synonyms


def activity_specs(
    profile: MappingProfile | None = None, manual: Mapping[str, str] | None = None
) -> tuple[FieldSpec, ...]:
    """infer.ACTIVITY_FIELDS with the profile's and the user's headers as their first synonyms,
    so the header row is found by them too."""
    if manual:
        _check_fields(manual, "--map names")
    synonyms = activity_synonyms(profile)
    for field, header in (manual or {}).items():
        if not header.strip():
            continue  # mapped to no column
        synonyms = {
            name: tuple(t for t in texts if header_key(t) != header_key(header))
            for name, texts in synonyms.items()
        }
        synonyms[field] = (header, *synonyms[field])
    return tuple(replace(spec, synonyms=synonyms[spec.name]) for spec in ACTIVITY_FIELDS)


@dataclass(frozen=True)
class SheetPart:
    """One sheet to read: where its header is and which column feeds which field."""

    sheet: RawSheet
    match: HeaderMatch
    assignment: Assignment

    def shape(self) -> frozenset[tuple[str, str]]:
        """The fields and the header texts they come from: sheets of one shape read together."""
        return frozenset((f, header_key(c.header)) for f, c in self.assignment.fields.items())


@dataclass(frozen=True)
class SheetsRead:
    parts: list[SheetPart]  # the sheets read together, workbook order
    skipped: dict[str, str]  # sheet name -> why not read
    specs: tuple[FieldSpec, ...]
    stated: tuple[date, date] | None  # the period the first sheet's title rows state

    @property
    def first(self) -> SheetPart:
        return self.parts[0]


def read_sheets(
    workbook: RawWorkbook,
    sheet: str | None,
    *,
    profile: MappingProfile | None = None,
    manual: Mapping[str, str] | None = None,
) -> SheetsRead:
    """The named sheet; else every sheet shaped like the best activity sheet (a sheet per
    month read together), the rest skipped with a reason (a summary, different columns)."""
    specs = activity_specs(profile, manual)
    sheets = [s for s in workbook.sheets if sheet is None or s.name == sheet]
    if not sheets:
        names = ", ".join(repr(s.name) for s in workbook.sheets)
        raise LoadError(f"There is no sheet called {sheet!r}; the sheets are {names}.")
    if len(sheets) == 1:
        part = _read_sheet(sheets[0], specs, profile, manual, workbook.file_kind == "xlsx")
        return SheetsRead([part], {}, specs, _stated(part))
    parts: dict[str, SheetPart] = {}
    skipped: dict[str, str] = {}
    for candidate in sheets:
        try:
            parts[candidate.name] = _read_sheet(candidate, specs, profile, manual, True)
        except _Unread as exc:
            skipped[candidate.name] = exc.short
    if not parts:
        # Say why the most promising sheet could not be read, as a one-sheet file would.
        best = max(sheets, key=lambda s: _promise(s, specs))
        _read_sheet(best, specs, profile, manual, True)
    # The shape most sheets share (a sheet per month), then the one with most fields.
    shapes = [p.shape() for p in parts.values()]
    best = max(parts.values(), key=lambda p: (shapes.count(p.shape()), len(p.assignment.fields)))
    read = []
    for name, part in parts.items():
        if part.shape() == best.shape():
            read.append(part)
        else:
            skipped[name] = "different columns: " + _difference(part, best)
    order = [s.name for s in workbook.sheets]
    skipped = dict(sorted(skipped.items(), key=lambda kv: order.index(kv[0])))
    return SheetsRead(read, skipped, specs, _stated(read[0]))


def _read_sheet(
    sheet: RawSheet,
    specs: tuple[FieldSpec, ...],
    profile: MappingProfile | None,
    manual: Mapping[str, str] | None,
    name_sheet: bool,
) -> SheetPart:
    """Header row (title rows and two-row headers absorbed), then columns by words and values;
    LoadError when a required field has no column, or a --map header is not in the sheet."""
    where = f"In sheet {sheet.name!r}: " if name_sheet else ""
    summary = "summary, no appointment columns"
    try:
        match = find_header(sheet.cells, _REQUIRED_SYNONYMS, matcher=header_matcher(specs))
    except LoadError as exc:
        raise _Unread(where + str(exc), summary) from None
    found = assign(
        specs,
        match.headers,
        profile_columns(sheet.cells.iloc[match.data_start :]),
        manual=manual,
        saved=profile.columns if profile else None,
    )
    absent = {f: h for f, h in found.not_found.items() if manual and f in manual}
    if absent:
        shown = ", ".join(repr(t) for t in match.headers if t)
        raise _Unread(
            where
            + "; ".join(f"--map {f}={h!r}: no column has that header" for f, h in absent.items())
            + f" (the headers are {shown}).",
            "no column " + ", ".join(repr(h) for h in absent.values()) + " (--map)",
        )
    missing = found.missing(specs)
    if missing:
        found_texts = [t for t in match.headers if t]
        labels = {s.name: s.label for s in specs}
        raise _Unread(
            where + missing_message(found_texts, missing, ACTIVITY_SYNONYMS),
            summary if len(missing) > 1 else f"no {labels[missing[0]].lower()} column",
        )
    return SheetPart(sheet, match, found)


#: What a "no header found" message gives as examples: the required fields' names.
_REQUIRED_SYNONYMS = {field: ACTIVITY_SYNONYMS[field] for field in ACTIVITY_REQUIRED}


class _Unread(LoadError):
    """A sheet that cannot be read as activity; `short` says why in a few words."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


def _promise(sheet: RawSheet, specs: tuple[FieldSpec, ...]) -> tuple[int, int]:
    try:
        match = find_header(sheet.cells, ACTIVITY_SYNONYMS, matcher=header_matcher(specs))
    except LoadError:
        return (-1, 0)
    return (sum(f in match.columns for f in ACTIVITY_REQUIRED), len(match.columns))


def _difference(part: SheetPart, best: SheetPart) -> str:
    mine, theirs = part.assignment.fields, best.assignment.fields
    lines = []
    for name in dict.fromkeys([*theirs, *mine]):
        a, b = mine.get(name), theirs.get(name)
        if a is None:
            lines.append(f"no {b.header!r}")
        elif b is None:
            lines.append(f"{a.header!r} as well")
        elif header_key(a.header) != header_key(b.header):
            lines.append(f"{a.header!r} instead of {b.header!r}")
    return ", ".join(lines) + f" (compared with sheet {best.sheet.name!r})"


def _stated(part: SheetPart) -> tuple[date, date] | None:
    return stated_range(part.sheet.cells.iloc[: part.match.row])


#: What says two rows are the same appointment, for sheets that repeat other sheets' rows.
_SAME_ROW = (model.CLINICIAN, model.DATE, model.START, model.KIND, model.OUTCOME, model.CLIENT_KEY)


def _without_repeats(
    reading: SheetsRead, parts: list[Normalised]
) -> tuple[SheetsRead, list[Normalised]]:
    """Drop a sheet whose every row is also on the other sheets read (an "All" sheet beside
    the months it combines), biggest first, so no appointment is counted twice."""
    rows = [
        set(pd.util.hash_pandas_object(p.frame[list(_SAME_ROW)].astype("str"), index=False))
        for p in parts
    ]
    kept = list(range(len(parts)))
    skipped = dict(reading.skipped)
    for i in sorted(kept, key=lambda i: -len(rows[i])):
        others = [j for j in kept if j != i]
        if rows[i] and others and rows[i] <= set().union(*(rows[j] for j in others)):
            kept.remove(i)
            skipped[reading.parts[i].sheet.name] = "repeats the rows of sheets " + ", ".join(
                repr(reading.parts[j].sheet.name) for j in others
            )
    if len(kept) == len(parts):
        return reading, parts
    trimmed = replace(reading, parts=[reading.parts[i] for i in kept], skipped=skipped)
    return trimmed, [parts[i] for i in kept]


def _combined(parts: list[Normalised], *, derive_slot_ids: bool) -> Normalised:
    """Several sheets' rows as one: rejections keep their sheet, counts add up."""
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    if derive_slot_ids:
        # A hash per slot with repeats numbered: over all sheets, so two months never clash.
        frame[model.SLOT_ID] = _derived_slot_ids(frame)
    dropped: dict[str, int] = {}
    unmapped: dict[str, dict[str, int]] = {}
    for part in parts:
        for what, count in part.dropped_detail.items():
            dropped[what] = dropped.get(what, 0) + count
        for column, counts in part.unmapped_values.items():
            merged = unmapped.setdefault(column, {})
            for value, count in counts.items():
                merged[value] = merged.get(value, 0) + count
    return Normalised(
        frame=frame,
        rows_read=sum(p.rows_read for p in parts),
        rejected=[r for p in parts for r in p.rejected],
        dropped_detail=dropped,
        unmapped_values={
            c: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for c, v in unmapped.items()
        },
        invalid_nhs_numbers=[r for p in parts for r in p.invalid_nhs_numbers],
        blank_past_outcomes=[r for p in parts for r in p.blank_past_outcomes],
        warnings=[w for p in parts for w in p.warnings],
    )


def header_guess(
    workbook: RawWorkbook, synonyms: Mapping[str, tuple[str, ...]], sheet: str | None
) -> tuple[str, ...]:
    """The header texts of the sheet that looks most like activity (else the first non-blank
    row), found without requiring any column, so a file of unknown shape can still be mapped."""
    matcher = header_matcher(
        tuple(replace(s, synonyms=tuple(synonyms.get(s.name, s.synonyms))) for s in ACTIVITY_FIELDS)
    )
    best: tuple[int, tuple[str, ...]] = (-1, ())
    for candidate in workbook.sheets:
        if sheet is not None and candidate.name != sheet:
            continue
        try:
            match = find_header(candidate.cells, synonyms, matcher=matcher)
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
    """The first saved profile whose every source column is among this file's headers (a field
    it maps to "" is one such files lack)."""
    present = {header_key(h) for h in headers}
    for profile in profiles:
        named = [h for h in profile.columns.values() if h.strip()]
        if named and all(header_key(h) in present for h in named):
            return profile
    return None


def _check_fields(fields: Iterable[str], what: str) -> None:
    unknown = sorted(set(fields) - set(ACTIVITY_SYNONYMS))
    if unknown:
        raise LoadError(
            f"{what} unknown fields {', '.join(unknown)}; known fields are "
            f"{', '.join(ACTIVITY_SYNONYMS)}."
        )


def _profile_values(profile: MappingProfile | None) -> dict[str, dict[str, str]]:
    if not profile:
        return {}
    for field, mapping in profile.values.items():
        allowed = PROFILE_TARGETS.get(field)
        if allowed is None:
            raise LoadError(
                f"Profile {profile.name!r} maps values of {field!r}; only "
                f"{', '.join(PROFILE_TARGETS)} values can be mapped."
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
