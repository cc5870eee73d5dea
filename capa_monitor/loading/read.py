"""Uploaded bytes → raw text tables, every cell as the text a person would read in the sheet.

Nothing here guesses what a column means: the header finder and the normaliser do that. Keeping
every cell as text first is what keeps ids like `0012345` and NHS numbers in their form.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import mmap
import multiprocessing
import multiprocessing.connection
import multiprocessing.reduction
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from capa_monitor.errors import LoadError
from capa_monitor.loading.guard import XLSX, base_name, decode_text, scan_xlsx, screen_upload
from capa_monitor.settings import Limits

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where it is used: the reader process (the zygote below) starts without it,
# which halves its start-up, and takes it in once it is idle.


@dataclass(frozen=True)
class RawSheet:
    name: str
    cells: pd.DataFrame  # every column dtype "str" (missing = NaN), columns 0..n-1,
    # index 0..m-1 = sheet row - 1 (so sheet row number = index + 1)


@dataclass(frozen=True)
class RawWorkbook:
    file_kind: str  # "xlsx" | "csv"
    sheets: tuple[RawSheet, ...]  # workbook order; a CSV is one sheet named after the file
    encoding: str | None  # CSV only: "utf-8", "utf-8-sig", "utf-16", "cp1252"
    sha256: str  # of the uploaded bytes


DEFAULT_LIMITS = Limits()
CSV_DELIMITERS = (",", ";", "\t")
# How many lines the delimiter vote looks at: enough to get past title rows above the header.
DELIMITER_SAMPLE_LINES = 200


def read_upload(
    data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS, sheet: str | None = None
) -> RawWorkbook:
    """Read an uploaded .xlsx or .csv into raw text tables, or raise LoadError saying why not.

    The guard checks the raw bytes first; the parse then runs in a child process with memory and
    time limits, so a file that still defeats the parser kills only the child.
    """
    kind = screen_upload(data, filename, limits)
    # The screen settled everything that could hurt the child; the full reference scan runs
    # on this core while the child parses on another, and its verdict comes first.
    full_scan = (lambda: scan_xlsx(data, limits)) if kind == XLSX else None
    sheets, encoding = sandboxed_parse(data, filename, kind, sheet, limits, while_parsing=full_scan)
    return RawWorkbook(kind, sheets, encoding, hashlib.sha256(data).hexdigest())


def parse_tables(
    data: bytes, filename: str, kind: str, sheet: str | None, limits: Limits
) -> tuple[list[tuple[str, pa.Table]], str | None]:
    """(sheet name, Arrow table with text columns "0", "1", …) per sheet, and the CSV encoding."""
    if kind == XLSX:
        return read_xlsx_tables(data, sheet), None
    sheet_name, cells, encoding = read_csv_table(data, filename, limits)
    if sheet is not None and sheet != sheet_name:
        raise LoadError(
            f"There is no sheet called {sheet!r}: a CSV file has one table, called {sheet_name!r}."
        )
    cells = cells.set_axis([str(c) for c in cells.columns], axis=1)
    return [(sheet_name, pa.Table.from_pandas(cells, preserve_index=False))], encoding


def _cells(table: pa.Table) -> pd.DataFrame:
    """An Arrow sheet table as RawSheet.cells: str columns 0..n-1, index 0..m-1."""
    cells = table.to_pandas()
    cells.columns = range(cells.shape[1])
    return cells


# --- the child process ----------------------------------------------------------------------
#
# A small "zygote" process (`python -m capa_monitor.loading.read`) imports pandas and fastexcel
# once and forks one child per upload, so a read costs milliseconds of start-up instead of a
# fresh interpreter, and the threaded Streamlit server itself never forks. The zygote is started
# with fork+exec (subprocess), runs single-threaded, and exits when its parent does.
# multiprocessing's forkserver would do the same but re-runs the caller's __main__ script in
# every child, which breaks scripts without a __main__ guard.

# Tests set this to make the child fail as a hostile file would: "abort" (as calamine does on a
# dimension bomb), "hang", or "exhaust-memory".
FAULT_FOR_TEST_ENV = "CAPA_TEST_READER_FAULT"
_GIB = 1024**3
IDLE_IMPORT_DELAY_S = 1.0
# Keeps the zygote single-threaded (no BLAS pool, no jemalloc background thread), so fork is safe.
_ZYGOTE_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}


# Runs this module without the package's __init__ (the loader, which imports pandas): the
# zygote needs only the guard, fastexcel and Arrow to start serving.
_ZYGOTE_BOOTSTRAP = """
import os, sys, types
package = types.ModuleType("capa_monitor.loading")
package.__path__ = [os.path.dirname(os.path.abspath(sys.argv[1]))]
sys.modules["capa_monitor.loading"] = package
from capa_monitor.loading.read import serve
serve(sys.argv[2])
"""


class _Zygote:
    """The parent's handle on the zygote: started on first use, restarted if it has gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._address = ""

    def ensure_started(self) -> None:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()

    def connect(self) -> multiprocessing.connection.Connection:
        self.ensure_started()
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(self._address)
        except OSError:
            client.close()
            raise
        return multiprocessing.connection.Connection(client.detach())

    def _start(self) -> None:
        # A private folder (mode 0700): only this user can reach the socket.
        self._address = os.path.join(tempfile.mkdtemp(prefix="capa-reader-"), "socket")
        project_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {**os.environ, **_ZYGOTE_ENV}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE_BOOTSTRAP, __file__, self._address],
            stdin=subprocess.PIPE,  # never written: the zygote exits when it closes
            stdout=subprocess.PIPE,
            env=env,
        )
        # The zygote prints one line once it is listening.
        if not self._process.stdout.readline():
            raise LoadError(
                "The file reader could not be started; try again, and tell the administrator if "
                "it keeps happening."
            )


_zygote = _Zygote()


def warm_up() -> None:
    """Start the reader process in the background, so that the first upload does not wait
    for it (about half a second of imports); call once when a server starts."""

    def start_quietly() -> None:
        # A failure here is reported by the upload that needs the reader, which retries.
        with contextlib.suppress(LoadError, OSError):
            _zygote.ensure_started()

    threading.Thread(target=start_quietly, name="capa-reader-warm-up", daemon=True).start()


def sandboxed_parse(
    data: bytes,
    filename: str,
    kind: str,
    sheet: str | None,
    limits: Limits,
    *,
    while_parsing: Callable[[], None] | None = None,
) -> tuple[tuple[RawSheet, ...], str | None]:
    """`parse_tables` in a child process with Limits.read_memory_bytes and Limits.read_timeout_s.

    `while_parsing` runs here while the child works; if it raises, the child is killed and
    its result never used.
    """
    fault_for_test = os.environ.get(FAULT_FOR_TEST_ENV)
    with _zygote.connect() as connection:
        try:
            child_pid = connection.recv()
            connection.send((data, filename, kind, sheet, limits, fault_for_test))
            started = time.monotonic()
            if while_parsing is not None:
                try:
                    while_parsing()
                except BaseException:
                    _kill_quietly(child_pid)
                    raise
            remaining = limits.read_timeout_s - (time.monotonic() - started)
            if not connection.poll(max(remaining, 0)):
                _kill_quietly(child_pid)
                raise LoadError(
                    f"The file could not be read safely within the {limits.read_timeout_s:g}-second "
                    "limit; export a shorter period (for example one quarter) and upload that."
                )
            status, payload = connection.recv()
            if status == "ok":
                layout, encoding = payload
                payload = _sheets_from_shared_memory(
                    multiprocessing.reduction.recv_handle(connection), layout
                ), encoding
        except (EOFError, OSError) as exc:
            # The child died without answering: the parser crashed or hit the memory limit.
            raise LoadError(
                "The file could not be read safely (the reader stopped: the file may be damaged "
                "or built to exhaust memory); open it in Excel, save it again as .xlsx and upload "
                "that."
            ) from exc
    if status == "ok":
        return payload
    if status == "memory":
        raise LoadError(
            f"The file could not be read safely within the {limits.read_memory_bytes / _GIB:g} GB "
            "memory limit; export a shorter period (for example one quarter) and upload that."
        )
    if status == "refused":
        raise LoadError(payload)
    raise LoadError(
        f"The file could not be read ({payload}); open it in Excel, save it again as .xlsx or "
        ".csv and upload the new copy."
    )


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def serve(address: str) -> None:
    """The zygote: accept a connection per upload and fork a child to parse it."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    import fastexcel  # noqa: F401  # once here, not in every forked child

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    print("ready", flush=True)
    parent = sys.stdin.buffer
    idle_imports_done = False
    try:
        while True:
            # pandas (for CSV children) is taken in after a second with no upload: never ahead
            # of one, nor beside a child still parsing a small file.
            wait = None if idle_imports_done else IDLE_IMPORT_DELAY_S
            ready, _, _ = select.select([listener, parent], [], [], wait)
            if not ready:
                import pandas  # noqa: F401

                idle_imports_done = True
                continue
            if parent in ready:
                return  # stdin closed: the parent process has exited
            try:
                accepted, _ = listener.accept()
            except OSError:
                continue
            if os.fork() == 0:
                try:
                    listener.close()
                    _child(multiprocessing.connection.Connection(accepted.detach()))
                finally:
                    os._exit(0)
            accepted.close()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(address)
            os.rmdir(os.path.dirname(address))


def _child(connection: multiprocessing.connection.Connection) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # A parser that aborts (calamine on a dimension bomb) prints a backtrace: the parent says
    # what happened in one sentence, so the child's own words must not reach the user's terminal.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)
    os.close(quiet)
    connection.send(os.getpid())
    data, filename, kind, sheet, limits, fault_for_test = connection.recv()
    _limit_resource(resource.RLIMIT_AS, limits.read_memory_bytes)
    _limit_resource(resource.RLIMIT_CORE, 0)  # a crash must not leave a core file of patient data
    signal.alarm(int(limits.read_timeout_s) + 5)  # a backstop should the parent vanish
    shared = None
    try:
        _simulate_fault(fault_for_test, limits)
        tables, encoding = parse_tables(data, filename, kind, sheet, limits)
        shared, layout = _sheets_to_shared_memory(tables)
        outcome = ("ok", (layout, encoding))
    except LoadError as exc:
        outcome = ("refused", str(exc))
    except MemoryError:
        outcome = ("memory", None)
    except Exception as exc:  # any parser failure becomes one line for the parent's message
        text = str(exc).strip()
        outcome = ("failed", (text.splitlines()[0] if text else type(exc).__name__)[:160])
    del data
    try:
        connection.send(outcome)
    except MemoryError:
        connection.send(("memory", None))
    if shared is not None:
        multiprocessing.reduction.send_handle(connection, shared, os.getppid())


# The cells go back to the parent as Arrow IPC streams in an anonymous shared-memory file whose
# descriptor is passed over the socket: the parent maps it and wraps the columns without a copy,
# where pickling a million-row frame cost seconds each way.


def _sheets_to_shared_memory(
    tables: list[tuple[str, pa.Table]],
) -> tuple[int, list[tuple[str, int, int]]]:
    """(memfd, [(sheet name, offset, length)]) holding each sheet's table as an IPC stream."""
    descriptor = os.memfd_create("capa-sheets", os.MFD_CLOEXEC)
    layout = []
    with open(descriptor, "wb", closefd=False) as out:
        for name, table in tables:
            start = out.tell()
            with pa.ipc.new_stream(out, table.schema) as writer:
                writer.write_table(table)
            layout.append((name, start, out.tell() - start))
    return descriptor, layout


def _sheets_from_shared_memory(
    descriptor: int, layout: list[tuple[str, int, int]]
) -> tuple[RawSheet, ...]:
    try:
        mapped = mmap.mmap(descriptor, 0, prot=mmap.PROT_READ)
    finally:
        os.close(descriptor)
    # The Arrow buffer keeps the mapping alive as long as any column still uses it.
    memory = pa.py_buffer(mapped)
    return tuple(
        RawSheet(name, _cells(pa.ipc.open_stream(memory.slice(start, length)).read_all()))
        for name, start, length in layout
    )


def _simulate_fault(fault: str | None, limits: Limits) -> None:
    if fault == "abort":
        os.abort()
    if fault == "hang":
        time.sleep(3600)
    if fault == "exhaust-memory":
        bytearray(limits.read_memory_bytes)  # the interpreter already uses some: over the limit


def _limit_resource(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


# --- xlsx -----------------------------------------------------------------------------------


def read_xlsx_tables(data: bytes, sheet: str | None) -> list[tuple[str, pa.Table]]:
    """All sheets in workbook order, or just the named one."""
    import fastexcel  # imported here so CSV-only callers never load the Rust extension

    reader = fastexcel.read_excel(data)
    names = list(reader.sheet_names)
    if sheet is not None:
        if sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise LoadError(
                f"There is no sheet called {sheet!r} in this workbook; its sheets are {listed}."
            )
        names = [sheet]
    return [(name, _xlsx_sheet_table(reader, name)) for name in names]


def _xlsx_sheet_table(reader, name: str) -> pa.Table:
    # dtypes="string" for ALL columns: fastexcel otherwise guesses a column's type from its first
    # 1,000 rows and silently blanks later values that do not fit. skip_rows=0 keeps leading blank
    # rows so that the row number stays "sheet row - 1". Loaded eagerly (straight to Arrow: a
    # million rows 0.5 s sooner than a lazy sheet's to_arrow); the column filter, which keeps
    # every column, is how the eager load tells where the sheet's columns start.
    positions: list[int] = []

    def every_column(column) -> bool:
        positions.append(column.absolute_index)
        return True

    batch = reader.load_sheet(
        name, header_row=None, skip_rows=0, dtypes="string", eager=True, use_columns=every_column
    )
    if not positions:
        return pa.table({"0": pa.array([], pa.large_string())})
    # calamine starts the table at the first used column; pad so that column 0 is sheet column A.
    first_column = min(positions)
    blank = pa.nulls(batch.num_rows, pa.string())
    arrays = [blank] * first_column + [_excel_text(column) for column in batch.columns]
    return pa.table(arrays, names=[str(i) for i in range(len(arrays))])


def _excel_text(column: pa.Array) -> pa.Array:
    """fastexcel's text for date cells → ISO dates; time-only cells → HH:MM:SS; TRUE/FALSE.

    Arrow compute on the whole column; each rewrite runs only when a cheap prefix or suffix
    test finds a candidate.
    """
    if pc.any(pc.ends_with(column, " 00:00:00")).as_py():
        is_date = pc.match_substring_regex(column, r"^[0-9]{4}-[0-9]{2}-[0-9]{2} 00:00:00$")
        column = pc.if_else(is_date, pc.utf8_slice_codeunits(column, 0, 10), column)
    # Excel keeps a time-only cell as a fraction of a day; calamine renders it on its epoch day.
    if pc.any(pc.starts_with(column, "1899-12-3")).as_py():
        is_time = pc.match_substring_regex(column, r"^1899-12-3[01] [0-9]{2}:[0-9]{2}:[0-9]{2}$")
        column = pc.if_else(is_time, pc.utf8_slice_codeunits(column, 11), column)
    # Two plain comparisons: is_in builds a hash table per call and costs ten times more.
    booleans = pc.or_(pc.equal(column, "true"), pc.equal(column, "false"))
    if pc.any(booleans).as_py():
        column = pc.if_else(booleans, pc.utf8_upper(column), column)
    return column


# --- csv ------------------------------------------------------------------------------------


def read_csv_table(data: bytes, filename: str, limits: Limits) -> tuple[str, pd.DataFrame, str]:
    """(sheet name, cells, encoding) of a delimited text file."""
    import pandas as pd

    text, encoding = decode_text(data)
    utf8 = text.encode("utf-8")
    delimiter = detect_delimiter(text)
    width = _max_fields(utf8, delimiter)
    if width > limits.max_columns:
        raise LoadError(
            f"This CSV file has a line of {width:,} fields, more than the {limits.max_columns:,} "
            "columns CAPA Monitor reads; check it is the activity export and export it again."
        )
    cells = pd.read_csv(
        io.BytesIO(utf8),
        sep=delimiter,
        header=None,
        names=range(width),
        dtype="str",
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        encoding="utf-8",
        engine="c",
    )
    cells = _drop_trailing_blank_columns(cells.astype("str"))
    return _csv_sheet_name(filename), cells.reset_index(drop=True), encoding


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the most sample lines into the same number of fields."""
    sample_lines = text[: 1 << 20].splitlines()[:DELIMITER_SAMPLE_LINES]
    sample = "\n".join(sample_lines)
    best, best_score = ",", 0
    for delimiter in CSV_DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter)]
        widths = [w for w in widths if w > 1]
        if not widths:
            continue
        values, counts = np.unique(widths, return_counts=True)
        # Agreement (lines sharing the commonest width) weighted by how many fields it gives.
        score = int(counts.max()) * int(values[counts.argmax()])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _max_fields(utf8: bytes, delimiter: str) -> int:
    """An upper bound on the fields in any line (quoted delimiters count too: trimmed later)."""
    raw = np.frombuffer(utf8, dtype=np.uint8)
    if raw.size == 0:
        return 1
    newline_at = np.flatnonzero(raw == ord("\n"))
    running = np.cumsum(raw == ord(delimiter), dtype=np.int64)
    line_ends = np.append(newline_at, raw.size - 1)
    per_line = np.diff(np.concatenate(([0], running[line_ends])))
    return int(per_line.max()) + 1


def _drop_trailing_blank_columns(cells: pd.DataFrame) -> pd.DataFrame:
    used = cells.notna().any(axis=0).to_numpy()
    last = int(np.flatnonzero(used).max()) + 1 if used.any() else 1
    return cells.iloc[:, :last]


def _csv_sheet_name(filename: str) -> str:
    base = base_name(filename)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem or "CSV"

