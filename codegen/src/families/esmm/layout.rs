//! Geometry of an esmm variant that both the validity rules and the renderer need: which main
//! loop it runs (the per-warp cp.async pipeline of `templates/esmm/warppipe.cuh`, the dense
//! kernels' cp.async ring of CTA stages, or the register-staged CTA pipeline), the ring depth,
//! the shared-memory size of the GEMM launch, and the register estimate.
//!
//! Every function here is defined for any spec whose tile sizes are positive, valid or not, so
//! [`super::validate`] can ask for the shared-memory size of a spec it is still checking. The
//! rendered code recomputes the shared-memory size from the same constexprs and
//! `static_assert`s that it agrees (`SMEM_BYTES` in `templates/esmm/common.cuh`), so the launch
//! and the kernel can never disagree. docs/KERNELS.md describes the pipelines and their measured
//! numbers.

use esmm_spec::{EsmmSpec, SkipStyle, Sparsity};

/// Pattern words per skip-list segment (`SEG_WORDS` in `templates/esmm/common.cuh`).
pub const SEG_WORDS: u32 = 32;
/// k values per skip-list segment.
pub const SEG_K: u32 = SEG_WORDS * 32;
/// Threads of the separate pattern kernels (one warp per pattern word).
pub const PATTERN_THREADS: u32 = 32;
/// Registers a thread needs besides accumulators and fragments (indices, pointers, loop state).
pub const REGISTER_OVERHEAD: u32 = 40;

/// Estimated 32-bit registers per thread: accumulators + A/B fragments + fixed overhead.
pub fn register_estimate(spec: &EsmmSpec) -> u32 {
    let wm_iter = spec.wm_iter();
    spec.tm * spec.tn * wm_iter * spec.wniter + (spec.tm * wm_iter + spec.tn * spec.wniter) + REGISTER_OVERHEAD
}

/// Pattern blocks of granularity `g` that a tile of `extent` rows (or columns) can touch; the
/// same rule as `ga_blocks` in `common.cuh`. Both must be positive.
pub fn blocks_touched(extent: u32, g: u32) -> u32 {
    if g % extent == 0 {
        1
    } else if extent % g == 0 {
        extent / g
    } else {
        extent / g + 2
    }
}

/// Whether the GEMM kernel reads any pattern.
pub fn is_sparse(spec: &EsmmSpec) -> bool {
    spec.sparsity != Sparsity::Dense
}

/// A-pattern granularity as the template sees it (1 when A is dense).
pub fn a_gran(spec: &EsmmSpec) -> u32 {
    if spec.sparsity.uses_a_pattern() {
        spec.a_granularity
    } else {
        1
    }
}

/// B-pattern granularity as the template sees it (1 when B is dense).
pub fn b_gran(spec: &EsmmSpec) -> u32 {
    if spec.sparsity.uses_b_pattern() {
        spec.b_granularity
    } else {
        1
    }
}

/// Whether the variant runs the per-warp pipeline (`templates/esmm/warppipe.cuh`): sparse,
/// branch skip, and every warp tile inside one pattern block per sparse operand (the same rule
/// as `WARP_PIPE` in `common.cuh`). A spec whose two-stage ring would not fit its architectures
/// keeps the CTA-wide pipeline.
pub fn warp_pipe(spec: &EsmmSpec) -> bool {
    spec.wm > 0
        && spec.wn > 0
        && spec.bm % spec.wm == 0
        && spec.bn % spec.wn == 0
        && is_sparse(spec)
        && spec.skip == SkipStyle::Branch
        && (!spec.sparsity.uses_a_pattern() || spec.a_granularity % spec.wm == 0)
        && (!spec.sparsity.uses_b_pattern() || spec.b_granularity % spec.wn == 0)
        && 4 * (spec.threads() / 32) * warp_pipe_words(spec, 2) <= arch_smem_limit(spec)
}

/// The smallest per-block shared-memory limit of the spec's architectures.
fn arch_smem_limit(spec: &EsmmSpec) -> u32 {
    spec.archs.iter().map(|a| a.max_smem_per_block()).min().unwrap_or(48 * 1024)
}

/// Per-warp words of the per-warp pipeline with `stages` stages (`WP_WARP_WORDS`).
fn warp_pipe_words(spec: &EsmmSpec, stages: u32) -> u32 {
    stages * (spec.bk * (spec.wm + 4) + spec.bk * spec.wn) + 64
}

/// Shared-memory budget of the per-warp pipeline per CTA: 56 KiB per 128 threads (four CTAs of
/// four warps, or two of eight, fit an sm_90 SM), never more than every target architecture
/// allows one block.
fn warp_pipe_budget(spec: &EsmmSpec) -> u32 {
    arch_smem_limit(spec).min(56 * 1024 * spec.threads().max(128) / 128)
}

/// Depth of the per-warp cp.async ring: the deepest of 4, 3, 2 stages that fits the budget
/// (2 otherwise; validation then rejects the spec if even that exceeds an architecture's limit).
/// Dense kernels: the depth of their CTA stage ring ([`dense_stages`]). Unused (2) by the sparse
/// CTA pipeline.
pub fn pipe_stages(spec: &EsmmSpec) -> u32 {
    if !is_sparse(spec) {
        return dense_stages(spec);
    }
    if !warp_pipe(spec) {
        return 2;
    }
    let warps = spec.threads() / 32;
    [4, 3, 2].into_iter().find(|&s| 4 * warps * warp_pipe_words(spec, s) <= warp_pipe_budget(spec)).unwrap_or(2)
}

/// Words of one CTA-pipeline stage: transposed, padded A tile; B tile; per-slot pattern bits
/// (sparse only). `STAGE_WORDS` in `common.cuh`.
fn cta_stage_words(spec: &EsmmSpec) -> u32 {
    spec.bk * (spec.bm + 4) + spec.bk * spec.bn + if is_sparse(spec) { 2 * spec.bk } else { 0 }
}

/// Whether a dense kernel runs the cp.async ring of CTA stages (`DENSE_ASYNC` in `gemm.cuh`):
/// bk >= 16 (measured: the bk=8 tiles are slower with it and spill 36-64 B) and A copies that map
/// threads to (row, slot) in whole rounds. Other dense kernels keep the register-staged double
/// buffer.
pub fn dense_async(spec: &EsmmSpec) -> bool {
    let threads = spec.threads();
    !is_sparse(spec)
        && spec.bk >= 16
        && threads > 0
        && threads % spec.bk == 0
        && (spec.bm * spec.bk) % threads == 0
}

/// Whether the per-warp pipeline takes its 32-bit B copy path (`WP_B_FAST` in `warppipe.cuh`):
/// only for the configuration where it was measured faster and spill-free (joint, bk 8, 8x4
/// thread tiles, no column counts). Elsewhere the extra per-lane column base spilled 12-40 B
/// under the 128-register cap (t1x8, t8x8, bk 16, B-only, col_nnz variants; ptxas sm_90).
pub fn wp_b_fast(spec: &EsmmSpec) -> bool {
    warp_pipe(spec)
        && spec.sparsity == Sparsity::Joint
        && spec.bk == 8
        && spec.tm == 8
        && spec.tn == 4
        && !spec.col_nnz
        && spec.wn >= 4
        && 32 % (spec.wn / 4) == 0
}

/// Depth of the dense kernels' stage ring (`gemm.cuh`): 3 when the cp.async ring applies and
/// fits the same budget as the per-warp ring, else 2.
pub fn dense_stages(spec: &EsmmSpec) -> u32 {
    if dense_async(spec) && 4 * 3 * cta_stage_words(spec) <= warp_pipe_budget(spec) {
        3
    } else {
        2
    }
}

/// Dynamic shared memory of the GEMM kernel in bytes. Per-warp pipeline: per warp, the ring of
/// stages (transposed, padded A; B) and 64 pending k. Dense: [`dense_stages`] CTA stages
/// (transposed, padded A tile; B tile). Sparse CTA pipeline: two stages (plus per-slot pattern
/// bits) and the skip list. Must match `SMEM_BYTES`'s `static_assert` in
/// `templates/esmm/common.cuh`.
pub fn gemm_smem_bytes(spec: &EsmmSpec) -> u32 {
    if warp_pipe(spec) {
        return 4 * (spec.threads() / 32) * warp_pipe_words(spec, pipe_stages(spec));
    }
    let stage = cta_stage_words(spec);
    if !is_sparse(spec) {
        return 4 * dense_stages(spec) * stage;
    }
    let blocks = |uses: bool, extent: u32, g: u32| if uses && extent > 0 && g > 0 { blocks_touched(extent, g) } else { 1 };
    let nrb = blocks(spec.sparsity.uses_a_pattern(), spec.bm, spec.a_granularity);
    let ncb = blocks(spec.sparsity.uses_b_pattern(), spec.bn, spec.b_granularity);
    let list = SEG_K * 2 + SEG_WORDS * (nrb + ncb) + SEG_WORDS + SEG_WORDS + 1 + SEG_K / 2;
    4 * (2 * stage + list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets::DEFAULT_DENSE_TILE;

    #[test]
    fn dense_ring_depth_and_smem() {
        // 256 threads, bk 16: the cp.async ring, 3 stages of (16 x 132 + 16 x 128) words.
        let dense = DEFAULT_DENSE_TILE;
        assert!(dense_async(&dense));
        assert_eq!(pipe_stages(&dense), 3);
        assert_eq!(gemm_smem_bytes(&dense), 4 * 3 * (16 * 132 + 16 * 128));
        // bk not dividing the thread count: the register-staged double buffer, 2 stages.
        let odd = EsmmSpec { bk: 12, ..dense };
        assert!(!dense_async(&odd));
        assert_eq!(pipe_stages(&odd), 2);
        assert_eq!(gemm_smem_bytes(&odd), 4 * 2 * (12 * 132 + 12 * 128));
    }

    #[test]
    fn blocks_touched_counts_straddled_blocks() {
        assert_eq!(blocks_touched(64, 64), 1);
        assert_eq!(blocks_touched(32, 64), 1);
        assert_eq!(blocks_touched(128, 64), 2);
        assert_eq!(blocks_touched(96, 64), 3);
    }
}
