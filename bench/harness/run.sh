#!/usr/bin/env bash
# Device-side driver for the kernel harness: compile, check, sanitize, time.
# Usage (on the GPU machine, repo root, rendered kernels in KDIR):
#   bash bench/harness/run.sh KDIR [steps...]   steps: check small sanitize bench (default: all)
set -u
KDIR=${1:-.carry/kernels}; shift || true
STEPS=${*:-"check sanitize bench"}
OUTDIR=${OUT:-/tmp/esmm-harness}; mkdir -p "$OUTDIR"
export PATH=/usr/local/cuda/bin:$PATH LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv,noheader
t0=$(date +%s)
nvcc -O3 -std=c++17 -arch=sm_90 -I "$KDIR" bench/harness/harness.cu -lcublas -o /tmp/harness -Xptxas -v \
  > "$OUTDIR/ptxas.log" 2>&1 || { tail -30 "$OUTDIR/ptxas.log"; exit 1; }
echo "compile: $(( $(date +%s) - t0 )) s"
for s in $STEPS; do
  case $s in
    check) timeout 300 /tmp/harness check 2>&1 | tee "$OUTDIR/check.log" | tail -25 ;;
    sanitize)
      for tool in memcheck racecheck synccheck; do
        timeout 240 compute-sanitizer --tool $tool --error-exitcode 9 /tmp/harness small > "$OUTDIR/san_$tool.log" 2>&1
        echo "sanitizer $tool: rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUTDIR/san_$tool.log" | tail -1)"
      done ;;
    prof)
      # ncu of one variant at one density: PROF_NAME, PROF_DENSITY.
      timeout 240 ncu --launch-skip 2 --launch-count 1 --section SpeedOfLight --section WarpStateStats \
        --section SchedulerStats --section Occupancy --section LaunchStats --section InstructionStats \
        /tmp/harness prof "$PROF_NAME" "$PROF_DENSITY" > "$OUTDIR/ncu_$PROF_DENSITY.log" 2>&1
      echo "ncu rc=$?"; grep -E "Duration|Issue Slots Busy|Warp Cycles Per Issued|Stall|Registers|Achieved Occupancy|Executed Ipc|No Eligible|Theoretical Occ|SM Busy|Memory Throughput|Compute \(SM\)" "$OUTDIR/ncu_$PROF_DENSITY.log" | head -40 ;;
    bench) timeout 400 /tmp/harness bench 4096 ${BENCH_FILTER:-} 2>&1 | tee "$OUTDIR/bench.log" | grep -v "^ *relerr" ;;
  esac
done
echo "total: $(( $(date +%s) - t0 )) s"
