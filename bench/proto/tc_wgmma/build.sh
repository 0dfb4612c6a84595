#!/usr/bin/env bash
# Builds the harness for sm_90a into bin/ (run from anywhere). Prints the ptxas resource report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
NVCC=${NVCC:-$root/.toolchain/cuda/nvidia/cu13/bin/nvcc}
mkdir -p "$here/bin"
python3 "$here/gen_wgmma.py" "$root/templates/tc/wgmma.cuh"
"$NVCC" -std=c++17 -O3 -lineinfo -gencode arch=compute_90a,code=sm_90a -Xptxas -v \
  -o "$here/bin/harness" "$here/harness.cu" -cudart static -L"$(dirname "$NVCC")/../lib" "$@" 2>&1 | tee "$here/bin/ptxas.txt" | grep -E "error|warning|k_gemm|registers|spill|stack" | grep -B1 -A2 "k_gemm" | head -80 || true
