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
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("ESMM_TUNE_TABLE={path}: cannot read: {e}"))?;
        let table = TunedTable::parse(&text).map_err(|e| format!("ESMM_TUNE_TABLE={path}: {e}"))?;
        table.check_gpu(present_slug).map_err(|e| format!("ESMM_TUNE_TABLE={path}: {e}"))?;
        return Ok(Some(table));
    }
    let file = format!("{present_slug}.json");
    match embedded_tables().iter().find(|(name, _)| *name == file) {
        None => Ok(None),
        Some((_, text)) => {
            let table = TunedTable::parse(text).map_err(|e| format!("embedded table {file}: {e}"))?;
            table.check_gpu(present_slug).map_err(|e| format!("embedded table {file}: {e}"))?;
            Ok(Some(table))
        }
    }
}

