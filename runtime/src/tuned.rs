//! The tuned tables the runtime dispatches from: the committed `tune/tables/*.json`, embedded at
//! build time, or `ESMM_TUNE_TABLE=path`. The format and lookup live in [`esmm_spec::tuned`].

pub use esmm_spec::tuned::*;

/// The tables committed under `tune/tables/`, embedded at build time: (file name, contents).
pub fn embedded_tables() -> &'static [(&'static str, &'static str)] {
    include!(concat!(env!("OUT_DIR"), "/tuned_tables.rs"))
}

/// Loads the table to dispatch with on the GPU `present_slug`: `ESMM_TUNE_TABLE=path` if set,
/// else the embedded table named `<slug>.json`. Problems are returned as a message for one
/// warning; `Ok(None)` means no table exists for this GPU (heuristic dispatch, no warning).
pub fn load_for_gpu(present_slug: &str) -> Result<Option<TunedTable>, String> {
    if let Ok(path) = std::env::var("ESMM_TUNE_TABLE") {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("ESMM_TUNE_TABLE={path}: cannot read: {e}"))?;
        return parse_for_gpu(&text, present_slug).map(Some).map_err(|e| format!("ESMM_TUNE_TABLE={path}: {e}"));
    }
    let file = format!("{present_slug}.json");
    match embedded_tables().iter().find(|(name, _)| *name == file) {
        None => Ok(None),
        Some((_, text)) => parse_for_gpu(text, present_slug).map(Some).map_err(|e| format!("embedded table {file}: {e}")),
    }
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
    fn embedded_tables_parse_and_belong_to_their_file_name() {
        for (file, text) in embedded_tables() {
            let slug = file.trim_end_matches(".json");
            let t = parse_for_gpu(text, slug).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!t.entries.is_empty(), "{file} has no entries");
        }
    }

    #[test]
    fn corrupted_truncated_or_foreign_tables_are_errors() {
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
    }
}
