#!/usr/bin/env bash
# The test suite from a fresh clone: sets up .venv (see setup_env.sh), then runs pytest.
# Usage: bash scripts/run_tests.sh [pytest args...]   (DDM_TEST_WORKERS=N: N workers, default 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup_env.sh requirements-dev.txt
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
# Two workers (pytest-xdist), an idle one taking tests from the other's queue (worksteal): on
# this project's 2-core machines the suite took 599 s so, 678 s with xdist's fixed shares
# (docs/PERFORMANCE.md). DDM_TEST_WORKERS=0 runs it in this process.
exec .venv/bin/python -m pytest -n "${DDM_TEST_WORKERS:-2}" --dist worksteal "$@"
