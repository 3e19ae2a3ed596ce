#!/usr/bin/env bash
# The test suite from a fresh clone: sets up .venv (see setup_env.sh), then runs pytest.
# Usage: bash scripts/run_tests.sh [pytest args...]   (DDM_TEST_WORKERS=N: N workers, default 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup_env.sh requirements-dev.txt
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
# Two workers (pytest-xdist): on this project's 2-core machines the suite took 749 s so, about
# 990 s in one process (docs/PERFORMANCE.md). DDM_TEST_WORKERS=0 runs it in this process.
exec .venv/bin/python -m pytest -n "${DDM_TEST_WORKERS:-2}" "$@"
