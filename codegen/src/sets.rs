//! Named sets of variants over every family: `shipped` (compiled into the runtime), `sweep`
//! (the autotuner's search space) and `all` (a wide product of each space, valid and invalid
//! candidates alike). Each family says what it contributes ([`FamilyGenerator::set`]); this
//! module unions, deduplicates and sorts, and reads the committed tuned tables for the winners
//! that must ship.
//!
//! [`FamilyGenerator::set`]: crate::family::FamilyGenerator::set

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use esmm_spec::{Epilogue, Family, KernelSpec};

use crate::family::{generators, validate};

/// A named set of variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SetName {
    /// Presets + defaults + tuned winners: what the runtime compiles and dispatches to.
    Shipped,
    /// The autotuner's search space (hundreds of valid variants).
    Sweep,
    /// A wide product of the space, including invalid candidates (each rejected with reasons).
    All,
}

impl SetName {
    /// The CLI spelling (`shipped`, `sweep`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            SetName::Shipped => "shipped",
            SetName::Sweep => "sweep",
            SetName::All => "all",
        }
    }

    /// The members of the set over every family, sorted by name.
    pub fn specs(self) -> Vec<KernelSpec> {
        self.specs_of(None)
    }

    /// The members of `family` (every family when `None`), sorted by name.
    pub fn specs_of(self, family: Option<Family>) -> Vec<KernelSpec> {
        sorted_unique(generators(family).into_iter().flat_map(|g| g.set(self)))
    }

    /// Whether the set may hold invalid candidates (only `all`); elsewhere an invalid member is
    /// an error.
    pub fn allows_invalid(self) -> bool {
        self == SetName::All
    }
}

/// `shipped` over every family.
pub fn shipped() -> Vec<KernelSpec> {
    SetName::Shipped.specs()
}

/// `sweep` over every family.
pub fn sweep() -> Vec<KernelSpec> {
    SetName::Sweep.specs()
}

/// `all` over every family.
pub fn all() -> Vec<KernelSpec> {
    SetName::All.specs()
}

/// Every family's default variants, sorted by name.
pub fn defaults() -> Vec<KernelSpec> {
    sorted_unique(generators(None).into_iter().flat_map(|g| g.defaults()))
}

/// Where the committed tuned tables live (`tune/tables/`).
pub fn tables_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tune/tables")
}

/// Winners of the autotuner that must ship: the fastest valid variant of every key of every
/// committed table in [`tables_dir`], each with every epilogue (activation × column counts), so
/// the runtime can dispatch the tuned tile for any requested epilogue. Baselines (cuBLAS), names
/// that do not parse and invalid specs are skipped; an unreadable table is skipped with a
/// warning. Tables of schema v1 are migrated in memory ([`esmm_spec::tuned::TunedTable::parse`]).
pub fn tuned_winners() -> Vec<KernelSpec> {
    tuned_winners_in(&tables_dir())
}

/// [`tuned_winners`] for the tables in `dir`.
pub fn tuned_winners_in(dir: &Path) -> Vec<KernelSpec> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|t| esmm_spec::tuned::TunedTable::parse(&t).map_err(|e| e.to_string()));
        let table = match parsed {
            Ok(t) => t,
            Err(e) => {
                eprintln!("warning: skipping tuned table {}: {e}", file.display());
                continue;
            }
        };
        for name in table.winners() {
            let Ok(spec) = KernelSpec::from_name(&name) else { continue };
            out.extend(Epilogue::all().map(|e| spec.with_epilogue(e)).filter(|s| validate(s).is_ok()));
        }
    }
    sorted_unique(out)
}

/// Deduplicates by name (first occurrence wins) and sorts by name.
pub fn sorted_unique(specs: impl IntoIterator<Item = KernelSpec>) -> Vec<KernelSpec> {
    let mut by_name = BTreeMap::new();
    for s in specs {
        by_name.entry(s.name()).or_insert(s);
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets::K25;
    use esmm_spec::tuned::{Candidate, CandidateStatus, GpuInfo, TableKey, TunedTable, CUBLAS_SGEMM, SCHEMA_VERSION};
    use esmm_spec::{Activation, ElemType};

    #[test]
    fn winners_of_committed_style_tables_ship_with_every_epilogue() {
        let dir = std::env::temp_dir().join(format!("esmm-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k25 = KernelSpec::Esmm(K25);
        let gpu = GpuInfo { name: "X".into(), slug: "x".into(), compute_capability: 90, sm_count: 1, driver_version: String::new(), cuda_version: String::new() };
        let mut t = TunedTable { schema_version: SCHEMA_VERSION, gpu, crate_version: String::new(), date: String::new(), command: String::new(), entries: vec![] };
        let key = |density| TableKey { family: Family::Esmm, dtype: ElemType::F32, activation: Activation::None, m: 64, n: 64, k: 64, density };
        let ok = |v: &str, ms| Candidate {
            variant: v.into(),
            status: CandidateStatus::Ok,
            fingerprint: None,
            median_ms: Some(ms),
            p20_ms: None,
            p80_ms: None,
            samples: 3,
            detail: None,
        };
        t.record(key(0.5), ok(&k25.name(), 1.0));
        t.record(key(0.5), ok("esmm_not_a_name", 0.5));
        t.record(key(1.0), ok(CUBLAS_SGEMM, 1.0));
        std::fs::write(dir.join("x.json"), t.to_json()).unwrap();
        std::fs::write(dir.join("broken.json"), "{ truncated").unwrap();
        // The unparsable name wins its key, so nothing ships from it; cuBLAS never ships.
        assert!(tuned_winners_in(&dir).is_empty());
        t.record(key(0.5), ok("esmm_not_a_name", 5.0));
        std::fs::write(dir.join("x.json"), t.to_json()).unwrap();
        let w = tuned_winners_in(&dir);
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(w.iter().all(|s| s.with_epilogue(Epilogue::NONE) == k25));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn committed_v1_tables_still_give_winners() {
        // The committed tables are schema v1 JSON, migrated in memory.
        assert!(!tuned_winners().is_empty(), "no winners read from {}", tables_dir().display());
    }
}
