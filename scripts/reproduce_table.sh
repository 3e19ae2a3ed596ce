#!/usr/bin/env bash
# The paper's tables for one source: the whole DDM and its baselines for each label budget,
# then Table 1 (GTA5) or 2 (SYNTHIA: best round, target-only and source-only) and, for GTA5,
# Table 4 (every round) beside the paper's values (scripts/paper_table.py).
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
# Spread: DDM_SPLITS (e.g. 0,1,2: labeled splits, 0 the released draw) and DDM_SEEDS (e.g.
# 1234,1: TRAIN.RANDOM_SEED) run every budget on each split with each seed, in the same one
# command (--split 0 1 2 --seed 1234 1), each run in {gta,synthia}2cityscapes_N_splitK_seedS
# (no _split0, no _seed1234); the tables then give every cell's mean ± std over the runs.
# Data parallelism instead (one training over all devices, one run after another):
#   DDM_PIPELINE_CMD="bash scripts/run_distribute_train_ascend.sh pipeline CFG msrun"
# (the launcher adds --cfg itself: CFG there must be the same config); DDM_MULTI_DEVICE
# (default same_steps) sets TRAIN.MULTI_DEVICE: same_steps keeps the paper's 120,000 steps
# (N images a step), same_images divides the step counts by the device count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
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
for name in DDM_SPLITS DDM_SEEDS; do
  value=${!name:-}
  if [ -n "$value" ] && ! [[ $value =~ ^[0-9]+(,[0-9]+)*$ ]]; then
    echo "error: $name must be numbers joined by commas (0,1,2), got '$value'" >&2
    exit 2
  fi
done
splits=${DDM_SPLITS:-}
seeds=${DDM_SEEDS:-}
split_ids=(${splits//,/ })
seed_ids=(${seeds//,/ })
spread=()        # self_train.py: a run per split and seed
table_spread=()  # paper_table.py: the same runs
if [ -n "$splits" ]; then
  spread+=(--split "${split_ids[@]}")
  table_spread+=(--splits "${split_ids[@]}")
fi
if [ -n "$seeds" ]; then
  spread+=(--seed "${seed_ids[@]}")
  table_spread+=(--seeds "${seed_ids[@]}")
fi
run() {
  echo "[reproduce_table] $1: ${*:2}"
  if [ "${DDM_DRY_RUN:-0}" != 1 ]; then "${@:2}"; fi
}
case "${pipeline[*]}" in
  *run_distribute_train*)  # data parallel: one run after another over every device
    echo "[reproduce_table] multi-device recipe: TRAIN.MULTI_DEVICE=$recipe"
    [ ${#split_ids[@]} -gt 0 ] || split_ids=('')
    [ ${#seed_ids[@]} -gt 0 ] || seed_ids=('')
    for n in "${budgets[@]}"; do
      for k in "${split_ids[@]}"; do
        for s in "${seed_ids[@]}"; do
          one=(--num_labeled "$n")
          if [ -n "$k" ]; then one+=(--split "$k"); fi
          if [ -n "$s" ]; then one+=(--seed "$s"); fi
          run "budget $n${k:+ split $k}${s:+ seed $s}" "${pipeline[@]}" "${one[@]}" \
            --exp_root "$exp_root" --baselines "$@" --opts "TRAIN.MULTI_DEVICE=$recipe"
        done
      done
    done ;;
  *)  # every run's steps as one set, each training on one device
    opts=()
    if [ -n "$device_ids" ]; then opts=(--opts "PIPELINE_DEVICE_IDS=[$device_ids]"); fi
    run "budgets ${budgets[*]}" "${pipeline[@]}" --cfg "$cfg" --num_labeled "${budgets[@]}" \
      "${spread[@]}" --exp_root "$exp_root" --baselines "$@" "${opts[@]}" ;;
esac
python scripts/paper_table.py --source "$source" --exp_root "$exp_root" --budgets "${budgets[@]}" \
  "${table_spread[@]}"
