//! `esmm-tune bench` and `esmm-tune figures`: the benchmark experiments, their common CSV
//! ([`row`]), the printed tables and the charts drawn from the CSVs ([`charts`]).
//!
//! - [`timing`]: device-resident problems, event timing, host wall-clock timing;
//! - [`esmm`]: the esmm family's experiments (density, overhead, fusion, amortization, scaling);
//! - [`dispatch`]: the cost of default dispatch (host µs per call, GPU time vs cuBLAS);
//! - [`tc`]: family tc's experiments (`--dtype bf16|f16|tf32`), written as
//!   `tc_<dtype>_<experiment>.csv`;
//! - [`gemv`]: family gemv's decode experiment (`--experiment decode`), `decode.csv`.
//! - [`rans`]: family rans's compressed-weight decode GEMV (`--experiment rans`), `rans.csv`.

pub mod charts;
pub mod dispatch;
pub mod esmm;
pub mod gemv;
pub mod rans;
pub mod row;
pub mod tc;
pub mod timing;

use crate::{msg, Result};
use ::esmm::workload::{realistic_activations, ActivationsConfig, Workload};
use ::esmm::{Activation, Dims, Esmm};
use row::Row;
use std::path::{Path, PathBuf};

/// The experiments (the first five named after the seed's figures), in the order `all` runs them.
pub const EXPERIMENTS: [&str; 6] = ["density", "overhead", "fusion", "amortization", "scaling", "dispatch"];

/// Densities of the ESMM table.
pub const DENSITIES: [f64; 6] = [1.0, 0.875, 0.75, 0.5, 0.25, 0.125];

/// Arguments of `esmm-tune bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Experiments to run: density, overhead, fusion, amortization, scaling, dispatch, or all;
    /// decode and mlp (family gemv) and rans (family rans) run alone.
    #[arg(long, default_value = "density", value_delimiter = ',')]
    pub experiment: Vec<String>,
    /// Shape of the density/fusion experiments, MxNxK (also N and K of amortization).
    #[arg(long, default_value = "4096x4096x4096", value_parser = crate::parse_shape)]
    pub shape: Dims,
    /// Densities of A and B to sweep.
    #[arg(long, value_delimiter = ',', default_values_t = DENSITIES.to_vec())]
    pub densities: Vec<f64>,
    /// Pin the density of A (B still follows --densities unless --density-b is given).
    #[arg(long)]
    pub density_a: Option<f64>,
    /// Pin the density of B.
    #[arg(long)]
    pub density_b: Option<f64>,
    /// How A is generated.
    #[arg(long, value_enum, default_value = "blockwise")]
    pub workload: WorkloadKind,
    /// Variants: default (dispatcher's choice), default+prepared (prepared B), presets (k10..k30) or full names.
    /// Default for f32 (family esmm): default,default+prepared,k10,k17,k20,k21,k25,k28,k30; for
    /// family tc: default,default+prepared,wgmma-dense,mma-dense,wgmma-sparse,mma-sparse,table,best-sparse
    /// (also known: wgmma-sep, mma-sep, tc_… names).
    #[arg(long, value_delimiter = ',')]
    pub variants: Vec<String>,
    /// Input type: f32 (family esmm, CUDA cores) or bf16, f16, tf32 (family tc, tensor cores).
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Check every variant against a reference before timing it (f64 CPU for small shapes, cuBLAS otherwise).
    #[arg(long)]
    pub check: bool,
    /// Most timed repetitions per measurement (median reported; at least 5).
    #[arg(long, default_value_t = 30)]
    pub reps: u32,
    /// RNG seed of the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory for CSVs and charts.
    #[arg(long, default_value = "bench/results/latest")]
    pub out: PathBuf,
    /// GPU ordinal.
    #[arg(long, default_value_t = 0)]
    pub device: usize,
    /// `--experiment rans`: the 4096×11008 shape only.
    #[arg(long)]
    pub quick: bool,
}

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

impl BenchConfig {
    /// The (A, B) densities of a sweep point `d`, honouring `--density-a` / `--density-b`.
    pub fn pair(&self, d: f64) -> (f64, f64) {
        (self.density_a.unwrap_or(d), self.density_b.unwrap_or(d))
    }
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

/// The esmm variants the density experiment times by default.
pub const ESMM_VARIANTS: [&str; 9] = ["default", "default+prepared", "k10", "k17", "k20", "k21", "k25", "k28", "k30"];

/// The experiments named by `--experiment` (`all` expands), or an error naming the unknown one.
pub fn experiments(requested: &[String]) -> Result<Vec<String>> {
    experiments_of(requested, &EXPERIMENTS)
}

/// [`experiments`] over the experiments `known` of a family.
pub fn experiments_of(requested: &[String], known: &[&str]) -> Result<Vec<String>> {
    if requested.iter().any(|e| e == "all") {
        return Ok(known.iter().map(|s| s.to_string()).collect());
    }
    for e in requested {
        if !known.contains(&e.as_str()) {
            let hint = if e == "fusion" { " (family tc has no fused variants: see overhead and activations)" } else { "" };
            return Err(format!("unknown experiment {e:?}{hint}; known: {}, all", known.join(", ")));
        }
    }
    Ok(requested.to_vec())
}

/// The family of `--dtype`: None for f32 (esmm), else the tc input type.
pub fn tc_dtype(dtype: &str) -> Result<Option<::esmm::ElemType>> {
    match dtype.trim() {
        "f32" => Ok(None),
        "tf32" | "bf16" | "f16" => crate::families::tc::parse_dtype(dtype).map(Some),
        other => Err(format!("unknown dtype {other:?}: f32 (family esmm), bf16, f16 or tf32 (family tc)")),
    }
}

/// Runs one experiment on the GPU, printing its table; returns its rows.
pub fn run_experiment(esmm: &Esmm, cfg: &BenchConfig, experiment: &str) -> Result<Vec<Row>> {
    let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
    // Timing loops use one stream; cudarc's per-use event tracking would only add overhead.
    // SAFETY: every buffer of the bench is used on this one stream only.
    unsafe { esmm.context().disable_event_tracking() };
    match experiment {
        "dispatch" => dispatch::run(esmm, &stream, cfg),
        other => self::esmm::run(esmm, &stream, cfg, other),
    }
}

/// `esmm-tune bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    if args.experiment.iter().any(|e| e == "rans") {
        return rans::run(&args);
    }
    if args.experiment.iter().any(|e| e == "decode" || e == "mlp") {
        return run_decode(&args);
    }
    let tc_type = tc_dtype(&args.dtype)?;
    let experiments = match tc_type {
        None => experiments(&args.experiment)?,
        Some(_) => experiments_of(&args.experiment, &tc::EXPERIMENTS)?,
    };
    if args.densities.iter().chain(&args.density_a).chain(&args.density_b).any(|d| !(0.0..=1.0).contains(d)) {
        return Err("densities must lie in [0, 1]".into());
    }
    if let Some(dtype) = tc_type {
        return run_tc(args, dtype, &experiments);
    }
    let args = BenchArgs { variants: if args.variants.is_empty() { ESMM_VARIANTS.iter().map(|s| s.to_string()).collect() } else { args.variants }, ..args };
    let esmm = crate::open_gpu(args.device)?;
    let cfg = BenchConfig {
        dims: args.shape,
        densities: args.densities,
        density_a: args.density_a,
        density_b: args.density_b,
        workload: args.workload,
        variants: args.variants,
        check: args.check,
        reps: args.reps,
        seed: args.seed,
    };
    let out = &args.out;
    for e in &experiments {
        let rows = run_experiment(&esmm, &cfg, e)?;
        let csv = row::write_csv(out, e, &rows)?;
        eprintln!("wrote {}", csv.display());
        match charts::draw(out, e, &rows) {
            Ok(files) => files.iter().for_each(|f| eprintln!("wrote {}", f.display())),
            Err(err) => eprintln!("warning: charts for {e} not drawn ({err}); run `esmm-tune figures --from {}` elsewhere", out.display()),
        }
    }
    Ok(())
}

/// `esmm-tune bench --experiment decode,mlp`: family gemv's decode GEMV table and sparse-MLP /
/// weight-cache table (bf16), written as `<out>/decode.csv` and `<out>/mlp.csv`. `--shape` 1xNxK restricts it to one weight shape (default: all five).
fn run_decode(args: &BenchArgs) -> Result<()> {
    if args.experiment.iter().any(|e| e != "decode" && e != "mlp") {
        return Err("--experiment decode and mlp (family gemv) run without the other experiments".into());
    }
    let esmm = crate::open_gpu(args.device)?;
    let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
    // SAFETY: every buffer of the bench is used on this one stream only.
    unsafe { esmm.context().disable_event_tracking() };
    let samples = (args.reps as usize).clamp(5, 50);
    if args.experiment.iter().any(|e| e == "decode") {
        let shapes: Vec<(usize, usize)> = if args.shape == Dims::new(4096, 4096, 4096) { gemv::DECODE_SHAPES.to_vec() } else { vec![(args.shape.k, args.shape.n)] };
        let rows = gemv::decode(&esmm, &stream, &shapes, samples, args.seed)?;
        gemv::print_decode(&rows);
        let csv = row::write_csv(&args.out, "decode", &rows)?;
        eprintln!("wrote {}", csv.display());
    }
    if args.experiment.iter().any(|e| e == "mlp") {
        let rows = gemv::mlp(&esmm, &stream, samples, args.seed)?;
        gemv::print_mlp(&rows);
        let csv = row::write_csv(&args.out, "mlp", &rows)?;
        eprintln!("wrote {}", csv.display());
    }
    Ok(())
}

/// `esmm-tune bench --dtype bf16|f16|tf32`: family tc's experiments, each written as
/// `<out>/tc_<dtype>_<experiment>.csv` with its chart.
fn run_tc(args: BenchArgs, dtype: ::esmm::ElemType, experiments: &[String]) -> Result<()> {
    let esmm = crate::open_gpu(args.device)?;
    let cfg = BenchConfig {
        dims: args.shape,
        densities: args.densities,
        density_a: args.density_a,
        density_b: args.density_b,
        workload: args.workload,
        variants: args.variants,
        check: true,
        reps: args.reps,
        seed: args.seed,
    };
    if cfg.workload != WorkloadKind::Blockwise {
        eprintln!("note: family tc uses its own workloads (tc blockwise; realistic activations in --experiment activations); --workload is ignored");
    }
    let out = &args.out;
    let mut failed = Vec::new();
    for e in experiments {
        let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
        // SAFETY: every buffer of the bench is used on this one stream only.
        unsafe { esmm.context().disable_event_tracking() };
        let rows = match tc::run(&esmm, &stream, &cfg, dtype, e) {
            Ok(r) => r,
            Err(err) => {
                eprintln!("error: tc {e}: {err}");
                failed.push(e.clone());
                continue;
            }
        };
        let stem = tc::stem(dtype, e);
        let csv = row::write_csv(out, &stem, &rows)?;
        eprintln!("wrote {}", csv.display());
        match tc::draw(out, &stem, e, &rows) {
            Ok(files) => files.iter().for_each(|f| eprintln!("wrote {}", f.display())),
            Err(err) => eprintln!("warning: charts for {stem} not drawn ({err}); run `esmm-tune figures --from {}` elsewhere", out.display()),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("tc experiments failed: {}", failed.join(", ")))
    }
}

/// `esmm-tune figures`: redraws the charts of every `<experiment>.csv` (and family tc's
/// `tc_<dtype>_<experiment>.csv`) in `from`.
pub fn figures(from: &Path) -> Result<()> {
    let mut any = false;
    for dtype in crate::families::tc::DTYPES {
        for e in tc::EXPERIMENTS {
            let stem = tc::stem(dtype, e);
            let csv = from.join(format!("{stem}.csv"));
            if !csv.exists() {
                continue;
            }
            any = true;
            let rows = row::read_csv(&csv)?;
            for f in tc::draw(from, &stem, e, &rows)? {
                eprintln!("wrote {}", f.display());
            }
        }
    }
    for e in EXPERIMENTS {
        let csv = from.join(format!("{e}.csv"));
        if !csv.exists() {
            continue;
        }
        any = true;
        let rows = row::read_csv(&csv)?;
        for f in charts::draw(from, e, &rows)? {
            eprintln!("wrote {}", f.display());
        }
    }
    if any {
        Ok(())
    } else {
        Err(format!("no <experiment>.csv in {}", from.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiment_names_expand_and_are_checked() {
        assert_eq!(experiments(&["all".into()]).unwrap().len(), EXPERIMENTS.len());
        assert_eq!(experiments(&["dispatch".into()]).unwrap(), vec!["dispatch".to_string()]);
        assert!(experiments(&["density".into(), "nope".into()]).unwrap_err().contains("unknown experiment \"nope\""));
    }

    #[test]
    fn figures_redraw_from_a_written_csv() {
        let dir = std::env::temp_dir().join(format!("esmm-figures-{}", std::process::id()));
        let rows: Vec<Row> = [0.5, 1.0]
            .into_iter()
            .flat_map(|d| ["cublas_sgemm", "default", "k25"].map(|l| row::sample_row(l, 4096, d, 1.0 + d)))
            .collect();
        row::write_csv(&dir, "density", &rows).unwrap();
        figures(&dir).unwrap();
        assert!(dir.join("fig1_density.svg").exists());
        assert!(figures(&dir.join("none")).unwrap_err().contains("no <experiment>.csv"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
