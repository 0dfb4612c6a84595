//! The members of family esmm in each named set ([`SetName`]): `shipped` (presets, defaults and
//! tuned winners), `sweep` (the autotuner's search space) and `all` (a wide product of the
//! space, valid and invalid candidates alike). The generic layer ([`crate::sets`]) deduplicates
//! and sorts them by name.

use esmm_spec::{Activation, ArchSet, ElemType, EsmmSpec, Family, KernelSpec, Preprocess, SkipStyle, Sparsity};

use super::presets::{sparse, DEFAULT_DENSE_TILE, DEFAULT_SPARSE_TILE, K25_TILE, PRESETS};
use super::validate::validate;
use crate::sets::{sorted_unique, tuned_winners, SetName};

/// The members of `set`.
pub fn members(set: SetName) -> Vec<KernelSpec> {
    match set {
        SetName::Shipped => shipped(),
        SetName::Sweep => wrap(sweep()),
        SetName::All => all(),
    }
}

/// Wraps esmm specs as [`KernelSpec`]s.
fn wrap(specs: impl IntoIterator<Item = EsmmSpec>) -> Vec<KernelSpec> {
    specs.into_iter().map(KernelSpec::Esmm).collect()
}

/// The default kinds: (tile, sparsity, A gran, B gran, preprocess, skip).
const DEFAULT_KINDS: [(EsmmSpec, Sparsity, u32, u32, Preprocess, SkipStyle); 3] = [
    (DEFAULT_DENSE_TILE, Sparsity::Dense, 0, 0, Preprocess::None, SkipStyle::Branch),
    (DEFAULT_SPARSE_TILE, Sparsity::Joint, 64, 32, Preprocess::Fused, SkipStyle::Branch),
    (DEFAULT_SPARSE_TILE, Sparsity::Joint, 64, 32, Preprocess::OfflineB, SkipStyle::Branch),
];

/// The variants the runtime dispatches to by default: every `DEFAULT_KINDS` entry (dense, joint
/// fused, joint offline-B on the default tiles), for each
/// activation and with/without column statistics.
pub fn defaults() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for activation in Activation::ALL {
        for col_nnz in [false, true] {
            for (tile, sparsity, a_granularity, b_granularity, preprocess, skip) in DEFAULT_KINDS {
                out.push(KernelSpec::Esmm(EsmmSpec {
                    sparsity,
                    a_granularity,
                    b_granularity,
                    preprocess,
                    skip,
                    activation,
                    col_nnz,
                    ..tile
                }));
            }
        }
    }
    out
}

/// Presets ∪ defaults ∪ the esmm winners of the committed tuned tables.
fn shipped() -> Vec<KernelSpec> {
    let presets = PRESETS.iter().map(|p| p.spec);
    let winners = tuned_winners().into_iter().filter(|s| s.family() == Family::Esmm);
    sorted_unique(presets.chain(defaults()).chain(winners))
}

/// A tile shape: (bm, bn, bk, wm, wn, wniter, tm, tn).
type Tile = (u32, u32, u32, u32, u32, u32, u32, u32);

/// Cartesian product of tile axes.
fn tiles(bms: &[u32], bns: &[u32], bks: &[u32], warps: &[(u32, u32)], wniters: &[u32], threads: &[(u32, u32)]) -> Vec<Tile> {
    let mut out = Vec::new();
    for &bm in bms {
        for &bn in bns {
            for &bk in bks {
                for &(wm, wn) in warps {
                    for &wniter in wniters {
                        for &(tm, tn) in threads {
                            out.push((bm, bn, bk, wm, wn, wniter, tm, tn));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `base` with the tile replaced.
fn with_tile(base: EsmmSpec, t: Tile) -> EsmmSpec {
    let (bm, bn, bk, wm, wn, wniter, tm, tn) = t;
    EsmmSpec { bm, bn, bk, wm, wn, wniter, tm, tn, ..base }
}

/// Tile axes of the sweep (before the validity and thread-count filters).
fn sweep_tiles() -> Vec<Tile> {
    tiles(&[64, 128], &[64, 128, 256], &[8, 16], &[(64, 32), (64, 64)], &[1, 2, 4], &[(1, 8), (8, 4), (8, 8)])
}

/// Thread counts the sweep keeps: at least 4 warps to hide latency, at most 8 so that two or
/// more CTAs fit on an SM.
const SWEEP_THREADS: [u32; 2] = [128, 256];

/// Sparsity configurations of the sweep: dense; joint 64x32 with each preprocessing (branch);
/// joint 64x32 fused branchless; joint 8x32 fused.
const SWEEP_KINDS: [EsmmSpec; 6] = {
    use Preprocess::{Fused, OfflineB, Separate};
    use SkipStyle::{Branch, Branchless};
    [
        K25_TILE,
        sparse(Sparsity::Joint, 64, 32, Fused, Branch),
        sparse(Sparsity::Joint, 64, 32, OfflineB, Branch),
        sparse(Sparsity::Joint, 64, 32, Separate, Branch),
        sparse(Sparsity::Joint, 64, 32, Fused, Branchless),
        sparse(Sparsity::Joint, 8, 32, Fused, Branch),
    ]
};

/// The autotuner's search space: every valid (sweep tile × [`SWEEP_KINDS`]) with 128 or 256
/// threads, activation none, no column statistics.
fn sweep() -> Vec<EsmmSpec> {
    let candidates = sweep_tiles().into_iter().flat_map(|t| SWEEP_KINDS.map(|k| with_tile(k, t)));
    candidates.filter(|s| SWEEP_THREADS.contains(&s.threads()) && validate(s).is_ok()).collect()
}

/// A wide product of the space, valid and invalid candidates alike:
/// - `shipped` and `sweep`;
/// - a wide dense tile grid;
/// - every sparsity × granularity × preprocessing × skip (valid or not) × activation ×
///   column statistics on the K25 tile;
/// - every element type on the shipped variants.
fn all() -> Vec<KernelSpec> {
    let shipped: Vec<EsmmSpec> = shipped().iter().filter_map(|s| s.as_esmm().copied()).collect();
    let mut out = shipped.clone();
    out.extend(sweep());
    let wide = tiles(
        &[32, 64, 96, 128, 256],
        &[32, 64, 128, 256],
        &[4, 8, 16, 64],
        &[(32, 32), (64, 32), (64, 64)],
        &[1, 2, 4],
        &[(1, 8), (4, 4), (8, 8)],
    );
    out.extend(wide.into_iter().map(|t| with_tile(K25_TILE, t)));
    for sparsity in [Sparsity::AOnly, Sparsity::BOnly, Sparsity::Joint] {
        for ga in [0, 8, 32, 64] {
            for gb in [0, 8, 32] {
                for preprocess in Preprocess::ALL {
                    for skip in SkipStyle::ALL {
                        for activation in Activation::ALL {
                            for col_nnz in [false, true] {
                                out.push(EsmmSpec { activation, col_nnz, ..sparse(sparsity, ga, gb, preprocess, skip) });
                            }
                        }
                    }
                }
            }
        }
    }
    out.extend(shipped.iter().flat_map(|s| ElemType::ALL.map(|dtype| EsmmSpec { dtype, ..*s })));
    sorted_unique(out.into_iter().map(|s| KernelSpec::Esmm(EsmmSpec { archs: ArchSet::ALL, ..s })))
}
