//! Rendering of a `KernelSpec` through the askama templates in `templates/`, and the launch
//! geometry that goes with each rendered kernel.
//!
//! One template (`templates/esmm.cu`) renders every variant: it emits the spec as `constexpr`
//! parameters and includes the shared device code (`templates/include/*.cuh`: pattern
//! extraction, grid barrier, skip list, main loop, epilogue), which is generic CUDA over those
//! parameters. The shared-memory size is computed here and checked by a `static_assert` in the
//! rendered code, so [`launches`] and the kernel can never disagree. This module also picks each
//! variant's main loop (the per-warp cp.async pipeline of `warppipe.cuh`, or the CTA pipeline)
//! and the ring depth (per-warp ring, or the dense kernels' CTA stage ring); docs/KERNELS.md describes both and their measured numbers.

use askama::Template;
use esmm_spec::{Activation, ElemType, GridRule, KernelSpec, Launch, Preprocess, SkipStyle, Sparsity, Stage};

/// Pattern words per skip-list segment (`SEG_WORDS` in `templates/include/common.cuh`).
const SEG_WORDS: u32 = 32;
/// k values per skip-list segment.
const SEG_K: u32 = SEG_WORDS * 32;
/// Threads of the separate pattern kernels (one warp per pattern word).
const PATTERN_THREADS: u32 = 32;

/// The askama context of `templates/esmm.cu`: every value the template prints.
#[derive(Template)]
#[template(path = "esmm.cu")]
struct EsmmTemplate {
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
    branchless: bool,
    activation: u32,
    col_nnz: bool,
    smem_bytes: u32,
    stages: u32,
    warp_pipe: bool,
    wp_b_fast: bool,
    separate_a: bool,
    separate_b: bool,
}

/// Pattern blocks of granularity `g` that a tile of `extent` rows (or columns) can touch; the
/// same rule as `ga_blocks` in `common.cuh`.
fn blocks_touched(extent: u32, g: u32) -> u32 {
    if g % extent == 0 {
        1
    } else if extent % g == 0 {
        extent / g
    } else {
        extent / g + 2
    }
}

/// Whether the GEMM kernel reads any pattern.
fn is_sparse(spec: &KernelSpec) -> bool {
    spec.sparsity != Sparsity::Dense
}

/// A-pattern granularity as the template sees it (1 when A is dense).
fn a_gran(spec: &KernelSpec) -> u32 {
    if spec.sparsity.uses_a_pattern() {
        spec.a_granularity
    } else {
        1
    }
}

/// B-pattern granularity as the template sees it (1 when B is dense).
fn b_gran(spec: &KernelSpec) -> u32 {
    if spec.sparsity.uses_b_pattern() {
        spec.b_granularity
    } else {
        1
    }
}

/// Whether the variant runs the per-warp pipeline (`templates/include/warppipe.cuh`): sparse,
/// branch skip, and every warp tile inside one pattern block per sparse operand (the same rule
/// as `WARP_PIPE` in `common.cuh`).
/// A spec whose two-stage ring would not fit its architectures keeps the CTA-wide pipeline.
fn warp_pipe(spec: &KernelSpec) -> bool {
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
fn arch_smem_limit(spec: &KernelSpec) -> u32 {
    spec.archs.iter().map(|a| a.max_smem_per_block()).min().unwrap_or(48 * 1024)
}

/// Per-warp words of the per-warp pipeline with `stages` stages (`WP_WARP_WORDS`).
fn warp_pipe_words(spec: &KernelSpec, stages: u32) -> u32 {
    stages * (spec.bk * (spec.wm + 4) + spec.bk * spec.wn) + 64
}

/// Shared-memory budget of the per-warp pipeline per CTA: 56 KiB per 128 threads (four CTAs of
/// four warps, or two of eight, fit an sm_90 SM), never more than every target architecture
/// allows one block.
fn warp_pipe_budget(spec: &KernelSpec) -> u32 {
    arch_smem_limit(spec).min(56 * 1024 * spec.threads().max(128) / 128)
}

/// Depth of the per-warp cp.async ring: the deepest of 4, 3, 2 stages that fits the budget
/// (2 otherwise; `validate` then rejects the spec if even that exceeds an architecture's limit).
/// Dense kernels: the depth of their CTA stage ring (`dense_stages`). Unused (2) by the sparse
/// CTA pipeline.
fn pipe_stages(spec: &KernelSpec) -> u32 {
    if !is_sparse(spec) {
        return dense_stages(spec);
    }
    if !warp_pipe(spec) {
        return 2;
    }
    let warps = spec.threads() / 32;
    [4, 3, 2]
        .into_iter()
        .find(|&s| 4 * warps * warp_pipe_words(spec, s) <= warp_pipe_budget(spec))
        .unwrap_or(2)
}

/// Words of one CTA-pipeline stage: transposed, padded A tile; B tile; per-slot pattern bits
/// (sparse only). `STAGE_WORDS` in `common.cuh`.
fn cta_stage_words(spec: &KernelSpec) -> u32 {
    spec.bk * (spec.bm + 4) + spec.bk * spec.bn + if is_sparse(spec) { 2 * spec.bk } else { 0 }
}

/// Whether a dense kernel runs the cp.async ring of CTA stages (`DENSE_ASYNC` in `gemm.cuh`):
/// bk >= 16 (measured: the bk=8 tiles are slower with it and spill 36-64 B) and A copies that map
/// threads to (row, slot) in whole rounds. Other dense kernels keep the register-staged double
/// buffer.
fn dense_async(spec: &KernelSpec) -> bool {
    let threads = spec.threads();
    !is_sparse(spec) && spec.bk >= 16 && threads % spec.bk == 0 && (spec.bm * spec.bk) % threads == 0
}

/// Whether the per-warp pipeline takes its 32-bit B copy path (`WP_B_FAST` in `warppipe.cuh`):
/// only for the configuration where it was measured faster and spill-free (joint, bk 8, 8x4
/// thread tiles, no column counts). Elsewhere the extra per-lane column base spilled 12-40 B
/// under the 128-register cap (t1x8, t8x8, bk 16, B-only, col_nnz variants; ptxas sm_90).
fn wp_b_fast(spec: &KernelSpec) -> bool {
    warp_pipe(spec)
        && spec.sparsity == Sparsity::Joint
        && spec.bk == 8
        && spec.tm == 8
        && spec.tn == 4
        && !spec.col_nnz
        && 32 % (spec.wn / 4) == 0
}

/// Depth of the dense kernels' stage ring (`gemm.cuh`): 3 when the cp.async ring applies and
/// fits the same budget as the per-warp ring, else 2.
fn dense_stages(spec: &KernelSpec) -> u32 {
    if dense_async(spec) && 4 * 3 * cta_stage_words(spec) <= warp_pipe_budget(spec) { 3 } else { 2 }
}

/// Dynamic shared memory of the GEMM kernel in bytes. Per-warp pipeline: per warp, the ring of
/// stages (transposed, padded A; B) and 64 pending k. Dense: `dense_stages` CTA stages
/// (transposed, padded A tile; B tile). Sparse CTA pipeline: two stages (plus per-slot pattern
/// bits) and the skip list. Must match `SMEM_BYTES`'s `static_assert` in `templates/include/common.cuh`.
fn gemm_smem_bytes(spec: &KernelSpec) -> u32 {
    if warp_pipe(spec) {
        return 4 * (spec.threads() / 32) * warp_pipe_words(spec, pipe_stages(spec));
    }
    let stage = cta_stage_words(spec);
    if !is_sparse(spec) {
        return 4 * dense_stages(spec) * stage;
    }
    let list = {
        let nrb = if spec.sparsity.uses_a_pattern() { blocks_touched(spec.bm, spec.a_granularity) } else { 1 };
        let ncb = if spec.sparsity.uses_b_pattern() { blocks_touched(spec.bn, spec.b_granularity) } else { 1 };
        SEG_K * 2 + SEG_WORDS * (nrb + ncb) + SEG_WORDS + SEG_WORDS + 1 + SEG_K / 2
    };
    4 * (2 * stage + list)
}

/// Checks the template's own requirements (beyond `validate`), so that a spec the template cannot
/// lay out is an `Err` rather than a failing `static_assert` in nvcc.
fn template_requirements(spec: &KernelSpec) -> Result<(), String> {
    let name = spec.name();
    let fail = |why: String| Err(format!("{name}: {why}"));
    if spec.dtype != ElemType::F32 {
        return fail(format!("no template for element type {} (only f32)", spec.dtype.tag()));
    }
    let dims = [spec.bm, spec.bn, spec.bk, spec.wm, spec.wn, spec.wniter, spec.tm, spec.tn];
    if dims.contains(&0) {
        return fail("tile sizes must be positive".into());
    }
    if spec.bm % spec.wm != 0 || spec.bn % spec.wn != 0 || spec.wn % spec.wniter != 0 {
        return fail("the warp tile must divide the CTA tile and wniter the warp tile".into());
    }
    let wmiter = spec.wm_iter();
    if wmiter == 0 || spec.wm % wmiter != 0 {
        return fail("the warp tile is not a whole number of 32-lane steps".into());
    }
    let (sub_m, sub_n) = (spec.wm / wmiter, spec.wn / spec.wniter);
    if sub_m % spec.tm != 0 || sub_n % spec.tn != 0 || (sub_m / spec.tm) * (sub_n / spec.tn) != 32 {
        return fail("the 32 lanes do not tile the warp sub-tile exactly".into());
    }
    if spec.bk % 4 != 0 || spec.bn % 4 != 0 || spec.bk > 32 {
        return fail("bk and bn must be multiples of 4 and bk at most 32".into());
    }
    if is_sparse(spec) {
        if 32 % spec.bk != 0 {
            return fail("a sparse kernel's bk must divide 32".into());
        }
        if spec.preprocess == Preprocess::None {
            return fail("a sparse kernel needs a pattern source (preprocess)".into());
        }
    }
    let (ga, gb) = (a_gran(spec), b_gran(spec));
    if spec.sparsity.uses_a_pattern() {
        if ga == 0 || ga % spec.tm != 0 {
            return fail(format!("the A granularity {ga} must be a positive multiple of tm={}", spec.tm));
        }
        if blocks_touched(spec.bm, ga) > 32 {
            return fail(format!("a {}-row tile touches more than 32 row blocks of {ga}", spec.bm));
        }
    }
    if spec.sparsity.uses_b_pattern() {
        if gb == 0 || gb > 32 || 32 % gb != 0 || gb % spec.tn != 0 {
            return fail(format!(
                "the B granularity {gb} must divide 32 and be a multiple of tn={}",
                spec.tn
            ));
        }
        if blocks_touched(spec.bn, gb) > 32 {
            return fail(format!("a {}-column tile touches more than 32 column blocks of {gb}", spec.bn));
        }
    }
    Ok(())
}

/// One-line description printed at the top of the rendered file.
fn summary(spec: &KernelSpec) -> String {
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

/// Renders the complete `.cu` translation unit of one variant (without the `@generated` header).
pub fn render_variant(spec: &KernelSpec) -> Result<String, String> {
    template_requirements(spec)?;
    let sparse = is_sparse(spec);
    let a_sparse = spec.sparsity.uses_a_pattern();
    let b_sparse = spec.sparsity.uses_b_pattern();
    let in_kernel = matches!(spec.preprocess, Preprocess::Fused | Preprocess::OfflineB);
    let threads = spec.threads();
    let t = EsmmTemplate {
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
        ga: a_gran(spec),
        gb: b_gran(spec),
        extract_a: sparse && in_kernel && a_sparse,
        extract_b: sparse && spec.preprocess == Preprocess::Fused && b_sparse,
        persistent: sparse && in_kernel,
        branchless: sparse && spec.skip == SkipStyle::Branchless,
        activation: match spec.activation {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::Relu2 => 2,
        },
        col_nnz: spec.col_nnz,
        smem_bytes: gemm_smem_bytes(spec),
        stages: pipe_stages(spec),
        warp_pipe: warp_pipe(spec),
        wp_b_fast: wp_b_fast(spec),
        separate_a: sparse && spec.preprocess == Preprocess::Separate && a_sparse,
        separate_b: sparse && spec.preprocess == Preprocess::Separate && b_sparse,
    };
    let mut text = t.render().map_err(|e| format!("{}: rendering failed: {e}", spec.name()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Leaks a symbol name so that it can live in a `'static` [`Launch`].
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The launches of one variant in execution order: the separate pattern kernels (if any), then
/// the GEMM. Symbols are `&'static str` because the registry stores them statically; the
/// formatted names are leaked (a few per call).
pub fn launches(spec: &KernelSpec) -> Vec<Launch> {
    let name = spec.name();
    let mut out = Vec::new();
    let sparse = is_sparse(spec);
    if sparse && spec.preprocess == Preprocess::Separate {
        if spec.sparsity.uses_a_pattern() {
            out.push(Launch {
                stage: Stage::PatternA,
                symbol: leak(format!("{name}_pattern_a")),
                threads: PATTERN_THREADS,
                dynamic_smem: 0,
                grid: GridRule::PatternA { rows: spec.a_granularity },
            });
        }
        if spec.sparsity.uses_b_pattern() {
            out.push(Launch {
                stage: Stage::PatternB,
                symbol: leak(format!("{name}_pattern_b")),
                threads: PATTERN_THREADS,
                dynamic_smem: 0,
                grid: GridRule::PatternB { cols: spec.b_granularity },
            });
        }
    }
    let persistent = sparse && matches!(spec.preprocess, Preprocess::Fused | Preprocess::OfflineB);
    let grid = if persistent {
        GridRule::Persistent { bm: spec.bm, bn: spec.bn }
    } else {
        GridRule::Tiles { bm: spec.bm, bn: spec.bn }
    };
    out.push(Launch {
        stage: Stage::Gemm,
        symbol: leak(format!("{name}_gemm")),
        threads: spec.threads(),
        dynamic_smem: gemm_smem_bytes(spec),
        grid,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use esmm_spec::ArchSet;

    /// The planned high-performance tile as a joint fused variant.
    fn default_joint() -> KernelSpec {
        KernelSpec {
            sparsity: Sparsity::Joint,
            dtype: ElemType::F32,
            bm: 128,
            bn: 128,
            bk: 8,
            wm: 64,
            wn: 32,
            wniter: 2,
            tm: 8,
            tn: 4,
            a_granularity: 64,
            b_granularity: 32,
            preprocess: Preprocess::Fused,
            skip: SkipStyle::Branch,
            activation: Activation::None,
            col_nnz: false,
            archs: ArchSet::ALL,
        }
    }

    #[test]
    fn joint_fused_renders_one_launch() {
        let s = default_joint();
        let text = render_variant(&s).unwrap();
        assert!(text.contains(&format!("{}_gemm(", s.name())));
        assert!(!text.contains("_pattern_a("));
        let l = launches(&s);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].grid, GridRule::Persistent { bm: 128, bn: 128 });
        assert!(text.contains(&format!("SMEM_BYTES = {}u", l[0].dynamic_smem)));
    }

    #[test]
    fn separate_has_pattern_launches_first() {
        let s = KernelSpec { preprocess: Preprocess::Separate, ..default_joint() };
        let l = launches(&s);
        let stages: Vec<Stage> = l.iter().map(|x| x.stage).collect();
        assert_eq!(stages, vec![Stage::PatternA, Stage::PatternB, Stage::Gemm]);
        assert_eq!(l[2].grid, GridRule::Tiles { bm: 128, bn: 128 });
        let text = render_variant(&s).unwrap();
        assert!(text.contains("_pattern_a(") && text.contains("_pattern_b("));
    }

    #[test]
    fn dense_ring_depth_and_smem() {
        let dense = KernelSpec {
            sparsity: Sparsity::Dense,
            a_granularity: 0,
            b_granularity: 0,
            preprocess: Preprocess::None,
            bk: 16,
            ..default_joint()
        };
        // 256 threads, bk 16: the cp.async ring, 3 stages of (16 x 132 + 16 x 128) words.
        assert!(dense_async(&dense));
        assert_eq!(pipe_stages(&dense), 3);
        assert_eq!(launches(&dense)[0].dynamic_smem, 4 * 3 * (16 * 132 + 16 * 128));
        let text = render_variant(&dense).unwrap();
        assert!(text.contains("PIPE_STAGES = 3;"));
        // bk not dividing the thread count: the register-staged double buffer, 2 stages.
        let odd = KernelSpec { bk: 12, ..dense };
        assert!(!dense_async(&odd));
        assert_eq!(pipe_stages(&odd), 2);
        assert_eq!(launches(&odd)[0].dynamic_smem, 4 * 2 * (12 * 132 + 12 * 128));
        assert!(render_variant(&odd).unwrap().contains("PIPE_STAGES = 2;"));
    }

    #[test]
    fn non_f32_is_an_error() {
        let s = KernelSpec { dtype: ElemType::F16, ..default_joint() };
        assert!(render_variant(&s).is_err());
    }

    /// Writes renders of a few variants into `ESMM_DUMP_DIR` (for the CUDA harness); a no-op
    /// unless the variable is set.
    #[test]
    fn dump_for_harness() {
        let Ok(dir) = std::env::var("ESMM_DUMP_DIR") else { return };
        std::fs::create_dir_all(&dir).unwrap();
        // variants.inc: `#include`s of the renders and one table row per variant for
        // bench/harness/harness.cu (Variant's fields in order).
        let (mut includes, mut rows) = (String::new(), String::new());
        for s in harness_specs() {
            let name = s.name();
            std::fs::write(format!("{dir}/{name}.cu"), render_variant(&s).unwrap()).unwrap();
            let l = launches(&s);
            let gemm = l.last().unwrap();
            let sym = |st: Stage| {
                l.iter().find(|x| x.stage == st).map_or("nullptr".to_string(), |x| format!("(const void*){}", x.symbol))
            };
            includes += &format!("#include \"{name}.cu\"\n");
            rows += &format!(
                "  {{\"{name}\", (const void*){name}_gemm, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}},\n",
                sym(Stage::PatternA),
                sym(Stage::PatternB),
                gemm.threads,
                gemm.dynamic_smem,
                s.bm,
                s.bn,
                s.sparsity.uses_a_pattern() as u32,
                s.sparsity.uses_b_pattern() as u32,
                a_gran(&s),
                b_gran(&s),
                match s.preprocess { Preprocess::None => 0, Preprocess::Fused => 1, Preprocess::OfflineB => 2, Preprocess::Separate => 3 },
                s.activation as u32,
                s.col_nnz as u32,
                matches!(gemm.grid, GridRule::Persistent { .. }) as u32,
            );
        }
        let inc = format!("{includes}static const Variant VARIANTS[] = {{\n{rows}}};\n");
        std::fs::write(format!("{dir}/variants.inc"), inc).unwrap();
    }

    /// Variants covering every template family (used by `dump_for_harness`).
    fn harness_specs() -> Vec<KernelSpec> {
        let d = default_joint();
        let preset = KernelSpec { bm: 64, bn: 128, bk: 8, wm: 64, wn: 32, wniter: 2, tm: 1, tn: 8, ..d };
        let dense = |s: KernelSpec| KernelSpec {
            sparsity: Sparsity::Dense,
            a_granularity: 0,
            b_granularity: 0,
            preprocess: Preprocess::None,
            skip: SkipStyle::Branch,
            ..s
        };
        let narrow = KernelSpec { bm: 64, ..d };
        vec![
            dense(d),
            dense(KernelSpec { bk: 16, ..d }),
            dense(KernelSpec { bk: 16, wniter: 1, tn: 8, ..d }),
            dense(preset),
            dense(narrow),
            dense(KernelSpec { bk: 16, ..narrow }),
            narrow,
            KernelSpec { bk: 16, ..narrow },
            KernelSpec { preprocess: Preprocess::OfflineB, ..narrow },
            // Too large for a two-stage per-warp ring on sm_86: keeps the CTA pipeline.
            KernelSpec { bk: 16, ..d },
            d,
            KernelSpec { preprocess: Preprocess::OfflineB, ..d },
            KernelSpec { preprocess: Preprocess::Separate, ..d },
            KernelSpec { skip: SkipStyle::Branchless, ..d },
            KernelSpec { activation: Activation::Relu2, col_nnz: true, ..d },
            KernelSpec { a_granularity: 8, b_granularity: 8, preprocess: Preprocess::Separate, ..d },
            KernelSpec { a_granularity: 32, b_granularity: 8, skip: SkipStyle::Branchless, ..d },
            KernelSpec { sparsity: Sparsity::AOnly, b_granularity: 0, ..d },
            KernelSpec { sparsity: Sparsity::BOnly, a_granularity: 0, preprocess: Preprocess::OfflineB, ..d },
            // Presets' tile (K20, K21, K25, K28, K30, K17).
            preset,
            KernelSpec { preprocess: Preprocess::Separate, ..preset },
            KernelSpec { a_granularity: 8, preprocess: Preprocess::Separate, ..preset },
            KernelSpec { a_granularity: 8, skip: SkipStyle::Branchless, ..preset },
            KernelSpec { a_granularity: 8, b_granularity: 8, preprocess: Preprocess::Separate, ..preset },
            KernelSpec { sparsity: Sparsity::BOnly, a_granularity: 0, preprocess: Preprocess::OfflineB, ..preset },
            KernelSpec { activation: Activation::Relu, col_nnz: true, ..preset },
            // Per-warp pipeline candidates (tile shapes whose warps share rows or columns).
            KernelSpec { wniter: 1, tn: 8, ..narrow },
            KernelSpec { bn: 64, ..narrow },
            KernelSpec { bm: 128, bn: 64, ..narrow },
            KernelSpec { bn: 256, ..narrow },
            KernelSpec { preprocess: Preprocess::OfflineB, wniter: 1, tn: 8, ..narrow },
            KernelSpec { wniter: 1, tn: 8, ..d },
            KernelSpec { bn: 256, preprocess: Preprocess::OfflineB, ..narrow },
            KernelSpec { bn: 256, wniter: 1, tn: 8, ..narrow },
        ]
    }
}
