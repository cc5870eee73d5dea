#!/usr/bin/env bash
# Quick start 1: run the dashboard on the embedded default store (SQLite file data/capa.sqlite),
# on http://127.0.0.1:8501 only. Extra arguments go to `streamlit run`.
source "$(dirname "$0")/_env.sh"
capa_install requirements.txt
exec "$PY" -m streamlit run dashboard.py --server.address 127.0.0.1 --server.port "${PORT:-8501}" "$@"
