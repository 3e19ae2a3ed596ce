#!/usr/bin/env bash
# The test suite from a fresh clone: sets up .venv (see setup_env.sh), then runs pytest.
# Usage: bash scripts/run_tests.sh [pytest args...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup_env.sh requirements-dev.txt
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
exec .venv/bin/python -m pytest "$@"
