#!/usr/bin/env bash
# Reproduces FedMultimodal's UCI-HAR results (KDD 2023, Table 4) on the real data: attention fusion, FedAvg
# and FedOpt, Dirichlet alpha 5.0 and 0.1, 200 rounds, the published hyper-parameters (grids/reproduce-uci-har.json).
#
#   scripts/reproduce-uci-har.sh [DATA_DIR]        default DATA_DIR: ../shared/data/uci-har
#   SEEDS=8 scripts/reproduce-uci-har.sh            other seeds (default: the original's five, 8,16,24,32,40 —
#                                                   its train.py runs set_seed(8·fold) for folds 1–5)
#   OUT=results/elsewhere scripts/reproduce-uci-har.sh
#
# Resumable: re-running skips finished cells and resumes an interrupted one from its last checkpoint
# (every 10 rounds). Writes $OUT/<cell>/ (config.json, result.json, seed-N/metrics.jsonl, model.safetensors,
# partition.json), $OUT/report.html, $OUT/machine.json and $OUT/RESULTS.table.md (rows for RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/uci-har}
SEEDS=${SEEDS:-8,16,24,32,40}
OUT=${OUT:-results/reproduce-uci-har}
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.json
mkdir -p "$OUT"
node dist/src/cli/main.js doctor --json --no-gpu > "$OUT/machine.json"
start=$(date +%s)
node dist/src/cli/main.js grid reproduce-uci-har --data-dir "$DATA" --seeds "$SEEDS" --checkpoint-every 10 --out "$OUT"
echo "wall time of this invocation: $(( $(date +%s) - start )) s"
node dist/src/cli/main.js report "$OUT" --markdown | tee "$OUT/RESULTS.table.md"
