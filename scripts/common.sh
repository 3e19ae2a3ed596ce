# Shared by the launch scripts in this folder (sourced, not run): usage text, argument checks,
# stage -> command, log directory, dry run. A launcher sets USAGE and KIND (train | eval) and
# calls one main_* function, or checks its arguments with the need_*/set_* helpers and calls
# a run_* function.
# Every check runs before anything starts; a bad argument is one `error:` line and exit 2.
set -euo pipefail
if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 404)); then  # wait -n, empty arrays under -u
  echo "error: bash 4.4 or newer is needed, this is $BASH_VERSION" >&2
  exit 2
fi

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CALLER_DIR=$PWD
MAX_PER_NODE=8
DEFAULT_MASTER_PORT=8118  # msrun's own default
# msrun spawns `python` from PATH: the project's venv must come first when there is one.
if [ -x "$REPO_ROOT/.venv/bin/python" ]; then PATH="$REPO_ROOT/.venv/bin:$PATH"; fi
# utils/distributed.py joins a group whenever one of these is set; a launcher clears the
# ones that belong to another way of launching (an Ascend shell often exports RANK_TABLE_FILE).
NO_RANK_TABLE=(-u RANK_TABLE_FILE -u MINDSPORE_HCCL_CONFIG_PATH)
NO_LAUNCHER=("${NO_RANK_TABLE[@]}" -u MS_WORKER_NUM)

STAGES_HELP="STAGE (training):
  teacher_rl   region-level teacher   train_teacher.py --mix region
  teacher_sl   sample-level teacher   train_teacher.py --mix sample
  student      distil the teachers    distill.py (needs --teacher_rl CKPT --teacher_sl CKPT,
                                      or --teachers CKPT ... for TRAIN.TEACHERS)
  pipeline     every round of DDM     self_train.py (e.g. --num_labeled 100)
CFG is a YAML overlay (configs/*.yaml), or several joined by commas: base.yaml,exp.yaml.
--cfg and --device are set by the launcher; pass the rest through, e.g. --opts KEY=VALUE ..."
COMMON_HELP="Arguments after the launcher's own go to the Python script unchanged. Paths given as
arguments are relative to the current directory; commands run from the repo root, so paths
inside configs and --opts are relative to it.
Environment:
  DDM_DRY_RUN=1    print the command(s) instead of running them: one line per rank or launcher
  DDM_LOG_DIR=DIR  where the logs go (default: logs/NAME_YYYYmmdd_HHMMSS in the repo root)
Exit code: 2 for a bad argument (one 'error:' line on stderr), else the run's own."

usage() {
  printf '%s\n\n' "$USAGE"
  if [ "$KIND" = train ]; then printf '%s\n\n' "$STAGES_HELP"; fi
  printf '%s\n' "$COMMON_HELP"
}

die() {  # one error line, the usage line(s), exit 2
  echo "error: $*" >&2
  printf '%s\n' "$USAGE" | sed -n '1p' >&2
  echo "(--help for details)" >&2
  exit 2
}

handle_help() {  # -h/--help anywhere: the launcher's help, not the Python script's
  local arg
  for arg in "$@"; do
    case $arg in -h|--help) usage; exit 0 ;; esac
  done
}

abspath() {
  case $1 in /*) printf '%s' "$1" ;; *) printf '%s' "$CALLER_DIR/$1" ;; esac
}

need_file() {  # NAME PATH
  [ -f "$(abspath "$2")" ] || die "$1 not found: $2"
}

need_dir() {  # NAME PATH
  [ -d "$(abspath "$2")" ] || die "$1 not found: $2"
}

need_int() {  # NAME VALUE MIN MAX
  if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
    die "$1 must be an integer from $3 to $4, got '$2'"
  fi
}

need_count() { need_int "$1" "$2" 1 "$MAX_PER_NODE"; }             # devices on one node
need_device_id() { need_int DEVICE_ID "$1" 0 $((MAX_PER_NODE - 1)); }

set_stage() {  # STAGE -> STAGE, STAGE_CMD (the script and its stage arguments)
  case $1 in
    teacher_rl) STAGE_CMD=(train_teacher.py --mix region) ;;
    teacher_sl) STAGE_CMD=(train_teacher.py --mix sample) ;;
    student) STAGE_CMD=(distill.py) ;;
    pipeline) STAGE_CMD=(self_train.py) ;;
    *) die "unknown stage '$1' (teacher_rl, teacher_sl, student or pipeline)" ;;
  esac
  STAGE=$1
}

set_cfg() {  # CFG[,CFG...] -> CFG_ARGS (--cfg ABS...)
  local file files
  IFS=, read -r -a files <<< "$1"
  [ ${#files[@]} -gt 0 ] || die "config file not found: '$1'"
  CFG_ARGS=(--cfg)
  for file in "${files[@]}"; do
    need_file "config file" "$file"
    CFG_ARGS+=("$(abspath "$file")")
  done
}

# Options of the Python scripts that name files: made absolute (the run's cwd is the repo
# root); the checkpoints among them must exist before anything starts.
CKPT_OPTS=" --teacher_rl --teacher_sl --checkpoint --restore_from "
PATH_OPTS="$CKPT_OPTS --labeled_list --out_dir --exp_dir --exp_root --pseudo_dir --list --save_pred --output "

set_passthrough() {  # ARGS... -> PASS (checked; --opt=value split; paths absolute)
  local arg opt value forbidden=" --device --cfg "
  if [ "$KIND" = eval ]; then forbidden=" --device --device_id --data_path --pretrained "; fi
  PASS=()
  while [ $# -gt 0 ]; do
    arg=$1; shift
    opt=${arg%%=*}
    case $forbidden in *" $opt "*) die "$opt is set by the launcher, not as a further argument" ;; esac
    if [ "$arg" = --cfg ] || [ "$arg" = --teachers ]; then  # eval.py's --cfg FILE..., CKPT...
      PASS+=("$arg")
      while [ $# -gt 0 ] && [[ $1 != -* ]]; do
        if [ "$arg" = --cfg ]; then need_file "config file" "$1"; else need_file checkpoint "$1"; fi
        PASS+=("$(abspath "$1")"); shift
      done
      continue
    fi
    case $PATH_OPTS in
      *" $opt "*)
        if [ "$opt" != "$arg" ]; then value=${arg#*=}
        elif [ $# -gt 0 ]; then value=$1; shift
        else die "$opt needs a value"; fi
        case $CKPT_OPTS in
          *" $opt "*) if [ -n "$value" ]; then need_file "checkpoint" "$value"; fi ;;
        esac
        if [ -n "$value" ]; then value=$(abspath "$value"); fi
        PASS+=("$opt" "$value") ;;
      *) PASS+=("$arg") ;;
    esac
  done
  if [ "$KIND" = train ] && [ "$STAGE" = student ]; then
    has_opt --teachers || { has_opt --teacher_rl && has_opt --teacher_sl; } \
      || die "stage student needs --teacher_rl CKPT and --teacher_sl CKPT, or --teachers CKPT ..."
  fi
  return 0
}

has_opt() { local a; for a in "${PASS[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }

refuse_pseudo_only() {  # 8 ranks would each write the same pseudo labels
  if has_opt --pseudo_only; then
    die "--pseudo_only runs on one device: use run_standalone_train_*.sh"
  fi
}

with_device_id() {  # ID -> OPTS_PASS: PASS with DEVICE_ID=ID in its (last) --opts
  # argparse keeps only the last --opts, so DEVICE_ID joins it instead of adding another.
  local i last=-1
  for i in "${!PASS[@]}"; do
    if [ "${PASS[$i]}" = --opts ]; then last=$i; fi
  done
  if [ $last -lt 0 ]; then
    OPTS_PASS=("${PASS[@]}" --opts "DEVICE_ID=$1")
  else
    OPTS_PASS=("${PASS[@]:0:last+1}" "DEVICE_ID=$1" "${PASS[@]:last+1}")
  fi
}

set_log_dir() {  # NAME -> LOG_DIR
  if [ -n "${DDM_LOG_DIR:-}" ]; then
    LOG_DIR=$(abspath "$DDM_LOG_DIR")
  else
    LOG_DIR=$REPO_ROOT/logs/$1_$(date +%Y%m%d_%H%M%S)
  fi
}

set_msrun_opts() {  # MULTI_NODE(0|1) ARGS... -> NODES NODE_RANK MASTER_ADDR MASTER_PORT, REST
  local multi=$1 opt value node_rank_given=0; shift
  NODES=1 NODE_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$DEFAULT_MASTER_PORT
  MASTER_ADDR_GIVEN=0
  while [ $# -gt 0 ]; do
    opt=${1%%=*}
    case $opt in --nodes|--node_rank|--master_addr|--master_port) ;; *) break ;; esac
    if [ "$opt" != "$1" ]; then value=${1#*=}; shift
    elif [ $# -ge 2 ]; then value=$2; shift 2
    else die "$opt needs a value"; fi
    if [ "$multi" = 0 ] && [ "$opt" != --master_port ]; then
      die "$opt: this launcher runs on this machine only (127.0.0.1)"
    fi
    case $opt in
      --nodes) need_int "--nodes" "$value" 1 4096; NODES=$((10#$value)) ;;
      --node_rank) need_int "--node_rank" "$value" 0 4095; NODE_RANK=$((10#$value)); node_rank_given=1 ;;
      --master_addr) [ -n "$value" ] || die "--master_addr needs a value"
                     MASTER_ADDR=$value; MASTER_ADDR_GIVEN=1 ;;
      --master_port) need_int "--master_port" "$value" 1024 65535; MASTER_PORT=$((10#$value)) ;;
    esac
  done
  if [ "$NODES" -gt 1 ] && { [ "$MASTER_ADDR_GIVEN" = 0 ] || [ "$node_rank_given" = 0 ]; }; then
    die "--nodes $NODES needs --node_rank R and --master_addr A (the address of node 0)"
  fi
  if [ "$NODE_RANK" -ge "$NODES" ]; then
    die "--node_rank must be below --nodes ($NODES), got '$NODE_RANK'"
  fi
  REST=("$@")
}

# ---- the launchers' bodies ------------------------------------------------------------------
main_standalone() {  # DEVICE -- DEVICE_ID STAGE CFG [args...]
  local device=$1; shift
  handle_help "$@"
  [ $# -ge 3 ] || die "expected DEVICE_ID STAGE CFG, got $# argument(s)"
  need_device_id "$1"
  local device_id=$((10#$1))
  set_stage "$2"
  set_cfg "$3"
  shift 3
  set_passthrough "$@"
  set_log_dir "$STAGE"
  run_standalone "$device" "$device_id"
}

main_msrun() {  # DEVICE COUNT_NAME MULTI_NODE(0|1) -- STAGE CFG COUNT [msrun options] [args...]
  local device=$1 count_name=$2 multi=$3; shift 3
  handle_help "$@"
  [ $# -ge 3 ] || die "expected STAGE CFG $count_name, got $# argument(s)"
  set_stage "$1"
  set_cfg "$2"
  need_count "$count_name" "$3"
  local count=$((10#$3))
  shift 3
  set_msrun_opts "$multi" "$@"
  set_passthrough "${REST[@]}"
  refuse_pseudo_only
  set_log_dir "$STAGE"
  run_msrun "$device" "$count"
}

main_rank_table() {  # STAGE CFG RANK_TABLE_FILE [args...]: 8 Ascend processes on this node
  handle_help "$@"
  [ $# -ge 3 ] || die "expected STAGE CFG RANK_TABLE_FILE|msrun, got $# argument(s)"
  set_stage "$1"
  set_cfg "$2"
  need_file "rank table file" "$3"
  local table
  table=$(abspath "$3")
  shift 3
  set_passthrough "$@"
  refuse_pseudo_only
  set_log_dir "$STAGE"
  run_rank_table "$table" "$MAX_PER_NODE"
}

main_eval() {  # DEVICE -- DATA_PATH CKPT [DEVICE_ID, not on CPU] [args...]
  local device=$1 device_id=0; shift
  handle_help "$@"
  [ $# -ge 2 ] || die "expected DATA_PATH CKPT, got $# argument(s)"
  need_dir "data path" "$1"
  need_file checkpoint "$2"
  EVAL_DATA=$(abspath "$1")
  EVAL_CKPT=$(abspath "$2")
  shift 2
  if [ "$device" != CPU ] && [ $# -gt 0 ] && [[ $1 != -* ]]; then
    need_device_id "$1"
    device_id=$((10#$1))
    shift
  fi
  set_passthrough "$@"
  set_log_dir eval
  if [ "$device" = CPU ]; then run_eval CPU; else run_eval "$device" "$device_id"; fi
}

# ---- running ------------------------------------------------------------------------------
dry_run() { [ "${DDM_DRY_RUN:-0}" = 1 ]; }

quote() {  # the arguments as one shell-quoted line
  local out='' arg
  for arg in "$@"; do out+="${out:+ }$(printf '%q' "$arg")"; done
  printf '%s' "$out"
}

need_program() {
  command -v "$1" > /dev/null || die "$1 not found on PATH ($2)"
}

start() {  # checks that only make sense for a real run; then the repo root and the log dir
  need_program python "activate the environment that has mindspore, or create .venv"
  cd "$REPO_ROOT"
  mkdir -p "$LOG_DIR"
  echo "[launch] logs in $LOG_DIR" >&2
}

run_teed() {  # LOG CMD...: in the foreground, output also written to LOG
  local log=$1; shift
  if dry_run; then echo "$(quote "$@") 2>&1 | tee $(quote "$log")"; return 0; fi
  start
  local status=0
  "$@" 2>&1 | tee "$log" || status=$?  # pipefail: the command's status, not tee's
  [ "$status" = 0 ] || echo "[launch] failed (exit $status); log: $log" >&2
  return "$status"
}

run_standalone() {  # DEVICE [DEVICE_ID]: one process of STAGE_CMD
  local env=(env "${NO_LAUNCHER[@]}")
  if [ $# -ge 2 ]; then
    with_device_id "$2"
    env+=("DEVICE_ID=$2")
  else
    OPTS_PASS=("${PASS[@]}")
  fi
  run_teed "$LOG_DIR/rank_0.log" "${env[@]}" python "${STAGE_CMD[@]}" --device "$1" \
    "${CFG_ARGS[@]}" "${OPTS_PASS[@]}"
}

run_eval() {  # DEVICE [DEVICE_ID] -- DATA_PATH and CKPT in EVAL_DATA, EVAL_CKPT
  local env=(env "${NO_LAUNCHER[@]}") device_args=(--device "$1")
  if [ $# -ge 2 ]; then env+=("DEVICE_ID=$2"); device_args+=(--device_id "$2"); fi
  if [ "$1" = CPU ]; then env+=("ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}"); fi
  run_teed "$LOG_DIR/rank_0.log" "${env[@]}" python eval.py --data_path "$EVAL_DATA" \
    --pretrained "$EVAL_CKPT" "${device_args[@]}" "${PASS[@]}"
}

run_msrun() {  # DEVICE LOCAL_WORKERS: msrun starts the workers, logs LOG_DIR/worker_N.log
  local env=(env "${NO_RANK_TABLE[@]}")
  if [ "$1" = CPU ]; then env+=("ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}"); fi
  if ! dry_run; then need_program msrun "it comes with pip install mindspore"; fi
  run_teed "$LOG_DIR/msrun.log" "${env[@]}" msrun --worker_num=$(($2 * NODES)) \
    --local_worker_num="$2" --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
    --node_rank="$NODE_RANK" --log_dir="$LOG_DIR" --join=True \
    "${STAGE_CMD[@]}" --device "$1" "${CFG_ARGS[@]}" "${PASS[@]}"
}

run_rank_table() {  # TABLE RANK_SIZE: one background process per Ascend device of this node
  local table=$1 size=$2 rank cmd pids=()
  if ! dry_run; then start; fi
  for ((rank = 0; rank < size; rank++)); do
    with_device_id "$rank"
    cmd=(env -u MS_WORKER_NUM "RANK_TABLE_FILE=$table" "RANK_SIZE=$size" "RANK_ID=$rank"
         "DEVICE_ID=$rank" python "${STAGE_CMD[@]}" --device Ascend "${CFG_ARGS[@]}"
         "${OPTS_PASS[@]}")
    if dry_run; then
      echo "$(quote "${cmd[@]}") > $(quote "$LOG_DIR/rank_$rank.log") 2>&1 &"
    else
      "${cmd[@]}" > "$LOG_DIR/rank_$rank.log" 2>&1 &
      pids+=($!)
    fi
  done
  if dry_run; then return 0; fi
  wait_ranks "${pids[@]}"
}

wait_ranks() {  # PID...: wait for every rank; the first failure stops the others
  local pids=("$@") rank status failed=0 stopped=0 left
  trap 'kill "${pids[@]}" 2> /dev/null; exit 130' INT TERM
  for ((left = ${#pids[@]}; left > 0; left--)); do
    if ! wait -n; then  # the others would hang in their next collective
      stopped=1
      kill "${pids[@]}" 2> /dev/null || true
      break
    fi
  done
  for rank in "${!pids[@]}"; do
    status=0
    wait "${pids[$rank]}" || status=$?
    if [ "$status" = 143 ] && [ $stopped = 1 ]; then
      echo "[launch] rank $rank: stopped after another rank failed" >&2
    elif [ "$status" != 0 ]; then
      failed=1
      echo "[launch] rank $rank failed (exit $status): $LOG_DIR/rank_$rank.log" >&2
    fi
  done
  trap - INT TERM
  if [ $failed = 1 ] || [ $stopped = 1 ]; then return 1; fi
  echo "[launch] all ${#pids[@]} ranks finished; logs in $LOG_DIR" >&2
}
