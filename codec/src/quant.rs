//! Per-output-channel symmetric INT8 quantization.
//!
//! `W` is K×N row-major: row `k` is input feature `k`, column `n` is output channel `n`,
//! `y[n] = Σ_k x[k]·W[k][n]`. For every column `n`:
//! `scale[n] = max_k |W[k][n]| / 127` (computed in f64, stored as f32), and
//! `code = round_half_away_from_zero(W / scale)` clamped to `[-127, 127]`
//! (a column of zeros gets scale 0 and all-zero codes). Dequantization is `code as f32 * scale[n]`.

use crate::error::{CodecError, Result};
use half::{bf16, f16};

/// A weight element type that can be quantized.
pub trait Element: Copy + Send + Sync {
    /// The value as f32 (exact for f32, bf16 and f16).
    fn to_f32(self) -> f32;
}

impl Element for f32 {
    fn to_f32(self) -> f32 {
        self
    }
}

impl Element for bf16 {
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
}

impl Element for f16 {
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

/// An INT8-quantized K×N matrix with one f32 scale per output channel (column).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedMatrix {
    /// Rows (input features).
    pub k: usize,
    /// Columns (output channels).
    pub n: usize,
    /// K×N codes, row-major, each in `[-127, 127]`.
    pub codes: Vec<i8>,
    /// N scales, finite and ≥ 0.
    pub scales: Vec<f32>,
}

impl QuantizedMatrix {
    /// Checks the invariants: K, N ≥ 1, `codes.len() == K·N`, `scales.len() == N`,
    /// codes in `[-127, 127]`, scales finite and ≥ 0.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 || self.n == 0 {
            return Err(CodecError::BadParams(format!(
                "matrix must have K ≥ 1 and N ≥ 1 (got {}×{})",
                self.k, self.n
            )));
        }
        let kn = self.k.checked_mul(self.n).ok_or_else(|| {
            CodecError::BadParams(format!("K·N overflows ({}×{})", self.k, self.n))
        })?;
        if self.codes.len() != kn {
            return Err(CodecError::BadParams(format!(
                "codes has {} entries, K·N = {kn}",
                self.codes.len()
            )));
        }
        if self.scales.len() != self.n {
            return Err(CodecError::BadParams(format!(
                "scales has {} entries, N = {}",
                self.scales.len(),
                self.n
            )));
        }
        if let Some(i) = self.codes.iter().position(|&c| c == i8::MIN) {
            return Err(CodecError::BadParams(format!(
                "code -128 at row {}, column {} (codes must be in [-127, 127])",
                i / self.n,
                i % self.n
            )));
        }
        if let Some(j) = self.scales.iter().position(|s| !s.is_finite() || *s < 0.0) {
            return Err(CodecError::BadParams(format!(
                "scale {} of column {j} is not finite and ≥ 0",
                self.scales[j]
            )));
        }
        Ok(())
    }

    /// The dequantized matrix `codes[k][n] as f32 * scales[n]`, K×N row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.codes.len());
        if self.n == 0 {
            return out;
        }
        for row in self.codes.chunks(self.n) {
            out.extend(row.iter().zip(&self.scales).map(|(&c, &s)| c as f32 * s));
        }
        out
    }
}

/// Quantizes an f32 matrix (K×N, rows `row_stride` ≥ N elements apart).
pub fn quantize_f32(w: &[f32], k: usize, n: usize, row_stride: usize) -> Result<QuantizedMatrix> {
    quantize(w, k, n, row_stride)
}

/// Quantizes a bf16 matrix (K×N, rows `row_stride` ≥ N elements apart).
pub fn quantize_bf16(w: &[bf16], k: usize, n: usize, row_stride: usize) -> Result<QuantizedMatrix> {
    quantize(w, k, n, row_stride)
}

/// Quantizes an f16 matrix (K×N, rows `row_stride` ≥ N elements apart).
pub fn quantize_f16(w: &[f16], k: usize, n: usize, row_stride: usize) -> Result<QuantizedMatrix> {
    quantize(w, k, n, row_stride)
}

/// The scale of a column whose largest magnitude is `max_abs` (finite, ≥ 0).
pub fn scale_for_max_abs(max_abs: f32) -> f32 {
    if max_abs == 0.0 {
        return 0.0;
    }
    let s = (max_abs as f64 / 127.0) as f32;
    if s == 0.0 {
        // max_abs is a tiny subnormal: keep the column representable.
        f32::from_bits(1)
    } else {
        s
    }
}

/// The code of `w` under `scale` (round half away from zero, clamped to [-127, 127]).
pub fn quantize_value(w: f32, scale: f32) -> i8 {
    if scale == 0.0 {
        return 0;
    }
    let q = (w as f64 / scale as f64).round();
    q.clamp(-127.0, 127.0) as i8
}

/// Quantizes a K×N matrix of any [`Element`] (rows `row_stride` ≥ N elements apart).
/// Runs on all cores. Errors on bad shapes and on NaN/∞ weights.
pub fn quantize<T: Element>(
    w: &[T],
    k: usize,
    n: usize,
    row_stride: usize,
) -> Result<QuantizedMatrix> {
    if k == 0 || n == 0 {
        return Err(CodecError::BadParams(format!(
            "K and N must be ≥ 1 (got {k}×{n})"
        )));
    }
    if row_stride < n {
        return Err(CodecError::BadParams(format!(
            "row stride {row_stride} < N = {n}"
        )));
    }
    let need = (k - 1)
        .checked_mul(row_stride)
        .and_then(|x| x.checked_add(n))
        .ok_or_else(|| CodecError::BadParams("K·row_stride overflows".into()))?;
    if w.len() < need {
        return Err(CodecError::BadParams(format!(
            "weight slice has {} elements, K={k}, N={n}, stride {row_stride} need {need}",
            w.len()
        )));
    }
    let kn = k
        .checked_mul(n)
        .ok_or_else(|| CodecError::BadParams("K·N overflows".into()))?;

    let threads = worker_count(k);
    let rows_per = k.div_ceil(threads);

    // Pass 1: column max |w| (and the first non-finite weight).
    let partials: Vec<Result<Vec<f32>>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let r0 = t * rows_per;
                let r1 = ((t + 1) * rows_per).min(k);
                sc.spawn(move || {
                    let mut mx = vec![0.0f32; n];
                    for r in r0..r1 {
                        let row = &w[r * row_stride..r * row_stride + n];
                        for (c, (m, &v)) in mx.iter_mut().zip(row).enumerate() {
                            let a = v.to_f32();
                            if !a.is_finite() {
                                return Err(CodecError::NonFiniteWeight { row: r, col: c });
                            }
                            let a = a.abs();
                            if a > *m {
                                *m = a;
                            }
                        }
                    }
                    Ok(mx)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("quantize worker panicked"))
            .collect()
    });
    let mut max_abs = vec![0.0f32; n];
    for p in partials {
        // Results are in row order, so the first error is the first non-finite row.
        let p = p?;
        for (m, v) in max_abs.iter_mut().zip(p) {
            if v > *m {
                *m = v;
            }
        }
    }
    let scales: Vec<f32> = max_abs.iter().map(|&m| scale_for_max_abs(m)).collect();

    // Pass 2: codes.
    let mut codes = vec![0i8; kn];
    std::thread::scope(|sc| {
        for (t, chunk) in codes.chunks_mut(rows_per * n).enumerate() {
            let scales = &scales;
            sc.spawn(move || {
                let r0 = t * rows_per;
                for (i, out_row) in chunk.chunks_mut(n).enumerate() {
                    let r = r0 + i;
                    let row = &w[r * row_stride..r * row_stride + n];
                    for ((o, &v), &s) in out_row.iter_mut().zip(row).zip(scales) {
                        *o = quantize_value(v.to_f32(), s);
                    }
                }
            });
        }
    });
    Ok(QuantizedMatrix {
        k,
        n,
        codes,
        scales,
    })
}

/// Number of worker threads for `items` independent work items (≥ 1).
pub(crate) fn worker_count(items: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    cores.min(items).max(1)
}
