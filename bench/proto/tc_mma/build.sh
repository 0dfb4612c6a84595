#!/usr/bin/env bash
# Builds the harness (sm_90) into bin/ and, with "archs", the ptxas report for every target.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
NVCC=${NVCC:-$root/.toolchain/cuda/nvidia/cu13/bin/nvcc}
mkdir -p "$here/bin"
if [ "${1:-}" = archs ]; then
  for a in 80 86 89 90 120; do
    "$NVCC" -std=c++17 -O3 -gencode arch=compute_$a,code=sm_$a -Xptxas -v -c -o /tmp/tcm_$a.o "$here/harness.cu" \
      > "$here/bin/ptxas_sm$a.txt" 2>&1 || { echo "sm_$a FAILED"; tail "$here/bin/ptxas_sm$a.txt"; }
    echo "sm_$a: $(grep -c 'Compiling entry' "$here/bin/ptxas_sm$a.txt") entries, spills: $(grep -E 'spill' "$here/bin/ptxas_sm$a.txt" | grep -vc ' 0 bytes spill stores, 0 bytes spill loads'), warnings: $(grep -ci warning "$here/bin/ptxas_sm$a.txt")"
  done
  exit 0
fi
"$NVCC" -std=c++17 -O3 -lineinfo -gencode arch=compute_90,code=sm_90 -Xptxas -v -o "$here/bin/harness" "$here/harness.cu" \
  -cudart static -L"$(dirname "$NVCC")/../lib" > "$here/bin/ptxas_build.txt" 2>&1 || { cat "$here/bin/ptxas_build.txt"; exit 1; }
grep -iE "error|warning" "$here/bin/ptxas_build.txt" || true
