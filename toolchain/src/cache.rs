//! The content-hash fatbin cache: parallel nvcc compiles, each result stored as
//! `<cache_dir>/<name>-<hash16>.fatbin`, so an unchanged source under unchanged flags and the
//! same nvcc is never compiled twice.

use crate::{include_args, Nvcc};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a job's CUDA source comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A `.cu` file, compiled where it lies.
    File(PathBuf),
    /// Source text (e.g. rendered at run time); written to `<cache_dir>/<name>-<hash16>.cu`
    /// when it must be compiled.
    Text(String),
}

/// One fatbin to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The fatbin's name (a kernel variant name); unique within one call.
    pub name: String,
    /// The CUDA source.
    pub source: Source,
    /// Passed as `-I <dir>` (and part of the cache key) when set.
    pub include_dir: Option<PathBuf>,
}

/// Why one job produced no fatbin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The job's name.
    pub name: String,
    /// The nvcc command line, empty when nvcc never ran (e.g. an unreadable source).
    pub command: String,
    /// nvcc's stdout and stderr, or the I/O error.
    pub output: String,
}

impl CompileError {
    /// The first `lines` non-empty lines of the output, joined by ` | ` (for one-line records).
    pub fn summary(&self, lines: usize) -> String {
        self.output.lines().map(str::trim).filter(|l| !l.is_empty()).take(lines).collect::<Vec<_>>().join(" | ")
    }
}

impl fmt::Display for CompileError {
    /// `<name>: nvcc failed: <command>` and the output, or `<name>: <output>` without a command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.command.is_empty() {
            write!(f, "{}: {}", self.name, self.output.trim_end())
        } else {
            write!(f, "{}: nvcc failed: {}\n{}", self.name, self.command, self.output.trim_end())
        }
    }
}

/// The result of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The job's name.
    pub name: String,
    /// The fatbin in the cache, or why there is none.
    pub fatbin: Result<PathBuf, CompileError>,
    /// Whether the fatbin was already in the cache (nvcc did not run).
    pub cached: bool,
}

/// What [`compile_fatbins`] did.
#[derive(Clone, Debug)]
pub struct CompileReport {
    /// One per job, in job order.
    pub outcomes: Vec<Outcome>,
    /// Jobs that nvcc compiled successfully.
    pub compiled: usize,
    /// Jobs found in the cache.
    pub cached: usize,
    /// Jobs that failed.
    pub failed: usize,
    /// Parallel nvcc processes used ([`thread_count`]).
    pub threads: usize,
    /// Wall time of the whole call.
    pub elapsed: Duration,
}

impl CompileReport {
    /// `(name, fatbin path)` of every job, or one error listing every failure with its nvcc
    /// command line and output.
    pub fn fatbins(&self) -> Result<Vec<(String, PathBuf)>, String> {
        let errors: Vec<String> =
            self.outcomes.iter().filter_map(|o| o.fatbin.as_ref().err()).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Err(format!(
                "{} of {} kernels failed to compile:\n{}",
                errors.len(),
                self.outcomes.len() - self.cached,
                errors.join("\n")
            ));
        }
        Ok(self.outcomes.iter().filter_map(|o| Some((o.name.clone(), o.fatbin.clone().ok()?))).collect())
    }
}

/// FNV-1a, 64 bit: a stable content hash (the same on every machine and Rust version).
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// Writes `bytes` and a 0 separator, so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        self.write(bytes);
        self.write(&[0]);
    }
}

/// The cache key of one compile: FNV-1a 64 of the source bytes, every flag (include arguments
/// included), the nvcc path and the full `nvcc --version` text.
pub fn cache_key(source: &[u8], flags: &[String], nvcc: &Nvcc) -> u64 {
    let mut h = Fnv64::new();
    h.field(source);
    for f in flags {
        h.field(f.as_bytes());
    }
    h.field(nvcc.path.as_os_str().as_encoded_bytes());
    h.field(nvcc.version_text.as_bytes());
    h.0
}

/// Parallel nvcc processes for `jobs` compiles: `NUM_JOBS` (set by cargo for build scripts)
/// capped by the available parallelism, at least 1 and at most `jobs`.
pub fn thread_count(jobs: usize) -> usize {
    std::env::var("NUM_JOBS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(usize::MAX)
        .min(std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.max(1))
}

/// The environment nvcc runs with: the one the `cc` crate configures for a CUDA build (host
/// compiler settings). Only its variables are used: the tool's own arguments are host C++ flags
/// (`-ffunction-sections`, ...) that nvcc rejects and that do not matter for a device-only
/// fatbin. Outside a build script (no cargo `TARGET`) cc cannot configure a tool; then nvcc
/// runs with the process environment alone.
fn nvcc_env(nvcc: &Path) -> Vec<(OsString, OsString)> {
    cc::Build::new()
        .cuda(true)
        .compiler(nvcc)
        .debug(false)
        .opt_level(3)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .map(|tool| tool.get_envs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .unwrap_or_default()
}

/// A job whose fatbin is not in the cache yet.
struct Pending<'a> {
    index: usize,
    job: &'a Job,
    flags: Vec<String>,
    dst: PathBuf,
}

/// Produces the fatbin of every job in `cache_dir` (created if missing): jobs whose
/// [`cache_key`] is already there are reused, the rest are compiled by nvcc with `flags` (see
/// [`crate::nvcc_flags`]) plus the job's include directory, [`thread_count`] at a time, each
/// into a `.tmp` file renamed into place on success. `on_done` is called once per job as it
/// finishes (e.g. to advance a progress bar). Failures are collected in the report, never
/// fatal; the `Err` is for a cache directory that cannot be created.
pub fn compile_fatbins(
    jobs: &[Job],
    flags: &[String],
    nvcc: &Nvcc,
    cache_dir: &Path,
    on_done: &(dyn Fn(&Outcome) + Sync),
) -> Result<CompileReport, String> {
    let start = Instant::now();
    fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create the fatbin cache {}: {e}", cache_dir.display()))?;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
    let mut pending = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let bytes = match &job.source {
            Source::File(p) => fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display())),
            Source::Text(t) => Ok(t.as_bytes().to_vec()),
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(output) => {
                let o = Outcome {
                    name: job.name.clone(),
                    fatbin: Err(CompileError { name: job.name.clone(), command: String::new(), output }),
                    cached: false,
                };
                on_done(&o);
                outcomes[index] = Some(o);
                continue;
            }
        };
        let mut job_flags = flags.to_vec();
        job_flags.extend(job.include_dir.as_deref().map(include_args).into_iter().flatten());
        let dst = cache_dir.join(format!("{}-{:016x}.fatbin", job.name, cache_key(&bytes, &job_flags, nvcc)));
        if dst.is_file() {
            let o = Outcome { name: job.name.clone(), fatbin: Ok(dst), cached: true };
            on_done(&o);
            outcomes[index] = Some(o);
        } else {
            pending.push(Pending { index, job, flags: job_flags, dst });
        }
    }

    let threads = thread_count(pending.len());
    let env = if pending.is_empty() { Vec::new() } else { nvcc_env(&nvcc.path) };
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(p) = pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let fatbin = compile_one(nvcc, &env, p).map(|()| p.dst.clone());
                    let o = Outcome { name: p.job.name.clone(), fatbin, cached: false };
                    on_done(&o);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((p.index, o));
                }
            });
        }
    });
    for (index, o) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
        outcomes[index] = Some(o);
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|o| o.expect("every job has an outcome")).collect();
    let failed = outcomes.iter().filter(|o| o.fatbin.is_err()).count();
    let cached = outcomes.iter().filter(|o| o.cached).count();
    Ok(CompileReport {
        compiled: outcomes.len() - failed - cached,
        cached,
        failed,
        threads,
        elapsed: start.elapsed(),
        outcomes,
    })
}

/// Compiles one pending job into `p.dst` (through a `.tmp` file).
fn compile_one(nvcc: &Nvcc, env: &[(OsString, OsString)], p: &Pending) -> Result<(), CompileError> {
    let err = |command: String, output: String| CompileError { name: p.job.name.clone(), command, output };
    let src = match &p.job.source {
        Source::File(path) => path.clone(),
        Source::Text(text) => {
            let cu = p.dst.with_extension("cu");
            write_atomic(&cu, text.as_bytes())
                .map_err(|e| err(String::new(), format!("cannot write {}: {e}", cu.display())))?;
            cu
        }
    };
    let tmp = p.dst.with_extension(format!("fatbin.{}.tmp", std::process::id()));
    let mut cmd = Command::new(&nvcc.path);
    cmd.envs(env.iter().map(|(k, v)| (k, v))).args(&p.flags).arg("-o").arg(&tmp).arg(&src);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd.output().map_err(|e| err(line.clone(), format!("cannot run nvcc: {e}")))?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        return Err(err(line, text));
    }
    fs::rename(&tmp, &p.dst).map_err(|e| err(line, format!("cannot store {}: {e}", p.dst.display())))
}

/// Writes `bytes` to `path` through a process-unique `.tmp` file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvcc(version_text: &str) -> Nvcc {
        Nvcc { path: "/opt/cuda/bin/nvcc".into(), version_text: version_text.into(), release: String::new() }
    }

    #[test]
    fn key_covers_source_flags_path_and_version() {
        let flags: Vec<String> = ["-fatbin", "-O3"].map(String::from).to_vec();
        let v13 = nvcc("Cuda compilation tools, release 13.0, V13.0.88");
        let k = cache_key(b"kernel", &flags, &v13);
        assert_eq!(k, cache_key(b"kernel", &flags, &v13), "stable");
        assert_ne!(
            k,
            cache_key(b"kernel", &flags, &nvcc("Cuda compilation tools, release 13.0, V13.0.89")),
            "nvcc version"
        );
        assert_ne!(k, cache_key(b"kernel2", &flags, &v13), "source");
        assert_ne!(k, cache_key(b"kernel", &flags[..1], &v13), "flags");
        assert_ne!(k, cache_key(b"kernel", &["-fatbin-O3".to_string()], &v13), "flag boundaries");
        let mut moved = v13.clone();
        moved.path = "/usr/local/cuda/bin/nvcc".into();
        assert_ne!(k, cache_key(b"kernel", &flags, &moved), "nvcc path");
        // The exact value is part of the on-disk format: changing the hash recompiles every cache.
        assert_eq!(cache_key(b"", &[], &nvcc("")), {
            let mut h = Fnv64::new();
            h.field(b"");
            h.field(b"/opt/cuda/bin/nvcc");
            h.field(b"");
            h.0
        });
        let mut h = Fnv64::new();
        h.write(b"a");
        assert_eq!(h.0, 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 of \"a\"");
    }

    #[test]
    fn threads_are_bounded_by_the_work() {
        assert_eq!(thread_count(0), 1);
        assert_eq!(thread_count(1), 1);
        assert!(thread_count(1000) >= 1);
    }

    #[test]
    fn unreadable_sources_fail_alone() {
        let dir = std::env::temp_dir().join(format!("esmm-toolchain-cache-{}", std::process::id()));
        let jobs = [Job { name: "missing".into(), source: Source::File(dir.join("missing.cu")), include_dir: None }];
        let calls = AtomicUsize::new(0);
        let report = compile_fatbins(&jobs, &[], &nvcc("x"), &dir, &|_| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!((report.compiled, report.cached, report.failed), (0, 0, 1));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let err = report.fatbins().unwrap_err();
        assert!(err.contains("1 of 1 kernels failed") && err.contains("missing.cu"), "{err}");
        fs::remove_dir_all(&dir).ok();
    }

    /// Compiles a tiny kernel with a real nvcc when one is found (skipped otherwise): the
    /// first call compiles, the second hits the cache, a broken kernel reports its command.
    #[test]
    fn compiles_and_caches_with_a_real_nvcc() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let Ok(nvcc) = crate::find_nvcc(&root) else {
            eprintln!("no nvcc: skipped");
            return;
        };
        let dir = std::env::temp_dir().join(format!("esmm-toolchain-nvcc-{}", std::process::id()));
        let flags = crate::nvcc_flags(&crate::Targets::sass_only([crate::Target::sm(90)]), None);
        let ok = Job {
            name: "ok".into(),
            source: Source::Text("extern \"C\" __global__ void k(float* x) { x[0] = 1.0f; }\n".into()),
            include_dir: None,
        };
        let bad = Job {
            name: "bad".into(),
            source: Source::Text("this is not CUDA\n".into()),
            include_dir: Some(dir.clone()),
        };
        let first = compile_fatbins(&[ok.clone(), bad], &flags, &nvcc, &dir, &|_| {}).unwrap();
        assert_eq!((first.compiled, first.cached, first.failed), (1, 0, 1), "{:?}", first.outcomes);
        let e = first.outcomes[1].fatbin.clone().unwrap_err();
        assert!(e.command.contains("arch=compute_90,code=sm_90") && e.command.contains("-I"), "{e}");
        assert!(!e.summary(3).is_empty());
        let second = compile_fatbins(&[ok], &flags, &nvcc, &dir, &|_| {}).unwrap();
        assert_eq!((second.compiled, second.cached), (0, 1));
        assert_eq!(second.fatbins().unwrap()[0].1, first.outcomes[0].fatbin.clone().unwrap());
        assert!(fs::metadata(&second.fatbins().unwrap()[0].1).unwrap().len() > 0);
        fs::remove_dir_all(&dir).ok();
    }
}
