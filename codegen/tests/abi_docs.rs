//! docs/ARCHITECTURE.md must embed, verbatim, the ABI table of every esmm, tc, gemv and rans launch stage as
//! `esmm_spec::abi::doc_table` writes it, so the documented ABI is the one the kernels and the
//! runtime use. On failure the expected Markdown block is printed for pasting.

use std::path::Path;

use esmm_spec::abi::doc_table;
use esmm_spec::families::esmm::stage_args;
use esmm_spec::Stage;

/// The tables, in the order they appear in the docs.
fn expected_tables() -> Vec<String> {
    [
        (Stage::Gemm, "GEMM stage `{name}_gemm` (every variant)"),
        (Stage::PatternA, "A-pattern stage `{name}_pattern_a` (separate preprocessing only)"),
        (Stage::PatternB, "B-pattern stage `{name}_pattern_b` (separate preprocessing; also `prepare_b`)"),
    ]
    .into_iter()
    .map(|(stage, title)| doc_table(title, stage_args(stage)))
    .chain(tc_tables())
    .chain(gemv_tables())
    .chain(rans_tables())
    .collect()
}

/// Family rans's tables (bf16 shown).
fn rans_tables() -> Vec<String> {
    use esmm_spec::families::rans::{int8_gemv_args, rans_gemv_args, RANS_DECODE_ARGS};
    use esmm_spec::ElemType;
    vec![
        doc_table("rans decode stage `{name}_decode` (ans variants)", &RANS_DECODE_ARGS),
        doc_table("rans fused GEMV stage `{name}_gemm` (ans variants, bf16 shown)", rans_gemv_args(ElemType::Bf16, ElemType::Bf16)),
        doc_table("rans INT8 GEMV stage `{name}_gemm` (int8 variants, bf16 shown)", int8_gemv_args(ElemType::Bf16, ElemType::Bf16)),
    ]
}

/// Family gemv's tables (bf16 shown).
fn gemv_tables() -> Vec<String> {
    use esmm_spec::families::gemv::{gemv_args, SCATTER_ARGS, SELECT_ARGS};
    use esmm_spec::ElemType;
    vec![
        doc_table("gemv GEMV stage `{name}_gemm` (bf16 shown)", gemv_args(ElemType::Bf16, ElemType::Bf16)),
        doc_table("gemv select stage `{name}_select` (output-list variants; the sparse MLP)", &SELECT_ARGS),
        doc_table("gemv scatter stage `{name}_scatter` (output-list variants; the weight cache)", &SCATTER_ARGS),
    ]
}

/// Family tc's tables, for bf16 inputs and outputs (other types change only the pointer types).
fn tc_tables() -> Vec<String> {
    use esmm_spec::families::tc::{mma_gemm_args, stage_args as tc_args, wgmma_gemm_args};
    use esmm_spec::{ElemType, TcSpec};
    let spec = TcSpec::from_name("tc_bf16_mma_ab_obf16_128x128x32_w64x64_s4_r8_g64x32x128_offb_none").expect("a tc name");
    let mut v = vec![
        doc_table("tc mma GEMM stage `{name}_gemm` (bf16 shown)", mma_gemm_args(ElemType::Bf16, ElemType::Bf16)),
        doc_table("tc wgmma GEMM stage `{name}_gemm` (bf16 output shown)", wgmma_gemm_args(ElemType::Bf16)),
    ];
    for (stage, title) in [
        (Stage::PatternA, "tc A-pattern stage `{name}_pattern_a`"),
        (Stage::PatternB, "tc B-pattern stage `{name}_pattern_b` (also `tc_prepare_b`)"),
        (Stage::PackA, "tc pack stage `{name}_pack_a` (unaligned A only)"),
        (Stage::PackB, "tc pack stage `{name}_pack_b` (Bᵀ for wgmma, padded B for mma)"),
    ] {
        v.push(doc_table(title, tc_args(&spec, stage)));
    }
    v
}

/// The tables missing from `doc`.
fn missing_tables(doc: &str) -> Vec<String> {
    expected_tables().into_iter().filter(|t| !doc.contains(t.as_str())).collect()
}

#[test]
fn architecture_doc_embeds_every_esmm_abi_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let missing = missing_tables(&doc);
    assert!(
        missing.is_empty(),
        "{} lacks {} of the esmm ABI tables; paste this block (under \"Kernel ABI\"):\n\n{}",
        path.display(),
        missing.len(),
        expected_tables().join("\n")
    );
}

#[test]
fn the_check_accepts_the_block_and_rejects_a_stale_one() {
    let block = expected_tables().join("\n");
    assert!(missing_tables(&format!("# Doc\n\n{block}\nmore\n")).is_empty());
    let stale = block.replace("| 0 | `", "| 00 | `");
    assert_eq!(missing_tables(&stale).len(), expected_tables().len());
}
