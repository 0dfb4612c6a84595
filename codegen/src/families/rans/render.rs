//! Rendering of a validated rans variant through `templates/rans/variant.cu`, and its launches.

use askama::Template;
use esmm_spec::abi::{call_list, signature};
use esmm_spec::families::rans::{gemm_args, RANS_DECODE_ARGS, RANS_TABLE_BYTES, RANS_WARP_BYTES};
use esmm_spec::{GridRule, Launch, RansKind, RansSpec, Stage};

use super::validate::ValidRans;

/// Dynamic shared memory of the decode stage (`ans`): the decode table as {entry, float(code)}
/// pairs, then per warp a word ring and an edge batch (templates/rans/rans.cuh); 0 for `int8`
/// (no decode stage).
pub const fn decode_smem_bytes(s: &RansSpec) -> u32 {
    match s.kind {
        RansKind::Ans => RANS_TABLE_BYTES + s.warps * RANS_WARP_BYTES,
        RansKind::Int8 => 0,
    }
}

/// Dynamic shared memory of the GEMV: `ans` the decode stage's, then the staged x; `int8` the
/// staged x alone.
pub const fn gemm_smem_bytes(s: &RansSpec) -> u32 {
    decode_smem_bytes(s) + s.xs_bytes()
}

/// The template's `LANES`, `TILE_N` and `VEC` (the fixed values the other kind's code compiles
/// with: `int8` 32 and 256, `ans` 16).
pub const fn cfg_shape(s: &RansSpec) -> (u32, u32, u32) {
    match s.kind {
        RansKind::Ans => (s.lanes, s.tile_n, 16),
        RansKind::Int8 => (32, 256, s.vec),
    }
}

#[derive(Template)]
#[template(path = "rans/variant.cu")]
struct VariantTemplate {
    name: String,
    summary: String,
    in_type: &'static str,
    out_type: &'static str,
    kind: u32,
    kind_tag: &'static str,
    lanes: u32,
    tile_n: u32,
    mt: u32,
    vec: u32,
    warps: u32,
    threads: u32,
    xs_bytes: u32,
    entries: Vec<Entry>,
}

/// One `extern "C"` entry point.
struct Entry {
    suffix: &'static str,
    bounds: u32,
    signature: String,
    body: String,
}

/// One-line description printed at the top of the rendered file.
fn summary(s: &RansSpec) -> String {
    let what = match s.kind {
        RansKind::Ans => format!(
            "rANS-coded INT8 weights decoded on the fly ({} states per {}-column tile, {} columns per thread), with a decode stage",
            s.lanes,
            s.tile_n,
            s.tile_n / 32
        ),
        RansKind::Int8 if s.int8_tensor_cores() => "plain INT8 weights on tensor cores (mma.sync, 128 columns per CTA)".to_string(),
        RansKind::Int8 => format!("plain INT8 weights ({} bytes per lane per row)", s.vec),
    };
    format!(
        "{} decode GEMV for M <= {} tokens, {what}, {} output; {} warps per CTA, staged x {} bytes.",
        s.dtype.tag(),
        s.mt,
        s.out.tag(),
        s.warps,
        s.xs_bytes()
    )
}

/// Renders the complete `.cu` translation unit of one variant (without the `@generated` header).
pub fn render(valid: &ValidRans) -> Result<String, String> {
    let s = valid.spec();
    let entries = launches(valid)
        .iter()
        .map(|l| {
            let call = call_list(l.args);
            let body = match (l.stage, s.kind) {
                (Stage::Decode, _) => format!("rs_decode<RansCfg>({call})"),
                (_, RansKind::Ans) => format!("rs_gemv<RansCfg>({call})"),
                (_, RansKind::Int8) => format!("rs_int8<RansCfg>({call})"),
            };
            Entry { suffix: l.stage.suffix(), bounds: l.threads, signature: signature(l.args), body }
        })
        .collect();
    let (lanes, tile_n, vec) = cfg_shape(s);
    let t = VariantTemplate {
        name: s.name(),
        summary: summary(s),
        in_type: s.dtype.cuda_type(),
        out_type: s.out.cuda_type(),
        kind: s.kind.code(),
        kind_tag: s.kind.tag(),
        lanes,
        tile_n,
        mt: s.mt,
        vec,
        warps: s.warps,
        threads: s.threads(),
        xs_bytes: s.xs_bytes(),
        entries,
    };
    let mut text = t.render().map_err(|e| format!("{}: rendering failed: {e}", s.name()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The launches of a variant in order: `ans` the decode stage (run by the op's decode and
/// verify calls only) then the fused GEMV; `int8` the GEMV. The grids are tiles of one row:
/// the op passes m = splits and n = tiles (`ans`, `warps` tiles per CTA) or columns (`int8`,
/// `32 · vec` per CTA).
pub fn launches(valid: &ValidRans) -> Vec<Launch> {
    let s = valid.spec();
    let gemm = |bn: u32| Launch { stage: Stage::Gemm, threads: s.threads(), dynamic_smem: gemm_smem_bytes(s), grid: GridRule::Tiles { bm: 1, bn }, args: gemm_args(s) };
    match s.kind {
        RansKind::Ans => vec![
            Launch { stage: Stage::Decode, threads: s.threads(), dynamic_smem: decode_smem_bytes(s), grid: GridRule::Tiles { bm: 1, bn: s.warps }, args: &RANS_DECODE_ARGS },
            gemm(s.warps),
        ],
        RansKind::Int8 => vec![gemm(s.cta_columns())],
    }
}
