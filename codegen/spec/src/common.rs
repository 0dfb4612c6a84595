//! The vocabulary every kernel family shares: element types, epilogues, CTA tiles and target
//! architectures.

use serde::{Deserialize, Serialize};

/// Element type of an operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElemType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

impl ElemType {
    /// Every element type, in declaration order.
    pub const ALL: [ElemType; 3] = [ElemType::F32, ElemType::F16, ElemType::Bf16];

    /// Short tag used in names (`f32`, `f16`, `bf16`).
    pub const fn tag(self) -> &'static str {
        match self {
            ElemType::F32 => "f32",
            ElemType::F16 => "f16",
            ElemType::Bf16 => "bf16",
        }
    }

    /// Inverse of [`ElemType::tag`].
    pub fn from_tag(tag: &str) -> Option<ElemType> {
        ElemType::ALL.into_iter().find(|v| v.tag() == tag)
    }

    /// Bytes per element.
    pub const fn size(self) -> u32 {
        match self {
            ElemType::F32 => 4,
            ElemType::F16 | ElemType::Bf16 => 2,
        }
    }

    /// The CUDA C++ type (`float`, `__half`, `__nv_bfloat16`).
    pub const fn cuda_type(self) -> &'static str {
        match self {
            ElemType::F32 => "float",
            ElemType::F16 => "__half",
            ElemType::Bf16 => "__nv_bfloat16",
        }
    }
}

/// Elementwise activation applied to C in the epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// C = A·B
    #[default]
    None,
    /// C = max(A·B, 0)
    Relu,
    /// C = max(A·B, 0)²
    Relu2,
}

impl Activation {
    /// Every activation, in declaration order.
    pub const ALL: [Activation; 3] = [Activation::None, Activation::Relu, Activation::Relu2];

    /// Short tag used in names.
    pub const fn tag(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::Relu2 => "relu2",
        }
    }

    /// Inverse of [`Activation::tag`].
    pub fn from_tag(tag: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|v| v.tag() == tag)
    }
}

/// What the epilogue does to C: an activation and, optionally, per-column nonzero counts
/// (seed 000: the statistics a split GEMM needs). The last part of every kernel name:
/// `<activation>[_nnz]`. The default is [`Epilogue::NONE`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Epilogue {
    /// Elementwise activation.
    pub activation: Activation,
    /// Whether per-column nonzero counts of C are accumulated.
    pub col_nnz: bool,
}

impl Epilogue {
    /// Plain `C = A·B`.
    pub const NONE: Epilogue = Epilogue { activation: Activation::None, col_nnz: false };

    /// Every epilogue (activation × column counts).
    pub fn all() -> impl Iterator<Item = Epilogue> {
        Activation::ALL
            .into_iter()
            .flat_map(|activation| [false, true].map(|col_nnz| Epilogue { activation, col_nnz }))
    }

    /// The name suffix: `none`, `relu2_nnz`, ...
    pub fn tag(self) -> String {
        if self.col_nnz {
            format!("{}_nnz", self.activation.tag())
        } else {
            self.activation.tag().to_string()
        }
    }
}

/// A CTA tile: the CTA computes a `bm × bn` tile of C, stepping through K `bk` at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CtaTile {
    /// Tile rows.
    pub bm: u32,
    /// Tile columns.
    pub bn: u32,
    /// K step.
    pub bk: u32,
}

/// A CUDA GPU architecture the kernels can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Arch {
    /// A100 (compute capability 8.0).
    Sm80,
    /// RTX 30xx, A10, A40 (8.6).
    Sm86,
    /// RTX 40xx, L4, L40 (8.9).
    Sm89,
    /// H100, H200 (9.0).
    Sm90,
    /// RTX 50xx (12.0).
    Sm120,
}

impl Arch {
    /// Every architecture the project builds for, lowest first.
    pub const ALL: [Arch; 5] = [Arch::Sm80, Arch::Sm86, Arch::Sm89, Arch::Sm90, Arch::Sm120];

    /// Compute capability as `major * 10 + minor` (e.g. 90).
    pub const fn compute_capability(self) -> u32 {
        match self {
            Arch::Sm80 => 80,
            Arch::Sm86 => 86,
            Arch::Sm89 => 89,
            Arch::Sm90 => 90,
            Arch::Sm120 => 120,
        }
    }

    /// The nvcc spelling, e.g. `sm_90`.
    pub fn sm_name(self) -> String {
        format!("sm_{}", self.compute_capability())
    }

    /// Parses `sm_90`, `90`, `9.0` or `compute_90`.
    pub fn parse(s: &str) -> Option<Arch> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.trim_start_matches("sm_").trim_start_matches("compute_").replace('.', "");
        Arch::ALL.into_iter().find(|a| a.compute_capability().to_string() == t)
    }

    /// The highest known architecture not above compute capability `cc` (whose limits apply).
    pub fn for_compute_capability(cc: u32) -> Option<Arch> {
        Arch::ALL.into_iter().filter(|a| a.compute_capability() <= cc).max()
    }

    /// Largest dynamic shared memory one block may opt into, in bytes.
    pub const fn max_smem_per_block(self) -> u32 {
        match self {
            Arch::Sm80 => 163 * 1024,
            Arch::Sm86 | Arch::Sm89 | Arch::Sm120 => 99 * 1024,
            Arch::Sm90 => 227 * 1024,
        }
    }

    /// 32-bit registers per multiprocessor.
    pub const fn registers_per_sm(self) -> u32 {
        65536
    }

    /// Most resident threads per multiprocessor.
    pub const fn max_threads_per_sm(self) -> u32 {
        match self {
            Arch::Sm80 | Arch::Sm90 => 2048,
            Arch::Sm86 | Arch::Sm89 | Arch::Sm120 => 1536,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Arch::Sm80 => 1,
            Arch::Sm86 => 2,
            Arch::Sm89 => 4,
            Arch::Sm90 => 8,
            Arch::Sm120 => 16,
        }
    }
}

/// A set of architectures, as a bit set so that it stays `Copy` and `const`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArchSet(pub u8);

impl ArchSet {
    /// All of [`Arch::ALL`].
    pub const ALL: ArchSet = ArchSet(0b1_1111);

    /// Whether `arch` is in the set.
    pub fn contains(self, arch: Arch) -> bool {
        self.0 & arch.bit() != 0
    }

    /// The members, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Arch> {
        Arch::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// Builds a set from a list.
    pub fn from_archs(archs: &[Arch]) -> ArchSet {
        ArchSet(archs.iter().fold(0, |m, a| m | a.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_epilogues_are_complete() {
        for t in ElemType::ALL {
            assert_eq!(ElemType::from_tag(t.tag()), Some(t));
        }
        for a in Activation::ALL {
            assert_eq!(Activation::from_tag(a.tag()), Some(a));
        }
        assert_eq!(Epilogue::default(), Epilogue::NONE);
        let tags: Vec<String> = Epilogue::all().map(Epilogue::tag).collect();
        assert_eq!(tags, ["none", "none_nnz", "relu", "relu_nnz", "relu2", "relu2_nnz"]);
        assert_eq!(Arch::for_compute_capability(87), Some(Arch::Sm86));
        assert_eq!(Arch::for_compute_capability(75), None);
        assert_eq!(Arch::parse("9.0"), Some(Arch::Sm90));
    }
}
