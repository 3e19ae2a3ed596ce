#!/usr/bin/env bash
# Data-parallel training in several CPU processes on this machine through msrun (see common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=train
USAGE="usage: bash scripts/run_distribute_train_cpu.sh STAGE CFG WORKER_NUM [--master_port P] [args...]
WORKER_NUM (1-8) msrun workers on 127.0.0.1 (default port $DEFAULT_MASTER_PORT), with
ONEDNN_MAX_CPU_ISA=AVX2 unless set. msrun writes LOG_DIR/worker_N.log and scheduler.log, its
own output LOG_DIR/msrun.log. Try it with CFG=configs/tiny_cpu.yaml and generated data."
main_msrun CPU WORKER_NUM 0 "$@"
