//! The committed `generated/registry.rs` compiles against `esmm-spec` and agrees, row by row,
//! with what the generator computes for the shipped set: spec, default flag, fingerprint of the
//! rendered source and launches (with their argument lists).

mod generated {
    include!(concat!(env!("CARGO_MANIFEST_DIR"), "/../generated/registry.rs"));
}

use esmm_codegen::sets::{defaults, SetName};
use esmm_codegen::validate;

#[test]
fn committed_registry_matches_the_generator() {
    let shipped = SetName::Shipped.specs();
    let reg = generated::REGISTRY;
    let names: Vec<&str> = reg.iter().map(|e| e.name).collect();
    let expected: Vec<String> = shipped.iter().map(|s| s.name()).collect();
    assert_eq!(names, expected, "stale registry: run `cargo run --release -p esmm-codegen -- emit`");
    let defaults = defaults();
    for (e, spec) in reg.iter().zip(&shipped) {
        let v = validate(spec).unwrap();
        assert_eq!(e.spec, *spec, "{}", e.name);
        assert_eq!(e.spec.name(), e.name);
        assert_eq!(e.is_default, defaults.contains(spec), "{}", e.name);
        assert_eq!(e.source_hash, v.source_hash().unwrap(), "{}", e.name);
        assert_eq!(e.launches, v.launches().as_slice(), "{}", e.name);
    }
    assert_eq!(reg.iter().filter(|e| e.is_default).count(), defaults.len());
}
