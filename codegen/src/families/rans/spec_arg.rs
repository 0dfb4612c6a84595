//! The `key=value` overrides of family rans in the CLI's `SPEC` arguments (e.g.
//! `rans:lanes=64,tile_n=128,mt=4`).

use esmm_spec::{Activation, ElemType, RansKind, RansSpec};

/// The override keys [`apply_override`] understands, for help texts.
pub const OVERRIDE_KEYS: &str = "dtype, out, kind, lanes, tile_n, mt, vec, warps, activation";

/// Applies one override (`key`, `value` already trimmed). Changing `kind` also sets the other
/// kind's parameters to 0 and this kind's to the defaults' (ans: 32 lanes, 256 columns; int8:
/// 16 bytes), so that `rans:kind=int8` names a valid variant.
pub fn apply_override(spec: &mut RansSpec, key: &str, value: &str) -> Result<(), String> {
    let bad = |expected: &str| format!("`{value}` is not a valid {key} (expected {expected})");
    let num = || value.parse::<u32>().map_err(|_| bad("an unsigned integer"));
    match key {
        "dtype" => spec.dtype = ElemType::from_tag(value).ok_or_else(|| bad("f16 or bf16"))?,
        "out" => spec.out = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "kind" => {
            let kind = RansKind::from_tag(value).ok_or_else(|| bad("ans or int8"))?;
            if kind != spec.kind {
                let (lanes, tile_n, vec) = match kind {
                    RansKind::Ans => (32, 256, 0),
                    RansKind::Int8 => (0, 0, 16),
                };
                *spec = RansSpec { kind, lanes, tile_n, vec, ..*spec };
            }
        }
        "lanes" => spec.lanes = num()?,
        "tile_n" => spec.tile_n = num()?,
        "mt" => spec.mt = num()?,
        "vec" => spec.vec = num()?,
        "warps" => spec.warps = num()?,
        "activation" => spec.activation = Activation::from_tag(value).ok_or_else(|| bad("none, relu or relu2"))?,
        _ => return Err(format!("unknown override key `{key}` (keys: {OVERRIDE_KEYS})")),
    }
    Ok(())
}
