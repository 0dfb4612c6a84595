//! Workload generators (pure Rust, seeded): the ESMM blockwise workload and realistic
//! activations.

use esmm_spec::Activation;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Rows of A that share one zero/nonzero decision in the blockwise workload.
pub const WORKLOAD_A_ROWS: usize = 64;
/// Columns of B that share one zero/nonzero decision in the blockwise workload.
pub const WORKLOAD_B_COLS: usize = 32;

/// A GEMM problem on the host: A `m×k`, B `k×n`, row-major f32.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Shared dimension.
    pub k: usize,
    /// A, `m*k` values.
    pub a: Vec<f32>,
    /// B, `k*n` values.
    pub b: Vec<f32>,
}

/// A uniform value in `[-1, 1]` that is never exactly zero (so a "nonzero" stripe is nonzero).
fn nonzero_uniform(rng: &mut StdRng) -> f32 {
    loop {
        let v: f32 = rng.random_range(-1.0..=1.0);
        if v != 0.0 {
            return v;
        }
    }
}

/// A of the seed's blockwise workload: each (64-row block, column k) stripe is all zero with
/// probability `1 − density`, otherwise uniform in `[-1, 1]`.
pub fn blockwise_a(m: usize, k: usize, density: f64, rng: &mut StdRng) -> Vec<f32> {
    let mut a = vec![0.0f32; m * k];
    for rb in 0..m.div_ceil(WORKLOAD_A_ROWS) {
        for kk in 0..k {
            if rng.random::<f64>() < density {
                for r in rb * WORKLOAD_A_ROWS..((rb + 1) * WORKLOAD_A_ROWS).min(m) {
                    a[r * k + kk] = nonzero_uniform(rng);
                }
            }
        }
    }
    a
}

/// B of the seed's blockwise workload: each (row k, 32-column block) stripe is all zero with
/// probability `1 − density`, otherwise uniform in `[-1, 1]`.
pub fn blockwise_b(k: usize, n: usize, density: f64, rng: &mut StdRng) -> Vec<f32> {
    let mut b = vec![0.0f32; k * n];
    for kk in 0..k {
        for cb in 0..n.div_ceil(WORKLOAD_B_COLS) {
            if rng.random::<f64>() < density {
                for c in cb * WORKLOAD_B_COLS..((cb + 1) * WORKLOAD_B_COLS).min(n) {
                    b[kk * n + c] = nonzero_uniform(rng);
                }
            }
        }
    }
    b
}

/// Rows × k of one zero/nonzero decision of A in the tensor-core (tc) blockwise workload.
pub const TC_WORKLOAD_A_BLOCK: (usize, usize) = (64, 64);
/// k × columns of one zero/nonzero decision of B in the tc blockwise workload.
pub const TC_WORKLOAD_B_BLOCK: (usize, usize) = (64, 128);

/// A of the tc blockwise workload: the seed's blockwise idea at tensor-core granularity. Each
/// block of [`TC_WORKLOAD_A_BLOCK`] (64 rows × 64 k) is all zero with probability `1 − density`,
/// otherwise uniform in `[-1, 1]` (never exactly zero).
pub fn tc_blockwise_a(m: usize, k: usize, density: f64, rng: &mut StdRng) -> Vec<f32> {
    let (br, bk) = TC_WORKLOAD_A_BLOCK;
    let mut a = vec![0.0f32; m * k];
    for rb in 0..m.div_ceil(br) {
        for kb in 0..k.div_ceil(bk) {
            if rng.random::<f64>() < density {
                for r in rb * br..((rb + 1) * br).min(m) {
                    for kk in kb * bk..((kb + 1) * bk).min(k) {
                        a[r * k + kk] = nonzero_uniform(rng);
                    }
                }
            }
        }
    }
    a
}

/// B of the tc blockwise workload: each block of [`TC_WORKLOAD_B_BLOCK`] (64 k × 128 columns)
/// is all zero with probability `1 − density`, otherwise uniform in `[-1, 1]`.
pub fn tc_blockwise_b(k: usize, n: usize, density: f64, rng: &mut StdRng) -> Vec<f32> {
    let (bk, bc) = TC_WORKLOAD_B_BLOCK;
    let mut b = vec![0.0f32; k * n];
    for kb in 0..k.div_ceil(bk) {
        for cb in 0..n.div_ceil(bc) {
            if rng.random::<f64>() < density {
                for kk in kb * bk..((kb + 1) * bk).min(k) {
                    for c in cb * bc..((cb + 1) * bc).min(n) {
                        b[kk * n + c] = nonzero_uniform(rng);
                    }
                }
            }
        }
    }
    b
}

impl Workload {
    /// The tc blockwise workload ([`tc_blockwise_a`], [`tc_blockwise_b`]), seeded.
    pub fn tc_blockwise(m: usize, n: usize, k: usize, density_a: f64, density_b: f64, seed: u64) -> Workload {
        let mut rng = StdRng::seed_from_u64(seed);
        let a = tc_blockwise_a(m, k, density_a, &mut rng);
        let b = tc_blockwise_b(k, n, density_b, &mut rng);
        Workload { m, n, k, a, b }
    }
}

impl Workload {
    /// The seed's blockwise workload with separate densities for A and B, independent
    /// decisions, seeded.
    pub fn blockwise(m: usize, n: usize, k: usize, density_a: f64, density_b: f64, seed: u64) -> Workload {
        let mut rng = StdRng::seed_from_u64(seed);
        let a = blockwise_a(m, k, density_a, &mut rng);
        let b = blockwise_b(k, n, density_b, &mut rng);
        Workload { m, n, k, a, b }
    }

    /// Fraction of nonzero elements of A.
    pub fn density_a(&self) -> f64 {
        density(&self.a)
    }

    /// Fraction of nonzero elements of B.
    pub fn density_b(&self) -> f64 {
        density(&self.b)
    }
}

/// Fraction of nonzero elements.
pub fn density(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().filter(|v| **v != 0.0).count() as f64 / x.len() as f64
}

/// Parameters of [`realistic_activations`].
#[derive(Clone, Debug)]
pub struct ActivationsConfig {
    /// Tokens (rows of A).
    pub m: usize,
    /// Features (columns of A, the K of the next GEMM).
    pub k: usize,
    /// Inner dimension of the random GEMM X·W that produces the pre-activations.
    pub hidden: usize,
    /// Number of token clusters (tokens of a cluster have similar inputs, hence similar
    /// activation patterns).
    pub clusters: usize,
    /// Target fraction of nonzero activations (sets a per-feature threshold).
    pub density: f64,
    /// ReLU or ReLU² (None is treated as ReLU).
    pub activation: Activation,
    /// Sort tokens by cluster (a fixed token permutation that groups similar rows into the
    /// same 64-row blocks); false keeps them interleaved at random.
    pub group_tokens: bool,
    /// RNG seed.
    pub seed: u64,
}

/// Real-looking activations: `A = act(X·W − t)` where X (`m×hidden`) holds tokens drawn around
/// a few cluster centres, W (`hidden×k`) is random, and the per-feature threshold `t` is set so
/// that about `density` of A is nonzero. Optionally permutes tokens so clusters are contiguous.
pub fn realistic_activations(cfg: &ActivationsConfig) -> Vec<f32> {
    let ActivationsConfig { m, k, hidden, clusters, density, activation, group_tokens, seed } = *cfg;
    let mut rng = StdRng::seed_from_u64(seed);
    let clusters = clusters.max(1);
    let hidden = hidden.max(1);
    let centres: Vec<f32> = (0..clusters * hidden).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut cluster_of: Vec<usize> = (0..m).map(|_| rng.random_range(0..clusters)).collect();
    if group_tokens {
        cluster_of.sort_unstable();
    }
    let x: Vec<f32> = (0..m * hidden)
        .map(|i| centres[cluster_of[i / hidden] * hidden + i % hidden] + 0.1 * rng.random_range(-1.0f32..1.0))
        .collect();
    let scale = 1.0 / (hidden as f32).sqrt();
    let w: Vec<f32> = (0..hidden * k).map(|_| scale * rng.random_range(-1.0f32..1.0)).collect();
    let pre = crate::reference::gemm_f64(&x, &w, m, k, hidden, Activation::None);
    // Per-feature threshold: the (1 − density) quantile of that feature's pre-activations.
    let q = (1.0 - density.clamp(0.0, 1.0)) * m.saturating_sub(1) as f64;
    let mut thresholds = vec![0.0f64; k];
    let mut column = Vec::with_capacity(m);
    for (c, t) in thresholds.iter_mut().enumerate() {
        column.clear();
        column.extend((0..m).map(|r| pre[r * k + c]));
        column.sort_by(f64::total_cmp);
        *t = if density >= 1.0 {
            column.first().copied().unwrap_or(0.0) - 1e-3
        } else {
            column.get(q.round() as usize).copied().unwrap_or(0.0)
        };
    }
    pre.iter()
        .enumerate()
        .map(|(i, &p)| {
            let shifted = p - thresholds[i % k];
            let v = shifted.max(0.0);
            (if activation == Activation::Relu2 { v * v } else { v }) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockwise_densities_match_within_tolerance() {
        for &d in &[1.0, 0.875, 0.75, 0.5, 0.25, 0.125] {
            let w = Workload::blockwise(1024, 1024, 1024, d, d, 42);
            // 16 × 1024 A decisions and 1024 × 32 B decisions: binomial sd ≤ 0.004.
            assert!((w.density_a() - d).abs() < 0.02, "A density {} vs {d}", w.density_a());
            assert!((w.density_b() - d).abs() < 0.02, "B density {} vs {d}", w.density_b());
        }
        let w = Workload::blockwise(256, 256, 256, 0.0, 0.0, 1);
        assert_eq!(w.density_a(), 0.0);
        assert_eq!(w.density_b(), 0.0);
    }

    #[test]
    fn blockwise_is_stripe_structured_and_seeded() {
        let (m, n, k) = (130, 70, 50);
        let w = Workload::blockwise(m, n, k, 0.5, 0.3, 9);
        // Every (64-row block, k) stripe of A is all zero or all nonzero; same for B stripes.
        for rb in 0..m.div_ceil(64) {
            for kk in 0..k {
                let rows = rb * 64..((rb + 1) * 64).min(m);
                let nz = rows.clone().filter(|&r| w.a[r * k + kk] != 0.0).count();
                assert!(nz == 0 || nz == rows.len());
            }
        }
        for kk in 0..k {
            for cb in 0..n.div_ceil(32) {
                let cols = cb * 32..((cb + 1) * 32).min(n);
                let nz = cols.clone().filter(|&c| w.b[kk * n + c] != 0.0).count();
                assert!(nz == 0 || nz == cols.len());
            }
        }
        assert!(w.a.iter().chain(&w.b).all(|v| (-1.0..=1.0).contains(v)));
        let again = Workload::blockwise(m, n, k, 0.5, 0.3, 9);
        assert_eq!(w.a, again.a);
        assert_eq!(w.b, again.b);
        assert_ne!(w.a, Workload::blockwise(m, n, k, 0.5, 0.3, 10).a);
        // Separate densities are honoured.
        let w = Workload::blockwise(512, 512, 512, 0.9, 0.1, 3);
        assert!(w.density_a() > 0.8 && w.density_b() < 0.2);
    }

    #[test]
    fn realistic_activations_hit_density_and_group() {
        let cfg = ActivationsConfig {
            m: 512,
            k: 256,
            hidden: 32,
            clusters: 4,
            density: 0.3,
            activation: Activation::Relu2,
            group_tokens: true,
            seed: 5,
        };
        let a = realistic_activations(&cfg);
        let d = density(&a);
        assert!((d - 0.3).abs() < 0.05, "density {d}");
        assert!(a.iter().all(|v| *v >= 0.0));
        // Grouping tokens makes 64-row stripes sparser than interleaving them.
        let stripes = |a: &[f32]| {
            let p = crate::reference::pattern_a(a, cfg.m, cfg.k, 64);
            p.iter().map(|w| w.count_ones()).sum::<u32>()
        };
        let mixed = realistic_activations(&ActivationsConfig { group_tokens: false, ..cfg.clone() });
        assert!(stripes(&a) < stripes(&mixed), "{} vs {}", stripes(&a), stripes(&mixed));
    }
}
