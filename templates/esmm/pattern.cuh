// ---- pattern extraction (pattern.cuh) ------------------------------------------------------------
// Bit per k, 32 k per word (docs/ARCHITECTURE.md). A NaN compares unequal to 0, so it counts as
// nonzero; -0.0 counts as zero. Scans also report whether they saw a non-finite value (Inf or NaN):
// then the GEMM of this call skips nothing (see `note_nonfinite` and `gemm_kernel`), so that
// 0 x Inf gives NaN exactly as in a dense GEMM.

{% include "common/nonfinite.cuh" %}

// One warp: lane l reports whether any A[r][w*32 + l] != 0 for r in [r_begin, r_end); returns the
// ballot, i.e. the A pattern word. Each row is one coalesced 128-byte read.
__device__ __forceinline__ unsigned scan_a_word(const float* __restrict__ A, int K, int r_begin, int r_end, int w,
    bool& nonfinite)
{
    const int k = w * 32 + (threadIdx.x & 31);
    bool nonzero = false, bad = false;
    if (k < K) {
        const float* p = A + (size_t)r_begin * K + k;
        int r = r_begin;
        for (; r + 8 <= r_end; r += 8) {
            float v[8];
#pragma unroll
            for (int i = 0; i < 8; ++i) v[i] = __ldg(p + (size_t)i * K);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                nonzero |= (v[i] != 0.0f);
                bad |= non_finite(v[i]);
            }
            p += (size_t)8 * K;
        }
        for (; r < r_end; ++r, p += K) {
            const float v = __ldg(p);
            nonzero |= (v != 0.0f);
            bad |= non_finite(v);
        }
    }
    nonfinite = __any_sync(0xffffffffu, bad);
    return __ballot_sync(0xffffffffu, nonzero);
}

// One warp: scans the 32 k of word w over columns [c0, c0 + ncols) (ncols <= 32, lane = column).
// Lane s < ncols / GB returns the B pattern word of column block c0 / GB + s.
__device__ __forceinline__ unsigned scan_b_word(const float* __restrict__ B, int K, int N, int w, int c0, int ncols,
    bool& nonfinite)
{
    constexpr unsigned GROUP_MASK = GB >= 32 ? 0xffffffffu : ((1u << GB) - 1u);
    const int lane = threadIdx.x & 31;
    const int c = c0 + lane;
    const bool column = lane < ncols && c < N;
    const int k0 = w * 32;
    const int nk = min(32, K - k0);
    const float* p = B + (size_t)k0 * N + c;
    // 32 loads in flight; addresses as 32-bit offsets from the lane's column (64-bit address
    // per load spilled under the 128-register cap of the one-launch kernels).
    const bool narrow = (unsigned long long)32 * N < (1ull << 32);
    float v[32];
#pragma unroll
    for (int kk = 0; kk < 32; ++kk) {
        const bool on = column && kk < nk;
        v[kk] = on ? __ldg(narrow ? p + (unsigned)kk * (unsigned)N : p + (size_t)kk * N) : 0.0f;
    }
    unsigned bits = 0;
    bool bad = false;
#pragma unroll
    for (int kk = 0; kk < 32; ++kk) {
        const unsigned ballot = __ballot_sync(0xffffffffu, v[kk] != 0.0f);
        if (lane * GB < 32 && ((ballot >> (lane * GB)) & GROUP_MASK) != 0u) bits |= 1u << kk;
        bad |= non_finite(v[kk]);
    }
    nonfinite = __any_sync(0xffffffffu, bad);
    return bits;
}

// Whole-grid extraction inside the GEMM kernel (phase 1 of a one-launch variant): every warp of
// the grid takes (word, row block) items of A and (word, 32-column group) items of B in turn.
__device__ __noinline__ void extract_patterns(const float* __restrict__ A, const float* __restrict__ B,
    int M, int N, int K, unsigned* a_pat, unsigned* b_pat, unsigned* ctrl, unsigned epoch)
{
    const int lane = threadIdx.x & 31;
    const int kw = ceil_div(K, 32);
    const int warp_id = blockIdx.x * NWARPS + (threadIdx.x >> 5);
    const int warps = gridDim.x * NWARPS;
    const int items_a = EXTRACT_A ? kw * ceil_div(M, GA) : 0;
    const int groups_b = ceil_div(N, 32);
    const int items_b = EXTRACT_B ? kw * groups_b : 0;
    for (int it = warp_id; it < items_a + items_b; it += warps) {
        if (it < items_a) {
            const int rb = it / kw, w = it - rb * kw;
            bool nonfinite;
            const unsigned bits = scan_a_word(A, K, rb * GA, min(M, rb * GA + GA), w, nonfinite);
            if (lane == 0) {
                a_pat[(size_t)rb * kw + w] = bits;
                if (nonfinite) note_nonfinite(ctrl, epoch);
            }
        } else {
            const int j = it - items_a;
            const int w = j / groups_b, g = j - w * groups_b;
            bool nonfinite;
            const unsigned bits = scan_b_word(B, K, N, w, g * 32, 32, nonfinite);
            constexpr int SUB = GB >= 32 ? 1 : 32 / GB;
            const int cb = g * SUB + lane;
            if (lane < SUB && cb < ceil_div(N, GB)) b_pat[(size_t)cb * kw + w] = bits;
            if (nonfinite && lane == 0) note_nonfinite(ctrl, epoch);
        }
    }
}

// Separate pattern kernels: one warp per (word, block); grid (ceil(K/32), blocks).
__device__ __forceinline__ void pattern_a_kernel(const float* __restrict__ A, int M, int K, unsigned* a_pat,
    unsigned* ctrl, unsigned epoch)
{
    if constexpr (A_SPARSE) {
        const int w = blockIdx.x, rb = blockIdx.y;
        bool nonfinite;
        const unsigned bits = scan_a_word(A, K, rb * GA, min(M, rb * GA + GA), w, nonfinite);
        if (threadIdx.x == 0) {
            a_pat[(size_t)rb * ceil_div(K, 32) + w] = bits;
            if (nonfinite) note_nonfinite(ctrl, epoch);
        }
    }
}

__device__ __forceinline__ void pattern_b_kernel(const float* __restrict__ B, int K, int N, unsigned* b_pat,
    unsigned* ctrl, unsigned epoch)
{
    if constexpr (B_SPARSE) {
        const int w = blockIdx.x, cb = blockIdx.y;
        bool nonfinite;
        const unsigned bits = scan_b_word(B, K, N, w, cb * GB, min(GB, 32), nonfinite);
        if (threadIdx.x == 0) {
            b_pat[(size_t)cb * ceil_div(K, 32) + w] = bits;
            if (nonfinite) note_nonfinite(ctrl, epoch);
        }
    }
}
