#!/usr/bin/env bash
# One device call: SASS check, correctness suite, sanitizers, timings, torch reference.
# Usage (on the device, repo root): bash bench/proto/tc_wgmma/run_gpu.sh [steps...]
# steps: sass check memcheck racecheck synccheck bench benchq torch   (default: all)
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
steps=${*:-sass check memcheck bench torch racecheck synccheck}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader
for s in $steps; do
  echo "=== $s"
  case $s in
    sass) cuobjdump --dump-sass bin/harness > "$OUT/sass.txt"; echo "HGMMA lines: $(grep -c HGMMA "$OUT/sass.txt")"; grep -m3 HGMMA "$OUT/sass.txt"; echo "LDL/STL: $(grep -cE 'LDL|STL' "$OUT/sass.txt")" ;;
    check) timeout 60 ./bin/harness check > "$OUT/check.txt" 2>&1; echo "rc $?"; grep -E "FAIL|passed|error" "$OUT/check.txt" | head -30 ;;
    memcheck|racecheck|synccheck) timeout 45 compute-sanitizer --tool $s ./bin/harness sanitize > "$OUT/$s.txt" 2>&1; echo "rc $?"; tail -4 "$OUT/$s.txt" ;;
    bench) timeout 90 ./bin/harness bench > "$OUT/bench.txt" 2>&1; echo "rc $?"; grep -E "FAIL" "$OUT/bench.txt" | head; ;;
    benchv1) timeout 40 ./bin/harness_v1 bench quick > "$OUT/bench_v1.txt" 2>&1; echo "rc $?"; sed -n "/^kernel/,\$p" "$OUT/bench_v1.txt" ;;
    repeat) timeout 40 ./bin/harness repeat > "$OUT/repeat.txt" 2>&1; echo "rc $?"; grep "^repeat" "$OUT/repeat.txt" ;;
    benchq) timeout 40 ./bin/harness bench quick > "$OUT/bench.txt" 2>&1; echo "rc $?"; grep -E "FAIL" "$OUT/bench.txt" | head; ;;
    torch) timeout 40 python3 bench_torch.py >> "$OUT/torch.txt" 2>&1; echo "rc $?" ;;
  esac
done
echo "=== summary"
sed -n '/^kernel/,$p' "$OUT/bench.txt" 2>/dev/null
cat "$OUT/torch.txt" 2>/dev/null
