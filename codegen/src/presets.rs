//! Named presets: the seed's kernels (K10..K30) as points of the variant space.
//!
//! All are f32, no activation, no column statistics, every architecture, and use the K25 tile
//! ([`K25_TILE`]: 64x128x8 CTA, 64x32 warp tile with wniter 2, 1x8 thread tile, 128 threads).

use esmm_spec::{Activation, ArchSet, ElemType, KernelSpec, Preprocess, SkipStyle, Sparsity};

/// A seed kernel reproduced as a point of the space.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Lower-case preset name, e.g. `k25`.
    pub name: &'static str,
    /// One line on what the seed kernel is.
    pub description: &'static str,
    /// The variant.
    pub spec: KernelSpec,
}

/// The seed's K25 tile as a dense f32 kernel; every preset starts from it.
pub const K25_TILE: KernelSpec = KernelSpec {
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

/// A joint A+B sparse kernel on the K25 tile.
const fn joint(ga: u32, gb: u32, preprocess: Preprocess, skip: SkipStyle) -> KernelSpec {
    KernelSpec {
        sparsity: Sparsity::Joint,
        a_granularity: ga,
        b_granularity: gb,
        preprocess,
        skip,
        ..K25_TILE
    }
}

/// K10: dense warptiled SGEMM.
pub const K10: Preset = Preset {
    name: "k10",
    description: "dense warptiled SGEMM",
    spec: K25_TILE,
};
/// K17: B-only sparsity, 32-column B pattern supplied offline.
pub const K17: Preset = Preset {
    name: "k17",
    description: "B-only sparsity, 32-column pattern supplied offline",
    spec: KernelSpec {
        sparsity: Sparsity::BOnly,
        b_granularity: 32,
        preprocess: Preprocess::OfflineB,
        ..K25_TILE
    },
};
/// K20: joint sparsity, separate pattern kernels, 64x32 granularity.
pub const K20: Preset = Preset {
    name: "k20",
    description: "joint A+B, separate pattern kernels, 64x32 granularity",
    spec: joint(64, 32, Preprocess::Separate, SkipStyle::Branch),
};
/// K21: joint sparsity, separate pattern kernels, 8x32 granularity.
pub const K21: Preset = Preset {
    name: "k21",
    description: "joint A+B, separate pattern kernels, 8x32 granularity",
    spec: joint(8, 32, Preprocess::Separate, SkipStyle::Branch),
};
/// K25: joint sparsity fused into one kernel, 64x32 granularity, warp-uniform branch.
pub const K25: Preset = Preset {
    name: "k25",
    description: "joint A+B fused into one launch, 64x32 granularity, branch skip",
    spec: joint(64, 32, Preprocess::Fused, SkipStyle::Branch),
};
/// K28: like K25 with 8x32 granularity and branchless (masked) skipping.
pub const K28: Preset = Preset {
    name: "k28",
    description: "joint A+B fused into one launch, 8x32 granularity, branchless skip",
    spec: joint(8, 32, Preprocess::Fused, SkipStyle::Branchless),
};
/// K30: joint sparsity, separate pattern kernels, finest 8x8 granularity.
pub const K30: Preset = Preset {
    name: "k30",
    description: "joint A+B, separate pattern kernels, 8x8 granularity",
    spec: joint(8, 8, Preprocess::Separate, SkipStyle::Branch),
};

/// Every preset, in seed order.
pub const PRESETS: [Preset; 7] = [K10, K17, K20, K21, K25, K28, K30];

/// Looks a preset up by name, case-insensitively (`k25`, `K25`).
pub fn preset(name: &str) -> Option<Preset> {
    PRESETS
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}
