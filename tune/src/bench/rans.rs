//! Family rans's experiment (`esmm-tune bench --experiment rans`): decode GEMVs (M = 1, 4, 16
//! tokens, bf16 x and y) over compressed INT8 weights against cuBLAS / cuBLASLt bf16 over the
//! same (dequantized) weights, in the same process on the same GPU.
//!
//! Weights: synthetic LLM-like K×N matrices (`esmm::codec::synth`, Student-t ν = 5,
//! `SynthConfig::llm_like`), quantized per output channel to INT8; the bf16 weights of the
//! cuBLAS baseline are the dequantized values (`code · scale`) rounded to bf16, so every path
//! multiplies the same matrix. Each container parameter set of [`RANS_PARAMS`] (tile_k, tile_n,
//! lanes) is encoded from the same codes. A Gaussian matrix of the same shape is encoded too,
//! for its bits per weight only (`bits_per_weight_gaussian`).
//!
//! Every weight set (bf16, INT8, each container) is uploaded in enough copies that one rotation
//! exceeds twice the L2 (at least 2), and consecutive calls use consecutive copies, so every
//! call reads its weights from HBM. Times are medians over `--reps` (5..50) event pairs, each
//! around 20 back-to-back calls, as in the decode experiment (`gemv.rs`).
//!
//! Rows (label → what ran), per shape and M:
//! - `cublas_bf16`, `cublaslt_bf16`: the baselines (the faster one is every row's `baseline`);
//! - `int8`: [`Esmm::int8_gemv`] over plain INT8 weights (default dispatch);
//! - `rans <tk>x<tn>x<lanes>`: [`Esmm::rans_gemv`] over the container with those parameters
//!   (default dispatch; `variant` is the kernel it chose), fused decode → dequantize → GEMV;
//! - `decode+int8 <tk>x<tn>x<lanes>`: decoding every step into INT8, then the INT8 GEMV:
//!   [`Esmm::rans_decode_into`] into one of the rotated INT8 weight copies, then
//!   [`Esmm::int8_gemv`] over that same buffer, per call (the GEMV may find the last decoded
//!   codes in L2, as a real step would). Its `rel_err` is that of the INT8 GEMV over
//!   `int8_weights_from` (the decoded container).
//!
//! and once per shape and container, with `m = 0` (no tokens; baseline = cuBLAS at M = 1,
//! `ratio_vs_int8` against the INT8 GEMV at M = 1):
//! - `decode <tk>x<tn>x<lanes>`: the standalone decode ([`Esmm::rans_decode_async`]) of the
//!   whole matrix into K×N INT8; `code_mismatches` counts codes that differ from the encoder's
//!   input, `bad_tiles` the tiles whose stream failed its end checks.
//!
//! CSV `<out>/rans.csv`: the common columns, then `params` (tile_k x tile_n x lanes or `-`),
//! `dist`, `bits_per_weight` (stored bits per weight: 16 bf16, 8·INT8 bytes / K·N, container
//! bits), `bits_per_weight_gaussian` (the same container parameters on Gaussian weights),
//! `entropy_bits` (empirical entropy of the codes), `weight_bytes_stored` (device bytes of the
//! weights; for decode+int8 the container, the scratch buffer being shared by every layer),
//! `bytes_saved_vs_bf16` (2·K·N − weight_bytes_stored), `bytes_moved` (bytes the call must read,
//! plus, for the decode, the K·N bytes it writes), `roofline_ms` (bytes_moved / streaming read
//! bandwidth measured in the same run), `roofline_frac` (roofline_ms / median_ms),
//! `achieved_gbps` (bytes_moved / median), `decode_gbps` (K·N INT8 bytes produced per second,
//! for the paths that decode), `ratio_vs_int8` (INT8 GEMV time / this time), `read_gbps`,
//! `rel_err` (against cuBLAS bf16, max |Δ| / max |ref|), `code_mismatches`, `bad_tiles`, `error`
//! (why a path has no time).

use std::sync::Arc;
use std::time::Instant;

use ::esmm::codec::synth::{entropy_bits, synth_weights, Distribution, SynthConfig};
use ::esmm::codec::{encode, quantize_f32, Params, QuantizedMatrix};
use ::esmm::cudarc::driver::{CudaSlice, CudaStream};
use ::esmm::{Baseline, BaselineKind, BaselineMath, Dims, Esmm, Int8Weights, RansOptions, RansWeights};
use half::bf16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::row::{fmt_num, Row, RowContext};
use super::timing::{batched, max_rel_err, median, rotation_copies};
use super::BenchArgs;
use crate::{msg, Result};

/// Weight shapes (K × N): Llama-2-7B's MLP up and down projections, a Llama-3-70B-like MLP.
pub const RANS_SHAPES: [(usize, usize); 3] = [(4096, 11008), (11008, 4096), (8192, 28672)];
/// `--quick`: the first shape only.
pub const RANS_QUICK_SHAPES: [(usize, usize); 1] = [(4096, 11008)];
/// Tokens per call.
pub const RANS_TOKENS: [usize; 3] = [1, 4, 16];
/// Container parameters (tile_k, tile_n, lanes).
pub const RANS_PARAMS: [(u32, u32, u32); 5] = [(256, 256, 32), (256, 256, 64), (64, 256, 32), (64, 256, 64), (128, 128, 32)];
/// Calls between one pair of events (each on the next weight copy).
const BATCH: usize = 20;
/// The Student-t degrees of freedom of the timed weights.
const NU: u32 = 5;

/// `esmm-tune bench --experiment rans`: checks the arguments, opens the GPU (an error without a
/// driver), runs [`rans`], prints the table and writes `<out>/rans.csv`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let shapes = shapes(args)?;
    let esmm = crate::open_gpu(args.device)?;
    let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
    // SAFETY: every buffer of the bench is used on this one stream only.
    unsafe { esmm.context().disable_event_tracking() };
    let samples = (args.reps as usize).clamp(5, 50);
    let rows = rans(&esmm, &stream, &shapes, samples, args.seed)?;
    print_rans(&rows);
    let csv = super::row::write_csv(&args.out, "rans", &rows)?;
    eprintln!("wrote {}", csv.display());
    Ok(())
}

/// The shapes `args` asks for (checked before any GPU work): `--shape 1xNxK` one weight shape,
/// `--quick` [`RANS_QUICK_SHAPES`], else [`RANS_SHAPES`].
pub fn shapes(args: &BenchArgs) -> Result<Vec<(usize, usize)>> {
    if args.experiment.iter().any(|e| e != "rans") {
        return Err("--experiment rans (family rans) runs without the other experiments".into());
    }
    let shapes = if args.shape != Dims::new(4096, 4096, 4096) {
        vec![(args.shape.k, args.shape.n)]
    } else if args.quick {
        RANS_QUICK_SHAPES.to_vec()
    } else {
        RANS_SHAPES.to_vec()
    };
    for &(k, n) in &shapes {
        if n % 16 != 0 || k % 8 != 0 {
            return Err(format!("rans shapes need N a multiple of 16 and K of 8 (INT8 rows and the cuBLAS baseline unpadded), not K={k}, N={n}"));
        }
    }
    Ok(shapes)
}

/// `tile_k x tile_n x lanes`.
fn params_tag(p: &Params) -> String {
    format!("{}x{}x{}", p.tile_k, p.tile_n, p.lanes)
}

/// One container parameter set of a shape: its encoded bits, its uploaded copies (or why not).
struct Container {
    params: Params,
    bits: f64,
    bits_gaussian: f64,
    copies: std::result::Result<Vec<RansWeights>, String>,
}

/// What one row says beyond the common columns (every row sets every column, in one order, so
/// the CSV header is stable).
#[derive(Clone, Debug)]
struct Extra {
    params: String,
    bits: f64,
    bits_gaussian: f64,
    entropy: f64,
    stored: f64,
    moved: f64,
    decoded: f64,
    int8_ms: f64,
    rel_err: f64,
    mismatches: f64,
    bad_tiles: f64,
    error: String,
}

impl Extra {
    fn new(params: &str, bits: f64, stored: usize, moved: usize, entropy: f64) -> Extra {
        Extra {
            params: params.into(),
            bits,
            bits_gaussian: f64::NAN,
            entropy,
            stored: stored as f64,
            moved: moved as f64,
            decoded: f64::NAN,
            int8_ms: f64::NAN,
            rel_err: f64::NAN,
            mismatches: f64::NAN,
            bad_tiles: f64::NAN,
            error: String::new(),
        }
    }
}

/// Fills a row's extra columns.
fn finish(mut r: Row, e: &Extra, k: usize, n: usize, bw: f64) -> Row {
    let ms = r.median_ms;
    let roof_ms = e.moved / bw * 1e3;
    r.set("params", e.params.as_str()).set("dist", format!("student_t{NU}"));
    r.set_num("bits_per_weight", e.bits, 4).set_num("bits_per_weight_gaussian", e.bits_gaussian, 4).set_num("entropy_bits", e.entropy, 4);
    r.set_num("weight_bytes_stored", e.stored, 0).set_num("bytes_saved_vs_bf16", (2 * k * n) as f64 - e.stored, 0);
    r.set_num("bytes_moved", e.moved, 0).set_num("roofline_ms", roof_ms, 5).set_num("roofline_frac", roof_ms / ms, 3);
    r.set_num("achieved_gbps", e.moved / (ms * 1e-3) / 1e9, 1).set_num("decode_gbps", e.decoded / (ms * 1e-3) / 1e9, 1);
    r.set_num("ratio_vs_int8", e.int8_ms / ms, 3).set_num("read_gbps", bw / 1e9, 0).set_sci("rel_err", e.rel_err);
    r.set_num("code_mismatches", e.mismatches, 0).set_num("bad_tiles", e.bad_tiles, 0).set("error", e.error.as_str());
    r
}

/// Times `f` (see [`batched`]) after its correctness pass `checked` (the variant that ran and
/// its relative error); an error of either becomes the row's `error` (no time).
fn measure(stream: &Arc<CudaStream>, samples: usize, what: &str, checked: Result<(String, f64)>, f: impl FnMut(usize) -> Result<()>) -> (String, f64, f64, String) {
    let (variant, err) = match checked {
        Ok(v) => v,
        Err(e) => {
            eprintln!("warning: {what}: {e}");
            return (String::new(), f64::NAN, f64::NAN, e);
        }
    };
    match batched(stream, samples, BATCH, f) {
        Ok(s) => (variant, median(s), err, String::new()),
        Err(e) => {
            eprintln!("warning: {what}: {e}");
            (variant, f64::NAN, err, e)
        }
    }
}

/// The rans experiment (see the module docs).
pub fn rans(esmm: &Esmm, stream: &Arc<CudaStream>, shapes: &[(usize, usize)], samples: usize, seed: u64) -> Result<Vec<Row>> {
    let bw = super::gemv::read_bandwidth(esmm, stream)?;
    eprintln!("read bandwidth (streaming read of 1 GiB): {:.0} GB/s", bw / 1e9);
    let mut rows = Vec::new();
    for &(k, n) in shapes {
        rows.extend(shape(esmm, stream, k, n, samples, seed, bw)?);
    }
    Ok(rows)
}

/// Quantizes synthetic weights of `dist` (per output channel).
fn quantized(k: usize, n: usize, dist: Distribution, seed: u64) -> Result<QuantizedMatrix> {
    let w = synth_weights(k, n, &SynthConfig::llm_like(dist, k, n), seed);
    quantize_f32(&w, k, n, n).map_err(msg("quantizing the synthetic weights"))
}

/// All rows of one K×N shape.
fn shape(esmm: &Esmm, stream: &Arc<CudaStream>, k: usize, n: usize, samples: usize, seed: u64, bw: f64) -> Result<Vec<Row>> {
    let gpu = esmm.device().name.clone();
    let kn = k * n;
    let params: Vec<Params> = RANS_PARAMS.iter().map(|&(tile_k, tile_n, lanes)| Params { tile_k, tile_n, lanes }).collect();
    let t0 = Instant::now();
    // Gaussian weights: the bits column only.
    let gauss_bits: Vec<f64> = {
        let q = quantized(k, n, Distribution::Gaussian, seed ^ 0x9a55_0001)?;
        params.iter().map(|p| encode(&q, p).map(|c| 8.0 * c.len() as f64 / kn as f64).map_err(msg("encoding the Gaussian weights"))).collect::<Result<_>>()?
    };
    let q = quantized(k, n, Distribution::StudentT { nu: NU }, seed)?;
    let entropy = entropy_bits(&q.codes);
    let encoded: Vec<Vec<u8>> = params.iter().map(|p| encode(&q, p).map_err(msg("encoding the weights"))).collect::<Result<_>>()?;
    // The cuBLAS weights: the dequantized values (code · scale, as the kernels compute them)
    // rounded to bf16.
    let wb: Vec<bf16> = q.codes.iter().enumerate().map(|(i, &c)| bf16::from_f32(f32::from(c) * q.scales[i % n])).collect();
    eprintln!("{k}x{n}: synthesized, quantized and encoded in {:.1} s (code entropy {entropy:.3} bits)", t0.elapsed().as_secs_f64());

    // Device copies, rotated so that every call reads its weights from HBM.
    let bf_copies = rotation_copies(esmm, 2 * kn).max(2);
    let wbf: Vec<CudaSlice<bf16>> = (0..bf_copies).map(|_| stream.clone_htod(&wb)).collect::<std::result::Result<_, _>>().map_err(msg("uploading bf16 weights"))?;
    drop(wb);
    let i8_copies = rotation_copies(esmm, kn).max(2);
    let mut wi8: Vec<Int8Weights> = (0..i8_copies).map(|_| esmm.int8_weights(stream, &q)).collect::<std::result::Result<_, _>>().map_err(|e| format!("uploading INT8 weights: {e}"))?;
    let mut containers = Vec::new();
    for ((p, buf), gbits) in params.iter().zip(&encoded).zip(&gauss_bits) {
        let copies = rotation_copies(esmm, buf.len()).max(2);
        let up = (0..copies).map(|_| esmm.rans_weights(stream, buf)).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| format!("uploading the {} container: {e}", params_tag(p)));
        if let Err(e) = &up {
            eprintln!("warning: {e}");
        }
        containers.push(Container { params: *p, bits: 8.0 * buf.len() as f64 / kn as f64, bits_gaussian: *gbits, copies: up });
    }
    drop(encoded);
    eprintln!(
        "{k}x{n}: copies per rotation: bf16 {bf_copies}, INT8 {i8_copies}, containers {}",
        containers.iter().map(|c| c.copies.as_ref().map_or(0, |v| v.len()).to_string()).collect::<Vec<_>>().join("/")
    );
    let mut scratch: CudaSlice<i8> = stream.alloc_zeros(kn).map_err(msg("allocating the decode buffer"))?;
    let mut y: CudaSlice<bf16> = stream.alloc_zeros(16 * n).map_err(msg("allocating y"))?;
    let mut y_ref: CudaSlice<bf16> = stream.alloc_zeros(16 * n).map_err(msg("allocating y"))?;
    let blas = Baseline::new(BaselineKind::Cublas, BaselineMath::Bf16);
    let lt = Baseline::new(BaselineKind::CublasLt, BaselineMath::Bf16);
    let int8_stored = wi8[0].device_bytes();
    let int8_bits = 8.0 * int8_stored as f64 / kn as f64;
    let mut rng = StdRng::seed_from_u64(seed ^ ((k as u64) << 32) ^ n as u64);
    let mut rows = Vec::new();

    for &m in &RANS_TOKENS {
        let xh: Vec<bf16> = (0..m * k).map(|_| bf16::from_f32(rng.random_range(-1.0f32..1.0))).collect();
        let x = stream.clone_htod(&xh).map_err(msg("uploading x"))?;
        let dims = Dims::new(m, n, k);
        let io = 2 * m * k + 2 * m * n;
        let time_blas = |b: Baseline, y: &mut CudaSlice<bf16>| -> Result<f64> {
            Ok(median(batched(stream, samples, BATCH, |i| esmm.baselines().gemm(b, stream, &x, &wbf[i % bf_copies], y, dims).map_err(|e| e.to_string()))?))
        };
        let t_blas = time_blas(blas, &mut y_ref)?;
        let t_lt = time_blas(lt, &mut y_ref).unwrap_or(f64::NAN);
        let (base_label, base_ms) = if t_lt < t_blas { ("cublaslt_bf16", t_lt) } else { ("cublas_bf16", t_blas) };
        esmm.baselines().gemm(blas, stream, &x, &wbf[0], &mut y_ref, dims).map_err(|e| e.to_string())?;
        let reference = stream.clone_dtoh(&y_ref).map_err(msg("reading y"))?;
        let ctx = RowContext { experiment: "rans".into(), gpu: gpu.clone(), dtype: "bf16".into(), dims, densities: (1.0, 1.0), baseline: base_label.into(), baseline_ms: base_ms };
        let bf16_extra = Extra::new("-", 16.0, 2 * kn, 2 * kn + io, entropy);
        let mut out = Vec::new();
        for (label, ms) in [("cublas_bf16", t_blas), ("cublaslt_bf16", t_lt)] {
            out.push((ctx.row(label, label, ms), Extra { rel_err: 0.0, ..bf16_extra.clone() }));
        }

        // Plain INT8 GEMV.
        let check = |w: &Int8Weights, y: &mut CudaSlice<bf16>| -> Result<(String, f64)> {
            let v = esmm.int8_gemv::<bf16, bf16, _, _>(stream, &x, w, y, m, RansOptions::default()).map_err(|e| e.to_string())?;
            let got = stream.clone_dtoh(&*y).map_err(msg("reading y"))?;
            Ok((v.to_string(), max_rel_err(&got[..m * n], &reference[..m * n])))
        };
        let checked = check(&wi8[0], &mut y);
        let (variant, int8_ms, err, error) = measure(stream, samples, &format!("{k}x{n} M={m} int8_gemv"), checked, |i| {
            esmm.int8_gemv::<bf16, bf16, _, _>(stream, &x, &wi8[i % i8_copies], &mut y, m, RansOptions::default()).map(|_| ()).map_err(|e| e.to_string())
        });
        out.push((ctx.row("int8", &variant, int8_ms), Extra { rel_err: err, error, ..Extra::new("-", int8_bits, int8_stored, int8_stored + io, entropy) }));

        for c in &containers {
            let tag = params_tag(&c.params);
            let ws = match &c.copies {
                Ok(ws) => ws,
                Err(e) => {
                    for label in [format!("rans {tag}"), format!("decode+int8 {tag}")] {
                        out.push((ctx.row(&label, "", f64::NAN), Extra { bits_gaussian: c.bits_gaussian, error: e.clone(), ..Extra::new(&tag, c.bits, 0, 0, entropy) }));
                    }
                    continue;
                }
            };
            let rc = ws.len();
            let stored = ws[0].device_bytes();

            // Standalone decode, once per shape and container (m = 0).
            if m == RANS_TOKENS[0] {
                let what = format!("{k}x{n} rans_decode {tag}");
                let (mut bad, mut mismatches) = (f64::NAN, f64::NAN);
                let checked = (|| {
                    bad = f64::from(esmm.rans_decode(stream, &ws[0], Some(&mut scratch)).map_err(|e| e.to_string())?);
                    let got = stream.clone_dtoh(&scratch).map_err(msg("reading the decoded codes"))?;
                    mismatches = got.iter().zip(&q.codes).filter(|(a, b)| a != b).count() as f64;
                    if mismatches > 0.0 || bad > 0.0 {
                        eprintln!("warning: {what}: {mismatches} codes differ from the encoder's input, {bad} tiles fail their end checks");
                    }
                    Ok(("rans_decode".to_string(), f64::NAN))
                })();
                let (_, ms, _, error) = measure(stream, samples, &what, checked, |i| esmm.rans_decode_async(stream, &ws[i % rc], &mut scratch).map_err(|e| e.to_string()));
                let mut r = ctx.row(&format!("decode {tag}"), "rans_decode", ms);
                r.m = 0;
                let e = Extra { bits_gaussian: c.bits_gaussian, decoded: kn as f64, mismatches, bad_tiles: bad, error, ..Extra::new(&tag, c.bits, stored, stored + kn, entropy) };
                out.push((r, e));
            }

            // Fused decode → dequantize → GEMV (default dispatch).
            let checked = (|| {
                let v = esmm.rans_gemv::<bf16, bf16, _, _>(stream, &x, &ws[0], &mut y, m, RansOptions::default()).map_err(|e| e.to_string())?;
                let got = stream.clone_dtoh(&y).map_err(msg("reading y"))?;
                Ok((v.to_string(), max_rel_err(&got[..m * n], &reference[..m * n])))
            })();
            let (variant, ms, err, error) = measure(stream, samples, &format!("{k}x{n} M={m} rans_gemv {tag}"), checked, |i| {
                esmm.rans_gemv::<bf16, bf16, _, _>(stream, &x, &ws[i % rc], &mut y, m, RansOptions::default()).map(|_| ()).map_err(|e| e.to_string())
            });
            let e = Extra { bits_gaussian: c.bits_gaussian, decoded: kn as f64, rel_err: err, error, ..Extra::new(&tag, c.bits, stored, stored + io, entropy) };
            out.push((ctx.row(&format!("rans {tag}"), &variant, ms), e));

            // Decode into INT8, then the INT8 GEMV (see the module docs for what it reads).
            let checked = esmm.int8_weights_from(stream, &ws[0]).map_err(|e| e.to_string()).and_then(|decoded| check(&decoded, &mut y)).map(|(v, err)| (format!("rans_decode + {v}"), err));
            let (variant, ms, err, error) = measure(stream, samples, &format!("{k}x{n} M={m} decode+int8 {tag}"), checked, |i| {
                let dst = &mut wi8[i % i8_copies];
                esmm.rans_decode_into(stream, &ws[i % rc], dst).map_err(|e| e.to_string())?;
                esmm.int8_gemv::<bf16, bf16, _, _>(stream, &x, &*dst, &mut y, m, RansOptions::default()).map(|_| ()).map_err(|e| e.to_string())
            });
            let moved = stored + kn + int8_stored + io;
            let e = Extra { bits_gaussian: c.bits_gaussian, decoded: kn as f64, rel_err: err, error, ..Extra::new(&tag, c.bits, stored, moved, entropy) };
            out.push((ctx.row(&format!("decode+int8 {tag}"), &variant, ms), e));
        }
        rows.extend(out.into_iter().map(|(r, e)| finish(r, &Extra { int8_ms, ..e }, k, n, bw)));
    }
    Ok(rows)
}

/// Prints the rans table: per shape and M, each path's time, ratio to cuBLAS (the faster of
/// cuBLAS and cuBLASLt) and to the INT8 GEMV, stored bits per weight, achieved GB/s and
/// fraction of the read-bandwidth roofline.
pub fn print_rans(rows: &[Row]) {
    println!("{:>12} {:>3} {:<22} {:>9} {:>8} {:>7} {:>7} {:>7} {:>6}  variant", "KxN", "M", "path", "us", "x_cublas", "x_int8", "bits/w", "GB/s", "roof");
    for r in rows {
        if r.label.starts_with("cublas") && r.label != r.baseline {
            continue;
        }
        println!(
            "{:>12} {:>3} {:<22} {:>9} {:>8} {:>7} {:>7} {:>7} {:>6}  {}",
            format!("{}x{}", r.k, r.n),
            if r.m == 0 { "-".to_string() } else { r.m.to_string() },
            r.label,
            fmt_num(r.median_ms * 1e3, 2),
            fmt_num(r.ratio, 2),
            r.text("ratio_vs_int8").unwrap_or(""),
            r.text("bits_per_weight").map(|b| b.parse::<f64>().map_or(b.to_string(), |v| fmt_num(v, 2))).unwrap_or_default(),
            r.text("achieved_gbps").unwrap_or(""),
            r.text("roofline_frac").unwrap_or(""),
            match r.text("error") {
                Some(e) if !e.is_empty() => format!("error: {e}"),
                _ => r.variant.clone(),
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn args(extra: &[&str]) -> BenchArgs {
        Cli::try_parse_from(["x", "--experiment", "rans"].iter().chain(extra)).unwrap().bench
    }

    #[test]
    fn shapes_follow_quick_and_shape_and_are_checked_without_a_gpu() {
        assert_eq!(shapes(&args(&[])).unwrap(), RANS_SHAPES.to_vec());
        assert_eq!(shapes(&args(&["--quick"])).unwrap(), RANS_QUICK_SHAPES.to_vec());
        assert_eq!(shapes(&args(&["--shape", "1x4096x2048"])).unwrap(), vec![(2048, 4096)]);
        assert!(shapes(&args(&["--shape", "1x4100x2048"])).unwrap_err().contains("multiple of 16"));
        let mixed = Cli::try_parse_from(["x", "--experiment", "rans,density"]).unwrap().bench;
        assert!(shapes(&mixed).unwrap_err().contains("without the other experiments"));
    }

    #[test]
    fn rows_carry_every_column_in_one_order() {
        let ctx = RowContext {
            experiment: "rans".into(),
            gpu: "g".into(),
            dtype: "bf16".into(),
            dims: Dims::new(1, 64, 32),
            densities: (1.0, 1.0),
            baseline: "cublas_bf16".into(),
            baseline_ms: 0.02,
        };
        let e = Extra { decoded: 2048.0, int8_ms: 0.01, ..Extra::new("64x64x32", 4.5, 1200, 1400, 4.3) };
        let a = finish(ctx.row("rans 64x64x32", "v", 0.01), &e, 32, 64, 1e8);
        let b = finish(ctx.row("int8", "w", f64::NAN), &Extra::new("-", 8.0, 2048, 2200, 4.3), 32, 64, 1e8);
        let cols = |r: &Row| r.extra.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
        assert_eq!(cols(&a), cols(&b));
        assert_eq!(a.num("bytes_saved_vs_bf16"), (2 * 32 * 64 - 1200) as f64);
        assert_eq!(a.num("ratio_vs_int8"), 1.0);
        // 1400 bytes at 0.1 GB/s: 0.014 ms of 0.01 ms.
        assert_eq!((a.num("roofline_ms"), a.num("roofline_frac")), (0.014, 1.4));
        assert_eq!(a.num("decode_gbps"), 0.2); // 2048 bytes in 10 µs
        assert!(b.num("roofline_frac").is_nan() && b.text("error") == Some(""));
        let text = super::super::row::to_csv(&[a, b]);
        assert!(text.lines().next().unwrap().contains(",params,dist,bits_per_weight,"), "{text}");
    }
}
