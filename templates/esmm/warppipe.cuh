// ---- per-warp pipeline (warppipe.cuh) --------------------------------------------------------------
// Used by sparse kernels whose warp tile lies inside one pattern block per sparse operand
// (WARP_EXACT) and that skip by branch. Each warp is an independent engine over its own
// WM x WN block of C: it walks its own, exact list of active k (A word & B word of its one row
// block and one column block), and streams only those k through a private PIPE_STAGES-deep
// shared-memory ring filled by cp.async. No CTA barrier in the main loop: warps never wait for
// the busiest warp of the tile, and no warp loads a k that only its neighbours need. Loads of A
// and B go through L1 (cp.async.ca), so warps of a CTA that share rows or columns reuse each
// other's sectors (measured: CTA tiles with more warps per row block run faster at low density).
//
// Per warp, shared memory holds PIPE_STAGES stages (A transposed: BK x (WM + 4); B: BK x WN)
// and a ring of 64 pending k values.
static_assert(!WARP_PIPE || 32 % BK == 0, "a warp-pipeline chunk maps lanes to (row, slot) pairs");
static_assert(!WARP_PIPE || PIPE_STAGES >= 2, "the ring needs two stages at least");
static_assert(!WARP_PIPE || WN % 4 == 0, "B rows are copied as float4");
static_assert(!WARP_PIPE || WM % (32 / BK) == 0, "whole steps of 32 / BK rows");

{% include "common/cp_async.cuh" %}

// The warp's cursor over its joint pattern words: a window of 32 words (lane t holds word
// w_base + t), the next window prefetched, and a ring of active k not yet issued. Pattern rows
// are 32-bit word offsets from the kernel's pattern pointers (no 64-bit cursor registers).
struct WarpCursor {
    unsigned pa_off;       // the warp's A pattern row: a_pat + pa_off (unused when A is dense)
    unsigned pb_off;       // the warp's B pattern row: b_pat + pb_off (unused when B is dense)
    int kw;                // pattern words per row; 0 when the warp's block lies outside C
    int w_base;            // first word of the current window
    unsigned win, win_next;
    unsigned todo;         // words of the window not yet appended that have active k
    int head, tail;        // ring positions (monotonic)
};

__device__ __forceinline__ unsigned joint_word(const WarpCursor& c, int w, const unsigned* a_pat,
    const unsigned* b_pat, int K)
{
    const int lane = threadIdx.x & 31;
    const int word = w + lane;
    if (word >= c.kw) return 0u;
    unsigned v = valid_bits(K, word);
    if constexpr (A_SPARSE) v &= load_pattern(a_pat + (c.pa_off + (unsigned)word));
    if constexpr (B_SPARSE) v &= load_pattern(b_pat + (c.pb_off + (unsigned)word));
    return v;
}

// Appends active k to the ring until it holds `need` or the pattern is exhausted.
__device__ __forceinline__ void cursor_fill(WarpCursor& c, int* ring, int need, const unsigned* a_pat,
    const unsigned* b_pat, int K)
{
    const int lane = threadIdx.x & 31;
    while (c.tail - c.head < need) {
        if (c.todo == 0u) {
            if (c.w_base + 32 >= c.kw) break;
            c.w_base += 32;
            c.win = c.win_next;
            c.todo = __ballot_sync(0xffffffffu, c.win != 0u);
            c.win_next = joint_word(c, c.w_base + 32, a_pat, b_pat, K);
            continue;
        }
        const int t = __ffs(c.todo) - 1;
        c.todo &= c.todo - 1u;
        const unsigned u = __shfl_sync(0xffffffffu, c.win, t);
        if ((u >> lane) & 1u) ring[(c.tail + __popc(u & ((1u << lane) - 1u))) & (WP_RING - 1)] = (c.w_base + t) * 32 + lane;
        c.tail += __popc(u);
    }
    __syncwarp();
}

// B fast path (render.rs `wp_b_fast`: only where it fits the registers): each lane's float4
// column is the same in every copy of a chunk.
static_assert(!WP_B_FAST || 32 % (WN / 4) == 0, "a lane's B column must be fixed within a chunk");

// Issues the cp.async copies of the warp's next chunk (up to BK active k; empty slots are
// zero-filled) into `stage`; returns whether the chunk has any active k.
// `fast`: every row and column of the warp's block lies inside C, N % 4 == 0, and WM rows of A
// and all K rows of B fit 32-bit element offsets; `a_row` / `b_col` are then the lane's A row
// base (row wrow0 + lane / BK) and B column base (column wcol0 + 4 * (lane % (WN / 4))).
__device__ __forceinline__ bool issue_chunk(WarpCursor& c, int* ring, float* stage, const float* __restrict__ A,
    const float* __restrict__ B, const unsigned* a_pat, const unsigned* b_pat, int M, int N, int K, int wrow0,
    int wcol0, bool fast, const float* a_row, const float* b_col)
{
    const int lane = threadIdx.x & 31;
    cursor_fill(c, ring, BK, a_pat, b_pat, K);
    const int n = min(BK, c.tail - c.head);
    const int j = lane % BK;                      // this lane's slot
    const int k = j < n ? ring[(c.head + j) & (WP_RING - 1)] : 0;
    c.head += n;
    float* As = stage;
    float* Bs = stage + WP_A;
    // A: lane -> (row, slot); 32 / BK rows per step, consecutive lanes walk one row's k.
    constexpr int ROWS_PER_STEP = 32 / BK;
    const int r0 = lane / BK;
    const bool slot_on = j < n;
    if (fast) {
        // One 32-bit offset per copy from the lane's row / column base, no row or column predicate.
        const unsigned step = (unsigned)(ROWS_PER_STEP * K);
        float* dst = As + j * WP_LD + r0;
#pragma unroll 4
        for (int i = 0; i < WM / ROWS_PER_STEP; ++i)
            cp_async4(dst + i * ROWS_PER_STEP, a_row + ((unsigned)k + (unsigned)i * step), slot_on);
        if constexpr (WP_B_FAST) {
            constexpr int UNITS = BK * WN / 4;
            constexpr int ROWS_PER_COPY = 32 / (WN / 4);
            const int jr0 = lane / (WN / 4), c4 = (lane % (WN / 4)) * 4;
#pragma unroll
            for (int i = 0; i < UNITS / 32; ++i) {
                const int jr = jr0 + i * ROWS_PER_COPY;
                const int kr = __shfl_sync(0xffffffffu, k, jr % BK);
                cp_async16(Bs + jr * WN + c4, b_col + (unsigned)kr * (unsigned)N, jr < n);
            }
            return n > 0;
        }
    } else {
        const float* a_src = A + (size_t)(wrow0 + r0) * K + k;
#pragma unroll 4
        for (int i = 0; i < WM / ROWS_PER_STEP; ++i) {
            const int r = r0 + i * ROWS_PER_STEP;
            const bool on = slot_on && wrow0 + r < M;
            cp_async4(As + j * WP_LD + r, on ? a_src + (size_t)i * ROWS_PER_STEP * K : A, on);
        }
    }
    // B: BK rows of WN columns.
    if ((N & 3) == 0) {
        constexpr int UNITS = BK * WN / 4;
#pragma unroll
        for (int i = 0; i < (UNITS + 31) / 32; ++i) {
            const int u = lane + i * 32;
            const int jr = u / (WN / 4), c4 = (u % (WN / 4)) * 4;
            const int kr = __shfl_sync(0xffffffffu, k, jr % BK);
            if (UNITS % 32 == 0 || u < UNITS) {
                const bool on = jr < n && wcol0 + c4 < N;
                cp_async16(Bs + jr * WN + c4, on ? B + (size_t)kr * N + wcol0 + c4 : B, on);
            }
        }
    } else {
        constexpr int UNITS = BK * WN;
#pragma unroll 4
        for (int i = 0; i < (UNITS + 31) / 32; ++i) {
            const int u = lane + i * 32;
            const int jr = u / WN, col = u % WN;
            const int kr = __shfl_sync(0xffffffffu, k, jr % BK);
            if (UNITS % 32 == 0 || u < UNITS) {
                const bool on = jr < n && wcol0 + col < N;
                cp_async4(Bs + jr * WN + col, on ? B + (size_t)kr * N + wcol0 + col : B, on);
            }
        }
    }
    return n > 0;
}

// Every slot of one stage into the accumulators (empty slots are zero in both operands).
__device__ __forceinline__ void compute_stage(float (&acc)[ACC], const float* stage, int m_loc, int n_loc)
{
    const float* As = stage;
    const float* Bs = stage + WP_A;
#pragma unroll
    for (int j = 0; j < BK; ++j) {
        float am[WMITER * TM], bn[WNITER * TN];
#pragma unroll
        for (int i = 0; i < WMITER; ++i) load_fragment<TM>(am + i * TM, As + j * WP_LD + m_loc + i * WSUBM);
#pragma unroll
        for (int i = 0; i < WNITER; ++i) load_fragment<TN>(bn + i * TN, Bs + j * WN + n_loc + i * WSUBN);
        outer_product(acc, am, bn);
    }
}

// The warp's main loop: PIPE_STAGES - 1 chunks in flight, one computed per step.
__device__ __forceinline__ void warp_mainloop(float (&acc)[ACC], WarpCursor& c, int* ring, float* mine,
    const float* __restrict__ A, const float* __restrict__ B, const unsigned* a_pat, const unsigned* b_pat, int M,
    int N, int K, int wrow0, int wcol0, int m_loc, int n_loc, bool fast, const float* a_row, const float* b_col)
{
    int issued = 0;   // chunks with active k issued so far (they come first)
#pragma unroll
    for (int s = 0; s < PIPE_STAGES - 1; ++s) {
        issued += issue_chunk(c, ring, mine + s * WP_STAGE, A, B, a_pat, b_pat, M, N, K, wrow0, wcol0, fast, a_row,
                      b_col) ? 1 : 0;
        cp_async_commit();
    }
    for (int ch = 0;; ++ch) {
        cp_async_wait<PIPE_STAGES - 2>();
        __syncwarp();
        if (ch >= issued) break;
        // The stage of chunk ch - 1 is free: every lane has passed the __syncwarp above.
        issued += issue_chunk(c, ring, mine + ((ch + PIPE_STAGES - 1) % PIPE_STAGES) * WP_STAGE, A, B, a_pat,
                      b_pat, M, N, K, wrow0, wcol0, fast, a_row, b_col) ? 1 : 0;
        cp_async_commit();
        compute_stage(acc, mine + (ch % PIPE_STAGES) * WP_STAGE, m_loc, n_loc);
    }
}

// One CTA tile, each warp on its own: cursor, cp.async ring, compute, epilogue.
__device__ __forceinline__ void gemm_tile_warps(const float* __restrict__ A, const float* __restrict__ B,
    float* __restrict__ C, int M, int N, int K, const unsigned* a_pat, const unsigned* b_pat,
    unsigned* col_nnz, int row0, int col0, float* smem)
{
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int wr = warp / NWC, wc = warp % NWC;
    const int wrow0 = row0 + wr * WM, wcol0 = col0 + wc * WN;
    float* mine = smem + warp * WP_WARP_WORDS;
    int* ring = reinterpret_cast<int*>(mine + PIPE_STAGES * WP_STAGE);
    const ThreadPlace P = thread_place(row0, col0);
    const int m_loc = P.m_off - wr * WM, n_loc = P.n_off - wc * WN;

    float acc[ACC];
#pragma unroll
    for (int i = 0; i < ACC; ++i) acc[i] = 0.0f;

    WarpCursor c;
    const int kw = ceil_div(K, 32);
    c.kw = wrow0 < M && wcol0 < N ? kw : 0;
    c.pa_off = A_SPARSE ? (unsigned)(wrow0 / GA) * (unsigned)kw : 0u;
    c.pb_off = B_SPARSE ? (unsigned)(wcol0 / GB) * (unsigned)kw : 0u;
    c.w_base = 0;
    c.head = 0;
    c.tail = 0;
    c.win = joint_word(c, 0, a_pat, b_pat, K);
    c.win_next = joint_word(c, 32, a_pat, b_pat, K);
    c.todo = __ballot_sync(0xffffffffu, c.win != 0u);

    // Fast copies: the warp's block lies inside C and every copy offset fits 32 bits.
    const bool fast = wrow0 + WM <= M && (unsigned long long)WM * K < (1ull << 32)
        && (!WP_B_FAST || ((N & 3) == 0 && wcol0 + WN <= N && (unsigned long long)K * N < (1ull << 32)));
    const float* a_row = A + (size_t)(wrow0 + lane / BK) * K;
    const float* b_col = B + wcol0 + (lane % (WN / 4)) * 4;
    warp_mainloop(acc, c, ring, mine, A, B, a_pat, b_pat, M, N, K, wrow0, wcol0, m_loc, n_loc, fast, a_row, b_col);
    cp_async_wait<0>();
    __syncwarp();
    store_tile(acc, C, M, N, row0, col0, P, col_nnz);
}
