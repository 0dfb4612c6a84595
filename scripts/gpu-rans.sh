#!/usr/bin/env bash
# Family rans on the GPU machine (after scripts/carry-build.sh here; carry `.carry/lean`, made by
#   tar czf .carry/lean/bin.tgz -C .carry bin/test-gpu_rans
# or the full `.carry/pack`):
#   scripts/gpu-rans.sh check   the rans suite (--quick unless RANS_FULL=1), then compute-sanitizer
#                               memcheck / racecheck / synccheck on its --sanitizer-shapes mode
#                               (small shapes, every variant at M = 1 and its mt, the decode and
#                               corrupted-stream cases)
# Extra suite arguments: RANS_ARGS (e.g. RANS_ARGS="--seed 42 --filter corrupt").
# Logs under $OUT (gpu-rans.log is the summary, full.log everything).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-rans-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
for p in .carry/pack/bin.tgz .carry/lean/bin.tgz; do [ -f "$p" ] && tar xzf "$p" -C .carry; done
bin=.carry/bin
log="$OUT/gpu-rans.log"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
} | tee -a "$log"
run() { echo "\$ $*" | tee -a "$log"; local t0=$(date +%s); "$@" >> "$log.part" 2>&1; local rc=$?; tail -n "${TAIL:-3}" "$log.part" | tee -a "$log"; cat "$log.part" >> "$OUT/full.log"; rm -f "$log.part"; echo "exit $rc, $(( $(date +%s) - t0 )) s" | tee -a "$log"; }
case "${1:-check}" in
  check)
    quick=--quick; [ "${RANS_FULL:-0}" = 1 ] && quick=
    # shellcheck disable=SC2086
    TAIL=6 run timeout "${RANS_SUITE_TIMEOUT:-300}" $bin/test-gpu_rans $quick ${RANS_ARGS:-}
    grep -E "^FAIL" "$OUT/full.log" | head -n 30 | tee -a "$log"
    for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck}; do
      # shellcheck disable=SC2086
      TAIL=4 run timeout "${RANS_SANITIZER_TIMEOUT:-200}" compute-sanitizer --tool $tool --error-exitcode 99 --print-limit 10 $bin/test-gpu_rans --sanitizer-shapes --timeout 300 ${RANS_ARGS:-}
    done
    grep -E "^FAIL|ERROR SUMMARY|Invalid|Race|Barrier" "$OUT/full.log" | sort | uniq -c | sort -rn | head -n 30 | tee -a "$log"
    ;;
  *) echo "usage: scripts/gpu-rans.sh check" >&2; exit 2 ;;
esac
