//! Rendering of a validated tc variant through `templates/tc/variant.cu`, and its launches.
//! The template prints the spec as the members of `struct TcCfg`, includes the device code
//! (`templates/tc/*.cuh`) and ends with one `extern "C"` entry point per stage, whose parameter
//! list is rendered from the ABI data ([`stage_args`]).

use askama::Template;
use esmm_spec::abi::{call_list, signature, Operand};
use esmm_spec::families::tc::stage_args;
use esmm_spec::{Activation, ElemType, GridRule, Launch, Stage, TcPath, TcPatterns, TcSparsity, TcSpec};

use super::layout::{gemm_smem_bytes, PATTERN_THREADS, SIDE_THREADS};
use super::validate::ValidTc;

/// One `extern "C"` entry point.
struct Entry {
    suffix: &'static str,
    bounds: String,
    signature: String,
    body: String,
}

/// The askama context of `templates/tc/variant.cu`.
#[derive(Template)]
#[template(path = "tc/variant.cu")]
struct VariantTemplate {
    name: String,
    summary: String,
    wgmma: bool,
    tf32: bool,
    in_type: &'static str,
    out_type: &'static str,
    bm: u32,
    bn: u32,
    bk: u32,
    wm: u32,
    wn: u32,
    consumers: u32,
    threads: u32,
    stages: u32,
    group_m: u32,
    sparsity: u32,
    a_rows: u32,
    k_gran: u32,
    b_cols: u32,
    activation: u32,
    col_nnz: bool,
    smem_bytes: u32,
    entries: Vec<Entry>,
}

/// One-line description printed at the top of the rendered file.
fn summary(s: &TcSpec) -> String {
    let path = match s.path {
        TcPath::Mma => format!("mma.sync, {}x{} warp tiles", s.wm, s.wn),
        TcPath::Wgmma => format!("wgmma + TMA, {} consumer warpgroup(s)", s.consumers),
    };
    let math = if s.dtype == ElemType::F32 { "TF32".to_string() } else { s.dtype.tag().to_string() };
    let what = match s.sparsity {
        TcSparsity::Dense => "dense GEMM".to_string(),
        TcSparsity::AOnly => format!("A-sparse GEMM, A blocks {} rows x {} k", s.a_rows, s.k_gran),
        TcSparsity::Joint => format!("joint A+B sparse GEMM, A blocks {} rows x {} k, B blocks {} k x {} columns", s.a_rows, s.k_gran, s.k_gran, s.b_cols),
    };
    let pre = match s.patterns {
        TcPatterns::None => "",
        TcPatterns::Separate => ", patterns from separate launches",
        TcPatterns::PreparedB => ", A pattern from a separate launch, B pattern prepared offline",
    };
    let act = match s.activation {
        Activation::None => "",
        Activation::Relu => ", ReLU epilogue",
        Activation::Relu2 => ", ReLU^2 epilogue",
    };
    let nnz = if s.col_nnz { ", per-column nonzero counts" } else { "" };
    format!("{math} {what} ({path}), {} output{pre}{act}{nnz}.", s.out.tag())
}

/// The device call an entry point makes.
fn body(s: &TcSpec, stage: Stage) -> String {
    let args = call_list(stage_args(s, stage));
    match (stage, s.path) {
        (Stage::Gemm, TcPath::Wgmma) => {
            // Tensor maps are passed on by address (they are __grid_constant__ parameters).
            format!("tc_wgmma_gemm<TcCfg>({})", args.replace("tmap_a", "&tmap_a").replace("tmap_b", "&tmap_b"))
        }
        (Stage::Gemm, TcPath::Mma) => format!("tc_mma_gemm<TcCfg>({args})"),
        (Stage::PatternA, _) => format!("tc_pattern_a<TcCfg>({args})"),
        (Stage::PatternB, _) => format!("tc_pattern_b<TcCfg>({args})"),
        (Stage::PackA, _) => format!("tc_pack_a<TcCfg>({args})"),
        (Stage::PackB, _) => format!("tc_pack_b<TcCfg>({args})"),
        (Stage::Select | Stage::Scatter | Stage::Decode, _) => unreachable!("tc variants have no select, scatter or decode stage"),
    }
}

/// Renders the complete `.cu` translation unit of one variant (without the `@generated`
/// header).
pub fn render(valid: &ValidTc) -> Result<String, String> {
    let s = valid.spec();
    let dense = s.sparsity == TcSparsity::Dense;
    let entries = launches(valid)
        .iter()
        .map(|l| Entry {
            suffix: l.stage.suffix(),
            bounds: match (l.stage, s.path) {
                (Stage::Gemm, TcPath::Wgmma) => format!("{}, 1", l.threads),
                (Stage::Gemm, TcPath::Mma) => format!("{}, {}", l.threads, super::layout::mma_min_blocks(s)),
                _ => l.threads.to_string(),
            },
            signature: signature(l.args),
            body: body(s, l.stage),
        })
        .collect();
    let t = VariantTemplate {
        name: s.name(),
        summary: summary(s),
        wgmma: s.path == TcPath::Wgmma,
        tf32: s.dtype == ElemType::F32,
        in_type: s.dtype.cuda_type(),
        out_type: s.out.cuda_type(),
        bm: s.bm,
        bn: s.bn,
        bk: s.bk,
        wm: s.wm,
        wn: s.wn,
        consumers: s.consumers,
        threads: s.threads(),
        stages: s.stages,
        group_m: s.group_m,
        sparsity: s.sparsity.code(),
        // Dense variants read no pattern; harmless tile-sized values keep the constants usable.
        a_rows: if dense { s.bm } else { s.a_rows },
        k_gran: if dense { s.bk } else { s.k_gran },
        b_cols: if dense { s.bn } else { s.b_pattern_cols() },
        activation: match s.activation {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::Relu2 => 2,
        },
        col_nnz: s.col_nnz,
        smem_bytes: gemm_smem_bytes(s),
        entries,
    };
    let mut text = t.render().map_err(|e| format!("{}: rendering failed: {e}", s.name()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The launches of one variant in execution order (pack stages, pattern stages, GEMM); the
/// runtime skips the pack stages it does not need and the B pattern when prepared.
pub fn launches(valid: &ValidTc) -> Vec<Launch> {
    let s = valid.spec();
    s.stages()
        .into_iter()
        .map(|stage| {
            let (threads, dynamic_smem, grid) = match stage {
                Stage::PackA => (SIDE_THREADS, 0, GridRule::PackTiles { operand: Operand::A }),
                Stage::PackB => (SIDE_THREADS, 0, GridRule::PackTiles { operand: Operand::B }),
                Stage::PatternA => (PATTERN_THREADS, 0, GridRule::PatternBlocks { operand: Operand::A, rows: s.a_rows, k_gran: s.k_gran }),
                Stage::PatternB => (PATTERN_THREADS, 0, GridRule::PatternBlocks { operand: Operand::B, rows: s.b_pattern_cols(), k_gran: s.k_gran }),
                Stage::Gemm => (s.threads(), gemm_smem_bytes(s), GridRule::Tiles { bm: s.bm, bn: s.bn }),
                Stage::Select | Stage::Scatter | Stage::Decode => unreachable!("TcSpec::stages lists no select, scatter or decode stage"),
            };
            Launch { stage, threads, dynamic_smem, grid, args: stage_args(s, stage) }
        })
        .collect()
}
