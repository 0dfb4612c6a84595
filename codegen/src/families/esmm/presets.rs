//! Named presets of family esmm: the seed's kernels (K10..K30) as points of the variant space,
//! and the tiles of the default variants.
//!
//! Every preset is f32, no activation, no column statistics, every architecture, and uses the
//! K25 tile ([`K25_TILE`]: 64x128x8 CTA, 64x32 warp tile with wniter 2, 1x8 thread tile, 128
//! threads).

use esmm_spec::{Activation, ArchSet, ElemType, EsmmSpec, KernelSpec, Preprocess, SkipStyle, Sparsity};

use crate::family::Preset;

/// The seed's K25 tile as a dense f32 kernel; every preset starts from it.
pub const K25_TILE: EsmmSpec = EsmmSpec {
    sparsity: Sparsity::Dense,
    dtype: ElemType::F32,
    bm: 64,
    bn: 128,
    bk: 8,
    wm: 64,
    wn: 32,
    wniter: 2,
    tm: 1,
    tn: 8,
    a_granularity: 0,
    b_granularity: 0,
    preprocess: Preprocess::None,
    skip: SkipStyle::Branch,
    activation: Activation::None,
    col_nnz: false,
    archs: ArchSet::ALL,
};

/// Tile of the default dense variant: 128x128x16 CTA, 64x32 warp tile with wniter 2, 8x4
/// thread tile, 256 threads (fastest dense tile on the H200, docs/KERNELS.md).
pub const DEFAULT_DENSE_TILE: EsmmSpec = EsmmSpec { bm: 128, bn: 128, bk: 16, wm: 64, wn: 32, wniter: 2, tm: 8, tn: 4, ..K25_TILE };

/// Tile of the default sparse variants: 128x128x8 CTA, 64x32 warp tile with wniter 2, 8x4
/// thread tile, 256 threads (within 1–4% of the best joint tile at every density at 4096³ on
/// the H200, docs/KERNELS.md; the tuner picks others per shape).
pub const DEFAULT_SPARSE_TILE: EsmmSpec = EsmmSpec { bm: 128, bn: 128, bk: 8, wm: 64, wn: 32, wniter: 2, tm: 8, tn: 4, ..K25_TILE };

/// A sparse kernel on the K25 tile (callers replace the tile where they need another).
pub const fn sparse(sparsity: Sparsity, ga: u32, gb: u32, preprocess: Preprocess, skip: SkipStyle) -> EsmmSpec {
    EsmmSpec { sparsity, a_granularity: ga, b_granularity: gb, preprocess, skip, ..K25_TILE }
}

/// K10: dense warptiled SGEMM.
pub const K10: EsmmSpec = K25_TILE;
/// K17: B-only sparsity, 32-column B pattern supplied offline.
pub const K17: EsmmSpec = sparse(Sparsity::BOnly, 0, 32, Preprocess::OfflineB, SkipStyle::Branch);
/// K20: joint sparsity, separate pattern kernels, 64x32 granularity.
pub const K20: EsmmSpec = sparse(Sparsity::Joint, 64, 32, Preprocess::Separate, SkipStyle::Branch);
/// K21: joint sparsity, separate pattern kernels, 8x32 granularity.
pub const K21: EsmmSpec = sparse(Sparsity::Joint, 8, 32, Preprocess::Separate, SkipStyle::Branch);
/// K25: joint sparsity fused into one kernel, 64x32 granularity, warp-uniform branch.
pub const K25: EsmmSpec = sparse(Sparsity::Joint, 64, 32, Preprocess::Fused, SkipStyle::Branch);
/// K28: like K25 with 8x32 granularity and branchless (masked) skipping.
pub const K28: EsmmSpec = sparse(Sparsity::Joint, 8, 32, Preprocess::Fused, SkipStyle::Branchless);
/// K30: joint sparsity, separate pattern kernels, finest 8x8 granularity.
pub const K30: EsmmSpec = sparse(Sparsity::Joint, 8, 8, Preprocess::Separate, SkipStyle::Branch);

/// A preset row.
const fn preset(name: &'static str, description: &'static str, spec: EsmmSpec) -> Preset {
    Preset { name, description, spec: KernelSpec::Esmm(spec) }
}

/// Every preset, in seed order.
pub static PRESETS: [Preset; 7] = [
    preset("k10", "dense warptiled SGEMM", K10),
    preset("k17", "B-only sparsity, 32-column pattern supplied offline", K17),
    preset("k20", "joint A+B, separate pattern kernels, 64x32 granularity", K20),
    preset("k21", "joint A+B, separate pattern kernels, 8x32 granularity", K21),
    preset("k25", "joint A+B fused into one launch, 64x32 granularity, branch skip", K25),
    preset("k28", "joint A+B fused into one launch, 8x32 granularity, branchless skip", K28),
    preset("k30", "joint A+B, separate pattern kernels, 8x8 granularity", K30),
];
