"""Hostile and broken uploads (issue 6): each refused in one clear sentence, quickly, and a
parser that still crashes takes down only its child process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capa_monitor.errors import LoadError
from capa_monitor.loading.read import FAULT_FOR_TEST_ENV, read_upload, sandboxed_parse
from capa_monitor.settings import Limits
from tests import hostile_corpus as corpus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The row-limit case uses a small limit so the file stays small: 50 data rows + header = 51 rows.
SMALL_ROW_LIMIT = Limits(max_rows=20)

# File in the corpus → distinctive words its refusal must contain.
REFUSALS = {
    "billion_laughs.xlsx": ("declares entities", "save it again as .xlsx"),
    "external_entity.xlsx": ("refers to outside files", "save it again as .xlsx"),
    "zip_bomb.xlsx": ("compressed", "zip bomb"),
    "corner_cell_bomb.xlsx": ("column XFD", "16,384 columns", "300 columns"),
    "corner_cell_undeclared.xlsx": ("has a cell in column XFD",),
    "declared_dimension_bomb.xlsx": ("declares cells out to column XFD",),
    "too_many_rows.xlsx": ("more than 20 rows", "row 21", "shorter period"),
    "macros.xlsm": ("macros", "Excel Workbook (.xlsx)"),
    "truncated.xlsx": ("damaged or incomplete",),
    "password_protected.xlsx": ("password-protected", "remove the password", "save it as .xlsx"),
    "legacy.xls": ("old-format Excel file (.xls)", "save it as an Excel Workbook (.xlsx)"),
    "pdf_renamed.xlsx": ("PDF",),
    "html_renamed.xlsx": ("web page (HTML)",),
    "text_renamed.xlsx": ("'text_renamed.xlsx' is named as an Excel file but holds plain text",),
    "plain_zip_renamed.xlsx": ("ZIP archive, not an Excel workbook",),
    "word_renamed.xlsx": ("Word document",),
    "empty.csv": ("empty (0 bytes)",),
    "binary_junk.csv": ("binary data",),
    "nul_bytes.csv": ("NUL (zero) bytes",),
}
# Awkward but legitimate: these must read, reporting the encoding. (The loader, not the reader,
# refuses the file with no recognisable columns.)
READABLE = {
    "utf16.csv": "utf-16",
    "windows1252.csv": "cp1252",
    "no_recognisable_columns.csv": "utf-8",
}


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return corpus.build_corpus()


def test_corpus_covers_every_case(hostile_files):
    assert set(hostile_files) == set(REFUSALS) | set(READABLE)


def test_every_refusal_has_its_own_message(hostile_files):
    messages = {name: refusal_message(name, hostile_files[name]) for name in REFUSALS}
    # The two declared-dimension cases share a cause; everything else is told apart.
    dimension = {"corner_cell_bomb.xlsx", "declared_dimension_bomb.xlsx"}
    distinct = {m for name, m in messages.items() if name not in dimension}
    assert len(distinct) == len(REFUSALS) - len(dimension)


def refusal_message(name: str, data: bytes) -> str:
    limits = SMALL_ROW_LIMIT if name == "too_many_rows.xlsx" else Limits()
    with pytest.raises(LoadError) as refused:
        read_upload(data, name, limits=limits)
    return str(refused.value)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_hostile_file_is_refused_quickly_in_one_sentence(hostile_files, name):
    started = time.perf_counter()
    message = refusal_message(name, hostile_files[name])
    assert time.perf_counter() - started < 5
    for words in REFUSALS[name]:
        assert words in message
    assert "\n" not in message and message.endswith(".")
    assert "Traceback" not in message


@pytest.mark.parametrize(("name", "encoding"), sorted(READABLE.items()))
def test_awkward_csv_reads_and_reports_its_encoding(hostile_files, name, encoding):
    workbook = read_upload(hostile_files[name], name)
    assert workbook.encoding == encoding
    assert workbook.file_kind == "csv"


def test_utf16_and_windows1252_read_the_same_cells(hostile_files):
    utf16 = read_upload(hostile_files["utf16.csv"], "utf16.csv").sheets[0].cells
    cp1252 = read_upload(hostile_files["windows1252.csv"], "windows1252.csv").sheets[0].cells
    assert utf16.equals(cp1252)
    assert utf16.loc[1, 1] == "Ó Briain"


def test_rows_at_the_limit_are_read():
    # 19 data rows + header = 20 rows: exactly the limit.
    workbook = read_upload(corpus.long_sheet_xlsx(19), "ok.xlsx", limits=SMALL_ROW_LIMIT)
    assert workbook.sheets[0].cells.shape == (20, 4)


def test_unnumbered_rows_are_counted_against_the_limit():
    with pytest.raises(LoadError, match="has 51 rows, more than the 20-row limit"):
        read_upload(corpus.long_sheet_xlsx(50, numbered=False), "x.xlsx", limits=SMALL_ROW_LIMIT)


# --- the child process ---

NORMAL_CSV = b"Appt Date,Clinician\n03/07/2026,Jane Smith\n"


def test_dimension_bomb_past_the_guard_kills_only_the_child(hostile_files):
    # Straight to the sandbox, as if the guard had missed it: calamine aborts its process.
    with pytest.raises(LoadError, match="could not be read safely"):
        sandboxed_parse(hostile_files["corner_cell_bomb.xlsx"], "bomb.xlsx", "xlsx", None, Limits())
    assert read_upload(NORMAL_CSV, "after.csv").sheets[0].cells.loc[1, 1] == "Jane Smith"


@pytest.mark.parametrize(
    ("fault", "limits", "words"),
    [
        ("abort", Limits(), "could not be read safely (the reader stopped"),
        ("hang", Limits(read_timeout_s=1), "could not be read safely within the 1-second limit"),
        ("exhaust-memory", Limits(read_memory_bytes=1024**3), "within the 1 GB memory limit"),
    ],
)
def test_a_failing_child_leaves_the_parent_serving(monkeypatch, fault, limits, words):
    monkeypatch.setenv(FAULT_FOR_TEST_ENV, fault)
    started = time.perf_counter()
    with pytest.raises(LoadError) as refused:
        read_upload(NORMAL_CSV, "crash.csv", limits=limits)
    assert words in str(refused.value)
    assert time.perf_counter() - started < 5
    monkeypatch.delenv(FAULT_FOR_TEST_ENV)
    assert read_upload(NORMAL_CSV, "after.csv").sheets[0].cells.loc[1, 1] == "Jane Smith"


def test_parser_error_in_the_child_is_one_sentence():
    # A workbook whose sheet XML is not well-formed passes the guard; calamine raises instead.
    broken = corpus.raw_xlsx({"Activity": '<worksheet><sheetData><row r="1"><c r="A1"><v>1</c>'})
    with pytest.raises(LoadError, match=r"^The file could not be read \(.+\); open it in Excel"):
        read_upload(broken, "broken.xlsx")


# --- the command line: exit 1, one line on stderr, no traceback ---


def run_inspect(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capa_monitor", "inspect", str(path), *extra],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, hostile_files) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in hostile_files.items():
        (folder / name).write_bytes(data)
    return folder


# The row-limit case needs a limit the CLI does not take; every other refusal is checked here.
CLI_REFUSALS = {name: words for name, words in REFUSALS.items() if name != "too_many_rows.xlsx"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLI_REFUSALS))
def test_cli_refuses_with_exit_1_and_one_line(corpus_dir, name):
    started = time.perf_counter()
    finished = run_inspect(corpus_dir / name)
    assert time.perf_counter() - started < 5
    assert finished.returncode == 1
    assert finished.stdout == ""
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert "Traceback" not in finished.stderr
    for words in CLI_REFUSALS[name]:
        assert words in lines[0]


@pytest.mark.slow
def test_cli_refuses_a_file_with_no_recognisable_columns_naming_its_headers(corpus_dir):
    finished = run_inspect(corpus_dir / "no_recognisable_columns.csv")
    assert finished.returncode == 1
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "Fruit" in finished.stderr and "Traceback" not in finished.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("name", "encoding"), [("utf16.csv", "utf-16"), ("windows1252.csv", "cp1252")])
def test_cli_reads_awkward_encodings_and_reports_them(corpus_dir, name, encoding):
    finished = run_inspect(corpus_dir / name, "--format", "json")
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["encoding"] == encoding
    assert report["clinicians"] == ["Ó Briain"]
