{#
  Family tc: one translation unit per variant (codegen/src/families/tc/render.rs fills the
  context). The variant's parameters become the members of struct TcCfg; the device code is
  generic CUDA over it: the main loops (tc/mma.cuh or tc/wgmma.cuh), the pattern and pack stages
  (tc/pattern.cuh, tc/pack.cuh). The entry points' parameter lists come from the ABI data
  (esmm_spec::families::tc::stage_args).
-#}
{% if wgmma %}// nvcc-targets: sm_90a
{% endif %}// {{ name }}
// {{ summary }}
// Kernel ABI and pattern layout: docs/ARCHITECTURE.md. Design notes: docs/KERNELS.md.
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {{ name }} {

// ---- variant parameters ----------------------------------------------------------------------
struct TcCfg {
    using In = {{ in_type }};              // element type of A and B{% if tf32 %} (TF32 tensor-core math){% endif %}
    using Out = {{ out_type }};            // element type of C
    static constexpr int BM = {{ bm }};            // CTA tile rows
    static constexpr int BN = {{ bn }};            // CTA tile columns
    static constexpr int BK = {{ bk }};            // k per pipeline stage
    static constexpr int WM = {{ wm }};            // warp tile rows (mma)
    static constexpr int WN = {{ wn }};            // warp tile columns (mma)
    static constexpr int CONSUMERS = {{ consumers }};  // consumer warpgroups (wgmma)
    static constexpr int THREADS = {{ threads }};
    static constexpr int STAGES = {{ stages }};    // shared-memory pipeline depth
    static constexpr int GROUP_M = {{ group_m }};  // tile rasterisation group (tile rows)
    static constexpr int SPARSITY = {{ sparsity }};    // 0 dense, 1 A-only, 2 joint A and B
    static constexpr int A_ROWS = {{ a_rows }};    // A pattern: rows per bit
    static constexpr int K_GRAN = {{ k_gran }};    // patterns: k per bit
    static constexpr int B_COLS = {{ b_cols }};    // B pattern: columns per bit
    static constexpr int ACT = {{ activation }};   // 0 none, 1 relu, 2 relu^2
    static constexpr bool COL_NNZ = {{ col_nnz }}; // per-column nonzero counts of C
    static constexpr bool TRANSPOSE_B = {{ wgmma }};   // the GEMM reads B as N x K (K-major)
    static constexpr unsigned SMEM_BYTES = {{ smem_bytes }}u;  // dynamic shared memory of the GEMM
};

{% include "tc/pattern.cuh" %}

{% include "tc/pack.cuh" %}

{% if wgmma %}{% include "tc/wgmma.cuh" %}{% else %}{% include "tc/mma.cuh" %}{% endif %}

}  // namespace {{ name }}

// ---- entry points (ABI) ------------------------------------------------------------------------
{% for e in entries %}
extern "C" __global__ void __launch_bounds__({{ e.bounds }})
{{ name }}_{{ e.suffix }}({{ e.signature }})
{
    using namespace {{ name }};
    {{ e.body }};
}
{% endfor %}
