"""The access list (issue 14): email -> role and teams, kept in the store, every change audited.

The admin edits it in the app (views/access.py) and the CLI (``access grant|revoke|list``);
``access.resolve`` reads one entry at each page load, so a grant shows on the grantee's next
page load.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import delete, insert, select

from capa_monitor.access import Scope, email_key, validated
from capa_monitor.errors import CapaError
from capa_monitor.store.database import read_transaction
from capa_monitor.store.schema import access_list, utc_now
from capa_monitor.store.store import Store
from capa_monitor.store.upload_ops import audit

ACCESS_COLUMNS = ("email", "role", "teams", "granted_by", "granted_at")


def _scope(row) -> Scope:
    teams = None if row.teams is None else frozenset(json.loads(row.teams))
    return Scope(row.email, row.role, teams, source="access list")


def entry(store: Store, email: str | None) -> Scope | None:
    """The access-list entry for ``email`` (compared trimmed and case-folded), if any."""
    key = email_key(email)
    if not key:
        return None
    with read_transaction(store.engine) as conn:
        row = conn.execute(select(access_list).where(access_list.c.email_key == key)).first()
    return None if row is None else _scope(row)


def entries(store: Store) -> list[Scope]:
    with read_transaction(store.engine) as conn:
        rows = conn.execute(select(access_list).order_by(access_list.c.email_key)).all()
    return [_scope(row) for row in rows]


def frame(store: Store) -> pd.DataFrame:
    """The access list for a page or ``access list``: teams as "A, B" or "every team"."""
    with read_transaction(store.engine) as conn:
        rows = conn.execute(select(access_list).order_by(access_list.c.email_key)).all()
    return pd.DataFrame(
        [{"email": r.email, "role": r.role,
          "teams": "every team" if r.teams is None else ", ".join(json.loads(r.teams)),
          "granted_by": r.granted_by, "granted_at": r.granted_at} for r in rows],
        columns=list(ACCESS_COLUMNS),
    )


def grant(store: Store, email: str, role: str, teams: frozenset[str] | None, *, by: str) -> Scope:
    """Give ``email`` the role over ``teams`` (replacing what they had); audited with before
    and after."""
    key = email_key(email)
    if "@" not in key:
        raise CapaError(f"{email!r} is not an email address.")
    role, teams = validated(role, teams)
    stored = None if teams is None else json.dumps(sorted(teams))
    before = entry(store, email)
    with store._write() as conn:
        conn.execute(delete(access_list).where(access_list.c.email_key == key))
        conn.execute(insert(access_list).values(
            email_key=key, email=email.strip(), role=role, teams=stored, granted_by=by,
            granted_at=utc_now()))
        audit(conn, "access granted", by, email=email.strip(), role=role,
              teams=None if teams is None else sorted(teams),
              before=None if before is None else _words(before))
    return Scope(email.strip(), role, teams, source="access list")


def revoke(store: Store, email: str, *, by: str) -> bool:
    """Take ``email`` off the access list; False (and nothing audited) when not on it."""
    before = entry(store, email)
    if before is None:
        return False
    with store._write() as conn:
        conn.execute(delete(access_list).where(access_list.c.email_key == email_key(email)))
        audit(conn, "access revoked", by, email=before.email, before=_words(before))
    return True


def _words(scope: Scope) -> str:
    teams = "every team" if scope.teams is None else ", ".join(sorted(scope.teams))
    return f"{scope.role} for {teams}"
