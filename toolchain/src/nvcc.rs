//! nvcc discovery.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variables that choose the nvcc (`PATH` also takes part, see [`find_nvcc`]).
pub const NVCC_ENV_VARS: [&str; 3] = ["NVCC", "CUDA_HOME", "CUDA_PATH"];

/// Where `scripts/provision-nvcc.sh` installs nvcc, relative to the project root.
pub const PROJECT_NVCC: &str = ".toolchain/cuda/nvidia/cu13/bin/nvcc";

/// A located nvcc and what it says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nvcc {
    /// The executable.
    pub path: PathBuf,
    /// The full stdout of `nvcc --version` (part of every cache key).
    pub version_text: String,
    /// The CUDA release, e.g. `13.0` (from `release 13.0,`; empty when the text has none).
    pub release: String,
}

impl Nvcc {
    /// Runs `path --version` and records its answer; an error when it cannot run or fails.
    pub fn from_path(path: impl Into<PathBuf>) -> Result<Nvcc, String> {
        let path = path.into();
        let out =
            Command::new(&path).arg("--version").output().map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} --version failed ({}): {}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let version_text = String::from_utf8_lossy(&out.stdout).into_owned();
        let release = parse_release(&version_text).unwrap_or_default();
        Ok(Nvcc { path, version_text, release })
    }
}

/// Finds nvcc in the process environment (see [`locate_nvcc`] for the order) and runs
/// `nvcc --version`. `project_root` is the directory holding `.toolchain/`.
pub fn find_nvcc(project_root: &Path) -> Result<Nvcc, String> {
    Nvcc::from_path(locate_nvcc(project_root, |name| std::env::var_os(name))?)
}

/// The nvcc search, with the environment passed in as `var` (a lookup like
/// [`std::env::var_os`]) so that it can be tested. Order:
///
/// 1. `NVCC`: when set (non-empty) it must be a file, otherwise this is an error (never skipped);
/// 2. `$CUDA_HOME/bin/nvcc`, 3. `$CUDA_PATH/bin/nvcc`;
/// 4. `nvcc` in every directory of `PATH`, in order;
/// 5. `/usr/local/cuda/bin/nvcc`;
/// 6. `<project_root>/.toolchain/cuda/nvidia/cu13/bin/nvcc` ([`PROJECT_NVCC`]).
///
/// The first candidate that is a file wins. The error names every place it looked and how to
/// provision one.
pub fn locate_nvcc(project_root: &Path, var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, String> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(p) = var("NVCC").map(PathBuf::from) {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("NVCC={} is not a file; point NVCC at an nvcc executable or unset it", p.display()))
        };
    }
    let mut looked = vec!["NVCC (unset)".to_string()];
    let mut candidates = Vec::new();
    for home in ["CUDA_HOME", "CUDA_PATH"] {
        match var(home) {
            Some(h) => candidates.push(PathBuf::from(h).join("bin/nvcc")),
            None => looked.push(format!("{home} (unset)")),
        }
    }
    let path_dirs: Vec<PathBuf> = var("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    let on_path = path_dirs.iter().map(|d| d.join("nvcc"));
    let fixed = [PathBuf::from("/usr/local/cuda/bin/nvcc"), project_root.join(PROJECT_NVCC)];
    if let Some(found) = candidates.iter().cloned().chain(on_path).chain(fixed.iter().cloned()).find(|p| p.is_file()) {
        return Ok(found);
    }
    looked.extend(candidates.iter().map(|c| c.display().to_string()));
    looked.push(format!("nvcc in each of the {} directories of PATH", path_dirs.len()));
    looked.extend(fixed.iter().map(|c| c.display().to_string()));
    Err(format!(
        "no nvcc found (looked at: {}).\n\
         Get one with `scripts/provision-nvcc.sh` (installs CUDA 13.0 nvcc from pinned PyPI wheels into \
         .toolchain/cuda and prints its path) and build again, or run `scripts/test.sh`, which does both; \
         or set NVCC to an nvcc executable.",
        looked.join(", ")
    ))
}

/// The CUDA release in an `nvcc --version` text: `13.0` from `Cuda compilation tools, release 13.0, V13.0.88`.
pub fn parse_release(version_text: &str) -> Option<String> {
    version_text
        .lines()
        .find_map(|l| l.split("release ").nth(1))
        .and_then(|r| r.split(',').next())
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A temporary directory tree, removed on drop.
    struct Tmp(PathBuf);
    impl Tmp {
        fn new(tag: &str) -> Tmp {
            let d = std::env::temp_dir().join(format!("esmm-toolchain-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Tmp(d)
        }
        /// Creates `<dir>/<rel>` (an empty file) and returns its path.
        fn file(&self, rel: &str) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
            p
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn env(pairs: &[(&str, OsString)]) -> impl Fn(&str) -> Option<OsString> {
        let m: HashMap<String, OsString> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn search_order() {
        let t = Tmp::new("order");
        let root = t.0.join("project");
        let project = t.file(&format!("project/{PROJECT_NVCC}"));
        // Nothing in the environment: the project's toolchain (no /usr/local/cuda on a CI box
        // is assumed only when it is absent).
        if !Path::new("/usr/local/cuda/bin/nvcc").is_file() {
            assert_eq!(locate_nvcc(&root, env(&[])).unwrap(), project);
        }
        let path1 = t.file("p1/nvcc");
        let _path2 = t.file("p2/nvcc");
        let empty_dir = t.0.join("p0");
        let path = std::env::join_paths([empty_dir, path1.parent().unwrap().into(), t.0.join("p2")]).unwrap();
        assert_eq!(locate_nvcc(&root, env(&[("PATH", path.clone())])).unwrap(), path1, "first PATH dir holding nvcc");
        let cuda_path = t.file("cuda_path/bin/nvcc");
        let e = [("PATH", path.clone()), ("CUDA_PATH", t.0.join("cuda_path").into())];
        assert_eq!(locate_nvcc(&root, env(&e)).unwrap(), cuda_path, "CUDA_PATH before PATH");
        let cuda_home = t.file("cuda_home/bin/nvcc");
        let e = [
            ("PATH", path.clone()),
            ("CUDA_PATH", t.0.join("cuda_path").into()),
            ("CUDA_HOME", t.0.join("cuda_home").into()),
        ];
        assert_eq!(locate_nvcc(&root, env(&e)).unwrap(), cuda_home, "CUDA_HOME before CUDA_PATH");
        // A CUDA_HOME without nvcc is skipped.
        let e = [("CUDA_HOME", t.0.join("nowhere").into()), ("CUDA_PATH", t.0.join("cuda_path").into())];
        assert_eq!(locate_nvcc(&root, env(&e)).unwrap(), cuda_path);
        let explicit = t.file("explicit/nvcc");
        let e = [("NVCC", explicit.clone().into()), ("CUDA_HOME", t.0.join("cuda_home").into()), ("PATH", path)];
        assert_eq!(locate_nvcc(&root, env(&e)).unwrap(), explicit, "NVCC first");
        // An empty NVCC counts as unset.
        let e = [("NVCC", OsString::new()), ("CUDA_HOME", t.0.join("cuda_home").into())];
        assert_eq!(locate_nvcc(&root, env(&e)).unwrap(), cuda_home);
    }

    #[test]
    fn missing_nvcc_is_an_error_not_skipped() {
        let t = Tmp::new("missing");
        let home = t.file("cuda_home/bin/nvcc");
        let e =
            [("NVCC", t.0.join("no/such/nvcc").into()), ("CUDA_HOME", home.parent().unwrap().parent().unwrap().into())];
        let err = locate_nvcc(&t.0, env(&e)).unwrap_err();
        assert!(err.contains("NVCC=") && err.contains("no/such/nvcc"), "{err}");
        // A directory is not an nvcc either.
        let err = locate_nvcc(&t.0, env(&[("NVCC", t.0.clone().into())])).unwrap_err();
        assert!(err.contains("is not a file"), "{err}");
    }

    #[test]
    fn not_found_says_where_and_how() {
        if Path::new("/usr/local/cuda/bin/nvcc").is_file() {
            return;
        }
        let t = Tmp::new("none");
        let e = [("CUDA_HOME", t.0.join("home").into()), ("PATH", t.0.join("bin").into())];
        let err = locate_nvcc(&t.0, env(&e)).unwrap_err();
        for want in [
            "NVCC (unset)",
            "home/bin/nvcc",
            "CUDA_PATH (unset)",
            "/usr/local/cuda/bin/nvcc",
            PROJECT_NVCC,
            "1 directories of PATH",
            "scripts/provision-nvcc.sh",
        ] {
            assert!(err.contains(want), "{want:?} missing from {err}");
        }
    }

    #[test]
    fn release_from_version_text() {
        let text = "nvcc: NVIDIA (R) Cuda compiler driver\n\
                    Copyright (c) 2005-2025 NVIDIA Corporation\n\
                    Built on Wed_Aug_20_01:58:59_PM_PDT_2025\n\
                    Cuda compilation tools, release 13.0, V13.0.88\n\
                    Build cuda_13.0.r13.0/compiler.36424714_0\n";
        assert_eq!(parse_release(text).as_deref(), Some("13.0"));
        assert_eq!(parse_release("Cuda compilation tools, release 12.4, V12.4.131").as_deref(), Some("12.4"));
        assert_eq!(parse_release("something else"), None);
    }

    #[test]
    fn from_path_reports_a_missing_executable() {
        let err = Nvcc::from_path("/no/such/nvcc").unwrap_err();
        assert!(err.contains("/no/such/nvcc"), "{err}");
    }
}
