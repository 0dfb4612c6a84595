# Sourced by scripts/test.sh and scripts/carry-build.sh: defines `find_nvcc`, the shell copy of
# the nvcc search in toolchain/src/nvcc.rs (`esmm_toolchain::locate_nvcc`, the reference; keep
# the two in the same order):
#   1. NVCC (when set and non-empty it must be a file: otherwise an error, never skipped),
#   2. $CUDA_HOME/bin/nvcc, 3. $CUDA_PATH/bin/nvcc, 4. nvcc in each directory of PATH,
#   5. /usr/local/cuda/bin/nvcc, 6. <root>/.toolchain/cuda/nvidia/cu13/bin/nvcc.
# Usage: find_nvcc <project root>. Prints the path and returns 0; returns 1 (after a message on
# stderr) when NVCC names no file; returns 2 when no nvcc is found anywhere.
find_nvcc() {
  local root=$1 candidate dir
  if [ -n "${NVCC:-}" ]; then
    if [ -f "$NVCC" ]; then echo "$NVCC"; return 0; fi
    echo "error: NVCC=$NVCC is not a file; point NVCC at an nvcc executable or unset it" >&2
    return 1
  fi
  local candidates=()
  [ -n "${CUDA_HOME:-}" ] && candidates+=("$CUDA_HOME/bin/nvcc")
  [ -n "${CUDA_PATH:-}" ] && candidates+=("$CUDA_PATH/bin/nvcc")
  local path_dirs=()
  IFS=: read -r -a path_dirs <<< "${PATH:-}"
  for dir in "${path_dirs[@]}"; do
    candidates+=("${dir:-.}/nvcc")  # an empty entry is the current directory
  done
  candidates+=(/usr/local/cuda/bin/nvcc "$root/.toolchain/cuda/nvidia/cu13/bin/nvcc")
  for candidate in "${candidates[@]}"; do
    if [ -f "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 2
}
