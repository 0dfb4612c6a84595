//! Rendering of a validated esmm variant through the askama templates, and the launches that
//! go with the rendered kernels.
//!
//! One template (`templates/esmm/variant.cu`) renders every variant: it emits the spec as
//! `constexpr` parameters, includes the device code (`templates/esmm/*.cuh` and the pieces shared
//! with other families in `templates/common/*.cuh`), which is generic CUDA over those
//! parameters, and ends with the `extern "C"` entry points, whose parameter lists are rendered
//! from the ABI data ([`GEMM_ARGS`], [`PATTERN_A_ARGS`], [`PATTERN_B_ARGS`]). The geometry
//! (main loop, ring depth, shared memory) comes from [`super::layout`].

use askama::Template;
use esmm_spec::abi::{call_list, signature};
use esmm_spec::families::esmm::{stage_args, GEMM_ARGS, PATTERN_A_ARGS, PATTERN_B_ARGS};
use esmm_spec::{Activation, EsmmSpec, GridRule, Launch, Preprocess, SkipStyle, Sparsity, Stage};

use super::layout::{self, PATTERN_THREADS};
use super::validate::ValidEsmm;

/// The askama context of `templates/esmm/variant.cu`: every value the template prints.
#[derive(Template)]
#[template(path = "esmm/variant.cu")]
struct VariantTemplate {
    name: String,
    summary: String,
    bm: u32,
    bn: u32,
    bk: u32,
    wm: u32,
    wn: u32,
    wniter: u32,
    wmiter: u32,
    tm: u32,
    tn: u32,
    threads: u32,
    min_blocks: u32,
    a_sparse: bool,
    b_sparse: bool,
    ga: u32,
    gb: u32,
    extract_a: bool,
    extract_b: bool,
    persistent: bool,
    /// One-sided persistent variant: its grid also scans the dense operand for Inf/NaN.
    scan_dense: bool,
    branchless: bool,
    activation: u32,
    col_nnz: bool,
    smem_bytes: u32,
    stages: u32,
    warp_pipe: bool,
    wp_b_fast: bool,
    separate_a: bool,
    separate_b: bool,
    pattern_threads: u32,
    gemm_signature: String,
    gemm_call: String,
    pattern_a_signature: String,
    pattern_a_call: String,
    pattern_b_signature: String,
    pattern_b_call: String,
}

/// One-line description printed at the top of the rendered file.
fn summary(spec: &EsmmSpec) -> String {
    let what = match spec.sparsity {
        Sparsity::Dense => "dense SGEMM".to_string(),
        Sparsity::AOnly => format!("A-sparse GEMM, A pattern {} rows per bit", spec.a_granularity),
        Sparsity::BOnly => format!("B-sparse GEMM, B pattern {} columns per bit", spec.b_granularity),
        Sparsity::Joint => format!(
            "joint A+B sparse GEMM, patterns {} rows x {} columns per bit",
            spec.a_granularity, spec.b_granularity
        ),
    };
    let pre = match spec.preprocess {
        Preprocess::None => "",
        Preprocess::Fused => ", patterns extracted inside the one GEMM launch",
        Preprocess::OfflineB => ", A pattern extracted inside the one GEMM launch, B pattern supplied",
        Preprocess::Separate => ", patterns from separate kernels",
    };
    let skip = match (spec.sparsity, spec.skip) {
        (Sparsity::Dense, _) => "",
        (_, SkipStyle::Branch) => ", branch skip",
        (_, SkipStyle::Branchless) => ", branchless (select) skip",
    };
    let act = match spec.activation {
        Activation::None => "",
        Activation::Relu => ", ReLU epilogue",
        Activation::Relu2 => ", ReLU^2 epilogue",
    };
    let nnz = if spec.col_nnz { ", per-column nonzero counts" } else { "" };
    format!("{what}{pre}{skip}{act}{nnz}.")
}

/// Whether the GEMM launch is persistent and cooperative (patterns extracted inside it).
fn persistent(spec: &EsmmSpec) -> bool {
    layout::is_sparse(spec) && matches!(spec.preprocess, Preprocess::Fused | Preprocess::OfflineB)
}

/// Whether the variant launches the separate pattern kernel of A (of B with `b`).
fn separate(spec: &EsmmSpec, b: bool) -> bool {
    let uses = if b { spec.sparsity.uses_b_pattern() } else { spec.sparsity.uses_a_pattern() };
    layout::is_sparse(spec) && spec.preprocess == Preprocess::Separate && uses
}

/// Renders the complete `.cu` translation unit of one variant (without the `@generated`
/// header): the text whose [`esmm_spec::fingerprint::source_hash`] tuned tables record.
pub fn render(valid: &ValidEsmm) -> Result<String, String> {
    let spec = valid.spec();
    let sparse = layout::is_sparse(spec);
    let (a_sparse, b_sparse) = (spec.sparsity.uses_a_pattern(), spec.sparsity.uses_b_pattern());
    let in_kernel = matches!(spec.preprocess, Preprocess::Fused | Preprocess::OfflineB);
    let threads = spec.threads();
    let t = VariantTemplate {
        name: spec.name(),
        summary: summary(spec),
        bm: spec.bm,
        bn: spec.bn,
        bk: spec.bk,
        wm: spec.wm,
        wn: spec.wn,
        wniter: spec.wniter,
        wmiter: spec.wm_iter(),
        tm: spec.tm,
        tn: spec.tn,
        threads,
        min_blocks: (512 / threads).max(1),
        a_sparse,
        b_sparse,
        ga: layout::a_gran(spec),
        gb: layout::b_gran(spec),
        extract_a: sparse && in_kernel && a_sparse,
        extract_b: sparse && spec.preprocess == Preprocess::Fused && b_sparse,
        persistent: persistent(spec),
        scan_dense: persistent(spec) && !(a_sparse && b_sparse),
        branchless: sparse && spec.skip == SkipStyle::Branchless,
        activation: match spec.activation {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::Relu2 => 2,
        },
        col_nnz: spec.col_nnz,
        smem_bytes: layout::gemm_smem_bytes(spec),
        stages: layout::pipe_stages(spec),
        warp_pipe: layout::warp_pipe(spec),
        wp_b_fast: layout::wp_b_fast(spec),
        separate_a: separate(spec, false),
        separate_b: separate(spec, true),
        pattern_threads: PATTERN_THREADS,
        gemm_signature: signature(GEMM_ARGS),
        gemm_call: call_list(GEMM_ARGS),
        pattern_a_signature: signature(PATTERN_A_ARGS),
        pattern_a_call: call_list(PATTERN_A_ARGS),
        pattern_b_signature: signature(PATTERN_B_ARGS),
        pattern_b_call: call_list(PATTERN_B_ARGS),
    };
    let mut text = t.render().map_err(|e| format!("{}: rendering failed: {e}", spec.name()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The launches of one variant in execution order: the separate pattern kernels (if any), then
/// the GEMM. Each carries its parameter list ([`stage_args`]); symbols follow from the stage
/// ([`Launch::symbol`]).
pub fn launches(valid: &ValidEsmm) -> Vec<Launch> {
    let spec = valid.spec();
    let launch = |stage, threads, dynamic_smem, grid| Launch { stage, threads, dynamic_smem, grid, args: stage_args(stage) };
    let mut out = Vec::new();
    if separate(spec, false) {
        out.push(launch(Stage::PatternA, PATTERN_THREADS, 0, GridRule::PatternA { rows: spec.a_granularity }));
    }
    if separate(spec, true) {
        out.push(launch(Stage::PatternB, PATTERN_THREADS, 0, GridRule::PatternB { cols: spec.b_granularity }));
    }
    let (bm, bn) = (spec.bm, spec.bn);
    let grid = if persistent(spec) { GridRule::Persistent { bm, bn } } else { GridRule::Tiles { bm, bn } };
    out.push(launch(Stage::Gemm, spec.threads(), layout::gemm_smem_bytes(spec), grid));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets::{DEFAULT_DENSE_TILE, DEFAULT_SPARSE_TILE};
    use crate::families::esmm::validate::validate;

    /// The default sparse tile as a joint fused variant.
    fn default_joint() -> EsmmSpec {
        EsmmSpec {
            sparsity: Sparsity::Joint,
            a_granularity: 64,
            b_granularity: 32,
            preprocess: Preprocess::Fused,
            ..DEFAULT_SPARSE_TILE
        }
    }

    fn valid(s: EsmmSpec) -> ValidEsmm {
        validate(&s).unwrap_or_else(|why| panic!("{}: {why:?}", s.name()))
    }

    #[test]
    fn joint_fused_renders_one_launch() {
        let s = valid(default_joint());
        let text = render(&s).unwrap();
        assert!(text.contains(&format!("{}_gemm(", s.spec().name())));
        assert!(!text.contains("_pattern_a("));
        let l = launches(&s);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].grid, GridRule::Persistent { bm: 128, bn: 128 });
        assert_eq!(l[0].args, GEMM_ARGS);
        assert!(text.contains(&format!("SMEM_BYTES = {}u", l[0].dynamic_smem)));
        assert!(text.contains(&format!("_gemm({})\n", signature(GEMM_ARGS))));
        assert!(text.contains(&format!("::gemm_kernel({});\n", call_list(GEMM_ARGS))));
    }

    #[test]
    fn separate_has_pattern_launches_first() {
        let s = valid(EsmmSpec { preprocess: Preprocess::Separate, ..default_joint() });
        let l = launches(&s);
        let stages: Vec<Stage> = l.iter().map(|x| x.stage).collect();
        assert_eq!(stages, vec![Stage::PatternA, Stage::PatternB, Stage::Gemm]);
        assert_eq!((l[0].args, l[1].args), (PATTERN_A_ARGS, PATTERN_B_ARGS));
        assert_eq!(l[2].grid, GridRule::Tiles { bm: 128, bn: 128 });
        let text = render(&s).unwrap();
        for launch in &l {
            let head = format!("{}({})\n", launch.symbol(&s.spec().name()), signature(launch.args));
            assert!(text.contains(&head), "{head}");
        }
    }

    #[test]
    fn dense_ring_depth_is_rendered() {
        let dense = valid(DEFAULT_DENSE_TILE);
        assert!(render(&dense).unwrap().contains("PIPE_STAGES = 3;"));
        assert_eq!(launches(&dense)[0].dynamic_smem, 4 * 3 * (16 * 132 + 16 * 128));
        // bk 8: the register-staged double buffer.
        let bk8 = valid(EsmmSpec { bk: 8, ..DEFAULT_DENSE_TILE });
        assert!(render(&bk8).unwrap().contains("PIPE_STAGES = 2;"));
        assert_eq!(launches(&bk8)[0].dynamic_smem, 4 * 2 * (8 * 132 + 8 * 128));
    }
}
