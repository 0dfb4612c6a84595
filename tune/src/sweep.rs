//! `esmm-tune sweep` and `esmm-tune report`.
//!
//! The sweep set (hundreds of variants) is not embedded in the runtime: the tuner renders each
//! variant with `esmm-codegen`, compiles it for the present GPU's architecture with the nvcc of
//! the tuning machine (in parallel, cached by content hash under `--cache`), and registers the
//! fatbins with the runtime handle. Each candidate is checked against cuBLAS on the key's data
//! before it is timed; failures are recorded, never fatal.

use crate::bench::{msg, time_runs, time_runs_after, DeviceProblem, Result};
use crate::compile::{compile_candidates, find_nvcc};
use crate::experiments::{make_workload, BenchConfig, WorkloadKind};
use crate::plot::Heatmap;
use esmm::gpu::{BlasMath, Esmm};
use esmm::tuned::{gpu_slug, Candidate, GpuInfo, TableKey, TunedTable, CUBLAS_SGEMM, SCHEMA_VERSION};
use esmm::{Activation, Dims};
use esmm_spec::KernelSpec;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
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
    #[arg(long, value_delimiter = ',', default_values_t = crate::experiments::DENSITIES.to_vec())]
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
    /// Keep measurements already in --out and skip (key, candidate) pairs measured before.
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

fn candidate(variant: &str, status: &str, t: Option<crate::bench::Timing>, detail: Option<String>) -> Candidate {
    Candidate {
        variant: variant.into(),
        status: status.into(),
        median_ms: t.map(|t| t.median_ms),
        p20_ms: t.map(|t| t.p20_ms),
        p80_ms: t.map(|t| t.p80_ms),
        samples: t.map_or(0, |t| t.samples),
        detail,
    }
}

fn key_for(d: Dims, density: f64) -> TableKey {
    TableKey { dtype: "f32".into(), activation: "none".into(), m: d.m as u64, n: d.n as u64, k: d.k as u64, density }
}

/// Measures every candidate under one key; returns the candidates' results.
fn sweep_key(esmm: &Esmm, names: &[String], d: Dims, density: f64, args: &SweepArgs, done: &dyn Fn(&str) -> bool, pb: &ProgressBar) -> Result<Vec<Candidate>> {
    let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
    let cfg = BenchConfig { dims: d, densities: vec![density], density_a: None, density_b: None, workload: WorkloadKind::Blockwise, variants: vec![], check: true, reps: args.reps, seed: args.seed };
    let host = make_workload(&cfg, d, density, density, args.seed ^ (d.m * 31 + d.n * 17 + d.k) as u64 ^ (density * 1000.0) as u64);
    let mut p = DeviceProblem::upload(esmm, &stream, host, true)?;
    let mut out = Vec::new();
    // Reference for the checks: cuBLAS FP32 on the same data, kept on the GPU; candidates are
    // compared there (cuBLAS axpy + norms), so no output crosses to the host.
    let len = d.m * d.n;
    p.run_cublas(esmm, &stream, BlasMath::Fp32)?;
    let mut reference = stream.alloc_zeros::<f32>(len).map_err(msg("allocating the reference"))?;
    stream.memcpy_dtod(&p.c, &mut reference).map_err(msg("keeping the reference"))?;
    let mut scratch = stream.alloc_zeros::<f32>(len).map_err(msg("allocating scratch"))?;
    let mut best = f64::INFINITY;
    if !done(CUBLAS_SGEMM) {
        let t = time_runs(&stream, args.reps, || p.run_cublas(esmm, &stream, BlasMath::Fp32))?;
        best = t.median_ms;
        out.push(candidate(CUBLAS_SGEMM, "ok", Some(t), None));
    }
    for name in names {
        pb.inc(1);
        if done(name) {
            continue;
        }
        let prepared = name.contains("_offb_");
        p.poison_c(&stream)?;
        if let Err(e) = p.run(esmm, &stream, Some(name), Activation::None, prepared) {
            let status = if e.contains("cannot serve") || e.contains("invalid") { "invalid" } else { "launch_failed" };
            out.push(candidate(name, status, None, Some(e)));
            continue;
        }
        let err = match esmm.relative_error_on_device(&stream, &p.c, &reference, &mut scratch, len) {
            Ok(e) => e,
            Err(e) => {
                out.push(candidate(name, "launch_failed", None, Some(e.to_string())));
                continue;
            }
        };
        if !(err <= 1e-5) {
            out.push(candidate(name, "wrong", None, Some(format!("relative error {err:.3e} vs cuBLAS"))));
            continue;
        }
        let mut run = || p.run(esmm, &stream, Some(name), Activation::None, prepared).map(|_| ());
        // One probe first: candidates far slower than the best so far are dropped early.
        let probe = time_runs_after(&stream, 1, 2, &mut run)?;
        if probe.median_ms > args.prune * best {
            out.push(candidate(name, "pruned", Some(probe), Some(format!("slower than {:.2}× the best after 2 samples", args.prune))));
            continue;
        }
        let t = time_runs_after(&stream, 1, args.reps, &mut run)?;
        best = best.min(t.median_ms);
        out.push(candidate(name, "ok", Some(t), None));
    }
    Ok(out)
}

/// `esmm-tune sweep`.
pub fn sweep(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let shapes: Vec<Dims> = if args.shapes.is_empty() {
        grid_shapes(&args.grid)?
    } else {
        args.shapes.iter().map(|s| crate::parse_shape(s)).collect::<Result<_>>()?
    };
    let specs: Vec<KernelSpec> = match args.set.as_str() {
        "sweep" => esmm_codegen::sets::sweep(),
        "shipped" => esmm_codegen::sets::shipped(),
        other => return Err(format!("unknown set {other:?}: sweep or shipped")),
    }
    .into_iter()
    .filter(|s| args.filter.is_empty() || args.filter.iter().any(|f| s.name().contains(f.as_str())))
    .collect();
    let handles: Vec<Esmm> = args.devices.iter().map(|&d| crate::open_gpu(d)).collect::<Result<_>>()?;
    let first = &handles[0].device().clone();
    if handles.iter().any(|h| h.device().name != first.name) {
        return Err("--devices must all be the same kind of GPU (one table per GPU kind)".into());
    }
    let nvcc = find_nvcc(args.nvcc.as_deref())?;
    eprintln!("compiling {} candidates for sm_{} with {}", specs.len(), first.compute_capability, nvcc.display());
    let (compiled, failed) = compile_candidates(&specs, first.compute_capability, &nvcc, &args.cache);
    eprintln!("compiled {} candidates ({} failed) in {:.0?}", compiled.len(), failed.len(), started.elapsed());
    for h in &handles {
        h.add_variants(compiled.iter().map(|(e, b)| (*e, b.clone())).collect()).map_err(|e| e.to_string())?;
    }
    let names: Vec<String> = compiled.iter().map(|(e, _)| e.name.to_string()).collect();

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
            gpu: GpuInfo { name: first.name.clone(), slug: slug.clone(), compute_capability: first.compute_capability, sm_count: first.sm_count, driver_version: driver_version(), cuda_version: cuda_version(&nvcc) },
            crate_version: env!("CARGO_PKG_VERSION").into(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        }
    };
    table.date = today();
    table.command = std::env::args().collect::<Vec<_>>().join(" ");
    for (name, why) in &failed {
        for &d in &shapes {
            for &dens in &args.densities {
                table.record(key_for(d, dens), candidate(name, "launch_failed", None, Some(format!("did not compile: {why}"))));
            }
        }
    }
    let keys: Vec<(Dims, f64)> = shapes.iter().flat_map(|&d| args.densities.iter().map(move |&x| (d, x))).collect();
    let pb = ProgressBar::new((keys.len() * names.len()) as u64);
    pb.set_style(ProgressStyle::with_template("sweeping {bar:40} {pos}/{len} [{elapsed_precise} < {eta}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let deadline = args.budget_minutes.map(|m| started + Duration::from_secs_f64(m * 60.0));
    let table = Mutex::new(table);
    let next = Mutex::new(0usize);
    let save = |t: &TunedTable| -> Result<()> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).map_err(msg("creating the table directory"))?;
        }
        std::fs::write(&out, t.to_json()).map_err(msg("writing the table"))
    };
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for h in &handles {
            let (keys, names, table, next, pb, errors, args) = (&keys, &names, &table, &next, &pb, &errors, &args);
            let save = &save;
            s.spawn(move || loop {
                if deadline.is_some_and(|dl| Instant::now() > dl) {
                    break;
                }
                let i = {
                    let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                    *n += 1;
                    *n - 1
                };
                let Some(&(d, dens)) = keys.get(i) else { break };
                pb.set_message(format!("{}x{}x{} d={dens}", d.m, d.n, d.k));
                let key = key_for(d, dens);
                let measured: Vec<String> = {
                    let t = table.lock().unwrap_or_else(|p| p.into_inner());
                    t.entries.iter().filter(|e| e.key == key).flat_map(|e| e.candidates.iter().filter(|c| c.status != "launch_failed" || c.detail.as_deref().is_some_and(|x| x.starts_with("did not compile"))).map(|c| c.variant.clone())).collect()
                };
                let done = |n: &str| args.resume && measured.iter().any(|m| m == n);
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
    let measured_keys = table.entries.iter().filter(|e| e.candidates.iter().any(|c| c.status == "ok")).count();
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

/// The CUDA release of the nvcc that compiled the candidates, e.g. `13.0` (empty when unknown).
fn cuda_version(nvcc: &Path) -> String {
    let out = std::process::Command::new(nvcc).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    out.lines()
        .find_map(|l| l.split("release ").nth(1))
        .and_then(|r| r.split(',').next())
        .map(|r| r.trim().to_string())
        .unwrap_or_default()
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

/// Best candidate and its speedup over cuBLAS for every key, as text lines.
pub fn summary_lines(table: &TunedTable) -> Vec<String> {
    let mut t = table.clone();
    t.sort();
    let mut lines = vec![format!("{:<22} {:>7} {:>10} {:>10} {:>8} {:>6}  {}", "shape", "density", "best ms", "cuBLAS ms", "speedup", "tried", "best variant")];
    for e in &t.entries {
        let ok: Vec<&Candidate> = e.candidates.iter().filter(|c| c.status == "ok" && c.median_ms.is_some()).collect();
        let best = ok.iter().min_by(|a, b| a.median_ms.unwrap_or(f64::INFINITY).total_cmp(&b.median_ms.unwrap_or(f64::INFINITY)));
        let cublas = e.candidates.iter().find(|c| c.variant == CUBLAS_SGEMM).and_then(|c| c.median_ms);
        if let Some(b) = best {
            let ms = b.median_ms.unwrap_or(f64::NAN);
            lines.push(format!(
                "{:<22} {:>7} {:>10.4} {:>10.4} {:>8.3} {:>6}  {}",
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

fn print_summary(table: &TunedTable) {
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
    let shape_of = |k: &TableKey| format!("{}x{}x{}", k.m, k.n, k.k);
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
                let cublas = e.candidates.iter().find(|c| c.variant == CUBLAS_SGEMM)?.median_ms?;
                let best = e.candidates.iter().filter(|c| c.status == "ok").filter_map(|c| c.median_ms).fold(f64::INFINITY, f64::min);
                Some(cublas / best)
            })
            .unwrap_or(f64::NAN)
    };
    let err = |e: Box<dyn std::error::Error>| e.to_string();
    let mut files = Heatmap {
        title: format!("{}: best speedup over cuBLAS SGEMM (rows: shape, columns: density)", t.gpu.name),
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
            entries.iter().find(|e| e.key.density == d).and_then(|e| e.candidates.iter().find(|c| c.variant == n)).and_then(|c| if c.status == "ok" { c.median_ms } else { None }).unwrap_or(f64::NAN)
        };
        // Sort candidates by their time at the sparsest density, fastest first.
        let last = densities.last().copied().unwrap_or(1.0);
        names.sort_by(|a, b| time(a, last).total_cmp(&time(b, last)));
        names.truncate(60);
        files.extend(
            Heatmap {
                title: format!("{s}: candidate time / cuBLAS (rows: fastest 60 at d={last})"),
                rows: names.clone(),
                cols,
                values: names.iter().map(|n| densities.iter().map(|d| time(n, *d) / time(CUBLAS_SGEMM, *d)).collect()).collect(),
            }
            .render(&out.join(format!("candidates_{s}")))
            .map_err(err)?,
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn report_draws_from_a_table() {
        let mut t = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "Test GPU".into(), slug: "test-gpu".into(), compute_capability: 90, sm_count: 1, driver_version: String::new(), cuda_version: String::new() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        };
        for d in [1.0, 0.5] {
            t.record(key_for(Dims::new(64, 64, 64), d), candidate(CUBLAS_SGEMM, "ok", crate::bench::Timing::from_samples(vec![1.0]), None));
            t.record(key_for(Dims::new(64, 64, 64), d), candidate("v", "ok", crate::bench::Timing::from_samples(vec![d]), None));
            t.record(key_for(Dims::new(64, 64, 64), d), candidate("bad", "wrong", None, Some("x".into())));
        }
        let lines = summary_lines(&t);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains(" 2.000") && lines[2].ends_with(" v"), "{lines:?}");
        let dir = std::env::temp_dir().join(format!("esmm-report-{}", std::process::id()));
        let files = report_pictures(&t, &dir, None).unwrap();
        assert_eq!(files.len(), 4);
        std::fs::remove_dir_all(&dir).ok();
    }
}
