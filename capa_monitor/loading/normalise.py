"""Raw text cells below the header → the canonical activity frame, rejected rows and counts.

Every value column holds few distinct texts compared with its rows (dates, names, types), so
each parser runs once per distinct text and the results are spread back by position; a
million-row export costs a few vectorised passes, not a million Python calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from capa_monitor import model, names
from capa_monitor.loading.headers import (
    BOOKING_LAG,
    CLIENT_ID,
    CLIENT_NAME,
    NEW_FOLLOWUP,
    NHS_NUMBER,
)
from capa_monitor.loading.parse import (
    MINUTES_PER_DAY,
    parse_dates,
    parse_duration,
    parse_interval,
    parse_start,
    reoffered_value,
)
from capa_monitor.loading.parse import spread as _spread
from capa_monitor.loading.report import Rejection
from capa_monitor.loading.vocab import classify_kinds, classify_outcomes
from capa_monitor.privacy import nhs_digit_texts, nhs_numbers_valid, pseudonymise

BLANK = "blank"
FOOTER = "totals/footer"
REPEATED_HEADER = "repeated header"

_FOOTER_TEXT = re.compile(
    r"^\s*(grand\s+total|sub-?\s*total|totals?\b|count\b|sum\b|end of report|report end"
    r"|page\s+\d+\s+of|number of\b|printed\b|generated\b)",
    re.IGNORECASE,
)
#: C0 control characters that XML 1.0 (so .xlsx) and spreadsheet cells cannot hold; tab,
#: newline and carriage return they can. A run of them, with the spaces around it, becomes
#: one space in the text fields below.
_CONTROL_RUN = r"\s*(?:[\x00-\x08\x0b\x0c\x0e-\x1f]+\s*)+"
_CONTROL_BYTE = np.zeros(256, dtype=bool)
_CONTROL_BYTE[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]] = True
#: Fields copied as text into the store, the dashboard and exported workbooks.
_TEXT_FIELDS = frozenset({"clinician", "team", "slot_id", "start"})


@dataclass
class Normalised:
    frame: pd.DataFrame
    rows_read: int
    rejected: list[Rejection]
    dropped_detail: dict[str, int]
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    invalid_nhs_numbers: list[int] = field(default_factory=list)
    blank_past_outcomes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalise_cells(
    cells: pd.DataFrame,
    *,
    sheet: str,
    columns: Mapping[str, int],
    headers: list[str],
    data_start: int,
    key: bytes,
    team: str | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    specific_names: Iterable[str] = (),
    today: date | None = None,
) -> Normalised:
    """Canonical frame of the rows below the header.

    `columns` maps field names (headers.ACTIVITY_SYNONYMS keys) to positions; `values` holds a
    mapping profile's value overrides per field.
    """
    values = values or {}
    today = today or date.today()
    body = cells.iloc[data_start:]
    rows_read = len(body)
    source_row = (body.index.to_numpy() + 1).astype("int64")

    def col(name: str) -> pd.Series | None:
        if name not in columns:
            return None
        raw = body.iloc[:, columns[name]].astype("str")
        if name in _TEXT_FIELDS:
            raw = without_controls(raw)
        raw = raw.str.strip()
        return raw.where(raw != "")

    present = {name: col(name) for name in columns}
    unmapped: dict[str, dict[str, int]] = {}
    warnings: list[str] = []

    keep, dropped_detail = _furniture(body, present, columns, headers)

    # Dates and clinicians decide whether a row is usable at all. Both are parsed once per
    # distinct text over every row, so the text columns are filtered only once, below.
    parsed, times = parse_dates(present["date"])
    # Names from dropped rows must not lend their capitals (`McDonald`) to the others.
    clinicians = normalise_names(present["clinician"].where(keep))
    header_of = {name: headers[pos] for name, pos in columns.items()}
    rejected_mask, rejections = _rejections(
        sheet, source_row, keep, present, parsed, clinicians, header_of
    )

    used = np.flatnonzero(keep & ~rejected_mask)
    present = {name: _take(s, used) for name, s in present.items()}
    rows = source_row[used]
    n = len(rows)
    date_col = _take(parsed, used).dt.normalize()
    clinician_col = _take(clinicians, used)
    times = _take(times, used)

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    frame[model.CLINICIAN] = clinician_col.astype("str")
    frame[model.TEAM] = _team(present.get("team"), team, n)
    frame[model.DATE] = date_col
    frame[model.START] = _start(present.get("start"), times, unmapped)

    kinds = classify_kinds(
        present["kind"],
        present.get(NEW_FOLLOWUP),
        flag_header=header_of.get(NEW_FOLLOWUP, ""),
        overrides=values.get("kind"),
        flag_overrides=values.get(NEW_FOLLOWUP),
        specific_names=specific_names,
    )
    kind_values = kinds.values.fillna(str(model.Kind.OTHER))
    blank_kinds = int(present["kind"].isna().sum())
    kind_unknown = dict(kinds.unknown)
    if blank_kinds:
        kind_unknown["(blank)"] = blank_kinds
    _note(unmapped, "kind", kind_unknown)
    _note(unmapped, "kind (new/follow-up not stated: read as follow-up)", kinds.assumed)
    _note(unmapped, NEW_FOLLOWUP, kinds.unknown_flags)
    frame[model.KIND] = kind_values.astype("str")

    outcomes = classify_outcomes(present["outcome"], values.get("outcome"))
    _note(unmapped, "outcome", outcomes.unknown)
    blank_outcome = outcomes.values.isna()
    past = (date_col < pd.Timestamp(today)).to_numpy()
    blank_past = rows[blank_outcome.to_numpy() & past]
    frame[model.OUTCOME] = outcomes.values.fillna(str(model.Outcome.BOOKED)).astype("str")

    client_key, invalid_nhs = _client_keys(present, key, rows)
    frame[model.CLIENT_KEY] = client_key
    frame[model.BOOKED_ON] = _booked_on(present.get("booked_on"), n, unmapped)
    if "booked_on" not in present and BOOKING_LAG in present:
        frame[model.BOOKED_ON] = _booked_from_lag(
            present[BOOKING_LAG], date_col, frame[model.START], unmapped
        )
    frame[model.DURATION_MIN] = _durations(present.get("duration_min"), n, unmapped)
    frame[model.REOFFERED] = _reoffered(present.get("reoffered"), n, unmapped)
    frame[model.SOURCE_ROW] = rows.astype("int64")
    frame[model.SLOT_ID] = _slot_ids(present.get("slot_id"), frame, warnings)
    frame = frame[list(model.ACTIVITY_COLUMNS)]

    return Normalised(
        frame=frame,
        rows_read=rows_read,
        rejected=rejections,
        dropped_detail=dropped_detail,
        unmapped_values=unmapped,
        invalid_nhs_numbers=[int(r) for r in invalid_nhs],
        blank_past_outcomes=[int(r) for r in blank_past],
        warnings=warnings,
    )


def _furniture(
    body: pd.DataFrame,
    present: Mapping[str, pd.Series],
    columns: Mapping[str, int],
    headers: list[str],
) -> tuple[np.ndarray, dict[str, int]]:
    """Rows that are not appointments: blank rows, totals/footer lines, repeated headers.
    Returns the rows to keep and the count dropped of each sort."""
    no_date, no_clinician = present["date"].isna().to_numpy(), present["clinician"].isna().to_numpy()
    # A stripped, non-empty date or clinician already shows a row is not blank.
    blank = _blank_rows(body, unknown=no_date & no_clinician)
    footer = np.zeros(len(body), dtype=bool)
    key_missing = (no_date | no_clinician) & ~blank
    if key_missing.any():
        footer[key_missing] = _footer_rows(body[key_missing])
    has_key = ~(no_date & no_clinician) & ~blank
    last_row = np.flatnonzero(has_key).max() if has_key.any() else -1
    # Whatever follows the last row with a date or clinician is report furniture.
    footer[last_row + 1 :] |= ~blank[last_row + 1 :]
    # Reports printed page by page repeat the header; its date cell reads "Appt Date".
    repeated = np.logical_and.reduce(
        [present[name].eq(headers[columns[name]]).fillna(False).to_numpy()
         for name in ("date", "clinician")]
    ) & ~footer
    dropped = {BLANK: int(blank.sum()), FOOTER: int((footer & ~blank).sum())}
    if repeated.any():
        dropped[REPEATED_HEADER] = int(repeated.sum())
    return ~(blank | footer | repeated), dropped


def _rejections(
    sheet: str,
    rows: np.ndarray,
    keep: np.ndarray,
    present: Mapping[str, pd.Series],
    parsed: pd.Series,
    clinicians: pd.Series,
    header_of: Mapping[str, str],
) -> tuple[np.ndarray, list[Rejection]]:
    """Kept rows without a readable date or a clinician, each with its first reason."""
    problems = [
        (present["date"].isna(), "date", "no appointment date"),
        (parsed.isna() & present["date"].notna(), "date", "unreadable appointment date"),
        (clinicians.isna(), "clinician", "no clinician"),
    ]
    rejected = np.zeros(len(rows), dtype=bool)
    found: list[Rejection] = []
    for mask, field_name, reason in problems:
        fresh = mask.to_numpy() & keep & ~rejected
        rejected |= fresh
        raw_values = present[field_name][fresh].tolist()
        found += [
            Rejection(sheet, int(row), header_of[field_name],
                      None if pd.isna(value) else str(value), reason)
            for row, value in zip(rows[fresh], raw_values, strict=True)
        ]
    found.sort(key=lambda r: r.row)
    return rejected, found


# --- dates and times --------------------------------------------------------------------------


def _start(raw: pd.Series | None, from_dates: pd.Series, unmapped: dict) -> pd.Series:
    if raw is None:
        return from_dates.astype("str")
    parsed = _per_unique(raw, lambda u: u.map(parse_start).astype("str"))
    _note(unmapped, "start", _unknown_counts(raw, parsed))
    return parsed.fillna(from_dates).astype("str")


def _booked_on(raw: pd.Series | None, n: int, unmapped: dict) -> pd.Series:
    if raw is None:
        return pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[us]")
    parsed, _ = parse_dates(raw)
    _note(unmapped, "booked_on", _unknown_counts(raw, parsed))
    return parsed.dt.normalize()


def _booked_from_lag(
    raw: pd.Series, dates: pd.Series, starts: pd.Series, unmapped: dict
) -> pd.Series:
    """booked_on = when the appointment starts − the booking interval, when no booked date is
    given ("2h 30m" before a 16:00 appointment is the same day). Without a start time, the
    interval's whole days are taken from the date."""
    minutes = _per_unique(raw, lambda u: u.map(parse_interval).astype("Int64"))
    _note(unmapped, BOOKING_LAG, _unknown_counts(raw, minutes))
    lag = pd.to_timedelta(minutes.astype("float64"), unit="min").to_numpy()
    clock = pd.to_timedelta(starts.where(starts.notna(), None).astype("object") + ":00",
                            errors="coerce").to_numpy()
    timed = dates.to_numpy() + clock - lag
    whole_days = dates.to_numpy() - pd.to_timedelta(
        (minutes.astype("float64") // MINUTES_PER_DAY), unit="D").to_numpy()
    booked = pd.Series(np.where(pd.isna(clock), whole_days, timed), dtype="datetime64[us]")
    return booked.dt.normalize()


# --- durations, markers, teams --------------------------------------------------------------


def _durations(raw: pd.Series | None, n: int, unmapped: dict) -> pd.Series:
    if raw is None:
        return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="Int64")
    parsed = _per_unique(raw, lambda u: u.map(parse_duration).astype("Int64"))
    _note(unmapped, "duration_min", _unknown_counts(raw, parsed))
    return parsed


def _reoffered(raw: pd.Series | None, n: int, unmapped: dict) -> pd.Series:
    if raw is None:
        return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="boolean")
    parsed = _per_unique(raw, lambda u: u.map(reoffered_value).astype("boolean"))
    _note(unmapped, "reoffered", _unknown_counts(raw, parsed))
    # In a marker column an empty cell means "not marked".
    return parsed.mask(raw.isna(), False)


def _team(raw: pd.Series | None, default: str | None, n: int) -> pd.Series:
    fallback = default.strip() if default and default.strip() else None
    if raw is None:
        return pd.Series([fallback] * n, dtype="str")
    tidy = _per_unique(raw, lambda u: u.str.split().str.join(" "))
    return tidy.fillna(fallback).astype("str") if fallback else tidy.astype("str")


# --- names ----------------------------------------------------------------------------------


def normalise_names(raw: pd.Series) -> pd.Series:
    """`SMITH, Jane (Dr)` → `Jane Smith`, `Dr J SMITH` → `J Smith`, `SMITH Jane` → `Jane Smith`;
    capitals seen mixed anywhere in the column (`McDonald`) are kept (rules: capa_monitor.names)."""
    uniques, codes = _factorize(raw)
    arranged = [_arrange_name(u) for u in uniques]
    tidy = [name or None for name in names.tidy_capitals(arranged)]
    return _spread(pd.Series(tidy, dtype="str"), codes, raw.index)


def _arrange_name(text: str) -> str:
    """One distinct printed name → display-order words (once per distinct text)."""
    return names.arrange_name(text)


# --- clients and slots ----------------------------------------------------------------------


def _client_keys(
    present: Mapping[str, pd.Series], key: bytes, rows: np.ndarray
) -> tuple[pd.Series, np.ndarray]:
    """One pseudonym per row from the NHS number, else the local id, else the client's name.

    Each identifier column holds one text per client, so digits, check digits and HMACs are
    worked out once per distinct text and spread back to the rows by code.
    """
    n = len(rows)
    hashes: list[pa.Array] = []  # pseudonyms per identifier column, in priority order
    pick = np.full(n, -1, dtype=np.int64)  # row -> position in the hashes concatenated
    invalid = np.array([], dtype="int64")
    nhs = present.get(NHS_NUMBER)
    if nhs is not None:
        codes, uniques = pd.factorize(nhs)
        digits = nhs_digit_texts(pd.Series(uniques, dtype="str"))
        valid = nhs_numbers_valid(digits).to_numpy(dtype=bool, na_value=False)
        invalid = rows[(codes >= 0) & ~np.append(valid, True)[codes]]
        # A cell of separators only ("-") has no digits: no NHS number, so no identity from it.
        _pick_keys(pick, hashes, codes, ("nhs:" + digits).where(digits.str.len() > 0), key)
    fallbacks = (
        (CLIENT_ID, lambda u: "id:" + u),
        (CLIENT_NAME, lambda u: "name:" + u.str.lower().str.split().str.join(" ")),
    )
    for column, identity in fallbacks:
        raw = present.get(column)
        wanted = np.flatnonzero(pick < 0)
        if raw is None or not len(wanted):
            continue
        codes, uniques = pd.factorize(raw.array.take(wanted))
        spread = np.full(n, -1, dtype=np.intp)
        spread[wanted] = codes
        _pick_keys(pick, hashes, spread, identity(pd.Series(uniques, dtype="str")), key)
    if not hashes:
        return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="str"), invalid
    keys = pa.concat_arrays(hashes).take(pa.array(pick, mask=pick < 0))
    return pd.Series(pd.array(keys, dtype="str")), invalid


def _pick_keys(
    pick: np.ndarray, hashes: list[pa.Array], codes: np.ndarray, identities: pd.Series, key: bytes
) -> None:
    """Rows without a key yet (pick -1) whose code names a present identity get its
    pseudonym: appended to `hashes`, and `pick` points at it."""
    offset = sum(len(h) for h in hashes)
    hashed = pa.array(pseudonymise(identities, key).array, type=pa.large_string())
    hashes.append(hashed)
    has_key = np.append(hashed.is_valid().to_numpy(zero_copy_only=False), False)[codes]
    fill = (pick < 0) & has_key
    pick[fill] = codes[fill] + offset


_SLOT_FIELDS = (model.CLINICIAN, model.DATE, model.START, model.KIND, model.CLIENT_KEY, model.TEAM)
_HEX = np.array(list("0123456789abcdef"))


def _slot_ids(raw: pd.Series | None, frame: pd.DataFrame, warnings: list[str]) -> pd.Series:
    """The export's slot id; else a stable hash of the identifying fields, with true
    duplicates told apart by their order of appearance."""
    # is_unique is three times cheaper than counting, and exports' ids are nearly always unique.
    if raw is not None and not raw.is_unique:
        codes, _ = pd.factorize(raw)
        filled = codes[codes >= 0]
        duplicated = np.bincount(filled)[filled] > 1
        if duplicated.any():
            warnings.append(
                f"{int(duplicated.sum())} rows share an appointment id with another row; "
                "they are kept as separate slots."
            )
    if raw is not None and raw.notna().all():
        return raw.astype("str")
    derived = _derived_slot_ids(frame)
    return derived if raw is None else raw.fillna(derived).astype("str")


def _derived_slot_ids(frame: pd.DataFrame) -> pd.Series:
    # pandas' row hash uses a fixed SipHash key, so the same fields give the same id on every
    # upload; 64 bits keep collisions negligible at a few million slots per team history.
    fields = frame[list(_SLOT_FIELDS)].astype("str")
    hashed = pd.util.hash_pandas_object(fields, index=False).to_numpy()
    occurrence = pd.Series(hashed).groupby(hashed, sort=False).cumcount().to_numpy()
    nibbles = (hashed[:, None] >> np.arange(60, -1, -4, dtype=np.uint64)) & np.uint64(15)
    hex_ids = _HEX[nibbles.astype(np.intp)].view("<U16").ravel()
    ids = pd.Series(np.char.add("h", hex_ids), index=frame.index, dtype="str")
    repeat = occurrence > 0
    if repeat.any():
        ids[repeat] = ids[repeat] + "-" + pd.Series(occurrence[repeat] + 1).astype("str").to_numpy()
    return ids


# --- helpers --------------------------------------------------------------------------------


def without_controls(raw: pd.Series) -> pd.Series:
    """Each run of control characters (with the spaces around it) → one space, once per
    distinct text; `Jane\\x1aSmith` → `Jane Smith`. Usually there are none: a glance at the
    column's bytes (controls are single bytes in UTF-8) returns it untouched."""
    if not _may_hold_controls(raw):
        return raw
    return _per_unique(raw, lambda u: u.str.replace(_CONTROL_RUN, " ", regex=True))


def _may_hold_controls(raw: pd.Series) -> bool:
    try:
        arrow = pa.array(raw.array)
    except (TypeError, ValueError, pa.ArrowException):
        return True
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return True
    for chunk in arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]:
        data = chunk.buffers()[2]
        if data is None or data.size == 0:
            continue
        # A sliced array's buffer may hold other rows' bytes too: at worst a needless clean.
        octets = np.frombuffer(data, dtype=np.uint8)
        if octets.min() < 0x20 and _CONTROL_BYTE[octets].any():
            return True
    return False


def _factorize(raw: pd.Series) -> tuple[list[str], np.ndarray]:
    codes, uniques = pd.factorize(raw)
    return [str(u) for u in uniques], np.asarray(codes)


def _per_unique(raw: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply `parse` to the distinct non-blank texts only and spread the answers back."""
    codes, uniques = pd.factorize(raw)
    return _spread(parse(pd.Series(uniques, dtype="str")), codes, raw.index)


def _take(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """The rows at `positions` (ascending), renumbered from 0.

    Usually every row between the header and the footer is kept: then a slice, which costs
    nothing, instead of gathering a million strings.
    """
    index = pd.RangeIndex(len(positions))
    if len(positions) and positions[-1] - positions[0] + 1 == len(positions):
        return pd.Series(values.array[positions[0] : positions[-1] + 1], index=index)
    return pd.Series(values.array.take(positions), index=index)


def _unknown_counts(raw: pd.Series, parsed: pd.Series) -> dict[str, int]:
    bad = raw.notna() & parsed.isna()
    if not bad.any():
        return {}
    return {str(k): int(v) for k, v in raw[bad].value_counts().items()}


def _note(unmapped: dict[str, dict[str, int]], column: str, counts: Mapping[str, int]) -> None:
    if counts:
        unmapped[column] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _blank_rows(body: pd.DataFrame, unknown: np.ndarray) -> np.ndarray:
    """Rows with nothing but empty or whitespace-only cells, looking only at the `unknown` ones."""
    blank = np.zeros(len(body), dtype=bool)
    if not unknown.any():
        return blank
    blank[unknown] = _blank_among(body[unknown])
    return blank


def _blank_among(body: pd.DataFrame) -> np.ndarray:
    filled = body.notna()
    candidates = filled.any(axis=1).to_numpy()
    blank = ~candidates
    if candidates.any():
        # Whitespace-only cells are rare; strip only the rows that have something.
        some = body[candidates].apply(lambda c: c.str.strip().ne("").fillna(False))
        blank[candidates] = ~some.any(axis=1).to_numpy()
    return blank


def _footer_rows(rows: pd.DataFrame) -> np.ndarray:
    texts = rows.astype("str").apply(lambda c: c.str.match(_FOOTER_TEXT).fillna(False))
    return texts.any(axis=1).to_numpy(dtype=bool)
