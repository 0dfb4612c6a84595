//! Tuned tables: what `esmm-tune sweep` measured on one GPU, and the lookup the dispatcher uses.
//!
//! A table (`tune/tables/<gpu-slug>.json`) stores, for every key (family, element type,
//! activation, shape, density bucket), the timing of **every** candidate that was tried — not
//! only the winner — so that adding a variant later never throws earlier measurements away.
//! Every kernel candidate carries the [`Fingerprint`] of what was measured (rendered source hash
//! and nvcc release); [`TunedTable::drop_stale`] removes measurements of kernels that changed
//! since, so stale timings are never used silently.
//! Written by `esmm-tune`, read by the runtime (dispatch) and by `esmm-codegen` (the shipped
//! set includes the winners). Parsing never panics: a corrupted, truncated or foreign-GPU table
//! is an error value.

use serde::{Deserialize, Serialize};

use crate::common::{Activation, ElemType};
use crate::families::Family;
pub use crate::fingerprint::Fingerprint;

/// Version of the JSON layout below. Bump on incompatible changes (and migrate in
/// [`TunedTable::parse`]). Version 1 had string keys and statuses and no fingerprints.
pub const SCHEMA_VERSION: u32 = 2;

/// Pseudo-variant name under which the tables record cuBLAS SGEMM (the dense path).
pub const CUBLAS_SGEMM: &str = "cublas_sgemm";

/// The label of a family's dense library baseline for one input type, as tables record it:
/// cuBLAS SGEMM for esmm; for tc, cuBLAS in the input type with fp32 compute (`cublas_bf16`,
/// `cublas_f16`) or TF32 math for f32 inputs (`cublas_tf32`); gemv and rans likewise.
pub const fn dense_baseline(family: Family, dtype: ElemType) -> &'static str {
    match (family, dtype) {
        (Family::Esmm, _) => CUBLAS_SGEMM,
        (Family::Tc | Family::Gemv | Family::Rans, ElemType::Bf16) => "cublas_bf16",
        (Family::Tc | Family::Gemv | Family::Rans, ElemType::F16) => "cublas_f16",
        (Family::Tc | Family::Gemv | Family::Rans, ElemType::F32) => "cublas_tf32",
    }
}

/// How far (in doublings of M, N, K plus weighted density buckets) the nearest measured key may
/// be from a call for the table to decide it. Measured on the H200: a 4096-row winner is 14×
/// slower than cuBLAS at M = 1, so shapes several doublings away must not borrow its verdict.
pub const MAX_KEY_DISTANCE: f64 = 2.5;

/// Densities the sweep measures; lookups snap to the nearest.
pub const DENSITY_BUCKETS: [f64; 6] = [1.0, 0.875, 0.75, 0.5, 0.25, 0.125];

/// The GPU a table was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// Name as the driver reports it, e.g. `NVIDIA H200`.
    pub name: String,
    /// File-name form of the name, e.g. `nvidia-h200`.
    pub slug: String,
    /// Compute capability as `major * 10 + minor`.
    pub compute_capability: u32,
    /// Multiprocessor count.
    pub sm_count: u32,
    /// Driver version string.
    pub driver_version: String,
    /// CUDA version the kernels were built with.
    pub cuda_version: String,
}

/// What a table entry is keyed by: family, types, the measured shape and density bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableKey {
    /// The kernel family the candidates belong to.
    pub family: Family,
    /// Element type of the inputs.
    pub dtype: ElemType,
    /// Activation the candidates were measured with.
    pub activation: Activation,
    /// M of the measured problem (lookups take the nearest shape in log space).
    pub m: u64,
    /// N of the measured problem.
    pub n: u64,
    /// K of the measured problem.
    pub k: u64,
    /// Density bucket of both operands (see [`DENSITY_BUCKETS`]).
    pub density: f64,
}

/// What happened to a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// Checked correct and timed.
    Ok,
    /// Failed the correctness check.
    Wrong,
    /// Did not compile, load or launch.
    LaunchFailed,
    /// Cannot serve the key's call.
    Invalid,
    /// Dropped after a probe: much slower than the best so far (its probe time is kept).
    Pruned,
}

impl CandidateStatus {
    /// Every status.
    pub const ALL: [CandidateStatus; 5] = [
        CandidateStatus::Ok,
        CandidateStatus::Wrong,
        CandidateStatus::LaunchFailed,
        CandidateStatus::Invalid,
        CandidateStatus::Pruned,
    ];

    /// The JSON spelling (`ok`, `wrong`, `launch_failed`, `invalid`, `pruned`).
    pub const fn tag(self) -> &'static str {
        match self {
            CandidateStatus::Ok => "ok",
            CandidateStatus::Wrong => "wrong",
            CandidateStatus::LaunchFailed => "launch_failed",
            CandidateStatus::Invalid => "invalid",
            CandidateStatus::Pruned => "pruned",
        }
    }
}

/// One candidate's result under one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Variant name, or a baseline's label ([`CUBLAS_SGEMM`]).
    pub variant: String,
    /// What happened to it.
    pub status: CandidateStatus,
    /// What was measured (kernels only; None for baselines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// Median time in milliseconds (present when status is `ok` or `pruned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<f64>,
    /// 20th percentile in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p20_ms: Option<f64>,
    /// 80th percentile in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p80_ms: Option<f64>,
    /// Number of timed runs.
    #[serde(default)]
    pub samples: u32,
    /// Why a candidate was not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// All candidates measured under one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// The key.
    pub key: TableKey,
    /// Every candidate tried, in any order.
    pub candidates: Vec<Candidate>,
}

impl TableEntry {
    /// Its `ok` candidates with a finite time, fastest first.
    pub fn ranked(&self) -> Vec<&Candidate> {
        let mut out: Vec<&Candidate> =
            self.candidates.iter().filter(|c| c.status == CandidateStatus::Ok && c.median_ms.is_some_and(f64::is_finite)).collect();
        out.sort_by(|a, b| a.median_ms.unwrap_or(f64::INFINITY).total_cmp(&b.median_ms.unwrap_or(f64::INFINITY)));
        out
    }
}

/// A whole tuned table for one GPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunedTable {
    /// Must equal [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The GPU measured.
    pub gpu: GpuInfo,
    /// `esmm` crate version that produced it.
    pub crate_version: String,
    /// ISO date of the sweep.
    pub date: String,
    /// The command line that produced it.
    pub command: String,
    /// Measurements.
    pub entries: Vec<TableEntry>,
}

/// Snaps a density in [0, 1] to the nearest of [`DENSITY_BUCKETS`].
pub fn density_bucket(d: f64) -> f64 {
    let d = if d.is_finite() { d.clamp(0.0, 1.0) } else { 1.0 };
    DENSITY_BUCKETS
        .into_iter()
        .min_by(|a, b| (a - d).abs().total_cmp(&(b - d).abs()))
        .unwrap_or(1.0)
}

/// Lower-case, dash-separated file-name form of a GPU name (`NVIDIA H200` → `nvidia-h200`).
pub fn gpu_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Why a table cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub enum TableError {
    /// Not JSON, truncated, or fields of the wrong type.
    Malformed(String),
    /// A schema version this build does not read.
    Schema(u32),
    /// The table was measured on another kind of GPU.
    ForeignGpu {
        /// Slug of the table's GPU.
        table: String,
        /// Slug of the GPU in use.
        present: String,
    },
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::Malformed(e) => write!(f, "tuned table is malformed: {e}"),
            TableError::Schema(v) => write!(
                f,
                "tuned table has schema version {v}, this build reads {SCHEMA_VERSION}"
            ),
            TableError::ForeignGpu { table, present } => write!(
                f,
                "tuned table was measured on {table}, but this GPU is {present}"
            ),
        }
    }
}

impl std::error::Error for TableError {}

impl TunedTable {
    /// Parses a table, checking the schema version; a version-1 table is migrated (keys and
    /// statuses typed, family `esmm`, no fingerprints: see [`TunedTable::fingerprint_with`]).
    /// Never panics.
    pub fn parse(text: &str) -> Result<TunedTable, TableError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let v: Version = serde_json::from_str(text).map_err(|e| TableError::Malformed(e.to_string()))?;
        let table: TunedTable = match v.schema_version {
            1 => v1::migrate(text)?,
            SCHEMA_VERSION => serde_json::from_str(text).map_err(|e| TableError::Malformed(e.to_string()))?,
            other => return Err(TableError::Schema(other)),
        };
        for e in &table.entries {
            if !(e.key.density.is_finite()) || e.key.m == 0 || e.key.n == 0 || e.key.k == 0 {
                return Err(TableError::Malformed(format!("bad key {:?}", e.key)));
            }
        }
        Ok(table)
    }

    /// Checks that the table belongs to the GPU in use (same slug).
    pub fn check_gpu(&self, present_slug: &str) -> Result<(), TableError> {
        if self.gpu.slug == present_slug {
            Ok(())
        } else {
            Err(TableError::ForeignGpu {
                table: self.gpu.slug.clone(),
                present: present_slug.to_string(),
            })
        }
    }

    /// Serialises the table as pretty JSON with entries in a stable order.
    pub fn to_json(&self) -> String {
        let mut t = self.clone();
        t.sort();
        serde_json::to_string_pretty(&t).unwrap_or_default() + "\n"
    }

    /// Sorts entries by key and candidates by name, for stable diffs.
    pub fn sort(&mut self) {
        for e in &mut self.entries {
            e.candidates.sort_by(|a, b| a.variant.cmp(&b.variant));
        }
        self.entries.sort_by(|a, b| key_order(&a.key).partial_cmp(&key_order(&b.key)).unwrap_or(std::cmp::Ordering::Equal));
    }

    /// Adds (or replaces) one candidate's result under `key`, keeping every other measurement.
    pub fn record(&mut self, key: TableKey, candidate: Candidate) {
        let entry = match self.entries.iter_mut().position(|e| e.key == key) {
            Some(i) => &mut self.entries[i],
            None => {
                self.entries.push(TableEntry { key, candidates: Vec::new() });
                self.entries.last_mut().expect("just pushed")
            }
        };
        entry.candidates.retain(|c| c.variant != candidate.variant);
        entry.candidates.push(candidate);
    }

    /// Candidates under the key nearest to the request, fastest first (only `ok` ones with a time).
    ///
    /// Nearest means: same family and dtype; same activation if any entry has it (else any
    /// activation); then the smallest distance in log2 of M, N, K plus density difference
    /// (weighted so one density bucket ≈ one doubling of a dimension). A nearest key farther
    /// than [`MAX_KEY_DISTANCE`] is no evidence for this call: the result is then empty and the
    /// caller uses its heuristic.
    #[allow(clippy::too_many_arguments)]
    pub fn ranked(&self, family: Family, dtype: ElemType, activation: Activation, m: u64, n: u64, k: u64, density: f64) -> Vec<&Candidate> {
        self.nearest(family, dtype, activation, m, n, k, density).map(TableEntry::ranked).unwrap_or_default()
    }

    /// The entry [`TunedTable::ranked`] reads: the nearest measured key within
    /// [`MAX_KEY_DISTANCE`] that has a timed candidate, else the largest measured problem with the
    /// same M and density bucket whose N and K are no larger than the call's (None: no verdict).
    #[allow(clippy::too_many_arguments)]
    pub fn nearest(&self, family: Family, dtype: ElemType, activation: Activation, m: u64, n: u64, k: u64, density: f64) -> Option<&TableEntry> {
        let same_type = |e: &&TableEntry| e.key.family == family && e.key.dtype == dtype;
        let same_act: Vec<&TableEntry> = self.entries.iter().filter(same_type).filter(|e| e.key.activation == activation).collect();
        let pool: Vec<&TableEntry> = if same_act.is_empty() {
            self.entries.iter().filter(same_type).collect()
        } else {
            same_act
        };
        let want = (m, n, k, density_bucket(density));
        let dist = |key: &TableKey| -> f64 {
            let l = |a: u64, b: u64| ((a.max(1) as f64).log2() - (b.max(1) as f64).log2()).abs();
            l(key.m, want.0) + l(key.n, want.1) + l(key.k, want.2) + 8.0 * (key.density - want.3).abs()
        };
        let timed: Vec<&TableEntry> =
            pool.into_iter().filter(|e| e.candidates.iter().any(|c| c.status == CandidateStatus::Ok && c.median_ms.is_some())).collect();
        let near = timed.iter().copied().min_by(|a, b| dist(&a.key).total_cmp(&dist(&b.key))).filter(|e| dist(&e.key) <= MAX_KEY_DISTANCE);
        // Beyond that distance, a key with the same M and density bucket whose N and K are no
        // larger still speaks for the call: more columns and a longer K fill the GPU better
        // for every candidate (e.g. a 16-row decode batch against a wider layer than measured).
        near.or_else(|| {
            timed
                .into_iter()
                .filter(|e| e.key.m == m && e.key.n <= n && e.key.k <= k && e.key.density == want.3)
                .max_by_key(|e| e.key.n.saturating_mul(e.key.k))
        })
    }

    /// Winning variant name of every entry (the fastest `ok` candidate), deduplicated and sorted.
    pub fn winners(&self) -> Vec<String> {
        let mut w: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.ranked().first().map(|c| c.variant.clone()))
            .collect();
        w.sort();
        w.dedup();
        w
    }
}

fn key_order(k: &TableKey) -> (Family, ElemType, Activation, u64, u64, u64, f64) {
    (k.family, k.dtype, k.activation, k.m, k.n, k.k, -k.density)
}

impl TunedTable {
    /// Gives every kernel candidate without a fingerprint the one `current` reports for its
    /// name (the rendered source hash this build would compile) and `nvcc_release`. For
    /// migrating tables measured before fingerprints existed, by someone who knows the kernels
    /// measured are the current ones. Returns how many candidates were given one.
    pub fn fingerprint_with(&mut self, current: &dyn Fn(&str) -> Option<u64>, nvcc_release: &str) -> usize {
        let mut n = 0;
        for c in self.entries.iter_mut().flat_map(|e| e.candidates.iter_mut()) {
            if c.fingerprint.is_none() {
                if let Some(h) = current(&c.variant) {
                    c.fingerprint = Some(Fingerprint::new(h, nvcc_release));
                    n += 1;
                }
            }
        }
        n
    }

    /// Removes the measurements of kernels that changed since they were measured: candidates
    /// whose name `current` knows (the source hash of this build's kernel) but whose
    /// fingerprint is missing or differs (other source, other nvcc release). Names `current`
    /// does not know (baselines, kernels not built here) are kept. Returns the removed names,
    /// sorted and deduplicated, for one warning.
    pub fn drop_stale(&mut self, current: &dyn Fn(&str) -> Option<u64>, nvcc_release: &str) -> Vec<String> {
        let mut dropped = Vec::new();
        for e in &mut self.entries {
            e.candidates.retain(|c| {
                let Some(h) = current(&c.variant) else { return true };
                let fresh = c.fingerprint.as_ref().is_some_and(|f| f.matches(h, nvcc_release));
                if !fresh {
                    dropped.push(c.variant.clone());
                }
                fresh
            });
        }
        dropped.sort();
        dropped.dedup();
        dropped
    }
}

/// Schema version 1 (string keys and statuses, no fingerprints) and its migration.
mod v1 {
    use super::*;

    #[derive(Deserialize)]
    struct Key {
        dtype: String,
        activation: String,
        m: u64,
        n: u64,
        k: u64,
        density: f64,
    }

    #[derive(Deserialize)]
    struct Cand {
        variant: String,
        status: String,
        #[serde(default)]
        median_ms: Option<f64>,
        #[serde(default)]
        p20_ms: Option<f64>,
        #[serde(default)]
        p80_ms: Option<f64>,
        #[serde(default)]
        samples: u32,
        #[serde(default)]
        detail: Option<String>,
    }

    #[derive(Deserialize)]
    struct Entry {
        key: Key,
        candidates: Vec<Cand>,
    }

    #[derive(Deserialize)]
    struct Table {
        gpu: GpuInfo,
        crate_version: String,
        date: String,
        command: String,
        entries: Vec<Entry>,
    }

    /// Parses a version-1 table into the current layout (family esmm: the only one then).
    pub(super) fn migrate(text: &str) -> Result<TunedTable, TableError> {
        let bad = |what: String| TableError::Malformed(format!("version-1 table: {what}"));
        let t: Table = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut entries = Vec::new();
        for e in t.entries {
            let dtype = ElemType::from_tag(&e.key.dtype).ok_or_else(|| bad(format!("dtype {:?}", e.key.dtype)))?;
            let activation = Activation::from_tag(&e.key.activation).ok_or_else(|| bad(format!("activation {:?}", e.key.activation)))?;
            let key = TableKey { family: Family::Esmm, dtype, activation, m: e.key.m, n: e.key.n, k: e.key.k, density: e.key.density };
            let mut candidates = Vec::new();
            for c in e.candidates {
                let status = CandidateStatus::ALL.into_iter().find(|s| s.tag() == c.status).ok_or_else(|| bad(format!("status {:?}", c.status)))?;
                candidates.push(Candidate {
                    variant: c.variant,
                    status,
                    fingerprint: None,
                    median_ms: c.median_ms,
                    p20_ms: c.p20_ms,
                    p80_ms: c.p80_ms,
                    samples: c.samples,
                    detail: c.detail,
                });
            }
            entries.push(TableEntry { key, candidates });
        }
        Ok(TunedTable { schema_version: SCHEMA_VERSION, gpu: t.gpu, crate_version: t.crate_version, date: t.date, command: t.command, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(v: &str, ms: f64) -> Candidate {
        Candidate { variant: v.into(), status: CandidateStatus::Ok, fingerprint: None, median_ms: Some(ms), p20_ms: Some(ms), p80_ms: Some(ms), samples: 20, detail: None }
    }

    fn table() -> TunedTable {
        let mut t = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "NVIDIA H200".into(), slug: "nvidia-h200".into(), compute_capability: 90, sm_count: 132, driver_version: "580".into(), cuda_version: "13.0".into() },
            crate_version: "0.1.0".into(),
            date: "2026-11-22".into(),
            command: "esmm-tune sweep".into(),
            entries: vec![],
        };
        let key = |m, d| TableKey { family: Family::Esmm, dtype: ElemType::F32, activation: Activation::None, m, n: 4096, k: 4096, density: d };
        t.record(key(4096, 0.5), cand("fast", 1.0));
        t.record(key(4096, 0.5), cand("slow", 2.0));
        t.record(key(4096, 1.0), cand(CUBLAS_SGEMM, 2.7));
        t.record(key(4096, 1.0), cand("fast", 3.0));
        t.record(key(16, 0.5), cand("small", 0.1));
        t
    }

    #[test]
    fn densities_snap_to_buckets() {
        assert_eq!(density_bucket(0.49), 0.5);
        assert_eq!(density_bucket(0.95), 1.0);
        assert_eq!(density_bucket(f64::NAN), 1.0);
        assert_eq!(density_bucket(-3.0), 0.125);
    }

    #[test]
    fn exact_then_nearest_lookup() {
        let t = table();
        let r = t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4096, 4096, 4096, 0.5);
        assert_eq!(r.iter().map(|c| c.variant.as_str()).collect::<Vec<_>>(), ["fast", "slow"]);
        let r = t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4000, 4100, 4096, 0.98);
        assert_eq!(r[0].variant, CUBLAS_SGEMM);
        let r = t.ranked(Family::Esmm, ElemType::F32, Activation::None, 20, 4096, 4096, 0.45);
        assert_eq!(r[0].variant, "small");
        // Too far from every measured key: no verdict (the caller's heuristic decides) ...
        assert!(t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4096, 1024, 1 << 20, 0.5).is_empty());
        // ... unless a key with the same M and density has no larger N and K (a longer K here).
        assert_eq!(t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4096, 4096, 1 << 20, 0.5)[0].variant, "fast");
        // A 16-row batch against a wider layer than measured.
        assert_eq!(t.ranked(Family::Esmm, ElemType::F32, Activation::None, 16, 28672, 8192, 0.5)[0].variant, "small");
        assert!(t.ranked(Family::Esmm, ElemType::F32, Activation::None, 16, 28672, 8192, 0.125).is_empty());
        assert!(t.ranked(Family::Esmm, ElemType::F32, Activation::None, 300, 4096, 4096, 0.5).is_empty());
        // Other activation falls back to the measured one.
        assert_eq!(t.ranked(Family::Esmm, ElemType::F32, Activation::Relu2, 4096, 4096, 4096, 0.5)[0].variant, "fast");
        assert!(t.ranked(Family::Esmm, ElemType::Bf16, Activation::None, 4096, 4096, 4096, 0.5).is_empty());
    }

    #[test]
    fn record_keeps_other_candidates_and_replaces_same() {
        let mut t = table();
        let key = TableKey { family: Family::Esmm, dtype: ElemType::F32, activation: Activation::None, m: 4096, n: 4096, k: 4096, density: 0.5 };
        t.record(key.clone(), cand("slow", 0.5));
        let r = t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4096, 4096, 4096, 0.5);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].variant, "slow");
        assert_eq!(t.winners(), vec!["cublas_sgemm".to_string(), "slow".into(), "small".into()]);
    }

    #[test]
    fn round_trip_and_foreign_gpu() {
        let t = table();
        let back = TunedTable::parse(&t.to_json()).unwrap();
        assert_eq!(back.entries.len(), t.entries.len());
        assert!(back.check_gpu("nvidia-h200").is_ok());
        let e = back.check_gpu("nvidia-geforce-rtx-3090").unwrap_err();
        assert!(e.to_string().contains("nvidia-h200"));
        assert_eq!(gpu_slug("NVIDIA GeForce RTX 3090"), "nvidia-geforce-rtx-3090");
        assert_eq!(gpu_slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
    }

    #[test]
    fn corrupted_tables_are_errors_not_panics() {
        let good = table().to_json();
        // Every truncation, and a handful of byte flips at every position class, must not panic.
        for cut in 0..good.len() {
            if good.is_char_boundary(cut) {
                assert!(TunedTable::parse(&good[..cut]).is_err() || cut >= good.trim_end().len());
            }
        }
        let mut rng = 0x9e3779b97f4a7c15u64;
        for _ in 0..3000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut bytes = good.clone().into_bytes();
            let i = (rng as usize) % bytes.len();
            bytes[i] = b"{}[]\",:0-e9x \n"[(rng >> 32) as usize % 14];
            if let Ok(s) = String::from_utf8(bytes) {
                if let Ok(t) = TunedTable::parse(&s) {
                    // Whatever parsed must be usable without panicking.
                    let _ = t.ranked(Family::Esmm, ElemType::F32, Activation::None, 4096, 4096, 4096, 0.5);
                    let _ = t.winners();
                }
            }
        }
        assert!(matches!(TunedTable::parse("{\"schema_version\": 99}"), Err(TableError::Schema(99))));
        let mut t = table();
        t.schema_version = 3;
        assert_eq!(TunedTable::parse(&serde_json::to_string(&t).unwrap()), Err(TableError::Schema(3)));
    }

    #[test]
    fn version_1_migrates_and_stale_fingerprints_are_dropped() {
        let v1 = r#"{"schema_version": 1, "gpu": {"name": "NVIDIA H200", "slug": "nvidia-h200", "compute_capability": 90,
            "sm_count": 132, "driver_version": "580", "cuda_version": "13.0"}, "crate_version": "0.1.0", "date": "2026-11-22",
            "command": "esmm-tune sweep", "entries": [{"key": {"dtype": "f32", "activation": "none", "m": 64, "n": 64, "k": 64,
            "density": 0.5}, "candidates": [{"variant": "cublas_sgemm", "status": "ok", "median_ms": 2.0, "samples": 5},
            {"variant": "k_a", "status": "ok", "median_ms": 1.0, "samples": 5},
            {"variant": "k_b", "status": "pruned", "median_ms": 9.0, "samples": 2}]}]}"#;
        let mut t = TunedTable::parse(v1).unwrap();
        assert_eq!(t.schema_version, SCHEMA_VERSION);
        assert_eq!(t.entries[0].key.family, Family::Esmm);
        assert_eq!(t.entries[0].candidates[2].status, CandidateStatus::Pruned);
        let current = |n: &str| match n {
            "k_a" => Some(1u64),
            "k_b" => Some(2u64),
            _ => None,
        };
        assert_eq!(t.fingerprint_with(&current, "13.0"), 2);
        let back = TunedTable::parse(&t.to_json()).unwrap();
        assert_eq!(back, t);
        // k_a's template changes: its measurement is dropped, the others stay.
        let changed = |n: &str| if n == "k_a" { Some(7u64) } else { current(n) };
        let mut u = t.clone();
        assert_eq!(u.drop_stale(&changed, "13.0"), vec!["k_a".to_string()]);
        assert_eq!(u.entries[0].candidates.len(), 2);
        // Another nvcc release: every kernel candidate is stale; the baseline stays.
        let mut w = t.clone();
        assert_eq!(w.drop_stale(&current, "12.8"), vec!["k_a".to_string(), "k_b".to_string()]);
        assert_eq!(w.entries[0].candidates[0].variant, CUBLAS_SGEMM);
        assert!(matches!(TunedTable::parse(&v1.replace("\"ok\"", "\"fine\"")), Err(TableError::Malformed(_))));
    }
}
