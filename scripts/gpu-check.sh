#!/usr/bin/env bash
# The ONE script the GPU machine runs (after scripts/carry-build.sh here, carrying `.carry/pack`):
# the GPU suite, the baseline tests, then compute-sanitizer memcheck/racecheck/synccheck on the small-shape mode.
# Writes a summary to $OUT/gpu-check-summary.txt (and stdout); logs under $OUT.
# Usage: scripts/gpu-check.sh [--quick] [--filter SUBSTR]   (extra args go to the full suite)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-check-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries travel packed (scripts/carry-build.sh): unpack them once.
[ -f .carry/pack/bin.tgz ] && [ ! -x .carry/bin/esmm-tune ] && tar xzf .carry/pack/bin.tgz -C .carry
suite=$(ls .carry/bin/test-gpu_suite 2>/dev/null | head -n 1)
summary="$OUT/gpu-check-summary.txt"
sanitizer=/usr/local/cuda/bin/compute-sanitizer
command -v compute-sanitizer >/dev/null 2>&1 && sanitizer=$(command -v compute-sanitizer)
{
  echo "# esmm gpu-check"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
  echo "cuda: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | grep release)"
} > "$summary"
if [ -z "$suite" ]; then
  echo "no .carry/bin/test-gpu_suite: run scripts/carry-build.sh first and carry .carry" | tee -a "$summary"
  exit 1
fi
status=0

t0=$(date +%s)
cmd="timeout ${SUITE_TIMEOUT:-400} $suite $*"
$cmd > "$OUT/gpu-suite.log" 2>&1; rc=$?
[ $rc -ne 0 ] && status=1
{
  echo "command: $cmd"
  echo "suite: $(tail -n 1 "$OUT/gpu-suite.log") (exit $rc, $(( $(date +%s) - t0 )) s)"
  grep -E "^FAIL" "$OUT/gpu-suite.log" | head -n 20
} >> "$summary"

# The same-process cuBLAS / cuBLASLt baselines (tests/gpu_baselines.rs), when built.
baselines=.carry/bin/test-gpu_baselines
if [ -x "$baselines" ]; then
  t0=$(date +%s)
  cmd="timeout ${BASELINES_TIMEOUT:-200} $baselines"
  $cmd > "$OUT/gpu-baselines.log" 2>&1; rc=$?
  [ $rc -ne 0 ] && status=1
  {
    echo "command: $cmd"
    echo "baselines: $(tail -n 1 "$OUT/gpu-baselines.log") (exit $rc, $(( $(date +%s) - t0 )) s)"
    grep -E "^FAIL" "$OUT/gpu-baselines.log" | head -n 20
  } >> "$summary"
fi

for tool in memcheck racecheck synccheck; do
  t0=$(date +%s)
  cmd="timeout ${SANITIZER_TIMEOUT:-170} $sanitizer --tool $tool --error-exitcode 99 --print-limit 20 $suite --sanitizer-shapes --timeout 300"
  $cmd > "$OUT/sanitizer-$tool.log" 2>&1; rc=$?
  [ $rc -ne 0 ] && status=1
  errors=$(grep -E "ERROR SUMMARY: [0-9]+ error" "$OUT/sanitizer-$tool.log" | tail -n 1)
  hazards=$(grep -E "RACECHECK SUMMARY" "$OUT/sanitizer-$tool.log" | tail -n 1)
  {
    echo "command: $cmd"
    echo "$tool: ${errors:-no summary line} ${hazards} | suite: $(grep -E '^[0-9]+ passed' "$OUT/sanitizer-$tool.log" | tail -n 1) (exit $rc, $(( $(date +%s) - t0 )) s)"
  } >> "$summary"
done
echo "overall: $([ $status -eq 0 ] && echo PASS || echo FAIL)" >> "$summary"
cat "$summary"
exit $status
