"""Reviews worked out once and kept in the store (issue 13), so every app process, replica and
CLI run that asks for the same review of an unchanged store reads it back (a few
milliseconds) instead of reading the quarter's rows and working every metric out again
(seconds for every team of a trust).

A kept review is a review of the teams asked (as asked: its labels say them), one quarter,
one as-of date (the data's own, or the one given), together with the versions it was worked
out from: the shared version (job plans, settings), each viewed team's version
(derived.review_version; every team's for a review of every team) and the code's
fingerprint. It is used only while all of them still stand, so it always equals the review
worked out afresh (tests/test_kept_reviews.py). Writes that change any of them delete the
reviews they make stale (`forget_stale`, inside the write's transaction): a removed upload's
figures do not linger in the store.

The bytes: a JSON header (the scalars), then each frame as an Arrow IPC stream, zstd
compressed; never pickle, so reading a kept review runs no code from the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata as package_metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import OperationalError

from capa_monitor.settings import Settings
from capa_monitor.store import derived
from capa_monitor.store.database import _WRITE_OPTION, SQLITE_BUSY_TIMEOUT_MS, WRITER_LOCK_KEY
from capa_monitor.store.schema import metadata, utc_now

if TYPE_CHECKING:  # periods brings the holiday calendars, which a write does not need
    from capa_monitor.metrics.review import Review
    from capa_monitor.periods import Quarter

log = logging.getLogger(__name__)

kept_reviews = Table(
    "kept_reviews",
    metadata,
    Column("teams", Text, primary_key=True),  # JSON list of the teams as asked; "" every team
    Column("quarter", Text, primary_key=True),  # its label
    Column("as_of", Text, primary_key=True),  # the as-of date given (ISO); "" the data's own
    Column("versions", Text, nullable=False),  # JSON: what it was worked out from
    Column("made_at", DateTime, nullable=False),
    Column("review", LargeBinary, nullable=False),
)

#: Kept reviews at most (the most recent): what prework.py works ahead (each team's last two
#: quarters, every team's, the service leads'), and the viewers' own besides.
MOST_KEPT = 500
#: Seconds of work from which a review is kept by default (Store.review): every team's
#: review of a trust takes seconds, one team's a fifth of a second.
WORTH_KEEPING_S = 0.5
#: How long keeping a review waits for another writer before giving up (a viewer never
#: waits behind an upload for a copy it already has).
KEEP_WAIT_MS = 250
_MAGIC = b"CAPA-REVIEW-1\n"
_FRAMES = ("clinicians", "lost_slots", "balance", "balance_teams", "drift", "waits",
           "flow_summary", "dropoff", "spc_weekly", "spc_dna")


@dataclass(frozen=True)
class Key:
    """Which review: the teams as asked (None: every team), the quarter, the as-of given."""

    teams: tuple[str, ...] | None
    quarter: Quarter
    as_of: date | None

    @classmethod
    def of(cls, teams: Sequence[str] | None, quarter: Quarter, as_of: date | None) -> Key:
        """The key of Store.review(teams, quarter, as_of): the teams as asked, in that order."""
        return cls(tuple(teams) if teams else None, quarter, as_of)

    @property
    def row(self) -> dict[str, str]:
        return {"teams": "" if self.teams is None else json.dumps(list(self.teams)),
                "quarter": self.quarter.label,
                "as_of": "" if self.as_of is None else self.as_of.isoformat()}


def versions(conn: Connection, names: Sequence[str] | None) -> str:
    """What a review of the stored team `names` (None: every team) is worked out from, as the
    text kept beside it: the code's fingerprint, the shared version, each team's version."""
    query = select(derived.team_versions.c.team, derived.team_versions.c.version)
    if names is not None:
        query = query.where(derived.team_versions.c.team.in_(list(names)))
    return _versions_text(derived.shared_version(conn), dict(conn.execute(query).all()), names)


def _versions_text(shared: int, found: dict[str, int], names: Sequence[str] | None) -> str:
    """versions() from the shared version and the teams' versions read (`found`)."""
    teams = sorted(found) if names is None else list(names)
    return json.dumps({"code": code_fingerprint(), "shared": shared,
                       "teams": {team: int(found.get(team, 0)) for team in teams}})


def find(conn: Connection, key: Key, current: str) -> Review | None:
    """The kept review of `key` if it was worked out from `current` (versions()); None when
    there is none, it is stale, or its bytes do not read (then it is worked out again)."""
    row = key.row
    kept = conn.execute(select(kept_reviews.c.versions, kept_reviews.c.review).where(
        *(kept_reviews.c[name] == value for name, value in row.items()))).first()
    if kept is None or kept.versions != current:
        return None
    try:
        return decode(bytes(kept.review))
    except Exception:  # a kept copy that does not read is worked out again, never shown
        log.warning("kept review %s does not read; working it out again", row, exc_info=True)
        return None


def standing(conn: Connection, asked: Sequence[tuple[Key, Sequence[str] | None]]) -> list[bool]:
    """For each key, with the stored team names it means (None: every team), whether its
    review is kept and current, none read: three queries whatever the number of keys (a run
    working ahead passes over the hundreds kept already)."""
    kept = {(row.teams, row.quarter, row.as_of): row.versions for row in conn.execute(
        select(kept_reviews.c.teams, kept_reviews.c.quarter, kept_reviews.c.as_of,
               kept_reviews.c.versions))}
    found = dict(conn.execute(select(derived.team_versions.c.team,
                                     derived.team_versions.c.version)).all())
    shared = derived.shared_version(conn)
    return [kept.get(tuple(key.row.values())) == _versions_text(shared, found, names)
            for key, names in asked]


def touch(engine: Engine, keys: Sequence[Key]) -> None:
    """Mark the kept reviews of `keys` as just made, so the bound of MOST_KEPT pushes out
    others first: a run working ahead touches the ones it passes over, else each review it
    keeps could push out one it passed, for the next run to work out again. Given up, as
    keep() is, when another writer holds the store."""
    if not keys:
        return
    columns = (kept_reviews.c.teams, kept_reviews.c.quarter, kept_reviews.c.as_of)
    try:
        with _brief_write(engine) as conn:
            if conn is not None:
                conn.execute(update(kept_reviews).where(tuple_(*columns).in_(
                    [tuple(key.row.values()) for key in keys])).values(made_at=utc_now()))
    except OperationalError:
        log.info("store busy: kept reviews not touched")


def keep(engine: Engine, key: Key, names: Sequence[str] | None, worked_from: str,
         review: Review) -> bool:
    """Keep `review`, worked out from `worked_from`, unless the store changed meanwhile or
    another writer holds the store longer than KEEP_WAIT_MS. True when kept."""
    payload = encode(review)
    try:
        with _brief_write(engine) as conn:
            if conn is None or versions(conn, names) != worked_from:
                return False
            row = key.row
            conn.execute(delete(kept_reviews).where(
                *(kept_reviews.c[name] == value for name, value in row.items())))
            conn.execute(insert(kept_reviews).values(**row, versions=worked_from,
                                                     made_at=utc_now(), review=payload))
            _keep_most_recent(conn)
            return True
    except OperationalError:  # SQLite busy past the wait: the next viewer keeps it
        log.info("store busy: review %s not kept", key.row)
        return False


def forget_stale(conn: Connection) -> int:
    """Delete the kept reviews the write under way made stale (inside its transaction, after
    the versions are raised); returns how many."""
    kept = conn.execute(select(kept_reviews.c.teams, kept_reviews.c.quarter,
                               kept_reviews.c.as_of, kept_reviews.c.versions)).all()
    if not kept:
        return 0
    found = dict(conn.execute(select(derived.team_versions.c.team,
                                     derived.team_versions.c.version)).all())
    shared = derived.shared_version(conn)
    stale = [(row.teams, row.quarter, row.as_of) for row in kept
             if row.versions != _versions_text(
                 shared, found, list(json.loads(row.versions)["teams"]) if row.teams else None)]
    if stale:
        columns = (kept_reviews.c.teams, kept_reviews.c.quarter, kept_reviews.c.as_of)
        conn.execute(delete(kept_reviews).where(tuple_(*columns).in_(stale)))
    return len(stale)


def create(conn: Connection) -> None:
    """The table (migration 10)."""
    kept_reviews.create(conn)


@contextmanager
def _brief_write(engine: Engine) -> Iterator[Connection | None]:
    """A write transaction that waits at most KEEP_WAIT_MS for other writers (None: it did
    not get the store): SQLite's busy timeout lowered for it, PostgreSQL's writer lock tried."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={KEEP_WAIT_MS}")
        try:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                if not sqlite and not conn.execute(
                        text("SELECT pg_try_advisory_xact_lock(:key)"),
                        {"key": WRITER_LOCK_KEY}).scalar_one():
                    yield None
                    return
                yield conn
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute(
                    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _keep_most_recent(conn: Connection) -> None:
    columns = (kept_reviews.c.teams, kept_reviews.c.quarter, kept_reviews.c.as_of)
    old = conn.execute(select(*columns).order_by(kept_reviews.c.made_at.desc())
                       .offset(MOST_KEPT)).all()
    if old:
        conn.execute(delete(kept_reviews).where(tuple_(*columns).in_([tuple(r) for r in old])))


# ---- the bytes --------------------------------------------------------------------------------

def encode(review: Review) -> bytes:
    """`review` as bytes decode() reads back equal (frames, dtypes and index included)."""
    diary = review.next_diary
    frames = [getattr(review, name) for name in _FRAMES]
    if diary is not None:
        frames.append(diary.clinicians)
    header = {
        "quarter": _quarter_json(review.quarter),
        "as_of": review.as_of.isoformat(),
        "as_of_source": review.as_of_source,
        "settings": review.settings.to_dict(),
        "teams": None if review.teams is None else list(review.teams),
        "next_diary": None if diary is None else {
            "quarter": _quarter_json(diary.quarter), "ready_at": diary.ready_at.isoformat(),
            "checked": bool(diary.checked)},
    }
    parts = [json.dumps(header).encode("utf-8"), *(_frame_bytes(frame) for frame in frames)]
    return _MAGIC + b"".join(struct.pack("<Q", len(part)) + part for part in parts)


def decode(data: bytes) -> Review:
    from capa_monitor.metrics.ahead import NextDiary
    from capa_monitor.metrics.review import Review

    if not data.startswith(_MAGIC):
        raise ValueError("not a kept review")
    parts, at = [], len(_MAGIC)
    while at < len(data):
        (size,) = struct.unpack_from("<Q", data, at)
        parts.append(memoryview(data)[at + 8:at + 8 + size])
        at += 8 + size
    header = json.loads(bytes(parts[0]))
    frames = [_frame(part) for part in parts[1:]]
    diary = header["next_diary"]
    if (len(frames) != len(_FRAMES) + (diary is not None)) or at != len(data):
        raise ValueError("a kept review's frames do not add up")
    return Review(
        quarter=_quarter(header["quarter"]),
        as_of=date.fromisoformat(header["as_of"]),
        as_of_source=header["as_of_source"],
        settings=Settings.from_dict(header["settings"]),
        teams=None if header["teams"] is None else tuple(header["teams"]),
        **dict(zip(_FRAMES, frames, strict=False)),
        next_diary=None if diary is None else NextDiary(
            quarter=_quarter(diary["quarter"]), ready_at=date.fromisoformat(diary["ready_at"]),
            checked=diary["checked"], clinicians=frames[-1]),
    )


def _quarter_json(quarter: Quarter) -> list[int]:
    return [quarter.fy_start_year, quarter.number, quarter.first_month]


def _quarter(value: list[int]) -> Quarter:
    from capa_monitor.periods import Quarter

    return Quarter(*value)


_IPC = pa.ipc.IpcWriteOptions(compression="zstd")


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as one Arrow IPC stream; its object columns (Arrow reads text back as str)
    named in the schema's metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=None)
    objects = [str(name) for name in frame.columns if frame[name].dtype == object]
    table = table.replace_schema_metadata(
        {**table.schema.metadata, _OBJECT_COLUMNS: json.dumps(objects).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _frame(data: memoryview) -> pd.DataFrame:
    with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
        table = reader.read_all()
    frame = table.to_pandas()
    for name in json.loads(table.schema.metadata[_OBJECT_COLUMNS]):
        column = frame[name].astype(object)
        frame[name] = column.where(column.notna(), np.nan)  # missing text is NaN, as made
    return frame


_OBJECT_COLUMNS = b"capa_object_columns"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The package's source and the libraries' versions that work a review out: a kept review
    from other code is never read back as this code's."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    for library in ("pandas", "numpy", "pyarrow"):
        digest.update(f"{library}={package_metadata.version(library)}".encode())
    return digest.hexdigest()[:32]

