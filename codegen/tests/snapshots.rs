//! insta snapshots of every preset's rendered `.cu` and of the shipped `registry.rs`
//! (accept changes with `cargo insta accept` after reviewing them).

use esmm_codegen::emit::{cu_file, emit_command, render_set, REGISTRY_FILE};
use esmm_codegen::presets::PRESETS;
use esmm_codegen::sets::SetName;

#[test]
fn preset_kernels() {
    for p in PRESETS {
        let text = cu_file(&p.spec, &emit_command(SetName::Shipped))
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        insta::assert_snapshot!(format!("preset_{}", p.name), text);
    }
}

#[test]
fn shipped_registry() {
    let files = render_set(SetName::Shipped).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("shipped_registry", files[REGISTRY_FILE]);
}
