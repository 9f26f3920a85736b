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
# two worker processes (CI has 2 cores); tests sharing the demo locate, an X display or
# Dask ports stay on one worker (tests/conftest.py).  WORKBENCH_TEST_WORKERS=0: serial.
workers=${WORKBENCH_TEST_WORKERS:-2}
par=()
[ "$workers" != 0 ] && par=(-n "$workers" --dist loadgroup)
echo "== pytest" && .venv/bin/python -m pytest "${par[@]}" "$@"
