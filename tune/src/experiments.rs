//! `esmm-tune bench`: the benchmark experiments (the seed's five figures as data), their CSV
//! rows, the printed tables, and the charts drawn from the CSVs.

use crate::bench::{msg, reps_for, time_runs, DeviceProblem, Result, Timing};
use crate::plot::{BarChart, LineChart, Series};
use esmm::gpu::{BlasMath, Esmm};
use esmm::workload::{realistic_activations, ActivationsConfig, Workload};
use esmm::{Activation, Dims};
use std::collections::BTreeMap;
use std::path::Path;

/// The experiments, named after the seed's figures.
pub const EXPERIMENTS: [&str; 5] = ["density", "overhead", "fusion", "amortization", "scaling"];

/// Densities of the ESMM table.
pub const DENSITIES: [f64; 6] = [1.0, 0.875, 0.75, 0.5, 0.25, 0.125];

/// How A is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkloadKind {
    /// The seed's blockwise workload (64-row stripes of A, 32-column stripes of B).
    Blockwise,
    /// A = ReLU(X·W − t) of a random GEMM, tokens grouped by cluster (a fixed permutation); B blockwise.
    Relu,
    /// A = ReLU²(X·W − t), tokens grouped by cluster; B blockwise.
    Relu2,
}

/// Settings shared by the experiments.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Shape of the density / fusion experiments.
    pub dims: Dims,
    /// Densities to sweep (both operands) unless `density_a`/`density_b` pin one.
    pub densities: Vec<f64>,
    /// Fixed A density (overrides the sweep for A).
    pub density_a: Option<f64>,
    /// Fixed B density (overrides the sweep for B).
    pub density_b: Option<f64>,
    /// How A is generated.
    pub workload: WorkloadKind,
    /// Variants to time: `default` (default dispatch), `default+prepared` (with a prepared B),
    /// a preset (`k25`) or a full variant name.
    pub variants: Vec<String>,
    /// Verify every variant against a reference before timing it.
    pub check: bool,
    /// Most timed repetitions per measurement (at least 5 are taken).
    pub reps: u32,
    /// RNG seed.
    pub seed: u64,
}

/// One measured row (one CSV line).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Experiment name.
    pub experiment: String,
    /// What was timed: a variant spelling from the config, `cublas_sgemm`, `cublas_tf32` or a stage.
    pub label: String,
    /// The variant that actually ran (the dispatcher's choice for `default`).
    pub variant: String,
    /// Shape.
    pub m: usize,
    /// Shape.
    pub n: usize,
    /// Shape.
    pub k: usize,
    /// Requested density of A.
    pub density_a: f64,
    /// Requested density of B.
    pub density_b: f64,
    /// Median time, ms.
    pub median_ms: f64,
    /// 20th percentile, ms.
    pub p20_ms: f64,
    /// 80th percentile, ms.
    pub p80_ms: f64,
    /// cuBLAS SGEMM (FP32) median on the same data, ms.
    pub cublas_ms: f64,
    /// Speedup over cuBLAS SGEMM (cublas_ms / median_ms).
    pub ratio: f64,
    /// Dense-equivalent TFLOP/s (2·M·N·K / time).
    pub tflops: f64,
    /// Relative Frobenius error of the check, NaN when not checked.
    pub rel_err: f64,
}

/// CSV header matching [`Row::to_csv`].
pub const CSV_HEADER: &str = "experiment,label,variant,m,n,k,density_a,density_b,median_ms,p20_ms,p80_ms,cublas_ms,ratio,tflops,rel_err";

impl Row {
    /// One CSV line (no newline).
    pub fn to_csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{:.5},{:.5},{:.5},{:.5},{:.4},{:.3},{:.3e}",
            self.experiment, self.label, self.variant, self.m, self.n, self.k, self.density_a, self.density_b,
            self.median_ms, self.p20_ms, self.p80_ms, self.cublas_ms, self.ratio, self.tflops, self.rel_err
        )
    }

    /// Parses a line written by [`Row::to_csv`].
    pub fn from_csv(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 15 {
            return None;
        }
        let num = |i: usize| f[i].parse::<f64>().ok();
        Some(Row {
            experiment: f[0].into(),
            label: f[1].into(),
            variant: f[2].into(),
            m: f[3].parse().ok()?,
            n: f[4].parse().ok()?,
            k: f[5].parse().ok()?,
            density_a: num(6)?,
            density_b: num(7)?,
            median_ms: num(8)?,
            p20_ms: num(9)?,
            p80_ms: num(10)?,
            cublas_ms: num(11)?,
            ratio: num(12)?,
            tflops: num(13)?,
            rel_err: num(14)?,
        })
    }
}

fn tflops(d: Dims, ms: f64) -> f64 {
    2.0 * d.m as f64 * d.n as f64 * d.k as f64 / (ms * 1e-3) / 1e12
}

/// Builds the host problem for one density pair.
pub fn make_workload(cfg: &BenchConfig, d: Dims, density_a: f64, density_b: f64, seed: u64) -> Workload {
    let mut w = Workload::blockwise(d.m, d.n, d.k, density_a, density_b, seed);
    if cfg.workload != WorkloadKind::Blockwise {
        w.a = realistic_activations(&ActivationsConfig {
            m: d.m,
            k: d.k,
            hidden: 64,
            clusters: 16,
            density: density_a,
            activation: if cfg.workload == WorkloadKind::Relu2 { Activation::Relu2 } else { Activation::Relu },
            group_tokens: true,
            seed: seed ^ 0xa5a5,
        });
    }
    w
}

/// Resolves a variant spelling from the config: (variant override, use prepared B).
fn resolve(label: &str) -> Result<(Option<String>, bool)> {
    match label {
        "default" => Ok((None, false)),
        "default+prepared" => Ok((None, true)),
        other => {
            let name = match esmm_codegen::presets::preset(other) {
                Some(p) => p.spec.name(),
                None => other.to_string(),
            };
            let prepared = name.contains("_offb_");
            Ok((Some(name), prepared))
        }
    }
}

/// Times every configured variant plus cuBLAS on one problem; returns rows (cuBLAS rows first).
pub fn measure_problem(
    esmm: &Esmm,
    stream: &std::sync::Arc<esmm::cudarc::driver::CudaStream>,
    cfg: &BenchConfig,
    experiment: &str,
    labels: &[String],
    problem: &mut DeviceProblem,
    densities: (f64, f64),
) -> Result<Vec<Row>> {
    let d = problem.dims;
    let budget_ms = 1500.0;
    let probe = time_runs(stream, 3, || problem.run_cublas(esmm, stream, BlasMath::Fp32))?;
    let cublas = time_runs(stream, reps_for(probe.median_ms, budget_ms, cfg.reps.max(20)), || problem.run_cublas(esmm, stream, BlasMath::Fp32))?;
    let tf32 = time_runs(stream, reps_for(probe.median_ms, budget_ms, cfg.reps), || problem.run_cublas(esmm, stream, BlasMath::Tf32))?;
    let row = |label: &str, variant: &str, t: Timing, err: f64| Row {
        experiment: experiment.into(),
        label: label.into(),
        variant: variant.into(),
        m: d.m,
        n: d.n,
        k: d.k,
        density_a: densities.0,
        density_b: densities.1,
        median_ms: t.median_ms,
        p20_ms: t.p20_ms,
        p80_ms: t.p80_ms,
        cublas_ms: cublas.median_ms,
        ratio: cublas.median_ms / t.median_ms,
        tflops: tflops(d, t.median_ms),
        rel_err: err,
    };
    let mut rows = vec![row("cublas_sgemm", "cublas_sgemm", cublas, f64::NAN), row("cublas_tf32", "cublas_tf32", tf32, f64::NAN)];
    for label in labels {
        let (variant, prepared) = resolve(label)?;
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
                rows.push(row(label, v.unwrap_or("default"), Timing { median_ms: f64::NAN, p20_ms: f64::NAN, p80_ms: f64::NAN, samples: 0 }, err));
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
        rows.push(row(label, &ran, t, err));
        // Separate-preprocessing variants also report their pattern kernels and GEMM apart.
        if ran.contains("_sep_") {
            for (stage, st) in problem.time_stages(esmm, stream, &ran, prepared, reps_for(est.median_ms, budget_ms, cfg.reps))? {
                let part = match stage {
                    esmm_spec::Stage::PatternA => "pattern_a",
                    esmm_spec::Stage::PatternB => "pattern_b",
                    esmm_spec::Stage::Gemm => "gemm",
                };
                rows.push(row(&format!("{label}:{part}"), &ran, st, f64::NAN));
            }
        }
    }
    Ok(rows)
}

fn print_rows(rows: &[Row]) {
    println!(
        "{:<18} {:>6} {:>6} {:>16} {:>10} {:>10} {:>8} {:>8}  {}",
        "label", "dA", "dB", "shape", "ms", "cuBLAS ms", "× cuBLAS", "TFLOP/s", "variant"
    );
    for r in rows {
        println!(
            "{:<18} {:>6.3} {:>6.3} {:>16} {:>10.4} {:>10.4} {:>8.3} {:>8.2}  {}",
            r.label,
            r.density_a,
            r.density_b,
            format!("{}x{}x{}", r.m, r.n, r.k),
            r.median_ms,
            r.cublas_ms,
            r.ratio,
            r.tflops,
            r.variant
        );
    }
}

/// A row timing `prepare_b` (B-pattern extraction for static weights) on `p`, shaped like `base`.
fn prepare_b_row(esmm: &Esmm, stream: &std::sync::Arc<esmm::cudarc::driver::CudaStream>, p: &DeviceProblem, base: &Row) -> Result<Row> {
    let t = p.time_prepare_b(esmm, stream, 10)?;
    Ok(Row {
        label: "pattern_b".into(),
        variant: "prepare_b".into(),
        median_ms: t.median_ms,
        p20_ms: t.p20_ms,
        p80_ms: t.p80_ms,
        ratio: base.cublas_ms / t.median_ms,
        tflops: f64::NAN,
        rel_err: f64::NAN,
        ..base.clone()
    })
}

/// Runs one experiment on the GPU, printing its table; returns its rows.
pub fn run_experiment(esmm: &Esmm, cfg: &BenchConfig, experiment: &str) -> Result<Vec<Row>> {
    let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
    // Timing loops use one stream; cudarc's per-use event tracking would only add overhead.
    // SAFETY: every buffer of the bench is used on this one stream only.
    unsafe { esmm.context().disable_event_tracking() };
    let mut rows = Vec::new();
    let pair = |d: f64| (cfg.density_a.unwrap_or(d), cfg.density_b.unwrap_or(d));
    match experiment {
        "density" | "fusion" => {
            let labels: Vec<String> = if experiment == "fusion" {
                ["k20", "k21", "k25", "k28", "k30", "default"].map(String::from).to_vec()
            } else {
                cfg.variants.clone()
            };
            let densities: Vec<f64> = if experiment == "fusion" { vec![0.75, 0.5, 0.25, 0.125] } else { cfg.densities.clone() };
            for (i, d) in densities.iter().enumerate() {
                let (da, db) = pair(*d);
                eprintln!("[{experiment}] {}x{}x{} density A {da} B {db}", cfg.dims.m, cfg.dims.n, cfg.dims.k);
                let host = make_workload(cfg, cfg.dims, da, db, cfg.seed + i as u64);
                let mut p = DeviceProblem::upload(esmm, &stream, host, true)?;
                let r = measure_problem(esmm, &stream, cfg, experiment, &labels, &mut p, (da, db))?;
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
            let (da, db) = pair(0.5);
            for (i, s) in [1024usize, 2048, 4096, 8192, 16384].into_iter().enumerate() {
                let d = Dims::new(s, s, s);
                eprintln!("[{experiment}] {s}^3 density A {da} B {db}");
                let host = make_workload(cfg, d, da, db, cfg.seed + 100 + i as u64);
                let mut p = DeviceProblem::upload(esmm, &stream, host, true)?;
                let mut r = measure_problem(esmm, &stream, &BenchConfig { check: cfg.check && s <= 4096, ..cfg.clone() }, experiment, &labels, &mut p, (da, db))?;
                if experiment == "overhead" {
                    r.push(prepare_b_row(esmm, &stream, &p, &r[0])?);
                }
                print_rows(&r);
                rows.extend(r);
            }
        }
        "amortization" => {
            let (da, db) = pair(0.5);
            for (i, batch) in [1usize, 16, 128, 512, 2048, 4096].into_iter().enumerate() {
                let d = Dims::new(batch, cfg.dims.n, cfg.dims.k);
                eprintln!("[amortization] batch {batch}");
                let host = make_workload(cfg, d, da, db, cfg.seed + 200 + i as u64);
                let mut p = DeviceProblem::upload(esmm, &stream, host, true)?;
                let labels = ["default", "default+prepared"].map(String::from);
                let mut r = measure_problem(esmm, &stream, cfg, "amortization", &labels, &mut p, (da, db))?;
                r.push(prepare_b_row(esmm, &stream, &p, &r[0])?);
                print_rows(&r);
                rows.extend(r);
            }
        }
        other => return Err(format!("unknown experiment {other:?}; known: {}", EXPERIMENTS.join(", "))),
    }
    Ok(rows)
}

/// Writes rows as `<dir>/<experiment>.csv`.
pub fn write_csv(dir: &Path, experiment: &str, rows: &[Row]) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(msg("creating the output directory"))?;
    let path = dir.join(format!("{experiment}.csv"));
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for r in rows {
        text += &r.to_csv();
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(msg("writing the CSV"))?;
    Ok(path)
}

/// Reads `<dir>/<experiment>.csv` (rows that do not parse are skipped with a warning).
pub fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(msg("reading the CSV"))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        match Row::from_csv(line) {
            Some(r) => rows.push(r),
            None if line.trim().is_empty() => {}
            None => eprintln!("warning: {}:{}: not a bench row, skipped", path.display(), i + 1),
        }
    }
    Ok(rows)
}

fn series_by_label(rows: &[Row], x: impl Fn(&Row) -> f64, y: impl Fn(&Row) -> f64, skip: &[&str]) -> Vec<Series> {
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

/// Draws the chart(s) of one experiment from its rows into `dir`; returns the files written.
pub fn draw(dir: &Path, experiment: &str, rows: &[Row]) -> Result<Vec<std::path::PathBuf>> {
    let err = |e: Box<dyn std::error::Error>| e.to_string();
    // Whole-call rows only: stage rows (`label:stage`) and the pattern-B pass have their own charts.
    // TF32 (a different precision) stays in the CSV and tables but would flatten the fp32 charts.
    let gpu_rows: Vec<Row> = rows
        .iter()
        .filter(|r| r.label != "pattern_b" && r.label != "cublas_tf32" && !r.label.contains(':'))
        .cloned()
        .collect();
    match experiment {
        "density" => LineChart {
            title: "Fig. 1 — speedup over cuBLAS SGEMM vs density".into(),
            x_label: "density of A and B".into(),
            y_label: "speedup over cuBLAS SGEMM (×)".into(),
            log_x: false,
            reference_y: Some(1.0),
            series: series_by_label(&gpu_rows, |r| r.density_a, |r| r.ratio, &["cublas_sgemm"]),
        }
        .render(&dir.join("fig1_density"))
        .map_err(err),
        "fusion" => {
            let mut densities: Vec<f64> = gpu_rows.iter().map(|r| r.density_a).collect();
            densities.sort_by(|a, b| b.total_cmp(a));
            densities.dedup();
            let labels: Vec<String> = {
                let mut l: Vec<String> = gpu_rows.iter().filter(|r| !r.label.starts_with("cublas")).map(|r| r.label.clone()).collect();
                l.dedup();
                l.sort();
                l.dedup();
                l
            };
            BarChart {
                title: "Fig. 3 — fusion vs granularity: time (ms)".into(),
                y_label: "ms".into(),
                groups: densities.iter().map(|d| format!("d={d}")).collect(),
                bars: labels
                    .iter()
                    .map(|l| (l.clone(), densities.iter().map(|d| gpu_rows.iter().find(|r| &r.label == l && r.density_a == *d).map_or(f64::NAN, |r| r.median_ms)).collect()))
                    .collect(),
                stacked: false,
            }
            .render(&dir.join("fig3_fusion"))
            .map_err(err)
        }
        "overhead" => {
            let mut sizes: Vec<usize> = rows.iter().map(|r| r.m).collect();
            sizes.dedup();
            let get = |s: usize, l: &str| rows.iter().find(|r| r.m == s && r.label == l).map_or(f64::NAN, |r| r.median_ms);
            // Share of the call's time, so that every size is readable on one axis.
            let total = |s: usize| ["k20:pattern_a", "k20:pattern_b", "k20:gemm"].iter().map(|l| get(s, l)).sum::<f64>();
            let per_size = |l: &str| -> Vec<f64> { sizes.iter().map(|s| 100.0 * get(*s, l) / total(*s)).collect() };
            BarChart {
                title: "Fig. 2 — preprocessing vs compute, separate kernels (K20, density 0.5)".into(),
                y_label: "% of the call".into(),
                groups: sizes.iter().map(|s| s.to_string()).collect(),
                bars: vec![
                    ("pattern A kernel".into(), per_size("k20:pattern_a")),
                    ("pattern B kernel".into(), per_size("k20:pattern_b")),
                    ("GEMM kernel".into(), per_size("k20:gemm")),
                ],
                stacked: true,
            }
            .render(&dir.join("fig2_overhead"))
            .map_err(err)
        }
        "amortization" => {
            let mut batches: Vec<usize> = rows.iter().map(|r| r.m).collect();
            batches.dedup();
            let get = |b: usize, l: &str| rows.iter().find(|r| r.m == b && r.label == l).map_or(f64::NAN, |r| r.median_ms);
            let pts = |calls: f64| -> Vec<(f64, f64)> {
                batches.iter().map(|b| (*b as f64, 100.0 * get(*b, "pattern_b") / calls / (get(*b, "default+prepared") + get(*b, "pattern_b") / calls))).collect()
            };
            LineChart {
                title: "Fig. 4 — prepare_b (B patterns + density readback) share of a call vs batch".into(),
                x_label: "batch (rows of A)".into(),
                y_label: "B-pattern share of the call (%)".into(),
                log_x: true,
                reference_y: None,
                series: vec![
                    Series { label: "recomputed every call".into(), points: pts(1.0) },
                    Series { label: "prepared once, 100 calls".into(), points: pts(100.0) },
                ],
            }
            .render(&dir.join("fig4_amortization"))
            .map_err(err)
        }
        "scaling" => {
            let mut files = LineChart {
                title: "Fig. 5a — speedup over cuBLAS vs size (density 0.5)".into(),
                x_label: "M = N = K".into(),
                y_label: "speedup (×)".into(),
                log_x: true,
                reference_y: Some(1.0),
                series: series_by_label(&gpu_rows, |r| r.m as f64, |r| r.ratio, &["cublas_sgemm"]),
            }
            .render(&dir.join("fig5_scaling_speedup"))
            .map_err(err)?;
            files.extend(
                LineChart {
                    title: "Fig. 5b — dense-equivalent TFLOP/s vs size (density 0.5)".into(),
                    x_label: "M = N = K".into(),
                    y_label: "TFLOP/s".into(),
                    log_x: true,
                    reference_y: None,
                    series: series_by_label(&gpu_rows, |r| r.m as f64, |r| r.tflops, &[]),
                }
                .render(&dir.join("fig5_scaling_tflops"))
                .map_err(err)?,
            );
            Ok(files)
        }
        other => Err(format!("unknown experiment {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, m: usize, d: f64, ms: f64) -> Row {
        Row {
            experiment: "x".into(),
            label: label.into(),
            variant: "v".into(),
            m,
            n: m,
            k: m,
            density_a: d,
            density_b: d,
            median_ms: ms,
            p20_ms: ms,
            p80_ms: ms,
            cublas_ms: 2.0,
            ratio: 2.0 / ms,
            tflops: 1.0,
            rel_err: f64::NAN,
        }
    }

    #[test]
    fn csv_round_trip() {
        let r = row("k25", 4096, 0.5, 1.25);
        let back = Row::from_csv(&r.to_csv()).unwrap();
        assert_eq!(back.label, "k25");
        assert_eq!(back.m, 4096);
        assert!((back.ratio - 1.6).abs() < 1e-3);
        assert!(back.rel_err.is_nan());
        assert!(Row::from_csv("a,b,c").is_none());
    }

    #[test]
    fn every_experiment_draws_from_rows() {
        let dir = std::env::temp_dir().join(format!("esmm-fig-{}", std::process::id()));
        let mut rows = Vec::new();
        for (i, s) in [1024usize, 2048].into_iter().enumerate() {
            for d in [0.5, 1.0] {
                for l in ["cublas_sgemm", "default", "default+prepared", "pattern_b", "k25", "k20:pattern_a", "k20:pattern_b", "k20:gemm"] {
                    rows.push(row(l, s, d, 1.0 + i as f64 + d));
                }
            }
        }
        for e in EXPERIMENTS {
            let files = draw(&dir, e, &rows).unwrap();
            assert!(!files.is_empty() && files.iter().all(|f| f.exists()), "{e}");
        }
        write_csv(&dir, "density", &rows).unwrap();
        let back = read_csv(&dir.join("density.csv")).unwrap();
        assert_eq!(back.len(), rows.len());
        assert!(back.iter().zip(&rows).all(|(a, b)| a.label == b.label && a.m == b.m && a.median_ms == b.median_ms));
        std::fs::remove_dir_all(&dir).ok();
    }
}
