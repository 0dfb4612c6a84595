// Prototype harness of templates/gemv/gemv.cuh: correctness against an f64 CPU reference and
// timings against cuBLAS (dlopen'ed, same process) and a streaming-read roofline.
// Usage: harness check | time
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdint.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include <algorithm>

#include "../../../templates/gemv/gemv.cuh"

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(1); } } while (0)

template <int LAYOUT_, int SPARSITY_, int EPI_, int CW_, int RW_, int KW_, int UNROLL_, int CACHE_, class Out_ = __nv_bfloat16, int PF_ = 0>
struct Cfg {
    static constexpr int PREFETCH = PF_;
    using In = __nv_bfloat16;
    using Out = Out_;
    static constexpr int LAYOUT = LAYOUT_, SPARSITY = SPARSITY_, EPI = EPI_, CW = CW_, RW = RW_, KW = KW_, UNROLL = UNROLL_, CACHE = CACHE_;
    static constexpr int THREADS = 32 * (LAYOUT_ == 0 ? CW_ : RW_) * KW_;
};

template <class C>
__global__ void __launch_bounds__(C::THREADS) kern(const __nv_bfloat16* x, int ldx, const __nv_bfloat16* W, int ldw, typename C::Out* y, int ldy,
                                                   const int* idx, const int* nidx, int M, int N, int K, int chunk, float* part, unsigned* counters)
{
    gemv_main<C>(x, ldx, W, ldw, y, ldy, idx, nidx, M, N, K, chunk, part, counters);
}

__global__ void stream_read(const uint4* p, size_t n, unsigned* sink)
{
    unsigned acc = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x12345678u) *sink = acc;
}

static int g_sms = 132;
static unsigned g_smem_optin = 227 * 1024;
static float* g_part;
static unsigned* g_counters;

struct Launch { int gx, gy, chunk; unsigned smem; size_t part_floats; int counters; int per_sm, splits, units, waves; };

template <class C> void kern_attr();
template <class C> int occupancy(unsigned smem)
{
    kern_attr<C>();
    int per_sm = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kern<C>, C::THREADS, smem));
    return per_sm;
}

// ================================================================ THE LAUNCH PLAN (port to Rust)
// A pure function of the Cfg constants, M, N, K, npos (kn: K, or the row list's capacity; nk: K),
// nout (nk: N or the output list's capacity, in neurons), the SM count, the smem opt-in limit per
// block and the occupancy API (max resident CTAs per SM for THREADS threads and `smem` bytes).
//  1. chunk cap: the largest multiple of 64 positions, at most 8192 (kn) / 16384 (nk), whose
//     shared memory gemv_smem_bytes(cap, M) fits min(smem_limit, 64 KiB).
//  2. smem = gemv_smem_bytes(cap, M); per_sm = occupancy(smem) (>= 1); R = per_sm * sms.
//  3. ncb = ceil(columns / COLS) (kn: N; nk: nout * (gated ? 2 : 1); COLS = CW*64 or RW*8).
//  4. For s = ceil(npos / cap) .. (64 more): chunk = 64 * ceil(npos / (64 s)), splits =
//     ceil(npos / chunk), units = ncb * splits, waves = ceil(units / R),
//     cost = waves * (chunk + 256) (a unit's fixed cost ~ 256 positions of streaming). Keep the
//     cheapest (first on ties). npos = 0 counts as 1.
//  5. Grid: G = ceil(units / waves) CTAs (<= R, every CTA gets `waves` or `waves - 1` units),
//     launched as (G, 1); the kernel walks units L, L + G, ...
//  6. Workspace: partials 16 * COLS * max(units, G) floats, ncb counters (zeroed once).
template <class C, class Occ>
Launch plan(int M, int N, int K, int npos, int nout, int sms, unsigned smem_limit, Occ occ)
{
    (void)K;
    constexpr bool KN = C::LAYOUT == 0;
    const int cols = KN ? C::CW * 64 : C::RW * 8;
    const int G = C::EPI == 3 ? 2 : 1;
    const unsigned budget = std::min(smem_limit, 64u * 1024u);
    int cap = KN ? 8192 : 16384;
    while (cap > 64 && gemv_smem_bytes<C>(cap, M) > budget) cap -= 64;
    const unsigned smem = gemv_smem_bytes<C>(cap, M);
    const int per_sm = std::max(1, occ(smem));
    const long long R = (long long)per_sm * sms;
    const long long phys = KN ? (long long)N : (long long)nout * G;
    const long long ncb = std::max(1LL, (phys + cols - 1) / cols);
    const long long P = std::max(1, npos);
    const long long s0 = (P + cap - 1) / cap;
    long long best_cost = -1, best_chunk = cap, best_splits = 1, best_waves = 1;
    for (long long s = s0; s <= s0 + 64; ++s) {
        const long long chunk = std::min<long long>(cap, (P + 64 * s - 1) / (64 * s) * 64);
        const long long splits = (P + chunk - 1) / chunk;
        const long long units = ncb * splits;
        const long long waves = (units + R - 1) / R;
        const long long cost = waves * (chunk + 256);
        if (best_cost < 0 || cost < best_cost) { best_cost = cost; best_chunk = chunk; best_splits = splits; best_waves = waves; }
        if (chunk <= 64) break;
    }
    const long long units = ncb * best_splits;
    const long long gctas = (units + best_waves - 1) / best_waves;
    Launch l{(int)gctas, 1, (int)best_chunk, smem, (size_t)16 * cols * std::max(units, gctas), (int)ncb, per_sm, (int)best_splits, (int)units, (int)best_waves};
    return l;
}
// ================================================================ end of the plan

template <class C>
Launch plan(int M, int N, int K, int npos, int nout)
{
    static int occ_cache[17] = {0};
    return plan<C>(M, N, K, npos, nout, g_sms, g_smem_optin, [&](unsigned smem) {
        if (!occ_cache[M]) occ_cache[M] = occupancy<C>(smem);
        return occ_cache[M];
    });
}

template <class C>
void run(const Launch& l, const __nv_bfloat16* x, int ldx, const __nv_bfloat16* W, int ldw, typename C::Out* y, int ldy,
         const int* idx, const int* nidx, int M, int N, int K, cudaStream_t st)
{
    kern_attr<C>();
    kern<C><<<dim3(l.gx, l.gy), C::THREADS, l.smem, st>>>(x, ldx, W, ldw, y, ldy, idx, nidx, M, N, K, l.chunk, g_part, g_counters);
}

template <class C> void kern_attr()
{
    static bool attr = false;
    if (!attr) { CK(cudaFuncSetAttribute(kern<C>, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024)); attr = true; }
}

static float bf(uint16_t b) { uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f; }
static uint16_t tobf(float f) { __nv_bfloat16 h = __float2bfloat16_rn(f); uint16_t b; memcpy(&b, &h, 2); return b; }

// ---------------------------------------------------------------- cuBLAS through dlopen
typedef int (*cublasCreate_t)(void**);
typedef int (*cublasSetStream_t)(void*, cudaStream_t);
typedef int (*cublasGemmEx_t)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int, const void*, void*, int, int, int, int);
static void* g_cublas;
static cublasGemmEx_t g_gemm;
static bool load_cublas()
{
    void* h = dlopen("libcublas.so.13", RTLD_NOW);
    if (!h) h = dlopen("libcublas.so", RTLD_NOW);
    if (!h) { printf("no cublas: %s\n", dlerror()); return false; }
    auto cr = (cublasCreate_t)dlsym(h, "cublasCreate_v2");
    g_gemm = (cublasGemmEx_t)dlsym(h, "cublasGemmEx");
    if (!cr || !g_gemm) return false;
    return cr(&g_cublas) == 0;
}
// y[M x N] = x[M x K] W; W K x N (kn) or N x K (nk), row-major. CUDA_R_16BF = 14, CUBLAS_COMPUTE_32F = 68.
static void cublas_gemv(bool nk, const void* x, int ldx, const void* W, int ldw, void* y, int ldy, int M, int N, int K)
{
    float one = 1.f, zero = 0.f;
    // column-major: y^T (N x M) = W^T (N x K) x^T (K x M)
    int r = g_gemm(g_cublas, nk ? 1 : 0, 0, N, M, K, &one, W, 14, ldw, x, 14, ldx, &zero, y, 14, ldy, 68, -1);
    if (r) { printf("cublas error %d\n", r); exit(1); }
}

// ---------------------------------------------------------------- correctness
struct Prob {
    int M, N, K;
    std::vector<uint16_t> x, W;  // x M x K (ldx = K + 3); W kn: K x ldw; nk: N x ldw
    int ldx, ldw;
};

static int g_fail = 0, g_pass = 0;

template <class C>
void check_one(const char* what, int M, int N, int K, double density, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> U(-1.f, 1.f);
    constexpr bool KN = C::LAYOUT == 0;
    constexpr bool GATED = C::EPI == 3;
    const int ldx = K + 3;               // odd, unaligned: the scalar staging path
    const int wrows = KN ? K : (GATED ? 2 * N : N);
    const int wcols = KN ? N : K;
    const int ldw = (wcols + 7) / 8 * 8;
    std::vector<uint16_t> x((size_t)M * ldx + 8), W((size_t)wrows * ldw, 0);
    // kn list mode: x is compact over the list; others: x over K.
    std::vector<int> list;
    if (C::SPARSITY == 2 || C::SPARSITY == 3) {
        const int universe = C::SPARSITY == 2 ? K : N;
        for (int i = 0; i < universe; ++i) if (std::uniform_real_distribution<double>(0, 1)(rng) < density) list.push_back(i);
        std::shuffle(list.begin(), list.end(), rng);
    }
    const int xk = C::SPARSITY == 2 ? (int)list.size() : K;
    for (int m = 0; m < M; ++m)
        for (int k = 0; k < xk; ++k) {
            // non-uniform: per-token density plus some dead columns
            const bool dead = (k % 7) == 3 && C::SPARSITY == 1;
            const bool z = dead || std::uniform_real_distribution<double>(0, 1)(rng) > (C::SPARSITY == 1 ? density : 1.0);
            x[(size_t)m * ldx + k] = z ? (rng() & 1 ? 0x8000 : 0) : tobf(U(rng));
        }
    for (int r = 0; r < wrows; ++r) for (int c = 0; c < wcols; ++c) W[(size_t)r * ldw + c] = tobf(U(rng));
    const int ncols = C::SPARSITY == 3 ? (int)list.size() : N;
    // reference (f64)
    std::vector<double> ref((size_t)M * ncols);
    for (int m = 0; m < M; ++m)
        for (int o = 0; o < ncols; ++o) {
            auto dot = [&](int row_nk) { double s = 0; for (int k = 0; k < K; ++k) s += (double)bf(x[(size_t)m * ldx + k]) * bf(W[(size_t)row_nk * ldw + k]); return s; };
            double v;
            if (KN) {
                v = 0;
                if (C::SPARSITY == 2) { for (int p = 0; p < xk; ++p) v += (double)bf(x[(size_t)m * ldx + p]) * bf(W[(size_t)list[p] * ldw + o]); }
                else { for (int k = 0; k < K; ++k) v += (double)bf(x[(size_t)m * ldx + k]) * bf(W[(size_t)k * ldw + o]); }
            } else {
                const int n = C::SPARSITY == 3 ? list[o] : o;
                if (GATED) { double gt = dot(2 * n), up = dot(2 * n + 1); v = gt / (1 + std::exp(-gt)) * up; }
                else v = dot(n);
            }
            if (C::EPI == 1) v = v < 0 ? 0 : v;
            if (C::EPI == 2) v = v < 0 ? 0 : v * v;
            ref[(size_t)m * ncols + o] = v;
        }
    __nv_bfloat16 *dx, *dW, *dy; int *didx, *dn;
    const int ldy = ncols + 1;
    CK(cudaMalloc(&dx, x.size() * 2)); CK(cudaMalloc(&dW, W.size() * 2)); CK(cudaMalloc(&dy, ((size_t)M * ldy + 1) * 2));
    CK(cudaMalloc(&didx, (list.size() + 1) * 4)); CK(cudaMalloc(&dn, 4));
    CK(cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dW, W.data(), W.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemset(dy, 0xff, ((size_t)M * ldy + 1) * 2));  // poison (NaN)
    int cnt = (int)list.size();
    if (cnt) CK(cudaMemcpy(didx, list.data(), cnt * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dn, &cnt, 4, cudaMemcpyHostToDevice));
    Launch l = plan<C>(M, N, K, xk, ncols);
    run<C>(l, dx, ldx, dW, ldw, dy, ldy, didx, dn, M, N, K, 0);
    CK(cudaDeviceSynchronize());
    std::vector<uint16_t> y((size_t)M * ldy + 1), y2((size_t)M * ldy + 1);
    CK(cudaMemcpy(y.data(), dy, y.size() * 2, cudaMemcpyDeviceToHost));
    if (l.part_floats > ((size_t)64 << 20) / 4 || l.counters > (1 << 18)) { printf("workspace too small\n"); exit(1); }
    // determinism: a second call gives the same bits; non-list variants run it on at most 3 CTAs
    // (each walks many units: the same splits, so the same sums in the same order)
    Launch l2 = l;
    if (C::SPARSITY != 2 && C::SPARSITY != 3) l2.gx = std::min(l.gx, 3);
    CK(cudaMemset(dy, 0xff, ((size_t)M * ldy + 1) * 2));
    run<C>(l2, dx, ldx, dW, ldw, dy, ldy, didx, dn, M, N, K, 0);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y2.data(), dy, y2.size() * 2, cudaMemcpyDeviceToHost));
    const bool same = y == y2;
    double worst = 0; int bad = 0;
    for (int m = 0; m < M; ++m) {
        double scale = 0;
        for (int o = 0; o < ncols; ++o) scale = std::max(scale, std::fabs(ref[(size_t)m * ncols + o]));
        for (int o = 0; o < ldy; ++o) {
            const float got = bf(y[(size_t)m * ldy + o]);
            if (o >= ncols) { if (y[(size_t)m * ldy + o] != 0xffff) bad++; continue; }
            const double r = ref[(size_t)m * ncols + o];
            const double err = std::fabs(got - r) / (std::fabs(r) + 1e-2 * scale + 1e-30);
            if (!(err < 1.6e-2)) bad++;
            worst = std::max(worst, std::isnan(err) ? 1e9 : err);
        }
    }
    const bool ok = bad == 0 && same;
    (ok ? g_pass : g_fail)++;
    printf("%s %-28s M=%2d N=%5d K=%5d d=%.2f G %d units %d chunk %d: worst %.2e bad %d%s\n", ok ? "ok  " : "FAIL", what, M, N, K, density, l.gx, l.units, l.chunk, worst, bad, same ? "" : " NONDETERMINISTIC");
    cudaFree(dx); cudaFree(dW); cudaFree(dy); cudaFree(didx); cudaFree(dn);
}

using KnDense = Cfg<0, 0, 0, 2, 0, 2, 4, 1>;
using KnScan = Cfg<0, 1, 0, 2, 0, 4, 2, 2>;
using KnList = Cfg<0, 2, 0, 2, 0, 4, 2, 1>;
using KnRelu = Cfg<0, 1, 2, 1, 0, 4, 2, 1>;
using NkDense = Cfg<1, 0, 0, 0, 16, 1, 4, 1>;
using NkList = Cfg<1, 3, 0, 0, 4, 2, 4, 1>;
using NkGated = Cfg<1, 3, 3, 0, 4, 2, 4, 1>;
using NkGatedDense = Cfg<1, 0, 3, 0, 4, 2, 4, 1>;

static void check_all()
{
    const int shapes[][3] = { {1, 1, 1}, {1, 37, 19}, {3, 1001, 777}, {16, 333, 4100}, {5, 4097, 1023}, {16, 2050, 3001}, {8, 64, 64}, {2, 11008, 4096} };
    unsigned seed = 1;
    for (auto& s : shapes) {
        for (double d : {1.0, 0.5, 0.1}) {
            check_one<KnDense>("kn dense", s[0], s[1], s[2], d, seed++);
            check_one<KnScan>("kn scan", s[0], s[1], s[2], d, seed++);
            check_one<KnList>("kn list", s[0], s[1], s[2], d, seed++);
            check_one<KnRelu>("kn scan relu2", s[0], s[1], s[2], d, seed++);
            check_one<NkDense>("nk dense", s[0], s[1], s[2], d, seed++);
            check_one<NkList>("nk list", s[0], s[1], s[2], d, seed++);
            check_one<NkGated>("nk list gated", s[0], s[1], s[2], d, seed++);
            check_one<NkGatedDense>("nk gated dense", s[0], s[1], s[2], d, seed++);
        }
    }
    printf("check: %d passed, %d failed\n", g_pass, g_fail);
}

// ---------------------------------------------------------------- timing
struct Timer {
    cudaEvent_t a, b;
    Timer() { cudaEventCreate(&a); cudaEventCreate(&b); }
    template <class F> float us(F f, int reps)
    {
        f(0); f(1);
        CK(cudaDeviceSynchronize());
        cudaEventRecord(a);
        for (int i = 0; i < reps; ++i) f(i);
        cudaEventRecord(b);
        CK(cudaEventSynchronize(b));
        float ms; cudaEventElapsedTime(&ms, a, b);
        return ms * 1000.f / reps;
    }
};

template <class C>
float time_kernel(const char* tag, int M, int N, int K, int copies, __nv_bfloat16** Wc, int ldw, const __nv_bfloat16* x, int ldx, __nv_bfloat16* y, const int* idx, const int* nidx, int npos, int nout, Timer& T)
{
    Launch l = plan<C>(M, N, K, npos, nout);
    float us = T.us([&](int i) { run<C>(l, x, ldx, Wc[i % copies], ldw, y, N, idx, nidx, M, N, K, 0); }, 200);
    CK(cudaGetLastError());
    (void)tag;
    return us;
}

// Sparse MLP pieces (M = 1): gated nk output list over ~10% of 11008 neurons of a 4096 hidden layer
// (gate/up interleaved, W 2*11008 x 4096), then the kn row list of the down projection over the same
// rows (W 11008 x 4096, x compact). Roofline = the listed rows' bytes over the read bandwidth.
static void time_mlp(double bw, Timer& T)
{
    const int H = 4096, F = 11008;
    std::mt19937 rng(11);
    std::vector<int> list;
    for (int i = 0; i < F; ++i) if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.10) list.push_back(i);
    const int n = (int)list.size();
    const size_t gb = (size_t)2 * F * H * 2, db = (size_t)F * H * 2;
    const int cg = (int)(((size_t)600 << 20) / gb) + 2, cd = (int)(((size_t)600 << 20) / db) + 2;
    std::vector<__nv_bfloat16*> Wg(cg), Wd(cd);
    std::vector<uint16_t> h(gb / 2);
    for (auto& v : h) v = tobf(std::uniform_real_distribution<float>(-1, 1)(rng));
    for (auto& w : Wg) { CK(cudaMalloc(&w, gb)); CK(cudaMemcpy(w, h.data(), gb, cudaMemcpyHostToDevice)); }
    for (auto& w : Wd) { CK(cudaMalloc(&w, db)); CK(cudaMemcpy(w, h.data(), db, cudaMemcpyHostToDevice)); }
    __nv_bfloat16 *x, *y; int *idx, *nidx;
    CK(cudaMalloc(&x, (size_t)16 * F * 2)); CK(cudaMalloc(&y, (size_t)16 * F * 4));
    CK(cudaMalloc(&idx, F * 4)); CK(cudaMalloc(&nidx, 4));
    std::vector<uint16_t> hx((size_t)16 * F);
    for (auto& v : hx) v = tobf(std::uniform_real_distribution<float>(-1, 1)(rng));
    CK(cudaMemcpy(x, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(idx, list.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(nidx, &n, 4, cudaMemcpyHostToDevice));
    for (int M : {1, 4}) {
        // the host plans for the list's capacity (F), the kernel re-divides the device count
        Launch lg = plan<NkGated>(M, F, H, H, F);
        float tg = T.us([&](int i) { run<NkGated>(lg, x, H, Wg[i % cg], H, y, F, idx, nidx, M, F, H, 0); }, 300);
        Launch ld = plan<KnList>(M, H, F, F, H);
        float td = T.us([&](int i) { run<KnList>(ld, x, F, Wd[i % cd], H, y, H, idx, nidx, M, H, F, 0); }, 300);
        CK(cudaGetLastError());
        const double rg = (double)n * 2 * H * 2 / bw * 1e6, rd = (double)n * H * 2 / bw * 1e6;
        printf("mlp M=%d list %d/%d: nk gated list %.2f us (roof %.2f, %.0f%%)  kn row list %.2f us (roof %.2f, %.0f%%)\n", M, n, F, tg, rg, 100 * rg / tg, td, rd, 100 * rd / td);
    }
    for (auto w : Wg) cudaFree(w);
    for (auto w : Wd) cudaFree(w);
    cudaFree(x); cudaFree(y); cudaFree(idx); cudaFree(nidx);
}

static void time_all()
{
    // streaming-read bandwidth
    size_t bytes = (size_t)2 << 30;
    uint4* big; unsigned* sink;
    CK(cudaMalloc(&big, bytes)); CK(cudaMalloc(&sink, 4)); CK(cudaMemset(big, 1, bytes));
    Timer T;
    float us_read = T.us([&](int) { stream_read<<<g_sms * 8, 512>>>(big, bytes / 16, sink); }, 10);
    const double bw = bytes / (us_read * 1e-6);
    printf("stream read: %.1f GB/s\n", bw / 1e9);
    CK(cudaFree(big));
    time_mlp(bw, T);

    const int shapes[][2] = { {4096, 4096}, {4096, 11008}, {11008, 4096}, {8192, 28672}, {3072, 8192} };
    printf("%-6s %-12s %3s %5s %9s %9s %9s %9s %9s %9s %9s %9s\n", "K", "N", "M", "dens", "cublasKN", "cublasNK", "roof", "knDense", "nkDense", "knScan", "roofSp", "kn/best");
    for (auto& s : shapes) {
        const int K = s[0], N = s[1];
        const size_t wbytes = (size_t)K * N * 2;
        const int copies = std::max(2, (int)((size_t)400 << 20) / (int)std::min(wbytes, (size_t)400 << 20) + 1);
        std::vector<__nv_bfloat16*> Wc(copies), Wt(copies);
        std::vector<uint16_t> h((size_t)K * N);
        std::mt19937 rng(7);
        for (auto& v : h) v = tobf(std::uniform_real_distribution<float>(-1, 1)(rng));
        for (int c = 0; c < copies; ++c) {
            CK(cudaMalloc(&Wc[c], wbytes)); CK(cudaMemcpy(Wc[c], h.data(), wbytes, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&Wt[c], wbytes)); CK(cudaMemcpy(Wt[c], h.data(), wbytes, cudaMemcpyHostToDevice));
        }
        __nv_bfloat16 *x, *y; int *idx, *nidx;
        CK(cudaMalloc(&x, (size_t)16 * K * 2)); CK(cudaMalloc(&y, (size_t)16 * N * 4));
        CK(cudaMalloc(&idx, (size_t)K * 4)); CK(cudaMalloc(&nidx, 4));
        for (int M : {1, 4, 16}) {
            for (double d : {1.0, 0.5, 0.25, 0.1}) {
                // x: M tokens, independent random masks of density d (union density reported)
                std::vector<uint16_t> hx((size_t)M * K);
                std::vector<char> any(K, 0);
                for (int m = 0; m < M; ++m) for (int k = 0; k < K; ++k) {
                    bool nz = std::uniform_real_distribution<double>(0, 1)(rng) < d;
                    hx[(size_t)m * K + k] = nz ? tobf(std::uniform_real_distribution<float>(-1, 1)(rng)) : 0;
                    any[k] |= nz;
                }
                const double ud = std::count(any.begin(), any.end(), 1) / (double)K;
                CK(cudaMemcpy(x, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
                float tb_kn = T.us([&](int i) { cublas_gemv(false, x, K, Wc[i % copies], N, y, N, M, N, K); }, 200);
                float tb_nk = T.us([&](int i) { cublas_gemv(true, x, K, Wt[i % copies], K, y, N, M, N, K); }, 200);
                float t_knd = time_kernel<KnDense>("kn", M, N, K, copies, Wc.data(), N, x, K, y, idx, nidx, K, N, T);
                float t_nkd = time_kernel<NkDense>("nk", M, N, K, copies, Wt.data(), K, x, K, y, idx, nidx, K, N, T);
                float t_kns = time_kernel<KnScan>("kns", M, N, K, copies, Wc.data(), N, x, K, y, idx, nidx, K, N, T);
                const double roof = wbytes / bw * 1e6, roofs = roof * ud;
                const float best = std::min(tb_kn, tb_nk);
                printf("%-6d %-12d %3d %5.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f  (union %.3f, sparse/roofSp %.2f)\n", K, N, M, d, tb_kn, tb_nk, roof, t_knd, t_nkd, t_kns, roofs,
                       best / t_kns, ud, roofs / t_kns);
            }
        }
        for (int c = 0; c < copies; ++c) { cudaFree(Wc[c]); cudaFree(Wt[c]); }
        cudaFree(x); cudaFree(y); cudaFree(idx); cudaFree(nidx);
    }
}

// ---------------------------------------------------------------- variant sweep (runtime plan)
template <class C>
void sweep_one(const char* name, int M, int N, int K, int copies, __nv_bfloat16** W, int ldw, const __nv_bfloat16* x, __nv_bfloat16* y, Timer& T, float base, double roof)
{
    Launch l = plan<C>(M, N, K, K, N);
    float us = T.us([&](int i) { run<C>(l, x, K, W[i % copies], ldw, y, N, nullptr, nullptr, M, N, K, 0); }, 200);
    CK(cudaGetLastError());
    printf("  %-34s G %4d (%d/SM) units %5d waves %2d chunk %5d smem %6u: %8.2f us  x%.2f  roof %.2f\n", name, l.gx, l.per_sm, l.units, l.waves, l.chunk, l.smem, us, base / us, roof / us);
}

#define KN(cw, kw, u, c) sweep_one<Cfg<0, 1, 0, cw, 0, kw, u, c>>("kn in b" #cw " k" #kw " u" #u " c" #c, M, N, K, copies, Wc.data(), N, x, y, T, base, roof)
#define KND(cw, kw, u, c) sweep_one<Cfg<0, 0, 0, cw, 0, kw, u, c>>("kn dense b" #cw " k" #kw " u" #u " c" #c, M, N, K, copies, Wc.data(), N, x, y, T, base, roof)
#define KNP0(cw, kw, u, c) sweep_one<Cfg<0, 1, 0, cw, 0, kw, u, c, __nv_bfloat16, 1>>("kn in pf b" #cw " k" #kw " u" #u " c" #c, M, N, K, copies, Wc.data(), N, x, y, T, base, roof)
#define KNDP0(cw, kw, u, c) sweep_one<Cfg<0, 0, 0, cw, 0, kw, u, c, __nv_bfloat16, 1>>("kn dense pf b" #cw " k" #kw " u" #u " c" #c, M, N, K, copies, Wc.data(), N, x, y, T, base, roof)
#define NKP0(rw, kw, u, c) sweep_one<Cfg<1, 0, 0, 0, rw, kw, u, c, __nv_bfloat16, 1>>("nk dense pf b" #rw " k" #kw " u" #u " c" #c, M, N, K, copies, Wt.data(), K, x, y, T, base, roof)
#define NK(rw, kw, u, c) sweep_one<Cfg<1, 0, 0, 0, rw, kw, u, c>>("nk dense b" #rw " k" #kw " u" #u " c" #c, M, N, K, copies, Wt.data(), K, x, y, T, base, roof)

static void sweep_all()
{
    size_t bytes = (size_t)2 << 30;
    uint4* big; unsigned* sink;
    CK(cudaMalloc(&big, bytes)); CK(cudaMalloc(&sink, 4)); CK(cudaMemset(big, 1, bytes));
    Timer T;
    float us_read = T.us([&](int) { stream_read<<<g_sms * 8, 512>>>(big, bytes / 16, sink); }, 10);
    const double bw = bytes / (us_read * 1e-6);
    CK(cudaFree(big));
    const int shapes[][2] = { {4096, 4096}, {4096, 11008}, {8192, 28672} };
    for (auto& s : shapes) {
        const int K = s[0], N = s[1];
        const size_t wbytes = (size_t)K * N * 2;
        const int copies = std::max(2, (int)(((size_t)400 << 20) / wbytes) + 1);
        std::vector<__nv_bfloat16*> Wc(copies), Wt(copies);
        std::vector<uint16_t> h((size_t)K * N);
        std::mt19937 rng(7);
        for (auto& v : h) v = tobf(std::uniform_real_distribution<float>(-1, 1)(rng));
        for (int c = 0; c < copies; ++c) {
            CK(cudaMalloc(&Wc[c], wbytes)); CK(cudaMemcpy(Wc[c], h.data(), wbytes, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&Wt[c], wbytes)); CK(cudaMemcpy(Wt[c], h.data(), wbytes, cudaMemcpyHostToDevice));
        }
        __nv_bfloat16 *x, *y;
        CK(cudaMalloc(&x, (size_t)16 * K * 2)); CK(cudaMalloc(&y, (size_t)16 * N * 4));
        for (int M : {1, 16}) {
            for (double d : {1.0, 0.5, 0.1}) {
                if (M == 16 && d < 1.0) continue;
                std::vector<uint16_t> hx((size_t)M * K);
                for (auto& v : hx) v = std::uniform_real_distribution<double>(0, 1)(rng) < d ? tobf(std::uniform_real_distribution<float>(-1, 1)(rng)) : 0;
                CK(cudaMemcpy(x, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
                float base = std::min(T.us([&](int i) { cublas_gemv(false, x, K, Wc[i % copies], N, y, N, M, N, K); }, 200),
                                      T.us([&](int i) { cublas_gemv(true, x, K, Wt[i % copies], K, y, N, M, N, K); }, 200));
                const double roof = wbytes * d / bw * 1e6;
                printf("K %d N %d M %d d %.2f: cublas %.2f us, roofline %.2f us (read %.0f GB/s)\n", K, N, M, d, base, roof, bw / 1e9);
                KN(2, 4, 2, 2); KN(4, 2, 2, 2); KN(2, 2, 4, 2); KN(1, 2, 4, 2); KNP0(2, 4, 2, 2);
                if (d == 1.0) {
                    KND(2, 4, 2, 1); KND(2, 2, 4, 1); KND(1, 2, 4, 1); KND(4, 2, 2, 1); KNDP0(2, 2, 4, 1);
                    NK(8, 1, 8, 1); NK(8, 1, 4, 1); NK(16, 1, 4, 1); NK(16, 1, 2, 1); NK(4, 1, 4, 1); NKP0(16, 1, 4, 1);
                }
            }
        }
        for (int c = 0; c < copies; ++c) { cudaFree(Wc[c]); cudaFree(Wt[c]); }
        cudaFree(x); cudaFree(y);
    }
}

int main(int argc, char** argv)
{
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0)); g_sms = p.multiProcessorCount; g_smem_optin = (unsigned)p.sharedMemPerBlockOptin;
    printf("%s, %d SMs\n", p.name, g_sms);
    CK(cudaMalloc(&g_part, (size_t)64 << 20)); CK(cudaMalloc(&g_counters, 1 << 20)); CK(cudaMemset(g_counters, 0, 1 << 20));
    const char* mode = argc > 1 ? argv[1] : "check";
    if (!strcmp(mode, "check") || !strcmp(mode, "small")) check_all();
    if (!strcmp(mode, "time")) { if (!load_cublas()) return 2; time_all(); }
    if (!strcmp(mode, "sweep")) { if (!load_cublas()) return 2; sweep_all(); }
    return g_fail ? 1 : 0;
}
