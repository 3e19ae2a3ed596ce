#!/usr/bin/env bash
# Data-parallel training on 8 Ascend devices per node: a rank table, or msrun (the logic is in common.sh).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KIND=train
USAGE="usage: bash scripts/run_distribute_train_ascend.sh STAGE CFG RANK_TABLE_FILE [args...]
       bash scripts/run_distribute_train_ascend.sh STAGE CFG msrun [--nodes N --node_rank R --master_addr A] [--master_port P] [args...]
With a rank table (an hccl_8p.json for this node): 8 processes in the background, each with
RANK_TABLE_FILE, RANK_SIZE=8, RANK_ID=DEVICE_ID=0..7 and its log LOG_DIR/rank_N.log; the
script waits for all of them, stops the others when one fails, and reports failed ranks.
With msrun: 8 workers on this node, 8*N in all; run the same command on every node with its
own --node_rank (0..N-1) and node 0's address as --master_addr (default port $DEFAULT_MASTER_PORT).
msrun writes LOG_DIR/worker_N.log and scheduler.log, its own output LOG_DIR/msrun.log."
handle_help "$@"
if [ "${3:-}" = msrun ]; then
  main_msrun Ascend DEVICE_NUM 1 "$1" "$2" "$MAX_PER_NODE" "${@:4}"
else
  main_rank_table "$@"
fi
