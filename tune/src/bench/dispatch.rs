//! `--experiment dispatch`: what default dispatch costs, against the targets — at most
//! 1 µs of host time per call over launching the chosen kernel directly, and ≥ 0.98× of cuBLAS
//! wherever it runs cuBLAS.
//!
//! Shapes M = 1, 16, 128 with N = K = 4096, and 4096³, at densities 1.0 (dense activations) and
//! 0.5, called as an inference engine's call site would: through one [`esmm::Layer`] with a
//! prepared B. After a warm-up (plans, modules and the layer's observations settle), per shape:
//!
//! - `plan_us`: host µs per call of [`esmm::Esmm::planned`] alone (the plan lookup);
//! - `dispatch_us`: host µs per enqueue of the full default-dispatch `matmul`;
//! - `direct_us`: host µs per enqueue of what it chose, directly (`cublas_sgemm`, or the
//!   variant by name); `overhead_us` = the median over alternating rounds of (dispatch − direct);
//! - `median_ms`: GPU time (CUDA events) of default dispatch; `baseline_ms`: cuBLAS SGEMM in the
//!   same process, measured alternately with it; `ratio = baseline_ms / median_ms`.
//!
//! Host times are wall clock over batches of enqueues with the stream synchronized only between
//! batches; event tracking is off (see [`super::run_experiment`]).

use super::esmm::SGEMM;
use super::row::{fmt_num, Row, RowContext};
use super::timing::{host_us_per_call, host_us_per_call_cpu, reps_for, time_alternating, time_runs, DeviceProblem, Timing};
use super::{make_workload, BenchConfig};
use crate::{msg, Result};
use esmm::cudarc::driver::CudaStream;
use esmm::{Activation, BaselineMath, Dims, Esmm};
use std::sync::Arc;

/// The label of every row: default dispatch with prepared weights.
pub const LABEL: &str = "default+prepared";
/// The experiment's own columns, after the common ones.
pub const COLUMNS: [&str; 5] = ["plan_us", "dispatch_us", "direct_us", "overhead_us", "ran"];
/// The shapes measured (M, N, K).
pub const SHAPES: [(usize, usize, usize); 4] = [(1, 4096, 4096), (16, 4096, 4096), (128, 4096, 4096), (4096, 4096, 4096)];
/// The densities measured (1.0: dense activations).
pub const DENSITIES: [f64; 2] = [1.0, 0.5];
/// Target: host µs of default dispatch over a direct launch.
pub const MAX_OVERHEAD_US: f64 = 1.0;
/// Target: GPU time ratio to cuBLAS where default dispatch runs cuBLAS.
pub const MIN_CUBLAS_RATIO: f64 = 0.98;

/// Calls through the layer before anything is measured (a layer observes on call 1 and
/// periodically; plans are cached per density bucket).
const WARMUP_CALLS: u32 = 64;
/// Plan-lookup timing: batches × calls.
const PLAN_BATCHES: u32 = 9;
const PLAN_CALLS: u32 = 2000;
/// Enqueue timing: batches × calls per way (≤ ~3 launches a call stays far below the launch
/// queue's depth, so enqueues never wait for the GPU).
const HOST_BATCHES: u32 = 41;
const HOST_CALLS: u32 = 100;

/// Host-side costs of one shape, µs per call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HostCost {
    /// `Esmm::planned` alone.
    pub plan_us: f64,
    /// Full default-dispatch `matmul` enqueue.
    pub dispatch_us: f64,
    /// Enqueue of the chosen kernel (or cuBLAS) directly.
    pub direct_us: f64,
    /// Median over rounds of the paired difference dispatch − direct.
    pub overhead_us: f64,
}

/// The CSV row of one shape: common columns (label `default+prepared`, baseline
/// `cublas_sgemm`), then [`COLUMNS`], then `p20_ms, p80_ms, rel_err`.
pub fn dispatch_row(ctx: &RowContext, ran: &str, default: Timing, host: HostCost, rel_err: f64) -> Row {
    let mut r = ctx.row(LABEL, ran, default.median_ms);
    let own = [host.plan_us, host.dispatch_us, host.direct_us, host.overhead_us].map(|v| fmt_num(v, 3));
    for (column, value) in COLUMNS.iter().zip(own.into_iter().chain([ran.to_string()])) {
        r.set(column, value);
    }
    r.set_num("p20_ms", default.p20_ms, 6)
        .set_num("p80_ms", default.p80_ms, 6)
        .set_sci("rel_err", rel_err);
    r
}

/// One line per target: how many rows meet it, and the worst value.
pub fn verdict(rows: &[Row]) -> Vec<String> {
    let over: Vec<f64> = rows.iter().map(|r| r.num("overhead_us")).filter(|v| v.is_finite()).collect();
    let worst = over.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let met = over.iter().filter(|v| **v <= MAX_OVERHEAD_US).count();
    let mut lines = vec![format!("host overhead ≤ {MAX_OVERHEAD_US} µs per call: {met} of {} shapes (worst {worst:.3} µs)", over.len())];
    let cublas: Vec<f64> = rows.iter().filter(|r| r.text("ran") == Some(esmm::CUBLAS)).map(|r| r.ratio).collect();
    if cublas.is_empty() {
        lines.push("default dispatch ran cuBLAS on no shape".into());
    } else {
        let worst = cublas.iter().copied().fold(f64::INFINITY, f64::min);
        let met = cublas.iter().filter(|v| **v >= MIN_CUBLAS_RATIO).count();
        lines.push(format!("≥ {MIN_CUBLAS_RATIO}× cuBLAS where it runs cuBLAS: {met} of {} shapes (worst {worst:.3}×)", cublas.len()));
    }
    lines
}

/// Prints the rows as a table, then the verdict.
pub fn print_rows(rows: &[Row]) {
    println!(
        "{:<16} {:>5} {:>5} {:>8} {:>11} {:>9} {:>11} {:>10} {:>10} {:>8}  {}",
        "shape", "dA", "dB", "plan µs", "dispatch µs", "direct µs", "overhead µs", "default ms", "cuBLAS ms", "× cuBLAS", "ran"
    );
    for r in rows {
        println!(
            "{:<16} {:>5} {:>5} {:>8.3} {:>11.3} {:>9.3} {:>11.3} {:>10.4} {:>10.4} {:>8.3}  {}",
            format!("{}x{}x{}", r.m, r.n, r.k),
            r.density_a,
            r.density_b,
            r.num("plan_us"),
            r.num("dispatch_us"),
            r.num("direct_us"),
            r.num("overhead_us"),
            r.median_ms,
            r.baseline_ms,
            r.ratio,
            r.text("ran").unwrap_or("")
        );
    }
    for l in verdict(rows) {
        println!("{l}");
    }
}

/// Calls default dispatch until the plan is settled: at least [`WARMUP_CALLS`] calls (with the
/// stream drained, so that the layer's first observations land), then more while what ran and
/// what [`Esmm::planned`] says differ. Returns what default dispatch runs.
fn settle(esmm: &Esmm, stream: &Arc<CudaStream>, p: &mut DeviceProblem) -> Result<&'static str> {
    let mut ran = "none";
    for round in 0..6 {
        for _ in 0..WARMUP_CALLS {
            ran = p.run(esmm, stream, None, Activation::None, true)?.unwrap_or("none");
        }
        stream.synchronize().map_err(msg("synchronizing"))?;
        if round >= 1 && p.planned(esmm, true)? == ran {
            return Ok(ran);
        }
    }
    eprintln!("  warning: default dispatch did not settle (ran {ran}, planned {})", p.planned(esmm, true)?);
    Ok(ran)
}

/// Measures one shape; returns its row.
fn measure(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig, p: &mut DeviceProblem, densities: (f64, f64)) -> Result<Row> {
    let rel_err = if cfg.check { p.check(esmm, stream, None, Activation::None, true)? } else { f64::NAN };
    if cfg.check && !(rel_err <= 1e-5) {
        eprintln!("  default dispatch: WRONG (relative error {rel_err:.3e})");
    }
    let ran = settle(esmm, stream, p)?;
    let plan_us = host_us_per_call_cpu(PLAN_BATCHES, PLAN_CALLS, || p.planned(esmm, true).map(|_| ()))?;
    let mut last = ran;
    let (host, overhead_us) = host_us_per_call(stream, HOST_BATCHES, HOST_CALLS, 2, |way| match way {
        0 => {
            last = p.run(esmm, stream, None, Activation::None, true)?.unwrap_or("none");
            Ok(())
        }
        _ => p.run_direct(esmm, stream, ran, true),
    })?;
    if last != ran {
        eprintln!("  warning: default dispatch changed its choice while timed ({ran} → {last})");
    }
    let probe = time_runs(stream, 3, || p.run_cublas(esmm, stream, BaselineMath::Fp32))?;
    let reps = reps_for(probe.median_ms, 500.0, cfg.reps.max(20));
    let (default, cublas) = time_alternating(stream, 3, reps, |way| match way {
        0 => p.run(esmm, stream, None, Activation::None, true).map(|_| ()),
        _ => p.run_cublas(esmm, stream, BaselineMath::Fp32),
    })?;
    let ctx = RowContext {
        experiment: "dispatch".into(),
        gpu: esmm.device().name.clone(),
        dtype: "f32".into(),
        dims: p.dims,
        densities,
        baseline: SGEMM.label().into(),
        baseline_ms: cublas.median_ms,
    };
    let host = HostCost { plan_us, dispatch_us: host[0], direct_us: host[1], overhead_us };
    Ok(dispatch_row(&ctx, ran, default, host, rel_err))
}

/// Runs the dispatch experiment, printing its table; returns its rows.
pub fn run(esmm: &Esmm, stream: &Arc<CudaStream>, cfg: &BenchConfig) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (j, &d) in DENSITIES.iter().enumerate() {
            let (da, db) = cfg.pair(d);
            let dims = Dims::new(m, n, k);
            eprintln!("[dispatch] {m}x{n}x{k} density A {da} B {db}");
            let host = make_workload(cfg, dims, da, db, cfg.seed + 300 + (i * DENSITIES.len() + j) as u64);
            let mut p = DeviceProblem::upload(esmm, stream, host, true)?;
            match measure(esmm, stream, cfg, &mut p, (da, db)) {
                Ok(r) => rows.push(r),
                Err(e) => eprintln!("  {m}x{n}x{k} d={d}: not measured: {e}"),
            }
        }
    }
    print_rows(&rows);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::row::{parse_csv, to_csv, COMMON_COLUMNS};

    fn ctx(m: usize) -> RowContext {
        RowContext {
            experiment: "dispatch".into(),
            gpu: "NVIDIA H100 80GB HBM3".into(),
            dtype: "f32".into(),
            dims: Dims::new(m, 4096, 4096),
            densities: (1.0, 1.0),
            baseline: "cublas_sgemm".into(),
            baseline_ms: 0.099,
        }
    }

    #[test]
    fn dispatch_rows_have_the_common_columns_then_their_own() {
        let t = Timing { median_ms: 0.1, p20_ms: 0.09, p80_ms: 0.11, samples: 60 };
        let host = HostCost { plan_us: 0.12, dispatch_us: 3.4, direct_us: 2.9, overhead_us: 0.5 };
        let rows = vec![dispatch_row(&ctx(1), esmm::CUBLAS, t, host, f64::NAN), dispatch_row(&ctx(128), "esmm_ab_f32_x_offb_branch_none", t, HostCost { dispatch_us: 5.0, overhead_us: 2.1, ..host }, 1e-7)];
        let text = to_csv(&rows);
        let header = text.lines().next().unwrap();
        let want = COMMON_COLUMNS.iter().chain(&COLUMNS).copied().collect::<Vec<_>>().join(",");
        assert!(header.starts_with(&want), "{header}");
        let (back, skipped) = parse_csv(&text).unwrap();
        assert!(skipped.is_empty());
        let r = &back[0];
        assert_eq!((r.label.as_str(), r.variant.as_str(), r.baseline.as_str()), (LABEL, "cublas_sgemm", "cublas_sgemm"));
        assert_eq!(r.gpu, "NVIDIA H100 80GB HBM3");
        assert!((r.ratio - 0.99).abs() < 1e-9);
        assert!((r.num("overhead_us") - 0.5).abs() < 1e-9);
        assert_eq!(r.text("ran"), Some("cublas_sgemm"));
        assert_eq!(back[1].num("rel_err"), 1e-7);
        let v = verdict(&back);
        assert!(v[0].contains("1 of 2 shapes") && v[0].contains("worst 2.100"), "{v:?}");
        assert!(v[1].contains("1 of 1 shapes") && v[1].contains("0.990"), "{v:?}");
        assert!(verdict(&back[1..])[1].contains("no shape"));
    }
}
