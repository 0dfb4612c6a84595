//! GPU tests of the same-process baselines (`esmm::baseline`, harness = false): every baseline
//! (cuBLAS and cuBLASLt × sgemm, tf32, bf16, f16; f32 and 16-bit outputs) on odd shapes against
//! an f64 CPU reference of the same rounded inputs, plus API cases (misaligned views, zero
//! sizes, validation errors, two streams sharing the cuBLASLt plan cache and workspace).
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and `0 passed, 0 failed, N skipped`
//! and exits 0. Options (after `--`): `--filter SUBSTR` (repeatable), `--seed N`.

use std::sync::Arc;
use std::time::Instant;

use esmm::cudarc::driver::{CudaContext, CudaStream};
use esmm::{Baseline, BaselineElem, BaselineKind, BaselineMath, Baselines, Dims, ElemType, Error};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Odd shapes (M, N, K): scalar, GEMV rows with odd N and K, decode-sized M = 16, small and
/// mid-sized odd GEMMs, and the square GEMV of a 4096 layer.
const SHAPES: [(usize, usize, usize); 6] =
    [(1, 1, 1), (1, 4097, 1023), (16, 300, 777), (67, 45, 33), (257, 131, 515), (1, 4096, 4096)];
/// Poisoned elements after C that must stay NaN.
const GUARD: usize = 37;

/// Host-side conversions of the element types.
trait Host: BaselineElem {
    const NAN: Self;
    /// Rounds to nearest.
    fn from_f64(x: f64) -> Self;
    /// Exact.
    fn to_f64(self) -> f64;
}

impl Host for f32 {
    const NAN: f32 = f32::NAN;
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

macro_rules! host16 {
    ($t:ty) => {
        impl Host for $t {
            const NAN: $t = <$t>::NAN;
            fn from_f64(x: f64) -> $t {
                <$t>::from_f64(x)
            }
            fn to_f64(self) -> f64 {
                <$t>::to_f64(self)
            }
        }
    };
}
host16!(bf16);
host16!(f16);

/// Relative Frobenius tolerance `‖got − ref‖ / ‖ref‖`, the sum of three terms:
/// - fp32 accumulation over K terms: unit roundoff u = 2⁻²⁴; round-to-nearest errors of
///   random sign grow like u·√K. We allow 16·u·√K (≈ 6e-5 at K = 4096, 1e-5 at K = 33) plus a
///   1e-6 floor: tensor-core MMAs may truncate instead of rounding, a bias that grows like
///   u·K/32 over the K/16 MMA steps (< 16·u·√K for K < 2¹⁸), and split-K adds partial sums;
/// - TF32 inputs (tf32 only): each f32 input keeps 10 mantissa bits, a relative error ≤ 2⁻¹¹
///   per input when rounded (≤ 2⁻¹⁰ if truncated, which also biases the products), so a product
///   errs by ≤ 2⁻¹⁰ (rounded) or ≤ 2⁻⁹ (truncated); we allow 2⁻⁹ ≈ 2e-3 (the reference uses the
///   unrounded f32 inputs);
/// - 16-bit outputs: round-to-nearest to bf16 errs by ≤ 2⁻⁸·|c| per element (7 stored mantissa
///   bits, the brief's 2⁻⁸), to f16 by ≤ 2⁻¹¹·|c|, which bounds the Frobenius ratio too.
///
/// bf16/f16 inputs add nothing: the reference uses exactly the same rounded inputs. An f32-out
/// path that silently used TF32 or 16-bit rounding (errors ≥ 1e-4) fails the f32 tolerance.
fn tolerance(math: BaselineMath, out: ElemType, k: usize) -> f64 {
    let accumulation = 1e-6 + 16.0 * 2f64.powi(-24) * (k as f64).sqrt();
    let inputs = if math == BaselineMath::Tf32 { 2f64.powi(-9) } else { 0.0 };
    let output = match out {
        ElemType::F32 => 0.0,
        ElemType::Bf16 => 2f64.powi(-8),
        ElemType::F16 => 2f64.powi(-11),
    };
    accumulation + inputs + output
}

struct Env {
    base: Baselines,
    stream: Arc<CudaStream>,
}

type Run = Box<dyn Fn(&Env, &mut StdRng) -> Result<String, String>>;

struct Case {
    name: String,
    run: Run,
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn random<T: Host>(len: usize, rng: &mut StdRng) -> Vec<T> {
    (0..len).map(|_| T::from_f64(rng.random_range(-1.0..1.0))).collect()
}

/// Row-major f64 GEMM of the (exactly converted) inputs.
fn reference<T: Host>(a: &[T], b: &[T], m: usize, n: usize, k: usize) -> Vec<f64> {
    let b: Vec<f64> = b.iter().map(|x| x.to_f64()).collect();
    let mut c = vec![0.0f64; m * n];
    for (i, row) in c.chunks_exact_mut(n.max(1)).take(m).enumerate() {
        for p in 0..k {
            let x = a[i * k + p].to_f64();
            for (cj, bj) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *cj += x * bj;
            }
        }
    }
    c
}

fn rel_error<O: Host>(got: &[O], want: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (g, w) in got.iter().zip(want) {
        let g = g.to_f64();
        if !g.is_finite() {
            return f64::INFINITY;
        }
        num += (g - w) * (g - w);
        den += w * w;
    }
    if den == 0.0 { num.sqrt() } else { (num / den).sqrt() }
}

/// Fresh random inputs; C (from element `off` on, with `off` poisoned elements before it and
/// `GUARD` after) poisoned with NaN; one call on views starting at `off`; compare.
fn check<T: Host, O: Host>(
    env: &Env,
    stream: &Arc<CudaStream>,
    baseline: Baseline,
    (m, n, k): (usize, usize, usize),
    off: usize,
    rng: &mut StdRng,
) -> Result<String, String> {
    let (a, b) = (random::<T>(off + m * k, rng), random::<T>(off + k * n, rng));
    let want = reference(&a[off..], &b[off..], m, n, k);
    let da = stream.clone_htod(&a).map_err(text)?;
    let db = stream.clone_htod(&b).map_err(text)?;
    let mut dc = stream.clone_htod(&vec![O::NAN; off + m * n + GUARD]).map_err(text)?;
    let dims = Dims::new(m, n, k);
    env.base
        .gemm(baseline, stream, &da.slice(off..), &db.slice(off..), &mut dc.slice_mut(off..), dims)
        .map_err(text)?;
    let got = stream.clone_dtoh(&dc).map_err(text)?;
    if let Some(i) = got[..off].iter().chain(&got[off + m * n..]).position(|x| !x.to_f64().is_nan()) {
        return Err(format!("wrote outside C (poisoned element {i} of the guards changed)"));
    }
    let (err, tol) = (rel_error(&got[off..off + m * n], &want), tolerance(baseline.math, O::TYPE, k));
    if err <= tol {
        Ok(format!("err {err:.2e} tol {tol:.1e}"))
    } else {
        Err(format!("relative Frobenius error {err:.3e} > tolerance {tol:.1e}"))
    }
}

/// `check` with the element types that `baseline` and `out` name.
fn check_as(env: &Env, s: &Arc<CudaStream>, bl: Baseline, out: ElemType, shape: (usize, usize, usize), off: usize,
            rng: &mut StdRng) -> Result<String, String> {
    match (bl.math.input(), out) {
        (ElemType::F32, ElemType::F32) => check::<f32, f32>(env, s, bl, shape, off, rng),
        (ElemType::Bf16, ElemType::F32) => check::<bf16, f32>(env, s, bl, shape, off, rng),
        (ElemType::Bf16, ElemType::Bf16) => check::<bf16, bf16>(env, s, bl, shape, off, rng),
        (ElemType::F16, ElemType::F32) => check::<f16, f32>(env, s, bl, shape, off, rng),
        (ElemType::F16, ElemType::F16) => check::<f16, f16>(env, s, bl, shape, off, rng),
        (i, o) => Err(format!("no test for {} -> {}", i.tag(), o.tag())),
    }
}

fn cases() -> Vec<Case> {
    use {BaselineMath::*, ElemType as E};
    let mut cases = Vec::new();
    for kind in [BaselineKind::Cublas, BaselineKind::CublasLt] {
        let outs: [(BaselineMath, &[ElemType]); 4] =
            [(Fp32, &[E::F32]), (Tf32, &[E::F32]), (Bf16, &[E::F32, E::Bf16]), (F16, &[E::F32, E::F16])];
        for (math, outs) in outs {
            let bl = Baseline::new(kind, math);
            for &out in outs {
                for shape @ (m, n, k) in SHAPES {
                    cases.push(Case {
                        name: format!("{}->{} {m}x{n}x{k}", bl.label(), out.tag()),
                        run: Box::new(move |env, rng| check_as(env, &env.stream, bl, out, shape, 0, rng)),
                    });
                }
            }
        }
        // Views at odd element offsets: 2- and 4-byte aligned pointers.
        for (math, out, off) in [(Bf16, E::Bf16, 1), (F16, E::F32, 3), (Fp32, E::F32, 1)] {
            let bl = Baseline::new(kind, math);
            cases.push(Case {
                name: format!("{}->{} misaligned views (+{off} elements) 67x45x33", bl.label(), out.tag()),
                run: Box::new(move |env, rng| check_as(env, &env.stream, bl, out, (67, 45, 33), off, rng)),
            });
        }
        let bl = Baseline::new(kind, Bf16);
        cases.push(Case { name: format!("{} zero sizes", bl.label()), run: Box::new(move |env, _| zero_sizes(env, bl)) });
        cases.push(Case {
            name: format!("{} validation errors", bl.label()),
            run: Box::new(move |env, _| validation(env, bl)),
        });
        cases.push(Case {
            name: format!("{}->f32 two streams in flight 16x4096x4096", bl.label()),
            run: Box::new(move |env, rng| two_streams(env, bl, rng)),
        });
    }
    cases
}

/// Two streams share the handle, the cached plan and the cuBLASLt workspace: all four calls
/// are enqueued before any result is read back, so they may overlap on the GPU.
fn two_streams(env: &Env, bl: Baseline, rng: &mut StdRng) -> Result<String, String> {
    let (m, n, k) = (16, 4096, 4096);
    let other = env.base.context().new_stream().map_err(text)?;
    let streams = [&env.stream, &other, &env.stream, &other];
    let inputs: Vec<_> = streams.iter().map(|_| (random::<bf16>(m * k, rng), random::<bf16>(k * n, rng))).collect();
    let mut dev = Vec::new();
    for (s, (a, b)) in streams.iter().zip(&inputs) {
        let c = s.clone_htod(&vec![f32::NAN; m * n]).map_err(text)?;
        dev.push((s.clone_htod(a).map_err(text)?, s.clone_htod(b).map_err(text)?, c));
    }
    for (s, (da, db, dc)) in streams.iter().zip(&mut dev) {
        env.base.gemm(bl, s, da, db, dc, Dims::new(m, n, k)).map_err(text)?;
    }
    let (tol, mut worst) = (tolerance(bl.math, ElemType::F32, k), 0.0f64);
    for ((s, (a, b)), (_, _, dc)) in streams.iter().zip(&inputs).zip(&dev) {
        let err = rel_error(&s.clone_dtoh(dc).map_err(text)?, &reference(a, b, m, n, k));
        if err > tol {
            return Err(format!("relative Frobenius error {err:.3e} > tolerance {tol:.1e}"));
        }
        worst = worst.max(err);
    }
    Ok(format!("worst err {worst:.2e} tol {tol:.1e}"))
}

/// K = 0 zero-fills C (16-bit and f32); M = 0 and N = 0 leave it untouched.
fn zero_sizes(env: &Env, bl: Baseline) -> Result<String, String> {
    let s = &env.stream;
    let a = s.clone_htod(&[bf16::ONE; 16]).map_err(text)?;
    let mut c16 = s.clone_htod(&[bf16::NAN; 12]).map_err(text)?;
    let mut c32 = s.clone_htod(&[f32::NAN; 12]).map_err(text)?;
    env.base.gemm(bl, s, &a, &a, &mut c16, Dims::new(3, 4, 0)).map_err(text)?;
    env.base.gemm(bl, s, &a, &a, &mut c32, Dims::new(4, 3, 0)).map_err(text)?;
    if s.clone_dtoh(&c16).map_err(text)?.iter().any(|x| x.to_f64() != 0.0) {
        return Err("K=0 must zero-fill a bf16 C".into());
    }
    if s.clone_dtoh(&c32).map_err(text)?.iter().any(|x| *x != 0.0) {
        return Err("K=0 must zero-fill an f32 C".into());
    }
    let mut c = s.clone_htod(&[5.0f32; 4]).map_err(text)?;
    for d in [Dims::new(0, 4, 3), Dims::new(4, 0, 3), Dims::new(0, 0, 0)] {
        env.base.gemm(bl, s, &a, &a, &mut c, d).map_err(text)?;
    }
    if s.clone_dtoh(&c).map_err(text)? != vec![5.0; 4] {
        return Err("M=0/N=0 wrote C".into());
    }
    Ok(String::new())
}

/// Argument errors are `InvalidArgument` with a message naming the problem, never a panic.
fn validation(env: &Env, bl: Baseline) -> Result<String, String> {
    let s = &env.stream;
    let a = s.clone_htod(&[bf16::ONE; 64]).map_err(text)?;
    let f = s.clone_htod(&[1.0f32; 64]).map_err(text)?;
    let mut c = s.clone_htod(&[0.0f32; 64]).map_err(text)?;
    let other_ctx = CudaContext::new(0).map_err(text)?;
    let other = other_ctx.new_stream().map_err(text)?;
    let expect = |r: esmm::Result<()>, what: &str, needle: &str| match r {
        Err(Error::InvalidArgument(m)) if m.contains(needle) => Ok(()),
        other => Err(format!("{what}: expected InvalidArgument mentioning `{needle}`, got {other:?}")),
    };
    expect(env.base.gemm(bl, s, &a, &a, &mut c, Dims::new(9, 8, 8)), "short A", "A holds 64")?;
    expect(env.base.gemm(bl, s, &a, &a, &mut c.slice_mut(..63), Dims::new(8, 8, 8)), "short C", "C holds 63")?;
    expect(env.base.gemm(bl, s, &f, &f, &mut c, Dims::new(8, 8, 8)), "f32 inputs", "reads bf16")?;
    expect(env.base.gemm(bl, &other, &a, &a, &mut c, Dims::new(8, 8, 8)), "foreign stream", "another CUDA context")?;
    expect(env.base.gemm(bl, s, &a, &a, &mut c, Dims::new(1 << 16, 1, 1 << 16)), "overflow", "i32::MAX")?;
    Ok(String::new())
}

fn main() {
    let (mut seed, mut filters) = (
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
        Vec::<String>::new(),
    );
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--filter" => filters.extend(args.next()),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            _ => {} // cargo test's own flags
        }
    }
    let mut cases = cases();
    if !filters.is_empty() {
        cases.retain(|c| filters.iter().any(|f| c.name.contains(f.as_str())));
    }
    if !esmm::driver_present() {
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    let env = match CudaContext::new(0).and_then(|ctx| Ok(Env { stream: ctx.new_stream()?, base: Baselines::new(ctx) })) {
        Ok(env) => env,
        Err(e) => {
            println!("FAIL open GPU 0: {e}");
            println!("0 passed, {} failed, 0 skipped", cases.len());
            std::process::exit(1);
        }
    };
    let name = env.base.context().name().unwrap_or_default();
    println!("gpu_baselines: {} cases on {name}, seed {seed}", cases.len());
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let t = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(&env, &mut rng)))
            .unwrap_or_else(|p| {
                let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
                Err(format!("panicked: {}", msg.unwrap_or_default()))
            });
        let ms = t.elapsed().as_secs_f64() * 1e3;
        match r {
            Ok(detail) => {
                passed += 1;
                println!("ok   {} {detail} ({ms:.0} ms)", case.name);
            }
            Err(msg) => {
                failed += 1;
                println!("FAIL {}: {msg} ({ms:.0} ms)", case.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed, 0 skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}
