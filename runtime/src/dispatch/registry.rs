//! The generated registry (`generated/registry.rs`: every shipped variant with its launches and
//! argument lists) and the fatbins build.rs compiled and embedded, looked up by name in O(1).

use std::collections::HashMap;
use std::sync::OnceLock;

use esmm_spec::RegistryEntry;

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

/// CUDA release of the nvcc that compiled the embedded kernels (empty when none were compiled).
pub const NVCC_RELEASE: &str = embedded::NVCC_RELEASE;

/// Registry entries by name, and each compiled variant's fatbin (built once).
struct Index {
    entries: HashMap<&'static str, &'static RegistryEntry>,
    fatbins: HashMap<&'static str, &'static [u8]>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| Index {
        entries: REGISTRY.iter().map(|e| (e.name, e)).collect(),
        fatbins: embedded::FATBINS.iter().copied().collect(),
    })
}

/// The registry entry named `name`.
pub fn entry(name: &str) -> Option<&'static RegistryEntry> {
    index().entries.get(name).copied()
}

/// The embedded fatbin of a variant, if this build compiled it.
pub fn fatbin(name: &str) -> Option<&'static [u8]> {
    index().fatbins.get(name).copied()
}

/// The source fingerprint of a variant this build compiled (tuned tables compare theirs to it).
pub fn compiled_source_hash(name: &str) -> Option<u64> {
    entry(name).filter(|e| fatbin(e.name).is_some()).map(|e| e.source_hash)
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

    #[test]
    fn lookups_and_support_rules() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        for e in REGISTRY {
            assert!(std::ptr::eq(entry(e.name).unwrap(), e));
            // Every launch's symbol is derived from the name; the ABI travels as data.
            assert!(e.launches.iter().all(|l| !l.args.is_empty() && l.symbol(e.name).starts_with(e.name)));
        }
        assert!(entry("esmm_no_such").is_none());
        assert!(build_supports(PTX_ARCH));
        assert!(build_supports(120));
        assert!(!build_supports(75));
        if compiled_variants().next().is_some() {
            assert!(!NVCC_RELEASE.is_empty());
        }
    }
}
