{#
  Family esmm: one translation unit per variant (codegen/src/families/esmm/render.rs fills the
  context). The variant's parameters become constexprs; the device code is generic CUDA over
  them (templates/esmm/*.cuh, templates/common/*.cuh); the entry points' parameter lists come
  from the ABI data (esmm_spec::families::esmm::{GEMM_ARGS, PATTERN_A_ARGS, PATTERN_B_ARGS}).
  The rendered bytes are fingerprinted by the tuned tables: see codegen/tests/fingerprints.rs.
-#}
// {{ name }}
// {{ summary }}
// Kernel ABI and pattern layout: docs/ARCHITECTURE.md. Design notes: docs/KERNELS.md.
// Every kernel of this file is generic CUDA over the constexpr parameters below; the shared
// device code comes from templates/include/*.cuh.

namespace {{ name }} {

// ---- variant parameters ----------------------------------------------------------------------
constexpr int BM = {{ bm }};             // CTA tile rows
constexpr int BN = {{ bn }};             // CTA tile columns
constexpr int BK = {{ bk }};             // k values per pipeline stage
constexpr int WM = {{ wm }};             // warp tile rows
constexpr int WN = {{ wn }};             // warp tile columns
constexpr int WNITER = {{ wniter }};     // warp sub-tiles along n
constexpr int WMITER = {{ wmiter }};     // warp sub-tiles along m
constexpr int TM = {{ tm }};             // thread tile rows
constexpr int TN = {{ tn }};             // thread tile columns
constexpr int THREADS = {{ threads }};
constexpr int MIN_BLOCKS = {{ min_blocks }};   // __launch_bounds__ residency hint
constexpr bool A_SPARSE = {{ a_sparse }};      // reads an A pattern
constexpr bool B_SPARSE = {{ b_sparse }};      // reads a B pattern
constexpr int GA = {{ ga }};             // A pattern: rows per bit (1 when A is dense)
constexpr int GB = {{ gb }};             // B pattern: columns per bit (1 when B is dense)
constexpr bool EXTRACT_A = {{ extract_a }};    // the GEMM kernel writes a_pat itself (one launch)
constexpr bool EXTRACT_B = {{ extract_b }};    // the GEMM kernel writes b_pat itself (one launch)
constexpr bool PERSISTENT = {{ persistent }};  // cooperative grid-stride launch over tiles
constexpr bool BRANCHLESS = {{ branchless }};  // skip by select instead of branch
constexpr int ACTIVATION = {{ activation }};   // 0 none, 1 relu, 2 relu^2
constexpr bool COL_NNZ = {{ col_nnz }};        // per-column nonzero counts of C
constexpr bool WARP_PIPE = {{ warp_pipe }};     // per-warp cp.async pipeline (warppipe.cuh)
constexpr bool WP_B_FAST = {{ wp_b_fast }};     // per-warp pipeline: 32-bit B copy path
constexpr int PIPE_STAGES = {{ stages }};    // cp.async ring depth (per-warp ring, or dense CTA stages)
constexpr unsigned SMEM_BYTES = {{ smem_bytes }}u;   // dynamic shared memory of the GEMM

{% include "esmm/common.cuh" %}

{% include "esmm/pattern.cuh" %}{% if scan_dense %}

{% include "esmm/scan_dense.cuh" %}{% endif %}

{% include "common/grid_barrier.cuh" %}

{% include "esmm/skiplist.cuh" %}

{% include "esmm/mainloop.cuh" %}

{% include "esmm/epilogue.cuh" %}

{% include "esmm/warppipe.cuh" %}

{% include "esmm/gemm.cuh" %}

}  // namespace {{ name }}

// ---- entry points (ABI) ------------------------------------------------------------------------
extern "C" __global__ void __launch_bounds__({{ name }}::THREADS, {{ name }}::MIN_BLOCKS)
{{ name }}_gemm({{ gemm_signature }})
{
    {{ name }}::gemm_kernel({{ gemm_call }});
}
{% if separate_a %}
extern "C" __global__ void __launch_bounds__({{ pattern_threads }})
{{ name }}_pattern_a({{ pattern_a_signature }})
{
    {{ name }}::pattern_a_kernel({{ pattern_a_call }});
}
{% endif %}
{%- if separate_b %}
extern "C" __global__ void __launch_bounds__({{ pattern_threads }})
{{ name }}_pattern_b({{ pattern_b_signature }})
{
    {{ name }}::pattern_b_kernel({{ pattern_b_call }});
}
{% endif %}
