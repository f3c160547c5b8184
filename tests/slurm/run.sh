#!/usr/bin/env bash
# A real Slurm test of `fpe slurm`: a one-node cluster on localhost runs a small sweep as a job
# array of 3 tasks (one shard each) plus the dependent collect job; the collected results.csv must
# equal a local `fpe sweep` of the same config byte for byte, except the last column
# (wall_seconds, the only value that varies between identical runs). Then one shard's unit files
# are deleted: `--collect` must fail naming that array task, and resubmitting it alone
# (`sbatch --array=1`) and collecting again must restore the same CSV.
#
# Needs root on Debian 12 (CI runs as root): installs slurmctld, slurmd, slurm-client and munge
# if missing (~20 s), starts munged, slurmctld and slurmd under a scratch directory (no systemd,
# no cgroups: proctrack/linuxproc, task/none) and stops them on exit. The cluster part takes
# about 10 s on 2 cores, after `cargo build -p fpe-tools --bin fpe` (a no-op after the tests).
#
#   bash tests/slurm/run.sh            # FPE_SLURM_KEEP=1 keeps the scratch directory
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START_NS=$(date +%s%N)
ARRAY_SIZE=3
TIMEOUT_S=300

log() { echo "[slurm-test] $*" >&2; }
since() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }
die() { log "FAIL: $*"; exit 1; }

# --- Slurm and munge ---------------------------------------------------------------------------
PKGS=(slurmctld slurmd slurm-client munge)
if ! dpkg -s "${PKGS[@]}" >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        log "SKIPPED: installing ${PKGS[*]} needs root (CI runs as root); install them to run this test"
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' own services from starting (no systemd here; we start our own).
    POLICY=/usr/sbin/policy-rc.d
    CREATED_POLICY=0
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod 755 "$POLICY" && CREATED_POLICY=1
    fi
    if ! apt-cache show slurmctld >/dev/null 2>&1; then
        apt-get update -qq
    fi
    status=0
    apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null || status=$?
    if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi
    [ "$status" = 0 ] || die "apt-get install ${PKGS[*]} failed ($status)"
    log "installed ${PKGS[*]}"
fi

# --- the fpe binary (the debug profile is optimised in this workspace, and CI has built it) ----
log "building fpe"
cargo build -q -p fpe-tools --bin fpe
FPE=${CARGO_TARGET_DIR:-$ROOT/target}/debug/fpe
FPE=$(cd "$(dirname "$FPE")" && pwd)/fpe
[ -x "$FPE" ] || die "no fpe binary at $FPE"
CLUSTER_NS=$(date +%s%N)

# --- scratch directory and cleanup -------------------------------------------------------------
S=$(mktemp -d /tmp/fpe-slurm.XXXXXX)
chmod 755 "$S"
PIDS=()
cleanup() {
    local rc=$?
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ -e "$SLURM_CONF" ]; then
        # Cancel what is left of our jobs so no job step outlives the daemons.
        for j in ${ARRAY_JOB:-} ${COLLECT_JOB:-}; do scancel "$j" 2>/dev/null; done
        for _ in $(seq 50); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[i]}" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    if [ "$rc" != 0 ]; then
        for f in "$S"/log/*.log "$S"/out/*/slurm/logs/*; do
            [ -f "$f" ] && { echo "----- $f (last 30 lines)"; tail -n 30 "$f"; } >&2
        done
    fi
    if [ "${FPE_SLURM_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
        log "scratch directory kept: $S"
    else
        rm -rf "$S"
    fi
    log "daemons stopped; exit $rc"
}
trap cleanup EXIT

mkdir -p "$S/munge" "$S/log" "$S/run" "$S/state" "$S/spool" "$S/out" "$S/local" "$S/bin"
# Jobs run a copy, as a cluster runs an fpe installed on the shared filesystem (and a rebuild of
# target/ meanwhile cannot pull the binary from under a job).
cp "$FPE" "$S/bin/fpe"
FPE=$S/bin/fpe
chmod 755 "$S/munge"
chmod 700 "$S/state"

# --- munged --------------------------------------------------------------------------------------
SOCK=$S/munge/munge.socket.2
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$S/munge/munge.key"
munged --key-file="$S/munge/munge.key" --socket="$SOCK" --pid-file="$S/run/munged.pid" \
    --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed" --force
for _ in $(seq 50); do [ -s "$S/run/munged.pid" ] && break; sleep 0.1; done
PIDS+=("$(cat "$S/run/munged.pid")")
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null || die "munge does not work"
log "munged up"

# --- slurmctld and slurmd ------------------------------------------------------------------------
HOST=$(uname -n | cut -d. -f1)
NCPU=$(nproc)
export SLURM_CONF=$S/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=fpetest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
setsid slurmctld -D -f "$SLURM_CONF" >"$S/log/slurmctld.out" 2>&1 &
PIDS+=("$!")
setsid slurmd -D -f "$SLURM_CONF" -N "$HOST" >"$S/log/slurmd.out" 2>&1 &
PIDS+=("$!")
state=""
for _ in $(seq 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "$state" = idle ] || die "the node did not come up (state: '${state:-none}')"
log "slurmctld and slurmd up: node $HOST, $NCPU CPUs"

# --- a small sweep: 3 settings × 2 seeds × 3 arms ------------------------------------------------
cd "$S"
cat >sweep.toml <<'EOF'
name = "slurm_tiny"
seeds = [0, 1]
arms = ["dense", "random", "clause"]
[task]
kind = "boolean"
n_vars = 16
literals = 2
train_size = 256
test_size = 128
[model]
hidden = [4]
[train]
warmup_epochs = 20
after_epochs = 20
batch_size = 64
[expansion]
alpha = 2
[grid]
"task.clauses" = [2, 3, 4]
EOF

SUBMITTED=$("$FPE" slurm sweep.toml --out "$S/out" --array-size "$ARRAY_SIZE" --cpus 1 --time 10 --submit)
echo "$SUBMITTED"
ARRAY_JOB=$(sed -n 's/^array job: //p' <<<"$SUBMITTED")
COLLECT_JOB=$(sed -n 's/^collect job: //p' <<<"$SUBMITTED")
[ -n "$ARRAY_JOB" ] && [ -n "$COLLECT_JOB" ] || die "fpe slurm printed no job ids"
grep -q '^#SBATCH --array=0-2$' out/slurm_tiny/slurm/array.sbatch || die "array is not 0-2"

# The reference: the same config swept locally while the cluster works.
"$FPE" --threads 1 sweep sweep.toml --out "$S/local" >/dev/null 2>"$S/log/local-sweep.log"

# --- wait for the collect job (it runs after every array task, whatever their outcome) -----------
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
deadline=$(($(date +%s) + TIMEOUT_S))
while :; do
    st=$(job_state "$COLLECT_JOB" | head -n 1)
    case "$st" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "jobs not done after ${TIMEOUT_S}s: $(squeue -h 2>&1 | tr '\n' ';')"
    sleep 0.5
done
tasks=$(job_state "$ARRAY_JOB" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
log "array job $ARRAY_JOB tasks: $tasks collect job $COLLECT_JOB: $st"
[ "$(job_state "$ARRAY_JOB" | grep -c '^COMPLETED$')" = "$ARRAY_SIZE" ] || die "not all $ARRAY_SIZE array tasks completed: $tasks"
[ "$st" = COMPLETED ] || die "collect job ended $st"

# --- compare -------------------------------------------------------------------------------------
GOT=$S/out/slurm_tiny/results.csv
WANT=$S/local/slurm_tiny/results.csv
[ -f "$GOT" ] || die "no collected $GOT"
head -n 1 "$GOT" | grep -q ',wall_seconds$' || die "wall_seconds is not the last column"
[ "$(wc -l <"$GOT")" = 19 ] || die "expected 18 rows + header, got $(wc -l <"$GOT") lines"
strip() { sed 's/,[^,]*$//' "$1"; }
if cmp -s <(strip "$GOT") <(strip "$WANT"); then
    COMPARISON="identical except wall_seconds ($(wc -l <"$GOT") lines, $(head -n 1 "$GOT" | tr ',' '\n' | wc -l) columns)"
else
    diff <(strip "$GOT") <(strip "$WANT") | head -n 20 >&2
    die "collected results.csv differs from the local sweep"
fi
for f in out/REPORT.md out/slurm_tiny/summary.md out/slurm_tiny/summary.csv out/slurm_tiny/config.toml; do
    [ -s "$f" ] || die "missing $f"
done
grep -q slurm_tiny out/REPORT.md || die "REPORT.md does not mention the experiment"
for i in $(seq 0 $((ARRAY_SIZE - 1))); do
    grep -q '"state": "finished"' "out/slurm_tiny/shards/$i-of-$ARRAY_SIZE.json" || die "shard $i/$ARRAY_SIZE not finished"
done
PLOTS=$(find out/slurm_tiny/plots -type f 2>/dev/null | wc -l)

# --- a lost shard: collect names the task to resubmit; resubmitting it and collecting restores --
LOST=1
"$FPE" sweep sweep.toml --plan --shard "$LOST/$ARRAY_SIZE" | sed 's/^{"hash":"\([0-9a-f]*\)".*/\1/' |
    while read -r h; do rm "out/slurm_tiny/units/$h.json"; done
if "$FPE" sweep sweep.toml --out "$S/out" --collect >/dev/null 2>"$S/log/collect-missing.log"; then
    die "--collect succeeded with shard $LOST's units removed"
fi
grep -q "shard $LOST/$ARRAY_SIZE finished without it" "$S/log/collect-missing.log" &&
    grep -q "sbatch --array=$LOST " "$S/log/collect-missing.log" ||
    die "--collect did not name the shard to resubmit: $(cat "$S/log/collect-missing.log")"
sbatch --wait --quiet --array="$LOST" out/slurm_tiny/slurm/array.sbatch || die "resubmitted task failed"
sbatch --wait --quiet out/slurm_tiny/slurm/collect.sbatch || die "second collect failed"
cmp -s <(strip "$GOT") <(strip "$WANT") || die "results.csv differs after resubmitting shard $LOST"
log "resubmitting array task $LOST alone (sbatch --array=$LOST) and collecting again: identical"
ls out/slurm_tiny/.lock* >/dev/null 2>&1 && die "lock files left behind"

log "array of $ARRAY_SIZE tasks + collect: results.csv $COMPARISON; REPORT.md, summary tables and $PLOTS plot file(s) present"
log "PASS: $(since "$START_NS") s wall time in all ($(since "$CLUSTER_NS") s from cluster start to the comparison)"
