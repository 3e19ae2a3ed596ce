#!/usr/bin/env bash
# eval.py on the CPU, in the foreground (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=eval
USAGE="usage: bash scripts/run_eval_cpu.sh DATA_PATH CKPT [args...]
Evaluates CKPT on the Cityscapes val set under DATA_PATH on the CPU (ONEDNN_MAX_CPU_ISA=AVX2
unless set), in the foreground; the output is also written to LOG_DIR/rank_0.log.
Further arguments go to eval.py: --num_classes 16, --save_pred DIR, --cfg ..., --opts ..."
main_eval CPU "$@"
