# Shared by run.sh and test.sh: a project virtualenv with the pinned requirements.
# Sourced, not run. Sets PY to the venv's python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CAPA_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
capa_install() {  # capa_install requirements-file: quiet, and skipped when nothing changed
  local req="$1" stamp="$VENV/.installed-$(basename "$1")"
  if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
    "$PY" -m pip install --disable-pip-version-check -q -r "$req"
    touch "$stamp"
  fi
}
