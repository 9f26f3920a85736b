#!/usr/bin/env bash
# Quick start, command 1: set up, render the bundled demo (a procedurally drawn
# town GeoTIFF, a distractor town, and strike footage filmed over the first),
# then run the main job on it: `workbench locate`.
set -euo pipefail
cd "$(dirname "$0")/.."
# the learned matcher is installed by default (README: "Default or not");
# WORKBENCH_LEAN=1 leaves it out (SIFT only, ~0.9 GB less in .venv)
if [ -n "${WORKBENCH_LEAN:-}" ]; then bash scripts/setup.sh ui; else bash scripts/setup.sh ui learned; fi
out=${1:-demo-out}
.venv/bin/workbench-fixtures demo --out "$out/data"
.venv/bin/workbench locate "$out/data/strike.mp4" --tiles "$out/data/tiles" --out "$out/locate" --target 320,180
echo "Result: $out/locate/locate.json (keyframes in $out/locate/keyframes/). Next steps: README.md"
