//! Rendering of a validated gemv variant through `templates/gemv/variant.cu`, and its launch.

use askama::Template;
use esmm_spec::abi::{call_list, signature};
use esmm_spec::families::gemv::{gemv_args, stages, SCATTER_ARGS, SELECT_ARGS};
use esmm_spec::{GemvLayout, GemvSparsity, GemvSpec, GridRule, Launch, Stage};

use super::validate::ValidGemv;

/// Shared-memory budget of the staged x (bytes): 16 tokens × 1024 positions, or 1 × 16384.
pub const XS_BYTES: u32 = 32 * 1024;

/// Most split positions per CTA: kn keeps an int per position in its active list.
pub const fn max_chunk(s: &GemvSpec) -> u32 {
    match s.layout {
        GemvLayout::Kn => 4096,
        GemvLayout::Nk => 16384,
    }
}

/// Dynamic shared memory of a variant: staged x, the kn lists (the row list, or the input-sparse
/// warps' active lists), and the reduction buffer
/// of `kw` warps × 16 tokens × the CTA's positions (fp32).
pub const fn smem_bytes(s: &GemvSpec) -> u32 {
    let list = match (s.layout, s.sparsity) {
        // One list per warp, each a whole number of warps' worth of its share of the positions.
        (GemvLayout::Kn, GemvSparsity::Input) => s.block * s.kw * max_chunk(s).div_ceil(s.kw).div_ceil(32) * 32 * 4,
        (GemvLayout::Kn, _) => max_chunk(s) * 4,
        (GemvLayout::Nk, _) => 0,
    };
    XS_BYTES + list + s.kw * 16 * s.cta_positions() * 4
}

#[derive(Template)]
#[template(path = "gemv/variant.cu")]
struct VariantTemplate {
    name: String,
    summary: String,
    in_type: &'static str,
    out_type: &'static str,
    layout: u32,
    sparsity: u32,
    epi: u32,
    block: u32,
    kw: u32,
    unroll: u32,
    cache: u32,
    threads: u32,
    select: bool,
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
fn summary(s: &GemvSpec) -> String {
    let what = match s.sparsity {
        GemvSparsity::Dense => "dense",
        GemvSparsity::Input => "input-sparse (skips weight rows of inputs zero for every token)",
        GemvSparsity::RowList => "row-list (reads the weight rows of an index list)",
        GemvSparsity::OutList => "output-list (computes the output rows of an index list)",
    };
    let layout = match s.layout {
        GemvLayout::Kn => "K x N weights",
        GemvLayout::Nk => "N x K weights",
    };
    let epi = if s.gated { ", gated SiLU(gate) * up".to_string() } else { format!(", epilogue {}", s.activation.tag()) };
    format!(
        "{} decode GEMV for 1..16 tokens, {what}, {layout}, {} output{epi}; {} warps ({} groups x {}), unroll {}, cache policy {}.",
        s.dtype.tag(),
        s.out.tag(),
        s.block * s.kw,
        s.block,
        s.kw,
        s.unroll,
        s.cache
    )
}

/// Renders the complete `.cu` translation unit of one variant (without the `@generated` header).
pub fn render(valid: &ValidGemv) -> Result<String, String> {
    let s = valid.spec();
    let entries = launches(valid)
        .iter()
        .map(|l| {
            let call = call_list(l.args);
            let body = match l.stage {
                Stage::Select => format!("gemv_select({call})"),
                Stage::Scatter => format!("gemv_scatter({call})"),
                _ => format!("gemv_main<GemvCfg>({call})"),
            };
            Entry { suffix: l.stage.suffix(), bounds: l.threads, signature: signature(l.args), body }
        })
        .collect();
    let t = VariantTemplate {
        name: s.name(),
        summary: summary(s),
        in_type: s.dtype.cuda_type(),
        out_type: s.out.cuda_type(),
        layout: s.layout.code(),
        sparsity: s.sparsity.code(),
        epi: s.epi_code(),
        block: s.block,
        kw: s.kw,
        unroll: s.unroll,
        cache: s.cache,
        threads: s.threads(),
        select: s.sparsity == GemvSparsity::OutList,
        entries,
    };
    let mut text = t.render().map_err(|e| format!("{}: rendering failed: {e}", s.name()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Threads of the select stage (one CTA) and of the scatter stage (one CTA per record).
pub const SELECT_THREADS: u32 = 1024;
/// Threads per record of the scatter stage.
pub const SCATTER_THREADS: u32 = 256;

/// The launches of a variant in order (output-list variants: select, scatter, then the GEMV;
/// the runtime runs the first two only for the sparse MLP and the weight cache).
pub fn launches(valid: &ValidGemv) -> Vec<Launch> {
    let s = valid.spec();
    stages(s)
        .into_iter()
        .map(|stage| match stage {
            Stage::Select => Launch { stage, threads: SELECT_THREADS, dynamic_smem: 0, grid: GridRule::Single, args: &SELECT_ARGS },
            Stage::Scatter => Launch { stage, threads: SCATTER_THREADS, dynamic_smem: 0, grid: GridRule::PerRow, args: &SCATTER_ARGS },
            _ => Launch {
                stage: Stage::Gemm,
                threads: s.threads(),
                dynamic_smem: smem_bytes(s),
                grid: GridRule::Gemv { cols: s.cta_positions(), rows: s.rows_per_output(), xs_bytes: XS_BYTES, max_chunk: max_chunk(s) },
                args: gemv_args(s.dtype, s.out),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::gemv::sets::sweep;
    use esmm_spec::abi::gemv_split;

    /// Every chunk the split can choose, at every M, fits in the shared memory the variant
    /// declares (the runtime sizes each launch with `smem_bytes_for` and raises the limit to
    /// the declared size once).
    #[test]
    fn per_call_shared_memory_never_exceeds_the_declared_size() {
        for s in sweep().into_iter().chain(crate::families::gemv::sets::defaults().into_iter().filter_map(|k| k.as_gemv().copied())) {
            let declared = smem_bytes(&s);
            for m in 1..=16usize {
                for k in [1usize, 33, 960, 4095, 11008, 28672, 1 << 20] {
                    for resident in [1u64, 132, 1056, 4224] {
                        let (_, _, chunk) = gemv_split(s.cta_positions(), s.rows_per_output(), XS_BYTES, max_chunk(&s), m, 4096, k, resident);
                        let need = s.smem_bytes_for(chunk, m as u32);
                        assert!(need <= declared, "{}: M {m} K {k} chunk {chunk}: {need} > {declared}", s.name());
                    }
                }
            }
        }
    }
}
