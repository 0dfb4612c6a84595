//! `esmm-tune sweep`.
//!
//! The sweep set (hundreds of variants) is not embedded in the runtime: the tuner renders each
//! variant with `esmm-codegen`, compiles it for the present GPU's architecture with the nvcc of
//! the tuning machine (in parallel, cached by content hash under `--cache`), and registers the
//! fatbins with the runtime handle. Each candidate is checked against the family's reference on
//! the key's data before it is timed ([`crate::families`]); failures are recorded, never fatal.
//! Every kernel candidate records the [`Fingerprint`] of what was measured: the hash of its
//! rendered source and the release of the nvcc that compiled it, so that `--resume`, the
//! runtime and `esmm-tune tables check` can tell current measurements from stale ones.

use crate::bench::timing::Timing;
use crate::compile::{compile_candidates, find_nvcc, Compiled};
use crate::families::esmm::{self as family, KeyBench};
use crate::report::print_summary;
use crate::{msg, Result};
use esmm::dispatch::tuned::{gpu_slug, Candidate, CandidateStatus, Fingerprint, GpuInfo, TableKey, TunedTable, SCHEMA_VERSION};
use esmm::{Dims, Esmm, KernelSpec};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Arguments of `esmm-tune sweep`.
#[derive(clap::Args, Clone, Debug)]
pub struct SweepArgs {
    /// Candidate set: sweep (the search space) or shipped.
    #[arg(long, default_value = "sweep")]
    pub set: String,
    /// Shapes MxNxK; default: the grid named by --grid.
    #[arg(long, value_delimiter = ',')]
    pub shapes: Vec<String>,
    /// Shape grid when --shapes is not given: `quick` (4096³ and two LLM layers) or `full`
    /// (square 1024–16384 and LLM layers 4096×4096, 4096×11008, 11008×4096, 8192×28672 at
    /// M = 1, 16, 128, 512, 2048, 4096).
    #[arg(long, default_value = "quick")]
    pub grid: String,
    /// Densities (both operands).
    #[arg(long, value_delimiter = ',', default_values_t = crate::bench::DENSITIES.to_vec())]
    pub densities: Vec<f64>,
    /// Only candidates whose name contains one of these substrings.
    #[arg(long, value_delimiter = ',')]
    pub filter: Vec<String>,
    /// Stop starting new keys after this many minutes (the table is saved; `--resume` continues).
    #[arg(long)]
    pub budget_minutes: Option<f64>,
    /// Drop a candidate after 3 samples when it is slower than this factor × the best so far.
    #[arg(long, default_value_t = 1.6)]
    pub prune: f64,
    /// Timed repetitions per candidate that survives pruning.
    #[arg(long, default_value_t = 15)]
    pub reps: u32,
    /// Keep measurements already in --out and skip (key, candidate) pairs measured before whose
    /// fingerprint (rendered source hash, nvcc release) is still current; stale ones are
    /// measured again.
    #[arg(long)]
    pub resume: bool,
    /// GPU ordinals to shard keys over, one worker per GPU.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub devices: Vec<usize>,
    /// Output table; default tune/tables/<gpu-slug>.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// nvcc used to compile candidates (default: $NVCC, $CUDA_HOME, $CUDA_PATH, PATH, /usr/local/cuda, .toolchain/).
    #[arg(long)]
    pub nvcc: Option<PathBuf>,
    /// Directory caching rendered and compiled candidates.
    #[arg(long, default_value = "target/esmm-sweep")]
    pub cache: PathBuf,
    /// RNG seed of the workloads.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// The shapes of a named grid.
pub fn grid_shapes(grid: &str) -> Result<Vec<Dims>> {
    let llm = |ms: &[usize]| {
        let mut v = Vec::new();
        for &(n, k) in &[(4096usize, 4096usize), (11008, 4096), (4096, 11008), (28672, 8192)] {
            for &m in ms {
                v.push(Dims::new(m, n, k));
            }
        }
        v
    };
    match grid {
        "quick" => Ok(vec![Dims::new(4096, 4096, 4096), Dims::new(2048, 11008, 4096), Dims::new(2048, 4096, 11008)]),
        "full" => {
            let mut v: Vec<Dims> = [1024, 2048, 4096, 8192, 16384].into_iter().map(|s| Dims::new(s, s, s)).collect();
            v.extend(llm(&[1, 16, 128, 512, 2048, 4096]));
            Ok(v)
        }
        other => Err(format!("unknown grid {other:?}: use quick or full, or give --shapes")),
    }
}

/// A candidate record.
pub fn candidate(variant: &str, status: CandidateStatus, fingerprint: Option<Fingerprint>, t: Option<Timing>, detail: Option<String>) -> Candidate {
    Candidate {
        variant: variant.into(),
        status,
        fingerprint,
        median_ms: t.map(|t| t.median_ms),
        p20_ms: t.map(|t| t.p20_ms),
        p80_ms: t.map(|t| t.p80_ms),
        samples: t.map_or(0, |t| t.samples),
        detail,
    }
}

/// Whether a recorded candidate stands under `--resume`: a kernel (one with a `current`
/// fingerprint) when its recorded fingerprint equals it and it did not fail to launch; a
/// baseline (no fingerprint) when it was measured.
pub fn is_current(c: &Candidate, current: Option<&Fingerprint>) -> bool {
    match current {
        Some(f) => c.fingerprint.as_ref() == Some(f) && c.status != CandidateStatus::LaunchFailed,
        None => c.fingerprint.is_none() && c.status == CandidateStatus::Ok,
    }
}

/// The candidates recorded under `key` that stand under `--resume` (see [`is_current`]), and
/// how many recorded ones of `names` do not (stale: measured again).
pub fn current_under(table: &TunedTable, key: &TableKey, fingerprints: &HashMap<String, Fingerprint>, names: &[String]) -> (HashSet<String>, usize) {
    let recorded: Vec<&Candidate> = table.entries.iter().filter(|e| &e.key == key).flat_map(|e| &e.candidates).collect();
    let current: HashSet<String> = recorded.iter().filter(|c| is_current(c, fingerprints.get(&c.variant))).map(|c| c.variant.clone()).collect();
    let stale = recorded.iter().filter(|c| !current.contains(&c.variant) && names.contains(&c.variant)).count();
    (current, stale)
}

/// Measures the baseline and every candidate not `done` under one key.
fn sweep_key(esmm: &Esmm, names: &[(String, Fingerprint)], d: Dims, density: f64, args: &SweepArgs, done: &dyn Fn(&str) -> bool, pb: &ProgressBar) -> Result<Vec<Candidate>> {
    let mut bench = KeyBench::new(esmm, d, density, args.seed)?;
    let mut out = Vec::new();
    let mut best = f64::INFINITY;
    let baseline = bench.baseline_label();
    if !done(baseline) {
        let t = bench.time_baseline(args.reps)?;
        best = t.median_ms;
        out.push(candidate(baseline, CandidateStatus::Ok, None, Some(t), None));
    }
    for (name, fp) in names {
        pb.inc(1);
        if done(name) {
            continue;
        }
        let o = bench.measure(name, args.prune, best, args.reps)?;
        if o.status == CandidateStatus::Ok {
            best = best.min(o.timing.map_or(f64::INFINITY, |t| t.median_ms));
        }
        out.push(candidate(name, o.status, Some(fp.clone()), o.timing, o.detail));
    }
    Ok(out)
}

/// The records of candidates that produced no fatbin, under every key: `invalid` when they did
/// not render (no fingerprint), else `launch_failed` with the fingerprint of what nvcc refused.
fn failure_records(compiled: &Compiled, release: &str) -> Vec<Candidate> {
    compiled
        .failed
        .iter()
        .map(|f| match f.source_hash {
            None => candidate(&f.name, CandidateStatus::Invalid, None, None, Some(format!("did not render: {}", f.why))),
            Some(h) => candidate(&f.name, CandidateStatus::LaunchFailed, Some(Fingerprint::new(h, release)), None, Some(format!("did not compile: {}", f.why))),
        })
        .collect()
}

/// `esmm-tune sweep`.
pub fn sweep(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let shapes: Vec<Dims> = if args.shapes.is_empty() {
        grid_shapes(&args.grid)?
    } else {
        args.shapes.iter().map(|s| crate::parse_shape(s)).collect::<Result<_>>()?
    };
    let specs: Vec<KernelSpec> = family::candidates(match args.set.as_str() {
        "sweep" => esmm_codegen::sets::sweep(),
        "shipped" => esmm_codegen::sets::shipped(),
        other => return Err(format!("unknown set {other:?}: sweep or shipped")),
    })
    .into_iter()
    .filter(|s| args.filter.is_empty() || args.filter.iter().any(|f| s.name().contains(f.as_str())))
    .collect();
    let handles: Vec<Esmm> = args.devices.iter().map(|&d| crate::open_gpu(d)).collect::<Result<_>>()?;
    let first = &handles[0].device().clone();
    if handles.iter().any(|h| h.device().name != first.name) {
        return Err("--devices must all be the same kind of GPU (one table per GPU kind)".into());
    }
    let nvcc = find_nvcc(args.nvcc.as_deref())?;
    if nvcc.release.is_empty() {
        return Err(format!("{} --version names no release; measurements could not be fingerprinted", nvcc.path.display()));
    }
    let release = nvcc.release.clone();
    eprintln!("compiling {} candidates for sm_{} with {} (CUDA {release})", specs.len(), first.compute_capability, nvcc.path.display());
    let compiled = compile_candidates(&specs, first.compute_capability, &nvcc, &args.cache);
    eprintln!("compiled {} candidates ({} failed) in {:.0?}", compiled.ok.len(), compiled.failed.len(), started.elapsed());
    for h in &handles {
        h.add_variants(compiled.ok.iter().map(|(e, b)| (*e, b.clone())).collect()).map_err(|e| e.to_string())?;
    }
    let names: Vec<(String, Fingerprint)> = compiled.ok.iter().map(|(e, _)| (e.name.to_string(), Fingerprint::new(e.source_hash, &release))).collect();
    let fingerprints: HashMap<String, Fingerprint> = names.iter().cloned().collect();
    let plain_names: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();

    let slug = gpu_slug(&first.name);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("tune/tables/{slug}.json")));
    let mut table = if args.resume && out.exists() {
        let text = std::fs::read_to_string(&out).map_err(msg("reading the table to resume"))?;
        let t = TunedTable::parse(&text).map_err(|e| format!("{}: {e}", out.display()))?;
        t.check_gpu(&slug).map_err(|e| e.to_string())?;
        t
    } else {
        TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: first.name.clone(), slug: slug.clone(), compute_capability: first.compute_capability, sm_count: first.sm_count, driver_version: String::new(), cuda_version: String::new() },
            crate_version: env!("CARGO_PKG_VERSION").into(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        }
    };
    table.gpu.driver_version = driver_version();
    table.gpu.cuda_version = release.clone();
    table.date = today();
    table.command = std::env::args().collect::<Vec<_>>().join(" ");
    let failures = failure_records(&compiled, &release);
    for &d in &shapes {
        for &dens in &args.densities {
            for c in &failures {
                table.record(family::key(d, dens), c.clone());
            }
        }
    }
    let keys: Vec<(Dims, f64)> = shapes.iter().flat_map(|&d| args.densities.iter().map(move |&x| (d, x))).collect();
    let pb = ProgressBar::new((keys.len() * names.len()) as u64);
    pb.set_style(ProgressStyle::with_template("sweeping {bar:40} {pos}/{len} [{elapsed_precise} < {eta}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let deadline = args.budget_minutes.map(|m| started + Duration::from_secs_f64(m * 60.0));
    let table = Mutex::new(table);
    let next = AtomicUsize::new(0);
    let (kept, stale) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let save = |t: &TunedTable| -> Result<()> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).map_err(msg("creating the table directory"))?;
        }
        std::fs::write(&out, t.to_json()).map_err(msg("writing the table"))
    };
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for h in &handles {
            let (keys, names, table, next, pb, errors, args, save) = (&keys, &names, &table, &next, &pb, &errors, &args, &save);
            let (fingerprints, plain_names, kept, stale) = (&fingerprints, &plain_names, &kept, &stale);
            s.spawn(move || loop {
                if deadline.is_some_and(|dl| Instant::now() > dl) {
                    break;
                }
                let Some(&(d, dens)) = keys.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                pb.set_message(format!("{}x{}x{} d={dens}", d.m, d.n, d.k));
                let key = family::key(d, dens);
                let current = if args.resume {
                    let t = table.lock().unwrap_or_else(|p| p.into_inner());
                    let (current, n_stale) = current_under(&t, &key, fingerprints, plain_names);
                    kept.fetch_add(current.iter().filter(|n| fingerprints.contains_key(*n)).count(), Ordering::Relaxed);
                    stale.fetch_add(n_stale, Ordering::Relaxed);
                    current
                } else {
                    HashSet::new()
                };
                let done = |n: &str| current.contains(n);
                match sweep_key(h, names, d, dens, args, &done, pb) {
                    Ok(cands) => {
                        let mut t = table.lock().unwrap_or_else(|p| p.into_inner());
                        for c in cands {
                            t.record(key.clone(), c);
                        }
                        if let Err(e) = save(&t) {
                            errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                        }
                    }
                    Err(e) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{}x{}x{} d={dens}: {e}", d.m, d.n, d.k)),
                }
            });
        }
    });
    pb.finish_and_clear();
    let table = table.into_inner().unwrap_or_else(|p| p.into_inner());
    save(&table)?;
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    for e in &errors {
        eprintln!("warning: key skipped: {e}");
    }
    if args.resume {
        eprintln!("resume: kept {} current kernel measurements; measured {} recorded ones again (stale fingerprint or failed launch)", kept.into_inner(), stale.into_inner());
    }
    let measured_keys = table.entries.iter().filter(|e| e.candidates.iter().any(|c| c.status == CandidateStatus::Ok)).count();
    eprintln!("sweep: {} candidates × {} keys ({} measured) in {:.1?}; table {}", names.len(), keys.len(), measured_keys, started.elapsed(), out.display());
    print_summary(&table);
    Ok(())
}

/// The first dotted version number (e.g. `580.159.04`) in the first line of a version text.
fn first_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    line.split(|c: char| c.is_whitespace() || c == ',')
        .find(|w| w.split('.').count() >= 2 && w.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())))
        .map(str::to_string)
}

/// The NVIDIA kernel driver version, e.g. `580.159.04` (empty when unknown).
fn driver_version() -> String {
    std::fs::read_to_string("/proc/driver/nvidia/version").ok().as_deref().and_then(first_version).unwrap_or_default()
}

fn today() -> String {
    // Days since the Unix epoch to a civil date (Howard Hinnant's algorithm).
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use esmm::dispatch::tuned::CUBLAS_SGEMM;

    #[test]
    fn grids_cover_the_issue_shapes() {
        let full = grid_shapes("full").unwrap();
        assert!(full.contains(&Dims::new(16384, 16384, 16384)));
        assert!(full.contains(&Dims::new(1, 28672, 8192)));
        assert!(full.contains(&Dims::new(4096, 4096, 11008)));
        assert_eq!(full.len(), 5 + 4 * 6);
        assert!(grid_shapes("nope").is_err());
    }

    #[test]
    fn versions_are_read_from_their_texts() {
        let proc = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (dvs-builder@U22)  Thu Oct 2 2025\nGCC version: gcc 12";
        assert_eq!(first_version(proc).as_deref(), Some("580.159.04"));
        assert_eq!(first_version("no numbers here"), None);
    }

    #[test]
    fn date_is_iso() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }

    #[test]
    fn resume_keeps_current_measurements_and_remeasures_stale_ones() {
        let t1 = Timing::from_samples(vec![1.0]);
        let now = |h| Fingerprint::new(h, "13.0");
        let key = family::key(Dims::new(64, 64, 64), 0.5);
        let mut table = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "G".into(), slug: "g".into(), compute_capability: 90, sm_count: 1, driver_version: String::new(), cuda_version: "13.0".into() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        };
        table.record(key.clone(), candidate(CUBLAS_SGEMM, CandidateStatus::Ok, None, t1, None));
        table.record(key.clone(), candidate("fresh", CandidateStatus::Ok, Some(now(1)), t1, None));
        table.record(key.clone(), candidate("fresh_pruned", CandidateStatus::Pruned, Some(now(2)), t1, None));
        table.record(key.clone(), candidate("edited", CandidateStatus::Ok, Some(now(3)), t1, None));
        table.record(key.clone(), candidate("old_nvcc", CandidateStatus::Ok, Some(Fingerprint::new(4, "12.8")), t1, None));
        table.record(key.clone(), candidate("v1", CandidateStatus::Ok, None, t1, None));
        table.record(key.clone(), candidate("crashed", CandidateStatus::LaunchFailed, Some(now(6)), None, Some("x".into())));
        let fps: HashMap<String, Fingerprint> =
            [("fresh", 1), ("fresh_pruned", 2), ("edited", 33), ("old_nvcc", 4), ("v1", 5), ("crashed", 6), ("new", 7)].into_iter().map(|(n, h)| (n.to_string(), now(h))).collect();
        let names: Vec<String> = fps.keys().cloned().collect();
        let (current, stale) = current_under(&table, &key, &fps, &names);
        let mut cur: Vec<&str> = current.iter().map(String::as_str).collect();
        cur.sort();
        assert_eq!(cur, [CUBLAS_SGEMM, "fresh", "fresh_pruned"]);
        assert_eq!(stale, 4, "edited, old_nvcc, v1 and crashed are measured again");
        // Another key has nothing current.
        let other = family::key(Dims::new(64, 64, 128), 0.5);
        assert!(current_under(&table, &other, &fps, &names).0.is_empty());
    }

    #[test]
    fn compile_failures_are_recorded_with_what_failed() {
        let compiled = Compiled {
            ok: Vec::new(),
            failed: vec![
                crate::compile::Failed { name: "a".into(), why: "nvcc: error".into(), source_hash: Some(9) },
                crate::compile::Failed { name: "b".into(), why: "b is invalid: x".into(), source_hash: None },
            ],
        };
        let r = failure_records(&compiled, "13.0");
        assert_eq!((r[0].status, r[0].fingerprint.clone()), (CandidateStatus::LaunchFailed, Some(Fingerprint::new(9, "13.0"))));
        assert!(r[0].detail.as_deref().unwrap().starts_with("did not compile"));
        assert_eq!((r[1].status, r[1].fingerprint.clone()), (CandidateStatus::Invalid, None));
    }
}
