//! The per-family generator interface: everything `emit` and the CLI need from a kernel family
//! sits behind one small trait ([`FamilyGenerator`]) and one table ([`generator`]), the way
//! CUTLASS's generator pairs each operation kind with its emitter. The table is a `match` over
//! the closed [`Family`] enum, so a new family does not compile until it is registered here.
//!
//! A spec is generated in three steps: [`validate`] checks the family's rules and returns a
//! [`ValidSpec`] (the only way to get one), [`ValidSpec::render`] renders its `.cu` body and
//! [`ValidSpec::launches`] gives its launches; rendering never re-checks a rule.

use esmm_spec::fingerprint::source_hash;
use esmm_spec::{Family, KernelSpec, Launch};
use proc_macro2::TokenStream;

use crate::families::esmm::{self, EsmmGenerator};
use crate::families::gemv::{self, GemvGenerator};
use crate::families::rans::{self, RansGenerator};
use crate::families::tc::{self, TcGenerator};
use crate::sets::SetName;

/// A spec that passed its family's validity rules, holding the family's proof type (which only
/// the family's `validate` constructs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValidSpec {
    /// A valid esmm variant.
    Esmm(esmm::ValidEsmm),
    /// A valid tc variant.
    Tc(tc::ValidTc),
    /// A valid gemv variant.
    Gemv(gemv::ValidGemv),
    /// A valid rans variant.
    Rans(rans::ValidRans),
}

impl ValidSpec {
    /// The validated spec.
    pub fn spec(&self) -> KernelSpec {
        match self {
            ValidSpec::Esmm(v) => KernelSpec::Esmm(*v.spec()),
            ValidSpec::Tc(v) => KernelSpec::Tc(*v.spec()),
            ValidSpec::Gemv(v) => KernelSpec::Gemv(*v.spec()),
            ValidSpec::Rans(v) => KernelSpec::Rans(*v.spec()),
        }
    }

    /// Its family.
    pub fn family(&self) -> Family {
        self.spec().family()
    }

    /// Its procedural name.
    pub fn name(&self) -> String {
        self.spec().name()
    }

    /// The family's generator.
    pub fn generator(&self) -> &'static dyn FamilyGenerator {
        generator(self.family())
    }

    /// The rendered `.cu` body (without the `@generated` header).
    pub fn render(&self) -> Result<String, String> {
        self.generator().render(self)
    }

    /// The launches in execution order.
    pub fn launches(&self) -> Vec<Launch> {
        self.generator().launches(self)
    }

    /// [`source_hash`] of the rendered body: what tuned tables fingerprint.
    pub fn source_hash(&self) -> Result<u64, String> {
        self.render().map(|body| source_hash(&body))
    }
}

/// A named point of a family's space (the seed kernels of esmm: `k10`..`k30`).
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Lower-case preset name, e.g. `k25`, unique over all families.
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// The variant.
    pub spec: KernelSpec,
}

/// What emission and the CLI need from one family. Every method that takes a [`ValidSpec`] is
/// called with a spec of [`FamilyGenerator::family`] only.
pub trait FamilyGenerator: Sync {
    /// The family.
    fn family(&self) -> Family;
    /// Checks every validity rule; `Err` lists each violated rule as a readable sentence.
    fn validate(&self, spec: &KernelSpec) -> Result<ValidSpec, Vec<String>>;
    /// The `.cu` body of a valid variant (without the `@generated` header).
    fn render(&self, valid: &ValidSpec) -> Result<String, String>;
    /// The launches of a valid variant, in execution order.
    fn launches(&self, valid: &ValidSpec) -> Vec<Launch>;
    /// The family's members of a named set (any order, duplicates allowed; invalid ones only
    /// in [`SetName::All`]).
    fn set(&self, set: SetName) -> Vec<KernelSpec>;
    /// The family's presets.
    fn presets(&self) -> &'static [Preset];
    /// The variants the runtime prefers when no tuned table decides.
    fn defaults(&self) -> Vec<KernelSpec>;
    /// One line of key parameters for `list` and `explain`.
    fn key_params(&self, valid: &ValidSpec) -> String;
    /// The comment line under the `@generated` header of a `.cu` file (ends with `\n`).
    fn params_line(&self, valid: &ValidSpec) -> String;
    /// The spec as a Rust expression of type `::esmm_spec::KernelSpec` (the registry's `spec`).
    fn spec_literal(&self, valid: &ValidSpec) -> TokenStream;
    /// The override keys of [`FamilyGenerator::apply_override`], for help texts.
    fn override_keys(&self) -> &'static str;
    /// Applies one `key=value` override of a CLI `SPEC` argument.
    fn apply_override(&self, spec: &mut KernelSpec, key: &str, value: &str) -> Result<(), String>;
}

/// The generator of a family.
pub fn generator(family: Family) -> &'static dyn FamilyGenerator {
    match family {
        Family::Esmm => &EsmmGenerator,
        Family::Tc => &TcGenerator,
        Family::Gemv => &GemvGenerator,
        Family::Rans => &RansGenerator,
    }
}

/// The generators of `family`, or of every family when `None`.
pub fn generators(family: Option<Family>) -> Vec<&'static dyn FamilyGenerator> {
    Family::ALL.into_iter().filter(|f| family.is_none_or(|want| want == *f)).map(generator).collect()
}

/// Checks a spec against its family's rules.
pub fn validate(spec: &KernelSpec) -> Result<ValidSpec, Vec<String>> {
    generator(spec.family()).validate(spec)
}

/// The presets of `family` (every family when `None`).
pub fn presets(family: Option<Family>) -> Vec<Preset> {
    generators(family).iter().flat_map(|g| g.presets().iter().copied()).collect()
}

/// Looks a preset up by name, case-insensitively (`k25`, `K25`), in every family.
pub fn preset(name: &str) -> Option<Preset> {
    presets(None).into_iter().find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_registered_under_its_own_key() {
        for f in Family::ALL {
            assert_eq!(generator(f).family(), f);
        }
        let names: Vec<&str> = presets(None).iter().map(|p| p.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "preset names must be unique over families");
    }
}
