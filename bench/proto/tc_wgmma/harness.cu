// Standalone correctness + timing harness for templates/tc/wgmma.cuh (family tc, wgmma path).
// Build (sm_90a): see build.sh. Modes: harness check | sanitize | bench [quick]
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>
#include <stdint.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef TCW_HEADER
#define TCW_HEADER "../../../templates/tc/wgmma.cuh"
#endif
#include TCW_HEADER

#define CK(x)                                                                                      \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

using bf16 = __nv_bfloat16;
using f16 = __half;

// ---- configurations under test ------------------------------------------------------------------
#define CFG_COMMON(IN, OUT, bm, bn, bk, st, cons, sp, ar, kg, bc, gm, act, nnz, nm) \
    using In = IN;                                                                 \
    using Out = OUT;                                                               \
    static constexpr int BM = bm, BN = bn, BK = bk, STAGES = st, CONSUMERS = cons;   \
    static constexpr int SPARSITY = sp, A_ROWS = ar, K_GRAN = kg, B_COLS = bc;       \
    static constexpr int GROUP_M = gm, ACT = act;                                  \
    static constexpr bool COL_NNZ = nnz;                                           \
    static constexpr const char* NAME = nm;

struct CfgDense { CFG_COMMON(bf16, bf16, 128, 256, 64, 4, 2, 0, 0, 0, 0, 8, 0, false, "bf16 dense 128x256 c2 s4") };
struct CfgJoint { CFG_COMMON(bf16, bf16, 128, 256, 64, 4, 2, 2, 64, 64, 128, 8, 0, false, "bf16 joint a64 k64 b128") };
struct CfgFine { CFG_COMMON(bf16, float, 128, 256, 64, 4, 2, 2, 32, 16, 64, 4, 2, true, "bf16>f32 joint a32 k16 b64 relu2 nnz") };
struct CfgOne { CFG_COMMON(bf16, bf16, 128, 128, 64, 5, 1, 2, 256, 32, 256, 1, 1, true, "bf16 1cons 128x128 a256 k32 b256 relu nnz") };
struct CfgF16 { CFG_COMMON(f16, f16, 64, 192, 64, 6, 1, 1, 16, 64, 0, 2, 0, false, "f16 A-only 64x192 a16 k64") };
struct CfgB32 { CFG_COMMON(bf16, bf16, 128, 128, 64, 6, 2, 2, 128, 32, 32, 2, 0, true, "bf16 joint 128x128 a128 k32 b32 nnz") };
struct CfgJ128 { CFG_COMMON(bf16, bf16, 128, 128, 64, 6, 2, 2, 64, 64, 128, 8, 0, false, "bf16 joint 128x128 s6") };
struct CfgD256 { CFG_COMMON(bf16, bf16, 256, 128, 64, 4, 2, 0, 0, 0, 0, 8, 0, false, "bf16 dense 256x128 c2 s4") };
struct CfgJ256 { CFG_COMMON(bf16, bf16, 256, 128, 64, 4, 2, 2, 64, 64, 128, 8, 0, false, "bf16 joint 256x128 s4") };
struct CfgS3 { CFG_COMMON(bf16, bf16, 128, 128, 64, 3, 2, 2, 64, 32, 64, 4, 2, true, "bf16 128x128 s3 (direct epi) relu2 nnz") };
struct CfgS2 { CFG_COMMON(f16, float, 64, 64, 64, 2, 1, 0, 0, 0, 0, 1, 1, true, "f16>f32 64x64 s2 dense (direct epi) relu nnz") };
struct CfgTf32S { CFG_COMMON(float, float, 64, 128, 32, 3, 1, 1, 128, 16, 0, 2, 0, false, "tf32 64x128 s3 A-only (direct epi)") };
struct CfgTf32 { CFG_COMMON(float, float, 128, 256, 32, 4, 2, 2, 64, 32, 128, 8, 0, false, "tf32 joint a64 k32 b128") };
struct CfgTf32D { CFG_COMMON(float, float, 128, 256, 32, 4, 2, 0, 0, 0, 0, 8, 0, false, "tf32 dense") };
struct CfgTf32F { CFG_COMMON(float, float, 128, 128, 32, 6, 2, 2, 16, 8, 64, 1, 1, true, "tf32 joint a16 k8 b64 relu nnz") };

template <class Cfg>
__global__ void __launch_bounds__(128 * (Cfg::CONSUMERS + 1), 1)
    k_gemm(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_b,
           typename Cfg::Out* __restrict__ C, int M, int N, int K, unsigned int* a_pat, unsigned int* b_pat,
           unsigned int* col_nnz, unsigned int* ctrl, const unsigned int* ones, unsigned int epoch)
{
    tc_wgmma_gemm<Cfg>(&tmap_a, &tmap_b, C, M, N, K, a_pat, b_pat, col_nnz, ctrl, ones, epoch);
}

// ---- data generation (device) -------------------------------------------------------------------
__device__ __host__ inline uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
template <class T> __device__ inline T from_f(float v);
template <> __device__ inline bf16 from_f<bf16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ inline f16 from_f<f16>(float v) { return __float2half_rn(v); }
template <> __device__ inline float from_f<float>(float v) { return v; }

// rows x K (leading dim ld); element (r, k) lives in block ((r + ro) / br, (k + ko) / bk), which is
// nonzero with probability d; nonzero blocks hold uniform(-1, 1) values.
template <class T>
__global__ void k_gen(T* p, int rows, int K, int ld, int br, int bk, int ro, int ko, float d, uint64_t seed)
{
    const size_t total = (size_t)rows * ld;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const int r = (int)(i / ld), k = (int)(i % ld);
        float v = 0.0f;
        if (k < K) {
            const uint64_t blk = mix64(seed ^ mix64(((uint64_t)((r + ro) / br) << 32) | (uint32_t)((k + ko) / bk)));
            const bool on = (double)(blk >> 11) * (1.0 / 9007199254740992.0) < (double)d;
            if (on) {
                const uint64_t h = mix64(seed * 31 + i);
                v = (float)((double)(h >> 11) * (2.0 / 9007199254740992.0) - 1.0);
            }
        }
        p[i] = from_f<T>(v);
    }
}

template <class T> __device__ inline double to_d(T v);
template <> __device__ inline double to_d<bf16>(bf16 v) { return (double)__bfloat162float(v); }
template <> __device__ inline double to_d<f16>(f16 v) { return (double)__half2float(v); }
template <> __device__ inline double to_d<float>(float v) { return (double)v; }

// reference: one warp per output (sample list or all), double accumulation, activation
template <class T>
__global__ void k_ref(const T* A, const T* Bt, int M, int N, int K, int lda, int ldb, const int2* samples, int count,
                      int act, double* out)
{
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (warp >= count) return;
    int r, c;
    if (samples) {
        r = samples[warp].x;
        c = samples[warp].y;
    } else {
        r = warp / N;
        c = warp % N;
    }
    double s = 0.0;
    for (int k = lane; k < K; k += 32) s += to_d<T>(A[(size_t)r * lda + k]) * to_d<T>(Bt[(size_t)c * ldb + k]);
    for (int o = 16; o; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) {
        if (act >= 1) s = s > 0.0 ? s : 0.0;  // fmaxf semantics: ReLU maps NaN to 0
        if (act == 2) s = s * s;
        out[warp] = s;
    }
}

template <class T>
__global__ void k_count_nan(const T* C, size_t n, unsigned long long* cnt)
{
    unsigned long long local = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const double v = to_d<T>(C[i]);
        if (v != v) ++local;
    }
    if (local) atomicAdd(cnt, local);
}

// ---- host helpers -------------------------------------------------------------------------------
static PFN_cuTensorMapEncodeTiled_v12000 g_encode = nullptr;

static void init_encode()
{
    cudaDriverEntryPointQueryResult q;
    void* fn = nullptr;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q));
    if (!fn || q != cudaDriverEntryPointSuccess) {
        fprintf(stderr, "no cuTensorMapEncodeTiled\n");
        exit(2);
    }
    g_encode = (PFN_cuTensorMapEncodeTiled_v12000)fn;
}

template <class T> CUtensorMapDataType dtype_of();
template <> CUtensorMapDataType dtype_of<bf16>() { return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; }
template <> CUtensorMapDataType dtype_of<f16>() { return CU_TENSOR_MAP_DATA_TYPE_FLOAT16; }
template <> CUtensorMapDataType dtype_of<float>() { return CU_TENSOR_MAP_DATA_TYPE_FLOAT32; }

template <class T>
static CUtensorMap encode(const void* ptr, int k, int rows, int ld, int box_k, int box_rows)
{
    CUtensorMap m;
    cuuint64_t dims[2] = { (cuuint64_t)k, (cuuint64_t)rows };
    cuuint64_t strides[1] = { (cuuint64_t)ld * sizeof(T) };
    cuuint32_t box[2] = { (cuuint32_t)box_k, (cuuint32_t)box_rows };
    cuuint32_t es[2] = { 1, 1 };
    CUresult r = g_encode(&m, dtype_of<T>(), 2, const_cast<void*>(ptr), dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                          CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "cuTensorMapEncodeTiled failed %d (k %d rows %d ld %d box %d x %d)\n", (int)r, k, rows, ld, box_k, box_rows);
        exit(2);
    }
    return m;
}

static bool host_nonzero(const void* base, size_t i, int esz)
{
    if (esz == 2) {
        uint16_t b;
        memcpy(&b, (const char*)base + i * 2, 2);
        return (b & 0x7fffu) != 0;
    }
    uint32_t b;
    memcpy(&b, (const char*)base + i * 4, 4);
    return (b & 0x7fffffffu) != 0;
}

// Pattern per the contract: bit (j % 32) of pat[g * words + j / 32] iff the (rows of group g) x
// (k-group j) block holds a nonzero.
static std::vector<unsigned> host_pattern(const std::vector<char>& data, int esz, int rows, int K, int ld, int gran_rows, int k_gran)
{
    const int groups = (K + k_gran - 1) / k_gran, words = (groups + 31) / 32;
    const int rg = (rows + gran_rows - 1) / gran_rows;
    std::vector<unsigned> pat((size_t)rg * words, 0u);
    for (int r = 0; r < rows; ++r) {
        unsigned* prow = &pat[(size_t)(r / gran_rows) * words];
        for (int k = 0; k < K; ++k)
            if (host_nonzero(data.data(), (size_t)r * ld + k, esz)) {
                const int j = k / k_gran;
                prow[j / 32] |= 1u << (j % 32);
                k = std::min(K, (j + 1) * k_gran) - 1;  // rest of this group is decided
            }
    }
    return pat;
}

template <class T> static double h2d(const void* p, size_t i);
template <> double h2d<bf16>(const void* p, size_t i) { return (double)__bfloat162float(((const bf16*)p)[i]); }
template <> double h2d<f16>(const void* p, size_t i) { return (double)__half2float(((const f16*)p)[i]); }
template <> double h2d<float>(const void* p, size_t i) { return (double)((const float*)p)[i]; }

struct Problem {
    int M, N, K;
    float dA, dB;            // block densities
    int abr, abk, bbr, bbk;  // data block sizes (A rows x k; Bt rows(=B cols) x k)
    int aro, ako, bro, bko;  // data block offsets (non-aligned patterns)
    bool nan_in_a;           // put one NaN in A and flag ctrl[2] = epoch
};

struct Buffers {
    void *A = nullptr, *Bt = nullptr, *C = nullptr;
    unsigned *apat = nullptr, *bpat = nullptr, *nnz = nullptr, *ctrl = nullptr, *ones = nullptr;
    size_t capA = 0, capB = 0, capC = 0, capAP = 0, capBP = 0, capN = 0;
};
static Buffers g_buf;
static const size_t GUARD = 4096;  // bytes of poison after C
static const size_t ONES_WORDS = 1 << 20;

static void ensure(void** p, size_t& cap, size_t bytes)
{
    if (bytes <= cap) return;
    if (*p) CK(cudaFree(*p));
    CK(cudaMalloc(p, bytes));
    cap = bytes;
}

static uint64_t g_seed = 12345;

struct Result {
    bool ok;
    double err;
    double ms;
    long nan_bad;
};

template <class Cfg>
static void launch(const CUtensorMap& ta, const CUtensorMap& tb, const Problem& p, unsigned epoch, cudaStream_t st = 0)
{
    using G = TcwGeom<Cfg>;
    static bool attr = false;
    if (!attr) {
        CK(cudaFuncSetAttribute(k_gemm<Cfg>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)G::SMEM_BYTES));
        attr = true;
    }
    dim3 grid((p.N + Cfg::BN - 1) / Cfg::BN, (p.M + Cfg::BM - 1) / Cfg::BM, 1);
    k_gemm<Cfg><<<grid, G::THREADS, G::SMEM_BYTES, st>>>(ta, tb, (typename Cfg::Out*)g_buf.C, p.M, p.N, p.K, g_buf.apat,
                                                         g_buf.bpat, g_buf.nnz, g_buf.ctrl, g_buf.ones, epoch);
}

// Runs one problem through Cfg: generate, patterns, poison, launch, check (full reference when
// M*N <= full_limit, else `samples` sampled entries), optional timing.
template <class Cfg>
static Result run_problem(const Problem& p, bool check, int time_reps, size_t full_limit = 1u << 21, int samples = 8192)
{
    using In = typename Cfg::In;
    using Out = typename Cfg::Out;
    using G = TcwGeom<Cfg>;
    const int esz = sizeof(In);
    const int lda = p.K, ldb = p.K;  // K * esz is a multiple of 16 in every test
    ensure(&g_buf.A, g_buf.capA, (size_t)p.M * lda * esz);
    ensure(&g_buf.Bt, g_buf.capB, (size_t)p.N * ldb * esz);
    const size_t cbytes = (size_t)p.M * p.N * sizeof(Out);
    ensure(&g_buf.C, g_buf.capC, cbytes + GUARD);
    ensure((void**)&g_buf.nnz, g_buf.capN, (size_t)p.N * 4);
    if (!g_buf.ctrl) {
        CK(cudaMalloc(&g_buf.ctrl, 16));
        CK(cudaMemset(g_buf.ctrl, 0, 16));
        CK(cudaMalloc(&g_buf.ones, ONES_WORDS * 4));
        CK(cudaMemset(g_buf.ones, 0xFF, ONES_WORDS * 4));
    }
    const uint64_t seed = mix64(g_seed++);
    k_gen<In><<<1024, 256>>>((In*)g_buf.A, p.M, p.K, lda, p.abr, p.abk, p.aro, p.ako, p.dA, seed);
    k_gen<In><<<1024, 256>>>((In*)g_buf.Bt, p.N, p.K, ldb, p.bbr, p.bbk, p.bro, p.bko, p.dB, seed ^ 0xABCDEF);
    CK(cudaGetLastError());
    if (p.nan_in_a) {
        const int r = p.M / 2, k = p.K / 3;
        In nanv;
        if (esz == 2) {
            uint16_t b = 0x7fc1;
            memcpy(&nanv, &b, 2);
        } else {
            uint32_t b = 0x7fc00001u;
            memcpy(&nanv, &b, 4);
        }
        CK(cudaMemcpy((In*)g_buf.A + (size_t)r * lda + k, &nanv, esz, cudaMemcpyHostToDevice));
    }
    unsigned epoch = (unsigned)(g_seed * 2 + 1);
    if (G::SP) {
        std::vector<char> hA((size_t)p.M * lda * esz), hB((size_t)p.N * ldb * esz);
        CK(cudaMemcpy(hA.data(), g_buf.A, hA.size(), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(hB.data(), g_buf.Bt, hB.size(), cudaMemcpyDeviceToHost));
        auto ap = host_pattern(hA, esz, p.M, p.K, lda, G::AR, G::KG);
        ensure((void**)&g_buf.apat, g_buf.capAP, ap.size() * 4);
        CK(cudaMemcpy(g_buf.apat, ap.data(), ap.size() * 4, cudaMemcpyHostToDevice));
        if (G::SP == 2) {
            auto bp = host_pattern(hB, esz, p.N, p.K, ldb, G::BC, G::KG);
            ensure((void**)&g_buf.bpat, g_buf.capBP, bp.size() * 4);
            CK(cudaMemcpy(g_buf.bpat, bp.data(), bp.size() * 4, cudaMemcpyHostToDevice));
        }
    }
    const unsigned flag = p.nan_in_a ? epoch : 0u;
    CK(cudaMemcpy(g_buf.ctrl + 2, &flag, 4, cudaMemcpyHostToDevice));
    CUtensorMap ta = encode<In>(g_buf.A, p.K, p.M, lda, Cfg::BK, 64);
    CUtensorMap tb = encode<In>(g_buf.Bt, p.K, p.N, ldb, Cfg::BK, G::NCHUNK);

    CK(cudaMemset(g_buf.C, 0xFF, cbytes + GUARD));
    CK(cudaMemset(g_buf.nnz, 0, (size_t)p.N * 4));
    launch<Cfg>(ta, tb, p, epoch);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());

    Result res { true, 0.0, 0.0, 0 };
    if (check) {
        // guard bytes untouched
        std::vector<unsigned char> guard(GUARD);
        CK(cudaMemcpy(guard.data(), (char*)g_buf.C + cbytes, GUARD, cudaMemcpyDeviceToHost));
        for (unsigned char g : guard)
            if (g != 0xFF) {
                res.ok = false;
                printf("  guard region written!\n");
                break;
            }
        const size_t mn = (size_t)p.M * p.N;
        const bool full = mn <= full_limit;
        const int count = full ? (int)mn : samples;
        std::vector<int2> smp;
        int2* dsmp = nullptr;
        if (!full) {
            smp.resize(count);
            uint64_t s = seed;
            for (int i = 0; i < count; ++i) {
                s = mix64(s);
                smp[i] = make_int2((int)(s % p.M), (int)((s >> 32) % p.N));
            }
            if (p.nan_in_a) smp[0] = make_int2(p.M / 2, p.N - 1);
            CK(cudaMalloc(&dsmp, count * sizeof(int2)));
            CK(cudaMemcpy(dsmp, smp.data(), count * sizeof(int2), cudaMemcpyHostToDevice));
        }
        double* dref;
        CK(cudaMalloc(&dref, (size_t)count * 8));
        k_ref<In><<<(count + 7) / 8, 256>>>((const In*)g_buf.A, (const In*)g_buf.Bt, p.M, p.N, p.K, lda, ldb, dsmp, count,
                                            Cfg::ACT, dref);
        CK(cudaGetLastError());
        std::vector<double> ref(count);
        CK(cudaMemcpy(ref.data(), dref, (size_t)count * 8, cudaMemcpyDeviceToHost));
        CK(cudaFree(dref));
        if (dsmp) CK(cudaFree(dsmp));
        std::vector<Out> hc(mn);
        CK(cudaMemcpy(hc.data(), g_buf.C, cbytes, cudaMemcpyDeviceToHost));
        double num = 0.0, den = 0.0;
        long nan_bad = 0;
        for (int i = 0; i < count; ++i) {
            const size_t idx = full ? (size_t)i : (size_t)smp[i].x * p.N + smp[i].y;
            const double c = h2d<Out>(hc.data(), idx), r = ref[i];
            const bool cn = c != c, rn = r != r;
            if (cn != rn) {
                ++nan_bad;
                continue;
            }
            if (cn) continue;
            num += (c - r) * (c - r);
            den += r * r;
        }
        // every in-range element written (poison is NaN): count NaNs over all of C
        unsigned long long* dcnt;
        CK(cudaMalloc(&dcnt, 8));
        CK(cudaMemset(dcnt, 0, 8));
        k_count_nan<Out><<<1024, 256>>>((const Out*)g_buf.C, mn, dcnt);
        unsigned long long nans = 0;
        CK(cudaMemcpy(&nans, dcnt, 8, cudaMemcpyDeviceToHost));
        CK(cudaFree(dcnt));
        const unsigned long long expect_nans = (p.nan_in_a && Cfg::ACT == 0) ? (unsigned long long)p.N : 0ull;
        if (nans != expect_nans) {
            printf("  NaN count %llu, expected %llu\n", nans, expect_nans);
            res.ok = false;
        }
        res.err = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        res.nan_bad = nan_bad;
        const double tol = G::TY == 2 ? 3e-3 : (sizeof(Out) == 4 ? 1e-5 : (G::TY == 1 ? 2e-3 : 6e-3));
        if (nan_bad || !(res.err <= tol)) res.ok = false;
        if (Cfg::COL_NNZ) {
            std::vector<unsigned> nnz(p.N), hn(p.N, 0u);
            CK(cudaMemcpy(nnz.data(), g_buf.nnz, (size_t)p.N * 4, cudaMemcpyDeviceToHost));
            const int esz_out = sizeof(Out);
            for (int r = 0; r < p.M; ++r)
                for (int c = 0; c < p.N; ++c) hn[c] += host_nonzero(hc.data(), (size_t)r * p.N + c, esz_out) ? 1u : 0u;
            long bad = 0;
            for (int c = 0; c < p.N; ++c) bad += nnz[c] != hn[c];
            if (bad) {
                printf("  col_nnz mismatch in %ld columns\n", bad);
                res.ok = false;
            }
        }
    }
    if (time_reps > 0) {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        for (int i = 0; i < 3; ++i) launch<Cfg>(ta, tb, p, epoch);
        std::vector<float> t(time_reps);
        for (int i = 0; i < time_reps; ++i) {
            CK(cudaEventRecord(e0));
            launch<Cfg>(ta, tb, p, epoch);
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            CK(cudaEventElapsedTime(&t[i], e0, e1));
        }
        CK(cudaGetLastError());
        std::sort(t.begin(), t.end());
        res.ms = t[time_reps / 2];
        CK(cudaEventDestroy(e0));
        CK(cudaEventDestroy(e1));
    }
    return res;
}

static int g_fail = 0, g_total = 0;

template <class Cfg>
static void check_one(const Problem& p, const char* what)
{
    Result r = run_problem<Cfg>(p, true, 0);
    ++g_total;
    if (!r.ok) ++g_fail;
    printf("%-4s %-44s %5dx%5dx%5d dA %.3f dB %.3f %-22s err %.2e nanbad %ld\n", r.ok ? "ok" : "FAIL", Cfg::NAME, p.M, p.N,
           p.K, p.dA, p.dB, what, r.err, r.nan_bad);
    fflush(stdout);
}

static const int SHAPES[][3] = { { 1, 1, 8 },     { 17, 33, 40 },     { 65, 129, 72 },  { 333, 777, 1000 },
                                 { 1000, 1003, 1032 }, { 256, 512, 512 }, { 129, 300, 264 } };

static Problem mk(int M, int N, int K, float dA, float dB, bool unaligned = false, bool nan = false)
{
    Problem p { M, N, K, dA, dB, 64, 64, 128, 64, 0, 0, 0, 0, nan };
    if (unaligned) {
        p.abr = 48; p.abk = 40; p.bbr = 72; p.bbk = 24;
        p.aro = 7; p.ako = 13; p.bro = 29; p.bko = 5;
    }
    return p;
}

template <class Cfg>
static void check_cfg(bool small_only)
{
    const int nshapes = small_only ? 3 : (int)(sizeof(SHAPES) / sizeof(SHAPES[0]));
    for (int s = 0; s < nshapes; ++s) {
        const int M = SHAPES[s][0], N = SHAPES[s][1], K = SHAPES[s][2];
        check_one<Cfg>(mk(M, N, K, 1.0f, 1.0f), "all dense");
        check_one<Cfg>(mk(M, N, K, 0.5f, 0.5f), "blocks d=0.5");
        if (!small_only) {
            check_one<Cfg>(mk(M, N, K, 0.3f, 0.6f, true), "unaligned blocks");
            check_one<Cfg>(mk(M, N, K, 0.0f, 1.0f), "A all zero");
        }
    }
}

static void check_all()
{
    check_cfg<CfgDense>(false);
    check_cfg<CfgJoint>(false);
    check_cfg<CfgFine>(false);
    check_cfg<CfgOne>(false);
    check_cfg<CfgF16>(false);
    check_cfg<CfgB32>(false);
    check_cfg<CfgJ256>(false);
    check_cfg<CfgS3>(false);
    check_cfg<CfgS2>(false);
    check_cfg<CfgTf32S>(false);
    check_cfg<CfgD256>(true);
    check_cfg<CfgTf32>(false);
    check_cfg<CfgTf32D>(false);
    check_cfg<CfgTf32F>(false);
    // NaN in A with ones fallback: the NaN's B partner blocks are zero in half the columns; the
    // whole row must still be NaN (dense IEEE).
    check_one<CfgJoint>(mk(333, 777, 1000, 0.5f, 0.5f, false, true), "NaN in A, fallback");
    check_one<CfgJoint>(mk(1000, 1003, 1032, 0.3f, 0.3f, true, true), "NaN in A, fallback");
    check_one<CfgFine>(mk(333, 777, 1000, 0.5f, 0.5f, false, true), "NaN, relu2 (fmax->0)");
    check_one<CfgDense>(mk(1000, 1003, 1032, 0.5f, 0.5f, false, true), "NaN in A, dense");
    check_one<CfgTf32>(mk(333, 777, 1000, 0.5f, 0.5f, false, true), "NaN in A, fallback");
    // a larger odd shape, sampled
    check_one<CfgJoint>(mk(3000, 2500, 2056, 0.4f, 0.6f), "large odd sampled");
    check_one<CfgDense>(mk(3000, 2500, 2056, 1.0f, 1.0f), "large odd sampled");
}

static void sanitize()
{
    check_one<CfgJoint>(mk(65, 129, 72, 0.5f, 0.5f), "sanitize");
    check_one<CfgJoint>(mk(130, 300, 200, 0.5f, 0.5f, true), "sanitize");
    check_one<CfgDense>(mk(65, 129, 72, 1.0f, 1.0f), "sanitize");
    check_one<CfgFine>(mk(130, 300, 200, 0.5f, 0.5f), "sanitize");
    check_one<CfgTf32>(mk(65, 129, 72, 0.5f, 0.5f), "sanitize");
    check_one<CfgS3>(mk(130, 300, 200, 0.5f, 0.5f, true), "sanitize");
    check_one<CfgS2>(mk(65, 129, 72, 1.0f, 1.0f), "sanitize");
}

struct Row {
    std::string name;
    int M, N, K;
    float d;
    double ms, tflops, err;
    bool ok;
};
static std::vector<Row> g_rows;

template <class Cfg>
static void bench_one(int M, int N, int K, float d, int reps)
{
    Problem p = mk(M, N, K, d, d);
    Result r = run_problem<Cfg>(p, true, reps, 0, 4096);
    const double tf = 2.0 * M * N * (double)K / (r.ms * 1e-3) / 1e12;
    g_rows.push_back({ Cfg::NAME, M, N, K, d, r.ms, tf, r.err, r.ok });
    if (!r.ok) ++g_fail;
    ++g_total;
    printf("%-4s %-30s %5dx%5dx%5d d %.3f  %.4f ms  %6.1f TFLOP/s(dense-equiv)  err %.2e\n", r.ok ? "ok" : "FAIL", Cfg::NAME,
           M, N, K, d, r.ms, tf, r.err);
    fflush(stdout);
}

static void bench(bool quick)
{
    const int shapes[][3] = { { 4096, 4096, 4096 }, { 8192, 8192, 8192 }, { 2048, 11008, 4096 } };
    const float dens[] = { 1.0f, 0.875f, 0.75f, 0.5f, 0.25f, 0.125f, 0.0f };
    const int nshapes = quick ? 1 : 3;
    for (int s = 0; s < nshapes; ++s) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        bench_one<CfgDense>(M, N, K, 1.0f, 30);
        for (float d : dens) bench_one<CfgJoint>(M, N, K, d, 30);
        if (s == 0 && !quick)
            for (float d : dens) bench_one<CfgJ128>(M, N, K, d, 30);
        if (!quick) {
            bench_one<CfgD256>(M, N, K, 1.0f, 30);
            for (float d : dens) bench_one<CfgJ256>(M, N, K, d, 30);
        }
    }
    if (quick) return;
    bench_one<CfgTf32D>(4096, 4096, 4096, 1.0f, 20);
    bench_one<CfgTf32>(4096, 4096, 4096, 1.0f, 20);
    bench_one<CfgTf32>(4096, 4096, 4096, 0.5f, 20);
    printf("\n%-30s %17s %6s %9s %8s\n", "kernel", "MxNxK", "d", "ms", "TFLOP/s");
    for (auto& r : g_rows)
        printf("%-30s %5dx%5dx%5d %6.3f %9.4f %8.1f%s\n", r.name.c_str(), r.M, r.N, r.K, r.d, r.ms, r.tflops, r.ok ? "" : " FAIL");
}

int main(int argc, char** argv)
{
    init_encode();
    const std::string mode = argc > 1 ? argv[1] : "check";
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    if (mode == "check") check_all();
    else if (mode == "sanitize") sanitize();
    else if (mode == "bench") bench(argc > 2 && std::string(argv[2]) == "quick");
    else if (mode == "repeat") {  // spread between seeds / runs at a few densities
        for (int i = 0; i < 3; ++i)
            for (float d : { 0.75f, 0.5f, 0.25f }) bench_one<CfgJoint>(4096, 4096, 4096, d, 30);
        bench_one<CfgDense>(4096, 4096, 4096, 1.0f, 30);
        bench_one<CfgDense>(4096, 4096, 4096, 1.0f, 30);
        printf("\n");
        for (auto& r : g_rows)
            printf("repeat %-30s %5dx%5dx%5d %6.3f %9.4f %8.1f%s\n", r.name.c_str(), r.M, r.N, r.K, r.d, r.ms, r.tflops, r.ok ? "" : " FAIL");
    }
    else if (mode == "all") {
        check_all();
        bench(false);
    }
    printf("%s: %d of %d passed\n", mode.c_str(), g_total - g_fail, g_total);
    return g_fail ? 1 : 0;
}
