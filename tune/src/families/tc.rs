//! Family `tc` (tensor-core block-sparse GEMM) in the sweep and the bench.
//!
//! - **Keys**: (tc, dtype, activation none, M, N, K, density bucket); the data is the tc
//!   blockwise workload (`Workload::tc_blockwise`: 64×64 A blocks, 64×128 B blocks, each zero
//!   with probability 1 − density; A and B both at the key's density), converted to the input
//!   type, fresh per key from the sweep seed (never zeros).
//! - **Baseline**: cuBLAS in the same input type with fp32 compute (`cublas_bf16`,
//!   `cublas_f16`, `cublas_tf32`: [`dense_baseline`]), in the same process on the same data.
//! - **Reference** of the correctness check: cuBLAS with fp32 output on the same (rounded)
//!   inputs — for f32 inputs plain FP32 SGEMM, so TF32 rounding is part of what is checked —
//!   downloaded once per problem. Every candidate's C (first poisoned with NaN) is compared on
//!   the host, element by element and in the Frobenius norm ([`Tolerance`], [`compare`]).
//! - **Prepared B**: every problem prepares B once per input copy (`Esmm::tc_prepare_b`);
//!   dense and `offb` variants are timed with it (their B patterns and the wgmma path's Bᵀ are
//!   made on the first call and kept), `sep` variants without it (their B-pattern launch and,
//!   for wgmma, the Bᵀ pack run on every call: what a call without prepared weights costs).
//! - **Search** ([`Search`]): the sweep set holds ~414 variants per input type, too many for a
//!   budget of minutes. The default strategy, `refine`, times a coarse set first (per CTA tile
//!   and sparsity the member nearest the defaults: 4 stages, rasterisation 8, granularity
//!   64×bk×128, prepared B — about 20 per type), then, for up to `rounds` rounds, the
//!   one-axis neighbours (stages, rasterisation, granularity, pattern source) of the key's
//!   `refine_top` fastest kernels; `exhaustive` times the whole space in order of distance from
//!   the defaults. `max_candidates` caps the kernels timed per key either way.

use crate::bench::timing::{rotation_copies, time_runs_after, Timing};
use crate::{msg, Result};
use esmm::cudarc::driver::{CudaSlice, CudaStream, DevicePtrMut, DeviceRepr, ValidAsZeroBits};
use esmm::dispatch::tuned::{dense_baseline, CandidateStatus, TableKey, DENSITY_BUCKETS};
use esmm::workload::Workload;
use esmm::{Activation, Baseline, BaselineKind, BaselineMath, Dims, ElemType, Esmm, Family, KernelSpec, Layer, StageEvents, TcInput, TcOptions, TcOutput, TcPreparedB};
use esmm_spec::{Stage, TcPath, TcPatterns, TcSparsity, TcSpec};
use half::{bf16, f16};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The family swept here.
pub const FAMILY: Family = Family::Tc;

/// The input types of the family, in the order keys are swept.
pub const DTYPES: [ElemType; 3] = [ElemType::Bf16, ElemType::F16, ElemType::F32];

/// The densities of the smaller bf16 grids (LLM layer, 8192³).
pub const FEW_DENSITIES: [f64; 3] = [1.0, 0.5, 0.25];

/// Parses a tc input type: `bf16`, `f16`, `tf32` (or `f32`: f32 inputs, TF32 math).
pub fn parse_dtype(s: &str) -> Result<ElemType> {
    match s.trim() {
        "bf16" => Ok(ElemType::Bf16),
        "f16" => Ok(ElemType::F16),
        "tf32" | "f32" => Ok(ElemType::F32),
        other => Err(format!("unknown tc dtype {other:?}: use bf16, f16 or tf32")),
    }
}

/// The label of an input type in tables and file names: `bf16`, `f16`, `tf32`.
pub const fn dtype_label(t: ElemType) -> &'static str {
    match t {
        ElemType::Bf16 => "bf16",
        ElemType::F16 => "f16",
        ElemType::F32 => "tf32",
    }
}

/// The cuBLAS arithmetic of a tc input type (the family's dense baseline).
pub const fn cublas_math(t: ElemType) -> BaselineMath {
    match t {
        ElemType::Bf16 => BaselineMath::Bf16,
        ElemType::F16 => BaselineMath::F16,
        ElemType::F32 => BaselineMath::Tf32,
    }
}

/// The table key of an input type, shape and density.
pub fn key(dtype: ElemType, d: Dims, density: f64) -> TableKey {
    TableKey { family: FAMILY, dtype, activation: Activation::None, m: d.m as u64, n: d.n as u64, k: d.k as u64, density }
}

/// The default keys of `esmm-tune sweep --family tc` for the input types `dtypes`, most
/// important first (a budget stops before later keys): bf16 4096³ at every density bucket,
/// f16 and TF32 4096³ at 1 and 0.5, then bf16 2048×11008×4096 and 8192³ at 1, 0.5, 0.25.
pub fn default_keys(dtypes: &[ElemType]) -> Vec<(ElemType, Dims, f64)> {
    let cube = Dims::new(4096, 4096, 4096);
    let mut keys = Vec::new();
    if dtypes.contains(&ElemType::Bf16) {
        keys.extend(DENSITY_BUCKETS.iter().map(|&d| (ElemType::Bf16, cube, d)));
    }
    for t in [ElemType::F16, ElemType::F32] {
        if dtypes.contains(&t) {
            keys.extend([1.0, 0.5].map(|d| (t, cube, d)));
        }
    }
    if dtypes.contains(&ElemType::Bf16) {
        for shape in [Dims::new(2048, 11008, 4096), Dims::new(8192, 8192, 8192)] {
            keys.extend(FEW_DENSITIES.iter().map(|&d| (ElemType::Bf16, shape, d)));
        }
    }
    keys
}

/// The instruction paths this GPU runs (wgmma needs sm_90a: compute capability 9.0 exactly),
/// narrowed by `--path` (`all`, `mma`, `wgmma`); an error when none is left.
pub fn paths_for(cc: u32, requested: &str) -> Result<Vec<TcPath>> {
    let available: Vec<TcPath> = TcPath::ALL.into_iter().filter(|p| *p == TcPath::Mma || cc == 90).collect();
    let wanted: Vec<TcPath> = match requested {
        "all" => TcPath::ALL.to_vec(),
        other => vec![TcPath::from_tag(other).ok_or_else(|| format!("unknown path {other:?}: use all, mma or wgmma"))?],
    };
    let paths: Vec<TcPath> = wanted.into_iter().filter(|p| available.contains(p)).collect();
    if paths.is_empty() {
        return Err(format!("path {requested} does not run on sm_{cc} (wgmma needs sm_90a: H100, H200)"));
    }
    Ok(paths)
}

/// The family's members of a candidate set for one input type: output in the input type,
/// epilogue none, on one of `paths`.
pub fn space(specs: &[KernelSpec], dtype: ElemType, paths: &[TcPath]) -> Vec<TcSpec> {
    specs
        .iter()
        .filter_map(KernelSpec::as_tc)
        .filter(|s| s.dtype == dtype && s.out == dtype && paths.contains(&s.path) && s.activation == Activation::None && !s.col_nnz)
        .copied()
        .collect()
}

/// The CTA tile of a variant (path, tile, warp layout): what the coarse set covers.
type Tile = (TcPath, u32, u32, u32, u32, u32, u32);

fn tile_of(s: &TcSpec) -> Tile {
    (s.path, s.bm, s.bn, s.bk, s.wm, s.wn, s.consumers)
}

/// The default k granularity of a tile: one 128-byte stage, at most 64 (codegen's `sparse`).
fn default_k_gran(bk: u32) -> u32 {
    bk.min(64)
}

/// How far a variant is from the defaults of its tile: stages from 4, rasterisation other than
/// 8, granularity other than 64 × bk × 128, pattern source other than prepared B.
pub fn default_distance(s: &TcSpec) -> u32 {
    let stages = s.stages.abs_diff(4);
    let group = u32::from(s.group_m != 8);
    let sparse = s.sparsity != TcSparsity::Dense;
    let gran = if sparse { u32::from(s.a_rows != 64) + u32::from(s.k_gran != default_k_gran(s.bk)) + u32::from(s.b_cols != 128 && s.sparsity == TcSparsity::Joint) } else { 0 };
    let patterns = u32::from(sparse && s.patterns != TcPatterns::PreparedB);
    stages + group + gran + patterns
}

/// The space in the order `exhaustive` times it: nearest the defaults first, then by name.
pub fn by_priority(space: &[TcSpec]) -> Vec<TcSpec> {
    let mut v: Vec<(u32, String, TcSpec)> = space.iter().map(|s| (default_distance(s), s.name(), *s)).collect();
    v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    v.into_iter().map(|(_, _, s)| s).collect()
}

/// The coarse set: per (CTA tile, sparsity) the member nearest the defaults.
pub fn coarse(space: &[TcSpec]) -> Vec<TcSpec> {
    let mut best: HashMap<(Tile, TcSparsity), TcSpec> = HashMap::new();
    for s in by_priority(space) {
        best.entry((tile_of(&s), s.sparsity)).or_insert(s);
    }
    let mut v: Vec<TcSpec> = best.into_values().collect();
    v.sort_by_key(TcSpec::name);
    v
}

/// The members of `space` one axis away from `x`: same tile and sparsity, and exactly one of
/// stages, rasterisation, granularity (a_rows × k_gran × b_cols) or pattern source different.
pub fn neighbours(x: &TcSpec, space: &[TcSpec]) -> Vec<TcSpec> {
    let axes = |s: &TcSpec| [u64::from(s.stages), u64::from(s.group_m), (u64::from(s.a_rows) << 32) | (u64::from(s.k_gran) << 16) | u64::from(s.b_cols), s.patterns as u64];
    let ax = axes(x);
    let mut v: Vec<TcSpec> = space
        .iter()
        .filter(|s| tile_of(s) == tile_of(x) && s.sparsity == x.sparsity)
        .filter(|s| axes(s).iter().zip(&ax).filter(|(a, b)| a != b).count() == 1)
        .copied()
        .collect();
    v.sort_by_key(TcSpec::name);
    v
}

/// How the sweep searches one type's space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// A coarse set, then rounds of one-axis neighbours of the fastest kernels.
    Refine,
    /// Every member, nearest the defaults first.
    Exhaustive,
}

/// The search settings of one sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Search {
    /// Coarse + refine, or exhaustive.
    pub strategy: Strategy,
    /// Most kernels timed per key (None: no cap).
    pub max_candidates: Option<usize>,
    /// Fastest kernels whose neighbours each refine round adds.
    pub refine_top: usize,
    /// Refine rounds after the coarse one.
    pub rounds: usize,
}

/// The candidates of round `round` at one key: round 0 the coarse set (`refine`) or the whole
/// space by priority (`exhaustive`); later rounds (`refine` only) the untried neighbours of the
/// `refine_top` fastest kernels in `ranked` (names, fastest first). Never a name in `tried`;
/// capped so that at most `max_candidates` are tried in all.
pub fn round_candidates(space: &[TcSpec], search: &Search, round: usize, ranked: &[String], tried: &HashSet<String>) -> Vec<TcSpec> {
    let mut out: Vec<TcSpec> = match (search.strategy, round) {
        (Strategy::Refine, 0) => coarse(space),
        (Strategy::Exhaustive, 0) => by_priority(space),
        (Strategy::Exhaustive, _) => Vec::new(),
        (Strategy::Refine, r) if r > search.rounds => Vec::new(),
        (Strategy::Refine, _) => {
            let by_name: HashMap<String, &TcSpec> = space.iter().map(|s| (s.name(), s)).collect();
            let mut v = Vec::new();
            for name in ranked.iter().filter(|n| by_name.contains_key(*n)).take(search.refine_top) {
                v.extend(neighbours(by_name[name], space));
            }
            v
        }
    };
    let mut seen = HashSet::new();
    out.retain(|s| {
        let n = s.name();
        !tried.contains(&n) && seen.insert(n)
    });
    if let Some(max) = search.max_candidates {
        out.truncate(max.saturating_sub(tried.len()));
    }
    out
}

/// An input type of family tc with its host conversions.
pub trait TcElem: TcInput + TcOutput + DeviceRepr + ValidAsZeroBits + Default + Send + Sync + 'static {
    /// Rounds an f32 to this type (round to nearest even).
    fn from_f32(v: f32) -> Self;
    /// The exact value as f64.
    fn to_f64(self) -> f64;
}

impl TcElem for bf16 {
    fn from_f32(v: f32) -> Self {
        bf16::from_f32(v)
    }
    fn to_f64(self) -> f64 {
        f64::from(self.to_f32())
    }
}

impl TcElem for f16 {
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn to_f64(self) -> f64 {
        f64::from(self.to_f32())
    }
}

impl TcElem for f32 {
    fn from_f32(v: f32) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

/// What a correct C may differ from the fp32-output reference by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Largest relative Frobenius error `‖C − ref‖ / ‖ref‖`.
    pub frob: f64,
    /// Per element: `|c − ref| ≤ elem_rel·|ref| + elem_abs`.
    pub elem_rel: f64,
    /// Per element, absolute part (a multiple of the reference's RMS).
    pub elem_abs: f64,
}

/// The tolerance of a type (input = output type) at depth `k` against a reference whose RMS
/// is `ref_rms`:
/// - Frobenius: fp32 accumulation in another order (16·2⁻²⁴·√K + 1e-6, as the baseline suite
///   allows), plus TF32 input rounding (2⁻⁹) for f32 inputs, plus the rounding of C to the
///   output type (2⁻⁸ bf16, 2⁻¹¹ f16).
/// - Per element: the output rounding relative to the element (×1.01), plus an absolute part
///   of 2·10⁻³·RMS (16-bit inputs: only summation order differs) or 2·10⁻²·RMS (TF32: about 20
///   standard deviations of the input rounding error of one element). A 64-deep k block that
///   a kernel wrongly skips changes an element by about √(64 / (K·density)) × RMS ≥ 0.08 × RMS
///   for K ≤ 8192, far above either.
pub fn tolerance(dtype: ElemType, k: usize, ref_rms: f64) -> Tolerance {
    let accumulation = 1e-6 + 16.0 * 2f64.powi(-24) * (k as f64).sqrt();
    let (inputs, output, abs) = match dtype {
        ElemType::F32 => (2f64.powi(-9), 0.0, 2e-2),
        ElemType::Bf16 => (0.0, 2f64.powi(-8), 2e-3),
        ElemType::F16 => (0.0, 2f64.powi(-11), 2e-3),
    };
    Tolerance { frob: accumulation + inputs + output, elem_rel: output * 1.01, elem_abs: abs * ref_rms }
}

/// The outcome of comparing a C with the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Check {
    /// Relative Frobenius error (NaN when C holds a non-finite value).
    pub rel_err: f64,
    /// Elements outside the per-element tolerance.
    pub bad: usize,
    /// Non-finite elements of C (the reference has none).
    pub nonfinite: usize,
    /// Index of the worst element (largest error over its allowance).
    pub worst: usize,
    /// Its error over its allowance (≤ 1 inside the tolerance).
    pub worst_ratio: f64,
    /// The Frobenius tolerance it was held to.
    pub frob_tol: f64,
}

impl Check {
    /// Whether C is correct.
    pub fn passed(&self) -> bool {
        self.bad == 0 && self.nonfinite == 0 && self.rel_err <= self.frob_tol
    }

    /// One line for a `wrong` record.
    pub fn describe(&self, n: usize) -> String {
        let (r, c) = (self.worst / n.max(1), self.worst % n.max(1));
        format!(
            "relative error {:.3e} (tolerance {:.3e}); {} elements outside the per-element tolerance, {} non-finite; worst C[{r}][{c}] at {:.2}× its allowance",
            self.rel_err, self.frob_tol, self.bad, self.nonfinite, self.worst_ratio
        )
    }
}

/// Root mean square of the reference.
pub fn rms(v: &[f32]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    (v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() / v.len() as f64).sqrt()
}

/// Compares C with the reference element by element and in the Frobenius norm (in parallel
/// over chunks).
pub fn compare<T: TcElem>(got: &[T], want: &[f32], tol: &Tolerance) -> Check {
    #[derive(Clone, Copy)]
    struct Part {
        num: f64,
        den: f64,
        bad: usize,
        nonfinite: usize,
        worst: usize,
        worst_ratio: f64,
    }
    let len = got.len().min(want.len());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 32);
    let chunk = len.div_ceil(threads).max(1 << 16);
    let part = |start: usize, g: &[T], w: &[f32]| {
        let mut p = Part { num: 0.0, den: 0.0, bad: 0, nonfinite: 0, worst: start, worst_ratio: 0.0 };
        for (i, (g, w)) in g.iter().zip(w).enumerate() {
            let (g, w) = (g.to_f64(), f64::from(*w));
            if !g.is_finite() {
                p.nonfinite += 1;
                p.bad += 1;
                p.worst = start + i;
                p.worst_ratio = f64::INFINITY;
                continue;
            }
            let e = (g - w).abs();
            p.num += e * e;
            p.den += w * w;
            let allowed = tol.elem_rel * w.abs() + tol.elem_abs;
            let ratio = if allowed > 0.0 { e / allowed } else if e > 0.0 { f64::INFINITY } else { 0.0 };
            if ratio > 1.0 {
                p.bad += 1;
            }
            if ratio > p.worst_ratio {
                p.worst_ratio = ratio;
                p.worst = start + i;
            }
        }
        p
    };
    let parts: Vec<Part> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..len.div_ceil(chunk))
            .map(|c| {
                let (lo, hi) = (c * chunk, ((c + 1) * chunk).min(len));
                let (g, w) = (&got[lo..hi], &want[lo..hi]);
                s.spawn(move || part(lo, g, w))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("compare thread")).collect()
    });
    let mut total = Part { num: 0.0, den: 0.0, bad: 0, nonfinite: 0, worst: 0, worst_ratio: 0.0 };
    for p in parts {
        total.num += p.num;
        total.den += p.den;
        total.bad += p.bad;
        total.nonfinite += p.nonfinite;
        if p.worst_ratio > total.worst_ratio {
            total.worst_ratio = p.worst_ratio;
            total.worst = p.worst;
        }
    }
    let rel_err = if total.nonfinite > 0 {
        f64::NAN
    } else if total.den == 0.0 {
        total.num.sqrt()
    } else {
        (total.num / total.den).sqrt()
    };
    Check { rel_err, bad: total.bad, nonfinite: total.nonfinite, worst: total.worst, worst_ratio: total.worst_ratio, frob_tol: tol.frob }
}

/// Fraction of nonzero blocks of `rows × k_gran` of a row-major `m×k` matrix (the pattern
/// density a kernel with that A granularity sees).
pub fn block_density<T: TcElem>(a: &[T], m: usize, k: usize, rows: usize, k_gran: usize) -> f64 {
    let (rows, k_gran) = (rows.max(1), k_gran.max(1));
    let (gr, gk) = (m.div_ceil(rows), k.div_ceil(k_gran));
    if gr * gk == 0 {
        return 0.0;
    }
    let mut nonzero = vec![false; gr * gk];
    for r in 0..m {
        let row = &a[r * k..(r + 1) * k];
        let g = r / rows;
        for (j, v) in row.iter().enumerate() {
            if v.to_f64() != 0.0 {
                nonzero[g * gk + j / k_gran] = true;
            }
        }
    }
    nonzero.iter().filter(|x| **x).count() as f64 / (gr * gk) as f64
}

/// Whether running a variant gives its prepared-B form: dense and `offb` variants take the
/// prepared weights, `sep` ones run without (their B-pattern stage runs per call).
pub fn uses_prepared(spec: &TcSpec) -> bool {
    spec.sparsity == TcSparsity::Dense || spec.patterns == TcPatterns::PreparedB
}

/// How a run of a problem is made.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunHow<'n> {
    /// A variant by name (None: default dispatch).
    pub variant: Option<&'n str>,
    /// Pass the prepared B of the input copy.
    pub prepared: bool,
    /// Go through the problem's layer (default dispatch, adaptive densities).
    pub layer: bool,
}

/// One tc problem on the GPU: rotated copies of A and B (their total exceeds twice the L2), a
/// prepared B per copy, C, and the fp32-output reference on the host.
pub struct TcProblem<T: TcElem> {
    /// Shape.
    pub dims: Dims,
    a: Vec<CudaSlice<T>>,
    b: Vec<CudaSlice<T>>,
    prepared: Vec<TcPreparedB>,
    /// Output.
    pub c: CudaSlice<T>,
    next: usize,
    layer: Layer,
    /// Reference C (fp32 output of cuBLAS on copy 0).
    pub reference: Vec<f32>,
    /// A as uploaded (for pattern densities).
    pub host_a: Vec<T>,
    tol: Tolerance,
}

impl<T: TcElem> TcProblem<T> {
    /// Converts `w` to `T`, uploads it (rotating copies as needed), prepares B per copy and
    /// computes the reference.
    pub fn upload(esmm: &Esmm, stream: &Arc<CudaStream>, w: &Workload) -> Result<TcProblem<T>> {
        let dims = Dims::new(w.m, w.n, w.k);
        let host_a: Vec<T> = w.a.iter().map(|v| T::from_f32(*v)).collect();
        let host_b: Vec<T> = w.b.iter().map(|v| T::from_f32(*v)).collect();
        let size = std::mem::size_of::<T>();
        let copies = rotation_copies(esmm, size * (host_a.len() + host_b.len()));
        let (mut a, mut b, mut prepared) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..copies {
            a.push(stream.clone_htod(&host_a).map_err(msg("uploading A"))?);
            let bb = stream.clone_htod(&host_b).map_err(msg("uploading B"))?;
            prepared.push(esmm.tc_prepare_b::<T, _>(stream, &bb, w.k, w.n).map_err(msg("preparing B"))?);
            b.push(bb);
        }
        let c = stream.alloc_zeros::<T>((w.m * w.n).max(1)).map_err(msg("allocating C"))?;
        let mut refc = stream.alloc_zeros::<f32>((w.m * w.n).max(1)).map_err(msg("allocating the reference"))?;
        let math = if T::TYPE == ElemType::F32 { BaselineMath::Fp32 } else { cublas_math(T::TYPE) };
        esmm.baselines().gemm(Baseline::new(BaselineKind::Cublas, math), stream, &a[0], &b[0], &mut refc, dims).map_err(msg("computing the cuBLAS reference"))?;
        let mut reference = stream.clone_dtoh(&refc).map_err(msg("downloading the reference"))?;
        reference.truncate(w.m * w.n);
        let tol = tolerance(T::TYPE, w.k, rms(&reference));
        Ok(TcProblem { dims, a, b, prepared, c, next: 0, layer: Layer::new(), reference, host_a, tol })
    }

    /// Index of the input copy to use next (rotating).
    fn next_copy(&mut self) -> usize {
        let i = self.next;
        self.next = (self.next + 1) % self.a.len();
        i
    }

    /// The density of the prepared B (at the default variant's granularity; 1 when no tc
    /// kernel is compiled in).
    pub fn prepared_density(&self) -> f64 {
        self.prepared.first().map_or(f64::NAN, TcPreparedB::density)
    }

    /// Runs one `tc_matmul` (output type = input type) on the next input copy.
    pub fn run(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, how: RunHow<'_>, events: Option<&mut StageEvents>) -> esmm::Result<Option<&'static str>> {
        let i = self.next_copy();
        let opts = TcOptions {
            activation: Activation::None,
            col_nnz: None,
            variant: how.variant,
            prepared_b: if how.prepared { self.prepared.get(i) } else { None },
            layer: if how.layer { Some(&self.layer) } else { None },
            stage_events: events,
        };
        esmm.tc_matmul::<T, T, _, _, _>(stream, &self.a[i], &self.b[i], &mut self.c, self.dims, opts)
    }

    /// [`TcProblem::run`] with the error as text.
    pub fn run_text(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, how: RunHow<'_>) -> Result<()> {
        self.run(esmm, stream, how, None).map(|_| ()).map_err(|e| e.to_string())
    }

    /// What default dispatch (through the problem's layer, with the prepared B of copy 0 when
    /// `prepared`) would run now.
    pub fn planned(&self, esmm: &Esmm, prepared: bool) -> Result<&'static str> {
        let opts = TcOptions { prepared_b: if prepared { self.prepared.first() } else { None }, layer: Some(&self.layer), ..Default::default() };
        esmm.tc_planned::<T, T>(self.dims, &opts).map_err(|e| e.to_string())
    }

    /// Runs a baseline (cuBLAS or cuBLASLt in the type, output in the type) on the next copy.
    pub fn run_baseline(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, kind: BaselineKind) -> Result<()> {
        let i = self.next_copy();
        esmm.baselines().gemm(Baseline::new(kind, cublas_math(T::TYPE)), stream, &self.a[i], &self.b[i], &mut self.c, self.dims).map_err(|e| e.to_string())
    }

    /// Fills C with NaN (all bits set), so that unwritten elements fail a check.
    pub fn poison_c(&mut self, stream: &Arc<CudaStream>) -> Result<()> {
        let bytes = self.dims.m * self.dims.n * std::mem::size_of::<T>();
        let (ptr, _guard) = self.c.device_ptr_mut(stream);
        // SAFETY: C holds (at least) M·N elements of T owned by this problem.
        unsafe { esmm::cudarc::driver::result::memset_d8_async(ptr, 0xFF, bytes, stream.cu_stream()) }.map_err(msg("poisoning C"))
    }

    /// Compares what C holds now with the reference (waits for the stream).
    pub fn check_c(&self, stream: &Arc<CudaStream>) -> Result<Check> {
        let mut got = stream.clone_dtoh(&self.c).map_err(msg("downloading C"))?;
        got.truncate(self.dims.m * self.dims.n);
        Ok(compare(&got, &self.reference, &self.tol))
    }

    /// Poisons C, runs once on copy 0 and checks C. `Err(run error)` when the run failed.
    pub fn check(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, how: RunHow<'_>) -> std::result::Result<Result<Check>, esmm::Error> {
        if let Err(e) = self.poison_c(stream) {
            return Ok(Err(e));
        }
        self.next = 0;
        self.run(esmm, stream, how, None)?;
        let c = self.check_c(stream);
        self.next = 0;
        Ok(c)
    }

    /// Times each launched stage of a variant (pattern, pack and GEMM kernels): median over
    /// `reps` calls, in launch order.
    pub fn time_stages(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, how: RunHow<'_>, reps: u32) -> Result<Vec<(Stage, Timing)>> {
        let mut per_stage: Vec<(Stage, Vec<f64>)> = Vec::new();
        for _ in 0..reps.max(1) {
            let mut events = StageEvents::default();
            self.run(esmm, stream, how, Some(&mut events)).map_err(|e| e.to_string())?;
            for (j, (stage, ms)) in events.elapsed_ms().map_err(|e| e.to_string())?.into_iter().enumerate() {
                if per_stage.len() <= j {
                    per_stage.push((stage, Vec::new()));
                }
                per_stage[j].1.push(f64::from(ms));
            }
        }
        Ok(per_stage.into_iter().filter_map(|(s, v)| Timing::from_samples(v).map(|t| (s, t))).collect())
    }

    /// Times `tc_prepare_b` (density and Inf/NaN scan of a static B) on copy 0.
    pub fn time_prepare_b(&self, esmm: &Esmm, stream: &Arc<CudaStream>, reps: u32) -> Result<Timing> {
        crate::bench::timing::time_runs(stream, reps, || esmm.tc_prepare_b::<T, _>(stream, &self.b[0], self.dims.k, self.dims.n).map(|_| ()).map_err(|e| e.to_string()))
    }
}

/// The outcome of one candidate under one key (the fingerprint is added by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// What happened.
    pub status: CandidateStatus,
    /// Its timing (for `Ok` and `Pruned`).
    pub timing: Option<Timing>,
    /// Why it is not `Ok`.
    pub detail: Option<String>,
    /// The relative error of its check (NaN when it did not run).
    pub rel_err: f64,
}

impl Outcome {
    fn failed(status: CandidateStatus, detail: String) -> Outcome {
        Outcome { status, timing: None, detail: Some(detail), rel_err: f64::NAN }
    }
}

/// The status of a run that failed: `invalid` when the variant cannot serve the call (it does
/// not match the request, is unknown or not compiled), else `launch_failed`.
pub fn run_error_status(e: &esmm::Error) -> CandidateStatus {
    match e {
        esmm::Error::VariantMismatch { .. } | esmm::Error::UnknownVariant { .. } | esmm::Error::NoVariant(_) | esmm::Error::InvalidArgument(_) => CandidateStatus::Invalid,
        _ => CandidateStatus::LaunchFailed,
    }
}

/// One key of the sweep: its problem, baseline and candidates (type-erased over the input type).
pub trait KeyBench {
    /// The label the baseline is recorded under (`cublas_bf16`, ...).
    fn baseline_label(&self) -> &'static str;
    /// Times the baseline.
    fn time_baseline(&mut self, reps: u32) -> Result<Timing>;
    /// Checks `spec` against the reference, then times it: a 2-sample probe first, pruned when
    /// slower than `prune` × `best_ms`; else `reps` timed runs.
    fn measure(&mut self, spec: &TcSpec, prune: f64, best_ms: f64, reps: u32) -> Result<Outcome>;
}

struct Bench<'a, T: TcElem> {
    esmm: &'a Esmm,
    stream: Arc<CudaStream>,
    problem: TcProblem<T>,
}

impl<T: TcElem> KeyBench for Bench<'_, T> {
    fn baseline_label(&self) -> &'static str {
        dense_baseline(FAMILY, T::TYPE)
    }

    fn time_baseline(&mut self, reps: u32) -> Result<Timing> {
        let (esmm, stream, p) = (self.esmm, &self.stream, &mut self.problem);
        crate::bench::timing::time_runs(stream, reps, || p.run_baseline(esmm, stream, BaselineKind::Cublas))
    }

    fn measure(&mut self, spec: &TcSpec, prune: f64, best_ms: f64, reps: u32) -> Result<Outcome> {
        let (esmm, stream) = (self.esmm, &self.stream);
        let name = spec.name();
        let how = RunHow { variant: Some(&name), prepared: uses_prepared(spec), layer: false };
        let p = &mut self.problem;
        let check = match p.check(esmm, stream, how) {
            Err(e) => return Ok(Outcome::failed(run_error_status(&e), e.to_string())),
            Ok(Err(e)) => return Ok(Outcome::failed(CandidateStatus::LaunchFailed, e)),
            Ok(Ok(c)) => c,
        };
        if !check.passed() {
            return Ok(Outcome { rel_err: check.rel_err, ..Outcome::failed(CandidateStatus::Wrong, check.describe(p.dims.n)) });
        }
        let mut run = || p.run_text(esmm, stream, how);
        let probe = time_runs_after(stream, 1, 2, &mut run)?;
        if probe.median_ms > prune * best_ms {
            let detail = format!("slower than {prune:.2}× the best after 2 samples");
            return Ok(Outcome { status: CandidateStatus::Pruned, timing: Some(probe), detail: Some(detail), rel_err: check.rel_err });
        }
        let t = time_runs_after(stream, 1, reps, &mut run)?;
        Ok(Outcome { status: CandidateStatus::Ok, timing: Some(t), detail: None, rel_err: check.rel_err })
    }
}

/// The key's workload on the host: the tc blockwise workload at `density` for both operands,
/// seeded by the sweep seed and the key.
pub fn key_workload(d: Dims, density: f64, seed: u64) -> Workload {
    let s = seed ^ (d.m * 31 + d.n * 17 + d.k) as u64 ^ ((density * 1000.0) as u64) << 20;
    Workload::tc_blockwise(d.m, d.n, d.k, density, density, s)
}

/// Uploads one key's data (on a new stream of `esmm`), prepares B and computes the reference.
pub fn key_bench<'a>(esmm: &'a Esmm, dtype: ElemType, d: Dims, density: f64, seed: u64) -> Result<Box<dyn KeyBench + 'a>> {
    fn make<'a, T: TcElem>(esmm: &'a Esmm, w: &Workload) -> Result<Box<dyn KeyBench + 'a>> {
        let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
        let problem = TcProblem::<T>::upload(esmm, &stream, w)?;
        Ok(Box::new(Bench { esmm, stream, problem }))
    }
    let w = key_workload(d, density, seed);
    match dtype {
        ElemType::Bf16 => make::<bf16>(esmm, &w),
        ElemType::F16 => make::<f16>(esmm, &w),
        ElemType::F32 => make::<f32>(esmm, &w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep_space(dtype: ElemType) -> Vec<TcSpec> {
        space(&esmm_codegen::sets::sweep(), dtype, &TcPath::ALL)
    }

    #[test]
    fn dtypes_parse_and_label() {
        assert_eq!(parse_dtype("bf16"), Ok(ElemType::Bf16));
        assert_eq!(parse_dtype("tf32"), Ok(ElemType::F32));
        assert_eq!(parse_dtype("f32"), Ok(ElemType::F32));
        assert!(parse_dtype("f64").unwrap_err().contains("bf16, f16 or tf32"));
        assert_eq!(DTYPES.map(dtype_label), ["bf16", "f16", "tf32"]);
        assert_eq!(DTYPES.map(|t| Baseline::new(BaselineKind::Cublas, cublas_math(t)).label()), DTYPES.map(|t| dense_baseline(Family::Tc, t)));
    }

    #[test]
    fn default_keys_cover_the_issue() {
        let keys = default_keys(&DTYPES);
        let cube = Dims::new(4096, 4096, 4096);
        for d in DENSITY_BUCKETS {
            assert!(keys.contains(&(ElemType::Bf16, cube, d)), "bf16 4096³ at {d}");
        }
        for t in [ElemType::F16, ElemType::F32] {
            assert!(keys.contains(&(t, cube, 1.0)) && keys.contains(&(t, cube, 0.5)));
        }
        assert!(keys.contains(&(ElemType::Bf16, Dims::new(2048, 11008, 4096), 0.5)));
        assert!(keys.contains(&(ElemType::Bf16, Dims::new(8192, 8192, 8192), 1.0)));
        assert_eq!(keys.len(), 6 + 2 + 2 + 3 + 3);
        assert_eq!(keys[0], (ElemType::Bf16, cube, 1.0), "the most important key first");
        assert_eq!(default_keys(&[ElemType::F16]), vec![(ElemType::F16, cube, 1.0), (ElemType::F16, cube, 0.5)]);
        let k = key(ElemType::Bf16, cube, 0.5);
        assert_eq!((k.family, k.dtype, k.activation, k.m, k.density), (Family::Tc, ElemType::Bf16, Activation::None, 4096, 0.5));
    }

    #[test]
    fn paths_follow_the_gpu() {
        assert_eq!(paths_for(90, "all").unwrap(), TcPath::ALL.to_vec());
        assert_eq!(paths_for(89, "all").unwrap(), vec![TcPath::Mma]);
        assert_eq!(paths_for(100, "mma").unwrap(), vec![TcPath::Mma]);
        assert!(paths_for(80, "wgmma").unwrap_err().contains("sm_90a"));
        assert!(paths_for(90, "x").is_err());
    }

    #[test]
    fn space_is_one_type_and_the_coarse_set_covers_every_tile() {
        for t in DTYPES {
            let s = sweep_space(t);
            if s.is_empty() {
                continue;
            }
            assert!(s.iter().all(|x| x.dtype == t && x.out == t));
            let c = coarse(&s);
            let tiles: HashSet<(Tile, TcSparsity)> = s.iter().map(|x| (tile_of(x), x.sparsity)).collect();
            assert_eq!(c.len(), tiles.len(), "one per (tile, sparsity)");
            assert!(c.len() <= 40, "{} coarse candidates for {}", c.len(), t.tag());
            assert!(c.len() * 8 < s.len(), "the coarse set is a small part of {} members", s.len());
            // Each coarse member is the one nearest the defaults in its group.
            for d in &c {
                let group = s.iter().filter(|x| tile_of(x) == tile_of(d) && x.sparsity == d.sparsity);
                assert!(group.map(default_distance).all(|g| g >= default_distance(d)), "{}", d.name());
            }
            assert!(c.iter().any(|x| default_distance(x) == 0), "the defaults themselves are coarse");
        }
    }

    #[test]
    fn neighbours_differ_in_one_axis() {
        let s = sweep_space(ElemType::Bf16);
        let Some(x) = coarse(&s).into_iter().find(|x| x.path == TcPath::Wgmma && x.sparsity == TcSparsity::Joint) else { return };
        let n = neighbours(&x, &s);
        assert!(!n.is_empty());
        assert!(n.len() <= 12, "{} neighbours", n.len());
        for y in &n {
            assert_eq!((tile_of(y), y.sparsity), (tile_of(&x), x.sparsity));
            assert_ne!(y.name(), x.name());
        }
        assert!(n.iter().any(|y| y.patterns == TcPatterns::Separate), "the sep twin is a neighbour");
        assert!(n.iter().any(|y| y.stages != x.stages));
    }

    #[test]
    fn rounds_refine_around_the_winners_and_respect_the_cap() {
        let s = sweep_space(ElemType::Bf16);
        if s.is_empty() {
            return;
        }
        let search = Search { strategy: Strategy::Refine, max_candidates: None, refine_top: 2, rounds: 2 };
        let r0 = round_candidates(&s, &search, 0, &[], &HashSet::new());
        assert_eq!(r0, coarse(&s));
        let mut tried: HashSet<String> = r0.iter().map(TcSpec::name).collect();
        let ranked: Vec<String> = r0.iter().filter(|x| x.sparsity == TcSparsity::Joint).take(2).map(TcSpec::name).collect();
        let r1 = round_candidates(&s, &search, 1, &ranked, &tried);
        assert!(!r1.is_empty());
        let winners: Vec<TcSpec> = r0.iter().filter(|x| ranked.contains(&x.name())).copied().collect();
        assert!(r1.iter().all(|y| winners.iter().any(|w| neighbours(w, &s).contains(y))));
        assert!(r1.iter().all(|y| !tried.contains(&y.name())));
        tried.extend(r1.iter().map(TcSpec::name));
        assert!(round_candidates(&s, &search, 3, &ranked, &tried).is_empty(), "no round beyond `rounds`");
        let capped = Search { max_candidates: Some(tried.len() + 3), ..search };
        assert!(round_candidates(&s, &capped, 2, &["nope".into()], &tried).len() <= 3);
        let ex = Search { strategy: Strategy::Exhaustive, max_candidates: Some(50), ..search };
        let all = round_candidates(&s, &ex, 0, &[], &HashSet::new());
        assert_eq!(all.len(), 50.min(s.len()));
        assert_eq!(default_distance(&all[0]), 0);
        assert!(round_candidates(&s, &ex, 1, &[], &HashSet::new()).is_empty());
    }

    #[test]
    fn comparison_finds_wrong_and_unwritten_elements() {
        let want: Vec<f32> = (0..200_000).map(|i| ((i % 97) as f32 - 48.0) / 7.0).collect();
        let tol = tolerance(ElemType::Bf16, 4096, rms(&want));
        // bf16 rounding of the exact values passes.
        let got: Vec<bf16> = want.iter().map(|v| bf16::from_f32(*v)).collect();
        let c = compare(&got, &want, &tol);
        assert!(c.passed(), "{c:?}");
        assert!(c.rel_err > 0.0 && c.rel_err < 2f64.powi(-8));
        // One element off by a skipped block's worth fails, however small the Frobenius error.
        let mut bad = got.clone();
        bad[123_456] = bf16::from_f32(want[123_456] + 0.1 * rms(&want) as f32 + 0.05);
        let c = compare(&bad, &want, &tol);
        assert!(!c.passed() && c.bad == 1 && c.worst == 123_456, "{c:?}");
        assert!(c.rel_err < tol.frob, "the Frobenius norm alone would not see it");
        assert!(c.describe(1000).contains("C[123][456]"));
        // An unwritten (NaN-poisoned) element fails.
        let mut nan = got.clone();
        nan[7] = bf16::NAN;
        let c = compare(&nan, &want, &tol);
        assert!(!c.passed() && c.nonfinite == 1 && c.rel_err.is_nan());
        // f32 outputs within TF32 rounding pass; f16 is held to its own rounding.
        let tf: Vec<f32> = want.iter().map(|v| v * (1.0 + 1e-3)).collect();
        assert!(compare(&tf, &want, &tolerance(ElemType::F32, 4096, rms(&want))).passed());
        let h: Vec<f16> = want.iter().map(|v| f16::from_f32(v * 1.01)).collect();
        assert!(!compare(&h, &want, &tolerance(ElemType::F16, 4096, rms(&want))).passed());
    }

    #[test]
    fn block_densities_count_nonzero_blocks() {
        let (m, k) = (8, 8);
        let mut a = vec![0.0f32; m * k];
        a[0] = 1.0; // block (0, 0) at every granularity
        a[5 * k + 7] = 2.0; // row 5, k 7
        assert_eq!(block_density(&a, m, k, 4, 4), 2.0 / 4.0);
        assert_eq!(block_density(&a, m, k, 8, 8), 1.0);
        assert_eq!(block_density(&a, m, k, 1, 1), 2.0 / 64.0);
        assert_eq!(block_density(&a, m, k, 3, 3), 2.0 / 9.0, "partial edge blocks count");
        let w = Workload::tc_blockwise(256, 128, 512, 0.5, 1.0, 3);
        let d = block_density(&w.a, 256, 512, 64, 64);
        assert!((d - 0.5).abs() < 0.2, "{d}");
        assert_eq!(block_density(&w.a, 256, 512, 32, 32), d, "finer blocks inside 64×64 ones see the same density");
    }

    #[test]
    fn workloads_differ_per_key_and_are_never_all_zero() {
        let d = Dims::new(128, 256, 128);
        let a = key_workload(d, 0.5, 7);
        let b = key_workload(d, 0.25, 7);
        assert_ne!(a.a, b.a);
        assert!(a.a.iter().any(|v| *v != 0.0) && a.b.iter().any(|v| *v != 0.0));
        assert_eq!(key_workload(d, 0.5, 7).a, a.a, "seeded");
    }
}
