#!/usr/bin/env bash
# The README's test command: makes sure nvcc exists (provisions CUDA 13.0 nvcc from pinned PyPI
# wheels into .toolchain/cuda when none is found), then runs the whole test suite in release
# mode. Prints the kernel compile time (build.rs reports it as a cargo warning).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

find_nvcc() {
  if [ -n "${NVCC:-}" ] && [ -x "$NVCC" ]; then echo "$NVCC"; return; fi
  for home in "${CUDA_HOME:-}" "${CUDA_PATH:-}"; do
    if [ -n "$home" ] && [ -x "$home/bin/nvcc" ]; then echo "$home/bin/nvcc"; return; fi
  done
  if command -v nvcc >/dev/null 2>&1; then command -v nvcc; return; fi
  for p in /usr/local/cuda/bin/nvcc "$root/.toolchain/cuda/nvidia/cu13/bin/nvcc"; do
    if [ -x "$p" ]; then echo "$p"; return; fi
  done
}

nvcc=$(find_nvcc || true)
if [ -z "$nvcc" ]; then
  nvcc=$("$root/scripts/provision-nvcc.sh" | tail -n 1)
fi
export NVCC="$nvcc"
echo "test.sh: using NVCC=$NVCC"

start=$(date +%s)
# -vv is not needed: cargo prints build-script warnings (the compile time line) on the first
# build of the crate; grep it out of the build log so it is always visible.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo build --workspace --release --all-targets 2>&1 | tee "$log"
grep -E "esmm: (compiled|no generated)" "$log" | sed 's/^warning: esmm@[^:]*: /test.sh: kernels: /' || \
  echo "test.sh: kernels: cached (no recompilation needed)"
echo "test.sh: build took $(( $(date +%s) - start )) s"

cargo test --workspace --release "$@"
echo "test.sh: total $(( $(date +%s) - start )) s"
