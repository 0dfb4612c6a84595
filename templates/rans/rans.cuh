// ---- rans: INT8 weights, rANS-decoded on the fly (sm_80 and later) ----------------------------
// The container format and the decode order are docs/CODEC.md's contract (format version 1):
// W is K x N (row k = what input k feeds), cut into tile_k x tile_n tiles; a tile's symbols are
// taken row-major; symbol i belongs to lane i % LANES and round i / LANES; per round every lane
// decodes, then the lanes whose state fell below L = 2^16 take the next 16-bit words of the
// tile's stream in increasing lane order. Symbol = (code as u8); dequantization code * scale[n].
//
// Cfg members read: KIND (0 decode, 1 fused GEMV, 2 plain INT8 GEMV), In, Out, LANES (32 or 64:
// S = LANES / 32 states per thread), TILE_N (compile-time tile width of the container, GEMV and
// decode), MT (token bucket: accumulators per column), VEC (INT8 GEMV: bytes per lane per row),
// WARPS, THREADS, XS_BYTES (staged-x budget).
//
// Decode table (built by the host from the frequency table, 4096 u32, one per slot):
//   e = ((code as u8) ^ 0x80) | (freq - 1) << 8 | (slot - cum[sym]) << 20
// The CTA keeps it in shared memory as {e, float(code)} pairs (32 KB), so one 8-byte load gives
// the frequency, the slot's bias and the weight:
//   q = x >> 12;  x = (freq - 1) * q + q + bias;   (= freq * (x >> 12) + slot - cum)
// (M = 1: 22 SASS instructions per round and state on sm_90, FFMA included; docs/KERNELS.md.)
//
// Shared memory: the table (32 KB), then per warp a 2 KB word ring and a 256-byte edge batch,
// then (GEMV) the staged x.
// Word stream staging: each warp keeps a ring of 4 chunks x 512 bytes in shared memory, filled
// with cp.async (16 bytes per lane, zero fill past the stream); a tile row (or a batch of 256
// symbols) consumes at most 256 words, so two chunks ahead are always in flight and the decode
// loop reads its words with one shared-memory load. Reads never leave the stream (a corrupted
// stream decodes garbage and is reported, it never reads out of bounds).
//
// Fast path: a tile whose width is TILE_N (a multiple of 32 * S): round j of a tile row gives
// thread l the columns 32 * (S * j + s) + l, so every thread owns TILE_N / 32 fixed columns and
// accumulates them in registers. Edge tiles (narrower) decode batches of 256 symbols into a
// per-warp byte buffer and the threads pick their columns from it (same fixed ownership).

constexpr unsigned RS_L = 65536u;           // the word ring: 4 chunks of 256 words (512 B) per warp
constexpr int RS_BATCH = 256;                // symbols per edge batch
constexpr int RS_TABLE_BYTES = 32768;        // 4096 x {entry, float(code)}

__device__ __forceinline__ float rs_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rs_to_float(__half v) { return __half2float(v); }
template <class T> __device__ __forceinline__ T rs_from_float(float v);
template <> __device__ __forceinline__ float rs_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 rs_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half rs_from_float<__half>(float v) { return __float2half_rn(v); }

// biased symbol (code + 128) -> float(code): 2^23 + b has b in its mantissa.
__device__ __forceinline__ float rs_code(unsigned biased) { return __int_as_float(0x4B000000u | biased) - 8388736.f; }

__device__ __forceinline__ void rs_cp16(void* dst, const void* src, int bytes)
{
    const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void rs_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int PENDING>
__device__ __forceinline__ void rs_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING) : "memory"); }

// One warp's decoder over one tile.
template <int S>
struct RsDecoder {
    unsigned x[S];
    unsigned ptr;            // words consumed
    unsigned skew;           // words between the 16-byte aligned chunk base and the tile's first word
    unsigned ready;          // chunks [0, ready) are in the ring
    unsigned issued;         // chunks issued
    unsigned long long gb0;  // byte offset of chunk 0 in the stream
    unsigned long long sbytes;
    const unsigned char* sbase;
    unsigned short* ring;
    const uint2* tab;        // per slot: the table entry and the code as a float
    unsigned lt;             // lanes below this one

    __device__ __forceinline__ void issue(int lane)
    {
        const unsigned long long src = gb0 + static_cast<unsigned long long>(issued) * 512u + 16u * lane;
        const long long left = static_cast<long long>(sbytes) - static_cast<long long>(src);
        const int bytes = left <= 0 ? 0 : (left >= 16 ? 16 : static_cast<int>(left));
        rs_cp16(reinterpret_cast<unsigned char*>(ring) + ((issued * 512u + 16u * lane) & 2047u), bytes > 0 ? sbase + src : sbase, bytes);
        rs_commit();
        ++issued;
    }

    // Starts tile record `rec` (16 + 4 * LANES bytes). Returns the tile's word count.
    __device__ __forceinline__ unsigned start(const unsigned char* rec, int lane)
    {
        const unsigned long long off = *reinterpret_cast<const unsigned long long*>(rec);
        const unsigned nw = *reinterpret_cast<const unsigned*>(rec + 8);
        const unsigned* st = reinterpret_cast<const unsigned*>(rec + 16);
#pragma unroll
        for (int s = 0; s < S; ++s) x[s] = st[32 * s + lane];
        ptr = 0;
        const unsigned long long b = off * 2u;
        gb0 = b & ~15ull;
        skew = static_cast<unsigned>((b - gb0) >> 1);
        ready = 0;
        issued = 0;
        issue(lane);
        issue(lane);
        return nw;
    }

    // Makes the next 256 words resident (call before a row or a batch).
    __device__ __forceinline__ void need256(int lane)
    {
        const unsigned last = (ptr + skew + 255u) >> 8;
        while (ready <= last) {
            rs_wait<1>();
            __syncwarp();
            ++ready;
            issue(lane);
        }
    }

    // One round: every state decodes one symbol (table entry e[s], weight w[s] = its code as a
    // float) when `has[s]`; then the renormalising lanes read their words in lane order.
    template <bool FULL>
    __device__ __forceinline__ void round(unsigned (&e)[S], float (&w)[S], const bool (&has)[S])
    {
        unsigned need[S];
#pragma unroll
        for (int s = 0; s < S; ++s) {
            const uint2 t = tab[x[s] & 4095u];
            const unsigned q = x[s] >> 12;
            const unsigned xn = ((t.x >> 8) & 4095u) * q + q + (t.x >> 20);
            const bool h = FULL || has[s];
            x[s] = h ? xn : x[s];
            e[s] = t.x;
            w[s] = __uint_as_float(t.y);
            need[s] = __ballot_sync(~0u, h && x[s] < RS_L);
        }
        // Word positions in bytes of the ring: 2 * (ptr + skew + rank) modulo 2048.
        unsigned base = 2u * (ptr + skew);
        const unsigned char* rb = reinterpret_cast<const unsigned char*>(ring);
#pragma unroll
        for (int s = 0; s < S; ++s) {
            if (need[s] & (1u << (threadIdx.x & 31))) {
                const unsigned off = (base + 2u * __popc(need[s] & lt)) & 2046u;
                x[s] = (x[s] << 16) | *reinterpret_cast<const unsigned short*>(rb + off);
            }
            base += 2u * __popc(need[s]);
        }
        ptr = (base >> 1) - skew;
    }

    // End of the tile: every state back at L and every word consumed; drains the ring.
    __device__ __forceinline__ bool finish(unsigned nw)
    {
        rs_wait<0>();
        __syncwarp();
        bool ok = ptr == nw;
#pragma unroll
        for (int s = 0; s < S; ++s) ok = ok && x[s] == RS_L;
        return __all_sync(~0u, ok);
    }
};

template <class Cfg>
struct RsShared {
    static constexpr int S = Cfg::LANES / 32;
    static constexpr int NA = Cfg::TILE_N / 32;  // columns per thread
};

// Loads the 4096-entry decode table into shared memory as {entry, float(code)} pairs (32 KB):
// one 8-byte load per symbol gives the decode step and the weight.
__device__ __forceinline__ void rs_load_table(uint2* tab_s, const unsigned* __restrict__ table, int threads)
{
    for (int i = threadIdx.x; i < 4096; i += threads) {
        const unsigned e = __ldg(table + i);
        tab_s[i] = make_uint2(e, __float_as_uint(rs_code(e & 0xffu)));
    }
}

// ---- KIND 0: standalone decode (codes K x N, ldo) or verify only (codes == nullptr) ----------
// One warp per tile, grid-stride over the tiles. status[0] += tiles that fail the end checks.
template <class Cfg>
__device__ void rs_decode(const unsigned* __restrict__ table, const unsigned char* __restrict__ tiles,
                          const unsigned short* __restrict__ words, int nwords, int K, int N, int tile_k,
                          signed char* __restrict__ codes, int ldo, unsigned* __restrict__ status)
{
    constexpr int S = RsShared<Cfg>::S;
    constexpr int NA = RsShared<Cfg>::NA;
    extern __shared__ __align__(16) unsigned char rs_smem[];
    uint2* tab_s = reinterpret_cast<uint2*>(rs_smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    unsigned short* ring = reinterpret_cast<unsigned short*>(rs_smem + RS_TABLE_BYTES + warp * 2048);
    unsigned char* eb = rs_smem + RS_TABLE_BYTES + Cfg::WARPS * 2048 + warp * RS_BATCH;
    rs_load_table(tab_s, table, Cfg::THREADS);
    __syncthreads();

    const int k_tiles = (K + tile_k - 1) / tile_k;
    const int n_tiles = (N + Cfg::TILE_N - 1) / Cfg::TILE_N;
    const long long ntiles = static_cast<long long>(k_tiles) * n_tiles;
    constexpr int REC = 16 + 4 * Cfg::LANES;
    RsDecoder<S> d;
    d.sbase = reinterpret_cast<const unsigned char*>(words);
    d.sbytes = 2ull * static_cast<unsigned>(nwords);
    d.ring = ring;
    d.tab = tab_s;
    d.lt = (1u << lane) - 1u;
    unsigned bad = 0;
    for (long long t = static_cast<long long>(blockIdx.x) * Cfg::WARPS + warp; t < ntiles; t += static_cast<long long>(gridDim.x) * Cfg::WARPS) {
        const int kb = static_cast<int>(t / n_tiles), nb = static_cast<int>(t - static_cast<long long>(kb) * n_tiles);
        const int row0 = kb * tile_k, col0 = nb * Cfg::TILE_N;
        const int rows = min(tile_k, K - row0), cols = min(Cfg::TILE_N, N - col0);
        const unsigned nw = d.start(tiles + t * REC, lane);
        signed char* out = codes ? codes + static_cast<size_t>(row0) * ldo + col0 : nullptr;
        if (cols == Cfg::TILE_N) {
            bool has[S];
#pragma unroll
            for (int s = 0; s < S; ++s) has[s] = true;
            for (int r = 0; r < rows; ++r) {
                d.need256(lane);
#pragma unroll
                for (int j = 0; j < NA / S; ++j) {
                    unsigned b[S];
                    float f[S];
                    d.template round<true>(b, f, has);
                    if (out) {
#pragma unroll
                        for (int s = 0; s < S; ++s) out[static_cast<size_t>(r) * ldo + 32 * (S * j + s) + lane] = static_cast<signed char>((b[s] & 0xffu) ^ 0x80u);
                    }
                }
            }
        } else {
            const int nsym = rows * cols;
            for (int i0 = 0; i0 < nsym; i0 += RS_BATCH) {
                d.need256(lane);
#pragma unroll 1
                for (int r = 0; r < RS_BATCH / Cfg::LANES; ++r) {
                    unsigned b[S];
                    float f[S];
                    bool has[S];
#pragma unroll
                    for (int s = 0; s < S; ++s) has[s] = i0 + r * Cfg::LANES + 32 * s + lane < nsym;
                    d.template round<false>(b, f, has);
#pragma unroll
                    for (int s = 0; s < S; ++s) eb[r * Cfg::LANES + 32 * s + lane] = static_cast<unsigned char>(b[s] & 0xffu);
                }
                __syncwarp();
                if (out) {
                    const int n = min(RS_BATCH, nsym - i0);
                    for (int p = lane; p < n; p += 32) {
                        const int i = i0 + p, rr = i / cols, cc = i - rr * cols;
                        out[static_cast<size_t>(rr) * ldo + cc] = static_cast<signed char>(eb[p] ^ 0x80u);
                    }
                }
                __syncwarp();
            }
        }
        if (!d.finish(nw)) ++bad;
    }
    if (lane == 0 && bad && status) atomicAdd(status, bad);
}

// ---- split fix-up of the fused GEMV (one warp per column group; the INT8 GEMVs finish per CTA,
// rs_cta_finish) ----------------------------------------------------------------------------
// Thread `lane` of a warp owns columns col(a) = first + STRIDE * a (a < NA) of one column group
// and the rows of one split. splits == 1: y = acc * scale. Otherwise the partials go to
// part[(split * M + m) * N + col]; the last warp of the group (ticket in counters[group], reset
// by that warp) adds the splits in order: deterministic.
template <class Cfg, int NA, int STRIDE>
__device__ __forceinline__ void rs_finish_columns(float (&acc)[NA][Cfg::MT], int lane, int first, int N, int M, int split, int splits, int group,
                                                  const float* __restrict__ scales, typename Cfg::Out* __restrict__ y, int ldc,
                                                  float* __restrict__ part, unsigned* __restrict__ counters)
{
    if (splits > 1) {
#pragma unroll
        for (int a = 0; a < NA; ++a) {
            const int col = first + STRIDE * a;
            if (col < N) {
#pragma unroll
                for (int m = 0; m < Cfg::MT; ++m) {
                    if (m < M) __stcg(part + (static_cast<size_t>(split) * M + m) * N + col, acc[a][m]);
                }
            }
        }
        __threadfence();
        __syncwarp();
        unsigned ticket = 0;
        if (lane == 0) ticket = atomicAdd(counters + group, 1u);
        ticket = __shfl_sync(~0u, ticket, 0);
        if (ticket != static_cast<unsigned>(splits - 1)) return;
        if (lane == 0) counters[group] = 0u;  // ready for the next call on this stream
        __threadfence();
#pragma unroll
        for (int a = 0; a < NA; ++a)
#pragma unroll
            for (int m = 0; m < Cfg::MT; ++m) acc[a][m] = 0.f;
        // Per token, split by split: the NA loads of a split are independent (one L2 round
        // trip per split and token, not per value); every sum adds the splits in order.
#pragma unroll
        for (int m = 0; m < Cfg::MT; ++m) {
            if (m < M) {
#pragma unroll(NA * Cfg::MT <= 8 ? 4 : (NA * Cfg::MT <= 16 ? 2 : 1))
                for (int s = 0; s < splits; ++s) {
                    const float* p = part + (static_cast<size_t>(s) * M + m) * N + first;
#pragma unroll
                    for (int a = 0; a < NA; ++a) {
                        if (first + STRIDE * a < N) acc[a][m] += __ldcg(p + STRIDE * a);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int a = 0; a < NA; ++a) {
        const int col = first + STRIDE * a;
        if (col < N) {
            const float sc = __ldg(scales + col);
#pragma unroll
            for (int m = 0; m < Cfg::MT; ++m) {
                if (m < M) y[static_cast<size_t>(m) * ldc + col] = rs_from_float<typename Cfg::Out>(acc[a][m] * sc);
            }
        }
    }
}

// Stages x rows [k0, k1) as floats xs[(k - k0) * MT + m] (zero for m >= M).
template <class Cfg>
__device__ __forceinline__ void rs_stage_x(float* xs, const typename Cfg::In* __restrict__ x, int lda, int M, int k0, int k1)
{
    const int n = (k1 - k0) * Cfg::MT;
    for (int i = threadIdx.x; i < n; i += Cfg::THREADS) {
        const int k = i / Cfg::MT, m = i - k * Cfg::MT;
        xs[i] = m < M ? rs_to_float(x[static_cast<size_t>(m) * lda + k0 + k]) : 0.f;
    }
}

template <int MT>
__device__ __forceinline__ void rs_load_xrow(float (&xv)[MT], const float* xs)
{
    if constexpr (MT % 4 == 0) {
#pragma unroll
        for (int m = 0; m < MT; m += 4) {
            const float4 v = *reinterpret_cast<const float4*>(xs + m);
            xv[m] = v.x; xv[m + 1] = v.y; xv[m + 2] = v.z; xv[m + 3] = v.w;
        }
    } else {
#pragma unroll
        for (int m = 0; m < MT; ++m) xv[m] = xs[m];
    }
}

// ---- KIND 1: fused rANS decode -> dequantize -> GEMV -----------------------------------------
// Grid (ceil(n_tiles / WARPS), splits); CTA (g, s): warp w decodes the tiles (kb, g * WARPS + w)
// for kb in [s * chunk, (s + 1) * chunk) (chunk in k-tiles), with x of those rows staged once.
template <class Cfg>
__device__ void rs_gemv(const typename Cfg::In* __restrict__ x, int lda, const unsigned* __restrict__ table, const unsigned char* __restrict__ tiles,
                        const unsigned short* __restrict__ words, int nwords, const float* __restrict__ scales, typename Cfg::Out* __restrict__ y,
                        int ldc, int M, int N, int K, int tile_k, int chunk, float* __restrict__ part, unsigned* __restrict__ counters)
{
    constexpr int S = RsShared<Cfg>::S;
    constexpr int NA = RsShared<Cfg>::NA;
    constexpr int MT = Cfg::MT;
    extern __shared__ __align__(16) unsigned char rs_smem[];
    uint2* tab_s = reinterpret_cast<uint2*>(rs_smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    unsigned short* ring = reinterpret_cast<unsigned short*>(rs_smem + RS_TABLE_BYTES + warp * 2048);
    unsigned char* eb = rs_smem + RS_TABLE_BYTES + Cfg::WARPS * 2048 + warp * RS_BATCH;
    float* xs = reinterpret_cast<float*>(rs_smem + RS_TABLE_BYTES + Cfg::WARPS * (2048 + RS_BATCH));

    const int k_tiles = (K + tile_k - 1) / tile_k;
    const int n_tiles = (N + Cfg::TILE_N - 1) / Cfg::TILE_N;
    const int splits = gridDim.y, split = blockIdx.y;
    const int kb0 = split * chunk, kb1 = min(k_tiles, kb0 + chunk);
    const int krow0 = kb0 * tile_k, krow1 = min(K, kb1 * tile_k);
    rs_load_table(tab_s, table, Cfg::THREADS);
    rs_stage_x<Cfg>(xs, x, lda, M, krow0, krow1);
    __syncthreads();

    const int nb = blockIdx.x * Cfg::WARPS + warp;
    if (nb >= n_tiles) return;
    constexpr int REC = 16 + 4 * Cfg::LANES;
    RsDecoder<S> d;
    d.sbase = reinterpret_cast<const unsigned char*>(words);
    d.sbytes = 2ull * static_cast<unsigned>(nwords);
    d.ring = ring;
    d.tab = tab_s;
    d.lt = (1u << lane) - 1u;
    const int col0 = nb * Cfg::TILE_N;
    const int cols = min(Cfg::TILE_N, N - col0);

    float acc[NA][MT];
#pragma unroll
    for (int a = 0; a < NA; ++a)
#pragma unroll
        for (int m = 0; m < MT; ++m) acc[a][m] = 0.f;

    for (int kb = kb0; kb < kb1; ++kb) {
        const int row0 = kb * tile_k;
        const int rows = min(tile_k, K - row0);
        const float* xt = xs + (row0 - krow0) * MT;
        const unsigned nw = d.start(tiles + (static_cast<size_t>(kb) * n_tiles + nb) * REC, lane);
        if (cols == Cfg::TILE_N) {
            bool has[S];
#pragma unroll
            for (int s = 0; s < S; ++s) has[s] = true;
            for (int r = 0; r < rows; ++r) {
                d.need256(lane);
                float xv[MT];
                rs_load_xrow<MT>(xv, xt + r * MT);
#pragma unroll
                for (int j = 0; j < NA / S; ++j) {
                    unsigned b[S];
                    float f[S];
                    d.template round<true>(b, f, has);
#pragma unroll
                    for (int s = 0; s < S; ++s) {
                        const float w = f[s];
#pragma unroll
                        for (int m = 0; m < MT; ++m) acc[S * j + s][m] = fmaf(xv[m], w, acc[S * j + s][m]);
                    }
                }
            }
        } else {
            const int nsym = rows * cols;
            for (int i0 = 0; i0 < nsym; i0 += RS_BATCH) {
                d.need256(lane);
#pragma unroll 1
                for (int r = 0; r < RS_BATCH / Cfg::LANES; ++r) {
                    unsigned b[S];
                    float f[S];
                    bool has[S];
#pragma unroll
                    for (int s = 0; s < S; ++s) has[s] = i0 + r * Cfg::LANES + 32 * s + lane < nsym;
                    d.template round<false>(b, f, has);
#pragma unroll
                    for (int s = 0; s < S; ++s) eb[r * Cfg::LANES + 32 * s + lane] = static_cast<unsigned char>(b[s] & 0xffu);
                }
                __syncwarp();
                const int i1 = min(nsym, i0 + RS_BATCH);
                for (int rr = i0 / cols; rr <= (i1 - 1) / cols; ++rr) {
                    float xv[MT];
                    rs_load_xrow<MT>(xv, xt + rr * MT);
#pragma unroll
                    for (int a = 0; a < NA; ++a) {
                        const int cc = 32 * a + lane;
                        const int i = rr * cols + cc;
                        if (cc < cols && i >= i0 && i < i1) {
                            const float w = rs_code(eb[i - i0]);
#pragma unroll
                            for (int m = 0; m < MT; ++m) acc[a][m] = fmaf(xv[m], w, acc[a][m]);
                        }
                    }
                }
                __syncwarp();
            }
        }
        d.finish(nw);  // validated at upload (verify pass); nothing to report here
    }
    rs_finish_columns<Cfg, NA, 32>(acc, lane, col0 + lane, N, M, split, splits, nb, scales, y, ldc, part, counters);
}

// ---- KIND 2: plain INT8 GEMV (the baseline the entropy coder must beat) -----------------------
// W int8 K x ldw row-major (ldw a multiple of 16, padded columns readable), scales[N].
// Grid (ceil(N / (32 * VEC)), splits); CTA (g, s) owns columns [g * 32 * VEC, + 32 * VEC), lane
// l the VEC columns at l * VEC, and rows [s * chunk, (s + 1) * chunk), x of those rows staged
// once; its warps take consecutive slices of those rows (software-pipelined, 2 x U rows in flight
// each) and add their sums in shared memory (warp order). With splits > 1 the last CTA of a
// column group adds the splits' partials, its warps sharing the splits.
template <int VEC>
struct RsVec;
template <> struct RsVec<16> { using T = uint4; };
template <> struct RsVec<8> { using T = uint2; };
template <> struct RsVec<4> { using T = unsigned; };

template <int VEC>
__device__ __forceinline__ void rs_bytes(float (&w)[VEC], const typename RsVec<VEC>::T& v)
{
    const unsigned* u = reinterpret_cast<const unsigned*>(&v);
#pragma unroll
    for (int i = 0; i < VEC / 4; ++i) {
        const unsigned b = u[i] ^ 0x80808080u;
#pragma unroll
        for (int j = 0; j < 4; ++j) w[4 * i + j] = rs_code(__byte_perm(b, 0u, 0x4440u | j));
    }
}

// Adds the per-warp sums acc of a CTA into warp 0's, in warp order, through `red` (32 * A * B
// floats of shared memory; every thread of the CTA calls it).
template <int WARPS, int A, int B>
__device__ __forceinline__ void rs_add_warps(float (&acc)[A][B], float* red, int warp, int lane)
{
    for (int src = 1; src < WARPS; ++src) {
        __syncthreads();  // the buffer's previous contents are consumed
        if (warp == src) {
#pragma unroll
            for (int a = 0; a < A; ++a)
#pragma unroll
                for (int b = 0; b < B; ++b) red[(a * B + b) * 32 + lane] = acc[a][b];
        }
        __syncthreads();
        if (warp == 0) {
#pragma unroll
            for (int a = 0; a < A; ++a)
#pragma unroll
                for (int b = 0; b < B; ++b) acc[a][b] += red[(a * B + b) * 32 + lane];
        }
    }
}

// The end of both INT8 GEMVs: `red` holds the CTA's E sums (warp 0 parked them; the caller
// synchronised), `where(e, m, col)` maps element e to its token and column and says whether
// it is inside y. With splits > 1 the sums go to the partials; the last CTA of the column group
// (ticket in counters[group], reset by it) adds the splits in order (deterministic), four
// elements at a time so their loads are in flight together. Then y = sum * scale.
template <class Cfg, int E, class Where>
__device__ __forceinline__ void rs_cta_finish(float* red, Where where, int split, int splits, int M, int N, int group, const float* __restrict__ scales,
                                              typename Cfg::Out* __restrict__ y, int ldc, float* __restrict__ part, unsigned* __restrict__ counters)
{
    if (splits > 1) {
        __shared__ unsigned ticket_s;
        for (int e = threadIdx.x; e < E; e += Cfg::THREADS) {
            int m, col;
            if (where(e, m, col)) __stcg(part + (static_cast<size_t>(split) * M + m) * N + col, red[e]);
        }
        __threadfence();
        __syncthreads();
        if (threadIdx.x == 0) ticket_s = atomicAdd(counters + group, 1u);
        __syncthreads();
        if (ticket_s != static_cast<unsigned>(splits - 1)) return;
        if (threadIdx.x == 0) counters[group] = 0u;  // ready for the next call on this stream
        __threadfence();
        const size_t sstride = static_cast<size_t>(M) * N;
        for (int e0 = threadIdx.x; e0 < E; e0 += 4 * Cfg::THREADS) {
            const float* p[4];
            bool ok[4];
            float v[4];
#pragma unroll
            for (int t = 0; t < 4; ++t) {
                int m, col;
                const int e = e0 + t * Cfg::THREADS;
                ok[t] = e < E && where(e, m, col);
                p[t] = ok[t] ? part + static_cast<size_t>(m) * N + col : part;
                v[t] = 0.f;
            }
            for (int sp = 0; sp < splits; ++sp) {
#pragma unroll
                for (int t = 0; t < 4; ++t) {
                    if (ok[t]) v[t] += __ldcg(p[t] + sp * sstride);
                }
            }
#pragma unroll
            for (int t = 0; t < 4; ++t) {
                if (ok[t]) red[e0 + t * Cfg::THREADS] = v[t];
            }
        }
    }
    for (int e = threadIdx.x; e < E; e += Cfg::THREADS) {
        int m, col;
        if (where(e, m, col)) y[static_cast<size_t>(m) * ldc + col] = rs_from_float<typename Cfg::Out>(red[e] * __ldg(scales + col));
    }
}

// ---- KIND 2 on tensor cores (vec 4, token bucket >= 4) ----------------------------------------
// mma.sync m16n8k16 with fp32 accumulation: A = x (the tokens are its rows; rows >= M are zero),
// B = the INT8 codes converted exactly to bf16 / f16 (|code| <= 128). Thread (g, q) of a warp
// loads 16 bytes of rows 2q, 2q+1, 2q+8, 2q+9 of each 16-row step at columns c0 + 16 g ..+15;
// byte j of them is column g of n-tile j, so n-tile j holds the columns c0 + 16 n + j and the
// warp covers 128 columns with 16 n-tiles. x is staged as In[MT][stride] (the CTA's rows, zero
// past them; 16-byte copies where aligned); the warps take consecutive slices of 16-row steps,
// one step's loads in flight while the previous one is multiplied (the first while x is staged).
template <class In>
__device__ __forceinline__ unsigned rs_pack2(float lo, float hi);
template <> __device__ __forceinline__ unsigned rs_pack2<__nv_bfloat16>(float lo, float hi)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const unsigned*>(&v);
}
template <> __device__ __forceinline__ unsigned rs_pack2<__half>(float lo, float hi)
{
    const __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const unsigned*>(&v);
}
template <class In>
__device__ __forceinline__ void rs_mma(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1);
template <> __device__ __forceinline__ void rs_mma<__nv_bfloat16>(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, { %8, %9 }, { %0, %1, %2, %3 };\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
template <> __device__ __forceinline__ void rs_mma<__half>(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 { %0, %1, %2, %3 }, { %4, %5, %6, %7 }, { %8, %9 }, { %0, %1, %2, %3 };\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

template <class Cfg>
__device__ void rs_int8_tc(const typename Cfg::In* __restrict__ x, int lda, const signed char* __restrict__ w, int ldw, const float* __restrict__ scales,
                           typename Cfg::Out* __restrict__ y, int ldc, int M, int N, int K, int chunk, float* __restrict__ part, unsigned* __restrict__ counters)
{
    using In = typename Cfg::In;
    constexpr int MT = Cfg::MT;
    constexpr int NT = 16;  // n-tiles per warp
    static_assert(Cfg::VEC == 4 && MT >= 4 && MT <= 16, "the tensor-core INT8 GEMV takes vec 4 and 4..16 tokens");
    static_assert(32 * NT * 4 * 4 <= Cfg::XS_BYTES, "the warps' sums must fit the staged-x buffer");
    extern __shared__ __align__(16) unsigned char rs_smem[];
    In* xs = reinterpret_cast<In*>(rs_smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int splits = gridDim.y, split = blockIdx.y;
    const int k0 = split * chunk, k1 = min(K, k0 + chunk);
    const int steps = (k1 - k0 + 15) / 16;
    const int per = (steps + Cfg::WARPS - 1) / Cfg::WARPS;  // 16-row steps per warp
    const int stride = per * Cfg::WARPS * 16 + 8;           // elements per token row of xs (+8: banks)
    const int c0 = blockIdx.x * 128;
    const int cl = c0 + 16 * g;  // this thread's 16 loaded columns
    const bool live = cl < N;    // rows are padded to 16 bytes: the whole 16 are readable
    const int s0 = warp * per, s1 = min(steps, s0 + per);
    auto load = [&](int st, uint4 (&v)[4]) {
        const int kb = k0 + 16 * st + 2 * q;
        const int r[4] = {kb, kb + 1, kb + 8, kb + 9};
#pragma unroll
        for (int i = 0; i < 4; ++i)
            v[i] = (live && r[i] < k1) ? __ldg(reinterpret_cast<const uint4*>(w + static_cast<size_t>(r[i]) * ldw + cl)) : make_uint4(0u, 0u, 0u, 0u);
    };
    uint4 nx[4];
    if (s0 < s1) load(s0, nx);  // the first step's weights are in flight while x is staged
    // x rows [k0, k1) as In[MT][stride], zero past them: 16-byte copies where the row allows.
    const int rows = k1 - k0, sv = stride / 8;
    for (int i = threadIdx.x; i < MT * sv; i += Cfg::THREADS) {
        const int m = i / sv, k = 8 * (i - m * sv);
        const In* src = x + static_cast<size_t>(m) * lda + k0 + k;
        In* dst = xs + static_cast<size_t>(m) * stride + k;
        if (m < M && k + 8 <= rows && (reinterpret_cast<uintptr_t>(src) & 15u) == 0) {
            rs_cp16(dst, src, 16);  // asynchronous: every copy of the CTA in flight at once
        } else {
            uint4 v = make_uint4(0u, 0u, 0u, 0u);
            if (m < M && k < rows) {
                In* e = reinterpret_cast<In*>(&v);
#pragma unroll
                for (int t = 0; t < 8; ++t) e[t] = k + t < rows ? src[t] : rs_from_float<In>(0.f);
            }
            *reinterpret_cast<uint4*>(dst) = v;
        }
    }
    rs_commit();
    rs_wait<0>();
    __syncthreads();
    float d[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) d[j][e] = 0.f;
    const unsigned* xr = reinterpret_cast<const unsigned*>(xs);
    const int xstride = stride / 2;  // in bf16 / f16 pairs
    for (int st = s0; st < s1; ++st) {
        uint4 v[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = nx[i];
        if (st + 1 < s1) load(st + 1, nx);
        const int kp = 8 * st + q;  // pair index of local k = 16 st + 2 q
        const unsigned a0 = g < MT ? xr[g * xstride + kp] : 0u;
        const unsigned a2 = g < MT ? xr[g * xstride + kp + 4] : 0u;
        const unsigned a1 = g + 8 < MT ? xr[(g + 8) * xstride + kp] : 0u;
        const unsigned a3 = g + 8 < MT ? xr[(g + 8) * xstride + kp + 4] : 0u;
        const unsigned* u0 = reinterpret_cast<const unsigned*>(&v[0]);
        const unsigned* u1 = reinterpret_cast<const unsigned*>(&v[1]);
        const unsigned* u2 = reinterpret_cast<const unsigned*>(&v[2]);
        const unsigned* u3 = reinterpret_cast<const unsigned*>(&v[3]);
#pragma unroll
        for (int wd = 0; wd < 4; ++wd) {
            const unsigned w0 = u0[wd] ^ 0x80808080u, w1 = u1[wd] ^ 0x80808080u;
            const unsigned w2 = u2[wd] ^ 0x80808080u, w3 = u3[wd] ^ 0x80808080u;
#pragma unroll
            for (int by = 0; by < 4; ++by) {
                const unsigned sel = 0x4440u | by;
                const unsigned b0 = rs_pack2<In>(rs_code(__byte_perm(w0, 0u, sel)), rs_code(__byte_perm(w1, 0u, sel)));
                const unsigned b1 = rs_pack2<In>(rs_code(__byte_perm(w2, 0u, sel)), rs_code(__byte_perm(w3, 0u, sel)));
                rs_mma<In>(d[4 * wd + by], a0, a1, a2, a3, b0, b1);
            }
        }
    }
    // Warps 1.. add their sums into warp 0's (x is consumed); warp 0 parks them in shared memory
    // and the whole CTA finishes: element e = (4 j + hv) * 32 + lane of thread (g, q) is
    // y[g + 8 (hv / 2)][c0 + 16 (2 q + hv % 2) + j].
    float* red = reinterpret_cast<float*>(rs_smem);
    rs_add_warps<Cfg::WARPS, NT, 4>(d, red, warp, lane);
    __syncthreads();
    if (warp == 0) {
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int hv = 0; hv < 4; ++hv) red[(4 * j + hv) * 32 + lane] = d[j][hv];
    }
    __syncthreads();
    constexpr int E = NT * 4 * 32;
    auto where = [&](int e, int& m, int& col) {
        const int l = e & 31, jh = e >> 5, j = jh >> 2, hv = jh & 3;
        m = (l >> 2) + 8 * (hv >> 1);
        col = c0 + 16 * (2 * (l & 3) + (hv & 1)) + j;
        return m < M && col < N;
    };
    rs_cta_finish<Cfg, E>(red, where, split, splits, M, N, blockIdx.x, scales, y, ldc, part, counters);
}

template <class Cfg>
__device__ void rs_int8(const typename Cfg::In* __restrict__ x, int lda, const signed char* __restrict__ w, int ldw, const float* __restrict__ scales,
                        typename Cfg::Out* __restrict__ y, int ldc, int M, int N, int K, int chunk, float* __restrict__ part, unsigned* __restrict__ counters)
{
    if constexpr (Cfg::VEC == 4 && Cfg::MT >= 4) {
        rs_int8_tc<Cfg>(x, lda, w, ldw, scales, y, ldc, M, N, K, chunk, part, counters);
        return;
    }
    constexpr int VEC = Cfg::VEC;
    constexpr int MT = Cfg::MT;
    constexpr int U = (MT >= 4 && VEC > 4) ? 4 : 8;  // rows in flight per warp (fewer with wide rows at larger MT: registers)
    using V = typename RsVec<VEC>::T;
    extern __shared__ __align__(16) unsigned char rs_smem[];
    float* xs = reinterpret_cast<float*>(rs_smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int splits = gridDim.y, split = blockIdx.y;
    const int k0 = split * chunk, k1 = min(K, k0 + chunk);
    rs_stage_x<Cfg>(xs, x, lda, M, k0, k1);
    __syncthreads();
    const int group = blockIdx.x;
    const int c = group * 32 * VEC + lane * VEC;
    const bool live = c < N;
    const int per = (k1 - k0 + Cfg::WARPS - 1) / Cfg::WARPS;
    const int wk0 = min(k1, k0 + warp * per), wk1 = min(k1, wk0 + per);
    float acc[VEC][MT];
#pragma unroll
    for (int a = 0; a < VEC; ++a)
#pragma unroll
        for (int m = 0; m < MT; ++m) acc[a][m] = 0.f;
    if (live) {
        const signed char* wp = w + static_cast<size_t>(wk0) * ldw + c;
        // Software pipeline: the next U rows are in flight while these U are multiplied.
        const int full = (wk1 - wk0) / U;
        V v[U], nx[U];
        if (full > 0) {
#pragma unroll
            for (int u = 0; u < U; ++u) nx[u] = __ldg(reinterpret_cast<const V*>(wp + static_cast<size_t>(u) * ldw));
        }
        for (int b = 0; b < full; ++b) {
#pragma unroll
            for (int u = 0; u < U; ++u) v[u] = nx[u];
            if (b + 1 < full) {
#pragma unroll
                for (int u = 0; u < U; ++u) nx[u] = __ldg(reinterpret_cast<const V*>(wp + static_cast<size_t>((b + 1) * U + u) * ldw));
            }
            const int k = wk0 + b * U;
#pragma unroll
            for (int u = 0; u < U; ++u) {
                float xv[MT];
                rs_load_xrow<MT>(xv, xs + (k - k0 + u) * MT);
                float f[VEC];
                rs_bytes<VEC>(f, v[u]);
#pragma unroll
                for (int a = 0; a < VEC; ++a)
#pragma unroll
                    for (int m = 0; m < MT; ++m) acc[a][m] = fmaf(xv[m], f[a], acc[a][m]);
            }
        }
        for (int k = wk0 + full * U; k < wk1; ++k) {
            const V r = __ldg(reinterpret_cast<const V*>(wp + static_cast<size_t>(k - wk0) * ldw));
            float xv[MT];
            rs_load_xrow<MT>(xv, xs + (k - k0) * MT);
            float f[VEC];
            rs_bytes<VEC>(f, r);
#pragma unroll
            for (int a = 0; a < VEC; ++a)
#pragma unroll
                for (int m = 0; m < MT; ++m) acc[a][m] = fmaf(xv[m], f[a], acc[a][m]);
        }
    }
    // Warps 1.. add their sums into warp 0's, in warp order, through the x buffer; warp 0 parks
    // them there as element (a * MT + m) * 32 + lane = y[m][c + a], and the CTA finishes.
    static_assert(32 * VEC * MT * 4 <= Cfg::XS_BYTES, "the warps' sums must fit the staged-x buffer");
    float* red = xs;
    rs_add_warps<Cfg::WARPS, VEC, MT>(acc, red, warp, lane);
    __syncthreads();
    if (warp == 0) {
#pragma unroll
        for (int a = 0; a < VEC; ++a)
#pragma unroll
            for (int m = 0; m < MT; ++m) red[(a * MT + m) * 32 + lane] = acc[a][m];
    }
    __syncthreads();
    const int cg = group * 32 * VEC;
    auto where = [&](int e, int& m, int& col) {
        const int l = e & 31, am = e >> 5;
        m = am % MT;
        col = cg + l * VEC + am / MT;
        return m < M && col < N;
    };
    rs_cta_finish<Cfg, 32 * VEC * MT>(red, where, split, splits, M, N, group, scales, y, ldc, part, counters);
}
