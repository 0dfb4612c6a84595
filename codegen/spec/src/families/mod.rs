//! The kernel families: a closed enum ([`Family`]) and one spec struct per family, wrapped in
//! [`KernelSpec`]. Adding a family adds a variant to both; the compiler then lists every
//! `match` to update (docs/ARCHITECTURE.md, "Adding a family").

pub mod esmm;
pub mod gemv;
pub mod rans;
pub mod tc;

use serde::{Deserialize, Serialize};

use crate::common::{ArchSet, CtaTile, ElemType, Epilogue};
use esmm::EsmmSpec;
use gemv::GemvSpec;
use rans::RansSpec;
use tc::TcSpec;

/// A kernel family: one variant space, one template folder, one runtime op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Joint A+B block-sparse f32 GEMM on CUDA cores (document 001).
    Esmm,
    /// Tensor-core block-sparse GEMM: bf16/f16 (and f32 through TF32), mma.sync and wgmma.
    Tc,
    /// Decode GEMV (M = 1..16 tokens) with input or output sparsity, on tensor cores.
    Gemv,
    /// INT8 weights, rANS-decoded in the GEMV (M = 1..16), and the plain INT8 GEMV.
    Rans,
}

/// Family keys reserved for the coming issues, with what they will be (none today; a key
/// listed here parses to an error that says the family is not built yet).
const PLANNED: [(&str, &str); 0] = [];

impl Family {
    /// Every family built today.
    pub const ALL: [Family; 4] = [Family::Esmm, Family::Tc, Family::Gemv, Family::Rans];

    /// The key used in names, on the CLI and in `templates/<key>/`, `generated/<key>/`.
    pub const fn key(self) -> &'static str {
        match self {
            Family::Esmm => "esmm",
            Family::Tc => "tc",
            Family::Gemv => "gemv",
            Family::Rans => "rans",
        }
    }

    /// One line on what the family computes.
    pub const fn description(self) -> &'static str {
        match self {
            Family::Esmm => "joint A+B block-sparse f32 GEMM on CUDA cores",
            Family::Tc => "tensor-core block-sparse GEMM (bf16/f16, f32 via TF32; mma.sync and wgmma)",
            Family::Gemv => "decode GEMV for 1..16 tokens, input- or output-sparse (bf16/f16, tensor cores)",
            Family::Rans => "INT8 weights, rANS-decoded in the GEMV (M = 1..16), and the plain INT8 GEMV",
        }
    }

    /// Parses a family key; a key reserved for a coming family is an error that says so.
    pub fn parse(key: &str) -> Result<Family, String> {
        Family::parse_with(key, &PLANNED)
    }

    /// [`Family::parse`] with a given list of planned keys.
    fn parse_with(key: &str, planned: &[(&str, &str)]) -> Result<Family, String> {
        if let Some(f) = Family::ALL.into_iter().find(|f| f.key() == key) {
            return Ok(f);
        }
        let known: Vec<&str> = Family::ALL.iter().map(|f| f.key()).collect();
        match planned.iter().find(|(k, _)| *k == key) {
            Some((k, what)) => Err(format!("family `{k}` ({what}) is not built yet; built: {}", known.join(", "))),
            None => Err(format!("unknown family `{key}`; built: {}", known.join(", "))),
        }
    }
}

/// One point of some family's variant space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KernelSpec {
    /// A variant of family `esmm`.
    Esmm(EsmmSpec),
    /// A variant of family `tc`.
    Tc(TcSpec),
    /// A variant of family `gemv`.
    Gemv(GemvSpec),
    /// A variant of family `rans`.
    Rans(RansSpec),
}

impl KernelSpec {
    /// The family.
    pub const fn family(&self) -> Family {
        match self {
            KernelSpec::Esmm(_) => Family::Esmm,
            KernelSpec::Tc(_) => Family::Tc,
            KernelSpec::Gemv(_) => Family::Gemv,
            KernelSpec::Rans(_) => Family::Rans,
        }
    }

    /// The procedural name (the key everywhere: file names, registry, tables, CLI).
    pub fn name(&self) -> String {
        match self {
            KernelSpec::Esmm(s) => s.name(),
            KernelSpec::Tc(s) => s.name(),
            KernelSpec::Gemv(s) => s.name(),
            KernelSpec::Rans(s) => s.name(),
        }
    }

    /// Parses any family's name (the inverse of [`KernelSpec::name`]); the family is the part
    /// before the first `_`.
    pub fn from_name(name: &str) -> Result<KernelSpec, String> {
        let key = name.split('_').next().unwrap_or_default();
        match Family::parse(key).map_err(|e| format!("`{name}` is not a kernel name: {e}"))? {
            Family::Esmm => EsmmSpec::from_name(name).map(KernelSpec::Esmm),
            Family::Tc => TcSpec::from_name(name).map(KernelSpec::Tc),
            Family::Gemv => GemvSpec::from_name(name).map(KernelSpec::Gemv),
            Family::Rans => RansSpec::from_name(name).map(KernelSpec::Rans),
        }
    }

    /// Element type of the inputs.
    pub const fn dtype(&self) -> ElemType {
        match self {
            KernelSpec::Esmm(s) => s.dtype,
            KernelSpec::Tc(s) => s.dtype,
            KernelSpec::Gemv(s) => s.dtype,
            KernelSpec::Rans(s) => s.dtype,
        }
    }

    /// The epilogue.
    pub const fn epilogue(&self) -> Epilogue {
        match self {
            KernelSpec::Esmm(s) => s.epilogue(),
            KernelSpec::Tc(s) => s.epilogue(),
            KernelSpec::Gemv(s) => s.epilogue(),
            KernelSpec::Rans(s) => s.epilogue(),
        }
    }

    /// The same variant with another epilogue.
    pub const fn with_epilogue(self, e: Epilogue) -> KernelSpec {
        match self {
            KernelSpec::Esmm(s) => KernelSpec::Esmm(s.with_epilogue(e)),
            KernelSpec::Tc(s) => KernelSpec::Tc(s.with_epilogue(e)),
            KernelSpec::Gemv(s) => KernelSpec::Gemv(s.with_epilogue(e)),
            KernelSpec::Rans(s) => KernelSpec::Rans(s.with_epilogue(e)),
        }
    }

    /// The CTA tile.
    pub const fn cta(&self) -> CtaTile {
        match self {
            KernelSpec::Esmm(s) => s.cta(),
            KernelSpec::Tc(s) => s.cta(),
            KernelSpec::Gemv(s) => s.cta(),
            KernelSpec::Rans(s) => s.cta(),
        }
    }

    /// Architectures the variant must be valid for.
    pub const fn archs(&self) -> ArchSet {
        match self {
            KernelSpec::Esmm(s) => s.archs,
            KernelSpec::Tc(s) => s.archs,
            KernelSpec::Gemv(s) => s.archs,
            KernelSpec::Rans(s) => s.archs,
        }
    }

    /// The esmm spec, if it is one.
    pub const fn as_esmm(&self) -> Option<&EsmmSpec> {
        match self {
            KernelSpec::Esmm(s) => Some(s),
            _ => None,
        }
    }

    /// The tc spec, if it is one.
    pub const fn as_tc(&self) -> Option<&TcSpec> {
        match self {
            KernelSpec::Tc(s) => Some(s),
            _ => None,
        }
    }

    /// The gemv spec, if it is one.
    pub const fn as_gemv(&self) -> Option<&GemvSpec> {
        match self {
            KernelSpec::Gemv(s) => Some(s),
            _ => None,
        }
    }

    /// The rans spec, if it is one.
    pub const fn as_rans(&self) -> Option<&RansSpec> {
        match self {
            KernelSpec::Rans(s) => Some(s),
            _ => None,
        }
    }
}

impl From<RansSpec> for KernelSpec {
    fn from(s: RansSpec) -> KernelSpec {
        KernelSpec::Rans(s)
    }
}

impl From<GemvSpec> for KernelSpec {
    fn from(s: GemvSpec) -> KernelSpec {
        KernelSpec::Gemv(s)
    }
}

impl From<TcSpec> for KernelSpec {
    fn from(s: TcSpec) -> KernelSpec {
        KernelSpec::Tc(s)
    }
}

impl From<EsmmSpec> for KernelSpec {
    fn from(s: EsmmSpec) -> KernelSpec {
        KernelSpec::Esmm(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_planned_families_say_so() {
        assert_eq!(Family::parse("esmm"), Ok(Family::Esmm));
        assert_eq!(Family::parse("tc"), Ok(Family::Tc));
        assert_eq!(Family::parse("gemv"), Ok(Family::Gemv));
        assert_eq!(Family::parse("rans"), Ok(Family::Rans));
        for f in Family::ALL {
            assert_eq!(Family::parse(f.key()), Ok(f));
        }
        assert!(Family::parse("zz").unwrap_err().contains("unknown family"));
        // A planned key says it is not built yet (none is planned today).
        let planned = [("zz", "a coming family")];
        assert!(Family::parse_with("zz", &planned).unwrap_err().contains("not built yet"));
        assert!(Family::parse_with("yy", &planned).unwrap_err().contains("unknown family"));
        assert!(PLANNED.iter().all(|(k, _)| Family::ALL.iter().all(|f| f.key() != *k)));
        let name = "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2";
        let s = KernelSpec::from_name(name).unwrap();
        assert_eq!(s.family(), Family::Esmm);
        assert_eq!(s.name(), name);
        assert!(KernelSpec::from_name("rans_bf16_x_none").is_err());
        assert!(KernelSpec::from_name("zz_bf16_x_none").unwrap_err().contains("unknown family"));
        let rans = "rans_bf16_ans_obf16_l32_n256_m1_w8_none";
        assert_eq!(KernelSpec::from_name(rans).map(|s| (s.family(), s.name())), Ok((Family::Rans, rans.to_string())));
        assert!(KernelSpec::from_name("gemv_bf16_x_none").is_err());
        assert!(KernelSpec::from_name("tc_bf16_x_none").is_err());
        assert!(KernelSpec::from_name("").is_err());
    }
}
