//! GPU correctness suite (harness = false): every compiled registry variant against the f64 CPU
//! reference on fresh random data, plus API cases (zero sizes, validation, default dispatch,
//! cuBLAS baseline, two threads on two streams).
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and `0 passed, 0 failed, N skipped`
//! and exits 0. Options (arguments after `--`, or `ESMM_SUITE_ARGS`):
//! - `--quick`: small shapes and fewer data sets;
//! - `--filter SUBSTR`: only cases whose name contains SUBSTR (repeatable: any matches);
//! - `--sanitizer-shapes`: three small shapes per variant (1×1×1 and two odd ones), for
//!   compute-sanitizer;
//! - `--timeout SECS`: watchdog per case (default 120; a hang is a failure);
//! - `--seed N`: RNG seed (default: time-based, printed).

use std::sync::Arc;
use std::time::Duration;

use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::reference::{check_col_nnz, col_nnz, gemm_f64, rel_frobenius_error};
use esmm::testing::relative_error_on_device;
use esmm::workload::{blockwise_a, blockwise_b};
use esmm::{Activation, BaselineMath, Dims, Error, Esmm, Family, MatmulOptions, RegistryEntry, CUBLAS};
use esmm_spec::{EsmmSpec, Preprocess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use esmm_tests::{run_cases, Case};

/// Relative Frobenius error allowed for f32 kernels.
const TOLERANCE: f64 = 1e-5;

struct Options {
    quick: bool,
    sanitizer: bool,
    filters: Vec<String>,
    timeout: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(extra) = std::env::var("ESMM_SUITE_ARGS") {
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

/// The esmm spec of a registry entry (the suite covers family esmm; `main` keeps only its
/// entries, family tc has its own suite, tests/gpu_tc.rs).
fn esmm_spec_of(e: &RegistryEntry) -> EsmmSpec {
    *e.spec.as_esmm().expect("gpu_suite covers family esmm only")
}

/// A host problem shared by every variant: operands and the pre-activation f64 reference.
struct DataSet {
    name: String,
    m: usize,
    n: usize,
    k: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    /// Which variants the data set applies to.
    applies: fn(&RegistryEntry) -> bool,
    /// The reference holds NaN or Inf (the data set tests the NaN/Inf contract).
    nonfinite: bool,
    pre: std::sync::OnceLock<Vec<f64>>,
}

impl DataSet {
    fn new(name: &str, m: usize, n: usize, k: usize, a: Vec<f32>, b: Vec<f32>) -> DataSet {
        DataSet {
            name: format!("{name} {m}x{n}x{k}"),
            m,
            n,
            k,
            a,
            b,
            applies: |_| true,
            nonfinite: false,
            pre: Default::default(),
        }
    }
    fn pre(&self) -> &[f64] {
        self.pre.get_or_init(|| gemm_f64(&self.a, &self.b, self.m, self.n, self.k, Activation::None))
    }
}

/// A and B where the zero/nonzero decision varies per tile: each 64-row block of A (and each
/// 8-column block of B) gets its own stripe density, and nonzero stripes also contain scattered
/// zeros, so different CTAs and warps see different skip patterns.
fn nonuniform(m: usize, n: usize, k: usize, rng: &mut StdRng) -> (Vec<f32>, Vec<f32>) {
    let mut a = vec![0.0f32; m * k];
    for rb in 0..m.div_ceil(64) {
        let d: f64 = [0.0, 0.1, 0.5, 0.9, 1.0][rng.random_range(0..5)];
        for kk in 0..k {
            if rng.random::<f64>() < d {
                for r in rb * 64..((rb + 1) * 64).min(m) {
                    if rng.random::<f64>() < 0.7 {
                        a[r * k + kk] = rng.random_range(-1.0..1.0);
                    }
                }
            }
        }
    }
    let mut b = vec![0.0f32; k * n];
    for cb in 0..n.div_ceil(8) {
        let d: f64 = [0.0, 0.2, 0.6, 1.0][rng.random_range(0..4)];
        for kk in 0..k {
            if rng.random::<f64>() < d {
                for c in cb * 8..((cb + 1) * 8).min(n) {
                    if rng.random::<f64>() < 0.8 {
                        b[kk * n + c] = rng.random_range(-1.0..1.0);
                    }
                }
            }
        }
    }
    (a, b)
}

/// The case: sparse A with every 5th column all zero, and a row of +Inf in B under each
/// of those columns. Dense math gives NaN in every column of C.
fn inf_b_under_zero_a(m: usize, n: usize, k: usize, rng: &mut StdRng) -> DataSet {
    let mut a = blockwise_a(m, k, 0.5, rng);
    let mut b = blockwise_b(k, n, 0.5, rng);
    for kk in (0..k).step_by(5) {
        (0..m).for_each(|r| a[r * k + kk] = 0.0);
        (0..n).for_each(|c| b[kk * n + c] = f32::INFINITY);
    }
    let mut s = DataSet::new("inf-b-under-zero-a", m, n, k, a, b);
    s.nonfinite = true;
    s
}

fn blockwise(name: &str, m: usize, n: usize, k: usize, da: f64, db: f64, rng: &mut StdRng) -> DataSet {
    let a = blockwise_a(m, k, da, rng);
    let b = blockwise_b(k, n, db, rng);
    DataSet::new(name, m, n, k, a, b)
}

fn data_sets(o: &Options, rng: &mut StdRng) -> Vec<DataSet> {
    let mut sets = Vec::new();
    if o.sanitizer {
        for (m, n, k) in [(1, 1, 1), (67, 45, 33), (130, 129, 70)] {
            sets.push(blockwise("sanitizer", m, n, k, 0.5, 0.5, rng));
        }
        return sets;
    }
    let max = if o.quick { 300 } else { 2000 };
    for i in 0..if o.quick { 2 } else { 4 } {
        let (m, n, k) = (rng.random_range(1..max), rng.random_range(1..max), rng.random_range(1..max));
        let da = [1.0, 0.5, 0.25][rng.random_range(0..3)];
        let db = [1.0, 0.5, 0.25][rng.random_range(0..3)];
        sets.push(blockwise(&format!("odd-{i} da={da} db={db}"), m, n, k, da, db, rng));
    }
    let (m, n, k) = if o.quick { (131, 97, 203) } else { (515, 1037, 777) };
    for d in [1.0, 0.875, 0.75, 0.5, 0.25, 0.125] {
        sets.push(blockwise(&format!("blockwise d={d}"), m, n, k, d, d, rng));
    }
    for (m, n, k) in [(1, 1, 1), (1, 300, 3), (300, 1, 5), (7, 9, 1), (64, 128, 8), (65, 129, 9)] {
        sets.push(blockwise("tiny", m, n, k, 0.7, 0.7, rng));
    }
    let (m, n, k) = if o.quick { (200, 150, 170) } else { (1000, 999, 1001) };
    let (a, b) = nonuniform(m, n, k, rng);
    sets.push(DataSet::new("nonuniform", m, n, k, a, b));
    let (m, n, k) = (300, 257, 513);
    let dense = |rng: &mut StdRng, len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
    sets.push(DataSet::new("zero-a", m, n, k, vec![0.0; m * k], dense(rng, k * n)));
    sets.push(DataSet::new("zero-b", m, n, k, dense(rng, m * k), vec![0.0; k * n]));
    sets.push(DataSet::new("all-dense", m, n, k, dense(rng, m * k), dense(rng, k * n)));

    // The NaN/Inf contract (docs/RUNTIME.md): every path computes as a dense IEEE GEMM, so a zero
    // that meets an Inf gives NaN even where a pattern would skip it.
    // 1. Rows of B hold +Inf under all-zero columns of A (the A pattern bit is 0 there).
    for (m, n, k) in [(65, 129, 9), (333, 777, 1555)] {
        sets.push(inf_b_under_zero_a(m, n, k, rng));
    }
    // 2. Mixed signs: ±Inf in B under zero columns of A, Inf in A over zero rows of B.
    let (m, n, k) = (150, 70, 100);
    let mut a = dense(rng, m * k);
    let mut b = dense(rng, k * n);
    for kk in (3..k).step_by(7) {
        (0..m).for_each(|r| a[r * k + kk] = 0.0);
        b[kk * n + rng.random_range(0..n)] = f32::INFINITY;
        b[kk * n + rng.random_range(0..n)] = f32::NEG_INFINITY;
    }
    for kk in (2..k).step_by(11) {
        (0..n).for_each(|c| b[kk * n + c] = 0.0);
        a[rng.random_range(0..m) * k + kk] = f32::INFINITY;
    }
    let mut s = DataSet::new("inf-mixed", m, n, k, a, b);
    s.nonfinite = true;
    sets.push(s);
    // 3. NaN in A (in an otherwise all-zero stripe, over sparse B): propagates along its row.
    let mut a = blockwise_a(m, k, 0.3, rng);
    let b = blockwise_b(k, n, 0.5, rng);
    let (r0, k0) = (rng.random_range(0..m), rng.random_range(0..k));
    (0..m).for_each(|r| a[r * k + k0] = 0.0);
    a[r0 * k + k0] = f32::NAN;
    let mut s = DataSet::new("nan-in-a", m, n, k, a, b);
    s.nonfinite = true;
    sets.push(s);
    sets
}

/// Runs one variant on one data set and checks it. Returns a detail string.
fn run_variant(
    esmm: &Esmm,
    stream: &Arc<CudaStream>,
    e: &'static RegistryEntry,
    d: &DataSet,
    use_prepared: bool,
) -> Result<String, String> {
    let spec = esmm_spec_of(e);
    let (m, n, k) = (d.m, d.n, d.k);
    let err = |x: Error| x.to_string();
    let da = stream.clone_htod(&d.a).map_err(|x| x.to_string())?;
    let db = stream.clone_htod(&d.b).map_err(|x| x.to_string())?;
    let mut dc = stream.clone_htod(&vec![f32::NAN; m * n]).map_err(|x| x.to_string())?;
    let mut nnz: Option<CudaSlice<u32>> =
        if spec.col_nnz { Some(stream.clone_htod(&vec![0xDEAD_BEEFu32; n]).map_err(|x| x.to_string())?) } else { None };
    let prepared = if use_prepared || spec.preprocess == Preprocess::OfflineB {
        Some(esmm.prepare_b(stream, &db, k, n).map_err(err)?)
    } else {
        None
    };
    let opts = MatmulOptions {
        activation: spec.activation,
        col_nnz: nnz.as_mut(),
        variant: Some(e.name),
        prepared_b: prepared.as_ref(),
        ..Default::default()
    };
    let ran = esmm.matmul(stream, &da, &db, &mut dc, Dims::new(m, n, k), opts).map_err(err)?;
    if ran != Some(e.name) {
        return Err(format!("ran {ran:?}, expected {}", e.name));
    }
    let c = stream.clone_dtoh(&dc).map_err(|x| format!("kernel failed: {x}"))?;
    let nnz = nnz.map(|s| stream.clone_dtoh(&s)).transpose().map_err(|x| x.to_string())?;
    check(d, spec.activation, &c, nnz.as_deref())
}

fn check(d: &DataSet, act: Activation, c: &[f32], nnz: Option<&[u32]>) -> Result<String, String> {
    let (m, n) = (d.m, d.n);
    let pre = d.pre();
    let want: Vec<f64> = pre.iter().map(|&x| esmm::reference::activate(x, act)).collect();
    // NaN/Inf contract: C is NaN or ±Inf exactly where the dense IEEE reference is (an activation
    // may map NaN to 0, as fmaxf does); unwritten output (poisoned NaN) fails here too.
    for (i, (&g, &w)) in c.iter().zip(&want).enumerate() {
        let g64 = f64::from(g);
        let ok = if w.is_nan() {
            g.is_nan() || (act != Activation::None && g == 0.0)
        } else if w.is_infinite() {
            g64 == w
        } else {
            g.is_finite()
        };
        if !ok {
            return Err(format!("C[{}][{}] = {g} but the reference is {w}", i / n, i % n));
        }
    }
    if d.nonfinite && !want.iter().any(|w| !w.is_finite()) {
        return Err("test data produced no NaN or Inf".into());
    }
    let e = rel_frobenius_error(c, &want);
    if e.is_nan() || e > TOLERANCE {
        return Err(format!("relative Frobenius error {e:.3e} > {TOLERANCE:e}"));
    }
    if let Some(nnz) = nnz {
        if !d.nonfinite {
            let own = col_nnz(c, m, n);
            if let Some(j) = (0..n).find(|&j| own[j] != nnz[j]) {
                return Err(format!("col_nnz[{j}] = {} but the written C column has {} nonzeros", nnz[j], own[j]));
            }
            if let Some((j, g, r, amb)) = check_col_nnz(nnz, pre, m, n, act, 1e-5) {
                return Err(format!("col_nnz[{j}] = {g}, reference {r} (± {amb} ambiguous)"));
            }
        }
    }
    Ok(format!("err={e:.1e}"))
}

/// The body of a case: Ok(detail) or Err(why it failed).


fn new_stream(esmm: &Esmm) -> Result<Arc<CudaStream>, String> {
    esmm.context().new_stream().map_err(|e| e.to_string())
}

fn variant_cases<'a>(sets: &'a [DataSet], variants: &[&'static RegistryEntry], o: &Options) -> Vec<Case<'a>> {
    let mut cases = Vec::new();
    for d in sets {
        for &e in variants {
            if !(d.applies)(e) {
                continue;
            }
            cases.push(Case {
                name: format!("{} {}", e.name, d.name),
                run: Box::new(move |esmm| run_variant(esmm, &new_stream(esmm)?, e, d, false)),
            });
        }
    }
    if o.sanitizer {
        return cases;
    }
    let pick = |prefix: &str| sets.iter().find(|d| d.name.starts_with(prefix));
    for &e in variants {
        let s: EsmmSpec = esmm_spec_of(e);
        if s.sparsity.uses_b_pattern() && s.preprocess != Preprocess::OfflineB {
            for d in [pick("blockwise d=0.5"), pick("inf-b-under-zero-a")].into_iter().flatten() {
                cases.push(Case {
                    name: format!("{} prepared-b {}", e.name, d.name),
                    run: Box::new(move |esmm| run_variant(esmm, &new_stream(esmm)?, e, d, true)),
                });
            }
        }
        if let (Some(d1), Some(d2)) = (pick("nonuniform"), pick("blockwise d=0.25")) {
            cases.push(Case {
                name: format!("{} two-threads-two-streams", e.name),
                run: Box::new(move |esmm| {
                    let out: Vec<Result<String, String>> = std::thread::scope(|sc| {
                        let hs: Vec<_> = [d1, d2]
                            .into_iter()
                            .map(|d| {
                                sc.spawn(move || -> Result<String, String> {
                                    let stream = new_stream(esmm)?;
                                    for _ in 0..3 {
                                        run_variant(esmm, &stream, e, d, false)?;
                                    }
                                    Ok(String::new())
                                })
                            })
                            .collect();
                        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
                    });
                    out.into_iter().collect::<Result<Vec<_>, _>>().map(|_| "3 rounds × 2 streams".into())
                }),
            });
        }
    }
    cases
}

fn api_cases<'a>() -> Vec<Case<'a>> {
    let mut cases: Vec<Case<'a>> = Vec::new();
    cases.push(Case {
        name: "api zero-dims".into(),
        run: Box::new(|esmm| {
            let s = new_stream(esmm)?;
            let a = s.clone_htod(&[1.0f32; 16]).map_err(|e| e.to_string())?;
            let b = s.clone_htod(&[1.0f32; 16]).map_err(|e| e.to_string())?;
            // K = 0: C = act(0) = 0, every element written.
            let mut c = s.clone_htod(&[f32::NAN; 12]).map_err(|e| e.to_string())?;
            let mut nnz = s.clone_htod(&[7u32; 4]).map_err(|e| e.to_string())?;
            let opts = MatmulOptions { col_nnz: Some(&mut nnz), ..Default::default() };
            esmm.matmul(&s, &a, &b, &mut c, Dims::new(3, 4, 0), opts).map_err(|e| e.to_string())?;
            let got = s.clone_dtoh(&c).map_err(|e| e.to_string())?;
            if got.iter().any(|x| *x != 0.0) {
                return Err(format!("K=0 must give zeros, got {got:?}"));
            }
            if s.clone_dtoh(&nnz).map_err(|e| e.to_string())? != vec![0; 4] {
                return Err("K=0 col_nnz must be zeros".into());
            }
            // M = 0 and N = 0: no-op, C untouched.
            let mut c = s.clone_htod(&[5.0f32; 4]).map_err(|e| e.to_string())?;
            for d in [Dims::new(0, 4, 3), Dims::new(4, 0, 3)] {
                let r = esmm.matmul(&s, &a, &b, &mut c, d, MatmulOptions::default()).map_err(|e| e.to_string())?;
                if r.is_some() {
                    return Err(format!("{d:?} launched {r:?}"));
                }
            }
            if s.clone_dtoh(&c).map_err(|e| e.to_string())? != vec![5.0; 4] {
                return Err("M=0/N=0 wrote C".into());
            }
            Ok(String::new())
        }),
    });
    cases.push(Case {
        name: "api validation-errors".into(),
        run: Box::new(|esmm| {
            let s = new_stream(esmm)?;
            let a = s.clone_htod(&[1.0f32; 64]).map_err(|e| e.to_string())?;
            let b = s.clone_htod(&[1.0f32; 64]).map_err(|e| e.to_string())?;
            let mut c = s.clone_htod(&[0.0f32; 64]).map_err(|e| e.to_string())?;
            let expect_err = |r: esmm::Result<Option<&str>>, what: &str, needle: &str| -> Result<(), String> {
                match r {
                    Err(e) if e.to_string().contains(needle) => Ok(()),
                    Err(e) => Err(format!("{what}: wrong error: {e}")),
                    Ok(_) => Err(format!("{what}: expected an error")),
                }
            };
            let r = esmm.matmul(&s, &a, &b, &mut c, Dims::new(8, 8, 9), MatmulOptions::default());
            expect_err(r, "short A", "A holds 64")?;
            let r = esmm.matmul(&s, &a, &b, &mut c, Dims::new(1 << 16, 1, 1 << 15), MatmulOptions::default());
            expect_err(r, "overflow", "exceeds i32::MAX")?;
            let a_off = a.slice(1..);
            let r = esmm.matmul(&s, &a_off, &b, &mut c, Dims::new(7, 7, 9), MatmulOptions::default());
            expect_err(r, "misaligned A", "16-byte")?;
            let opts = MatmulOptions { variant: Some("esmm_no_such_variant"), ..Default::default() };
            let r = esmm.matmul(&s, &a, &b, &mut c, Dims::new(8, 8, 8), opts);
            expect_err(r, "unknown variant", "unknown variant")?;
            if let Some(e) = esmm::REGISTRY.iter().find(|e| e.spec.family() == Family::Esmm && e.spec.epilogue() == esmm::Epilogue::NONE) {
                let opts = MatmulOptions { variant: Some(e.name), activation: Activation::Relu, ..Default::default() };
                let r = esmm.matmul(&s, &a, &b, &mut c, Dims::new(8, 8, 8), opts);
                expect_err(r, "override mismatch", "activation")?;
            }
            let mut short_nnz = s.clone_htod(&[0u32; 3]).map_err(|e| e.to_string())?;
            let opts = MatmulOptions { col_nnz: Some(&mut short_nnz), ..Default::default() };
            let r = esmm.matmul(&s, &a, &b, &mut c, Dims::new(8, 8, 8), opts);
            expect_err(r, "short col_nnz", "col_nnz holds 3")?;
            if Esmm::new(10_000).is_ok() {
                return Err("Esmm::new(10000) succeeded".into());
            }
            Ok(String::new())
        }),
    });
    for act in [Activation::None, Activation::Relu, Activation::Relu2] {
        for with_nnz in [false, true] {
            cases.push(Case {
                name: format!("api default-dispatch act={} nnz={with_nnz}", act.tag()),
                run: Box::new(move |esmm| {
                    let mut rng = StdRng::seed_from_u64(u64::from(with_nnz) + act as u64 * 2);
                    let d = blockwise("default", 333, 222, 444, 0.5, 0.5, &mut rng);
                    let s = new_stream(esmm)?;
                    let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
                    let db = s.clone_htod(&d.b).map_err(|e| e.to_string())?;
                    let mut dc = s.clone_htod(&vec![f32::NAN; d.m * d.n]).map_err(|e| e.to_string())?;
                    let mut nnz = s.clone_htod(&vec![1u32; d.n]).map_err(|e| e.to_string())?;
                    let opts = MatmulOptions {
                        activation: act,
                        col_nnz: if with_nnz { Some(&mut nnz) } else { None },
                        ..Default::default()
                    };
                    let ran = match esmm.matmul(&s, &da, &db, &mut dc, Dims::new(d.m, d.n, d.k), opts) {
                        Err(Error::NoVariant(msg)) => return Ok(format!("no variant ({msg})")),
                        r => r.map_err(|e| e.to_string())?,
                    };
                    let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                    let nnz = if with_nnz { Some(s.clone_dtoh(&nnz).map_err(|e| e.to_string())?) } else { None };
                    check(&d, act, &c, nnz.as_deref()).map(|x| format!("{} {x}", ran.unwrap_or("-")))
                }),
            });
        }
    }
    for (m, n, k) in [(65, 129, 9), (333, 777, 1555)] {
        cases.push(Case {
            name: format!("api nan-inf-contract every-path {m}x{n}x{k}"),
            run: Box::new(move |esmm| {
                // B rows of +Inf under all-zero columns of A, through every path the dispatcher
                // can take: default dispatch (plain, with a layer, with a prepared B, with an
                // epilogue that cuBLAS cannot apply) and cuBLAS itself. All must give dense NaNs.
                let mut rng = StdRng::seed_from_u64((m * n * k) as u64);
                let d = inf_b_under_zero_a(m, n, k, &mut rng);
                let s = new_stream(esmm)?;
                let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
                let db = s.clone_htod(&d.b).map_err(|e| e.to_string())?;
                let prepared = esmm.prepare_b(&s, &db, k, n).map_err(|e| e.to_string())?;
                if !prepared.has_nonfinite() {
                    return Err("prepare_b did not notice the Inf in B".into());
                }
                let layer = esmm::Layer::new();
                let dims = Dims::new(m, n, k);
                let mut ran = Vec::new();
                for (label, act, use_layer, use_prepared) in [
                    ("default", Activation::None, false, false),
                    ("layer", Activation::None, true, false),
                    ("layer+prepared", Activation::None, true, true),
                    ("relu", Activation::Relu, false, false),
                    ("relu2+prepared", Activation::Relu2, false, true),
                ] {
                    for _ in 0..3 {
                        let mut dc = s.clone_htod(&vec![f32::NAN; m * n]).map_err(|e| e.to_string())?;
                        let opts = MatmulOptions {
                            activation: act,
                            layer: use_layer.then_some(&layer),
                            prepared_b: use_prepared.then_some(&prepared),
                            ..Default::default()
                        };
                        let r = esmm.matmul(&s, &da, &db, &mut dc, dims, opts).map_err(|e| e.to_string())?;
                        let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                        check(&d, act, &c, None).map_err(|e| format!("{label} ran {r:?}: {e}"))?;
                        ran.push(r.unwrap_or("-"));
                    }
                }
                let mut dc = s.clone_htod(&vec![f32::NAN; m * n]).map_err(|e| e.to_string())?;
                esmm.cublas_sgemm(&s, &da, &db, &mut dc, dims, BaselineMath::Fp32).map_err(|e| e.to_string())?;
                let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                check(&d, Activation::None, &c, None).map_err(|e| format!("cublas: {e}"))?;
                ran.sort();
                ran.dedup();
                Ok(format!("paths {ran:?} + cublas"))
            }),
        });
    }
    cases.push(Case {
        name: "api plan-cache coherent".into(),
        run: Box::new(|esmm| {
            // Default dispatch with prepared weights (the density comes from the PreparedB, so
            // the plan is deterministic): what `planned` reports is what `matmul` runs, call
            // after call (plans cached), and every result is right.
            let mut rng = StdRng::seed_from_u64(77);
            let mut log = Vec::new();
            for (m, n, k, density) in [(1100, 1030, 520, 0.25), (333, 777, 555, 0.5), (16, 1000, 700, 0.125), (1, 4096, 4096, 1.0), (130, 129, 70, 0.25)] {
                let d = blockwise("plan", m, n, k, density, density, &mut rng);
                let s = new_stream(esmm)?;
                let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
                let db = s.clone_htod(&d.b).map_err(|e| e.to_string())?;
                let prepared = esmm.prepare_b(&s, &db, k, n).map_err(|e| e.to_string())?;
                let dims = Dims::new(m, n, k);
                for round in 0..3 {
                    let planned = esmm
                        .planned(dims, &MatmulOptions { prepared_b: Some(&prepared), ..Default::default() })
                        .map_err(|e| e.to_string())?;
                    let mut dc = s.clone_htod(&vec![f32::NAN; m * n]).map_err(|e| e.to_string())?;
                    let opts = MatmulOptions { prepared_b: Some(&prepared), ..Default::default() };
                    let ran = esmm.matmul(&s, &da, &db, &mut dc, dims, opts).map_err(|e| e.to_string())?;
                    if ran != Some(planned) {
                        return Err(format!("{m}x{n}x{k} round {round}: planned {planned}, ran {ran:?}"));
                    }
                    let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                    check(&d, Activation::None, &c, None).map_err(|e| format!("{m}x{n}x{k} round {round}: {e}"))?;
                    if round == 0 {
                        log.push(planned);
                    }
                }
            }
            // The large sparse shape must plan a kernel (else this case tests only cuBLAS).
            if log[0] == CUBLAS {
                return Err(format!("1100x1030x520 at 0.25 planned cuBLAS: {log:?}"));
            }
            Ok(format!("{log:?}"))
        }),
    });
    cases.push(Case {
        name: "api adaptive-dispatch layer dense->sparse".into(),
        run: Box::new(|esmm| {
            // One layer handle: dense activations first (the dispatcher must move to the dense
            // path once it has seen them), then sparse ones (the dense path's periodic A probe
            // must bring it back to a sparse kernel). Every call's C is checked. The shape has
            // ≥ 64 tiles of 128×128, so the small-problem rule does not force cuBLAS.
            let mut rng = StdRng::seed_from_u64(99);
            let dense = blockwise("dense", 1100, 1030, 520, 1.0, 1.0, &mut rng);
            let mut sparse = blockwise("sparse", 1100, 1030, 520, 0.125, 1.0, &mut rng);
            sparse.b = dense.b.clone();
            let s = new_stream(esmm)?;
            let db = s.clone_htod(&dense.b).map_err(|e| e.to_string())?;
            let prepared = esmm.prepare_b(&s, &db, dense.k, dense.n).map_err(|e| e.to_string())?;
            let layer = esmm::Layer::new();
            let mut log = Vec::new();
            let run = |d: &DataSet| -> Result<&'static str, String> {
                let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
                let mut dc = s.clone_htod(&vec![f32::NAN; d.m * d.n]).map_err(|e| e.to_string())?;
                let opts = MatmulOptions { prepared_b: Some(&prepared), layer: Some(&layer), ..Default::default() };
                let ran = esmm.matmul(&s, &da, &db, &mut dc, Dims::new(d.m, d.n, d.k), opts).map_err(|e| e.to_string())?;
                let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                check(d, Activation::None, &c, None)?;
                Ok(ran.unwrap_or("-"))
            };
            let mut saw_cublas = false;
            for _ in 0..4 {
                let r = run(&dense)?;
                log.push(r);
                saw_cublas |= r == CUBLAS;
            }
            if !saw_cublas {
                return Err(format!("dense activations never reached the dense path: {log:?}"));
            }
            let mut back_to_sparse = false;
            for _ in 0..(2 * esmm::dispatch::adaptive::PROBE_EVERY) {
                let r = run(&sparse)?;
                log.push(r);
                if r != CUBLAS {
                    back_to_sparse = true;
                    break;
                }
            }
            if !back_to_sparse {
                return Err(format!("sparse activations never left the dense path: {log:?}"));
            }
            Ok(format!("{log:?}"))
        }),
    });
    cases.push(Case {
        name: "api adaptive-dispatch observes B without prepare".into(),
        run: Box::new(|esmm| {
            // No PreparedB: the layer must learn B's density from the pattern the kernel
            // extracted, so that half-dense A and B (joint density 0.25) stay on a sparse kernel.
            let mut rng = StdRng::seed_from_u64(98);
            let d = blockwise("half", 1100, 1030, 520, 0.5, 0.5, &mut rng);
            let s = new_stream(esmm)?;
            let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
            let db = s.clone_htod(&d.b).map_err(|e| e.to_string())?;
            let layer = esmm::Layer::new();
            let mut log = Vec::new();
            for _ in 0..4 {
                let mut dc = s.clone_htod(&vec![f32::NAN; d.m * d.n]).map_err(|e| e.to_string())?;
                let opts = MatmulOptions { layer: Some(&layer), ..Default::default() };
                let ran = esmm.matmul(&s, &da, &db, &mut dc, Dims::new(d.m, d.n, d.k), opts).map_err(|e| e.to_string())?;
                let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                check(&d, Activation::None, &c, None)?;
                log.push(ran.unwrap_or("-"));
            }
            let (oa, ob) = (layer.observed_a_density(), layer.observed_b_density());
            let near = |x: Option<f64>| x.is_some_and(|v| (v - 0.5).abs() < 0.1);
            if !near(oa) || !near(ob) {
                return Err(format!("observed densities A {oa:?}, B {ob:?}; expected about 0.5 each"));
            }
            if log.last() == Some(&CUBLAS) {
                return Err(format!("half-dense A and B went to the dense path: {log:?}"));
            }
            Ok(format!("A {oa:?} B {ob:?} {log:?}"))
        }),
    });
    cases.push(Case {
        name: "api relative-error-on-device".into(),
        run: Box::new(|esmm| {
            // The tuner's on-GPU check must agree with the host computation and catch NaN.
            let mut rng = StdRng::seed_from_u64(5);
            let want: Vec<f32> = (0..1001).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let got: Vec<f32> = want.iter().map(|x| x + 1e-3 * rng.random_range(-1.0f32..1.0)).collect();
            let s = new_stream(esmm)?;
            let dw = s.clone_htod(&want).map_err(|e| e.to_string())?;
            let dg = s.clone_htod(&got).map_err(|e| e.to_string())?;
            let mut scratch = s.alloc_zeros::<f32>(1001).map_err(|e| e.to_string())?;
            let mut blas = esmm::cudarc::cublas::CudaBlas::new(s.clone()).map_err(|e| e.to_string())?;
            let dev = relative_error_on_device(&mut blas, &s, &dg, &dw, &mut scratch, 1001).map_err(|e| e.to_string())?;
            let host = rel_frobenius_error(&got, &want.iter().map(|x| f64::from(*x)).collect::<Vec<_>>());
            if (dev - host).abs() > 1e-3 * host {
                return Err(format!("device {dev:e} vs host {host:e}"));
            }
            let mut bad = got.clone();
            bad[500] = f32::NAN;
            let db = s.clone_htod(&bad).map_err(|e| e.to_string())?;
            let e = relative_error_on_device(&mut blas, &s, &db, &dw, &mut scratch, 1001).map_err(|e| e.to_string())?;
            if e <= 1e-5 {
                return Err(format!("a NaN passed the check: {e}"));
            }
            Ok(format!("{dev:.3e}"))
        }),
    });
    for math in [BaselineMath::Fp32, BaselineMath::Tf32] {
        cases.push(Case {
            name: format!("api cublas {math:?}"),
            run: Box::new(move |esmm| {
                let mut rng = StdRng::seed_from_u64(11);
                let d = blockwise("cublas", 257, 131, 515, 1.0, 1.0, &mut rng);
                let s = new_stream(esmm)?;
                let da = s.clone_htod(&d.a).map_err(|e| e.to_string())?;
                let db = s.clone_htod(&d.b).map_err(|e| e.to_string())?;
                let mut dc = s.clone_htod(&vec![f32::NAN; d.m * d.n]).map_err(|e| e.to_string())?;
                esmm.cublas_sgemm(&s, &da, &db, &mut dc, Dims::new(d.m, d.n, d.k), math).map_err(|e| e.to_string())?;
                let c = s.clone_dtoh(&dc).map_err(|e| e.to_string())?;
                let want: Vec<f64> = d.pre().to_vec();
                let e = rel_frobenius_error(&c, &want);
                let tol = if math == BaselineMath::Tf32 { 5e-3 } else { TOLERANCE };
                if e > tol {
                    return Err(format!("relative error {e:.2e} > {tol:e}"));
                }
                Ok(format!("err={e:.1e}"))
            }),
        });
    }
    cases
}


fn main() {
    let o = parse_options();
    let mut rng = StdRng::seed_from_u64(o.seed);
    let variants: Vec<&'static RegistryEntry> =
        esmm::REGISTRY.iter().filter(|e| e.spec.family() == Family::Esmm && esmm::dispatch::registry::fatbin(e.name).is_some()).collect();
    let sets = data_sets(&o, &mut rng);
    let mut cases = variant_cases(&sets, &variants, &o);
    if !o.sanitizer {
        cases.extend(api_cases());
    }
    if !o.filters.is_empty() {
        cases.retain(|c| o.filters.iter().any(|f| c.name.contains(f.as_str())));
    }

    if !esmm::driver_present() {
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    println!(
        "gpu_suite: {} cases, {} compiled variants of {} in the registry, seed {}{}",
        cases.len(),
        variants.len(),
        esmm::REGISTRY.len(),
        o.seed,
        if o.quick { ", quick" } else if o.sanitizer { ", sanitizer shapes" } else { "" }
    );
    let esmm = match Esmm::new(0) {
        Ok(e) => e,
        Err(e) => {
            println!("FAIL open GPU 0: {e}");
            println!("0 passed, {} failed, 0 skipped", cases.len());
            std::process::exit(1);
        }
    };
    let dev = esmm.device();
    println!("device: {} (sm_{}, {} SMs)", dev.name, dev.compute_capability, dev.sm_count);

    let timeout = Duration::from_secs(o.timeout);
    let (p, f) = run_cases(&esmm, &cases, timeout);
    println!("{p} passed, {f} failed, 0 skipped");
    if f > 0 {
        std::process::exit(1);
    }
}
