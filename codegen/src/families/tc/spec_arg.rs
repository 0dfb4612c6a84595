//! The `key=value` overrides of family tc in the CLI's `SPEC` arguments (e.g.
//! `tc-wgmma:stages=5,bn=128`).

use esmm_spec::{Activation, ElemType, TcPath, TcPatterns, TcSparsity, TcSpec};

/// The override keys [`apply_override`] understands, for help texts.
pub const OVERRIDE_KEYS: &str = "path, dtype, out, bm, bn, bk, wm, wn, consumers, stages, group_m, sparsity, \
a_rows, k_gran, b_cols, patterns, activation, col_nnz";

/// Applies one override (`key`, `value` already trimmed).
pub fn apply_override(spec: &mut TcSpec, key: &str, value: &str) -> Result<(), String> {
    let bad = |expected: &str| format!("`{value}` is not a valid {key} (expected {expected})");
    let num = || value.parse::<u32>().map_err(|_| bad("an unsigned integer"));
    match key {
        "path" => {
            spec.path = TcPath::from_tag(value).ok_or_else(|| bad("mma or wgmma"))?;
            spec.archs = TcSpec::default_archs(spec.path);
        }
        "dtype" => spec.dtype = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "out" => spec.out = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "bm" => spec.bm = num()?,
        "bn" => spec.bn = num()?,
        "bk" => spec.bk = num()?,
        "wm" => spec.wm = num()?,
        "wn" => spec.wn = num()?,
        "consumers" => spec.consumers = num()?,
        "stages" => spec.stages = num()?,
        "group_m" => spec.group_m = num()?,
        "sparsity" => spec.sparsity = TcSparsity::from_tag(value).ok_or_else(|| bad("dense, a or ab"))?,
        "a_rows" => spec.a_rows = num()?,
        "k_gran" => spec.k_gran = num()?,
        "b_cols" => spec.b_cols = num()?,
        "patterns" => spec.patterns = TcPatterns::from_tag(value).ok_or_else(|| bad("none, sep or offb"))?,
        "activation" => spec.activation = Activation::from_tag(value).ok_or_else(|| bad("none, relu or relu2"))?,
        "col_nnz" | "nnz" => spec.col_nnz = value.parse::<bool>().map_err(|_| bad("true or false"))?,
        _ => return Err(format!("unknown override key `{key}` (keys: {OVERRIDE_KEYS})")),
    }
    Ok(())
}
