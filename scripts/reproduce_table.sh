#!/usr/bin/env bash
# The paper's tables for one source: the whole DDM and its baselines for each label budget,
# then Table 1 (best round, target-only and source-only) and, for GTA5, Table 4 (every round)
# beside the paper's values (scripts/paper_table.py).
#
#   bash scripts/reproduce_table.sh gta|synthia [BUDGET ...] [-- self_train.py args ...]
#
# BUDGETs are among 100 200 500 1000 2975 (default: all). Each budget runs
#   $DDM_PIPELINE_CMD --cfg configs/{gta,synthia}2cityscapes.yaml --num_labeled N
#                     --exp_dir $EXP_ROOT/{gta,synthia}2cityscapes_N --baselines [args ...]
# with DDM_PIPELINE_CMD defaulting to "python self_train.py"; for 8 Ascend devices use e.g.
#   DDM_PIPELINE_CMD="bash scripts/run_distribute_train_ascend.sh pipeline CFG msrun"
# (the launcher adds --cfg itself: then CFG there must be the same config). Finished budgets
# and steps are skipped on a re-run (self_train.py's manifest). EXP_ROOT defaults to experiments.
# On several devices, DDM_MULTI_DEVICE (default same_steps) sets TRAIN.MULTI_DEVICE:
# same_steps keeps the paper's 120,000 steps and schedule (N images a step), closest to its
# single-GPU optimisation; same_images divides the step counts by the device count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  gta|synthia) source=$1; shift ;;
  *) echo "error: first argument must be gta or synthia, got '${1:-}'" >&2; usage >&2; exit 2 ;;
esac
budgets=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case $1 in
    100|200|500|1000|2975) budgets+=("$1") ;;
    *) echo "error: a budget must be one of 100 200 500 1000 2975, got '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ "${1:-}" = -- ] && shift
[ ${#budgets[@]} -gt 0 ] || budgets=(100 200 500 1000 2975)
cfg=configs/${source}2cityscapes.yaml
exp_root=${EXP_ROOT:-experiments}
if [ -x .venv/bin/python ]; then PATH="$PWD/.venv/bin:$PATH"; fi
read -r -a pipeline <<< "${DDM_PIPELINE_CMD:-python self_train.py}"
recipe=${DDM_MULTI_DEVICE:-same_steps}
case $recipe in
  same_steps|same_images) ;;
  *) echo "error: DDM_MULTI_DEVICE must be same_steps or same_images, got '$recipe'" >&2; exit 2 ;;
esac
echo "[reproduce_table] multi-device recipe: TRAIN.MULTI_DEVICE=$recipe (on one device both are the paper's)"
for n in "${budgets[@]}"; do
  cmd=("${pipeline[@]}")
  case "${pipeline[*]}" in *run_distribute_train*) ;; *) cmd+=(--cfg "$cfg") ;; esac
  cmd+=(--num_labeled "$n" --exp_dir "$exp_root/${source}2cityscapes_$n" --baselines "$@"
        --opts "TRAIN.MULTI_DEVICE=$recipe")
  echo "[reproduce_table] budget $n: ${cmd[*]}"
  if [ "${DDM_DRY_RUN:-0}" != 1 ]; then "${cmd[@]}"; fi
done
python scripts/paper_table.py --source "$source" --exp_root "$exp_root" --budgets "${budgets[@]}"
