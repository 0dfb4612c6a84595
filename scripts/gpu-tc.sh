#!/usr/bin/env bash
# Family tc on the GPU machine (after scripts/carry-build.sh here, carrying `.carry/pack`):
#   scripts/gpu-tc.sh check   the tc suite (--quick unless TC_FULL=1), compute-sanitizer
#                             memcheck/racecheck/synccheck on its small shapes, the esmm suite --quick
#   (carry `.carry/pack`, or the lean `.carry/lean/bin.tgz` of esmm-tune + test-gpu_tc when the tree
#   and the full pack exceed what the device tool carries)
#   scripts/gpu-tc.sh tune    the tc sweep into a copy of the committed table ($OUT/<gpu>.json),
#                             then the bf16 density benchmark (and tf32/f16 at 1 and 0.5) with it
# Logs, CSVs, charts and the table under $OUT (bench CSVs in $OUT/bench-tc/).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-tc-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
for p in .carry/pack/bin.tgz .carry/lean/bin.tgz; do [ -f "$p" ] && tar xzf "$p" -C .carry; done
bin=.carry/bin
log="$OUT/gpu-tc.log"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
} | tee "$log"
run() { echo "\$ $*" | tee -a "$log"; local t0=$(date +%s); "$@" >> "$log.part" 2>&1; local rc=$?; tail -n "${TAIL:-3}" "$log.part" | tee -a "$log"; cat "$log.part" >> "$OUT/full.log"; rm -f "$log.part"; echo "exit $rc, $(( $(date +%s) - t0 )) s" | tee -a "$log"; }
case "${1:-check}" in
  check)
    quick=--quick; [ "${TC_FULL:-0}" = 1 ] && quick=
    TAIL=12 run timeout "${TC_SUITE_TIMEOUT:-240}" $bin/test-gpu_tc $quick
    grep -E "^FAIL" "$OUT/full.log" | head -n 30 | tee -a "$log"
    for tool in memcheck racecheck synccheck; do
      TAIL=4 run timeout "${TC_SANITIZER_TIMEOUT:-110}" compute-sanitizer --tool $tool --error-exitcode 99 --print-limit 10 $bin/test-gpu_tc --sanitizer-shapes --timeout 300
    done
    [ -x $bin/test-gpu_suite ] && TAIL=2 run timeout "${ESMM_SUITE_TIMEOUT:-120}" $bin/test-gpu_suite --quick
    ;;
  tune)
    slug=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr 'A-Z ' 'a-z-')
    cp "tune/tables/$slug.json" "$OUT/$slug.json" 2>/dev/null
    TAIL=40 run $bin/esmm-tune sweep --family tc --budget-minutes "${SWEEP_MINUTES:-4}" --cache /tmp/esmm-sweep --out "$OUT/$slug.json" ${SWEEP_ARGS:-}
    export ESMM_TUNE_TABLE="$OUT/$slug.json"
    TAIL=30 run $bin/esmm-tune bench --dtype bf16 --experiment density --out "$OUT/bench-tc"
    TAIL=12 run $bin/esmm-tune bench --dtype tf32 --experiment density --densities 1,0.5 --out "$OUT/bench-tc"
    for shape in ${BENCH_SHAPES:-2048x11008x4096 8192x8192x8192}; do
      TAIL=12 run $bin/esmm-tune bench --dtype bf16 --experiment density --shape "$shape" --out "$OUT/bench-tc-$shape"
    done
    ;;
esac
