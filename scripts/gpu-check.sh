#!/usr/bin/env bash
# The ONE script the GPU machine runs (after scripts/carry-build.sh here, carrying `.carry/pack`):
# the esmm GPU suite, the baseline tests, the tc suite (tests/gpu_tc.rs), then compute-sanitizer
# memcheck/racecheck/synccheck on the small-shape mode (`--sanitizer-shapes`) of both suites.
# Writes a summary to $OUT/gpu-check-summary.txt (and stdout); logs under $OUT.
# Usage: scripts/gpu-check.sh [--quick] [--filter SUBSTR]   (extra args go to both full suites)
# GPU_CHECK_SUITES picks the parts (default "esmm baselines esmm-sanitizer tc tc-sanitizer"; all
# together exceed one 10-minute device command, so e.g. GPU_CHECK_SUITES=tc, then
# GPU_CHECK_SUITES=tc-sanitizer); SANITIZER_TOOLS the tools (default "memcheck racecheck
# synccheck"). TC_SUITE_ARGS adds arguments for the tc suite only (e.g. "--seed 7"); timeouts:
# SUITE_TIMEOUT, BASELINES_TIMEOUT, SANITIZER_TIMEOUT (esmm), TC_SUITE_TIMEOUT,
# TC_SANITIZER_TIMEOUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-check-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries travel packed (scripts/carry-build.sh): unpack them (every time: a warm machine
# may keep an older .carry/bin, e.g. one without test-gpu_tc).
[ -f .carry/pack/bin.tgz ] && tar xzf .carry/pack/bin.tgz -C .carry
suite=$(ls .carry/bin/test-gpu_suite 2>/dev/null | head -n 1)
tc=$(ls .carry/bin/test-gpu_tc 2>/dev/null | head -n 1)
parts=" ${GPU_CHECK_SUITES:-esmm baselines esmm-sanitizer tc tc-sanitizer} "
want() { [[ "$parts" == *" $1 "* ]]; }
summary="$OUT/gpu-check-summary.txt"
sanitizer=/usr/local/cuda/bin/compute-sanitizer
command -v compute-sanitizer >/dev/null 2>&1 && sanitizer=$(command -v compute-sanitizer)
{
  echo "# esmm gpu-check"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
  echo "cuda: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | grep release)"
} > "$summary"
status=0
for need in "esmm:$suite:test-gpu_suite" "esmm-sanitizer:$suite:test-gpu_suite" "tc:$tc:test-gpu_tc" "tc-sanitizer:$tc:test-gpu_tc"; do
  IFS=: read -r part bin name <<< "$need"
  if want "$part" && [ -z "$bin" ]; then
    echo "no .carry/bin/$name: run scripts/carry-build.sh first and carry .carry" | tee -a "$summary"
    exit 1
  fi
done

if want esmm; then
  t0=$(date +%s)
  cmd="timeout ${SUITE_TIMEOUT:-400} $suite $*"
  $cmd > "$OUT/gpu-suite.log" 2>&1; rc=$?
  [ $rc -ne 0 ] && status=1
  {
    echo "command: $cmd"
    echo "suite: $(tail -n 1 "$OUT/gpu-suite.log") (exit $rc, $(( $(date +%s) - t0 )) s)"
    grep -E "^FAIL" "$OUT/gpu-suite.log" | head -n 20
  } >> "$summary"
fi

# The same-process cuBLAS / cuBLASLt baselines (tests/gpu_baselines.rs), when built.
baselines=.carry/bin/test-gpu_baselines
if want baselines && [ -x "$baselines" ]; then
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

# The tc suite (tests/gpu_tc.rs): every compiled tc variant for this GPU + the tc API cases.
if want tc; then
  t0=$(date +%s)
  cmd="timeout ${TC_SUITE_TIMEOUT:-480} $tc $* ${TC_SUITE_ARGS:-}"
  $cmd > "$OUT/gpu-tc.log" 2>&1; rc=$?
  [ $rc -ne 0 ] && status=1
  {
    echo "command: $cmd"
    echo "tc suite: $(grep -E '^gpu_tc: [0-9]+ cases' "$OUT/gpu-tc.log" | head -n 1)"
    echo "tc suite: $(tail -n 1 "$OUT/gpu-tc.log") (exit $rc, $(( $(date +%s) - t0 )) s)"
    grep -E "^FAIL" "$OUT/gpu-tc.log" | head -n 20
  } >> "$summary"
fi

# compute-sanitizer on the small-shape mode of each suite: log sanitizer-<tool>.log (esmm) and
# sanitizer-tc-<tool>.log (tc).
sanitize() {  # label log timeout binary
  local label=$1 log=$2 limit=$3 bin=$4 t0 cmd rc errors hazards
  t0=$(date +%s)
  cmd="timeout $limit $sanitizer --tool $tool --error-exitcode 99 --print-limit 20 $bin --sanitizer-shapes --timeout 300"
  $cmd > "$log" 2>&1; rc=$?
  [ $rc -ne 0 ] && status=1
  errors=$(grep -E "ERROR SUMMARY: [0-9]+ error" "$log" | tail -n 1)
  hazards=$(grep -E "RACECHECK SUMMARY" "$log" | tail -n 1)
  {
    echo "command: $cmd"
    echo "$label: ${errors:-no summary line} ${hazards} | suite: $(grep -E '^[0-9]+ passed' "$log" | tail -n 1) (exit $rc, $(( $(date +%s) - t0 )) s)"
  } >> "$summary"
}
for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck}; do
  want esmm-sanitizer && sanitize "$tool" "$OUT/sanitizer-$tool.log" "${SANITIZER_TIMEOUT:-170}" "$suite"
  want tc-sanitizer && sanitize "tc $tool" "$OUT/sanitizer-tc-$tool.log" "${TC_SANITIZER_TIMEOUT:-200}" "$tc"
done
echo "overall: $([ $status -eq 0 ] && echo PASS || echo FAIL)" >> "$summary"
cat "$summary"
exit $status
