{# The pattern stages of family tc: bit per (row group, k-group) of A and per (column group, k-group) of B, as docs/ARCHITECTURE.md lays them out; they also record an Inf/NaN of the call in ctrl[2]. -#}
// ---- pattern stages ----------------------------------------------------------------------------
// One CTA per (pattern word w = 32 k-groups, row group of A / column group of B); 1024 threads,
// so that enough 16-byte loads are in flight when the grid is small (4096 x 4096 bf16 with 64-row
// groups is 128 CTAs: with 256 threads the scan read A at 0.85 TB/s on an H200).
// A block is "nonzero" when any element is not +-0; an Inf or NaN anywhere records the call's
// epoch in ctrl[2] (the GEMM then reads the all-ones pattern: nothing is skipped).
constexpr int TC_PATTERN_THREADS = 1024;

__device__ __forceinline__ unsigned tc_bits(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }
__device__ __forceinline__ unsigned tc_bits(__half v) { return __half_as_ushort(v); }
__device__ __forceinline__ unsigned tc_bits(float v) { return __float_as_uint(v); }

// Nonzero (not +-0) and non-finite tests on the raw bits of one element.
template <class T> __device__ __forceinline__ bool tc_nonzero(unsigned b)
{
    return sizeof(T) == 4 ? (b & 0x7fffffffu) != 0u : (b & 0x7fffu) != 0u;
}
template <class T> __device__ __forceinline__ bool tc_nonfinite(unsigned b)
{
    if constexpr (sizeof(T) == 4) {
        return (b & 0x7f800000u) == 0x7f800000u;
    } else if constexpr (__is_same(T, __half)) {
        return (b & 0x7c00u) == 0x7c00u;
    } else {
        return (b & 0x7f80u) == 0x7f80u;
    }
}

// Folds the 16 bytes at p (elements of one k-group) into (nonzero, nonfinite).
template <class T> __device__ __forceinline__ void tc_scan16(const T* p, bool& nz, bool& nf)
{
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    const unsigned w[4] = { v.x, v.y, v.z, v.w };
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        if constexpr (sizeof(T) == 4) {
            nz |= tc_nonzero<T>(w[i]);
            nf |= tc_nonfinite<T>(w[i]);
        } else {
            nz |= tc_nonzero<T>(w[i] & 0xffffu) || tc_nonzero<T>(w[i] >> 16);
            nf |= tc_nonfinite<T>(w[i] & 0xffffu) || tc_nonfinite<T>(w[i] >> 16);
        }
    }
}

// Ends a pattern CTA: ORs every thread's word bits, writes the word, notes Inf/NaN.
__device__ __forceinline__ void tc_pattern_finish(unsigned bits, bool nf, unsigned* out, unsigned* ctrl, unsigned epoch)
{
    __shared__ unsigned word;
    __shared__ int any_nf;
    if (threadIdx.x == 0) {
        word = 0u;
        any_nf = 0;
    }
    __syncthreads();
    bits = __reduce_or_sync(0xffffffffu, bits);
    const unsigned nfw = __ballot_sync(0xffffffffu, nf);
    if ((threadIdx.x & 31) == 0) {
        if (bits) atomicOr(&word, bits);
        if (nfw) any_nf = 1;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        *out = word;
        if (any_nf) *(volatile unsigned*)(ctrl + 2) = epoch;
    }
}

// A (M x K, row-major, contiguous): CTA (w, g) covers rows [g*A_ROWS, ...) and k-groups
// [32w, 32w + 32), 16 bytes at a time when K allows. Index math is 32-bit: a CTA covers at most
// 256 rows x 2048 k (products of the shape fit int, checked by the runtime).
template <class Cfg>
__device__ __forceinline__ void tc_pattern_a(const typename Cfg::In* __restrict__ A, int M, int K, unsigned* a_pat,
                                             unsigned* ctrl, unsigned epoch)
{
    using T = typename Cfg::In;
    constexpr int VEC = 16 / sizeof(T);
    const int groups = (K + Cfg::K_GRAN - 1) / Cfg::K_GRAN;
    const int words = (groups + 31) / 32;
    const int w = blockIdx.x, g = blockIdx.y;
    const int k0 = w * 32 * Cfg::K_GRAN, k1 = min(K, k0 + 32 * Cfg::K_GRAN);
    const int r0 = g * Cfg::A_ROWS, r1 = min(M, r0 + Cfg::A_ROWS);
    unsigned bits = 0u;
    bool nf = false;
    const bool vec = (K % VEC) == 0 && (reinterpret_cast<uintptr_t>(A) % 16) == 0;
    const int cols_v = (k1 - k0) / VEC;  // 16-byte vectors per row (k1 - k0 is a multiple of VEC)
    if (vec && cols_v > 0 && TC_PATTERN_THREADS % cols_v == 0) {
        // Fast path: each thread owns one column vector (one k-group) and walks the rows,
        // several independent 16-byte loads in flight.
        const int c = threadIdx.x % cols_v, rstep = TC_PATTERN_THREADS / cols_v;
        bool nz = false;
        const T* p = A + (size_t)(r0 + threadIdx.x / cols_v) * K + k0 + c * VEC;
#pragma unroll 8
        for (int r = r0 + threadIdx.x / cols_v; r < r1; r += rstep, p += (size_t)rstep * K) {
            tc_scan16<T>(p, nz, nf);
        }
        if (nz) bits |= 1u << (c * VEC / Cfg::K_GRAN);
    } else if (vec) {
        const int total = (r1 - r0) * cols_v;
        for (int i = threadIdx.x; i < total; i += TC_PATTERN_THREADS) {
            const int r = r0 + i / cols_v, c = k0 + (i % cols_v) * VEC;
            bool nz = false;
            tc_scan16<T>(A + (size_t)r * K + c, nz, nf);
            if (nz) bits |= 1u << ((c - k0) / Cfg::K_GRAN);
        }
    } else {
        const int cols = k1 - k0;
        const int total = (r1 - r0) * cols;
        for (int i = threadIdx.x; i < total; i += TC_PATTERN_THREADS) {
            const int r = r0 + i / cols, c = k0 + i % cols;
            const unsigned b = tc_bits(A[(size_t)r * K + c]);
            nf |= tc_nonfinite<T>(b);
            if (tc_nonzero<T>(b)) bits |= 1u << ((c - k0) / Cfg::K_GRAN);
        }
    }
    tc_pattern_finish(bits, nf, a_pat + (size_t)g * words + w, ctrl, epoch);
}

// B (K x N, row-major, contiguous): CTA (w, h) covers columns [h*B_COLS, ...) and k-groups
// [32w, 32w + 32).
template <class Cfg>
__device__ __forceinline__ void tc_pattern_b(const typename Cfg::In* __restrict__ B, int K, int N, unsigned* b_pat,
                                             unsigned* ctrl, unsigned epoch)
{
    using T = typename Cfg::In;
    constexpr int VEC = 16 / sizeof(T);
    const int groups = (K + Cfg::K_GRAN - 1) / Cfg::K_GRAN;
    const int words = (groups + 31) / 32;
    const int w = blockIdx.x, h = blockIdx.y;
    const int k0 = w * 32 * Cfg::K_GRAN, k1 = min(K, k0 + 32 * Cfg::K_GRAN);
    const int c0 = h * Cfg::B_COLS, c1 = min(N, c0 + Cfg::B_COLS);
    unsigned bits = 0u;
    bool nf = false;
    const bool vec = (N % VEC) == 0 && (c1 - c0) % VEC == 0 && (reinterpret_cast<uintptr_t>(B) % 16) == 0;
    const int cols_v = (c1 - c0) / VEC;
    if (vec && cols_v > 0 && TC_PATTERN_THREADS % cols_v == 0) {
        // Fast path: each thread owns one column vector and walks the k rows.
        const int c = c0 + (threadIdx.x % cols_v) * VEC, kstep = TC_PATTERN_THREADS / cols_v;
        const T* p = B + (size_t)(k0 + threadIdx.x / cols_v) * N + c;
#pragma unroll 8
        for (int k = k0 + threadIdx.x / cols_v; k < k1; k += kstep, p += (size_t)kstep * N) {
            bool nz = false;
            tc_scan16<T>(p, nz, nf);
            if (nz) bits |= 1u << ((k - k0) / Cfg::K_GRAN);
        }
    } else if (vec) {
        const int total = (k1 - k0) * cols_v;
        for (int i = threadIdx.x; i < total; i += TC_PATTERN_THREADS) {
            const int k = k0 + i / cols_v, c = c0 + (i % cols_v) * VEC;
            bool nz = false;
            tc_scan16<T>(B + (size_t)k * N + c, nz, nf);
            if (nz) bits |= 1u << ((k - k0) / Cfg::K_GRAN);
        }
    } else {
        const int cols = c1 - c0;
        const int total = (k1 - k0) * cols;
        for (int i = threadIdx.x; i < total; i += TC_PATTERN_THREADS) {
            const int k = k0 + i / cols, c = c0 + i % cols;
            const unsigned b = tc_bits(B[(size_t)k * N + c]);
            nf |= tc_nonfinite<T>(b);
            if (tc_nonzero<T>(b)) bits |= 1u << ((k - k0) / Cfg::K_GRAN);
        }
    }
    tc_pattern_finish(bits, nf, b_pat + (size_t)h * words + w, ctrl, epoch);
}
