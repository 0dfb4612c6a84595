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

{% include "include/common.cuh" %}

{% include "include/pattern.cuh" %}

{% include "include/grid_barrier.cuh" %}

{% include "include/skiplist.cuh" %}

{% include "include/mainloop.cuh" %}

{% include "include/epilogue.cuh" %}

{% include "include/warppipe.cuh" %}

{% include "include/gemm.cuh" %}

}  // namespace {{ name }}

// ---- entry points (ABI) ------------------------------------------------------------------------
extern "C" __global__ void __launch_bounds__({{ name }}::THREADS, {{ name }}::MIN_BLOCKS)
{{ name }}_gemm(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K, unsigned int* a_pat, unsigned int* b_pat, unsigned int* col_nnz, unsigned int* ctrl, const unsigned int* ones, unsigned int epoch)
{
    {{ name }}::gemm_kernel(A, B, C, M, N, K, a_pat, b_pat, col_nnz, ctrl, ones, epoch);
}
{% if separate_a %}
extern "C" __global__ void __launch_bounds__(32)
{{ name }}_pattern_a(const float* __restrict__ A, int M, int K, unsigned int* a_pat, unsigned int* ctrl, unsigned int epoch)
{
    {{ name }}::pattern_a_kernel(A, M, K, a_pat, ctrl, epoch);
}
{% endif %}
{%- if separate_b %}
extern "C" __global__ void __launch_bounds__(32)
{{ name }}_pattern_b(const float* __restrict__ B, int K, int N, unsigned int* b_pat, unsigned int* ctrl, unsigned int epoch)
{
    {{ name }}::pattern_b_kernel(B, K, N, b_pat, ctrl, epoch);
}
{% endif %}
