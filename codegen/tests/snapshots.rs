//! insta snapshots of every preset's rendered `.cu` and of the shipped `registry.rs`
//! (accept changes with `cargo insta accept` after reviewing them; a preset's `.cu` must only
//! change together with the fingerprints of tests/fingerprints.rs).

use esmm_codegen::emit::{cu_file, emit_command, render_set, REGISTRY_FILE};
use esmm_codegen::presets::presets;
use esmm_codegen::sets::SetName;
use esmm_codegen::validate;

#[test]
fn preset_kernels() {
    for p in presets(None) {
        let valid = validate(&p.spec).unwrap_or_else(|why| panic!("{}: {why:?}", p.name));
        let text = cu_file(&valid, &emit_command(SetName::Shipped)).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        insta::assert_snapshot!(format!("preset_{}", p.name), text);
    }
}

#[test]
fn shipped_registry() {
    let tree = render_set(SetName::Shipped, None).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("shipped_registry", tree.files[REGISTRY_FILE]);
}
