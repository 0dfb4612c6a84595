//! The common benchmark CSV: one row type for every experiment (and every family to come).
//!
//! Every `<experiment>.csv` starts with the columns of [`COMMON_COLUMNS`]; an experiment may add
//! its own after them ([`Row::extra`]). Reading is header-driven: columns are found by name, so
//! extra, reordered or (for files written before the common header) renamed columns are fine.

use crate::{msg, Result};
use esmm::Dims;
use std::path::{Path, PathBuf};

/// The columns every bench CSV starts with, in order.
pub const COMMON_COLUMNS: [&str; 14] = [
    "experiment",
    "label",
    "variant",
    "gpu",
    "dtype",
    "m",
    "n",
    "k",
    "density_a",
    "density_b",
    "median_ms",
    "baseline",
    "baseline_ms",
    "ratio",
];

/// One measured row (one CSV line).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Experiment name (the CSV's file stem).
    pub experiment: String,
    /// What was timed: `default` (default dispatch), `default+prepared` (with prepared weights),
    /// a variant spelling from the command line, a baseline's label, or `<label>:<stage>`.
    pub label: String,
    /// The variant (or baseline) that actually ran (the dispatcher's choice for `default`).
    pub variant: String,
    /// The GPU, as the driver names it.
    pub gpu: String,
    /// Element type of the inputs (`f32`, `bf16`, ...).
    pub dtype: String,
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
    /// Median GPU time, ms.
    pub median_ms: f64,
    /// The baseline's label, e.g. `cublas_sgemm`.
    pub baseline: String,
    /// The baseline's median on the same data in the same process, ms.
    pub baseline_ms: f64,
    /// `baseline_ms / median_ms` (speedup over the baseline).
    pub ratio: f64,
    /// Experiment-specific columns after the common ones: (column, value as written).
    pub extra: Vec<(String, String)>,
}

/// What the rows of one measurement share; [`RowContext::row`] fills in the rest.
#[derive(Clone, Debug)]
pub struct RowContext {
    /// Experiment name.
    pub experiment: String,
    /// GPU name.
    pub gpu: String,
    /// Element type.
    pub dtype: String,
    /// Shape.
    pub dims: Dims,
    /// Requested densities of A and B.
    pub densities: (f64, f64),
    /// Baseline label.
    pub baseline: String,
    /// Baseline median, ms.
    pub baseline_ms: f64,
}

impl RowContext {
    /// A row of this measurement: `ratio = baseline_ms / median_ms`, no extra columns.
    pub fn row(&self, label: &str, variant: &str, median_ms: f64) -> Row {
        Row {
            experiment: self.experiment.clone(),
            label: label.into(),
            variant: variant.into(),
            gpu: self.gpu.clone(),
            dtype: self.dtype.clone(),
            m: self.dims.m,
            n: self.dims.n,
            k: self.dims.k,
            density_a: self.densities.0,
            density_b: self.densities.1,
            median_ms,
            baseline: self.baseline.clone(),
            baseline_ms: self.baseline_ms,
            ratio: self.baseline_ms / median_ms,
            extra: Vec::new(),
        }
    }
}

/// Formats a number for the CSV (`NaN` for missing values, which reads back as NaN).
pub fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        format!("{v}")
    }
}

impl Row {
    /// Sets (or replaces) an extra column.
    pub fn set(&mut self, column: &str, value: impl Into<String>) -> &mut Row {
        let value = value.into();
        match self.extra.iter_mut().find(|(c, _)| c == column) {
            Some(slot) => slot.1 = value,
            None => self.extra.push((column.to_string(), value)),
        }
        self
    }

    /// Sets an extra numeric column with `decimals` digits after the point.
    pub fn set_num(&mut self, column: &str, v: f64, decimals: usize) -> &mut Row {
        self.set(column, fmt_num(v, decimals))
    }

    /// Sets an extra numeric column in scientific notation.
    pub fn set_sci(&mut self, column: &str, v: f64) -> &mut Row {
        self.set(column, if v.is_finite() { format!("{v:.3e}") } else { format!("{v}") })
    }

    /// An extra column's text.
    pub fn text(&self, column: &str) -> Option<&str> {
        self.extra.iter().find(|(c, _)| c == column).map(|(_, v)| v.as_str())
    }

    /// An extra column as a number (NaN when absent or not a number).
    pub fn num(&self, column: &str) -> f64 {
        self.text(column).and_then(|t| t.trim().parse().ok()).unwrap_or(f64::NAN)
    }

    /// The common columns' values, in [`COMMON_COLUMNS`] order.
    fn common_values(&self) -> [String; 14] {
        [
            self.experiment.clone(),
            self.label.clone(),
            self.variant.clone(),
            self.gpu.clone(),
            self.dtype.clone(),
            self.m.to_string(),
            self.n.to_string(),
            self.k.to_string(),
            format!("{}", self.density_a),
            format!("{}", self.density_b),
            fmt_num(self.median_ms, 6),
            self.baseline.clone(),
            fmt_num(self.baseline_ms, 6),
            fmt_num(self.ratio, 4),
        ]
    }
}

/// The header of a file holding `rows`: the common columns, then every extra column in the
/// order of first appearance.
pub fn header(rows: &[Row]) -> Vec<String> {
    let mut cols: Vec<String> = COMMON_COLUMNS.iter().map(|c| c.to_string()).collect();
    for r in rows {
        for (c, _) in &r.extra {
            if !cols.contains(c) {
                cols.push(c.clone());
            }
        }
    }
    cols
}

/// One CSV field, quoted when it holds a comma or a quote (newlines become spaces).
fn field(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Splits one CSV line into fields (quoted fields with doubled quotes are understood).
pub fn split_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches(['\n', '\r']).chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The CSV text of `rows` (header line first).
pub fn to_csv(rows: &[Row]) -> String {
    let cols = header(rows);
    let mut text = cols.join(",");
    text.push('\n');
    for r in rows {
        let mut values: Vec<String> = r.common_values().to_vec();
        for c in &cols[COMMON_COLUMNS.len()..] {
            values.push(r.text(c).unwrap_or("").to_string());
        }
        text += &values.iter().map(|v| field(v)).collect::<Vec<_>>().join(",");
        text.push('\n');
    }
    text
}

/// Parses a CSV written by [`to_csv`] (or by an earlier `esmm-tune bench`, whose `cublas_ms`
/// column is read as `baseline_ms` of `cublas_sgemm`). Columns `experiment`, `label`, `m`, `n`,
/// `k` and `median_ms` are required; the other common columns default (text empty, numbers NaN,
/// `dtype` f32, `variant` the label, `ratio` baseline_ms / median_ms); every unknown column
/// becomes an extra one. Returns the rows and one message per line that did not parse.
pub fn parse_csv(text: &str) -> Result<(Vec<Row>, Vec<String>)> {
    let mut lines = text.lines().enumerate();
    let cols = lines.next().map(|(_, l)| split_line(l)).ok_or("empty CSV: no header")?;
    let idx = |name: &str| cols.iter().position(|c| c.trim() == name);
    for required in ["experiment", "label", "m", "n", "k", "median_ms"] {
        if idx(required).is_none() {
            return Err(format!("CSV header has no `{required}` column: {}", cols.join(",")));
        }
    }
    let legacy_cublas = idx("cublas_ms");
    let known: Vec<usize> = COMMON_COLUMNS.iter().filter_map(|c| idx(c)).chain(legacy_cublas).collect();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = split_line(line);
        let get = |name: &str| idx(name).and_then(|i| f.get(i)).map(|s| s.trim().to_string());
        let num = |name: &str| get(name).and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
        let int = |name: &str| get(name).and_then(|s| s.parse::<usize>().ok());
        let (Some(m), Some(n), Some(k)) = (int("m"), int("n"), int("k")) else {
            skipped.push(format!("line {}: m, n or k is not a whole number", i + 1));
            continue;
        };
        if f.len() != cols.len() {
            skipped.push(format!("line {}: {} fields, the header has {}", i + 1, f.len(), cols.len()));
            continue;
        }
        let label = get("label").unwrap_or_default();
        let median_ms = num("median_ms");
        let (baseline, baseline_ms) = match (get("baseline"), legacy_cublas) {
            (Some(b), _) => (b, num("baseline_ms")),
            (None, Some(c)) => ("cublas_sgemm".to_string(), f[c].trim().parse().unwrap_or(f64::NAN)),
            (None, None) => (String::new(), f64::NAN),
        };
        let ratio = match get("ratio").and_then(|s| s.parse::<f64>().ok()) {
            Some(r) => r,
            None => baseline_ms / median_ms,
        };
        let extra = cols
            .iter()
            .enumerate()
            .filter(|(j, _)| !known.contains(j))
            .filter_map(|(j, c)| f.get(j).filter(|v| !v.trim().is_empty()).map(|v| (c.trim().to_string(), v.trim().to_string())))
            .collect();
        rows.push(Row {
            experiment: get("experiment").unwrap_or_default(),
            variant: get("variant").filter(|v| !v.is_empty()).unwrap_or_else(|| label.clone()),
            label,
            gpu: get("gpu").unwrap_or_default(),
            dtype: get("dtype").filter(|v| !v.is_empty()).unwrap_or_else(|| "f32".into()),
            m,
            n,
            k,
            density_a: num("density_a"),
            density_b: num("density_b"),
            median_ms,
            baseline,
            baseline_ms,
            ratio,
            extra,
        });
    }
    Ok((rows, skipped))
}

/// Writes rows as `<dir>/<experiment>.csv`.
pub fn write_csv(dir: &Path, experiment: &str, rows: &[Row]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(msg("creating the output directory"))?;
    let path = dir.join(format!("{experiment}.csv"));
    std::fs::write(&path, to_csv(rows)).map_err(msg("writing the CSV"))?;
    Ok(path)
}

/// Reads a bench CSV (rows that do not parse are skipped with a warning).
pub fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(msg("reading the CSV"))?;
    let (rows, skipped) = parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for s in skipped {
        eprintln!("warning: {}: {s}; skipped", path.display());
    }
    Ok(rows)
}

/// A row with the esmm experiments' extra columns, for tests.
#[cfg(test)]
pub(crate) fn sample_row(label: &str, m: usize, d: f64, ms: f64) -> Row {
    let ctx = RowContext {
        experiment: "x".into(),
        gpu: "NVIDIA H100 80GB HBM3".into(),
        dtype: "f32".into(),
        dims: Dims::new(m, m, m),
        densities: (d, d),
        baseline: "cublas_sgemm".into(),
        baseline_ms: 2.0,
    };
    let mut r = ctx.row(label, "v", ms);
    r.set_num("p20_ms", ms, 6).set_num("p80_ms", ms, 6).set_num("tflops", 1.0, 3).set_sci("rel_err", f64::NAN);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_with_the_common_header() {
        let mut a = sample_row("k25", 4096, 0.5, 1.25);
        a.set("note", "a, \"quoted\" text");
        let mut b = sample_row("default+prepared", 1, 1.0, 0.01);
        b.set_num("plan_us", 0.123, 3);
        let text = to_csv(&[a.clone(), b.clone()]);
        let head = text.lines().next().unwrap();
        assert!(head.starts_with("experiment,label,variant,gpu,dtype,m,n,k,density_a,density_b,median_ms,baseline,baseline_ms,ratio,"), "{head}");
        assert!(head.ends_with(",p20_ms,p80_ms,tflops,rel_err,note,plan_us"), "{head}");
        let (back, skipped) = parse_csv(&text).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].label, "k25");
        assert_eq!(back[0].gpu, "NVIDIA H100 80GB HBM3");
        assert_eq!(back[0].baseline, "cublas_sgemm");
        assert!((back[0].ratio - 1.6).abs() < 1e-3);
        assert!(back[0].num("rel_err").is_nan());
        assert_eq!(back[0].text("note"), Some("a, \"quoted\" text"));
        assert_eq!(back[0].text("plan_us"), None, "empty cells are absent");
        assert_eq!(back[1].num("plan_us"), 0.123);
        assert_eq!(back[1].m, 1);
        assert!(parse_csv("a,b,c\n1,2,3\n").unwrap_err().contains("experiment"));
    }

    #[test]
    fn reading_is_header_driven_and_reads_the_old_layout() {
        // Columns in another order, one unknown column, a short line.
        let text = "median_ms,label,k,n,m,experiment,whatever\n0.5,k25,64,64,64,density,7\n0.5,k25\n";
        let (rows, skipped) = parse_csv(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(skipped.len(), 1);
        assert_eq!((rows[0].m, rows[0].variant.as_str(), rows[0].dtype.as_str()), (64, "k25", "f32"));
        assert_eq!(rows[0].num("whatever"), 7.0);
        // The layout written before the common header (cublas_ms, no gpu/dtype/baseline).
        let old = "experiment,label,variant,m,n,k,density_a,density_b,median_ms,p20_ms,p80_ms,cublas_ms,ratio,tflops,rel_err\n\
                   density,k25,esmm_x,4096,4096,4096,0.5,0.5,1.00000,0.9,1.1,2.00000,2.0000,137.4,NaN\n";
        let (rows, _) = parse_csv(old).unwrap();
        assert_eq!(rows[0].baseline, "cublas_sgemm");
        assert_eq!(rows[0].baseline_ms, 2.0);
        assert_eq!(rows[0].num("tflops"), 137.4);
        assert_eq!(rows[0].text("cublas_ms"), None, "read as baseline_ms");
    }
}
