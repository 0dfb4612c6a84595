//! Compiles every generated CUDA variant (`generated/*.cu`, or `$ESMM_GENERATED_DIR`) into one
//! fatbin per variant with nvcc (driven through the `cc` crate), caches the fatbins in OUT_DIR by
//! a content hash, and writes `$OUT_DIR/kernels.rs` (the embedded fatbins) and
//! `$OUT_DIR/registry.rs` (a copy of the generated registry).
//!
//! Environment:
//! - `ESMM_GENERATED_DIR`: directory holding `*.cu` and `registry.rs` (default `../generated`).
//! - `ESMM_CUDA_ARCHS`: comma/space separated list narrowing the SASS targets (`sm_90`, `80,90`).
//! - `ESMM_NVCC_FLAGS`: extra nvcc flags (e.g. `-lineinfo`), space separated.
//! - `NVCC`, `CUDA_HOME`, `CUDA_PATH`, `PATH`: nvcc discovery (see [`find_nvcc`]).
//!
//! The GPU is never probed here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Every architecture we ship SASS for by default (compute capability × 10).
const DEFAULT_ARCHS: [u32; 5] = [80, 86, 89, 90, 120];

/// Variables whose change reruns this script (PATH is left out on purpose: it differs between
/// shells and would rebuild the crate for nothing; the nvcc version is part of the cache key).
const ENV_VARS: [&str; 6] =
    ["ESMM_GENERATED_DIR", "ESMM_CUDA_ARCHS", "ESMM_NVCC_FLAGS", "NVCC", "CUDA_HOME", "CUDA_PATH"];

fn main() {
    if let Err(msg) = run() {
        // A build error with a message the user can act on.
        eprintln!("error: {msg}");
        println!("cargo:warning={}", msg.lines().next().unwrap_or(""));
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    for var in ENV_VARS {
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
    println!("cargo:rerun-if-changed={}", gen_dir.display());

    // The registry travels with the kernels it describes.
    let registry_src = gen_dir.join("registry.rs");
    println!("cargo:rerun-if-changed={}", registry_src.display());
    let registry = fs::read_to_string(&registry_src)
        .map_err(|e| format!("cannot read {}: {e}", registry_src.display()))?;
    write_if_changed(&out_dir.join("registry.rs"), &registry)?;

    let mut sources: Vec<PathBuf> = fs::read_dir(&gen_dir)
        .map_err(|e| format!("cannot list {}: {e}", gen_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();
    for s in &sources {
        println!("cargo:rerun-if-changed={}", s.display());
    }

    let archs = parse_archs(std::env::var("ESMM_CUDA_ARCHS").ok().as_deref())?;
    let ptx_arch = *archs.iter().min().expect("parse_archs never returns an empty list");

    let fatbins = if sources.is_empty() {
        println!("cargo:warning=esmm: no generated kernels in {}; nothing compiled", gen_dir.display());
        Vec::new()
    } else {
        compile_all(&sources, &archs, ptx_arch, &gen_dir, &out_dir)?
    };

    write_if_changed(&out_dir.join("kernels.rs"), &kernels_rs(&fatbins, &archs, ptx_arch))?;
    write_if_changed(&out_dir.join("tuned_tables.rs"), &tuned_tables_rs(&manifest_dir.join("../tune/tables"))?)?;
    Ok(())
}

/// `$OUT_DIR/tuned_tables.rs`: the committed `tune/tables/*.json`, embedded as
/// `&[(file name, contents)]` (parsed lazily at run time, so a corrupted table never breaks the build).
fn tuned_tables_rs(dir: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out = String::from("&[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let abs = f.canonicalize().map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        out += &format!("    ({name:?}, include_str!({:?})),\n", abs.display().to_string());
    }
    out += "]\n";
    Ok(out)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (build.rs must run under cargo)"))
}

/// Parses `ESMM_CUDA_ARCHS`: `sm_90`, `90`, `9.0`, `compute_90`, comma or space separated.
fn parse_archs(spec: Option<&str>) -> Result<Vec<u32>, String> {
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_ARCHS.to_vec());
    };
    let mut archs = Vec::new();
    for item in spec.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let t = item.to_ascii_lowercase();
        let t = t.trim_start_matches("sm_").trim_start_matches("compute_").replace('.', "");
        let cc: u32 = t
            .parse()
            .ok()
            .filter(|cc| DEFAULT_ARCHS.contains(cc))
            .ok_or_else(|| {
                format!(
                    "ESMM_CUDA_ARCHS: unknown architecture `{item}`; expected some of sm_80, sm_86, sm_89, sm_90, sm_120"
                )
            })?;
        if !archs.contains(&cc) {
            archs.push(cc);
        }
    }
    archs.sort();
    Ok(archs)
}

/// Finds nvcc: `NVCC`, `CUDA_HOME`/`CUDA_PATH` (bin/nvcc), `PATH`, `/usr/local/cuda/bin/nvcc`,
/// then the project-local `.toolchain/cuda/nvidia/cu13/bin/nvcc`.
fn find_nvcc(manifest_dir: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("NVCC").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("NVCC={} does not exist", p.display()))
        };
    }
    let mut candidates = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(home) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            candidates.push(PathBuf::from(home).join("bin/nvcc"));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("nvcc")));
    }
    candidates.push(PathBuf::from("/usr/local/cuda/bin/nvcc"));
    candidates.push(manifest_dir.join("../.toolchain/cuda/nvidia/cu13/bin/nvcc"));
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        "no nvcc found (looked at NVCC, CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda/bin, \
         .toolchain/cuda/nvidia/cu13/bin).\n\
         Get one with `scripts/provision-nvcc.sh` (installs CUDA 13.0 nvcc from pinned PyPI wheels \
         into .toolchain/cuda and prints its path), then build again, or run `scripts/test.sh`, \
         which does both."
            .to_string()
    })
}

/// One compiled variant: its name and the fatbin path.
struct Fatbin {
    name: String,
    path: PathBuf,
}

fn compile_all(
    sources: &[PathBuf],
    archs: &[u32],
    ptx_arch: u32,
    gen_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<Fatbin>, String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let nvcc = find_nvcc(&manifest_dir)?;
    let nvcc_version = Command::new(&nvcc)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", nvcc.display()))?;
    if !nvcc_version.status.success() {
        return Err(format!("{} --version failed", nvcc.display()));
    }
    let nvcc_version = String::from_utf8_lossy(&nvcc_version.stdout).into_owned();

    // cc configures the nvcc tool (host compiler via -ccbin, target flags); we add the device
    // flags and ask for a fatbin.
    let tool = cc::Build::new()
        .cuda(true)
        .compiler(&nvcc)
        .debug(false)
        .opt_level(3)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler();

    let mut flags: Vec<String> = vec!["-fatbin".into(), "-O3".into(), "-std=c++17".into()];
    for cc in archs {
        flags.push("-gencode".into());
        flags.push(format!("arch=compute_{cc},code=sm_{cc}"));
    }
    flags.push("-gencode".into());
    flags.push(format!("arch=compute_{ptx_arch},code=compute_{ptx_arch}"));
    if let Ok(extra) = std::env::var("ESMM_NVCC_FLAGS") {
        flags.extend(extra.split_whitespace().map(String::from));
    }
    flags.push("-I".into());
    flags.push(gen_dir.display().to_string());

    let cache_dir = out_dir.join("fatbin");
    fs::create_dir_all(&cache_dir).map_err(|e| format!("{}: {e}", cache_dir.display()))?;

    // Plan: which variants need compiling.
    let tool_args = [tool.path().display().to_string()];
    let mut jobs = Vec::new();
    let mut fatbins = Vec::new();
    for src in sources {
        let text = fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        let name = src.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let mut h = Fnv64::new();
        h.write(&text);
        for f in tool_args.iter().chain(flags.iter()) {
            h.write(f.as_bytes());
            h.write(&[0]);
        }
        h.write(nvcc_version.as_bytes());
        let path = cache_dir.join(format!("{name}-{:016x}.fatbin", h.finish()));
        if !path.is_file() {
            jobs.push((src.clone(), path.clone()));
        }
        fatbins.push(Fatbin { name, path });
    }

    let start = Instant::now();
    let threads = std::env::var("NUM_JOBS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(usize::MAX)
        .min(std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((src, dst)) = jobs.get(i) else { break };
                if let Err(e) = compile_one(&tool, &flags, src, dst) {
                    errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    if !errors.is_empty() {
        return Err(format!("{} of {} kernels failed to compile:\n{}", errors.len(), jobs.len(), errors.join("\n")));
    }
    let arch_list: Vec<String> = archs.iter().map(|a| format!("sm_{a}")).collect();
    println!(
        "cargo:warning=esmm: compiled {} of {} kernel variants ({} cached) for {} + compute_{ptx_arch} in {:.1} s with {} using {threads} jobs",
        jobs.len(),
        sources.len(),
        sources.len() - jobs.len(),
        arch_list.join(","),
        start.elapsed().as_secs_f64(),
        nvcc.display(),
    );
    Ok(fatbins)
}

fn compile_one(tool: &cc::Tool, flags: &[String], src: &Path, dst: &Path) -> Result<(), String> {
    let tmp = dst.with_extension("fatbin.tmp");
    // The tool's own arguments are host C++ flags (-ffunction-sections, ...) that nvcc rejects
    // and that do not matter for a device-only fatbin: use its program and environment only.
    let mut cmd = Command::new(tool.path());
    for (k, v) in tool.get_envs() {
        cmd.env(k, v);
    }
    cmd.args(flags).arg("-o").arg(&tmp).arg(src);
    let out = cmd.output().map_err(|e| format!("{}: cannot run nvcc: {e}", src.display()))?;
    if !out.status.success() {
        let line: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Err(format!(
            "{}: nvcc failed: {}\n{}{}",
            src.display(),
            line.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::rename(&tmp, dst).map_err(|e| format!("{}: {e}", dst.display()))
}

fn kernels_rs(fatbins: &[Fatbin], archs: &[u32], ptx_arch: u32) -> String {
    let mut s = String::from("// @generated by runtime/build.rs: the embedded kernel fatbins.\n\n");
    s += "/// Every compiled variant: (name, fatbin bytes), in name order.\n";
    s += "pub static FATBINS: &[(&str, &[u8])] = &[\n";
    for f in fatbins {
        s += &format!("    ({:?}, include_bytes!({:?})),\n", f.name, f.path.display().to_string());
    }
    s += "];\n\n";
    s += "/// Compute capabilities (major * 10 + minor) with embedded SASS.\n";
    s += &format!("pub const COMPILED_ARCHS: &[u32] = &{archs:?};\n\n");
    s += "/// Compute capability of the embedded PTX (JIT-compiled by the driver on newer GPUs).\n";
    s += &format!("pub const PTX_ARCH: u32 = {ptx_arch};\n");
    s
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), String> {
    if fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// FNV-1a, 64 bit: a stable content hash for the fatbin cache.
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
    fn finish(&self) -> u64 {
        self.0
    }
}
