"""Client identifiers never pass the loader: keyed pseudonyms and the NHS number check digit (§7).

The key lives outside the database (environment or an owner-only key file), so a copied
database cannot be turned back into NHS numbers by hashing the 999-range or any other list.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 hex of each value, once per distinct value; blanks stay <NA>."""
    codes, uniques = pd.factorize(values)
    inner, outer = _hmac_sha256_states(key)
    copy_inner, copy_outer = inner.copy, outer.copy
    hashed = []
    append = hashed.append
    for text in uniques.tolist():
        # HMAC as RFC 2104 defines it, from the two keyed SHA-256 states copied per value:
        # four times faster than hmac.digest, which redoes the key schedule every call.
        message = copy_inner()
        message.update(text.encode("utf-8"))
        mac = copy_outer()
        mac.update(message.digest())
        append(mac.hexdigest())
    spread = pd.array(hashed, dtype="str").take(codes, allow_fill=True)
    return pd.Series(spread, index=values.index)


def _hmac_sha256_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    block = 64  # SHA-256 block size in bytes
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


# Every character Python's str.isspace() accepts, and the hyphen: what people type between the
# digit groups of an NHS number (written out so that the column-wide version can use one regex).
_SEPARATOR_CODES = (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, ord("-"),
)
_SEPARATORS = dict.fromkeys(_SEPARATOR_CODES)
_SEPARATOR_REGEX = "[" + "".join(f"\\x{{{code:x}}}" for code in _SEPARATOR_CODES) + "]"


def nhs_digits(text: str) -> str:
    """An NHS number as its digits: `999 000 0018` and `999-000-0018` are the same number."""
    return str(text).translate(_SEPARATORS)


def nhs_digit_texts(values: pd.Series) -> pd.Series:
    """`nhs_digits` over a text column at C speed; blanks stay missing."""
    texts = _arrow_texts(values)
    digits = pc.replace_substring_regex(texts, pattern=_SEPARATOR_REGEX, replacement="")
    return pd.Series(pd.array(digits, dtype="str"), index=values.index)


def nhs_number_valid(text: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; check = 11 - (sum mod 11),
    11 → 0, and 10 means no valid number has those nine digits."""
    digits = nhs_digits(text)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def nhs_numbers_valid(values: pd.Series) -> pd.Series:
    """`nhs_number_valid` over a column, the arithmetic in numpy; blanks are <NA>."""
    codes, uniques = pd.factorize(nhs_digit_texts(values))
    digits = _arrow_texts(pd.Series(uniques, dtype="str"))
    ten_digits = pc.match_substring_regex(digits, pattern="^[0-9]{10}$").to_numpy(
        zero_copy_only=False
    )
    checked = np.zeros(len(digits), dtype=bool)
    if ten_digits.any():
        numbers = _ascii_digit_rows(pc.filter(digits, pa.array(ten_digits)), width=10)
        check = (11 - numbers[:, :9] @ np.array(_NHS_WEIGHTS)) % 11  # 11 → 0 by the modulus
        checked[ten_digits] = (check != 10) & (check == numbers[:, 9])
    flags = pd.array(checked, dtype="boolean")
    return pd.Series(flags.take(codes, allow_fill=True), index=values.index)


def _ascii_digit_rows(texts: pa.Array, width: int) -> np.ndarray:
    """Texts of exactly `width` ASCII digits → an (n, width) array of their digit values."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    offsets_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(texts.buffers()[1], dtype=offsets_type)
    start = int(offsets[texts.offset])
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[start : start + width * len(texts)]
    return data.reshape(-1, width).astype(np.int64) - ord("0")


def _arrow_texts(values: pd.Series) -> pa.Array:
    texts = pa.array(values.astype("str").array)
    return texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
