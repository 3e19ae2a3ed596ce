#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install what it needs.
# Usage: bash scripts/setup_env.sh [requirements-file]   (default: requirements-dev.txt)
# Re-installs only when the requirements files changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
req=${1:-requirements-dev.txt}
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.installed-$(cat requirements.txt "$req" | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "[setup] installing $req into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
