#!/usr/bin/env bash
# Runs on the GPU machine (after scripts/carry-build.sh here, carrying `.carry/pack`): the benchmark
# experiments (the seed's five figures as data, and `dispatch`: the host and GPU cost of default
# dispatch) into $OUT/bench, each printing its table with ratios to cuBLAS measured in the same
# process; every CSV has the common header (tune/src/bench/row.rs). Charts need a font; where
# the GPU machine has none, draw them here afterwards: `esmm-tune figures --from <dir>`.
# The CSVs and charts are packed into $OUT/bench.tgz (the device tool returns at most 8 files).
# Usage: scripts/gpu-bench.sh [experiments, default all] [extra esmm-tune bench args]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-bench-out}"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries travel packed (scripts/carry-build.sh): unpack them once.
[ -f .carry/pack/bin.tgz ] && [ ! -x .carry/bin/esmm-tune ] && tar xzf .carry/pack/bin.tgz -C .carry
experiments="${1:-all}"
shift || true
{
  echo "# esmm bench"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
  echo "command: esmm-tune bench --experiment $experiments --check --out bench $*"
} | tee "$OUT/bench-header.txt"
dir=$(mktemp -d)
.carry/bin/esmm-tune bench --experiment "$experiments" --check --out "$dir/bench" "$@" 2>&1 | tee "$OUT/bench.log"
tar czf "$OUT/bench.tgz" -C "$dir" bench
