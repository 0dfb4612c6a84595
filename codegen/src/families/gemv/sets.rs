//! The members of family gemv in each named set, its default variants and presets.

use esmm_spec::{Activation, ArchSet, ElemType, Epilogue, Family, GemvLayout, GemvSparsity, GemvSpec, KernelSpec};

use super::validate::validate;
use crate::family::Preset;
use crate::sets::{tuned_winners, SetName};

/// The input-sparse kn variant (bf16): 2 groups of 64 columns, 4 warps each, evict-first weight
/// loads (H200, bench/proto/gemv sweep: the fastest of 11 kn shapes at 50% and 10% density).
pub const KN_INPUT: GemvSpec = GemvSpec {
    dtype: ElemType::Bf16,
    out: ElemType::Bf16,
    layout: GemvLayout::Kn,
    sparsity: GemvSparsity::Input,
    gated: false,
    block: 2,
    kw: 4,
    unroll: 2,
    cache: 2,
    activation: Activation::None,
    archs: ArchSet::ALL,
};

/// The dense nk variant (bf16): 16 groups of 8 rows, one warp each, 4 steps in flight (H200,
/// bench/proto/gemv/results/time_v2_h200.txt: the fastest nk shape at M = 1 and 16).
pub const NK_DENSE: GemvSpec = GemvSpec { layout: GemvLayout::Nk, sparsity: GemvSparsity::Dense, block: 16, kw: 1, unroll: 4, cache: 1, ..KN_INPUT };

/// The output-list nk variant (the sparse MLP's gate/up): 4 groups of 8 rows, 2 warps each.
pub const NK_LIST: GemvSpec = GemvSpec { sparsity: GemvSparsity::OutList, block: 4, kw: 2, unroll: 4, ..NK_DENSE };

/// The dense kn variant: 2 groups of 64 columns, 4 warps each (under the runtime's plan, whose
/// shared memory is fixed per variant, the prototype's faster 2-warp shape ran at 169 µs
/// instead of 118 µs at 8192×28672: bench/results/2026-11-22-gemv/README.md).
pub const KN_DENSE: GemvSpec = GemvSpec { sparsity: GemvSparsity::Dense, block: 2, kw: 4, unroll: 2, cache: 1, ..KN_INPUT };

/// The presets the CLI knows.
pub static PRESETS: [Preset; 2] = [
    Preset { name: "gemv-kn", description: "decode GEMV, K×N weights, input-sparse (bf16)", spec: KernelSpec::Gemv(KN_INPUT) },
    Preset { name: "gemv-nk", description: "decode GEMV, N×K weights, dense (bf16)", spec: KernelSpec::Gemv(NK_DENSE) },
];

/// The default variants, per 16-bit input type: kn dense and input-sparse (every epilogue) and
/// row-list; nk dense and output-list (every epilogue), the gated pair (dense and list), and nk
/// dense with f32 output (the sparse MLP's predictor scores); for bf16 also kn input-sparse and
/// dense with f32 output.
pub fn defaults() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for dtype in [ElemType::Bf16, ElemType::F16] {
        let kn = GemvSpec { dtype, out: dtype, ..KN_INPUT };
        let kn_dense = GemvSpec { dtype, out: dtype, ..KN_DENSE };
        let nk = GemvSpec { dtype, out: dtype, ..NK_DENSE };
        let nk_list = GemvSpec { dtype, out: dtype, ..NK_LIST };
        for a in Activation::ALL {
            out.push(GemvSpec { activation: a, ..kn });
            out.push(GemvSpec { activation: a, ..nk });
            // What input-sparse calls run when the weights hold Inf or NaN (nothing skipped).
            out.push(GemvSpec { activation: a, ..kn_dense });
        }
        out.push(GemvSpec { sparsity: GemvSparsity::RowList, cache: 1, ..kn });
        for a in Activation::ALL {
            // The up projection of plain (ReLU, ReLU²) sparse MLPs.
            out.push(GemvSpec { activation: a, ..nk_list });
        }
        out.push(GemvSpec { gated: true, ..nk });
        out.push(GemvSpec { gated: true, ..nk_list });
        // The predictor's scores (nk, f32 out).
        out.push(GemvSpec { out: ElemType::F32, ..nk });
        if dtype == ElemType::Bf16 {
            out.push(GemvSpec { out: ElemType::F32, ..kn });
            out.push(GemvSpec { out: ElemType::F32, ..kn_dense });
        }
    }
    out.into_iter().map(KernelSpec::Gemv).collect()
}

/// The members of `set`.
pub fn members(set: SetName) -> Vec<KernelSpec> {
    match set {
        SetName::Shipped => {
            let mut out = defaults();
            out.extend(PRESETS.iter().map(|p| p.spec));
            for s in tuned_winners().into_iter().filter(|s| s.family() == Family::Gemv) {
                out.extend(Epilogue::all().filter(|e| !e.col_nnz).map(|e| s.with_epilogue(e)));
            }
            out
        }
        SetName::Sweep => sweep().into_iter().map(KernelSpec::Gemv).collect(),
        SetName::All => all(),
    }
}

/// The autotuner's space (bf16, epilogue none): block, warps per group, unroll and cache policy
/// of both layouts' main kinds.
pub fn sweep() -> Vec<GemvSpec> {
    let mut out = Vec::new();
    for base in [KN_INPUT, GemvSpec { sparsity: GemvSparsity::Dense, ..KN_INPUT }, NK_DENSE] {
        // Wide column blocks matter for kn: the H200's first sweep put b4 (512 bytes of each
        // weight row per CTA) first at 8192×28672, the edge of the b1..b4 space.
        for block in [1, 2, 4, 8, 16] {
            for kw in [1, 2, 4, 8] {
                for unroll in [1, 2, 4, 8] {
                    for cache in [0, 1, 2] {
                        out.push(GemvSpec { block, kw, unroll, cache, ..base });
                    }
                }
            }
        }
    }
    out.retain(|s| validate(s).is_ok());
    out
}

/// A wide product of the space, valid and invalid alike.
fn all() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for dtype in ElemType::ALL {
        for layout in GemvLayout::ALL {
            for sparsity in GemvSparsity::ALL {
                for gated in [false, true] {
                    for block in [1, 3, 4] {
                        out.push(KernelSpec::Gemv(GemvSpec { dtype, out: dtype, layout, sparsity, gated, block, ..KN_INPUT }));
                    }
                }
            }
        }
    }
    out
}
