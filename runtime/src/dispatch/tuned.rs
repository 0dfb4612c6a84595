//! The tuned table the runtime dispatches from: the committed `tune/tables/*.json`, embedded at
//! build time, or `ESMM_TUNE_TABLE=path`. The format and lookup live in [`esmm_spec::tuned`].
//!
//! On load, measurements of kernels that changed since they were measured (their fingerprint —
//! rendered source hash and nvcc release — differs from what this build compiled) are removed,
//! with one warning that names them and the command that re-tunes.

pub use esmm_spec::tuned::*;

use super::registry::{compiled_source_hash, NVCC_RELEASE};

/// The command that re-measures stale candidates.
pub const RETUNE_COMMAND: &str = "esmm-tune sweep --resume";

/// The tables committed under `tune/tables/`, embedded at build time: (file name, contents).
pub fn embedded_tables() -> &'static [(&'static str, &'static str)] {
    include!(concat!(env!("OUT_DIR"), "/tuned_tables.rs"))
}

/// A table ready for dispatch, and what loading it has to say.
pub struct Loaded {
    /// The table, stale measurements removed (None: heuristic dispatch).
    pub table: Option<TunedTable>,
    /// Warnings for the user (corrupted or foreign table, stale measurements), one line each.
    pub warnings: Vec<String>,
}

/// Loads the table for the GPU `present_slug`: `ESMM_TUNE_TABLE=path` if set, else the
/// embedded `<slug>.json`. A missing table is no warning; a corrupted, truncated or foreign one
/// is one warning and heuristic dispatch; stale candidates are one warning and are dropped.
pub fn load_for_gpu(present_slug: &str) -> Loaded {
    let (origin, text) = match std::env::var("ESMM_TUNE_TABLE") {
        Ok(path) => match std::fs::read_to_string(&path) {
            Ok(t) => (format!("ESMM_TUNE_TABLE={path}"), t),
            Err(e) => return Loaded { table: None, warnings: vec![format!("ESMM_TUNE_TABLE={path}: cannot read: {e}")] },
        },
        Err(_) => {
            let file = format!("{present_slug}.json");
            match embedded_tables().iter().find(|(name, _)| *name == file) {
                None => return Loaded { table: None, warnings: Vec::new() },
                Some((_, t)) => (format!("embedded table {file}"), t.to_string()),
            }
        }
    };
    match parse_for_gpu(&text, present_slug) {
        Err(e) => Loaded { table: None, warnings: vec![format!("{origin}: {e}")] },
        Ok(mut table) => {
            let stale = table.drop_stale(&compiled_source_hash, NVCC_RELEASE);
            let warnings = if stale.is_empty() { Vec::new() } else { vec![stale_warning(&origin, &stale)] };
            Loaded { table: Some(table), warnings }
        }
    }
}

/// One warning naming the stale candidates (the first few, then a count) and the fix.
pub fn stale_warning(origin: &str, stale: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut names = stale.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if stale.len() > SHOWN {
        names += &format!(" and {} more", stale.len() - SHOWN);
    }
    format!(
        "{origin}: ignoring the measurements of {} kernel(s) that changed since they were tuned (source or nvcc {NVCC_RELEASE} differs): {names}; re-tune with `{RETUNE_COMMAND}`",
        stale.len()
    )
}

/// Parses a table and checks that it was measured on the GPU `present_slug`.
pub fn parse_for_gpu(text: &str, present_slug: &str) -> Result<TunedTable, TableError> {
    let table = TunedTable::parse(text)?;
    table.check_gpu(present_slug)?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_parse_belong_to_their_file_and_are_fresh() {
        for (file, text) in embedded_tables() {
            let slug = file.trim_end_matches(".json");
            let mut t = parse_for_gpu(text, slug).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!t.entries.is_empty(), "{file} has no entries");
            // The committed tables were measured on the kernels this build compiles.
            if !NVCC_RELEASE.is_empty() {
                let stale = t.drop_stale(&compiled_source_hash, NVCC_RELEASE);
                assert!(stale.is_empty(), "{}", stale_warning(file, &stale));
            }
        }
    }

    #[test]
    fn corrupted_truncated_foreign_or_stale_tables_are_handled() {
        let good = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "NVIDIA H200".into(), slug: "nvidia-h200".into(), compute_capability: 90, sm_count: 132, driver_version: String::new(), cuda_version: String::new() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        }
        .to_json();
        assert!(parse_for_gpu(&good, "nvidia-h200").is_ok());
        assert!(matches!(parse_for_gpu(&good, "nvidia-geforce-rtx-3090"), Err(TableError::ForeignGpu { .. })));
        assert!(matches!(parse_for_gpu(&good[..good.len() / 2], "nvidia-h200"), Err(TableError::Malformed(_))));
        assert!(matches!(parse_for_gpu("\u{0}garbage", "nvidia-h200"), Err(TableError::Malformed(_))));
        let names: Vec<String> = (0..7).map(|i| format!("esmm_variant_{i}")).collect();
        let w = stale_warning("t.json", &names);
        assert!(w.contains(RETUNE_COMMAND) && w.contains("esmm_variant_0") && w.contains("and 2 more"), "{w}");
        assert!(w.starts_with("t.json: ignoring the measurements of 7 kernel(s)"), "{w}");
    }
}
