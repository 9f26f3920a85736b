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
# Python's default bytecode cache, even where the machine turns it off: every worker and
# every child process the tests start would otherwise recompile the project's modules
# (and pytest re-rewrite every test module's asserts) from source.
unset PYTHONDONTWRITEBYTECODE
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
# two worker processes (CI has 2 cores); work stealing keeps both busy to the end.  Not
# loadscope/loadgroup: in pytest-xdist 3.8 they can hang for good once a crashed worker
# is replaced (pytest-xdist #1323/#1378).  WORKBENCH_TEST_WORKERS=0: serial.  The whole run is
# bounded, so a hang the per-test faulthandler limit (pyproject.toml) misses still ends.
workers=${WORKBENCH_TEST_WORKERS:-2}
par=()
[ "$workers" != 0 ] && par=(-n "$workers" --dist worksteal)
# WORKBENCH_TEST_TIMEOUT: seconds the pytest run may take (default 3000).  timeout(1)
# runs pytest in a process group of its own, so Ctrl-C never reaches it: the trap asks
# timeout to end the whole group (timeout passes a TERM on to it).
echo "== pytest"
timeout -k 60 "${WORKBENCH_TEST_TIMEOUT:-3000}" .venv/bin/python -m pytest "${par[@]}" "$@" &
run=$!
trap 'kill -TERM "$run" 2>/dev/null' INT TERM
rc=0
wait "$run" || rc=$?
while kill -0 "$run" 2>/dev/null; do wait "$run" || rc=$?; done  # woken by the trap
exit "$rc"
