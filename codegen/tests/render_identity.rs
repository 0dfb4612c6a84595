//! Byte identity with reference renders, for refactors that must not change kernels: every valid
//! variant of set `all` that has a file in `$ESMM_RENDERS_BEFORE/all` (written by `esmm-codegen
//! emit --set all --out $ESMM_RENDERS_BEFORE/all` of an earlier tree) must render to the same body
//! (the file without its two header lines). Skipped, with a note, when the variable is unset.
//! (The multi-family refactor passed it on all 1233 variants; the NaN/Inf scan of one-sided
//! variants then changed those 84 bodies on purpose.)

use std::path::PathBuf;

use esmm_codegen::sets::SetName;
use esmm_codegen::validate;

#[test]
fn bodies_equal_the_reference_renders() {
    let Some(root) = std::env::var_os("ESMM_RENDERS_BEFORE").map(PathBuf::from) else {
        eprintln!("note: ESMM_RENDERS_BEFORE is not set; byte-identity check skipped");
        return;
    };
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
