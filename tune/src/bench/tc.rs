//! The experiments of family tc (`esmm-tune bench --dtype bf16|f16|tf32`), written as
//! `<out>/tc_<dtype>_<experiment>.csv` in the common format (baseline: cuBLAS in the same input
//! type, `cublas_bf16` / `cublas_f16` / `cublas_tf32`, measured in the same process) with the
//! extra columns `status, p20_ms, p80_ms, tflops, rel_err, prepared` and the experiment's own:
//!
//! - `density`: the density table (4096³ unless `--shape`): cuBLAS and cuBLASLt, default
//!   dispatch with and without prepared B, the family's own dense wgmma and dense mma variants,
//!   its default sparse variants, the sparse winners of this GPU's tuned table at the nearest
//!   key, and `best-sparse` (the fastest sparse row of the problem);
//! - `overhead`: per size (1024–16384, density 0.5) the launched stages of the default sparse
//!   variant, with prepared B and separate (`<label>:pattern_a`, `:pattern_b`, `:pack_b`,
//!   `:gemm`), and `tc_prepare_b` (`prepare_b`): pattern-stage cost against GEMM time;
//! - `amortization`: default dispatch with and without prepared B against the batch (M = 1 …
//!   4096), with the one-off `prepare_b`;
//! - `scaling`: speedup and TFLOP/s against size at density 0.5;
//! - `dispatch`: host cost of default dispatch over launching its choice directly (as the esmm
//!   experiment, through `Esmm::tc_planned` / `tc_matmul`);
//! - `activations`: realistic activations (ReLU² of a real GEMM, tokens grouped by cluster,
//!   element density 50 / 25 / 10 %, M = 512, 2048, 8192, K = N = 4096; B dense and tc-blockwise
//!   at 0.5): per granularity variant (`g<a_rows>x<k_gran>`) the fraction of nonzero A blocks it
//!   sees (`pattern_density`) and its time; `best` names the winning granularity.
//! - `fusion` has no tc counterpart (no fused variants): it is refused with a pointer to
//!   `activations` and `overhead`.
//!
//! Every variant is checked against the fp32-output cuBLAS reference before it is timed
//! ([`crate::families::tc::TcProblem::check`]); a variant that fails, cannot run or is not
//! compiled keeps a row with its `status` (`wrong`, `launch_failed`, `invalid`,
//! `not_compiled`) and a NaN time. Variants the build does not embed are compiled at bench time
//! with the tuner's nvcc (wgmma ones for sm_90a).

use super::dispatch::{dispatch_row, HostCost};
use super::row::{Row, RowContext};
use super::timing::{host_us_per_call, host_us_per_call_cpu, reps_for, time_alternating, time_runs, Timing};
use super::BenchConfig;
use crate::families::tc::{self as family, block_density, cublas_math, dtype_label, uses_prepared, RunHow, TcElem, TcProblem};
use crate::plot::{BarChart, LineChart, Series};
use crate::{msg, Result};
use esmm::cudarc::driver::CudaStream;
use esmm::dispatch::tuned::dense_baseline;
use esmm::workload::{realistic_activations, tc_blockwise_b, ActivationsConfig, Workload};
use esmm::{Activation, Baseline, BaselineKind, Dims, ElemType, Esmm, KernelSpec};
use esmm_codegen::families::tc::presets::{sparse, MMA_BF16, MMA_F16, MMA_TF32, WGMMA_BF16, WGMMA_F16, WGMMA_TF32};
use esmm_codegen::families::tc::validate::{A_ROWS, K_GRANS};
use esmm_spec::{TcPath, TcPatterns, TcSparsity, TcSpec};
use half::{bf16, f16};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The experiments of family tc, in the order `all` runs them.
pub const EXPERIMENTS: [&str; 6] = ["density", "overhead", "amortization", "scaling", "dispatch", "activations"];

/// The default variants of the tc density experiment.
pub const DEFAULT_VARIANTS: [&str; 8] = ["default", "default+prepared", "wgmma-dense", "mma-dense", "wgmma-sparse", "mma-sparse", "table", "best-sparse"];

/// Element densities of A in the activations experiment.
pub const ACTIVATION_DENSITIES: [f64; 3] = [0.5, 0.25, 0.1];
/// Batches (M) of the activations experiment.
pub const ACTIVATION_MS: [usize; 3] = [512, 2048, 8192];
/// B densities of the activations experiment (1: dense weights).
pub const ACTIVATION_B: [f64; 2] = [1.0, 0.5];

/// The CSV (and chart) stem of an experiment: `tc_<dtype>_<experiment>`.
pub fn stem(dtype: ElemType, experiment: &str) -> String {
    format!("tc_{}_{experiment}", dtype_label(dtype))
}

/// The default tile of a path and input type.
pub fn default_tile(path: TcPath, dtype: ElemType) -> TcSpec {
    match (path, dtype) {
        (TcPath::Wgmma, ElemType::Bf16) => WGMMA_BF16,
        (TcPath::Wgmma, ElemType::F16) => WGMMA_F16,
        (TcPath::Wgmma, ElemType::F32) => WGMMA_TF32,
        (TcPath::Mma, ElemType::Bf16) => MMA_BF16,
        (TcPath::Mma, ElemType::F16) => MMA_F16,
        (TcPath::Mma, ElemType::F32) => MMA_TF32,
    }
}

/// What a bench label runs: a named variant (`<path>-dense`, `<path>-sparse` = joint with
/// prepared B, `<path>-sep` = joint with separate pattern launches, or a full `tc_…` name), or
/// default dispatch (`default`, `default+prepared`). Errors for labels it does not know.
pub fn resolve(label: &str, dtype: ElemType) -> Result<(Option<TcSpec>, bool)> {
    let named = |path: TcPath, kind: &str| -> TcSpec {
        let t = default_tile(path, dtype);
        match kind {
            "dense" => t,
            "sparse" => sparse(t, TcSparsity::Joint, TcPatterns::PreparedB),
            _ => sparse(t, TcSparsity::Joint, TcPatterns::Separate),
        }
    };
    match label {
        "default" => Ok((None, false)),
        "default+prepared" => Ok((None, true)),
        _ => {
            if let Some((p, kind)) = label.split_once('-') {
                if let (Some(path), true) = (TcPath::from_tag(p), matches!(kind, "dense" | "sparse" | "sep")) {
                    let s = named(path, kind);
                    return Ok((Some(s), uses_prepared(&s)));
                }
            }
            match KernelSpec::from_name(label) {
                Ok(KernelSpec::Tc(s)) if s.dtype == dtype => Ok((Some(s), uses_prepared(&s))),
                Ok(_) => Err(format!("{label} is not a tc variant with {} inputs", dtype_label(dtype))),
                Err(e) => Err(format!("unknown tc variant {label:?} (use default, default+prepared, wgmma-dense, mma-dense, wgmma-sparse, mma-sparse, wgmma-sep, mma-sep, table, best-sparse or a tc_… name): {e}")),
            }
        }
    }
}

/// Makes sure `specs` can run: those the build embeds as they are; the rest compiled now with
/// the tuner's nvcc (and registered). Returns, per spec, None or why it cannot run.
pub fn ensure_variants(esmm: &Esmm, specs: &[TcSpec]) -> Vec<Option<String>> {
    let cc = esmm.device().compute_capability;
    let in_build = |s: &TcSpec| {
        let name = s.name();
        esmm::REGISTRY.iter().any(|e| e.name == name && esmm_codegen::source_hash(&KernelSpec::Tc(*s)).is_ok_and(|h| h == e.source_hash))
    };
    let mut why: Vec<Option<String>> = specs.iter().map(|s| (s.path == TcPath::Wgmma && cc != 90).then(|| format!("wgmma needs sm_90a; this GPU is sm_{cc}"))).collect();
    let missing: Vec<KernelSpec> = specs.iter().zip(&why).filter(|(s, w)| w.is_none() && !in_build(s)).map(|(s, _)| KernelSpec::Tc(*s)).collect();
    if missing.is_empty() {
        return why;
    }
    let nvcc = match crate::compile::find_nvcc(None) {
        Ok(n) => n,
        Err(e) => {
            for (s, w) in specs.iter().zip(why.iter_mut()) {
                if w.is_none() && !in_build(s) {
                    *w = Some(format!("not compiled into this build, and no nvcc to compile it: {e}"));
                }
            }
            return why;
        }
    };
    let cache = PathBuf::from("target/esmm-sweep");
    let compiled = crate::compile::compile_candidates_with(&missing, cc, &nvcc, &cache, false);
    if let Err(e) = esmm.add_variants(compiled.ok.iter().map(|(e, b)| (*e, b.clone())).collect()) {
        eprintln!("warning: registering compiled variants: {e}");
    }
    for f in &compiled.failed {
        if let Some(i) = specs.iter().position(|s| s.name() == f.name) {
            why[i] = Some(format!("did not compile: {}", f.why));
        }
    }
    why
}

/// One row of a tc experiment: the common columns, then `status, p20_ms, p80_ms, tflops,
/// rel_err, prepared`.
pub fn tc_row(ctx: &RowContext, label: &str, variant: &str, status: &str, t: Option<Timing>, rel_err: f64, prepared: bool) -> Row {
    let nan = Timing { median_ms: f64::NAN, p20_ms: f64::NAN, p80_ms: f64::NAN, samples: 0 };
    let t = t.unwrap_or(nan);
    let mut r = ctx.row(label, variant, t.median_ms);
    r.set("status", status)
        .set_num("p20_ms", t.p20_ms, 6)
        .set_num("p80_ms", t.p80_ms, 6)
        .set_num("tflops", super::esmm::tflops(ctx.dims, t.median_ms), 3)
        .set_sci("rel_err", rel_err)
        .set("prepared", if prepared { "yes" } else { "no" });
    r
}

/// What one labelled run of a problem produced.
struct Measured {
    row: Row,
    ok: bool,
}

/// Checks, then times one label on a problem (a failure keeps its row with its status).
#[allow(clippy::too_many_arguments)]
fn measure_label<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, p: &mut TcProblem<T>, ctx: &RowContext, cfg: &BenchConfig, label: &str, spec: Option<&TcSpec>, prepared: bool, unavailable: Option<&str>) -> Result<Measured> {
    let name = spec.map(TcSpec::name);
    let shown = name.clone().unwrap_or_else(|| "default".into());
    if let Some(why) = unavailable {
        eprintln!("  {label}: not run: {why}");
        let mut row = tc_row(ctx, label, &shown, if why.contains("did not compile") { "launch_failed" } else { "not_compiled" }, None, f64::NAN, prepared);
        row.set("detail", why);
        return Ok(Measured { row, ok: false });
    }
    let how = RunHow { variant: name.as_deref(), prepared, layer: spec.is_none() };
    let check = match p.check(esmm, stream, how) {
        Err(e) => {
            let status = family::run_error_status(&e).tag();
            eprintln!("  {label}: cannot run: {e}");
            let mut row = tc_row(ctx, label, &shown, status, None, f64::NAN, prepared);
            row.set("detail", e.to_string());
            return Ok(Measured { row, ok: false });
        }
        Ok(c) => c?,
    };
    if !check.passed() {
        eprintln!("  {label}: WRONG: {}; not timed", check.describe(p.dims.n));
        let mut row = tc_row(ctx, label, &shown, "wrong", None, check.rel_err, prepared);
        row.set("detail", check.describe(p.dims.n));
        return Ok(Measured { row, ok: false });
    }
    // Default dispatch may change its choice while the layer learns the densities: report
    // what ran on the last timed call.
    let mut ran = shown.clone();
    let est = time_runs(stream, 3, || p.run_text(esmm, stream, how))?;
    let t = time_runs(stream, reps_for(est.median_ms, 1500.0, cfg.reps), || {
        ran = p.run(esmm, stream, how, None).map_err(|e| e.to_string())?.unwrap_or("none").to_string();
        Ok(())
    })?;
    Ok(Measured { row: tc_row(ctx, label, &ran, "ok", Some(t), check.rel_err, prepared), ok: true })
}

/// The sparse winners of this GPU's tuned table at the key nearest the problem (up to 3).
fn table_sparse(esmm: &Esmm, dtype: ElemType, d: Dims, density: f64) -> Vec<TcSpec> {
    let Some(t) = esmm.tuned_table() else { return Vec::new() };
    t.ranked(esmm::Family::Tc, dtype, Activation::None, d.m as u64, d.n as u64, d.k as u64, density)
        .into_iter()
        .filter_map(|c| KernelSpec::from_name(&c.variant).ok().and_then(|s| s.as_tc().copied()))
        .filter(|s| s.sparsity != TcSparsity::Dense && s.dtype == dtype && s.activation == Activation::None && !s.col_nnz)
        .take(3)
        .collect()
}

/// Times the baselines and `labels` on one problem; returns rows (baselines first). `table`
/// expands to the tuned table's sparse winners; `best-sparse` adds a copy of the fastest ok
/// sparse row.
#[allow(clippy::too_many_arguments)]
fn measure_problem<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, experiment: &str, labels: &[String], p: &mut TcProblem<T>, densities: (f64, f64)) -> Result<Vec<Row>> {
    let dtype = T::TYPE;
    let d = p.dims;
    let base = dense_baseline(family::FAMILY, dtype);
    let probe = time_runs(stream, 3, || p.run_baseline(esmm, stream, BaselineKind::Cublas))?;
    let cublas = time_runs(stream, reps_for(probe.median_ms, 1500.0, cfg.reps.max(20)), || p.run_baseline(esmm, stream, BaselineKind::Cublas))?;
    let ctx = RowContext { experiment: experiment.into(), gpu: esmm.device().name.clone(), dtype: dtype_label(dtype).into(), dims: d, densities, baseline: base.into(), baseline_ms: cublas.median_ms };
    let mut rows = vec![tc_row(&ctx, base, base, "ok", Some(cublas), f64::NAN, false)];
    let lt = Baseline::new(BaselineKind::CublasLt, cublas_math(dtype)).label();
    match time_runs(stream, reps_for(probe.median_ms, 1500.0, cfg.reps), || p.run_baseline(esmm, stream, BaselineKind::CublasLt)) {
        Ok(t) => rows.push(tc_row(&ctx, lt, lt, "ok", Some(t), f64::NAN, false)),
        Err(e) => {
            eprintln!("  {lt}: {e}");
            rows.push(tc_row(&ctx, lt, lt, "launch_failed", None, f64::NAN, false));
        }
    }
    // Resolve the labels into (label, spec, prepared).
    let mut plan: Vec<(String, Option<TcSpec>, bool)> = Vec::new();
    for l in labels {
        match l.as_str() {
            "best-sparse" => {}
            "table" => plan.extend(table_sparse(esmm, dtype, d, densities.0.min(densities.1)).into_iter().map(|s| (format!("table:{}", s.name()), Some(s), uses_prepared(&s)))),
            other => match resolve(other, dtype) {
                Ok((s, prepared)) => plan.push((other.to_string(), s, prepared)),
                Err(e) => return Err(e),
            },
        }
    }
    let specs: Vec<TcSpec> = plan.iter().filter_map(|(_, s, _)| *s).collect();
    let mut why = ensure_variants(esmm, &specs).into_iter();
    let mut sparse_ok: Vec<Row> = Vec::new();
    for (label, spec, prepared) in &plan {
        let unavailable = if spec.is_some() { why.next().flatten() } else { None };
        let m = measure_label(esmm, stream, p, &ctx, cfg, label, spec.as_ref(), *prepared, unavailable.as_deref())?;
        if m.ok && spec.is_some_and(|s| s.sparsity != TcSparsity::Dense) {
            sparse_ok.push(m.row.clone());
        }
        rows.push(m.row);
    }
    if labels.iter().any(|l| l == "best-sparse") {
        match sparse_ok.iter().min_by(|a, b| a.median_ms.total_cmp(&b.median_ms)) {
            Some(b) => {
                let mut r = b.clone();
                r.set("from", b.label.clone());
                r.label = "best-sparse".into();
                rows.push(r);
            }
            None => rows.push(tc_row(&ctx, "best-sparse", "none", "none_ran", None, f64::NAN, true)),
        }
    }
    Ok(rows)
}

/// Prints rows as a table.
pub fn print_rows(rows: &[Row]) {
    println!("{:<26} {:>6} {:>6} {:>16} {:>10} {:>10} {:>8} {:>8} {:>10}  variant", "label", "dA", "dB", "shape", "ms", "base ms", "× base", "TFLOP/s", "status");
    for r in rows {
        println!(
            "{:<26} {:>6.3} {:>6.3} {:>16} {:>10.4} {:>10.4} {:>8.3} {:>8.1} {:>10}  {}",
            r.label,
            r.density_a,
            r.density_b,
            format!("{}x{}x{}", r.m, r.n, r.k),
            r.median_ms,
            r.baseline_ms,
            r.ratio,
            r.num("tflops"),
            r.text("status").unwrap_or(""),
            r.variant
        );
    }
}

/// The tc blockwise workload of one problem.
fn blockwise(d: Dims, da: f64, db: f64, seed: u64) -> Workload {
    Workload::tc_blockwise(d.m, d.n, d.k, da, db, seed)
}

/// Rows timing each launched stage of `label` (and `tc_prepare_b`), shaped like `base`.
fn stage_rows<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, p: &mut TcProblem<T>, base: &Row, label: &str, spec: &TcSpec, prepared: bool) -> Result<Vec<Row>> {
    let name = spec.name();
    let how = RunHow { variant: Some(&name), prepared, layer: false };
    let mut out = Vec::new();
    for (stage, t) in p.time_stages(esmm, stream, how, 20)? {
        let mut r = Row { label: format!("{label}:{}", stage.suffix()), variant: name.clone(), median_ms: t.median_ms, ratio: base.baseline_ms / t.median_ms, extra: Vec::new(), ..base.clone() };
        r.set("status", "ok").set_num("p20_ms", t.p20_ms, 6).set_num("p80_ms", t.p80_ms, 6).set("prepared", if prepared { "yes" } else { "no" });
        out.push(r);
    }
    Ok(out)
}

/// A row timing `tc_prepare_b` on `p`, shaped like `base`.
fn prepare_row<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, p: &TcProblem<T>, base: &Row) -> Result<Row> {
    let t = p.time_prepare_b(esmm, stream, 10)?;
    let mut r = Row { label: "prepare_b".into(), variant: "tc_prepare_b".into(), median_ms: t.median_ms, ratio: base.baseline_ms / t.median_ms, extra: Vec::new(), ..base.clone() };
    r.set("status", "ok").set_num("p20_ms", t.p20_ms, 6).set_num("p80_ms", t.p80_ms, 6).set_num("b_density", p.prepared_density(), 4);
    Ok(r)
}

/// The primary path of this GPU: wgmma on sm_90, else mma.
fn primary_path(esmm: &Esmm) -> TcPath {
    if esmm.device().compute_capability == 90 {
        TcPath::Wgmma
    } else {
        TcPath::Mma
    }
}

/// The granularity variants of the activations experiment: the primary path's default sparse
/// tile (joint, prepared B) at every valid (a_rows, k_gran).
pub fn granularity_variants(path: TcPath, dtype: ElemType) -> Vec<TcSpec> {
    let base = sparse(default_tile(path, dtype), TcSparsity::Joint, TcPatterns::PreparedB);
    let mut v = Vec::new();
    for a_rows in A_ROWS {
        for k_gran in K_GRANS {
            let s = TcSpec { a_rows, k_gran, ..base };
            if esmm_codegen::validate(&KernelSpec::Tc(s)).is_ok() {
                v.push(s);
            }
        }
    }
    v
}

/// The label of a granularity variant: `g<a_rows>x<k_gran>`.
pub fn granularity_label(s: &TcSpec) -> String {
    format!("g{}x{}", s.a_rows, s.k_gran)
}

/// Marks every row of one problem with the winning granularity (`best`), and returns it.
pub fn mark_best(rows: &mut [Row]) -> Option<String> {
    let best = rows.iter().filter(|r| r.label.starts_with('g') && r.text("status") == Some("ok") && r.median_ms.is_finite()).min_by(|a, b| a.median_ms.total_cmp(&b.median_ms)).map(|r| r.label.clone());
    if let Some(b) = &best {
        for r in rows.iter_mut() {
            r.set("best", b.clone());
        }
    }
    best
}

fn run_typed<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, experiment: &str) -> Result<Vec<Row>> {
    let dtype = T::TYPE;
    let path = primary_path(esmm);
    let tag = path.tag();
    let mut rows = Vec::new();
    match experiment {
        "density" => {
            let labels: Vec<String> = if cfg.variants.is_empty() { DEFAULT_VARIANTS.iter().map(|s| s.to_string()).collect() } else { cfg.variants.clone() };
            let labels: Vec<String> = labels.into_iter().filter(|l| path == TcPath::Wgmma || !l.starts_with("wgmma-")).collect();
            for (i, dens) in cfg.densities.iter().enumerate() {
                let (da, db) = cfg.pair(*dens);
                eprintln!("[tc {} density] {}x{}x{} density A {da} B {db}", dtype_label(dtype), cfg.dims.m, cfg.dims.n, cfg.dims.k);
                let mut p = TcProblem::<T>::upload(esmm, stream, &blockwise(cfg.dims, da, db, cfg.seed + i as u64))?;
                let r = measure_problem(esmm, stream, cfg, "density", &labels, &mut p, (da, db))?;
                print_rows(&r);
                rows.extend(r);
            }
        }
        "overhead" | "scaling" => {
            let (da, db) = cfg.pair(0.5);
            let labels: Vec<String> = if experiment == "scaling" {
                vec!["default+prepared".into(), "default".into(), format!("{tag}-sparse"), format!("{tag}-dense")]
            } else {
                vec!["default+prepared".into(), format!("{tag}-sparse"), format!("{tag}-sep")]
            };
            for (i, s) in [1024usize, 2048, 4096, 8192, 16384].into_iter().enumerate() {
                let d = Dims::new(s, s, s);
                eprintln!("[tc {} {experiment}] {s}^3 density A {da} B {db}", dtype_label(dtype));
                let mut p = TcProblem::<T>::upload(esmm, stream, &blockwise(d, da, db, cfg.seed + 100 + i as u64))?;
                let mut r = measure_problem(esmm, stream, cfg, experiment, &labels, &mut p, (da, db))?;
                if experiment == "overhead" {
                    let base = r[0].clone();
                    for l in [format!("{tag}-sparse"), format!("{tag}-sep")] {
                        let ok = r.iter().any(|x| x.label == l && x.text("status") == Some("ok"));
                        let (Some(spec), prepared) = resolve(&l, dtype)? else { continue };
                        if ok {
                            r.extend(stage_rows(esmm, stream, &mut p, &base, &l, &spec, prepared)?);
                        }
                    }
                    r.push(prepare_row(esmm, stream, &p, &base)?);
                }
                print_rows(&r);
                rows.extend(r);
            }
        }
        "amortization" => {
            let (da, db) = cfg.pair(0.5);
            for (i, batch) in [1usize, 16, 128, 512, 2048, 4096].into_iter().enumerate() {
                let d = Dims::new(batch, cfg.dims.n, cfg.dims.k);
                eprintln!("[tc {} amortization] batch {batch}", dtype_label(dtype));
                let mut p = TcProblem::<T>::upload(esmm, stream, &blockwise(d, da, db, cfg.seed + 200 + i as u64))?;
                let labels = ["default", "default+prepared"].map(String::from);
                let mut r = measure_problem(esmm, stream, cfg, "amortization", &labels, &mut p, (da, db))?;
                let base = r[0].clone();
                r.push(prepare_row(esmm, stream, &p, &base)?);
                print_rows(&r);
                rows.extend(r);
            }
        }
        "dispatch" => {
            for (i, &(m, n, k)) in super::dispatch::SHAPES.iter().enumerate() {
                for (j, &dens) in super::dispatch::DENSITIES.iter().enumerate() {
                    let (da, db) = cfg.pair(dens);
                    eprintln!("[tc {} dispatch] {m}x{n}x{k} density A {da} B {db}", dtype_label(dtype));
                    let mut p = TcProblem::<T>::upload(esmm, stream, &blockwise(Dims::new(m, n, k), da, db, cfg.seed + 300 + (i * 2 + j) as u64))?;
                    match dispatch_one(esmm, stream, cfg, &mut p, (da, db)) {
                        Ok(r) => rows.push(r),
                        Err(e) => eprintln!("  {m}x{n}x{k} d={dens}: not measured: {e}"),
                    }
                }
            }
            super::dispatch::print_rows(&rows);
        }
        "activations" => {
            let grans = granularity_variants(path, dtype);
            let why = ensure_variants(esmm, &grans);
            let b_densities: Vec<f64> = cfg.density_b.map_or(ACTIVATION_B.to_vec(), |b| vec![b]);
            let (n, k) = (cfg.dims.n, cfg.dims.k);
            for (i, &m) in ACTIVATION_MS.iter().enumerate() {
                for (j, &elem) in ACTIVATION_DENSITIES.iter().enumerate() {
                    let seed = cfg.seed + 400 + (i * 8 + j) as u64;
                    let a = realistic_activations(&ActivationsConfig { m, k, hidden: 64, clusters: 16, density: elem, activation: Activation::Relu2, group_tokens: true, seed });
                    for &db in &b_densities {
                        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xb0b);
                        let b = tc_blockwise_b(k, n, db, &mut rng);
                        eprintln!("[tc {} activations] M={m} N={n} K={k} A: ReLU², element density {elem}; B density {db}", dtype_label(dtype));
                        let w = Workload { m, n, k, a: a.clone(), b };
                        let mut p = TcProblem::<T>::upload(esmm, stream, &w)?;
                        let labels: Vec<String> = vec!["default+prepared".into(), format!("{tag}-dense")];
                        let mut r = measure_problem(esmm, stream, cfg, "activations", &labels, &mut p, (elem, db))?;
                        let ctx = RowContext { experiment: "activations".into(), gpu: esmm.device().name.clone(), dtype: dtype_label(dtype).into(), dims: p.dims, densities: (elem, db), baseline: r[0].baseline.clone(), baseline_ms: r[0].baseline_ms };
                        for (s, why) in grans.iter().zip(&why) {
                            let label = granularity_label(s);
                            let mut mrow = measure_label(esmm, stream, &mut p, &ctx, cfg, &label, Some(s), true, why.as_deref())?.row;
                            mrow.set_num("pattern_density", block_density(&p.host_a, m, k, s.a_rows as usize, s.k_gran as usize), 4).set("a_rows", s.a_rows.to_string()).set("k_gran", s.k_gran.to_string());
                            r.push(mrow);
                        }
                        let elem_density = p.host_a.iter().filter(|v| v.to_f64() != 0.0).count() as f64 / p.host_a.len().max(1) as f64;
                        for row in r.iter_mut() {
                            row.set_num("a_element_density", elem_density, 4).set_num("b_density", p.prepared_density(), 4);
                        }
                        let best = mark_best(&mut r);
                        print_rows(&r);
                        println!("  pattern density at a_rows × k_gran, and time:");
                        for row in r.iter().filter(|x| x.label.starts_with('g')) {
                            println!("    {:<8} pattern density {:>6.3}  {:>9.4} ms  {:>6.2}× {}  {}", row.label, row.num("pattern_density"), row.median_ms, row.ratio, row.baseline, row.text("status").unwrap_or(""));
                        }
                        println!("  winner: {}", best.as_deref().unwrap_or("none (no granularity variant ran)"));
                        rows.extend(r);
                    }
                }
            }
        }
        "fusion" => return Err("experiment fusion has no tc counterpart (family tc has no fused variants); see --experiment overhead (pattern stages vs GEMM) and activations (granularity)".into()),
        other => return Err(format!("unknown tc experiment {other:?}; known: {}", EXPERIMENTS.join(", "))),
    }
    Ok(rows)
}

/// The dispatch experiment's measurement of one shape (see `super::dispatch`): host µs of the
/// plan lookup, of default dispatch and of its choice launched directly, and GPU time against
/// cuBLAS in the type, through one layer with prepared B.
fn dispatch_one<T: TcElem>(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, p: &mut TcProblem<T>, densities: (f64, f64)) -> Result<Row> {
    let dflt = RunHow { variant: None, prepared: true, layer: true };
    let rel_err = match p.check(esmm, stream, dflt).map_err(|e| e.to_string())? {
        Ok(c) => {
            if !c.passed() {
                eprintln!("  default dispatch: WRONG: {}", c.describe(p.dims.n));
            }
            c.rel_err
        }
        Err(e) => return Err(e),
    };
    let mut ran = "none";
    for round in 0..6 {
        for _ in 0..64 {
            ran = p.run(esmm, stream, dflt, None).map_err(|e| e.to_string())?.unwrap_or("none");
        }
        stream.synchronize().map_err(msg("synchronizing"))?;
        if round >= 1 && p.planned(esmm, true)? == ran {
            break;
        }
    }
    let cublas_label = dense_baseline(family::FAMILY, T::TYPE);
    let plan_us = host_us_per_call_cpu(9, 2000, || p.planned(esmm, true).map(|_| ()))?;
    let direct_spec = KernelSpec::from_name(ran).ok().and_then(|s| s.as_tc().copied());
    let direct = RunHow { variant: Some(ran), prepared: direct_spec.as_ref().is_none_or(uses_prepared), layer: false };
    let (host, overhead_us) = host_us_per_call(stream, 41, 100, 2, |way| match way {
        0 => p.run_text(esmm, stream, dflt),
        _ if ran == cublas_label => p.run_baseline(esmm, stream, BaselineKind::Cublas),
        _ => p.run_text(esmm, stream, direct),
    })?;
    let probe = time_runs(stream, 3, || p.run_baseline(esmm, stream, BaselineKind::Cublas))?;
    let reps = reps_for(probe.median_ms, 500.0, cfg.reps.max(20));
    let (default, cublas) = time_alternating(stream, 3, reps, |way| match way {
        0 => p.run_text(esmm, stream, dflt),
        _ => p.run_baseline(esmm, stream, BaselineKind::Cublas),
    })?;
    let ctx = RowContext { experiment: "dispatch".into(), gpu: esmm.device().name.clone(), dtype: dtype_label(T::TYPE).into(), dims: p.dims, densities, baseline: cublas_label.into(), baseline_ms: cublas.median_ms };
    Ok(dispatch_row(&ctx, ran, default, HostCost { plan_us, dispatch_us: host[0], direct_us: host[1], overhead_us }, rel_err))
}

/// Runs one tc experiment for input type `dtype`, printing its tables; returns its rows.
pub fn run(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, dtype: ElemType, experiment: &str) -> Result<Vec<Row>> {
    match dtype {
        ElemType::Bf16 => run_typed::<bf16>(esmm, stream, cfg, experiment),
        ElemType::F16 => run_typed::<f16>(esmm, stream, cfg, experiment),
        ElemType::F32 => run_typed::<f32>(esmm, stream, cfg, experiment),
    }
}

/// Whole-call rows (no stage rows, no `prepare_b`).
fn calls(rows: &[Row]) -> Vec<&Row> {
    rows.iter().filter(|r| !r.label.contains(':') && r.label != "prepare_b").collect()
}

fn series(rows: &[&Row], x: impl Fn(&Row) -> f64, y: impl Fn(&Row) -> f64, skip: &[&str]) -> Vec<Series> {
    let mut map: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !skip.contains(&r.label.as_str())) {
        map.entry(r.label.clone()).or_default().push((x(r), y(r)));
    }
    map.into_iter()
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { label, points }
        })
        .collect()
}

/// Draws the chart(s) of one tc experiment (`stem` = `tc_<dtype>_<experiment>`) into `dir`.
pub fn draw(dir: &Path, stem: &str, experiment: &str, rows: &[Row]) -> Result<Vec<PathBuf>> {
    let err = |e: Box<dyn std::error::Error>| e.to_string();
    let dtype = rows.first().map_or("tc".to_string(), |r| r.dtype.clone());
    let base = rows.first().map_or("cuBLAS".to_string(), |r| r.baseline.clone());
    let whole = calls(rows);
    match experiment {
        "density" => LineChart {
            title: format!("tc {dtype}: speedup over {base} vs density ({}x{}x{})", whole.first().map_or(0, |r| r.m), whole.first().map_or(0, |r| r.n), whole.first().map_or(0, |r| r.k)),
            x_label: "density of A and B".into(),
            y_label: format!("speedup over {base} (×)"),
            log_x: false,
            reference_y: Some(1.0),
            series: series(&whole, |r| r.density_a, |r| r.ratio, &[base.as_str()]),
        }
        .render(&dir.join(stem))
        .map_err(err),
        "overhead" => {
            let mut sizes: Vec<usize> = rows.iter().map(|r| r.m).collect();
            sizes.dedup();
            let staged = rows.iter().find(|r| r.label.ends_with(":gemm") && r.label.contains("-sep")).or_else(|| rows.iter().find(|r| r.label.ends_with(":gemm"))).map(|r| r.label.trim_end_matches(":gemm").to_string()).unwrap_or_default();
            let get = |s: usize, l: &str| rows.iter().find(|r| r.m == s && r.label == l).map_or(0.0, |r| r.median_ms);
            let stages = ["pack_a", "pack_b", "pattern_a", "pattern_b", "gemm"];
            let total = |s: usize| stages.iter().map(|st| get(s, &format!("{staged}:{st}"))).sum::<f64>();
            BarChart {
                title: format!("tc {dtype}: launched stages of {staged} (density 0.5), share of the call"),
                y_label: "% of the call".into(),
                groups: sizes.iter().map(|s| s.to_string()).collect(),
                bars: stages.iter().map(|st| (st.to_string(), sizes.iter().map(|s| 100.0 * get(*s, &format!("{staged}:{st}")) / total(*s)).collect())).collect(),
                stacked: true,
            }
            .render(&dir.join(stem))
            .map_err(err)
        }
        "amortization" => {
            let mut batches: Vec<usize> = rows.iter().map(|r| r.m).collect();
            batches.dedup();
            let get = |b: usize, l: &str| rows.iter().find(|r| r.m == b && r.label == l).map_or(f64::NAN, |r| r.median_ms);
            let pts = |calls: f64| -> Vec<(f64, f64)> { batches.iter().map(|b| (*b as f64, 100.0 * get(*b, "prepare_b") / calls / (get(*b, "default+prepared") + get(*b, "prepare_b") / calls))).collect() };
            LineChart {
                title: format!("tc {dtype}: prepare_b share of a call vs batch"),
                x_label: "batch (rows of A)".into(),
                y_label: "prepare_b share of the call (%)".into(),
                log_x: true,
                reference_y: None,
                series: vec![Series { label: "recomputed every call".into(), points: pts(1.0) }, Series { label: "prepared once, 100 calls".into(), points: pts(100.0) }],
            }
            .render(&dir.join(stem))
            .map_err(err)
        }
        "scaling" => LineChart {
            title: format!("tc {dtype}: speedup over {base} vs size (density 0.5)"),
            x_label: "M = N = K".into(),
            y_label: "speedup (×)".into(),
            log_x: true,
            reference_y: Some(1.0),
            series: series(&whole, |r| r.m as f64, |r| r.ratio, &[base.as_str()]),
        }
        .render(&dir.join(stem))
        .map_err(err),
        "dispatch" => BarChart {
            title: format!("tc {dtype} default dispatch: host µs per call; N = K = 4096"),
            y_label: "µs per call".into(),
            groups: rows.iter().map(|r| format!("M={} d={}", r.m, r.density_a)).collect(),
            bars: [("plan lookup (tc_planned)", "plan_us"), ("default dispatch (tc_matmul)", "dispatch_us"), ("chosen kernel directly", "direct_us")].iter().map(|(l, c)| (l.to_string(), rows.iter().map(|r| r.num(c)).collect())).collect(),
            stacked: false,
        }
        .render(&dir.join(stem))
        .map_err(err),
        "activations" => {
            let mut groups: Vec<(usize, f64, f64)> = whole.iter().map(|r| (r.m, r.density_a, r.density_b)).collect();
            groups.dedup();
            let mut labels: Vec<String> = whole.iter().filter(|r| r.label.starts_with('g') || r.label.ends_with("-dense") || r.label == "default+prepared").map(|r| r.label.clone()).collect();
            labels.sort();
            labels.dedup();
            BarChart {
                title: format!("tc {dtype}: ReLU² activations, speedup over {base} per granularity (a_rows × k_gran)"),
                y_label: "speedup (×)".into(),
                groups: groups.iter().map(|(m, a, b)| format!("M={m} A={a} B={b}")).collect(),
                bars: labels.iter().map(|l| (l.clone(), groups.iter().map(|g| whole.iter().find(|r| (r.m, r.density_a, r.density_b) == *g && &r.label == l).map_or(f64::NAN, |r| r.ratio)).collect())).collect(),
                stacked: false,
            }
            .render(&dir.join(stem))
            .map_err(err)
        }
        other => Err(format!("unknown tc experiment {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::row::{parse_csv, to_csv, COMMON_COLUMNS};

    #[test]
    fn labels_resolve_per_type() {
        assert_eq!(resolve("default", ElemType::Bf16).unwrap(), (None, false));
        assert_eq!(resolve("default+prepared", ElemType::F16).unwrap(), (None, true));
        let (s, prepared) = resolve("wgmma-dense", ElemType::F32).unwrap();
        let s = s.unwrap();
        assert_eq!((s.path, s.dtype, s.sparsity, prepared), (TcPath::Wgmma, ElemType::F32, TcSparsity::Dense, true));
        let (s, prepared) = resolve("mma-sep", ElemType::Bf16).unwrap();
        assert_eq!((s.unwrap().patterns, prepared), (TcPatterns::Separate, false));
        let (s, prepared) = resolve("wgmma-sparse", ElemType::Bf16).unwrap();
        let s = s.unwrap();
        assert_eq!((s.patterns, prepared), (TcPatterns::PreparedB, true));
        assert_eq!(resolve(&s.name(), ElemType::Bf16).unwrap(), (Some(s), true));
        assert!(resolve(&s.name(), ElemType::F16).unwrap_err().contains("f16"));
        assert!(resolve("k25", ElemType::Bf16).is_err());
        assert!(resolve("nope", ElemType::Bf16).unwrap_err().contains("unknown tc variant"));
        assert_eq!(stem(ElemType::F32, "density"), "tc_tf32_density");
    }

    #[test]
    fn granularity_variants_are_valid_and_distinct() {
        for path in TcPath::ALL {
            for t in family::DTYPES {
                let v = granularity_variants(path, t);
                assert!(v.len() >= 6, "{path:?} {t:?}: {}", v.len());
                let labels: Vec<String> = v.iter().map(granularity_label).collect();
                let mut dedup = labels.clone();
                dedup.dedup();
                assert_eq!(labels, dedup);
                assert!(labels.contains(&format!("g64x{}", default_tile(path, t).bk.min(64))), "{labels:?}");
            }
        }
    }

    fn ctx() -> RowContext {
        RowContext { experiment: "activations".into(), gpu: "NVIDIA H200".into(), dtype: "bf16".into(), dims: Dims::new(512, 4096, 4096), densities: (0.25, 1.0), baseline: "cublas_bf16".into(), baseline_ms: 0.1 }
    }

    #[test]
    fn rows_have_the_common_columns_and_the_winner() {
        let c = ctx();
        let t = |ms| Some(Timing { median_ms: ms, p20_ms: ms, p80_ms: ms, samples: 20 });
        let mut rows = vec![
            tc_row(&c, "cublas_bf16", "cublas_bf16", "ok", t(0.1), f64::NAN, false),
            tc_row(&c, "g64x64", "tc_x", "ok", t(0.08), 1e-3, true),
            tc_row(&c, "g16x16", "tc_y", "ok", t(0.05), 1e-3, true),
            tc_row(&c, "g32x16", "tc_z", "wrong", None, 0.3, true),
        ];
        rows[1].set_num("pattern_density", 0.9, 4);
        rows[2].set_num("pattern_density", 0.4, 4);
        assert_eq!(mark_best(&mut rows).as_deref(), Some("g16x16"));
        let text = to_csv(&rows);
        let header = text.lines().next().unwrap();
        assert!(header.starts_with(&COMMON_COLUMNS.join(",")), "{header}");
        assert!(header.contains(",status,") && header.contains(",pattern_density") && header.contains(",best"), "{header}");
        let (back, skipped) = parse_csv(&text).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(back[2].ratio, 2.0);
        assert_eq!(back[2].num("pattern_density"), 0.4);
        assert_eq!(back[3].text("status"), Some("wrong"));
        assert!(back[3].median_ms.is_nan(), "a failing variant keeps its row with no time");
        assert!(back.iter().all(|r| r.text("best") == Some("g16x16") && r.dtype == "bf16"));
        let dir = std::env::temp_dir().join(format!("esmm-tc-fig-{}", std::process::id()));
        for e in ["density", "scaling", "activations"] {
            let files = draw(&dir, &stem(ElemType::Bf16, e), e, &back).unwrap();
            assert!(files.iter().all(|f| f.exists()), "{e}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
