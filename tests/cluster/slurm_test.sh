#!/usr/bin/env bash
# End to end on a real one-node SLURM (cluster/local/local_slurm.sh): submit
# cluster/slurm/train.sbatch on 2 ranks, send the preemption signal (USR1 to the batch shell, as
# --signal=B:USR1 does) mid-run; the job checkpoints, exits 75, requeues itself, resumes and
# finishes; its final parameters equal an uninterrupted run's bit for bit.
# Needs root (daemons, apt); exits 77 (skipped) when SLURM cannot be started here.
# Usage: slurm_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
slurm="$source_dir/cluster/local/local_slurm.sh"
if [ "$(id -u)" -ne 0 ]; then echo "slurm_test: skipped (needs root)"; exit 77; fi
if ! "$slurm" up > /dev/null 2>&1; then echo "slurm_test: skipped (could not start a local SLURM)"; exit 77; fi
source "$(dirname "$0")/../shell_lib.sh"
trap '"$slurm" down > /dev/null 2>&1; cleanup_work' EXIT
eval "$("$slurm" env)"

for i in $(seq 1 300); do printf 'w%dx%d\tA B %d C\n' $((i % 37)) $((i % 11)) $((i % 5)); done > a.tsv
"$build/tandem-prep" --quiet --train a.tsv --tgt-tokenizer word -o "$work/corpus" > /dev/null
cat > run.ini <<EOF
corpus = $work/corpus
embedding-size = 32
hidden-size = 128
batch-tokens = 60
max-steps = 1500
save-every = 0
log-every = 50
run-dir = $work/run
EOF

job=$(sbatch --parsable -n 2 --export=ALL,TANDEM_TRAIN="$build/tandem-train" "$source_dir/cluster/slurm/train.sbatch" run.ini)
for _ in $(seq 1 240); do grep -q '"step":300,' run/metrics.jsonl 2> /dev/null && break; sleep 0.25; done
scancel --batch --signal=USR1 "$job"
for _ in $(seq 1 240); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 1; done
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$build/tandem-train" --config run.ini --threads 1 --run-dir "$work/reference" \
  > reference.log 2>&1

a=$(checksum run/checkpoints/ckpt.000001500.h5)
b=$(checksum reference/checkpoints/ckpt.000001500.h5)
if grep -q "checkpointed on preemption; requeueing" "tandem-$job.out" && grep -q "restart 1" "tandem-$job.out" \
   && grep -q "resumed from" "tandem-$job.out" && [ -n "$a" ] && [ "$a" = "$b" ]; then
  echo "ok: preempted at step $(grep -o 'preempted (signal): requeue to resume) after [0-9]*' "tandem-$job.out" | grep -o '[0-9]*$'), requeued, resumed; final == uninterrupted ($a)"
  echo "slurm_test: all passed"
else
  echo "FAIL: SLURM preemption and requeue ($a vs $b)"
  tail -n 80 "tandem-$job.out"  # all of it: a crash shows its signal and stack here
  tail -n 20 reference.log
  exit 1
fi
