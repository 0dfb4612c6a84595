//! The esmm family's experiments, named after the seed's figures: `density` (speedup over
//! cuBLAS vs density), `overhead` (preprocessing vs compute), `fusion` (fusion vs granularity),
//! `amortization` (prepared weights vs batch) and `scaling` (speedup vs size).
//!
//! Every row carries the common columns (baseline `cublas_sgemm`) and `p20_ms, p80_ms, tflops,
//! rel_err`.

use super::row::{Row, RowContext};
use super::timing::{reps_for, time_runs, DeviceProblem, Timing};
use super::{make_workload, BenchConfig};
use crate::Result;
use esmm::cudarc::driver::CudaStream;
use esmm::{Activation, Baseline, BaselineKind, BaselineMath, Dims, Esmm};
use std::sync::Arc;

/// The baseline every esmm row is compared with.
pub const SGEMM: Baseline = Baseline::new(BaselineKind::Cublas, BaselineMath::Fp32);

/// Dense-equivalent TFLOP/s (2·M·N·K / time).
pub fn tflops(d: Dims, ms: f64) -> f64 {
    2.0 * d.m as f64 * d.n as f64 * d.k as f64 / (ms * 1e-3) / 1e12
}

/// A row of the esmm experiments: the common columns plus `p20_ms, p80_ms, tflops, rel_err`.
pub fn timed_row(ctx: &RowContext, label: &str, variant: &str, t: Timing, err: f64) -> Row {
    let mut r = ctx.row(label, variant, t.median_ms);
    r.set_num("p20_ms", t.p20_ms, 6).set_num("p80_ms", t.p80_ms, 6).set_num("tflops", tflops(ctx.dims, t.median_ms), 3).set_sci("rel_err", err);
    r
}

/// Resolves a variant spelling from the config: (variant override, use prepared B).
pub fn resolve(label: &str) -> (Option<String>, bool) {
    match label {
        "default" => (None, false),
        "default+prepared" => (None, true),
        other => {
            let name = match esmm_codegen::presets::preset(other) {
                Some(p) => p.spec.name(),
                None => other.to_string(),
            };
            let prepared = name.contains("_offb_");
            (Some(name), prepared)
        }
    }
}

/// Times every configured variant plus cuBLAS on one problem; returns rows (cuBLAS rows first).
pub fn measure_problem(
    esmm: &Esmm,
    stream: &Arc<CudaStream>,
    cfg: &BenchConfig,
    experiment: &str,
    labels: &[String],
    problem: &mut DeviceProblem,
    densities: (f64, f64),
) -> Result<Vec<Row>> {
    let d = problem.dims;
    let budget_ms = 1500.0;
    let probe = time_runs(stream, 3, || problem.run_cublas(esmm, stream, BaselineMath::Fp32))?;
    let cublas = time_runs(stream, reps_for(probe.median_ms, budget_ms, cfg.reps.max(20)), || problem.run_cublas(esmm, stream, BaselineMath::Fp32))?;
    let tf32 = time_runs(stream, reps_for(probe.median_ms, budget_ms, cfg.reps), || problem.run_cublas(esmm, stream, BaselineMath::Tf32))?;
    let ctx = RowContext {
        experiment: experiment.into(),
        gpu: esmm.device().name.clone(),
        dtype: "f32".into(),
        dims: d,
        densities,
        baseline: SGEMM.label().into(),
        baseline_ms: cublas.median_ms,
    };
    let tf32_label = Baseline::new(BaselineKind::Cublas, BaselineMath::Tf32).label();
    let mut rows = vec![timed_row(&ctx, SGEMM.label(), SGEMM.label(), cublas, f64::NAN), timed_row(&ctx, tf32_label, tf32_label, tf32, f64::NAN)];
    for label in labels {
        let (variant, prepared) = resolve(label);
        let v = variant.as_deref();
        let mut err = f64::NAN;
        if cfg.check {
            err = match problem.check(esmm, stream, v, Activation::None, prepared) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("  {label}: check failed to run: {e}");
                    continue;
                }
            };
            if !(err <= 1e-5) {
                eprintln!("  {label}: WRONG (relative error {err:.3e}); not timed");
                let none = Timing { median_ms: f64::NAN, p20_ms: f64::NAN, p80_ms: f64::NAN, samples: 0 };
                rows.push(timed_row(&ctx, label, v.unwrap_or("default"), none, err));
                continue;
            }
        }
        if let Err(e) = problem.run(esmm, stream, v, Activation::None, prepared) {
            eprintln!("  {label}: cannot run: {e}");
            continue;
        }
        // Default dispatch may change its choice while the layer learns the densities: report
        // what ran on the last timed call (every timed call ran it once the choice settled).
        let mut ran = String::new();
        let est = time_runs(stream, 3, || problem.run(esmm, stream, v, Activation::None, prepared).map(|_| ()))?;
        let t = time_runs(stream, reps_for(est.median_ms, budget_ms, cfg.reps), || {
            ran = problem.run(esmm, stream, v, Activation::None, prepared)?.unwrap_or("none").to_string();
            Ok(())
        })?;
        rows.push(timed_row(&ctx, label, &ran, t, err));
        // Separate-preprocessing variants also report their pattern kernels and GEMM apart.
        if ran.contains("_sep_") {
            for (stage, st) in problem.time_stages(esmm, stream, &ran, prepared, reps_for(est.median_ms, budget_ms, cfg.reps))? {
                rows.push(timed_row(&ctx, &format!("{label}:{}", stage.suffix()), &ran, st, f64::NAN));
            }
        }
    }
    Ok(rows)
}

/// Prints rows as a table.
pub fn print_rows(rows: &[Row]) {
    println!(
        "{:<18} {:>6} {:>6} {:>16} {:>10} {:>10} {:>8} {:>8}  {}",
        "label", "dA", "dB", "shape", "ms", "base ms", "× base", "TFLOP/s", "variant"
    );
    for r in rows {
        println!(
            "{:<18} {:>6.3} {:>6.3} {:>16} {:>10.4} {:>10.4} {:>8.3} {:>8.2}  {}",
            r.label,
            r.density_a,
            r.density_b,
            format!("{}x{}x{}", r.m, r.n, r.k),
            r.median_ms,
            r.baseline_ms,
            r.ratio,
            r.num("tflops"),
            r.variant
        );
    }
}

/// A row timing `prepare_b` (B-pattern extraction for static weights) on `p`, shaped like `base`.
fn prepare_b_row(esmm: &Esmm, stream: &Arc<CudaStream>, p: &DeviceProblem, base: &Row) -> Result<Row> {
    let t = p.time_prepare_b(esmm, stream, 10)?;
    let mut r = Row { label: "pattern_b".into(), variant: "prepare_b".into(), median_ms: t.median_ms, ratio: base.baseline_ms / t.median_ms, extra: Vec::new(), ..base.clone() };
    r.set_num("p20_ms", t.p20_ms, 6).set_num("p80_ms", t.p80_ms, 6).set_num("tflops", f64::NAN, 3).set_sci("rel_err", f64::NAN);
    Ok(r)
}

/// Runs one of the esmm experiments, printing its tables; returns its rows.
pub fn run(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, experiment: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    match experiment {
        "density" | "fusion" => {
            let labels: Vec<String> = if experiment == "fusion" {
                ["k20", "k21", "k25", "k28", "k30", "default"].map(String::from).to_vec()
            } else {
                cfg.variants.clone()
            };
            let densities: Vec<f64> = if experiment == "fusion" { vec![0.75, 0.5, 0.25, 0.125] } else { cfg.densities.clone() };
            for (i, d) in densities.iter().enumerate() {
                let (da, db) = cfg.pair(*d);
                eprintln!("[{experiment}] {}x{}x{} density A {da} B {db}", cfg.dims.m, cfg.dims.n, cfg.dims.k);
                let host = make_workload(cfg, cfg.dims, da, db, cfg.seed + i as u64);
                let mut p = DeviceProblem::upload(esmm, stream, host, true)?;
                let r = measure_problem(esmm, stream, cfg, experiment, &labels, &mut p, (da, db))?;
                print_rows(&r);
                rows.extend(r);
            }
        }
        "overhead" | "scaling" => {
            let labels: Vec<String> = if experiment == "scaling" {
                ["k17", "k25", "default", "default+prepared"].map(String::from).to_vec()
            } else {
                ["default", "default+prepared", "k20"].map(String::from).to_vec()
            };
            let (da, db) = cfg.pair(0.5);
            for (i, s) in [1024usize, 2048, 4096, 8192, 16384].into_iter().enumerate() {
                let d = Dims::new(s, s, s);
                eprintln!("[{experiment}] {s}^3 density A {da} B {db}");
                let host = make_workload(cfg, d, da, db, cfg.seed + 100 + i as u64);
                let mut p = DeviceProblem::upload(esmm, stream, host, true)?;
                let small = BenchConfig { check: cfg.check && s <= 4096, ..cfg.clone() };
                let mut r = measure_problem(esmm, stream, &small, experiment, &labels, &mut p, (da, db))?;
                if experiment == "overhead" {
                    r.push(prepare_b_row(esmm, stream, &p, &r[0])?);
                }
                print_rows(&r);
                rows.extend(r);
            }
        }
        "amortization" => {
            let (da, db) = cfg.pair(0.5);
            for (i, batch) in [1usize, 16, 128, 512, 2048, 4096].into_iter().enumerate() {
                let d = Dims::new(batch, cfg.dims.n, cfg.dims.k);
                eprintln!("[amortization] batch {batch}");
                let host = make_workload(cfg, d, da, db, cfg.seed + 200 + i as u64);
                let mut p = DeviceProblem::upload(esmm, stream, host, true)?;
                let labels = ["default", "default+prepared"].map(String::from);
                let mut r = measure_problem(esmm, stream, cfg, "amortization", &labels, &mut p, (da, db))?;
                r.push(prepare_b_row(esmm, stream, &p, &r[0])?);
                print_rows(&r);
                rows.extend(r);
            }
        }
        other => return Err(format!("unknown experiment {other:?}; known: {}", super::EXPERIMENTS.join(", "))),
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_to_variants() {
        assert_eq!(resolve("default"), (None, false));
        assert_eq!(resolve("default+prepared"), (None, true));
        let (name, _) = resolve("k25");
        assert!(name.unwrap().starts_with("esmm_"), "presets resolve to full names");
        assert_eq!(resolve("esmm_ab_f32_x_offb_branch_none"), (Some("esmm_ab_f32_x_offb_branch_none".into()), true));
        assert_eq!(SGEMM.label(), "cublas_sgemm");
    }

    #[test]
    fn timed_rows_carry_the_common_and_extra_columns() {
        let ctx = RowContext {
            experiment: "density".into(),
            gpu: "G".into(),
            dtype: "f32".into(),
            dims: Dims::new(1024, 1024, 1024),
            densities: (0.5, 0.5),
            baseline: "cublas_sgemm".into(),
            baseline_ms: 2.0,
        };
        let t = Timing { median_ms: 1.0, p20_ms: 0.9, p80_ms: 1.1, samples: 20 };
        let r = timed_row(&ctx, "k25", "esmm_x", t, 1e-7);
        assert_eq!(r.ratio, 2.0);
        assert_eq!(r.num("p20_ms"), 0.9);
        assert!((r.num("tflops") - tflops(ctx.dims, 1.0)).abs() < 1e-3);
        assert_eq!(r.num("rel_err"), 1e-7);
        assert_eq!(r.extra.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["p20_ms", "p80_ms", "tflops", "rel_err"]);
    }
}
