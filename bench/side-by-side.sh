#!/usr/bin/env bash
# fedmm and FedMultimodal's PyTorch original, measured in the same period on this CPU: train step (batch 16),
# client updates over the paper's real UCI-HAR shards, dev + test evaluation. The two alternate, REPS times
# each, with the load average before every run, so that a noisy shared machine shows in the figures.
#
# Usage: bench/side-by-side.sh --fedmultimodal-dir /tmp/fedmultimodal [--data-dir ../shared/data/uci-har] [--reps 2] [--workers N]
# The original's code is imported from the checkout you give (usc-sail/fed-multimodal); fedmm ships none of it.
# Needs `npm run build`, Debian's python3-torch (/usr/bin/python3) and libopenblas0-pthread (without it torch runs on
# Debian's reference BLAS, 3–5× slower than the peer a user would run; bench/pytorch-original.py prints the BLAS).
set -euo pipefail
cd "$(dirname "$0")/.."
original=""
data_dir="../shared/data/uci-har"
reps=2
workers=$(node -e 'console.log(require("node:os").availableParallelism())')
while [ $# -gt 0 ]; do
  case "$1" in
    --fedmultimodal-dir) original="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    *) echo "side-by-side.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$original" ] || { echo "side-by-side.sh: give --fedmultimodal-dir (a checkout of usc-sail/fed-multimodal)" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || { echo "side-by-side.sh: build first (npm run build)" >&2; exit 2; }

for rep in $(seq 1 "$reps"); do
  echo "== fedmm, run $rep; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  node dist/src/cli/main.js bench --only train-step
  node dist/src/cli/main.js bench --only update --data-dir "$data_dir"
  node dist/src/cli/main.js bench --only eval --data-dir "$data_dir" --workers "$workers"
  echo "== PyTorch original, run $rep; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/python3 -W ignore bench/pytorch-original.py --fedmultimodal-dir "$original" --data-dir "$data_dir"
done
echo "== done; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
