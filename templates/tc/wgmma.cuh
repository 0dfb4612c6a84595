// ---- wgmma + TMA GEMM main loop (tc/wgmma.cuh, sm_90a only) -----------------------------------
// C[M x N] = act(A[M x K] * B) with fp32 accumulation; A is M x K and B is given as Bt = N x K,
// both K-major, read through TMA tensor maps (128-byte swizzle, zero fill out of bounds).
//
// CTA = 1 producer warpgroup + Cfg::CONSUMERS consumer warpgroups (128 * (CONSUMERS + 1)
// threads). One thread of the producer walks the active k-steps of the tile and issues the TMA
// loads into a STAGES-deep ring of shared-memory stages (full/empty mbarriers); each consumer
// warpgroup owns BM / CONSUMERS rows of the tile (one or two m64 slices) and issues
// wgmma.mma_async from shared memory, keeping one k-step of wgmma in flight.
//
// Stage layout (every piece 1024-byte aligned, 128-byte rows swizzled by TMA):
//   A: BM / 64 slices of 64 rows x 128 bytes (one TMA box {BK, 64} each),
//   B: BN / NCHUNK chunks of NCHUNK rows x 128 bytes (one TMA box {BK, NCHUNK} each),
//   NCHUNK = (SPARSITY == 2 && B_COLS < BN) ? max(B_COLS, 64) : BN.
// Dynamic shared memory: STAGES * (BM + BN) * BK * sizeof(In) + 1024 (alignment slack); the
// mbarriers and the per-stage work words are static __shared__ (under 200 bytes).
//
// Sparsity (SPARSITY 1: A-only, 2: joint). Per 32 k-groups the producer ORs the pattern words of
// the row groups of each m64 slice (A) and of the column groups of each chunk (B); a k-step is
// loaded iff some (slice, chunk) pair has a k-group active in it, and then only the A slices and
// B chunks that take part in an active pair are loaded. The producer hands each consumer a
// 32-bit work word per stage (bit (mm * NCH + h) * 4 + s: wgmma k-slice s of its slice mm against
// chunk h); the consumer issues exactly those wgmmas. Skipped pieces contribute exactly zero;
// pieces that were not loaded are never read. A sentinel stage (no data) ends the consumers'
// loop. If ctrl[2] == epoch (read once per CTA) both patterns are taken as all ones, which is what
// the `ones` words hold (so `ones` itself is never read): nothing is skipped.
//
// Epilogue: activation on the fp32 accumulator, round-to-nearest conversion, then (STAGES * m64
// slices per consumer >= 4) each warp stages its 16 rows in an 8 KB piece of its consumer's own A
// slices and writes whole rows with 16-byte stores (element stores at unaligned or ragged edges);
// otherwise bounds-checked paired stores straight from registers. Optional per-column nonzero
// counts of the stored values: warp shuffles, then one atomicAdd per column per warp.
// Registers: setmaxnreg gives the producer warpgroup 72 and each consumer 216 (2 consumers) or
// 240 (1 consumer); the kernel must be declared __launch_bounds__(128 * (CONSUMERS + 1), 1).

template <class Cfg>
struct TcwGeom {
    using In = typename Cfg::In;
    using Out = typename Cfg::Out;
    static constexpr int ESZ = (int)sizeof(In);
    // 0 bf16, 1 f16, 2 tf32 (In = float)
    static constexpr int TY = __is_same(In, __nv_bfloat16) ? 0 : (__is_same(In, __half) ? 1 : 2);
    static constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
    static constexpr int CONS = Cfg::CONSUMERS;
    static constexpr int THREADS = 128 * (CONS + 1);
    static constexpr int KS = 32 / ESZ;         // k of one wgmma (16, or 8 for tf32): 32 bytes
    static constexpr int SLICES = 4;            // wgmma k-slices per stage (128 bytes / 32)
    static constexpr int MT = BM / 64;          // m64 slices per tile
    static constexpr int MS = BM / CONS / 64;   // m64 slices per consumer
    static constexpr int SP = Cfg::SPARSITY;
    static constexpr int NCHUNK = (SP == 2 && Cfg::B_COLS < BN) ? (Cfg::B_COLS < 64 ? 64 : Cfg::B_COLS) : BN;
    static constexpr int NCH = BN / NCHUNK;     // chunks per tile
    static constexpr int A_SLICE_BYTES = 64 * 128;
    static constexpr int B_CHUNK_BYTES = NCHUNK * 128;
    static constexpr int STAGE_BYTES = (BM + BN) * 128;
    static constexpr unsigned SMEM_BYTES = (unsigned)STAGES * (unsigned)STAGE_BYTES + 1024u;
    // patterns (only meaningful when SP > 0; dense variants have zero granularities)
    static constexpr int KG = SP ? Cfg::K_GRAN : BK;
    static constexpr int GPS = BK / KG;         // k-groups per stage
    static constexpr int SPG = SLICES / GPS;    // wgmma k-slices per k-group
    static constexpr unsigned GMASK = (1u << GPS) - 1u;
    static constexpr int AR = SP ? Cfg::A_ROWS : 64;
    static constexpr int RG = AR >= 64 ? 1 : 64 / AR;               // A row groups per m64 slice
    static constexpr int BC = SP == 2 ? Cfg::B_COLS : NCHUNK;
    static constexpr int CG = BC >= NCHUNK ? 1 : NCHUNK / BC;       // B column groups per chunk
    // epilogue: staged through shared memory (coalesced rows) when every warp of a consumer has
    // its own 8 KB piece (STAGES * MS >= 4); columns per pass: 8 KB holds 16 rows of EPI_COLS
    static constexpr bool STAGED_EPILOGUE = STAGES * MS >= 4;
    static constexpr int EPI_COLS_MAX = 8192 / 16 / (int)sizeof(Out);
    static constexpr int EPI_COLS = BN <= EPI_COLS_MAX ? BN : (BN % EPI_COLS_MAX == 0 ? EPI_COLS_MAX : 64);
    // registers: consumers get more, the producer gives them up
    static constexpr int PRODUCER_REGS = 72;
    static constexpr int CONSUMER_REGS = CONS == 1 ? 240 : 216;

    static_assert(BK * ESZ == 128, "BK must span 128 bytes of k (64 for 16-bit inputs, 32 for tf32)");
    static_assert(CONS == 1 || CONS == 2, "CONSUMERS must be 1 or 2");
    static_assert(BM % (64 * CONS) == 0 && (MS == 1 || MS == 2), "BM / CONSUMERS must be 64 or 128");
    static_assert(MS * BN <= 256, "a consumer holds at most 64 x 256 or 128 x 128 fp32 accumulators");
    static_assert(BN % NCHUNK == 0 && NCH <= 4, "BN must be a multiple of the chunk width");
    static_assert(NCHUNK == 64 || NCHUNK == 128 || NCHUNK == 192 || NCHUNK == 256, "wgmma n must be 64..256");
    static_assert(MS * NCH * SLICES <= 31, "work word overflow (bit 31 is the end flag)");
    static_assert(STAGES >= 2, "at least two stages");
    static_assert(SP == 0 || (BK % KG == 0 && KG >= KS), "K_GRAN must divide BK and be at least the wgmma k");
    static_assert(SP == 0 || BM % AR == 0 || AR % BM == 0, "A_ROWS and BM must divide one another");
    static_assert(SP != 2 || BN % BC == 0 || BC % BN == 0, "B_COLS and BN must divide one another");
    static_assert(SMEM_BYTES <= 227u * 1024u, "shared memory over 227 KB");
    static_assert(BN % EPI_COLS == 0 && EPI_COLS % 64 == 0, "epilogue passes of whole 8-chunk swizzle rows");
};

// ---- PTX wrappers --------------------------------------------------------------------------------
__device__ __forceinline__ uint32_t tcw_smem(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void tcw_mbar_init(uint32_t bar, uint32_t count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}

__device__ __forceinline__ void tcw_mbar_expect_tx(uint32_t bar, uint32_t bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}

__device__ __forceinline__ void tcw_mbar_arrive(uint32_t bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

__device__ __forceinline__ void tcw_mbar_wait(uint32_t bar, uint32_t parity)
{
    uint32_t done;
    do {
        asm volatile(
            "{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }\n"
            : "=r"(done)
            : "r"(bar), "r"(parity)
            : "memory");
    } while (!done);
}

// 2-D TMA load of the box at (c0 = k, c1 = row) into shared memory, completing on bar.
__device__ __forceinline__ void tcw_tma_2d(uint32_t dst, const CUtensorMap* map, int c0, int c1, uint32_t bar)
{
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, { %2, %3 }], [%4];\n"
        ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar)
        : "memory");
}

__device__ __forceinline__ void tcw_wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void tcw_wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int PENDING>
__device__ __forceinline__ void tcw_wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(PENDING) : "memory"); }

// Keeps the compiler from moving accumulator accesses across the asynchronous wgmma window.
template <int R>
__device__ __forceinline__ void tcw_fence_regs(float (&d)[R])
{
#pragma unroll
    for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row groups 1024 bytes apart.
__device__ __forceinline__ uint64_t tcw_desc(uint32_t addr)
{
    return (uint64_t)((addr & 0x3FFFFu) >> 4) | (1ull << 16) | (64ull << 32) | (1ull << 62);
}

// BEGIN GENERATED wgmma wrappers (bench/proto/tc_wgmma/gen_wgmma.py)
// d (m64 x n64 fp32 fragment) += A(desc a) * B(desc b)^T, both K-major, 128-byte swizzle.
template <int TY>
__device__ __forceinline__ void tcw_wgmma_n64(float (&d)[32], uint64_t a, uint64_t b)
{
    if constexpr (TY == 0) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %34, 0; "
            "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31 }, "
            "%32, %33, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 1) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %34, 0; "
            "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31 }, "
            "%32, %33, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 2) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %34, 0; "
            "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31 }, "
            "%32, %33, p, 1, 1; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
            : "l"(a), "l"(b), "r"(1));
    }
}

// d (m64 x n128 fp32 fragment) += A(desc a) * B(desc b)^T, both K-major, 128-byte swizzle.
template <int TY>
__device__ __forceinline__ void tcw_wgmma_n128(float (&d)[64], uint64_t a, uint64_t b)
{
    if constexpr (TY == 0) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %66, 0; "
            "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 }, "
            "%64, %65, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 1) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %66, 0; "
            "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 }, "
            "%64, %65, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 2) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %66, 0; "
            "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 }, "
            "%64, %65, p, 1, 1; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(a), "l"(b), "r"(1));
    }
}

// d (m64 x n192 fp32 fragment) += A(desc a) * B(desc b)^T, both K-major, 128-byte swizzle.
template <int TY>
__device__ __forceinline__ void tcw_wgmma_n192(float (&d)[96], uint64_t a, uint64_t b)
{
    if constexpr (TY == 0) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %98, 0; "
            "wgmma.mma_async.sync.aligned.m64n192k16.f32.bf16.bf16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95 }, "
            "%96, %97, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 1) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %98, 0; "
            "wgmma.mma_async.sync.aligned.m64n192k16.f32.f16.f16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95 }, "
            "%96, %97, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 2) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %98, 0; "
            "wgmma.mma_async.sync.aligned.m64n192k8.f32.tf32.tf32 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95 }, "
            "%96, %97, p, 1, 1; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
            : "l"(a), "l"(b), "r"(1));
    }
}

// d (m64 x n256 fp32 fragment) += A(desc a) * B(desc b)^T, both K-major, 128-byte swizzle.
template <int TY>
__device__ __forceinline__ void tcw_wgmma_n256(float (&d)[128], uint64_t a, uint64_t b)
{
    if constexpr (TY == 0) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %130, 0; "
            "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127 }, "
            "%128, %129, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 1) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %130, 0; "
            "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127 }, "
            "%128, %129, p, 1, 1, 0, 0; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
            : "l"(a), "l"(b), "r"(1));
    } else if constexpr (TY == 2) {
        asm volatile(
            "{ .reg .pred p; setp.ne.b32 p, %130, 0; "
            "wgmma.mma_async.sync.aligned.m64n256k8.f32.tf32.tf32 "
            "{ %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127 }, "
            "%128, %129, p, 1, 1; }\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
            : "l"(a), "l"(b), "r"(1));
    }
}

// Dispatch on n (the chunk width) at compile time.
template <int N, int TY>
__device__ __forceinline__ void tcw_wgmma(float (&d)[N / 2], uint64_t a, uint64_t b)
{
    if constexpr (N == 64) {
        tcw_wgmma_n64<TY>(d, a, b);
    } else if constexpr (N == 128) {
        tcw_wgmma_n128<TY>(d, a, b);
    } else if constexpr (N == 192) {
        tcw_wgmma_n192<TY>(d, a, b);
    } else if constexpr (N == 256) {
        tcw_wgmma_n256<TY>(d, a, b);
    } else {
        static_assert(N == 64, "wgmma chunk width must be 64, 128, 192 or 256");
    }
}
// END GENERATED wgmma wrappers

// ---- tile rasterisation ---------------------------------------------------------------------------
// Linear tile index -> (tile row, tile column), GROUP_M tile rows at a time.
template <int GROUP_M>
__device__ __forceinline__ void tcw_tile_coords(int t, int tiles_m, int tiles_n, int& tile_m, int& tile_n)
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

// ---- epilogue helpers -----------------------------------------------------------------------------
template <int ACT>
__device__ __forceinline__ float tcw_act(float x)
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

// Stores the pair (v0 at col, v1 at col + 1) of row `row`; returns the number of nonzero stored
// values of each (bit 0: col, bit 1: col + 1 ... as counts in nz0 / nz1).
template <class Out>
__device__ __forceinline__ void tcw_store2(Out* __restrict__ C, size_t idx, bool in0, bool in1, float v0, float v1,
                                           int& nz0, int& nz1)
{
    if constexpr (__is_same(Out, float)) {
        if (in1 && (idx & 1) == 0) {
            *reinterpret_cast<float2*>(C + idx) = make_float2(v0, v1);
        } else {
            if (in0) C[idx] = v0;
            if (in1) C[idx + 1] = v1;
        }
        nz0 += (in0 && (__float_as_uint(v0) & 0x7fffffffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__float_as_uint(v1) & 0x7fffffffu) != 0u) ? 1 : 0;
    } else if constexpr (__is_same(Out, __nv_bfloat16)) {
        const __nv_bfloat162 h = __floats2bfloat162_rn(v0, v1);
        if (in1 && (idx & 1) == 0) {
            *reinterpret_cast<__nv_bfloat162*>(C + idx) = h;
        } else {
            if (in0) C[idx] = h.x;
            if (in1) C[idx + 1] = h.y;
        }
        nz0 += (in0 && (__bfloat16_as_ushort(h.x) & 0x7fffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__bfloat16_as_ushort(h.y) & 0x7fffu) != 0u) ? 1 : 0;
    } else {
        const __half2 h = __floats2half2_rn(v0, v1);
        if (in1 && (idx & 1) == 0) {
            *reinterpret_cast<__half2*>(C + idx) = h;
        } else {
            if (in0) C[idx] = __low2half(h);
            if (in1) C[idx + 1] = __high2half(h);
        }
        nz0 += (in0 && (__half_as_ushort(__low2half(h)) & 0x7fffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__half_as_ushort(__high2half(h)) & 0x7fffu) != 0u) ? 1 : 0;
    }
}

// Writes the converted pair (v0, v1) to shared memory at p (4 or 8 bytes, aligned) and counts
// the nonzero values of the in-range ones.
template <class Out>
__device__ __forceinline__ void tcw_put2(uint32_t p, float v0, float v1, bool in0, bool in1, int& nz0, int& nz1)
{
    if constexpr (__is_same(Out, float)) {
        asm volatile("st.shared.v2.f32 [%0], { %1, %2 };\n" ::"r"(p), "f"(v0), "f"(v1) : "memory");
        nz0 += (in0 && (__float_as_uint(v0) & 0x7fffffffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__float_as_uint(v1) & 0x7fffffffu) != 0u) ? 1 : 0;
    } else if constexpr (__is_same(Out, __nv_bfloat16)) {
        const __nv_bfloat162 h = __floats2bfloat162_rn(v0, v1);
        asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(p), "r"(*reinterpret_cast<const unsigned*>(&h)) : "memory");
        nz0 += (in0 && (__bfloat16_as_ushort(h.x) & 0x7fffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__bfloat16_as_ushort(h.y) & 0x7fffu) != 0u) ? 1 : 0;
    } else {
        const __half2 h = __floats2half2_rn(v0, v1);
        asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(p), "r"(*reinterpret_cast<const unsigned*>(&h)) : "memory");
        nz0 += (in0 && (__half_as_ushort(__low2half(h)) & 0x7fffu) != 0u) ? 1 : 0;
        nz1 += (in1 && (__half_as_ushort(__high2half(h)) & 0x7fffu) != 0u) ? 1 : 0;
    }
}

// ---- producer -------------------------------------------------------------------------------------
// One thread. Walks the tile's active k-steps in order; for each: waits for the stage to be free,
// publishes the consumers' work words, arms the full barrier with the byte count and issues the
// TMA boxes of the active A slices and B chunks. Ends (sparse) with a sentinel stage.
template <class Cfg>
struct TcwShared {
    alignas(8) unsigned long long full[Cfg::STAGES];
    alignas(8) unsigned long long empty[Cfg::STAGES];
    unsigned work[Cfg::STAGES][4];  // [c]: work word of consumer c; [2]: 1 = end sentinel
};

template <class Cfg>
struct TcwProducer {
    using G = TcwGeom<Cfg>;
    const CUtensorMap* tmap_a;
    const CUtensorMap* tmap_b;
    int M, N, K, row0, col0;
    // sparse: the patterns, their words per row, and the call's Inf/NaN fallback
    const unsigned* pa;
    const unsigned* pb;
    int words;
    bool fallback;

    // Pattern rows of A slice m: [first, last] row groups that meet it (none past M).
    __device__ __forceinline__ int a_first(int m) const { return (row0 + 64 * m) / G::AR; }
    __device__ __forceinline__ int a_last(int m) const
    {
        const int r0 = row0 + 64 * m;
        return r0 < M ? (min(M, r0 + 64) - 1) / G::AR : -1;
    }
    __device__ __forceinline__ int b_first(int h) const { return (col0 + G::NCHUNK * h) / G::BC; }
    __device__ __forceinline__ int b_last(int h) const
    {
        const int c0 = col0 + G::NCHUNK * h;
        return c0 < N ? (min(N, c0 + G::NCHUNK) - 1) / G::BC : -1;
    }

    // The words (of 32 k-groups) w of every A slice and B chunk: OR over the pattern rows that meet
    // the slice (chunk); all ones on the Inf/NaN fallback (what the `ones` words hold) and for B
    // of A-only variants; zero for slices and chunks wholly outside C.
    __device__ __forceinline__ void load_words(int w, unsigned (&a)[G::MT], unsigned (&b)[G::NCH]) const
    {
#pragma unroll
        for (int m = 0; m < G::MT; ++m) {
            const int g0 = a_first(m), g1 = a_last(m);
            unsigned v = 0u;
            if (fallback) {
                v = g1 >= 0 ? 0xffffffffu : 0u;
            } else {
#pragma unroll
                for (int i = 0; i < G::RG; ++i)
                    if (g0 + i <= g1) v |= __ldg(pa + (size_t)(g0 + i) * words + w);
            }
            a[m] = v;
        }
#pragma unroll
        for (int h = 0; h < G::NCH; ++h) {
            const int g0 = b_first(h), g1 = b_last(h);
            unsigned v = 0u;
            if (G::SP != 2 || fallback) {
                v = g1 >= 0 ? 0xffffffffu : 0u;
            } else {
#pragma unroll
                for (int i = 0; i < G::CG; ++i)
                    if (g0 + i <= g1) v |= __ldg(pb + (size_t)(g0 + i) * words + w);
            }
            b[h] = v;
        }
    }

    // Before the CTA's barrier setup: read the control word and prefetch the first pattern words
    // into L1, so that their latency overlaps the setup. (`ones` is never read: its words are all
    // ones by definition.)
    __device__ __forceinline__ void prologue(const CUtensorMap* ta, const CUtensorMap* tb, int M_, int N_, int K_, int r0_,
                                             int c0_, const unsigned* a_pat, const unsigned* b_pat,
                                             const unsigned* ctrl, unsigned epoch)
    {
        tmap_a = ta;
        tmap_b = tb;
        M = M_;
        N = N_;
        K = K_;
        row0 = r0_;
        col0 = c0_;
        if constexpr (G::SP != 0) {
            fallback = *(volatile const unsigned*)(ctrl + 2) == epoch;  // read once per CTA
            pa = a_pat;
            pb = b_pat;
            const int groups = (K + G::KG - 1) / G::KG;
            words = (groups + 31) / 32;
#pragma unroll
            for (int m = 0; m < G::MT; ++m) {
                const int g0 = a_first(m), g1 = a_last(m);
#pragma unroll
                for (int i = 0; i < G::RG; ++i)
                    if (g0 + i <= g1) asm volatile("prefetch.global.L1 [%0];\n" ::"l"(pa + (size_t)(g0 + i) * words));
            }
            if constexpr (G::SP == 2) {
#pragma unroll
                for (int h = 0; h < G::NCH; ++h) {
                    const int g0 = b_first(h), g1 = b_last(h);
#pragma unroll
                    for (int i = 0; i < G::CG; ++i)
                        if (g0 + i <= g1) asm volatile("prefetch.global.L1 [%0];\n" ::"l"(pb + (size_t)(g0 + i) * words));
                }
            }
        }
    }

    __device__ __forceinline__ void run(uint32_t tiles, TcwShared<Cfg>& sh)
    {
        int stage = 0;
        uint32_t phase = 0;
        const uint32_t full0 = tcw_smem(&sh.full[0]), empty0 = tcw_smem(&sh.empty[0]);

        if constexpr (G::SP == 0) {
            const int steps = (K + G::BK - 1) / G::BK;
            for (int s = 0; s < steps; ++s) {
                tcw_mbar_wait(empty0 + 8 * stage, phase ^ 1u);
                const uint32_t full = full0 + 8 * stage;
                tcw_mbar_expect_tx(full, (uint32_t)G::STAGE_BYTES);
                const uint32_t base = tiles + (uint32_t)(stage * G::STAGE_BYTES);
                const int k0 = s * G::BK;
#pragma unroll
                for (int m = 0; m < G::MT; ++m) tcw_tma_2d(base + m * G::A_SLICE_BYTES, tmap_a, k0, row0 + 64 * m, full);
#pragma unroll
                for (int h = 0; h < G::NCH; ++h)
                    tcw_tma_2d(base + G::BM * 128 + h * G::B_CHUNK_BYTES, tmap_b, k0, col0 + G::NCHUNK * h, full);
                if (++stage == G::STAGES) {
                    stage = 0;
                    phase ^= 1u;
                }
            }
        } else {
            const int groups = (K + G::KG - 1) / G::KG;
            unsigned am[G::MT], bm[G::NCH], an[G::MT], bn[G::NCH];
            load_words(0, am, bm);
            for (int w = 0; w < words; ++w) {
                if (w + 1 < words) load_words(w + 1, an, bn);  // prefetch the next word
                const int left = groups - 32 * w;
                const unsigned valid = left >= 32 ? 0xffffffffu : ((1u << left) - 1u);
                unsigned anyA = 0u, anyB = 0u;
#pragma unroll
                for (int m = 0; m < G::MT; ++m) anyA |= am[m];
#pragma unroll
                for (int h = 0; h < G::NCH; ++h) anyB |= bm[h];
                unsigned act = anyA & anyB & valid;
                while (act) {
                    const int sl = (__ffs(act) - 1) / G::GPS;  // stage within this word
                    const int shift = sl * G::GPS;
                    act &= ~(G::GMASK << shift);
                    const int k0 = (w * (32 / G::GPS) + sl) * G::BK;
                    // Active k-groups of each (slice, chunk) pair in this stage.
                    unsigned lda = 0u, ldb = 0u, cw0 = 0u, cw1 = 0u;
#pragma unroll
                    for (int m = 0; m < G::MT; ++m) {
#pragma unroll
                        for (int h = 0; h < G::NCH; ++h) {
                            const unsigned p = (am[m] & bm[h] & valid) >> shift & G::GMASK;
                            unsigned e = 0u;  // expanded to wgmma k-slices
#pragma unroll
                            for (int g = 0; g < G::GPS; ++g)
                                if (p >> g & 1u) e |= ((1u << G::SPG) - 1u) << (g * G::SPG);
                            if (p) {
                                lda |= 1u << m;
                                ldb |= 1u << h;
                            }
                            const int c = m / G::MS, mm = m % G::MS;
                            const unsigned bits = e << ((mm * G::NCH + h) * G::SLICES);
                            if (c == 0) cw0 |= bits; else cw1 |= bits;
                        }
                    }
                    tcw_mbar_wait(empty0 + 8 * stage, phase ^ 1u);
                    sh.work[stage][0] = cw0;
                    sh.work[stage][1] = cw1;
                    sh.work[stage][2] = 0u;
                    const uint32_t full = full0 + 8 * stage;
                    tcw_mbar_expect_tx(full, (uint32_t)(__popc(lda) * G::A_SLICE_BYTES + __popc(ldb) * G::B_CHUNK_BYTES));
                    const uint32_t base = tiles + (uint32_t)(stage * G::STAGE_BYTES);
#pragma unroll
                    for (int m = 0; m < G::MT; ++m)
                        if (lda >> m & 1u) tcw_tma_2d(base + m * G::A_SLICE_BYTES, tmap_a, k0, row0 + 64 * m, full);
#pragma unroll
                    for (int h = 0; h < G::NCH; ++h)
                        if (ldb >> h & 1u)
                            tcw_tma_2d(base + G::BM * 128 + h * G::B_CHUNK_BYTES, tmap_b, k0, col0 + G::NCHUNK * h, full);
                    if (++stage == G::STAGES) {
                        stage = 0;
                        phase ^= 1u;
                    }
                }
#pragma unroll
                for (int m = 0; m < G::MT; ++m) am[m] = an[m];
#pragma unroll
                for (int h = 0; h < G::NCH; ++h) bm[h] = bn[h];
            }
            // Sentinel: a stage with no data that tells the consumers to stop.
            tcw_mbar_wait(empty0 + 8 * stage, phase ^ 1u);
            sh.work[stage][2] = 1u;
            tcw_mbar_arrive(full0 + 8 * stage);
        }
    }
};

// ---- consumer -------------------------------------------------------------------------------------
template <class Cfg>
__device__ __forceinline__ void tcw_consumer(typename Cfg::Out* __restrict__ C, int M, int N, int K, int row0, int col0,
                                             unsigned* col_nnz, uint32_t tiles, TcwShared<Cfg>& sh, int c)
{
    using G = TcwGeom<Cfg>;
    constexpr int NR = G::NCHUNK / 2;  // accumulator registers per (slice, chunk)
    float acc[G::MS][G::NCH][NR];
#pragma unroll
    for (int mm = 0; mm < G::MS; ++mm)
#pragma unroll
        for (int h = 0; h < G::NCH; ++h)
#pragma unroll
            for (int i = 0; i < NR; ++i) acc[mm][h][i] = 0.0f;
#pragma unroll
    for (int mm = 0; mm < G::MS; ++mm)
#pragma unroll
        for (int h = 0; h < G::NCH; ++h) tcw_fence_regs(acc[mm][h]);

    const int lane = threadIdx.x & 31;
    const uint32_t full0 = tcw_smem(&sh.full[0]), empty0 = tcw_smem(&sh.empty[0]);
    int stage = 0, prev = 0;
    uint32_t phase = 0;
    const int steps = G::SP == 0 ? (K + G::BK - 1) / G::BK : 0x7fffffff;
    constexpr unsigned FULL = (1u << (G::MS * G::NCH * G::SLICES)) - 1u;
    for (int s = 0; s < steps; ++s) {
        tcw_mbar_wait(full0 + 8 * stage, phase);
        unsigned work = FULL;
        if constexpr (G::SP != 0) {
            // Lane 0 (the lane that later releases the stage) reads the work word and the end flag
            // (bit 31); the warp-wide OR hands them to every lane and lets ptxas see the value as
            // uniform (a uniform register), so the masked wgmmas below are not on a divergent path.
            unsigned w = 0u;
            if (lane == 0) w = sh.work[stage][c] | (sh.work[stage][2] << 31);
            w = __reduce_or_sync(0xffffffffu, w);
            if (w >> 31) break;
            work = w;
        }
        const uint32_t base = tiles + (uint32_t)(stage * G::STAGE_BYTES);
#pragma unroll
        for (int mm = 0; mm < G::MS; ++mm)
#pragma unroll
            for (int h = 0; h < G::NCH; ++h) tcw_fence_regs(acc[mm][h]);
        tcw_wgmma_fence();
        if (work == FULL) {  // every wgmma of the stage: straight-line code, as in the dense path
#pragma unroll
            for (int ks = 0; ks < G::SLICES; ++ks) {
#pragma unroll
                for (int mm = 0; mm < G::MS; ++mm) {
                    const uint64_t da = tcw_desc(base + (c * G::MS + mm) * G::A_SLICE_BYTES + 32 * ks);
#pragma unroll
                    for (int h = 0; h < G::NCH; ++h) {
                        const uint64_t db = tcw_desc(base + G::BM * 128 + h * G::B_CHUNK_BYTES + 32 * ks);
                        tcw_wgmma<G::NCHUNK, G::TY>(acc[mm][h], da, db);
                    }
                }
            }
        } else {
#pragma unroll
            for (int ks = 0; ks < G::SLICES; ++ks) {
#pragma unroll
                for (int mm = 0; mm < G::MS; ++mm) {
                    const uint64_t da = tcw_desc(base + (c * G::MS + mm) * G::A_SLICE_BYTES + 32 * ks);
#pragma unroll
                    for (int h = 0; h < G::NCH; ++h) {
                        if (work >> ((mm * G::NCH + h) * G::SLICES + ks) & 1u) {
                            const uint64_t db = tcw_desc(base + G::BM * 128 + h * G::B_CHUNK_BYTES + 32 * ks);
                            tcw_wgmma<G::NCHUNK, G::TY>(acc[mm][h], da, db);
                        }
                    }
                }
            }
        }
        tcw_wgmma_commit();
#pragma unroll
        for (int mm = 0; mm < G::MS; ++mm)
#pragma unroll
            for (int h = 0; h < G::NCH; ++h) tcw_fence_regs(acc[mm][h]);
        tcw_wgmma_wait<1>();  // the previous stage's wgmmas are done: release it
        __syncwarp();         // every lane's reads of the stage (work word too) before the release
        if (s > 0 && lane == 0) tcw_mbar_arrive(empty0 + 8 * prev);
        prev = stage;
        if (++stage == G::STAGES) {
            stage = 0;
            phase ^= 1u;
        }
    }
    tcw_wgmma_wait<0>();
#pragma unroll
    for (int mm = 0; mm < G::MS; ++mm)
#pragma unroll
        for (int h = 0; h < G::NCH; ++h) tcw_fence_regs(acc[mm][h]);

    // ---- epilogue ----
    const int warp = (threadIdx.x >> 5) & 3;
    // Per-column nonzero counts of the stored values: the 8 lanes that share a column pair (lane
    // & 3) add up, then one atomicAdd per column per warp.
    auto count_cols = [&](int col, int nz0, int nz1) {
        if constexpr (Cfg::COL_NNZ) {
#pragma unroll
            for (int o = 4; o < 32; o <<= 1) {
                nz0 += __shfl_xor_sync(0xffffffffu, nz0, o);
                nz1 += __shfl_xor_sync(0xffffffffu, nz1, o);
            }
            if (lane < 4) {
                if (nz0) atomicAdd(col_nnz + col, (unsigned)nz0);
                if (nz1) atomicAdd(col_nnz + col + 1, (unsigned)nz1);
            }
        }
    };
    if constexpr (G::STAGED_EPILOGUE) {
        // Each warp owns 16 rows of each of its m64 slices. It converts them into an 8 KB piece of
        // shared memory that only this consumer reads or writes (one of its own A slices of one
        // stage: every TMA into it has landed and every wgmma reading it is done), 16-byte chunks
        // XOR-swizzled by row, then writes whole rows to global memory: 16-byte stores where the
        // row is aligned and in range, element stores elsewhere.
        using Out = typename Cfg::Out;
        constexpr int OSZ = (int)sizeof(Out);
        constexpr int EPC = 16 / OSZ;                       // elements per 16-byte chunk
        constexpr int PW = G::EPI_COLS;                     // columns per pass
        constexpr int CPR = PW / EPC;                       // chunks per staged row
        const int piece = warp;                             // consumer's piece p: stage p / MS, slice c * MS + p % MS
        const uint32_t stg = tiles + (uint32_t)((piece / G::MS) * G::STAGE_BYTES + (c * G::MS + piece % G::MS) * G::A_SLICE_BYTES);
#pragma unroll
        for (int mm = 0; mm < G::MS; ++mm) {
            const int rbase = row0 + (c * G::MS + mm) * 64 + 16 * warp;
#pragma unroll
            for (int pass = 0; pass < G::BN / PW; ++pass) {
                // 1. fragment -> shared (values after the activation, rounded to Out)
#pragma unroll
                for (int h = 0; h < G::NCH; ++h) {
#pragma unroll
                    for (int j = 0; j < G::NCHUNK / 8; ++j) {
                        const int tcol = h * G::NCHUNK + 8 * j;  // tile column of this n8 block
                        if (tcol / PW != pass) continue;
                        const int pc = tcol - pass * PW + 2 * (lane & 3);  // column within the pass
                        const int col = col0 + tcol + 2 * (lane & 3);
                        int nz0 = 0, nz1 = 0;
#pragma unroll
                        for (int half = 0; half < 2; ++half) {
                            const int r = (lane >> 2) + 8 * half;
                            const float v0 = tcw_act<Cfg::ACT>(acc[mm][h][4 * j + 2 * half]);
                            const float v1 = tcw_act<Cfg::ACT>(acc[mm][h][4 * j + 2 * half + 1]);
                            const int chunk = (pc / EPC) ^ (r & 7);
                            const int off = r * (PW * OSZ) + chunk * 16 + (pc % EPC) * OSZ;
                            const bool live = rbase + r < M;
                            tcw_put2<Out>(stg + off, v0, v1, live && col < N, live && col + 1 < N, nz0, nz1);
                        }
                        count_cols(col, nz0, nz1);
                    }
                }
                __syncwarp();
                // 2. shared -> global, one 16-byte chunk per lane
#pragma unroll
                for (int i = lane; i < 16 * CPR; i += 32) {
                    const int r = i / CPR, ch = i % CPR;
                    const int row = rbase + r;
                    const int col = col0 + pass * PW + ch * EPC;
                    if (row < M && col < N) {
                        uint4 v;
                        asm volatile("ld.shared.v4.b32 { %0, %1, %2, %3 }, [%4];\n"
                                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                                     : "r"(stg + (uint32_t)(r * (PW * OSZ) + ((ch ^ (r & 7)) * 16)))
                                     : "memory");
                        const size_t idx = (size_t)row * N + col;
                        if (col + EPC <= N && idx % EPC == 0) {
                            *reinterpret_cast<uint4*>(C + idx) = v;
                        } else {
                            const Out* e = reinterpret_cast<const Out*>(&v);
#pragma unroll
                            for (int q = 0; q < EPC; ++q)
                                if (col + q < N) C[idx + q] = e[q];
                        }
                    }
                }
                __syncwarp();
            }
        }
    } else {
#pragma unroll
        for (int h = 0; h < G::NCH; ++h) {
#pragma unroll
            for (int j = 0; j < G::NCHUNK / 8; ++j) {
                const int col = col0 + h * G::NCHUNK + 8 * j + 2 * (lane & 3);
                const bool in0 = col < N, in1 = col + 1 < N;
                int nz0 = 0, nz1 = 0;
#pragma unroll
                for (int mm = 0; mm < G::MS; ++mm) {
#pragma unroll
                    for (int half = 0; half < 2; ++half) {
                        const int row = row0 + (c * G::MS + mm) * 64 + 16 * warp + (lane >> 2) + 8 * half;
                        if (row < M && in0) {
                            const float v0 = tcw_act<Cfg::ACT>(acc[mm][h][4 * j + 2 * half]);
                            const float v1 = tcw_act<Cfg::ACT>(acc[mm][h][4 * j + 2 * half + 1]);
                            tcw_store2<typename Cfg::Out>(C, (size_t)row * N + col, in0, in1, v0, v1, nz0, nz1);
                        }
                    }
                }
                count_cols(col, nz0, nz1);
            }
        }
    }
}

// ---- entry ----------------------------------------------------------------------------------------
// Launch: grid (ceil(N / BN), ceil(M / BM)), block 128 * (CONSUMERS + 1) threads,
// dynamic shared memory TcwGeom<Cfg>::SMEM_BYTES = STAGES * (BM + BN) * BK * sizeof(In) + 1024,
// from a kernel declared __launch_bounds__(128 * (CONSUMERS + 1), 1) and built for sm_90a.
template <class Cfg>
__device__ __forceinline__ void tc_wgmma_gemm(const CUtensorMap* tmap_a, const CUtensorMap* tmap_b,
                                              typename Cfg::Out* __restrict__ C, int M, int N, int K,
                                              const unsigned* a_pat, const unsigned* b_pat, unsigned* col_nnz,
                                              const unsigned* ctrl, const unsigned* ones, unsigned epoch)
{
    using G = TcwGeom<Cfg>;
    (void)ones;  // the Inf/NaN fallback uses all-ones words without reading them
    __shared__ TcwShared<Cfg> sh;
    extern __shared__ unsigned char tcw_dyn_smem[];
    const uint32_t tiles = (tcw_smem(tcw_dyn_smem) + 1023u) & ~1023u;

    int tile_m, tile_n;
    const int tiles_m = (M + G::BM - 1) / G::BM, tiles_n = (N + G::BN - 1) / G::BN;
    tcw_tile_coords<Cfg::GROUP_M>(blockIdx.y * gridDim.x + blockIdx.x, tiles_m, tiles_n, tile_m, tile_n);
    const int row0 = tile_m * G::BM, col0 = tile_n * G::BN;

    const int wg = threadIdx.x >> 7;
    TcwProducer<Cfg> producer;
    if (threadIdx.x == 0) {
        producer.prologue(tmap_a, tmap_b, M, N, K, row0, col0, a_pat, b_pat, ctrl, epoch);
        asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(tmap_a)) : "memory");
        asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(tmap_b)) : "memory");
#pragma unroll
        for (int s = 0; s < G::STAGES; ++s) {
            tcw_mbar_init(tcw_smem(&sh.full[s]), 1u);
            tcw_mbar_init(tcw_smem(&sh.empty[s]), 4u * G::CONS);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(G::PRODUCER_REGS));
        if (threadIdx.x == 0) producer.run(tiles, sh);
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(G::CONSUMER_REGS));
        tcw_consumer<Cfg>(C, M, N, K, row0, col0, col_nnz, tiles, sh, wg - 1);
    }
}
