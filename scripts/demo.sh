#!/usr/bin/env bash
# Quick start, command 1: set up, render the bundled demo (a procedurally drawn
# town GeoTIFF and strike footage filmed over it), then run the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ui
out=${1:-demo-out}
.venv/bin/workbench-fixtures demo --out "$out/data"
.venv/bin/workbench keyframes "$out/data/strike.mp4" --out "$out/keyframes"
