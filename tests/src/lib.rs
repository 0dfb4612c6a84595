//! Cross-crate integration tests for esmm. The GPU suite lives in `gpu_suite.rs`
//! (`cargo test -p esmm-tests --test gpu_suite`), the cuBLAS/cuBLASLt baseline tests in
//! `gpu_baselines.rs` (`--test gpu_baselines`); they need no helpers from this library yet.
