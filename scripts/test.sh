#!/usr/bin/env bash
# Quick start 2: the whole test suite, installing what it needs first:
# Python packages (venv), Debian's Chromium (browser tests), PostgreSQL (store tests on a
# real server, started on loopback for the run and stopped after) and poppler-utils (the
# review pack's test reads its PDF). Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh"
bash scripts/browser_deps.sh
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "installing Debian packages: postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# poppler-utils: the review-pack test turns the PDF into PNG pages and text (pdftoppm, pdftotext)
if [ ! -x /usr/bin/pdftoppm ]; then
  echo "installing Debian packages: poppler-utils"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
capa_install requirements-dev.txt
if [ -z "${CAPA_TEST_POSTGRES_URL:-}" ]; then
  CAPA_TEST_POSTGRES_URL="$(bash scripts/postgres.sh start)"
  export CAPA_TEST_POSTGRES_URL
  trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
"$PY" -m pytest "$@"
