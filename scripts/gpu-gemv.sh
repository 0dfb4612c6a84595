#!/usr/bin/env bash
# Family gemv on the GPU machine (after scripts/carry-build.sh here; carry `.carry/lean`, made by
#   tar czf .carry/lean/bin.tgz -C .carry bin/esmm-tune bin/test-gpu_gemv
# or the full `.carry/pack`):
#   scripts/gpu-gemv.sh check   the gemv suite (--quick unless GEMV_FULL=1), then compute-sanitizer
#                               memcheck / racecheck / synccheck on its --sanitizer-shapes mode
#   scripts/gpu-gemv.sh bench   esmm-tune bench --experiment decode, then --experiment mlp
# Logs and CSVs under $OUT (gpu-gemv.log is the summary).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-gemv-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
for p in .carry/pack/bin.tgz .carry/lean/bin.tgz; do [ -f "$p" ] && tar xzf "$p" -C .carry; done
bin=.carry/bin
log="$OUT/gpu-gemv.log"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
} | tee -a "$log"
run() { echo "\$ $*" | tee -a "$log"; local t0=$(date +%s); "$@" >> "$log.part" 2>&1; local rc=$?; tail -n "${TAIL:-3}" "$log.part" | tee -a "$log"; cat "$log.part" >> "$OUT/full.log"; rm -f "$log.part"; echo "exit $rc, $(( $(date +%s) - t0 )) s" | tee -a "$log"; }
case "${1:-check}" in
  check)
    quick=--quick; [ "${GEMV_FULL:-0}" = 1 ] && quick=
    TAIL=6 run timeout "${GEMV_SUITE_TIMEOUT:-300}" $bin/test-gpu_gemv $quick
    grep -E "^FAIL" "$OUT/full.log" | head -n 30 | tee -a "$log"
    for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck}; do
      TAIL=4 run timeout "${GEMV_SANITIZER_TIMEOUT:-150}" compute-sanitizer --tool $tool --error-exitcode 99 --print-limit 10 $bin/test-gpu_gemv --sanitizer-shapes --timeout 300
    done
    ;;
  bench)
    TAIL=200 run timeout "${DECODE_TIMEOUT:-300}" $bin/esmm-tune bench --experiment decode --reps "${REPS:-10}" --out "$OUT"
    TAIL=40 run timeout "${MLP_TIMEOUT:-200}" $bin/esmm-tune bench --experiment mlp --reps "${REPS:-10}" --out "$OUT"
    ;;
  *) echo "usage: scripts/gpu-gemv.sh check|bench" >&2; exit 2 ;;
esac
