//! The host side of the element types the GPU suites test (f32, bf16, f16): a poison value
//! no kernel writes, exact conversions, and rounding to an input type.

use esmm::ElemType;
use half::{bf16, f16};

/// An element type on the host. Each suite adds the runtime traits its calls need.
pub trait HostElem: Copy + Send + Sync + 'static {
    /// A NaN no arithmetic produces (negative, quiet, odd payload): an element still holding it
    /// after a call was never written.
    const POISON: Self;
    /// Round to nearest even (exact for values of the type).
    fn from_f32(x: f32) -> Self;
    /// Exact.
    fn to_f32(self) -> f32;
    /// The bit pattern (for the poison test).
    fn bits(self) -> u32;
}

impl HostElem for f32 {
    const POISON: f32 = f32::from_bits(0xFFE5_A5A5);
    fn from_f32(x: f32) -> f32 {
        x
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn bits(self) -> u32 {
        self.to_bits()
    }
}

impl HostElem for bf16 {
    const POISON: bf16 = bf16::from_bits(0xFFE5);
    fn from_f32(x: f32) -> bf16 {
        bf16::from_f32(x)
    }
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    fn bits(self) -> u32 {
        u32::from(self.to_bits())
    }
}

impl HostElem for f16 {
    const POISON: f16 = f16::from_bits(0xFE5A);
    fn from_f32(x: f32) -> f16 {
        f16::from_f32(x)
    }
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    fn bits(self) -> u32 {
        u32::from(self.to_bits())
    }
}

/// `x` rounded to the input type `t` and back (exact); f32 stays unrounded.
pub fn round_to(t: ElemType, x: f32) -> f32 {
    match t {
        ElemType::Bf16 => bf16::from_f32(x).to_f32(),
        ElemType::F16 => f16::from_f32(x).to_f32(),
        ElemType::F32 => x,
    }
}
