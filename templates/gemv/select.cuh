// ---- gemv output-list stages: selection of active outputs, and the weight-cache scatter --------
// gemv_select: one CTA of 1024 threads. Output i is active when scores[m][i] > thr_m for some
// token m < M, where thr_m = threshold, or (topk > 0) the topk-th largest score of token m (found
// by a 4-pass radix select on order-preserving keys; ties at the threshold are all taken, NaN
// scores are never active). Writes list[0] = the number of active outputs and list[1 ..] their
// indices in increasing order (deterministic: the block scan orders them).
// gemv_scatter: copies `records` records of `rec_bytes` bytes (a multiple of 16) from the packed
// staging buffer `src` to dst + slots[r] * rec_bytes: one CTA per record.

constexpr int GV_SELECT_THREADS = 1024;

__device__ __forceinline__ unsigned gv_key(float f)
{
    const unsigned u = __float_as_uint(f);
    if (f != f) return 0u;  // NaN: the smallest key (never selected)
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Key of the k-th largest score of row `s` (k >= 1, k <= n).
__device__ unsigned gv_kth_key(const float* __restrict__ s, int n, int k, unsigned* hist, unsigned* s_prefix, int* s_k)
{
    const int tid = threadIdx.x;
    unsigned prefix = 0u;
    if (tid == 0) *s_k = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += GV_SELECT_THREADS) hist[b] = 0u;
        __syncthreads();
        const unsigned mask_hi = shift == 24 ? 0u : (0xffffffffu << (shift + 8));
        // n is padded to whole warps so every lane reaches the warp-aggregated atomic: most keys
        // share their top byte, and one shared-memory atomic per distinct bin and warp avoids
        // serialising thousands of updates of the same bin.
        const int n_pad = (n + 31) / 32 * 32;
        for (int i = tid; i < n_pad; i += GV_SELECT_THREADS) {
            const unsigned key = i < n ? gv_key(s[i]) : 0u;
            const bool in = i < n && (key & mask_hi) == prefix;
            const unsigned bin = in ? ((key >> shift) & 255u) : 256u;
            const unsigned peers = __match_any_sync(0xffffffffu, bin);
            if (in && (threadIdx.x & 31) == __ffs(peers) - 1) atomicAdd(&hist[bin], __popc(peers));
        }
        __syncthreads();
        if (tid < 32) {
            // Warp 0 finds the bin holding the kk-th largest key: lane l owns bins 8l .. 8l+7;
            // suffix sums over lanes (from the top bin down) locate the lane, then its 8 bins.
            const int lane = tid;
            int own = 0;
#pragma unroll
            for (int b = 0; b < 8; ++b) own += static_cast<int>(hist[lane * 8 + b]);
            int suffix = own;  // bins of lanes >= lane
#pragma unroll
            for (int o = 1; o < 32; o <<= 1) {
                const int v = __shfl_down_sync(0xffffffffu, suffix, o);
                if (lane + o < 32) suffix += v;
            }
            const int kk = *s_k;
            const unsigned hit = __ballot_sync(0xffffffffu, suffix >= kk);
            const int L = 31 - __clz(hit);  // the highest lane whose suffix still holds kk keys
            if (lane == L) {
                int rest = kk - (suffix - own);  // keys still to pass inside this lane's bins
                int b = 7;
                for (; b > 0; --b) {
                    const int c = static_cast<int>(hist[lane * 8 + b]);
                    if (c >= rest) break;
                    rest -= c;
                }
                *s_k = rest;
                *s_prefix = prefix | (static_cast<unsigned>(lane * 8 + b) << shift);
            }
        }
        __syncthreads();
        prefix = *s_prefix;
        __syncthreads();
    }
    return prefix;
}

__device__ __forceinline__ void gemv_select(const float* __restrict__ scores, int M, int N, float threshold, int topk, int* __restrict__ list)
{
    __shared__ unsigned hist[256];
    __shared__ unsigned s_prefix;
    __shared__ int s_k;
    __shared__ unsigned s_thr[16];
    __shared__ int s_warp[GV_SELECT_THREADS / 32];
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    for (int m = 0; m < M; ++m) {
        unsigned t;
        if (topk > 0) {
            t = gv_kth_key(scores + static_cast<size_t>(m) * N, N, min(topk, N), hist, &s_prefix, &s_k);
        } else {
            t = gv_key(threshold) + 1u;  // active: key > key(threshold)
        }
        if (tid == 0) s_thr[m] = t;
    }
    __syncthreads();
    // Each thread owns a contiguous range of outputs; a block scan orders the list.
    const int per = (N + GV_SELECT_THREADS - 1) / GV_SELECT_THREADS;
    const int i0 = min(tid * per, N);
    const int i1 = min(i0 + per, N);
    int mine = 0;
    for (int i = i0; i < i1; ++i) {
        bool act = false;
        for (int m = 0; m < M; ++m) {
            const float v = scores[static_cast<size_t>(m) * N + i];
            act |= v == v && gv_key(v) >= s_thr[m];
        }
        mine += act ? 1 : 0;
    }
    int incl = mine;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const int v = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += v;
    }
    if (lane == 31) s_warp[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        int w = lane < GV_SELECT_THREADS / 32 ? s_warp[lane] : 0;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const int v = __shfl_up_sync(0xffffffffu, w, o);
            if (lane >= o) w += v;
        }
        if (lane < GV_SELECT_THREADS / 32) s_warp[lane] = w;  // inclusive over warps
    }
    __syncthreads();
    int pos = incl - mine + (warp > 0 ? s_warp[warp - 1] : 0);
    for (int i = i0; i < i1; ++i) {
        bool act = false;
        for (int m = 0; m < M; ++m) {
            const float v = scores[static_cast<size_t>(m) * N + i];
            act |= v == v && gv_key(v) >= s_thr[m];
        }
        if (act) list[1 + pos++] = i;
    }
    if (tid == GV_SELECT_THREADS - 1) list[0] = pos;
}

__device__ __forceinline__ void gemv_scatter(const uint4* __restrict__ src, uint4* __restrict__ dst, const int* __restrict__ slots, int records, int rec_bytes)
{
    const int r = blockIdx.x;
    if (r >= records) return;
    const int vecs = rec_bytes / 16;
    const uint4* s = src + static_cast<size_t>(r) * vecs;
    uint4* d = dst + static_cast<size_t>(slots[r]) * vecs;
    for (int i = threadIdx.x; i < vecs; i += blockDim.x) d[i] = s[i];
}
