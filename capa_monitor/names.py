"""How a clinician's name in a job plan matches the same clinician in activity (§4): spacing
tidied, case ignored. One rule for the loader, the store, the metrics and the pages."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: clinician_keys tidies each row's text directly when there are fewer rows than this.
_TIDY_EACH_BELOW = 1000


def clinician_key(name: str) -> str:
    """`  Jane  SMITH ` → `jane smith`."""
    return " ".join(str(name).split()).casefold()


def clinician_keys(names: pd.Series) -> pd.Series:
    """`clinician_key` over a column (same index)."""
    if not isinstance(names.dtype, pd.StringDtype) or len(names) < _TIDY_EACH_BELOW:
        return _tidy(names)
    # Tidy each distinct spelling once (a quarter of every team: many rows, few names); rows
    # with equal text share a code, and code 0 stands for a missing name.
    codes = pd.factorize(names)[0] + 1
    row_of_code = np.zeros(codes.max() + 1, dtype=np.intp)
    row_of_code[codes] = np.arange(len(names))
    return _tidy(names.iloc[row_of_code]).iloc[codes].set_axis(names.index)


def _tidy(names: pd.Series) -> pd.Series:
    return names.astype("str").str.split().str.join(" ").str.casefold()
