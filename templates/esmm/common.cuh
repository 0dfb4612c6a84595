// ---- derived geometry (common.cuh) -----------------------------------------------------------
constexpr int WSUBM = WM / WMITER;       // warp sub-tile rows
constexpr int WSUBN = WN / WNITER;       // warp sub-tile columns
constexpr int TCOLS = WSUBN / TN;        // lanes along n in a warp sub-tile
constexpr int TROWS = WSUBM / TM;        // lanes along m in a warp sub-tile
constexpr int NWR = BM / WM;             // warps along m
constexpr int NWC = BN / WN;             // warps along n
constexpr int NWARPS = NWR * NWC;
constexpr bool SPARSE = A_SPARSE || B_SPARSE;
static_assert(TCOLS * TROWS == 32, "the 32 lanes must tile the warp sub-tile exactly");
static_assert(NWARPS * 32 == THREADS, "one warp per warp tile");
static_assert(BK % 4 == 0 && BN % 4 == 0, "tiles are loaded as float4");

// Shared-memory stage: A tile transposed (BK x AS_LD, padded against bank conflicts on the
// transposing store), B tile (BK x BN), and per-slot pattern bits of the stage's k values.
constexpr int AS_LD = BM + 4;
constexpr int STAGE_A = BK * AS_LD;
constexpr int STAGE_B = BK * BN;
constexpr int STAGE_META = SPARSE ? 2 * BK : 0;
constexpr int STAGE_WORDS = STAGE_A + STAGE_B + STAGE_META;

// Pattern blocks a CTA tile can touch (relative block indices fit one 32-bit word).
constexpr int ga_blocks(int rows, int g) { return g % rows == 0 ? 1 : (rows % g == 0 ? rows / g : rows / g + 2); }
constexpr int NRB = A_SPARSE ? ga_blocks(BM, GA) : 1;   // row blocks per CTA tile
constexpr int NCB = B_SPARSE ? ga_blocks(BN, GB) : 1;   // column blocks per CTA tile
static_assert(NRB <= 32 && NCB <= 32, "a CTA tile may touch at most 32 pattern blocks per operand");
static_assert(!A_SPARSE || GA % TM == 0, "a thread's TM rows must lie in one A row block");
static_assert(!B_SPARSE || GB % TN == 0, "a thread's TN columns must lie in one B column block");
// Whether a warp tile lies inside one pattern block per sparse operand: then the warp's bit is
// exactly the bit of each of its outputs and no per-thread test is needed.
constexpr bool WARP_EXACT = (!A_SPARSE || GA % WM == 0) && (!B_SPARSE || GB % WN == 0);

// Skip list: the active k values of SEG_WORDS pattern words, compacted (skiplist.cuh).
constexpr int SEG_WORDS = 32;
constexpr int SEG_K = SEG_WORDS * 32;
constexpr int LIST_WORDS = SPARSE
    ? (SEG_K * 2                      // per active k: A row-block bits, B column-block bits
       + SEG_WORDS * (NRB + NCB)      // raw pattern words of the segment
       + SEG_WORDS                    // per word: active k of the tile (union over its warps)
       + SEG_WORDS + 1                // exclusive prefix of active counts (+ total)
       + SEG_K / 2)                   // k offsets within the segment (u16)
    : 0;
// Per-warp pipeline (warppipe.cuh): sparse, warp tile inside one pattern block, branch skip.
// The generator chooses it (render.rs: only when the two-stage ring fits every target arch).
static_assert(!WARP_PIPE || (SPARSE && WARP_EXACT && !BRANCHLESS), "the per-warp pipeline needs exact warp tiles");
constexpr int WP_LD = WM + 4;                    // A stage row stride (k-major, padded)
constexpr int WP_A = BK * WP_LD;
constexpr int WP_B = BK * WN;
constexpr int WP_STAGE = WP_A + WP_B;
constexpr int WP_RING = 64;                      // >= BK - 1 + 32 pending k values
constexpr int WP_WARP_WORDS = PIPE_STAGES * WP_STAGE + WP_RING;
static_assert(4u * (WARP_PIPE ? NWARPS * WP_WARP_WORDS
                          : (SPARSE ? 2 * STAGE_WORDS + LIST_WORDS : PIPE_STAGES * STAGE_WORDS)) == SMEM_BYTES,
              "shared-memory size disagrees with the generator");

constexpr int GROUP_M = 8;               // tile rows per rasterisation group (L2 reuse)

{% include "common/pattern_words.cuh" %}

// Pattern loads. A persistent kernel may read words written earlier in the same launch, so it
// reads through L2 (ld.global.cg), never through the non-coherent read-only path.
__device__ __forceinline__ unsigned load_pattern(const unsigned* p)
{
    if constexpr (PERSISTENT) {
        return __ldcg(p);
    } else {
        return __ldg(p);
    }
}

{% include "common/activation.cuh" %}

{% include "common/raster.cuh" %}
