//! Family `esmm`: joint A+B block-sparse f32 GEMM on CUDA cores (templates in
//! `templates/esmm/`). [`EsmmGenerator`] is its [`FamilyGenerator`]; the work is split into
//! - [`validate`]: every validity rule, and the proof type [`ValidEsmm`];
//! - [`layout`]: the geometry both the rules and the renderer need (pipelines, shared memory);
//! - [`render`]: askama rendering and the launches of a validated variant;
//! - [`sets`]: the family's members of `shipped`, `sweep` and `all`, and its defaults;
//! - [`presets`]: the seed's kernels K10..K30 and the default tiles;
//! - [`spec_arg`]: the CLI's `key=value` overrides.

pub mod layout;
pub mod presets;
pub mod render;
pub mod sets;
pub mod spec_arg;
pub mod validate;

#[cfg(test)]
mod harness;

use esmm_spec::{EsmmSpec, Family, KernelSpec, Launch};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::family::{FamilyGenerator, Preset, ValidSpec};
use crate::sets::SetName;
pub use validate::ValidEsmm;

/// The generator of family esmm.
pub struct EsmmGenerator;

/// The esmm proof inside a generic one ([`crate::family::generator`] hands this generator
/// esmm specs only).
fn proof(valid: &ValidSpec) -> &ValidEsmm {
    match valid {
        ValidSpec::Esmm(v) => v,
        _ => unreachable!("the esmm generator is handed esmm specs only"),
    }
}

/// The esmm spec inside a generic one, or an error naming the other family.
#[allow(unreachable_patterns)]
fn esmm_mut(spec: &mut KernelSpec) -> Result<&mut EsmmSpec, String> {
    match spec {
        KernelSpec::Esmm(s) => Ok(s),
        other => Err(format!("{} is not an esmm spec", other.name())),
    }
}

impl FamilyGenerator for EsmmGenerator {
    fn family(&self) -> Family {
        Family::Esmm
    }

    #[allow(unreachable_patterns)]
    fn validate(&self, spec: &KernelSpec) -> Result<ValidSpec, Vec<String>> {
        match spec {
            KernelSpec::Esmm(s) => validate::validate(s).map(ValidSpec::Esmm),
            other => Err(vec![format!("{} is not an esmm spec", other.name())]),
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
        &presets::PRESETS
    }

    fn defaults(&self) -> Vec<KernelSpec> {
        sets::defaults()
    }

    fn key_params(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        format!(
            "threads={} wm_iter={} regs~{} smem={} launches={}",
            s.threads(),
            s.wm_iter(),
            layout::register_estimate(s),
            layout::gemm_smem_bytes(s),
            render::launches(proof(valid)).len()
        )
    }

    fn params_line(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        let archs: Vec<String> = s.archs.iter().map(|a| a.sm_name()).collect();
        format!(
            "// sparsity={} dtype={} cta={}x{}x{} warp={}x{} wniter={} wm_iter={} thread={}x{} threads={} granularity={}x{} preprocess={} skip={} activation={} col_nnz={} archs={}\n",
            s.sparsity.tag(),
            s.dtype.tag(),
            s.bm,
            s.bn,
            s.bk,
            s.wm,
            s.wn,
            s.wniter,
            s.wm_iter(),
            s.tm,
            s.tn,
            s.threads(),
            s.a_granularity,
            s.b_granularity,
            s.preprocess.tag(),
            s.skip.tag(),
            s.activation.tag(),
            s.col_nnz,
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
        spec_arg::apply_override(esmm_mut(spec)?, key, value)
    }
}

/// `::esmm_spec::<ty>::<Variant>` from the variant's `Debug` spelling.
fn enum_path(ty: &str, variant: impl std::fmt::Debug) -> TokenStream {
    let ty = format_ident!("{}", ty);
    let v = format_ident!("{}", format!("{variant:?}"));
    quote!(::esmm_spec::#ty::#v)
}

/// The registry's `KernelSpec::Esmm(EsmmSpec { .. })` literal.
fn spec_tokens(s: &EsmmSpec) -> TokenStream {
    let sparsity = enum_path("Sparsity", s.sparsity);
    let dtype = enum_path("ElemType", s.dtype);
    let preprocess = enum_path("Preprocess", s.preprocess);
    let skip = enum_path("SkipStyle", s.skip);
    let activation = enum_path("Activation", s.activation);
    let [bm, bn, bk, wm, wn, wniter, tm, tn, ga, gb] =
        [s.bm, s.bn, s.bk, s.wm, s.wn, s.wniter, s.tm, s.tn, s.a_granularity, s.b_granularity]
            .map(Literal::u32_unsuffixed);
    let col_nnz = s.col_nnz;
    let archs = Literal::u8_unsuffixed(s.archs.0);
    quote! {
        ::esmm_spec::KernelSpec::Esmm(::esmm_spec::EsmmSpec {
            sparsity: #sparsity,
            dtype: #dtype,
            bm: #bm,
            bn: #bn,
            bk: #bk,
            wm: #wm,
            wn: #wn,
            wniter: #wniter,
            tm: #tm,
            tn: #tn,
            a_granularity: #ga,
            b_granularity: #gb,
            preprocess: #preprocess,
            skip: #skip,
            activation: #activation,
            col_nnz: #col_nnz,
            archs: ::esmm_spec::ArchSet(#archs),
        })
    }
}
