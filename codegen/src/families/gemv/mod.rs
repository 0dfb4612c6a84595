//! Family `gemv`: decode GEMV for 1..16 tokens (templates in `templates/gemv/`). [`GemvGenerator`]
//! is its [`FamilyGenerator`]; the work is split into
//! - [`validate`]: every validity rule, and the proof type [`ValidGemv`];
//! - [`render`]: askama rendering, shared-memory budget and the launch;
//! - [`sets`]: `shipped`, `sweep`, `all`, the defaults and the presets;
//! - [`spec_arg`]: the CLI's `key=value` overrides.

pub mod render;
pub mod sets;
pub mod spec_arg;
pub mod validate;

use esmm_spec::{Family, GemvSpec, KernelSpec, Launch};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::family::{FamilyGenerator, Preset, ValidSpec};
use crate::sets::SetName;

pub use validate::ValidGemv;

/// The generator of family gemv.
pub struct GemvGenerator;

fn proof(valid: &ValidSpec) -> &ValidGemv {
    match valid {
        ValidSpec::Gemv(v) => v,
        _ => unreachable!("the gemv generator is handed gemv specs only"),
    }
}

impl FamilyGenerator for GemvGenerator {
    fn family(&self) -> Family {
        Family::Gemv
    }
    fn validate(&self, spec: &KernelSpec) -> Result<ValidSpec, Vec<String>> {
        match spec {
            KernelSpec::Gemv(s) => validate::validate(s).map(ValidSpec::Gemv),
            other => Err(vec![format!("{} is not a gemv spec", other.name())]),
        }
    }
    fn render(&self, valid: &ValidSpec) -> Result<String, String> {
        render::render(proof(valid))
    }
    fn launches(&self, valid: &ValidSpec) -> Vec<Launch> {
        render::launches(proof(valid))
    }
    fn set(&self, set: SetName) -> Vec<KernelSpec> {
        sets::members(set)
    }
    fn presets(&self) -> &'static [Preset] {
        &sets::PRESETS
    }
    fn defaults(&self) -> Vec<KernelSpec> {
        sets::defaults()
    }
    fn key_params(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        format!("threads={} smem={} positions_per_cta={}", s.threads(), render::smem_bytes(s), s.cta_positions())
    }
    fn params_line(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        let archs: Vec<String> = s.archs.iter().map(|a| a.sm_name()).collect();
        format!(
            "// dtype={} out={} layout={} sparsity={} gated={} block={} kw={} unroll={} cache={} threads={} activation={} archs={}\n",
            s.dtype.tag(),
            s.out.tag(),
            s.layout.tag(),
            s.sparsity.tag(),
            s.gated,
            s.block,
            s.kw,
            s.unroll,
            s.cache,
            s.threads(),
            s.activation.tag(),
            archs.join(",")
        )
    }
    fn spec_literal(&self, valid: &ValidSpec) -> TokenStream {
        spec_tokens(proof(valid).spec())
    }
    fn override_keys(&self) -> &'static str {
        spec_arg::OVERRIDE_KEYS
    }
    fn apply_override(&self, spec: &mut KernelSpec, key: &str, value: &str) -> Result<(), String> {
        match spec {
            KernelSpec::Gemv(s) => spec_arg::apply_override(s, key, value),
            other => Err(format!("{} is not a gemv spec", other.name())),
        }
    }
}

/// `::esmm_spec::<ty>::<Variant>` from the variant's `Debug` spelling.
fn enum_path(ty: &str, variant: impl std::fmt::Debug) -> TokenStream {
    let ty = format_ident!("{}", ty);
    let v = format_ident!("{}", format!("{variant:?}"));
    quote!(::esmm_spec::#ty::#v)
}

/// The registry's `KernelSpec::Gemv(GemvSpec { .. })` literal.
fn spec_tokens(s: &GemvSpec) -> TokenStream {
    let dtype = enum_path("ElemType", s.dtype);
    let out = enum_path("ElemType", s.out);
    let layout = enum_path("GemvLayout", s.layout);
    let sparsity = enum_path("GemvSparsity", s.sparsity);
    let activation = enum_path("Activation", s.activation);
    let [block, kw, unroll, cache] = [s.block, s.kw, s.unroll, s.cache].map(Literal::u32_unsuffixed);
    let gated = s.gated;
    let archs = Literal::u8_unsuffixed(s.archs.0);
    quote! {
        ::esmm_spec::KernelSpec::Gemv(::esmm_spec::GemvSpec {
            dtype: #dtype,
            out: #out,
            layout: #layout,
            sparsity: #sparsity,
            gated: #gated,
            block: #block,
            kw: #kw,
            unroll: #unroll,
            cache: #cache,
            activation: #activation,
            archs: ::esmm_spec::ArchSet(#archs),
        })
    }
}
