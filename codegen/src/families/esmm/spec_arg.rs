//! The `key=value` overrides of family esmm in the CLI's `SPEC` arguments
//! (e.g. `k25:bm=96,skip=branchless`); [`crate::spec_arg`] splits the argument and resolves the
//! base.

use esmm_spec::{Activation, Arch, ArchSet, ElemType, EsmmSpec, Preprocess, SkipStyle, Sparsity};

/// The override keys [`apply_override`] understands, for help texts.
pub const OVERRIDE_KEYS: &str = "sparsity, dtype, bm, bn, bk, wm, wn, wniter, tm, tn, \
a_granularity (ga), b_granularity (gb), preprocess, skip, activation, col_nnz, archs (e.g. sm_80+sm_90)";

/// Applies one override (`key`, `value` already trimmed).
pub fn apply_override(spec: &mut EsmmSpec, key: &str, value: &str) -> Result<(), String> {
    let bad = |expected: &str| format!("`{value}` is not a valid {key} (expected {expected})");
    let num = || value.parse::<u32>().map_err(|_| bad("an unsigned integer"));
    match key {
        "sparsity" => spec.sparsity = Sparsity::from_tag(value).ok_or_else(|| bad("dense, a, b or ab"))?,
        "dtype" => spec.dtype = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "bm" => spec.bm = num()?,
        "bn" => spec.bn = num()?,
        "bk" => spec.bk = num()?,
        "wm" => spec.wm = num()?,
        "wn" => spec.wn = num()?,
        "wniter" => spec.wniter = num()?,
        "tm" => spec.tm = num()?,
        "tn" => spec.tn = num()?,
        "a_granularity" | "ga" => spec.a_granularity = num()?,
        "b_granularity" | "gb" => spec.b_granularity = num()?,
        "preprocess" => spec.preprocess = Preprocess::from_tag(value).ok_or_else(|| bad("none, fused, offb or sep"))?,
        "skip" => spec.skip = SkipStyle::from_tag(value).ok_or_else(|| bad("branch or branchless"))?,
        "activation" => spec.activation = Activation::from_tag(value).ok_or_else(|| bad("none, relu or relu2"))?,
        "col_nnz" | "nnz" => spec.col_nnz = value.parse::<bool>().map_err(|_| bad("true or false"))?,
        "archs" => {
            let archs: Option<Vec<Arch>> = value.split('+').filter(|s| !s.is_empty()).map(Arch::parse).collect();
            let archs = archs.ok_or_else(|| bad("architectures joined by `+`, e.g. sm_80+sm_90"))?;
            spec.archs = ArchSet::from_archs(&archs);
        }
        _ => return Err(format!("unknown override key `{key}` (keys: {OVERRIDE_KEYS})")),
    }
    Ok(())
}
