//! Compiles every generated CUDA variant (`generated/*.cu` and `generated/<family>/*.cu`, or the
//! same under `$ESMM_GENERATED_DIR`) into one fatbin per variant with nvcc, caches the fatbins in
//! OUT_DIR by a content hash, and writes `$OUT_DIR/kernels.rs` (the embedded fatbins),
//! `$OUT_DIR/registry.rs` (a copy of `generated/registry.rs`) and `$OUT_DIR/tuned_tables.rs`.
//! Discovery, flags and the cache are the shared `esmm-toolchain` crate (`toolchain/src`).
//!
//! Environment:
//! - `ESMM_GENERATED_DIR`: directory holding `registry.rs` and the `*.cu` (default `../generated`).
//! - `ESMM_CUDA_ARCHS`: comma/space separated list narrowing the SASS targets (`sm_90`, `80,90`).
//! - `ESMM_NVCC_FLAGS`: extra nvcc flags (e.g. `-lineinfo`), space separated.
//! - `NVCC`, `CUDA_HOME`, `CUDA_PATH`, `PATH`: nvcc discovery (`esmm_toolchain::locate_nvcc`).
//!
//! A generated file may name its own SASS targets in its first lines, `// nvcc-targets: sm_90a`
//! (a family whose kernels need arch-specific instructions such as wgmma); it is then compiled
//! for exactly those, without PTX. Every other file gets the default list.
//!
//! The GPU is never probed here.

use esmm_toolchain::{
    compile_fatbins, find_nvcc, nvcc_flags, parse_archs, ptx_arch, Arch, Job, Source, Target, Targets, ENV_ARCHS,
    ENV_NVCC_FLAGS, NVCC_ENV_VARS,
};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(msg) = run() {
        // A build error with a message the user can act on.
        eprintln!("error: {msg}");
        println!("cargo:warning={}", msg.lines().next().unwrap_or(""));
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    // PATH is left out on purpose: it differs between shells and would rebuild the crate for
    // nothing (the nvcc path and version are part of the cache key).
    for var in ["ESMM_GENERATED_DIR", ENV_ARCHS, ENV_NVCC_FLAGS].into_iter().chain(NVCC_ENV_VARS) {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let gen_dir = match std::env::var_os("ESMM_GENERATED_DIR") {
        Some(d) => PathBuf::from(d),
        None => manifest_dir.join("../generated"),
    };
    let gen_dir = gen_dir
        .canonicalize()
        .map_err(|e| format!("generated kernel directory {}: {e}", gen_dir.display()))?;

    // The registry travels with the kernels it describes.
    let registry_src = gen_dir.join("registry.rs");
    println!("cargo:rerun-if-changed={}", registry_src.display());
    let registry = fs::read_to_string(&registry_src)
        .map_err(|e| format!("cannot read {}: {e}", registry_src.display()))?;
    write_if_changed(&out_dir.join("registry.rs"), &registry)?;

    let jobs = jobs(&kernel_sources(&gen_dir)?)?;
    let archs = parse_archs(std::env::var(ENV_ARCHS).ok().as_deref())?;
    let ptx_arch = ptx_arch(&archs).expect("parse_archs never returns an empty list").compute_capability();

    let (fatbins, nvcc_release) = if jobs.is_empty() {
        println!("cargo:warning=esmm: no generated kernels in {}; nothing compiled", gen_dir.display());
        (Vec::new(), String::new())
    } else {
        compile_groups(jobs, &archs, &manifest_dir, &out_dir)?
    };

    let ccs: Vec<u32> = archs.iter().map(|a| a.compute_capability()).collect();
    write_if_changed(&out_dir.join("kernels.rs"), &kernels_rs(&fatbins, &ccs, ptx_arch, &nvcc_release))?;
    write_if_changed(&out_dir.join("tuned_tables.rs"), &tuned_tables_rs(&manifest_dir.join("../tune/tables"), &out_dir)?)?;
    Ok(())
}

/// `$OUT_DIR/tuned_tables.rs`: the committed `tune/tables/*.json`, embedded as
/// `&[(file name, contents)]` with the whitespace outside strings removed (the committed files
/// are pretty-printed for review; parsed lazily at run time, so a corrupted table never breaks
/// the build).
fn tuned_tables_rs(dir: &Path, out_dir: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out = String::from("&[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let text = fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let compact = out_dir.join(format!("table-{name}"));
        write_if_changed(&compact, &minify_json(&text))?;
        out += &format!("    ({name:?}, include_str!({:?})),\n", compact.display().to_string());
    }
    out += "]\n";
    Ok(out)
}

/// JSON text without the whitespace outside strings (any text: invalid JSON stays invalid).
fn minify_json(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::with_capacity(text.len() / 2), false, false);
    for c in text.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (build.rs must run under cargo)"))
}

/// `*.cu` in `gen_dir` and in each of its immediate subdirectories (one per kernel family, e.g.
/// `generated/esmm/`), sorted; every directory gets a rerun-if-changed.
fn kernel_sources(gen_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        println!("cargo:rerun-if-changed={}", dir.display());
        let rd = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        Ok(rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
    };
    let top = list(gen_dir)?;
    let mut sources = Vec::new();
    for p in &top {
        if p.is_dir() {
            sources.extend(list(p)?.into_iter().filter(|p| p.extension().is_some_and(|x| x == "cu")));
        } else if p.extension().is_some_and(|x| x == "cu") {
            sources.push(p.clone());
        }
    }
    // Name order (the file stem), whatever the directory.
    sources.sort_by(|a, b| (a.file_stem(), a).cmp(&(b.file_stem(), b)));
    Ok(sources)
}

/// One kernel-variant job per source: named by its stem (unique across directories), with its
/// own directory as the include path.
fn jobs(sources: &[PathBuf]) -> Result<Vec<Job>, String> {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for src in sources {
        println!("cargo:rerun-if-changed={}", src.display());
        let name = src.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if !seen.insert(name.clone()) {
            return Err(format!("two generated kernels are named {name} ({} is the second)", src.display()));
        }
        jobs.push(Job { name, source: Source::File(src.clone()), include_dir: src.parent().map(Path::to_path_buf) });
    }
    Ok(jobs)
}

/// The SASS targets a generated file names in its first lines (`// nvcc-targets: sm_90a ...`).
fn declared_targets(path: &Path) -> Result<Option<Vec<Target>>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(list) = text.lines().take(5).find_map(|l| l.trim().strip_prefix("// nvcc-targets:")) else {
        return Ok(None);
    };
    let parse = |t: &str| -> Result<Target, String> {
        let (cc, specific) = match t.strip_suffix('a') {
            Some(x) => (x, true),
            None => (t, false),
        };
        let cc: u32 = cc.trim_start_matches("sm_").parse().map_err(|_| format!("{}: unknown nvcc target `{t}`", path.display()))?;
        Ok(if specific { Target::arch_specific(cc) } else { Target::sm(cc) })
    };
    list.split_whitespace().map(parse).collect::<Result<Vec<_>, _>>().map(Some)
}

/// Compiles the jobs in groups of equal targets (the default list, or what a file declares).
fn compile_groups(jobs: Vec<Job>, archs: &[Arch], manifest_dir: &Path, out_dir: &Path) -> Result<(Vec<(String, PathBuf)>, String), String> {
    let mut groups: BTreeMap<Option<Vec<Target>>, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        let declared = match &job.source {
            Source::File(p) => declared_targets(p)?,
            Source::Text(_) => None,
        };
        groups.entry(declared).or_default().push(job);
    }
    let (mut fatbins, mut release) = (Vec::new(), String::new());
    for (declared, jobs) in groups {
        let targets = declared.map_or_else(|| Targets::for_archs(archs), Targets::sass_only);
        let (f, r) = compile_all(&jobs, targets, manifest_dir, out_dir)?;
        fatbins.extend(f);
        release = r;
    }
    fatbins.sort();
    Ok((fatbins, release))
}

/// Compiles every job for `targets` into `$OUT_DIR/fatbin`. Returns the fatbins and the CUDA
/// release of the nvcc that compiled them.
fn compile_all(jobs: &[Job], targets: Targets, manifest_dir: &Path, out_dir: &Path) -> Result<(Vec<(String, PathBuf)>, String), String> {
    let nvcc = find_nvcc(manifest_dir.parent().unwrap_or(manifest_dir))?;
    let flags = nvcc_flags(&targets, std::env::var(ENV_NVCC_FLAGS).ok().as_deref());
    let report = compile_fatbins(jobs, &flags, &nvcc, &out_dir.join("fatbin"), &|_| {})?;
    let fatbins = report.fatbins()?;
    let ptx = targets.ptx.map_or(String::new(), |t| format!(" + compute_{}", t.cc));
    println!(
        "cargo:warning=esmm: compiled {} of {} kernel variants ({} cached) for {}{ptx} in {:.1} s with {} using {} jobs",
        report.compiled,
        jobs.len(),
        report.cached,
        targets.sass_list(),
        report.elapsed.as_secs_f64(),
        nvcc.path.display(),
        report.threads,
    );
    Ok((fatbins, nvcc.release.clone()))
}

fn kernels_rs(fatbins: &[(String, PathBuf)], archs: &[u32], ptx_arch: u32, nvcc_release: &str) -> String {
    let mut s = String::from("// @generated by runtime/build.rs: the embedded kernel fatbins.\n\n");
    s += "/// Every compiled variant: (name, fatbin bytes), in name order.\n";
    s += "pub static FATBINS: &[(&str, &[u8])] = &[\n";
    for f in fatbins {
        s += &format!("    ({:?}, include_bytes!({:?})),\n", f.0, f.1.display().to_string());
    }
    s += "];\n\n";
    s += "/// Compute capabilities (major * 10 + minor) with embedded SASS.\n";
    s += &format!("pub const COMPILED_ARCHS: &[u32] = &{archs:?};\n\n");
    s += "/// Compute capability of the embedded PTX (JIT-compiled by the driver on newer GPUs).\n";
    s += &format!("pub const PTX_ARCH: u32 = {ptx_arch};\n\n");
    s += "/// CUDA release of the nvcc that compiled them (part of every kernel's fingerprint).\n";
    s += &format!("pub const NVCC_RELEASE: &str = {nvcc_release:?};\n");
    s
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), String> {
    if fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}
