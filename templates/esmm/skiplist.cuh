// ---- skip list (skiplist.cuh) --------------------------------------------------------------------
// For one CTA tile and one segment of SEG_WORDS pattern words (SEG_K values of k), the list holds
// the k that at least one warp of the tile needs (A bit of some row block of the tile AND B bit of
// some column block), in increasing order, with the per-block bits of each. The main loop then
// gathers only those k into shared memory, BK at a time, and each warp skips the k that are
// inactive for its own rows and columns.
static_assert(SEG_WORDS == 32, "the prefix sum below uses one lane per word");

struct SkipList {
    unsigned* a_bits;        // [SEG_K] bit i: row block (tile's first + i) is nonzero at this k
    unsigned* b_bits;        // [SEG_K] bit j: column block (tile's first + j) is nonzero at this k
    unsigned* a_words;       // [NRB][SEG_WORDS] raw A pattern words (or the valid bits, A dense)
    unsigned* b_words;       // [NCB][SEG_WORDS] raw B pattern words (or the valid bits, B dense)
    unsigned* word_union;    // [SEG_WORDS] active k of the tile, per word
    int* offsets;            // [SEG_WORDS + 1] exclusive prefix of active counts; [SEG_WORDS] = total
    unsigned short* k_off;   // [SEG_K] k - segment start
};

__device__ __forceinline__ SkipList skiplist_at(unsigned* base)
{
    SkipList L;
    L.a_bits = base;
    L.b_bits = L.a_bits + SEG_K;
    L.a_words = L.b_bits + SEG_K;
    L.b_words = L.a_words + NRB * SEG_WORDS;
    L.word_union = L.b_words + NCB * SEG_WORDS;
    L.offsets = reinterpret_cast<int*>(L.word_union + SEG_WORDS);
    L.k_off = reinterpret_cast<unsigned short*>(L.offsets + SEG_WORDS + 1);
    return L;
}

// Builds the list of segment `seg` for the tile at (row0, col0); returns its length. Called by
// every thread of the CTA with the same arguments (it synchronises the CTA).
__device__ __noinline__ int build_segment(unsigned* list_base, const unsigned* a_pat, const unsigned* b_pat,
    int M, int N, int K, int row0, int col0, int seg)
{
    const SkipList L = skiplist_at(list_base);
    const int tid = threadIdx.x, lane = tid & 31;
    const int kw = ceil_div(K, 32);
    const int w0 = seg * SEG_WORDS;
    const int row_end = min(M, row0 + BM), col_end = min(N, col0 + BN);
    __syncthreads();   // every thread is done reading the previous segment's list

    // 1. The raw pattern words of the blocks the tile touches (zero for blocks outside it).
    for (int i = tid; i < SEG_WORDS * (NRB + NCB); i += THREADS) {
        const int blk = i / SEG_WORDS, t = i - blk * SEG_WORDS, w = w0 + t;
        unsigned v = 0;
        if (w < kw) {
            const unsigned valid = valid_bits(K, w);
            if (blk < NRB) {
                if constexpr (A_SPARSE) {
                    const int rb = row0 / GA + blk;
                    if (rb * GA < row_end) v = load_pattern(a_pat + (size_t)rb * kw + w) & valid;
                } else {
                    v = valid;
                }
                L.a_words[i] = v;
            } else {
                if constexpr (B_SPARSE) {
                    const int cb = col0 / GB + (blk - NRB);
                    if (cb * GB < col_end) v = load_pattern(b_pat + (size_t)cb * kw + w) & valid;
                } else {
                    v = valid;
                }
                L.b_words[i - NRB * SEG_WORDS] = v;
            }
        }
        else if (blk < NRB) L.a_words[i] = 0;
        else L.b_words[i - NRB * SEG_WORDS] = 0;
    }
    __syncthreads();

    // 2. Per word: the tile's active k and their count; exclusive prefix over the segment.
    if (tid < 32) {
        unsigned ua = 0, ub = 0;
#pragma unroll 4
        for (int i = 0; i < NRB; ++i) ua |= L.a_words[i * SEG_WORDS + lane];
#pragma unroll 4
        for (int j = 0; j < NCB; ++j) ub |= L.b_words[j * SEG_WORDS + lane];
        const unsigned u = ua & ub;
        const int count = __popc(u);
        int inclusive = count;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const int n = __shfl_up_sync(0xffffffffu, inclusive, o);
            if (lane >= o) inclusive += n;
        }
        L.word_union[lane] = u;
        L.offsets[lane] = inclusive - count;
        if (lane == 31) L.offsets[SEG_WORDS] = inclusive;
    }
    __syncthreads();

    // 3. Scatter: one warp per word, one lane per bit.
    for (int t = tid >> 5; t < SEG_WORDS; t += NWARPS) {
        const unsigned u = L.word_union[t];
        if ((u >> lane) & 1u) {
            const int pos = L.offsets[t] + __popc(u & ((1u << lane) - 1u));
            unsigned ab = 0, bb = 0;
            for (int i = 0; i < NRB; ++i) ab |= ((L.a_words[i * SEG_WORDS + t] >> lane) & 1u) << i;
            for (int j = 0; j < NCB; ++j) bb |= ((L.b_words[j * SEG_WORDS + t] >> lane) & 1u) << j;
            L.a_bits[pos] = ab;
            L.b_bits[pos] = bb;
            L.k_off[pos] = (unsigned short)(t * 32 + lane);
        }
    }
    __syncthreads();
    return L.offsets[SEG_WORDS];
}
