//! `esmm-tune tables`: tuned-table maintenance against the current codegen.
//!
//! - `migrate <file>...`: parses each table (a schema-1 table migrates: typed keys and
//!   statuses), gives every kernel candidate without a fingerprint the one of the **current**
//!   codegen's render of its name (and the nvcc release), and rewrites the file in the current
//!   schema. Only for tables whose measurements are known to be of the current kernels.
//! - `check <file>...`: per file, how many kernel measurements are fresh (their fingerprint is
//!   the current render's hash and the given nvcc release), stale (fingerprint differs) or
//!   unfingerprinted; exits 1 when any is stale or unfingerprinted (the runtime ignores both).
//!
//! The current hash of a name is [`current_hash`]: `KernelSpec::from_name`, then the codegen's
//! validation and render; a name that does not parse or validate (a baseline such as
//! `cublas_sgemm`, or a kernel this codegen no longer has) has none.

use crate::{msg, Result};
use esmm::dispatch::tuned::{Candidate, TunedTable, SCHEMA_VERSION};
use esmm::KernelSpec;
use esmm_spec::fingerprint::source_hash;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Arguments of `esmm-tune tables`.
#[derive(clap::Args, Clone, Debug)]
pub struct TablesArgs {
    #[command(subcommand)]
    command: TablesCommand,
}

#[derive(clap::Subcommand, Clone, Debug)]
enum TablesCommand {
    /// Rewrites tables in the current schema, fingerprinting unfingerprinted kernel candidates
    /// with the current codegen's render (for tables measured on the current kernels).
    Migrate {
        /// Tuned tables (rewritten in place).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Release of the nvcc that compiled the measured kernels, e.g. 13.0 (default: each
        /// table's gpu.cuda_version).
        #[arg(long)]
        nvcc_release: Option<String>,
    },
    /// Reports fresh / stale / unfingerprinted kernel measurements against the current codegen;
    /// exits 1 when any is stale or unfingerprinted.
    Check {
        /// Tuned tables.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The nvcc release kernels are compiled with now, e.g. 13.0 (default: the release this
        /// build's runtime kernels were compiled with, else that of the nvcc found).
        #[arg(long)]
        nvcc_release: Option<String>,
    },
}

/// The current codegen's source hash of a kernel name (None: not a valid kernel name here).
pub fn current_hash(name: &str) -> Option<u64> {
    let spec = KernelSpec::from_name(name).ok()?;
    esmm_codegen::render::render_variant(&spec).ok().map(|text| source_hash(&text))
}

/// [`current_hash`] memoized (tables repeat each name under every key).
fn memoized(f: impl Fn(&str) -> Option<u64>) -> impl Fn(&str) -> Option<u64> {
    let cache: RefCell<HashMap<String, Option<u64>>> = RefCell::new(HashMap::new());
    move |name: &str| {
        if let Some(h) = cache.borrow().get(name) {
            return *h;
        }
        let h = f(name);
        cache.borrow_mut().insert(name.to_string(), h);
        h
    }
}

/// What a table's measurements are, against the current codegen. Counts are of (key,
/// candidate) records; name lists are sorted and deduplicated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Freshness {
    /// Kernel records whose fingerprint is the current one.
    pub fresh: usize,
    /// Kernel records whose fingerprint differs (other source or other nvcc release).
    pub stale: usize,
    /// Names of the stale records.
    pub stale_names: Vec<String>,
    /// Kernel records without a fingerprint.
    pub unfingerprinted: usize,
    /// Their names.
    pub unfingerprinted_names: Vec<String>,
    /// Records of names the current codegen does not render (baselines, removed kernels).
    pub other: usize,
}

impl Freshness {
    /// Whether every kernel measurement is current.
    pub fn ok(&self) -> bool {
        self.stale == 0 && self.unfingerprinted == 0
    }
}

/// Classifies every candidate of `table` with `current` (a name's current source hash).
pub fn classify(table: &TunedTable, current: &dyn Fn(&str) -> Option<u64>, nvcc_release: &str) -> Freshness {
    let mut f = Freshness::default();
    let all: Vec<&Candidate> = table.entries.iter().flat_map(|e| &e.candidates).collect();
    for c in all {
        match (current(&c.variant), &c.fingerprint) {
            (None, _) => f.other += 1,
            (Some(h), Some(fp)) if fp.matches(h, nvcc_release) => f.fresh += 1,
            (Some(_), Some(_)) => {
                f.stale += 1;
                f.stale_names.push(c.variant.clone());
            }
            (Some(_), None) => {
                f.unfingerprinted += 1;
                f.unfingerprinted_names.push(c.variant.clone());
            }
        }
    }
    for v in [&mut f.stale_names, &mut f.unfingerprinted_names] {
        v.sort();
        v.dedup();
    }
    f
}

/// The schema version a table file declares (0 when unreadable).
fn declared_schema(text: &str) -> u32 {
    #[derive(serde::Deserialize)]
    struct V {
        schema_version: u32,
    }
    serde_json::from_str::<V>(text).map_or(0, |v| v.schema_version)
}

fn read_table(path: &Path) -> Result<(TunedTable, u32)> {
    let text = std::fs::read_to_string(path).map_err(msg(&format!("reading {}", path.display())))?;
    let table = TunedTable::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((table, declared_schema(&text)))
}

/// Migrates one table file in place with `current`; returns the line to print.
pub fn migrate_file(path: &Path, current: &dyn Fn(&str) -> Option<u64>, nvcc_release: Option<&str>) -> Result<String> {
    let (mut table, was) = read_table(path)?;
    let release = match nvcc_release {
        Some(r) => r.to_string(),
        None if !table.gpu.cuda_version.is_empty() => table.gpu.cuda_version.clone(),
        None => return Err(format!("{}: the table records no cuda_version; pass --nvcc-release", path.display())),
    };
    let mut notes = String::new();
    if table.gpu.cuda_version.is_empty() {
        table.gpu.cuda_version = release.clone();
    } else if table.gpu.cuda_version != release {
        notes += &format!("; note: the table says it was built with CUDA {}", table.gpu.cuda_version);
    }
    let given = table.fingerprint_with(current, &release);
    let f = classify(&table, current, &release);
    std::fs::write(path, table.to_json()).map_err(msg(&format!("writing {}", path.display())))?;
    Ok(format!(
        "{}: schema {was} → {SCHEMA_VERSION}; fingerprinted {given} kernel measurements (nvcc {release}); now {} fresh, {} stale, {} other (baselines and names this codegen does not render){notes}",
        path.display(),
        f.fresh,
        f.stale,
        f.other
    ))
}

/// The lines `check` prints for one table.
pub fn check_lines(path: &Path, f: &Freshness, nvcc_release: &str) -> Vec<String> {
    let verdict = if f.ok() { "ok" } else { "NOT CURRENT" };
    let mut lines = vec![format!(
        "{}: {verdict} against the current codegen and nvcc {nvcc_release}: {} fresh, {} stale, {} unfingerprinted, {} other",
        path.display(),
        f.fresh,
        f.stale,
        f.unfingerprinted,
        f.other
    )];
    if !f.stale_names.is_empty() {
        lines.push(format!("  stale ({} kernels): {}", f.stale_names.len(), f.stale_names.join(", ")));
    }
    if !f.unfingerprinted_names.is_empty() {
        const SHOWN: usize = 5;
        let mut names = f.unfingerprinted_names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        if f.unfingerprinted_names.len() > SHOWN {
            names += &format!(" and {} more", f.unfingerprinted_names.len() - SHOWN);
        }
        lines.push(format!(
            "  unfingerprinted ({} kernels; `esmm-tune tables migrate` if measured on the current kernels, else re-tune with `esmm-tune sweep --resume`): {names}",
            f.unfingerprinted_names.len()
        ));
    }
    lines
}

/// The nvcc release `check` compares with when none is given.
fn default_release() -> Result<String> {
    let built = esmm::dispatch::registry::NVCC_RELEASE;
    if !built.is_empty() {
        return Ok(built.to_string());
    }
    match crate::compile::find_nvcc(None) {
        Ok(n) if !n.release.is_empty() => Ok(n.release),
        _ => Err("no nvcc release known (this build compiled no kernels and no nvcc was found); pass --nvcc-release".into()),
    }
}

/// `esmm-tune tables`; `Ok(false)` when a checked table is not current.
pub fn run(args: TablesArgs) -> Result<bool> {
    let current = memoized(current_hash);
    match args.command {
        TablesCommand::Migrate { files, nvcc_release } => {
            for f in &files {
                println!("{}", migrate_file(f, &current, nvcc_release.as_deref())?);
            }
            Ok(true)
        }
        TablesCommand::Check { files, nvcc_release } => {
            let release = match nvcc_release {
                Some(r) => r,
                None => default_release()?,
            };
            let mut all_ok = true;
            for f in &files {
                let (table, _) = read_table(f)?;
                let fr = classify(&table, &current, &release);
                all_ok &= fr.ok();
                for l in check_lines(f, &fr, &release) {
                    println!("{l}");
                }
            }
            Ok(all_ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema-1 table holding a baseline, two current kernels (under two keys) and a name the
    /// codegen does not know.
    fn v1_table(k1: &str, k2: &str) -> String {
        let cand = |v: &str| format!(r#"{{"variant": "{v}", "status": "ok", "median_ms": 1.0, "samples": 5}}"#);
        let entry = |m: u32| {
            format!(
                r#"{{"key": {{"dtype": "f32", "activation": "none", "m": {m}, "n": 64, "k": 64, "density": 0.5}}, "candidates": [{}, {}, {}, {}]}}"#,
                cand("cublas_sgemm"),
                cand(k1),
                cand(k2),
                cand("esmm_no_such_kernel")
            )
        };
        format!(
            r#"{{"schema_version": 1, "gpu": {{"name": "NVIDIA H200", "slug": "nvidia-h200", "compute_capability": 90, "sm_count": 132,
            "driver_version": "580", "cuda_version": "13.0"}}, "crate_version": "0.1.0", "date": "2026-11-22", "command": "x",
            "entries": [{}, {}]}}"#,
            entry(64),
            entry(128)
        )
    }

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    #[test]
    fn migrate_fingerprints_with_the_current_render_and_check_tells_fresh_from_stale() {
        let dir = Tmp(std::env::temp_dir().join(format!("esmm-tables-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let shipped = esmm_codegen::sets::shipped();
        let (k1, k2) = (shipped[0].name(), shipped[1].name());
        assert!(current_hash(&k1).is_some() && current_hash("cublas_sgemm").is_none() && current_hash("esmm_no_such_kernel").is_none());
        let path = dir.0.join("nvidia-h200.json");
        std::fs::write(&path, v1_table(&k1, &k2)).unwrap();

        // Before migration: every kernel record is unfingerprinted.
        let current = memoized(current_hash);
        let (t, was) = read_table(&path).unwrap();
        assert_eq!(was, 1);
        let before = classify(&t, &current, "13.0");
        assert_eq!((before.fresh, before.unfingerprinted, before.other), (0, 4, 4));
        assert!(!before.ok());
        assert_eq!(before.unfingerprinted_names, {
            let mut v = vec![k1.clone(), k2.clone()];
            v.sort();
            v
        });

        // Migration rewrites the file as the current schema with fingerprints.
        let line = migrate_file(&path, &current, None).unwrap();
        assert!(line.contains("schema 1 → 2") && line.contains("fingerprinted 4") && line.contains("nvcc 13.0"), "{line}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(declared_schema(&text), SCHEMA_VERSION);
        let t = TunedTable::parse(&text).unwrap();
        let fp = t.entries[0].candidates.iter().find(|c| c.variant == k1).unwrap().fingerprint.clone().unwrap();
        assert!(fp.matches(current_hash(&k1).unwrap(), "13.0"));
        assert!(t.entries[0].candidates.iter().find(|c| c.variant == "cublas_sgemm").unwrap().fingerprint.is_none());
        let after = classify(&t, &current, "13.0");
        assert_eq!((after.fresh, after.stale, after.unfingerprinted, after.other), (4, 0, 0, 4));
        assert!(after.ok());
        // Migrating again changes nothing.
        migrate_file(&path, &current, None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        // Another nvcc release: every kernel record is stale.
        let other_nvcc = classify(&t, &current, "12.8");
        assert_eq!((other_nvcc.fresh, other_nvcc.stale), (0, 4));
        // k1's template changed since: its two records are stale, named once.
        let edited = |n: &str| if n == k1 { Some(42) } else { current_hash(n) };
        let f = classify(&t, &edited, "13.0");
        assert_eq!((f.fresh, f.stale, f.stale_names.clone()), (2, 2, vec![k1.clone()]));
        let lines = check_lines(&path, &f, "13.0");
        assert!(lines[0].contains("NOT CURRENT") && lines[0].contains("2 fresh, 2 stale"), "{lines:?}");
        assert!(lines[1].contains(&k1), "{lines:?}");
        assert!(check_lines(&path, &after, "13.0")[0].contains(": ok against"));

        // The CLI path: check succeeds on the migrated file, fails on a stale one.
        let cli = |args: &[&str]| {
            use clap::Parser;
            let argv = ["esmm-tune", "tables"].iter().chain(args).copied();
            crate::run(crate::Cli::try_parse_from(argv).unwrap())
        };
        let p = path.to_str().unwrap();
        assert_eq!(cli(&["check", p, "--nvcc-release", "13.0"]), Ok(true));
        assert_eq!(cli(&["check", p, "--nvcc-release", "12.8"]), Ok(false));
        assert!(cli(&["check", "/no/such/table.json", "--nvcc-release", "13.0"]).is_err());
    }

    #[test]
    fn migrate_needs_a_release() {
        let dir = Tmp(std::env::temp_dir().join(format!("esmm-tables-rel-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("t.json");
        std::fs::write(&path, v1_table("a", "b").replace("\"cuda_version\": \"13.0\"", "\"cuda_version\": \"\"")).unwrap();
        let e = migrate_file(&path, &|_| None, None).unwrap_err();
        assert!(e.contains("--nvcc-release"), "{e}");
        let line = migrate_file(&path, &|_| None, Some("13.0")).unwrap();
        assert!(line.contains("fingerprinted 0"), "{line}");
        assert_eq!(read_table(&path).unwrap().0.gpu.cuda_version, "13.0");
    }
}
