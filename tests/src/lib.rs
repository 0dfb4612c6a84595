//! Cross-crate integration tests for esmm. The GPU suite lives in `gpu_suite.rs`
//! (`cargo test -p esmm-tests --test gpu_suite`); it needs no helpers from this library yet.
