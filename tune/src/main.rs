//! `esmm-tune`: benchmark, autotuner and reports for esmm kernels.
//!
//! - `bench`: the experiments as tables, CSV (one common header, see [`bench::row`]) and
//!   charts, ratios to a baseline measured in the same process.
//! - `figures`: redraws the charts from CSVs written by `bench` (e.g. on a machine with fonts).
//! - `sweep`: times the sweep set on the present GPU and writes `tune/tables/<gpu>.json`, every
//!   kernel measurement fingerprinted (rendered source hash + nvcc release).
//! - `report`: renders a tuned table as a summary and pictures.
//! - `tables`: migrates tuned tables to the current schema and checks their fingerprints
//!   against the current codegen.

mod bench;
mod compile;
mod families;
mod plot;
mod report;
mod sweep;
mod tables;

use clap::{Parser, Subcommand};
use esmm::{Dims, Esmm};
use std::path::PathBuf;
use std::process::ExitCode;

/// Error type of the tuner: a message for the user.
pub type Result<T> = std::result::Result<T, String>;

/// Converts any displayable error into the tuner's message type.
pub fn msg<E: std::fmt::Display>(context: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{context}: {e}")
}

#[derive(Parser)]
#[command(name = "esmm-tune", version, about = "Benchmark, autotune and report esmm kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Times variants and default dispatch against cuBLAS in the same process; prints tables,
    /// writes `<out>/<experiment>.csv` and charts (SVG + PNG).
    Bench(bench::BenchArgs),
    /// Redraws charts from the CSVs in a directory written by `bench`.
    Figures {
        /// Directory holding `<experiment>.csv` files.
        #[arg(long, default_value = "bench/results/latest")]
        from: PathBuf,
    },
    /// Sweeps variants on this GPU and records every candidate in a tuned table.
    Sweep(sweep::SweepArgs),
    /// Renders a tuned table as a text summary and pictures.
    Report(report::ReportArgs),
    /// Migrates tuned tables to the current schema, or checks them against the current codegen.
    Tables(tables::TablesArgs),
}

/// Parses `MxNxK`.
pub fn parse_shape(s: &str) -> Result<Dims> {
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

/// Opens GPU `device` and prints what it is.
pub fn open_gpu(device: usize) -> Result<Esmm> {
    let esmm = Esmm::new(device).map_err(|e| e.to_string())?;
    let d = esmm.device();
    eprintln!("GPU {}: {} (sm_{}, {} SMs)", d.ordinal, d.name, d.compute_capability, d.sm_count);
    Ok(esmm)
}

/// Runs one command; `Ok(false)` is a clean run whose verdict is negative (exit status 1).
fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Bench(args) => bench::run(args).map(|()| true),
        Command::Figures { from } => bench::figures(&from).map(|()| true),
        Command::Sweep(args) => sweep::sweep(args).map(|()| true),
        Command::Report(args) => report::report(args).map(|()| true),
        Command::Tables(args) => tables::run(args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
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
        assert!(Cli::try_parse_from(["esmm-tune", "bench", "--experiment", "density,scaling,dispatch"]).is_ok());
        assert!(Cli::try_parse_from(["esmm-tune", "tables", "check", "a.json", "b.json", "--nvcc-release", "13.0"]).is_ok());
        assert!(Cli::try_parse_from(["esmm-tune", "tables", "migrate"]).is_err(), "at least one file");
        // Unknown experiments and out-of-range densities are refused before any GPU work.
        let e = run(Cli::try_parse_from(["esmm-tune", "bench", "--experiment", "nope"]).unwrap()).unwrap_err();
        assert!(e.contains("unknown experiment"), "{e}");
        let e = run(Cli::try_parse_from(["esmm-tune", "bench", "--densities", "1.5"]).unwrap()).unwrap_err();
        assert!(e.contains("[0, 1]"), "{e}");
    }
}
