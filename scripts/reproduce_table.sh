#!/usr/bin/env bash
# The paper's tables for one source: the whole DDM and its baselines for each label budget,
# then Table 1 (best round, target-only and source-only) and, for GTA5, Table 4 (every round)
# beside the paper's values (scripts/paper_table.py).
#
#   bash scripts/reproduce_table.sh gta|synthia [BUDGET ...] [-- self_train.py args ...]
#
# BUDGETs are among 100 200 500 1000 2975 (default: all). They run as one command,
#   python self_train.py --cfg configs/{gta,synthia}2cityscapes.yaml --num_labeled BUDGET ...
#                        --exp_root $EXP_ROOT --baselines [args ...]
# whose steps (every budget's teachers, students, baselines) are one set: with DDM_DEVICE_IDS
# (e.g. 0,1,2,3,4,5,6,7) a worker per device takes the step that heads the longest chain of
# work left, and every training is the paper's one-device recipe. EXP_ROOT defaults to
# experiments; each budget's folder is $EXP_ROOT/{gta,synthia}2cityscapes_N.
# Finished budgets and steps are skipped on a re-run (each folder's manifest).
# Data parallelism instead (one training over all devices, a budget after another):
#   DDM_PIPELINE_CMD="bash scripts/run_distribute_train_ascend.sh pipeline CFG msrun"
# (the launcher adds --cfg itself: CFG there must be the same config); DDM_MULTI_DEVICE
# (default same_steps) sets TRAIN.MULTI_DEVICE: same_steps keeps the paper's 120,000 steps
# (N images a step), same_images divides the step counts by the device count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
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
device_ids=${DDM_DEVICE_IDS:-}
if [ -n "$device_ids" ] && ! [[ $device_ids =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "error: DDM_DEVICE_IDS must be device ids joined by commas (0,1,2,3), got '$device_ids'" >&2
  exit 2
fi
run() {
  echo "[reproduce_table] $1: ${*:2}"
  if [ "${DDM_DRY_RUN:-0}" != 1 ]; then "${@:2}"; fi
}
case "${pipeline[*]}" in
  *run_distribute_train*)  # data parallel: one budget after another over every device
    echo "[reproduce_table] multi-device recipe: TRAIN.MULTI_DEVICE=$recipe"
    for n in "${budgets[@]}"; do
      run "budget $n" "${pipeline[@]}" --num_labeled "$n" \
        --exp_dir "$exp_root/${source}2cityscapes_$n" --baselines "$@" \
        --opts "TRAIN.MULTI_DEVICE=$recipe"
    done ;;
  *)  # every budget's steps as one set, each training on one device
    opts=()
    if [ -n "$device_ids" ]; then opts=(--opts "PIPELINE_DEVICE_IDS=[$device_ids]"); fi
    run "budgets ${budgets[*]}" "${pipeline[@]}" --cfg "$cfg" --num_labeled "${budgets[@]}" \
      --exp_root "$exp_root" --baselines "$@" "${opts[@]}" ;;
esac
python scripts/paper_table.py --source "$source" --exp_root "$exp_root" --budgets "${budgets[@]}"
