#!/usr/bin/env bash
# One training stage on one Ascend device, in the foreground (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=train
USAGE="usage: bash scripts/run_standalone_train_ascend.sh DEVICE_ID STAGE CFG [args...]
Trains STAGE on Ascend device DEVICE_ID (0-7) in the foreground (not in the background:
use nohup or tmux to detach); the output is also written to LOG_DIR/rank_0.log.
Sets DEVICE_ID and passes --device Ascend --opts DEVICE_ID=DEVICE_ID."
main_standalone Ascend "$@"
