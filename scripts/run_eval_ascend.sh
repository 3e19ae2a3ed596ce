#!/usr/bin/env bash
# eval.py on one Ascend device, in the foreground (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=eval
USAGE="usage: bash scripts/run_eval_ascend.sh DATA_PATH CKPT [DEVICE_ID] [args...]
Evaluates CKPT on the Cityscapes val set under DATA_PATH on Ascend device DEVICE_ID (0-7,
default 0), in the foreground; the output is also written to LOG_DIR/rank_0.log.
Further arguments go to eval.py: --num_classes 16, --save_pred DIR, --cfg ..., --opts ..."
main_eval Ascend "$@"
