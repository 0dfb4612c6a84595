#!/usr/bin/env bash
# Builds release test (and bench/tuner) binaries for the GPU machine, kernels for sm_90 only,
# and copies the ones the GPU scripts run (test-gpu_suite, test-gpu_baselines, test-gpu_tc, test-gpu_gemv,
# test-gpu_rans, esmm-tune) into .carry/bin (the GPU machine has no Rust), stripped and packed into
# .carry/pack/bin.tgz. Carry `.carry/pack` with the device tool, then run scripts/gpu-check.sh /
# gpu-bench.sh there (they unpack it).
# Usage: scripts/carry-build.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ESMM_CUDA_ARCHS="${ESMM_CUDA_ARCHS:-sm_90}"
# Line info makes compute-sanitizer reports point at template lines; it does not change SASS.
export ESMM_NVCC_FLAGS="${ESMM_NVCC_FLAGS:--lineinfo}"
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
echo "carry-build.sh: using NVCC=$NVCC"
# Same target dir as everything else: the fatbin cache in OUT_DIR is keyed by content + flags,
# so switching ESMM_CUDA_ARCHS back and forth relinks but never recompiles unchanged kernels.
mkdir -p .carry/bin
rm -f .carry/bin/*
copy_artifacts() {
  python3 -c '
import json, os, shutil, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
        continue
    t = msg["target"]
    if not msg["profile"]["test"]:
        prefix = ""          # a binary (tuner, bench, codegen)
    elif "test" in t["kind"]:
        prefix = "test-"     # an integration test, e.g. test-gpu_suite
    else:
        prefix = "unit-"     # a crate unit-test binary
    dst = os.path.join(".carry/bin", prefix + t["name"])
    if os.path.basename(dst) not in ("test-gpu_suite", "test-gpu_baselines", "test-gpu_tc", "test-gpu_gemv", "test-gpu_mlp", "test-gpu_rans", "esmm-tune"):
        continue
    shutil.copy2(msg["executable"], dst)
    print(dst)
'
}
cargo test --workspace --release --no-run --message-format=json | copy_artifacts
cargo build --workspace --release --bins --message-format=json | copy_artifacts
# Stripped and packed: the binaries embed the tuned tables and fatbins (about 50 MB), which with
# the working tree exceeds what the device tool carries; the archive is about 14 MB. Carry
# `.carry/pack`; the GPU scripts unpack it into .carry/bin.
strip .carry/bin/*
mkdir -p .carry/pack
tar czf .carry/pack/bin.tgz -C .carry bin
du -sh .carry/bin .carry/pack/bin.tgz
