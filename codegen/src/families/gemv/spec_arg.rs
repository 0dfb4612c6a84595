//! The `key=value` overrides of family gemv in the CLI's `SPEC` arguments (e.g.
//! `gemv-kn:unroll=4,cache=2`).

use esmm_spec::{Activation, ElemType, GemvLayout, GemvSparsity, GemvSpec};

/// The override keys [`apply_override`] understands, for help texts.
pub const OVERRIDE_KEYS: &str = "dtype, out, layout, sparsity, gated, block, kw, unroll, cache, activation";

/// Applies one override (`key`, `value` already trimmed).
pub fn apply_override(spec: &mut GemvSpec, key: &str, value: &str) -> Result<(), String> {
    let bad = |expected: &str| format!("`{value}` is not a valid {key} (expected {expected})");
    let num = || value.parse::<u32>().map_err(|_| bad("an unsigned integer"));
    match key {
        "dtype" => spec.dtype = ElemType::from_tag(value).ok_or_else(|| bad("f16 or bf16"))?,
        "out" => spec.out = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "layout" => spec.layout = GemvLayout::from_tag(value).ok_or_else(|| bad("kn or nk"))?,
        "sparsity" => spec.sparsity = GemvSparsity::from_tag(value).ok_or_else(|| bad("dense, in, rows or outs"))?,
        "gated" => spec.gated = value.parse::<bool>().map_err(|_| bad("true or false"))?,
        "block" => spec.block = num()?,
        "kw" => spec.kw = num()?,
        "unroll" => spec.unroll = num()?,
        "cache" => spec.cache = num()?,
        "activation" => spec.activation = Activation::from_tag(value).ok_or_else(|| bad("none, relu or relu2"))?,
        _ => return Err(format!("unknown override key `{key}` (keys: {OVERRIDE_KEYS})")),
    }
    Ok(())
}
