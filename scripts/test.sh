#!/usr/bin/env bash
# Quick start, command 2: set up and run the whole test suite with the
# standing checks (ruff, mypy, import-linter contract "core never imports Qt").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ui dev
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== pytest" && .venv/bin/python -m pytest "$@"
