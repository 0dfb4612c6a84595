//! The text of `generated/registry.rs`: one static table of every emitted variant of every
//! family, each row a `::esmm_spec::RegistryEntry` literal with its spec (written by the
//! family, [`FamilyGenerator::spec_literal`]), default flag, source fingerprint and launches,
//! whose argument lists are written out as literal [`Arg`] data so that the runtime can pack
//! kernel arguments generically.
//!
//! [`FamilyGenerator::spec_literal`]: crate::family::FamilyGenerator::spec_literal

use esmm_spec::abi::Operand;
use esmm_spec::{Arg, GridRule, Launch, Stage};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::header_line;
use crate::family::ValidSpec;

/// One registry row before it is written.
#[derive(Clone, Debug)]
pub struct Row {
    /// The variant.
    pub valid: ValidSpec,
    /// Whether it is one of its family's defaults.
    pub is_default: bool,
    /// [`esmm_spec::fingerprint::source_hash`] of its rendered body.
    pub source_hash: u64,
    /// Its launches in execution order.
    pub launches: Vec<Launch>,
}

/// A `u32` literal without suffix (`8`, not `8u32`).
fn lit(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

/// `::esmm_spec::<path>::<Variant>` from the variant's `Debug` spelling.
fn enum_path(path: TokenStream, variant: impl std::fmt::Debug) -> TokenStream {
    let v = format_ident!("{}", format!("{variant:?}"));
    quote!(#path::#v)
}

/// A `GridRule` literal.
fn grid_tokens(g: &GridRule) -> TokenStream {
    match *g {
        GridRule::Tiles { bm, bn } => {
            let (bm, bn) = (lit(bm), lit(bn));
            quote!(::esmm_spec::GridRule::Tiles { bm: #bm, bn: #bn })
        }
        GridRule::PatternA { rows } => {
            let rows = lit(rows);
            quote!(::esmm_spec::GridRule::PatternA { rows: #rows })
        }
        GridRule::PatternB { cols } => {
            let cols = lit(cols);
            quote!(::esmm_spec::GridRule::PatternB { cols: #cols })
        }
        GridRule::Persistent { bm, bn } => {
            let (bm, bn) = (lit(bm), lit(bn));
            quote!(::esmm_spec::GridRule::Persistent { bm: #bm, bn: #bn })
        }
        GridRule::PatternBlocks { operand, rows, k_gran } => {
            let (o, rows, k_gran) = (enum_path(quote!(::esmm_spec::abi::Operand), operand), lit(rows), lit(k_gran));
            quote!(::esmm_spec::GridRule::PatternBlocks { operand: #o, rows: #rows, k_gran: #k_gran })
        }
        GridRule::PackTiles { operand } => {
            let o = enum_path(quote!(::esmm_spec::abi::Operand), operand);
            quote!(::esmm_spec::GridRule::PackTiles { operand: #o })
        }
        GridRule::Single => quote!(::esmm_spec::GridRule::Single),
        GridRule::PerRow => quote!(::esmm_spec::GridRule::PerRow),
        GridRule::Gemv { cols, rows, xs_bytes, max_chunk } => {
            let (cols, rows, xs_bytes, max_chunk) = (lit(cols), lit(rows), lit(xs_bytes), lit(max_chunk));
            quote!(::esmm_spec::GridRule::Gemv { cols: #cols, rows: #rows, xs_bytes: #xs_bytes, max_chunk: #max_chunk })
        }
    }
}

/// An `Arg` literal.
pub fn arg_tokens(a: &Arg) -> TokenStream {
    let operand = |o: Operand| enum_path(quote!(::esmm_spec::abi::Operand), o);
    match *a {
        Arg::Operand { operand: o, elem, written } => {
            let (o, elem) = (operand(o), enum_path(quote!(::esmm_spec::ElemType), elem));
            quote!(::esmm_spec::Arg::Operand { operand: #o, elem: #elem, written: #written })
        }
        Arg::Dim(d) => {
            let d = enum_path(quote!(::esmm_spec::abi::Dim), d);
            quote!(::esmm_spec::Arg::Dim(#d))
        }
        Arg::Pattern(o) => {
            let o = operand(o);
            quote!(::esmm_spec::Arg::Pattern(#o))
        }
        Arg::ColNnz => quote!(::esmm_spec::Arg::ColNnz),
        Arg::Index => quote!(::esmm_spec::Arg::Index),
        Arg::IndexCount => quote!(::esmm_spec::Arg::IndexCount),
        Arg::Scores => quote!(::esmm_spec::Arg::Scores),
        Arg::ListOut => quote!(::esmm_spec::Arg::ListOut),
        Arg::Staging => quote!(::esmm_spec::Arg::Staging),
        Arg::Dest => quote!(::esmm_spec::Arg::Dest),
        Arg::RansTable => quote!(::esmm_spec::Arg::RansTable),
        Arg::RansTiles => quote!(::esmm_spec::Arg::RansTiles),
        Arg::RansWords => quote!(::esmm_spec::Arg::RansWords),
        Arg::Scales => quote!(::esmm_spec::Arg::Scales),
        Arg::Codes { written } => quote!(::esmm_spec::Arg::Codes { written: #written }),
        Arg::Status => quote!(::esmm_spec::Arg::Status),
        Arg::Workspace(w) => {
            let w = enum_path(quote!(::esmm_spec::abi::Workspace), w);
            quote!(::esmm_spec::Arg::Workspace(#w))
        }
        Arg::Scalar(s) => {
            let s = enum_path(quote!(::esmm_spec::abi::Scalar), s);
            quote!(::esmm_spec::Arg::Scalar(#s))
        }
        Arg::Ld(o) => {
            let o = operand(o);
            quote!(::esmm_spec::Arg::Ld(#o))
        }
        Arg::TensorMap(o) => {
            let o = operand(o);
            quote!(::esmm_spec::Arg::TensorMap(#o))
        }
        Arg::Packed { operand: o, elem } => {
            let (o, elem) = (operand(o), enum_path(quote!(::esmm_spec::ElemType), elem));
            quote!(::esmm_spec::Arg::Packed { operand: #o, elem: #elem })
        }
    }
}

/// A `Launch` literal.
fn launch_tokens(l: &Launch) -> TokenStream {
    let stage = enum_path(quote!(::esmm_spec::Stage), l.stage);
    let (threads, smem) = (lit(l.threads), lit(l.dynamic_smem));
    let grid = grid_tokens(&l.grid);
    let args = l.args.iter().map(arg_tokens);
    quote! {
        ::esmm_spec::Launch {
            stage: #stage,
            threads: #threads,
            dynamic_smem: #smem,
            grid: #grid,
            args: &[#(#args),*],
        }
    }
}

/// The source hash as a hex literal (the spelling of tuned tables' fingerprints).
fn hash_literal(h: u64) -> Result<Literal, String> {
    format!("0x{h:016x}").parse().map_err(|e| format!("hash literal: {e:?}"))
}

/// The text of `registry.rs` for the given rows, sorted by name. Each row must have exactly
/// one GEMM launch, which comes last.
pub fn registry_file(rows: &[Row], command: &str) -> Result<String, String> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| r.valid.name());
    let mut entries = Vec::new();
    for row in sorted {
        let name = row.valid.name();
        let stages: Vec<Stage> = row.launches.iter().map(|l| l.stage).collect();
        if stages.iter().filter(|s| **s == Stage::Gemm).count() != 1 || stages.last() != Some(&Stage::Gemm) {
            return Err(format!("{name}: the launches must end with exactly one Gemm launch, got {stages:?}"));
        }
        let spec = row.valid.generator().spec_literal(&row.valid);
        let is_default = row.is_default;
        let hash = hash_literal(row.source_hash)?;
        let launches = row.launches.iter().map(launch_tokens);
        entries.push(quote! {
            ::esmm_spec::RegistryEntry {
                name: #name,
                spec: #spec,
                is_default: #is_default,
                source_hash: #hash,
                launches: &[#(#launches),*],
            }
        });
    }
    let tokens = quote! {
        #[doc = " Every emitted variant of every family, in name order: its spec, whether it is a default, the"]
        #[doc = " fingerprint of its rendered source, and its launches in execution order."]
        pub static REGISTRY: &[::esmm_spec::RegistryEntry] = &[#(#entries),*];
    };
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("registry tokens do not parse: {e}"))?;
    Ok(format!("{}{}", header_line(command), prettyplease::unparse(&file)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets::{K20, K25};
    use crate::family::validate;
    use esmm_spec::families::esmm::{GEMM_ARGS, PATTERN_A_ARGS};
    use esmm_spec::KernelSpec;

    /// Rows shaped like a real family's: pattern kernels first for separate variants.
    fn fake_rows(specs: &[esmm_spec::EsmmSpec], last: Stage) -> Vec<Row> {
        specs
            .iter()
            .map(|s| {
                let mut launches = Vec::new();
                if s.preprocess == esmm_spec::Preprocess::Separate {
                    let grid = GridRule::PatternA { rows: s.a_granularity };
                    launches.push(Launch { stage: Stage::PatternA, threads: 32, dynamic_smem: 0, grid, args: PATTERN_A_ARGS });
                }
                let grid = GridRule::Tiles { bm: s.bm, bn: s.bn };
                launches.push(Launch { stage: last, threads: s.threads(), dynamic_smem: 12288, grid, args: GEMM_ARGS });
                let valid = validate(&KernelSpec::Esmm(*s)).unwrap();
                Row { valid, is_default: false, source_hash: 0xabc, launches }
            })
            .collect()
    }

    #[test]
    fn registry_is_sorted_qualified_unsuffixed_rust() {
        let text = registry_file(&fake_rows(&[K25, K20], Stage::Gemm), "esmm-codegen emit --set shipped").unwrap();
        assert!(text.starts_with("// @generated by `esmm-codegen emit --set shipped`. Do not edit.\n"));
        assert!(text.contains("pub static REGISTRY: &[::esmm_spec::RegistryEntry] = &["));
        let compact: String = text.split_whitespace().collect();
        for needle in [
            "grid:::esmm_spec::GridRule::PatternA{rows:64,}",
            "spec:::esmm_spec::KernelSpec::Esmm(::esmm_spec::EsmmSpec{sparsity:::esmm_spec::Sparsity::Joint,",
            "source_hash:0x0000000000000abc,",
            "::esmm_spec::Arg::Operand{operand:::esmm_spec::abi::Operand::A,elem:::esmm_spec::ElemType::F32,written:false,}",
            "::esmm_spec::Arg::Dim(::esmm_spec::abi::Dim::M)",
            "::esmm_spec::Arg::Pattern(::esmm_spec::abi::Operand::B)",
            "::esmm_spec::Arg::ColNnz",
            "::esmm_spec::Arg::Workspace(::esmm_spec::abi::Workspace::Ones)",
            "::esmm_spec::Arg::Scalar(::esmm_spec::abi::Scalar::Epoch)",
        ] {
            assert!(compact.contains(needle), "{needle} not in\n{text}");
        }
        assert!(text.contains("archs: ::esmm_spec::ArchSet(31)"), "{text}");
        assert!(!text.contains("u32") && !text.contains("u8"), "suffixed literal in:\n{text}");
        // `..._fused_...` (K25) sorts before `..._sep_...` (K20).
        let (k20, k25) = (text.find(&K20.name()).unwrap(), text.find(&K25.name()).unwrap());
        assert!(k25 < k20, "entries not in name order");
        syn::parse_file(&text).expect("registry.rs parses as Rust");
    }

    #[test]
    fn registry_rejects_launch_lists_without_a_final_gemm() {
        let mut rows = fake_rows(&[K25], Stage::PatternB);
        let err = registry_file(&rows, "c").unwrap_err();
        assert!(err.contains(&K25.name()) && err.contains("Gemm"), "{err}");
        rows[0].launches.clear();
        assert!(registry_file(&rows, "c").is_err());
    }
}
