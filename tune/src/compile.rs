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

/// The SASS targets a rendered source names in its first lines (`// nvcc-targets: sm_90a ...`,
/// as `runtime/build.rs` reads them from `generated/`): None when it names none (then the
/// present GPU's `sm_<cc>` is compiled), an error for a target that does not parse.
pub fn declared_targets(text: &str) -> std::result::Result<Option<Vec<Target>>, String> {
    let Some(list) = text.lines().take(5).find_map(|l| l.trim().strip_prefix("// nvcc-targets:")) else {
        return Ok(None);
    };
    let parse = |t: &str| -> std::result::Result<Target, String> {
        let (cc, specific) = match t.strip_suffix('a') {
            Some(x) => (x, true),
            None => (t, false),
        };
        let cc: u32 = cc.trim_start_matches("sm_").parse().map_err(|_| format!("unknown nvcc target `{t}` in its `// nvcc-targets:` line"))?;
        Ok(if specific { Target::arch_specific(cc) } else { Target::sm(cc) })
    };
    let targets = list.split_whitespace().map(parse).collect::<std::result::Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Err("its `// nvcc-targets:` line names no target".into());
    }
    Ok(Some(targets))
}

/// Renders and compiles `specs` for compute capability `cc` (SASS for `sm_<cc>` only, or for
/// the targets a source declares in its `// nvcc-targets:` line, e.g. `sm_90a` for wgmma
/// kernels; plus any `ESMM_NVCC_FLAGS`) with `nvcc` into the fatbin cache `cache`, in
/// parallel, with a progress bar.
pub fn compile_candidates(specs: &[KernelSpec], cc: u32, nvcc: &Nvcc, cache: &Path) -> Compiled {
    compile_candidates_with(specs, cc, nvcc, cache, true)
}

/// [`compile_candidates`], with or without its progress bar (`progress`).
pub fn compile_candidates_with(specs: &[KernelSpec], cc: u32, nvcc: &Nvcc, cache: &Path, progress: bool) -> Compiled {
    let mut failed = Vec::new();
    // Jobs grouped by their targets: one compile_fatbins call per distinct target list.
    let mut groups: std::collections::BTreeMap<Vec<Target>, Vec<(KernelSpec, u64, Job)>> = std::collections::BTreeMap::new();
    for spec in specs {
        match esmm_codegen::render::render_variant(spec) {
            Ok(text) => {
                let hash = source_hash(&text);
                match declared_targets(&text) {
                    Ok(declared) => {
                        let targets = declared.unwrap_or_else(|| vec![Target::sm(cc)]);
                        groups.entry(targets).or_default().push((*spec, hash, Job { name: spec.name(), source: Source::Text(text), include_dir: None }));
                    }
                    Err(why) => failed.push(Failed { name: spec.name(), why, source_hash: Some(hash) }),
                }
            }
            Err(why) => failed.push(Failed { name: spec.name(), why, source_hash: None }),
        }
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let pb = if progress { ProgressBar::new(total as u64) } else { ProgressBar::hidden() };
    pb.set_style(ProgressStyle::with_template("compiling {bar:40} {pos}/{len} [{elapsed_precise} < {eta}]").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let mut ok = Vec::new();
    for (targets, members) in groups {
        let flags = nvcc_flags(&Targets::sass_only(targets.iter().copied()), std::env::var(ENV_NVCC_FLAGS).ok().as_deref());
        let (rendered, jobs): (Vec<(KernelSpec, u64)>, Vec<Job>) = members.into_iter().map(|(s, h, j)| ((s, h), j)).unzip();
        let report = compile_fatbins(&jobs, &flags, nvcc, cache, &|_| pb.inc(1));
        let report = match report {
            Ok(r) => r,
            Err(why) => {
                failed.extend(rendered.iter().map(|(s, h)| Failed { name: s.name(), why: why.clone(), source_hash: Some(*h) }));
                continue;
            }
        };
        collect_outcomes(rendered, report.outcomes, &mut ok, &mut failed);
    }
    pb.finish_and_clear();
    ok.sort_by(|a, b| a.0.name.cmp(b.0.name));
    Compiled { ok, failed }
}

/// Reads the fatbins of one compile report into `ok` (with each variant's launches), or
/// records why not in `failed`.
fn collect_outcomes(rendered: Vec<(KernelSpec, u64)>, outcomes: Vec<esmm_toolchain::Outcome>, ok: &mut Vec<(RegistryEntry, Vec<u8>)>, failed: &mut Vec<Failed>) {
    for ((spec, hash), outcome) in rendered.into_iter().zip(outcomes) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_targets_follow_the_marker_like_build_rs() {
        assert_eq!(declared_targets("// x\n__global__ void k() {}\n"), Ok(None));
        assert_eq!(declared_targets("// nvcc-targets: sm_90a\n// name\n"), Ok(Some(vec![Target::arch_specific(90)])));
        assert_eq!(declared_targets("\n\n// nvcc-targets: sm_90a sm_100a sm_80\n"), Ok(Some(vec![Target::arch_specific(90), Target::arch_specific(100), Target::sm(80)])));
        assert_eq!(declared_targets("1\n2\n3\n4\n5\n// nvcc-targets: sm_90a\n"), Ok(None), "only the first 5 lines count");
        assert!(declared_targets("// nvcc-targets: sm_x\n").unwrap_err().contains("sm_x"));
        assert!(declared_targets("// nvcc-targets:\n").is_err());
        let flags = nvcc_flags(&Targets::sass_only([Target::arch_specific(90)]), None);
        assert!(flags.windows(2).any(|w| w[0] == "-gencode" && w[1] == "arch=compute_90a,code=sm_90a"), "{flags:?}");
    }

    /// Every rendered wgmma variant of family tc declares sm_90a, every mma one declares nothing
    /// (compiled for the present GPU).
    #[test]
    fn tc_sources_declare_their_targets() {
        use esmm_spec::{TcPath, TcSpec};
        let shipped = esmm_codegen::sets::shipped();
        let tc: Vec<&TcSpec> = shipped.iter().filter_map(KernelSpec::as_tc).collect();
        for path in [TcPath::Wgmma, TcPath::Mma] {
            let Some(s) = tc.iter().find(|s| s.path == path) else { continue };
            let Ok(text) = esmm_codegen::render::render_variant(&KernelSpec::Tc(**s)) else {
                eprintln!("{} does not render yet: skipped", s.name());
                continue;
            };
            let want = if path == TcPath::Wgmma { Some(vec![Target::arch_specific(90)]) } else { None };
            assert_eq!(declared_targets(&text), Ok(want), "{}", s.name());
        }
    }

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
