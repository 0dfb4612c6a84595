#!/usr/bin/env bash
# Runs on the GPU machine (after scripts/carry-build.sh here, carrying `.carry/pack`): the autotuner
# sweep that produced the committed tune/tables/<gpu>.json. Writes the table and log to $OUT.
# Usage: scripts/gpu-sweep.sh [extra esmm-tune sweep args]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT="${OUT:-$root/gpu-sweep-out}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries travel packed (scripts/carry-build.sh): unpack them once.
[ -f .carry/pack/bin.tgz ] && [ ! -x .carry/bin/esmm-tune ] && tar xzf .carry/pack/bin.tgz -C .carry
slug=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g')
shapes="${SWEEP_SHAPES:-4096x4096x4096,2048x11008x4096,2048x4096x11008,512x4096x4096,16x4096x4096}"
cmd=(.carry/bin/esmm-tune sweep --shapes "$shapes" --budget-minutes "${SWEEP_MINUTES:-8}" --out "$OUT/$slug.json" --cache /tmp/esmm-sweep "$@")
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee "$OUT/sweep.log"
echo "command: ${cmd[*]}" | tee -a "$OUT/sweep.log"
start=$(date +%s)
"${cmd[@]}" 2>&1 | grep -v '^\s*$' | tee -a "$OUT/sweep.log"
echo "sweep wall time: $(( $(date +%s) - start )) s" | tee -a "$OUT/sweep.log"
