"""Job plans (domain spec §4): read the manager's spreadsheet, turn plans into quarterly targets.

A plan row says how much Choice, Core, Specific and non-clinical time a clinician gives a week
(in half-day sessions, hours or PAs; Choice perhaps in appointments); the CAPA arithmetic turns
the Core time into a quarter's new Core Partnerships unless the plan states the quarter's
target outright. Columns are found by their header words and values (loading/infer.py, with
jobplan_fields.py's fields), and every choice is reported: the column used for each field and
why, the columns not used, the rows that give no target. A plan without Core time keeps its
Core figure blank, never 0 (§4). Targets stay fractional here; only displays round them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capa_monitor.errors import LoadError
from capa_monitor.jobplan_fields import (
    ACTIVITIES,
    APPOINTMENTS,
    EVERY_QUARTER_TARGET,
    FIELDS_BY_NAME,
    HOURS,
    JOBPLAN_FIELDS,
    PAS,
    QUARTER_TARGETS,
    SESSIONS,
    TARGET_FIELDS,
    UNITS,
    WEEKLY,
    is_jobplan_profile,
    names_a_unit,
)
from capa_monitor.loading import fitting_profile
from capa_monitor.loading.headers import HeaderMatch, find_header, header_key
from capa_monitor.loading.infer import (
    Assignment,
    FieldChoice,
    assign,
    header_matcher,
    profile_columns,
)
from capa_monitor.loading.normalise import normalise_names
from capa_monitor.loading.report import MappingProfile, Rejection
from capa_monitor.model import JOBPLAN_DATE_COLUMNS
from capa_monitor.names import clinician_keys
from capa_monitor.plan_targets import canonical_plans
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

#: More half-day sessions than a working week has: such a figure is probably hours.
WEEK_HALF_DAYS = 10
NO_TARGET_REASON = "the job plan gives no Core time or target"
_DATE_FIELDS = frozenset(JOBPLAN_DATE_COLUMNS)
_TEXT_FIELDS = frozenset({"clinician", "team"})
#: Header examples for find_header's "no header row" message.
_EXAMPLES = {spec.name: spec.synonyms for spec in JOBPLAN_FIELDS if spec.name == "clinician"}


class JobPlanRefused(LoadError):
    """A job-plan file that cannot be imported as read: `headers` (and `columns`, field ->
    header, what was found) let the manager map it."""

    def __init__(
        self, message: str, headers: tuple[str, ...], columns: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.headers = headers
        self.columns = dict(columns or {})


@dataclass(frozen=True)
class JobPlanLoad:
    frame: pd.DataFrame  # model.JOBPLAN_COLUMNS, typed as model.py says
    rejected: list[Rejection] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field -> source header
    mapping: dict[str, FieldChoice] = field(default_factory=dict)  # field -> column, by, why
    unused_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    no_target: list[str] = field(default_factory=list)  # clinicians: NO_TARGET_REASON
    headers: tuple[str, ...] = ()  # every non-blank header text, for mapping by hand
    sheet: str = ""
    profile: MappingProfile | None = None  # the saved mapping applied, if any


def load_jobplans(
    data: bytes,
    filename: str,
    *,
    settings: Settings = DEFAULT_SETTINGS,
    profile: MappingProfile | None = None,
    columns: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    profiles: Sequence[MappingProfile] = (),
) -> JobPlanLoad:
    """Read a job-plan spreadsheet (xlsx or csv): the sheet that reads most like a job plan.

    `columns` (field -> header; "" for a field the file does not have) and `values` (field ->
    {text: value}) are the manager's own mapping, over the saved `profile`'s; without a
    profile, the first of the saved `profiles` that is a job-plan mapping and whose every
    column is in the file is applied. LoadError (JobPlanRefused, with the headers found) when
    the file cannot be used.
    """
    from capa_monitor.loading.read import read_upload  # the sandboxed reader guards the bytes

    workbook = read_upload(data, filename, limits=settings.limits)
    sheets = workbook.sheets
    if len(sheets) > 1:
        given = {**(profile.columns if profile else {}), **(columns or {})}
        sheets = (max(sheets, key=lambda s: _fields_named(s.cells, given)),)
    cells, name = sheets[0].cells, sheets[0].name
    if profile is None and profiles:
        headers = tuple(h for h in _header(cells, columns or {}).headers if h)
        # Fitted on the columns a mapping names (a field it says the file lacks is "").
        mine = [p for p in profiles if is_jobplan_profile(p)]
        named = [dataclasses.replace(p, columns={f: h for f, h in p.columns.items() if h})
                 for p in mine]
        fit = fitting_profile(named, headers)
        profile = mine[named.index(fit)] if fit is not None else None
    return jobplans_from_cells(
        cells, name, settings=settings, profile=profile, columns=columns, values=values
    )


def jobplans_from_cells(
    cells: pd.DataFrame,
    sheet: str = "Sheet1",
    *,
    settings: Settings = DEFAULT_SETTINGS,
    profile: MappingProfile | None = None,
    columns: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
) -> JobPlanLoad:
    """The no-I/O half of load_jobplans: raw text cells (sheet row = index + 1) to plans."""
    _check_fields(columns or {}, "the mapping")
    _check_fields(values or {}, "the value mapping")
    if profile:
        _check_fields(profile.columns, f"the saved mapping {profile.name!r}")
    # A field mapped to "" is one the manager (or the saved mapping) says the file lacks.
    saved = dict(profile.columns) if profile else {}
    dropped = {name for name, header in {**saved, **(columns or {})}.items() if not header.strip()}
    columns = {name: header for name, header in (columns or {}).items() if header.strip()}
    saved = {name: header for name, header in saved.items() if header.strip()}
    match = _header(cells, {**saved, **columns})
    texts = match.headers
    body = cells.iloc[match.data_start :]
    found = assign(JOBPLAN_FIELDS, texts, profile_columns(body), manual=columns, saved=saved)
    if dropped:
        freed = [c.column for name, c in found.fields.items() if name in dropped]
        found = dataclasses.replace(
            found,
            fields={name: c for name, c in found.fields.items() if name not in dropped},
            unused=tuple(sorted((*found.unused, *freed))),
        )
    headers = tuple(t for t in texts if t)
    missing = {f: h for f, h in found.not_found.items() if columns.get(f) == h}
    if missing:
        raise JobPlanRefused(
            "The mapping names columns this file does not have: "
            + ", ".join(f"{f} = {h!r}" for f, h in missing.items())
            + f". The headers found are {_quoted(headers)}.",
            headers,
            _headers_of(found),
        )
    if "clinician" not in found.fields:
        raise JobPlanRefused(
            f"No column names the clinicians: the headers found are {_quoted(headers)}. "
            "A job plan needs one (e.g. 'Name', 'Staff', 'Clinician'); say which column it is.",
            headers,
            _headers_of(found),
        )
    value_maps = _value_maps(profile, values)
    raw = {name: body.iloc[:, choice.column] for name, choice in found.fields.items()}
    raw = {name: _mapped(column, value_maps.get(name)) for name, column in raw.items()}
    sheet_rows = body.index.to_numpy() + 1
    blank = body.isna().all(axis=1).to_numpy()
    header_of = _headers_of(found)

    rejected: list[Rejection] = []
    names = normalise_names(raw["clinician"])
    no_name = names.isna().to_numpy() & ~blank
    for row in sheet_rows[no_name]:
        rejected.append(
            Rejection(sheet, int(row), header_of["clinician"], None, "no clinician name")
        )
    bad = no_name.copy()

    parsed: dict[str, pd.Series] = {}
    for name, column in raw.items():
        if name in _TEXT_FIELDS:
            continue
        parse, problem = (
            (_dates, "not a date (use e.g. 14/08/2026 or 2026-08-14)")
            if name in _DATE_FIELDS
            else (_numbers, "not a number of zero or more")
        )
        parsed[name], invalid = parse(column)
        _reject(rejected, sheet, sheet_rows, invalid & ~blank, header_of[name], column, problem)
        bad |= invalid

    frame = pd.DataFrame(index=body.index)
    frame["clinician"] = names.astype("str")
    frame["team"] = (
        raw["team"].str.strip().replace("", pd.NA).astype("str") if "team" in raw else pd.NA
    )
    warnings: list[str] = []
    for name in ("fte", *JOBPLAN_DATE_COLUMNS):
        if name in parsed:
            frame[name] = parsed[name]
    for activity in ACTIVITIES:
        frame[_canonical_weekly(activity)] = _weekly(
            activity, parsed, frame["clinician"], found.fields, settings, warnings
        )
    # A quarter's own target wins; the every-quarter target fills the quarters it leaves blank.
    for name in QUARTER_TARGETS:
        given = [parsed[f] for f in (name, EVERY_QUARTER_TARGET) if f in parsed]
        if given:
            frame[name] = given[0].fillna(given[-1])
    frame = canonical_plans(frame)

    inverted = (frame["available_to"] < frame["available_from"]).to_numpy() & ~bad & ~blank
    _reject(rejected, sheet, sheet_rows, inverted, header_of.get("available_to"),
            raw.get("available_to"), "leaving date is before the start date")
    bad |= inverted

    keep = ~blank & ~bad
    # One plan per clinician, matched as the store and the review match names.
    duplicate = clinician_keys(frame["clinician"]).where(keep).duplicated().to_numpy() & keep
    _reject(rejected, sheet, sheet_rows, duplicate, header_of["clinician"], raw["clinician"],
            "this clinician already has a plan row above; keep one row per clinician")
    keep &= ~duplicate
    rejected.sort(key=lambda r: r.row)
    plans = frame[keep].reset_index(drop=True)

    _refuse_without_targets(plans, found, headers)
    no_target = _no_target(plans, warnings)
    unused = found.unused_headers()
    if unused:
        warnings.insert(0, "Columns not used: " + ", ".join(repr(h) for h in unused) + ".")
    if profile:
        lost = [f for f in saved if f in found.not_found]
        if lost:
            warnings.insert(0, f"The saved mapping {profile.name!r} names columns this file "
                               f"lacks: {', '.join(repr(saved[f]) for f in lost)}.")
    return JobPlanLoad(
        frame=plans,
        rejected=rejected,
        columns=header_of,
        mapping=dict(found.fields),
        unused_columns=unused,
        warnings=warnings,
        no_target=no_target,
        headers=headers,
        sheet=sheet,
        profile=profile,
    )


def _header(cells: pd.DataFrame, given: Mapping[str, str]) -> HeaderMatch:
    """The header row (or pair of rows: a group label over its units) naming the most fields,
    by header words; headers the manager or a saved mapping named (`given`) count too."""
    words_match = header_matcher(JOBPLAN_FIELDS)
    wanted = {header_key(h): name for name, h in given.items() if header_key(h)}

    def match(texts: list[str], alternatives: list[list[str]] | None) -> dict[str, int]:
        found = words_match(texts, alternatives)
        named = {wanted[k]: pos for pos, t in enumerate(texts) if (k := header_key(t)) in wanted}
        fields = {**{f: p for f, p in found.items() if p not in named.values()}, **named}
        # A weekly figure whose header says its unit counts twice, so a group row "Sessions
        # per week" over "Choice | Core" is read with it (the pair explains more).
        units = {
            f"{f} unit": p for f, p in fields.items() if f in WEEKLY and names_a_unit(texts[p])
        }
        return {**fields, **units}

    try:
        return find_header(cells, _EXAMPLES, matcher=match)
    except LoadError as exc:
        first = cells.dropna(how="all").head(1)
        texts = tuple(str(v).strip() for v in first.iloc[0].dropna()) if len(first) else ()
        raise JobPlanRefused(str(exc), texts) from None


def _fields_named(cells: pd.DataFrame, given: Mapping[str, str]) -> int:
    """How well a sheet's header reads as a job plan (fields named, units counting too)."""
    try:
        return len(_header(cells, given).columns)
    except LoadError:
        return 0


def _check_fields(given: Mapping[str, object], what: str) -> None:
    unknown = sorted(set(given) - set(FIELDS_BY_NAME))
    if unknown:
        raise LoadError(
            f"In {what}, {', '.join(unknown)} is not a job-plan field; the fields are "
            f"{', '.join(FIELDS_BY_NAME)}."
        )


def _value_maps(
    profile: MappingProfile | None, values: Mapping[str, Mapping[str, str]] | None
) -> dict[str, dict[str, str]]:
    """field -> {casefolded source text: value text}, the manager's over the profile's;
    a value that is neither blank nor what the field holds is refused."""
    merged: dict[str, dict[str, str]] = {}
    for source in (profile.values if profile else {}, values or {}):
        for name, mapping in source.items():
            merged.setdefault(name, {}).update(
                {str(k).strip().casefold(): str(v).strip() for k, v in mapping.items()}
            )
    for name, mapping in merged.items():
        if name in _TEXT_FIELDS:
            continue
        check = _dates if name in _DATE_FIELDS else _numbers
        targets = pd.Series(list(mapping.values()), dtype="str")
        _, invalid = check(targets)
        if invalid.any():
            wrong = targets[invalid].iloc[0]
            raise LoadError(
                f"{name}: {wrong!r} is not "
                + ("a date" if name in _DATE_FIELDS else "a number of zero or more")
                + "; give one, or nothing for a blank."
            )
    return merged


def _mapped(column: pd.Series, mapping: dict[str, str] | None) -> pd.Series:
    """The column with the texts the manager gave a value for replaced (blank: missing)."""
    if not mapping:
        return column
    keys = column.str.strip().str.casefold()
    hit = keys.isin(list(mapping)).to_numpy()
    out = column.copy()
    out[hit] = keys[hit].map(mapping).replace("", np.nan)
    return out


def _canonical_weekly(activity: str) -> str:
    return "choice_per_week" if activity == "choice" else f"{activity}_sessions"


def _weekly(
    activity: str,
    parsed: dict[str, pd.Series],
    clinicians: pd.Series,
    found: dict[str, FieldChoice],
    settings: Settings,
    warnings: list[str],
) -> pd.Series:
    """An activity's weekly figure in half-day sessions (Choice: appointments), from whichever
    unit each row gives: sessions, else hours ÷ the half-day's hours, else PAs × a PA's
    half-days; Choice sessions hold appointments_per_half_day appointments each. A row whose
    units disagree keeps the first and is named in a warning, as is a header without a unit."""
    header_of = {name: choice.header for name, choice in found.items()}
    per_session = settings.appointments_per_half_day if activity == "choice" else 1.0
    factors = {
        SESSIONS: per_session,
        HOURS: per_session / settings.half_day_hours,
        PAS: per_session * settings.pa_half_days,
    }
    units = [(APPOINTMENTS, 1.0)] if activity == "choice" else []
    units += [(unit, factors[unit]) for unit in (SESSIONS, HOURS, PAS)]
    given = [
        (name, parsed[name] * factor)
        for unit, factor in units
        if (name := _weekly_name(activity, unit)) in parsed
    ]
    if not given:
        return pd.Series(np.nan, index=clinicians.index)
    result = given[0][1]
    for name, converted in given[1:]:
        differs = result.notna() & converted.notna() & ((result - converted).abs() > 1e-6)
        if differs.any():
            who = ", ".join(clinicians[differs].astype(str))
            warnings.append(
                f"{ACTIVITIES[activity]}: {header_of[given[0][0]]!r} and {header_of[name]!r} "
                f"disagree for {who}; {header_of[given[0][0]]!r} is used."
            )
        result = result.fillna(converted)
    for name, _ in given:
        choice = found[name]
        if choice.by.startswith("header") and not names_a_unit(choice.header):
            warnings.append(
                f"{choice.header!r} does not say its unit: read as {ACTIVITIES[activity]} "
                f"{UNITS[WEEKLY[name].unit]}. If it is another unit, say which."
            )
    sessions = _weekly_name(activity, SESSIONS)
    if sessions in parsed and (parsed[sessions] > WEEK_HALF_DAYS).any():
        high = parsed[sessions][parsed[sessions] > WEEK_HALF_DAYS]
        warnings.append(
            f"{header_of[sessions]!r} reads as half-day sessions, but "
            f"{', '.join(clinicians[high.index].astype(str))} ha"
            f"{'s' if len(high) == 1 else 've'} {high.max():g}, more than the "
            f"{WEEK_HALF_DAYS} half-days of a week: if the column is hours, map it as "
            f"{ACTIVITIES[activity]} hours per week."
        )
    return result


def _weekly_name(activity: str, unit: str) -> str:
    return "choice_per_week" if unit == APPOINTMENTS else f"{activity}_{unit}"


def _refuse_without_targets(
    plans: pd.DataFrame, found: Assignment, headers: tuple[str, ...]
) -> None:
    """§4: an import in which no row yields a target would make every target blank."""
    if plans.empty:
        return
    targets = ["core_sessions", *QUARTER_TARGETS]
    if plans[targets].notna().any(axis=None):
        return
    used = [found.fields[f].header for f in TARGET_FIELDS if f in found.fields]
    why = (
        f"the columns {_quoted(tuple(used))} are blank in every row"
        if used
        else "no column gives Core time or a target"
    )
    raise JobPlanRefused(
        f"Not imported: no row gives Core time or a target, so no clinician would have a "
        f"target ({why}). The headers found are {_quoted(headers)}. A job plan needs a column "
        "of Core sessions per week (e.g. 'Core sessions/wk'), Core hours per week "
        "('Core hrs/wk'), Core PAs ('Core PAs') or a quarter's target ('Q3 target', "
        "'CP target'); if one of the columns above is that, say which.",
        headers,
        _headers_of(found),
    )


def _no_target(plans: pd.DataFrame, warnings: list[str]) -> list[str]:
    """Clinicians whose plan gives neither Core time nor any target (§4: no target, not 0),
    and, in words, those with targets for some quarters only."""
    no_core = plans["core_sessions"].isna()
    targets = plans[list(QUARTER_TARGETS)].notna()
    none = no_core & ~targets.any(axis=1)
    names = plans.loc[none, "clinician"].astype(str).tolist()
    if names:
        warnings.append(f"{', '.join(names)}: {NO_TARGET_REASON}, so they have no target "
                        "(not a target of 0) until it does.")
    some = no_core & targets.any(axis=1) & ~targets.all(axis=1)
    for row in plans.index[some]:
        quarters = [(f"Q{n}", bool(targets.at[row, name]))
                    for n, name in enumerate(QUARTER_TARGETS, 1)]
        given = [label for label, has in quarters if has]
        lacking = [label for label, has in quarters if not has]
        warnings.append(
            f"{plans.at[row, 'clinician']}: targets only for {', '.join(given)}; "
            f"{NO_TARGET_REASON} for {', '.join(lacking)}."
        )
    return names


def _headers_of(found: Assignment) -> dict[str, str]:
    return {name: choice.header for name, choice in found.fields.items()}


def _quoted(texts: tuple[str, ...]) -> str:
    return ", ".join(repr(t) for t in texts[:40]) or "none"


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = raw.astype("str").str.strip().replace("", pd.NA)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    invalid = (text.notna() & (values.isna() | (values < 0))).to_numpy()
    return values.where(~invalid), invalid


def _dates(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = raw.astype("str").str.strip().replace("", pd.NA)
    # The reader gives Excel dates as ISO; typed dates are UK day-first.
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce")
    uk = pd.to_datetime(text.where(iso.isna()), dayfirst=True, format="mixed", errors="coerce")
    values = iso.fillna(uk).dt.normalize()
    invalid = (text.notna() & values.isna()).to_numpy()
    return values, invalid


def _reject(
    rejected: list[Rejection],
    sheet: str,
    sheet_rows: np.ndarray,
    mask: np.ndarray,
    column: str | None,
    raw: pd.Series | None,
    reason: str,
) -> None:
    if not mask.any():
        return
    values = raw.to_numpy()[mask] if raw is not None else [None] * int(mask.sum())
    for row, value in zip(sheet_rows[mask], values, strict=True):
        shown = None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        rejected.append(Rejection(sheet, int(row), column, shown, reason))

