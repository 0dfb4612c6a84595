//! `esmm-tune`: benchmark, autotuner and reports for esmm kernels.
//!
//! - `bench`: the seed's experiments as tables, CSV and charts, ratios to cuBLAS in the same run.
//! - `figures`: redraws the charts from CSVs written by `bench` (e.g. on a machine with fonts).
//! - `sweep`: times the sweep set on the present GPU and writes `tune/tables/<gpu>.json`.
//! - `report`: renders a tuned table as a summary and pictures.

mod bench;
mod compile;
mod experiments;
mod plot;
mod sweep;

use clap::{Parser, Subcommand};
use esmm::{Dims, Esmm};
use experiments::{BenchConfig, WorkloadKind, DENSITIES, EXPERIMENTS};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "esmm-tune", version, about = "Benchmark, autotune and report esmm kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Times variants against cuBLAS SGEMM (and TF32) in the same process; prints tables,
    /// writes `<out>/<experiment>.csv` and charts (SVG + PNG).
    Bench {
        /// Experiments to run: density, overhead, fusion, amortization, scaling, or all.
        #[arg(long, default_value = "density", value_delimiter = ',')]
        experiment: Vec<String>,
        /// Shape of the density/fusion experiments, MxNxK (also N and K of amortization).
        #[arg(long, default_value = "4096x4096x4096", value_parser = parse_shape)]
        shape: Dims,
        /// Densities of A and B to sweep.
        #[arg(long, value_delimiter = ',', default_values_t = DENSITIES.to_vec())]
        densities: Vec<f64>,
        /// Pin the density of A (B still follows --densities unless --density-b is given).
        #[arg(long)]
        density_a: Option<f64>,
        /// Pin the density of B.
        #[arg(long)]
        density_b: Option<f64>,
        /// How A is generated.
        #[arg(long, value_enum, default_value = "blockwise")]
        workload: WorkloadKind,
        /// Variants: default (dispatcher's choice), default+prepared (prepared B), presets (k10..k30) or full names.
        #[arg(long, value_delimiter = ',', default_value = "default,default+prepared,k10,k17,k20,k21,k25,k28,k30")]
        variants: Vec<String>,
        /// Check every variant against a reference before timing it (f64 CPU for small shapes, cuBLAS otherwise).
        #[arg(long)]
        check: bool,
        /// Most timed repetitions per measurement (median reported; at least 5).
        #[arg(long, default_value_t = 30)]
        reps: u32,
        /// RNG seed of the workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory for CSVs and charts.
        #[arg(long, default_value = "bench/results/latest")]
        out: PathBuf,
        /// GPU ordinal.
        #[arg(long, default_value_t = 0)]
        device: usize,
    },
    /// Redraws charts from the CSVs in a directory written by `bench`.
    Figures {
        /// Directory holding `<experiment>.csv` files.
        #[arg(long, default_value = "bench/results/latest")]
        from: PathBuf,
    },
    /// Sweeps variants on this GPU and records every candidate in a tuned table.
    Sweep(sweep::SweepArgs),
    /// Renders a tuned table as a text summary and pictures.
    Report(sweep::ReportArgs),
}

fn parse_shape(s: &str) -> Result<Dims, String> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    if parts.len() != 3 {
        return Err(format!("shape {s:?} must be MxNxK, e.g. 4096x4096x4096"));
    }
    let p = |t: &str| t.trim().parse::<usize>().map_err(|_| format!("shape {s:?}: {t:?} is not a whole number"));
    let d = Dims::new(p(parts[0])?, p(parts[1])?, p(parts[2])?);
    if d.m == 0 || d.n == 0 || d.k == 0 {
        return Err(format!("shape {s:?}: dimensions must be at least 1"));
    }
    d.check().map_err(|e| e.to_string())?;
    Ok(d)
}

fn open_gpu(device: usize) -> Result<Esmm, String> {
    let esmm = Esmm::new(device).map_err(|e| e.to_string())?;
    let d = esmm.device();
    eprintln!("GPU {}: {} (sm_{}, {} SMs)", d.ordinal, d.name, d.compute_capability, d.sm_count);
    Ok(esmm)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Bench { experiment, shape, densities, density_a, density_b, workload, variants, check, reps, seed, out, device } => {
            let experiments: Vec<String> = if experiment.iter().any(|e| e == "all") {
                EXPERIMENTS.iter().map(|s| s.to_string()).collect()
            } else {
                experiment
            };
            for e in &experiments {
                if !EXPERIMENTS.contains(&e.as_str()) {
                    return Err(format!("unknown experiment {e:?}; known: {}, all", EXPERIMENTS.join(", ")));
                }
            }
            if densities.iter().chain(&density_a).chain(&density_b).any(|d| !(0.0..=1.0).contains(d)) {
                return Err("densities must lie in [0, 1]".into());
            }
            let esmm = open_gpu(device)?;
            let cfg = BenchConfig { dims: shape, densities, density_a, density_b, workload, variants, check, reps, seed };
            for e in &experiments {
                let rows = experiments::run_experiment(&esmm, &cfg, e)?;
                let csv = experiments::write_csv(&out, e, &rows)?;
                eprintln!("wrote {}", csv.display());
                match experiments::draw(&out, e, &rows) {
                    Ok(files) => files.iter().for_each(|f| eprintln!("wrote {}", f.display())),
                    Err(err) => eprintln!("warning: charts for {e} not drawn ({err}); run `esmm-tune figures --from {}` elsewhere", out.display()),
                }
            }
            Ok(())
        }
        Command::Figures { from } => {
            let mut any = false;
            for e in EXPERIMENTS {
                let csv = from.join(format!("{e}.csv"));
                if !csv.exists() {
                    continue;
                }
                any = true;
                let rows = experiments::read_csv(&csv)?;
                for f in experiments::draw(&from, e, &rows)? {
                    eprintln!("wrote {}", f.display());
                }
            }
            if any {
                Ok(())
            } else {
                Err(format!("no <experiment>.csv in {}", from.display()))
            }
        }
        Command::Sweep(args) => sweep::sweep(args),
        Command::Report(args) => sweep::report(args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_or_explain() {
        assert_eq!(parse_shape("4096x11008x4096").unwrap(), Dims::new(4096, 11008, 4096));
        assert_eq!(parse_shape("1X2x3").unwrap(), Dims::new(1, 2, 3));
        for bad in ["4096x4096", "4096xax1", "0x1x1", "", "70000x70000x70000"] {
            let e = parse_shape(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse_shape("0x1x1").unwrap_err().contains("at least 1"));
    }

    #[test]
    fn cli_rejects_bad_arguments_without_a_gpu() {
        assert!(Cli::try_parse_from(["esmm-tune", "bench", "--shape", "12"]).is_err());
        assert!(Cli::try_parse_from(["esmm-tune", "bench", "--workload", "nope"]).is_err());
        assert!(Cli::try_parse_from(["esmm-tune", "bench", "--experiment", "density,scaling"]).is_ok());
        // Unknown experiments and out-of-range densities are refused before any GPU work.
        let e = run(Cli::try_parse_from(["esmm-tune", "bench", "--experiment", "nope"]).unwrap()).unwrap_err();
        assert!(e.contains("unknown experiment"), "{e}");
        let e = run(Cli::try_parse_from(["esmm-tune", "bench", "--densities", "1.5"]).unwrap()).unwrap_err();
        assert!(e.contains("[0, 1]"), "{e}");
    }
}
