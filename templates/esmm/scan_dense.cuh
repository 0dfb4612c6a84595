{# Rendered only for one-sided persistent variants (render.rs `scan_dense`). -#}
// ---- dense-operand scan (scan_dense.cuh) ----------------------------------------------------------
// A one-sided variant skips by one operand's pattern only, so nothing else reads its dense operand
// in full; yet an Inf or NaN there must still make the call skip nothing (0 x Inf = NaN). Phase 1
// of its persistent kernel: every warp of the grid scans words of the dense operand, only noting
// non-finite values (A in blocks of 64 rows, B 32 columns at a time).
__device__ __noinline__ void scan_dense_operand(const float* __restrict__ A, const float* __restrict__ B,
    int M, int N, int K, unsigned* ctrl, unsigned epoch)
{
    const int lane = threadIdx.x & 31;
    const int kw = ceil_div(K, 32);
    const int warp_id = blockIdx.x * NWARPS + (threadIdx.x >> 5);
    const int warps = gridDim.x * NWARPS;
    if constexpr (!A_SPARSE) {
        const int items = kw * ceil_div(M, 64);
        for (int it = warp_id; it < items; it += warps) {
            const int rb = it / kw, w = it - rb * kw;
            bool nonfinite;
            scan_a_word(A, K, rb * 64, min(M, rb * 64 + 64), w, nonfinite);
            if (nonfinite && lane == 0) note_nonfinite(ctrl, epoch);
        }
    } else {
        const int groups = ceil_div(N, 32);
        const int items = kw * groups;
        for (int it = warp_id; it < items; it += warps) {
            const int w = it / groups, g = it - w * groups;
            bool nonfinite;
            scan_b_word(B, K, N, w, g * 32, 32, nonfinite);
            if (nonfinite && lane == 0) note_nonfinite(ctrl, epoch);
        }
    }
}
