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
use crate::families::tc;
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
    /// Kernel family: esmm (f32, CUDA cores), tc (tensor cores, bf16/f16/TF32) or gemv (decode
    /// GEMV, bf16, 1..16 tokens).
    #[arg(long, default_value = "esmm")]
    pub family: String,
    /// Candidate set: sweep (the search space) or shipped.
    #[arg(long, default_value = "sweep")]
    pub set: String,
    /// Shapes MxNxK; default: the grid named by --grid (esmm) or the family's keys (tc: bf16
    /// 4096³ at every density, f16 and TF32 4096³ at 1 and 0.5, bf16 2048×11008×4096 and 8192³
    /// at 1, 0.5, 0.25; gemv: K×N weights 4096×4096, 4096×11008, 11008×4096, 8192×28672,
    /// 3072×8192, 8192×3072 at M = --tokens; for gemv M = tokens, N = outputs, K = inputs).
    #[arg(long, value_delimiter = ',')]
    pub shapes: Vec<String>,
    /// Family gemv: tokens per call (M, 1..16) of the default shapes; default 1, 4, 16.
    #[arg(long, value_delimiter = ',')]
    pub tokens: Vec<usize>,
    /// Shape grid of family esmm when --shapes is not given: `quick` (4096³ and two LLM layers)
    /// or `full` (square 1024–16384 and LLM layers 4096×4096, 4096×11008, 11008×4096,
    /// 8192×28672 at M = 1, 16, 128, 512, 2048, 4096).
    #[arg(long, default_value = "quick")]
    pub grid: String,
    /// Densities (both operands; gemv: the fraction of inputs nonzero for some token); default:
    /// every density bucket (tc without --shapes: the family's keys, narrowed to these densities
    /// when given; gemv: 1, 0.75, 0.5, 0.25, 0.125).
    #[arg(long, value_delimiter = ',')]
    pub densities: Vec<f64>,
    /// Family tc: input types to sweep (bf16, f16, tf32); default all three.
    #[arg(long, value_delimiter = ',')]
    pub dtype: Vec<String>,
    /// Family tc: instruction paths (all, mma, wgmma; wgmma only on sm_90).
    #[arg(long, default_value = "all")]
    pub path: String,
    /// Family tc: how each type's space is searched: refine (a coarse set per CTA tile, then
    /// rounds of one-axis neighbours of the fastest) or exhaustive (nearest the defaults first).
    #[arg(long, value_enum, default_value = "refine")]
    pub strategy: crate::families::tc::Strategy,
    /// Families tc and gemv: most kernels timed per key (coarse ones first; gemv default 48).
    #[arg(long)]
    pub max_candidates: Option<usize>,
    /// Family tc, refine: the fastest kernels of a key whose neighbours each round adds (gemv:
    /// its one refine round; 0 skips it).
    #[arg(long, default_value_t = 3)]
    pub refine_top: usize,
    /// Family tc, refine: rounds after the coarse one.
    #[arg(long, default_value_t = 2)]
    pub refine_rounds: usize,
    /// Only candidates whose name contains one of these substrings.
    #[arg(long, value_delimiter = ',')]
    pub filter: Vec<String>,
    /// Stop starting new keys after this many minutes (the table is saved; `--resume` continues).
    #[arg(long)]
    pub budget_minutes: Option<f64>,
    /// Drop a candidate after 3 samples when it is slower than this factor × the best so far.
    #[arg(long, default_value_t = 1.6)]
    pub prune: f64,
    /// Timed repetitions per candidate that survives pruning (gemv: samples of 20 calls each).
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
    match args.family.as_str() {
        "esmm" => sweep_esmm(args),
        "tc" => sweep_tc(args),
        "gemv" => crate::families::gemv::sweep(args),
        "rans" => Err("family rans has no sweep workload yet (not supported yet); sweeps: esmm, tc or gemv".into()),
        other => Err(format!("unknown family {other:?} for sweep: esmm, tc or gemv")),
    }
}

/// The densities of a sweep: `--densities`, else every density bucket.
fn densities_of(args: &SweepArgs) -> Result<Vec<f64>> {
    if args.densities.iter().any(|d| !(0.0..=1.0).contains(d)) {
        return Err("densities must lie in [0, 1]".into());
    }
    Ok(if args.densities.is_empty() { crate::bench::DENSITIES.to_vec() } else { args.densities.clone() })
}

/// The table to write, stamped with this run's driver, nvcc release, date and command. Under
/// `--resume` the one in `out` (which must be this GPU's). Otherwise the one in `out` too when
/// it is this GPU's table (several families share the file), less the entries `fresh` selects
/// (the keys this sweep measures afresh); else a new one.
pub(crate) fn open_table(args: &SweepArgs, out: &std::path::Path, gpu: &esmm::DeviceInfo, release: &str, fresh: &dyn Fn(&TableKey) -> bool) -> Result<TunedTable> {
    let slug = gpu_slug(&gpu.name);
    let existing = if out.exists() {
        let text = std::fs::read_to_string(out).map_err(msg("reading the table"))?;
        let parsed = TunedTable::parse(&text).map_err(|e| format!("{}: {e}", out.display())).and_then(|t| t.check_gpu(&slug).map(|()| t).map_err(|e| e.to_string()));
        match parsed {
            Ok(t) => Some(t),
            Err(e) if args.resume => return Err(e),
            Err(e) => {
                eprintln!("warning: {e}; writing a new table there");
                None
            }
        }
    } else {
        None
    };
    let mut table = match existing {
        Some(mut t) => {
            if !args.resume {
                t.entries.retain(|e| !fresh(&e.key));
            }
            t
        }
        None => TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: gpu.name.clone(), slug: slug.clone(), compute_capability: gpu.compute_capability, sm_count: gpu.sm_count, driver_version: String::new(), cuda_version: String::new() },
            crate_version: env!("CARGO_PKG_VERSION").into(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        },
    };
    table.gpu.driver_version = driver_version();
    table.gpu.cuda_version = release.to_string();
    table.date = today();
    table.command = std::env::args().collect::<Vec<_>>().join(" ");
    Ok(table)
}

/// Writes a table (creating its directory).
pub(crate) fn save_table(out: &std::path::Path, t: &TunedTable) -> Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(msg("creating the table directory"))?;
    }
    std::fs::write(out, t.to_json()).map_err(msg("writing the table"))
}

/// `esmm-tune sweep --family esmm`.
fn sweep_esmm(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let densities = densities_of(&args)?;
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
    // Without --resume every esmm key starts afresh; other families' keys are kept.
    let mut table = open_table(&args, &out, first, &release, &|k| k.family == esmm::Family::Esmm)?;
    let failures = failure_records(&compiled, &release);
    for &d in &shapes {
        for &dens in &densities {
            for c in &failures {
                table.record(family::key(d, dens), c.clone());
            }
        }
    }
    let keys: Vec<(Dims, f64)> = shapes.iter().flat_map(|&d| densities.iter().map(move |&x| (d, x))).collect();
    let pb = ProgressBar::new((keys.len() * names.len()) as u64);
    pb.set_style(ProgressStyle::with_template("sweeping {bar:40} {pos}/{len} [{elapsed_precise} < {eta}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let deadline = args.budget_minutes.map(|m| started + Duration::from_secs_f64(m * 60.0));
    let table = Mutex::new(table);
    let next = AtomicUsize::new(0);
    let (kept, stale) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let save = |t: &TunedTable| -> Result<()> { save_table(&out, t) };
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

/// What a sweep that compiles on demand (tc, gemv) compiled so far (shared by the device
/// workers): each variant's outcome, and the time spent.
#[derive(Default)]
pub(crate) struct Compiles {
    /// Name → fingerprint of the compiled fatbin, or the record of why there is none.
    done: HashMap<String, std::result::Result<Fingerprint, Box<Candidate>>>,
    /// Seconds in nvcc (including cache hits) and variants compiled.
    pub(crate) seconds: f64,
    pub(crate) count: usize,
}

/// Compiles (once per process) the `specs` not compiled yet and registers them with every
/// handle; returns, per spec, its fingerprint or its failure record.
pub(crate) fn ensure_compiled(specs: &[KernelSpec], state: &Mutex<Compiles>, handles: &[Esmm], cc: u32, nvcc: &esmm_toolchain::Nvcc, cache: &std::path::Path) -> Vec<std::result::Result<Fingerprint, Box<Candidate>>> {
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let missing: Vec<KernelSpec> = specs.iter().filter(|s| !st.done.contains_key(&s.name())).copied().collect();
    if !missing.is_empty() {
        let t0 = Instant::now();
        let compiled = crate::compile::compile_candidates_with(&missing, cc, nvcc, cache, false);
        st.seconds += t0.elapsed().as_secs_f64();
        st.count += missing.len();
        for h in handles {
            if let Err(e) = h.add_variants(compiled.ok.iter().map(|(e, b)| (*e, b.clone())).collect()) {
                eprintln!("warning: registering compiled variants: {e}");
            }
        }
        for (e, _) in &compiled.ok {
            st.done.insert(e.name.to_string(), Ok(Fingerprint::new(e.source_hash, &nvcc.release)));
        }
        for c in failure_records(&compiled, &nvcc.release) {
            st.done.insert(c.variant.clone(), Err(Box::new(c)));
        }
    }
    specs.iter().map(|s| st.done.get(&s.name()).cloned().unwrap_or_else(|| Err(Box::new(candidate(&s.name(), CandidateStatus::LaunchFailed, None, None, Some("not compiled".into())))))).collect()
}

/// The keys of a tc sweep: `--shapes` × densities × types, else the family's default keys
/// (narrowed to `--densities` when given).
fn tc_keys(args: &SweepArgs, dtypes: &[esmm::ElemType]) -> Result<Vec<(esmm::ElemType, Dims, f64)>> {
    if args.densities.iter().any(|d| !(0.0..=1.0).contains(d)) {
        return Err("densities must lie in [0, 1]".into());
    }
    if args.shapes.is_empty() {
        let keys: Vec<_> = tc::default_keys(dtypes).into_iter().filter(|(_, _, d)| args.densities.is_empty() || args.densities.contains(d)).collect();
        return Ok(keys);
    }
    let shapes: Vec<Dims> = args.shapes.iter().map(|s| crate::parse_shape(s)).collect::<Result<_>>()?;
    let densities = densities_of(args)?;
    let mut keys = Vec::new();
    for &t in dtypes {
        for &d in &shapes {
            keys.extend(densities.iter().map(|&x| (t, d, x)));
        }
    }
    Ok(keys)
}

/// The input types of a tc sweep (`--dtype`, default all three).
fn tc_dtypes(args: &SweepArgs) -> Result<Vec<esmm::ElemType>> {
    if args.dtype.is_empty() {
        return Ok(tc::DTYPES.to_vec());
    }
    let mut v = Vec::new();
    for d in &args.dtype {
        let t = tc::parse_dtype(d)?;
        if !v.contains(&t) {
            v.push(t);
        }
    }
    Ok(v)
}

/// Per-key statistics of the tc sweep (for its log).
#[derive(Default)]
struct TcKeyStats {
    tried: usize,
    per_round: Vec<usize>,
    measure_s: f64,
}

/// Sweeps one tc key on `esmm`: baseline, then the rounds of [`tc::round_candidates`], each
/// candidate compiled on demand, checked and timed; returns the records and statistics.
#[allow(clippy::too_many_arguments)]
fn sweep_tc_key(
    esmm: &Esmm,
    handles: &[Esmm],
    (dtype, d, density): (esmm::ElemType, Dims, f64),
    space: &[esmm_spec::TcSpec],
    search: &tc::Search,
    args: &SweepArgs,
    done: &dyn Fn(&str) -> bool,
    recorded: &[Candidate],
    compiles: &Mutex<Compiles>,
    nvcc: &esmm_toolchain::Nvcc,
    deadline: Option<Instant>,
) -> Result<(Vec<Candidate>, TcKeyStats)> {
    let mut bench = tc::key_bench(esmm, dtype, d, density, args.seed)?;
    let mut out: Vec<Candidate> = Vec::new();
    let mut stats = TcKeyStats::default();
    let baseline = bench.baseline_label();
    let mut best = f64::INFINITY;
    if done(baseline) {
        best = recorded.iter().find(|c| c.variant == baseline).and_then(|c| c.median_ms).unwrap_or(f64::INFINITY);
    } else {
        let t = bench.time_baseline(args.reps)?;
        best = best.min(t.median_ms);
        out.push(candidate(baseline, CandidateStatus::Ok, None, Some(t), None));
    }
    // Kernels timed at this key (this run's and, under --resume, the current recorded ones).
    let mut timed: Vec<(String, f64)> = recorded.iter().filter(|c| done(&c.variant) && c.status == CandidateStatus::Ok && c.fingerprint.is_some()).filter_map(|c| c.median_ms.map(|m| (c.variant.clone(), m))).collect();
    for (_, m) in &timed {
        best = best.min(*m);
    }
    let mut tried: HashSet<String> = recorded.iter().filter(|c| done(&c.variant) && c.fingerprint.is_some()).map(|c| c.variant.clone()).collect();
    for round in 0.. {
        if round > 0 && deadline.is_some_and(|dl| Instant::now() > dl) {
            break;
        }
        timed.sort_by(|a, b| a.1.total_cmp(&b.1));
        let ranked: Vec<String> = timed.iter().map(|(n, _)| n.clone()).collect();
        let list = tc::round_candidates(space, search, round, &ranked, &tried);
        if list.is_empty() {
            if round == 0 && search.strategy == tc::Strategy::Refine {
                continue; // everything coarse was measured before (--resume): refine anyway
            }
            break;
        }
        stats.per_round.push(list.len());
        let specs: Vec<KernelSpec> = list.iter().map(|s| KernelSpec::Tc(*s)).collect();
        let fps = ensure_compiled(&specs, compiles, handles, esmm.device().compute_capability, nvcc, &args.cache);
        let tm = Instant::now();
        for (spec, fp) in list.iter().zip(fps) {
            let name = spec.name();
            tried.insert(name.clone());
            stats.tried += 1;
            let fp = match fp {
                Ok(fp) => fp,
                Err(record) => {
                    out.push(*record);
                    continue;
                }
            };
            let o = bench.measure(spec, args.prune, best, args.reps)?;
            if o.status == CandidateStatus::Ok {
                let ms = o.timing.map_or(f64::INFINITY, |t| t.median_ms);
                best = best.min(ms);
                timed.push((name.clone(), ms));
            }
            out.push(candidate(&name, o.status, Some(fp), o.timing, o.detail));
        }
        stats.measure_s += tm.elapsed().as_secs_f64();
        if round > search.rounds + 1 {
            break;
        }
    }
    Ok((out, stats))
}

/// `esmm-tune sweep --family tc`: keys (type, M, N, K, density) of the tc blockwise workload,
/// candidates from the family's sweep set per type, searched by `--strategy`, compiled on
/// demand (wgmma ones for sm_90a), each checked against cuBLAS with fp32 output and timed;
/// the baseline is cuBLAS in the type. Recorded in the GPU's table with the esmm keys.
fn sweep_tc(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let dtypes = tc_dtypes(&args)?;
    let keys = tc_keys(&args, &dtypes)?;
    let set = match args.set.as_str() {
        "sweep" => esmm_codegen::sets::sweep(),
        "shipped" => esmm_codegen::sets::shipped(),
        other => return Err(format!("unknown set {other:?}: sweep or shipped")),
    };
    let handles: Vec<Esmm> = args.devices.iter().map(|&d| crate::open_gpu(d)).collect::<Result<_>>()?;
    let first = &handles[0].device().clone();
    if handles.iter().any(|h| h.device().name != first.name) {
        return Err("--devices must all be the same kind of GPU (one table per GPU kind)".into());
    }
    let cc = first.compute_capability;
    let paths = tc::paths_for(cc, &args.path)?;
    let spaces: HashMap<esmm::ElemType, Vec<esmm_spec::TcSpec>> = dtypes
        .iter()
        .map(|&t| {
            let s: Vec<esmm_spec::TcSpec> = tc::space(&set, t, &paths).into_iter().filter(|s| args.filter.is_empty() || args.filter.iter().any(|f| s.name().contains(f.as_str()))).collect();
            (t, s)
        })
        .collect();
    for &t in &dtypes {
        let n = spaces[&t].len();
        if n == 0 {
            eprintln!("tc {}: no variants in the {} set for paths {:?} (is the tc codegen present?)", tc::dtype_label(t), args.set, paths);
        } else {
            eprintln!("tc {}: {n} variants in the {} set ({} coarse)", tc::dtype_label(t), args.set, tc::coarse(&spaces[&t]).len());
        }
    }
    let search = tc::Search { strategy: args.strategy, max_candidates: args.max_candidates, refine_top: args.refine_top, rounds: args.refine_rounds };
    let nvcc = find_nvcc(args.nvcc.as_deref())?;
    if nvcc.release.is_empty() {
        return Err(format!("{} --version names no release; measurements could not be fingerprinted", nvcc.path.display()));
    }
    // Fingerprints of the whole space (rendering is cheap; compiling happens on demand), for
    // --resume; a variant that does not render is recorded `invalid` under its type's keys.
    let mut fingerprints: HashMap<String, Fingerprint> = HashMap::new();
    let mut unrenderable: HashMap<esmm::ElemType, Vec<Candidate>> = HashMap::new();
    for (&t, space) in &spaces {
        for s in space {
            match esmm_codegen::source_hash(&KernelSpec::Tc(*s)) {
                Ok(h) => {
                    fingerprints.insert(s.name(), Fingerprint::new(h, &nvcc.release));
                }
                Err(why) => unrenderable.entry(t).or_default().push(candidate(&s.name(), CandidateStatus::Invalid, None, None, Some(format!("did not render: {why}")))),
            }
        }
    }
    let renderable: HashMap<esmm::ElemType, Vec<esmm_spec::TcSpec>> = spaces.iter().map(|(&t, v)| (t, v.iter().filter(|s| fingerprints.contains_key(&s.name())).copied().collect())).collect();
    let plain_names: Vec<String> = fingerprints.keys().cloned().collect();
    let slug = gpu_slug(&first.name);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("tune/tables/{slug}.json")));
    let key_set: Vec<TableKey> = keys.iter().map(|&(t, d, x)| tc::key(t, d, x)).collect();
    let mut table = open_table(&args, &out, first, &nvcc.release, &|k| key_set.contains(k))?;
    for &(t, d, x) in &keys {
        for c in unrenderable.get(&t).into_iter().flatten() {
            table.record(tc::key(t, d, x), c.clone());
        }
    }
    eprintln!(
        "tc sweep: {} keys on {} GPU(s), strategy {:?} (refine top {}, {} rounds, cap {:?}); compiling on demand with {} (CUDA {})",
        keys.len(),
        handles.len(),
        search.strategy,
        search.refine_top,
        search.rounds,
        search.max_candidates,
        nvcc.path.display(),
        nvcc.release
    );
    let pb = ProgressBar::new(keys.len() as u64);
    pb.set_style(ProgressStyle::with_template("sweeping tc {bar:40} {pos}/{len} keys [{elapsed_precise} < {eta}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let deadline = args.budget_minutes.map(|m| started + Duration::from_secs_f64(m * 60.0));
    let table = Mutex::new(table);
    let next = AtomicUsize::new(0);
    let compiles = Mutex::new(Compiles::default());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let (pairs, measure_ms, skipped) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for h in &handles {
            let (keys, table, next, pb, errors, args, out, renderable, fingerprints, plain_names) = (&keys, &table, &next, &pb, &errors, &args, &out, &renderable, &fingerprints, &plain_names);
            let (compiles, nvcc, handles, search, pairs, measure_ms, skipped) = (&compiles, &nvcc, &handles, &search, &pairs, &measure_ms, &skipped);
            s.spawn(move || {
                while let Some(&(t, d, dens)) = keys.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if deadline.is_some_and(|dl| Instant::now() > dl) {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let label = format!("{} {}x{}x{} d={dens}", tc::dtype_label(t), d.m, d.n, d.k);
                    pb.set_message(label.clone());
                    let key = tc::key(t, d, dens);
                    let (current, recorded): (HashSet<String>, Vec<Candidate>) = if args.resume {
                        let tb = table.lock().unwrap_or_else(|p| p.into_inner());
                        let (current, _) = current_under(&tb, &key, fingerprints, plain_names);
                        let recorded = tb.entries.iter().filter(|e| e.key == key).flat_map(|e| e.candidates.clone()).collect();
                        (current, recorded)
                    } else {
                        (HashSet::new(), Vec::new())
                    };
                    let done = |n: &str| current.contains(n);
                    let space = renderable.get(&t).map_or(&[][..], Vec::as_slice);
                    let tk = Instant::now();
                    match sweep_tc_key(h, handles, (t, d, dens), space, search, args, &done, &recorded, compiles, nvcc, deadline) {
                        Ok((cands, stats)) => {
                            pairs.fetch_add(stats.tried, Ordering::Relaxed);
                            measure_ms.fetch_add((stats.measure_s * 1000.0) as usize, Ordering::Relaxed);
                            let baseline = esmm::dispatch::tuned::dense_baseline(tc::FAMILY, t);
                            let base_ms = cands.iter().chain(&recorded).find(|c| c.variant == baseline).and_then(|c| c.median_ms);
                            let best = cands.iter().filter(|c| c.status == CandidateStatus::Ok && c.fingerprint.is_some()).filter_map(|c| c.median_ms.map(|m| (m, c.variant.clone()))).min_by(|a, b| a.0.total_cmp(&b.0));
                            let failed = cands.iter().filter(|c| matches!(c.status, CandidateStatus::Wrong | CandidateStatus::LaunchFailed | CandidateStatus::Invalid)).count();
                            pb.println(format!(
                                "{label}: {} kernels (rounds {:?}), {failed} failed; best {} ({:.4} ms, {:.2}× {baseline} {:.4} ms); {:.1} s",
                                stats.tried,
                                stats.per_round,
                                best.as_ref().map_or("none", |b| b.1.as_str()),
                                best.as_ref().map_or(f64::NAN, |b| b.0),
                                base_ms.zip(best.as_ref()).map_or(f64::NAN, |(c, b)| c / b.0),
                                base_ms.unwrap_or(f64::NAN),
                                tk.elapsed().as_secs_f64()
                            ));
                            let mut tb = table.lock().unwrap_or_else(|p| p.into_inner());
                            for c in cands {
                                tb.record(key.clone(), c);
                            }
                            if let Err(e) = save_table(out, &tb) {
                                errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                            }
                        }
                        Err(e) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{label}: {e}")),
                    }
                    pb.inc(1);
                }
            });
        }
    });
    pb.finish_and_clear();
    let table = table.into_inner().unwrap_or_else(|p| p.into_inner());
    save_table(&out, &table)?;
    for e in errors.into_inner().unwrap_or_else(|p| p.into_inner()) {
        eprintln!("warning: key skipped: {e}");
    }
    let skipped = skipped.into_inner();
    if skipped > 0 {
        eprintln!("budget: {skipped} keys not started (--budget-minutes); `--resume` continues");
    }
    let c = compiles.into_inner().unwrap_or_else(|p| p.into_inner());
    let pairs = pairs.into_inner();
    let measure_s = measure_ms.into_inner() as f64 / 1000.0;
    eprintln!(
        "tc sweep: {} keys, {pairs} (key, kernel) pairs checked and timed in {measure_s:.1} s ({:.0} ms each); {} variants compiled in {:.1} s ({:.2} s each, {} nvcc jobs at a time); total {:.1?}; table {}",
        keys.len() - skipped,
        1000.0 * measure_s / pairs.max(1) as f64,
        c.count,
        c.seconds,
        c.seconds / c.count.max(1) as f64,
        esmm_toolchain::thread_count(usize::MAX),
        started.elapsed(),
        out.display()
    );
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
