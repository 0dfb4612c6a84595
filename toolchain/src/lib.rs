//! The CUDA toolchain of esmm, in one place: used by `runtime/build.rs` (the shipped kernels)
//! and by `esmm-tune` (sweep candidates compiled at tune time); `scripts/find-nvcc.sh` mirrors
//! its nvcc search order for the shell scripts.
//!
//! - [`find_nvcc`]: which nvcc, and its version ([`Nvcc`]).
//! - [`parse_archs`], [`Target`], [`Targets`]: which GPU architectures, as nvcc `-gencode` flags.
//! - [`nvcc_flags`]: the flags of a fatbin compile.
//! - [`compile_fatbins`]: parallel compiles into a content-hash fatbin cache.
//!
//! Nothing here probes a GPU.

mod cache;
mod nvcc;
mod targets;

/// The architecture enum of the variant space (re-exported for build scripts).
pub use esmm_spec::Arch;

pub use cache::{cache_key, compile_fatbins, thread_count, CompileError, CompileReport, Job, Outcome, Source};
pub use nvcc::{find_nvcc, locate_nvcc, parse_release, Nvcc, NVCC_ENV_VARS, PROJECT_NVCC};
pub use targets::{
    include_args, nvcc_flags, parse_archs, ptx_arch, Target, Targets, BASE_FLAGS, DEFAULT_ARCHS, ENV_ARCHS,
    ENV_NVCC_FLAGS,
};
