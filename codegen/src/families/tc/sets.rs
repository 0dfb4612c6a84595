//! The members of family tc in each named set: `shipped` (defaults and tuned winners, every
//! epilogue), `sweep` (the autotuner's space) and `all` (a wide product, valid or not).

use esmm_spec::{Activation, ElemType, Epilogue, Family, KernelSpec, TcPath, TcPatterns, TcSparsity, TcSpec};

use super::presets::{sparse, MMA_BF16, MMA_F16, MMA_TF32, PRESETS, WGMMA_BF16, WGMMA_F16, WGMMA_TF32};
use super::validate::validate;
use crate::sets::{tuned_winners, SetName};

/// The members of `set`.
pub fn members(set: SetName) -> Vec<KernelSpec> {
    match set {
        SetName::Shipped => shipped(),
        SetName::Sweep => sweep().into_iter().map(KernelSpec::Tc).collect(),
        SetName::All => all(),
    }
}

/// The default variants: per (path, input type) the dense tile and its joint prepared-B twin
/// with every epilogue; for bf16 also the separate-pattern joint and A-only kinds and the f32
/// output of dense and joint (epilogue none). Kept small: every mma file compiles for five
/// architectures on every CI run.
pub fn defaults() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    let every = |t: TcSpec, out: &mut Vec<KernelSpec>| out.extend(Epilogue::all().map(|e| KernelSpec::Tc(t.with_epilogue(e))));
    for t in [WGMMA_BF16, WGMMA_F16, WGMMA_TF32, MMA_BF16, MMA_F16, MMA_TF32] {
        every(t, &mut out);
        every(sparse(t, TcSparsity::Joint, TcPatterns::PreparedB), &mut out);
        if t.dtype == ElemType::Bf16 {
            out.push(KernelSpec::Tc(sparse(t, TcSparsity::Joint, TcPatterns::Separate)));
            out.push(KernelSpec::Tc(sparse(t, TcSparsity::AOnly, TcPatterns::Separate)));
            let f32_out = TcSpec { out: ElemType::F32, ..t };
            out.push(KernelSpec::Tc(f32_out));
            out.push(KernelSpec::Tc(sparse(f32_out, TcSparsity::Joint, TcPatterns::PreparedB)));
        }
    }
    out
}

/// Defaults ∪ presets ∪ the tc winners of the committed tuned tables (with every epilogue).
fn shipped() -> Vec<KernelSpec> {
    let winners = tuned_winners().into_iter().filter(|s| s.family() == Family::Tc);
    let mut out = defaults();
    out.extend(PRESETS.iter().map(|p| p.spec));
    for s in winners {
        out.extend(Epilogue::all().map(|e| s.with_epilogue(e)));
    }
    out
}

/// The autotuner's space (epilogue none): tiles, stages, rasterisation and granularities of
/// both paths and every input type.
pub fn sweep() -> Vec<TcSpec> {
    let mut out = Vec::new();
    let kinds = |t: TcSpec| {
        let mut v = vec![t];
        for (a_rows, b_cols) in [(64, 128), (128, 128), (64, 256), (128, 256), (64, 64)] {
            for patterns in [TcPatterns::PreparedB, TcPatterns::Separate] {
                v.push(TcSpec { a_rows, b_cols, ..sparse(t, TcSparsity::Joint, patterns) });
            }
        }
        v
    };
    for base in [WGMMA_BF16, WGMMA_F16, WGMMA_TF32] {
        for (bm, bn, consumers) in [(128, 256, 2), (128, 128, 2), (128, 128, 1), (64, 256, 1), (128, 192, 2)] {
            for stages in [3, 4, 5, 6] {
                for group_m in [1, 8] {
                    out.extend(kinds(TcSpec { bm, bn, consumers, stages, group_m, ..base }));
                }
            }
        }
    }
    for base in [MMA_BF16, MMA_F16, MMA_TF32] {
        for (bm, bn, wm, wn) in [(128, 128, 64, 64), (128, 256, 64, 64), (64, 128, 32, 64), (128, 128, 64, 32), (64, 64, 32, 32)] {
            for stages in [3, 4] {
                out.extend(kinds(TcSpec { bm, bn, wm, wn, stages, ..base }));
            }
        }
    }
    out.retain(|s| validate(s).is_ok());
    out
}

/// A wide product of the space, valid and invalid alike.
fn all() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for path in TcPath::ALL {
        for dtype in ElemType::ALL {
            for (bm, bn) in [(64, 64), (128, 128), (128, 256), (256, 128)] {
                for bk in [16, 32, 64] {
                    for stages in [2, 4, 9] {
                        for sparsity in TcSparsity::ALL {
                            let base = match path {
                                TcPath::Mma => MMA_BF16,
                                TcPath::Wgmma => WGMMA_BF16,
                            };
                            let t = TcSpec { dtype, out: dtype, bm, bn, bk, stages, ..base };
                            let s = if sparsity == TcSparsity::Dense { t } else { sparse(t, sparsity, TcPatterns::Separate) };
                            out.push(KernelSpec::Tc(TcSpec { activation: Activation::None, ..s }));
                        }
                    }
                }
            }
        }
    }
    out
}
