//! `esmm-codegen`: the ahead-of-time generator of esmm CUDA kernels.
//!
//! - [`validate`]: which points of the variant space ([`esmm_spec::KernelSpec`]) can be
//!   generated, and why the others cannot;
//! - [`presets`]: the seed's kernels (K10..K30) as points of the space;
//! - [`sets`]: the named sets `shipped`, `sweep` and `all`;
//! - [`render`]: askama rendering of one variant and its launch geometry;
//! - [`emit`]: writing a set into `generated/` (`.cu` files + `registry.rs`) and checking it;
//! - [`spec_arg`]: parsing of the CLI's `SPEC` arguments.

pub mod emit;
pub mod presets;
pub mod render;
pub mod sets;
pub mod spec_arg;
pub mod validate;

use esmm_spec::KernelSpec;

/// One line of key parameters, e.g. `threads=128 wm_iter=4 regs~124 smem=12288`.
pub fn key_params(spec: &KernelSpec) -> String {
    let smem = match validate::gemm_smem(spec) {
        Some(b) => b.to_string(),
        None => "?".into(),
    };
    let stages = render::launches(spec).len();
    format!(
        "threads={} wm_iter={} regs~{} smem={} launches={}",
        spec.threads(),
        spec.wm_iter(),
        validate::register_estimate(spec),
        smem,
        stages
    )
}
