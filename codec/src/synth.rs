//! Synthetic LLM-like weights, deterministic from a seed (independent of the thread count and
//! of any external RNG crate), and entropy measurements of INT8 codes.
//!
//! `W[k][n] = channel_scale[n] · row_mult[k] · col_mult[n] · z[k][n]` where
//! * `channel_scale[n] = base · exp(σ · g_n)`, `g_n ~ N(0, 1)` (log-normal spread across channels),
//! * `z ~ N(0, 1)` or Student-t with ν = 4 or 5 scaled to unit variance,
//! * `row_mult` is 1 except on a few outlier input rows, `col_mult` is 1 except on a few outlier
//!   output columns, where it is uniform in `[outlier_min, outlier_max]` (10–30× by default).

use crate::rans::{entropy_of_histogram, histogram_parallel};

/// Value distribution of the bulk of the weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Standard normal.
    Gaussian,
    /// Student-t with `nu` (4 or 5) degrees of freedom, scaled to unit variance.
    StudentT {
        /// Degrees of freedom: 4 or 5.
        nu: u32,
    },
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distribution::Gaussian => write!(f, "gaussian"),
            Distribution::StudentT { nu } => write!(f, "student-t(nu={nu})"),
        }
    }
}

/// Configuration of [`synth_weights`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SynthConfig {
    /// Bulk distribution.
    pub dist: Distribution,
    /// Median channel scale.
    pub base_scale: f32,
    /// σ of the log-normal channel scale spread.
    pub log_sigma: f32,
    /// Number of outlier input rows.
    pub outlier_rows: usize,
    /// Number of outlier output columns.
    pub outlier_cols: usize,
    /// Smallest outlier multiplier.
    pub outlier_min: f32,
    /// Largest outlier multiplier.
    pub outlier_max: f32,
}

impl SynthConfig {
    /// Defaults for a K×N layer: base scale 0.02, σ = 0.35, `clamp(K/1024, 2, 16)` outlier
    /// rows, `clamp(N/1024, 2, 16)` outlier columns, multipliers 10–30×.
    pub fn llm_like(dist: Distribution, k: usize, n: usize) -> SynthConfig {
        SynthConfig {
            dist,
            base_scale: 0.02,
            log_sigma: 0.35,
            outlier_rows: (k / 1024).clamp(2, 16).min(k),
            outlier_cols: (n / 1024).clamp(2, 16).min(n),
            outlier_min: 10.0,
            outlier_max: 30.0,
        }
    }
}

/// SplitMix64, used to derive seeds.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small deterministic PRNG (xoshiro256++) with normal and Student-t sampling.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    /// Seeds the generator (any seed, including 0).
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            x = splitmix64(x);
            *v = x;
        }
        Rng { s, spare: None }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..bound` (bound ≥ 1).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// Standard normal (Box–Muller, both values used).
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }

    /// Student-t with `nu` ∈ {4, 5} degrees of freedom, scaled to unit variance.
    /// χ²₄ = −2 ln(U₁U₂); χ²₅ = χ²₄ + Z².
    pub fn student_t(&mut self, nu: u32) -> f64 {
        let z = self.normal();
        let u1 = 1.0 - self.uniform();
        let u2 = 1.0 - self.uniform();
        let mut chi2 = -2.0 * (u1 * u2).ln();
        if nu == 5 {
            let g = self.normal();
            chi2 += g * g;
        }
        let nu = nu as f64;
        z / (chi2 / nu).sqrt() * ((nu - 2.0) / nu).sqrt()
    }

    /// One sample of `d`.
    pub fn sample(&mut self, d: Distribution) -> f64 {
        match d {
            Distribution::Gaussian => self.normal(),
            Distribution::StudentT { nu } => self.student_t(nu),
        }
    }
}

/// Rows generated from one derived seed (fixes the output independently of the thread count).
const ROWS_PER_CHUNK: usize = 16;

/// Generates a K×N row-major f32 weight matrix from `seed` (on all cores).
/// Panics if `cfg.dist` is Student-t with ν other than 4 or 5.
pub fn synth_weights(k: usize, n: usize, cfg: &SynthConfig, seed: u64) -> Vec<f32> {
    if let Distribution::StudentT { nu } = cfg.dist {
        assert!(
            nu == 4 || nu == 5,
            "Student-t supports nu = 4 or 5, got {nu}"
        );
    }
    let mut rng = Rng::new(splitmix64(seed ^ 0x5eed_0001));
    let mut col_mult: Vec<f32> = (0..n)
        .map(|_| cfg.base_scale * (cfg.log_sigma as f64 * rng.normal()).exp() as f32)
        .collect();
    let mut row_mult = vec![1.0f32; k];
    let span = (cfg.outlier_max - cfg.outlier_min).max(0.0) as f64;
    for _ in 0..cfg.outlier_rows.min(k) {
        let r = rng.below(k as u64) as usize;
        row_mult[r] = cfg.outlier_min + (span * rng.uniform()) as f32;
    }
    for _ in 0..cfg.outlier_cols.min(n) {
        let c = rng.below(n as u64) as usize;
        col_mult[c] *= cfg.outlier_min + (span * rng.uniform()) as f32;
    }
    let mut w = vec![0.0f32; k * n];
    if k == 0 || n == 0 {
        return w;
    }
    let chunks = k.div_ceil(ROWS_PER_CHUNK);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<&mut [f32]>> = w
        .chunks_mut(ROWS_PER_CHUNK * n)
        .map(std::sync::Mutex::new)
        .collect();
    std::thread::scope(|sc| {
        for _ in 0..crate::quant::worker_count(chunks) {
            sc.spawn(|| loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= chunks {
                    return;
                }
                let mut rng = Rng::new(splitmix64(seed).wrapping_add(splitmix64(c as u64 + 1)));
                let mut guard = slots[c].lock().expect("chunk lock");
                for (i, row) in guard.chunks_mut(n).enumerate() {
                    let rm = row_mult[c * ROWS_PER_CHUNK + i];
                    for (v, &cm) in row.iter_mut().zip(&col_mult) {
                        *v = (rng.sample(cfg.dist) as f32) * cm * rm;
                    }
                }
            });
        }
    });
    drop(slots);
    w
}

/// Empirical entropy of INT8 codes, bits per symbol (`−Σ p log2 p` over the 256 values).
pub fn entropy_bits(codes: &[i8]) -> f64 {
    entropy_of_histogram(&histogram_parallel(codes))
}
