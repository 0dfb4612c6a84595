//! Family `esmm`: joint A+B block-sparse f32 GEMM on CUDA cores (SIMT warptiling; source
//! document 001). One [`EsmmSpec`] is one point of its variant space.
//!
//! Names keep the spelling the first tuned tables use,
//! `esmm_<sparsity>_<dtype>_<bm>x<bn>x<bk>_w<wm>x<wn>x<wniter>_t<tm>x<tn>[_g<ga>x<gb>_<pre>_<skip>]_<epilogue>`
//! (the sparsity tag precedes the element type; newer families follow
//! `<family>_<dtype>_<part>_<epilogue>`, see [`crate::name`]).

use serde::{Deserialize, Serialize};

use crate::abi::{Arg, Dim, Operand, Scalar, Stage, Workspace};
use crate::common::{Activation, ArchSet, CtaTile, ElemType, Epilogue};

/// Which operands the kernel exploits sparsity in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sparsity {
    /// Plain dense GEMM (seed kernel K10).
    Dense,
    /// Skips K-steps whose A stripe (row block × k) is all zero.
    AOnly,
    /// Skips K-steps whose B stripe (k × column block) is all zero (seed kernel K17).
    BOnly,
    /// Skips K-steps where `a_pattern & b_pattern == 0` (seed kernels K20..K30).
    Joint,
}

/// Where the sparsity patterns come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preprocess {
    /// No patterns (dense kernels only).
    None,
    /// One kernel launch: the GEMM kernel extracts the A pattern and the B pattern itself.
    Fused,
    /// One kernel launch: the GEMM kernel extracts the A pattern; the B pattern is supplied
    /// offline (computed once by `prepare` for static weights).
    OfflineB,
    /// Separate pattern-extraction kernels run before the GEMM kernel (seed K20/K21/K30).
    Separate,
}

/// How a K-step whose joint pattern bit is zero is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipStyle {
    /// A warp-uniform branch around the FMAs (seed K25).
    Branch,
    /// Multiply by a 0/1 mask instead of branching (seed K28).
    Branchless,
}

/// One point of the variant space: everything that distinguishes one generated kernel from
/// another.
///
/// Tile vocabulary (the classic warptiling SGEMM):
/// - the CTA computes a `bm × bn` tile of C, stepping through K `bk` at a time;
/// - each warp computes a `wm × wn` sub-tile, in `wm_iter() × wniter` steps of
///   `(wm / wm_iter()) × (wn / wniter)`;
/// - each thread computes `tm × tn` outputs per step.
///
/// The thread count is derived: `(bm / wm) * (bn / wn) * 32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EsmmSpec {
    /// Which operands are sparse.
    pub sparsity: Sparsity,
    /// Element type.
    pub dtype: ElemType,
    /// CTA tile rows.
    pub bm: u32,
    /// CTA tile columns.
    pub bn: u32,
    /// CTA K step.
    pub bk: u32,
    /// Warp tile rows.
    pub wm: u32,
    /// Warp tile columns.
    pub wn: u32,
    /// Warp sub-tile iterations along N.
    pub wniter: u32,
    /// Thread tile rows.
    pub tm: u32,
    /// Thread tile columns.
    pub tn: u32,
    /// Rows of A that share one pattern bit per k (64, 32 or 8). Ignored (0) when A is dense.
    pub a_granularity: u32,
    /// Columns of B that share one pattern bit per k (32 or 8). Ignored (0) when B is dense.
    pub b_granularity: u32,
    /// Where the patterns come from.
    pub preprocess: Preprocess,
    /// How inactive K-steps are skipped.
    pub skip: SkipStyle,
    /// Epilogue activation.
    pub activation: Activation,
    /// Whether the epilogue accumulates per-column nonzero counts of C (seed 000).
    pub col_nnz: bool,
    /// Architectures this variant must be valid for.
    pub archs: ArchSet,
}

impl Sparsity {
    /// Short tag used in names: `dense`, `a`, `b`, `ab`.
    pub const fn tag(self) -> &'static str {
        match self {
            Sparsity::Dense => "dense",
            Sparsity::AOnly => "a",
            Sparsity::BOnly => "b",
            Sparsity::Joint => "ab",
        }
    }
    /// Whether the kernel reads an A pattern.
    pub const fn uses_a_pattern(self) -> bool {
        matches!(self, Sparsity::AOnly | Sparsity::Joint)
    }
    /// Whether the kernel reads a B pattern.
    pub const fn uses_b_pattern(self) -> bool {
        matches!(self, Sparsity::BOnly | Sparsity::Joint)
    }
}

impl Preprocess {
    /// Short tag used in names.
    pub const fn tag(self) -> &'static str {
        match self {
            Preprocess::None => "none",
            Preprocess::Fused => "fused",
            Preprocess::OfflineB => "offb",
            Preprocess::Separate => "sep",
        }
    }
}

impl SkipStyle {
    /// Short tag used in names.
    pub const fn tag(self) -> &'static str {
        match self {
            SkipStyle::Branch => "branch",
            SkipStyle::Branchless => "branchless",
        }
    }
}

impl EsmmSpec {
    /// Threads per CTA: one warp per warp tile.
    pub const fn threads(&self) -> u32 {
        (self.bm / self.wm) * (self.bn / self.wn) * 32
    }

    /// Warp sub-tile iterations along M, derived so that the warp's 32 threads cover the warp
    /// tile exactly: `wm * wn / (32 * tm * tn * wniter)`.
    pub const fn wm_iter(&self) -> u32 {
        let denom = 32 * self.tm * self.tn * self.wniter;
        if denom == 0 {
            0
        } else {
            (self.wm * self.wn) / denom
        }
    }

    /// The procedural name that encodes every parameter, e.g.
    /// `esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2`.
    ///
    /// Dense kernels have no granularity, preprocessing or skip component. A `_nnz` suffix
    /// marks the per-column nonzero-count epilogue.
    pub fn name(&self) -> String {
        let mut s = format!(
            "esmm_{}_{}_{}x{}x{}_w{}x{}x{}_t{}x{}",
            self.sparsity.tag(),
            self.dtype.tag(),
            self.bm,
            self.bn,
            self.bk,
            self.wm,
            self.wn,
            self.wniter,
            self.tm,
            self.tn
        );
        if self.sparsity != Sparsity::Dense {
            s += &format!(
                "_g{}x{}_{}_{}",
                self.a_granularity,
                self.b_granularity,
                self.preprocess.tag(),
                self.skip.tag()
            );
        }
        s += "_";
        s += &self.epilogue().tag();
        s
    }
}

impl Sparsity {
    /// Every sparsity kind, in declaration order.
    pub const ALL: [Sparsity; 4] = [
        Sparsity::Dense,
        Sparsity::AOnly,
        Sparsity::BOnly,
        Sparsity::Joint,
    ];
    /// Inverse of [`Sparsity::tag`].
    pub fn from_tag(tag: &str) -> Option<Sparsity> {
        Sparsity::ALL.into_iter().find(|v| v.tag() == tag)
    }
}

impl Preprocess {
    /// Every preprocessing mode, in declaration order.
    pub const ALL: [Preprocess; 4] = [
        Preprocess::None,
        Preprocess::Fused,
        Preprocess::OfflineB,
        Preprocess::Separate,
    ];
    /// Inverse of [`Preprocess::tag`].
    pub fn from_tag(tag: &str) -> Option<Preprocess> {
        Preprocess::ALL.into_iter().find(|v| v.tag() == tag)
    }
}

impl SkipStyle {
    /// Every skip style, in declaration order.
    pub const ALL: [SkipStyle; 2] = [SkipStyle::Branch, SkipStyle::Branchless];
    /// Inverse of [`SkipStyle::tag`].
    pub fn from_tag(tag: &str) -> Option<SkipStyle> {
        SkipStyle::ALL.into_iter().find(|v| v.tag() == tag)
    }
}

/// Parses `"<a>x<b>[x<c>...]"` into exactly `n` unsigned numbers (shared by the families' names).
pub(crate) fn parse_dims(part: &str, n: usize, what: &str) -> Result<Vec<u32>, String> {
    let nums: Result<Vec<u32>, _> = part.split('x').map(str::parse::<u32>).collect();
    match nums {
        Ok(v) if v.len() == n => Ok(v),
        _ => Err(format!(
            "`{part}` is not {n} numbers separated by `x` ({what})"
        )),
    }
}

impl EsmmSpec {
    /// Parses a procedural name (the inverse of [`EsmmSpec::name`]); the result targets
    /// [`ArchSet::ALL`]. Dense names get granularity 0×0, [`Preprocess::None`] and
    /// [`SkipStyle::Branch`]. Only the canonical spelling is accepted (`name()` of the result
    /// equals the input).
    pub fn from_name(name: &str) -> Result<EsmmSpec, String> {
        let err = |why: String| format!("`{name}` is not a kernel name: {why}");
        let parts: Vec<&str> = name.split('_').collect();
        let mut it = parts.iter().copied();
        let mut next = |what: &str| {
            it.next()
                .ok_or_else(|| err(format!("missing the {what} part")))
        };
        if next("`esmm` prefix")? != "esmm" {
            return Err(err("it must start with `esmm_`".into()));
        }
        let tag = next("sparsity")?;
        let sparsity = Sparsity::from_tag(tag).ok_or_else(|| {
            err(format!(
                "unknown sparsity `{tag}` (expected dense, a, b or ab)"
            ))
        })?;
        let tag = next("element type")?;
        let dtype = ElemType::from_tag(tag).ok_or_else(|| {
            err(format!(
                "unknown element type `{tag}` (expected f32, f16 or bf16)"
            ))
        })?;
        let cta = parse_dims(next("CTA tile")?, 3, "CTA tile bm x bn x bk").map_err(err)?;
        let warp_part = next("warp tile")?;
        let warp = warp_part
            .strip_prefix('w')
            .ok_or_else(|| err(format!("warp tile `{warp_part}` must start with `w`")))
            .and_then(|p| parse_dims(p, 3, "warp tile wm x wn x wniter").map_err(err))?;
        let thread_part = next("thread tile")?;
        let thread = thread_part
            .strip_prefix('t')
            .ok_or_else(|| err(format!("thread tile `{thread_part}` must start with `t`")))
            .and_then(|p| parse_dims(p, 2, "thread tile tm x tn").map_err(err))?;
        let (mut a_granularity, mut b_granularity) = (0, 0);
        let (mut preprocess, mut skip) = (Preprocess::None, SkipStyle::Branch);
        if sparsity != Sparsity::Dense {
            let g_part = next("granularity")?;
            let g = g_part
                .strip_prefix('g')
                .ok_or_else(|| err(format!("granularity `{g_part}` must start with `g`")))
                .and_then(|p| parse_dims(p, 2, "granularity rows x cols").map_err(err))?;
            (a_granularity, b_granularity) = (g[0], g[1]);
            let tag = next("preprocessing")?;
            preprocess = Preprocess::from_tag(tag).ok_or_else(|| {
                err(format!(
                    "unknown preprocessing `{tag}` (expected none, fused, offb or sep)"
                ))
            })?;
            let tag = next("skip style")?;
            skip = SkipStyle::from_tag(tag).ok_or_else(|| {
                err(format!(
                    "unknown skip style `{tag}` (expected branch or branchless)"
                ))
            })?;
        }
        let tag = next("activation")?;
        let activation = Activation::from_tag(tag).ok_or_else(|| {
            err(format!(
                "unknown activation `{tag}` (expected none, relu or relu2)"
            ))
        })?;
        let col_nnz = match it.next() {
            None => false,
            Some("nnz") => true,
            Some(other) => {
                return Err(err(format!(
                    "unexpected part `{other}` (only `nnz` may follow the activation)"
                )))
            }
        };
        if let Some(extra) = it.next() {
            return Err(err(format!("unexpected trailing part `{extra}`")));
        }
        let spec = EsmmSpec {
            sparsity,
            dtype,
            bm: cta[0],
            bn: cta[1],
            bk: cta[2],
            wm: warp[0],
            wn: warp[1],
            wniter: warp[2],
            tm: thread[0],
            tn: thread[1],
            a_granularity,
            b_granularity,
            preprocess,
            skip,
            activation,
            col_nnz,
            archs: ArchSet::ALL,
        };
        if spec.name() != name {
            return Err(err(format!(
                "not in canonical form (expected `{}`)",
                spec.name()
            )));
        }
        Ok(spec)
    }
}

/// The GEMM launch's parameters (every esmm variant, dense or sparse).
pub const GEMM_ARGS: &[Arg] = &[
    Arg::Operand { operand: Operand::A, elem: ElemType::F32, written: false },
    Arg::Operand { operand: Operand::B, elem: ElemType::F32, written: false },
    Arg::Operand { operand: Operand::C, elem: ElemType::F32, written: true },
    Arg::Dim(Dim::M),
    Arg::Dim(Dim::N),
    Arg::Dim(Dim::K),
    Arg::Pattern(Operand::A),
    Arg::Pattern(Operand::B),
    Arg::ColNnz,
    Arg::Workspace(Workspace::Ctrl),
    Arg::Workspace(Workspace::Ones),
    Arg::Scalar(Scalar::Epoch),
];

/// The separate A-pattern kernel's parameters.
pub const PATTERN_A_ARGS: &[Arg] = &[
    Arg::Operand { operand: Operand::A, elem: ElemType::F32, written: false },
    Arg::Dim(Dim::M),
    Arg::Dim(Dim::K),
    Arg::Pattern(Operand::A),
    Arg::Workspace(Workspace::Ctrl),
    Arg::Scalar(Scalar::Epoch),
];

/// The separate B-pattern kernel's parameters (also run by `prepare_b`).
pub const PATTERN_B_ARGS: &[Arg] = &[
    Arg::Operand { operand: Operand::B, elem: ElemType::F32, written: false },
    Arg::Dim(Dim::K),
    Arg::Dim(Dim::N),
    Arg::Pattern(Operand::B),
    Arg::Workspace(Workspace::Ctrl),
    Arg::Scalar(Scalar::Epoch),
];

/// The parameter list of one stage of an esmm variant.
pub const fn stage_args(stage: Stage) -> &'static [Arg] {
    match stage {
        Stage::Gemm => GEMM_ARGS,
        Stage::PatternA => PATTERN_A_ARGS,
        Stage::PatternB => PATTERN_B_ARGS,
        // esmm variants have no pack, select or scatter stages.
        Stage::PackA | Stage::PackB | Stage::Select | Stage::Scatter | Stage::Decode => &[],
    }
}

impl EsmmSpec {
    /// The CTA tile.
    pub const fn cta(&self) -> CtaTile {
        CtaTile { bm: self.bm, bn: self.bn, bk: self.bk }
    }

    /// The epilogue.
    pub const fn epilogue(&self) -> Epilogue {
        Epilogue { activation: self.activation, col_nnz: self.col_nnz }
    }

    /// The same variant with another epilogue.
    pub const fn with_epilogue(self, e: Epilogue) -> EsmmSpec {
        EsmmSpec { activation: e.activation, col_nnz: e.col_nnz, ..self }
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    fn k25() -> EsmmSpec {
        EsmmSpec {
            sparsity: Sparsity::Joint,
            dtype: ElemType::F32,
            bm: 64,
            bn: 128,
            bk: 8,
            wm: 64,
            wn: 32,
            wniter: 2,
            tm: 1,
            tn: 8,
            a_granularity: 64,
            b_granularity: 32,
            preprocess: Preprocess::Fused,
            skip: SkipStyle::Branch,
            activation: Activation::Relu2,
            col_nnz: false,
            archs: ArchSet::ALL,
        }
    }

    #[test]
    fn example_name_parses() {
        let name = "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2";
        assert_eq!(k25().name(), name);
        assert_eq!(EsmmSpec::from_name(name), Ok(k25()));
    }

    #[test]
    fn names_round_trip_over_every_enum_value() {
        for sparsity in Sparsity::ALL {
            for dtype in ElemType::ALL {
                for preprocess in Preprocess::ALL {
                    for skip in SkipStyle::ALL {
                        for activation in Activation::ALL {
                            for col_nnz in [false, true] {
                                let mut s = EsmmSpec {
                                    sparsity,
                                    dtype,
                                    preprocess,
                                    skip,
                                    activation,
                                    col_nnz,
                                    bm: 128,
                                    wniter: 4,
                                    ..k25()
                                };
                                if sparsity == Sparsity::Dense {
                                    // Dense names carry no granularity/preprocess/skip.
                                    (s.a_granularity, s.b_granularity) = (0, 0);
                                    (s.preprocess, s.skip) = (Preprocess::None, SkipStyle::Branch);
                                }
                                let name = s.name();
                                assert_eq!(EsmmSpec::from_name(&name), Ok(s), "{name}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bad_names_are_errors() {
        for bad in [
            "",
            "esmm",
            "foo_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_abc_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_ab_f64_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_ab_f32_64x128_w64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_ab_f32_64x128x8_64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_ab_f32_64x128x8_w64x32x2_t1x8_fused_branch_relu2",
            "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fusd_branch_relu2",
            "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu3",
            "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2_nnz_x",
            "esmm_ab_f32_064x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2",
            "esmm_dense_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_none",
            "esmm_ab_f32_-1x128x8_w64x32x2_t1x8_g64x32_fused_branch_relu2",
        ] {
            assert!(EsmmSpec::from_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

