// ---- gemv: decode GEMV on tensor cores (mma.sync m16n8k16; sm_80 and later) -------------------
// y[M x *] = x[M x *] . W for M = 1..16 tokens, fp32 accumulation. The M tokens are the 16 rows
// of the mma A operand (rows >= M are zero), the weights are its B operand, so one kernel serves
// M = 1..16 and keeps the fp32 CUDA cores out of the way (at M = 16 a SIMT GEMV would need more
// FMAs per second than an H200 has to keep up with HBM).
//
// Cfg members read: In, Out, LAYOUT, SPARSITY, EPI, CW, RW, KW, UNROLL, CACHE, THREADS, and the
// optional PREFETCH (default 0; 1 = L2 prefetch of the weight rows two main-loop iterations ahead).
//
// LAYOUT_KN (W is K x N row-major, row k = the weights input k feeds): a warp owns 64 columns and
//   16 "slots" per step. Slot j of a step is one weight row (an active k); thread (g, q) loads the
//   16 bytes of columns [8g, 8g + 8) of the rows of slots 2q, 2q+1, 2q+8, 2q+9 and packs pairs of
//   rows with byte permutes into B fragments: in n-tile t (t = 0..7) the mma's column g is the
//   physical column 8g + t. The order of slots is free (a sum over k), so the slots are any 16
//   active rows: input sparsity costs nothing but the compaction.
//   SPARSITY 0: every k. 1 (input sparse): rows k with x[m][k] == 0 for every m are skipped (the
//   CTA scans its x range and compacts the active k in shared memory; when a_pat is not null
//   the scan's ballots are written there as x's pattern words, bit k = input k active). 2 (row list): the weight
//   rows are idx[0..*nidx), x is compact (x[m][p] multiplies row idx[p]).
// LAYOUT_NK (W is N x K row-major, row n = output n, the nn.Linear layout): a warp owns 8 output
//   rows and steps 64 k at a time; thread (g, q) loads W[row g][16q .. 16q + 16) (two 16-byte
//   loads: 128 bytes of each row per warp step) and x[g][same k], x[g + 8][same k]: 4 mmas with
//   the k order permuted identically in A and B (no shuffles).
//   SPARSITY 0: rows 0..N. 3 (output list): rows idx[0..*nidx), written compact (y[m][p]).
//   EPI 3 (gated, SiLU(gate) * up): the rows are interleaved (2i = gate of neuron i, 2i+1 = up),
//   N and the list count neurons, and the pair lands in one thread's c0 / c1.
//
// Work division (persistent CTAs): the work is ncb column blocks (kn: CW * 64 columns of N; nk: RW * 8
// row positions of nout, times 2 when gated) times `splits` = ceil(npos / chunk) ranges of the
// position space (kn: x positions = k, or list positions; nk: k), `chunk` positions each. A unit is
// (column block u % ncb, split u / ncb); CTA L = blockIdx.y * gridDim.x + blockIdx.x of the
// G = gridDim.x * gridDim.y CTAs takes units L, L + G, ... (the grid's shape does not matter;
// the host plans G <= one wave of resident CTAs and units close to a whole number of waves).
// List variants re-divide the device-side count: chunk' = min(chunk, 32 * ceil(count / (32 *
// max(1, G / ncb)))), with ncb from the count (nk output lists), so a short list made on the
// device still spreads over the grid. Inside a CTA, KW warps share a column block and
// interleave its steps (input-sparse warps: contiguous shares); their sums meet in shared
// memory. With splits > 1 each unit writes fp32 partials part[(split * 16 + m) * ncb * COLS + col]
// and the last unit of a column block (a ticket in counters[block], reset by that CTA) adds them
// in split order: results are deterministic. Workspace: part holds 16 * COLS * max(units, G)
// floats (G covers the list re-division), counters ncb (zero before the first call).
//
// Shared memory (dynamic, bytes = gemv_smem_bytes, sized per call by the host): x of the unit's range [M rows][xstride] In
// (rows 16 bytes apart modulo 128: conflict-free fragment reads), then (kn) the list ints; the
// reduction buffer float[KW][M][COLS] reuses the same bytes after the main loop.

constexpr int GV_LAYOUT_KN = 0;
constexpr int GV_LAYOUT_NK = 1;
// Optional Cfg member PREFETCH (default 0): 1 issues an L2 prefetch of the weight rows two
// iterations ahead of the register loads in the main loops. Measured on the H200 it costs 10-70%
// (kn dense 8192x28672 M=1: 118 -> 154 us; nk dense: 120 -> 205 us), so it stays off.
template <class C, class = void> struct gv_prefetch_of { static constexpr bool value = false; };
template <class C> struct gv_prefetch_of<C, decltype(void(C::PREFETCH))> { static constexpr bool value = C::PREFETCH != 0; };

__device__ __forceinline__ float gv_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float gv_to_float(__half v) { return __half2float(v); }
template <class T> __device__ __forceinline__ T gv_from_float(float v);
template <> __device__ __forceinline__ float gv_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 gv_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half gv_from_float<__half>(float v) { return __float2half_rn(v); }

template <class In>
__device__ __forceinline__ void gv_mma(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1)
{
    if constexpr (__is_same(In, __nv_bfloat16)) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, "
                     "{ %8, %9 }, { %0, %1, %2, %3 };\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, "
                     "{ %8, %9 }, { %0, %1, %2, %3 };\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    }
}

// 16-byte weight load with the variant's cache policy: 0 = ld.global.nc, 1 = no L1 allocation
// with a 256-byte L2 prefetch, 2 = evict-first streaming load.
template <int CACHE>
__device__ __forceinline__ uint4 gv_load_w(const void* p)
{
    uint4 v;
    if constexpr (CACHE == 1) {
        asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 { %0, %1, %2, %3 }, [%4];\n"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    } else if constexpr (CACHE == 2) {
        v = __ldcs(reinterpret_cast<const uint4*>(p));
    } else {
        v = __ldg(reinterpret_cast<const uint4*>(p));
    }
    return v;
}

// L2 prefetch of the 128-byte line holding p (no register is tied up while it is in flight).
__device__ __forceinline__ void gv_prefetch_l2(const void* p)
{
    asm volatile("prefetch.global.L2::evict_normal [%0];\n" : : "l"(p));
}

__device__ __forceinline__ uint16_t gv_bits(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }
__device__ __forceinline__ uint16_t gv_bits(__half v) { return __half_as_ushort(v); }

__device__ __forceinline__ float gv_silu(float g) { return g / (1.0f + __expf(-g)); }

template <int EPI>
__device__ __forceinline__ float gv_act(float v)
{
    if constexpr (EPI == 1) {
        return v < 0.0f ? 0.0f : v;  // NaN stays NaN
    } else if constexpr (EPI == 2) {
        const float r = v < 0.0f ? 0.0f : v;
        return r * r;
    } else {
        return v;
    }
}

// Ints of one warp's active list (input-sparse kn): its share of `chunk` positions, whole warps.
template <class Cfg>
__host__ __device__ constexpr int gv_warp_list(int chunk)
{
    return ((chunk + Cfg::KW - 1) / Cfg::KW + 31) / 32 * 32;
}

// Row stride (elements) of the staged x: a multiple of 64 elements plus 8, so rows start 16 bytes
// apart modulo 128: the kn 32-bit fragment reads (row g, column pair q) hit 32 distinct banks, and
// the nk 16-byte reads of rows g, g + 1 (columns 16q + 8h) are conflict-free per quarter warp.
__host__ __device__ constexpr int gv_xstride(int chunk)
{
    return (chunk + 63) / 64 * 64 + 8;
}

// Ints of the kn list region: the row list (rows variants), or one list per warp (input-sparse).
template <class Cfg>
__host__ __device__ constexpr int gv_list_ints(int chunk)
{
    return Cfg::LAYOUT != GV_LAYOUT_KN ? 0
         : Cfg::SPARSITY == 1          ? Cfg::CW * Cfg::KW * gv_warp_list<Cfg>(chunk)
         : Cfg::SPARSITY == 2          ? (chunk + 31) / 32 * 32
                                       : 0;
}

// Bytes of dynamic shared memory for a launch with `chunk` positions per split and M tokens: the
// staged x plus the lists, or the reduction buffer (it reuses them), whichever is larger.
template <class Cfg>
__host__ __device__ constexpr unsigned gemv_smem_bytes(int chunk, int M)
{
    const unsigned xs = static_cast<unsigned>(M) * static_cast<unsigned>(gv_xstride(chunk)) * 2u
                      + static_cast<unsigned>(gv_list_ints<Cfg>(chunk)) * 4u;
    const unsigned cols = Cfg::LAYOUT == GV_LAYOUT_KN ? Cfg::CW * 64u : Cfg::RW * 8u;
    const unsigned red = static_cast<unsigned>(Cfg::KW) * static_cast<unsigned>(M) * cols * 4u;
    return xs > red ? xs : red;
}

template <class Cfg>
__device__ __forceinline__ void gemv_main(const typename Cfg::In* __restrict__ x, int ldx,
                                          const typename Cfg::In* __restrict__ W, int ldw,
                                          typename Cfg::Out* __restrict__ y, int ldy,
                                          const int* __restrict__ idx, const int* __restrict__ nidx,
                                          int M, int N, int K, int chunk,
                                          float* __restrict__ part, unsigned* __restrict__ counters,
                                          unsigned* __restrict__ a_pat)
{
    using In = typename Cfg::In;
    using Out = typename Cfg::Out;
    constexpr bool KN = Cfg::LAYOUT == GV_LAYOUT_KN;
    constexpr bool GATED = Cfg::EPI == 3;
    constexpr int G = GATED ? 2 : 1;                       // rows per output column (nk)
    constexpr int COLS = KN ? Cfg::CW * 64 : Cfg::RW * 8;  // output columns / row positions per CTA
    constexpr bool LISTV = Cfg::SPARSITY == 2 || Cfg::SPARSITY == 3;
    extern __shared__ __align__(16) unsigned char gv_smem[];
    __shared__ int s_last;

    {
        // The host sizes the dynamic shared memory per call (esmm_spec GemvSpec::smem_bytes_for,
        // the mirror of gemv_smem_bytes): a launch given less than this chunk needs is a bug.
        unsigned dyn_bytes;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn_bytes));
        if (gemv_smem_bytes<Cfg>(chunk, M) > dyn_bytes) __trap();
    }
    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int g = lane >> 2;
    const int q = lane & 3;
    const int kw = warp % Cfg::KW;   // which interleaved share of the steps
    const int cw = warp / Cfg::KW;   // which column block (kn: 64 columns, nk: 8 row positions)
    // The position space split into ranges: kn = x columns (k, or list positions), nk = k.
    const int count_list = LISTV ? *nidx : 0;
    const int npos = (KN && Cfg::SPARSITY == 2) ? count_list : K;
    // nk: row positions of the output (and the columns written).
    const int nout = (!KN && Cfg::SPARSITY == 3) ? count_list : N;
    const int phys = KN ? N : nout * G;                     // columns / rows of W covered
    const int ncb = phys <= 0 ? 0 : (phys + COLS - 1) / COLS;
    const int nctas = gridDim.x * gridDim.y;
    if constexpr (LISTV) {
        // The host planned for the list's capacity; spread the actual count over the grid.
        const int want = max(1, nctas / max(1, ncb));
        chunk = min(chunk, max(32, ((npos + want - 1) / want + 31) / 32 * 32));
    }
    const int splits = max(1, (npos + chunk - 1) / chunk);
    const int units = ncb * splits;
    const int xstride = gv_xstride(chunk);
    In* xs = reinterpret_cast<In*>(gv_smem);
    int* list = reinterpret_cast<int*>(gv_smem + M * xstride * 2);
    float* red = reinterpret_cast<float*>(gv_smem);  // reuses x and the lists after the main loop
    const size_t pstride = static_cast<size_t>(ncb) * COLS;
    const bool vec = ((reinterpret_cast<uintptr_t>(x) & 15u) == 0) && (ldx % 8 == 0) && (chunk % 8 == 0);
    const bool hi = M > 8;  // tokens 8..15 present (warp-uniform)

    for (int unit = blockIdx.y * gridDim.x + blockIdx.x; unit < units; unit += nctas) {
        const int cb = unit % ncb;
        const int sp = unit / ncb;
        const int col_base = cb * COLS;
        const int p0 = sp * chunk;
        const int len = max(0, min(p0 + chunk, npos) - p0);
        __syncthreads();  // the previous unit is done with the shared memory

        // ---- stage x[0..M)[p0 .. p0 + len) (zero beyond, up to xstride) into shared memory -------
        const int xchunks = xstride / 8;
        for (int i = tid; i < M * xchunks; i += Cfg::THREADS) {
            const int m = i / xchunks;
            const int j = (i - m * xchunks) * 8;
            uint4 v = make_uint4(0u, 0u, 0u, 0u);
            const In* src = x + static_cast<size_t>(m) * ldx + p0 + j;
            if (vec && j + 8 <= len) {
                v = __ldg(reinterpret_cast<const uint4*>(src));
            } else if (j < len) {
                uint16_t e[8];
#pragma unroll
                for (int t = 0; t < 8; ++t) {
                    e[t] = j + t < len ? gv_bits(src[t]) : uint16_t(0);
                }
                v.x = e[0] | (uint32_t(e[1]) << 16);
                v.y = e[2] | (uint32_t(e[3]) << 16);
                v.z = e[4] | (uint32_t(e[5]) << 16);
                v.w = e[6] | (uint32_t(e[7]) << 16);
            }
            *reinterpret_cast<uint4*>(xs + m * xstride + j) = v;
        }
        if constexpr (KN && Cfg::SPARSITY == 2) {
            for (int j = tid; j < len; j += Cfg::THREADS) {
                const int r = idx[p0 + j];
                list[j] = (r >= 0 && r < K) ? r : -1;
            }
        }
        __syncthreads();

        if constexpr (KN) {
            float acc[8][4];
#pragma unroll
            for (int t = 0; t < 8; ++t) {
                acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.f;
            }
            // ---- the unit's weight rows: every position, the active ones, or the list -------------
            int count = len;
            int* wlist = list + warp * gv_warp_list<Cfg>(chunk);
            if constexpr (Cfg::SPARSITY == 1) {
                // Input sparsity: each warp scans its own contiguous share of the positions and
                // compacts the active ones into its own list with ballots (no block barrier).
                const int share = ((len + Cfg::KW - 1) / Cfg::KW + 31) / 32 * 32;
                const int w0 = min(kw * share, len);
                const int w1 = min(w0 + share, len);
                int c = 0;
                for (int j0 = w0; j0 < w1; j0 += 32) {
                    const int j = j0 + lane;
                    bool act = false;
                    if (j < w1) {
                        for (int m = 0; m < M; ++m) {
                            act |= (gv_bits(xs[m * xstride + j]) & 0x7fffu) != 0u;
                        }
                    }
                    const unsigned bal = __ballot_sync(0xffffffffu, act);
                    // x's pattern word of positions p0 + j0 .. + 31 (p0 and j0 are multiples
                    // of 32): column block 0's units cover every position once.
                    if (a_pat != nullptr && cb == 0 && lane == 0) a_pat[(p0 + j0) >> 5] = bal;
                    if (act) wlist[c + __popc(bal & ((1u << lane) - 1u))] = j;
                    c += __popc(bal);
                }
                __syncwarp();
                count = c;
            }

            const int col = col_base + cw * 64 + 8 * g;  // this thread's 8 physical columns
            const bool col_ok = col < N;
            const In* wcol = W + col;
            const int nsteps = (count + 15) / 16;
            // Input-sparse warps walk their own list; the others interleave the unit's steps.
            constexpr int STRIDE = Cfg::SPARSITY == 1 ? 1 : Cfg::KW;
            const int first = Cfg::SPARSITY == 1 ? 0 : kw;
            // L2 prefetch of the rows of the iteration `ahead` iterations after s0 (lane r takes
            // slot r of those 16 * UNROLL): the register loads then wait on L2, not on HBM.
            const bool warp_cols = col_base + cw * 64 < N;
            auto prefetch = [&](int s0, int ahead) {
                const int pst = s0 + ahead * STRIDE * Cfg::UNROLL;
#pragma unroll
                for (int r = lane; r < 16 * Cfg::UNROLL; r += 32) {
                    const int st = pst + (r >> 4) * STRIDE;
                    const int slot = st * 16 + (r & 15);
                    if (warp_cols && st < nsteps && slot < count) {
                        int row = p0 + slot;
                        if constexpr (Cfg::SPARSITY == 1) row = p0 + wlist[slot];
                        if constexpr (Cfg::SPARSITY == 2) row = list[slot];
                        if (row >= 0) gv_prefetch_l2(W + static_cast<size_t>(row) * ldw + col_base + cw * 64);
                    }
                }
            };
            if constexpr (gv_prefetch_of<Cfg>::value) prefetch(first, 1);
            for (int s0 = first; s0 < nsteps; s0 += STRIDE * Cfg::UNROLL) {
                if constexpr (gv_prefetch_of<Cfg>::value) prefetch(s0, 2);
                uint4 w[Cfg::UNROLL][4];
                uint32_t a[Cfg::UNROLL][4];
#pragma unroll
                for (int u = 0; u < Cfg::UNROLL; ++u) {
                    const int st = s0 + u * STRIDE;
                    const bool stv = st < nsteps;
                    const int sb = st * 16 + 2 * q;
                    int pos[4];
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const int slot = sb + (i & 1) + (i >> 1) * 8;
                        const bool valid = stv && slot < count;
                        int row = p0 + slot;
                        pos[i] = slot;
                        if constexpr (Cfg::SPARSITY == 1) {
                            pos[i] = valid ? wlist[slot] : 0;
                            row = p0 + pos[i];
                        } else if constexpr (Cfg::SPARSITY == 2) {
                            row = valid ? list[slot] : -1;
                        }
                        const bool live = valid && row >= 0;
                        w[u][i] = (live && col_ok) ? gv_load_w<Cfg::CACHE>(wcol + static_cast<size_t>(row) * ldw)
                                                   : make_uint4(0u, 0u, 0u, 0u);
                    }
                    if constexpr (Cfg::SPARSITY == 1) {
                        // gathered positions: one element per slot (zero where the slot is empty)
                        uint16_t xv[2][4];
#pragma unroll
                        for (int i = 0; i < 4; ++i) {
                            const int slot = sb + (i & 1) + (i >> 1) * 8;
                            const bool valid = stv && slot < count;
                            xv[0][i] = (valid && g < M) ? gv_bits(xs[g * xstride + pos[i]]) : uint16_t(0);
                            xv[1][i] = (valid && hi && g + 8 < M) ? gv_bits(xs[(g + 8) * xstride + pos[i]]) : uint16_t(0);
                        }
                        a[u][0] = xv[0][0] | (uint32_t(xv[0][1]) << 16);
                        a[u][1] = xv[1][0] | (uint32_t(xv[1][1]) << 16);
                        a[u][2] = xv[0][2] | (uint32_t(xv[0][3]) << 16);
                        a[u][3] = xv[1][2] | (uint32_t(xv[1][3]) << 16);
                    } else {
                        // consecutive positions: 32-bit pairs (x is zero beyond len up to xstride;
                        // list slots past the count carry no weight row)
                        const uint32_t* x0 = reinterpret_cast<const uint32_t*>(xs + g * xstride + sb);
                        const uint32_t* x1 = reinterpret_cast<const uint32_t*>(xs + (g + 8) * xstride + sb);
                        a[u][0] = (stv && g < M) ? x0[0] : 0u;
                        a[u][2] = (stv && g < M) ? x0[4] : 0u;
                        a[u][1] = (stv && hi && g + 8 < M) ? x1[0] : 0u;
                        a[u][3] = (stv && hi && g + 8 < M) ? x1[4] : 0u;
                    }
                }
#pragma unroll
                for (int u = 0; u < Cfg::UNROLL; ++u) {
                    const uint32_t r0[4] = { w[u][0].x, w[u][0].y, w[u][0].z, w[u][0].w };
                    const uint32_t r1[4] = { w[u][1].x, w[u][1].y, w[u][1].z, w[u][1].w };
                    const uint32_t r2[4] = { w[u][2].x, w[u][2].y, w[u][2].z, w[u][2].w };
                    const uint32_t r3[4] = { w[u][3].x, w[u][3].y, w[u][3].z, w[u][3].w };
#pragma unroll
                    for (int t = 0; t < 8; ++t) {
                        const unsigned sel = (t & 1) ? 0x7632u : 0x5410u;
                        const uint32_t b0 = __byte_perm(r0[t >> 1], r1[t >> 1], sel);
                        const uint32_t b1 = __byte_perm(r2[t >> 1], r3[t >> 1], sel);
                        gv_mma<In>(acc[t], a[u][0], a[u][1], a[u][2], a[u][3], b0, b1);
                    }
                }
            }
            __syncthreads();  // every warp is done with x and the lists: red reuses them
            // c0 = (m g, n 2q), c1 = (g, 2q+1), c2/c3 = token g + 8; n-tile t, mma column c is the
            // physical column 8c + t of the warp's 64.
            float* r = red + static_cast<size_t>(kw) * M * COLS;
#pragma unroll
            for (int t = 0; t < 8; ++t) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int m = g + (e >> 1) * 8;
                    const int c = cw * 64 + 8 * (2 * q + (e & 1)) + t;
                    if (m < M) r[m * COLS + c] = acc[t][e];
                }
            }
        } else {
            // ---- nk: 8 row positions per warp, 64 k per step (128 bytes of each row) ---------------
            float acc[4] = { 0.f, 0.f, 0.f, 0.f };
            const int rpos = col_base + cw * 8 + g;  // this thread's row position
            int row = -1;
            if (rpos < nout * G) {
                const int o = rpos / G;
                int base = o;
                if constexpr (Cfg::SPARSITY == 3) {
                    base = idx[o];
                    base = (base >= 0 && base < N) ? base : -1;
                }
                row = base < 0 ? -1 : (GATED ? 2 * base + (rpos & 1) : base);
            }
            const In* wrow = W + static_cast<size_t>(row < 0 ? 0 : row) * ldw + p0;
            const int nsteps = (len + 63) / 64;
            const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
            // L2 prefetch of the iteration `ahead` iterations later: 8 rows x UNROLL 128-byte lines.
            auto prefetch = [&](int s0, int ahead) {
                const int pst = s0 + ahead * Cfg::KW * Cfg::UNROLL;
                const In* wr = W + static_cast<size_t>(__shfl_sync(0xffffffffu, row < 0 ? 0 : row, (lane & 7) * 4)) * ldw + p0;
                const bool ok = __shfl_sync(0xffffffffu, row, (lane & 7) * 4) >= 0;
#pragma unroll
                for (int r = lane; r < 8 * Cfg::UNROLL; r += 32) {
                    const int st = pst + (r >> 3) * Cfg::KW;
                    if (ok && st < nsteps) gv_prefetch_l2(wr + st * 64);
                }
            };
            if constexpr (gv_prefetch_of<Cfg>::value) prefetch(kw, 1);
            for (int s0 = kw; s0 < nsteps; s0 += Cfg::KW * Cfg::UNROLL) {
                if constexpr (gv_prefetch_of<Cfg>::value) prefetch(s0, 2);
                uint4 w[Cfg::UNROLL][2], xa[Cfg::UNROLL][2], xb[Cfg::UNROLL][2];
#pragma unroll
                for (int u = 0; u < Cfg::UNROLL; ++u) {
                    const int st = s0 + u * Cfg::KW;
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const int kk = st * 64 + 16 * q + 8 * h;  // relative to p0
                        const bool valid = st < nsteps && kk < len;
                        w[u][h] = (valid && row >= 0) ? gv_load_w<Cfg::CACHE>(wrow + kk) : zero;
                        xa[u][h] = (valid && g < M) ? *reinterpret_cast<const uint4*>(xs + g * xstride + kk) : zero;
                        xb[u][h] = (valid && hi && g + 8 < M) ? *reinterpret_cast<const uint4*>(xs + (g + 8) * xstride + kk) : zero;
                    }
                }
#pragma unroll
                for (int u = 0; u < Cfg::UNROLL; ++u) {
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        gv_mma<In>(acc, xa[u][h].x, xb[u][h].x, xa[u][h].y, xb[u][h].y, w[u][h].x, w[u][h].y);
                        gv_mma<In>(acc, xa[u][h].z, xb[u][h].z, xa[u][h].w, xb[u][h].w, w[u][h].z, w[u][h].w);
                    }
                }
            }
            __syncthreads();  // every warp is done with x: red reuses it
            float* r = red + static_cast<size_t>(kw) * M * COLS;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int m = g + (e >> 1) * 8;
                const int c = cw * 8 + 2 * q + (e & 1);
                if (m < M) r[m * COLS + c] = acc[e];
            }
        }
        __syncthreads();

        // ---- sum the KW shares; finish, or hand the partial to the split fix-up --------------------
        for (int i = tid; i < M * COLS; i += Cfg::THREADS) {
            float v = 0.f;
#pragma unroll
            for (int k2 = 0; k2 < Cfg::KW; ++k2) {
                v += red[k2 * M * COLS + i];
            }
            if (splits == 1) {
                red[i] = v;
            } else {
                const int m = i / COLS;
                const int c = i - m * COLS;
                __stcg(part + (static_cast<size_t>(sp) * 16 + m) * pstride + col_base + c, v);
            }
        }
        if (splits > 1) {
            __threadfence();
            __syncthreads();
            if (tid == 0) {
                const unsigned ticket = atomicAdd(counters + cb, 1u);
                s_last = ticket == static_cast<unsigned>(splits - 1);
                if (s_last) counters[cb] = 0u;  // ready for the next call on this stream
            }
            __syncthreads();
            if (!s_last) continue;  // uniform: the next unit starts with a barrier
            __threadfence();
            for (int i = tid; i < M * COLS; i += Cfg::THREADS) {
                const int m = i / COLS;
                const int c = i - m * COLS;
                float v = 0.f;
                for (int s = 0; s < splits; ++s) {
                    v += __ldcg(part + (static_cast<size_t>(s) * 16 + m) * pstride + col_base + c);
                }
                red[i] = v;
            }
        }
        __syncthreads();

        // ---- epilogue and store --------------------------------------------------------------------
        constexpr int OUT_COLS = COLS / G;
        const int ncols = KN ? N : nout;
        for (int i = tid; i < M * OUT_COLS; i += Cfg::THREADS) {
            const int m = i / OUT_COLS;
            const int c = i - m * OUT_COLS;
            const int o = col_base / G + c;
            if (o >= ncols) continue;
            float v;
            if constexpr (GATED) {
                v = gv_silu(red[m * COLS + 2 * c]) * red[m * COLS + 2 * c + 1];
            } else {
                v = gv_act<Cfg::EPI>(red[m * COLS + c]);
            }
            y[static_cast<size_t>(m) * ldy + o] = gv_from_float<Out>(v);
        }
    }
}
