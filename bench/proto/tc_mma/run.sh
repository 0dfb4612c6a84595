#!/usr/bin/env bash
# One device call (repo root on the device): checks, timings, torch, sanitizers (small shapes).
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
steps=${*:-check time torch memcheck synccheck racecheck}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader
for s in $steps; do
  echo "=== $s $(date +%T)"
  case $s in
    check) timeout 40 ./bin/harness check > "$OUT/check.txt" 2>&1; echo "rc $?"; grep -E "FAIL|passed|error" "$OUT/check.txt" | head -30 ;;
    memcheck|racecheck|synccheck) timeout 25 compute-sanitizer --tool $s ./bin/harness small > "$OUT/$s.txt" 2>&1; echo "rc $?"; grep -E "FAIL|passed" "$OUT/$s.txt"; tail -2 "$OUT/$s.txt" ;;
    time) timeout 40 ./bin/harness time > "$OUT/time.txt" 2>&1; echo "rc $?"; grep -E "FAIL|error" "$OUT/time.txt" | head; sed -n '/^config/,$p' "$OUT/time.txt" ;;
    timenows) timeout 40 ./bin/harness_nows time > "$OUT/time_nows.txt" 2>&1; echo "rc $?"; grep -E "FAIL|error" "$OUT/time_nows.txt" | head; sed -n '/^config/,$p' "$OUT/time_nows.txt" ;;
    torch) timeout 25 python3 bench_torch.py > "$OUT/torch.txt" 2>&1; echo "rc $?"; cat "$OUT/torch.txt" ;;
  esac
done
