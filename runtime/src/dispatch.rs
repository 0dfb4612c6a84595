//! Which variant serves a call: the registry, the embedded fatbins, explicit overrides and the
//! default choice ([`choose_variant`], the one place the dispatch policy lives).

use crate::error::{Error, Result};
use crate::validate::Dims;
use esmm_spec::{Activation, Arch, ElemType, Preprocess, RegistryEntry, SkipStyle, Sparsity};

#[allow(unused_imports)]
mod generated {
    use esmm_spec::*;
    include!(concat!(env!("OUT_DIR"), "/registry.rs"));
}

#[allow(missing_docs)]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/kernels.rs"));
}

/// Every generated variant (from `generated/registry.rs`), in name order.
pub static REGISTRY: &[RegistryEntry] = generated::REGISTRY;

/// Compute capabilities (`major * 10 + minor`) with SASS embedded in this build.
pub const COMPILED_ARCHS: &[u32] = embedded::COMPILED_ARCHS;

/// Compute capability of the embedded PTX (the driver JIT-compiles it on newer GPUs).
pub const PTX_ARCH: u32 = embedded::PTX_ARCH;

/// The embedded fatbin of a variant, if this build compiled it.
pub fn fatbin(name: &str) -> Option<&'static [u8]> {
    embedded::FATBINS.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}

/// Names of every variant compiled into this build.
pub fn compiled_variants() -> impl Iterator<Item = &'static str> {
    embedded::FATBINS.iter().map(|(n, _)| *n)
}

/// Whether code compiled for this build can run on a GPU of compute capability `cc`:
/// SASS of the same major and a lower-or-equal minor version, or PTX of a lower-or-equal arch.
pub fn build_supports(cc: u32) -> bool {
    COMPILED_ARCHS.iter().any(|&a| a / 10 == cc / 10 && a <= cc) || PTX_ARCH <= cc
}

/// The [`Arch`] whose limits apply to a GPU of compute capability `cc`: the highest known
/// architecture not above it.
pub fn arch_for(cc: u32) -> Option<Arch> {
    Arch::ALL.into_iter().filter(|a| a.compute_capability() <= cc).max()
}

/// What a call asks of a variant.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Problem shape.
    pub dims: Dims,
    /// Epilogue activation.
    pub activation: Activation,
    /// Whether per-column nonzero counts are wanted.
    pub col_nnz: bool,
    /// Whether the caller supplied a prepared B pattern.
    pub prepared_b: bool,
    /// The device's architecture (None: unknown, no arch filter).
    pub arch: Option<Arch>,
}

/// Why `entry` cannot serve `req` (None when it can), including whether it is compiled into
/// this build.
pub fn mismatch(entry: &RegistryEntry, req: &Request) -> Option<String> {
    spec_mismatch(entry, req).or_else(|| {
        fatbin(entry.name).is_none().then(|| "it is not compiled into this build (regenerate generated/ and rebuild)".into())
    })
}

/// Why the variant's parameters cannot serve `req` (None when they can), whether compiled in or not.
pub fn spec_mismatch(entry: &RegistryEntry, req: &Request) -> Option<String> {
    let spec = &entry.spec;
    if spec.dtype != ElemType::F32 {
        return Some(format!("it is a {} kernel; only f32 is supported", spec.dtype.tag()));
    }
    if spec.activation != req.activation {
        return Some(format!(
            "its activation is {} but the call asks for {}",
            spec.activation.tag(),
            req.activation.tag()
        ));
    }
    if spec.col_nnz != req.col_nnz {
        return Some(if spec.col_nnz {
            "it writes per-column nonzero counts but the call passed no col_nnz buffer".into()
        } else {
            "it has no per-column nonzero-count epilogue but the call asks for one".into()
        });
    }
    if spec.preprocess == Preprocess::OfflineB && !req.prepared_b {
        return Some("it reads an offline B pattern; pass a PreparedB from Esmm::prepare_b".into());
    }
    if spec.preprocess == Preprocess::OfflineB && !matches!(spec.b_granularity, 8 | 32) {
        return Some(format!("PreparedB holds granularities 32 and 8, not {}", spec.b_granularity));
    }
    if let Some(arch) = req.arch {
        if !spec.archs.contains(arch) {
            return Some(format!("it is not valid for {}", arch.sm_name()));
        }
    }
    None
}

/// Looks up a variant by name and checks it can serve `req`.
pub fn variant_by_name(name: &str, req: &Request) -> Result<&'static RegistryEntry> {
    let Some(entry) = REGISTRY.iter().find(|e| e.name == name) else {
        return Err(Error::UnknownVariant { name: name.to_string(), near: near_names(name, 3) });
    };
    match mismatch(entry, req) {
        None => Ok(entry),
        Some(reason) => Err(Error::VariantMismatch { name: name.to_string(), reason }),
    }
}

/// The default variant for a call. Policy (lowest key wins, ties by name):
/// 1. sparsity: joint, then A-only, B-only, dense;
/// 2. preprocessing: with a prepared B, offline-B, fused, separate; without, fused, separate;
/// 3. the generator's defaults (`is_default`) before other variants; 4. branch skip before
/// branchless; 5. A granularity 64, 32, 8; B granularity 32, 8.
///
/// The lead extends this with tuned tables and adaptive dense/cuBLAS dispatch.
pub fn choose_variant(req: &Request) -> Result<&'static RegistryEntry> {
    fn rank(x: u32, order: &[u32]) -> usize {
        order.iter().position(|o| *o == x).unwrap_or(order.len())
    }
    let key = |e: &RegistryEntry| {
        let s = &e.spec;
        let sparsity = match s.sparsity {
            Sparsity::Joint => 0,
            Sparsity::AOnly => 1,
            Sparsity::BOnly => 2,
            Sparsity::Dense => 3,
        };
        let pre = match (s.preprocess, req.prepared_b) {
            (Preprocess::OfflineB, true) => 0,
            (Preprocess::Fused, _) => 1,
            (Preprocess::Separate, _) => 2,
            _ => 3,
        };
        let skip = (s.skip == SkipStyle::Branchless) as u32;
        let not_default = !e.is_default as u32;
        (sparsity, pre, not_default, skip, rank(s.a_granularity, &[64, 32, 8]), rank(s.b_granularity, &[32, 8]))
    };
    REGISTRY
        .iter()
        .filter(|e| mismatch(e, req).is_none())
        .min_by_key(|e| key(e))
        .ok_or_else(|| {
            Error::NoVariant(format!(
                "activation {}, col_nnz {}{} on {} ({} variants in the registry, {} compiled)",
                req.activation.tag(),
                req.col_nnz,
                if req.prepared_b { ", prepared B" } else { "" },
                req.arch.map_or("an unknown arch".into(), |a| a.sm_name()),
                REGISTRY.len(),
                compiled_variants().count()
            ))
        })
}

/// The `count` registry names closest to `name` (edit distance).
pub fn near_names(name: &str, count: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = REGISTRY.iter().map(|e| (edit_distance(name, e.name), e.name)).collect();
    scored.sort();
    scored.into_iter().take(count).map(|(_, n)| n.to_string()).collect()
}

/// Levenshtein distance over bytes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(activation: Activation, col_nnz: bool, prepared_b: bool) -> Request {
        Request { dims: Dims::new(64, 64, 64), activation, col_nnz, prepared_b, arch: Some(Arch::Sm90) }
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn arch_support_rules() {
        assert_eq!(arch_for(90), Some(Arch::Sm90));
        assert_eq!(arch_for(87), Some(Arch::Sm86));
        assert_eq!(arch_for(100), Some(Arch::Sm90));
        assert_eq!(arch_for(75), None);
        // PTX_ARCH is the lowest compiled arch, so anything at or above it is supported.
        assert!(build_supports(PTX_ARCH));
        assert!(build_supports(120));
        assert!(!build_supports(75));
    }

    #[test]
    fn unknown_variant_lists_near_names() {
        let e = variant_by_name("esmm_no_such_variant", &req(Activation::None, false, false)).unwrap_err();
        let Error::UnknownVariant { near, .. } = &e else { panic!("{e}") };
        assert_eq!(near.len(), REGISTRY.len().min(3));
        assert!(e.to_string().contains("esmm_no_such_variant"));
    }

    #[test]
    fn every_chosen_variant_fits_the_request() {
        for act in [Activation::None, Activation::Relu, Activation::Relu2] {
            for nnz in [false, true] {
                for prepared in [false, true] {
                    let r = req(act, nnz, prepared);
                    match choose_variant(&r) {
                        Ok(e) => {
                            assert_eq!(mismatch(e, &r), None);
                            assert_eq!(e.spec.activation, act);
                            assert_eq!(e.spec.col_nnz, nnz);
                            if !prepared {
                                assert_ne!(e.spec.preprocess, Preprocess::OfflineB);
                            }
                        }
                        Err(e) => assert!(matches!(e, Error::NoVariant(_)), "{e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn explicit_override_checks_the_request() {
        for e in REGISTRY {
            if fatbin(e.name).is_none() {
                continue;
            }
            let s = e.spec;
            let r = req(s.activation, s.col_nnz, true);
            assert!(variant_by_name(e.name, &r).is_ok(), "{}", e.name);
            let other = if s.activation == Activation::Relu { Activation::None } else { Activation::Relu };
            let err = variant_by_name(e.name, &req(other, s.col_nnz, true)).unwrap_err();
            assert!(err.to_string().contains("activation"), "{err}");
            let err = variant_by_name(e.name, &req(s.activation, !s.col_nnz, true)).unwrap_err();
            assert!(err.to_string().contains("nonzero"), "{err}");
        }
    }
}
