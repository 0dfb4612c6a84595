//! The charts of the bench experiments, drawn from their rows (so `esmm-tune figures` can
//! redraw them from the CSVs on another machine).

use super::row::Row;
use crate::plot::{BarChart, LineChart, Series};
use crate::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub fn draw(dir: &Path, experiment: &str, rows: &[Row]) -> Result<Vec<PathBuf>> {
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
                    series: series_by_label(&gpu_rows, |r| r.m as f64, |r| r.num("tflops"), &[]),
                }
                .render(&dir.join("fig5_scaling_tflops"))
                .map_err(err)?,
            );
            Ok(files)
        }
        "dispatch" => {
            // One group per (shape, density); host microseconds per call.
            // Short names (the shapes share N and K): M and density.
            let groups: Vec<String> = rows.iter().map(|r| format!("M={} d={}", r.m, r.density_a)).collect();
            let per = |c: &str| rows.iter().map(|r| r.num(c)).collect::<Vec<f64>>();
            BarChart {
                title: "Default dispatch: host µs per call (plan lookup, full call, direct launch); N = K = 4096".into(),
                y_label: "µs per call".into(),
                groups,
                bars: vec![
                    ("plan lookup (planned)".into(), per("plan_us")),
                    ("default dispatch (matmul)".into(), per("dispatch_us")),
                    ("chosen kernel directly".into(), per("direct_us")),
                ],
                stacked: false,
            }
            .render(&dir.join("dispatch_host_us"))
            .map_err(err)
        }
        other => Err(format!("unknown experiment {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::row::{read_csv, sample_row, write_csv};
    use crate::bench::EXPERIMENTS;

    #[test]
    fn every_experiment_draws_from_rows_and_from_their_csv() {
        let dir = std::env::temp_dir().join(format!("esmm-fig-{}", std::process::id()));
        let mut rows = Vec::new();
        for (i, s) in [1024usize, 2048].into_iter().enumerate() {
            for d in [0.5, 1.0] {
                for l in ["cublas_sgemm", "cublas_tf32", "default", "default+prepared", "pattern_b", "k25", "k20:pattern_a", "k20:pattern_b", "k20:gemm"] {
                    let mut r = sample_row(l, s, d, 1.0 + i as f64 + d);
                    r.set_num("plan_us", 0.1, 3).set_num("dispatch_us", 3.0, 3).set_num("direct_us", 2.5, 3);
                    rows.push(r);
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
        assert!(back.iter().zip(&rows).all(|(a, b)| a.label == b.label && a.m == b.m && a.median_ms == b.median_ms && a.num("tflops") == b.num("tflops")));
        for e in EXPERIMENTS {
            assert!(!draw(&dir, e, &back).unwrap().is_empty(), "{e} from the CSV");
        }
        let svg = std::fs::read_to_string(dir.join("dispatch_host_us.svg")).unwrap();
        assert!(svg.contains("plan lookup"));
        assert!(draw(&dir, "nope", &rows).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
