//! Rendering of a `KernelSpec` through the askama templates in `templates/`, and the launch
//! geometry that goes with each rendered kernel. (Stub: the kernel templates replace this.)

use esmm_spec::{KernelSpec, Launch};

/// Renders the complete `.cu` translation unit of one variant (without the `@generated` header).
pub fn render_variant(spec: &KernelSpec) -> Result<String, String> {
    Err(format!("no template for {} yet", spec.name()))
}

/// The launches of one variant in execution order. Symbols are `&'static str` because the
/// registry stores them statically; implementations leak the formatted names (a few per variant).
pub fn launches(spec: &KernelSpec) -> Vec<Launch> {
    let _ = spec;
    Vec::new()
}
