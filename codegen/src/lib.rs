//! `esmm-codegen`: the ahead-of-time generator of the project's CUDA kernels, one module per
//! kernel family behind one trait.
//!
//! - [`family`]: the [`FamilyGenerator`] trait, its table ([`generator`]), the validated-spec
//!   type [`ValidSpec`] and [`Preset`];
//! - [`families`]: one module per family (today [`families::esmm`]): validity rules, geometry,
//!   rendering, sets, presets, CLI overrides;
//! - [`sets`]: the named sets `shipped`, `sweep` and `all` over every family, and the tuned
//!   winners that ship;
//! - [`emit`]: writing a set into `generated/<family>/*.cu` + `generated/registry.rs`, and
//!   checking it;
//! - [`spec_arg`]: parsing of the CLI's `SPEC` arguments.
//!
//! Typical use: `validate(&spec)?` gives a [`ValidSpec`], whose `render()`, `launches()` and
//! `source_hash()` are the kernel's source, launches and fingerprint.

pub mod emit;
pub mod families;
pub mod family;
pub mod sets;
pub mod spec_arg;

pub use family::{generator, generators, preset, validate, FamilyGenerator, Preset, ValidSpec};

use esmm_spec::{KernelSpec, Launch};

/// One line of key parameters of a valid variant, e.g.
/// `threads=128 wm_iter=4 regs~124 smem=12288 launches=1`.
pub fn key_params(valid: &ValidSpec) -> String {
    valid.generator().key_params(valid)
}

/// The reasons a spec is invalid, joined into one message.
fn invalid(spec: &KernelSpec, why: Vec<String>) -> String {
    format!("{} is invalid: {}", spec.name(), why.join("; "))
}

/// Validates and renders one variant: its `.cu` body without the `@generated` header (the
/// text tuned tables fingerprint). An invalid spec is an error listing its reasons.
pub fn render_variant(spec: &KernelSpec) -> Result<String, String> {
    validate(spec).map_err(|why| invalid(spec, why))?.render()
}

/// Validates one variant and gives its launches in execution order.
pub fn launches(spec: &KernelSpec) -> Result<Vec<Launch>, String> {
    Ok(validate(spec).map_err(|why| invalid(spec, why))?.launches())
}

/// Validates and renders one variant and gives [`esmm_spec::fingerprint::source_hash`] of its
/// body (what the registry's `source_hash` holds and tuned tables record).
pub fn source_hash(spec: &KernelSpec) -> Result<u64, String> {
    validate(spec).map_err(|why| invalid(spec, why))?.source_hash()
}

/// The paths the autotuner used before families existed, kept as thin wrappers.
pub mod render {
    pub use crate::{launches, render_variant};
}

/// Preset lookup over every family (`presets::preset("k25")`).
pub mod presets {
    pub use crate::family::{preset, presets, Preset};
}
