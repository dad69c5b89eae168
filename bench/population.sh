#!/usr/bin/env bash
# Populations from the command line: peak RSS and time per round of `fedmm run --dataset uci-har --clients N`
# (src/data/population.ts) for N = 1,000, 10,000 and 100,000 at the same clients per round, FedAvg and
# SCAFFOLD, against what memory O(N·P) would need (one P-vector of float32 per client). Each configuration is
# its own process: peak RSS (/usr/bin/time, all worker threads included) is that process's.
#   FEDMM_BENCH_ROUNDS (3), FEDMM_BENCH_WORKERS (2), FEDMM_BENCH_PER_ROUND (100), FEDMM_BENCH_HID (8)
# Build first: npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${FEDMM_BENCH_ROUNDS:-3}
WORKERS=${FEDMM_BENCH_WORKERS:-2}
PER_ROUND=${FEDMM_BENCH_PER_ROUND:-100}
HID=${FEDMM_BENCH_HID:-8}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, node $(node --version); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| algorithm | clients N | per round | rounds | P | peak RSS MiB | O(N·P) MiB | RSS / O(N·P) | s per round (rounds 2+, no evaluation) | updates/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run() {
  local alg=$1 n=$2 k=$3 rounds=$4 dir="$out/$1-$2-$3"
  /usr/bin/time -f '%M' -o "$out/rss" node dist/src/cli/main.js run --dataset uci-har --hid-size "$HID" --alg "$alg" --clients "$n" --clients-per-round "$k" \
    --rounds "$rounds" --eval-every "$rounds" --workers "$WORKERS" --quiet --no-report --out "$dir" > /dev/null
  node -e '
    const fs = require("node:fs");
    const [dir, alg, n, k, rounds, rssKb] = process.argv.slice(1);
    const run = fs.readdirSync(dir).find((d) => d.startsWith("seed-"));
    const result = JSON.parse(fs.readFileSync(`${dir}/${run}/result.json`, "utf8"));
    const rows = fs.readFileSync(`${dir}/${run}/metrics.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const later = rows.length > 1 ? rows.slice(1) : rows;
    const secs = later.map((r) => (r.phases.round - r.phases.evaluate - r.phases.checkpoint) / 1000);
    const perRound = secs.reduce((a, b) => a + b, 0) / secs.length;
    const P = result.numParams;
    const rss = Number(rssKb) / 1024;
    const naive = (Number(n) * P * 4) / 2 ** 20;
    const updates = later.reduce((a, r) => a + r.accepted, 0);
    console.log(`| ${alg} | ${Number(n).toLocaleString("en")} | ${k} | ${rounds} | ${P.toLocaleString("en")} | ${rss.toFixed(0)} | ${naive.toFixed(0)} | ${(rss / naive).toFixed(3)} | ${perRound.toFixed(2)} | ${(updates / secs.reduce((a, b) => a + b, 0)).toFixed(1)} |`);
  ' "$dir" "$alg" "$n" "$k" "$rounds" "$(cat "$out/rss")"
}
for n in 1000 10000 100000; do run fedavg "$n" "$PER_ROUND" "$ROUNDS"; done
run scaffold 10000 "$PER_ROUND" "$ROUNDS"
if [ "${FEDMM_BENCH_FULL:-0}" = 1 ]; then run fedavg 100000 1000 2; fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
