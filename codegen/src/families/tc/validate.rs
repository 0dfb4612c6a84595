//! The validity rules of family tc, all in one place. [`validate`] is the only way to obtain a
//! [`ValidTc`], which rendering and launch geometry take: they never re-check a rule.

use esmm_spec::{Arch, ElemType, TcPath, TcPatterns, TcSparsity, TcSpec};

use super::layout::gemm_smem_bytes;

/// A tc spec that passed [`validate`] (only [`validate`] constructs one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidTc(TcSpec);

impl ValidTc {
    /// The validated spec.
    pub const fn spec(&self) -> &TcSpec {
        &self.0
    }
}

/// A-pattern granularities (rows) the kernels support.
pub const A_ROWS: [u32; 5] = [16, 32, 64, 128, 256];
/// k granularities the kernels support (8 only with TF32).
pub const K_GRANS: [u32; 4] = [8, 16, 32, 64];
/// B-pattern granularities (columns) the kernels support.
pub const B_COLS: [u32; 4] = [32, 64, 128, 256];
/// Tile rasterisation groups.
pub const GROUPS: [u32; 5] = [1, 2, 4, 8, 16];

/// Checks every rule; `Err` lists every violated rule as a readable sentence.
pub fn validate(s: &TcSpec) -> Result<ValidTc, Vec<String>> {
    let mut why = Vec::new();
    let mut rule = |ok: bool, msg: String| {
        if !ok {
            why.push(msg);
        }
    };
    let size = s.dtype.size();
    rule(
        s.out == s.dtype || s.out == ElemType::F32,
        format!("output type {} must be the input type ({}) or f32", s.out.tag(), s.dtype.tag()),
    );
    rule(GROUPS.contains(&s.group_m), format!("group_m {} must be one of {GROUPS:?}", s.group_m));
    rule((2..=8).contains(&s.stages), format!("stages {} must be 2..=8", s.stages));
    let mma_k = if s.dtype == ElemType::F32 { 8 } else { 16 };
    match s.path {
        TcPath::Wgmma => {
            rule(s.wm == 0 && s.wn == 0, "wgmma variants have no warp tile (wm = wn = 0)".into());
            rule(matches!(s.consumers, 1 | 2), format!("consumers {} must be 1 or 2", s.consumers));
            rule(s.bk * size == 128, format!("bk {} must span 128 bytes of k ({} for {})", s.bk, 128 / size, s.dtype.tag()));
            rule(
                s.consumers > 0 && s.bm % (64 * s.consumers.max(1)) == 0 && s.bm / s.consumers.max(1) <= 128,
                format!("bm {} must be 64 or 128 rows per consumer warpgroup ({} consumers)", s.bm, s.consumers),
            );
            rule(matches!(s.bn, 64 | 128 | 192 | 256), format!("bn {} must be 64, 128, 192 or 256 (one wgmma n)", s.bn));
            rule(
                s.consumers > 0 && (s.bm / s.consumers.max(1) / 64) * s.bn <= 256,
                format!("a consumer warpgroup holds at most 64x256 or 128x128 fp32 accumulators ({}x{} asked)", s.bm / s.consumers.max(1), s.bn),
            );
            rule(s.archs == TcSpec::default_archs(TcPath::Wgmma), "wgmma variants target sm_90a alone".into());
        }
        TcPath::Mma => {
            rule(s.consumers == 0, "mma variants have no consumer warpgroups (consumers = 0)".into());
            rule(matches!(s.wm, 16 | 32 | 64) && matches!(s.wn, 16 | 32 | 64), format!("warp tile {}x{} must be 16, 32 or 64 each way", s.wm, s.wn));
            rule(s.wm > 0 && s.wn > 0 && s.bm % s.wm.max(1) == 0 && s.bn % s.wn.max(1) == 0, format!("the warp tile {}x{} must divide the CTA tile {}x{}", s.wm, s.wn, s.bm, s.bn));
            let threads = s.threads();
            rule((64..=512).contains(&threads), format!("{threads} threads per CTA (must be 64..=512)"));
            rule(s.bk % mma_k == 0 && s.bk * size >= 32 && s.bk * size <= 128, format!("bk {} must be a multiple of {mma_k} spanning 32 to 128 bytes", s.bk));
            rule(s.bm >= 16 && s.bn >= 16 && s.bm <= 256 && s.bn <= 256, format!("tile {}x{} must be 16..=256 each way", s.bm, s.bn));
        }
    }
    let smem = gemm_smem_bytes(s);
    let limit = s.archs.iter().map(Arch::max_smem_per_block).min().unwrap_or(0);
    rule(smem <= limit, format!("{smem} bytes of shared memory exceed the {limit} bytes of the smallest target"));
    match s.sparsity {
        TcSparsity::Dense => rule(
            s.a_rows == 0 && s.k_gran == 0 && s.b_cols == 0 && s.patterns == TcPatterns::None,
            "dense variants have no granularity and no pattern source".into(),
        ),
        sp => {
            rule(A_ROWS.contains(&s.a_rows), format!("a_rows {} must be one of {A_ROWS:?}", s.a_rows));
            rule(
                s.a_rows > 0 && (s.bm % s.a_rows.max(1) == 0 || s.a_rows % s.bm.max(1) == 0),
                format!("a_rows {} and bm {} must divide one another", s.a_rows, s.bm),
            );
            rule(K_GRANS.contains(&s.k_gran) && s.k_gran >= mma_k, format!("k_gran {} must be one of {K_GRANS:?} and at least the mma k ({mma_k})", s.k_gran));
            rule(s.k_gran > 0 && s.bk % s.k_gran.max(1) == 0, format!("k_gran {} must divide bk {}", s.k_gran, s.bk));
            rule(s.patterns != TcPatterns::None, "sparse variants need a pattern source (sep or offb)".into());
            if sp == TcSparsity::AOnly {
                rule(s.b_cols == 0, "A-only variants have no B granularity (b_cols = 0)".into());
                rule(s.patterns == TcPatterns::Separate, "A-only variants read no B pattern (pattern source sep)".into());
            } else {
                rule(B_COLS.contains(&s.b_cols), format!("b_cols {} must be one of {B_COLS:?}", s.b_cols));
                rule(
                    s.b_cols > 0 && (s.bn % s.b_cols.max(1) == 0 || s.b_cols % s.bn.max(1) == 0),
                    format!("b_cols {} and bn {} must divide one another", s.b_cols, s.bn),
                );
            }
        }
    }
    if why.is_empty() {
        Ok(ValidTc(*s))
    } else {
        Err(why)
    }
}
