// ---- main loop pieces (mainloop.cuh) -------------------------------------------------------------
// A chunk is BK "slots", each one value of k (or empty). Dense kernels take k = base .. base+BK-1;
// sparse kernels take the next BK entries of the skip list. A chunk moves global -> registers
// (while the previous chunk is being multiplied) -> shared stage (double-buffered).
constexpr int A_VECS = BM * BK / 4;                      // float4 groups of the A tile
constexpr int B_VECS = BK * BN / 4;                      // float4 groups of the B tile
constexpr int A_LOADS = (A_VECS + THREADS - 1) / THREADS;
constexpr int B_LOADS = (B_VECS + THREADS - 1) / THREADS;

struct ChunkRegs {
    float4 a[A_LOADS];
    float4 b[B_LOADS];
    unsigned meta_a, meta_b;    // pattern bits of slot threadIdx.x (threads < BK, sparse only)
};

// The k of slot j of the chunk that starts at `base` (a k value when dense, a list index when
// sparse); -1 for an empty slot.
__device__ __forceinline__ int slot_k(const unsigned short* k_off, int seg, int total, int base, int j, int K)
{
    if constexpr (SPARSE) {
        const int i = base + j;
        return i < total ? seg * SEG_K + (int)k_off[i] : -1;
    } else {
        const int k = base + j;
        return k < K ? k : -1;
    }
}

__device__ __forceinline__ void load_chunk(ChunkRegs& R, const float* __restrict__ A, const float* __restrict__ B,
    int M, int N, int K, int row0, int col0, const SkipList& L, int seg, int total, int base)
{
    const int tid = threadIdx.x;
#pragma unroll
    for (int i = 0; i < A_LOADS; ++i) {
        const int v = tid + i * THREADS;
        float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (A_VECS % THREADS == 0 || v < A_VECS) {
            const int r = v / (BK / 4), j0 = (v % (BK / 4)) * 4;
            const int grow = row0 + r;
            const int k0 = slot_k(L.k_off, seg, total, base, j0, K);
            const int k1 = slot_k(L.k_off, seg, total, base, j0 + 1, K);
            const int k2 = slot_k(L.k_off, seg, total, base, j0 + 2, K);
            const int k3 = slot_k(L.k_off, seg, total, base, j0 + 3, K);
            if (grow < M) {
                const float* arow = A + (size_t)grow * K;
                if ((K & 3) == 0 && k0 >= 0 && (k0 & 3) == 0 && k3 == k0 + 3) {
                    x = __ldg(reinterpret_cast<const float4*>(arow + k0));
                } else {
                    if (k0 >= 0) x.x = __ldg(arow + k0);
                    if (k1 >= 0) x.y = __ldg(arow + k1);
                    if (k2 >= 0) x.z = __ldg(arow + k2);
                    if (k3 >= 0) x.w = __ldg(arow + k3);
                }
            }
        }
        R.a[i] = x;
    }
#pragma unroll
    for (int i = 0; i < B_LOADS; ++i) {
        const int v = tid + i * THREADS;
        float4 y = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (B_VECS % THREADS == 0 || v < B_VECS) {
            const int jr = v / (BN / 4), c = col0 + (v % (BN / 4)) * 4;
            const int k = slot_k(L.k_off, seg, total, base, jr, K);
            if (k >= 0) {
                const float* brow = B + (size_t)k * N + c;
                if ((N & 3) == 0 && c < N) {
                    y = __ldg(reinterpret_cast<const float4*>(brow));
                } else {
                    if (c < N) y.x = __ldg(brow);
                    if (c + 1 < N) y.y = __ldg(brow + 1);
                    if (c + 2 < N) y.z = __ldg(brow + 2);
                    if (c + 3 < N) y.w = __ldg(brow + 3);
                }
            }
        }
        R.b[i] = y;
    }
    if constexpr (SPARSE) {
        R.meta_a = 0;
        R.meta_b = 0;
        if (tid < BK && base + tid < total) {
            R.meta_a = L.a_bits[base + tid];
            R.meta_b = L.b_bits[base + tid];
        }
    }
}

__device__ __forceinline__ void store_chunk(const ChunkRegs& R, float* stage)
{
    const int tid = threadIdx.x;
    float* As = stage;
    float* Bs = stage + STAGE_A;
#pragma unroll
    for (int i = 0; i < A_LOADS; ++i) {
        const int v = tid + i * THREADS;
        if (A_VECS % THREADS == 0 || v < A_VECS) {
            const int r = v / (BK / 4), j0 = (v % (BK / 4)) * 4;
            As[(j0 + 0) * AS_LD + r] = R.a[i].x;
            As[(j0 + 1) * AS_LD + r] = R.a[i].y;
            As[(j0 + 2) * AS_LD + r] = R.a[i].z;
            As[(j0 + 3) * AS_LD + r] = R.a[i].w;
        }
    }
#pragma unroll
    for (int i = 0; i < B_LOADS; ++i) {
        const int v = tid + i * THREADS;
        if (B_VECS % THREADS == 0 || v < B_VECS) {
            const int jr = v / (BN / 4), c = (v % (BN / 4)) * 4;
            *reinterpret_cast<float4*>(Bs + jr * BN + c) = R.b[i];
        }
    }
    if constexpr (SPARSE) {
        unsigned* meta = reinterpret_cast<unsigned*>(stage + STAGE_A + STAGE_B);
        if (tid < BK) {
            meta[tid] = R.meta_a;
            meta[BK + tid] = R.meta_b;
        }
    }
}

// Where a thread's outputs sit and which pattern blocks they belong to.
struct ThreadPlace {
    int m_off;                 // row of the thread's first output within the CTA tile (wmi = 0)
    int n_off;                 // column of the thread's first output within the CTA tile (wni = 0)
    unsigned warp_a, warp_b;   // the warp's row blocks / column blocks (bits relative to the tile)
    int rb[WMITER];            // the thread's row block per wmi (relative to the tile)
    int cb[WNITER];            // the thread's column block per wni (relative to the tile)
};

__device__ __forceinline__ unsigned bit_range(int lo, int hi)
{
    const int n = hi - lo + 1;
    return (n >= 32 ? 0xffffffffu : ((1u << n) - 1u)) << lo;
}

__device__ __forceinline__ ThreadPlace thread_place(int row0, int col0)
{
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int wr = warp / NWC, wc = warp % NWC;
    const int trow = lane / TCOLS, tcol = lane % TCOLS;
    ThreadPlace P;
    P.m_off = wr * WM + trow * TM;
    P.n_off = wc * WN + tcol * TN;
    P.warp_a = 1u;
    P.warp_b = 1u;
    if constexpr (A_SPARSE) {
        const int first = row0 / GA;
        P.warp_a = bit_range((row0 + wr * WM) / GA - first, (row0 + wr * WM + WM - 1) / GA - first);
#pragma unroll
        for (int i = 0; i < WMITER; ++i) P.rb[i] = (row0 + P.m_off + i * WSUBM) / GA - first;
    } else {
#pragma unroll
        for (int i = 0; i < WMITER; ++i) P.rb[i] = 0;
    }
    if constexpr (B_SPARSE) {
        const int first = col0 / GB;
        P.warp_b = bit_range((col0 + wc * WN) / GB - first, (col0 + wc * WN + WN - 1) / GB - first);
#pragma unroll
        for (int j = 0; j < WNITER; ++j) P.cb[j] = (col0 + P.n_off + j * WSUBN) / GB - first;
    } else {
#pragma unroll
        for (int j = 0; j < WNITER; ++j) P.cb[j] = 0;
    }
    return P;
}

// Loads n consecutive floats of shared memory (float4 when aligned by construction).
template <int COUNT>
__device__ __forceinline__ void load_fragment(float* dst, const float* src)
{
    if constexpr (COUNT % 4 == 0) {
#pragma unroll
        for (int i = 0; i < COUNT; i += 4) {
            const float4 t = *reinterpret_cast<const float4*>(src + i);
            dst[i] = t.x; dst[i + 1] = t.y; dst[i + 2] = t.z; dst[i + 3] = t.w;
        }
    } else {
#pragma unroll
        for (int i = 0; i < COUNT; ++i) dst[i] = src[i];
    }
}

constexpr int ACC = WMITER * TM * WNITER * TN;   // accumulators per thread
constexpr unsigned FULL_CHUNK = BK >= 32 ? 0xffffffffu : ((1u << BK) - 1u);

// One k of the outer product: acc += am (x) bn.
__device__ __forceinline__ void outer_product(float (&acc)[ACC], const float (&am)[WMITER * TM], const float (&bn)[WNITER * TN])
{
#pragma unroll
    for (int i = 0; i < WMITER * TM; ++i)
#pragma unroll
        for (int n = 0; n < WNITER * TN; ++n)
            acc[i * WNITER * TN + n] = fmaf(am[i], bn[n], acc[i * WNITER * TN + n]);
}

// The thread's fragments of slot j of a stage.
__device__ __forceinline__ void load_fragments(float (&am)[WMITER * TM], float (&bn)[WNITER * TN],
    const float* As, const float* Bs, int j, const ThreadPlace& P)
{
#pragma unroll
    for (int i = 0; i < WMITER; ++i) load_fragment<TM>(am + i * TM, As + j * AS_LD + P.m_off + i * WSUBM);
#pragma unroll
    for (int i = 0; i < WNITER; ++i) load_fragment<TN>(bn + i * TN, Bs + j * BN + P.n_off + i * WSUBN);
}

// Every slot of the stage (dense chunks).
__device__ __forceinline__ void compute_all(float (&acc)[ACC], const float* As, const float* Bs, const ThreadPlace& P)
{
#pragma unroll
    for (int j = 0; j < BK; ++j) {
        float am[WMITER * TM], bn[WNITER * TN];
        load_fragments(am, bn, As, Bs, j, P);
        outer_product(acc, am, bn);
    }
}

// Multiplies one shared stage into the accumulators, skipping (or selecting away) inactive k.
__device__ __forceinline__ void compute_chunk(float (&acc)[ACC], const float* stage, const ThreadPlace& P)
{
    const float* As = stage;
    const float* Bs = stage + STAGE_A;
    const unsigned* meta = reinterpret_cast<const unsigned*>(stage + STAGE_A + STAGE_B);
    if constexpr (!SPARSE) {
        compute_all(acc, As, Bs, P);
        return;
    } else {
        // The warp's active slots (uniform across the warp).
        unsigned active = 0;
#pragma unroll
        for (int j = 0; j < BK; ++j)
            active |= ((meta[j] & P.warp_a) != 0u && (meta[BK + j] & P.warp_b) != 0u) ? (1u << j) : 0u;
        if constexpr (WARP_EXACT && !BRANCHLESS) {
            if (active == FULL_CHUNK) {
                compute_all(acc, As, Bs, P);
            } else if (active != 0u) {
                // Compacted walk over the active slots; the next slot's fragments are loaded
                // before this slot's FMAs, so shared-memory latency overlaps the arithmetic.
                const int count = __popc(active);
                unsigned rest = active;
                float am[WMITER * TM], bn[WNITER * TN];
                load_fragments(am, bn, As, Bs, __ffs(rest) - 1, P);
                rest &= rest - 1u;
#pragma unroll
                for (int i = 0; i < BK; ++i) {
                    if (i >= count) break;
                    float am2[WMITER * TM], bn2[WNITER * TN];
                    load_fragments(am2, bn2, As, Bs, rest ? __ffs(rest) - 1 : 0, P);
                    rest &= rest - 1u;
                    outer_product(acc, am, bn);
#pragma unroll
                    for (int q = 0; q < WMITER * TM; ++q) am[q] = am2[q];
#pragma unroll
                    for (int q = 0; q < WNITER * TN; ++q) bn[q] = bn2[q];
                }
            }
        } else if constexpr (WARP_EXACT) {
            // Branchless: both factors become +0 for an inactive k, so the product is exactly 0.
#pragma unroll
            for (int j = 0; j < BK; ++j) {
                const bool on = (active >> j) & 1u;
                float am[WMITER * TM], bn[WNITER * TN];
                load_fragments(am, bn, As, Bs, j, P);
#pragma unroll
                for (int i = 0; i < WMITER * TM; ++i) am[i] = on ? am[i] : 0.0f;
#pragma unroll
                for (int i = 0; i < WNITER * TN; ++i) bn[i] = on ? bn[i] : 0.0f;
                outer_product(acc, am, bn);
            }
        } else {
            // The warp spans several pattern blocks: test each thread sub-tile's own bit.
#pragma unroll
            for (int j = 0; j < BK; ++j) {
                if constexpr (!BRANCHLESS) {
                    if (!((active >> j) & 1u)) continue;
                }
                const unsigned ma = meta[j], mb = meta[BK + j];
                float am[WMITER * TM], bn[WNITER * TN];
                load_fragments(am, bn, As, Bs, j, P);
#pragma unroll
                for (int wi = 0; wi < WMITER; ++wi) {
#pragma unroll
                    for (int wj = 0; wj < WNITER; ++wj) {
                        const bool on = ((ma >> P.rb[wi]) & (mb >> P.cb[wj]) & 1u) != 0u;
#pragma unroll
                        for (int i = 0; i < TM; ++i)
#pragma unroll
                            for (int n = 0; n < TN; ++n) {
                                float& c = acc[(wi * TM + i) * WNITER * TN + wj * TN + n];
                                const float f = fmaf(am[wi * TM + i], bn[wj * TN + n], c);
                                if constexpr (BRANCHLESS) {
                                    c = on ? f : c;
                                } else if (on) {
                                    c = f;
                                }
                            }
                    }
                }
            }
        }
    }
}
