#!/usr/bin/env bash
# One training stage on one GPU, in the foreground (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=train
USAGE="usage: bash scripts/run_standalone_train_gpu.sh DEVICE_ID STAGE CFG [args...]
Trains STAGE on GPU DEVICE_ID (0-7) in the foreground (use nohup or tmux to detach); the
output is also written to LOG_DIR/rank_0.log. Passes --device GPU --opts DEVICE_ID=DEVICE_ID."
main_standalone GPU "$@"
