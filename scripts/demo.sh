#!/usr/bin/env bash
# Quick start, command 1: set up, render the bundled demo (a procedurally drawn
# town GeoTIFF, a distractor town, and strike footage filmed over the first),
# then run the main job on it: `workbench locate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ui
out=${1:-demo-out}
.venv/bin/workbench-fixtures demo --out "$out/data"
.venv/bin/workbench locate "$out/data/strike.mp4" --tiles "$out/data/tiles" --out "$out/locate" --target 320,180
echo "Result: $out/locate/locate.json (keyframes in $out/locate/keyframes/). Next steps: README.md"
