//! The typed variant space of esmm kernels, shared by the generator (`esmm-codegen`),
//! the runtime (`esmm`) and the autotuner (`esmm-tune`).
//!
//! A [`KernelSpec`] is one point of the space. It is plain `Copy` data that can be built in a
//! `const` context, so the generated registry (`generated/registry.rs`) can list every shipped
//! variant as a static table. Its [`KernelSpec::name`] encodes every parameter and is the key
//! used everywhere (file names, registry, tuned tables, CLI).
//!
//! This crate has no dependencies beyond `serde`; it must stay light because the runtime
//! links it.

use serde::{Deserialize, Serialize};

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

/// Element type of A, B and C.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElemType {
    /// IEEE binary32 with f32 accumulation on CUDA cores (FFMA).
    F32,
    /// IEEE binary16 operands, f32 accumulation on tensor cores (no template yet).
    F16,
    /// bfloat16 operands, f32 accumulation on tensor cores (no template yet).
    Bf16,
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

/// Elementwise activation applied to C in the epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// C = A·B
    None,
    /// C = max(A·B, 0)
    Relu,
    /// C = max(A·B, 0)²
    Relu2,
}

/// A CUDA GPU architecture the kernels can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Arch {
    /// A100 (compute capability 8.0).
    Sm80,
    /// RTX 30xx, A10, A40 (8.6).
    Sm86,
    /// RTX 40xx, L4, L40 (8.9).
    Sm89,
    /// H100, H200 (9.0).
    Sm90,
    /// RTX 50xx (12.0).
    Sm120,
}

impl Arch {
    /// Every architecture the project builds for, lowest first.
    pub const ALL: [Arch; 5] = [Arch::Sm80, Arch::Sm86, Arch::Sm89, Arch::Sm90, Arch::Sm120];

    /// Compute capability as `major * 10 + minor` (e.g. 90).
    pub const fn compute_capability(self) -> u32 {
        match self {
            Arch::Sm80 => 80,
            Arch::Sm86 => 86,
            Arch::Sm89 => 89,
            Arch::Sm90 => 90,
            Arch::Sm120 => 120,
        }
    }

    /// The nvcc spelling, e.g. `sm_90`.
    pub fn sm_name(self) -> String {
        format!("sm_{}", self.compute_capability())
    }

    /// Parses `sm_90`, `90`, `9.0` or `compute_90`.
    pub fn parse(s: &str) -> Option<Arch> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.trim_start_matches("sm_").trim_start_matches("compute_").replace('.', "");
        Arch::ALL.into_iter().find(|a| a.compute_capability().to_string() == t)
    }

    /// Largest dynamic shared memory one block may opt into, in bytes.
    pub const fn max_smem_per_block(self) -> u32 {
        match self {
            Arch::Sm80 => 163 * 1024,
            Arch::Sm86 | Arch::Sm89 | Arch::Sm120 => 99 * 1024,
            Arch::Sm90 => 227 * 1024,
        }
    }

    /// 32-bit registers per multiprocessor.
    pub const fn registers_per_sm(self) -> u32 {
        65536
    }

    /// Most resident threads per multiprocessor.
    pub const fn max_threads_per_sm(self) -> u32 {
        match self {
            Arch::Sm80 | Arch::Sm90 => 2048,
            Arch::Sm86 | Arch::Sm89 => 1536,
            Arch::Sm120 => 1536,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Arch::Sm80 => 1,
            Arch::Sm86 => 2,
            Arch::Sm89 => 4,
            Arch::Sm90 => 8,
            Arch::Sm120 => 16,
        }
    }
}

/// A set of architectures, as a bit set so that it stays `Copy` and `const`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArchSet(pub u8);

impl ArchSet {
    /// All of [`Arch::ALL`].
    pub const ALL: ArchSet = ArchSet(0b1_1111);

    /// Whether `arch` is in the set.
    pub fn contains(self, arch: Arch) -> bool {
        self.0 & arch.bit() != 0
    }

    /// The members, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Arch> {
        Arch::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// Builds a set from a list.
    pub fn from_archs(archs: &[Arch]) -> ArchSet {
        ArchSet(archs.iter().fold(0, |m, a| m | a.bit()))
    }
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
pub struct KernelSpec {
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

impl ElemType {
    /// Short tag used in names.
    pub const fn tag(self) -> &'static str {
        match self {
            ElemType::F32 => "f32",
            ElemType::F16 => "f16",
            ElemType::Bf16 => "bf16",
        }
    }
    /// Bytes per element.
    pub const fn size(self) -> u32 {
        match self {
            ElemType::F32 => 4,
            ElemType::F16 | ElemType::Bf16 => 2,
        }
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

impl Activation {
    /// Short tag used in names.
    pub const fn tag(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::Relu2 => "relu2",
        }
    }
}

impl KernelSpec {
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
        s += self.activation.tag();
        if self.col_nnz {
            s += "_nnz";
        }
        s
    }
}

/// Which step of a variant a kernel launch performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Writes the A pattern (separate preprocessing only).
    PatternA,
    /// Writes the B pattern (separate preprocessing, and the runtime's `prepare`).
    PatternB,
    /// The GEMM (which, when fused, also extracts the patterns).
    Gemm,
}

/// How the grid of a launch is computed from the problem shape. Evaluated by the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridRule {
    /// One CTA per `bm × bn` tile of C: grid = (ceil(N / bn), ceil(M / bm), 1).
    Tiles {
        /// Tile rows.
        bm: u32,
        /// Tile columns.
        bn: u32,
    },
    /// One CTA per (32-wide k word, block of `rows` rows of A): grid = (ceil(K / 32), ceil(M / rows), 1).
    PatternA {
        /// A-pattern granularity in rows.
        rows: u32,
    },
    /// One CTA per (32-wide k word, block of `cols` columns of B): grid = (ceil(K / 32), ceil(N / cols), 1).
    PatternB {
        /// B-pattern granularity in columns.
        cols: u32,
    },
    /// A persistent, cooperative launch: grid = min(tiles of `bm × bn`, resident CTAs per SM × SMs),
    /// launched with `cuLaunchCooperativeKernel` so that its grid-wide barrier cannot deadlock.
    Persistent {
        /// Tile rows.
        bm: u32,
        /// Tile columns.
        bn: u32,
    },
}

/// One kernel launch of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Launch {
    /// What the launch does.
    pub stage: Stage,
    /// The `extern "C"` kernel symbol in the variant's module.
    pub symbol: &'static str,
    /// Threads per CTA (1-D blocks).
    pub threads: u32,
    /// Dynamic shared memory per CTA in bytes (the runtime raises the function's limit when
    /// this exceeds 48 KiB).
    pub dynamic_smem: u32,
    /// How the grid follows from M, N, K.
    pub grid: GridRule,
}

/// One row of the generated registry: a variant, the file it was generated into, and its
/// launches in order.
#[derive(Clone, Copy, Debug)]
pub struct RegistryEntry {
    /// The procedural name (`spec.name()`), also the module's file stem.
    pub name: &'static str,
    /// The variant.
    pub spec: KernelSpec,
    /// Whether it is one of the generator's default (high-performance) variants, which the
    /// runtime prefers when no tuned table decides.
    pub is_default: bool,
    /// Launches in execution order (pattern kernels first, the GEMM last).
    pub launches: &'static [Launch],
}

// ---------------------------------------------------------------------------------------------
// Parsing: the inverse of the name tags and of `KernelSpec::name`.

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

impl ElemType {
    /// Every element type, in declaration order.
    pub const ALL: [ElemType; 3] = [ElemType::F32, ElemType::F16, ElemType::Bf16];
    /// Inverse of [`ElemType::tag`].
    pub fn from_tag(tag: &str) -> Option<ElemType> {
        ElemType::ALL.into_iter().find(|v| v.tag() == tag)
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

impl Activation {
    /// Every activation, in declaration order.
    pub const ALL: [Activation; 3] = [Activation::None, Activation::Relu, Activation::Relu2];
    /// Inverse of [`Activation::tag`].
    pub fn from_tag(tag: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|v| v.tag() == tag)
    }
}

/// Parses `"<a>x<b>[x<c>...]"` into exactly `n` unsigned numbers.
fn parse_dims(part: &str, n: usize, what: &str) -> Result<Vec<u32>, String> {
    let nums: Result<Vec<u32>, _> = part.split('x').map(str::parse::<u32>).collect();
    match nums {
        Ok(v) if v.len() == n => Ok(v),
        _ => Err(format!(
            "`{part}` is not {n} numbers separated by `x` ({what})"
        )),
    }
}

impl KernelSpec {
    /// Parses a procedural name (the inverse of [`KernelSpec::name`]); the result targets
    /// [`ArchSet::ALL`]. Dense names get granularity 0×0, [`Preprocess::None`] and
    /// [`SkipStyle::Branch`]. Only the canonical spelling is accepted (`name()` of the result
    /// equals the input).
    pub fn from_name(name: &str) -> Result<KernelSpec, String> {
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
        let spec = KernelSpec {
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

#[cfg(test)]
mod name_tests {
    use super::*;

    fn k25() -> KernelSpec {
        KernelSpec {
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
        assert_eq!(KernelSpec::from_name(name), Ok(k25()));
    }

    #[test]
    fn names_round_trip_over_every_enum_value() {
        for sparsity in Sparsity::ALL {
            for dtype in ElemType::ALL {
                for preprocess in Preprocess::ALL {
                    for skip in SkipStyle::ALL {
                        for activation in Activation::ALL {
                            for col_nnz in [false, true] {
                                let mut s = KernelSpec {
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
                                assert_eq!(KernelSpec::from_name(&name), Ok(s), "{name}");
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
            assert!(KernelSpec::from_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

pub mod tuned;
