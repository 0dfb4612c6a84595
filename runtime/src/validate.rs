//! Checks on shapes, buffer lengths and alignment, shared by every entry point (pure, no GPU).

use crate::error::{Error, Result};

/// Problem dimensions of `C[M×N] = act(A[M×K] · B[K×N])`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dims {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Columns of A, rows of B.
    pub k: usize,
}

impl Dims {
    /// `Dims { m, n, k }`.
    pub const fn new(m: usize, n: usize, k: usize) -> Dims {
        Dims { m, n, k }
    }

    /// Whether C is empty (M or N is zero): calls are no-ops.
    pub const fn is_empty_output(&self) -> bool {
        self.m == 0 || self.n == 0
    }

    /// Rejects shapes whose element indexing would overflow the kernels' 32-bit `int`
    /// arithmetic: M·K, K·N and M·N must each be ≤ `i32::MAX`.
    pub fn check(&self) -> Result<()> {
        let limit = i32::MAX as u128;
        for (what, x, y) in [("M*K", self.m, self.k), ("K*N", self.k, self.n), ("M*N", self.m, self.n)] {
            if (x as u128) * (y as u128) > limit {
                return Err(Error::InvalidArgument(format!(
                    "{what} = {x}*{y} exceeds i32::MAX ({}); split the GEMM into smaller pieces",
                    i32::MAX
                )));
            }
        }
        Ok(())
    }
}

/// Requires `len >= needed` for the named operand.
pub fn check_len(what: &str, len: usize, needed: usize) -> Result<()> {
    if len < needed {
        return Err(Error::InvalidArgument(format!(
            "{what} holds {len} elements but the shape needs {needed}"
        )));
    }
    Ok(())
}

/// Requires a 16-byte-aligned device address (the kernels use 128-bit vector loads).
pub fn check_align(what: &'static str, addr: u64) -> Result<()> {
    if !addr.is_multiple_of(16) {
        return Err(Error::Misaligned { what, addr });
    }
    Ok(())
}

/// `ceil(x / d)` for `d > 0`.
pub const fn div_ceil(x: usize, d: usize) -> usize {
    x.div_ceil(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_rejected_per_product() {
        assert!(Dims::new(46340, 46340, 46340).check().is_ok()); // 46340² < 2³¹
        let e = Dims::new(1 << 16, 1, 1 << 15).check().unwrap_err().to_string();
        assert!(e.contains("M*K"), "{e}");
        let e = Dims::new(1, 1 << 16, 1 << 15).check().unwrap_err().to_string();
        assert!(e.contains("K*N"), "{e}");
        let e = Dims::new(1 << 16, 1 << 15, 1).check().unwrap_err().to_string();
        assert!(e.contains("M*N"), "{e}");
        assert!(Dims::new(usize::MAX, usize::MAX, usize::MAX).check().is_err());
        assert!(Dims::new(i32::MAX as usize, 1, 1).check().is_ok());
        assert!(Dims::new(i32::MAX as usize + 1, 1, 1).check().is_err());
    }

    #[test]
    fn zero_dims_are_valid() {
        assert!(Dims::new(0, 0, 0).check().is_ok());
        assert!(Dims::new(0, 5, 3).is_empty_output());
        assert!(Dims::new(5, 0, 3).is_empty_output());
        assert!(!Dims::new(5, 5, 0).is_empty_output());
    }

    #[test]
    fn lengths_and_alignment() {
        assert!(check_len("A", 12, 12).is_ok());
        assert!(check_len("A", 13, 12).is_ok());
        let e = check_len("A", 11, 12).unwrap_err().to_string();
        assert!(e.contains("A holds 11") && e.contains("12"), "{e}");
        assert!(check_align("A", 0x7000_0000_0000).is_ok());
        for off in [4u64, 8, 12] {
            let e = check_align("B", 0x7000_0000_0000 + off).unwrap_err();
            assert!(matches!(e, Error::Misaligned { what: "B", .. }));
            assert!(e.to_string().contains("16-byte"));
        }
    }
}
