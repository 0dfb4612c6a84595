//! The named points of family tc: the default tile of each (path, input type) and the presets
//! the CLI knows (`tc-wgmma`, `tc-mma`, ...).

use esmm_spec::{Activation, ElemType, KernelSpec, TcPath, TcPatterns, TcSparsity, TcSpec};

use crate::family::Preset;

/// A dense tile with the `none` epilogue.
const fn tile(path: TcPath, dtype: ElemType, bm: u32, bn: u32, bk: u32, warps: (u32, u32, u32), stages: u32) -> TcSpec {
    TcSpec {
        path,
        dtype,
        out: dtype,
        bm,
        bn,
        bk,
        wm: warps.0,
        wn: warps.1,
        consumers: warps.2,
        stages,
        group_m: 8,
        sparsity: TcSparsity::Dense,
        a_rows: 0,
        k_gran: 0,
        b_cols: 0,
        patterns: TcPatterns::None,
        activation: Activation::None,
        col_nnz: false,
        archs: match path {
            TcPath::Mma => esmm_spec::ArchSet::ALL,
            TcPath::Wgmma => esmm_spec::ArchSet(8),
        },
    }
}

/// Default wgmma tiles (sm_90a): 128×256, two consumer warpgroups, 128 bytes of k per stage.
pub const WGMMA_BF16: TcSpec = tile(TcPath::Wgmma, ElemType::Bf16, 128, 256, 64, (0, 0, 2), 4);
/// The sparse default wgmma tile: 256×128 (two consumers of 128 rows; H100: 2.27× cuBLAS at
/// d = 0.5 against 1.95× for 128×256, whose 256 columns activate more B blocks per tile).
pub const fn sparse_wgmma_tile(t: TcSpec) -> TcSpec {
    TcSpec { bm: 256, bn: 128, ..t }
}
/// f16 twin of [`WGMMA_BF16`].
pub const WGMMA_F16: TcSpec = tile(TcPath::Wgmma, ElemType::F16, 128, 256, 64, (0, 0, 2), 4);
/// TF32 wgmma tile.
pub const WGMMA_TF32: TcSpec = tile(TcPath::Wgmma, ElemType::F32, 128, 256, 32, (0, 0, 2), 4);
/// Default mma.sync tiles (every arch; 75,776 B of shared memory fits the 99 KiB of
/// sm_86/89/120): 128×128×32, four 64×64 warps, 4 stages.
pub const MMA_BF16: TcSpec = tile(TcPath::Mma, ElemType::Bf16, 128, 128, 32, (64, 64, 0), 4);
/// f16 twin of [`MMA_BF16`].
pub const MMA_F16: TcSpec = tile(TcPath::Mma, ElemType::F16, 128, 128, 32, (64, 64, 0), 4);
/// TF32 mma.sync tile.
pub const MMA_TF32: TcSpec = tile(TcPath::Mma, ElemType::F32, 128, 128, 16, (64, 64, 0), 4);

/// The sparse twin of a tile: joint (or A-only) with the default granularity (A blocks of 64
/// rows, k-groups of one stage up to 64 k, B blocks of 128 columns); wgmma tiles become the
/// sparse default tile ([`sparse_wgmma_tile`]).
pub const fn sparse(t: TcSpec, sparsity: TcSparsity, patterns: TcPatterns) -> TcSpec {
    let t = match t.path {
        TcPath::Wgmma if t.bm == 128 && t.bn == 256 => sparse_wgmma_tile(t),
        _ => t,
    };
    let k_gran = if t.bk > 64 { 64 } else { t.bk };
    TcSpec {
        sparsity,
        a_rows: 64,
        k_gran,
        b_cols: match sparsity {
            TcSparsity::Joint => 128,
            _ => 0,
        },
        patterns,
        ..t
    }
}

/// The presets of family tc.
pub const PRESETS: [Preset; 4] = [
    Preset { name: "tc-wgmma", description: "bf16 wgmma+TMA joint A+B sparse, prepared B (sm_90a)", spec: KernelSpec::Tc(sparse(WGMMA_BF16, TcSparsity::Joint, TcPatterns::PreparedB)) },
    Preset { name: "tc-wgmma-dense", description: "bf16 wgmma+TMA dense (sm_90a)", spec: KernelSpec::Tc(WGMMA_BF16) },
    Preset { name: "tc-mma", description: "bf16 mma.sync joint A+B sparse, prepared B (sm_80+)", spec: KernelSpec::Tc(sparse(MMA_BF16, TcSparsity::Joint, TcPatterns::PreparedB)) },
    Preset { name: "tc-mma-dense", description: "bf16 mma.sync dense (sm_80+)", spec: KernelSpec::Tc(MMA_BF16) },
];
