#!/usr/bin/env bash
# The README's test command: makes sure nvcc exists (provisions CUDA 13.0 nvcc from pinned PyPI
# wheels into .toolchain/cuda when none is found), then runs the whole test suite in release
# mode. Prints the kernel compile time (build.rs reports it as a cargo warning).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# nvcc in the order of toolchain/src/nvcc.rs (the reference): NVCC (set but missing is an error),
# CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda/bin/nvcc, .toolchain/...; provisioned when none.
. "$root/scripts/find-nvcc.sh"
rc=0
nvcc=$(find_nvcc "$root") || rc=$?
if [ "$rc" = 1 ]; then exit 1; fi
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
