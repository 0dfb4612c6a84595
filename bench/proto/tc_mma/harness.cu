// Standalone correctness + timing harness for templates/tc/mma.cuh (family tc, mma.sync path).
// Build: see run.sh. Usage: harness [check|small|time|all]
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../../templates/tc/mma.cuh"

#define CK(x)                                                                                  \
    do {                                                                                       \
        cudaError_t e_ = (x);                                                                  \
        if (e_ != cudaSuccess) {                                                               \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
            exit(2);                                                                           \
        }                                                                                      \
    } while (0)

using bf16 = __nv_bfloat16;
using f16 = __half;

template <class IN, class OUT, int BM_, int BN_, int BK_, int WM_, int WN_, int ST_, int SP_, int AR_, int KG_, int BC_,
          int GM_, int ACT_, bool NNZ_, int MINB_>
struct Cf {
    using In = IN;
    using Out = OUT;
    static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_, STAGES = ST_, SPARSITY = SP_;
    static constexpr int A_ROWS = AR_, K_GRAN = KG_, B_COLS = BC_, GROUP_M = GM_, ACT = ACT_;
    static constexpr bool COL_NNZ = NNZ_;
    static constexpr int MINB = MINB_;
};

template <class Cfg>
__global__ void __launch_bounds__(TcmGeom<Cfg>::THREADS, Cfg::MINB)
    gemm_kernel(const typename Cfg::In* __restrict__ A, const typename Cfg::In* __restrict__ B,
                typename Cfg::Out* __restrict__ C, int M, int N, int K, int lda, int ldb, unsigned* a_pat,
                unsigned* b_pat, unsigned* col_nnz, unsigned* ctrl, const unsigned* ones, unsigned epoch)
{
    tc_mma_gemm<Cfg>(A, B, C, M, N, K, lda, ldb, a_pat, b_pat, col_nnz, ctrl, ones, epoch);
}

// ---- host helpers -------------------------------------------------------------------------------
__host__ __device__ inline float h2f(bf16 v) { return __bfloat162float(v); }
__host__ __device__ inline float h2f(f16 v) { return __half2float(v); }
__host__ __device__ inline float h2f(float v) { return v; }
template <class T> static inline T f2h(float v);
template <> inline bf16 f2h<bf16>(float v) { return __float2bfloat16_rn(v); }
template <> inline f16 f2h<f16>(float v) { return __float2half_rn(v); }
template <> inline float f2h<float>(float v) { return v; }
template <class T> static inline bool nz_bits(T v)
{
    if constexpr (sizeof(T) == 4) {
        uint32_t b;
        memcpy(&b, &v, 4);
        return (b & 0x7fffffffu) != 0;
    } else {
        uint16_t b;
        memcpy(&b, &v, 2);
        return (b & 0x7fffu) != 0;
    }
}

static uint64_t g_seed = 0x12345678abcdefull;
static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static inline double u01(uint64_t h) { return (h >> 11) * (1.0 / 9007199254740992.0); }

struct Sparsity {
    double d = 1.0;  // probability a block is kept
    int ar = 64, ak = 64, aor = 0, aok = 0;    // A zero blocks: rows x k, offsets
    int bk = 64, bc = 128, bok = 0, boc = 0;   // B zero blocks: k x cols, offsets
    bool zeroA = false;
};
static Sparsity aligned(double d)
{
    Sparsity s;
    s.d = d;
    return s;
}
static Sparsity unaligned(double d)
{
    Sparsity s;
    s.d = d;
    s.ar = 48; s.ak = 40; s.aor = 13; s.aok = 7;
    s.bk = 40; s.bc = 96; s.bok = 5; s.boc = 30;
    return s;
}

template <class In>
struct Problem {
    int M, N, K, lda, ldb;
    std::vector<In> A, B;
    In *dA = nullptr, *dB = nullptr;
    double* dRef = nullptr;  // raw double A*B (no activation), computed on the GPU
    std::vector<double> ref;
    int nan_r = -1, nan_k = -1;
};

__global__ void fill_nan_kernel(unsigned* p, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = 0xffffffffu;
}

template <class In>
__global__ void ref_kernel(const In* A, const In* B, double* C, int M, int N, int K, int lda, int ldb)
{
    __shared__ double sa[16][17], sb[16][17];
    const int r = blockIdx.y * 16 + threadIdx.y, c = blockIdx.x * 16 + threadIdx.x;
    double s = 0.0;
    for (int k0 = 0; k0 < K; k0 += 16) {
        const int ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
        sa[threadIdx.y][threadIdx.x] = (r < M && ka < K) ? (double)h2f(A[(size_t)r * lda + ka]) : 0.0;
        sb[threadIdx.y][threadIdx.x] = (kb < K && c < N) ? (double)h2f(B[(size_t)kb * ldb + c]) : 0.0;
        __syncthreads();
        const int kn = min(16, K - k0);
        for (int k = 0; k < kn; ++k) s += sa[threadIdx.y][k] * sb[k][threadIdx.x];
        __syncthreads();
    }
    if (r < M && c < N) C[(size_t)r * N + c] = s;
}

// Generates A (M x lda, NaN in the padding columns) and B (K x ldb, NaN padding), block-sparse.
template <class In>
static void make_problem(Problem<In>& p, int M, int N, int K, const Sparsity& sp, bool nan_inf)
{
    p.M = M; p.N = N; p.K = K;
    p.lda = (K + 7) / 8 * 8;
    p.ldb = (N + 7) / 8 * 8;
    p.A.assign((size_t)M * p.lda, f2h<In>(NAN));
    p.B.assign((size_t)K * p.ldb, f2h<In>(NAN));
    const uint64_t seed = mix(g_seed++);
    for (int r = 0; r < M; ++r) {
        for (int k = 0; k < K; ++k) {
            bool keep = !sp.zeroA;
            if (keep && sp.d < 1.0) keep = u01(mix(seed ^ mix(((uint64_t)((r + sp.aor) / sp.ar) << 32) + (k + sp.aok) / sp.ak))) < sp.d;
            p.A[(size_t)r * p.lda + k] = keep ? f2h<In>((float)(2.0 * u01(mix(seed + 1 + (size_t)r * K + k)) - 1.0)) : f2h<In>(0.0f);
        }
    }
    const uint64_t seedb = mix(seed + 77);
    for (int k = 0; k < K; ++k) {
        for (int c = 0; c < N; ++c) {
            bool keep = true;
            if (sp.d < 1.0) keep = u01(mix(seedb ^ mix(((uint64_t)((k + sp.bok) / sp.bk) << 32) + (c + sp.boc) / sp.bc))) < sp.d;
            p.B[(size_t)k * p.ldb + c] = keep ? f2h<In>((float)(2.0 * u01(mix(seedb + 3 + (size_t)k * N + c)) - 1.0)) : f2h<In>(0.0f);
        }
    }
    p.nan_r = p.nan_k = -1;
    if (nan_inf) {
        // An Inf in A at a k whose B row has zeros (in a zero block if any): 0 * Inf = NaN must appear.
        int kpick = K / 2;
        for (int k = 0; k < K; ++k) {
            int zeros = 0;
            for (int c = 0; c < N; ++c) zeros += !nz_bits(p.B[(size_t)k * p.ldb + c]);
            if (zeros > 0) { kpick = k; break; }
        }
        p.nan_r = M / 2;
        p.nan_k = kpick;
        p.A[(size_t)p.nan_r * p.lda + kpick] = f2h<In>(INFINITY);
        if (M > 2) p.A[(size_t)(M / 3) * p.lda + (K - 1) / 3] = f2h<In>(NAN);
    }
    CK(cudaMalloc(&p.dA, p.A.size() * sizeof(In)));
    CK(cudaMalloc(&p.dB, p.B.size() * sizeof(In)));
    CK(cudaMalloc(&p.dRef, (size_t)M * N * sizeof(double)));
    CK(cudaMemcpy(p.dA, p.A.data(), p.A.size() * sizeof(In), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(p.dB, p.B.data(), p.B.size() * sizeof(In), cudaMemcpyHostToDevice));
    dim3 g((N + 15) / 16, (M + 15) / 16), b(16, 16);
    ref_kernel<In><<<g, b>>>(p.dA, p.dB, p.dRef, M, N, K, p.lda, p.ldb);
    CK(cudaGetLastError());
    p.ref.resize((size_t)M * N);
    CK(cudaMemcpy(p.ref.data(), p.dRef, p.ref.size() * sizeof(double), cudaMemcpyDeviceToHost));
}
template <class In>
static void free_problem(Problem<In>& p)
{
    cudaFree(p.dA); cudaFree(p.dB); cudaFree(p.dRef);
    p.dA = p.dB = nullptr; p.dRef = nullptr;
}

// Patterns per the contract, from the data.
template <class Cfg, class In>
static void host_patterns(const Problem<In>& p, std::vector<unsigned>& ap, std::vector<unsigned>& bp, int& words)
{
    const int groups = (p.K + Cfg::K_GRAN - 1) / Cfg::K_GRAN;
    words = (groups + 31) / 32;
    const int rg = (p.M + Cfg::A_ROWS - 1) / Cfg::A_ROWS, cg = (p.N + Cfg::B_COLS - 1) / Cfg::B_COLS;
    ap.assign((size_t)rg * words, 0u);
    bp.assign((size_t)cg * words, 0u);
    for (int r = 0; r < p.M; ++r)
        for (int k = 0; k < p.K; ++k)
            if (nz_bits(p.A[(size_t)r * p.lda + k])) {
                const int j = k / Cfg::K_GRAN;
                ap[(size_t)(r / Cfg::A_ROWS) * words + j / 32] |= 1u << (j % 32);
            }
    for (int k = 0; k < p.K; ++k)
        for (int c = 0; c < p.N; ++c)
            if (nz_bits(p.B[(size_t)k * p.ldb + c])) {
                const int j = k / Cfg::K_GRAN;
                bp[(size_t)(c / Cfg::B_COLS) * words + j / 32] |= 1u << (j % 32);
            }
}

static double act_ref(double x, int act)
{
    if (act == 0) return x;
    const double r = x < 0.0 ? 0.0 : x;  // NaN stays NaN
    return act == 1 ? r : r * r;
}

struct Launch {
    float ms = 0.f;
    bool ok = true;
    double err = 0.0;
    double active_frac = 1.0;
};

template <class Cfg, class In>
static Launch run_cfg(const char* name, Problem<In>& p, bool nan_flag, int reps, bool verify)
{
    using Out = typename Cfg::Out;
    using Gm = TcmGeom<Cfg>;
    std::vector<unsigned> ap, bp;
    int words;
    host_patterns<Cfg>(p, ap, bp, words);
    const size_t onesn = std::max(ap.size(), bp.size()) + 64;
    std::vector<unsigned> ones(onesn, 0xffffffffu);
    unsigned *dap, *dbp, *dones, *dctrl, *dnnz;
    CK(cudaMalloc(&dap, ap.size() * 4));
    CK(cudaMalloc(&dbp, bp.size() * 4));
    CK(cudaMalloc(&dones, onesn * 4));
    CK(cudaMalloc(&dctrl, 16));
    CK(cudaMalloc(&dnnz, (size_t)p.N * 4));
    CK(cudaMemcpy(dap, ap.data(), ap.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dbp, bp.data(), bp.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dones, ones.data(), onesn * 4, cudaMemcpyHostToDevice));
    const unsigned epoch = 7;
    unsigned ctrl[4] = {0, 0, nan_flag ? epoch : 3u, 0};
    CK(cudaMemcpy(dctrl, ctrl, 16, cudaMemcpyHostToDevice));
    CK(cudaMemset(dnnz, 0, (size_t)p.N * 4));
    const size_t cn = (size_t)p.M * p.N, guard = 1024;
    Out* dC;
    const size_t cwords = ((cn + guard) * sizeof(Out) + 3) / 4;
    CK(cudaMalloc(&dC, cwords * 4));
    fill_nan_kernel<<<256, 256>>>(reinterpret_cast<unsigned*>(dC), cwords);
    CK(cudaGetLastError());

    // fraction of active (tile, k-step) pairs, for the report
    Launch L;
    {
        const int tm = (p.M + Cfg::BM - 1) / Cfg::BM, tn = (p.N + Cfg::BN - 1) / Cfg::BN, ns = (p.K + Cfg::BK - 1) / Cfg::BK;
        long act = 0;
        for (int i = 0; i < tm; ++i)
            for (int j = 0; j < tn; ++j)
                for (int s = 0; s < ns; ++s) {
                    bool any = false;
                    const int G = Cfg::BK / Cfg::K_GRAN > 0 ? Cfg::BK / Cfg::K_GRAN : 1;
                    for (int kg = s * G; kg < (s + 1) * G && kg * Cfg::K_GRAN < p.K && !any; ++kg) {
                        unsigned a = 0, b = 0;
                        for (int r = i * Cfg::BM; r < std::min(p.M, (i + 1) * Cfg::BM); r += 1)
                            a |= ap[(size_t)(r / Cfg::A_ROWS) * words + kg / 32];
                        for (int c = j * Cfg::BN; c < std::min(p.N, (j + 1) * Cfg::BN); c += 1)
                            b |= bp[(size_t)(c / Cfg::B_COLS) * words + kg / 32];
                        if (Cfg::SPARSITY == 0) any = true;
                        else if (Cfg::SPARSITY == 1) any = (a >> (kg % 32)) & 1;
                        else any = (a & b) >> (kg % 32) & 1;
                    }
                    act += any;
                }
        L.active_frac = (double)act / ((double)tm * tn * ns);
    }

    auto kern = gemm_kernel<Cfg>;
    CK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Gm::SMEM_BYTES));
    dim3 grid((p.N + Cfg::BN - 1) / Cfg::BN, (p.M + Cfg::BM - 1) / Cfg::BM, 1);
    auto launch = [&]() {
        kern<<<grid, Gm::THREADS, Gm::SMEM_BYTES>>>(p.dA, p.dB, dC, p.M, p.N, p.K, p.lda, p.ldb, dap, dbp, dnnz, dctrl,
                                                    dones, epoch);
    };
    launch();
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());

    if (verify) {
        std::vector<Out> hc(cn + guard);
        std::vector<unsigned> hn(p.N);
        CK(cudaMemcpy(hc.data(), dC, (cn + guard) * sizeof(Out), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(hn.data(), dnnz, (size_t)p.N * 4, cudaMemcpyDeviceToHost));
        // guard untouched
        const unsigned char* gb = reinterpret_cast<const unsigned char*>(hc.data() + cn);
        for (size_t i = 0; i < guard * sizeof(Out); ++i)
            if (gb[i] != 0xff) {
                printf("  [%s] FAIL: write past the end of C (byte %zu)\n", name, i);
                L.ok = false;
                break;
            }
        double e2 = 0, r2 = 0, maxabs = 0;
        long bad_class = 0, nonfin = 0;
        std::vector<unsigned> cnt(p.N, 0);
        for (int r = 0; r < p.M; ++r)
            for (int c = 0; c < p.N; ++c) {
                const size_t i = (size_t)r * p.N + c;
                const double ref = act_ref(p.ref[i], Cfg::ACT);
                const double got = h2f(hc[i]);
                cnt[c] += nz_bits(hc[i]);
                if (!std::isfinite(ref)) {
                    ++nonfin;
                    const bool same = std::isnan(ref) ? std::isnan(got) : (got == ref);
                    if (!same) ++bad_class;
                } else if (!std::isfinite(got)) {
                    // Out overflow is impossible for these magnitudes; an unwritten NaN lands here.
                    ++bad_class;
                } else {
                    e2 += (got - ref) * (got - ref);
                    r2 += ref * ref;
                    maxabs = std::max(maxabs, std::fabs(got - ref));
                }
            }
        double tol;
        if constexpr (sizeof(In) == 4) tol = 1.5e-3;              // tf32 inputs (cvt.rna): ~3e-4 expected
        else if constexpr (__is_same(Out, bf16)) tol = 6e-3;      // bf16 output rounding ~1.5e-3 rms
        else if constexpr (__is_same(Out, f16)) tol = 1.5e-3;     // f16 output rounding ~2e-4 rms
        else tol = 1e-5;                                          // exact products, fp32 accumulation
        L.err = r2 > 0 ? std::sqrt(e2 / r2) : std::sqrt(e2);
        if (r2 == 0 && maxabs != 0) L.ok = false;
        if (!(L.err <= tol)) L.ok = false;
        if (bad_class) {
            printf("  [%s] FAIL: %ld elements with wrong non-finite class (ref non-finite: %ld)\n", name, bad_class, nonfin);
            L.ok = false;
        }
        if (nan_flag && nonfin == 0) {
            printf("  [%s] FAIL: NaN test produced no non-finite reference values\n", name);
            L.ok = false;
        }
        if (Cfg::COL_NNZ) {
            long badc = 0;
            for (int c = 0; c < p.N; ++c) badc += cnt[c] != hn[c];
            if (badc) {
                printf("  [%s] FAIL: col_nnz wrong in %ld columns\n", name, badc);
                L.ok = false;
            }
        }
        if (!L.ok) printf("  [%s] FAIL M=%d N=%d K=%d relerr=%.3g tol=%.1g\n", name, p.M, p.N, p.K, L.err, tol);
    }
    if (reps > 0) {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        for (int i = 0; i < 5; ++i) launch();
        std::vector<float> ts;
        for (int i = 0; i < reps; ++i) {
            CK(cudaEventRecord(e0));
            launch();
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            ts.push_back(ms);
        }
        CK(cudaGetLastError());
        std::sort(ts.begin(), ts.end());
        L.ms = ts[ts.size() / 2];
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
    }
    cudaFree(dap); cudaFree(dbp); cudaFree(dones); cudaFree(dctrl); cudaFree(dnnz); cudaFree(dC);
    return L;
}

// ---- configurations ---------------------------------------------------------------------------------
//                 In     Out    BM   BN  BK  WM  WN  ST SP  AR  KG  BC  GM ACT NNZ MINB
using K1  = Cf<bf16,  bf16,  128, 128, 64, 64, 32, 4, 2,  64, 64, 128, 8, 0, false, 2>;
using K2  = Cf<bf16,  bf16,  128, 256, 64, 64, 64, 3, 2,  64, 64, 128, 8, 0, false, 1>;
using K3  = Cf<bf16,  bf16,  256, 128, 64, 64, 64, 3, 2, 256, 64, 256, 8, 0, false, 1>;
using K4  = Cf<bf16,  bf16,   64, 128, 64, 32, 64, 4, 2,  16, 32,  32, 1, 0, false, 2>;  // small M
using K5  = Cf<f16,   f16,   128, 128, 32, 64, 32, 4, 1,  32, 16,  64, 8, 1, true,  2>;
using K6  = Cf<bf16,  float, 128, 128, 32, 64, 32, 4, 0,  64, 32, 128, 8, 2, false, 2>;
using K7  = Cf<float, float, 128, 128, 32, 64, 32, 3, 2,  64, 32, 128, 8, 0, false, 2>;
using K8  = Cf<float, float,  64, 128, 32, 32, 64, 3, 2,  64,  8, 128, 4, 2, true,  2>;
using K9  = Cf<bf16,  bf16,  128, 128, 64, 64, 32, 4, 2,  64, 64, 128, 8, 2, true,  2>;
using K10 = Cf<bf16,  bf16,  128, 128, 32, 64, 32, 4, 2,  64, 32, 128, 8, 0, false, 2>;
struct K11 : K2 { static constexpr bool WARP_SKIP = true; };  // per-warp skipping
struct K12 : K4 { static constexpr bool WARP_SKIP = true; };
struct K13 : K8 { static constexpr bool WARP_SKIP = true; };
struct K14 : K5 { static constexpr bool WARP_SKIP = true; };
// dense (SPARSITY 0) timing variants
using D1  = Cf<bf16,  bf16,  128, 128, 64, 64, 32, 4, 0,  64, 64, 128, 8, 0, false, 2>;
using D2  = Cf<bf16,  bf16,  128, 256, 64, 64, 64, 3, 0,  64, 64, 128, 8, 0, false, 1>;
using D3  = Cf<bf16,  bf16,  256, 128, 64, 64, 64, 3, 0,  64, 64, 128, 8, 0, false, 1>;
using D7  = Cf<float, float, 128, 128, 32, 64, 32, 3, 0,  64, 32, 128, 8, 0, false, 2>;
// sweep candidates (joint sparsity, A 64 rows x K_GRAN, B 128 columns)
using E1  = Cf<bf16,  bf16,  128, 256, 32, 64, 64, 4, 2,  64, 32, 128, 8, 0, false, 1>;
using E2  = Cf<bf16,  bf16,  256, 128, 64, 64, 64, 4, 2,  64, 64, 128, 8, 0, false, 1>;
using E3  = Cf<bf16,  bf16,  256, 128, 32, 64, 32, 4, 2,  64, 32, 128, 8, 0, false, 1>;  // 16 warps
using E4  = Cf<bf16,  bf16,  128, 128, 32, 64, 64, 4, 2,  64, 32, 128, 8, 0, false, 2>;  // 4 warps
using E5  = Cf<bf16,  bf16,  128, 256, 64, 64, 64, 4, 2,  64, 64, 128, 8, 0, false, 1>;

static int g_fail = 0, g_pass = 0;

template <class Cfg, class In>
static void chk(const char* name, Problem<In>& p, bool nan_flag, const char* what)
{
    Launch L = run_cfg<Cfg>(name, p, nan_flag, 0, true);
    if (L.ok) ++g_pass; else ++g_fail;
    printf("%-4s %-22s M=%-5d N=%-5d K=%-5d active=%.3f relerr=%.2e %s\n", name, what, p.M, p.N, p.K, L.active_frac,
           L.err, L.ok ? "ok" : "FAIL");
}

template <class In, class... Cfgs>
struct CheckSet {
    static void run(const char* const* names, int M, int N, int K, const Sparsity& sp, bool nan, const char* what)
    {
        Problem<In> p;
        make_problem(p, M, N, K, sp, nan);
        int i = 0;
        (chk<Cfgs>(names[i++], p, nan, what), ...);
        free_problem(p);
    }
};

static void checks(bool small)
{
    const char* n16[] = {"K1", "K2", "K3", "K4", "K9", "K10", "K6", "K11", "K12"};
    const char* nf16[] = {"K5", "K14"};
    const char* n32[] = {"K7", "K8", "K13"};
    using S16 = CheckSet<bf16, K1, K2, K3, K4, K9, K10, K6, K11, K12>;
    using SF16 = CheckSet<f16, K5, K14>;
    using S32 = CheckSet<float, K7, K8, K13>;
    struct Sh { int M, N, K; };
    std::vector<Sh> shapes;
    if (small) shapes = {{65, 129, 72}, {17, 33, 39}};
    else shapes = {{1, 1, 8}, {17, 33, 40}, {65, 129, 72}, {333, 777, 1000}, {1000, 1003, 1032},
                   {1, 1, 1}, {17, 33, 39}, {65, 129, 71}, {333, 777, 999}, {1000, 1003, 1031}};
    for (const Sh& s : shapes) {
        S16::run(n16, s.M, s.N, s.K, aligned(0.5), false, "bf16 d=.5 aligned");
        if (small) continue;
        S16::run(n16, s.M, s.N, s.K, unaligned(0.5), false, "bf16 d=.5 unaligned");
        S16::run(n16, s.M, s.N, s.K, aligned(1.0), false, "bf16 dense");
        SF16::run(nf16, s.M, s.N, s.K, unaligned(0.4), false, "f16 d=.4 unaligned");
        S32::run(n32, s.M, s.N, s.K, unaligned(0.5), false, "tf32 d=.5 unaligned");
    }
    if (small) {
        S32::run(n32, 65, 129, 72, aligned(0.5), false, "tf32 d=.5");
        SF16::run(nf16, 65, 129, 72, unaligned(0.4), false, "f16 d=.4");
        return;
    }
    Sparsity z = aligned(1.0);
    z.zeroA = true;
    S16::run(n16, 333, 777, 1000, z, false, "bf16 all-zero A");
    S16::run(n16, 1000, 1003, 1031, aligned(0.125), false, "bf16 d=.125");
    S16::run(n16, 1000, 1003, 1031, unaligned(0.25), false, "bf16 d=.25 unaligned");
    S16::run(n16, 333, 777, 1000, aligned(0.3), true, "bf16 Inf/NaN ones");
    S32::run(n32, 333, 777, 1000, aligned(0.3), true, "tf32 Inf/NaN ones");
    SF16::run(nf16, 333, 777, 1000, aligned(0.3), true, "f16 Inf/NaN ones");
    S32::run(n32, 1000, 1003, 1031, aligned(0.125), false, "tf32 d=.125");
}

struct Row { std::string cfg; double d; float ms; double act; double err; bool ok; double flop; };

template <class Cfg, class In>
static void tm(std::vector<Row>& rows, const char* name, Problem<In>& p, double d)
{
    Launch L = run_cfg<Cfg>(name, p, false, 30, true);
    if (L.ok) ++g_pass; else ++g_fail;
    rows.push_back({name, d, L.ms, L.active_frac, L.err, L.ok, 2.0 * p.M * (double)p.N * p.K});
}

static void timings()
{
    std::vector<Row> rows;
    const int S = 4096;
    for (double d : {1.0, 0.5, 0.25, 0.125}) {
        Problem<bf16> p;
        make_problem(p, S, S, S, aligned(d), false);
        if (d == 1.0) {
            tm<D1>(rows, "D1 128x128x64 s4 dense", p, d);
            tm<D2>(rows, "D2 128x256x64 s3 dense", p, d);
            tm<D3>(rows, "D3 256x128x64 s3 dense", p, d);
        }
        tm<K1>(rows, "K1 128x128x64 s4 joint", p, d);
        tm<K2>(rows, "K2 128x256x64 s3 joint", p, d);
        tm<K10>(rows, "K10 128x128x32 s4 joint", p, d);
        tm<E1>(rows, "E1 128x256x32 s4 joint", p, d);
        tm<E2>(rows, "E2 256x128x64 s4 joint", p, d);
        tm<E3>(rows, "E3 256x128x32 w16 s4 joint", p, d);
        tm<E4>(rows, "E4 128x128x32 w4 s4 joint", p, d);
        tm<E5>(rows, "E5 128x256x64 s4 joint", p, d);
        tm<K11>(rows, "K11 = K2 + WARP_SKIP", p, d);
        free_problem(p);
    }
    for (double d : {1.0, 0.5}) {
        Problem<float> p;
        make_problem(p, S, S, S, aligned(d), false);
        if (d == 1.0) tm<D7>(rows, "D7 tf32 128x128x32 dense", p, d);
        tm<K7>(rows, "K7 tf32 128x128x32 joint", p, d);
        free_problem(p);
    }
    {
        Problem<bf16> p;  // small M
        make_problem(p, 64, S, S, aligned(1.0), false);
        tm<K4>(rows, "K4 64x128x64 w4 M=64", p, 1.0);
        tm<K1>(rows, "K1 128x128x64 M=64", p, 1.0);
        free_problem(p);
        make_problem(p, 64, S, S, aligned(0.5), false);
        tm<K4>(rows, "K4 64x128x64 w4 M=64", p, 0.5);
        free_problem(p);
    }
    printf("\n%-28s %6s %9s %9s %8s %9s %s\n", "config (4096^3 unless M=64)", "d", "ms", "TFLOP/s", "active", "relerr", "ok");
    for (const Row& r : rows)
        printf("%-28s %6.3f %9.4f %9.1f %8.3f %9.2e %s\n", r.cfg.c_str(), r.d, r.ms, r.flop / (r.ms * 1e9),
               r.act, r.err, r.ok ? "ok" : "FAIL");
}

int main(int argc, char** argv)
{
    const std::string mode = argc > 1 ? argv[1] : "all";
    g_seed ^= (uint64_t)std::chrono::high_resolution_clock::now().time_since_epoch().count();
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs, seed %llx\n", prop.name, prop.multiProcessorCount, (unsigned long long)g_seed);
    if (mode == "small") checks(true);
    if (mode == "check" || mode == "all") checks(false);
    if (mode == "time" || mode == "all") timings();
    printf("checks passed %d failed %d\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
