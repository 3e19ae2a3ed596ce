#!/usr/bin/env bash
# Data-parallel training on several GPUs through msrun (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=train
USAGE="usage: bash scripts/run_distribute_train_gpu.sh STAGE CFG DEVICE_NUM [--nodes N --node_rank R --master_addr A] [--master_port P] [args...]
DEVICE_NUM (1-8) msrun workers on this node, DEVICE_NUM*N in all (several nodes as in
run_distribute_train_ascend.sh). msrun writes LOG_DIR/worker_N.log and scheduler.log, its own
output LOG_DIR/msrun.log."
main_msrun GPU DEVICE_NUM 1 "$@"
