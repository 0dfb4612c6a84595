//! docs/ARCHITECTURE.md must embed, verbatim, the ABI table of every esmm launch stage as
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
    .collect()
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
    let stale = block.replace("unsigned int epoch", "unsigned int barrier");
    assert_eq!(missing_tables(&stale).len(), 3);
}
