#!/usr/bin/env bash
# Installs a project-local nvcc (CUDA 13.0, pinned PyPI wheels) into .toolchain/cuda unless one
# is already there. Prints the nvcc path on stdout. See ../shared/notes/toolchain.md. This is the
# last place the nvcc search looks (toolchain/src/nvcc.rs, scripts/find-nvcc.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.toolchain/cuda"
nvcc="$dir/nvidia/cu13/bin/nvcc"
if [ ! -x "$nvcc" ]; then
  echo "provisioning nvcc 13.0 from PyPI wheels into $dir" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target "$dir" \
    "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-crt==13.0.*" \
    "nvidia-nvvm==13.0.*" "nvidia-cuda-cccl==13.0.*" >&2
fi
"$nvcc" --version >&2
echo "$nvcc"
