"""Client identifiers never pass the loader: keyed pseudonyms and the NHS number check digit (§7).

The key lives outside the database (environment or an owner-only key file), so a copied
database cannot be turned back into NHS numbers by hashing the 999-range or any other list.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

KEY_ENV = "CAPA_PSEUDONYM_KEY"
KEY_FILE_ENV = "CAPA_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/capa-monitor/pseudonym.key")

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def key_file_path() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()


def pseudonym_key() -> bytes:
    """The pseudonym key: $CAPA_PSEUDONYM_KEY, else the key file (created once, mode 0600)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode("utf-8")
    path = key_file_path()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_hex(32).encode("ascii")
    try:
        # O_EXCL: two processes starting together must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def pseudonym(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 hex of each value, once per distinct value; blanks stay <NA>."""
    codes, uniques = pd.factorize(values)
    hashed = pd.array([pseudonym(str(u), key) for u in uniques], dtype="str")
    return pd.Series(hashed.take(codes, allow_fill=True), index=values.index)


def nhs_digits(text: str) -> str:
    """An NHS number as its digits: `999 000 0018` and `999-000-0018` are the same number."""
    return "".join(ch for ch in str(text) if not ch.isspace() and ch != "-")


def nhs_number_valid(text: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; check = 11 - (sum mod 11),
    11 → 0, and 10 means no valid number has those nine digits."""
    digits = nhs_digits(text)
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def nhs_numbers_valid(values: pd.Series) -> pd.Series:
    """Vectorised check over a column; blanks are <NA> (nothing to check)."""
    codes, uniques = pd.factorize(values)
    checked = pd.array([nhs_number_valid(str(u)) for u in uniques], dtype="boolean")
    return pd.Series(checked.take(codes, allow_fill=True), index=values.index)
