//! Compiling sweep candidates at tune time, with the shared toolchain (`esmm-toolchain`): the
//! same nvcc search as the runtime build and the same content-hash fatbin cache (keyed by the
//! rendered source, the flags, the nvcc path and its full version text).

use crate::{msg, Result};
use esmm_spec::fingerprint::source_hash;
use esmm_spec::{KernelSpec, RegistryEntry};
use esmm_toolchain::{compile_fatbins, nvcc_flags, Job, Nvcc, Source, Target, Targets, ENV_NVCC_FLAGS};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// The directory holding `.toolchain/` (where `scripts/provision-nvcc.sh` installs nvcc): the
/// workspace this binary was built from when it still exists, else the current directory (a
/// binary carried to another machine and run from a checkout's root).
fn project_root() -> PathBuf {
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if built_in.is_dir() {
        built_in
    } else {
        PathBuf::from(".")
    }
}

/// The nvcc that compiles sweep candidates, with its release: `explicit` (`--nvcc`, which must
/// exist), else the shared search ([`esmm_toolchain::locate_nvcc`]: `NVCC`, `CUDA_HOME`,
/// `CUDA_PATH`, `PATH`, `/usr/local/cuda`, then the project's `.toolchain/`).
pub fn find_nvcc(explicit: Option<&Path>) -> Result<Nvcc> {
    let path = match explicit {
        Some(p) if p.is_file() => p.to_path_buf(),
        Some(p) => return Err(format!("--nvcc {} is not a file", p.display())),
        None => esmm_toolchain::locate_nvcc(&project_root(), |v| std::env::var_os(v))
            .map_err(|e| format!("cannot compile sweep candidates (pass --nvcc to choose one): {e}"))?,
    };
    Nvcc::from_path(path)
}

/// A candidate that produced no fatbin.
#[derive(Clone, Debug, PartialEq)]
pub struct Failed {
    /// The variant name.
    pub name: String,
    /// Why (the render or nvcc error, shortened).
    pub why: String,
    /// [`source_hash`] of its rendered source; None when it did not render (an invalid spec).
    pub source_hash: Option<u64>,
}

/// What [`compile_candidates`] produced.
#[derive(Default)]
pub struct Compiled {
    /// (entry, fatbin) of every candidate that compiled, in name order; each entry's
    /// `source_hash` is that of the source compiled.
    pub ok: Vec<(RegistryEntry, Vec<u8>)>,
    /// The rest.
    pub failed: Vec<Failed>,
}

/// Renders and compiles `specs` for compute capability `cc` (SASS for `sm_<cc>` only, plus any
/// `ESMM_NVCC_FLAGS`) with `nvcc` into the fatbin cache `cache`, in parallel.
pub fn compile_candidates(specs: &[KernelSpec], cc: u32, nvcc: &Nvcc, cache: &Path) -> Compiled {
    let mut failed = Vec::new();
    let mut jobs = Vec::new();
    let mut rendered = Vec::new();
    for spec in specs {
        match esmm_codegen::render::render_variant(spec) {
            Ok(text) => {
                rendered.push((*spec, source_hash(&text)));
                jobs.push(Job { name: spec.name(), source: Source::Text(text), include_dir: None });
            }
            Err(why) => failed.push(Failed { name: spec.name(), why, source_hash: None }),
        }
    }
    let flags = nvcc_flags(&Targets::sass_only([Target::sm(cc)]), std::env::var(ENV_NVCC_FLAGS).ok().as_deref());
    let pb = ProgressBar::new(jobs.len() as u64);
    pb.set_style(ProgressStyle::with_template("compiling {bar:40} {pos}/{len} [{elapsed_precise} < {eta}]").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let report = compile_fatbins(&jobs, &flags, nvcc, cache, &|_| pb.inc(1));
    pb.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(why) => {
            failed.extend(rendered.iter().map(|(s, h)| Failed { name: s.name(), why: why.clone(), source_hash: Some(*h) }));
            return Compiled { ok: Vec::new(), failed };
        }
    };
    let mut ok = Vec::new();
    for ((spec, hash), outcome) in rendered.into_iter().zip(report.outcomes) {
        let result = outcome.fatbin.map_err(|e| e.summary(3)).and_then(|path| std::fs::read(&path).map_err(msg("reading a fatbin")));
        let launches = esmm_codegen::render::launches(&spec);
        match (result, launches) {
            (Ok(bytes), Ok(launches)) => {
                let launches: &'static [esmm_spec::Launch] = Box::leak(launches.into_boxed_slice());
                let name: &'static str = Box::leak(outcome.name.into_boxed_str());
                ok.push((RegistryEntry { name, spec, is_default: false, source_hash: hash, launches }, bytes));
            }
            (Err(why), _) | (_, Err(why)) => failed.push(Failed { name: outcome.name, why, source_hash: Some(hash) }),
        }
    }
    ok.sort_by(|a, b| a.0.name.cmp(b.0.name));
    Compiled { ok, failed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_explicit_nvcc_is_an_error() {
        let err = find_nvcc(Some(Path::new("/no/such/nvcc"))).unwrap_err();
        assert!(err.contains("--nvcc /no/such/nvcc"), "{err}");
    }

    #[test]
    fn without_nvcc_every_candidate_fails_with_the_reason_and_its_fingerprint() {
        let specs = &esmm_codegen::sets::shipped()[..2];
        let nvcc = Nvcc { path: "/no/such/nvcc".into(), version_text: "release 13.0,".into(), release: "13.0".into() };
        let cache = std::env::temp_dir().join(format!("esmm-tune-nocompile-{}", std::process::id()));
        let c = compile_candidates(specs, 90, &nvcc, &cache);
        std::fs::remove_dir_all(&cache).ok();
        assert!(c.ok.is_empty());
        assert_eq!(c.failed.len(), 2);
        assert!(c.failed.iter().all(|f| f.why.contains("cannot run nvcc")), "{:?}", c.failed);
        for (f, spec) in c.failed.iter().zip(specs) {
            assert_eq!(f.source_hash, esmm_codegen::source_hash(spec).ok(), "the rendered source's hash");
        }
    }

    /// With a real nvcc (skipped without one): two shipped variants compile for sm_90, and a
    /// second call finds both in the cache.
    #[test]
    fn candidates_compile_and_cache_with_a_real_nvcc() {
        let Ok(nvcc) = find_nvcc(None) else {
            eprintln!("no nvcc: skipped");
            return;
        };
        let cache = std::env::temp_dir().join(format!("esmm-tune-compile-{}", std::process::id()));
        let specs = &esmm_codegen::sets::shipped()[..2];
        assert!(!nvcc.release.is_empty());
        let Compiled { ok, failed } = compile_candidates(specs, 90, &nvcc, &cache);
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(ok.len(), 2);
        assert!(ok.iter().all(|(e, bytes)| !bytes.is_empty() && !e.launches.is_empty()));
        assert!(ok.iter().all(|(e, _)| Ok(e.source_hash) == esmm_codegen::source_hash(&e.spec)));
        let stamp = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let fatbins: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fatbin")).collect();
        assert_eq!(fatbins.len(), 2);
        let before: Vec<_> = fatbins.iter().map(|p| stamp(p)).collect();
        let again = compile_candidates(specs, 90, &nvcc, &cache);
        assert_eq!(again.ok.len(), 2);
        assert_eq!(before, fatbins.iter().map(|p| stamp(p)).collect::<Vec<_>>(), "served from the cache");
        std::fs::remove_dir_all(&cache).ok();
    }
}
