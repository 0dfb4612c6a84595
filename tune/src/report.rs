//! `esmm-tune report`: a tuned table as a text summary (best candidate and speedup over cuBLAS
//! per key) and pictures (speedup heatmap, candidate heatmap of one shape).

use crate::plot::Heatmap;
use crate::{msg, Result};
use esmm::dispatch::tuned::{dense_baseline, Candidate, CandidateStatus, TableKey, TunedTable};
use std::path::{Path, PathBuf};

/// Arguments of `esmm-tune report`.
#[derive(clap::Args, Clone, Debug)]
pub struct ReportArgs {
    /// The tuned table to render.
    pub table: PathBuf,
    /// Directory for the pictures (default: next to the table, `<slug>-report/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Shape (MxNxK) whose candidate heatmap to draw; default: the first shape of the table.
    #[arg(long)]
    pub shape: Option<String>,
}

/// Best candidate and its speedup over cuBLAS for every key, as text lines.
pub fn summary_lines(table: &TunedTable) -> Vec<String> {
    let mut t = table.clone();
    t.sort();
    let mut lines = vec![format!("{:<11} {:<22} {:>7} {:>10} {:>10} {:>8} {:>6}  {}", "family", "shape", "density", "best ms", "cuBLAS ms", "speedup", "tried", "best variant")];
    for e in &t.entries {
        let ok: Vec<&Candidate> = e.candidates.iter().filter(|c| c.status == CandidateStatus::Ok && c.median_ms.is_some()).collect();
        let best = ok.iter().min_by(|a, b| a.median_ms.unwrap_or(f64::INFINITY).total_cmp(&b.median_ms.unwrap_or(f64::INFINITY)));
        let cublas = e.candidates.iter().find(|c| c.variant == baseline_of(&e.key)).and_then(|c| c.median_ms);
        if let Some(b) = best {
            let ms = b.median_ms.unwrap_or(f64::NAN);
            lines.push(format!(
                "{:<11} {:<22} {:>7} {:>10.4} {:>10.4} {:>8.3} {:>6}  {}",
                format!("{} {}", e.key.family.key(), e.key.dtype.tag()),
                format!("{}x{}x{}", e.key.m, e.key.n, e.key.k),
                e.key.density,
                ms,
                cublas.unwrap_or(f64::NAN),
                cublas.map_or(f64::NAN, |c| c / ms),
                e.candidates.len(),
                b.variant
            ));
        }
    }
    lines
}

/// The dense baseline a key's speedups are measured against (`cublas_sgemm` for esmm, cuBLAS
/// in the input type for tc).
pub fn baseline_of(key: &TableKey) -> &'static str {
    dense_baseline(key.family, key.dtype)
}

pub fn print_summary(table: &TunedTable) {
    for l in summary_lines(table) {
        println!("{l}");
    }
}

/// `esmm-tune report`.
pub fn report(args: ReportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.table).map_err(msg("reading the table"))?;
    let table = TunedTable::parse(&text).map_err(|e| format!("{}: {e}", args.table.display()))?;
    println!("{} (sm_{}, {} SMs), {} — {}", table.gpu.name, table.gpu.compute_capability, table.gpu.sm_count, table.date, table.command);
    print_summary(&table);
    let out = args.out.clone().unwrap_or_else(|| args.table.with_file_name(format!("{}-report", table.gpu.slug)));
    std::fs::create_dir_all(&out).map_err(msg("creating the report directory"))?;
    let files = report_pictures(&table, &out, args.shape.as_deref())?;
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

/// Draws the speedup heatmap (shape × density) and the candidate heatmap of one shape.
pub fn report_pictures(table: &TunedTable, out: &Path, shape: Option<&str>) -> Result<Vec<PathBuf>> {
    let mut t = table.clone();
    t.sort();
    let shape_of = |k: &TableKey| {
        let s = format!("{}x{}x{}", k.m, k.n, k.k);
        if k.family == esmm::Family::Esmm {
            s
        } else {
            format!("{} {} {s}", k.family.key(), k.dtype.tag())
        }
    };
    let mut shapes: Vec<String> = t.entries.iter().map(|e| shape_of(&e.key)).collect();
    shapes.dedup();
    let mut densities: Vec<f64> = t.entries.iter().map(|e| e.key.density).collect();
    densities.sort_by(|a, b| b.total_cmp(a));
    densities.dedup();
    let cols: Vec<String> = densities.iter().map(|d| format!("{d}")).collect();
    let best_speedup = |s: &str, d: f64| -> f64 {
        t.entries
            .iter()
            .find(|e| shape_of(&e.key) == s && e.key.density == d)
            .and_then(|e| {
                let cublas = e.candidates.iter().find(|c| c.variant == baseline_of(&e.key))?.median_ms?;
                let best = e.candidates.iter().filter(|c| c.status == CandidateStatus::Ok).filter_map(|c| c.median_ms).fold(f64::INFINITY, f64::min);
                Some(cublas / best)
            })
            .unwrap_or(f64::NAN)
    };
    let err = |e: Box<dyn std::error::Error>| e.to_string();
    let mut files = Heatmap {
        title: format!("{}: best speedup over cuBLAS in the same type (rows: shape, columns: density)", t.gpu.name),
        rows: shapes.clone(),
        cols: cols.clone(),
        values: shapes.iter().map(|s| densities.iter().map(|d| best_speedup(s, *d)).collect()).collect(),
    }
    .render(&out.join("best_speedup"))
    .map_err(err)?;
    let pick = shape.map(str::to_string).or_else(|| shapes.first().cloned());
    if let Some(s) = pick {
        let entries: Vec<_> = t.entries.iter().filter(|e| shape_of(&e.key) == s).collect();
        let mut names: Vec<String> = entries.iter().flat_map(|e| e.candidates.iter().filter(|c| c.median_ms.is_some()).map(|c| c.variant.clone())).collect();
        names.sort();
        names.dedup();
        let time = |n: &str, d: f64| -> f64 {
            entries.iter().find(|e| e.key.density == d).and_then(|e| e.candidates.iter().find(|c| c.variant == n)).and_then(|c| if c.status == CandidateStatus::Ok { c.median_ms } else { None }).unwrap_or(f64::NAN)
        };
        let base_time = |d: f64| -> f64 { entries.iter().find(|e| e.key.density == d).map_or(f64::NAN, |e| time(baseline_of(&e.key), d)) };
        // Sort candidates by their time at the sparsest density, fastest first.
        let last = densities.last().copied().unwrap_or(1.0);
        names.sort_by(|a, b| time(a, last).total_cmp(&time(b, last)));
        names.truncate(60);
        files.extend(
            Heatmap {
                title: format!("{s}: candidate time / cuBLAS in the type (rows: fastest 60 at d={last})"),
                rows: names.clone(),
                cols,
                values: names.iter().map(|n| densities.iter().map(|d| time(n, *d) / base_time(*d)).collect()).collect(),
            }
            .render(&out.join(format!("candidates_{}", s.replace(' ', "_"))))
            .map_err(err)?,
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::timing::Timing;
    use crate::sweep::candidate;
    use esmm::dispatch::tuned::{GpuInfo, CUBLAS_SGEMM, SCHEMA_VERSION};
    use esmm::Dims;

    #[test]
    fn report_draws_from_a_table() {
        let mut t = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "Test GPU".into(), slug: "test-gpu".into(), compute_capability: 90, sm_count: 1, driver_version: String::new(), cuda_version: String::new() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        };
        let key = |d| crate::families::esmm::key(Dims::new(64, 64, 64), d);
        for d in [1.0, 0.5] {
            t.record(key(d), candidate(CUBLAS_SGEMM, CandidateStatus::Ok, None, Timing::from_samples(vec![1.0]), None));
            t.record(key(d), candidate("v", CandidateStatus::Ok, None, Timing::from_samples(vec![d]), None));
            t.record(key(d), candidate("bad", CandidateStatus::Wrong, None, None, Some("x".into())));
        }
        let tc_key = crate::families::tc::key(esmm::ElemType::Bf16, Dims::new(64, 64, 64), 0.5);
        t.record(tc_key.clone(), candidate("cublas_bf16", CandidateStatus::Ok, None, Timing::from_samples(vec![1.0]), None));
        t.record(tc_key, candidate("tc_v", CandidateStatus::Ok, None, Timing::from_samples(vec![0.25]), None));
        let lines = summary_lines(&t);
        assert_eq!(lines.len(), 4);
        assert!(lines[3].starts_with("tc bf16") && lines[3].contains(" 4.000") && lines[3].ends_with(" tc_v"), "{lines:?}");
        assert!(lines[2].contains(" 2.000") && lines[2].ends_with(" v"), "{lines:?}");
        let dir = std::env::temp_dir().join(format!("esmm-report-{}", std::process::id()));
        let files = report_pictures(&t, &dir, None).unwrap();
        assert_eq!(files.len(), 4);
        assert!(report_pictures(&t, &dir, Some("tc bf16 64x64x64")).is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }
}
