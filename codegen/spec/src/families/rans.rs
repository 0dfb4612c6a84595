//! Family `rans`: decode GEMV, `y[M×N] = x[M×K] · W` for M = 1..16 tokens over INT8 weights
//! (per-column fp32 scales) with fp32 accumulation on CUDA cores, in two kinds:
//! - `ans`: the weights are an rANS-coded container (docs/CODEC.md: 32 or 64 interleaved
//!   states per `tile_k × tile_n` tile) decoded on the fly inside the GEMV, with a standalone
//!   decode stage (decode into INT8, or verify the streams);
//! - `int8`: the plain INT8 GEMV over `K × ld` row-major codes (the baseline the entropy coder
//!   must beat).
//!
//! One [`RansSpec`] is one point of its variant space (`templates/rans/rans.cuh` has the
//! kernels' design).
//!
//! Names: `rans_<dtype>_ans_o<out>_l<lanes>_n<tile_n>_m<mt>_w<warps>_<epilogue>` and
//! `rans_<dtype>_int8_o<out>_v<vec>_m<mt>_w<warps>_<epilogue>`, e.g.
//! `rans_bf16_ans_obf16_l32_n256_m1_w8_none`, `rans_bf16_int8_obf16_v16_m1_w4_none`.

use serde::{Deserialize, Serialize};

use crate::abi::{Arg, Dim, Operand, Scalar, Workspace};
use crate::common::{Activation, ArchSet, CtaTile, ElemType, Epilogue};
use crate::families::Family;
use crate::name;

use super::esmm::parse_dims;

/// What the weights are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RansKind {
    /// rANS-coded INT8 weights (a container), decoded on the fly in the GEMV.
    Ans,
    /// Plain INT8 weights.
    Int8,
}

impl RansKind {
    /// Every kind.
    pub const ALL: [RansKind; 2] = [RansKind::Ans, RansKind::Int8];
    /// Name tag: `ans`, `int8`.
    pub const fn tag(self) -> &'static str {
        match self {
            RansKind::Ans => "ans",
            RansKind::Int8 => "int8",
        }
    }
    /// Inverse of [`RansKind::tag`].
    pub fn from_tag(t: &str) -> Option<RansKind> {
        RansKind::ALL.into_iter().find(|v| v.tag() == t)
    }
    /// The template's `KIND` constant: 1 fused rANS GEMV, 2 plain INT8 GEMV (0, the standalone
    /// decode, is a stage of the `ans` variants, not a kind).
    pub const fn code(self) -> u32 {
        match self {
            RansKind::Ans => 1,
            RansKind::Int8 => 2,
        }
    }
}

/// One point of the `rans` variant space.
///
/// A CTA has `warps` warps. `ans`: warp w decodes the tiles of one column of tiles (its `tile_n`
/// columns, `tile_n / 32` per lane) over the CTA's k split, with `lanes / 32` rANS states per
/// thread. `int8`: warp w owns `32 · vec` columns (`vec` bytes per lane per row).
/// `mt` is the token bucket: the accumulators per column, so the variant serves M ≤ `mt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RansSpec {
    /// Element type of x (bf16 or f16).
    pub dtype: ElemType,
    /// Element type of y (bf16, f16, f32).
    pub out: ElemType,
    /// What the weights are.
    pub kind: RansKind,
    /// `ans`: interleaved rANS states per tile of the container (32 or 64); `int8`: 0.
    pub lanes: u32,
    /// `ans`: the container's tile width (64, 128, 256; a multiple of `lanes`); `int8`: 0.
    pub tile_n: u32,
    /// Token bucket: serves M ≤ `mt` (1, 2, 4, 8, 16).
    pub mt: u32,
    /// `int8`: bytes per lane per row (4, 8, 16); `ans`: 0.
    pub vec: u32,
    /// Warps per CTA (1..=16).
    pub warps: u32,
    /// Epilogue activation (none only).
    pub activation: Activation,
    /// Architectures this variant must be valid for.
    pub archs: ArchSet,
}

/// Most tokens (rows of x) one call takes.
pub const RANS_MAX_M: usize = 16;

/// Shared memory of the decode table in the CTA: 4096 slots × {entry, float(code)}
/// (`RS_TABLE_BYTES` of templates/rans/rans.cuh).
pub const RANS_TABLE_BYTES: u32 = 32768;

/// Shared memory per warp of the `ans` kernels: a 2 KB word ring and a 256-byte edge batch.
pub const RANS_WARP_BYTES: u32 = 2048 + 256;

/// Most staged-x bytes of a CTA.
pub const RANS_XS_MAX: u32 = 32768;

impl RansSpec {
    /// Threads per CTA.
    pub const fn threads(&self) -> u32 {
        32 * self.warps
    }

    /// Shared-memory budget of the staged x (bytes): fp32 rows of `mt` tokens, at most 2048
    /// rows and at most [`RANS_XS_MAX`] bytes.
    pub const fn xs_bytes(&self) -> u32 {
        let want = 4 * self.mt * 2048;
        if want < RANS_XS_MAX {
            want
        } else {
            RANS_XS_MAX
        }
    }

    /// Whether an `int8` variant runs on tensor cores: vec 4 with a token bucket of 4 or more
    /// (mma.sync m16n8k16 with the tokens as the A rows; a warp takes 128 columns, the CTA's
    /// `32 · vec`). The others multiply on CUDA cores (fp32 FMA per token).
    pub const fn int8_tensor_cores(&self) -> bool {
        matches!(self.kind, RansKind::Int8) && self.vec == 4 && self.mt >= 4
    }

    /// Output columns per CTA: `ans` `warps · tile_n` (a tile column per warp); `int8`
    /// `32 · vec` (the warps split the CTA's rows and add their sums in shared memory).
    pub const fn cta_columns(&self) -> u32 {
        match self.kind {
            RansKind::Ans => self.warps * self.tile_n,
            RansKind::Int8 => 32 * self.vec,
        }
    }

    /// The CTA "tile" for generic reports: the token bucket × the CTA's columns × one row.
    pub const fn cta(&self) -> CtaTile {
        CtaTile { bm: self.mt, bn: self.cta_columns(), bk: 1 }
    }

    /// The epilogue (no column counts in this family).
    pub const fn epilogue(&self) -> Epilogue {
        Epilogue { activation: self.activation, col_nnz: false }
    }

    /// The same variant with another epilogue.
    pub const fn with_epilogue(self, e: Epilogue) -> RansSpec {
        RansSpec { activation: e.activation, ..self }
    }

    fn part(&self) -> String {
        match self.kind {
            RansKind::Ans => format!("ans_o{}_l{}_n{}_m{}_w{}", self.out.tag(), self.lanes, self.tile_n, self.mt, self.warps),
            RansKind::Int8 => format!("int8_o{}_v{}_m{}_w{}", self.out.tag(), self.vec, self.mt, self.warps),
        }
    }

    /// The procedural name (see the module docs).
    pub fn name(&self) -> String {
        name::compose(Family::Rans, self.dtype, &self.part(), self.epilogue())
    }

    /// Parses a name (the inverse of [`RansSpec::name`]; canonical spelling only).
    pub fn from_name(full: &str) -> Result<RansSpec, String> {
        let err = |why: String| format!("`{full}` is not a kernel name: {why}");
        let p = name::decompose(full)?;
        if p.family != Family::Rans {
            return Err(err("it is not a rans name".into()));
        }
        if p.epilogue.col_nnz {
            return Err(err("rans variants count no columns (`_nnz`)".into()));
        }
        let parts: Vec<&str> = p.part.split('_').collect();
        let mut it = parts.iter().copied();
        let mut next = |what: &str| it.next().ok_or_else(|| err(format!("missing the {what} part")));
        let t = next("kind")?;
        let kind = RansKind::from_tag(t).ok_or_else(|| err(format!("unknown kind `{t}` (expected ans or int8)")))?;
        let t = next("output type")?;
        let out = t.strip_prefix('o').and_then(ElemType::from_tag).ok_or_else(|| err(format!("output type `{t}` must be o<f32|f16|bf16>")))?;
        let mut num = |prefix: char, what: &str| -> Result<u32, String> {
            let t = next(what)?;
            t.strip_prefix(prefix)
                .and_then(|x| parse_dims(x, 1, what).ok())
                .map(|v| v[0])
                .ok_or_else(|| err(format!("{what} `{t}` must be {prefix}<number>")))
        };
        let (lanes, tile_n, vec) = match kind {
            RansKind::Ans => (num('l', "lanes")?, num('n', "tile width")?, 0),
            RansKind::Int8 => (0, 0, num('v', "vector width")?),
        };
        let mt = num('m', "token bucket")?;
        let warps = num('w', "warps")?;
        if let Some(extra) = it.next() {
            return Err(err(format!("unexpected part `{extra}`")));
        }
        let spec = RansSpec { dtype: p.dtype, out, kind, lanes, tile_n, mt, vec, warps, activation: p.epilogue.activation, archs: ArchSet::ALL };
        if spec.name() != full {
            return Err(err(format!("not in canonical form (expected `{}`)", spec.name())));
        }
        Ok(spec)
    }
}

const fn op(operand: Operand, elem: ElemType, written: bool) -> Arg {
    Arg::Operand { operand, elem, written }
}

/// The decode stage of `ans` variants: the container (decode table, tile records, word stream)
/// → INT8 codes `K × ldb` (null: verify only); tiles failing the end checks are added to
/// `status[0]` (null: not reported).
pub const RANS_DECODE_ARGS: [Arg; 10] = [
    Arg::RansTable,
    Arg::RansTiles,
    Arg::RansWords,
    Arg::Scalar(Scalar::Words),
    Arg::Dim(Dim::K),
    Arg::Dim(Dim::N),
    Arg::Scalar(Scalar::TileK),
    Arg::Codes { written: true },
    Arg::Ld(Operand::B),
    Arg::Status,
];

macro_rules! rans_lists {
    ($ans:ident, $int8:ident, $in:ident, $out:ident) => {
        const $ans: [Arg; 16] = [
            op(Operand::A, ElemType::$in, false),
            Arg::Ld(Operand::A),
            Arg::RansTable,
            Arg::RansTiles,
            Arg::RansWords,
            Arg::Scalar(Scalar::Words),
            Arg::Scales,
            op(Operand::C, ElemType::$out, true),
            Arg::Ld(Operand::C),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::N),
            Arg::Dim(Dim::K),
            Arg::Scalar(Scalar::TileK),
            Arg::Scalar(Scalar::Chunk),
            Arg::Workspace(Workspace::Partials),
            Arg::Workspace(Workspace::Counters),
        ];
        const $int8: [Arg; 13] = [
            op(Operand::A, ElemType::$in, false),
            Arg::Ld(Operand::A),
            Arg::Codes { written: false },
            Arg::Ld(Operand::B),
            Arg::Scales,
            op(Operand::C, ElemType::$out, true),
            Arg::Ld(Operand::C),
            Arg::Dim(Dim::M),
            Arg::Dim(Dim::N),
            Arg::Dim(Dim::K),
            Arg::Scalar(Scalar::Chunk),
            Arg::Workspace(Workspace::Partials),
            Arg::Workspace(Workspace::Counters),
        ];
    };
}
rans_lists!(ANS_BF16_BF16, INT8_BF16_BF16, Bf16, Bf16);
rans_lists!(ANS_BF16_F16, INT8_BF16_F16, Bf16, F16);
rans_lists!(ANS_BF16_F32, INT8_BF16_F32, Bf16, F32);
rans_lists!(ANS_F16_BF16, INT8_F16_BF16, F16, Bf16);
rans_lists!(ANS_F16_F16, INT8_F16_F16, F16, F16);
rans_lists!(ANS_F16_F32, INT8_F16_F32, F16, F32);
rans_lists!(ANS_F32_BF16, INT8_F32_BF16, F32, Bf16);
rans_lists!(ANS_F32_F16, INT8_F32_F16, F32, F16);
rans_lists!(ANS_F32_F32, INT8_F32_F32, F32, F32);

/// The parameter list of the fused rANS GEMV (`ans` variants' GEMM stage): x, ldx, the
/// container (decode table, tile records, word stream and its length), the per-column scales,
/// y, ldy, M, N, K, the container's tile height, the split chunk (k-tiles per grid row), and the
/// split-K partials and tickets.
pub const fn rans_gemv_args(input: ElemType, out: ElemType) -> &'static [Arg] {
    use ElemType::*;
    match (input, out) {
        (Bf16, Bf16) => &ANS_BF16_BF16,
        (Bf16, F16) => &ANS_BF16_F16,
        (Bf16, F32) => &ANS_BF16_F32,
        (F16, Bf16) => &ANS_F16_BF16,
        (F16, F16) => &ANS_F16_F16,
        (F16, F32) => &ANS_F16_F32,
        (F32, Bf16) => &ANS_F32_BF16,
        (F32, F16) => &ANS_F32_F16,
        (F32, F32) => &ANS_F32_F32,
    }
}

/// The parameter list of the plain INT8 GEMV (`int8` variants): x, ldx, the codes and their
/// row stride, the per-column scales, y, ldy, M, N, K, the split chunk (rows per grid row), and
/// the split-K partials and tickets.
pub const fn int8_gemv_args(input: ElemType, out: ElemType) -> &'static [Arg] {
    use ElemType::*;
    match (input, out) {
        (Bf16, Bf16) => &INT8_BF16_BF16,
        (Bf16, F16) => &INT8_BF16_F16,
        (Bf16, F32) => &INT8_BF16_F32,
        (F16, Bf16) => &INT8_F16_BF16,
        (F16, F16) => &INT8_F16_F16,
        (F16, F32) => &INT8_F16_F32,
        (F32, Bf16) => &INT8_F32_BF16,
        (F32, F16) => &INT8_F32_F16,
        (F32, F32) => &INT8_F32_F32,
    }
}

/// The GEMM-stage parameter list of a variant.
pub const fn gemm_args(s: &RansSpec) -> &'static [Arg] {
    match s.kind {
        RansKind::Ans => rans_gemv_args(s.dtype, s.out),
        RansKind::Int8 => int8_gemv_args(s.dtype, s.out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ans() -> RansSpec {
        RansSpec {
            dtype: ElemType::Bf16,
            out: ElemType::Bf16,
            kind: RansKind::Ans,
            lanes: 32,
            tile_n: 256,
            mt: 1,
            vec: 0,
            warps: 8,
            activation: Activation::None,
            archs: ArchSet::ALL,
        }
    }

    #[test]
    fn names_round_trip() {
        let s = ans();
        assert_eq!(s.name(), "rans_bf16_ans_obf16_l32_n256_m1_w8_none");
        assert_eq!(RansSpec::from_name(&s.name()), Ok(s));
        let i = RansSpec { kind: RansKind::Int8, lanes: 0, tile_n: 0, vec: 16, mt: 4, warps: 4, out: ElemType::F32, dtype: ElemType::F16, ..s };
        assert_eq!(i.name(), "rans_f16_int8_of32_v16_m4_w4_none");
        assert_eq!(RansSpec::from_name(&i.name()), Ok(i));
        for a in Activation::ALL {
            for t in [RansSpec { activation: a, ..s }, RansSpec { activation: a, ..i }] {
                assert_eq!(RansSpec::from_name(&t.name()), Ok(t));
            }
        }
        for bad in [
            "rans_bf16_anx_obf16_l32_n256_m1_w8_none",
            "rans_bf16_ans_obf16_l32_n256_m1_none",
            "rans_bf16_ans_obf16_l32_n256_m1_w8_x_none",
            "rans_bf16_ans_obf16_l32_n0256_m1_w8_none",
            "rans_bf16_ans_obf16_l32_n256_m1_w8_none_nnz",
            "rans_bf16_ans_obf16_v16_m1_w8_none",
            "rans_bf16_int8_obf16_l32_n256_m1_w8_none",
            "rans_bf16_int8_obf16_v16_m1_w4_x_none",
            "rans_bf16_int8_o_v16_m1_w4_none",
            "gemv_bf16_int8_obf16_v16_m1_w4_none",
        ] {
            assert!(RansSpec::from_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn budgets() {
        let s = ans();
        assert_eq!(s.threads(), 256);
        assert_eq!(s.xs_bytes(), 8192);
        assert_eq!(RansSpec { mt: 4, ..s }.xs_bytes(), 32768);
        assert_eq!(RansSpec { mt: 16, ..s }.xs_bytes(), 32768);
        assert_eq!(s.cta(), CtaTile { bm: 1, bn: 2048, bk: 1 });
    }

    #[test]
    fn argument_lists_follow_the_types() {
        let a = rans_gemv_args(ElemType::F16, ElemType::F32);
        assert_eq!(a[0], Arg::Operand { operand: Operand::A, elem: ElemType::F16, written: false });
        assert_eq!(a[7], Arg::Operand { operand: Operand::C, elem: ElemType::F32, written: true });
        assert_eq!(a.len(), 16);
        let a = int8_gemv_args(ElemType::Bf16, ElemType::F16);
        assert_eq!(a[0], Arg::Operand { operand: Operand::A, elem: ElemType::Bf16, written: false });
        assert_eq!(a[2], Arg::Codes { written: false });
        assert_eq!(a[5], Arg::Operand { operand: Operand::C, elem: ElemType::F16, written: true });
        assert_eq!(a.len(), 13);
        assert_eq!(RANS_DECODE_ARGS[7], Arg::Codes { written: true });
        assert_eq!(gemm_args(&ans()).len(), 16);
    }
}
