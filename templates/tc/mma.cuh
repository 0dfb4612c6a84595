// ---- tc: mma.sync main loop (sm_80 .. sm_120) ---------------------------------------------------
// C[M x N] = act(A[M x K] * B[K x N]), fp32 accumulation, block-sparse k-skipping from the A / B
// bit patterns (docs/ARCHITECTURE.md). A row-major (lda), B row-major K x N (ldb), C row-major
// contiguous (ldc = N).
//
// Cfg members read: In, Out, BM, BN, BK, WM, WN, STAGES, SPARSITY, A_ROWS, K_GRAN, B_COLS,
// GROUP_M, ACT, COL_NNZ; optional: WARP_SKIP (bool, default false).
// Threads per CTA: (BM / WM) * (BN / WN) * 32.      Grid: (ceil(N / BN), ceil(M / BM), 1).
// Dynamic shared memory (bytes):
//     STAGES * (BM * (BK * sizeof(In) + 16) + BK * (BN + 8) * sizeof(In))
// (plus 8 * STAGES + 4 bytes of static shared memory).
// Preconditions: A, B 16-byte aligned; lda * sizeof(In), ldb * sizeof(In) multiples of 16;
// C aligned to 2 * sizeof(Out). M, N, K >= 1 arbitrary: tails are zero-filled on load (nothing
// at or past K / N of a row is read, so padding columns may hold anything).
//
// 16-bit In: mma.sync m16n8k16 (bf16 / f16), A fragments by ldmatrix.x4, B fragments by
// ldmatrix.x4.trans straight from the row-major K x N tile. In = float: TF32 m16n8k8, A by
// ldmatrix.x4 (32-bit elements), B by 32-bit shared loads; both converted with cvt.rna.tf32.f32.
// Shared layout: rows padded by 16 bytes (A) / 8 elements (B): ldmatrix and the B loads are
// bank-conflict free. cp.async 16-byte STAGES-deep pipeline over the ACTIVE k-steps only: a
// k-step (BK wide) whose k-groups are all inactive for the tile is never loaded nor computed;
// inside a loaded step, mma k-slices of k-groups inactive for the tile are skipped (K_GRAN < BK).
// With the optional Cfg::WARP_SKIP = true, each warp instead uses the k-groups of ITS OWN row
// groups x column groups and skips its whole step or k-slices where those are inactive.

#ifndef TCM_WARP_SKIP
#define TCM_WARP_SKIP 0
#endif
template <class T>
struct TcmVoid {
    using type = void;
};
template <class C, class = void>
struct TcmWarpSkip {
    static constexpr bool value = TCM_WARP_SKIP != 0;
};
template <class C>
struct TcmWarpSkip<C, typename TcmVoid<decltype(C::WARP_SKIP)>::type> {
    static constexpr bool value = C::WARP_SKIP;
};

template <class Cfg>
struct TcmGeom {
    using In = typename Cfg::In;
    static constexpr int SZ = (int)sizeof(In);
    static constexpr bool TF32 = (SZ == 4);
    static constexpr int CH = 16 / SZ;           // elements per 16-byte chunk
    static constexpr int KS = 32 / SZ;           // k per mma (16 for 16-bit, 8 for tf32)
    static constexpr int WARPS_M = Cfg::BM / Cfg::WM;
    static constexpr int WARPS_N = Cfg::BN / Cfg::WN;
    static constexpr int THREADS = WARPS_M * WARPS_N * 32;
    static constexpr int MI = Cfg::WM / 16;      // m16 tiles per warp
    static constexpr int NI = Cfg::WN / 8;       // n8 tiles per warp
    static constexpr int A_STRIDE = Cfg::BK * SZ + 16;        // bytes per A row in shared memory
    static constexpr int B_STRIDE = (Cfg::BN + 8) * SZ;       // bytes per B row (k) in shared memory
    static constexpr int A_BYTES = Cfg::BM * A_STRIDE;
    static constexpr int B_BYTES = Cfg::BK * B_STRIDE;
    static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr int SMEM_BYTES = Cfg::STAGES * STAGE_BYTES;
    static constexpr int A_CPR = Cfg::BK / CH;   // 16-byte chunks per A row of a stage
    static constexpr int B_CPR = Cfg::BN / CH;   // 16-byte chunks per B row of a stage
    static constexpr int A_CHUNKS = Cfg::BM * A_CPR;
    static constexpr int B_CHUNKS = Cfg::BK * B_CPR;
    static constexpr int A_ITERS = (A_CHUNKS + THREADS - 1) / THREADS;
    static constexpr int B_ITERS = (B_CHUNKS + THREADS - 1) / THREADS;
    static constexpr int G = Cfg::SPARSITY == 0 ? 1 : Cfg::BK / Cfg::K_GRAN;  // k-groups per step
    static constexpr unsigned GMASK = G >= 32 ? 0xffffffffu : ((1u << G) - 1u);
    // bit positions that start a step inside a 32-bit pattern word
    static constexpr unsigned STEP_SEL = G == 1 ? 0xffffffffu : G == 2 ? 0x55555555u : G == 4 ? 0x11111111u
                                       : G == 8 ? 0x01010101u : G == 16 ? 0x00010001u : 0x00000001u;
    // Per-warp skipping (optional Cfg member WARP_SKIP, default TCM_WARP_SKIP = off): each warp
    // combines the pattern words of its own row groups and column groups and skips its mma work
    // of a loaded step (or of its k-slices) where that is zero. Measured on H100: faster for the
    // 128x256 / 256x128 tiles at density 0.5, slower when nearly every step is active.
    static constexpr bool WARP_SKIP = Cfg::SPARSITY != 0 && TcmWarpSkip<Cfg>::value;
    static constexpr bool SLICE_SKIP = Cfg::SPARSITY != 0 && G > 1;

    static_assert(Cfg::BM % Cfg::WM == 0 && Cfg::BN % Cfg::WN == 0, "warp tile must divide the CTA tile");
    static_assert(Cfg::WM % 16 == 0 && Cfg::WN % 16 == 0, "WM, WN must be multiples of 16");
    static_assert(Cfg::BK % KS == 0 && (Cfg::BK * SZ) % 32 == 0, "BK: multiple of 16 (16-bit) or 8 (tf32)");
    static_assert(Cfg::BN % 16 == 0 && Cfg::BN % CH == 0, "BN must be a multiple of 16");
    static_assert(Cfg::STAGES >= 2, "STAGES >= 2");
    static_assert(Cfg::SPARSITY == 0 || (Cfg::BK % Cfg::K_GRAN == 0 && 32 % G == 0), "K_GRAN must divide BK");
    static_assert(Cfg::SPARSITY == 0 || Cfg::K_GRAN % KS == 0, "K_GRAN must be a multiple of the mma k");
    static_assert(Cfg::SPARSITY == 0 || Cfg::A_ROWS % Cfg::BM == 0 || Cfg::BM % Cfg::A_ROWS == 0, "A_ROWS vs BM");
    static_assert(Cfg::SPARSITY != 2 || Cfg::B_COLS % Cfg::BN == 0 || Cfg::BN % Cfg::B_COLS == 0, "B_COLS vs BN");
};

// ---- small PTX wrappers ---------------------------------------------------------------------------
__device__ __forceinline__ uint32_t tcm_smem(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// 16-byte cp.async; `bytes` (0..16) are read from src, the rest of the 16 bytes is zero-filled.
__device__ __forceinline__ void tcm_cp16(uint32_t dst, const void* src, int bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void tcm_cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void tcm_cp_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ void tcm_ldsm_x4(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 { %0, %1, %2, %3 }, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ void tcm_ldsm_x4_t(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 { %0, %1, %2, %3 }, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ uint32_t tcm_lds32(uint32_t addr)
{
    uint32_t v;
    asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(addr));
    return v;
}
__device__ __forceinline__ uint32_t tcm_tf32(uint32_t x)
{
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(x)));
    return r;
}

template <class In>
__device__ __forceinline__ void tcm_mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    if constexpr (__is_same(In, __nv_bfloat16)) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, "
                     "{ %8, %9 }, { %0, %1, %2, %3 };\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else if constexpr (__is_same(In, __half)) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, "
                     "{ %8, %9 }, { %0, %1, %2, %3 };\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, "
                     "{ %8, %9 }, { %0, %1, %2, %3 };\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

// ---- tile rasterisation ---------------------------------------------------------------------------
template <int GROUP_M>
__device__ __forceinline__ void tcm_tile_coords(int t, int tiles_m, int tiles_n, int& tile_m, int& tile_n)
{
    if constexpr (GROUP_M <= 1) {
        tile_m = t / tiles_n;
        tile_n = t - tile_m * tiles_n;
    } else {
        const int per_group = GROUP_M * tiles_n;
        const int group = t / per_group;
        const int first_m = group * GROUP_M;
        const int rows = min(tiles_m - first_m, GROUP_M);
        const int in_group = t - group * per_group;
        tile_m = first_m + in_group % rows;
        tile_n = in_group / rows;
    }
}

// ReLU / ReLU^2 on the fp32 accumulator, as fmaxf (the family's contract: ReLU maps NaN to 0,
// like esmm and the wgmma path).
template <int ACT>
__device__ __forceinline__ float tcm_act(float x)
{
    if constexpr (ACT == 1) {
        return fmaxf(x, 0.0f);
    } else if constexpr (ACT == 2) {
        const float r = fmaxf(x, 0.0f);
        return r * r;
    } else {
        return x;
    }
}

// Stores v0 at C[idx] (col) and v1 at C[idx + 1] (col + 1), round-to-nearest; in1: col + 1 < N.
// pair: both in range and idx even (a 2-element aligned store). Counts nonzero stored values.
template <class Out>
__device__ __forceinline__ void tcm_store2(Out* __restrict__ C, size_t idx, bool pair, bool in1, float v0, float v1,
                                           int& nz0, int& nz1)
{
    if constexpr (__is_same(Out, float)) {
        if (pair) {
            *reinterpret_cast<float2*>(C + idx) = make_float2(v0, v1);
        } else {
            C[idx] = v0;
            if (in1) C[idx + 1] = v1;
        }
        nz0 += (v0 != 0.0f);
        nz1 += (in1 && v1 != 0.0f);
    } else {
        uint32_t lo, hi;
        if constexpr (__is_same(Out, __nv_bfloat16)) {
            lo = __bfloat16_as_ushort(__float2bfloat16_rn(v0));
            hi = __bfloat16_as_ushort(__float2bfloat16_rn(v1));
        } else {
            lo = __half_as_ushort(__float2half_rn(v0));
            hi = __half_as_ushort(__float2half_rn(v1));
        }
        if (pair) {
            *reinterpret_cast<uint32_t*>(C + idx) = lo | (hi << 16);
        } else {
            reinterpret_cast<unsigned short*>(C)[idx] = (unsigned short)lo;
            if (in1) reinterpret_cast<unsigned short*>(C)[idx + 1] = (unsigned short)hi;
        }
        nz0 += ((lo & 0x7fffu) != 0u);
        nz1 += (in1 && (hi & 0x7fffu) != 0u);
    }
}

// ---- active k-step iterator -----------------------------------------------------------------------
// Every thread of the CTA runs an identical copy. next() yields the active BK-steps in increasing
// order, with the step's k-group bits (bit i: k-group step*G + i is active).
template <class Cfg>
struct TcmSteps {
    using Gm = TcmGeom<Cfg>;
    const unsigned* ap;  // A pattern (or ones)
    const unsigned* bp;  // B pattern (or ones)
    int words, groups, nsteps;
    int ga0, ga1, hb0, hb1;  // row groups / column groups of the tile (inclusive)
    int w;                   // current word
    unsigned cw;             // current combined word (k-group bits)
    unsigned bits;           // step-start bits of the current word not yet yielded

    // k-group bits of word wi for row groups [a0, a1] and column groups [b0, b1] (empty: 0).
    __device__ __forceinline__ unsigned combine(int wi, int a0, int a1, int b0, int b1) const
    {
        unsigned a = 0u;
        for (int g = a0; g <= a1; ++g) a |= ap[(size_t)g * words + wi];
        if constexpr (Cfg::SPARSITY == 2) {
            unsigned b = 0u;
            for (int h = b0; h <= b1; ++h) b |= bp[(size_t)h * words + wi];
            a &= b;
        }
        const int rest = groups - wi * 32;  // k-groups that exist in this word
        if (rest < 32) a &= (1u << rest) - 1u;
        return a;
    }
    __device__ __forceinline__ bool next(int& step, unsigned& gbits)
    {
        if constexpr (Cfg::SPARSITY == 0) {
            if (w >= nsteps) return false;
            step = w++;
            gbits = 1u;
            return true;
        } else {
            while (bits == 0u) {
                if (++w >= words) return false;
                cw = combine(w, ga0, ga1, hb0, hb1);
                unsigned f = cw;
#pragma unroll
                for (int s = 1; s < Gm::G; s <<= 1) f |= f >> s;
                bits = f & Gm::STEP_SEL;
            }
            const int p = __ffs(bits) - 1;
            bits &= bits - 1u;
            step = (w * 32 + p) / Gm::G;
            gbits = (cw >> p) & Gm::GMASK;
            return true;
        }
    }
};

// ---- the GEMM ---------------------------------------------------------------------------------------
template <class Cfg>
__device__ __forceinline__ void tc_mma_gemm(const typename Cfg::In* __restrict__ A, const typename Cfg::In* __restrict__ B,
                                            typename Cfg::Out* __restrict__ C, int M, int N, int K, int lda, int ldb,
                                            const unsigned* a_pat, const unsigned* b_pat, unsigned* col_nnz,
                                            const unsigned* ctrl, const unsigned* ones, unsigned epoch)
{
    using Gm = TcmGeom<Cfg>;
    using In = typename Cfg::In;
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
    extern __shared__ __align__(128) unsigned char tcm_dyn_smem[];
    __shared__ unsigned tcm_gbits[Cfg::STAGES];  // per slot: the step's k-group bits (tile level)
    __shared__ int tcm_step[Cfg::STAGES];        // per slot: the step (per-warp skipping)
    __shared__ unsigned tcm_nan;

    const int tid = threadIdx.x;
    const int lane = tid & 31, warp = tid >> 5;
    const int wm = warp / Gm::WARPS_N, wn = warp % Gm::WARPS_N;

    int tile_m, tile_n;
    tcm_tile_coords<Cfg::GROUP_M>(blockIdx.y * gridDim.x + blockIdx.x, gridDim.y, gridDim.x, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    // ---- which k-steps are active --------------------------------------------------------------
    TcmSteps<Cfg> it;
    it.w = Cfg::SPARSITY == 0 ? 0 : -1;
    it.bits = 0u;
    it.cw = 0u;
    it.nsteps = (K + BK - 1) / BK;
    if constexpr (Cfg::SPARSITY != 0) {
        if (tid == 0) tcm_nan = ctrl[2];  // read once per CTA
        __syncthreads();
        const bool fallback = tcm_nan == epoch;
        it.ap = fallback ? ones : a_pat;
        it.bp = fallback ? ones : b_pat;
        it.groups = (K + Cfg::K_GRAN - 1) / Cfg::K_GRAN;
        it.words = (it.groups + 31) / 32;
        it.ga0 = m0 / Cfg::A_ROWS;
        it.ga1 = (min(M, m0 + BM) - 1) / Cfg::A_ROWS;
        it.hb0 = n0 / Cfg::B_COLS;
        it.hb1 = (min(N, n0 + BN) - 1) / Cfg::B_COLS;
    }
    // the warp's own row groups / column groups (empty when the warp lies past M / N)
    int wa0 = 1, wa1 = 0, wb0 = 1, wb1 = 0, wword = -1;
    unsigned wbits = 0u;
    if constexpr (Gm::WARP_SKIP) {
        const int r0 = m0 + wm * Cfg::WM, c0 = n0 + wn * Cfg::WN;
        if (r0 < M) {
            wa0 = r0 / Cfg::A_ROWS;
            wa1 = (min(M, r0 + Cfg::WM) - 1) / Cfg::A_ROWS;
        }
        if (c0 < N) {
            wb0 = c0 / Cfg::B_COLS;
            wb1 = (min(N, c0 + Cfg::WN) - 1) / Cfg::B_COLS;
        }
        if constexpr (Cfg::SPARSITY == 1) {
            if (c0 >= N) wa1 = wa0 - 1;  // no columns: nothing to compute
        }
    }

    const uint32_t smem0 = tcm_smem(tcm_dyn_smem);

    // ---- stage loader (all threads) -------------------------------------------------------------
    auto load_stage = [&](int slot, int step) {
        const uint32_t sa = smem0 + slot * Gm::STAGE_BYTES;
        const uint32_t sb = sa + Gm::A_BYTES;
        const int k0 = step * BK;
#pragma unroll
        for (int i = 0; i < Gm::A_ITERS; ++i) {
            const int c = tid + i * Gm::THREADS;
            if (Gm::A_CHUNKS % Gm::THREADS == 0 || c < Gm::A_CHUNKS) {
                const int r = c / Gm::A_CPR, kc = (c % Gm::A_CPR) * Gm::CH;
                const int gr = m0 + r, gk = k0 + kc;
                int bytes = (K - gk) * Gm::SZ;
                bytes = gr < M ? (bytes < 0 ? 0 : (bytes > 16 ? 16 : bytes)) : 0;
                const In* src = bytes > 0 ? A + (size_t)gr * lda + gk : A;
                tcm_cp16(sa + r * Gm::A_STRIDE + kc * Gm::SZ, src, bytes);
            }
        }
#pragma unroll
        for (int i = 0; i < Gm::B_ITERS; ++i) {
            const int c = tid + i * Gm::THREADS;
            if (Gm::B_CHUNKS % Gm::THREADS == 0 || c < Gm::B_CHUNKS) {
                const int r = c / Gm::B_CPR, nc = (c % Gm::B_CPR) * Gm::CH;
                const int gk = k0 + r, gn = n0 + nc;
                int bytes = (N - gn) * Gm::SZ;
                bytes = gk < K ? (bytes < 0 ? 0 : (bytes > 16 ? 16 : bytes)) : 0;
                const In* src = bytes > 0 ? B + (size_t)gk * ldb + gn : B;
                tcm_cp16(sb + r * Gm::B_STRIDE + nc * Gm::SZ, src, bytes);
            }
        }
    };

    float acc[Gm::MI][Gm::NI][4];
#pragma unroll
    for (int i = 0; i < Gm::MI; ++i)
#pragma unroll
        for (int j = 0; j < Gm::NI; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    // lane-dependent fragment offsets (bytes inside a stage)
    const uint32_t a_off = (uint32_t)((wm * Cfg::WM + (lane & 15)) * Gm::A_STRIDE + (lane >> 4) * 16);
    uint32_t b_off;
    if constexpr (Gm::TF32) {
        b_off = (uint32_t)((lane & 3) * Gm::B_STRIDE + (wn * Cfg::WN + (lane >> 2)) * 4);
    } else {
        b_off = (uint32_t)((((lane >> 3) & 1) * 8 + (lane & 7)) * Gm::B_STRIDE + (wn * Cfg::WN + (lane >> 4) * 8) * 2);
    }

    // ---- compute on one stage ------------------------------------------------------------------
    auto compute_stage = [&](int slot, unsigned gbits) {
        const uint32_t sa = smem0 + slot * Gm::STAGE_BYTES + a_off;
        const uint32_t sb = smem0 + slot * Gm::STAGE_BYTES + Gm::A_BYTES + b_off;
#pragma unroll
        for (int kk = 0; kk < BK / Gm::KS; ++kk) {
            if constexpr (Gm::SLICE_SKIP) {
                if (!((gbits >> ((kk * Gm::KS) / Cfg::K_GRAN)) & 1u)) continue;
            }
            uint32_t af[Gm::MI][4];
            uint32_t bf[Gm::NI][2];
#pragma unroll
            for (int mi = 0; mi < Gm::MI; ++mi) {
                tcm_ldsm_x4(af[mi], sa + mi * 16 * Gm::A_STRIDE + kk * 32);
                if constexpr (Gm::TF32) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) af[mi][e] = tcm_tf32(af[mi][e]);
                }
            }
            if constexpr (Gm::TF32) {
#pragma unroll
                for (int ni = 0; ni < Gm::NI; ++ni) {
                    bf[ni][0] = tcm_tf32(tcm_lds32(sb + (kk * 8) * Gm::B_STRIDE + ni * 32));
                    bf[ni][1] = tcm_tf32(tcm_lds32(sb + (kk * 8 + 4) * Gm::B_STRIDE + ni * 32));
                }
            } else {
#pragma unroll
                for (int nj = 0; nj < Gm::NI / 2; ++nj) {
                    uint32_t r[4];
                    tcm_ldsm_x4_t(r, sb + (kk * 16) * Gm::B_STRIDE + nj * 32);
                    bf[2 * nj][0] = r[0];
                    bf[2 * nj][1] = r[1];
                    bf[2 * nj + 1][0] = r[2];
                    bf[2 * nj + 1][1] = r[3];
                }
            }
#pragma unroll
            for (int mi = 0; mi < Gm::MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < Gm::NI; ++ni) tcm_mma<In>(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
        }
    };

    // ---- pipeline over the active steps -----------------------------------------------------------
    int issued = 0;
#pragma unroll 1
    for (int s = 0; s < Cfg::STAGES - 1; ++s) {
        int step;
        unsigned gb;
        if (it.next(step, gb)) {
            load_stage(s, step);
            if constexpr (Gm::WARP_SKIP) {
                if (tid == 0) tcm_step[s] = step;
            } else if constexpr (Gm::SLICE_SKIP) {
                if (tid == 0) tcm_gbits[s] = gb;
            }
            ++issued;
        }
        tcm_cp_commit();
    }
    int consumed = 0, slot_c = 0, slot_p = Cfg::STAGES - 1;
#pragma unroll 1
    while (consumed < issued) {
        tcm_cp_wait<Cfg::STAGES - 2>();
        __syncthreads();  // stage slot_c landed for every thread; stage slot_p is free
        {
            int step;
            unsigned gb;
            if (it.next(step, gb)) {
                load_stage(slot_p, step);
                if constexpr (Gm::WARP_SKIP) {
                    if (tid == 0) tcm_step[slot_p] = step;
                } else if constexpr (Gm::SLICE_SKIP) {
                    if (tid == 0) tcm_gbits[slot_p] = gb;
                }
                ++issued;
            }
            tcm_cp_commit();
            slot_p = slot_p + 1 == Cfg::STAGES ? 0 : slot_p + 1;
        }
        unsigned gbits = 0xffffffffu;
        if constexpr (Gm::WARP_SKIP) {
            const int j = tcm_step[slot_c] * Gm::G;  // first k-group of the step
            if ((j >> 5) != wword) {                 // warp-uniform; once per 32 k-groups
                wword = j >> 5;
                wbits = it.combine(wword, wa0, wa1, wb0, wb1);
            }
            gbits = (wbits >> (j & 31)) & Gm::GMASK;
        } else if constexpr (Gm::SLICE_SKIP) {
            gbits = tcm_gbits[slot_c];
        }
        if (gbits != 0u) compute_stage(slot_c, gbits);
        ++consumed;
        slot_c = slot_c + 1 == Cfg::STAGES ? 0 : slot_c + 1;
    }
    tcm_cp_wait<0>();

    // ---- epilogue: activation, round to Out, store; per-column nonzero counts ------------------------
    const int g = lane >> 2, t4 = lane & 3;
    const bool n_even = (N & 1) == 0;
    int cnt[Gm::NI][2];
#pragma unroll
    for (int ni = 0; ni < Gm::NI; ++ni) cnt[ni][0] = cnt[ni][1] = 0;
#pragma unroll
    for (int mi = 0; mi < Gm::MI; ++mi) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = m0 + wm * Cfg::WM + mi * 16 + g + 8 * h;
            if (row < M) {
#pragma unroll
                for (int ni = 0; ni < Gm::NI; ++ni) {
                    const int col = n0 + wn * Cfg::WN + ni * 8 + 2 * t4;
                    if (col < N) {
                        const float v0 = tcm_act<Cfg::ACT>(acc[mi][ni][2 * h]);
                        const float v1 = tcm_act<Cfg::ACT>(acc[mi][ni][2 * h + 1]);
                        const bool in1 = col + 1 < N;
                        tcm_store2<typename Cfg::Out>(C, (size_t)row * N + col, n_even && in1, in1, v0, v1,
                                                      cnt[ni][0], cnt[ni][1]);
                    }
                }
            }
        }
    }
    if constexpr (Cfg::COL_NNZ) {
#pragma unroll
        for (int ni = 0; ni < Gm::NI; ++ni) {
            int c0 = cnt[ni][0], c1 = cnt[ni][1];
#pragma unroll
            for (int o = 4; o < 32; o <<= 1) {
                c0 += __shfl_xor_sync(0xffffffffu, c0, o);
                c1 += __shfl_xor_sync(0xffffffffu, c1, o);
            }
            const int col = n0 + wn * Cfg::WN + ni * 8 + 2 * t4;
            if (lane < 4) {
                if (c0) atomicAdd(col_nnz + col, (unsigned)c0);
                if (c1) atomicAdd(col_nnz + col + 1, (unsigned)c1);
            }
        }
    }
}
