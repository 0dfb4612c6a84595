#!/usr/bin/env bash
# One device call (repo root on the device): check, sanitizers on the check, timings.
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
steps=${*:-check time memcheck}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,memory.total --format=csv,noheader
lib=$(python3 -c "import nvidia.cu13, os; print(os.path.dirname(nvidia.cu13.__file__)+'/lib')" 2>/dev/null || true)
for d in $lib $(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')" 2>/dev/null) /usr/local/cuda/lib64; do export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}; done
ls $lib 2>/dev/null | grep -i cublas | head -3
for s in $steps; do
  echo "=== $s $(date +%T)"
  case $s in
    check) timeout 120 ./bin/harness check > "$OUT/check.txt" 2>&1; echo "rc $?"; grep -E "FAIL|passed|CUDA" "$OUT/check.txt" | head -30 ;;
    memcheck|racecheck|synccheck) timeout 200 compute-sanitizer --tool $s ./bin/harness small > "$OUT/$s.txt" 2>&1; echo "rc $?"; tail -3 "$OUT/$s.txt" ;;
    time) timeout 300 ./bin/harness time > "$OUT/time.txt" 2>&1; echo "rc $?"; cat "$OUT/time.txt" ;;
    sweep) timeout 400 ./bin/harness sweep > "$OUT/sweep.txt" 2>&1; echo "rc $?"; cat "$OUT/sweep.txt" ;;
  esac
done
