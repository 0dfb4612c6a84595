//! Fingerprints of compiled kernels: a hash of the rendered CUDA source and the CUDA release of
//! the nvcc that compiled it. Tuned tables store one per measured candidate, and the runtime
//! ignores measurements whose fingerprint differs from what its build compiled (a template
//! changed under the name: the measurement is stale).

use serde::{Deserialize, Serialize};

/// FNV-1a (64 bit) of `bytes`: stable across platforms and releases.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The hash of a variant's rendered source (the `.cu` text without its `@generated` header).
pub fn source_hash(rendered: &str) -> u64 {
    fnv1a(rendered.as_bytes())
}

/// What a measurement was taken on: the kernel source and the compiler release.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`source_hash`] as 16 lower-case hex digits.
    pub source: String,
    /// The CUDA release of nvcc, e.g. `13.0` (major.minor: patch releases keep code generation).
    pub nvcc: String,
}

impl Fingerprint {
    /// A fingerprint from a source hash and an nvcc release.
    pub fn new(source_hash: u64, nvcc_release: &str) -> Fingerprint {
        Fingerprint { source: format!("{source_hash:016x}"), nvcc: nvcc_release.to_string() }
    }

    /// Whether it describes this source hash compiled by this nvcc release.
    pub fn matches(&self, source_hash: u64, nvcc_release: &str) -> bool {
        self.source == format!("{source_hash:016x}") && self.nvcc == nvcc_release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_matching() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let f = Fingerprint::new(0xabc, "13.0");
        assert_eq!(f.source, "0000000000000abc");
        assert!(f.matches(0xabc, "13.0"));
        assert!(!f.matches(0xabd, "13.0") && !f.matches(0xabc, "12.8"));
    }
}
