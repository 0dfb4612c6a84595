//! GPU correctness suite of family `rans` (INT8 weights, rANS-coded; harness = false): the GPU
//! decoder against the codec's own codes, every compiled fused decode → dequantize → GEMV
//! variant and every plain INT8 GEMV variant against an f64 reference, corrupted containers, API
//! errors and concurrent streams. The container format is docs/CODEC.md's (crate `esmm-codec`,
//! re-exported as `esmm::codec`); the API is `Esmm::rans_weights`, `rans_weights_unverified`,
//! `rans_decode`, `rans_gemv`, `int8_weights`, `int8_weights_from`, `int8_gemv`.
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and `0 passed, 0 failed, N skipped`
//! and exits 0. Options (arguments after `--`, or `ESMM_RANS_SUITE_ARGS`):
//! - `--quick`: shapes up to 1023×333 only;
//! - `--filter SUBSTR`: only cases whose name contains SUBSTR (repeatable: any matches);
//! - `--sanitizer-shapes`: for compute-sanitizer: 1×1, 7×33 and 300×257 only: the decode cases,
//!   every variant at M = 1 and at its mt (one run), and the corruption cases; no API or thread
//!   cases;
//! - `--timeout SECS`: watchdog per case (default 120; a hang is a failure);
//! - `--seed N`: RNG seed (default: time-based, printed). Every matrix and every x draws from
//!   its own stream derived from the seed and its name, so `--filter` does not change the data.
//!
//! # Matrices
//! K×N weights: the codec's synthetic LLM-like weights (`synth::synth_weights` with
//! `SynthConfig::llm_like`, Gaussian; Student-t ν = 5 for 300×257 and 4100×2050), quantized by
//! `quantize_f32`; `single`: every column constant (all codes 127: one symbol, frequency 4096,
//! a container with zero stream words); `all255`: `((7k + 3n) mod 255 − 127) · f_n` with
//! per-column factors, so every code −127..=127 occurs (checked: 255 symbols in the table).
//! Shapes: 1×1, 7×33, 37×1001, 300×257, 1023×333, 4097×1025, 4100×2050, and in full mode
//! (without `--quick`) 4096×11008. Container parameters (tile_k, tile_n, lanes): (256,256,32),
//! (256,256,64), (64,128,32), (37,128,64), (256,128,32).
//!
//! # Cases
//! 1. `decode`: every shape × parameter set (plus `single` at 37×1001 and 300×257, `all255` at
//!    300×257 and 1023×333): `rans_weights` (CPU checks + GPU verify) accepts the container,
//!    `rans_decode(None)` returns 0, `rans_decode(Some(codes))` returns 0 and the codes equal the
//!    codec's `q.codes` bit for bit; the codes buffer has 37 extra elements, poisoned with −128
//!    (a code that never occurs), which must stay untouched.
//! 2. variants: every compiled Ans variant by name on containers of its lanes and tile_n (the
//!    parameter sets above that match; a tile_k the variant cannot stage is replaced by the
//!    largest of 256, 128, 64, 37, 32, 16 it can, and the refusal of the tall one is an API case),
//!    at every M of 1, 2, 3, 4, 5, 8, 9, 16 up to its mt, on every shape but 4096×11008 and on
//!    `single` / `all255` at 300×257; every Int8 variant the same over `int8_weights(q)`; default
//!    dispatch (no variant) for each input → output type pair, each parameter set, M = 1, 3, 5,
//!    9, 16 at 1023×333 (and 4096×11008 at M = 1 and 16 in full mode): what ran must be a
//!    registry entry of family rans that serves the call; a refusal is accepted only when no
//!    compiled variant serves it. x (M×K) has non-uniform magnitudes (per token 2^-4..2^2, per
//!    element 2^-6..2^1 more, random signs), ±0 zeros at per-token rates of 0–90% plus 10% of the
//!    inputs zero for every token, token 5 all zero when M ≥ 6; x is followed by 37 NaNs, which
//!    must not be read. y (M×N + 37) is filled with a NaN no arithmetic produces; after the call
//!    every element of M×N must be written and within tolerance, the 37 after must be untouched.
//!    Every call runs twice on the same stream and weights and the two y must be bitwise equal
//!    (the split fix-up adds partials in a fixed order). The name returned must be the one asked.
//! 3. `corrupt`: a valid container with its stream (or one lane's initial state, kept in
//!    [2^16, 2^32)) mutated — one bit flipped, two different words of a tile swapped, 1% of the
//!    words flipped, the last tile's last word flipped (a lane then reads past the whole stream),
//!    the whole stream zeroed — and the CRC32 of every section recomputed, so `Container::parse`
//!    accepts it (checked) while the codec's decoder rejects some tiles (the oracle; a mutation
//!    the codec does not detect is redrawn). `rans_weights` must be an `Err` naming the problem;
//!    `rans_weights_unverified` must accept it and `rans_decode` (verify-only and into codes)
//!    must return exactly the number of tiles the codec rejects, without a fault, the codes
//!    guard untouched and every tile the codec accepts decoded as the codec decodes it; a fused
//!    GEMV over the corrupt weights must not fault and write exactly M×N elements; afterwards the
//!    valid container decodes exactly on the same stream. `invalid`: truncated containers
//!    (length − 1, half, 143, 7 and 0 bytes), a bad magic, an unsupported version, a stream bit
//!    flipped without fixing its CRC, a trailing byte: `Err` from both upload functions.
//! 4. `api`: m = 0 and m = 17, x one element short, y one element short (rans and int8), codes
//!    one element short for `rans_decode`, a variant whose lanes or tile_n differ from the
//!    weights, an Int8 variant given to `rans_gemv` and an Ans variant to `int8_gemv`, a variant
//!    of another input or output type, a variant with mt < M, an unknown name, a variant of
//!    another family, a container whose tile_k is taller than a named variant stages, invalid
//!    quantized matrices for `int8_weights`: each a clear `Err`, y untouched, and the stream
//!    still works afterwards (a valid call on it is checked). `int8_weights_from` (decoded on
//!    the GPU) must give bitwise the y of `int8_weights(q)`.
//! 5. `threads`: two threads, each with its own stream, three rounds of rans_gemv (37×1001 M = 3
//!    and 1023×333 M = 16) and int8_gemv, once with weights per thread and once with weights
//!    shared by both threads: y bitwise equal to the single-stream results.
//!
//! # Tolerance
//! The kernels compute `y = (Σ_k x_k · code_k) · scale` in fp32 (products of a bf16/f16 x and
//! an integer code of ≤ 8 bits are exact in fp32; each FMA rounds once, to nearest; k-split
//! partials are added in a fixed order; the scale multiplies once). The reference is the f64
//! `Σ_k x_k · (code_k · scale)` over exactly the rounded x (identical in exact arithmetic). Per
//! element, with `s = Σ_k |x_k · code_k · scale|`:
//! `|y − ref| ≤ c·s + r_out(|ref| + c·s)`, `c = max(1e-5, 6 · 2⁻²⁴ · √(K + 16))`:
//! - accumulation: n = K + splits + 1 ≤ K + 16 roundings of relative size ≤ u = 2⁻²⁴, each
//!   on a partial sum bounded by s. The worst case n·u·s (2.5e-4·s at K = 4100) needs every
//!   rounding to err the same way, which round-to-nearest does not do; modelling the rounding
//!   errors as independent and uniform in [−u, u] gives a standard deviation ≤ u·√(n/3)·s, and
//!   6·u·√n is 10.4 of those (the 1e-5 floor, which applies up to K ≈ 770, more still). The model
//!   is itself pessimistic: it takes every partial sum as large as s, while with random signs
//!   they are ≈ √k terms, not k. Measured on an H100: err/tol ≤ 0.01 for f32 outputs (for
//!   bf16 / f16 outputs the rounding of y dominates, err/tol up to 0.99). The bound stays tight
//!   enough to see one wrong weight: on the synthetic weights s ≈ K · 0.5 · 4 · scale, so
//!   c·s ≈ 0.2·scale at K = 4100, below the |x|·scale ≈ 0.5·scale of one code off by one
//!   (checked once, on an H100, by adding 1 to one code of the reference — row of token 0's
//!   largest |x|, middle column: all 360 variant cases of a full run failed);
//! - `r_out(v)`: rounding y once to its type: 2⁻⁸·v (bf16, 8 significant bits), 2⁻¹¹·v + 2⁻²⁵
//!   (f16, 11 bits; its subnormals below 2⁻¹⁴ round with absolute error ≤ 2⁻²⁵), 2⁻²⁴·v (f32),
//!   applied to |ref| plus the accumulation error, which bounds the value before rounding.
//!
//! The data keep |y| far below the f16 range. An all-zero reference fails the case (it would
//! check nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use esmm::codec::synth::{synth_weights, Distribution, SynthConfig};
use esmm::codec::{encode, quantize_f32, Container, Header, Params, QuantizedMatrix, Section};
use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::{BaselineElem, ElemType, Esmm, GemvInput, GemvOutput, Int8Weights, KernelSpec, RansOptions, RansWeights, RegistryEntry};
use esmm_spec::{RansKind, RansSpec};
use esmm_tests::{round_to, run_cases, Case, HostElem};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Poisoned elements after y and after the codes; NaNs after x.
const GUARD: usize = 37;
/// Most tokens a call takes.
const MAX_M: usize = 16;
/// The token counts a variant runs (those up to its mt).
const MS: [usize; 8] = [1, 2, 3, 4, 5, 8, 9, 16];
/// Container parameters (tile_k, tile_n, lanes).
const PARAMS: [P3; 5] = [(256, 256, 32), (256, 256, 64), (64, 128, 32), (37, 128, 64), (256, 128, 32)];
/// A code that never occurs (the quantizer clamps to ±127).
const CODE_POISON: i8 = -128;

type P3 = (u32, u32, u32);

struct Options {
    quick: bool,
    sanitizer: bool,
    filters: Vec<String>,
    timeout: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(extra) = std::env::var("ESMM_RANS_SUITE_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    let seed_default =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut o = Options { quick: false, sanitizer: false, filters: vec![], timeout: 120, seed: seed_default };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--sanitizer-shapes" => o.sanitizer = true,
            "--filter" => o.filters.extend(it.next()),
            "--timeout" => o.timeout = it.next().and_then(|s| s.parse().ok()).unwrap_or(o.timeout),
            "--seed" => o.seed = it.next().and_then(|s| s.parse().ok()).unwrap_or(o.seed),
            _ => {} // cargo test passes its own flags (e.g. --nocapture); ignore them
        }
    }
    o
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn ptag(p: P3) -> String {
    format!("t{}x{} l{}", p.0, p.1, p.2)
}

fn params(p: P3) -> Params {
    Params { tile_k: p.0, tile_n: p.1, lanes: p.2 }
}

/// A seed from the suite's seed and a name (FNV-1a, then SplitMix64).
fn derive(seed: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    esmm::codec::synth::splitmix64(seed ^ h)
}

// ---------------------------------------------------------------------------------------------
// Element types

/// The element types of family rans on the host: `HostElem` (conversions, poison) with what
/// the runtime's calls need.
trait Host: HostElem + BaselineElem {}
impl<T: HostElem + BaselineElem> Host for T {}

/// An input type (bf16, f16).
trait In: Host + GemvInput {}
impl In for bf16 {}
impl In for f16 {}
/// An output type (bf16, f16, f32).
trait Out: Host + GemvOutput {}
impl Out for bf16 {}
impl Out for f16 {}
impl Out for f32 {}

fn type_index(t: ElemType) -> usize {
    match t {
        ElemType::Bf16 => 0,
        _ => 1,
    }
}

/// Runs `$f::<T, O>(args)` with the host types of the input and output element types.
macro_rules! typed {
    ($input:expr, $out:expr, $f:ident ( $($arg:expr),* )) => {
        match ($input, $out) {
            (ElemType::Bf16, ElemType::Bf16) => $f::<bf16, bf16>($($arg),*),
            (ElemType::Bf16, ElemType::F16) => $f::<bf16, f16>($($arg),*),
            (ElemType::Bf16, ElemType::F32) => $f::<bf16, f32>($($arg),*),
            (ElemType::F16, ElemType::Bf16) => $f::<f16, bf16>($($arg),*),
            (ElemType::F16, ElemType::F16) => $f::<f16, f16>($($arg),*),
            (ElemType::F16, ElemType::F32) => $f::<f16, f32>($($arg),*),
            (t, _) => Err(format!("{} inputs are not a rans type", t.tag())),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Variants

#[derive(Clone, Copy)]
struct Variant {
    e: &'static RegistryEntry,
    s: RansSpec,
}

impl Variant {
    fn ans(&self) -> bool {
        matches!(self.s.kind, RansKind::Ans)
    }
    fn mt(&self) -> usize {
        self.s.mt as usize
    }
    fn lanes(&self) -> u32 {
        self.s.lanes
    }
    fn tile_n(&self) -> u32 {
        self.s.tile_n
    }
    /// Rows of x the variant stages per k-split (the runtime's rule): a container's tile_k must
    /// not exceed it.
    fn rows_fit(&self) -> usize {
        (self.s.xs_bytes() as usize / (4 * self.mt().max(1))).max(1)
    }
    /// Whether it serves a call of these types with `m` tokens over `w` (Ans: a container of
    /// these parameters; Int8: None).
    fn serves(&self, t: ElemType, o: ElemType, m: usize, w: Option<P3>) -> bool {
        if self.s.dtype != t || self.s.out != o || m > self.mt() {
            return false;
        }
        match w {
            Some((tk, tn, l)) => self.ans() && self.lanes() == l && self.tile_n() == tn && tk as usize <= self.rows_fit(),
            None => !self.ans(),
        }
    }
}

fn spec_of(name: &str) -> Option<Variant> {
    let e = esmm::dispatch::registry::entry(name)?;
    match e.spec {
        KernelSpec::Rans(s) => Some(Variant { e, s }),
        _ => None,
    }
}

/// The largest "nice" tile height a variant stages.
fn fitting_tile_k(want: u32, fit: usize) -> u32 {
    if want as usize <= fit {
        return want;
    }
    [256u32, 128, 64, 37, 32, 16, 8, 4, 2, 1].into_iter().find(|&t| t as usize <= fit).unwrap_or(1)
}

/// The containers an Ans variant runs on: the parameter sets with its lanes and tile_n.
fn params_for(v: &Variant) -> Vec<P3> {
    let fit = v.rows_fit();
    let mut out: Vec<P3> = Vec::new();
    for &(tk, tn, l) in &PARAMS {
        if tn == v.tile_n() && l == v.lanes() {
            let p = (fitting_tile_k(tk, fit), tn, l);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        out.push((fitting_tile_k(64, fit), v.tile_n(), v.lanes()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Matrices, containers, x and references

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Content {
    Gauss,
    StudentT,
    /// Every code 127: one symbol, no stream words.
    Single,
    /// Every code −127..=127 occurs.
    All255,
}

impl Content {
    fn tag(self) -> &'static str {
        match self {
            Content::Gauss => "gauss",
            Content::StudentT => "student5",
            Content::Single => "single",
            Content::All255 => "all255",
        }
    }
}

/// A K×N weight matrix: quantized codes, containers per parameter set, x for MAX_M tokens and
/// the f64 references per input type, all made on first use.
struct Mat {
    name: String,
    k: usize,
    n: usize,
    content: Content,
    seed: u64,
    q: OnceLock<Result<QuantizedMatrix, String>>,
    containers: Mutex<HashMap<P3, Arc<Vec<u8>>>>,
    refs: [OnceLock<Ref>; 2],
}

/// x of MAX_M tokens as the kernels of one input type see it (M tokens = the first M rows), and
/// the reference y and s = Σ|x·w| (MAX_M × N).
struct Ref {
    x: Vec<f32>,
    y: Vec<f64>,
    s: Vec<f64>,
}

impl Mat {
    fn new(content: Content, (k, n): (usize, usize), seed: u64) -> Mat {
        let name = format!("{} {k}x{n}", content.tag());
        Mat { seed: derive(seed, &name), name, k, n, content, q: OnceLock::new(), containers: Mutex::new(HashMap::new()), refs: Default::default() }
    }

    fn q(&self) -> Result<&QuantizedMatrix, String> {
        self.q
            .get_or_init(|| {
                let (k, n) = (self.k, self.n);
                let w: Vec<f32> = match self.content {
                    Content::Gauss => synth_weights(k, n, &SynthConfig::llm_like(Distribution::Gaussian, k, n), self.seed),
                    Content::StudentT => synth_weights(k, n, &SynthConfig::llm_like(Distribution::StudentT { nu: 5 }, k, n), self.seed),
                    Content::Single => (0..k * n).map(|i| 0.01 * (1.0 + ((i % n) % 13) as f32 / 4.0)).collect(),
                    Content::All255 => (0..k * n)
                        .map(|i| {
                            let (r, c) = (i / n, i % n);
                            (((7 * r + 3 * c) % 255) as f32 - 127.0) * (0.5f32.powi((c % 5) as i32) / 64.0)
                        })
                        .collect(),
                };
                let q = quantize_f32(&w, k, n, n).map_err(|e| format!("quantize: {e}"))?;
                let distinct = esmm::codec::rans::histogram(&q.codes).iter().filter(|&&c| c > 0).count();
                match self.content {
                    Content::Single if distinct != 1 => return Err(format!("test data: `single` has {distinct} distinct codes")),
                    Content::All255 if k >= 255 && distinct != 255 => return Err(format!("test data: `all255` has {distinct} distinct codes")),
                    _ => {}
                }
                Ok(q)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn container(&self, p: P3) -> Result<Arc<Vec<u8>>, String> {
        let q = self.q()?;
        let mut map = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&p) {
            return Ok(c.clone());
        }
        let c = Arc::new(encode(q, &params(p)).map_err(|e| format!("encode {}: {e}", ptag(p)))?);
        map.insert(p, c.clone());
        Ok(c)
    }

    fn reference(&self, t: ElemType) -> Result<&Ref, String> {
        let q = self.q()?;
        Ok(self.refs[type_index(t)].get_or_init(|| {
            let mut rng = StdRng::seed_from_u64(self.seed ^ 0x0078_5EED);
            let x: Vec<f32> = gen_x(MAX_M, self.k, &mut rng).into_iter().map(|v| round_to(t, v)).collect();
            let (y, s) = product(&x, MAX_M, q);
            Ref { x, y, s }
        }))
    }
}

/// x (m×k): per token a scale 2^-4..2^2 and a zero rate of 0, 20, 50 or 90%, per element a
/// magnitude 2^-6..2^1 times that and a random sign; ±0 for zeros; 10% of the inputs zero for
/// every token; token 5 all zero; token 0's first input nonzero.
fn gen_x(m: usize, k: usize, rng: &mut StdRng) -> Vec<f32> {
    let mut x = vec![0.0f32; m * k];
    let dead: Vec<bool> = (0..k).map(|_| rng.random::<f64>() < 0.1).collect();
    for t in 0..m {
        let scale = 2f32.powi(rng.random_range(-4..=2));
        let zero_p = [0.0, 0.2, 0.5, 0.9][rng.random_range(0..4)];
        for kk in 0..k {
            let v = if t == 5 || dead[kk] || rng.random::<f64>() < zero_p {
                if rng.random::<bool>() {
                    -0.0
                } else {
                    0.0
                }
            } else {
                let mag = scale * 2f32.powf(rng.random_range(-6.0f32..1.0));
                if rng.random::<bool>() {
                    -mag
                } else {
                    mag
                }
            };
            x[t * k + kk] = v;
        }
    }
    if k > 0 {
        x[0] = 0.75;
    }
    x
}

/// The f64 product of x (m×K) and the dequantized weights (code · scale, exact in f64), and
/// s = Σ|x·w| per element.
fn product(x: &[f32], m: usize, q: &QuantizedMatrix) -> (Vec<f64>, Vec<f64>) {
    let (k, n) = (q.k, q.n);
    let mut y = vec![0.0f64; m * n];
    let mut s = vec![0.0f64; m * n];
    let mut w = vec![0.0f64; n];
    for r in 0..k {
        for ((d, &c), &sc) in w.iter_mut().zip(&q.codes[r * n..(r + 1) * n]).zip(&q.scales) {
            *d = f64::from(c) * f64::from(sc);
        }
        for t in 0..m {
            let xv = f64::from(x[t * k + r]);
            if xv == 0.0 {
                continue;
            }
            let (yr, sr) = (&mut y[t * n..(t + 1) * n], &mut s[t * n..(t + 1) * n]);
            for j in 0..n {
                let v = xv * w[j];
                yr[j] += v;
                sr[j] += v.abs();
            }
        }
    }
    (y, s)
}

/// `r_out(v)`: rounding y once to `out` (module docs).
fn out_round(out: ElemType, v: f64) -> f64 {
    match out {
        ElemType::Bf16 => v * 2f64.powi(-8),
        ElemType::F16 => v * 2f64.powi(-11) + 2f64.powi(-25),
        ElemType::F32 => v * 2f64.powi(-24),
    }
}

/// The accumulation coefficient c of the tolerance (module docs).
fn acc_coeff(k: usize) -> f64 {
    (6.0 * 2f64.powi(-24) * ((k + 16) as f64).sqrt()).max(1e-5)
}

/// Checks y (m×n written, then the guard) against the reference; returns the worst err/tol.
#[allow(clippy::needless_range_loop)]
fn check_y<O: Out>(y: &[O], m: usize, n: usize, k: usize, r: &Ref) -> Result<f64, String> {
    let written = m * n;
    if y.len() != written + GUARD {
        return Err(format!("y read back {} elements, expected {}", y.len(), written + GUARD));
    }
    if let Some(i) = y[written..].iter().position(|v| v.bits() != O::POISON.bits()) {
        return Err(format!("wrote past y (guard element {i} changed)"));
    }
    let c = acc_coeff(k);
    let mut worst = 0.0f64;
    for i in 0..written {
        let (t, j) = (i / n, i % n);
        let g = y[i];
        if g.bits() == O::POISON.bits() {
            return Err(format!("y[{t}][{j}] was never written (still the poison NaN)"));
        }
        let (want, s) = (r.y[i], r.s[i]);
        let a = c * s;
        let tol = a + out_round(O::TYPE, want.abs() + a);
        let gv = f64::from(g.to_f32());
        if !gv.is_finite() || (gv - want).abs() > tol {
            return Err(format!("y[{t}][{j}] = {gv} but the reference is {want} (tolerance {tol:.3e}, s = {s:.3e})"));
        }
        if tol > 0.0 {
            worst = worst.max((gv - want).abs() / tol);
        }
    }
    if written > 0 && r.y[..written].iter().all(|v| *v == 0.0) {
        return Err("test data produced an all-zero y (the case would check nothing)".into());
    }
    Ok(worst)
}

/// `vals` converted to `T` and followed by `GUARD` NaNs.
fn padded<T: Host>(vals: &[f32]) -> Vec<T> {
    let mut v: Vec<T> = vals.iter().map(|&x| T::from_f32(x)).collect();
    v.extend(std::iter::repeat_n(T::from_f32(f32::NAN), GUARD));
    v
}

// ---------------------------------------------------------------------------------------------
// GPU calls

fn new_stream(esmm: &Esmm) -> Result<Arc<CudaStream>, String> {
    esmm.context().new_stream().map_err(text)
}

#[derive(Clone, Copy)]
enum W<'a> {
    Rans(&'a RansWeights),
    Int8(&'a Int8Weights),
}

/// What a GEMV call did: ran a variant (y after), or refused (y after: must be untouched).
enum Called<O> {
    Ran(&'static str, Vec<O>),
    Refused(String, Vec<O>),
}

/// One GEMV on `s`: x uploaded as given (any length), y of `y_len` poisoned elements. `Err` is a
/// failure of the machinery (a fault shows when y is read back), not a refusal.
fn gemv<T: In, O: Out>(esmm: &Esmm, s: &Arc<CudaStream>, w: W<'_>, x: &[T], m: usize, y_len: usize, variant: Option<&str>) -> Result<Called<O>, String> {
    let dx = s.clone_htod(x).map_err(|e| format!("uploading x: {e}"))?;
    let mut dy = s.clone_htod(&vec![O::POISON; y_len]).map_err(|e| format!("uploading y: {e}"))?;
    let opts = RansOptions { variant, ..Default::default() };
    let r = match w {
        W::Rans(w) => esmm.rans_gemv::<T, O, _, _>(s, &dx, w, &mut dy, m, opts),
        W::Int8(w) => esmm.int8_gemv::<T, O, _, _>(s, &dx, w, &mut dy, m, opts),
    };
    let y = s.clone_dtoh(&dy).map_err(|e| format!("kernel failed (reading y back): {e}"))?;
    Ok(match r {
        Ok(name) => Called::Ran(name, y),
        Err(e) => Called::Refused(e.to_string(), y),
    })
}

fn untouched<O: Out>(y: &[O]) -> Result<(), String> {
    match y.iter().position(|v| v.bits() != O::POISON.bits()) {
        Some(i) => Err(format!("y[{i}] was written by a call that must not write")),
        None => Ok(()),
    }
}

/// Uploads the weights a case runs on: a container (Ans) or the quantized codes (Int8).
enum Held {
    Rans(RansWeights),
    Int8(Int8Weights),
}

impl Held {
    fn w(&self) -> W<'_> {
        match self {
            Held::Rans(w) => W::Rans(w),
            Held::Int8(w) => W::Int8(w),
        }
    }
}

fn upload(esmm: &Esmm, s: &Arc<CudaStream>, mat: &Mat, p: Option<P3>) -> Result<Held, String> {
    let q = mat.q()?;
    match p {
        Some(p) => {
            let c = mat.container(p)?;
            let w = esmm.rans_weights(s, &c).map_err(|e| format!("rans_weights {}: {e}", ptag(p)))?;
            let got = (w.k(), w.n(), w.tile_k(), w.tile_n(), w.lanes());
            let want = (mat.k, mat.n, p.0, p.1, p.2);
            if got != want {
                return Err(format!("RansWeights (k, n, tile_k, tile_n, lanes) = {got:?}, the container has {want:?}"));
            }
            Ok(Held::Rans(w))
        }
        None => {
            let w = esmm.int8_weights(s, q).map_err(|e| format!("int8_weights: {e}"))?;
            if (w.k(), w.n()) != (mat.k, mat.n) {
                return Err(format!("Int8Weights {}×{}, the matrix is {}×{}", w.k(), w.n(), mat.k, mat.n));
            }
            Ok(Held::Int8(w))
        }
    }
}

/// Runs `variant` (None: default dispatch) at each M, `runs` times each, checking y against the
/// reference, bitwise determinism and the name that ran. `check_ran(m, name)` judges a name.
#[allow(clippy::too_many_arguments)]
fn run_ms<T: In, O: Out>(
    esmm: &Esmm,
    s: &Arc<CudaStream>,
    w: W<'_>,
    mat: &Mat,
    ms: &[usize],
    runs: usize,
    variant: Option<&str>,
    check_ran: &dyn Fn(usize, &'static str) -> Result<(), String>,
) -> Result<(f64, Vec<&'static str>), String> {
    let r = mat.reference(T::TYPE)?;
    let (k, n) = (mat.k, mat.n);
    let mut worst = 0.0f64;
    let mut names = Vec::new();
    for &m in ms {
        let x = padded::<T>(&r.x[..m * k]);
        let mut first: Option<Vec<O>> = None;
        for run in 0..runs {
            match gemv::<T, O>(esmm, s, w, &x, m, m * n + GUARD, variant)? {
                Called::Refused(msg, y) => {
                    untouched(&y).map_err(|e| format!("m={m}: refused ({msg}) but {e}"))?;
                    return Err(format!("m={m}: refused: {msg}"));
                }
                Called::Ran(name, y) => {
                    if let Some(v) = variant {
                        if name != v {
                            return Err(format!("m={m}: ran {name}, asked for {v}"));
                        }
                    }
                    check_ran(m, name).map_err(|e| format!("m={m}: {e}"))?;
                    worst = worst.max(check_y::<O>(&y, m, n, k, r).map_err(|e| format!("{name} m={m} run {run}: {e}"))?);
                    match &first {
                        Some(f) => {
                            if let Some(i) = f.iter().zip(&y).position(|(a, b)| a.bits() != b.bits()) {
                                return Err(format!("{name} m={m}: not deterministic: y[{}][{}] differs between runs", i / n, i % n));
                            }
                        }
                        None => {
                            first = Some(y);
                            if !names.contains(&name) {
                                names.push(name);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((worst, names))
}

// ---------------------------------------------------------------------------------------------
// Case: decode

fn decode_case(esmm: &Esmm, mat: &Mat, p: P3) -> Result<String, String> {
    let q = mat.q()?;
    let c = mat.container(p)?;
    let parsed = Container::parse(&c).map_err(|e| format!("the codec rejects its own container: {e}"))?;
    let words = parsed.header().span(Section::Stream).len / 2;
    let tiles = parsed.num_tiles();
    if mat.content == Content::Single && words != 0 {
        return Err(format!("test data: a one-symbol matrix has {words} stream words, expected 0"));
    }
    let s = new_stream(esmm)?;
    let Held::Rans(w) = upload(esmm, &s, mat, Some(p))? else { unreachable!() };
    let bad = esmm.rans_decode(&s, &w, None).map_err(|e| format!("rans_decode (verify): {e}"))?;
    if bad != 0 {
        return Err(format!("rans_decode (verify only) reports {bad} failing tiles of a valid container"));
    }
    let kn = mat.k * mat.n;
    let mut codes: CudaSlice<i8> = s.clone_htod(&vec![CODE_POISON; kn + GUARD]).map_err(text)?;
    let bad = esmm.rans_decode(&s, &w, Some(&mut codes)).map_err(|e| format!("rans_decode: {e}"))?;
    let got = s.clone_dtoh(&codes).map_err(|e| format!("decode failed (reading codes back): {e}"))?;
    if bad != 0 {
        return Err(format!("rans_decode reports {bad} failing tiles of a valid container"));
    }
    compare_codes(&got, q, parsed.header(), None)?;
    Ok(format!("{tiles} tiles, {words} words, {:.3} bits/weight: exact", 8.0 * c.len() as f64 / kn as f64))
}

/// Compares decoded codes (K·N, then the guard) with the codec's: all of them, or only the
/// tiles in `only` (their expected contents given, tile row-major).
#[allow(clippy::needless_range_loop)]
fn compare_codes(got: &[i8], q: &QuantizedMatrix, h: &Header, only: Option<&[(usize, Vec<i8>)]>) -> Result<(), String> {
    let (k, n) = (q.k, q.n);
    if let Some(i) = got[k * n..].iter().position(|&v| v != CODE_POISON) {
        return Err(format!("wrote past the codes (guard element {i} changed)"));
    }
    match only {
        None => {
            if let Some(i) = got[..k * n].iter().zip(&q.codes).position(|(a, b)| a != b) {
                let (r, c) = (i / n, i % n);
                let t = (r / h.tile_k as usize) * h.n_tiles as usize + c / h.tile_n as usize;
                return Err(format!(
                    "code[{r}][{c}] (tile {t}) = {} but the codec has {}{}",
                    got[i],
                    q.codes[i],
                    if got[i] == CODE_POISON { " (never written)" } else { "" }
                ));
            }
        }
        Some(tiles) => {
            for (t, want) in tiles {
                let ((r0, rows), (c0, cols)) = h.tile_bounds(*t);
                for i in 0..rows * cols {
                    let (r, c) = (r0 + i / cols, c0 + i % cols);
                    if got[r * n + c] != want[i] {
                        return Err(format!("code[{r}][{c}] of tile {t} (accepted by the codec) = {} but the codec decodes {}", got[r * n + c], want[i]));
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Case: corrupted containers

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mutation {
    BitFlip,
    SwapWords,
    ManyFlips,
    LastTile,
    ZeroStream,
    State,
}

impl Mutation {
    const ALL: [Mutation; 6] = [Mutation::BitFlip, Mutation::SwapWords, Mutation::ManyFlips, Mutation::LastTile, Mutation::ZeroStream, Mutation::State];

    fn tag(self) -> &'static str {
        match self {
            Mutation::BitFlip => "bit-flip",
            Mutation::SwapWords => "swap-words",
            Mutation::ManyFlips => "flip-1pct",
            Mutation::LastTile => "last-tile",
            Mutation::ZeroStream => "zero-stream",
            Mutation::State => "lane-state",
        }
    }
}

/// Recomputes the five CRC32s (header, sections 0–3) of a container with header `h`.
fn fix_crcs(buf: &mut [u8], h: &Header) {
    let sect = |s: Section| {
        let sp = h.span(s);
        sp.offset as usize..(sp.offset + sp.len) as usize
    };
    let sums = [
        crc32fast::hash(&buf[..144]),
        crc32fast::hash(&buf[sect(Section::FreqTable)]),
        crc32fast::hash(&buf[sect(Section::Scales)]),
        crc32fast::hash(&buf[sect(Section::Tiles)]),
        crc32fast::hash(&buf[sect(Section::Stream)]),
    ];
    let at = h.span(Section::Checksums).offset as usize;
    for (i, v) in sums.iter().enumerate() {
        buf[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// One draw of a mutation of `valid` (CRCs fixed), or None when the container has no words to
/// mutate that way.
fn mutate(valid: &[u8], mu: Mutation, rng: &mut StdRng) -> Option<Vec<u8>> {
    let c = Container::parse(valid).ok()?;
    let h = *c.header();
    let st = h.span(Section::Stream);
    let nwords = (st.len / 2) as usize;
    let word_at = |i: usize| st.offset as usize + 2 * i;
    let tiles_with_words: Vec<usize> = (0..c.num_tiles()).filter(|&t| c.tile(t).word_count >= 2).collect();
    let mut b = valid.to_vec();
    match mu {
        Mutation::BitFlip => {
            if nwords == 0 {
                return None;
            }
            let i = rng.random_range(0..nwords);
            b[word_at(i) + rng.random_range(0..2)] ^= 1 << rng.random_range(0..8);
        }
        Mutation::SwapWords => {
            let &t = tiles_with_words.get(rng.random_range(0..tiles_with_words.len().max(1)))?;
            let r = c.tile(t);
            let (o, cnt) = (r.word_offset as usize, r.word_count as usize);
            let i = o + rng.random_range(0..cnt);
            let get = |b: &[u8], i: usize| [b[word_at(i)], b[word_at(i) + 1]];
            // The nearest word after i (cyclically, within the tile) with another value.
            let j = (1..cnt).map(|d| o + (i - o + d) % cnt).find(|&j| get(&b, j) != get(&b, i))?;
            let (wi, wj) = (get(&b, i), get(&b, j));
            b[word_at(i)..word_at(i) + 2].copy_from_slice(&wj);
            b[word_at(j)..word_at(j) + 2].copy_from_slice(&wi);
        }
        Mutation::ManyFlips => {
            if nwords == 0 {
                return None;
            }
            for _ in 0..(nwords / 100).max(3) {
                let i = rng.random_range(0..nwords);
                b[word_at(i) + rng.random_range(0..2)] ^= 1 << rng.random_range(0..8);
            }
        }
        Mutation::LastTile => {
            let t = (0..c.num_tiles()).rev().find(|&t| c.tile(t).word_count >= 1)?;
            let r = c.tile(t);
            // Its last word (or one of the last few on a redraw).
            let back = rng.random_range(0..(r.word_count as usize).min(4));
            let i = r.word_offset as usize + r.word_count as usize - 1 - back;
            b[word_at(i) + rng.random_range(0..2)] ^= 1 << rng.random_range(0..8);
        }
        Mutation::ZeroStream => {
            if nwords == 0 {
                return None;
            }
            b[word_at(0)..word_at(nwords)].iter_mut().for_each(|v| *v = 0);
        }
        Mutation::State => {
            let t = rng.random_range(0..c.num_tiles());
            let lane = rng.random_range(0..h.lanes as usize);
            let at = h.span(Section::Tiles).offset as usize + t * h.record_len() + 16 + 4 * lane;
            let old = u32::from_le_bytes(b[at..at + 4].try_into().ok()?);
            // Low bits changed: the state stays in [2^16, 2^32), so the CPU parse accepts it.
            let new = old ^ (1 + rng.random_range(0..0xFFFFu32));
            b[at..at + 4].copy_from_slice(&new.to_le_bytes());
        }
    }
    fix_crcs(&mut b, &h);
    Some(b)
}

/// Tiles by index with their decoded codes (tile row-major).
type TileCodes = Vec<(usize, Vec<i8>)>;

/// The tiles the codec's decoder rejects, and the contents of those it accepts.
fn codec_verdict(buf: &[u8]) -> Result<(Vec<usize>, TileCodes), String> {
    let c = Container::parse(buf).map_err(|e| format!("the CPU parse rejects the mutated container (test bug: CRCs not fixed?): {e}"))?;
    let (mut bad, mut good) = (Vec::new(), Vec::new());
    for t in 0..c.num_tiles() {
        match c.decode_tile(t) {
            Ok(v) => good.push((t, v)),
            Err(_) => bad.push(t),
        }
    }
    Ok((bad, good))
}

fn corrupt_case(esmm: &Esmm, variants: &[Variant], mat: &Mat, p: P3, mu: Mutation) -> Result<String, String> {
    let q = mat.q()?;
    let valid = mat.container(p)?;
    let mut rng = StdRng::seed_from_u64(derive(mat.seed, mu.tag()) ^ u64::from(p.0 * 7 + p.1 * 3 + p.2));
    let mut found = None;
    for _ in 0..32 {
        let Some(b) = mutate(&valid, mu, &mut rng) else {
            return Err(format!("test data: {} has no words to mutate ({})", mat.name, mu.tag()));
        };
        let (bad, good) = codec_verdict(&b)?;
        if !bad.is_empty() {
            found = Some((b, bad, good));
            break;
        }
    }
    let Some((b, bad, good)) = found else {
        return Err(format!("32 draws of {} gave no container the codec rejects", mu.tag()));
    };
    let h = *Container::parse(&b).map_err(text)?.header();
    let s = new_stream(esmm)?;
    match esmm.rans_weights(&s, &b) {
        Ok(_) => return Err(format!("rans_weights accepted a container whose tiles {bad:?} the codec rejects")),
        Err(e) => {
            let m = e.to_string().to_lowercase();
            if !(m.contains("corrupt") || m.contains("decode") || m.contains("tile")) {
                return Err(format!("rans_weights refused, but the error does not name the problem: {e}"));
            }
        }
    }
    let w = esmm.rans_weights_unverified(&s, &b).map_err(|e| format!("rans_weights_unverified: {e}"))?;
    let n1 = esmm.rans_decode(&s, &w, None).map_err(|e| format!("rans_decode (verify): {e}"))?;
    let kn = mat.k * mat.n;
    let mut codes: CudaSlice<i8> = s.clone_htod(&vec![CODE_POISON; kn + GUARD]).map_err(text)?;
    let n2 = esmm.rans_decode(&s, &w, Some(&mut codes)).map_err(|e| format!("rans_decode: {e}"))?;
    let got = s.clone_dtoh(&codes).map_err(|e| format!("decode of a corrupt stream faulted: {e}"))?;
    if n1 as usize != bad.len() || n2 as usize != bad.len() {
        return Err(format!("rans_decode reports {n1} (verify) / {n2} (decode) failing tiles, the codec rejects {} ({bad:?})", bad.len()));
    }
    compare_codes(&got, q, &h, Some(&good))?;
    // The fused GEMV over the corrupt weights: no fault, exactly M×N written (values are garbage).
    let gemv_note = match variants.iter().find(|v| v.serves(ElemType::Bf16, ElemType::Bf16, 1, Some(p))) {
        Some(v) => {
            let r = mat.reference(ElemType::Bf16)?;
            let x = padded::<bf16>(&r.x[..mat.k]);
            match gemv::<bf16, bf16>(esmm, &s, W::Rans(&w), &x, 1, mat.n + GUARD, Some(v.e.name))? {
                Called::Refused(msg, _) => return Err(format!("{} refused the corrupt weights: {msg}", v.e.name)),
                Called::Ran(_, y) => {
                    if let Some(i) = y[..mat.n].iter().position(|v| v.bits() == bf16::POISON.bits()) {
                        return Err(format!("gemv over corrupt weights left y[0][{i}] unwritten"));
                    }
                    if y[mat.n..].iter().any(|v| v.bits() != bf16::POISON.bits()) {
                        return Err("gemv over corrupt weights wrote past y".into());
                    }
                }
            }
            format!(", {} ran", v.e.name)
        }
        None => String::new(),
    };
    // The stream still works: the valid container decodes exactly on it.
    let wv = esmm.rans_weights(&s, &valid).map_err(|e| format!("after the corrupt one, the valid container: {e}"))?;
    let mut codes: CudaSlice<i8> = s.clone_htod(&vec![CODE_POISON; kn + GUARD]).map_err(text)?;
    let n3 = esmm.rans_decode(&s, &wv, Some(&mut codes)).map_err(|e| format!("after the corrupt one: {e}"))?;
    let got = s.clone_dtoh(&codes).map_err(text)?;
    if n3 != 0 {
        return Err(format!("after the corrupt one, the valid container has {n3} failing tiles"));
    }
    compare_codes(&got, q, &h, None).map_err(|e| format!("after the corrupt one: {e}"))?;
    Ok(format!("{} of {} tiles rejected by GPU and codec alike{gemv_note}", bad.len(), h.num_tiles()))
}

/// Containers the CPU checks must reject: both upload functions return `Err`.
fn invalid_case(esmm: &Esmm, mat: &Mat, p: P3) -> Result<String, String> {
    let valid = mat.container(p)?;
    let h = *Container::parse(&valid).map_err(text)?.header();
    let len = valid.len();
    let mut tries: Vec<(String, Vec<u8>, &str)> = Vec::new();
    for cut in [len - 1, len / 2, 143, 7, 0] {
        tries.push((format!("truncated to {cut} bytes"), valid[..cut].to_vec(), "truncated"));
    }
    let mut b = valid.to_vec();
    b[0] ^= 0x20;
    tries.push(("bad magic".into(), b, "magic"));
    let mut b = valid.to_vec();
    b[8] = 2;
    tries.push(("version 2".into(), b, "version"));
    let mut b = valid.to_vec();
    let st = h.span(Section::Stream);
    let at = if st.len > 0 { st.offset as usize } else { h.span(Section::Scales).offset as usize };
    b[at] ^= 1;
    tries.push(("a flipped bit without its CRC".into(), b, "checksum"));
    let mut b = valid.to_vec();
    b.push(0);
    tries.push(("a trailing byte".into(), b, ""));
    let s = new_stream(esmm)?;
    for (what, b, needle) in &tries {
        for (f, r) in [("rans_weights", esmm.rans_weights(&s, b).map(|_| ())), ("rans_weights_unverified", esmm.rans_weights_unverified(&s, b).map(|_| ()))] {
            match r {
                Ok(()) => return Err(format!("{f} accepted {what}")),
                Err(e) if !e.to_string().to_lowercase().contains(needle) => return Err(format!("{f} on {what}: the error does not mention `{needle}`: {e}")),
                Err(_) => {}
            }
        }
    }
    Ok(format!("{} invalid containers refused by both", tries.len()))
}

// ---------------------------------------------------------------------------------------------
// Cases: variants and default dispatch

fn variant_case<T: In, O: Out>(esmm: &Esmm, v: Variant, mat: &Mat, p: Option<P3>, ms: &[usize], runs: usize) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let held = upload(esmm, &s, mat, p)?;
    let (worst, _) = run_ms::<T, O>(esmm, &s, held.w(), mat, ms, runs, Some(v.e.name), &|_, _| Ok(()))?;
    Ok(format!("m={ms:?} err/tol={worst:.3}"))
}

fn variant_case_any(esmm: &Esmm, v: Variant, mat: &Mat, p: Option<P3>, ms: &[usize], runs: usize) -> Result<String, String> {
    typed!(v.s.dtype, v.s.out, variant_case(esmm, v, mat, p, ms, runs))
}

fn default_case<T: In, O: Out>(esmm: &Esmm, variants: &[Variant], mat: &Mat, p: Option<P3>, ms: &[usize]) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let held = upload(esmm, &s, mat, p)?;
    let (t, o) = (T::TYPE, O::TYPE);
    let serving = |m: usize| variants.iter().any(|v| v.serves(t, o, m, p));
    let mut ran = Vec::new();
    let mut refused = Vec::new();
    for &m in ms {
        if !serving(m) {
            // No compiled variant serves it: a clear refusal, y untouched.
            let r = mat.reference(t)?;
            let x = padded::<T>(&r.x[..m * mat.k]);
            match gemv::<T, O>(esmm, &s, held.w(), &x, m, m * mat.n + GUARD, None)? {
                Called::Refused(_, y) => {
                    untouched(&y).map_err(|e| format!("m={m} (refused): {e}"))?;
                    refused.push(m);
                }
                Called::Ran(name, _) => return Err(format!("m={m}: ran {name}, but no compiled variant serves {}->{} m={m}", t.tag(), o.tag())),
            }
            continue;
        }
        let check = |m: usize, name: &'static str| -> Result<(), String> {
            match spec_of(name) {
                Some(v) if v.serves(t, o, m, p) => Ok(()),
                Some(_) => Err(format!("default dispatch ran {name}, which does not serve this call")),
                None => Err(format!("default dispatch ran {name}, not a rans registry entry")),
            }
        };
        let (worst, names) = run_ms::<T, O>(esmm, &s, held.w(), mat, &[m], 2, None, &check)?;
        ran.push(format!("m={m}: {} ({worst:.3})", names.join(",")));
    }
    let mut out = ran.join("; ");
    if !refused.is_empty() {
        out.push_str(&format!("; refused (nothing compiled serves) m={refused:?}"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// API cases

fn expect_err<O: Out>(r: Result<Called<O>, String>, what: &str, needle: &str) -> Result<String, String> {
    match r? {
        Called::Refused(msg, y) => {
            untouched(&y).map_err(|e| format!("{what}: {e}"))?;
            if msg.to_lowercase().contains(&needle.to_lowercase()) {
                Ok(msg)
            } else {
                Err(format!("{what}: the error does not mention `{needle}`: {msg}"))
            }
        }
        Called::Ran(name, _) => Err(format!("{what}: expected an error, ran {name}")),
    }
}

/// m, buffer lengths, codes length, invalid quantized matrices; the stream works afterwards.
fn api_errors(esmm: &Esmm, variants: &[Variant], mat: &Mat) -> Result<String, String> {
    let p = variants
        .iter()
        .find(|v| v.ans() && v.serves(ElemType::Bf16, ElemType::Bf16, 3, Some((fitting_tile_k(64, v.rows_fit()), v.tile_n(), v.lanes()))))
        .map(|v| (fitting_tile_k(64, v.rows_fit()), v.tile_n(), v.lanes()))
        .ok_or("no compiled bf16 Ans variant serves M = 3")?;
    let s = new_stream(esmm)?;
    let Held::Rans(rw) = upload(esmm, &s, mat, Some(p))? else { unreachable!() };
    let Held::Int8(iw) = upload(esmm, &s, mat, None)? else { unreachable!() };
    let (k, n) = (mat.k, mat.n);
    let r = mat.reference(ElemType::Bf16)?;
    let x = padded::<bf16>(&r.x[..MAX_M * k]);
    let mut checked = 0;
    for (tag, w) in [("rans", W::Rans(&rw)), ("int8", W::Int8(&iw))] {
        let call = |x: &[bf16], m: usize, y_len: usize| gemv::<bf16, bf16>(esmm, &s, w, x, m, y_len, None);
        expect_err(call(&x, 0, MAX_M * n + GUARD), &format!("{tag} m=0"), "tokens")?;
        expect_err(call(&x, 17, 17 * n + GUARD), &format!("{tag} m=17"), "tokens")?;
        expect_err(call(&x[..3 * k - 1], 3, 3 * n + GUARD), &format!("{tag} short x"), "x holds")?;
        expect_err(call(&x, 3, 3 * n - 1), &format!("{tag} short y"), "y holds")?;
        checked += 4;
    }
    // Codes one element short.
    let mut short: CudaSlice<i8> = s.clone_htod(&vec![CODE_POISON; k * n - 1]).map_err(text)?;
    match esmm.rans_decode(&s, &rw, Some(&mut short)) {
        Ok(bad) => return Err(format!("rans_decode into {} codes (needs {}) returned Ok({bad})", k * n - 1, k * n)),
        Err(_) => {
            let got = s.clone_dtoh(&short).map_err(text)?;
            if got.iter().any(|&v| v != CODE_POISON) {
                return Err("rans_decode refused a short codes buffer but wrote into it".into());
            }
        }
    }
    // Invalid quantized matrices.
    let q = mat.q()?;
    let mut bad = q.clone();
    bad.codes[1] = i8::MIN;
    if esmm.int8_weights(&s, &bad).is_ok() {
        return Err("int8_weights accepted a code -128".into());
    }
    let mut bad = q.clone();
    bad.codes.pop();
    if esmm.int8_weights(&s, &bad).is_ok() {
        return Err("int8_weights accepted K·N − 1 codes".into());
    }
    let mut bad = q.clone();
    bad.scales[0] = f32::NAN;
    if esmm.int8_weights(&s, &bad).is_ok() {
        return Err("int8_weights accepted a NaN scale".into());
    }
    checked += 4;
    // The stream still works.
    let (worst, _) = run_ms::<bf16, bf16>(esmm, &s, W::Rans(&rw), mat, &[3], 1, None, &|_, _| Ok(()))?;
    let (worst8, _) = run_ms::<bf16, bf16>(esmm, &s, W::Int8(&iw), mat, &[3], 1, None, &|_, _| Ok(()))?;
    Ok(format!("{checked} refusals; afterwards rans err/tol={worst:.2}, int8 err/tol={worst8:.2}"))
}

/// Variants named for calls they cannot serve: each an `Err`, y untouched.
fn api_wrong_variants(esmm: &Esmm, variants: &[Variant], mat: &Mat) -> Result<String, String> {
    let bf = |v: &Variant| v.s.dtype == ElemType::Bf16 && v.s.out == ElemType::Bf16;
    let base = variants.iter().find(|v| v.ans() && bf(v)).ok_or("no compiled bf16->bf16 Ans variant")?;
    let p = (fitting_tile_k(64, base.rows_fit()), base.tile_n(), base.lanes());
    let s = new_stream(esmm)?;
    let Held::Rans(rw) = upload(esmm, &s, mat, Some(p))? else { unreachable!() };
    let Held::Int8(iw) = upload(esmm, &s, mat, None)? else { unreachable!() };
    let (k, n) = (mat.k, mat.n);
    let r = mat.reference(ElemType::Bf16)?;
    let xb = padded::<bf16>(&r.x[..MAX_M * k]);
    let r16 = mat.reference(ElemType::F16)?;
    let xh = padded::<f16>(&r16.x[..MAX_M * k]);
    let mut checked: Vec<String> = Vec::new();
    type Pick<'a> = Box<dyn Fn(&Variant) -> bool + 'a>;
    // (description, weights, m, the variant)
    let tries: Vec<(&str, bool, usize, Pick)> = vec![
        ("lanes differ", true, 1, Box::new(|v: &Variant| v.ans() && bf(v) && v.lanes() != p.2 && v.tile_n() == p.1)),
        ("tile_n differs", true, 1, Box::new(|v: &Variant| v.ans() && bf(v) && v.tile_n() != p.1 && v.lanes() == p.2)),
        ("an Int8 variant for rans weights", true, 1, Box::new(|v: &Variant| !v.ans() && bf(v))),
        ("an Ans variant for int8 weights", false, 1, Box::new(|v: &Variant| v.ans() && bf(v))),
        ("an f16 variant for bf16 x (rans)", true, 1, Box::new(|v: &Variant| v.ans() && v.s.dtype == ElemType::F16 && v.lanes() == p.2 && v.tile_n() == p.1)),
        ("an f16 variant for bf16 x (int8)", false, 1, Box::new(|v: &Variant| !v.ans() && v.s.dtype == ElemType::F16)),
        ("another output type (rans)", true, 1, Box::new(|v: &Variant| v.ans() && v.s.dtype == ElemType::Bf16 && v.s.out != ElemType::Bf16 && v.lanes() == p.2 && v.tile_n() == p.1)),
        ("another output type (int8)", false, 1, Box::new(|v: &Variant| !v.ans() && v.s.dtype == ElemType::Bf16 && v.s.out != ElemType::Bf16)),
        ("mt < M (rans)", true, 16, Box::new(|v: &Variant| v.ans() && bf(v) && v.mt() < 16 && v.lanes() == p.2 && v.tile_n() == p.1)),
        ("mt < M (int8)", false, 16, Box::new(|v: &Variant| !v.ans() && bf(v) && v.mt() < 16)),
    ];
    for (what, rans, m, pick) in tries {
        let Some(v) = variants.iter().find(|v| pick(v)) else { continue };
        let w = if rans { W::Rans(&rw) } else { W::Int8(&iw) };
        let r = gemv::<bf16, bf16>(esmm, &s, w, &xb, m, m * n + GUARD, Some(v.e.name));
        expect_err(r, &format!("{what} ({})", v.e.name), "")?;
        checked.push(what.to_string());
    }
    // f16 x to a bf16 variant (the variant exists; the input type differs).
    let r = gemv::<f16, bf16>(esmm, &s, W::Rans(&rw), &xh, 1, n + GUARD, Some(base.e.name));
    expect_err(r, &format!("f16 x for {}", base.e.name), "")?;
    checked.push("f16 x for a bf16 variant".into());
    for (tag, w) in [("rans", W::Rans(&rw)), ("int8", W::Int8(&iw))] {
        expect_err(gemv::<bf16, bf16>(esmm, &s, w, &xb, 1, n + GUARD, Some("rans_no_such_variant")), &format!("{tag}: an unknown name"), "")?;
        if let Some(e) = esmm::REGISTRY.iter().find(|e| !matches!(e.spec, KernelSpec::Rans(_))) {
            expect_err(gemv::<bf16, bf16>(esmm, &s, w, &xb, 1, n + GUARD, Some(e.name)), &format!("{tag}: a variant of another family ({})", e.name), "")?;
        }
    }
    checked.push("unknown name, another family".into());
    // A container taller than a named variant stages.
    if let Some(v) = variants.iter().filter(|v| v.ans() && bf(v)).min_by_key(|v| v.rows_fit()) {
        let tall = v.rows_fit() + 1;
        if tall * v.tile_n() as usize <= 1 << 20 && tall <= 8192 {
            let tmat = Mat::new(Content::Gauss, (tall, 300), derive(mat.seed, "tall"));
            let tp = (tall as u32, v.tile_n(), v.lanes());
            let c = tmat.container(tp)?;
            let tw = esmm.rans_weights(&s, &c).map_err(|e| format!("rans_weights of a {tall}-row tile: {e}"))?;
            let tr = tmat.reference(ElemType::Bf16)?;
            let x = padded::<bf16>(&tr.x[..tall]);
            let r = gemv::<bf16, bf16>(esmm, &s, W::Rans(&tw), &x, 1, 300 + GUARD, Some(v.e.name));
            expect_err(r, &format!("tile_k {tall} for {} (stages {} rows)", v.e.name, v.rows_fit()), "rows")?;
            checked.push(format!("tile_k {tall} > {} rows staged", v.rows_fit()));
        }
    }
    // The stream still works.
    let (worst, _) = run_ms::<bf16, bf16>(esmm, &s, W::Rans(&rw), mat, &[1], 1, Some(base.e.name), &|_, _| Ok(()))?;
    Ok(format!("refused: {}; afterwards err/tol={worst:.2}", checked.join(", ")))
}

/// `int8_weights_from` (decoded on the GPU) gives bitwise the y of `int8_weights(q)`.
fn int8_from_case(esmm: &Esmm, variants: &[Variant], mat: &Mat, p: P3) -> Result<String, String> {
    if !variants.iter().any(|v| v.serves(ElemType::Bf16, ElemType::Bf16, 16, None)) {
        return Ok("no compiled bf16 Int8 variant with mt 16: nothing to compare".into());
    }
    let s = new_stream(esmm)?;
    let Held::Int8(a) = upload(esmm, &s, mat, None)? else { unreachable!() };
    let Held::Rans(rw) = upload(esmm, &s, mat, Some(p))? else { unreachable!() };
    let b = esmm.int8_weights_from(&s, &rw).map_err(|e| format!("int8_weights_from: {e}"))?;
    // rans_decode_into over INT8 weights of other codes and scales (all 7 / all 0.5): it must
    // overwrite both; into another shape it must refuse.
    let other = QuantizedMatrix { k: mat.k, n: mat.n, codes: vec![7; mat.k * mat.n], scales: vec![0.5; mat.n] };
    let mut c = esmm.int8_weights(&s, &other).map_err(|e| format!("int8_weights: {e}"))?;
    esmm.rans_decode_into(&s, &rw, &mut c).map_err(|e| format!("rans_decode_into: {e}"))?;
    let wrong = QuantizedMatrix { k: mat.k, n: mat.n + 1, codes: vec![0; mat.k * (mat.n + 1)], scales: vec![1.0; mat.n + 1] };
    let mut d = esmm.int8_weights(&s, &wrong).map_err(|e| format!("int8_weights: {e}"))?;
    if esmm.rans_decode_into(&s, &rw, &mut d).is_ok() {
        return Err(format!("rans_decode_into accepted {}×{} INT8 weights for a {}×{} container", mat.k, mat.n + 1, mat.k, mat.n));
    }
    let r = mat.reference(ElemType::Bf16)?;
    let x = padded::<bf16>(&r.x[..16 * mat.k]);
    let mut ys = Vec::new();
    for w in [&a, &b, &c] {
        match gemv::<bf16, bf16>(esmm, &s, W::Int8(w), &x, 16, 16 * mat.n + GUARD, None)? {
            Called::Ran(_, y) => {
                check_y::<bf16>(&y, 16, mat.n, mat.k, r)?;
                ys.push(y);
            }
            Called::Refused(msg, _) => return Err(format!("int8_gemv refused: {msg}")),
        }
    }
    for (j, what) in [(1, "int8_weights_from(rans)"), (2, "rans_decode_into")] {
        if let Some(i) = ys[0].iter().zip(&ys[j]).position(|(x, y)| x.bits() != y.bits()) {
            return Err(format!("y[{}][{}] differs between int8_weights(q) and {what}", i / mat.n, i % mat.n));
        }
    }
    Ok("bitwise equal (int8_weights_from, rans_decode_into; wrong shape refused)".into())
}

// ---------------------------------------------------------------------------------------------
// Threads

/// One call of the thread case: its matrix, container (None: int8), M.
type Job<'a> = (&'a Mat, Option<P3>, usize);

fn run_job(esmm: &Esmm, s: &Arc<CudaStream>, w: W<'_>, job: &Job<'_>) -> Result<Vec<bf16>, String> {
    let (mat, _, m) = *job;
    let r = mat.reference(ElemType::Bf16)?;
    let x = padded::<bf16>(&r.x[..m * mat.k]);
    match gemv::<bf16, bf16>(esmm, s, w, &x, m, m * mat.n + GUARD, None)? {
        Called::Ran(_, y) => {
            check_y::<bf16>(&y, m, mat.n, mat.k, r)?;
            Ok(y)
        }
        Called::Refused(msg, _) => Err(format!("refused: {msg}")),
    }
}

fn threads_case(esmm: &Esmm, jobs: &[Job<'_>; 4], shared: bool) -> Result<String, String> {
    // Single-stream results.
    let s0 = new_stream(esmm)?;
    let held: Vec<Held> = jobs.iter().map(|j| upload(esmm, &s0, j.0, j.1)).collect::<Result<_, _>>()?;
    let want: Vec<Vec<bf16>> = jobs.iter().zip(&held).map(|(j, h)| run_job(esmm, &s0, h.w(), j)).collect::<Result<_, _>>()?;
    s0.synchronize().map_err(text)?;
    let (held, want) = (&held, &want);
    let out: Vec<Result<(), String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = [[0usize, 2], [1, 3]]
            .into_iter()
            .map(|mine| {
                sc.spawn(move || -> Result<(), String> {
                    let s = new_stream(esmm)?;
                    let own: Vec<Held> = if shared { Vec::new() } else { mine.iter().map(|&i| upload(esmm, &s, jobs[i].0, jobs[i].1)).collect::<Result<_, _>>()? };
                    for round in 0..3 {
                        for (p, &i) in mine.iter().enumerate() {
                            let w = if shared { held[i].w() } else { own[p].w() };
                            let y = run_job(esmm, &s, w, &jobs[i]).map_err(|e| format!("job {i} round {round}: {e}"))?;
                            if let Some(e) = y.iter().zip(&want[i]).position(|(a, b)| a.bits() != b.bits()) {
                                return Err(format!("job {i} round {round}: y element {e} differs from the single-stream result"));
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    out.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(format!("2 threads × 3 rounds × 2 calls, {} weights: bitwise equal to one stream", if shared { "shared" } else { "per-thread" }))
}

// ---------------------------------------------------------------------------------------------
// Building the cases

struct Mats {
    list: Vec<Mat>,
}

impl Mats {
    fn get(&self, content: Content, k: usize, n: usize) -> &Mat {
        self.list.iter().find(|m| m.content == content && m.k == k && m.n == n).expect("matrix registered")
    }
}

fn synth_content(k: usize, n: usize) -> Content {
    if (k, n) == (300, 257) || (k, n) == (4100, 2050) {
        Content::StudentT
    } else {
        Content::Gauss
    }
}

const SMALL: [(usize, usize); 5] = [(1, 1), (7, 33), (37, 1001), (300, 257), (1023, 333)];
const LARGE: [(usize, usize); 2] = [(4097, 1025), (4100, 2050)];
const HUGE: (usize, usize) = (4096, 11008);
const SANITIZER: [(usize, usize); 3] = [(1, 1), (7, 33), (300, 257)];

/// The synthetic shapes of a mode (decode and GEMV), and whether 4096×11008 runs.
fn shapes(o: &Options) -> (Vec<(usize, usize)>, bool) {
    if o.sanitizer {
        (SANITIZER.to_vec(), false)
    } else if o.quick {
        (SMALL.to_vec(), false)
    } else {
        (SMALL.iter().chain(&LARGE).copied().collect(), true)
    }
}

fn mats(o: &Options) -> Mats {
    let (sh, huge) = shapes(o);
    let mut list: Vec<Mat> = sh.iter().map(|&(k, n)| Mat::new(synth_content(k, n), (k, n), o.seed)).collect();
    if huge {
        list.push(Mat::new(synth_content(HUGE.0, HUGE.1), HUGE, o.seed));
    }
    for (c, shape) in [(Content::Single, (37, 1001)), (Content::Single, (300, 257)), (Content::All255, (300, 257)), (Content::All255, (1023, 333))] {
        list.push(Mat::new(c, shape, o.seed));
    }
    if !list.iter().any(|m| (m.k, m.n) == (37, 1001) && m.content == Content::Gauss) {
        list.push(Mat::new(Content::Gauss, (37, 1001), o.seed));
    }
    if !list.iter().any(|m| (m.k, m.n) == (1023, 333) && m.content == Content::Gauss) {
        list.push(Mat::new(Content::Gauss, (1023, 333), o.seed));
    }
    Mats { list }
}

fn build_cases<'a>(mats: &'a Mats, variants: &'a [Variant], o: &Options) -> Vec<Case<'a>> {
    let mut cases: Vec<Case<'a>> = Vec::new();
    let (sh, huge) = shapes(o);
    let synth = move |k: usize, n: usize| -> &'a Mat { mats.get(synth_content(k, n), k, n) };
    // 1. Decode.
    let mut dmats: Vec<&Mat> = sh.iter().map(|&(k, n)| synth(k, n)).collect();
    if huge {
        dmats.push(synth(HUGE.0, HUGE.1));
    }
    if o.sanitizer {
        dmats.extend([mats.get(Content::Single, 300, 257), mats.get(Content::All255, 300, 257)]);
    } else {
        dmats.extend([mats.get(Content::Single, 37, 1001), mats.get(Content::Single, 300, 257), mats.get(Content::All255, 300, 257), mats.get(Content::All255, 1023, 333)]);
    }
    for &mat in &dmats {
        for p in PARAMS {
            cases.push(Case { name: format!("decode {} {}", mat.name, ptag(p)), run: Box::new(move |e| decode_case(e, mat, p)) });
        }
    }
    // 2. Variants.
    let mut gmats: Vec<&Mat> = sh.iter().map(|&(k, n)| synth(k, n)).collect();
    if !o.sanitizer {
        gmats.extend([mats.get(Content::Single, 300, 257), mats.get(Content::All255, 300, 257)]);
    }
    let runs = if o.sanitizer { 1 } else { 2 };
    for &v in variants {
        let ms: Vec<usize> = if o.sanitizer {
            let mut m = vec![1, v.mt().min(MAX_M)];
            m.dedup();
            m
        } else {
            MS.iter().copied().filter(|&m| m <= v.mt()).collect()
        };
        let ps: Vec<Option<P3>> = if v.ans() { params_for(&v).into_iter().map(Some).collect() } else { vec![None] };
        for &mat in &gmats {
            for &p in &ps {
                let ms = ms.clone();
                let pt = p.map_or(String::new(), |p| format!(" {}", ptag(p)));
                cases.push(Case { name: format!("{} {}{pt}", v.e.name, mat.name), run: Box::new(move |e| variant_case_any(e, v, mat, p, &ms, runs)) });
            }
        }
    }
    // 3. Corruption.
    let cmats: Vec<(&Mat, P3)> = if o.sanitizer {
        vec![(synth(300, 257), (64, 128, 32)), (synth(300, 257), (37, 128, 64))]
    } else {
        vec![(synth(300, 257), (64, 128, 32)), (synth(300, 257), (37, 128, 64)), (synth(1023, 333), (256, 256, 64)), (synth(1023, 333), (256, 128, 32))]
    };
    for &(mat, p) in &cmats {
        for mu in Mutation::ALL {
            cases.push(Case { name: format!("corrupt {} {} {}", mu.tag(), mat.name, ptag(p)), run: Box::new(move |e| corrupt_case(e, variants, mat, p, mu)) });
        }
    }
    let (imat, ip) = cmats[0];
    cases.push(Case { name: format!("invalid containers {} {}", imat.name, ptag(ip)), run: Box::new(move |e| invalid_case(e, imat, ip)) });
    if o.sanitizer {
        return retain(cases, o);
    }
    // Default dispatch.
    let dmat = mats.get(Content::Gauss, 1023, 333);
    let pairs = [
        (ElemType::Bf16, ElemType::Bf16),
        (ElemType::F16, ElemType::F16),
        (ElemType::Bf16, ElemType::F32),
        (ElemType::F16, ElemType::F32),
        (ElemType::Bf16, ElemType::F16),
        (ElemType::F16, ElemType::Bf16),
    ];
    for (t, out) in pairs {
        if !variants.iter().any(|v| v.s.dtype == t && v.s.out == out) {
            continue; // nothing of these types is shipped; api cases cover wrong types
        }
        for p in PARAMS.into_iter().map(Some).chain([None]) {
            let name = format!("default {}->{} {} {}", t.tag(), out.tag(), dmat.name, p.map_or("int8".into(), ptag));
            cases.push(Case { name, run: Box::new(move |e| typed!(t, out, default_case(e, variants, dmat, p, &[1, 3, 5, 9, 16]))) });
        }
    }
    if huge {
        let hm = synth(HUGE.0, HUGE.1);
        for p in [Some((256, 256, 32)), None] {
            let name = format!("default bf16->bf16 {} {}", hm.name, p.map_or("int8".into(), ptag));
            cases.push(Case { name, run: Box::new(move |e| default_case::<bf16, bf16>(e, variants, hm, p, &[1, 16])) });
        }
    }
    // 4. API.
    let amat = mats.get(Content::Gauss, 37, 1001);
    cases.push(Case { name: format!("api errors {}", amat.name), run: Box::new(move |e| api_errors(e, variants, amat)) });
    cases.push(Case { name: format!("api wrong-variants {}", amat.name), run: Box::new(move |e| api_wrong_variants(e, variants, amat)) });
    let fmat = mats.get(Content::Gauss, 1023, 333);
    cases.push(Case { name: format!("api int8-from-rans {} t256x256 l32", fmat.name), run: Box::new(move |e| int8_from_case(e, variants, fmat, (256, 256, 32))) });
    // 5. Threads: default dispatch, bf16 -> bf16, on containers of a compiled mt-16 variant.
    if let Some(v) = variants.iter().find(|v| v.ans() && v.serves(ElemType::Bf16, ElemType::Bf16, 16, Some((fitting_tile_k(64, v.rows_fit()), v.tile_n(), v.lanes())))) {
        let p = (fitting_tile_k(64, v.rows_fit()), v.tile_n(), v.lanes());
        let (a, b) = (mats.get(Content::Gauss, 37, 1001), mats.get(Content::Gauss, 1023, 333));
        let jobs: [Job<'a>; 4] = [(a, Some(p), 3), (b, Some(p), 16), (a, None, 3), (b, None, 16)];
        for shared in [false, true] {
            let name = format!("threads two-streams {} weights ({} m=3 | {} m=16, rans {} + int8)", if shared { "shared" } else { "per-thread" }, a.name, b.name, ptag(p));
            cases.push(Case { name, run: Box::new(move |e| threads_case(e, &jobs, shared)) });
        }
    }
    retain(cases, o)
}

fn retain<'a>(mut cases: Vec<Case<'a>>, o: &Options) -> Vec<Case<'a>> {
    cases.retain(|c| o.filters.is_empty() || o.filters.iter().any(|f| c.name.contains(f.as_str())));
    cases
}

// ---------------------------------------------------------------------------------------------
// Main

fn main() {
    let o = parse_options();
    let all: Vec<Variant> = esmm::REGISTRY
        .iter()
        .filter_map(|e| match e.spec {
            KernelSpec::Rans(s) => Some(Variant { e, s }),
            _ => None,
        })
        .collect();
    let compiled: Vec<Variant> = all.iter().copied().filter(|v| esmm::dispatch::registry::fatbin(v.e.name).is_some()).collect();
    let mats = mats(&o);
    let mode = if o.quick { ", quick" } else if o.sanitizer { ", sanitizer shapes" } else { "" };
    if !esmm::driver_present() {
        let cases = build_cases(&mats, &compiled, &o);
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    let esmm = match Esmm::new(0) {
        Ok(e) => e,
        Err(e) => {
            let cases = build_cases(&mats, &compiled, &o);
            println!("FAIL open GPU 0: {e}");
            println!("0 passed, {} failed, 0 skipped", cases.len().max(1));
            std::process::exit(1);
        }
    };
    let dev = esmm.device();
    let variants: Vec<Variant> = compiled.iter().copied().filter(|v| dev.arch.is_some_and(|a| v.e.spec.archs().contains(a))).collect();
    let cases = build_cases(&mats, &variants, &o);
    let (ans, int8) = (variants.iter().filter(|v| v.ans()).count(), variants.iter().filter(|v| !v.ans()).count());
    println!(
        "gpu_rans: {} cases ({ans} Ans + {int8} Int8 variants for sm_{}; {} compiled, {} rans entries in the registry), seed {}{mode}",
        cases.len(),
        dev.compute_capability,
        compiled.len(),
        all.len(),
        o.seed
    );
    println!("device: {} (sm_{}, {} SMs)", dev.name, dev.compute_capability, dev.sm_count);
    if variants.is_empty() {
        println!("FAIL variants: no rans variant is compiled for sm_{}", dev.compute_capability);
        println!("0 passed, 1 failed, 0 skipped");
        std::process::exit(1);
    }
    let start = Instant::now();
    let (p, f) = run_cases(&esmm, &cases, Duration::from_secs(o.timeout));
    println!("gpu_rans: {:.1} s", start.elapsed().as_secs_f64());
    println!("{p} passed, {f} failed, 0 skipped");
    if f > 0 {
        std::process::exit(1);
    }
}
