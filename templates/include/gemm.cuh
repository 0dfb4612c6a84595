// ---- the GEMM kernel body (gemm.cuh) ---------------------------------------------------------------
// One CTA tile: double-buffered pipeline over chunks (dense: every k; sparse: the skip list).
__device__ __forceinline__ void gemm_tile(const float* __restrict__ A, const float* __restrict__ B,
    float* __restrict__ C, int M, int N, int K, const unsigned* a_pat, const unsigned* b_pat,
    unsigned* col_nnz, int row0, int col0, float* smem)
{
    if constexpr (WARP_PIPE) {
        gemm_tile_warps(A, B, C, M, N, K, a_pat, b_pat, col_nnz, row0, col0, smem);
        return;
    }
    float* stages = smem;
    unsigned* list_base = reinterpret_cast<unsigned*>(smem + 2 * STAGE_WORDS);
    const SkipList L = skiplist_at(list_base);
    const ThreadPlace P = thread_place(row0, col0);

    float acc[ACC];
#pragma unroll
    for (int i = 0; i < ACC; ++i) acc[i] = 0.0f;

    // Chunk cursor: dense -> base is a k value; sparse -> base indexes segment `seg`'s list.
    const int segments = ceil_div(ceil_div(K, 32), SEG_WORDS);
    int seg = -1, total = 0, base = 0;
    // Moves the cursor to the next non-empty chunk; false when the tile has none left.
    auto advance = [&]() -> bool {
        if constexpr (SPARSE) {
            while (base >= total) {
                if (++seg >= segments) return false;
                total = build_segment(list_base, a_pat, b_pat, M, N, K, row0, col0, seg);
                base = 0;
            }
            return true;
        } else {
            return base < K;
        }
    };

    ChunkRegs R;
    bool have = advance();
    if (have) {
        load_chunk(R, A, B, M, N, K, row0, col0, L, seg, total, base);
        store_chunk(R, stages);
        base += BK;
    }
    __syncthreads();
    int buf = 0;
    while (have) {
        const bool have_next = advance();
        if (have_next) load_chunk(R, A, B, M, N, K, row0, col0, L, seg, total, base);
        compute_chunk(acc, stages + buf * STAGE_WORDS, P);
        if (have_next) {
            store_chunk(R, stages + (buf ^ 1) * STAGE_WORDS);
            base += BK;
        }
        __syncthreads();
        buf ^= 1;
        have = have_next;
    }
    store_tile(acc, C, M, N, row0, col0, P, col_nnz);
}

__device__ __forceinline__ void gemm_kernel(const float* __restrict__ A, const float* __restrict__ B,
    float* __restrict__ C, int M, int N, int K, unsigned* a_pat, unsigned* b_pat, unsigned* col_nnz,
    unsigned* barrier)
{
    extern __shared__ __align__(16) float smem[];
    const int tiles_m = ceil_div(M, BM), tiles_n = ceil_div(N, BN);
    if constexpr (PERSISTENT) {
        if constexpr (EXTRACT_A || EXTRACT_B) {
            extract_patterns(A, B, M, N, K, a_pat, b_pat);
            grid_barrier(barrier);
        }
        for (int t = blockIdx.x; t < tiles_m * tiles_n; t += gridDim.x) {
            int tm, tn;
            tile_coords(t, tiles_m, tiles_n, tm, tn);
            gemm_tile(A, B, C, M, N, K, a_pat, b_pat, col_nnz, tm * BM, tn * BN, smem);
        }
    } else {
        int tm, tn;
        tile_coords(blockIdx.y * gridDim.x + blockIdx.x, tiles_m, tiles_n, tm, tn);
        gemm_tile(A, B, C, M, N, K, a_pat, b_pat, col_nnz, tm * BM, tn * BN, smem);
    }
}
