//! Family gemv's experiments (`esmm-tune bench --experiment decode`): decode GEMV for 1..16
//! tokens against cuBLAS / cuBLASLt bf16 in the same process, with the weights rotated through
//! enough copies that every call reads them from HBM, and the read-bandwidth roofline measured
//! by a streaming-read kernel in the same run. CSV `<out>/decode.csv`: the common columns plus
//! `roofline_ms` (bytes the call must read / measured read bandwidth), `roofline_frac`
//! (roofline_ms / median_ms), `union_density` (inputs nonzero for some token), `masks`
//! (independent or correlated token masks), `read_gbps`, `rel_err` (against cuBLAS, max |Δ| /
//! max |ref|). Labels: `default` (what `Esmm::gemv` dispatches: the tuned table, the observed
//! input density, cuBLAS included), `kn-in` (the default input-sparse kernel, forced),
//! `kn-dense` and `nk-dense` (the default dense kernels, forced; dense inputs only).

use std::sync::Arc;

use ::esmm::cudarc::driver::{CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use ::esmm::{Baseline, BaselineKind, BaselineMath, Dims, ElemType, Esmm, GemvLayout, GemvOptions, GemvSparsity, GemvWeights};
use half::bf16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::row::{fmt_num, Row, RowContext};
use super::timing::{batched, l2_bytes, max_rel_err, median, rotation_copies, Timing};
use crate::{msg, Result};

/// Weight shapes (K × N) of the decode experiment: Llama-2-7B's attention and MLP projections,
/// an 8192 × 28672 MLP (Llama-3-70B-like), Llama-3.2-3B's MLP.
pub const DECODE_SHAPES: [(usize, usize); 5] = [(4096, 4096), (4096, 11008), (11008, 4096), (8192, 28672), (3072, 8192)];
/// Tokens per call.
pub const DECODE_TOKENS: [usize; 3] = [1, 4, 16];
/// Element densities of the activations.
pub const DECODE_DENSITIES: [f64; 4] = [1.0, 0.5, 0.25, 0.1];
/// Calls between one pair of events (each on the next weight copy).
pub(crate) const BATCH: usize = 20;

/// A streaming-read kernel (16-byte loads, XOR-folded so nothing is optimised out),
/// compiled with NVRTC at run time: the read bandwidth the roofline divides by.
const STREAM_READ: &str = r#"
extern "C" __global__ void stream_read(const uint4* p, unsigned long long n, unsigned* sink)
{
    unsigned acc = 0;
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)gridDim.x * blockDim.x) {
        uint4 v = p[i];
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u) *sink = acc;
}
"#;

/// Read bandwidth in bytes per second: the median of 10 streaming reads of 1 GiB.
pub fn read_bandwidth(esmm: &Esmm, stream: &Arc<CudaStream>) -> Result<f64> {
    stream_read(esmm, stream).map(|(bw, _)| bw)
}

/// [`read_bandwidth`], and the loaded kernel (its bare launch is the driver's floor of a call).
fn stream_read(esmm: &Esmm, stream: &Arc<CudaStream>) -> Result<(f64, ::esmm::cudarc::driver::CudaFunction)> {
    let ptx = ::esmm::cudarc::nvrtc::compile_ptx(STREAM_READ).map_err(msg("compiling the streaming-read kernel with NVRTC"))?;
    let module = esmm.context().load_module(ptx).map_err(msg("loading the streaming-read kernel"))?;
    let f = module.load_function("stream_read").map_err(msg("loading stream_read"))?;
    let bytes = 1usize << 30;
    let buf: CudaSlice<u8> = stream.alloc_zeros(bytes).map_err(msg("allocating 1 GiB"))?;
    let mut sink: CudaSlice<u32> = stream.alloc_zeros(1).map_err(msg("allocating"))?;
    let n = (bytes / 16) as u64;
    let grid = esmm.device().sm_count * 8;
    let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (512, 1, 1), shared_mem_bytes: 0 };
    let samples = batched(stream, 10, 1, |_| {
        let mut b = stream.launch_builder(&f);
        b.arg(&buf).arg(&n).arg(&mut sink);
        // SAFETY: the kernel reads n 16-byte words of `buf` (1 GiB) and may write one u32 of `sink`.
        unsafe { b.launch(cfg) }.map(|_| ()).map_err(msg("launching stream_read"))
    })?;
    Ok((bytes as f64 / (median(samples) * 1e-3), f))
}

/// Random K×N weights (row-major), uniform in [-1, 1).
pub(crate) fn random_weights(k: usize, n: usize, rng: &mut StdRng) -> Vec<bf16> {
    (0..k * n).map(|_| bf16::from_f32(rng.random_range(-1.0f32..1.0))).collect()
}

/// A nonzero activation, uniform in (-1, 1) (an exact zero drawn becomes 0.5).
pub(crate) fn nonzero_value(rng: &mut StdRng) -> bf16 {
    let v: f32 = rng.random_range(-1.0..1.0);
    bf16::from_f32(if v == 0.0 { 0.5 } else { v })
}

/// Most bytes of one weight rotation (calls that read a small part of each copy need many).
const MAX_ROTATION_BYTES: usize = 4 << 30;

/// How many copies of `bytes` of weights to rotate through so that calls reading
/// `read_fraction` of a copy (input-sparse calls read the rows of their active inputs) read
/// from HBM: twice the L2 in the calls of one round of the rotation, at least 2 copies and at
/// most [`MAX_ROTATION_BYTES`] in all.
pub(crate) fn weight_copies(esmm: &Esmm, bytes: usize, read_fraction: f64) -> usize {
    copies_for_l2(l2_bytes(esmm), bytes, read_fraction)
}

/// [`weight_copies`] for an L2 of `l2` bytes.
pub(crate) fn copies_for_l2(l2: usize, bytes: usize, read_fraction: f64) -> usize {
    let read = (bytes as f64 * read_fraction.clamp(0.0, 1.0)).ceil().max(1.0) as usize;
    (2 * l2).div_ceil(read).min(MAX_ROTATION_BYTES / bytes.max(1)).max(2)
}

/// `w` (K×N row-major) uploaded `copies` times in `layout` (see [`weight_copies`]). kn copies
/// must hold N a multiple of 8: the cuBLAS baseline reads them as an unpadded K×N matrix.
pub(crate) fn rotated_weights(esmm: &Esmm, stream: &Arc<CudaStream>, w: &[bf16], (k, n): (usize, usize), layout: GemvLayout, copies: usize) -> Result<Vec<GemvWeights<bf16>>> {
    if layout == GemvLayout::Kn && !n.is_multiple_of(8) {
        return Err(format!("the cuBLAS baseline needs N a multiple of 8, not {n}"));
    }
    (0..copies).map(|_| esmm.gemv_weights(stream, w, k, n, layout)).collect::<std::result::Result<_, _>>().map_err(|e| e.to_string())
}

/// Event-timed milliseconds per call of `call(copy)`: `samples` batches of [`BATCH`] calls,
/// each call on the next of `copies` weight copies.
pub(crate) fn time_rotated(stream: &Arc<CudaStream>, samples: usize, copies: usize, mut call: impl FnMut(usize) -> Result<()>) -> Result<Vec<f64>> {
    batched(stream, samples, BATCH, |i| call(i % copies.max(1)))
}

/// cuBLAS and cuBLASLt bf16 timings of `y = x·W` (M×N×K `dims`) over the rotated kn copies
/// `kn`; cuBLASLt is None when it fails on the shape.
pub(crate) fn time_cublas_bf16(esmm: &Esmm, stream: &Arc<CudaStream>, x: &CudaSlice<bf16>, kn: &[GemvWeights<bf16>], y: &mut CudaSlice<bf16>, dims: Dims, samples: usize) -> Result<(Timing, Option<Timing>)> {
    let mut time = |kind: BaselineKind| -> Result<Option<Timing>> {
        let b = Baseline::new(kind, BaselineMath::Bf16);
        let v = time_rotated(stream, samples, kn.len(), |c| esmm.baselines().gemm(b, stream, x, kn[c].data(), y, dims).map_err(|e| e.to_string()))?;
        Ok(Timing::from_samples(v))
    };
    let blas = time(BaselineKind::Cublas)?.ok_or_else(|| "cuBLAS bf16 gave no timing samples".to_string())?;
    let lt = time(BaselineKind::CublasLt).unwrap_or(None);
    Ok((blas, lt))
}

/// `y = x·W` with cuBLAS bf16 on the first kn copy of `kn`, downloaded: the reference gemv
/// kernels are checked against.
pub(crate) fn cublas_reference(esmm: &Esmm, stream: &Arc<CudaStream>, x: &CudaSlice<bf16>, kn: &GemvWeights<bf16>, y: &mut CudaSlice<bf16>, dims: Dims) -> Result<Vec<bf16>> {
    let blas = Baseline::new(BaselineKind::Cublas, BaselineMath::Bf16);
    esmm.baselines().gemm(blas, stream, x, kn.data(), y, dims).map_err(|e| e.to_string())?;
    stream.clone_dtoh(y).map_err(msg("reading the reference y"))
}

/// max |y − reference| / max |reference| over the first `len` elements of y (∞ when y holds a
/// NaN).
pub(crate) fn error_against(stream: &Arc<CudaStream>, y: &CudaSlice<bf16>, reference: &[bf16], len: usize) -> Result<f64> {
    let got = stream.clone_dtoh(y).map_err(msg("reading y"))?;
    Ok(max_rel_err(&got[..len], &reference[..len]))
}

/// Activations of `m` tokens over `k` inputs with element density `d`: `independent` masks draw
/// each token's nonzeros separately; correlated masks share a base set (each token keeps 90% of
/// it and adds 10% as many nonzeros of its own), as tokens of one sequence do. Returns the
/// values and the union density.
pub fn activations(m: usize, k: usize, d: f64, independent: bool, rng: &mut StdRng) -> (Vec<bf16>, f64) {
    let base: Vec<bool> = (0..k).map(|_| rng.random_bool(d)).collect();
    let mut x = vec![bf16::ZERO; m * k];
    let mut any = vec![false; k];
    for t in 0..m {
        for i in 0..k {
            let nz = if independent || d >= 1.0 { rng.random_bool(d) } else if base[i] { rng.random_bool(0.9) } else { rng.random_bool((0.1 * d / (1.0 - d)).min(1.0)) };
            if nz {
                x[t * k + i] = nonzero_value(rng);
                any[i] = true;
            }
        }
    }
    let union = any.iter().filter(|a| **a).count() as f64 / k as f64;
    (x, union)
}

/// The decode experiment (see the module docs).
pub fn decode(esmm: &Esmm, stream: &Arc<CudaStream>, shapes: &[(usize, usize)], samples: usize, seed: u64) -> Result<Vec<Row>> {
    let (bw, probe) = stream_read(esmm, stream)?;
    eprintln!("read bandwidth (streaming read of 1 GiB): {:.0} GB/s", bw / 1e9);
    let gpu = esmm.device().name.clone();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let blas = Baseline::new(BaselineKind::Cublas, BaselineMath::Bf16);
    for &(k, n) in shapes {
        let w = random_weights(k, n, &mut rng);
        // kn calls read as little as the sparsest density's rows: enough copies that even those
        // come from HBM; nk calls read every row.
        let sparsest = DECODE_DENSITIES.iter().copied().fold(1.0, f64::min);
        let kn = rotated_weights(esmm, stream, &w, (k, n), GemvLayout::Kn, weight_copies(esmm, k * n * 2, sparsest))?;
        let nk = rotated_weights(esmm, stream, &w, (k, n), GemvLayout::Nk, weight_copies(esmm, k * n * 2, 1.0))?;
        drop(w);
        let mut y: CudaSlice<bf16> = stream.alloc_zeros(16 * n).map_err(msg("allocating y"))?;
        let mut y_ref: CudaSlice<bf16> = stream.alloc_zeros(16 * n).map_err(msg("allocating y"))?;
        for &m in &DECODE_TOKENS {
            for independent in [true, false] {
                for &d in &DECODE_DENSITIES {
                    if !independent && (d >= 1.0 || m == 1) {
                        continue;
                    }
                    let (xh, union) = activations(m, k, d, independent, &mut rng);
                    let x = stream.clone_htod(&xh).map_err(msg("uploading x"))?;
                    let dims = Dims::new(m, n, k);
                    let (t_blas, t_lt) = time_cublas_bf16(esmm, stream, &x, &kn, &mut y_ref, dims, samples)?;
                    let (t_blas, t_lt) = (t_blas.median_ms, t_lt.map_or(f64::NAN, |t| t.median_ms));
                    let (base_label, base_ms) = if t_lt < t_blas { ("cublaslt_bf16", t_lt) } else { ("cublas_bf16", t_blas) };
                    let reference = cublas_reference(esmm, stream, &x, &kn[0], &mut y_ref, dims)?;
                    let ctx = RowContext { experiment: "decode".into(), gpu: gpu.clone(), dtype: "bf16".into(), dims, densities: (d, 1.0), baseline: base_label.into(), baseline_ms: base_ms };
                    let bytes = union * (k * n * 2) as f64 + (m * k * 2 + m * n * 2) as f64;
                    let roof_ms = bytes / bw * 1e3;
                    let mut push = |label: &str, variant: &str, ms: f64, err: f64| {
                        let mut r = ctx.row(label, variant, ms);
                        r.set_num("roofline_ms", roof_ms, 5).set_num("roofline_frac", roof_ms / ms, 3).set_num("union_density", union, 4);
                        r.set("masks", if independent { "independent" } else { "correlated" });
                        r.set_num("read_gbps", bw / 1e9, 0).set_sci("rel_err", err);
                        rows.push(r);
                    };
                    push("cublas_bf16", "cublas_bf16", t_blas, 0.0);
                    push("cublaslt_bf16", "cublaslt_bf16", t_lt, 0.0);
                    // `default`: what Esmm::gemv dispatches (tuned table, observed density,
                    // cuBLAS included); the others force the family's default kernels.
                    let mut kinds: Vec<(&str, &Vec<GemvWeights<bf16>>, bool, Option<&str>)> = vec![("default", &kn, true, None), ("kn-in", &kn, true, Some(default_kernel(GemvLayout::Kn, GemvSparsity::Input)?))];
                    if d >= 1.0 {
                        kinds.push(("kn-dense", &kn, false, Some(default_kernel(GemvLayout::Kn, GemvSparsity::Dense)?)));
                        kinds.push(("nk-dense", &nk, false, Some(default_kernel(GemvLayout::Nk, GemvSparsity::Dense)?)));
                    }
                    for (label, ws, skip, variant) in kinds {
                        // Each row is a layer of its own: what the weights observed in the
                        // previous row (another M, another density) does not carry over.
                        ws.iter().for_each(GemvWeights::reset_observations);
                        let opts = || GemvOptions { skip_zero_inputs: skip, variant, ..Default::default() };
                        if variant.is_none() {
                            // A layer's weights see every token: a few calls per copy (each
                            // waited for, so its density observation lands) put every copy
                            // where a layer is after its first tokens, not at its cold start.
                            for w in ws.iter() {
                                for _ in 0..5 {
                                    esmm.gemv::<bf16, bf16, _, _>(stream, &x, w, &mut y, m, opts()).map_err(|e| format!("{label}: {e}"))?;
                                    stream.synchronize().map_err(msg("synchronizing"))?;
                                }
                            }
                        }
                        let variant = esmm.gemv::<bf16, bf16, _, _>(stream, &x, &ws[0], &mut y, m, opts()).map_err(|e| format!("{label}: {e}"))?;
                        let err = error_against(stream, &y, &reference, m * n)?;
                        let ms = median(time_rotated(stream, samples, ws.len(), |c| esmm.gemv::<bf16, bf16, _, _>(stream, &x, &ws[c], &mut y, m, opts()).map(|_| ()).map_err(|e| e.to_string()))?);
                        push(label, variant, ms, err);
                    }
                }
            }
        }
    }
    // Host cost of one call (planning, argument packing, launch), against cuBLAS's own call.
    let (k, n) = (4096, 4096);
    let w: Vec<bf16> = (0..k * n).map(|i| bf16::from_f32(((i % 7) as f32 - 3.0) * 0.1)).collect();
    let ws = esmm.gemv_weights(stream, &w, k, n, GemvLayout::Kn).map_err(|e| e.to_string())?;
    // Half the inputs zero: default dispatch runs the input-sparse kernel (planning, the density
    // observation's bookkeeping, argument packing, launch), not cuBLAS.
    let x: CudaSlice<bf16> = stream.clone_htod(&(0..k).map(|i| if i % 2 == 0 { bf16::ONE } else { bf16::ZERO }).collect::<Vec<_>>()).map_err(msg("uploading x"))?;
    let mut y: CudaSlice<bf16> = stream.alloc_zeros(n).map_err(msg("allocating y"))?;
    let dims = Dims::new(1, n, k);
    // A bare launch of a 3-argument kernel with a tiny grid: the driver's own cost of a call.
    let tiny: CudaSlice<u8> = stream.alloc_zeros(16).map_err(msg("allocating"))?;
    let mut sink: CudaSlice<u32> = stream.alloc_zeros(1).map_err(msg("allocating"))?;
    let one = 1u64;
    let (per, _) = super::timing::host_us_per_call(stream, 15, 200, 3, |way| match way {
        0 => esmm.gemv::<bf16, bf16, _, _>(stream, &x, &ws, &mut y, 1, GemvOptions::default()).map(|_| ()).map_err(|e| e.to_string()),
        1 => esmm.baselines().gemm(blas, stream, &x, ws.data(), &mut y, dims).map_err(|e| e.to_string()),
        _ => {
            let mut b = stream.launch_builder(&probe);
            b.arg(&tiny).arg(&one).arg(&mut sink);
            let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: 0 };
            // SAFETY: reads one 16-byte word of `tiny`, may write `sink`.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(msg("launching"))
        }
    })?;
    for (label, us, base, base_us) in [("host_per_call", per[0], "cublas_bf16_host", per[1]), ("host_overhead", per[0] - per[2], "bare_launch_host", per[2])] {
        let ctx = RowContext { experiment: "decode".into(), gpu: gpu.clone(), dtype: "bf16".into(), dims, densities: (1.0, 1.0), baseline: base.into(), baseline_ms: base_us / 1e3 };
        let mut r = ctx.row(label, "gemv (host ms per call)", us / 1e3);
        r.set("masks", "host");
        rows.push(r);
    }
    Ok(rows)
}

/// The generator's default bf16 → bf16 gemv kernel (epilogue none) of a layout and sparsity.
fn default_kernel(layout: GemvLayout, sparsity: GemvSparsity) -> Result<&'static str> {
    ::esmm::REGISTRY
        .iter()
        .find(|e| {
            e.is_default
                && e.spec.as_gemv().is_some_and(|s| {
                    s.layout == layout && s.sparsity == sparsity && !s.gated && s.dtype == ElemType::Bf16 && s.out == ElemType::Bf16 && s.activation == ::esmm::Activation::None
                })
        })
        .map(|e| e.name)
        .ok_or_else(|| format!("no default gemv kernel {} {}", layout.tag(), sparsity.tag()))
}

/// Prints the decode table: per shape, M, masks and density, the baseline and each kind's
/// ratio to it and fraction of the roofline.
pub fn print_decode(rows: &[Row]) {
    println!("{:>6} {:>6} {:>3} {:>11} {:>5} {:>6} {:>9} {:>9} {:>14} {:>9} {:>9}", "K", "N", "M", "masks", "dens", "union", "base_us", "roof_us", "label", "us", "x_base/roof");
    for r in rows {
        if r.label.starts_with("cublas") {
            continue;
        }
        println!(
            "{:>6} {:>6} {:>3} {:>11} {:>5} {:>6} {:>9} {:>9} {:>14} {:>9} {:>5}/{}",
            r.k,
            r.n,
            r.m,
            r.text("masks").unwrap_or(""),
            fmt_num(r.density_a, 2),
            r.text("union_density").unwrap_or(""),
            fmt_num(r.baseline_ms * 1e3, 2),
            fmt_num(r.num("roofline_ms") * 1e3, 2),
            r.label,
            fmt_num(r.median_ms * 1e3, 2),
            fmt_num(r.ratio, 2),
            r.text("roofline_frac").unwrap_or("")
        );
    }
}

/// MLP shapes (hidden, intermediate): Llama-2-7B and Llama-3.2-3B.
pub const MLP_SHAPES: [(usize, usize); 2] = [(4096, 11008), (3072, 8192)];
/// Rank of the synthetic predictor.
pub const MLP_RANK: usize = 256;
/// Fractions of neurons kept (top-k per token).
pub const MLP_ACTIVE: [f64; 3] = [0.1, 0.25, 0.5];

/// `h = SiLU(gu[:, :I]) ⊙ gu[:, I:]` for the cuBLAS dense MLP (bf16), compiled with NVRTC.
const SILU_MUL: &str = r#"
#include <cuda_bf16.h>
extern "C" __global__ void silu_mul(const __nv_bfloat16* gu, __nv_bfloat16* h, int m, int inter)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m * inter) return;
    int t = i / inter, c = i - t * inter;
    float g = __bfloat162float(gu[(size_t)t * 2 * inter + c]);
    float u = __bfloat162float(gu[(size_t)t * 2 * inter + inter + c]);
    h[i] = __float2bfloat16_rn(g / (1.0f + __expf(-g)) * u);
}
"#;

/// The sparse-MLP experiment (`--experiment mlp`, `<out>/mlp.csv`): per shape, M and kept
/// fraction, the sparse MLP (predictor included) and the dense MLP through the same kernels
/// against the dense cuBLAS MLP (one GEMM for gate and up, SiLU·mul, down) in the same process,
/// weights rotated through copies; then the weight cache over a token sequence (`cache` rows:
/// bytes moved and update time per token against loading the whole layer per token).
pub fn mlp(esmm: &Esmm, stream: &Arc<CudaStream>, samples: usize, seed: u64) -> Result<Vec<Row>> {
    use ::esmm::{MlpHostWeights, MlpKind, MlpSelect, SparseMlp};
    let bw = read_bandwidth(esmm, stream)?;
    let gpu = esmm.device().name.clone();
    let mut rng = StdRng::seed_from_u64(seed);
    let opts = ::esmm::cudarc::nvrtc::CompileOptions { include_paths: vec!["/usr/local/cuda/include".into()], ..Default::default() };
    let ptx = ::esmm::cudarc::nvrtc::compile_ptx_with_opts(SILU_MUL, opts).map_err(msg("compiling silu_mul with NVRTC"))?;
    let module = esmm.context().load_module(ptx).map_err(msg("loading silu_mul"))?;
    let silu = module.load_function("silu_mul").map_err(msg("loading silu_mul"))?;
    let blas = Baseline::new(BaselineKind::Cublas, BaselineMath::Bf16);
    let mut rows = Vec::new();
    for &(hd, it) in &MLP_SHAPES {
        let r = MLP_RANK;
        let mut draw = |len: usize, scale: f32| -> Vec<bf16> { (0..len).map(|_| bf16::from_f32(rng.random_range(-scale..scale))).collect() };
        let (gate, up, down) = (draw(hd * it, 0.05), draw(hd * it, 0.05), draw(it * hd, 0.05));
        let (p_in, p_out) = (draw(hd * r, 0.1), draw(r * it, 0.1));
        let host = MlpHostWeights { kind: MlpKind::Gated, hidden: hd, inter: it, rank: r, gate: Some(&gate), up: &up, down: &down, pred_in: &p_in, pred_out: &p_out };
        let copies = rotation_copies(esmm, (3 * hd * it * 2) / 10).clamp(2, 8);
        let mlps: Vec<SparseMlp<bf16>> = (0..copies).map(|_| esmm.sparse_mlp_weights(stream, &host)).collect::<std::result::Result<_, _>>().map_err(|e| e.to_string())?;
        // cuBLAS: [gate | up] as one hidden × 2·inter matrix, and down.
        let mut gu = vec![bf16::ZERO; hd * 2 * it];
        for k in 0..hd {
            gu[k * 2 * it..k * 2 * it + it].copy_from_slice(&gate[k * it..(k + 1) * it]);
            gu[k * 2 * it + it..(k + 1) * 2 * it].copy_from_slice(&up[k * it..(k + 1) * it]);
        }
        let gu_d: Vec<CudaSlice<bf16>> = (0..copies).map(|_| stream.clone_htod(&gu)).collect::<std::result::Result<_, _>>().map_err(msg("uploading gate|up"))?;
        let down_d: Vec<CudaSlice<bf16>> = (0..copies).map(|_| stream.clone_htod(&down)).collect::<std::result::Result<_, _>>().map_err(msg("uploading down"))?;
        drop(gu);
        let mut gu_out: CudaSlice<bf16> = stream.alloc_zeros(16 * 2 * it).map_err(msg("allocating"))?;
        let mut hbuf: CudaSlice<bf16> = stream.alloc_zeros(16 * it).map_err(msg("allocating"))?;
        let mut y: CudaSlice<bf16> = stream.alloc_zeros(16 * hd).map_err(msg("allocating"))?;
        let mut y_ref: CudaSlice<bf16> = stream.alloc_zeros(16 * hd).map_err(msg("allocating"))?;
        for &m in &DECODE_TOKENS {
            let xh: Vec<bf16> = (0..m * hd).map(|_| bf16::from_f32(rng.random_range(-1.0f32..1.0))).collect();
            let x = stream.clone_htod(&xh).map_err(msg("uploading x"))?;
            let mut dense_blas = |i: usize, y: &mut CudaSlice<bf16>| -> Result<()> {
                let c = i % copies;
                esmm.baselines().gemm(blas, stream, &x, &gu_d[c], &mut gu_out, Dims::new(m, 2 * it, hd)).map_err(|e| e.to_string())?;
                let total = (m * it) as i32;
                let cfg = LaunchConfig { grid_dim: ((total as u32).div_ceil(256), 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
                let mut b = stream.launch_builder(&silu);
                let (mi, ii) = (m as i32, it as i32);
                b.arg(&gu_out).arg(&mut hbuf).arg(&mi).arg(&ii);
                // SAFETY: gu_out holds m·2·inter, hbuf m·inter elements.
                unsafe { b.launch(cfg) }.map_err(msg("launching silu_mul"))?;
                esmm.baselines().gemm(blas, stream, &hbuf, &down_d[c], y, Dims::new(m, hd, it)).map_err(|e| e.to_string())
            };
            let base_ms = median(batched(stream, samples, BATCH, |i| dense_blas(i, &mut y_ref))?);
            dense_blas(0, &mut y_ref)?;
            let reference = stream.clone_dtoh(&y_ref).map_err(msg("reading y"))?;
            let ctx = RowContext { experiment: "mlp".into(), gpu: gpu.clone(), dtype: "bf16".into(), dims: Dims::new(m, hd, it), densities: (1.0, 1.0), baseline: "cublas_bf16_mlp".into(), baseline_ms: base_ms };
            let mut kinds = vec![("dense (all neurons)", MlpSelect::All, 1.0)];
            for &f in &MLP_ACTIVE {
                kinds.push(("sparse top-k", MlpSelect::TopK(((it as f64) * f).round() as usize), f));
            }
            for (label, select, f) in kinds {
                let run = esmm.sparse_mlp(stream, &x, &mlps[0], &mut y, m, select, true).map_err(|e| e.to_string())?;
                let active = run.active.map_or(0, |a| a.len());
                let got = stream.clone_dtoh(&y).map_err(msg("reading y"))?;
                let err = if select == MlpSelect::All { max_rel_err(&got[..m * hd], &reference[..m * hd]) } else { f64::NAN };
                let ms = median(batched(stream, samples, BATCH, |i| esmm.sparse_mlp(stream, &x, &mlps[i % copies], &mut y, m, select, false).map(|_| ()).map_err(|e| e.to_string()))?);
                let union = active as f64 / it as f64;
                let bytes = union * (3 * hd * it * 2) as f64 + if select == MlpSelect::All { 0.0 } else { ((hd * r + r * it) * 2) as f64 };
                let roof_ms = bytes / bw * 1e3;
                let mut row = RowContext { densities: (f, 1.0), ..ctx.clone() }.row(label, "gemv sparse_mlp", ms);
                row.set_num("roofline_ms", roof_ms, 5).set_num("roofline_frac", roof_ms / ms, 3).set_num("union_density", union, 4);
                row.set("masks", "top-k").set_num("read_gbps", bw / 1e9, 0).set_sci("rel_err", err);
                rows.push(row);
            }
        }
        // The weight cache over a token sequence (M = 1): 30% of the neurons fit, 10% are kept.
        let mut cache = esmm.weight_cache(stream, &host, it * 3 / 10).map_err(|e| e.to_string())?;
        let keep = it / 10;
        let mut xs: Vec<f32> = (0..hd).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let (mut bytes, mut host_us, mut loaded, mut tok_ms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in 0..48 {
            for v in xs.iter_mut() {
                if rng.random_bool(0.2) {
                    *v = rng.random_range(-1.0f32..1.0);
                }
            }
            let xb: Vec<bf16> = xs.iter().map(|v| bf16::from_f32(*v)).collect();
            let x = stream.clone_htod(&xb).map_err(msg("uploading x"))?;
            stream.synchronize().map_err(msg("synchronizing"))?;
            let t0 = std::time::Instant::now();
            let active = esmm.cache_predict(stream, &x, &cache, 1, MlpSelect::TopK(keep)).map_err(|e| e.to_string())?;
            let u = esmm.cache_update(stream, &mut cache, &active).map_err(|e| e.to_string())?;
            esmm.cached_mlp_over(stream, &x, &cache, &mut y, 1).map_err(|e| e.to_string())?;
            stream.synchronize().map_err(msg("synchronizing"))?;
            if t >= 8 {
                tok_ms.push(t0.elapsed().as_secs_f64() * 1e3);
                bytes.push(u.bytes as f64);
                host_us.push(u.host_us);
                loaded.push(u.loaded as f64);
            }
        }
        // Loading the whole layer per token: one pinned host-to-device copy of every record.
        let layer = cache.layer_bytes();
        // SAFETY: a fresh pinned buffer (its contents do not matter for the timing).
        let pinned = unsafe { esmm.context().alloc_pinned::<u8>(layer) }.map_err(msg("allocating pinned memory"))?;
        let mut dst: CudaSlice<u8> = stream.alloc_zeros(layer).map_err(msg("allocating"))?;
        let full_ms = median(batched(stream, 5, 1, |_| stream.memcpy_htod(&pinned, &mut dst).map_err(msg("copying the layer")))?);
        let ctx = RowContext { experiment: "mlp".into(), gpu: gpu.clone(), dtype: "bf16".into(), dims: Dims::new(1, hd, it), densities: (0.1, 0.3), baseline: "whole_layer_h2d".into(), baseline_ms: full_ms };
        let mut row = ctx.row("weight cache (per token, wall)", "cache_predict+cache_update+cached_mlp_over", median(tok_ms));
        row.set_num("bytes_per_token", median(bytes), 0).set_num("update_host_us", median(host_us), 1).set_num("loaded_per_token", median(loaded), 1);
        row.set_num("layer_bytes", layer as f64, 0).set("masks", "cache");
        rows.push(row);
    }
    Ok(rows)
}

/// Prints the MLP table.
pub fn print_mlp(rows: &[Row]) {
    for r in rows {
        println!(
            "{:>5}x{:<6} M={:<2} {:<32} kept {:>5} union {:>6} {:>9} ms  base {:>9} ms ({})  x{:>6}  roof {}  bytes/token {}",
            r.n,
            r.k,
            r.m,
            r.label,
            fmt_num(r.density_a, 3),
            r.text("union_density").unwrap_or("-"),
            fmt_num(r.median_ms, 4),
            fmt_num(r.baseline_ms, 4),
            r.baseline,
            fmt_num(r.ratio, 2),
            r.text("roofline_frac").unwrap_or("-"),
            r.text("bytes_per_token").unwrap_or("-")
        );
    }
}
