//! The members of family rans in each named set, its default variants and presets.

use esmm_spec::{Activation, ArchSet, ElemType, Epilogue, Family, KernelSpec, RansKind, RansSpec};

use super::validate::validate;
use crate::family::Preset;
use crate::sets::{tuned_winners, SetName};

/// The fused rANS GEMV (bf16): containers of 32 lanes × 256-column tiles, one token, 8 warps.
pub const ANS: RansSpec = RansSpec {
    dtype: ElemType::Bf16,
    out: ElemType::Bf16,
    kind: RansKind::Ans,
    lanes: 32,
    tile_n: 256,
    mt: 1,
    vec: 0,
    warps: 8,
    activation: Activation::None,
    archs: ArchSet::ALL,
};

/// The plain INT8 GEMV (bf16): 16 bytes per lane per row, one token, 4 warps.
pub const INT8: RansSpec = RansSpec { kind: RansKind::Int8, lanes: 0, tile_n: 0, vec: 16, warps: 4, ..ANS };

/// The presets the CLI knows.
pub static PRESETS: [Preset; 2] = [
    Preset { name: "rans", description: "rANS-decoded INT8 GEMV, 32 lanes × 256-column tiles, M = 1 (bf16)", spec: KernelSpec::Rans(ANS) },
    Preset { name: "rans-int8", description: "plain INT8 GEMV, 16 bytes per lane, M = 1 (bf16)", spec: KernelSpec::Rans(INT8) },
];

/// The default variants: for bf16 → bf16 and f16 → f16, the fused rANS GEMV for 32- and
/// 64-lane containers of 256- and 128-column tiles at token buckets 1, 4, 16 (8 warps), and the
/// INT8 GEMV at bucket 1 (16 bytes per lane, CUDA cores) and 4 and 16 (tensor cores; 4 warps); for
/// bf16 → f32 the 32-lane × 256-column rANS GEMV at buckets 1, 4, 16 and the INT8 GEMV at 1.
pub fn defaults() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for dtype in [ElemType::Bf16, ElemType::F16] {
        for lanes in [32, 64] {
            for tile_n in [256, 128] {
                for mt in [1, 4, 16] {
                    out.push(RansSpec { dtype, out: dtype, lanes, tile_n, mt, ..ANS });
                }
            }
        }
        for (mt, vec) in [(1, 16), (4, 4), (16, 4)] {
            out.push(RansSpec { dtype, out: dtype, mt, vec, ..INT8 });
        }
    }
    for mt in [1, 4, 16] {
        out.push(RansSpec { out: ElemType::F32, mt, ..ANS });
    }
    out.push(RansSpec { out: ElemType::F32, ..INT8 });
    out.into_iter().map(KernelSpec::Rans).collect()
}

/// The members of `set`.
pub fn members(set: SetName) -> Vec<KernelSpec> {
    match set {
        SetName::Shipped => {
            let mut out = defaults();
            out.extend(PRESETS.iter().map(|p| p.spec));
            out.extend(tuned_winners().into_iter().filter(|s| s.family() == Family::Rans).map(|s| s.with_epilogue(Epilogue::NONE)));
            out
        }
        SetName::Sweep => sweep().into_iter().map(KernelSpec::Rans).collect(),
        SetName::All => all(),
    }
}

/// The autotuner's space (bf16 → bf16): the rANS GEMV over lanes, tile widths, token buckets
/// and 4 or 8 warps; the INT8 GEMV over vector widths, token buckets and 4 or 8 warps (valid
/// ones).
pub fn sweep() -> Vec<RansSpec> {
    let mut out = Vec::new();
    for warps in [4, 8] {
        for lanes in [32, 64] {
            for tile_n in [256, 128] {
                for mt in [1, 4, 16] {
                    out.push(RansSpec { lanes, tile_n, mt, warps, ..ANS });
                }
            }
        }
        for vec in [4, 8, 16] {
            for mt in [1, 4, 16] {
                out.push(RansSpec { vec, mt, warps, ..INT8 });
            }
        }
    }
    out.retain(|s| validate(s).is_ok());
    out
}

/// A wide product of the space, valid and invalid alike (with the shipped and sweep members).
fn all() -> Vec<KernelSpec> {
    let mut out: Vec<RansSpec> = defaults().iter().filter_map(|s| s.as_rans().copied()).chain(sweep()).collect();
    for dtype in ElemType::ALL {
        for o in [dtype, ElemType::F32] {
            for lanes in [32, 48, 64] {
                for tile_n in [64, 96, 128, 256] {
                    for mt in [1, 3, 4, 16] {
                        out.push(RansSpec { dtype, out: o, lanes, tile_n, mt, ..ANS });
                    }
                }
            }
            for warps in [1, 16, 17] {
                out.push(RansSpec { dtype, out: o, warps, ..ANS });
                out.push(RansSpec { dtype, out: o, warps, ..INT8 });
            }
            for vec in [2, 4, 8, 16] {
                for mt in [1, 3, 8, 16] {
                    out.push(RansSpec { dtype, out: o, vec, mt, ..INT8 });
                }
            }
        }
    }
    out.push(RansSpec { activation: Activation::Relu, ..ANS });
    out.push(RansSpec { activation: Activation::Relu2, ..INT8 });
    out.into_iter().map(KernelSpec::Rans).collect()
}
