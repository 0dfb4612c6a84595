//! Family `gemv`: decode GEMV, `y[M×·] = x[M×·] · W` for M = 1..16 tokens over bf16 / f16
//! weights with fp32 accumulation on tensor cores (`mma.sync` m16n8k16, the tokens are the rows
//! of the A operand). One [`GemvSpec`] is one point of its variant space
//! (`templates/gemv/gemv.cuh` has the kernel's design).
//!
//! Two weight layouts: `kn` (W is K×N row-major: row k holds what input k feeds, so rows of
//! inputs that are zero for every token are skipped: input sparsity, or a given row list) and
//! `nk` (W is N×K row-major, the `nn.Linear` layout: dense, or only the output rows of a list,
//! optionally gated: interleaved gate/up rows give `SiLU(gate)·up`).
//!
//! Names: `gemv_<dtype>_<layout>_<sparsity>_o<out>_b<block>_k<kw>_u<unroll>_c<cache>[_gated]
//! _<epilogue>`, e.g. `gemv_bf16_kn_in_obf16_b2_k4_u2_c1_none`.

use serde::{Deserialize, Serialize};

use crate::abi::{Arg, Dim, Operand, Scalar, Stage, Workspace};
use crate::common::{Activation, ArchSet, CtaTile, ElemType, Epilogue};
use crate::families::Family;
use crate::name;

/// How the weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GemvLayout {
    /// K×N row-major (row k = the weights input k feeds).
    Kn,
    /// N×K row-major (row n = the weights of output n; `nn.Linear`).
    Nk,
}

/// What the kernel skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GemvSparsity {
    /// Every weight is read.
    Dense,
    /// `kn`: weight rows whose input is zero for every token are skipped (the kernel finds them).
    Input,
    /// `kn`: only the weight rows of an index list are read; x is compact over the list.
    RowList,
    /// `nk`: only the output rows of an index list are computed; y is compact over the list.
    OutList,
}

/// One point of the `gemv` variant space.
///
/// A CTA has `block × kw` warps: `block` column groups (kn: 64 output columns each; nk: 8 output
/// rows each) times `kw` warps that interleave the k steps of a group and add their sums in
/// shared memory. `unroll` steps are in flight per warp; `cache` is the weight loads' cache
/// policy (0 `ld.global.nc`, 1 no L1 allocation + 256-byte L2 prefetch, 2 evict-first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GemvSpec {
    /// Element type of x and W.
    pub dtype: ElemType,
    /// Element type of y.
    pub out: ElemType,
    /// Weight layout.
    pub layout: GemvLayout,
    /// What is skipped.
    pub sparsity: GemvSparsity,
    /// Gated epilogue (`nk`): rows 2i and 2i+1 are gate and up of output i, y = SiLU(gate)·up.
    pub gated: bool,
    /// Column groups per CTA.
    pub block: u32,
    /// Warps per column group.
    pub kw: u32,
    /// Steps in flight per warp.
    pub unroll: u32,
    /// Weight-load cache policy (0, 1, 2).
    pub cache: u32,
    /// Epilogue activation (none when gated).
    pub activation: Activation,
    /// Architectures this variant must be valid for.
    pub archs: ArchSet,
}

impl GemvLayout {
    /// Every layout.
    pub const ALL: [GemvLayout; 2] = [GemvLayout::Kn, GemvLayout::Nk];
    /// Name tag.
    pub const fn tag(self) -> &'static str {
        match self {
            GemvLayout::Kn => "kn",
            GemvLayout::Nk => "nk",
        }
    }
    /// Inverse of [`GemvLayout::tag`].
    pub fn from_tag(t: &str) -> Option<GemvLayout> {
        GemvLayout::ALL.into_iter().find(|v| v.tag() == t)
    }
    /// The template's `LAYOUT` constant.
    pub const fn code(self) -> u32 {
        match self {
            GemvLayout::Kn => 0,
            GemvLayout::Nk => 1,
        }
    }
}

impl GemvSparsity {
    /// Every kind.
    pub const ALL: [GemvSparsity; 4] = [GemvSparsity::Dense, GemvSparsity::Input, GemvSparsity::RowList, GemvSparsity::OutList];
    /// Name tag: `dense`, `in`, `rows`, `outs`.
    pub const fn tag(self) -> &'static str {
        match self {
            GemvSparsity::Dense => "dense",
            GemvSparsity::Input => "in",
            GemvSparsity::RowList => "rows",
            GemvSparsity::OutList => "outs",
        }
    }
    /// Inverse of [`GemvSparsity::tag`].
    pub fn from_tag(t: &str) -> Option<GemvSparsity> {
        GemvSparsity::ALL.into_iter().find(|v| v.tag() == t)
    }
    /// The template's `SPARSITY` constant.
    pub const fn code(self) -> u32 {
        match self {
            GemvSparsity::Dense => 0,
            GemvSparsity::Input => 1,
            GemvSparsity::RowList => 2,
            GemvSparsity::OutList => 3,
        }
    }
    /// Whether the kernel reads an index list.
    pub const fn uses_list(self) -> bool {
        matches!(self, GemvSparsity::RowList | GemvSparsity::OutList)
    }
}

use super::esmm::parse_dims;

/// Most tokens (rows of x) one call takes: the 16 rows of the mma A operand.
pub const GEMV_MAX_M: usize = 16;

impl GemvSpec {
    /// Threads per CTA.
    pub const fn threads(&self) -> u32 {
        32 * self.block * self.kw
    }

    /// Output positions per CTA: kn 64 columns per group; nk 8 rows per group (two rows per
    /// output when gated).
    pub const fn cta_positions(&self) -> u32 {
        match self.layout {
            GemvLayout::Kn => 64 * self.block,
            GemvLayout::Nk => 8 * self.block,
        }
    }

    /// Bytes of dynamic shared memory a launch with `chunk` split positions and `m` tokens uses:
    /// the host mirror of `gemv_smem_bytes` in templates/gemv/gemv.cuh (the kernel traps if the
    /// launch gives it less). The staged x (`m` rows of `ceil64(chunk) + 8` 16-bit elements),
    /// then the kn lists (input-sparse: one per warp, a whole number of warps' worth of its
    /// share; row list: one int per position); or the fp32 reduction buffer of `kw` warps × `m`
    /// tokens × the CTA's positions, which reuses those bytes, whichever is larger.
    pub const fn smem_bytes_for(&self, chunk: u32, m: u32) -> u32 {
        let xstride = chunk.div_ceil(64) * 64 + 8;
        let list_ints = match (self.layout, self.sparsity) {
            (GemvLayout::Kn, GemvSparsity::Input) => self.block * self.kw * (chunk.div_ceil(self.kw).div_ceil(32) * 32),
            (GemvLayout::Kn, GemvSparsity::RowList) => chunk.div_ceil(32) * 32,
            _ => 0,
        };
        let xs = m * xstride * 2 + list_ints * 4;
        let red = self.kw * m * self.cta_positions() * 4;
        if xs > red {
            xs
        } else {
            red
        }
    }

    /// Weight rows per output position (2 when gated).
    pub const fn rows_per_output(&self) -> u32 {
        if self.gated {
            2
        } else {
            1
        }
    }

    /// The CTA "tile" for generic reports: one 16-token row block × its columns × a k step.
    pub const fn cta(&self) -> CtaTile {
        CtaTile { bm: GEMV_MAX_M as u32, bn: self.cta_positions(), bk: 16 }
    }

    /// The epilogue (no column counts in this family).
    pub const fn epilogue(&self) -> Epilogue {
        Epilogue { activation: self.activation, col_nnz: false }
    }

    /// The same variant with another epilogue.
    pub const fn with_epilogue(self, e: Epilogue) -> GemvSpec {
        GemvSpec { activation: e.activation, ..self }
    }

    /// The template's `EPI` constant: 0 none, 1 ReLU, 2 ReLU², 3 gated SiLU·up.
    pub const fn epi_code(&self) -> u32 {
        if self.gated {
            3
        } else {
            match self.activation {
                Activation::None => 0,
                Activation::Relu => 1,
                Activation::Relu2 => 2,
            }
        }
    }

    fn part(&self) -> String {
        let mut s = format!(
            "{}_{}_o{}_b{}_k{}_u{}_c{}",
            self.layout.tag(),
            self.sparsity.tag(),
            self.out.tag(),
            self.block,
            self.kw,
            self.unroll,
            self.cache
        );
        if self.gated {
            s += "_gated";
        }
        s
    }

    /// The procedural name (see the module docs).
    pub fn name(&self) -> String {
        name::compose(Family::Gemv, self.dtype, &self.part(), self.epilogue())
    }

    /// Parses a name (the inverse of [`GemvSpec::name`]; canonical spelling only).
    pub fn from_name(full: &str) -> Result<GemvSpec, String> {
        let err = |why: String| format!("`{full}` is not a kernel name: {why}");
        let p = name::decompose(full)?;
        if p.family != Family::Gemv {
            return Err(err("it is not a gemv name".into()));
        }
        if p.epilogue.col_nnz {
            return Err(err("gemv variants count no columns (`_nnz`)".into()));
        }
        let parts: Vec<&str> = p.part.split('_').collect();
        let mut it = parts.iter().copied();
        let mut next = |what: &str| it.next().ok_or_else(|| err(format!("missing the {what} part")));
        let t = next("layout")?;
        let layout = GemvLayout::from_tag(t).ok_or_else(|| err(format!("unknown layout `{t}` (expected kn or nk)")))?;
        let t = next("sparsity")?;
        let sparsity = GemvSparsity::from_tag(t).ok_or_else(|| err(format!("unknown sparsity `{t}` (expected dense, in, rows or outs)")))?;
        let t = next("output type")?;
        let out = t.strip_prefix('o').and_then(ElemType::from_tag).ok_or_else(|| err(format!("output type `{t}` must be o<f32|f16|bf16>")))?;
        let mut num = |prefix: char, what: &str| -> Result<u32, String> {
            let t = next(what)?;
            t.strip_prefix(prefix)
                .and_then(|x| parse_dims(x, 1, what).ok())
                .map(|v| v[0])
                .ok_or_else(|| err(format!("{what} `{t}` must be {prefix}<number>")))
        };
        let block = num('b', "block")?;
        let kw = num('k', "warps per group")?;
        let unroll = num('u', "unroll")?;
        let cache = num('c', "cache policy")?;
        let gated = match it.next() {
            None => false,
            Some("gated") => true,
            Some(extra) => return Err(err(format!("unexpected part `{extra}`"))),
        };
        if let Some(extra) = it.next() {
            return Err(err(format!("unexpected part `{extra}`")));
        }
        let spec = GemvSpec { dtype: p.dtype, out, layout, sparsity, gated, block, kw, unroll, cache, activation: p.epilogue.activation, archs: ArchSet::ALL };
        if spec.name() != full {
            return Err(err(format!("not in canonical form (expected `{}`)", spec.name())));
        }
        Ok(spec)
    }
}

const fn op(operand: Operand, elem: ElemType, written: bool) -> Arg {
    Arg::Operand { operand, elem, written }
}

macro_rules! gemv_list {
    ($name:ident, $in:ident, $out:ident) => {
        const $name: [Arg; 15] = [
            op(Operand::A, ElemType::$in, false),
            Arg::Ld(Operand::A),
            op(Operand::B, ElemType::$in, false),
            Arg::Ld(Operand::B),
            op(Operand::C, ElemType::$out, true),
            Arg::Ld(Operand::C),
            Arg::Index,
            Arg::IndexCount,
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::N),
            Arg::Dim(Dim::K),
            Arg::Scalar(Scalar::Chunk),
            Arg::Workspace(Workspace::Partials),
            Arg::Workspace(Workspace::Counters),
            Arg::Pattern(Operand::A),
        ];
    };
}
gemv_list!(GEMV_BF16_BF16, Bf16, Bf16);
gemv_list!(GEMV_BF16_F16, Bf16, F16);
gemv_list!(GEMV_BF16_F32, Bf16, F32);
gemv_list!(GEMV_F16_BF16, F16, Bf16);
gemv_list!(GEMV_F16_F16, F16, F16);
gemv_list!(GEMV_F16_F32, F16, F32);
gemv_list!(GEMV_F32_BF16, F32, Bf16);
gemv_list!(GEMV_F32_F16, F32, F16);
gemv_list!(GEMV_F32_F32, F32, F32);

/// The select stage of output-list variants: scores `M × N` → the active outputs.
pub const SELECT_ARGS: [Arg; 6] = [Arg::Scores, Arg::Dim(Dim::M), Arg::Dim(Dim::N), Arg::Scalar(Scalar::Threshold), Arg::Scalar(Scalar::TopK), Arg::ListOut];

/// The scatter stage of output-list variants: staged weight records → their cache slots.
pub const SCATTER_ARGS: [Arg; 5] = [Arg::Staging, Arg::Dest, Arg::Index, Arg::Scalar(Scalar::Records), Arg::Scalar(Scalar::RecordBytes)];

/// The launches of a variant, in order: output-list variants have a select and a scatter stage
/// (run only by the sparse MLP and the weight cache) before the GEMV.
pub fn stages(s: &GemvSpec) -> Vec<Stage> {
    if s.sparsity == GemvSparsity::OutList {
        vec![Stage::Select, Stage::Scatter, Stage::Gemm]
    } else {
        vec![Stage::Gemm]
    }
}

/// The parameter list of the GEMV launch of a gemv variant: x, ldx, W, ldw, y, ldy, the index
/// list and its device-side count, M, N, K (the problem's meaning per layout is in
/// docs/ARCHITECTURE.md), the split chunk, the split-K partials and tickets, and the pattern
/// words of x that input-sparse variants write when given (the runtime's density observation).
pub const fn gemv_args(input: ElemType, out: ElemType) -> &'static [Arg] {
    use ElemType::*;
    match (input, out) {
        (Bf16, Bf16) => &GEMV_BF16_BF16,
        (Bf16, F16) => &GEMV_BF16_F16,
        (Bf16, F32) => &GEMV_BF16_F32,
        (F16, Bf16) => &GEMV_F16_BF16,
        (F16, F16) => &GEMV_F16_F16,
        (F16, F32) => &GEMV_F16_F32,
        (F32, Bf16) => &GEMV_F32_BF16,
        (F32, F16) => &GEMV_F32_F16,
        (F32, F32) => &GEMV_F32_F32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn kn_input() -> GemvSpec {
        GemvSpec {
            dtype: ElemType::Bf16,
            out: ElemType::Bf16,
            layout: GemvLayout::Kn,
            sparsity: GemvSparsity::Input,
            gated: false,
            block: 2,
            kw: 4,
            unroll: 2,
            cache: 1,
            activation: Activation::None,
            archs: ArchSet::ALL,
        }
    }

    #[test]
    fn names_round_trip() {
        let s = kn_input();
        assert_eq!(s.name(), "gemv_bf16_kn_in_obf16_b2_k4_u2_c1_none");
        assert_eq!(GemvSpec::from_name(&s.name()), Ok(s));
        let g = GemvSpec { layout: GemvLayout::Nk, sparsity: GemvSparsity::OutList, gated: true, out: ElemType::F32, ..s };
        assert_eq!(g.name(), "gemv_bf16_nk_outs_of32_b2_k4_u2_c1_gated_none");
        assert_eq!(GemvSpec::from_name(&g.name()), Ok(g));
        for sp in GemvSparsity::ALL {
            for a in Activation::ALL {
                let t = GemvSpec { sparsity: sp, activation: a, ..s };
                assert_eq!(GemvSpec::from_name(&t.name()), Ok(t));
            }
        }
        for bad in [
            "gemv_bf16_kx_in_obf16_b2_k4_u2_c1_none",
            "gemv_bf16_kn_in_obf16_b2_k4_u2_none",
            "gemv_bf16_kn_in_obf16_b2_k4_u2_c1_x_none",
            "gemv_bf16_kn_in_obf16_b02_k4_u2_c1_none",
            "gemv_bf16_kn_in_obf16_b2_k4_u2_c1_none_nnz",
            "gemv_bf16_kn_in_obf16_b2_k4_u2_c1_gated_x_none",
        ] {
            assert!(GemvSpec::from_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn argument_lists_follow_the_types() {
        let a = gemv_args(ElemType::F16, ElemType::F32);
        assert_eq!(a[0], Arg::Operand { operand: Operand::A, elem: ElemType::F16, written: false });
        assert_eq!(a[4], Arg::Operand { operand: Operand::C, elem: ElemType::F32, written: true });
        assert_eq!(a.len(), 15);
        assert_eq!(a[14], Arg::Pattern(Operand::A));
    }
}
