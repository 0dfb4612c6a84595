//! GPU correctness suite of family `gemv` (decode GEMV, M = 1..16 tokens; harness = false): every
//! compiled gemv variant against an f64 CPU reference, plus API cases of `Esmm::gemv`,
//! `Esmm::gemv_weights`, `Esmm::gemv_gated_weights` and `Esmm::gemv_planned`.
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and `0 passed, 0 failed, N skipped`
//! and exits 0. Options (arguments after `--`, or `ESMM_GEMV_SUITE_ARGS`):
//! - `--quick`: small shapes only (K×N up to 1023×333), two Ms per shape, every M of 1, 2, 3,
//!   8, 9, 16 on at least one;
//! - `--filter SUBSTR`: only cases whose name contains SUBSTR (repeatable: any matches);
//! - `--sanitizer-shapes`: for compute-sanitizer: every variant on 1×1, 7×5 and 37×1001 (K×N) at
//!   M = 1, 3, 16, plus the empty / single / duplicate lists of the list variants at 37×1001,
//!   M = 3; no large shapes, no API or thread cases;
//! - `--timeout SECS`: watchdog per case (default 120; a hang is a failure);
//! - `--seed N`: RNG seed (default: time-based, printed). Each data set draws from its own
//!   stream derived from the seed, so `--filter` does not change the data;
//! - `--host-check`: no GPU: every case of the chosen mode runs against an emulated kernel
//!   (`emulate`: the runtime's validation and choice of variant, then fp32 accumulation in k
//!   order, the activation in f32, y rounded to the output type), which must pass; and broken
//!   emulations must FAIL the cases that are there to catch them: one that skips the inputs that
//!   are zero for token 0 only (not for every token), one that ignores the Inf rule (skips
//!   all-zero inputs over weights holding Inf, and lets an `in` variant serve such weights), and
//!   one that writes one element past y. This proves the checks can fail.
//!
//! # Variant cases
//! Every registry entry of family gemv with an embedded fatbin whose archs contain the GPU's,
//! run by name (`GemvOptions::variant`) with its own epilogue (activation), element types
//! (bf16 / f16 inputs; the spec's output type), layout and sparsity: `dense` and `in` variants
//! with `GemvSelect::All` (`kn dense` with `skip_zero_inputs: false`, the only request it serves
//! for finite weights), `rows` with `GemvSelect::Rows`, `outs` with `GemvSelect::Outputs`; gated
//! variants over `gemv_gated_weights` (reference `SiLU(g)·u` in f64, `SiLU(g) = g / (1 + e^−g)`,
//! the kernel's formula, also for ±Inf). Data (x M×K, W and the up weights K×N, drawn in f32 and
//! rounded to the input type; the reference uses exactly those rounded values):
//! - `mixed`: random x with non-uniform zero patterns: each token has its own density (for
//!   M ≥ 8 one token is all zero), ~15% of the inputs are zero for every token, ~30% are zero
//!   for token 0 and some other tokens but not all (the kernel must keep exact per-token zeros),
//!   zeros are +0 or −0 (−0 counts as zero); W holds 5% exact zeros. Shapes (K×N) 1×1, 7×5,
//!   37×1001, 1023×333, 4097×1025, 4100×2050 at M = 1, 2, 3, 8, 9, 16 (full mode: every pair;
//!   quick mode: the first four shapes, each M once), plus 4096×11008 at M = 1 and 16 for one
//!   variant per kind (layout, sparsity, gated; epilogue none, output = input type) in full mode;
//! - `zero-x` (y = act(0)), `dense-x` (no zero), `nan-x` (a NaN for the last token in an input
//!   that is zero for every other token, +Inf for token 0 in another input: NaN / ±Inf must reach
//!   exactly the outputs of their token, for `in` variants too), `inf-w` (weights +Inf in row k0,
//!   half of the columns, where x is zero for every token: the dense IEEE product is NaN there
//!   for every token; −Inf in row k2 where token 0 is zero and token 1 is not: NaN for token 0,
//!   ±Inf for token 1; the up weights carry their own Inf in row k0): at 37×1001 (M = 16) and
//!   1023×333 (M = 9; quick: 37×1001, M = 9);
//! - lists (rows / outs variants): on every data set a random unsorted 50% subset with some
//!   duplicates (the full list, in order, on the NaN / Inf sets); at 37×1001 (M = 3), 1023×333
//!   (M = 16) and, full mode, 4097×1025 (M = 9) also 10%, 50% unsorted, full, duplicates, a
//!   single entry, empty (outs: a no-op, y untouched; rows: y = act(0) everywhere) and entries
//!   −1 and K (or N): `Err`, y untouched, no crash;
//! - the Inf rule for `in` variants on `inf-w`: `GemvWeights::has_nonfinite()` is true, the
//!   named `in` variant must be refused (it would skip row k0), and default dispatch must run a
//!   variant that reads every row and give the dense IEEE result. When no compiled `kn dense`
//!   variant has the same types and activation, a clear `Err` is accepted (noted in the line);
//! - every run: y is filled with a NaN whose bit pattern no arithmetic produces (negative, quiet,
//!   odd payload); every element the call must write must differ from it afterwards, and 37
//!   poisoned elements after y must stay untouched; x carries 37 NaNs after its M×K (or M×len)
//!   elements and the host weights 37 NaNs after their K×N (which must neither be read nor set
//!   `has_nonfinite`); `has_nonfinite()` must say whether the used weights hold Inf / NaN;
//! - determinism: each call runs twice on the same stream and weights; the two y must be
//!   bitwise identical (the split fix-up adds partials in a fixed order);
//! - two threads on two streams, each with its own shape (37×1001 M = 3, 1023×333 M = 16), three
//!   rounds each.
//!
//! # Tolerance
//! Per element, against the f64 reference `ref` on the rounded inputs:
//! `|y − ref| ≤ 1e-2·|ref| + a + r_out(|ref| + a)`, where
//! - `E = 2⁻²²·(terms + 64)·s` bounds the fp32 accumulation error of a pre-activation sum of
//!   `terms` products (K, or the list length) with `s = Σ_k |x_k·w_k|`. Products of bf16 / f16
//!   values are exact in fp32; summing them in any order with `terms + 64` additions at most
//!   (the k steps, the KW warp shares, the split partials) errs by ≤ (additions)·u·s with
//!   u = 2⁻²³ even when the tensor core truncates instead of rounding (2⁻²⁴ when rounding):
//!   the bound is the classic recursive-summation bound with 2× headroom. It grows with s, not
//!   with |ref|, because a sum of large terms that cancel loses absolute, not relative, accuracy;
//! - `a` is E carried through the epilogue: E for none and ReLU (1-Lipschitz), 2·relu(g)·E + E²
//!   for ReLU², and for the gated `SiLU(g)·u` (SiLU is 1.1-Lipschitz):
//!   1.1·E_g·(|u| + E_u) + |SiLU(g)|·E_u;
//! - `1e-2·|ref|` covers what is not accumulation: `__expf` in SiLU (a few ulp), the f32
//!   activation, with ~5× headroom over the bf16 rounding below; it is the brief's relative term;
//! - `r_out(v)`: rounding y to its type: 2⁻⁹·v (bf16), 2⁻¹²·v + 2⁻²⁵ (f16, whose subnormals below
//!   2⁻¹⁴ round with absolute error 2⁻²⁵), 2⁻²⁴·v (f32).
//!
//! The brief suggested `1e-2·(|ref| + s)`; its s term is replaced by the bound above (≈ 1e-3·s
//! at K = 4100, ≈ 2.5e-5·s at K = 37) because s grows like K and a single dropped input row
//! does not: on this data (|x|, |w| ≤ 1, ~60% of x nonzero) s ≈ 0.15·K, so at K = 4100
//! 1e-2·s ≈ 6 while one input row contributes at most |x_k|·max|w| ≤ 1 to any element — a
//! kernel that loses one row would pass it; with the bound above (≈ 0.6 there) a row with
//! |x_k| near 1 is caught at every K used. (The broken emulation that skips inputs zero for
//! token 0 only drops ~30% of the terms and fails under either form.) NaN and ±Inf positions
//! must match the reference exactly (ReLU and ReLU² keep NaN: the kernel's `v < 0 ? 0 : v`).
//!
//! # API cases (they run on whatever gemv variants are compiled)
//! m = 0 and m = 17; a row list on nk weights and an output list on kn weights; an activation with
//! gated weights; too short x and y (also for a row list); list entries out of range; variants
//! that cannot serve the call (another layout, sparsity, gating, input type, output type,
//! activation, an unknown name, a variant of another family, an `in` variant with
//! `skip_zero_inputs: false`): each a clear `Err` with y untouched, no panic. Weights of 0×n,
//! k×0, too short, gated with a short up; `has_nonfinite` for finite weights with NaN past
//! their end, Inf in the weights, Inf only in the up weights. Default dispatch (no variant) for
//! each layout / selection / gating and for bf16 and f16 inputs: `gemv_planned` must name what
//! `gemv` runs and the result must match the reference; `NoVariant` is accepted only when no
//! compiled variant serves the request.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use esmm::cudarc::driver::CudaStream;
use esmm::dispatch::policy::{spec_mismatch, GemvRequest, Request};
use esmm::{
    Activation, BaselineElem, Dims, ElemType, Epilogue, Esmm, Family, GemvInput, GemvLayout, GemvOptions, GemvOutput,
    GemvSelect, GemvSparsity, RegistryEntry,
};
use esmm_spec::GemvSpec;
use esmm_tests::{round_to, run_cases, Case, HostElem};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Poisoned elements after y, NaNs after x and after the host weights.
const GUARD: usize = 37;
/// Most tokens a call takes.
const MAX_M: usize = 16;

struct Options {
    quick: bool,
    sanitizer: bool,
    host_check: bool,
    filters: Vec<String>,
    timeout: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(extra) = std::env::var("ESMM_GEMV_SUITE_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    let seed_default =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut o = Options { quick: false, sanitizer: false, host_check: false, filters: vec![], timeout: 120, seed: seed_default };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--sanitizer-shapes" => o.sanitizer = true,
            "--host-check" => o.host_check = true,
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

// ---------------------------------------------------------------------------------------------
// Element types

/// The element types of family gemv on the host: `HostElem` (conversions, poison) with what
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
            (t, _) => Err(format!("{} inputs are not a gemv type", t.tag())),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Data sets

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pattern {
    Mixed,
    ZeroX,
    DenseX,
    NanX,
    InfW,
}

impl Pattern {
    fn tag(self) -> &'static str {
        match self {
            Pattern::Mixed => "mixed",
            Pattern::ZeroX => "zero-x",
            Pattern::DenseX => "dense-x",
            Pattern::NanX => "nan-x",
            Pattern::InfW => "inf-w",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Every variant runs it.
    All,
    /// One variant per kind runs it (large shapes).
    Large,
    /// The list cases of list variants.
    Lists,
    /// Only the thread cases.
    Threads,
}

/// One problem: x (M×K), W and the up weights (K×N), drawn on first use from the set's seed;
/// their roundings per input type and the full references (select All) per input type.
struct Data {
    name: String,
    m: usize,
    k: usize,
    n: usize,
    pattern: Pattern,
    role: Role,
    seed: u64,
    raw: OnceLock<(Vec<f32>, Vec<f32>)>,
    raw_u: OnceLock<Vec<f32>>,
    rounded: [OnceLock<(Vec<f32>, Vec<f32>)>; 2],
    rounded_u: [OnceLock<Vec<f32>>; 2],
    full: [OnceLock<Prod>; 2],
    full_u: [OnceLock<Prod>; 2],
}

/// A reference product: pre-activation sums and s = Σ |x·w| per element (M × cols).
struct Prod {
    pre: Vec<f64>,
    s: Vec<f64>,
}

impl Data {
    fn new(pattern: Pattern, (k, n): (usize, usize), m: usize, role: Role, seed: u64) -> Data {
        Data {
            name: format!("{} {k}x{n} m={m}", pattern.tag()),
            m,
            k,
            n,
            pattern,
            role,
            seed,
            raw: OnceLock::new(),
            raw_u: OnceLock::new(),
            rounded: Default::default(),
            rounded_u: Default::default(),
            full: Default::default(),
            full_u: Default::default(),
        }
    }

    fn nonfinite(&self) -> bool {
        matches!(self.pattern, Pattern::NanX | Pattern::InfW)
    }

    /// Whether some inputs are zero for token 0 but not for every token, enough of them that
    /// dropping them must fail the tolerance (the generator makes ~30% such inputs).
    fn token0_partial(&self) -> bool {
        matches!(self.pattern, Pattern::Mixed | Pattern::NanX | Pattern::InfW) && self.m >= 2 && self.k >= 37
    }

    fn raw(&self) -> &(Vec<f32>, Vec<f32>) {
        self.raw.get_or_init(|| {
            let mut rng = StdRng::seed_from_u64(self.seed);
            let (x, inf) = gen_x(self.pattern, self.m, self.k, &mut rng);
            let mut w = gen_w(self.k, self.n, &mut rng);
            // Tiny shapes: the first input that is nonzero for some token meets a nonzero weight
            // (else y could be all zero by chance and the case would check nothing).
            if let Some(kk) = (0..self.k).find(|&kk| (0..self.m).any(|t| x[t * self.k + kk] != 0.0)) {
                if w[kk * self.n..(kk + 1) * self.n].iter().all(|v| *v == 0.0) {
                    w[kk * self.n] = 0.5;
                }
            }
            if let Some(inf) = inf {
                inf.apply(&mut w, self.n, &mut rng, true);
            }
            (x, w)
        })
    }

    fn raw_u(&self) -> &Vec<f32> {
        self.raw_u.get_or_init(|| {
            let mut rng = StdRng::seed_from_u64(self.seed ^ 0x5EED_0F0B);
            let mut u = gen_w(self.k, self.n, &mut rng);
            if let Some(inf) = self.inf_rows() {
                inf.apply(&mut u, self.n, &mut rng, false);
            }
            u
        })
    }

    /// The Inf rows of `inf-w` (found again from x: the generator is deterministic).
    fn inf_rows(&self) -> Option<InfRows> {
        if self.pattern != Pattern::InfW {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        gen_x(self.pattern, self.m, self.k, &mut rng).1
    }

    /// x and W as the kernels of input type `t` see them.
    fn inputs(&self, t: ElemType) -> (&[f32], &[f32]) {
        let r = self.rounded[type_index(t)].get_or_init(|| {
            let raw = self.raw();
            (raw.0.iter().map(|&v| round_to(t, v)).collect(), raw.1.iter().map(|&v| round_to(t, v)).collect())
        });
        (&r.0, &r.1)
    }

    fn up(&self, t: ElemType) -> &[f32] {
        self.rounded_u[type_index(t)].get_or_init(|| self.raw_u().iter().map(|&v| round_to(t, v)).collect())
    }

    fn full(&self, t: ElemType) -> &Prod {
        self.full[type_index(t)].get_or_init(|| {
            let (x, w) = self.inputs(t);
            product(x, self.m, self.k, &(0..self.k).collect::<Vec<_>>(), w, self.n, None)
        })
    }

    fn full_up(&self, t: ElemType) -> &Prod {
        self.full_u[type_index(t)].get_or_init(|| {
            let (x, _) = self.inputs(t);
            product(x, self.m, self.k, &(0..self.k).collect::<Vec<_>>(), self.up(t), self.n, None)
        })
    }
}

/// A value in [-1, 1] that is never zero.
fn nz(rng: &mut StdRng) -> f32 {
    loop {
        let v: f32 = rng.random_range(-1.0..=1.0);
        if v != 0.0 {
            return v;
        }
    }
}

/// +0 or −0.
fn zero(rng: &mut StdRng) -> f32 {
    if rng.random::<bool>() {
        -0.0
    } else {
        0.0
    }
}

/// Weights: 95% random nonzero, 5% exact zeros.
fn gen_w(k: usize, n: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..k * n).map(|_| if rng.random::<f64>() < 0.05 { 0.0 } else { nz(rng) }).collect()
}

/// Where `inf-w` puts its Inf: row k0 (x zero for every token) and, when K ≥ 2 and M ≥ 2, row
/// k2 (zero for token 0 only).
#[derive(Clone, Copy)]
struct InfRows {
    k0: usize,
    k2: Option<usize>,
}

impl InfRows {
    /// W (`main`): +Inf in row k0 in a random half of the columns (at least one), −Inf in row
    /// k2 at one column outside that half when there is one. Up weights: +Inf in row k0 in
    /// another random half.
    fn apply(&self, w: &mut [f32], n: usize, rng: &mut StdRng, main: bool) {
        let first = rng.random_range(0..n);
        let mut plus = vec![false; n];
        for (c, p) in plus.iter_mut().enumerate() {
            *p = c == first || rng.random::<bool>();
        }
        for c in 0..n {
            if plus[c] {
                w[self.k0 * n + c] = f32::INFINITY;
            }
        }
        if let (true, Some(k2)) = (main, self.k2) {
            let c2 = (0..n).find(|&c| !plus[c]).unwrap_or(0);
            w[k2 * n + c2] = f32::NEG_INFINITY;
        }
    }
}

/// x for a pattern (M×K), and where `inf-w` wants its Inf rows.
fn gen_x(pattern: Pattern, m: usize, k: usize, rng: &mut StdRng) -> (Vec<f32>, Option<InfRows>) {
    let mut x = vec![0.0f32; m * k];
    match pattern {
        Pattern::ZeroX => {
            x.iter_mut().for_each(|v| *v = zero(rng));
            return (x, None);
        }
        Pattern::DenseX => {
            x.iter_mut().for_each(|v| *v = nz(rng));
            return (x, None);
        }
        _ => {}
    }
    // Mixed: per-token densities, input classes (zero for all / zero for token 0 and some
    // others / per-token random).
    const D: [f64; 4] = [1.0, 0.75, 0.4, 0.1];
    let dens: Vec<f64> = (0..m).map(|t| if m >= 8 && t == 5 { 0.0 } else { D[rng.random_range(0..D.len())] }).collect();
    for kk in 0..k {
        let c: f64 = rng.random();
        for t in 0..m {
            let v = if c < 0.15 {
                zero(rng)
            } else if c < 0.45 {
                // zero for token 0; nonzero for at least token 1 (or random), never zero for all
                if t == 0 || (t >= 2 && rng.random::<f64>() < 0.3) || dens[t] == 0.0 {
                    zero(rng)
                } else {
                    nz(rng)
                }
            } else if rng.random::<f64>() < dens[t] {
                nz(rng)
            } else {
                zero(rng)
            };
            x[t * k + kk] = v;
        }
    }
    if x.iter().all(|v| *v == 0.0) && !x.is_empty() {
        x[0] = nz(rng);
    }
    let mut inf = None;
    match pattern {
        Pattern::NanX => {
            // NaN for the last token in an input zero for every other token; +Inf for token 0.
            let ka = rng.random_range(0..k);
            for t in 0..m {
                x[t * k + ka] = zero(rng);
            }
            x[(m - 1) * k + ka] = f32::NAN;
            if m >= 2 && k >= 2 {
                let kb = (ka + 1 + rng.random_range(0..k - 1)) % k;
                x[kb] = f32::INFINITY;
            }
        }
        Pattern::InfW => {
            let k0 = k / 2;
            for t in 0..m {
                x[t * k + k0] = zero(rng);
            }
            let k2 = if k >= 2 && m >= 2 {
                let k2 = (k0 + 1) % k;
                for t in 0..m {
                    x[t * k + k2] = if t == 0 { zero(rng) } else { nz(rng) };
                }
                Some(k2)
            } else {
                None
            };
            if k >= 2 && x.iter().all(|v| *v == 0.0) {
                x[(k0 + k - 1) % k] = nz(rng);
            }
            inf = Some(InfRows { k0, k2 });
        }
        _ => {}
    }
    (x, inf)
}

/// The f64 product of x (M×xk; column p multiplies weight row `rows[p]`) and W (K×n), over the
/// columns `cols` (all when None).
fn product(x: &[f32], m: usize, xk: usize, rows: &[usize], w: &[f32], n: usize, cols: Option<&[usize]>) -> Prod {
    let nc = cols.map_or(n, |c| c.len());
    let mut pre = vec![0.0f64; m * nc];
    let mut s = vec![0.0f64; m * nc];
    let mut wrow = vec![0.0f64; nc];
    for (p, &r) in rows.iter().enumerate() {
        match cols {
            None => wrow.iter_mut().zip(&w[r * n..r * n + n]).for_each(|(d, &v)| *d = f64::from(v)),
            Some(c) => wrow.iter_mut().zip(c).for_each(|(d, &j)| *d = f64::from(w[r * n + j])),
        }
        let finite = wrow.iter().all(|v| v.is_finite());
        for t in 0..m {
            let xv = f64::from(x[t * xk + p]);
            if xv == 0.0 && finite {
                continue; // adds exact zeros
            }
            let (pr, sr) = (&mut pre[t * nc..(t + 1) * nc], &mut s[t * nc..(t + 1) * nc]);
            for j in 0..nc {
                let v = xv * wrow[j];
                pr[j] += v;
                sr[j] += v.abs();
            }
        }
    }
    Prod { pre, s }
}

fn data_sets(o: &Options) -> Vec<Data> {
    let mut sets = Vec::new();
    let mut seeds = StdRng::seed_from_u64(o.seed);
    let mut seed = move || seeds.random::<u64>();
    if o.sanitizer {
        for shape in [(1, 1), (7, 5), (37, 1001)] {
            for m in [1, 3, 16] {
                sets.push(Data::new(Pattern::Mixed, shape, m, Role::All, seed()));
            }
        }
        sets.push(Data::new(Pattern::Mixed, (37, 1001), 3, Role::Lists, seed()));
        return sets;
    }
    let ms = [1, 2, 3, 8, 9, 16];
    if o.quick {
        for (shape, ms) in [((1, 1), [1, 16]), ((7, 5), [2, 9]), ((37, 1001), [3, 16]), ((1023, 333), [1, 8])] {
            for m in ms {
                sets.push(Data::new(Pattern::Mixed, shape, m, Role::All, seed()));
            }
        }
    } else {
        for shape in [(1, 1), (7, 5), (37, 1001), (1023, 333), (4097, 1025), (4100, 2050)] {
            for m in ms {
                sets.push(Data::new(Pattern::Mixed, shape, m, Role::All, seed()));
            }
        }
    }
    let special: &[((usize, usize), usize)] = if o.quick { &[((37, 1001), 16), ((37, 1001), 9)] } else { &[((37, 1001), 16), ((1023, 333), 9)] };
    for p in [Pattern::ZeroX, Pattern::DenseX, Pattern::NanX, Pattern::InfW] {
        for &(shape, m) in special {
            sets.push(Data::new(p, shape, m, Role::All, seed()));
        }
    }
    let mut lists = vec![((37, 1001), 3), ((1023, 333), 16)];
    if !o.quick {
        lists.push(((4097, 1025), 9));
    }
    for (shape, m) in lists {
        sets.push(Data::new(Pattern::Mixed, shape, m, Role::Lists, seed()));
    }
    sets.push(Data::new(Pattern::Mixed, (37, 1001), 3, Role::Threads, seed()));
    sets.push(Data::new(Pattern::Mixed, (1023, 333), 16, Role::Threads, seed()));
    if !o.quick {
        for m in [1, 16] {
            sets.push(Data::new(Pattern::Mixed, (4096, 11008), m, Role::Large, seed()));
        }
    }
    sets
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ListKind {
    /// Random 50% subset, unsorted, with some duplicates (the default of every data set).
    Default,
    Sub10,
    Sub50,
    Full,
    Dups,
    Single,
    Empty,
    /// Contains −1: refused.
    BadNeg,
    /// Contains the bound: refused.
    BadHigh,
}

impl ListKind {
    const EXTRA: [ListKind; 8] =
        [ListKind::Sub10, ListKind::Sub50, ListKind::Full, ListKind::Dups, ListKind::Single, ListKind::Empty, ListKind::BadNeg, ListKind::BadHigh];
    const SANITIZER: [ListKind; 3] = [ListKind::Empty, ListKind::Single, ListKind::Dups];

    fn tag(self) -> &'static str {
        match self {
            ListKind::Default => "default",
            ListKind::Sub10 => "sub10",
            ListKind::Sub50 => "sub50",
            ListKind::Full => "full",
            ListKind::Dups => "dups",
            ListKind::Single => "single",
            ListKind::Empty => "empty",
            ListKind::BadNeg => "bad-neg",
            ListKind::BadHigh => "bad-high",
        }
    }

    fn bad(self) -> bool {
        matches!(self, ListKind::BadNeg | ListKind::BadHigh)
    }

    /// A list over [0, bound), drawn from `seed`.
    fn make(self, bound: usize, seed: u64) -> Vec<i32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let sub = |rng: &mut StdRng, f: f64| {
            let mut l: Vec<i32> = (0..bound as i32).filter(|_| rng.random::<f64>() < f).collect();
            if l.is_empty() {
                l.push(rng.random_range(0..bound) as i32);
            }
            l.shuffle(rng);
            l
        };
        match self {
            ListKind::Default => {
                let mut l = sub(&mut rng, 0.5);
                let extra: Vec<i32> = (0..l.len().div_ceil(10)).map(|_| l[rng.random_range(0..l.len())]).collect();
                l.extend(extra);
                l.shuffle(&mut rng);
                l
            }
            ListKind::Sub10 => sub(&mut rng, 0.1),
            ListKind::Sub50 => sub(&mut rng, 0.5),
            ListKind::Full => (0..bound as i32).collect(),
            ListKind::Dups => (0..bound.div_ceil(3).max(2)).map(|_| rng.random_range(0..bound) as i32).collect(),
            ListKind::Single => vec![rng.random_range(0..bound) as i32],
            ListKind::Empty => vec![],
            ListKind::BadNeg => {
                let mut l = sub(&mut rng, 0.3);
                let p = rng.random_range(0..=l.len());
                l.insert(p, -1);
                l
            }
            ListKind::BadHigh => {
                let mut l = sub(&mut rng, 0.3);
                let p = rng.random_range(0..=l.len());
                l.insert(p, bound as i32);
                l
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backends: the GPU, or an emulated kernel on the host

#[derive(Clone, Copy)]
struct Variant {
    e: &'static RegistryEntry,
    s: GemvSpec,
}

/// Emulations of `--host-check`: the correct one and broken ones the checks must catch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Emu {
    Correct,
    /// `in` variants skip the inputs that are zero for token 0 (not for every token).
    SkipToken0,
    /// Weights holding Inf do not disable skipping (and `in` variants serve them).
    IgnoreInf,
    /// Writes one element past y.
    WriteGuard,
}

#[derive(Clone, Copy)]
enum Engine<'a> {
    Gpu(&'a Esmm),
    Emu(Emu),
}

#[derive(Clone, Copy)]
struct Backend<'a> {
    engine: Engine<'a>,
    /// The variants this backend may run (compiled and valid for the GPU).
    variants: &'a [Variant],
}

/// The selection of a call, owned.
#[derive(Clone, Debug)]
enum Sel {
    All,
    Rows(Vec<i32>),
    Outs(Vec<i32>),
}

impl Sel {
    fn as_select(&self) -> GemvSelect<'_> {
        match self {
            Sel::All => GemvSelect::All,
            Sel::Rows(r) => GemvSelect::Rows(r),
            Sel::Outs(o) => GemvSelect::Outputs(o),
        }
    }
}

/// One call: the weights (host data, maybe with a tail; up weights when gated), the options.
struct Call<'a, T> {
    w: &'a [T],
    up: Option<&'a [T]>,
    k: usize,
    n: usize,
    layout: GemvLayout,
    variant: Option<&'a str>,
    act: Activation,
    sel: Sel,
    skip_zero: bool,
    m: usize,
    /// The x buffer (any length).
    x: &'a [T],
    /// Elements of the y buffer (filled with the poison).
    y_len: usize,
    /// How many times to run it (on the same stream and weights).
    runs: usize,
}

/// What a call did.
enum Outcome<O> {
    /// It ran `name`; y after each run; the weights' `has_nonfinite`.
    Ran { name: &'static str, ys: Vec<Vec<O>>, flag: bool },
    /// It returned `Err(msg)`; y after it (must be untouched).
    Refused { msg: String, y: Vec<O>, flag: bool },
}

fn new_stream(esmm: &Esmm) -> Result<Arc<CudaStream>, String> {
    esmm.context().new_stream().map_err(text)
}

/// Runs a call on a backend. `Err` is a failure of the machinery (upload, kernel fault,
/// `gemv_planned` disagreeing with `gemv`), not a refusal of the call.
fn exec<T: In, O: Out>(b: &Backend, c: &Call<T>) -> Result<Outcome<O>, String> {
    match b.engine {
        Engine::Gpu(esmm) => exec_gpu::<T, O>(esmm, c),
        Engine::Emu(emu) => Ok(emulate::<T, O>(emu, b.variants, c)),
    }
}

fn exec_gpu<T: In, O: Out>(esmm: &Esmm, c: &Call<T>) -> Result<Outcome<O>, String> {
    let s = new_stream(esmm)?;
    let poison = vec![O::POISON; c.y_len];
    let weights = match c.up {
        Some(up) => esmm.gemv_gated_weights(&s, c.w, up, c.k, c.n),
        None => esmm.gemv_weights(&s, c.w, c.k, c.n, c.layout),
    };
    let weights = match weights {
        Ok(w) => w,
        Err(e) => return Ok(Outcome::Refused { msg: format!("weights: {e}"), y: poison, flag: false }),
    };
    let flag = weights.has_nonfinite();
    let dx = s.clone_htod(c.x).map_err(text)?;
    let opts = |variant| GemvOptions { activation: c.act, select: c.sel.as_select(), skip_zero_inputs: c.skip_zero, variant, ..Default::default() };
    let planned = if c.variant.is_none() { esmm.gemv_planned::<T, O>(&weights, c.m, &opts(None)).ok() } else { None };
    let mut ys = Vec::new();
    let mut name = "";
    for run in 0..c.runs {
        let mut dy = s.clone_htod(&poison).map_err(text)?;
        let r = esmm.gemv::<T, O, _, _>(&s, &dx, &weights, &mut dy, c.m, opts(c.variant));
        let y = s.clone_dtoh(&dy).map_err(|e| format!("kernel failed (run {run}): {e}"))?;
        match r {
            Err(e) => {
                if run > 0 {
                    return Err(format!("run {run} was refused after run 0 ran {name}: {e}"));
                }
                return Ok(Outcome::Refused { msg: e.to_string(), y, flag });
            }
            Ok(n) => {
                if run > 0 && n != name {
                    return Err(format!("run {run} ran {n}, run 0 ran {name}"));
                }
                if let Some(p) = planned.filter(|p| *p != n) {
                    return Err(format!("gemv_planned said {p}, gemv ran {n}"));
                }
                name = n;
                ys.push(y);
            }
        }
    }
    if c.variant.is_none() && planned.is_none() {
        return Err(format!("gemv ran {name} but gemv_planned refused the same call"));
    }
    Ok(Outcome::Ran { name, ys, flag })
}

/// The request the runtime makes for a call (`gemv_plan_request`), or its refusal.
fn request<T: In, O: Out>(c: &Call<T>, flag: bool, ignore_inf: bool) -> Result<Request, String> {
    if c.m == 0 || c.m > MAX_M {
        return Err(format!("gemv takes 1..={MAX_M} tokens (rows of x), not {}", c.m));
    }
    if c.up.is_some() && c.act != Activation::None {
        return Err("gated weights apply SiLU(gate)·up: the activation must be none".into());
    }
    let layout = c.layout;
    let sparsity = match (layout, &c.sel) {
        (GemvLayout::Kn, Sel::All) => {
            if c.skip_zero && (!flag || ignore_inf) {
                GemvSparsity::Input
            } else {
                GemvSparsity::Dense
            }
        }
        (GemvLayout::Kn, Sel::Rows(_)) => GemvSparsity::RowList,
        (GemvLayout::Nk, Sel::All) => GemvSparsity::Dense,
        (GemvLayout::Nk, Sel::Outs(_)) => GemvSparsity::OutList,
        (GemvLayout::Kn, Sel::Outs(_)) => return Err("an output list needs weights stored nk (GemvLayout::Nk)".into()),
        (GemvLayout::Nk, Sel::Rows(_)) => return Err("a weight-row list needs weights stored kn (GemvLayout::Kn)".into()),
    };
    Ok(Request {
        family: Family::Gemv,
        dtype: T::TYPE,
        out: O::TYPE,
        dims: Dims::new(c.m, c.n, c.k),
        epilogue: Epilogue { activation: c.act, col_nnz: false },
        prepared_b: false,
        arch: None,
        gemv: Some(GemvRequest { layout, sparsity, gated: c.up.is_some() }),
        rans: None,
    })
}

/// The emulated runtime and kernel: the runtime's validation and choice of variant (among the
/// backend's variants, the generator's defaults first), then fp32 accumulation in k (or list)
/// order, each product and sum rounded to f32, the activation in f32, y rounded to `O`.
fn emulate<T: In, O: Out>(emu: Emu, variants: &[Variant], c: &Call<T>) -> Outcome<O> {
    let mut y = vec![O::POISON; c.y_len];
    let refuse = |msg: String, y: Vec<O>, flag| Outcome::Refused { msg, y, flag };
    let (k, n) = (c.k, c.n);
    if k == 0 || n == 0 {
        return refuse(format!("weights: gemv weights must be at least 1×1, not {k}×{n}"), y, false);
    }
    if c.w.len() < k * n || c.up.is_some_and(|u| u.len() < k * n) {
        return refuse(format!("weights: weights hold {} elements, need {}", c.w.len(), k * n), y, false);
    }
    let w = &c.w[..k * n];
    let up = c.up.map(|u| &u[..k * n]);
    let flag = w.iter().chain(up.unwrap_or(&[])).any(|v| !v.to_f32().is_finite());
    let req = match request::<T, O>(c, flag, emu == Emu::IgnoreInf) {
        Ok(r) => r,
        Err(e) => return refuse(e, y, flag),
    };
    let (xk, yn) = match &c.sel {
        Sel::All => (k, n),
        Sel::Rows(r) => (r.len(), n),
        Sel::Outs(o) => (k, o.len()),
    };
    if c.x.len() < c.m * xk {
        return refuse(format!("x holds {} elements, the call needs {}", c.x.len(), c.m * xk), y, flag);
    }
    if c.y_len < c.m * yn {
        return refuse(format!("y holds {} elements, the call needs {}", c.y_len, c.m * yn), y, flag);
    }
    let list = match &c.sel {
        Sel::All => None,
        Sel::Rows(l) | Sel::Outs(l) => Some(l),
    };
    if let Some(l) = list {
        let bound = if matches!(c.sel, Sel::Rows(_)) { k } else { n };
        if let Some((p, v)) = l.iter().enumerate().find(|(_, v)| **v < 0 || **v as usize >= bound) {
            return refuse(format!("list entry {p} is {v}, outside [0, {bound})"), y, flag);
        }
    }
    let entry = match c.variant {
        Some(name) => match esmm::dispatch::registry::entry(name) {
            None => return refuse(format!("unknown variant {name}"), y, flag),
            // The emulator serves a variant only when the runtime's own spec check passes.
            Some(e) => match spec_mismatch(e, &req) {
                Some(why) => return refuse(format!("variant {name} cannot serve the call: {why}"), y, flag),
                None => e,
            },
        },
        None => {
            let mut ok: Vec<&Variant> = variants.iter().filter(|v| spec_mismatch(v.e, &req).is_none()).collect();
            // The runtime's order: the requested sparsity before a dense kernel serving an
            // input-sparse call, then the defaults.
            let want = req.gemv.map(|g| g.sparsity);
            ok.sort_by_key(|v| (Some(v.s.sparsity) != want, !v.e.is_default, v.e.name));
            match ok.first() {
                Some(v) => v.e,
                None => return refuse("no variant serves the call (NoVariant)".into(), y, flag),
            }
        }
    };
    let Some(spec) = entry.spec.as_gemv() else {
        return refuse(format!("{} is not a gemv variant", entry.name), y, flag);
    };
    let ran = |y: Vec<O>| Outcome::Ran { name: entry.name, ys: vec![y; c.runs], flag };
    if matches!(&c.sel, Sel::Outs(o) if o.is_empty()) {
        if emu == Emu::WriteGuard {
            y[0] = O::from_f32(0.0);
        }
        return ran(y);
    }
    let (m, x) = (c.m, c.x);
    let xf = |t: usize, p: usize| x[t * xk + p].to_f32();
    // (x column, weight row) in the order the sum takes them.
    let terms: Vec<(usize, usize)> = match (spec.layout, spec.sparsity, &c.sel) {
        (GemvLayout::Kn, GemvSparsity::Input, _) => (0..k)
            .filter(|&kk| match emu {
                Emu::SkipToken0 => xf(0, kk) != 0.0,
                _ => (0..m).any(|t| xf(t, kk) != 0.0),
            })
            .map(|kk| (kk, kk))
            .collect(),
        (GemvLayout::Kn, GemvSparsity::Dense, _) if emu == Emu::IgnoreInf && c.skip_zero => {
            (0..k).filter(|&kk| (0..m).any(|t| xf(t, kk) != 0.0)).map(|kk| (kk, kk)).collect()
        }
        (_, _, Sel::Rows(r)) => r.iter().enumerate().map(|(p, &row)| (p, row as usize)).collect(),
        _ => (0..k).map(|kk| (kk, kk)).collect(),
    };
    let cols: Vec<usize> = match &c.sel {
        Sel::Outs(o) => o.iter().map(|&v| v as usize).collect(),
        _ => (0..n).collect(),
    };
    let sum = |wt: &[f32], t: usize, acc: &mut [f32]| {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for &(p, r) in &terms {
            let xv = xf(t, p);
            let row = &wt[r * n..r * n + n];
            for (a, &j) in acc.iter_mut().zip(&cols) {
                *a += xv * row[j];
            }
        }
    };
    let wf: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
    let uf: Option<Vec<f32>> = up.map(|u| u.iter().map(|v| v.to_f32()).collect());
    let (mut g, mut u) = (vec![0.0f32; cols.len()], vec![0.0f32; cols.len()]);
    for t in 0..m {
        sum(&wf, t, &mut g);
        if let Some(uf) = &uf {
            sum(uf, t, &mut u);
        }
        for j in 0..cols.len() {
            let v = match (&uf, spec.activation) {
                (Some(_), _) => g[j] / (1.0 + (-g[j]).exp()) * u[j],
                (None, Activation::None) => g[j],
                (None, Activation::Relu) => relu32(g[j]),
                (None, Activation::Relu2) => relu32(g[j]) * relu32(g[j]),
            };
            y[t * yn + j] = O::from_f32(v);
        }
    }
    if emu == Emu::WriteGuard && c.y_len > m * yn {
        y[m * yn] = O::from_f32(0.0);
    }
    ran(y)
}

fn relu32(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Reference and checks

fn act64(v: f64, act: Activation) -> f64 {
    let r = if v < 0.0 { 0.0 } else { v }; // NaN stays NaN, as the kernel's `v < 0 ? 0 : v`
    match act {
        Activation::None => v,
        Activation::Relu => r,
        Activation::Relu2 => r * r,
    }
}

fn silu64(g: f64) -> f64 {
    g / (1.0 + (-g).exp())
}

/// `r_out(v)`: the rounding of y to `out` (module docs).
fn out_round(out: ElemType, v: f64) -> f64 {
    match out {
        ElemType::Bf16 => v * 2f64.powi(-9),
        ElemType::F16 => v * 2f64.powi(-12) + 2f64.powi(-25),
        ElemType::F32 => v * 2f64.powi(-24),
    }
}

/// The reference of one call: y values and tolerances (`terms` products per sum).
struct Want {
    y: Vec<f64>,
    tol: Vec<f64>,
    /// Every pre-activation sum is zero (the data would check nothing).
    all_zero: bool,
}

fn want(g: &Prod, up: Option<&Prod>, terms: usize, act: Activation, out: ElemType) -> Want {
    let c = 2f64.powi(-22) * (terms + 64) as f64;
    let mut y = Vec::with_capacity(g.pre.len());
    let mut tol = Vec::with_capacity(g.pre.len());
    for i in 0..g.pre.len() {
        // E is only meaningful for finite sums; a finite reference over an infinite s (ReLU of
        // −Inf) must be exact.
        let fin = |e: f64| if e.is_finite() { e } else { 0.0 };
        let (gv, eg) = (g.pre[i], fin(c * g.s[i]));
        let (v, a) = match up {
            Some(u) => {
                let (uv, eu) = (u.pre[i], fin(c * u.s[i]));
                (silu64(gv) * uv, 1.1 * eg * (uv.abs() + eu) + silu64(gv).abs() * eu)
            }
            None => {
                let a = match act {
                    Activation::None | Activation::Relu => eg,
                    Activation::Relu2 => 2.0 * act64(gv, Activation::Relu) * eg + eg * eg,
                };
                (act64(gv, act), a)
            }
        };
        y.push(v);
        tol.push(1e-2 * v.abs() + a + out_round(out, v.abs() + a));
    }
    let all_zero = g.pre.iter().chain(up.map_or(&[][..], |u| &u.pre)).all(|v| *v == 0.0);
    Want { y, tol, all_zero }
}

/// What a case expects of the data.
#[derive(Clone, Copy)]
struct Expect {
    /// The reference must hold NaN / Inf (the data set tests them).
    nonfinite: bool,
    /// An all-zero reference is the point (else it fails the case: it would check nothing).
    zero_ok: bool,
}

/// Checks one y buffer (`written` elements, then the guard) against the reference.
#[allow(clippy::needless_range_loop)]
fn check_y<O: Out>(y: &[O], written: usize, yn: usize, want: &Want, e: Expect) -> Result<String, String> {
    if let Some(i) = y[written..].iter().position(|v| v.bits() != O::POISON.bits()) {
        return Err(format!("wrote past y (guard element {i} changed)"));
    }
    let mut worst = 0.0f64;
    let mut saw_nonfinite = false;
    for i in 0..written {
        let g = y[i];
        let (t, j) = (i / yn.max(1), i % yn.max(1));
        if g.bits() == O::POISON.bits() {
            return Err(format!("y[{t}][{j}] was never written (still the poison NaN)"));
        }
        let (w, tol) = (want.y[i], want.tol[i]);
        let gv = f64::from(g.to_f32());
        let ok = if w.is_nan() {
            gv.is_nan()
        } else if w.is_infinite() {
            gv == w
        } else {
            gv.is_finite() && (gv - w).abs() <= tol
        };
        if !ok {
            return Err(format!("y[{t}][{j}] = {gv} but the reference is {w} (tolerance {tol:.2e})"));
        }
        saw_nonfinite |= !w.is_finite();
        if w.is_finite() && tol > 0.0 {
            worst = worst.max((gv - w).abs() / tol);
        }
    }
    if e.nonfinite && !saw_nonfinite {
        return Err("test data produced no NaN or Inf".into());
    }
    if !e.nonfinite && !e.zero_ok && written > 0 && want.all_zero {
        return Err("test data produced an all-zero y (the case would check nothing)".into());
    }
    Ok(format!("err/tol={worst:.2}"))
}

/// `vals` converted to `T` and followed by `GUARD` NaNs.
fn padded<T: Host>(vals: &[f32]) -> Vec<T> {
    let mut v: Vec<T> = vals.iter().map(|&x| T::from_f32(x)).collect();
    v.extend(std::iter::repeat_n(T::from_f32(f32::NAN), GUARD));
    v
}

/// Runs a data call with `sel` and checks everything: refusal or not, the variant that ran, y
/// of both runs (guards, every element written, reference), determinism, `has_nonfinite`.
/// `expect_ran`: the variant that must run (None: any, for default dispatch).
#[allow(clippy::too_many_arguments)]
fn data_call<T: In, O: Out>(
    b: &Backend,
    d: &Data,
    gated: bool,
    layout: GemvLayout,
    variant: Option<&str>,
    act: Activation,
    sel: Sel,
    skip_zero: bool,
) -> Result<(Outcome<O>, String), String> {
    let (m, k, n) = (d.m, d.k, d.n);
    let (x, w) = d.inputs(T::TYPE);
    let up = if gated { Some(d.up(T::TYPE)) } else { None };
    // x as the call sees it (compact over a row list).
    let xc: Vec<f32> = match &sel {
        Sel::Rows(r) => (0..m).flat_map(|t| r.iter().map(move |&row| (t, row))).map(|(t, row)| if row >= 0 && (row as usize) < k { x[t * k + row as usize] } else { 1.0 }).collect(),
        _ => x.to_vec(),
    };
    let (xk, yn) = match &sel {
        Sel::All => (k, n),
        Sel::Rows(r) => (r.len(), n),
        Sel::Outs(o) => (k, o.len()),
    };
    let (wp, up_p) = (padded::<T>(w), up.map(padded::<T>));
    let xp = padded::<T>(&xc);
    let call = Call {
        w: &wp,
        up: up_p.as_deref(),
        k,
        n,
        layout,
        variant,
        act,
        sel: sel.clone(),
        skip_zero,
        m,
        x: &xp,
        y_len: m * yn + GUARD,
        runs: 2,
    };
    let outcome = exec::<T, O>(b, &call)?;
    let Outcome::Ran { name, ys, flag } = &outcome else {
        return Ok((outcome, String::new()));
    };
    let inf_w = w.iter().chain(up.unwrap_or(&[])).any(|v| !v.is_finite());
    if *flag != inf_w {
        return Err(format!("has_nonfinite() = {flag}, but the weights {} Inf/NaN", if inf_w { "hold" } else { "hold no" }));
    }
    let bound = if matches!(sel, Sel::Rows(_)) { k } else { n };
    if let Sel::Rows(l) | Sel::Outs(l) = &sel {
        if let Some(v) = l.iter().find(|v| **v < 0 || **v as usize >= bound) {
            return Err(format!("{name} ran with the list entry {v}, outside [0, {bound})"));
        }
    }
    if let Some(v) = variant {
        if *name != v {
            return Err(format!("ran {name}, asked for {v}"));
        }
    }
    // Reference.
    let (gp, upp);
    let (g, u, terms) = match &sel {
        Sel::All => (d.full(T::TYPE), up.map(|_| d.full_up(T::TYPE)), k),
        Sel::Rows(r) => {
            let rows: Vec<usize> = r.iter().map(|&v| v as usize).collect();
            gp = product(&xc, m, xk, &rows, w, n, None);
            (&gp, None, r.len())
        }
        Sel::Outs(o) => {
            let cols: Vec<usize> = o.iter().map(|&v| v as usize).collect();
            let all: Vec<usize> = (0..k).collect();
            gp = product(x, m, k, &all, w, n, Some(&cols));
            upp = up.map(|u| product(x, m, k, &all, u, n, Some(&cols)));
            (&gp, upp.as_ref(), k)
        }
    };
    let want = want(g, u, terms, act, O::TYPE);
    let empty = yn == 0;
    let covers_all = match &sel {
        Sel::All => true,
        Sel::Rows(r) => r.len() == k,
        Sel::Outs(o) => o.len() == n,
    };
    let e = Expect {
        nonfinite: d.nonfinite() && covers_all && !empty,
        zero_ok: d.pattern == Pattern::ZeroX || matches!(&sel, Sel::Rows(r) if r.len() < 4) || empty,
    };
    let mut detail = String::new();
    for (run, y) in ys.iter().enumerate() {
        detail = check_y::<O>(y, m * yn, yn, &want, e).map_err(|x| format!("{name} run {run}: {x}"))?;
    }
    if ys.len() == 2 {
        if let Some(i) = ys[0].iter().zip(&ys[1]).position(|(a, b)| a.bits() != b.bits()) {
            return Err(format!("{name}: not deterministic: y[{}][{}] differs between two runs", i / yn.max(1), i % yn.max(1)));
        }
    }
    Ok((outcome, detail))
}

// ---------------------------------------------------------------------------------------------
// Variant cases

/// The selection a variant uses on `d` for `kind`.
fn selection(s: &GemvSpec, d: &Data, kind: ListKind) -> Sel {
    let kind = if d.nonfinite() && kind == ListKind::Default { ListKind::Full } else { kind };
    let seed = d.seed ^ 0x1157 ^ (kind as u64) << 32;
    match s.sparsity {
        GemvSparsity::RowList => {
            let mut l = kind.make(d.k, seed);
            // A random subset may hold only inputs that are zero for every token (small M): add
            // an active one, so y is not all zero by chance.
            let x = &d.raw().0;
            let active = |r: i32| (0..d.m).any(|t| x[t * d.k + r as usize] != 0.0);
            if matches!(kind, ListKind::Default | ListKind::Sub10 | ListKind::Sub50 | ListKind::Dups) && !l.iter().any(|&r| active(r)) {
                if let Some(r) = (0..d.k as i32).find(|&r| active(r)) {
                    l.insert(l.len() / 2, r);
                }
            }
            Sel::Rows(l)
        }
        GemvSparsity::OutList => Sel::Outs(kind.make(d.n, seed)),
        _ => Sel::All,
    }
}

/// Variant `v` on `d` with list `kind`: by name, checked.
fn run_variant<T: In, O: Out>(b: &Backend, v: Variant, d: &Data, kind: ListKind) -> Result<String, String> {
    let s = v.s;
    if s.layout == GemvLayout::Kn && s.sparsity == GemvSparsity::Input && d.pattern == Pattern::InfW {
        return inf_rule::<T, O>(b, v, d);
    }
    let sel = selection(&s, d, kind);
    let skip = !(s.layout == GemvLayout::Kn && s.sparsity == GemvSparsity::Dense);
    let (outcome, detail) = data_call::<T, O>(b, d, s.gated, s.layout, Some(v.e.name), s.activation, sel.clone(), skip)?;
    match outcome {
        Outcome::Refused { msg, y, .. } => {
            if !kind.bad() {
                return Err(format!("refused: {msg}"));
            }
            untouched(&y)?;
            if !msg.contains("outside") {
                return Err(format!("refused, but the error does not name the bad entry: {msg}"));
            }
            Ok(format!("refused: {msg}"))
        }
        Outcome::Ran { .. } if kind.bad() => Err(format!("a list with an out-of-range entry was accepted ({sel:?})")),
        Outcome::Ran { ys, .. } => {
            if matches!(&sel, Sel::Outs(o) if o.is_empty()) {
                untouched(&ys[0])?;
                return Ok("empty output list: y untouched".into());
            }
            Ok(detail)
        }
    }
}

fn untouched<O: Out>(y: &[O]) -> Result<(), String> {
    match y.iter().position(|v| v.bits() != O::POISON.bits()) {
        Some(i) => Err(format!("y[{i}] was written by a call that must not write")),
        None => Ok(()),
    }
}

/// Whether one of the backend's variants serves this request shape.
fn serves(b: &Backend, dtype: ElemType, out: ElemType, act: Activation, layout: GemvLayout, sparsity: GemvSparsity, gated: bool) -> bool {
    b.variants.iter().any(|v| {
        let s = v.s;
        s.dtype == dtype && s.out == out && s.activation == act && s.layout == layout && s.sparsity == sparsity && s.gated == gated
    })
}

/// The Inf rule for an `in` variant on `inf-w`: the weights are flagged, the named variant is
/// refused, default dispatch reads every row (or, when no compiled variant can, refuses).
fn inf_rule<T: In, O: Out>(b: &Backend, v: Variant, d: &Data) -> Result<String, String> {
    let s = v.s;
    let (named, _) = data_call::<T, O>(b, d, false, GemvLayout::Kn, Some(v.e.name), s.activation, Sel::All, true)?;
    match named {
        Outcome::Ran { .. } => return Err(format!("{} (skips all-zero inputs) served weights holding Inf", v.e.name)),
        Outcome::Refused { msg, y, flag } => {
            if !flag {
                return Err("has_nonfinite() is false for weights holding Inf".into());
            }
            untouched(&y)?;
            let _ = msg;
        }
    }
    let (dflt, detail) = data_call::<T, O>(b, d, false, GemvLayout::Kn, None, s.activation, Sel::All, true)?;
    match dflt {
        Outcome::Ran { name, .. } => {
            // cuBLAS computes the dense IEEE product too.
            if name == esmm::gemv_cublas(T::TYPE) {
                return Ok(format!("named refused; default ran {name}: {detail}"));
            }
            let spec = esmm::dispatch::registry::entry(name).and_then(|e| e.spec.as_gemv().copied());
            if spec.is_none_or(|x| x.sparsity == GemvSparsity::Input) {
                return Err(format!("default dispatch ran {name} for weights holding Inf"));
            }
            Ok(format!("named refused; default ran {name}: {detail}"))
        }
        Outcome::Refused { msg, y, .. } => {
            untouched(&y)?;
            if serves(b, s.dtype, s.out, s.activation, GemvLayout::Kn, GemvSparsity::Dense, false) {
                return Err(format!("default dispatch refused although a kn dense variant serves it: {msg}"));
            }
            Ok(format!("named refused; default refused (no compiled kn dense {}->{} {} variant): {msg}", s.dtype.tag(), s.out.tag(), s.activation.tag()))
        }
    }
}

fn run_variant_any(b: &Backend, v: Variant, d: &Data, kind: ListKind) -> Result<String, String> {
    typed!(v.s.dtype, v.s.out, run_variant(b, v, d, kind))
}

/// Two threads, each with its own data (shape) and its own stream per call, 3 rounds each.
fn two_threads(b: &Backend, v: Variant, d1: &Data, d2: &Data) -> Result<String, String> {
    let out: Vec<Result<(), String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = [d1, d2]
            .into_iter()
            .map(|d| {
                let b = *b;
                sc.spawn(move || -> Result<(), String> {
                    for round in 0..3 {
                        run_variant_any(&b, v, d, ListKind::Default).map_err(|e| format!("{} round {round}: {e}", d.name))?;
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    out.into_iter().collect::<Result<Vec<_>, _>>().map(|_| "3 rounds × 2 threads, different shapes".into())
}

/// One variant per kind (layout, sparsity, gated): epilogue none and output = input type first,
/// bf16 first.
fn representatives(variants: &[Variant]) -> Vec<&'static str> {
    let mut best: std::collections::BTreeMap<(u32, u32, bool), (u32, &'static str)> = Default::default();
    for v in variants {
        let s = v.s;
        let rank = u32::from(s.activation != Activation::None) * 4 + u32::from(s.out != s.dtype) * 2 + u32::from(s.dtype != ElemType::Bf16);
        let e = best.entry((s.layout.code(), s.sparsity.code(), s.gated)).or_insert((rank, v.e.name));
        if (rank, v.e.name) < *e {
            *e = (rank, v.e.name);
        }
    }
    best.into_values().map(|(_, n)| n).collect()
}

type CaseRun<'a> = Box<dyn Fn(&Backend) -> Result<String, String> + Sync + 'a>;

/// A case of this suite: its name, its check on a backend, and the broken emulations it must
/// catch under `--host-check`.
struct GCase<'a> {
    name: String,
    run: CaseRun<'a>,
    catches: Vec<Emu>,
}

fn variant_cases<'a>(sets: &'a [Data], variants: &[Variant], o: &Options) -> Vec<GCase<'a>> {
    let mut cases = Vec::new();
    let reps = representatives(variants);
    for d in sets {
        for &v in variants {
            let s = v.s;
            let runs = match d.role {
                Role::All => true,
                Role::Large => reps.contains(&v.e.name),
                Role::Lists | Role::Threads => false,
            };
            if !runs {
                continue;
            }
            let in_variant = s.layout == GemvLayout::Kn && s.sparsity == GemvSparsity::Input;
            let mut catches = vec![Emu::WriteGuard];
            if in_variant && d.pattern == Pattern::InfW {
                // Default dispatch may refuse (no kn dense variant): nothing is written.
                catches = vec![Emu::IgnoreInf];
            } else if in_variant && d.token0_partial() {
                catches.push(Emu::SkipToken0);
            }
            let tag = if s.sparsity.uses_list() { format!(" list={}", if d.nonfinite() { "full" } else { "default" }) } else { String::new() };
            cases.push(GCase {
                name: format!("{} {}{tag}", v.e.name, d.name),
                run: Box::new(move |b| run_variant_any(b, v, d, ListKind::Default)),
                catches,
            });
        }
    }
    for d in sets.iter().filter(|d| d.role == Role::Lists) {
        for &v in variants.iter().filter(|v| v.s.sparsity.uses_list()) {
            let kinds: &[ListKind] = if o.sanitizer { &ListKind::SANITIZER } else { &ListKind::EXTRA };
            for &kind in kinds {
                cases.push(GCase {
                    name: format!("{} {} list={}", v.e.name, d.name, kind.tag()),
                    run: Box::new(move |b| run_variant_any(b, v, d, kind)),
                    catches: if kind.bad() { vec![] } else { vec![Emu::WriteGuard] },
                });
            }
        }
    }
    if o.sanitizer {
        return cases;
    }
    let threads: Vec<&Data> = sets.iter().filter(|d| d.role == Role::Threads).collect();
    if let [d1, d2] = threads[..] {
        for &v in variants {
            cases.push(GCase {
                name: format!("{} two-threads-two-streams ({} | {})", v.e.name, d1.name, d2.name),
                run: Box::new(move |b| two_threads(b, v, d1, d2)),
                catches: vec![Emu::WriteGuard],
            });
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// API cases

fn expect_refused<O: Out>(r: Result<Outcome<O>, String>, what: &str, needle: &str) -> Result<(), String> {
    match r? {
        Outcome::Refused { msg, y, .. } => {
            untouched(&y).map_err(|e| format!("{what}: {e}"))?;
            if msg.to_lowercase().contains(&needle.to_lowercase()) {
                Ok(())
            } else {
                Err(format!("{what}: the error does not mention `{needle}`: {msg}"))
            }
        }
        Outcome::Ran { name, .. } => Err(format!("{what}: expected an error mentioning `{needle}`, ran {name}")),
    }
}

/// A small bf16 problem for the API cases.
struct ApiData {
    k: usize,
    n: usize,
    w: Vec<bf16>,
    x: Vec<bf16>,
}

fn api_data(seed: u64) -> ApiData {
    let (k, n) = (37, 101);
    let mut rng = StdRng::seed_from_u64(seed);
    let w = padded::<bf16>(&gen_w(k, n, &mut rng));
    let x = padded::<bf16>(&(0..MAX_M * 4 * k).map(|_| nz(&mut rng)).collect::<Vec<_>>());
    ApiData { k, n, w, x }
}

fn api_call<'a>(a: &'a ApiData, layout: GemvLayout, gated: bool, sel: Sel, m: usize) -> Call<'a, bf16> {
    Call {
        w: &a.w,
        up: gated.then_some(&a.w[..]),
        k: a.k,
        n: a.n,
        layout: if gated { GemvLayout::Nk } else { layout },
        variant: None,
        act: Activation::None,
        sel,
        skip_zero: true,
        m,
        x: &a.x,
        y_len: MAX_M * 4 * a.n.max(a.k) + GUARD,
        runs: 1,
    }
}

fn api_errors(b: &Backend, seed: u64) -> Result<String, String> {
    let a = api_data(seed);
    let (k, n) = (a.k, a.n);
    let ex = |c: &Call<bf16>, what: &str, needle: &str| expect_refused(exec::<bf16, bf16>(b, c), what, needle);
    let kn = GemvLayout::Kn;
    let nk = GemvLayout::Nk;
    for (layout, gated) in [(kn, false), (nk, false), (nk, true)] {
        let tag = format!("{}{}", layout.tag(), if gated { " gated" } else { "" });
        ex(&api_call(&a, layout, gated, Sel::All, 0), &format!("{tag} m=0"), "tokens")?;
        ex(&api_call(&a, layout, gated, Sel::All, 17), &format!("{tag} m=17"), "tokens")?;
        let mut c = api_call(&a, layout, gated, Sel::All, 3);
        c.x = &a.x[..3 * k - 1];
        ex(&c, &format!("{tag} short x"), "x")?;
        let mut c = api_call(&a, layout, gated, Sel::All, 3);
        c.y_len = 3 * n - 1;
        ex(&c, &format!("{tag} short y"), "y")?;
    }
    ex(&api_call(&a, kn, false, Sel::Outs(vec![0, 1]), 2), "output list on kn weights", "nk")?;
    ex(&api_call(&a, nk, false, Sel::Rows(vec![0, 1]), 2), "row list on nk weights", "kn")?;
    ex(&api_call(&a, nk, true, Sel::Rows(vec![0, 1]), 2), "row list on gated weights", "kn")?;
    let mut c = api_call(&a, nk, true, Sel::All, 2);
    c.act = Activation::Relu;
    ex(&c, "activation with gated weights", "activation")?;
    let mut c = api_call(&a, kn, false, Sel::Rows(vec![0, 5, 7]), 2);
    c.x = &a.x[..2 * 3 - 1];
    ex(&c, "short x for a row list", "x")?;
    let mut c = api_call(&a, nk, false, Sel::Outs(vec![0, 5, 7]), 2);
    c.y_len = 2 * 3 - 1;
    ex(&c, "short y for an output list", "y")?;
    ex(&api_call(&a, kn, false, Sel::Rows(vec![0, k as i32]), 2), "row entry = K", "outside")?;
    ex(&api_call(&a, kn, false, Sel::Rows(vec![-5]), 2), "row entry < 0", "outside")?;
    ex(&api_call(&a, nk, false, Sel::Outs(vec![3, n as i32]), 2), "output entry = N", "outside")?;
    ex(&api_call(&a, nk, true, Sel::Outs(vec![-1, 3]), 2), "gated output entry < 0", "outside")?;
    // Weights.
    let mut c = api_call(&a, kn, false, Sel::All, 2);
    c.k = 0;
    ex(&c, "0×n weights", "1×1")?;
    let mut c = api_call(&a, nk, false, Sel::All, 2);
    c.n = 0;
    ex(&c, "k×0 weights", "1×1")?;
    let mut c = api_call(&a, kn, false, Sel::All, 2);
    c.w = &a.w[..k * n - 1];
    ex(&c, "short weights", "weights")?;
    let mut c = api_call(&a, nk, true, Sel::All, 2);
    c.up = Some(&a.w[..k * n - 1]);
    ex(&c, "short up weights", "weights")?;
    Ok("m, lists, layouts, activation, buffers, weights".into())
}

/// Variants named for calls they cannot serve.
fn api_wrong_variants(b: &Backend, seed: u64) -> Result<String, String> {
    let a = api_data(seed);
    let mut checked = Vec::new();
    let find = |f: &dyn Fn(&GemvSpec) -> bool| b.variants.iter().find(|v| f(&v.s)).map(|v| v.e.name);
    let bf = |s: &GemvSpec| s.dtype == ElemType::Bf16 && s.out == ElemType::Bf16 && s.activation == Activation::None;
    // (description, weights layout, gated, selection, skip_zero, the variant, needle)
    type Pred = Box<dyn Fn(&GemvSpec) -> bool>;
    let tries: Vec<(&str, GemvLayout, bool, Sel, bool, Pred)> = vec![
        ("an nk variant on kn weights", GemvLayout::Kn, false, Sel::All, true, Box::new(move |s| bf(s) && s.layout == GemvLayout::Nk && !s.gated && s.sparsity == GemvSparsity::Dense)),
        ("a kn variant on nk weights", GemvLayout::Nk, false, Sel::All, true, Box::new(move |s| bf(s) && s.layout == GemvLayout::Kn)),
        ("an in variant for a row list", GemvLayout::Kn, false, Sel::Rows(vec![1, 2]), true, Box::new(move |s| bf(s) && s.sparsity == GemvSparsity::Input)),
        ("a rows variant without a list", GemvLayout::Kn, false, Sel::All, true, Box::new(move |s| bf(s) && s.sparsity == GemvSparsity::RowList)),
        ("an outs variant without a list", GemvLayout::Nk, false, Sel::All, true, Box::new(move |s| bf(s) && s.sparsity == GemvSparsity::OutList && !s.gated)),
        ("an in variant with skip_zero_inputs false", GemvLayout::Kn, false, Sel::All, false, Box::new(move |s| bf(s) && s.sparsity == GemvSparsity::Input)),
        ("a gated variant on plain nk weights", GemvLayout::Nk, false, Sel::All, true, Box::new(move |s| bf(s) && s.gated && s.sparsity == GemvSparsity::Dense)),
        ("a plain variant on gated weights", GemvLayout::Nk, true, Sel::All, true, Box::new(move |s| bf(s) && !s.gated && s.layout == GemvLayout::Nk && s.sparsity == GemvSparsity::Dense)),
        ("an f16 variant for bf16 inputs", GemvLayout::Kn, false, Sel::All, true, Box::new(|s| s.dtype == ElemType::F16)),
        ("a variant of another output type", GemvLayout::Kn, false, Sel::All, true, Box::new(|s| s.dtype == ElemType::Bf16 && s.out != ElemType::Bf16 && s.layout == GemvLayout::Kn && s.sparsity == GemvSparsity::Input)),
        ("a variant of another activation", GemvLayout::Kn, false, Sel::All, true, Box::new(|s| s.dtype == ElemType::Bf16 && s.out == ElemType::Bf16 && s.activation != Activation::None && s.layout == GemvLayout::Kn && s.sparsity == GemvSparsity::Input)),
    ];
    for (what, layout, gated, sel, skip, pred) in tries {
        let Some(name) = find(&*pred) else { continue };
        let mut c = api_call(&a, layout, gated, sel, 2);
        c.variant = Some(name);
        c.skip_zero = skip;
        expect_refused(exec::<bf16, bf16>(b, &c), &format!("{what} ({name})"), "")?;
        checked.push(what);
    }
    let mut c = api_call(&a, GemvLayout::Kn, false, Sel::All, 2);
    c.variant = Some("gemv_no_such_variant");
    expect_refused(exec::<bf16, bf16>(b, &c), "an unknown name", "gemv_no_such_variant")?;
    checked.push("unknown");
    if let Some(e) = esmm::REGISTRY.iter().find(|e| e.spec.family() != Family::Gemv) {
        let mut c = api_call(&a, GemvLayout::Kn, false, Sel::All, 2);
        c.variant = Some(e.name);
        expect_refused(exec::<bf16, bf16>(b, &c), &format!("a {} variant", e.spec.family().key()), "")?;
        checked.push("other family");
    }
    Ok(format!("refused: {}", checked.join(", ")))
}

/// `has_nonfinite`: finite weights followed by NaN (not flagged), Inf in W, Inf only in the up
/// weights of gated weights.
fn api_nonfinite_flag(b: &Backend, seed: u64) -> Result<String, String> {
    let a = api_data(seed);
    let (k, n) = (a.k, a.n);
    let flag_of = |c: &Call<bf16>| -> Result<bool, String> {
        match exec::<bf16, bf16>(b, c)? {
            Outcome::Ran { flag, .. } | Outcome::Refused { flag, .. } => Ok(flag),
        }
    };
    let mut inf = a.w[..k * n].to_vec();
    inf[3 * n + 7] = bf16::INFINITY;
    for (layout, gated) in [(GemvLayout::Kn, false), (GemvLayout::Nk, false), (GemvLayout::Nk, true)] {
        let c = api_call(&a, layout, gated, Sel::All, 2);
        if flag_of(&c)? {
            return Err(format!("{} weights: has_nonfinite() true for finite weights (NaN after their end was read)", layout.tag()));
        }
        let mut c = api_call(&a, layout, gated, Sel::All, 2);
        c.w = &inf;
        if !flag_of(&c)? {
            return Err(format!("{} weights: has_nonfinite() false for weights holding +Inf", layout.tag()));
        }
    }
    let mut c = api_call(&a, GemvLayout::Nk, true, Sel::All, 2);
    c.up = Some(&inf);
    if !flag_of(&c)? {
        return Err("gated weights: has_nonfinite() false with +Inf in the up weights".into());
    }
    Ok("finite+NaN tail: false; Inf in W: true; Inf in up: true".into())
}

/// Default dispatch (no variant) for each layout / selection / gating, checked against the
/// reference; `gemv_planned` must name what ran (checked in `exec_gpu`).
fn api_default_dispatch<T: In, O: Out>(b: &Backend, d: &Data) -> Result<String, String> {
    let mut ran = Vec::new();
    let configs: [(&str, GemvLayout, bool, Option<ListKind>, Activation); 7] = [
        ("kn all", GemvLayout::Kn, false, None, Activation::None),
        ("kn all relu", GemvLayout::Kn, false, None, Activation::Relu),
        ("kn rows", GemvLayout::Kn, false, Some(ListKind::Default), Activation::None),
        ("nk all", GemvLayout::Nk, false, None, Activation::None),
        ("nk outs", GemvLayout::Nk, false, Some(ListKind::Default), Activation::None),
        ("gated all", GemvLayout::Nk, true, None, Activation::None),
        ("gated outs", GemvLayout::Nk, true, Some(ListKind::Default), Activation::None),
    ];
    for (label, layout, gated, list, act) in configs {
        let sel = match (layout, list) {
            (_, None) => Sel::All,
            (GemvLayout::Kn, Some(kind)) => Sel::Rows(kind.make(d.k, d.seed ^ 3)),
            (GemvLayout::Nk, Some(kind)) => Sel::Outs(kind.make(d.n, d.seed ^ 4)),
        };
        let sparsity = match (layout, &sel) {
            (GemvLayout::Kn, Sel::All) => GemvSparsity::Input,
            (GemvLayout::Kn, _) => GemvSparsity::RowList,
            (GemvLayout::Nk, Sel::All) => GemvSparsity::Dense,
            (GemvLayout::Nk, _) => GemvSparsity::OutList,
        };
        for round in 0..2 {
            let (outcome, detail) = data_call::<T, O>(b, d, gated, layout, None, act, sel.clone(), true).map_err(|e| format!("{label} round {round}: {e}"))?;
            let r = match outcome {
                Outcome::Ran { name, .. } => format!("{name} ({detail})"),
                Outcome::Refused { msg, .. } => {
                    if serves(b, T::TYPE, O::TYPE, act, layout, sparsity, gated) {
                        return Err(format!("{label}: refused although a compiled variant serves it: {msg}"));
                    }
                    "no variant".into()
                }
            };
            if round == 0 {
                ran.push(format!("{label}: {r}"));
            }
        }
    }
    Ok(ran.join("; "))
}

/// Density observation and the dispatch it drives (GPU only; the emulator has no kernel to
/// observe): the input-sparse kernel's pattern words must give exactly the host's count of
/// inputs nonzero for some token (−0 counts as zero), a dense input stream must move default
/// dispatch to cuBLAS (when present; no tuned key is near 4101×333), `input_density` must steer
/// the plan, and every result must match the f64 reference.
fn api_observed_density(b: &Backend, seed: u64) -> Result<String, String> {
    let Engine::Gpu(esmm) = b.engine else {
        return Ok("not emulated (observes the GPU kernel's pattern words)".into());
    };
    let (k, n, m) = (4101usize, 333usize, 3usize);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0b5e);
    let w: Vec<bf16> = (0..k * n).map(|_| bf16::from_f32(rng.random_range(-1.0f32..1.0))).collect();
    // Sparse x: each input active with probability 0.3, then per-token zeros (±0) inside.
    let mut sparse = vec![bf16::ZERO; m * k];
    for kk in 0..k {
        if rng.random_bool(0.3) {
            for t in 0..m {
                sparse[t * k + kk] = if rng.random_bool(0.6) { bf16::from_f32(rng.random_range(-1.0f32..1.0)) } else { bf16::from_f32(-0.0) };
            }
        } else if rng.random_bool(0.5) {
            sparse[(kk % m) * k + kk] = bf16::from_f32(-0.0);
        }
    }
    let dense: Vec<bf16> = (0..m * k).map(|_| bf16::from_f32(rng.random_range(0.1f32..1.0))).collect();
    let active = |x: &[bf16]| (0..k).filter(|&kk| (0..m).any(|t| x[t * k + kk].to_f32() != 0.0)).count();
    let s = new_stream(esmm)?;
    let check = |x: &[bf16], y: &[bf16], name: &str| -> Result<(), String> {
        let mut worst = 0f64;
        let mut scale = 0f64;
        for t in 0..m {
            for c in 0..n {
                let r: f64 = (0..k).map(|kk| f64::from(x[t * k + kk].to_f32()) * f64::from(w[kk * n + c].to_f32())).sum();
                worst = worst.max((f64::from(y[t * n + c].to_f32()) - r).abs());
                scale = scale.max(r.abs());
            }
        }
        if worst > 1e-2 * scale.max(1e-3) {
            return Err(format!("{name}: max |y - ref| = {worst:.3e} at max |ref| {scale:.3e}"));
        }
        Ok(())
    };
    // Calls with default dispatch on fresh weights until `done` says stop (at most 64).
    let run = |x: &[bf16], hint: Option<f64>, done: &dyn Fn(&esmm::GemvWeights<bf16>, &str) -> bool| -> Result<(esmm::GemvWeights<bf16>, Vec<&'static str>), String> {
        let weights = esmm.gemv_weights(&s, &w, k, n, GemvLayout::Kn).map_err(text)?;
        let dx = s.clone_htod(x).map_err(text)?;
        let mut names = Vec::new();
        for _ in 0..64 {
            let mut dy = s.clone_htod(&vec![bf16::NAN; m * n]).map_err(text)?;
            let opts = GemvOptions { input_density: hint, ..Default::default() };
            let name = esmm.gemv::<bf16, bf16, _, _>(&s, &dx, &weights, &mut dy, m, opts).map_err(text)?;
            let y = s.clone_dtoh(&dy).map_err(text)?;
            check(x, &y, name)?;
            names.push(name);
            if done(&weights, name) {
                break;
            }
        }
        Ok((weights, names))
    };
    let want = active(&sparse) as f64 / k as f64;
    let (wts, names) = run(&sparse, None, &|w, _| w.observed_input_density().is_some())?;
    let Some(seen) = wts.observed_input_density() else {
        return Err(format!("no density observed after {} calls", names.len()));
    };
    if seen != want {
        return Err(format!("observed input density {seen} (×K = {}), the host counts {want} ({} of {k})", seen * k as f64, active(&sparse)));
    }
    let mut notes = vec![format!("sparse: observed {seen:.4} exactly after {} calls, ran {}", names.len(), names[0])];
    let cublas = esmm::gemv_cublas(ElemType::Bf16);
    if esmm::cublas_present() {
        let (wts, names) = run(&dense, None, &|_, name| name == cublas)?;
        if names.last() != Some(&cublas) {
            return Err(format!("dense inputs (observed {:?}) never moved dispatch to cuBLAS: {names:?}", wts.observed_input_density()));
        }
        notes.push(format!("dense: cuBLAS from call {} (observed {:?})", names.len(), wts.observed_input_density()));
        let weights = esmm.gemv_weights(&s, &w, k, n, GemvLayout::Kn).map_err(text)?;
        let hinted = |d| esmm.gemv_planned::<bf16, bf16>(&weights, m, &GemvOptions { input_density: Some(d), ..Default::default() }).map_err(text);
        let (lo, hi) = (hinted(0.1)?, hinted(1.0)?);
        if lo == cublas || hi != cublas {
            return Err(format!("input_density 0.1 planned {lo}, 1.0 planned {hi}"));
        }
        notes.push(format!("hint 0.1 -> {lo}, 1.0 -> {hi}"));
    }
    Ok(notes.join("; "))
}

fn api_cases<'a>(seed: u64, sets: &'a [Data]) -> Vec<GCase<'a>> {
    let mut cases: Vec<GCase<'a>> = vec![
        GCase { name: "api errors".into(), run: Box::new(move |b| api_errors(b, seed)), catches: vec![] },
        GCase { name: "api wrong-variants".into(), run: Box::new(move |b| api_wrong_variants(b, seed)), catches: vec![] },
        GCase { name: "api has-nonfinite".into(), run: Box::new(move |b| api_nonfinite_flag(b, seed)), catches: vec![] },
        GCase { name: "api observed-density".into(), run: Box::new(move |b| api_observed_density(b, seed)), catches: vec![] },
    ];
    if let Some(d) = sets.iter().find(|d| d.role == Role::Threads && d.m == 16) {
        for (t, o) in [(ElemType::Bf16, ElemType::Bf16), (ElemType::Bf16, ElemType::F32), (ElemType::F16, ElemType::F16), (ElemType::F16, ElemType::F32)] {
            cases.push(GCase {
                name: format!("api default-dispatch {}->{} {}", t.tag(), o.tag(), d.name),
                run: Box::new(move |b| typed!(t, o, api_default_dispatch(b, d))),
                catches: vec![Emu::WriteGuard],
            });
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Main

fn build_cases<'a>(sets: &'a [Data], variants: &[Variant], o: &Options) -> (Vec<GCase<'a>>, usize) {
    let mut cases = variant_cases(sets, variants, o);
    let variant_count = cases.len();
    if !o.sanitizer {
        cases.extend(api_cases(o.seed, sets));
    }
    let keep = |c: &GCase| o.filters.is_empty() || o.filters.iter().any(|f| c.name.contains(f.as_str()));
    let variant_count = cases.iter().take(variant_count).filter(|c| keep(c)).count();
    cases.retain(keep);
    (cases, variant_count)
}

/// `--host-check`: every case against the correct emulation (must pass) and against the broken
/// emulations it is there to catch (must fail).
fn host_check(cases: &[GCase<'_>], variants: &[Variant]) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    let mut caught: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for c in cases {
        let t = Instant::now();
        let run = |emu| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (c.run)(&Backend { engine: Engine::Emu(emu), variants })))
                .unwrap_or_else(|p| Err(format!("panicked: {}", esmm_tests::panic_text(&p))))
        };
        let mut r = run(Emu::Correct).map_err(|e| format!("emulated kernel: {e}"));
        let mut notes = Vec::new();
        if r.is_ok() {
            for &emu in &c.catches {
                match run(emu) {
                    Ok(x) => {
                        r = Err(format!("broken emulation {emu:?} passed: {x}"));
                        break;
                    }
                    Err(e) => {
                        *caught.entry(emu_tag(emu)).or_default() += 1;
                        if emu != Emu::WriteGuard {
                            notes.push(format!("{emu:?} caught: {e}"));
                        }
                    }
                }
            }
        }
        let ms = t.elapsed().as_secs_f64() * 1e3;
        match r {
            Ok(x) => {
                passed += 1;
                let extra = if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) };
                println!("ok   host {} {x}{extra} ({ms:.0} ms)", c.name);
            }
            Err(e) => {
                failed += 1;
                println!("FAIL host {}: {e} ({ms:.0} ms)", c.name);
            }
        }
    }
    println!("broken emulations caught: {}", caught.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    (passed, failed)
}

fn emu_tag(e: Emu) -> &'static str {
    match e {
        Emu::Correct => "correct",
        Emu::SkipToken0 => "skip-token0-zeros",
        Emu::IgnoreInf => "ignore-inf-rule",
        Emu::WriteGuard => "write-past-y",
    }
}

fn main() {
    let o = parse_options();
    let gemv: Vec<Variant> = esmm::REGISTRY.iter().filter_map(|e| e.spec.as_gemv().map(|s| Variant { e, s: *s })).collect();
    let compiled: Vec<Variant> = gemv.iter().copied().filter(|v| esmm::dispatch::registry::fatbin(v.e.name).is_some()).collect();
    let sets = data_sets(&o);
    let mode = if o.quick { ", quick" } else if o.sanitizer { ", sanitizer shapes" } else { "" };
    if o.host_check {
        // Every compiled variant; when this build compiled none (no nvcc here), every registry
        // entry of the family: the emulation needs no fatbin.
        let variants = if compiled.is_empty() { gemv.clone() } else { compiled.clone() };
        let (cases, vc) = build_cases(&sets, &variants, &o);
        println!(
            "gpu_gemv --host-check: {} cases ({vc} variant cases over {} gemv variants, {} compiled), seed {}{mode}",
            cases.len(),
            variants.len(),
            compiled.len(),
            o.seed
        );
        let start = Instant::now();
        let (p, f) = host_check(&cases, &variants);
        println!("gpu_gemv --host-check: {:.1} s", start.elapsed().as_secs_f64());
        println!("{p} passed, {f} failed, 0 skipped");
        if f > 0 {
            std::process::exit(1);
        }
        return;
    }
    if !esmm::driver_present() {
        let (cases, _) = build_cases(&sets, &compiled, &o);
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    let esmm = match Esmm::new(0) {
        Ok(e) => e,
        Err(e) => {
            let (cases, _) = build_cases(&sets, &compiled, &o);
            println!("FAIL open GPU 0: {e}");
            println!("0 passed, {} failed, 0 skipped", cases.len().max(1));
            std::process::exit(1);
        }
    };
    let dev = esmm.device();
    let variants: Vec<Variant> = compiled.iter().copied().filter(|v| dev.arch.is_some_and(|a| v.s.archs.contains(a))).collect();
    let (gcases, vc) = build_cases(&sets, &variants, &o);
    println!(
        "gpu_gemv: {} cases ({vc} variant cases over {} gemv variants for sm_{}; {} compiled, {} gemv entries in the registry), seed {}{mode}",
        gcases.len(),
        variants.len(),
        dev.compute_capability,
        compiled.len(),
        gemv.len(),
        o.seed
    );
    println!("device: {} (sm_{}, {} SMs)", dev.name, dev.compute_capability, dev.sm_count);
    let vref: &[Variant] = &variants;
    let cases: Vec<Case<'_>> = gcases
        .iter()
        .map(|c| Case { name: c.name.clone(), run: Box::new(move |esmm: &Esmm| (c.run)(&Backend { engine: Engine::Gpu(esmm), variants: vref })) })
        .collect();
    let start = Instant::now();
    let (p, f) = run_cases(&esmm, &cases, Duration::from_secs(o.timeout));
    println!("gpu_gemv: {:.1} s", start.elapsed().as_secs_f64());
    println!("{p} passed, {f} failed, 0 skipped");
    if f > 0 {
        std::process::exit(1);
    }
}
