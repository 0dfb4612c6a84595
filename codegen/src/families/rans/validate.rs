//! The validity rules of family rans, all in one place. [`validate`] is the only way to obtain a
//! [`ValidRans`], which rendering and launch geometry take.

use esmm_spec::{Activation, ElemType, RansKind, RansSpec};

use super::render::{decode_smem_bytes, gemm_smem_bytes};

/// Most dynamic shared memory per CTA (sm_90: 227 KB).
pub const MAX_SMEM: u32 = 227 * 1024;

/// A rans spec that passed [`validate`] (only [`validate`] constructs one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidRans(RansSpec);

impl ValidRans {
    /// The validated spec.
    pub const fn spec(&self) -> &RansSpec {
        &self.0
    }
}

/// Checks every rule; `Err` lists every violated rule as a readable sentence.
pub fn validate(s: &RansSpec) -> Result<ValidRans, Vec<String>> {
    let mut why = Vec::new();
    let mut rule = |ok: bool, msg: String| {
        if !ok {
            why.push(msg);
        }
    };
    rule(
        matches!(s.dtype, ElemType::Bf16 | ElemType::F16),
        format!("the rans kernels take 16-bit activations (bf16, f16), not {}", s.dtype.tag()),
    );
    rule(s.activation == Activation::None, format!("the rans kernels apply no activation (none), not {}", s.activation.tag()));
    rule(matches!(s.mt, 1 | 2 | 4 | 8 | 16), format!("token bucket mt {} must be 1, 2, 4, 8 or 16", s.mt));
    rule((1..=16).contains(&s.warps), format!("warps {} must be 1..=16 per CTA", s.warps));
    match s.kind {
        RansKind::Ans => {
            rule(matches!(s.lanes, 32 | 64), format!("lanes {} must be 32 or 64 interleaved rANS states per tile", s.lanes));
            rule(matches!(s.tile_n, 64 | 128 | 256), format!("tile width tile_n {} must be 64, 128 or 256", s.tile_n));
            rule(s.lanes == 0 || s.tile_n % s.lanes == 0, format!("tile width {} must be a multiple of the lanes {} (whole rounds per tile row)", s.tile_n, s.lanes));
            rule(s.vec == 0, format!("vec {} is an int8 parameter: ans variants take vec 0", s.vec));
            rule(
                (s.tile_n / 32) * s.mt <= 128,
                format!("{} columns per thread × {} tokens = {} fp32 accumulators exceed 128 registers", s.tile_n / 32, s.mt, (s.tile_n / 32) * s.mt),
            );
        }
        RansKind::Int8 => {
            rule(s.lanes == 0 && s.tile_n == 0, format!("lanes {} and tile_n {} are ans parameters: int8 variants take 0", s.lanes, s.tile_n));
            rule(matches!(s.vec, 4 | 8 | 16), format!("vec {} must be 4, 8 or 16 bytes per lane per row", s.vec));
            rule(s.vec * s.mt <= 128, format!("{} columns per thread × {} tokens = {} fp32 accumulators exceed 128 registers", s.vec, s.mt, s.vec * s.mt));
        }
    }
    let smem = gemm_smem_bytes(s).max(decode_smem_bytes(s));
    rule(smem <= MAX_SMEM, format!("{smem} bytes of dynamic shared memory exceed {MAX_SMEM} (227 KB)"));
    if why.is_empty() {
        Ok(ValidRans(*s))
    } else {
        Err(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::rans::sets::{defaults, sweep, ANS, INT8};

    #[test]
    fn defaults_are_valid_and_bad_specs_say_why() {
        for d in defaults() {
            let s = *d.as_rans().unwrap();
            assert!(validate(&s).is_ok(), "{}", s.name());
        }
        assert!(sweep().iter().all(|s| validate(s).is_ok()));
        let bad = RansSpec { dtype: ElemType::F32, lanes: 48, mt: 3, vec: 4, ..ANS };
        let why = validate(&bad).unwrap_err();
        assert_eq!(why.len(), 5, "{why:?}");
        let bad = RansSpec { mt: 16, vec: 16, warps: 17, activation: Activation::Relu, ..INT8 };
        let why = validate(&bad).unwrap_err();
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why[0].contains("activation"), "{why:?}");
        let wide = RansSpec { tile_n: 256, mt: 16, ..ANS };
        assert!(validate(&wide).is_ok());
        let narrow = RansSpec { lanes: 64, tile_n: 64, ..ANS };
        assert!(validate(&narrow).is_ok());
        let odd = RansSpec { lanes: 64, tile_n: 96, ..ANS };
        assert_eq!(validate(&odd).unwrap_err().len(), 2);
    }
}
