#!/usr/bin/env bash
# Builds the prototype harness (sm_90) into bin/ with the ptxas report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
NVCC=${NVCC:-$root/.toolchain/cuda/nvidia/cu13/bin/nvcc}
mkdir -p "$here/bin"
"$NVCC" -std=c++17 -O3 -lineinfo -gencode arch=compute_90,code=sm_90 -Xptxas -v -o "$here/bin/harness" "$here/harness.cu" \
  -cudart static -ldl -L"$(dirname "$NVCC")/../lib" > "$here/bin/ptxas_build.txt" 2>&1 || { cat "$here/bin/ptxas_build.txt"; exit 1; }
grep -iE "error|warning" "$here/bin/ptxas_build.txt" || true
grep -E "registers|spill" "$here/bin/ptxas_build.txt" | grep -v "0 bytes spill" | head -20 || true
