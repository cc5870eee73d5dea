"""The store's tables and the numbered migrations that build them.

Each migration is applied once, in order, in one transaction, and recorded in
`schema_migrations`; a store written by an older version upgrades when it is opened. The table
objects below are the current shape, used by the queries; a migration that needs an older
shape defines it locally (see `_uploads_v1`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    inspect,
    select,
    text,
)

from capa_monitor.model import Kind, Outcome

metadata = MetaData()

# A 64-bit key on PostgreSQL, SQLite's rowid alias on SQLite (fast appends).
RowId = BigInteger().with_variant(Integer(), "sqlite")

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


def _upload_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True),
        Column("file_name", Text, nullable=False),
        Column("sha256", String(64), nullable=False),
        # digest of the canonical rows: the same file read with another team or mapping differs
        Column("rows_digest", String(64), nullable=False),
        Column("teams", Text, nullable=False),  # JSON list; null = rows without a team
        Column("period_start", Date, nullable=False),  # covered period, inclusive both ends
        Column("period_end", Date, nullable=False),
        Column("uploaded_by", Text, nullable=False),
        Column("uploaded_at", DateTime, nullable=False),
        Column("rows_accepted", Integer, nullable=False),
        Column("rows_rejected", Integer, nullable=False),
        Column("rows_active", Integer, nullable=False),
        Column("mapping", Text, nullable=False),  # JSON: canonical column -> source header
        Column("status", String(20), nullable=False),  # active | partly superseded | superseded
    ]


uploads = Table(
    "uploads",
    metadata,
    *_upload_columns(),
    Column("demo", Boolean, nullable=False, server_default=text("false")),
    # Which system its slot ids come from (identity.system_signature); NULL: no id column.
    Column("system", String(32), nullable=True),
    # When it last won (ingest or restore), counting up: "a later upload" on removal means a
    # higher number here, since a restore makes an old upload the latest.
    Column("applied", Integer, nullable=False, server_default=text("0")),
    Index("ix_uploads_sha256", "sha256"),
)


def _activity_columns() -> list[Column]:
    return [
        Column("id", RowId, primary_key=True),
        # upload_id and superseded_by name uploads.id, without FOREIGN KEY constraints: PostgreSQL
        # checks those by a trigger per row, which tripled the time of a large COPY or supersede.
        # Only the store writes these columns, always in the transaction that writes the upload.
        Column("upload_id", Integer, nullable=False),
        # NULL while the row is active; else the upload (or restore) that replaced it. Flipped in
        # the same transaction that inserts the replacement, so readers never see half an upload.
        Column("superseded_by", Integer, nullable=True),
        Column("slot_id", Text, nullable=False),
        Column("clinician", Text, nullable=False),
        Column("team", Text, nullable=True),
        Column("date", Date, nullable=False),
        Column("start", String(8), nullable=True),
        Column("kind", String(20), nullable=False),
        Column("outcome", String(24), nullable=False),
        Column("client_key", String(64), nullable=True),
        Column("booked_on", Date, nullable=True),
        Column("duration_min", Integer, nullable=True),
        Column("reoffered", Boolean, nullable=True),
        Column("source_row", BigInteger, nullable=False),
    ]


# Supersede and team reads go by (team, date). A date-only index doubled the time of a
# million-row ingest (an all-teams date range scans the active rows either way), and one on
# upload_id cost a fifth more for the rare restore / removal.
_TEAM_DATE = ("ix_activity_team_date", "team", "date")
# The bounded review looks families up by key in older rows (store/review_reads.py): their
# attended Choice and new Core Partnership appointments (M5's waits) and their attended
# Specific sessions (M4's episodes). Partial indexes hold only those rows, about 30 % of a
# store, so an upload pays for a third of a key index; a look-up names the same predicate
# text, which is what lets SQLite use a partial index (it matches terms, it does no algebra).
WAIT_EVENTS = (f"kind IN ('{Kind.CHOICE}', '{Kind.CORE_NEW}') "
               f"AND outcome = '{Outcome.ATTENDED}'")
SPECIFIC_SESSIONS = (f"kind IN ('{Kind.SPECIFIC_NEW}', '{Kind.SPECIFIC_FOLLOWUP}') "
                     f"AND outcome = '{Outcome.ATTENDED}'")
_LOOKUP_INDEXES = {"ix_activity_wait_events": WAIT_EVENTS,
                   "ix_activity_specific_sessions": SPECIFIC_SESSIONS}
_SLOT_INDEXES = ("ix_activity_content_key", "ix_activity_slot_key")
#: Indexes on hashed keys (slot identity, family pseudonyms): in no useful order for an insert.
KEYED_INDEXES = (*_SLOT_INDEXES, *_LOOKUP_INDEXES)

activity = Table(
    "activity",
    metadata,
    *_activity_columns(),
    # Slot identity (identity.py): the export's own id from the same system, and the content
    # key. Looked up by value for every upload's rows, so both are indexed (the slot key only
    # where there is one: files without an id column add nothing to that index).
    Column("slot_key", BigInteger, nullable=True),
    Column("content_key", BigInteger, nullable=True),
    Index(*_TEAM_DATE),
    Index("ix_activity_content_key", "content_key"),
    Index(
        "ix_activity_slot_key",
        "slot_key",
        sqlite_where=text("slot_key IS NOT NULL"),
        postgresql_where=text("slot_key IS NOT NULL"),
    ),
    *(Index(name, "client_key", "date", sqlite_where=text(where), postgresql_where=text(where))
      for name, where in _LOOKUP_INDEXES.items()),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("action", String(40), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("file_sha256", String(64), nullable=True),
    Column("period_start", Date, nullable=True),
    Column("period_end", Date, nullable=True),
    Column("rows", Integer, nullable=True),
    Column("details", Text, nullable=False),  # JSON object
)

jobplans = Table(
    "jobplans",
    metadata,
    Column("clinician_key", Text, primary_key=True),  # normalised, case-folded name
    Column("clinician", Text, nullable=False),
    Column("team", Text, nullable=True),
    Column("fte", Float, nullable=True),
    Column("choice_per_week", Float, nullable=True),
    Column("core_sessions", Float, nullable=True),
    Column("specific_sessions", Float, nullable=True),
    Column("nonclinical_sessions", Float, nullable=True),
    Column("q1_target", Float, nullable=True),
    Column("q2_target", Float, nullable=True),
    Column("q3_target", Float, nullable=True),
    Column("q4_target", Float, nullable=True),
    Column("available_from", Date, nullable=True),
    Column("available_to", Date, nullable=True),
    Column("source", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

jobplan_history = Table(
    "jobplan_history",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("clinician_key", Text, nullable=False),
    Column("clinician", Text, nullable=False),
    Column("change", String(20), nullable=False),  # created | replaced | removed
    Column("before", Text, nullable=True),  # JSON plan, NULL when created
    Column("after", Text, nullable=True),  # JSON plan, NULL when removed
    Column("source", Text, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime, nullable=False),
)

settings_table = Table(
    "settings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("overrides", Text, nullable=False),  # JSON: only the values that differ from defaults
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

mapping_profiles = Table(
    "mapping_profiles",
    metadata,
    Column("name", Text, primary_key=True),
    Column("profile", Text, nullable=False),  # MappingProfile.to_json()
    Column("saved_at", DateTime, nullable=False),
)


def utc_now() -> datetime:
    """Timestamps are stored as naive UTC (SQLite has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _uploads_v1() -> Table:
    """`uploads` as migration 1 created it (no demo flag yet)."""
    return Table("uploads", MetaData(), *_upload_columns(), Index("ix_uploads_sha256", "sha256"))


def _activity_v1() -> Table:
    """`activity` as migration 1 created it (no identity keys yet)."""
    return Table("activity", MetaData(), *_activity_columns(), Index(*_TEAM_DATE))


_AUDIT_APPEND_ONLY_SQLITE = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)
_AUDIT_APPEND_ONLY_POSTGRES = (
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
)


def _migration_1(conn: Connection) -> None:
    """Uploads, activity rows, the audit log and the data-version counter."""
    meta.create(conn)
    _uploads_v1().create(conn)
    _activity_v1().create(conn)
    audit_log.create(conn)
    conn.execute(insert(meta).values(key="data_version", value=0))
    statements = (
        _AUDIT_APPEND_ONLY_POSTGRES
        if conn.dialect.name == "postgresql"
        else _AUDIT_APPEND_ONLY_SQLITE
    )
    for statement in statements:
        conn.exec_driver_sql(statement)


def _migration_2(conn: Connection) -> None:
    """Demo tagging of uploads; job plans with history, settings, saved mapping profiles."""
    conn.exec_driver_sql("ALTER TABLE uploads ADD COLUMN demo BOOLEAN NOT NULL DEFAULT false")
    for table in (jobplans, jobplan_history, settings_table, mapping_profiles):
        table.create(conn)


def _migration_3(conn: Connection) -> None:
    """Slot identity (issue 12): each row's slot and content keys, each upload's system and
    the order uploads last won in; the keys of rows already stored are worked out here."""
    import json

    import pandas as pd

    from capa_monitor.store import identity

    for statement in (
        "ALTER TABLE uploads ADD COLUMN system VARCHAR(32)",
        "ALTER TABLE uploads ADD COLUMN applied INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE activity ADD COLUMN slot_key BIGINT",
        "ALTER TABLE activity ADD COLUMN content_key BIGINT",
    ):
        conn.exec_driver_sql(statement)
    rows = activity.c
    for upload_id, mapping in conn.execute(select(uploads.c.id, uploads.c.mapping)).all():
        system = identity.system_signature(json.loads(mapping))
        conn.execute(
            uploads.update().where(uploads.c.id == upload_id).values(system=system, applied=upload_id)
        )
        stored = pd.DataFrame(
            conn.execute(
                select(rows.id, rows.slot_id, rows.clinician, rows.date, rows.start, rows.kind,
                       rows.client_key, rows.source_row).where(rows.upload_id == upload_id)
            ).all(),
            columns=["id", "slot_id", "clinician", "date", "start", "kind", "client_key",
                     "source_row"],
        )
        if stored.empty:
            continue
        for column in ("slot_id", "clinician", "start", "kind", "client_key"):
            stored[column] = stored[column].astype("str")
        stored["date"] = pd.to_datetime(stored["date"])
        content = identity.content_keys(stored)
        slot = identity.slot_keys(stored, system)
        conn.execute(
            activity.update()
            .where(rows.id == bindparam("row_id"))
            .values(slot_key=bindparam("slot"), content_key=bindparam("content")),
            [
                {"row_id": int(row_id), "content": int(c), "slot": None if slot is None else int(s)}
                for row_id, c, s in zip(
                    stored["id"], content, content if slot is None else slot, strict=True
                )
            ],
        )
    for index in activity.indexes:
        if index.name in _SLOT_INDEXES:
            index.create(conn)


access_list = Table(
    "access_list",
    metadata,
    Column("email_key", Text, primary_key=True),  # trimmed, case-folded email
    Column("email", Text, nullable=False),
    Column("role", String(20), nullable=False),  # access.ROLES
    Column("teams", Text, nullable=True),  # JSON list; NULL: every team
    Column("granted_by", Text, nullable=False),
    Column("granted_at", DateTime, nullable=False),
)


def _migration_access_list(conn: Connection) -> None:
    """Access by team (issue 14): email -> role and teams, edited by the admin."""
    access_list.create(conn)


def _migration_derived(conn: Connection) -> None:
    """M2 matches kept at write time (issue 13): the table, the dirty mark and the triggers
    of store/derived.py; the store fills the table once this migration has run."""
    from capa_monitor.store import derived

    derived.create(conn)


def _migration_team_versions(conn: Connection) -> None:
    """Per-team data versions (issue 13), so a cached review is invalidated only by changes
    that can alter it: store/derived.py."""
    from capa_monitor.store import derived

    derived.create_team_versions(conn)


def _migration_daily_counts(conn: Connection) -> None:
    """Per team, clinician and day counts kept at write time (issue 13), so a review reads
    no more than its quarter's rows: store/counts.py."""
    from capa_monitor.store import counts

    counts.create(conn)


def _migration_family_firsts(conn: Connection) -> None:
    """Kept each family's first dates per team (issue 13, `family_firsts`) at write time, to
    bound the review's look-ups. Migration 9's indexes answer those look-ups and drop the
    table, so this step now does nothing: a store not yet at 8 never fills it."""


def _migration_lookup_indexes(conn: Connection) -> None:
    """The partial indexes the bounded review's family look-ups read through (issue 13), in
    place of migration 8's table of first dates."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS family_firsts")
    for index in activity.indexes:
        if index.name in _LOOKUP_INDEXES:
            index.create(conn)


def _migration_kept_reviews(conn: Connection) -> None:
    """Reviews worked out once and kept for every process that asks again (issue 13):
    store/kept_reviews.py."""
    from capa_monitor.store import kept_reviews

    kept_reviews.create(conn)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _migration_1, _migration_2, _migration_3, _migration_access_list, _migration_derived,
    _migration_team_versions, _migration_daily_counts, _migration_family_firsts,
    _migration_lookup_indexes, _migration_kept_reviews,
)
LATEST_VERSION = len(MIGRATIONS)


def migrate(conn: Connection, *, target: int = LATEST_VERSION) -> list[int]:
    """Apply the missing migrations up to `target` inside the caller's write transaction.

    Returns the versions applied. The caller holds the write lock, so two processes opening
    a new store at once do not both create the tables.
    """
    if not inspect(conn).has_table("schema_migrations"):
        schema_migrations.create(conn)
    done = set(conn.execute(select(schema_migrations.c.version)).scalars())
    applied = []
    for version, migration in enumerate(MIGRATIONS[:target], start=1):
        if version in done:
            continue
        migration(conn)
        conn.execute(insert(schema_migrations).values(version=version, applied_at=utc_now()))
        applied.append(version)
    return applied


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_migrations"):
        return 0
    versions = list(conn.execute(select(schema_migrations.c.version)).scalars())
    return max(versions, default=0)
