//! Committed guard on the kernels' bytes: the fingerprints ([`esmm_spec::fingerprint::source_hash`]
//! of the rendered `.cu` body) of fixed variants. Tuned tables were measured on exactly these
//! kernels and record these hashes, so a template or renderer change that alters a kernel must
//! be a conscious one: this test then fails and says what to do.

use esmm_codegen::families::esmm::presets::{DEFAULT_DENSE_TILE, DEFAULT_SPARSE_TILE};
use esmm_codegen::{presets, source_hash};
use esmm_spec::{Activation, EsmmSpec, KernelSpec, Preprocess, Sparsity};

/// (preset name or variant name, fingerprint), computed from the renders the committed tuned
/// tables were measured on.
const EXPECTED: [(&str, u64); 10] = [
    ("k10", 0xcaf47c5db4f3a5e2),
    ("k17", 0xe111fa6fc5828331),
    ("k20", 0xca92f06daa57e457),
    ("k21", 0x9a240bd04e3f2b1c),
    ("k25", 0xbe56ffab8203fa00),
    ("k28", 0xbb7fab748f837ffd),
    ("k30", 0x40a882604575ad56),
    ("esmm_dense_f32_128x128x16_w64x32x2_t8x4_none", 0xb0fd7ebc993f5b56),
    ("esmm_ab_f32_128x128x8_w64x32x2_t8x4_g64x32_fused_branch_none", 0x8031de80e0f8e30f),
    ("esmm_ab_f32_128x128x8_w64x32x2_t8x4_g64x32_offb_branch_relu2_nnz", 0xf31f10a086bfec76),
];

fn spec_of(key: &str) -> KernelSpec {
    presets::preset(key).map(|p| p.spec).unwrap_or_else(|| KernelSpec::from_name(key).unwrap())
}

#[test]
fn kernel_fingerprints_are_unchanged() {
    let mut changed = Vec::new();
    for (key, expected) in EXPECTED {
        let spec = spec_of(key);
        let got = source_hash(&spec).unwrap_or_else(|e| panic!("{key}: {e}"));
        if got != expected {
            changed.push(format!("  {key} ({}): 0x{got:016x}, expected 0x{expected:016x}", spec.name()));
        }
    }
    assert!(
        changed.is_empty(),
        "the rendered kernels changed:\n{}\nThe committed tuned tables were measured on the old bytes. Either undo the \
         template/renderer change, or make it consciously: regenerate (`cargo run --release -p esmm-codegen -- emit`), \
         re-tune (`esmm-tune sweep`, so that the tables' fingerprints match) and update the constants in \
         codegen/tests/fingerprints.rs.",
        changed.join("\n")
    );
}

#[test]
fn the_guarded_variants_are_the_ones_meant() {
    // The variant names above are the default tiles: keep them in step with the defaults.
    let dense = EsmmSpec { activation: Activation::None, ..DEFAULT_DENSE_TILE };
    let fused = EsmmSpec { sparsity: Sparsity::Joint, a_granularity: 64, b_granularity: 32, preprocess: Preprocess::Fused, ..DEFAULT_SPARSE_TILE };
    let offb = EsmmSpec { preprocess: Preprocess::OfflineB, activation: Activation::Relu2, col_nnz: true, ..fused };
    assert_eq!([dense.name(), fused.name(), offb.name()].map(|n| n.to_string()), [EXPECTED[7].0, EXPECTED[8].0, EXPECTED[9].0].map(String::from));
}
