//! The geometry of a tc variant that both the rules and the renderer need: shared memory and
//! the thread counts of the side stages.

use esmm_spec::{TcPath, TcSpec};

/// Threads of the pack stages.
pub const SIDE_THREADS: u32 = 256;
/// Threads of the pattern stages (`TC_PATTERN_THREADS` in templates/tc/pattern.cuh).
pub const PATTERN_THREADS: u32 = 1024;

/// Dynamic shared memory of the GEMM. wgmma: the pipeline's A and B tiles plus 1 KiB to align
/// the 128-byte-swizzled tiles to 1024 bytes (`TcwGeom::SMEM_BYTES`). mma: A rows padded by 16
/// bytes and B rows by 8 elements against bank conflicts (`TcmGeom::SMEM_BYTES`).
pub const fn gemm_smem_bytes(s: &TcSpec) -> u32 {
    let size = s.dtype.size();
    match s.path {
        TcPath::Wgmma => s.stages * (s.bm + s.bn) * s.bk * size + 1024,
        TcPath::Mma => s.stages * (s.bm * (s.bk * size + 16) + s.bk * (s.bn + 8) * size),
    }
}

/// Minimum resident CTAs per SM the mma GEMM asks of the compiler (`__launch_bounds__`): 1 for
/// 64×64 warp tiles in CTAs of 8 warps or more (about 250 registers a thread), else 2.
pub const fn mma_min_blocks(s: &TcSpec) -> u32 {
    if s.wm * s.wn >= 64 * 64 && s.threads() >= 256 {
        1
    } else {
        2
    }
}

/// Columns of B one wgmma chunk covers: the B pattern's column group when a joint variant skips
/// per group inside the tile, else the whole tile (`TcwGeom::NCHUNK`).
pub const fn wgmma_chunk(s: &TcSpec) -> u32 {
    if matches!(s.sparsity, esmm_spec::TcSparsity::Joint) && s.b_cols < s.bn {
        if s.b_cols > 64 {
            s.b_cols
        } else {
            64
        }
    } else {
        s.bn
    }
}
