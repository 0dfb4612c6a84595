//! Byte identity with reference renders: every valid variant of set `all` that has a file in
//! `$ESMM_RENDERS_BEFORE/all` (default `/tmp/renders-before/all`, written by `esmm-codegen emit
//! --set all` of an earlier tree) must render to the same body (the file without its two header
//! lines). Skipped, with a note, when the directory does not exist.

use std::path::PathBuf;

use esmm_codegen::sets::SetName;
use esmm_codegen::validate;

#[test]
fn bodies_equal_the_reference_renders() {
    let root = std::env::var_os("ESMM_RENDERS_BEFORE").map_or_else(|| PathBuf::from("/tmp/renders-before"), PathBuf::from);
    let dir = root.join("all");
    if !dir.is_dir() {
        eprintln!("note: {} does not exist; byte-identity check skipped", dir.display());
        return;
    }
    let (mut compared, mut differing, mut valid) = (0, Vec::new(), 0);
    for spec in SetName::All.specs() {
        let Ok(v) = validate(&spec) else { continue };
        valid += 1;
        let Ok(reference) = std::fs::read_to_string(dir.join(format!("{}.cu", spec.name()))) else { continue };
        let body = reference.splitn(3, '\n').nth(2).unwrap_or_default();
        compared += 1;
        if v.render().unwrap() != body {
            differing.push(spec.name());
        }
    }
    let files = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "cu")).count();
    eprintln!("compared {compared} of {valid} valid variants with {files} reference renders in {}", dir.display());
    assert!(differing.is_empty(), "{} bodies differ, e.g. {:?}", differing.len(), &differing[..differing.len().min(5)]);
    assert_eq!(compared, files, "some reference renders have no valid variant in set all");
}
