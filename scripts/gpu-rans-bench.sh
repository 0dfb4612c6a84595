#!/usr/bin/env bash
# Family rans benchmark on the GPU machine (after scripts/carry-build.sh here; carry `.carry/pack`,
# or a lean archive with the tuner only, e.g.
#   mkdir -p .carry/ransbench && tar czf .carry/ransbench/bin.tgz -C .carry bin/esmm-tune
# and carry `.carry/ransbench`):
#   scripts/gpu-rans-bench.sh   esmm-tune bench --experiment rans: fused rANS GEMV, plain INT8
#                               GEMV, standalone decode and decode-then-INT8 against cuBLAS /
#                               cuBLASLt bf16, M = 1, 4, 16 (all three shapes; RANS_QUICK=1: 4096×11008)
# Environment: REPS (event pairs per measurement, default 10), RANS_QUICK, RANS_BENCH_TIMEOUT
# (seconds, default 480), RANS_BENCH_OUT (where esmm-tune writes; default $OUT).
# Logs and rans.csv under $OUT (gpu-rans-bench.log is the summary with the table, full.log everything).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-rans-bench-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
for p in .carry/pack/bin.tgz .carry/lean/bin.tgz .carry/ransbench/bin.tgz; do [ -f "$p" ] && tar xzf "$p" -C .carry; done
bin=.carry/bin
log="$OUT/gpu-rans-bench.log"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 1)"
} | tee -a "$log"
run() { echo "\$ $*" | tee -a "$log"; local t0=$(date +%s); "$@" >> "$log.part" 2>&1; local rc=$?; tail -n "${TAIL:-3}" "$log.part" | tee -a "$log"; cat "$log.part" >> "$OUT/full.log"; rm -f "$log.part"; echo "exit $rc, $(( $(date +%s) - t0 )) s" | tee -a "$log"; return $rc; }
if [ ! -x "$bin/esmm-tune" ]; then
  echo "no $bin/esmm-tune: run scripts/carry-build.sh here and carry .carry/pack (or a lean archive, see the header)" | tee -a "$log"
  exit 2
fi
quick=; [ "${RANS_QUICK:-0}" = 1 ] && quick=--quick
dest="${RANS_BENCH_OUT:-$OUT}"
# shellcheck disable=SC2086
TAIL=120 run timeout "${RANS_BENCH_TIMEOUT:-480}" $bin/esmm-tune bench --experiment rans $quick --reps "${REPS:-10}" --out "$dest"
rc=$?
if [ -f "$dest/rans.csv" ]; then
  [ "$dest" -ef "$OUT" ] || cp "$dest/rans.csv" "$OUT/rans.csv"
  echo "rans.csv: $(( $(wc -l < "$OUT/rans.csv") - 1 )) rows" | tee -a "$log"
fi
grep -E "^warning" "$OUT/full.log" | sort | uniq -c | sort -rn | head -n 20 | tee -a "$log"
exit $rc
