#!/usr/bin/env bash
# Set up (or update) the project's virtualenv in .venv, with the extras given
# as arguments (e.g. `scripts/setup.sh ui dev`), on a fresh Debian/Ubuntu with
# Python >= 3.11.  As root (or with sudo) it also installs the few Debian
# packages Python wheels cannot bring: venv support, the X/xcb libraries
# PyQt6's platform plugins load, Xvfb for the real-window test, poppler-utils
# (PDF -> PNG) and a font.  Without root it prints the apt-get line and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=$(IFS=,; echo "$*")
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python >= 3.11 is needed (apt-get install python3)" >&2; exit 2; }

DEBS="libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0
  libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0 libxcb-sync1
  libxcb-xkb1 xvfb xauth poppler-utils fonts-dejavu-core"
if command -v dpkg-query >/dev/null 2>&1 && [ -z "${WORKBENCH_NO_APT:-}" ]; then
  missing=""
  # Debian splits venv/ensurepip out of its python3 package
  "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing=" python3-venv python3-pip"
  for d in $DEBS; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || missing="$missing $d"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
    if [ "$SUDO" = none ]; then
      echo "setup: please install (as root): apt-get install -y$missing" >&2
    else
      echo "setup: installing Debian packages:$missing" >&2
      export DEBIAN_FRONTEND=noninteractive
      $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || true
      # shellcheck disable=SC2086
      $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >&2 \
        || echo "setup: some Debian packages could not be installed; GUI-under-X tests may skip" >&2
    fi
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Every version comes from the lock, constraints.txt (refresh: bash scripts/lock.sh);
# pyproject.toml keeps the ranges.  The build tools come from the lock too, and the
# project is built without an isolated build environment, so nothing unpinned enters.
stamp=.venv/.workbench-setup
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) [$extras]"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip=(.venv/bin/python -m pip install -q -c constraints.txt)
  "${pip[@]}" pip >&2
  "${pip[@]}" setuptools wheel >&2
  spec="."; [ -n "$extras" ] && spec=".[${extras}]"
  "${pip[@]}" --no-build-isolation -e "$spec" >&2
  echo "$want" > "$stamp"
fi
