{# The pack stages of family tc: copies of A and B into the layouts the GEMM reads (aligned leading dimension, zero padding; B transposed for wgmma). -#}
// ---- pack stages -------------------------------------------------------------------------------
// One CTA per 32x32 tile of the source; 256 threads. Padding columns (K..lda of A, and of Bt for
// wgmma; N..ldb of B for mma) are written as zeros, so 16-byte loads past the true extent read
// zeros.
constexpr int TC_PACK_THREADS = 256;

// A (M x K, contiguous) -> A_packed (M x lda), zero-padded; grid (ceil(lda/32), ceil(M/32)).
template <class Cfg>
__device__ __forceinline__ void tc_pack_a(const typename Cfg::In* __restrict__ A, typename Cfg::In* __restrict__ A_packed,
                                          int M, int K, int lda)
{
    using T = typename Cfg::In;
    const int c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
    for (int i = threadIdx.x; i < 32 * 32; i += TC_PACK_THREADS) {
        const int r = r0 + i / 32, c = c0 + i % 32;
        if (r < M && c < lda) {
            A_packed[(size_t)r * lda + c] = c < K ? A[(size_t)r * K + c] : T(0.0f);
        }
    }
}

// B (K x N, contiguous) -> the GEMM's layout, zero-padded: K x ldb (mma) or, transposed, N x ldb
// with k along rows of length ldb (wgmma). Grid over the source: (ceil(N/32), ceil(ldk/32)) where
// ldk = K for mma and ldb for wgmma (rows K..ldb of the transposed copy are the zero padding).
template <class Cfg>
__device__ __forceinline__ void tc_pack_b(const typename Cfg::In* __restrict__ B, typename Cfg::In* __restrict__ B_packed,
                                          int K, int N, int ldb)
{
    using T = typename Cfg::In;
    const int c0 = blockIdx.x * 32, k0 = blockIdx.y * 32;
    if constexpr (Cfg::TRANSPOSE_B) {
        __shared__ T tile[32][33];
        for (int i = threadIdx.x; i < 32 * 32; i += TC_PACK_THREADS) {
            const int k = k0 + i / 32, c = c0 + i % 32;
            tile[i / 32][i % 32] = (k < K && c < N) ? B[(size_t)k * N + c] : T(0.0f);
        }
        __syncthreads();
        for (int i = threadIdx.x; i < 32 * 32; i += TC_PACK_THREADS) {
            const int c = c0 + i / 32, k = k0 + i % 32;
            if (c < N && k < ldb) B_packed[(size_t)c * ldb + k] = tile[i % 32][i / 32];
        }
    } else {
        for (int i = threadIdx.x; i < 32 * 32; i += TC_PACK_THREADS) {
            const int k = k0 + i / 32, c = c0 + i % 32;
            if (k < K && c < ldb) B_packed[(size_t)k * ldb + c] = c < N ? B[(size_t)k * N + c] : T(0.0f);
        }
    }
}
