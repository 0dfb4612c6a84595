//! CPU reference pieces (pure Rust, no GPU): an f64 GEMM with the activation epilogue, per-column
//! nonzero counts, the pattern layout of the kernel ABI, and error measures.

use esmm_spec::Activation;

/// Applies the epilogue activation to one value.
pub fn activate(x: f64, act: Activation) -> f64 {
    match act {
        Activation::None => x,
        Activation::Relu => {
            if x > 0.0 || x.is_nan() {
                x
            } else {
                0.0
            }
        }
        Activation::Relu2 => {
            let r = activate(x, Activation::Relu);
            r * r
        }
    }
}

/// `act(A · B)` in f64, A `m×k` and B `k×n` row-major f32.
///
/// IEEE semantics, as a dense GEMM: every product takes part, so `0 × ±Inf` and anything × NaN
/// give NaN (the contract every dispatch path follows, docs/RUNTIME.md). Zero entries of A are
/// skipped only where the matching row of B is finite, which cannot change the result.
/// Multithreaded over row blocks.
///
/// # Panics
/// Panics if `a.len() < m*k` or `b.len() < k*n` (test-side helper).
pub fn gemm_f64(a: &[f32], b: &[f32], m: usize, n: usize, k: usize, act: Activation) -> Vec<f64> {
    assert!(a.len() >= m * k && b.len() >= k * n, "reference: operand shorter than its shape");
    let mut c = vec![0.0f64; m * n];
    if m == 0 || n == 0 {
        return c;
    }
    // Rows of B with an Inf or NaN: a zero in A still meets them (0 × Inf = NaN).
    let b_row_nonfinite: Vec<bool> = (0..k).map(|kk| b[kk * n..kk * n + n].iter().any(|x| !x.is_finite())).collect();
    let b_row_nonfinite = &b_row_nonfinite;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(m);
    let rows_per = m.div_ceil(threads);
    std::thread::scope(|s| {
        for (chunk_idx, chunk) in c.chunks_mut(rows_per * n).enumerate() {
            s.spawn(move || {
                let r0 = chunk_idx * rows_per;
                let mut acc = vec![0.0f64; n];
                for (dr, out) in chunk.chunks_mut(n).enumerate() {
                    let r = r0 + dr;
                    acc.iter_mut().for_each(|x| *x = 0.0);
                    for kk in 0..k {
                        let av = a[r * k + kk];
                        if av == 0.0 && !b_row_nonfinite[kk] {
                            continue; // adds exact zeros only
                        }
                        let av = f64::from(av);
                        let brow = &b[kk * n..kk * n + n];
                        for (x, &bv) in acc.iter_mut().zip(brow) {
                            *x += av * f64::from(bv);
                        }
                    }
                    for (o, &x) in out.iter_mut().zip(&acc) {
                        *o = activate(x, act);
                    }
                }
            });
        }
    });
    c
}

/// Per-column counts of nonzero elements (`!= 0`, NaN counts) of a row-major `m×n` matrix.
pub fn col_nnz<T: Copy + Into<f64>>(c: &[T], m: usize, n: usize) -> Vec<u32> {
    let mut counts = vec![0u32; n];
    for row in c.chunks(n.max(1)).take(m) {
        for (cnt, &x) in counts.iter_mut().zip(row) {
            if x.into() != 0.0 {
                *cnt += 1;
            }
        }
    }
    counts
}

/// Words per pattern row: `ceil(k / 32)`.
pub const fn pattern_words(k: usize) -> usize {
    k.div_ceil(32)
}

/// A pattern per the kernel ABI: `pat[rb * kw + kk / 32]` bit `kk % 32` is set iff some
/// `A[r][kk] != 0` (NaN counts) for `r` in row block `rb` of `ga` rows.
pub fn pattern_a(a: &[f32], m: usize, k: usize, ga: usize) -> Vec<u32> {
    let kw = pattern_words(k);
    let mut pat = vec![0u32; m.div_ceil(ga) * kw];
    for r in 0..m {
        for kk in 0..k {
            if a[r * k + kk] != 0.0 {
                pat[(r / ga) * kw + kk / 32] |= 1 << (kk % 32);
            }
        }
    }
    pat
}

/// B pattern per the kernel ABI: `pat[cb * kw + kk / 32]` bit `kk % 32` is set iff some
/// `B[kk][c] != 0` for `c` in column block `cb` of `gb` columns.
pub fn pattern_b(b: &[f32], k: usize, n: usize, gb: usize) -> Vec<u32> {
    let kw = pattern_words(k);
    let mut pat = vec![0u32; n.div_ceil(gb) * kw];
    for kk in 0..k {
        for c in 0..n {
            if b[kk * n + c] != 0.0 {
                pat[(c / gb) * kw + kk / 32] |= 1 << (kk % 32);
            }
        }
    }
    pat
}

/// Relative Frobenius error `‖got − want‖ / ‖want‖` over finite reference entries (absolute
/// `‖got − want‖` when `want` is all zero). Returns `f64::INFINITY` when a reference-finite
/// entry is non-finite in `got`, or when the lengths differ.
pub fn rel_frobenius_error(got: &[f32], want: &[f64]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&g, &w) in got.iter().zip(want) {
        if !w.is_finite() {
            continue;
        }
        let g = f64::from(g);
        if !g.is_finite() {
            return f64::INFINITY;
        }
        num += (g - w) * (g - w);
        den += w * w;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Indices where exactly one of `got` / `want` is NaN (should be empty).
pub fn nan_mismatches(got: &[f32], want: &[f64]) -> Vec<usize> {
    got.iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| g.is_nan() != w.is_nan())
        .map(|(i, _)| i)
        .collect()
}

/// Checks GPU column counts against the f64 reference. `pre` is the reference *before* the
/// activation (`gemm_f64(.., Activation::None)`). An element is ambiguous when its pre-activation
/// value is within `tol` (relative to the column's largest finite magnitude) of zero: f32
/// rounding may legitimately decide its sign or zeroness, so the GPU count may differ from the
/// reference count by at most the number of ambiguous elements. Returns the first offending
/// column as `(column, gpu, reference, ambiguous)`.
pub fn check_col_nnz(
    gpu: &[u32],
    pre: &[f64],
    m: usize,
    n: usize,
    act: Activation,
    tol: f64,
) -> Option<(usize, u32, u32, u32)> {
    for c in 0..n {
        let scale = (0..m).map(|r| pre[r * n + c].abs()).filter(|x| x.is_finite()).fold(0.0, f64::max);
        let (mut exact, mut ambiguous) = (0u32, 0u32);
        for r in 0..m {
            let p = pre[r * n + c];
            if activate(p, act) != 0.0 {
                exact += 1;
            }
            if p != 0.0 && p.abs() <= tol * scale {
                ambiguous += 1;
            }
        }
        let g = gpu.get(c).copied().unwrap_or(u32::MAX);
        if g > exact + ambiguous || g + ambiguous < exact {
            return Some((c, g, exact, ambiguous));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    c[i * n + j] += f64::from(a[i * k + l]) * f64::from(b[l * n + j]);
                }
            }
        }
        c
    }

    #[test]
    fn reference_matches_naive_on_odd_shapes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (67, 33, 129), (130, 1, 65), (1, 70, 3)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let want = naive(&a, &b, m, n, k);
            let got = gemm_f64(&a, &b, m, n, k, Activation::None);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()));
            }
            let relu = gemm_f64(&a, &b, m, n, k, Activation::Relu);
            let relu2 = gemm_f64(&a, &b, m, n, k, Activation::Relu2);
            for i in 0..m * n {
                assert_eq!(relu[i], got[i].max(0.0));
                assert_eq!(relu2[i], got[i].max(0.0).powi(2));
            }
        }
    }

    #[test]
    fn zero_times_inf_is_nan_as_in_dense_math() {
        // Row 0 of A: 0 meets B's Inf in column 0 (NaN) and 1 × finite in column 1.
        // Row 1 of A: NaN × anything is NaN.
        let a = [0.0f32, 1.0, f32::NAN, 0.0];
        let b = [f32::INFINITY, 2.0, 3.0, 4.0];
        let c = gemm_f64(&a, &b, 2, 2, 2, Activation::None);
        assert!(c[0].is_nan());
        assert_eq!(c[1], 4.0);
        assert!(c[2].is_nan() && c[3].is_nan());
        // 1 × Inf stays Inf.
        let c = gemm_f64(&[1.0, 0.0], &[f32::INFINITY, 0.0], 1, 1, 2, Activation::None);
        assert_eq!(c[0], f64::INFINITY);
        assert!(activate(f64::NAN, Activation::Relu).is_nan());
    }

    #[test]
    fn patterns_follow_the_abi() {
        // 3×40 A with granularity 2: row block 0 = rows 0..2, block 1 = row 2.
        let (m, k) = (3, 40);
        let mut a = vec![0.0f32; m * k];
        a[3] = 1.0;
        a[k + 33] = f32::NAN;
        a[2 * k + 39] = -2.0;
        let p = pattern_a(&a, m, k, 2);
        assert_eq!(p, vec![1 << 3, 1 << 1, 0, 1 << 7]);
        // B 40×9, granularity 8: column blocks 0..8 and 8..9.
        let (k, n) = (40, 9);
        let mut b = vec![0.0f32; k * n];
        b[5 * n + 8] = 1.0;
        b[35 * n] = 1.0;
        let p = pattern_b(&b, k, n, 8);
        assert_eq!(p, vec![0, 1 << 3, 1 << 5, 0]);
    }

    #[test]
    fn errors_and_counts() {
        assert_eq!(rel_frobenius_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_frobenius_error(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(rel_frobenius_error(&[f32::NAN], &[1.0]), f64::INFINITY);
        assert_eq!(rel_frobenius_error(&[1.0], &[1.0, 2.0]), f64::INFINITY);
        assert_eq!(rel_frobenius_error(&[0.5], &[0.0]), 0.5);
        assert_eq!(nan_mismatches(&[f32::NAN, 1.0, 2.0], &[f64::NAN, f64::NAN, 2.0]), vec![1]);
        let c = [1.0f32, 0.0, f32::NAN, 0.0, 0.0, -3.0];
        assert_eq!(col_nnz(&c, 2, 3), vec![1, 0, 2]);
        let pre = [1.0f64, 0.0, 1e-12, 0.0, 2.0, 1.0];
        let none = Activation::None;
        assert_eq!(check_col_nnz(&[1, 1, 2], &pre, 2, 3, none, 1e-6), None);
        assert_eq!(check_col_nnz(&[1, 1, 1], &pre, 2, 3, none, 1e-6), None); // tiny value may round to 0
        assert!(check_col_nnz(&[0, 1, 2], &pre, 2, 3, none, 1e-6).is_some());
        // ReLU: a tiny negative reference may come out as a tiny positive f32.
        let pre = [-1e-12f64, -1.0, 1.0, 0.5];
        assert_eq!(check_col_nnz(&[2, 1], &pre, 2, 2, Activation::Relu, 1e-6), None);
        assert_eq!(check_col_nnz(&[1, 1], &pre, 2, 2, Activation::Relu, 1e-6), None);
        assert!(check_col_nnz(&[2, 2], &pre, 2, 2, Activation::Relu, 1e-6).is_some());
    }
}
