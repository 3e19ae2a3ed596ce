#!/usr/bin/env bash
# The main job on the embedded default: the whole DDM (2 rounds, tiny network, small generated
# images) on CPU, with target-only and source-only baselines, from a fresh clone.
#
#   bash scripts/run_demo_cpu.sh [self_train.py args, e.g. --opts TRAIN.EARLY_STOP=100]
#
# Sets up .venv, generates GTA5- and Cityscapes-layout data in $DDM_DEMO_DIR (default demo/),
# draws 10 labeled target images with seed 1234, runs self_train.py, prints the per-round
# table, and leaves colourised predictions of the val images in
# $DDM_DEMO_DIR/exp/round2/eval_student_pred/color/. Re-running resumes where it stopped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS=0
bash scripts/setup_env.sh requirements.txt
setup=$SECONDS
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
out=${DDM_DEMO_DIR:-demo}
py=.venv/bin/python

if [ ! -f "$out/data/data_gta5.yaml" ]; then
  "$py" -m dataset.synthetic --out "$out/data" --num_source 300 --num_train 300 --num_val 20 \
    --target_size 128x64 --source_size 160x96
fi
"$py" -m dataset.subsets --train_list "$out/data/cityscapes/cityscapes_list/train.txt" \
  --num 10 --seed 1234 --out_dir "$out"
data=$((SECONDS - setup))
"$py" self_train.py --cfg configs/demo_cpu.yaml "$out/data/data_gta5.yaml" \
  --labeled_list "$out/train_labeled_10.txt" --baselines --exp_dir "$out/exp" "$@"
echo "predictions of the final student: $out/exp/round2/eval_student_pred/color/"
# bench/demo_time.py reads this line
echo "[demo] wall time: setup ${setup} s, data ${data} s, pipeline $((SECONDS - setup - data)) s"
