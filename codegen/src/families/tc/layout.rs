//! The geometry of a tc variant that both the rules and the renderer need: shared memory and
//! the thread counts of the side stages.

use esmm_spec::{TcPath, TcSpec};

/// Threads of the pattern and pack stages.
pub const SIDE_THREADS: u32 = 256;

/// Dynamic shared memory of the GEMM: the pipeline's A and B tiles (plus 1 KiB to align the
/// 128-byte-swizzled wgmma tiles to 1024 bytes).
pub const fn gemm_smem_bytes(s: &TcSpec) -> u32 {
    let tiles = s.stages * (s.bm + s.bn) * s.bk * s.dtype.size();
    match s.path {
        TcPath::Wgmma => tiles + 1024,
        TcPath::Mma => tiles,
    }
}
