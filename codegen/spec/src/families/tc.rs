//! Family `tc`: tensor-core block-sparse GEMM over bf16 / f16 (fp32 accumulation) and f32
//! (TF32 math). One [`TcSpec`] is one point of its variant space.
//!
//! Two instruction paths: `mma.sync` m16n8k16 / m16n8k8 (sm_80 and later; B read in the
//! user's K×N layout) and `wgmma` with TMA loads (sm_90a only; B read transposed, N×K, as the
//! runtime's prepared weights store it). Sparsity is exploited by skipping k-groups whose
//! A block (the tile's rows × `k_gran`) or B block (`k_gran` × the tile's columns) is all zero,
//! read from bit patterns that separate launches extract (or, for B, `prepare` computes once).
//!
//! Names: `tc_<dtype>_<path>_<sparsity>_o<out>_<bm>x<bn>x<bk>_<warps>_s<stages>_r<group_m>
//! [_g<a_rows>x<k_gran>x<b_cols>_<patterns>]_<epilogue>`, where `<warps>` is `w<wm>x<wn>` (mma)
//! or `c<consumers>` (wgmma), e.g. `tc_bf16_wgmma_ab_obf16_128x256x64_c2_s4_r8_g64x64x128_offb_none`.

use serde::{Deserialize, Serialize};

use crate::abi::{Arg, Dim, Operand, Scalar, Stage, Workspace};
use crate::common::{Activation, ArchSet, CtaTile, ElemType, Epilogue};
use crate::families::Family;
use crate::name;

/// Which tensor-core instruction the main loop issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcPath {
    /// Warp-level `mma.sync` fed by `cp.async` + `ldmatrix` (sm_80, 86, 89, 90, 120).
    Mma,
    /// Warpgroup `wgmma` fed by TMA on an mbarrier pipeline, producer/consumer warpgroups
    /// (sm_90a: H100, H200).
    Wgmma,
}

/// Which operands the kernel skips zero blocks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcSparsity {
    /// Dense GEMM (no patterns).
    Dense,
    /// Skips k-groups whose A block is all zero.
    AOnly,
    /// Skips k-groups where the A block or the B block is all zero.
    Joint,
}

/// Where the patterns come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcPatterns {
    /// No patterns (dense variants).
    None,
    /// Pattern launches before the GEMM: A's, and B's when the variant is joint.
    Separate,
    /// A's pattern launch before the GEMM; B's pattern comes from `prepare_b` (static weights).
    PreparedB,
}

/// One point of the `tc` variant space.
///
/// The CTA computes a `bm × bn` tile of C stepping through K `bk` at a time (`bk` elements are
/// 128 bytes for wgmma: 64 for 16-bit types, 32 for f32). mma variants split the tile into
/// `wm × wn` warp tiles (threads = `(bm/wm)·(bn/wn)·32`); wgmma variants have one producer
/// warpgroup and `consumers` consumer warpgroups (threads = `128·(consumers+1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TcSpec {
    /// Instruction path.
    pub path: TcPath,
    /// Element type of A and B (f32 means TF32 tensor-core math).
    pub dtype: ElemType,
    /// Element type of C.
    pub out: ElemType,
    /// CTA tile rows.
    pub bm: u32,
    /// CTA tile columns.
    pub bn: u32,
    /// CTA k step.
    pub bk: u32,
    /// Warp tile rows (mma; 0 for wgmma).
    pub wm: u32,
    /// Warp tile columns (mma; 0 for wgmma).
    pub wn: u32,
    /// Consumer warpgroups (wgmma; 0 for mma).
    pub consumers: u32,
    /// Shared-memory pipeline stages.
    pub stages: u32,
    /// Tile rasterisation: tiles are visited `group_m` tile rows at a time (1 = row-major).
    pub group_m: u32,
    /// Which operands are sparse.
    pub sparsity: TcSparsity,
    /// Rows of A per pattern bit (0 when dense).
    pub a_rows: u32,
    /// k per pattern bit, for both operands (0 when dense).
    pub k_gran: u32,
    /// Columns of B per pattern bit (0 unless joint).
    pub b_cols: u32,
    /// Where the patterns come from.
    pub patterns: TcPatterns,
    /// Epilogue activation.
    pub activation: Activation,
    /// Whether the epilogue counts nonzero values of C per column.
    pub col_nnz: bool,
    /// Architectures this variant must be valid for.
    pub archs: ArchSet,
}

impl TcPath {
    /// Every path.
    pub const ALL: [TcPath; 2] = [TcPath::Mma, TcPath::Wgmma];
    /// Name tag.
    pub const fn tag(self) -> &'static str {
        match self {
            TcPath::Mma => "mma",
            TcPath::Wgmma => "wgmma",
        }
    }
    /// Inverse of [`TcPath::tag`].
    pub fn from_tag(t: &str) -> Option<TcPath> {
        TcPath::ALL.into_iter().find(|v| v.tag() == t)
    }
}

impl TcSparsity {
    /// Every sparsity kind.
    pub const ALL: [TcSparsity; 3] = [TcSparsity::Dense, TcSparsity::AOnly, TcSparsity::Joint];
    /// Name tag: `dense`, `a`, `ab`.
    pub const fn tag(self) -> &'static str {
        match self {
            TcSparsity::Dense => "dense",
            TcSparsity::AOnly => "a",
            TcSparsity::Joint => "ab",
        }
    }
    /// Inverse of [`TcSparsity::tag`].
    pub fn from_tag(t: &str) -> Option<TcSparsity> {
        TcSparsity::ALL.into_iter().find(|v| v.tag() == t)
    }
    /// The value of the template's `SPARSITY` constant (0 dense, 1 A-only, 2 joint).
    pub const fn code(self) -> u32 {
        match self {
            TcSparsity::Dense => 0,
            TcSparsity::AOnly => 1,
            TcSparsity::Joint => 2,
        }
    }
}

impl TcPatterns {
    /// Every pattern source.
    pub const ALL: [TcPatterns; 3] = [TcPatterns::None, TcPatterns::Separate, TcPatterns::PreparedB];
    /// Name tag: `none`, `sep`, `offb`.
    pub const fn tag(self) -> &'static str {
        match self {
            TcPatterns::None => "none",
            TcPatterns::Separate => "sep",
            TcPatterns::PreparedB => "offb",
        }
    }
    /// Inverse of [`TcPatterns::tag`].
    pub fn from_tag(t: &str) -> Option<TcPatterns> {
        TcPatterns::ALL.into_iter().find(|v| v.tag() == t)
    }
}

use super::esmm::parse_dims;

impl TcSpec {
    /// Threads per CTA.
    pub const fn threads(&self) -> u32 {
        match self.path {
            TcPath::Mma => {
                if self.wm == 0 || self.wn == 0 {
                    0
                } else {
                    (self.bm / self.wm) * (self.bn / self.wn) * 32
                }
            }
            TcPath::Wgmma => 128 * (self.consumers + 1),
        }
    }

    /// The CTA tile.
    pub const fn cta(&self) -> CtaTile {
        CtaTile { bm: self.bm, bn: self.bn, bk: self.bk }
    }

    /// The epilogue.
    pub const fn epilogue(&self) -> Epilogue {
        Epilogue { activation: self.activation, col_nnz: self.col_nnz }
    }

    /// The same variant with another epilogue.
    pub const fn with_epilogue(self, e: Epilogue) -> TcSpec {
        TcSpec { activation: e.activation, col_nnz: e.col_nnz, ..self }
    }

    /// Whether the GEMM reads an A pattern.
    pub const fn uses_a_pattern(&self) -> bool {
        !matches!(self.sparsity, TcSparsity::Dense)
    }

    /// Whether the GEMM reads a B pattern.
    pub const fn uses_b_pattern(&self) -> bool {
        matches!(self.sparsity, TcSparsity::Joint)
    }

    /// The family part of the name (between the element type and the epilogue).
    fn part(&self) -> String {
        let warps = match self.path {
            TcPath::Mma => format!("w{}x{}", self.wm, self.wn),
            TcPath::Wgmma => format!("c{}", self.consumers),
        };
        let mut s = format!(
            "{}_{}_o{}_{}x{}x{}_{warps}_s{}_r{}",
            self.path.tag(),
            self.sparsity.tag(),
            self.out.tag(),
            self.bm,
            self.bn,
            self.bk,
            self.stages,
            self.group_m
        );
        if self.sparsity != TcSparsity::Dense {
            s += &format!("_g{}x{}x{}_{}", self.a_rows, self.k_gran, self.b_cols, self.patterns.tag());
        }
        s
    }

    /// The procedural name (see the module docs).
    pub fn name(&self) -> String {
        name::compose(Family::Tc, self.dtype, &self.part(), self.epilogue())
    }

    /// Parses a name (the inverse of [`TcSpec::name`]; canonical spelling only); the result
    /// targets [`ArchSet::ALL`] for mma and sm_90 alone for wgmma.
    pub fn from_name(full: &str) -> Result<TcSpec, String> {
        let err = |why: String| format!("`{full}` is not a kernel name: {why}");
        let p = name::decompose(full)?;
        if p.family != Family::Tc {
            return Err(err("it is not a tc name".into()));
        }
        let parts: Vec<&str> = p.part.split('_').collect();
        let mut it = parts.iter().copied();
        let mut next = |what: &str| it.next().ok_or_else(|| err(format!("missing the {what} part")));
        let t = next("path")?;
        let path = TcPath::from_tag(t).ok_or_else(|| err(format!("unknown path `{t}` (expected mma or wgmma)")))?;
        let t = next("sparsity")?;
        let sparsity = TcSparsity::from_tag(t).ok_or_else(|| err(format!("unknown sparsity `{t}` (expected dense, a or ab)")))?;
        let t = next("output type")?;
        let out = t.strip_prefix('o').and_then(ElemType::from_tag).ok_or_else(|| err(format!("output type `{t}` must be o<f32|f16|bf16>")))?;
        let cta = parse_dims(next("CTA tile")?, 3, "bm x bn x bk").map_err(err)?;
        let t = next("warp layout")?;
        let (wm, wn, consumers) = match (path, t.strip_prefix('w'), t.strip_prefix('c')) {
            (TcPath::Mma, Some(w), _) => {
                let w = parse_dims(w, 2, "warp tile wm x wn").map_err(err)?;
                (w[0], w[1], 0)
            }
            (TcPath::Wgmma, _, Some(c)) => (0, 0, c.parse::<u32>().map_err(|_| err(format!("`{t}`: consumers must be a number")))?),
            _ => return Err(err(format!("`{t}`: mma names give w<wm>x<wn>, wgmma names c<consumers>"))),
        };
        let t = next("stages")?;
        let stages = t.strip_prefix('s').and_then(|x| x.parse().ok()).ok_or_else(|| err(format!("stages `{t}` must be s<number>")))?;
        let t = next("rasterisation")?;
        let group_m = t.strip_prefix('r').and_then(|x| x.parse().ok()).ok_or_else(|| err(format!("rasterisation `{t}` must be r<number>")))?;
        let (mut a_rows, mut k_gran, mut b_cols, mut patterns) = (0, 0, 0, TcPatterns::None);
        if sparsity != TcSparsity::Dense {
            let t = next("granularity")?;
            let g = t
                .strip_prefix('g')
                .ok_or_else(|| err(format!("granularity `{t}` must start with `g`")))
                .and_then(|g| parse_dims(g, 3, "a_rows x k_gran x b_cols").map_err(err))?;
            (a_rows, k_gran, b_cols) = (g[0], g[1], g[2]);
            let t = next("pattern source")?;
            patterns = TcPatterns::from_tag(t).ok_or_else(|| err(format!("unknown pattern source `{t}` (expected sep or offb)")))?;
        }
        if let Some(extra) = it.next() {
            return Err(err(format!("unexpected part `{extra}`")));
        }
        let spec = TcSpec {
            path,
            dtype: p.dtype,
            out,
            bm: cta[0],
            bn: cta[1],
            bk: cta[2],
            wm,
            wn,
            consumers,
            stages,
            group_m,
            sparsity,
            a_rows,
            k_gran,
            b_cols,
            patterns,
            activation: p.epilogue.activation,
            col_nnz: p.epilogue.col_nnz,
            archs: TcSpec::default_archs(path),
        };
        if spec.name() != full {
            return Err(err(format!("not in canonical form (expected `{}`)", spec.name())));
        }
        Ok(spec)
    }

    /// The architectures a path's variants target: every one for mma, sm_90 (as sm_90a) for
    /// wgmma.
    pub fn default_archs(path: TcPath) -> ArchSet {
        match path {
            TcPath::Mma => ArchSet::ALL,
            TcPath::Wgmma => ArchSet::from_archs(&[crate::Arch::Sm90]),
        }
    }

    /// Elements per 16-byte vector of the input type: the leading dimensions of A and of the
    /// GEMM's B are multiples of it (the runtime packs other views).
    pub const fn vector_elems(&self) -> u32 {
        16 / self.dtype.size()
    }

    /// Columns of B per bit of the B-pattern stage: `b_cols` when joint; for A-only variants the
    /// stage only scans B for Inf/NaN (the GEMM reads no B pattern) and uses `bn`.
    pub const fn b_pattern_cols(&self) -> u32 {
        if self.b_cols > 0 {
            self.b_cols
        } else {
            self.bn
        }
    }

    /// The launches of the variant, in execution order. Pack stages run only when the runtime
    /// needs them (an unaligned view; B in the wgmma layout without a prepared B). Sparse
    /// variants scan both operands (the NaN/Inf contract: a skipped block must not hide an Inf
    /// of the other operand); the B stage is skipped when a prepared B supplies its result.
    pub fn stages(&self) -> Vec<Stage> {
        let mut v = vec![Stage::PackA, Stage::PackB];
        if self.uses_a_pattern() {
            v.push(Stage::PatternA);
            v.push(Stage::PatternB);
        }
        v.push(Stage::Gemm);
        v
    }
}

/// The parameter list of one stage of a tc variant.
pub fn stage_args(spec: &TcSpec, stage: Stage) -> &'static [Arg] {
    macro_rules! lists {
        ($($t:ident => $e:expr),* $(,)?) => {
            match spec.dtype { $(ElemType::$t => $e,)* }
        };
    }
    // One static list per (stage, input type, output type): the element types are part of the
    // C declarations.
    match stage {
        Stage::Gemm => match spec.path {
            TcPath::Mma => mma_gemm_args(spec.dtype, spec.out),
            TcPath::Wgmma => wgmma_gemm_args(spec.out),
        },
        Stage::PatternA => lists!(F32 => &PATTERN_A_F32, F16 => &PATTERN_A_F16, Bf16 => &PATTERN_A_BF16),
        Stage::PatternB => lists!(F32 => &PATTERN_B_F32, F16 => &PATTERN_B_F16, Bf16 => &PATTERN_B_BF16),
        Stage::PackA => lists!(F32 => &PACK_A_F32, F16 => &PACK_A_F16, Bf16 => &PACK_A_BF16),
        Stage::PackB => lists!(F32 => &PACK_B_F32, F16 => &PACK_B_F16, Bf16 => &PACK_B_BF16),
        // tc variants have no select or scatter stages.
        Stage::Select | Stage::Scatter | Stage::Decode => &[],
    }
}

const fn op(operand: Operand, elem: ElemType, written: bool) -> Arg {
    Arg::Operand { operand, elem, written }
}

const fn packed(operand: Operand, elem: ElemType) -> Arg {
    Arg::Packed { operand, elem }
}

const TAIL: [Arg; 6] = [
    Arg::Pattern(Operand::A),
    Arg::Pattern(Operand::B),
    Arg::ColNnz,
    Arg::Workspace(Workspace::Ctrl),
    Arg::Workspace(Workspace::Ones),
    Arg::Scalar(Scalar::Epoch),
];

macro_rules! mma_list {
    ($name:ident, $in:ident, $out:ident) => {
        const $name: [Arg; 14] = [
            op(Operand::A, ElemType::$in, false),
            op(Operand::B, ElemType::$in, false),
            op(Operand::C, ElemType::$out, true),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::N),
            Arg::Dim(Dim::K),
            Arg::Ld(Operand::A),
            Arg::Ld(Operand::B),
            TAIL[0],
            TAIL[1],
            TAIL[2],
            TAIL[3],
            TAIL[4],
            TAIL[5],
        ];
    };
}
mma_list!(MMA_BF16_BF16, Bf16, Bf16);
mma_list!(MMA_BF16_F16, Bf16, F16);
mma_list!(MMA_BF16_F32, Bf16, F32);
mma_list!(MMA_F16_BF16, F16, Bf16);
mma_list!(MMA_F16_F16, F16, F16);
mma_list!(MMA_F16_F32, F16, F32);
mma_list!(MMA_F32_BF16, F32, Bf16);
mma_list!(MMA_F32_F16, F32, F16);
mma_list!(MMA_F32_F32, F32, F32);

/// The mma GEMM stage's parameters for one (input, output) type pair.
pub const fn mma_gemm_args(input: ElemType, out: ElemType) -> &'static [Arg] {
    use ElemType::*;
    match (input, out) {
        (Bf16, Bf16) => &MMA_BF16_BF16,
        (Bf16, F16) => &MMA_BF16_F16,
        (Bf16, F32) => &MMA_BF16_F32,
        (F16, Bf16) => &MMA_F16_BF16,
        (F16, F16) => &MMA_F16_F16,
        (F16, F32) => &MMA_F16_F32,
        (F32, Bf16) => &MMA_F32_BF16,
        (F32, F16) => &MMA_F32_F16,
        (F32, F32) => &MMA_F32_F32,
    }
}

macro_rules! wgmma_list {
    ($name:ident, $out:ident) => {
        const $name: [Arg; 12] = [
            Arg::TensorMap(Operand::A),
            Arg::TensorMap(Operand::B),
            op(Operand::C, ElemType::$out, true),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::N),
            Arg::Dim(Dim::K),
            TAIL[0],
            TAIL[1],
            TAIL[2],
            TAIL[3],
            TAIL[4],
            TAIL[5],
        ];
    };
}
wgmma_list!(WGMMA_BF16, Bf16);
wgmma_list!(WGMMA_F16, F16);
wgmma_list!(WGMMA_F32, F32);

/// The wgmma GEMM stage's parameters for one output type (the inputs travel in tensor maps).
pub const fn wgmma_gemm_args(out: ElemType) -> &'static [Arg] {
    match out {
        ElemType::Bf16 => &WGMMA_BF16,
        ElemType::F16 => &WGMMA_F16,
        ElemType::F32 => &WGMMA_F32,
    }
}

macro_rules! pattern_lists {
    ($a:ident, $b:ident, $t:ident) => {
        /// A-pattern stage, over A as the user passed it (M×K, contiguous): bit per (A row
        /// group, k-group).
        const $a: [Arg; 6] = [
            op(Operand::A, ElemType::$t, false),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::K),
            Arg::Pattern(Operand::A),
            Arg::Workspace(Workspace::Ctrl),
            Arg::Scalar(Scalar::Epoch),
        ];
        /// B-pattern stage, over B as the user passed it (K×N, contiguous): bit per (B column
        /// group, k-group).
        const $b: [Arg; 6] = [
            op(Operand::B, ElemType::$t, false),
            Arg::Dim(Dim::K),
            Arg::Dim(Dim::N),
            Arg::Pattern(Operand::B),
            Arg::Workspace(Workspace::Ctrl),
            Arg::Scalar(Scalar::Epoch),
        ];
    };
}
pattern_lists!(PATTERN_A_BF16, PATTERN_B_BF16, Bf16);
pattern_lists!(PATTERN_A_F16, PATTERN_B_F16, F16);
pattern_lists!(PATTERN_A_F32, PATTERN_B_F32, F32);

macro_rules! pack_lists {
    ($a:ident, $b:ident, $t:ident) => {
        /// Copies A (M×K, contiguous) into a buffer with leading dimension `lda`, zero-padded.
        const $a: [Arg; 5] = [
            op(Operand::A, ElemType::$t, false),
            packed(Operand::A, ElemType::$t),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::K),
            Arg::Ld(Operand::A),
        ];
        /// Copies B (K×N, contiguous) into the GEMM's B layout with leading dimension `ldb`,
        /// zero-padded: K×ldb for mma, transposed N×ldb for wgmma.
        const $b: [Arg; 5] = [
            op(Operand::B, ElemType::$t, false),
            packed(Operand::B, ElemType::$t),
            Arg::Dim(Dim::K),
            Arg::Dim(Dim::N),
            Arg::Ld(Operand::B),
        ];
    };
}
pack_lists!(PACK_A_BF16, PACK_B_BF16, Bf16);
pack_lists!(PACK_A_F16, PACK_B_F16, F16);
pack_lists!(PACK_A_F32, PACK_B_F32, F32);

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn wgmma_ab() -> TcSpec {
        TcSpec {
            path: TcPath::Wgmma,
            dtype: ElemType::Bf16,
            out: ElemType::Bf16,
            bm: 128,
            bn: 256,
            bk: 64,
            wm: 0,
            wn: 0,
            consumers: 2,
            stages: 4,
            group_m: 8,
            sparsity: TcSparsity::Joint,
            a_rows: 64,
            k_gran: 64,
            b_cols: 128,
            patterns: TcPatterns::PreparedB,
            activation: Activation::None,
            col_nnz: false,
            archs: TcSpec::default_archs(TcPath::Wgmma),
        }
    }

    #[test]
    fn names_round_trip() {
        let s = wgmma_ab();
        assert_eq!(s.name(), "tc_bf16_wgmma_ab_obf16_128x256x64_c2_s4_r8_g64x64x128_offb_none");
        assert_eq!(TcSpec::from_name(&s.name()), Ok(s));
        let mma = TcSpec {
            path: TcPath::Mma,
            dtype: ElemType::F32,
            out: ElemType::F32,
            bk: 32,
            wm: 64,
            wn: 64,
            consumers: 0,
            sparsity: TcSparsity::Dense,
            a_rows: 0,
            k_gran: 0,
            b_cols: 0,
            patterns: TcPatterns::None,
            activation: Activation::Relu2,
            col_nnz: true,
            archs: ArchSet::ALL,
            ..s
        };
        assert_eq!(mma.name(), "tc_f32_mma_dense_of32_128x256x32_w64x64_s4_r8_relu2_nnz");
        assert_eq!(TcSpec::from_name(&mma.name()), Ok(mma));
        for sp in TcSparsity::ALL {
            for pat in [TcPatterns::Separate, TcPatterns::PreparedB] {
                let t = if sp == TcSparsity::Dense { TcSpec { sparsity: sp, a_rows: 0, k_gran: 0, b_cols: 0, patterns: TcPatterns::None, ..s } } else { TcSpec { sparsity: sp, patterns: pat, ..s } };
                assert_eq!(TcSpec::from_name(&t.name()), Ok(t));
            }
        }
        for bad in [
            "tc_bf16_wgmma_ab_obf16_128x256x64_w64x64_s4_r8_g64x64x128_offb_none",
            "tc_bf16_mma_ab_obf16_128x256x64_c2_s4_r8_g64x64x128_offb_none",
            "tc_bf16_wgmma_ab_obf16_128x256x64_c2_s4_r8_none",
            "tc_bf16_wgmma_dense_obf16_128x256x64_c2_s4_r8_g64x64x128_offb_none",
            "tc_bf16_wgmma_ab_of64_128x256x64_c2_s4_r8_g64x64x128_offb_none",
            "tc_bf16_wgmma_ab_obf16_128x256x64_c2_s04_r8_g64x64x128_offb_none",
            "tc_bf16_wgmma_ab_obf16_128x256x64_c2_s4_r8_g64x64x128_offb_x_none",
        ] {
            assert!(TcSpec::from_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stage_lists_follow_the_types() {
        let s = wgmma_ab();
        assert_eq!(stage_args(&s, Stage::Gemm)[2], Arg::Operand { operand: Operand::C, elem: ElemType::Bf16, written: true });
        let m = TcSpec { path: TcPath::Mma, dtype: ElemType::F16, out: ElemType::F32, wm: 64, wn: 64, consumers: 0, ..s };
        let g = stage_args(&m, Stage::Gemm);
        assert_eq!(g[0], Arg::Operand { operand: Operand::A, elem: ElemType::F16, written: false });
        assert_eq!(g[2], Arg::Operand { operand: Operand::C, elem: ElemType::F32, written: true });
        assert_eq!(stage_args(&m, Stage::PackB)[1], Arg::Packed { operand: Operand::B, elem: ElemType::F16 });
        assert_eq!(s.stages(), [Stage::PackA, Stage::PackB, Stage::PatternA, Stage::PatternB, Stage::Gemm]);
    }
}
