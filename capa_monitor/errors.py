"""User-facing errors: one clear sentence saying what is wrong and what to do."""


class CapaError(Exception):
    """An error whose message is shown to the user as it is (CLI: exit 1; app: an error box)."""


class LoadError(CapaError):
    """An upload that cannot be read at all (wrong file, hostile workbook, no usable columns)."""


class StoreError(CapaError):
    """A store operation refused (unknown upload id, a conflicting write...)."""
