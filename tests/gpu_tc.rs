//! GPU correctness suite of family `tc` (tensor-core block-sparse GEMM; harness = false): every
//! compiled tc variant against an f64 CPU reference, plus API cases of `Esmm::tc_matmul`,
//! `Esmm::tc_prepare_b`, `Esmm::tc_planned` and the cuBLAS baselines the family falls back to.
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and `0 passed, 0 failed, N skipped`
//! and exits 0. Options (arguments after `--`, or `ESMM_TC_SUITE_ARGS`):
//! - `--quick`: shapes up to 255×1023, fewer data sets, no large shapes;
//! - `--filter SUBSTR`: only cases whose name contains SUBSTR (repeatable: any matches);
//! - `--sanitizer-shapes`: for compute-sanitizer (memcheck, racecheck, synccheck): per variant
//!   1×1×1, 17×33×9, 65×129×72 and the +Inf-under-zero-A set at 65×129×72, plus 17×33×9 with a
//!   prepared B (sep and dense variants) and 65×129×72 on views starting at element 1 (the pack
//!   stages); no API cases. Variants: a representative subset, the epilogues `none` and
//!   `relu2_nnz` of every (path, dtype, out, tile, sparsity, granularity, patterns) — the other
//!   four epilogues differ only in the epilogue's activation / count code, which the two cover
//!   (activation with squaring, the atomics of the counts); `--sanitizer-all` takes every variant;
//! - `--timeout SECS`: watchdog per case (default 120; a hang is a failure);
//! - `--seed N`: RNG seed (default: time-based, printed). Each data set draws from its own
//!   stream derived from the seed, so `--filter` does not change the data;
//! - `--host-check`: no GPU: checks the suite itself on the data sets of the chosen mode. An
//!   emulated kernel (fp32 accumulation in plain k order, each product and sum rounded, TF32
//!   inputs truncated to 10 mantissa bits, C rounded to the output type) must pass every check,
//!   and a naive sparse kernel that skips every 64-row × 64-k block of A or 64-k × 128-column
//!   block of B that is all zero, ignoring Inf/NaN, must pass on finite data and FAIL on every
//!   NaN/Inf data set.
//!
//! # Variant cases
//! Every registry entry of family tc with an embedded fatbin whose archs contain the GPU's (wgmma
//! variants are sm_90 only), run by name (`TcOptions::variant`) with its own epilogue (activation,
//! a `col_nnz` buffer when it counts) and, for `offb` variants, a `TcPreparedB`; `sep` and dense
//! variants run without one and, in extra cases, with one. Each data set is drawn in f32 and
//! rounded to the variant's input type (bf16 / f16; f32 stays f32 and the tensor cores apply
//! TF32); the reference is `gemm_f64` on exactly those rounded values (converted back to f32
//! exactly), the activation applied in f64. Data sets (full mode; quick mode keeps the small ones):
//! - odd shapes: 1×1×1, 3×5×7, 17×33×9, 65×129×72, 127×255×1023, 333×777×1555, 1000×1003×1001 and
//!   two random shapes in 1..2000 that are not multiples of 8 (tc blockwise data, densities 1 …
//!   0.25);
//! - large odd shapes 4095×4097×1023 (tc blockwise 0.5) and 4096×4096×4100 (non-uniform), for one
//!   variant per (path, dtype, sparsity) only (epilogue none, output = input type, prepared-B
//!   patterns preferred), full mode only;
//! - non-uniform per-tile patterns (1000×999×1001 and 130×257×200): each 64-row block of A and
//!   each 128-column block of B draws its own block density from {0, 0.1, 0.5, 0.9, 1}; blocks are
//!   32 k deep (finer than the 64-k blocks of the tc workload, so k-groups of 64 see partly zero
//!   blocks and k-groups of 16 whole ones), and nonzero blocks hold scattered zeros (25%);
//! - tc blockwise (`workload::tc_blockwise_a/b`: 64×64 A blocks, 64×128 B blocks) at 50% and
//!   12.5% (515×1037×777);
//! - all-zero A, all-zero B, all-dense (300×257×513);
//! - NaN/Inf (the runtime's contract: C is what a dense IEEE GEMM gives; NaN and ±Inf positions
//!   must match the reference, where ReLU may turn a NaN into 0 as `fmaxf` does): a NaN in A
//!   inside a k-group where B is all zero (the joint pattern would skip it); +Inf in rows of B
//!   under k-groups where A is all zero, in some 128-column blocks only (dense math gives NaN in
//!   exactly those columns: the sparse kernels must not skip them; 65×129×72, 333×777×1555);
//!   mixed ±Inf in both operands over zero blocks of the other;
//! - poisoned C on every run: C is filled with a NaN whose bit pattern no arithmetic produces
//!   (negative, quiet, odd payload) and every element of C must differ from it bitwise afterwards
//!   (every element written, also where the reference is NaN); 37 poisoned elements after C (and,
//!   on offset views, before it) and after `col_nnz` must be untouched; A and B carry 37 NaNs
//!   after their last element (and before their first on offset views): a kernel that multiplies
//!   elements outside the operands, even by zero, turns C into NaN there;
//! - extra cases per variant: a prepared B (sep / dense: blockwise 50%, non-uniform, Inf under
//!   zero A); A, B and C views starting at element 1 (67×136×40: K and N multiples of 8, so only
//!   the offset forces the pack stages and misaligns C's rows), with and without a prepared B made
//!   from the offset B; two threads on two streams, each with its own data, 3 rounds each; two
//!   threads sharing one B and one fresh `TcPreparedB` (its first use, which makes the patterns
//!   and layouts, races).
//!
//! `col_nnz`: the counts must equal those of the STORED C exactly (a value that rounds to zero
//! counts as zero; NaN counts as nonzero, `x != 0`), and on finite data also the f64 reference's
//! counts up to the elements within the accumulation error of zero (`check_col_nnz`).
//!
//! # Tolerances (relative Frobenius error ‖C − ref‖ / ‖ref‖ over finite reference entries)
//! The sum of an input term and an output term:
//! - bf16 output: 8e-3. bf16 keeps 8 significant bits: rounding the fp32 result to nearest errs
//!   by ≤ 2⁻⁹ ≈ 2e-3 relative per element, so also in the Frobenius ratio; fp32 accumulation adds
//!   < 1e-5. 4× headroom, still far below what a wrong tile or a skipped nonzero block gives
//!   (O(1e-1) or more).
//! - f16 output: 2e-3 (11 significant bits: ≤ 2⁻¹² ≈ 2.4e-4 per element; 8× headroom), plus
//!   2⁻²⁵·√(M·N)/‖ref‖: values below 2⁻¹⁴ are f16 subnormals, rounded with an absolute error
//!   ≤ 2⁻²⁵ instead (found by `--host-check`: a 1×1×1 ReLU² of 0.01 is 1e-4 → 1.4% off).
//! - f32 output from bf16 / f16 inputs: 1e-5 + 2⁻²⁴·K/32. Products of bf16 / f16 values are exact
//!   in fp32 and the reference uses the same rounded inputs, so only the accumulation order and
//!   rounding remain: random-sign rounding errors grow like 2⁻²⁴·√K (≈ 1.6e-6 at K = 4100), and
//!   tensor-core MMAs may truncate instead of rounding when they add into the accumulator, a bias
//!   bounded by about 2⁻²⁴·K/32 over the K/16 MMA steps (the same analysis as gpu_baselines.rs).
//!   That term is the one adjustment to the brief's flat 1e-5: 2e-6 at K = 1023, 7.6e-6 at
//!   K = 4100. A kernel that rounded C or its inputs to 16 bits on the way (≥ 1e-4) still fails.
//! - TF32 (f32 inputs): 3e-3 against f64 on the UNROUNDED f32 inputs. The tensor core keeps 10
//!   mantissa bits of each input: ≤ 2⁻¹¹ relative when rounded, < 2⁻¹⁰ when truncated, so a
//!   product errs by ≲ 2⁻¹⁰ ≈ 1e-3 (truncation, the worst case, biases products towards zero by
//!   about 1.4e-3 on average plus ~4e-4 of noise); plus the output term above when C is f32.
//!
//! `col_nnz` ambiguity (reference counts only): 1e-4 of the column's largest |value| for 16-bit
//! inputs, 4e-3 for TF32.
//!
//! # API cases (family tc; they run whether or not tc kernels are compiled)
//! Default dispatch (no variant) for bf16→bf16, bf16→f32, f16→f16, f16→f32, f32→f32, with and
//! without activation / counts / prepared B; `tc_planned` must name what `tc_matmul` then runs
//! (3 rounds, plans cached); whatever ran (a variant or `tc_cublas(dtype)`) is checked against the
//! reference. A call that no compiled variant serves must run cuBLAS when its epilogue allows it
//! (docs/RUNTIME.md: "whenever no variant serves the call"), else fail with `NoVariant`. Zero
//! sizes (M = 0, N = 0: no-op, C untouched, counts zeroed; K = 0: C zeroed). Validation errors
//! (short A / B / C / col_nnz, overflow, foreign stream, prepared B of another B / shape / type,
//! unknown variant, an esmm variant, a variant of the wrong input type / output type / activation
//! / count flag, an `offb` variant without a prepared B, a wgmma variant off sm_90). Misaligned
//! views (element offsets 1 and 3) must be served correctly, not refused. A `Layer` over several
//! calls (dense activations reach cuBLAS, sparse ones come back to a kernel when one serves),
//! the NaN/Inf contract through every dispatch path and cuBLAS, two threads on two streams with
//! default dispatch, and the cuBLAS baselines themselves against the same reference and
//! tolerances (which checks the tolerances are not tighter than a correct GEMM).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use esmm::cudarc::driver::{CudaContext, CudaSlice, CudaStream};
use esmm::dispatch::policy::{mismatch, Request};
use esmm::reference::{activate, check_col_nnz, col_nnz, gemm_f64, rel_frobenius_error};
use esmm::workload::{tc_blockwise_a, tc_blockwise_b};
use esmm::{
    tc_cublas, Activation, Baseline, BaselineKind, BaselineMath, Dims, ElemType, Epilogue, Error, Esmm, Family,
    Layer, RegistryEntry, TcInput, TcOptions, TcOutput, TcPreparedB,
};
use esmm_spec::{Arch, TcPath, TcPatterns, TcSparsity, TcSpec};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use esmm_tests::{round_to, run_cases, Case, HostElem};

/// Poisoned elements after (and, on offset views, before) every operand.
const GUARD: usize = 37;
/// What col_nnz holds before a call (the call zeroes the first N words).
const NNZ_POISON: u32 = 0xDEAD_BEEF;

struct Options {
    quick: bool,
    sanitizer: bool,
    sanitizer_all: bool,
    host_check: bool,
    filters: Vec<String>,
    timeout: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(extra) = std::env::var("ESMM_TC_SUITE_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    let seed_default =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut o = Options {
        quick: false,
        sanitizer: false,
        sanitizer_all: false,
        host_check: false,
        filters: vec![],
        timeout: 120,
        seed: seed_default,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--sanitizer-shapes" => o.sanitizer = true,
            "--sanitizer-all" => (o.sanitizer, o.sanitizer_all) = (true, true),
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

/// The element types of family tc on the host: `HostElem` (conversions, poison) with what
/// the runtime's calls need.
trait Host: HostElem + TcInput + TcOutput + Send + Sync + 'static {}
impl<T: HostElem + TcInput + TcOutput + Send + Sync + 'static> Host for T {}

fn type_index(t: ElemType) -> usize {
    match t {
        ElemType::Bf16 => 0,
        ElemType::F16 => 1,
        ElemType::F32 => 2,
    }
}

/// The allowed relative Frobenius error for inputs `input`, output `out` and depth `k` (see the
/// module docs for the reasoning).
fn tolerance(input: ElemType, out: ElemType, k: usize) -> f64 {
    let inputs = if input == ElemType::F32 { 3e-3 } else { 0.0 };
    let output = match out {
        ElemType::Bf16 => 8e-3,
        ElemType::F16 => 2e-3,
        ElemType::F32 => 1e-5 + 2f64.powi(-24) * k as f64 / 32.0,
    };
    inputs + output
}

/// Relative tolerance of "is this reference value zero" for the col_nnz reference check.
fn nnz_ambiguity(input: ElemType) -> f64 {
    if input == ElemType::F32 {
        4e-3
    } else {
        1e-4
    }
}

// ---------------------------------------------------------------------------------------------
// Data sets

type Gen = Box<dyn Fn(&mut StdRng) -> (Vec<f32>, Vec<f32>) + Send + Sync>;

/// What a data set is used for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Every variant runs it.
    All,
    /// One variant per (path, dtype, sparsity) runs it (large shapes).
    Large,
    /// Only the extra cases that name it.
    Extra,
}

/// A host problem shared by every variant: the f32 draw (made on first use from the set's own
/// seed), its roundings to bf16 / f16 and the pre-activation f64 reference per input type.
struct DataSet {
    name: String,
    m: usize,
    n: usize,
    k: usize,
    role: Role,
    /// The reference holds NaN or Inf (the data set tests the NaN/Inf contract).
    nonfinite: bool,
    /// An all-zero C is the point (all-zero operands); otherwise it fails the case (a test
    /// that checks nothing).
    zero_ok: bool,
    seed: u64,
    gen: Gen,
    raw: OnceLock<(Vec<f32>, Vec<f32>)>,
    rounded: [OnceLock<(Vec<f32>, Vec<f32>)>; 2],
    pre: [OnceLock<Vec<f64>>; 3],
}

impl DataSet {
    fn new(name: &str, (m, n, k): (usize, usize, usize), seed: u64, gen: Gen) -> DataSet {
        DataSet {
            name: format!("{name} {m}x{n}x{k}"),
            m,
            n,
            k,
            role: Role::All,
            nonfinite: false,
            zero_ok: false,
            seed,
            gen,
            raw: OnceLock::new(),
            rounded: Default::default(),
            pre: Default::default(),
        }
    }

    fn with_role(mut self, role: Role) -> DataSet {
        self.role = role;
        self
    }

    fn nonfinite(mut self) -> DataSet {
        self.nonfinite = true;
        self
    }

    fn zero_ok(mut self) -> DataSet {
        self.zero_ok = true;
        self
    }

    fn raw(&self) -> &(Vec<f32>, Vec<f32>) {
        self.raw.get_or_init(|| {
            let (a, b) = (self.gen)(&mut StdRng::seed_from_u64(self.seed));
            assert!(a.len() == self.m * self.k && b.len() == self.k * self.n, "{}: generator shape", self.name);
            (a, b)
        })
    }

    /// A and B as the kernels of input type `t` see them (values of `t`, as f32).
    fn inputs(&self, t: ElemType) -> (&[f32], &[f32]) {
        let raw = self.raw();
        if t == ElemType::F32 {
            return (&raw.0, &raw.1);
        }
        let r = self.rounded[type_index(t)].get_or_init(|| {
            let round = |v: &[f32]| v.iter().map(|&x| round_to(t, x)).collect::<Vec<f32>>();
            (round(&raw.0), round(&raw.1))
        });
        (&r.0, &r.1)
    }

    /// The pre-activation reference for input type `t`.
    fn pre(&self, t: ElemType) -> &[f64] {
        self.pre[type_index(t)].get_or_init(|| {
            let (a, b) = self.inputs(t);
            gemm_f64(a, b, self.m, self.n, self.k, Activation::None)
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

fn dense(len: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..len).map(|_| nz(rng)).collect()
}

fn blockwise_gen(da: f64, db: f64, m: usize, n: usize, k: usize) -> Gen {
    Box::new(move |rng| {
        let (mut a, mut b) = (tc_blockwise_a(m, k, da, rng), tc_blockwise_b(k, n, db, rng));
        ensure_nonzero(&mut a, &mut b, (m, n, k), rng);
        (a, b)
    })
}

/// Makes A's first 64×64 block and B's first 64×128 block nonzero when they are all zero, so
/// that C is never all zero by chance (small shapes hold few blocks).
fn ensure_nonzero(a: &mut [f32], b: &mut [f32], (m, n, k): (usize, usize, usize), rng: &mut StdRng) {
    if (0..m.min(64)).all(|r| a[r * k..r * k + k.min(64)].iter().all(|x| *x == 0.0)) {
        (0..m.min(64)).for_each(|r| (0..k.min(64)).for_each(|kk| a[r * k + kk] = nz(rng)));
    }
    if (0..k.min(64)).all(|kk| b[kk * n..kk * n + n.min(128)].iter().all(|x| *x == 0.0)) {
        (0..k.min(64)).for_each(|kk| (0..n.min(128)).for_each(|c| b[kk * n + c] = nz(rng)));
    }
}

/// Per-tile densities: each 64-row block of A and each 128-column block of B draws its own
/// density from {0, 0.1, 0.5, 0.9, 1}; each 32-deep block inside it is nonzero with that
/// probability, and nonzero blocks hold scattered zeros (25%).
fn nonuniform_gen(m: usize, n: usize, k: usize) -> Gen {
    const D: [f64; 5] = [0.0, 0.1, 0.5, 0.9, 1.0];
    const KB: usize = 32;
    Box::new(move |rng| {
        let mut a = vec![0.0f32; m * k];
        for rb in 0..m.div_ceil(64) {
            let d = D[rng.random_range(0..D.len())];
            for kb in 0..k.div_ceil(KB) {
                if rng.random::<f64>() < d {
                    for r in rb * 64..((rb + 1) * 64).min(m) {
                        for kk in kb * KB..((kb + 1) * KB).min(k) {
                            if rng.random::<f64>() >= 0.25 {
                                a[r * k + kk] = nz(rng);
                            }
                        }
                    }
                }
            }
        }
        let mut b = vec![0.0f32; k * n];
        for cb in 0..n.div_ceil(128) {
            let d = D[rng.random_range(0..D.len())];
            for kb in 0..k.div_ceil(KB) {
                if rng.random::<f64>() < d {
                    for kk in kb * KB..((kb + 1) * KB).min(k) {
                        for c in cb * 128..((cb + 1) * 128).min(n) {
                            if rng.random::<f64>() >= 0.25 {
                                b[kk * n + c] = nz(rng);
                            }
                        }
                    }
                }
            }
        }
        ensure_nonzero(&mut a, &mut b, (m, n, k), rng);
        (a, b)
    })
}

/// Rows of B hold +Inf (in some 128-column blocks) under k-groups where A is all zero: every
/// third 64-deep k-group (the only one when K ≤ 64) is zero in A, and in the first two of them
/// one row of B is +Inf in a random half of the column blocks (at least one). Dense IEEE math gives NaN in exactly
/// those columns; a sparse kernel that skips the zero A block loses them.
fn inf_b_under_zero_a_gen(m: usize, n: usize, k: usize) -> Gen {
    Box::new(move |rng| {
        let mut a = tc_blockwise_a(m, k, 0.6, rng);
        let mut b = tc_blockwise_b(k, n, 0.6, rng);
        let groups = k.div_ceil(64);
        let zero_groups: Vec<usize> = if groups == 1 { vec![0] } else { (1..groups).step_by(3).collect() };
        for (i, g) in zero_groups.into_iter().enumerate() {
            let (k0, k1) = (g * 64, ((g + 1) * 64).min(k));
            for r in 0..m {
                a[r * k + k0..r * k + k1].iter_mut().for_each(|x| *x = 0.0);
            }
            if i >= 2 {
                continue; // more zero groups without Inf: C keeps finite columns to check
            }
            let kk = rng.random_range(k0..k1);
            let blocks = n.div_ceil(128);
            let first = rng.random_range(0..blocks);
            for cb in 0..blocks {
                if cb == first || rng.random::<bool>() {
                    (cb * 128..((cb + 1) * 128).min(n)).for_each(|c| b[kk * n + c] = f32::INFINITY);
                }
            }
        }
        (a, b)
    })
}

/// A NaN in A inside a k-group where B is all zero and A is zero elsewhere: the joint pattern
/// would skip the group (B block empty), but NaN × 0 = NaN makes the NaN's row of C NaN.
fn nan_in_a_gen(m: usize, n: usize, k: usize) -> Gen {
    Box::new(move |rng| {
        let mut a = tc_blockwise_a(m, k, 0.5, rng);
        let mut b = tc_blockwise_b(k, n, 0.5, rng);
        let (k0, k1) = (64.min(k - 1), k.min(128));
        for r in 0..m {
            a[r * k + k0..r * k + k1].iter_mut().for_each(|x| *x = 0.0);
        }
        b[k0 * n..k1 * n].iter_mut().for_each(|x| *x = 0.0);
        a[rng.random_range(0..m) * k + rng.random_range(k0..k1)] = f32::NAN;
        (a, b)
    })
}

/// Mixed signs and both operands (needs K ≥ 192): +Inf in A over the all-zero k-group 1 of B
/// (a NaN row of C), ±Inf in B under the all-zero k-group 2 of A (NaN columns), and +Inf in a
/// row of B under a partly nonzero column of A (±Inf where A is nonzero, NaN where it is zero).
fn inf_mixed_gen(m: usize, n: usize, k: usize) -> Gen {
    Box::new(move |rng| {
        let mut a = tc_blockwise_a(m, k, 0.7, rng);
        let mut b = tc_blockwise_b(k, n, 0.7, rng);
        b[64 * n..128 * n].iter_mut().for_each(|x| *x = 0.0);
        a[rng.random_range(0..m) * k + rng.random_range(64..128)] = f32::INFINITY;
        for r in 0..m {
            a[r * k + 128..r * k + 192].iter_mut().for_each(|x| *x = 0.0);
        }
        let c1 = rng.random_range(0..n);
        b[rng.random_range(128..192) * n + c1] = f32::NEG_INFINITY;
        b[rng.random_range(128..192) * n + (c1 + n / 3) % n] = f32::INFINITY;
        let kk = rng.random_range(0..64);
        for r in (0..m).step_by(2) {
            a[r * k + kk] = 0.0;
        }
        for r in (1..m).step_by(2) {
            a[r * k + kk] = nz(rng);
        }
        b[kk * n + (c1 + 2 * n / 3) % n] = f32::INFINITY;
        (a, b)
    })
}

fn data_sets(o: &Options) -> Vec<DataSet> {
    let mut sets = Vec::new();
    let mut seeds = StdRng::seed_from_u64(o.seed);
    let mut seed = move || seeds.random::<u64>();
    let blockwise = |name: &str, (m, n, k): (usize, usize, usize), da: f64, db: f64, seed: u64| {
        DataSet::new(name, (m, n, k), seed, blockwise_gen(da, db, m, n, k))
    };
    if o.sanitizer {
        sets.push(blockwise("sanitizer", (1, 1, 1), 1.0, 1.0, seed()));
        sets.push(blockwise("sanitizer", (17, 33, 9), 0.5, 0.5, seed()));
        sets.push(blockwise("sanitizer", (65, 129, 72), 0.5, 0.5, seed()));
        let (m, n, k) = (65, 129, 72);
        sets.push(DataSet::new("sanitizer inf-b-under-zero-a", (m, n, k), seed(), inf_b_under_zero_a_gen(m, n, k)).nonfinite());
        return sets;
    }
    // Odd shapes (none a multiple of 8, 16 or 64 in every dimension), densities 1 … 0.25.
    let mut odd: Vec<((usize, usize, usize), f64, f64)> = vec![
        ((1, 1, 1), 1.0, 1.0),
        ((3, 5, 7), 1.0, 1.0),
        ((17, 33, 9), 1.0, 1.0),
        ((65, 129, 72), 0.75, 0.75),
        ((127, 255, 1023), 1.0, 0.5),
    ];
    if !o.quick {
        odd.push(((333, 777, 1555), 0.25, 1.0));
        odd.push(((1000, 1003, 1001), 0.5, 0.5));
        let mut rng = StdRng::seed_from_u64(seed());
        for _ in 0..2 {
            let mut pick = || loop {
                let x: usize = rng.random_range(1..2000);
                if !x.is_multiple_of(8) {
                    return x;
                }
            };
            let shape = (pick(), pick(), pick());
            odd.push((shape, 0.5, 0.5));
        }
    }
    for (shape, da, db) in odd {
        sets.push(blockwise(&format!("odd da={da} db={db}"), shape, da, db, seed()));
    }
    let shape = if o.quick { (257, 521, 515) } else { (515, 1037, 777) };
    for d in [0.5, 0.125] {
        sets.push(blockwise(&format!("tc-blockwise d={d}"), shape, d, d, seed()));
    }
    let mut shapes = vec![(130, 257, 200)];
    if !o.quick {
        shapes.push((1000, 999, 1001));
    }
    for (m, n, k) in shapes {
        sets.push(DataSet::new("nonuniform", (m, n, k), seed(), nonuniform_gen(m, n, k)));
    }
    let (m, n, k) = (300, 257, 513);
    sets.push(DataSet::new("zero-a", (m, n, k), seed(), Box::new(move |rng| (vec![0.0; m * k], dense(k * n, rng)))).zero_ok());
    sets.push(DataSet::new("zero-b", (m, n, k), seed(), Box::new(move |rng| (dense(m * k, rng), vec![0.0; k * n]))).zero_ok());
    sets.push(DataSet::new("all-dense", (m, n, k), seed(), Box::new(move |rng| (dense(m * k, rng), dense(k * n, rng)))));
    let (m, n, k) = (150, 70, 100);
    sets.push(DataSet::new("nan-in-a", (m, n, k), seed(), nan_in_a_gen(m, n, k)).nonfinite());
    let mut shapes = vec![(65, 129, 72)];
    if !o.quick {
        shapes.push((333, 777, 1555));
    }
    for (m, n, k) in shapes {
        sets.push(DataSet::new("inf-b-under-zero-a", (m, n, k), seed(), inf_b_under_zero_a_gen(m, n, k)).nonfinite());
    }
    let (m, n, k) = (150, 300, 200);
    sets.push(DataSet::new("inf-mixed", (m, n, k), seed(), inf_mixed_gen(m, n, k)).nonfinite());
    // Extra cases' data (views, threads).
    sets.push(blockwise("views", (67, 136, 40), 0.75, 0.75, seed()).with_role(Role::Extra));
    sets.push(blockwise("threads-1 tc-blockwise d=0.25", (131, 297, 203), 0.25, 0.25, seed()).with_role(Role::Extra));
    let (m, n, k) = (200, 300, 260);
    sets.push(DataSet::new("threads-2 nonuniform", (m, n, k), seed(), nonuniform_gen(m, n, k)).with_role(Role::Extra));
    if !o.quick {
        let (m, n, k) = (4095, 4097, 1023);
        sets.push(blockwise("large tc-blockwise d=0.5", (m, n, k), 0.5, 0.5, seed()).with_role(Role::Large));
        let (m, n, k) = (4096, 4096, 4100);
        sets.push(DataSet::new("large nonuniform", (m, n, k), seed(), nonuniform_gen(m, n, k)).with_role(Role::Large));
    }
    sets
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Checks one stored C (`got`, exactly M·N elements) against the reference of `d` for input type
/// `input`: every element written, NaN/Inf positions, relative Frobenius error, column counts.
fn check<O: Host>(d: &DataSet, input: ElemType, act: Activation, got: &[O], nnz: Option<&[u32]>) -> Result<String, String> {
    let (m, n) = (d.m, d.n);
    let pre = d.pre(input);
    let mut c = Vec::with_capacity(got.len());
    let mut want = Vec::with_capacity(got.len());
    let mut saw_nonfinite = false;
    for (i, (&g, &p)) in got.iter().zip(pre).enumerate() {
        if g.bits() == O::POISON.bits() {
            return Err(format!("C[{}][{}] was never written (still the poison NaN)", i / n, i % n));
        }
        let w = activate(p, act);
        let g32 = g.to_f32();
        let ok = if w.is_nan() {
            g32.is_nan() || (act != Activation::None && g32 == 0.0)
        } else if w.is_infinite() {
            f64::from(g32) == w
        } else {
            g32.is_finite()
        };
        if !ok {
            return Err(format!("C[{}][{}] = {g32} but the reference is {w}", i / n, i % n));
        }
        saw_nonfinite |= !w.is_finite();
        c.push(g32);
        want.push(w);
    }
    if d.nonfinite && !saw_nonfinite {
        return Err("test data produced no NaN or Inf".into());
    }
    if !d.nonfinite && !d.zero_ok && pre.iter().all(|p| *p == 0.0) {
        return Err("test data produced an all-zero C (the case would check nothing)".into());
    }
    let mut tol = tolerance(input, O::TYPE, d.k);
    if O::TYPE == ElemType::F16 {
        // f16 subnormals (below 2⁻¹⁴) round with absolute error ≤ 2⁻²⁵, not 2⁻¹² relative.
        let (count, norm2) = want.iter().filter(|w| w.is_finite()).fold((0usize, 0.0f64), |(c, s), w| (c + 1, s + w * w));
        if norm2 > 0.0 {
            tol += 2f64.powi(-25) * (count as f64).sqrt() / norm2.sqrt();
        }
    }
    let e = rel_frobenius_error(&c, &want);
    if e.is_nan() || e > tol {
        return Err(format!("relative Frobenius error {e:.3e} > {tol:.1e}"));
    }
    if let Some(nnz) = nnz {
        let own = col_nnz(&c, m, n);
        if let Some(j) = (0..n).find(|&j| own[j] != nnz[j]) {
            return Err(format!("col_nnz[{j}] = {} but the stored C column has {} nonzeros", nnz[j], own[j]));
        }
        if !d.nonfinite {
            if let Some((j, g, r, amb)) = check_col_nnz(nnz, pre, m, n, act, nnz_ambiguity(input)) {
                return Err(format!("col_nnz[{j}] = {g}, reference {r} (± {amb} ambiguous)"));
            }
        }
    }
    Ok(format!("err={e:.1e} tol={tol:.0e}"))
}

/// `vals` converted to `T` with `off` poison elements before and `GUARD` NaNs after.
fn padded<T: Host>(vals: &[f32], off: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(off + vals.len() + GUARD);
    v.extend(std::iter::repeat_n(T::POISON, off));
    v.extend(vals.iter().map(|&x| T::from_f32(x)));
    v.extend(std::iter::repeat_n(T::from_f32(f32::NAN), GUARD));
    v
}

/// The poisoned elements around C (`off` before, the rest after `len`) are untouched.
fn check_c_guards<O: Host>(c: &[O], off: usize, len: usize) -> Result<(), String> {
    match c[..off].iter().chain(&c[off + len..]).position(|x| x.bits() != O::POISON.bits()) {
        Some(i) => Err(format!("wrote outside C (guard element {i} changed)")),
        None => Ok(()),
    }
}

fn check_nnz_guard(nnz: &[u32], n: usize) -> Result<(), String> {
    match nnz[n..].iter().position(|&x| x != NNZ_POISON) {
        Some(i) => Err(format!("wrote col_nnz[{}] beyond N", n + i)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Variant cases

#[derive(Clone, Copy)]
struct Variant {
    e: &'static RegistryEntry,
    s: TcSpec,
}

/// How a variant case calls the kernel.
#[derive(Clone, Copy, Default)]
struct Mode {
    /// Pass a prepared B (always for `offb` variants).
    prepared: bool,
    /// A, B and C views start at this element of their buffers.
    offset: usize,
}

fn new_stream(esmm: &Esmm) -> Result<Arc<CudaStream>, String> {
    esmm.context().new_stream().map_err(text)
}

/// Device buffers of one run: A, B (each with `off` poison before and NaN guards after), C and
/// the counts poisoned.
struct Buffers<T: Host, O: Host> {
    a: CudaSlice<T>,
    b: CudaSlice<T>,
    c: CudaSlice<O>,
    nnz: Option<CudaSlice<u32>>,
}

fn upload<T: Host, O: Host>(s: &Arc<CudaStream>, d: &DataSet, off: usize, counts: bool) -> Result<Buffers<T, O>, String> {
    let (ra, rb) = d.inputs(T::TYPE);
    Ok(Buffers {
        a: s.clone_htod(&padded::<T>(ra, off)).map_err(text)?,
        b: s.clone_htod(&padded::<T>(rb, off)).map_err(text)?,
        c: s.clone_htod(&vec![O::POISON; off + d.m * d.n + GUARD]).map_err(text)?,
        nnz: if counts { Some(s.clone_htod(&vec![NNZ_POISON; d.n + GUARD]).map_err(text)?) } else { None },
    })
}

/// Runs variant `v` (input type T, output O) on data set `d` and checks everything. `shared`:
/// B and its prepared weights come from the caller (shared between threads).
fn run_variant<T: Host, O: Host>(
    esmm: &Esmm,
    stream: &Arc<CudaStream>,
    v: Variant,
    d: &DataSet,
    mode: Mode,
    shared: Option<(&CudaSlice<T>, &TcPreparedB)>,
) -> Result<String, String> {
    let s = v.s;
    let (m, n, k, off) = (d.m, d.n, d.k, mode.offset);
    let mut buf = upload::<T, O>(stream, d, off, s.col_nnz)?;
    let own_b = buf.b.slice(off..);
    let prepared = match shared {
        Some(_) => None,
        None if mode.prepared || s.patterns == TcPatterns::PreparedB => {
            Some(esmm.tc_prepare_b::<T, _>(stream, &own_b, k, n).map_err(|e| format!("tc_prepare_b: {e}"))?)
        }
        None => None,
    };
    let ran = {
        let a = buf.a.slice(off..);
        let mut c = buf.c.slice_mut(off..);
        let opts = TcOptions {
            activation: s.activation,
            col_nnz: buf.nnz.as_mut(),
            variant: Some(v.e.name),
            prepared_b: shared.map(|(_, p)| p).or(prepared.as_ref()),
            ..Default::default()
        };
        let dims = Dims::new(m, n, k);
        match shared {
            Some((b, _)) => esmm.tc_matmul::<T, O, _, _, _>(stream, &a, b, &mut c, dims, opts),
            None => esmm.tc_matmul::<T, O, _, _, _>(stream, &a, &own_b, &mut c, dims, opts),
        }
        .map_err(text)?
    };
    if ran != Some(v.e.name) {
        return Err(format!("ran {ran:?}, expected {}", v.e.name));
    }
    let c = stream.clone_dtoh(&buf.c).map_err(|x| format!("kernel failed: {x}"))?;
    check_c_guards(&c, off, m * n)?;
    let nnz = buf.nnz.as_ref().map(|x| stream.clone_dtoh(x)).transpose().map_err(text)?;
    if let Some(nnz) = &nnz {
        check_nnz_guard(nnz, n)?;
    }
    check::<O>(d, T::TYPE, s.activation, &c[off..off + m * n], nnz.as_deref().map(|x| &x[..n]))
}

/// Runs `body` with the host types of `input` and `out` (T, O).
macro_rules! typed {
    ($input:expr, $out:expr, $f:ident ( $($arg:expr),* )) => {
        match ($input, $out) {
            (ElemType::Bf16, ElemType::Bf16) => $f::<bf16, bf16>($($arg),*),
            (ElemType::Bf16, ElemType::F16) => $f::<bf16, f16>($($arg),*),
            (ElemType::Bf16, ElemType::F32) => $f::<bf16, f32>($($arg),*),
            (ElemType::F16, ElemType::Bf16) => $f::<f16, bf16>($($arg),*),
            (ElemType::F16, ElemType::F16) => $f::<f16, f16>($($arg),*),
            (ElemType::F16, ElemType::F32) => $f::<f16, f32>($($arg),*),
            (ElemType::F32, ElemType::Bf16) => $f::<f32, bf16>($($arg),*),
            (ElemType::F32, ElemType::F16) => $f::<f32, f16>($($arg),*),
            (ElemType::F32, ElemType::F32) => $f::<f32, f32>($($arg),*),
        }
    };
}

fn run_variant_any(esmm: &Esmm, stream: &Arc<CudaStream>, v: Variant, d: &DataSet, mode: Mode) -> Result<String, String> {
    typed!(v.s.dtype, v.s.out, run_variant(esmm, stream, v, d, mode, None))
}

/// Two threads, each on its own stream with its own data (`d1`, `d2`), 3 rounds each.
fn two_threads(esmm: &Esmm, v: Variant, d1: &DataSet, d2: &DataSet) -> Result<String, String> {
    let out: Vec<Result<String, String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = [d1, d2]
            .into_iter()
            .map(|d| {
                sc.spawn(move || -> Result<String, String> {
                    let stream = new_stream(esmm)?;
                    for round in 0..3 {
                        run_variant_any(esmm, &stream, v, d, Mode::default()).map_err(|e| format!("{} round {round}: {e}", d.name))?;
                    }
                    Ok(String::new())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    out.into_iter().collect::<Result<Vec<_>, _>>().map(|_| "3 rounds × 2 streams".into())
}

/// Two threads on two streams share one B and one fresh `TcPreparedB`: its first use (which
/// makes the variant's B pattern and layout) races between them; 2 rounds each.
fn shared_prepared<T: Host, O: Host>(esmm: &Esmm, v: Variant, d: &DataSet) -> Result<String, String> {
    let setup = new_stream(esmm)?;
    let (_, rb) = d.inputs(T::TYPE);
    let b = setup.clone_htod(&padded::<T>(rb, 0)).map_err(text)?;
    let prepared = esmm.tc_prepare_b::<T, _>(&setup, &b, d.k, d.n).map_err(text)?;
    setup.synchronize().map_err(text)?;
    let (b, prepared) = (&b, &prepared);
    let out: Vec<Result<String, String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(move || -> Result<String, String> {
                    let stream = new_stream(esmm)?;
                    for round in 0..2 {
                        run_variant::<T, O>(esmm, &stream, v, d, Mode::default(), Some((b, prepared))).map_err(|e| format!("round {round}: {e}"))?;
                    }
                    Ok(String::new())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    out.into_iter().collect::<Result<Vec<_>, _>>().map(|_| "2 rounds × 2 streams, one TcPreparedB".into())
}

/// The body of a case: Ok(detail) or Err(why it failed).


/// One variant per (path, dtype, sparsity): the one nearest epilogue none, output = input type,
/// prepared-B patterns (the large shapes run only these).
fn representatives(variants: &[Variant]) -> Vec<&'static str> {
    let mut best: std::collections::BTreeMap<(TcPath, usize, TcSparsity), (u32, &'static str)> = Default::default();
    for v in variants {
        let s = v.s;
        let rank = u32::from(s.epilogue() != Epilogue::NONE) * 4 + u32::from(s.out != s.dtype) * 2 + u32::from(s.sparsity != TcSparsity::Dense && s.patterns != TcPatterns::PreparedB);
        let key = (s.path, type_index(s.dtype), s.sparsity);
        let e = best.entry(key).or_insert((rank, v.e.name));
        if (rank, v.e.name) < *e {
            *e = (rank, v.e.name);
        }
    }
    best.into_values().map(|(_, n)| n).collect()
}

/// Whether the sanitizer subset keeps `v`: epilogues none and relu2_nnz.
fn sanitizer_subset(v: &Variant) -> bool {
    let e = v.s.epilogue();
    e == Epilogue::NONE || e == (Epilogue { activation: Activation::Relu2, col_nnz: true })
}

fn variant_cases<'a>(sets: &'a [DataSet], variants: &[Variant], o: &Options) -> Vec<Case<'a>> {
    let mut cases = Vec::new();
    let reps = representatives(variants);
    let variants: Vec<Variant> = variants.iter().copied().filter(|v| !o.sanitizer || o.sanitizer_all || sanitizer_subset(v)).collect();
    for d in sets {
        for &v in &variants {
            let runs = match d.role {
                Role::All => true,
                Role::Large => reps.contains(&v.e.name),
                Role::Extra => false,
            };
            if runs {
                cases.push(Case {
                    name: format!("{} {}", v.e.name, d.name),
                    run: Box::new(move |esmm| run_variant_any(esmm, &new_stream(esmm)?, v, d, Mode::default())),
                });
            }
        }
    }
    let pick = |prefix: &str| sets.iter().find(|d| d.name.starts_with(prefix));
    let mut extra = |name: String, d: &'a DataSet, v: Variant, mode: Mode| {
        cases.push(Case { name, run: Box::new(move |esmm| run_variant_any(esmm, &new_stream(esmm)?, v, d, mode)) });
    };
    for &v in &variants {
        let offb = v.s.patterns == TcPatterns::PreparedB;
        if o.sanitizer {
            if let Some(d) = pick("sanitizer 17x33x9").filter(|_| !offb) {
                extra(format!("{} prepared-b {}", v.e.name, d.name), d, v, Mode { prepared: true, offset: 0 });
            }
            if let Some(d) = pick("sanitizer 65x129x72") {
                extra(format!("{} views+1 {}", v.e.name, d.name), d, v, Mode { prepared: offb, offset: 1 });
            }
            continue;
        }
        if !offb {
            for d in [pick("tc-blockwise d=0.5"), pick("nonuniform 130x257x200"), pick("inf-b-under-zero-a 65x129x72")].into_iter().flatten() {
                extra(format!("{} prepared-b {}", v.e.name, d.name), d, v, Mode { prepared: true, offset: 0 });
            }
        }
        if let Some(d) = pick("views") {
            extra(format!("{} views+1 prepared-b {}", v.e.name, d.name), d, v, Mode { prepared: true, offset: 1 });
            if !offb {
                extra(format!("{} views+1 {}", v.e.name, d.name), d, v, Mode { prepared: false, offset: 1 });
            }
        }
    }
    if o.sanitizer {
        return cases;
    }
    for &v in &variants {
        if let (Some(d1), Some(d2)) = (pick("threads-1"), pick("threads-2")) {
            cases.push(Case {
                name: format!("{} two-threads-two-streams", v.e.name),
                run: Box::new(move |esmm| two_threads(esmm, v, d1, d2)),
            });
            cases.push(Case {
                name: format!("{} shared-prepared-b two-threads {}", v.e.name, d2.name),
                run: Box::new(move |esmm| typed!(v.s.dtype, v.s.out, shared_prepared(esmm, v, d2))),
            });
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// API cases

/// Whether some compiled tc variant for this GPU serves a call with these types and options.
fn serves(esmm: &Esmm, dtype: ElemType, out: ElemType, epilogue: Epilogue, prepared_b: bool) -> bool {
    let req = Request { family: Family::Tc, dtype, out, dims: Dims::new(64, 64, 64), epilogue, prepared_b, arch: esmm.device().arch, gemv: None, rans: None };
    esmm::REGISTRY.iter().any(|e| mismatch(e, &req).is_none())
}

/// Whether a compiled variant for this GPU can make a prepared B's pattern (tc_prepare_b then
/// measures density and Inf/NaN; without one it reports density 1 and no Inf/NaN).
fn prepare_measures(esmm: &Esmm, dtype: ElemType) -> bool {
    let req = Request { family: Family::Tc, dtype, out: dtype, dims: Dims::new(4096, 64, 64), epilogue: Epilogue::NONE, prepared_b: true, arch: esmm.device().arch, gemv: None, rans: None };
    esmm::dispatch::policy::choose_variant(&req).is_ok_and(|e| e.spec.as_tc().is_some_and(TcSpec::uses_b_pattern))
}

/// How a default-dispatch call is made.
#[derive(Clone, Copy, Default)]
struct Call<'l> {
    act: Activation,
    counts: bool,
    prepared: bool,
    offset: usize,
    layer: Option<&'l Layer>,
}

/// One default-dispatch call (no variant) of `tc_matmul::<T, O>` on `d`, checked: what
/// `tc_planned` names (without a layer) is what runs, the result (whatever ran) matches the
/// reference, cuBLAS only runs for epilogues it can apply. A `NoVariant` error is accepted only
/// when no compiled variant serves the call and cuBLAS cannot (an activation or counts).
/// Returns what ran (`no-variant` for the accepted error).
fn dispatch_call<T: Host, O: Host>(esmm: &Esmm, s: &Arc<CudaStream>, d: &DataSet, call: Call<'_>) -> Result<&'static str, String> {
    let (m, n, k, off) = (d.m, d.n, d.k, call.offset);
    let mut buf = upload::<T, O>(s, d, off, call.counts)?;
    let b = buf.b.slice(off..);
    let prepared = if call.prepared { Some(esmm.tc_prepare_b::<T, _>(s, &b, k, n).map_err(|e| format!("tc_prepare_b: {e}"))?) } else { None };
    let dims = Dims::new(m, n, k);
    let epilogue = Epilogue { activation: call.act, col_nnz: call.counts };
    let planned = if call.layer.is_none() {
        let mut dummy = s.alloc_zeros::<u32>(n.max(1)).map_err(text)?;
        let opts = TcOptions { activation: call.act, col_nnz: call.counts.then_some(&mut dummy), prepared_b: prepared.as_ref(), ..Default::default() };
        match esmm.tc_planned::<T, O>(dims, &opts) {
            Ok(p) => Some(p),
            Err(Error::NoVariant(_)) => None,
            Err(e) => return Err(format!("tc_planned: {e}")),
        }
    } else {
        None
    };
    let r = {
        let a = buf.a.slice(off..);
        let mut c = buf.c.slice_mut(off..);
        let opts = TcOptions { activation: call.act, col_nnz: buf.nnz.as_mut(), prepared_b: prepared.as_ref(), layer: call.layer, ..Default::default() };
        esmm.tc_matmul::<T, O, _, _, _>(s, &a, &b, &mut c, dims, opts)
    };
    let cublas_can = esmm::cublas_present() && epilogue == Epilogue::NONE;
    let ran = match r {
        Err(Error::NoVariant(msg)) => {
            if serves(esmm, T::TYPE, O::TYPE, epilogue, call.prepared) {
                return Err(format!("NoVariant although a compiled variant serves the call: {msg}"));
            }
            if cublas_can {
                return Err(format!("NoVariant, but no variant serves this call and cuBLAS can (docs/RUNTIME.md: the dense path runs \"whenever no variant serves the call\"): {msg}"));
            }
            return Ok("no-variant");
        }
        r => r.map_err(text)?.ok_or("nothing ran")?,
    };
    if let Some(p) = planned {
        if p != ran {
            return Err(format!("tc_planned said {p}, tc_matmul ran {ran}"));
        }
    }
    if ran == tc_cublas(T::TYPE) && epilogue != Epilogue::NONE {
        return Err(format!("ran {ran} for epilogue {}", epilogue.tag()));
    }
    let c = s.clone_dtoh(&buf.c).map_err(|x| format!("{ran} failed: {x}"))?;
    check_c_guards(&c, off, m * n).map_err(|e| format!("{ran}: {e}"))?;
    let nnz = buf.nnz.as_ref().map(|x| s.clone_dtoh(x)).transpose().map_err(text)?;
    if let Some(nnz) = &nnz {
        check_nnz_guard(nnz, n)?;
    }
    check::<O>(d, T::TYPE, call.act, &c[off..off + m * n], nnz.as_deref().map(|x| &x[..n])).map_err(|e| format!("{ran}: {e}"))?;
    Ok(ran)
}

/// The (input, output) pairs the API cases cover (C is the input type or f32).
const PAIRS: [(ElemType, ElemType); 5] = [
    (ElemType::Bf16, ElemType::Bf16),
    (ElemType::Bf16, ElemType::F32),
    (ElemType::F16, ElemType::F16),
    (ElemType::F16, ElemType::F32),
    (ElemType::F32, ElemType::F32),
];

fn pair_tag(t: ElemType, o: ElemType) -> String {
    format!("{}->{}", if t == ElemType::F32 { "tf32" } else { t.tag() }, o.tag())
}

/// Default dispatch over several epilogues, shapes and options, 3 rounds each (plans cached).
fn default_dispatch<T: Host, O: Host>(esmm: &Esmm, small: &DataSet, large: &DataSet) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let mut ran = Vec::new();
    let calls = [
        ("small", small, Call::default()),
        ("small relu", small, Call { act: Activation::Relu, ..Default::default() }),
        ("small relu2+nnz", small, Call { act: Activation::Relu2, counts: true, ..Default::default() }),
        ("small prepared", small, Call { prepared: true, ..Default::default() }),
        ("large prepared", large, Call { prepared: true, ..Default::default() }),
        ("large prepared relu+nnz", large, Call { prepared: true, act: Activation::Relu, counts: true, ..Default::default() }),
    ];
    for (label, d, call) in calls {
        for round in 0..3 {
            let r = dispatch_call::<T, O>(esmm, &s, d, call).map_err(|e| format!("{label} ({}) round {round}: {e}", d.name))?;
            if round == 0 {
                ran.push(format!("{label}: {r}"));
            }
        }
    }
    Ok(ran.join("; "))
}

/// The doc's promise: a call that no variant serves runs cuBLAS when the epilogue allows (a
/// shape with ≥ 64 tiles and no density information, so only the fallback can choose cuBLAS).
fn unserved_falls_back<T: Host, O: Host>(esmm: &Esmm, d: &DataSet) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let r = dispatch_call::<T, O>(esmm, &s, d, Call::default())?;
    Ok(r.to_string())
}

fn zero_sizes<T: Host, O: Host>(esmm: &Esmm) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let one = T::from_f32(1.0);
    let a = s.clone_htod(&[one; 16]).map_err(text)?;
    let b = s.clone_htod(&[one; 16]).map_err(text)?;
    // An explicit variant for these types, when one is compiled: K = 0 must not reach a kernel.
    let req = Request { family: Family::Tc, dtype: T::TYPE, out: O::TYPE, dims: Dims::new(3, 4, 0), epilogue: Epilogue { activation: Activation::None, col_nnz: true }, prepared_b: false, arch: esmm.device().arch, gemv: None, rans: None };
    let named = esmm::REGISTRY.iter().find(|e| mismatch(e, &req).is_none()).map(|e| e.name);
    for variant in [None, named].into_iter().collect::<std::collections::BTreeSet<_>>() {
        // K = 0: C = act(0) = 0 in every element, counts zero.
        let mut c = s.clone_htod(&[O::POISON; 12]).map_err(text)?;
        let mut nnz = s.clone_htod(&[7u32; 4]).map_err(text)?;
        let opts = TcOptions { col_nnz: Some(&mut nnz), variant, ..Default::default() };
        let r = esmm.tc_matmul::<T, O, _, _, _>(&s, &a, &b, &mut c, Dims::new(3, 4, 0), opts).map_err(text)?;
        if r.is_some() {
            return Err(format!("K=0 launched {r:?}"));
        }
        let got = s.clone_dtoh(&c).map_err(text)?;
        if got.iter().any(|x| x.to_f32() != 0.0 || x.to_f32().is_sign_negative()) {
            return Err(format!("K=0 must give +0 everywhere, got {:?}", got.iter().map(|x| x.to_f32()).collect::<Vec<_>>()));
        }
        if s.clone_dtoh(&nnz).map_err(text)? != vec![0; 4] {
            return Err("K=0: col_nnz must be zeros".into());
        }
    }
    // M = 0 and N = 0: no-op, C untouched; the counts of N columns zeroed.
    let mut c = s.clone_htod(&[O::from_f32(5.0); 4]).map_err(text)?;
    for d in [Dims::new(0, 4, 3), Dims::new(4, 0, 3), Dims::new(0, 0, 0)] {
        let mut nnz = s.clone_htod(&[7u32; 4]).map_err(text)?;
        let opts = TcOptions { col_nnz: Some(&mut nnz), ..Default::default() };
        let r = esmm.tc_matmul::<T, O, _, _, _>(&s, &a, &b, &mut c, d, opts).map_err(text)?;
        if r.is_some() {
            return Err(format!("{d:?} launched {r:?}"));
        }
        let want: Vec<u32> = (0..4).map(|j| if j < d.n { 0 } else { 7 }).collect();
        if s.clone_dtoh(&nnz).map_err(text)? != want {
            return Err(format!("{d:?}: col_nnz must hold {want:?}"));
        }
    }
    if s.clone_dtoh(&c).map_err(text)?.iter().any(|x| x.to_f32() != 5.0) {
        return Err("M=0/N=0 wrote C".into());
    }
    Ok(format!("explicit variant: {}", named.unwrap_or("none compiled")))
}

fn expect_err<T>(r: esmm::Result<T>, what: &str, needle: &str) -> Result<(), String> {
    match r {
        Err(e) if e.to_string().contains(needle) => Ok(()),
        Err(e) => Err(format!("{what}: error does not mention `{needle}`: {e}")),
        Ok(_) => Err(format!("{what}: expected an error mentioning `{needle}`")),
    }
}

fn validation(esmm: &Esmm) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let one = bf16::from_f32(1.0);
    let a = s.clone_htod(&[one; 64]).map_err(text)?;
    let b = s.clone_htod(&[one; 64]).map_err(text)?;
    let b2 = s.clone_htod(&[one; 64]).map_err(text)?;
    let mut c = s.clone_htod(&[bf16::ZERO; 64]).map_err(text)?;
    let dims = Dims::new(8, 8, 8);
    let call = |a: &CudaSlice<bf16>, b: &CudaSlice<bf16>, c: &mut CudaSlice<bf16>, dims: Dims, opts: TcOptions<'_>| esmm.tc_matmul::<bf16, bf16, _, _, _>(&s, a, b, c, dims, opts);
    expect_err(call(&a, &b, &mut c, Dims::new(9, 8, 8), TcOptions::default()), "short A", "A holds 64")?;
    expect_err(call(&a, &b, &mut c, Dims::new(7, 8, 9), TcOptions::default()), "short B", "B holds 64")?;
    expect_err(call(&a, &b, &mut c, Dims::new(8, 9, 7), TcOptions::default()), "short C", "C holds 64")?;
    expect_err(call(&a, &b, &mut c, Dims::new(1 << 16, 1, 1 << 15), TcOptions::default()), "overflow", "exceeds i32::MAX")?;
    let mut short_nnz = s.clone_htod(&[0u32; 3]).map_err(text)?;
    expect_err(call(&a, &b, &mut c, dims, TcOptions { col_nnz: Some(&mut short_nnz), ..Default::default() }), "short col_nnz", "col_nnz holds 3")?;
    let other_ctx = CudaContext::new(0).map_err(text)?;
    let other = other_ctx.new_stream().map_err(text)?;
    expect_err(esmm.tc_matmul::<bf16, bf16, _, _, _>(&other, &a, &b, &mut c, dims, TcOptions::default()), "foreign stream", "another CUDA context")?;
    expect_err(esmm.tc_prepare_b::<bf16, _>(&s, &b, 9, 8), "tc_prepare_b short B", "B holds 64")?;
    // Prepared weights of another B, another shape, another type.
    let p = esmm.tc_prepare_b::<bf16, _>(&s, &b, 8, 8).map_err(text)?;
    expect_err(call(&a, &b2, &mut c, dims, TcOptions { prepared_b: Some(&p), ..Default::default() }), "prepared_b of another B", "prepared_b was made for")?;
    expect_err(call(&a, &b, &mut c, Dims::new(8, 4, 8), TcOptions { prepared_b: Some(&p), ..Default::default() }), "prepared_b of another shape", "prepared_b was made for")?;
    let bh = s.clone_htod(&[f16::ONE; 64]).map_err(text)?;
    let ph = esmm.tc_prepare_b::<f16, _>(&s, &bh, 8, 8).map_err(text)?;
    expect_err(call(&a, &b, &mut c, dims, TcOptions { prepared_b: Some(&ph), ..Default::default() }), "prepared_b of another type", "f16 B")?;
    // Variants that cannot serve the call.
    expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some("tc_no_such_variant"), ..Default::default() }), "unknown variant", "unknown variant")?;
    let mut checked = vec!["unknown"];
    if let Some(e) = esmm::REGISTRY.iter().find(|e| e.spec.family() == Family::Esmm) {
        expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(e.name), ..Default::default() }), "esmm variant", "esmm kernel")?;
        checked.push("esmm");
    }
    let tc: Vec<TcSpec> = esmm::REGISTRY.iter().filter_map(|e| e.spec.as_tc().copied()).collect();
    let find = |f: &dyn Fn(&TcSpec) -> bool| tc.iter().find(|s| f(s)).map(|s| s.name());
    let bf = |s: &TcSpec| s.dtype == ElemType::Bf16 && s.out == ElemType::Bf16;
    if let Some(name) = find(&|s| s.dtype != ElemType::Bf16) {
        expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(&name), ..Default::default() }), "input type", "inputs are")?;
        checked.push("input type");
    }
    if let Some(name) = find(&|s| s.dtype == ElemType::Bf16 && s.out != ElemType::Bf16 && s.epilogue() == Epilogue::NONE) {
        expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(&name), prepared_b: Some(&p), ..Default::default() }), "output type", "output")?;
        checked.push("output type");
    }
    if let Some(name) = find(&|s| bf(s) && s.activation == Activation::Relu && !s.col_nnz) {
        expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(&name), prepared_b: Some(&p), ..Default::default() }), "activation", "activation")?;
        checked.push("activation");
    }
    if let Some(name) = find(&|s| bf(s) && s.epilogue() == Epilogue::NONE) {
        let mut nnz = s.clone_htod(&[0u32; 8]).map_err(text)?;
        let opts = TcOptions { variant: Some(&name), col_nnz: Some(&mut nnz), prepared_b: Some(&p), ..Default::default() };
        expect_err(call(&a, &b, &mut c, dims, opts), "count flag", "nonzero")?;
        checked.push("col_nnz flag");
    }
    if let Some(name) = find(&|s| bf(s) && s.epilogue() == Epilogue::NONE && s.patterns == TcPatterns::PreparedB) {
        expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(&name), ..Default::default() }), "offb without prepared B", "TcPreparedB")?;
        checked.push("offb without TcPreparedB");
    }
    if esmm.device().arch != Some(Arch::Sm90) {
        if let Some(name) = find(&|s| bf(s) && s.epilogue() == Epilogue::NONE && s.path == TcPath::Wgmma) {
            expect_err(call(&a, &b, &mut c, dims, TcOptions { variant: Some(&name), prepared_b: Some(&p), ..Default::default() }), "wgmma off sm_90", "not valid for")?;
            checked.push("wgmma arch");
        }
    }
    Ok(format!("variant checks: {}", checked.join(", ")))
}

/// Views starting at element offsets 1 and 3 (2-byte aligned for 16-bit types, 4 for f32) are
/// served correctly by default dispatch, small (cuBLAS or a kernel) and large with prepared
/// weights made from the offset B (a kernel when one serves).
fn misaligned_served<T: Host, O: Host>(esmm: &Esmm, small: &DataSet, large: &DataSet) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let mut ran = Vec::new();
    for off in [1, 3] {
        ran.push(dispatch_call::<T, O>(esmm, &s, small, Call { offset: off, ..Default::default() }).map_err(|e| format!("+{off} small: {e}"))?);
        ran.push(dispatch_call::<T, O>(esmm, &s, large, Call { offset: off, prepared: true, ..Default::default() }).map_err(|e| format!("+{off} large: {e}"))?);
    }
    Ok(format!("{ran:?}"))
}

/// One `Layer` over several calls with prepared (dense) weights: dense activations first, then
/// sparse ones; every call's C is checked. When a variant serves the call and cuBLAS is present,
/// the dense activations must reach cuBLAS and the sparse ones must bring a kernel back.
fn layer_calls<T: Host>(esmm: &Esmm, dense: &DataSet, sparse: &DataSet) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let layer = Layer::new();
    let (_, rb) = dense.inputs(T::TYPE);
    if sparse.inputs(T::TYPE).1 != rb {
        return Err("suite bug: the sparse and dense data sets must share B".into());
    }
    let db = s.clone_htod(&padded::<T>(rb, 0)).map_err(text)?;
    let prepared = esmm.tc_prepare_b::<T, _>(&s, &db, dense.k, dense.n).map_err(text)?;
    let run = |d: &DataSet| -> Result<&'static str, String> {
        let (ra, _) = d.inputs(T::TYPE);
        let da = s.clone_htod(&padded::<T>(ra, 0)).map_err(text)?;
        let mut dc = s.clone_htod(&vec![T::POISON; d.m * d.n]).map_err(text)?;
        let opts = TcOptions { prepared_b: Some(&prepared), layer: Some(&layer), ..Default::default() };
        let ran = esmm.tc_matmul::<T, T, _, _, _>(&s, &da, &db, &mut dc, Dims::new(d.m, d.n, d.k), opts).map_err(text)?.ok_or("nothing ran")?;
        let c = s.clone_dtoh(&dc).map_err(|x| format!("{ran} failed: {x}"))?;
        check::<T>(d, T::TYPE, Activation::None, &c, None).map_err(|e| format!("{ran}: {e}"))?;
        Ok(ran)
    };
    let cublas = tc_cublas(T::TYPE);
    let mut log = Vec::new();
    for _ in 0..4 {
        log.push(run(dense)?);
    }
    let adaptive = serves(esmm, T::TYPE, T::TYPE, Epilogue::NONE, true) && esmm::cublas_present();
    if adaptive && !log.contains(&cublas) {
        return Err(format!("dense activations never reached {cublas}: {log:?}"));
    }
    let mut back = false;
    for _ in 0..(2 * esmm::dispatch::adaptive::PROBE_EVERY) {
        let r = run(sparse)?;
        log.push(r);
        if r != cublas {
            back = true;
            if adaptive {
                break;
            }
        }
    }
    if adaptive && !back {
        return Err(format!("sparse activations never left {cublas}: {log:?}"));
    }
    log.dedup();
    Ok(format!("{log:?}"))
}

/// The NaN/Inf contract through every dispatch path and the cuBLAS baseline.
fn nan_inf_paths<T: Host, O: Host>(esmm: &Esmm, d: &DataSet) -> Result<String, String> {
    let s = new_stream(esmm)?;
    let (_, rb) = d.inputs(T::TYPE);
    let db = s.clone_htod(&padded::<T>(rb, 0)).map_err(text)?;
    let prepared = esmm.tc_prepare_b::<T, _>(&s, &db, d.k, d.n).map_err(text)?;
    let mut notes = Vec::new();
    if prepare_measures(esmm, T::TYPE) {
        if !prepared.has_nonfinite() {
            return Err("tc_prepare_b did not notice the Inf in B".into());
        }
    } else {
        notes.push("has_nonfinite not measured (no B-pattern kernel)".to_string());
    }
    drop(prepared);
    let layer = Layer::new();
    let paths = [
        ("default", Call::default()),
        ("layer", Call { layer: Some(&layer), ..Default::default() }),
        ("layer+prepared", Call { layer: Some(&layer), prepared: true, ..Default::default() }),
        ("relu", Call { act: Activation::Relu, ..Default::default() }),
        ("relu2+prepared+nnz", Call { act: Activation::Relu2, prepared: true, counts: true, ..Default::default() }),
    ];
    for (label, call) in paths {
        for round in 0..2 {
            let r = dispatch_call::<T, O>(esmm, &s, d, call).map_err(|e| format!("{label} round {round}: {e}"))?;
            if round == 0 {
                notes.push(format!("{label}: {r}"));
            }
        }
    }
    notes.push(cublas_check::<T, O>(esmm, &s, d)?);
    Ok(notes.join("; "))
}

/// The cuBLAS baseline of family tc (`tc_cublas(dtype)`) on `d`, against the same reference and
/// tolerance as the kernels.
fn cublas_check<T: Host, O: Host>(esmm: &Esmm, s: &Arc<CudaStream>, d: &DataSet) -> Result<String, String> {
    let math = match T::TYPE {
        ElemType::Bf16 => BaselineMath::Bf16,
        ElemType::F16 => BaselineMath::F16,
        ElemType::F32 => BaselineMath::Tf32,
    };
    let mut buf = upload::<T, O>(s, d, 0, false)?;
    esmm.baselines()
        .gemm(Baseline::new(BaselineKind::Cublas, math), s, &buf.a, &buf.b, &mut buf.c, Dims::new(d.m, d.n, d.k))
        .map_err(|e| format!("cuBLAS: {e}"))?;
    let c = s.clone_dtoh(&buf.c).map_err(text)?;
    check::<O>(d, T::TYPE, Activation::None, &c[..d.m * d.n], None).map(|x| format!("{} {x}", tc_cublas(T::TYPE))).map_err(|e| format!("{}: {e}", tc_cublas(T::TYPE)))
}

/// Two threads on two streams, default dispatch with their own data and prepared weights.
fn threads_default<T: Host, O: Host>(esmm: &Esmm, d1: &DataSet, d2: &DataSet) -> Result<String, String> {
    let out: Vec<Result<Vec<&'static str>, String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = [d1, d2]
            .into_iter()
            .map(|d| {
                sc.spawn(move || -> Result<Vec<&'static str>, String> {
                    let s = new_stream(esmm)?;
                    let mut ran = Vec::new();
                    for (round, prepared) in [false, true, true].into_iter().enumerate() {
                        ran.push(dispatch_call::<T, O>(esmm, &s, d, Call { prepared, ..Default::default() }).map_err(|e| format!("{} round {round}: {e}", d.name))?);
                    }
                    Ok(ran)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    let ran = out.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(format!("{ran:?}"))
}

fn api_cases<'a>(seed: u64) -> Vec<Case<'a>> {
    let mut cases: Vec<Case<'a>> = Vec::new();
    // The API cases' own data (fixed shapes, drawn from the suite seed), leaked: they live as
    // long as the process, like the cases.
    let mut seeds = StdRng::seed_from_u64(seed ^ 0x7C_A5E5);
    let mut make = |name: &str, (m, n, k): (usize, usize, usize), gen: Gen, nonfinite: bool| -> &'static DataSet {
        let d = DataSet::new(name, (m, n, k), seeds.random(), gen);
        Box::leak(Box::new(if nonfinite { d.nonfinite() } else { d }))
    };
    let small = make("api small", (333, 222, 444), blockwise_gen(0.5, 0.5, 333, 222, 444), false);
    let large = make("api large", (1100, 1030, 520), blockwise_gen(0.25, 0.25, 1100, 1030, 520), false);
    let dense_act = make("api dense-a", (1100, 1030, 520), blockwise_gen(1.0, 1.0, 1100, 1030, 520), false);
    // Sparse activations over the same (dense) B as dense_act: same seed, B drawn the same way.
    let sparse_seed = dense_act.seed;
    let sparse_act: &'static DataSet = Box::leak(Box::new(DataSet::new(
        "api sparse-a",
        (1100, 1030, 520),
        sparse_seed,
        Box::new(|rng| {
            let (m, n, k) = (1100, 1030, 520);
            let _ = tc_blockwise_a(m, k, 1.0, rng);
            let b = tc_blockwise_b(k, n, 1.0, rng);
            let mut r2 = StdRng::seed_from_u64(rng.random());
            (tc_blockwise_a(m, k, 0.125, &mut r2), b)
        }),
    )));
    let views = make("api views", (67, 136, 40), blockwise_gen(0.75, 0.75, 67, 136, 40), false);
    let inf_small = make("api inf-b-under-zero-a", (65, 129, 72), inf_b_under_zero_a_gen(65, 129, 72), true);
    let inf_large = make("api inf-b-under-zero-a", (333, 777, 1555), inf_b_under_zero_a_gen(333, 777, 1555), true);
    let cublas_k = make("api cublas", (257, 131, 4100), blockwise_gen(1.0, 1.0, 257, 131, 4100), false);

    cases.push(Case { name: "api validation-errors".into(), run: Box::new(validation) });
    for (t, o) in PAIRS {
        let tag = pair_tag(t, o);
        cases.push(Case { name: format!("api zero-sizes {tag}"), run: Box::new(move |esmm| typed!(t, o, zero_sizes(esmm))) });
        cases.push(Case { name: format!("api default-dispatch {tag}"), run: Box::new(move |esmm| typed!(t, o, default_dispatch(esmm, small, large))) });
        cases.push(Case { name: format!("api misaligned-views-served {tag}"), run: Box::new(move |esmm| typed!(t, o, misaligned_served(esmm, views, large))) });
        cases.push(Case { name: format!("api two-threads-two-streams default {tag}"), run: Box::new(move |esmm| typed!(t, o, threads_default(esmm, small, views))) });
        for d in [inf_small, inf_large] {
            cases.push(Case { name: format!("api nan-inf-contract every-path {tag} {}", d.name), run: Box::new(move |esmm| typed!(t, o, nan_inf_paths(esmm, d))) });
        }
        for d in [cublas_k, large] {
            cases.push(Case {
                name: format!("api cublas {tag} {}", d.name),
                run: Box::new(move |esmm| typed!(t, o, cublas_check(esmm, &new_stream(esmm)?, d))),
            });
        }
    }
    for t in [ElemType::Bf16, ElemType::F16, ElemType::F32] {
        cases.push(Case {
            name: format!("api layer dense->sparse {}", pair_tag(t, t)),
            run: Box::new(move |esmm| match t {
                ElemType::Bf16 => layer_calls::<bf16>(esmm, dense_act, sparse_act),
                ElemType::F16 => layer_calls::<f16>(esmm, dense_act, sparse_act),
                ElemType::F32 => layer_calls::<f32>(esmm, dense_act, sparse_act),
            }),
        });
    }
    // A pair no shipped variant may serve (f16 inputs, f32 output) at a shape with ≥ 64 tiles
    // and no density information: the documented fallback is cuBLAS.
    cases.push(Case {
        name: "api unserved-call-falls-back-to-cublas f16->f32".into(),
        run: Box::new(move |esmm| unserved_falls_back::<f16, f32>(esmm, large)),
    });
    cases
}

// ---------------------------------------------------------------------------------------------
// Main

/// Every case for `variants` (variant cases first, then the API cases), filtered; and how many
/// of them are variant cases.
fn build_cases<'a>(sets: &'a [DataSet], variants: &[Variant], o: &Options) -> (Vec<Case<'a>>, usize) {
    let mut cases = variant_cases(sets, variants, o);
    let variant_count = cases.len();
    if !o.sanitizer {
        cases.extend(api_cases(o.seed));
    }
    let keep = |c: &Case| o.filters.is_empty() || o.filters.iter().any(|f| c.name.contains(f.as_str()));
    let variant_count = cases.iter().take(variant_count).filter(|c| keep(c)).count();
    cases.retain(keep);
    (cases, variant_count)
}

/// An emulated kernel on the host: fp32 accumulation in k order (every product and sum rounded
/// to f32), f32 (TF32) inputs truncated to 10 mantissa bits, the activation in f32, C rounded
/// to `O`. `skip`: also skip every (64 rows × 64 k) block of A or (64 k × 128 columns) block of
/// B that is all zero, as a sparse kernel that ignored the NaN/Inf rule would.
fn emulate<O: Host>(d: &DataSet, input: ElemType, act: Activation, skip: bool) -> Vec<O> {
    let (m, n, k) = (d.m, d.n, d.k);
    let (a, b) = d.inputs(input);
    let tf32 = |x: f32| if input == ElemType::F32 { f32::from_bits(x.to_bits() & 0xFFFF_E000) } else { x };
    let groups = k.div_ceil(64);
    let a_zero: Vec<bool> = (0..m.div_ceil(64) * groups)
        .map(|i| {
            let (rb, g) = (i / groups, i % groups);
            (rb * 64..((rb + 1) * 64).min(m)).all(|r| (g * 64..((g + 1) * 64).min(k)).all(|kk| a[r * k + kk] == 0.0))
        })
        .collect();
    let b_zero: Vec<bool> = (0..n.div_ceil(128) * groups)
        .map(|i| {
            let (cb, g) = (i / groups, i % groups);
            (g * 64..((g + 1) * 64).min(k)).all(|kk| (cb * 128..((cb + 1) * 128).min(n)).all(|c| b[kk * n + c] == 0.0))
        })
        .collect();
    let mut c = vec![O::from_f32(0.0); m * n];
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(m.max(1));
    let rows_per = m.div_ceil(threads).max(1);
    std::thread::scope(|sc| {
        for (chunk_idx, chunk) in c.chunks_mut(rows_per * n.max(1)).enumerate() {
            let (a_zero, b_zero) = (&a_zero, &b_zero);
            sc.spawn(move || {
                let mut acc = vec![0.0f32; n];
                for (dr, out) in chunk.chunks_mut(n).enumerate() {
                    let r = chunk_idx * rows_per + dr;
                    acc.iter_mut().for_each(|x| *x = 0.0);
                    for kk in 0..k {
                        let g = kk / 64;
                        let av = tf32(a[r * k + kk]);
                        for (j, x) in acc.iter_mut().enumerate() {
                            if skip && (a_zero[(r / 64) * groups + g] || b_zero[(j / 128) * groups + g]) {
                                continue;
                            }
                            *x += av * tf32(b[kk * n + j]);
                        }
                    }
                    for (o, &x) in out.iter_mut().zip(&acc) {
                        let y = match act {
                            Activation::None => x,
                            Activation::Relu => x.max(0.0),
                            Activation::Relu2 => x.max(0.0) * x.max(0.0),
                        };
                        *o = O::from_f32(y);
                    }
                }
            });
        }
    });
    c
}

fn host_case<O: Host>(d: &DataSet, input: ElemType) -> Result<String, String> {
    let mut out = Vec::new();
    for act in [Activation::None, Activation::Relu2] {
        let c = emulate::<O>(d, input, act, false);
        let nnz = col_nnz(&c.iter().map(|x| x.to_f32()).collect::<Vec<_>>(), d.m, d.n);
        out.push(check::<O>(d, input, act, &c, Some(&nnz)).map_err(|e| format!("emulated kernel, {}: {e}", act.tag()))?);
    }
    let c = emulate::<O>(d, input, Activation::None, true);
    match (check::<O>(d, input, Activation::None, &c, None), d.nonfinite) {
        (Ok(_), true) => return Err("a sparse kernel that skips zero blocks despite Inf/NaN passed".into()),
        (Err(e), false) => return Err(format!("a sparse kernel skipping exact zero blocks failed: {e}")),
        (Err(e), true) => out.push(format!("skipping kernel caught: {e}")),
        (Ok(x), false) => out.push(format!("skipping kernel {x}")),
    }
    Ok(out.join("; "))
}

/// `--host-check`: the suite's data sets, references and checks against emulated kernels.
fn host_check(sets: &[DataSet], o: &Options) {
    let (mut passed, mut failed) = (0, 0);
    for d in sets {
        for (t, out) in PAIRS {
            let name = format!("host {} {}", pair_tag(t, out), d.name);
            if !o.filters.is_empty() && !o.filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let time = Instant::now();
            let r = typed!(t, out, host_case_typed(d));
            let ms = time.elapsed().as_secs_f64() * 1e3;
            match r {
                Ok(x) => {
                    passed += 1;
                    println!("ok   {name} {x} ({ms:.0} ms)");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {name}: {e} ({ms:.0} ms)");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed, 0 skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

fn host_case_typed<T: Host, O: Host>(d: &DataSet) -> Result<String, String> {
    host_case::<O>(d, T::TYPE)
}


fn main() {
    let o = parse_options();
    let compiled: Vec<Variant> = esmm::REGISTRY
        .iter()
        .filter(|e| e.spec.family() == Family::Tc && esmm::dispatch::registry::fatbin(e.name).is_some())
        .filter_map(|e| e.spec.as_tc().map(|s| Variant { e, s: *s }))
        .collect();
    let tc_entries = esmm::REGISTRY.iter().filter(|e| e.spec.family() == Family::Tc).count();
    let sets = data_sets(&o);
    let build = |variants: &[Variant]| build_cases(&sets, variants, &o);
    if o.host_check {
        host_check(&sets, &o);
        return;
    }

    if !esmm::driver_present() {
        let (cases, _) = build(&compiled);
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    let esmm = match Esmm::new(0) {
        Ok(e) => e,
        Err(e) => {
            let (cases, _) = build(&compiled);
            println!("FAIL open GPU 0: {e}");
            println!("0 passed, {} failed, 0 skipped", cases.len().max(1));
            std::process::exit(1);
        }
    };
    let dev = esmm.device();
    let variants: Vec<Variant> = compiled.iter().copied().filter(|v| dev.arch.is_some_and(|a| v.s.archs.contains(a))).collect();
    let (cases, variant_cases_n) = build(&variants);
    println!(
        "gpu_tc: {} cases ({} variant cases over {} tc variants for sm_{}; {} compiled, {} tc entries in the registry), seed {}{}",
        cases.len(),
        variant_cases_n,
        variants.len(),
        dev.compute_capability,
        compiled.len(),
        tc_entries,
        o.seed,
        if o.quick { ", quick" } else if o.sanitizer_all { ", sanitizer shapes, every variant" } else if o.sanitizer { ", sanitizer shapes" } else { "" }
    );
    println!("device: {} (sm_{}, {} SMs)", dev.name, dev.compute_capability, dev.sm_count);

    let timeout = Duration::from_secs(o.timeout);
    let start = Instant::now();
    let (p, f) = run_cases(&esmm, &cases, timeout);
    println!("gpu_tc: {:.1} s", start.elapsed().as_secs_f64());
    println!("{p} passed, {f} failed, 0 skipped");
    if f > 0 {
        std::process::exit(1);
    }
}
