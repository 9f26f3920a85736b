#!/usr/bin/env bash
# Quick start, command 2: set up and run the whole test suite with the
# standing checks (ruff, mypy, import-linter's contracts).  The learned extra
# (CPU torch, ~0.9 GB in .venv) is installed so its tests run instead of
# skipping; WORKBENCH_REQUIRE_LEARNED makes them fail if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ui dev learned scale
export WORKBENCH_REQUIRE_LEARNED=${WORKBENCH_REQUIRE_LEARNED:-1}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== pytest" && .venv/bin/python -m pytest "$@"
