//! Family `rans`: the decode GEMV over INT8 weights, rANS-decoded on the fly (`ans`) or plain
//! (`int8`), for 1..16 tokens (templates in `templates/rans/`). [`RansGenerator`] is its
//! [`FamilyGenerator`]; the work is split into
//! - [`validate`]: every validity rule, and the proof type [`ValidRans`];
//! - [`render`]: askama rendering, shared-memory budgets and the launches;
//! - [`sets`]: `shipped`, `sweep`, `all`, the defaults and the presets;
//! - [`spec_arg`]: the CLI's `key=value` overrides.

pub mod render;
pub mod sets;
pub mod spec_arg;
pub mod validate;

use esmm_spec::{Family, KernelSpec, Launch, RansSpec};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::family::{FamilyGenerator, Preset, ValidSpec};
use crate::sets::SetName;

pub use validate::ValidRans;

/// The generator of family rans.
pub struct RansGenerator;

fn proof(valid: &ValidSpec) -> &ValidRans {
    match valid {
        ValidSpec::Rans(v) => v,
        _ => unreachable!("the rans generator is handed rans specs only"),
    }
}

impl FamilyGenerator for RansGenerator {
    fn family(&self) -> Family {
        Family::Rans
    }
    fn validate(&self, spec: &KernelSpec) -> Result<ValidSpec, Vec<String>> {
        match spec {
            KernelSpec::Rans(s) => validate::validate(s).map(ValidSpec::Rans),
            other => Err(vec![format!("{} is not a rans spec", other.name())]),
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
        format!("threads={} smem={} columns_per_cta={} xs_bytes={}", s.threads(), render::gemm_smem_bytes(s), s.cta_columns(), s.xs_bytes())
    }
    fn params_line(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        let archs: Vec<String> = s.archs.iter().map(|a| a.sm_name()).collect();
        format!(
            "// dtype={} out={} kind={} lanes={} tile_n={} mt={} vec={} warps={} threads={} activation={} archs={}\n",
            s.dtype.tag(),
            s.out.tag(),
            s.kind.tag(),
            s.lanes,
            s.tile_n,
            s.mt,
            s.vec,
            s.warps,
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
            KernelSpec::Rans(s) => spec_arg::apply_override(s, key, value),
            other => Err(format!("{} is not a rans spec", other.name())),
        }
    }
}

/// `::esmm_spec::<ty>::<Variant>` from the variant's `Debug` spelling.
fn enum_path(ty: &str, variant: impl std::fmt::Debug) -> TokenStream {
    let ty = format_ident!("{}", ty);
    let v = format_ident!("{}", format!("{variant:?}"));
    quote!(::esmm_spec::#ty::#v)
}

/// The registry's `KernelSpec::Rans(RansSpec { .. })` literal.
fn spec_tokens(s: &RansSpec) -> TokenStream {
    let dtype = enum_path("ElemType", s.dtype);
    let out = enum_path("ElemType", s.out);
    let kind = enum_path("RansKind", s.kind);
    let activation = enum_path("Activation", s.activation);
    let [lanes, tile_n, mt, vec, warps] = [s.lanes, s.tile_n, s.mt, s.vec, s.warps].map(Literal::u32_unsuffixed);
    let archs = Literal::u8_unsuffixed(s.archs.0);
    quote! {
        ::esmm_spec::KernelSpec::Rans(::esmm_spec::RansSpec {
            dtype: #dtype,
            out: #out,
            kind: #kind,
            lanes: #lanes,
            tile_n: #tile_n,
            mt: #mt,
            vec: #vec,
            warps: #warps,
            activation: #activation,
            archs: ::esmm_spec::ArchSet(#archs),
        })
    }
}
