// ---- epilogue (epilogue.cuh) -----------------------------------------------------------------------
// C = act(acc) for every output of the thread (predicated at the edges, float4 stores when the row
// stride allows), then optionally the per-column nonzero counts of C: counted per thread, summed
// over the lanes that share columns, one atomicAdd per (warp, column).
__device__ __forceinline__ void store_tile(const float (&acc)[ACC], float* __restrict__ C, int M, int N,
    int row0, int col0, const ThreadPlace& P, unsigned* col_nnz)
{
    unsigned counts[WNITER * TN];
#pragma unroll
    for (int n = 0; n < WNITER * TN; ++n) counts[n] = 0;
#pragma unroll
    for (int wi = 0; wi < WMITER; ++wi) {
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int row = row0 + P.m_off + wi * WSUBM + i;
            if (row >= M) continue;
            float* crow = C + (size_t)row * N;
#pragma unroll
            for (int wj = 0; wj < WNITER; ++wj) {
                const int col = col0 + P.n_off + wj * WSUBN;
                float v[TN];
#pragma unroll
                for (int n = 0; n < TN; ++n) v[n] = activate(acc[(wi * TM + i) * WNITER * TN + wj * TN + n]);
                if constexpr (COL_NNZ) {
#pragma unroll
                    for (int n = 0; n < TN; ++n) counts[wj * TN + n] += (v[n] != 0.0f) ? 1u : 0u;
                }
                if (TN % 4 == 0 && (N & 3) == 0) {
                    // N % 4 == 0 and col % 4 == 0: each float4 is wholly inside or wholly past N.
#pragma unroll
                    for (int n = 0; n < TN; n += 4)
                        if (col + n < N)
                            *reinterpret_cast<float4*>(crow + col + n) = make_float4(v[n], v[n + 1], v[n + 2], v[n + 3]);
                } else {
#pragma unroll
                    for (int n = 0; n < TN; ++n)
                        if (col + n < N) crow[col + n] = v[n];
                }
            }
        }
    }
    if constexpr (COL_NNZ) {
        // Rows of columns counted past N are never stored, and rows past M are skipped above.
#pragma unroll
        for (int n = 0; n < WNITER * TN; ++n) {
            unsigned c = counts[n];
#pragma unroll
            for (int o = TCOLS; o < 32; o <<= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
            counts[n] = c;
        }
        if ((threadIdx.x & 31) < TCOLS) {
#pragma unroll
            for (int wj = 0; wj < WNITER; ++wj)
#pragma unroll
                for (int n = 0; n < TN; ++n) {
                    const int col = col0 + P.n_off + wj * WSUBN + n;
                    if (col < N && counts[wj * TN + n] != 0u) atomicAdd(col_nnz + col, counts[wj * TN + n]);
                }
        }
    }
}
