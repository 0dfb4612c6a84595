//! The validity rules of family gemv, all in one place. [`validate`] is the only way to obtain a
//! [`ValidGemv`], which rendering and launch geometry take.

use esmm_spec::{Activation, ElemType, GemvLayout, GemvSparsity, GemvSpec};

/// A gemv spec that passed [`validate`] (only [`validate`] constructs one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidGemv(GemvSpec);

impl ValidGemv {
    /// The validated spec.
    pub const fn spec(&self) -> &GemvSpec {
        &self.0
    }
}

/// Checks every rule; `Err` lists every violated rule as a readable sentence.
pub fn validate(s: &GemvSpec) -> Result<ValidGemv, Vec<String>> {
    let mut why = Vec::new();
    let mut rule = |ok: bool, msg: String| {
        if !ok {
            why.push(msg);
        }
    };
    rule(
        s.dtype != ElemType::F32,
        "the gemv kernels take 16-bit inputs (bf16, f16): f32 weights would need TF32 math or CUDA cores (not built)".into(),
    );
    rule(matches!(s.block, 1 | 2 | 4 | 8 | 16), format!("block {} must be 1, 2, 4, 8 or 16 column groups", s.block));
    rule(matches!(s.kw, 1 | 2 | 4 | 8), format!("kw {} must be 1, 2, 4 or 8 warps per group", s.kw));
    rule(s.threads() <= 512, format!("{} threads per CTA exceed 512 (block × kw ≤ 16 warps)", s.threads()));
    rule(matches!(s.unroll, 1 | 2 | 4 | 8), format!("unroll {} must be 1, 2, 4 or 8", s.unroll));
    rule(s.cache <= 2, format!("cache policy {} must be 0, 1 or 2", s.cache));
    match s.layout {
        GemvLayout::Kn => {
            rule(
                matches!(s.sparsity, GemvSparsity::Dense | GemvSparsity::Input | GemvSparsity::RowList),
                format!("kn weights skip input rows (dense, in, rows); `{}` needs the nk layout", s.sparsity.tag()),
            );
            rule(!s.gated, "the gated epilogue pairs interleaved gate/up rows of the nk layout".into());
            rule(s.unroll <= 4, format!("kn unroll {} keeps 16·unroll 16-byte loads in flight per thread: at most 4", s.unroll));
        }
        GemvLayout::Nk => {
            rule(
                matches!(s.sparsity, GemvSparsity::Dense | GemvSparsity::OutList),
                format!("nk weights skip output rows (dense, outs); `{}` needs the kn layout", s.sparsity.tag()),
            );
        }
    }
    rule(!(s.gated && s.activation != Activation::None), "a gated variant applies SiLU(gate)·up: its activation must be none".into());
    if why.is_empty() {
        Ok(ValidGemv(*s))
    } else {
        Err(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::gemv::sets::{defaults, KN_INPUT};

    #[test]
    fn defaults_are_valid_and_bad_specs_say_why() {
        for d in defaults() {
            let s = *d.as_gemv().unwrap();
            assert!(validate(&s).is_ok(), "{}", s.name());
        }
        let bad = GemvSpec { dtype: ElemType::F32, gated: true, block: 3, unroll: 8, ..KN_INPUT };
        let why = validate(&bad).unwrap_err();
        assert_eq!(why.len(), 4, "{why:?}");
        let nk_in = GemvSpec { layout: GemvLayout::Nk, ..KN_INPUT };
        assert!(validate(&nk_in).unwrap_err()[0].contains("kn layout"));
    }
}
