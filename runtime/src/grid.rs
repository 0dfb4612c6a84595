//! Evaluates a launch's [`GridRule`] for a problem shape (pure, no GPU).

use crate::error::{Error, Result};
use crate::validate::Dims;
use esmm_spec::GridRule;

/// Largest `gridDim.y` / `gridDim.z` the hardware accepts.
pub const MAX_GRID_Y: u64 = 65535;
/// Largest `gridDim.x` the hardware accepts.
pub const MAX_GRID_X: u64 = i32::MAX as u64;

/// Grid dimensions of one launch. `resident_ctas` (max active CTAs per SM × SM count) caps
/// persistent grids; it is ignored by the other rules. Errors when the grid exceeds hardware
/// limits (e.g. M so large that `ceil(M / bm) > 65535`) or a rule has a zero tile size.
pub fn grid_dims(rule: GridRule, dims: Dims, resident_ctas: u64) -> Result<(u32, u32, u32)> {
    let dc = |x: usize, d: u32| -> Result<u64> {
        if d == 0 {
            return Err(Error::InvalidArgument(format!("grid rule {rule:?} has a zero block size")));
        }
        Ok((x as u64).div_ceil(u64::from(d)))
    };
    let (x, y) = match rule {
        GridRule::Tiles { bm, bn } => (dc(dims.n, bn)?, dc(dims.m, bm)?),
        GridRule::PatternA { rows } => (dc(dims.k, 32)?, dc(dims.m, rows)?),
        GridRule::PatternB { cols } => (dc(dims.k, 32)?, dc(dims.n, cols)?),
        GridRule::PatternBlocks { operand, rows, k_gran } => {
            let words = dc(dc(dims.k, k_gran)? as usize, 32)?;
            let extent = if operand == esmm_spec::abi::Operand::B { dims.n } else { dims.m };
            (words, dc(extent, rows)?)
        }
        GridRule::PackTiles { operand } => match operand {
            esmm_spec::abi::Operand::A => (dc(dims.k, 32)?, dc(dims.m, 32)?),
            _ => (dc(dims.n, 32)?, dc(dims.k, 32)?),
        },
        GridRule::Single => (1, 1),
        GridRule::PerRow => (dims.m as u64, 1),
        GridRule::Gemv { cols, rows, xs_bytes, max_chunk } => {
            if cols == 0 {
                return Err(Error::InvalidArgument(format!("grid rule {rule:?} has a zero block size")));
            }
            let (gx, splits, _) = esmm_spec::abi::gemv_split(cols, rows, xs_bytes, max_chunk, dims.m, dims.n, dims.k, resident_ctas);
            (gx, splits)
        }
        GridRule::Persistent { bm, bn } => {
            let tiles = dc(dims.n, bn)? * dc(dims.m, bm)?;
            if resident_ctas == 0 {
                return Err(Error::InvalidArgument(
                    "persistent kernel: no CTA fits on a multiprocessor (occupancy 0)".into(),
                ));
            }
            (tiles.min(resident_ctas), 1)
        }
    };
    if x > MAX_GRID_X || y > MAX_GRID_Y {
        return Err(Error::InvalidArgument(format!(
            "shape {}x{}x{} needs a grid of {x}x{y} CTAs under {rule:?}, beyond the hardware limit (x ≤ {MAX_GRID_X}, y ≤ {MAX_GRID_Y}); split the GEMM",
            dims.m, dims.n, dims.k
        )));
    }
    Ok((x.max(1) as u32, y.max(1) as u32, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let d = Dims::new(1000, 130, 65);
        assert_eq!(grid_dims(GridRule::Tiles { bm: 64, bn: 128 }, d, 0).unwrap(), (2, 16, 1));
        assert_eq!(grid_dims(GridRule::PatternA { rows: 64 }, d, 0).unwrap(), (3, 16, 1));
        assert_eq!(grid_dims(GridRule::PatternB { cols: 8 }, d, 0).unwrap(), (3, 17, 1));
        assert_eq!(grid_dims(GridRule::Persistent { bm: 64, bn: 128 }, d, 264).unwrap(), (32, 1, 1));
        assert_eq!(grid_dims(GridRule::Persistent { bm: 64, bn: 128 }, d, 10).unwrap(), (10, 1, 1));
        assert!(grid_dims(GridRule::Persistent { bm: 64, bn: 128 }, d, 0).is_err());
        assert!(grid_dims(GridRule::Tiles { bm: 0, bn: 128 }, d, 0).is_err());
        use esmm_spec::abi::Operand;
        // 65 k in groups of 16: 5 groups, one word; 1000 rows in groups of 64; 130 columns of 128.
        assert_eq!(grid_dims(GridRule::PatternBlocks { operand: Operand::A, rows: 64, k_gran: 16 }, d, 0).unwrap(), (1, 16, 1));
        assert_eq!(grid_dims(GridRule::PatternBlocks { operand: Operand::B, rows: 128, k_gran: 1 }, d, 0).unwrap(), (3, 2, 1));
        assert_eq!(grid_dims(GridRule::PackTiles { operand: Operand::A }, d, 0).unwrap(), (3, 32, 1));
        assert_eq!(grid_dims(GridRule::PackTiles { operand: Operand::B }, d, 0).unwrap(), (5, 3, 1));
        // ceil(M / 8) > 65535 is rejected, not launched.
        let e = grid_dims(GridRule::Tiles { bm: 8, bn: 8 }, Dims::new(8 * 65536, 1, 1), 0).unwrap_err();
        assert!(e.to_string().contains("split"), "{e}");
    }
}
