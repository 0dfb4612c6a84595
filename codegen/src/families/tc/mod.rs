//! Family `tc`: tensor-core block-sparse GEMM (templates in `templates/tc/`). [`TcGenerator`]
//! is its [`FamilyGenerator`]; the work is split into
//! - [`validate`]: every validity rule, and the proof type [`ValidTc`];
//! - [`layout`]: shared memory and side-stage geometry;
//! - [`render`]: askama rendering and the launches;
//! - [`sets`]: `shipped`, `sweep`, `all` and the defaults;
//! - [`presets`]: the default tiles and the CLI's presets;
//! - [`spec_arg`]: the CLI's `key=value` overrides.

pub mod layout;
pub mod presets;
pub mod render;
pub mod sets;
pub mod spec_arg;
pub mod validate;

use esmm_spec::{Family, KernelSpec, Launch, TcSpec};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::family::{FamilyGenerator, Preset, ValidSpec};
use crate::sets::SetName;
pub use validate::ValidTc;

/// The generator of family tc.
pub struct TcGenerator;

fn proof(valid: &ValidSpec) -> &ValidTc {
    match valid {
        ValidSpec::Tc(v) => v,
        _ => unreachable!("the tc generator is handed tc specs only"),
    }
}

impl FamilyGenerator for TcGenerator {
    fn family(&self) -> Family {
        Family::Tc
    }

    fn validate(&self, spec: &KernelSpec) -> Result<ValidSpec, Vec<String>> {
        match spec {
            KernelSpec::Tc(s) => validate::validate(s).map(ValidSpec::Tc),
            other => Err(vec![format!("{} is not a tc spec", other.name())]),
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
        format!("threads={} smem={} launches={}", s.threads(), layout::gemm_smem_bytes(s), render::launches(proof(valid)).len())
    }

    fn params_line(&self, valid: &ValidSpec) -> String {
        let s = proof(valid).spec();
        let archs: Vec<String> = s.archs.iter().map(|a| a.sm_name()).collect();
        format!(
            "// path={} dtype={} out={} cta={}x{}x{} warp={}x{} consumers={} threads={} stages={} group_m={} sparsity={} granularity={}x{}x{} patterns={} activation={} col_nnz={} archs={}\n",
            s.path.tag(),
            s.dtype.tag(),
            s.out.tag(),
            s.bm,
            s.bn,
            s.bk,
            s.wm,
            s.wn,
            s.consumers,
            s.threads(),
            s.stages,
            s.group_m,
            s.sparsity.tag(),
            s.a_rows,
            s.k_gran,
            s.b_cols,
            s.patterns.tag(),
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
        match spec {
            KernelSpec::Tc(s) => spec_arg::apply_override(s, key, value),
            other => Err(format!("{} is not a tc spec", other.name())),
        }
    }
}

/// `::esmm_spec::<ty>::<Variant>` from the variant's `Debug` spelling.
fn enum_path(ty: &str, variant: impl std::fmt::Debug) -> TokenStream {
    let ty = format_ident!("{}", ty);
    let v = format_ident!("{}", format!("{variant:?}"));
    quote!(::esmm_spec::#ty::#v)
}

/// The registry's `KernelSpec::Tc(TcSpec { .. })` literal.
fn spec_tokens(s: &TcSpec) -> TokenStream {
    let path = enum_path("TcPath", s.path);
    let dtype = enum_path("ElemType", s.dtype);
    let out = enum_path("ElemType", s.out);
    let sparsity = enum_path("TcSparsity", s.sparsity);
    let patterns = enum_path("TcPatterns", s.patterns);
    let activation = enum_path("Activation", s.activation);
    let [bm, bn, bk, wm, wn, consumers, stages, group_m, a_rows, k_gran, b_cols] =
        [s.bm, s.bn, s.bk, s.wm, s.wn, s.consumers, s.stages, s.group_m, s.a_rows, s.k_gran, s.b_cols].map(Literal::u32_unsuffixed);
    let col_nnz = s.col_nnz;
    let archs = Literal::u8_unsuffixed(s.archs.0);
    quote! {
        ::esmm_spec::KernelSpec::Tc(::esmm_spec::TcSpec {
            path: #path,
            dtype: #dtype,
            out: #out,
            bm: #bm,
            bn: #bn,
            bk: #bk,
            wm: #wm,
            wn: #wn,
            consumers: #consumers,
            stages: #stages,
            group_m: #group_m,
            sparsity: #sparsity,
            a_rows: #a_rows,
            k_gran: #k_gran,
            b_cols: #b_cols,
            patterns: #patterns,
            activation: #activation,
            col_nnz: #col_nnz,
            archs: ::esmm_spec::ArchSet(#archs),
        })
    }
}
