"""Keyed pseudonyms and the NHS number Modulus 11 check (domain spec §7)."""

from __future__ import annotations

import hashlib
import hmac
import stat
import sys

import pandas as pd
import pytest

from capa_monitor import privacy
from capa_monitor.privacy import (
    nhs_digit_texts,
    nhs_number_valid,
    nhs_numbers_valid,
    pseudonym_key,
    pseudonymise,
)

# Modulus 11 worked by hand: weights 10..2 on the first nine digits.
# 999000001: 9*10 + 9*9 + 9*8 + 1*2 = 90 + 81 + 72 + 2 = 245; 245 mod 11 = 3; 11 - 3 = 8
# 999000002: 243 + 4 = 247; mod 11 = 5; 11 - 5 = 6
# 999000005: 243 + 10 = 253 = 23 * 11; mod 11 = 0; 11 - 0 = 11 → check digit 0
# 999123456: 90 + 81 + 72 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2 = 320; mod 11 = 1;
#   11 - 1 = 10 → no valid NHS number starts with these nine digits
NHS_ROWS = [
    ("9990000018", True),
    ("999 000 0018", True),
    ("999-000-0018", True),
    ("9990000026", True),
    ("9990000050", True),
    ("9990000019", False),  # check digit should be 8
    ("9990000020", False),  # should be 6
    ("9991234560", False),  # remainder gives 10: no valid number starts 999123456
    ("9991234569", False),
    ("999000001", False),  # nine digits
    ("99900000188", False),
    ("99900000AB", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "valid"), NHS_ROWS)
def test_nhs_number_check_digit(text, valid):
    assert nhs_number_valid(text) is valid


def test_nhs_check_over_a_column_keeps_blanks_unknown():
    checked = nhs_numbers_valid(pd.Series(["9990000018", None, "9990000019"], dtype="str"))
    assert checked.tolist() == [True, pd.NA, False]


# Separators people type between digit groups: a no-break space, an em space, a hyphen.
SEPARATED_ROWS = [
    ("999\u00a0000\u00a00018", "9990000018", True),
    ("999\u2003000\u20030018", "9990000018", True),
    (" 999-000-0026 ", "9990000026", True),
    ("999 000 0019", "9990000019", False),
]


def test_nhs_check_over_a_column_agrees_with_the_single_check():
    texts = [text for text, _ in NHS_ROWS] + [text for text, _, _ in SEPARATED_ROWS]
    expected = [valid for _, valid in NHS_ROWS] + [valid for _, _, valid in SEPARATED_ROWS]
    # Shuffled and sliced, so the column version meets an offset into its Arrow buffers.
    column = pd.Series(["x", *reversed(texts)], dtype="str").iloc[1:]
    assert nhs_numbers_valid(column).tolist() == list(reversed(expected))
    assert [nhs_number_valid(t) for t in texts] == expected


@pytest.mark.parametrize(("text", "digits", "_valid"), SEPARATED_ROWS)
def test_nhs_digits_drop_any_space_and_hyphens(text, digits, _valid):
    assert nhs_digit_texts(pd.Series([text], dtype="str")).tolist() == [digits]


def test_separator_list_is_every_character_python_calls_space_and_the_hyphen():
    spaces = {code for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert set(privacy._SEPARATOR_CODES) == spaces | {ord("-")}


def test_pseudonyms_are_keyed_hmac_sha256_and_stable():
    values = pd.Series(["nhs:9990000018", "id:P1", "nhs:9990000018", None], dtype="str")
    first = pseudonymise(values, b"key-one")
    expected = hmac.new(b"key-one", b"nhs:9990000018", hashlib.sha256).hexdigest()
    assert first[0] == expected == first[2]
    assert first[1] != first[0]
    assert pd.isna(first[3])
    assert pseudonymise(values, b"key-one").equals(first)
    other = pseudonymise(values, b"key-two")
    assert other[0] != first[0]


def test_key_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CAPA_PSEUDONYM_KEY", "secret from env")
    monkeypatch.setenv("CAPA_KEY_FILE", str(tmp_path / "unused.key"))
    assert pseudonym_key() == b"secret from env"
    assert not (tmp_path / "unused.key").exists()


def test_key_file_created_once_owner_only(monkeypatch, tmp_path):
    monkeypatch.delenv("CAPA_PSEUDONYM_KEY", raising=False)
    path = tmp_path / "conf" / "pseudonym.key"
    monkeypatch.setenv("CAPA_KEY_FILE", str(path))
    first = pseudonym_key()
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key() == first


@pytest.mark.parametrize(
    "key",
    [b"", b"short key", b"k" * 64, b"a key longer than the 64-byte SHA-256 block, so hashed first....."],
)
def test_pseudonyms_equal_the_standard_library_hmac_for_any_key_length(key):
    values = pd.Series(["nhs:9990000018", "name:jane smith", "id:Ó-7"], dtype="str")
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert pseudonymise(values, key).tolist() == expected
