//! Family `gemv` (decode GEMV, 1..16 tokens) in the sweep: `esmm-tune sweep --family gemv`.
//!
//! - **Keys**: (gemv, bf16, activation none, M = tokens, N = outputs, K = inputs of the weight
//!   W in `y[M×N] = x[M×K]·W`, density), where the density is the fraction of the K inputs
//!   nonzero for at least one token (the union density: input-sparse kn kernels skip the weight
//!   rows of the other inputs), snapped to a density bucket. Default: the K×N weights of
//!   [`default_weight_shapes`] at M = 1, 4, 16 and the densities [`DENSITIES`] (90 keys).
//! - **Data**: per weight shape, random bf16 weights uploaded in rotation as kn and, when a key
//!   of density 1 needs them, nk: enough copies that every call reads its weights from HBM, as
//!   in the decode experiment, counting for kn only the rows the sparsest key's calls read
//!   (`weight_copies`: at density 0.125 a call reads an eighth of the weights, so the rotation
//!   is longer); per key a fresh x with exactly round(density·K) nonzero input
//!   columns at random positions, nonzero for every token ([`union_activations`]).
//! - **Baseline** `cublas_bf16` ([`dense_baseline`]): the faster of cuBLAS and cuBLASLt bf16 on
//!   the same rotation (its detail says which), timed as the decode experiment times it. cuBLAS's
//!   y is the reference of the checks.
//! - **Candidates**: kn input-sparse and kn dense kernels at every density (a dense kn kernel
//!   serves an input-sparse call by reading every row), nk dense ones at density 1 only (nk calls
//!   never skip inputs). Round 0 is the shipped defaults ([`DEFAULTS`]), then a coarse spread
//!   ([`first_round`]); round 1 the one-axis neighbours of the `--refine-top` fastest
//!   ([`refine_round`]); at most `--max-candidates` ([`MAX_CANDIDATES`]) per key. Variants this
//!   build embeds run from its registry (and carry its fingerprint); the others are compiled on
//!   demand like the tc sweep's.
//! - **Check and timing**: each candidate is forced by name (`GemvOptions::variant`), run once
//!   with y poisoned (NaN) and compared with the reference (max |Δ| / max |ref| ≤
//!   [`MAX_REL_ERR`], else recorded `wrong`); then a 2-sample probe (recorded `pruned` when
//!   slower than `--prune` × the best so far) and `--reps` samples of 20 calls, each call on the
//!   next weight copy.

use crate::bench::gemv::{cublas_reference, error_against, nonzero_value, random_weights, rotated_weights, time_cublas_bf16, time_rotated, weight_copies, DECODE_SHAPES, DECODE_TOKENS};
use crate::bench::timing::Timing;
use crate::families::tc::{run_error_status, Outcome};
use crate::report::print_summary;
use crate::sweep::{candidate, current_under, ensure_compiled, open_table, save_table, Compiles, SweepArgs};
use crate::{msg, Result};
use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::dispatch::registry::{compiled_source_hash, NVCC_RELEASE};
use esmm::dispatch::tuned::{dense_baseline, density_bucket, gpu_slug, Candidate, CandidateStatus, Fingerprint, TableKey};
use esmm::{Activation, Dims, ElemType, Esmm, Family, GemvLayout, GemvOptions, GemvSparsity, GemvWeights, KernelSpec};
use esmm_codegen::families::gemv::sets::{KN_DENSE, KN_INPUT, NK_DENSE};
use esmm_spec::families::gemv::GEMV_MAX_M;
use esmm_spec::GemvSpec;
use half::bf16;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The family swept here.
pub const FAMILY: Family = Family::Gemv;

/// Densities of the sweep's keys when `--densities` is not given.
pub const DENSITIES: [f64; 5] = [1.0, 0.75, 0.5, 0.25, 0.125];

/// Most kernels timed per key when `--max-candidates` is not given.
pub const MAX_CANDIDATES: usize = 48;

/// Largest max |Δ| / max |ref| (against cuBLAS bf16) of a correct candidate.
pub const MAX_REL_ERR: f64 = 5e-3;

/// The shipped defaults, one per kind the sweep times (kn input-sparse, kn dense, nk dense):
/// timed first at every key they serve, and the centres of the coarse spread.
pub const DEFAULTS: [GemvSpec; 3] = [KN_INPUT, KN_DENSE, NK_DENSE];

/// Default weight shapes (K, N): the decode experiment's, plus Llama-3.2-3B's down projection.
pub fn default_weight_shapes() -> Vec<(usize, usize)> {
    DECODE_SHAPES.iter().copied().chain([(8192, 3072)]).collect()
}

/// The table key of a call shape (M tokens, N outputs, K inputs) and union density.
pub fn key(d: Dims, density: f64) -> TableKey {
    TableKey { family: FAMILY, dtype: ElemType::Bf16, activation: Activation::None, m: d.m as u64, n: d.n as u64, k: d.k as u64, density: density_bucket(density) }
}

/// The keys of one weight shape: its (M, density bucket) pairs, in sweep order.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightKeys {
    /// Inputs (rows of the K×N weight).
    pub k: usize,
    /// Outputs.
    pub n: usize,
    /// (tokens, density bucket) of each key.
    pub keys: Vec<(usize, f64)>,
}

impl WeightKeys {
    /// The call shape of key `(m, _)`.
    pub fn dims(&self, m: usize) -> Dims {
        Dims::new(m, self.n, self.k)
    }

    /// Whether a key needs the nk weights (one of density 1: nk kernels compete there).
    pub fn needs_nk(&self) -> bool {
        self.keys.iter().any(|&(_, d)| d >= 1.0)
    }

    /// The lowest density of its keys: the smallest part of the kn weights a call reads.
    pub fn min_density(&self) -> f64 {
        self.keys.iter().map(|&(_, d)| d).fold(1.0, f64::min)
    }
}

/// The densities of a sweep: `requested` snapped to density buckets (duplicates dropped, order
/// kept), else [`DENSITIES`].
pub fn densities(requested: &[f64]) -> Result<Vec<f64>> {
    if requested.iter().any(|d| !(0.0..=1.0).contains(d)) {
        return Err("densities must lie in [0, 1]".into());
    }
    let mut out: Vec<f64> = Vec::new();
    for &d in if requested.is_empty() { &DENSITIES[..] } else { requested } {
        let b = density_bucket(d);
        if b != d {
            eprintln!("gemv sweep: density {d} is measured as its bucket {b}");
        }
        if !out.contains(&b) {
            out.push(b);
        }
    }
    Ok(out)
}

/// The keys of a sweep grouped by weight shape, in sweep order: `shapes` (`MxNxK`, M tokens,
/// N outputs, K inputs) when given, else [`default_weight_shapes`] at each of `tokens`
/// (default 1, 4, 16); each shape at every density. M must lie in 1..=16 and N be a multiple
/// of 8 (the cuBLAS baseline reads the kn weights unpadded).
pub fn weight_keys(shapes: &[String], tokens: &[usize], densities: &[f64]) -> Result<Vec<WeightKeys>> {
    let calls: Vec<Dims> = if shapes.is_empty() {
        let tokens = if tokens.is_empty() { &DECODE_TOKENS[..] } else { tokens };
        default_weight_shapes().into_iter().flat_map(|(k, n)| tokens.iter().map(move |&m| Dims::new(m, n, k))).collect()
    } else {
        shapes.iter().map(|s| crate::parse_shape(s)).collect::<Result<_>>()?
    };
    let mut out: Vec<WeightKeys> = Vec::new();
    for d in calls {
        if !(1..=GEMV_MAX_M).contains(&d.m) {
            return Err(format!("gemv keys take 1..={GEMV_MAX_M} tokens (M), not {}", d.m));
        }
        if !d.n.is_multiple_of(8) {
            return Err(format!("gemv keys need N (outputs) a multiple of 8 for the cuBLAS baseline, not {}", d.n));
        }
        let i = match out.iter().position(|w| (w.k, w.n) == (d.k, d.n)) {
            Some(i) => i,
            None => {
                out.push(WeightKeys { k: d.k, n: d.n, keys: Vec::new() });
                out.len() - 1
            }
        };
        for &x in densities {
            if !out[i].keys.contains(&(d.m, x)) {
                out[i].keys.push((d.m, x));
            }
        }
    }
    Ok(out)
}

/// What a gemv kernel reads: its weight layout and what it skips.
type Kind = (GemvLayout, GemvSparsity);

fn kind(s: &GemvSpec) -> Kind {
    (s.layout, s.sparsity)
}

/// The default of a kind (None: a kind the sweep does not time).
fn default_of(k: Kind) -> Option<GemvSpec> {
    DEFAULTS.into_iter().find(|d| kind(d) == k)
}

/// The candidates a sweep can time: the [`DEFAULTS`] and the gemv members of `set` with bf16
/// input and output, epilogue none, plain (not gated) weights and a kind of the defaults, whose
/// names contain one of `filter` (when given); no name twice.
pub fn space(set: &[KernelSpec], filter: &[String]) -> Vec<GemvSpec> {
    let mut seen = HashSet::new();
    DEFAULTS
        .iter()
        .chain(set.iter().filter_map(KernelSpec::as_gemv))
        .filter(|s| s.dtype == ElemType::Bf16 && s.out == ElemType::Bf16 && s.activation == Activation::None && !s.gated && default_of(kind(s)).is_some())
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.name().contains(f.as_str())))
        .filter(|s| seen.insert(s.name()))
        .copied()
        .collect()
}

/// Whether `s` competes at a key of union density `density`: kn kernels at every density, nk
/// kernels (which read every input) at density 1 only.
pub fn serves(s: &GemvSpec, density: f64) -> bool {
    s.layout == GemvLayout::Kn || density >= 1.0
}

/// How far `s` is from its kind's default: (octaves of block plus octaves of kw, how many of
/// unroll and cache differ).
fn distance(s: &GemvSpec) -> (u32, u32) {
    let Some(d) = default_of(kind(s)) else { return (u32::MAX, u32::MAX) };
    let octaves = |a: u32, b: u32| a.max(1).ilog2().abs_diff(b.max(1).ilog2());
    (octaves(s.block, d.block) + octaves(s.kw, d.kw), u32::from(s.unroll != d.unroll) + u32::from(s.cache != d.cache))
}

/// The first `max − tried` members of `list` not in `tried`, each name once.
fn untried(list: Vec<GemvSpec>, tried: &HashSet<String>, max: usize) -> Vec<GemvSpec> {
    let mut seen = HashSet::new();
    let mut out: Vec<GemvSpec> = list.into_iter().filter(|s| !tried.contains(&s.name()) && seen.insert(s.name())).collect();
    out.truncate(max.saturating_sub(tried.len()));
    out
}

/// Round 0 of a key at `density`: the [`DEFAULTS`] in `space` that serve it, then the coarse
/// spread — per kind and (block, kw) the member nearest the kind's default unroll and cache,
/// the kinds interleaved, nearest (block, kw) first. Never a name in `tried`; capped so that at
/// most `max` are tried in all.
pub fn first_round(space: &[GemvSpec], density: f64, tried: &HashSet<String>, max: usize) -> Vec<GemvSpec> {
    let mut per_kind: Vec<Vec<GemvSpec>> = Vec::new();
    for d in DEFAULTS.iter().filter(|d| serves(d, density)) {
        let mut nearest: HashMap<(u32, u32), GemvSpec> = HashMap::new();
        for s in space.iter().filter(|s| kind(s) == kind(d)) {
            let slot = nearest.entry((s.block, s.kw)).or_insert(*s);
            if (distance(s).1, s.name()) < (distance(slot).1, slot.name()) {
                *slot = *s;
            }
        }
        let mut members: Vec<GemvSpec> = nearest.into_values().collect();
        members.sort_by_key(|s| (distance(s).0, s.name()));
        per_kind.push(members);
    }
    let mut list: Vec<GemvSpec> = DEFAULTS.iter().filter(|d| serves(d, density) && space.contains(d)).copied().collect();
    for i in 0..per_kind.iter().map(Vec::len).max().unwrap_or(0) {
        list.extend(per_kind.iter().filter_map(|members| members.get(i)));
    }
    untried(list, tried, max)
}

/// The members of `space` one axis away from `x`: same kind, and exactly one of block, kw,
/// unroll and cache different.
pub fn neighbours(x: &GemvSpec, space: &[GemvSpec]) -> Vec<GemvSpec> {
    let axes = |s: &GemvSpec| [s.block, s.kw, s.unroll, s.cache];
    space.iter().filter(|s| kind(s) == kind(x) && axes(s).iter().zip(axes(x)).filter(|(a, b)| **a != *b).count() == 1).copied().collect()
}

/// Round 1 of a key at `density`: the neighbours of the `top` fastest kernels of `ranked`
/// (names, fastest first; names outside `space` are passed over). Never a name in `tried`;
/// capped so that at most `max` are tried in all.
pub fn refine_round(space: &[GemvSpec], density: f64, ranked: &[String], top: usize, tried: &HashSet<String>, max: usize) -> Vec<GemvSpec> {
    let by_name: HashMap<String, &GemvSpec> = space.iter().map(|s| (s.name(), s)).collect();
    let winners = ranked.iter().filter_map(|n| by_name.get(n)).take(top);
    let list = winners.flat_map(|w| neighbours(w, space)).filter(|s| serves(s, density)).collect();
    untried(list, tried, max)
}

/// x of one key: `m` tokens over `k` inputs, exactly round(density·k) (at least 1) input
/// columns nonzero for every token, at random positions; every other element zero.
pub fn union_activations(m: usize, k: usize, density: f64, rng: &mut StdRng) -> Vec<bf16> {
    let active = ((density * k as f64).round() as usize).clamp(1, k);
    let columns = rand::seq::index::sample(rng, k, active);
    let mut x = vec![bf16::ZERO; m * k];
    for t in 0..m {
        for c in columns.iter() {
            x[t * k + c] = nonzero_value(rng);
        }
    }
    x
}

/// The fingerprint of a variant this build embeds (its registry hash and the release of the
/// nvcc that compiled it); None when it must be compiled at tune time.
fn registry_fingerprint(name: &str) -> Option<Fingerprint> {
    compiled_source_hash(name).filter(|_| !NVCC_RELEASE.is_empty()).map(|h| Fingerprint::new(h, NVCC_RELEASE))
}

/// One weight shape on one GPU: its weights in rotation, kn always and nk when asked for.
struct WeightBench {
    k: usize,
    n: usize,
    kn: Vec<GemvWeights<bf16>>,
    nk: Vec<GemvWeights<bf16>>,
}

impl WeightBench {
    /// Draws the shape's weights (seeded by `seed` and the shape) and uploads the rotations: kn
    /// long enough for the sparsest key's calls, nk (read whole) for dense ones.
    fn upload(esmm: &Esmm, stream: &Arc<CudaStream>, w: &WeightKeys, seed: u64) -> Result<WeightBench> {
        let mut rng = StdRng::seed_from_u64(seed ^ ((w.k as u64) << 32) ^ w.n as u64);
        let host = random_weights(w.k, w.n, &mut rng);
        let bytes = w.k * w.n * 2;
        let kn = rotated_weights(esmm, stream, &host, (w.k, w.n), GemvLayout::Kn, weight_copies(esmm, bytes, w.min_density()))?;
        let nk = if w.needs_nk() { rotated_weights(esmm, stream, &host, (w.k, w.n), GemvLayout::Nk, weight_copies(esmm, bytes, 1.0))? } else { Vec::new() };
        Ok(WeightBench { k: w.k, n: w.n, kn, nk })
    }

    /// The rotation in `layout`.
    fn copies(&self, layout: GemvLayout) -> &[GemvWeights<bf16>] {
        match layout {
            GemvLayout::Kn => &self.kn,
            GemvLayout::Nk => &self.nk,
        }
    }
}

/// One key on one GPU: its x, y and the cuBLAS reference.
struct KeyBench<'a> {
    esmm: &'a Esmm,
    stream: &'a Arc<CudaStream>,
    weights: &'a WeightBench,
    m: usize,
    x: CudaSlice<bf16>,
    y: CudaSlice<bf16>,
    reference: Vec<bf16>,
}

impl<'a> KeyBench<'a> {
    /// Uploads a fresh x for `m` tokens at `density` (seeded by `seed` and the key) and computes
    /// the reference.
    fn new(esmm: &'a Esmm, stream: &'a Arc<CudaStream>, weights: &'a WeightBench, m: usize, density: f64, seed: u64) -> Result<KeyBench<'a>> {
        let (k, n) = (weights.k, weights.n);
        let mut rng = StdRng::seed_from_u64(seed ^ ((k * 31 + n * 17 + m) as u64) ^ (((density * 1000.0) as u64) << 20));
        let x = stream.clone_htod(&union_activations(m, k, density, &mut rng)).map_err(msg("uploading x"))?;
        let mut y = stream.alloc_zeros::<bf16>(m * n).map_err(msg("allocating y"))?;
        let reference = cublas_reference(esmm, stream, &x, &weights.kn[0], &mut y, Dims::new(m, n, k))?;
        Ok(KeyBench { esmm, stream, weights, m, x, y, reference })
    }

    /// Times cuBLAS and cuBLASLt bf16: the faster one's timing, and a note of both medians.
    fn time_baseline(&mut self, samples: usize) -> Result<(Timing, String)> {
        let dims = Dims::new(self.m, self.weights.n, self.weights.k);
        let (blas, lt) = time_cublas_bf16(self.esmm, self.stream, &self.x, &self.weights.kn, &mut self.y, dims, samples)?;
        let lt_ms = lt.map_or(f64::NAN, |t| t.median_ms);
        let note = format!("faster of cuBLAS ({:.4} ms) and cuBLASLt ({lt_ms:.4} ms) bf16", blas.median_ms);
        Ok((lt.filter(|t| t.median_ms < blas.median_ms).unwrap_or(blas), note))
    }

    /// Checks `spec` against the reference, then times it: a 2-sample probe, pruned when slower
    /// than `prune` × `best_ms`; else `samples` timed samples.
    fn measure(&mut self, spec: &GemvSpec, prune: f64, best_ms: f64, samples: usize) -> Result<Outcome> {
        let (esmm, stream, weights, m) = (self.esmm, self.stream, self.weights, self.m);
        let failed = |status, detail: String| Outcome { status, timing: None, detail: Some(detail), rel_err: f64::NAN };
        let name = spec.name();
        let copies = weights.copies(spec.layout);
        if copies.is_empty() {
            return Ok(failed(CandidateStatus::Invalid, format!("no {} weights uploaded for this key", spec.layout.tag())));
        }
        let opts = || GemvOptions { variant: Some(&name), ..Default::default() };
        let len = m * weights.n;
        stream.memcpy_htod(&vec![bf16::NAN; len], &mut self.y).map_err(msg("poisoning y"))?;
        if let Err(e) = esmm.gemv::<bf16, bf16, _, _>(stream, &self.x, &copies[0], &mut self.y, m, opts()) {
            return Ok(failed(run_error_status(&e), e.to_string()));
        }
        let err = match error_against(stream, &self.y, &self.reference, len) {
            Ok(e) => e,
            Err(e) => return Ok(failed(CandidateStatus::LaunchFailed, e)),
        };
        if err.is_nan() || err > MAX_REL_ERR {
            return Ok(Outcome { rel_err: err, ..failed(CandidateStatus::Wrong, format!("max |Δ| / max |ref| = {err:.3e} against cuBLAS bf16 (at most {MAX_REL_ERR:.0e})")) });
        }
        let (x, y) = (&self.x, &mut self.y);
        let mut call = |c: usize| esmm.gemv::<bf16, bf16, _, _>(stream, x, &copies[c], y, m, opts()).map(|_| ()).map_err(|e| e.to_string());
        let mut timed = |n: usize| -> Result<Timing> { Timing::from_samples(time_rotated(stream, n, copies.len(), &mut call)?).ok_or_else(|| "no timing samples".to_string()) };
        let probe = timed(2)?;
        if probe.median_ms > prune * best_ms {
            return Ok(Outcome { status: CandidateStatus::Pruned, timing: Some(probe), detail: Some(format!("slower than {prune:.2}× the best after 2 samples")), rel_err: err });
        }
        Ok(Outcome { status: CandidateStatus::Ok, timing: Some(timed(samples)?), detail: None, rel_err: err })
    }
}

/// What every worker of one gemv sweep shares.
struct Sweep<'a> {
    args: &'a SweepArgs,
    handles: &'a [Esmm],
    /// The candidates that render, and their current fingerprints (for `--resume`).
    space: Vec<GemvSpec>,
    fingerprints: HashMap<String, Fingerprint>,
    names: Vec<String>,
    max_candidates: usize,
    nvcc: esmm_toolchain::Nvcc,
    compiles: Mutex<Compiles>,
    deadline: Option<Instant>,
}

impl Sweep<'_> {
    /// Per spec of `list`, its fingerprint (registry variants as embedded; the others compiled
    /// now unless compiled before) or the record of why it cannot run.
    fn prepare(&self, list: &[GemvSpec], cc: u32) -> Vec<std::result::Result<Fingerprint, Box<Candidate>>> {
        let to_compile: Vec<KernelSpec> = list.iter().filter(|s| registry_fingerprint(&s.name()).is_none()).map(|s| KernelSpec::Gemv(*s)).collect();
        let mut compiled = ensure_compiled(&to_compile, &self.compiles, self.handles, cc, &self.nvcc, &self.args.cache).into_iter();
        list.iter().map(|s| registry_fingerprint(&s.name()).map(Ok).unwrap_or_else(|| compiled.next().expect("one result per compiled spec"))).collect()
    }

    /// Sweeps one key: the baseline (unless `done`), then round 0 and round 1 of the kernels
    /// not `done`. Returns the new records and the kernels tried per round.
    fn key(&self, bench: &mut KeyBench, density: f64, done: &dyn Fn(&str) -> bool, recorded: &[Candidate]) -> Result<(Vec<Candidate>, Vec<usize>)> {
        let args = self.args;
        let samples = args.reps.max(1) as usize;
        let baseline = dense_baseline(FAMILY, ElemType::Bf16);
        let mut out = Vec::new();
        let current = |c: &&Candidate| done(&c.variant) && c.status == CandidateStatus::Ok;
        let mut best = recorded.iter().filter(current).filter_map(|c| c.median_ms).fold(f64::INFINITY, f64::min);
        if !done(baseline) {
            let (t, note) = bench.time_baseline(samples)?;
            best = best.min(t.median_ms);
            out.push(candidate(baseline, CandidateStatus::Ok, None, Some(t), Some(note)));
        }
        let mut timed: Vec<(String, f64)> = recorded.iter().filter(current).filter(|c| c.fingerprint.is_some()).filter_map(|c| c.median_ms.map(|ms| (c.variant.clone(), ms))).collect();
        let mut tried: HashSet<String> = recorded.iter().filter(|c| done(&c.variant) && c.fingerprint.is_some()).map(|c| c.variant.clone()).collect();
        let mut per_round = Vec::new();
        for round in 0..2 {
            let list = if round == 0 {
                first_round(&self.space, density, &tried, self.max_candidates)
            } else {
                timed.sort_by(|a, b| a.1.total_cmp(&b.1));
                let ranked: Vec<String> = timed.iter().map(|(n, _)| n.clone()).collect();
                refine_round(&self.space, density, &ranked, args.refine_top, &tried, self.max_candidates)
            };
            per_round.push(list.len());
            for (spec, fp) in list.iter().zip(self.prepare(&list, bench.esmm.device().compute_capability)) {
                let name = spec.name();
                tried.insert(name.clone());
                let fp = match fp {
                    Ok(fp) => fp,
                    Err(record) => {
                        out.push(*record);
                        continue;
                    }
                };
                let o = bench.measure(spec, args.prune, best, samples)?;
                if let (CandidateStatus::Ok, Some(t)) = (o.status, o.timing) {
                    best = best.min(t.median_ms);
                    timed.push((name.clone(), t.median_ms));
                }
                out.push(candidate(&name, o.status, Some(fp), o.timing, o.detail));
            }
        }
        Ok((out, per_round))
    }
}

/// One line of the log for a finished key: kernels tried, failures, the best kernel and its
/// ratio to the baseline.
fn key_line(label: &str, new: &[Candidate], recorded: &[Candidate], per_round: &[usize], seconds: f64) -> String {
    let baseline = dense_baseline(FAMILY, ElemType::Bf16);
    let base_ms = new.iter().chain(recorded).find(|c| c.variant == baseline).and_then(|c| c.median_ms).unwrap_or(f64::NAN);
    let kernels = || new.iter().filter(|c| c.fingerprint.is_some());
    let failed = new.iter().filter(|c| matches!(c.status, CandidateStatus::Wrong | CandidateStatus::LaunchFailed | CandidateStatus::Invalid)).count();
    let best = kernels().filter(|c| c.status == CandidateStatus::Ok).filter_map(|c| c.median_ms.map(|ms| (ms, c.variant.as_str()))).min_by(|a, b| a.0.total_cmp(&b.0));
    let (best_ms, best_name) = best.unwrap_or((f64::NAN, "none"));
    format!("{label}: {} kernels (rounds {per_round:?}), {failed} failed; best {best_name} {best_ms:.4} ms = {:.2}× {baseline} {base_ms:.4} ms; {seconds:.1} s", kernels().count(), base_ms / best_ms)
}

/// `esmm-tune sweep --family gemv` (see the module docs).
pub fn sweep(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    if args.dtype.iter().any(|d| d != "bf16") {
        return Err("family gemv sweeps bf16 only".into());
    }
    let shapes = weight_keys(&args.shapes, &args.tokens, &densities(&args.densities)?)?;
    let total_keys: usize = shapes.iter().map(|w| w.keys.len()).sum();
    let set = match args.set.as_str() {
        "sweep" => esmm_codegen::sets::sweep(),
        "shipped" => esmm_codegen::sets::shipped(),
        other => return Err(format!("unknown set {other:?}: sweep or shipped")),
    };
    let handles: Vec<Esmm> = args.devices.iter().map(|&d| crate::open_gpu(d)).collect::<Result<_>>()?;
    let first = handles[0].device().clone();
    if handles.iter().any(|h| h.device().name != first.name) {
        return Err("--devices must all be the same kind of GPU (one table per GPU kind)".into());
    }
    let nvcc = crate::compile::find_nvcc(args.nvcc.as_deref())?;
    if nvcc.release.is_empty() {
        return Err(format!("{} --version names no release; measurements could not be fingerprinted", nvcc.path.display()));
    }
    // Current fingerprints of the whole space (for --resume); one that does not render is
    // recorded `invalid` under every key.
    let (mut renderable, mut fingerprints, mut unrenderable) = (Vec::new(), HashMap::new(), Vec::new());
    for s in space(&set, &args.filter) {
        let fp = registry_fingerprint(&s.name()).map(Ok).unwrap_or_else(|| esmm_codegen::source_hash(&KernelSpec::Gemv(s)).map(|h| Fingerprint::new(h, &nvcc.release)));
        match fp {
            Ok(fp) => {
                fingerprints.insert(s.name(), fp);
                renderable.push(s);
            }
            Err(why) => unrenderable.push(candidate(&s.name(), CandidateStatus::Invalid, None, None, Some(format!("did not render: {why}")))),
        }
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("tune/tables/{}.json", gpu_slug(&first.name))));
    let all_keys: Vec<TableKey> = shapes.iter().flat_map(|w| w.keys.iter().map(|&(m, d)| key(w.dims(m), d))).collect();
    let mut table = open_table(&args, &out, &first, &nvcc.release, &|k| all_keys.contains(k))?;
    for k in &all_keys {
        for c in &unrenderable {
            table.record(k.clone(), c.clone());
        }
    }
    let max_candidates = args.max_candidates.unwrap_or(MAX_CANDIDATES);
    eprintln!(
        "gemv sweep: {total_keys} keys over {} weight shapes on {} GPU(s); {} candidates in the {} set, at most {max_candidates} per key (refine top {}); compiling on demand with {} (CUDA {})",
        shapes.len(),
        handles.len(),
        renderable.len(),
        args.set,
        args.refine_top,
        nvcc.path.display(),
        nvcc.release
    );
    let names: Vec<String> = fingerprints.keys().cloned().collect();
    let deadline = args.budget_minutes.map(|m| started + Duration::from_secs_f64(m * 60.0));
    let sweep = Sweep { args: &args, handles: &handles, space: renderable, fingerprints, names, max_candidates, nvcc, compiles: Mutex::new(Compiles::default()), deadline };
    let pb = ProgressBar::new(total_keys as u64);
    pb.set_style(ProgressStyle::with_template("sweeping gemv {bar:40} {pos}/{len} keys [{elapsed_precise} < {eta}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let table = Mutex::new(table);
    let next = AtomicUsize::new(0);
    let (pairs, skipped) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let report = |e: String| errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    std::thread::scope(|s| {
        for h in &handles {
            let (sweep, shapes, table, next, pb, pairs, skipped, report, out) = (&sweep, &shapes, &table, &next, &pb, &pairs, &skipped, &report, &out);
            s.spawn(move || {
                while let Some(w) = shapes.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let expired = || sweep.deadline.is_some_and(|dl| Instant::now() > dl);
                    if expired() {
                        skipped.fetch_add(w.keys.len(), Ordering::Relaxed);
                        pb.inc(w.keys.len() as u64);
                        continue;
                    }
                    pb.set_message(format!("uploading {}x{} weights", w.k, w.n));
                    let uploaded = h.context().new_stream().map_err(msg("creating a stream")).and_then(|st| WeightBench::upload(h, &st, w, sweep.args.seed).map(|wb| (st, wb)));
                    let (stream, weights) = match uploaded {
                        Ok(x) => x,
                        Err(e) => {
                            report(format!("weights {}x{}: {e}", w.k, w.n));
                            pb.inc(w.keys.len() as u64);
                            continue;
                        }
                    };
                    for &(m, density) in &w.keys {
                        if expired() {
                            skipped.fetch_add(1, Ordering::Relaxed);
                            pb.inc(1);
                            continue;
                        }
                        let label = format!("{m}x{}x{} d={density}", w.n, w.k);
                        pb.set_message(label.clone());
                        let key = key(w.dims(m), density);
                        let (current, recorded): (HashSet<String>, Vec<Candidate>) = if sweep.args.resume {
                            let tb = table.lock().unwrap_or_else(|p| p.into_inner());
                            let recorded = tb.entries.iter().filter(|e| e.key == key).flat_map(|e| e.candidates.clone()).collect();
                            (current_under(&tb, &key, &sweep.fingerprints, &sweep.names).0, recorded)
                        } else {
                            (HashSet::new(), Vec::new())
                        };
                        let done = |n: &str| current.contains(n);
                        let t0 = Instant::now();
                        let result = KeyBench::new(h, &stream, &weights, m, density, sweep.args.seed).and_then(|mut kb| sweep.key(&mut kb, density, &done, &recorded));
                        match result {
                            Ok((cands, per_round)) => {
                                pairs.fetch_add(cands.iter().filter(|c| c.fingerprint.is_some()).count(), Ordering::Relaxed);
                                pb.println(key_line(&label, &cands, &recorded, &per_round, t0.elapsed().as_secs_f64()));
                                let mut tb = table.lock().unwrap_or_else(|p| p.into_inner());
                                for c in cands {
                                    tb.record(key.clone(), c);
                                }
                                if let Err(e) = save_table(out, &tb) {
                                    report(e);
                                }
                            }
                            Err(e) => report(format!("{label}: {e}")),
                        }
                        pb.inc(1);
                    }
                }
            });
        }
    });
    pb.finish_and_clear();
    let table = table.into_inner().unwrap_or_else(|p| p.into_inner());
    save_table(&out, &table)?;
    for e in errors.into_inner().unwrap_or_else(|p| p.into_inner()) {
        eprintln!("warning: key skipped: {e}");
    }
    let skipped = skipped.into_inner();
    if skipped > 0 {
        eprintln!("budget: {skipped} keys not started (--budget-minutes); `--resume` continues");
    }
    let c = sweep.compiles.into_inner().unwrap_or_else(|p| p.into_inner());
    eprintln!(
        "gemv sweep: {} keys, {} (key, kernel) records; {} variants compiled in {:.1} s; total {:.1?}; table {}",
        total_keys - skipped,
        pairs.into_inner(),
        c.count,
        c.seconds,
        started.elapsed(),
        out.display()
    );
    print_summary(&table);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep_space() -> Vec<GemvSpec> {
        space(&esmm_codegen::sets::sweep(), &[])
    }

    fn names(v: &[GemvSpec]) -> Vec<String> {
        v.iter().map(GemvSpec::name).collect()
    }

    #[test]
    fn default_keys_cover_the_decode_shapes() {
        let shapes = weight_keys(&[], &[], &densities(&[]).unwrap()).unwrap();
        assert_eq!(shapes.iter().map(|w| (w.k, w.n)).collect::<Vec<_>>(), [(4096, 4096), (4096, 11008), (11008, 4096), (8192, 28672), (3072, 8192), (8192, 3072)]);
        assert!(shapes.iter().all(|w| w.keys.len() == 3 * 5 && w.needs_nk()));
        let keys: Vec<TableKey> = shapes.iter().flat_map(|w| w.keys.iter().map(|&(m, d)| key(w.dims(m), d))).collect();
        assert_eq!(keys.len(), 90);
        assert!(keys.iter().all(|k| (k.family, k.dtype, k.activation) == (Family::Gemv, ElemType::Bf16, Activation::None)));
        // y[M×N] = x[M×K]·W: the 4096×11008 weight (K × N) is N = 11008 outputs of K = 4096 inputs.
        let k = &keys[15];
        assert_eq!((k.m, k.n, k.k, k.density), (1, 11008, 4096, 1.0));
        assert_eq!((keys[0].m, keys[0].n, keys[0].k, keys[0].density), (1, 4096, 4096, 1.0), "the most common call first");
        for m in [1, 4, 16] {
            for d in DENSITIES {
                assert!(keys.contains(&key(Dims::new(m, 28672, 8192), d)), "M = {m}, density {d}");
            }
        }
    }

    #[test]
    fn explicit_shapes_tokens_and_densities() {
        let d = densities(&[0.3, 0.25, 1.0]).unwrap();
        assert_eq!(d, [0.25, 1.0], "snapped to buckets, once each");
        assert!(densities(&[1.5]).is_err());
        let shapes = weight_keys(&["4x4096x2048".into(), "16x4096x2048".into(), "1x1024x512".into()], &[8], &[0.5]).unwrap();
        assert_eq!(shapes.len(), 2, "keys of one weight share its upload");
        assert_eq!(shapes[0], WeightKeys { k: 2048, n: 4096, keys: vec![(4, 0.5), (16, 0.5)] });
        assert!(!shapes[0].needs_nk());
        let tokens = weight_keys(&[], &[2], &[1.0]).unwrap();
        assert!(tokens.iter().all(|w| w.keys == [(2, 1.0)]));
        assert!(weight_keys(&["17x4096x4096".into()], &[], &[1.0]).unwrap_err().contains("1..=16"));
        assert!(weight_keys(&["1x4100x4096".into()], &[], &[1.0]).unwrap_err().contains("multiple of 8"));
        assert_eq!(key(Dims::new(1, 8, 8), 0.3).density, 0.25);
    }

    #[test]
    fn the_space_holds_the_defaults_and_only_plain_bf16_kernels() {
        let s = sweep_space();
        for d in DEFAULTS {
            assert!(s.contains(&d), "{}", d.name());
        }
        assert!(s.iter().all(|x| x.dtype == ElemType::Bf16 && x.out == ElemType::Bf16 && x.activation == Activation::None && !x.gated));
        let kinds: HashSet<Kind> = s.iter().map(kind).collect();
        assert_eq!(kinds.len(), 3);
        assert!((250..=600).contains(&s.len()), "{} candidates", s.len());
        assert_eq!(names(&s).into_iter().collect::<HashSet<_>>().len(), s.len(), "no name twice");
        // The shipped set gives at least the defaults; a filter narrows the space.
        assert!(space(&esmm_codegen::sets::shipped(), &[]).len() >= DEFAULTS.len());
        let nk = space(&esmm_codegen::sets::sweep(), &["_nk_".into()]);
        assert!(!nk.is_empty() && nk.iter().all(|x| x.layout == GemvLayout::Nk), "{:?}", names(&nk));
    }

    #[test]
    fn the_first_round_starts_with_the_defaults_and_spreads_over_every_tile() {
        let s = sweep_space();
        let none = HashSet::new();
        let dense = first_round(&s, 1.0, &none, usize::MAX);
        assert_eq!(dense[..3], DEFAULTS);
        let tiles = |v: &[GemvSpec]| v.iter().map(|x| (kind(x), x.block, x.kw)).collect::<HashSet<_>>();
        assert_eq!(tiles(&dense), tiles(&s), "every (kind, block, kw), NK_DENSE's block 16 included");
        assert_eq!(dense.len(), tiles(&s).len(), "each once");
        let sparse = first_round(&s, 0.5, &none, usize::MAX);
        assert_eq!(sparse[..2], [KN_INPUT, KN_DENSE]);
        assert!(sparse.iter().all(|x| x.layout == GemvLayout::Kn), "nk calls never skip inputs");
        // Spread members sit at their kind's default unroll and cache.
        assert!(dense.iter().all(|x| distance(x).1 == 0));
        // A small cap keeps the defaults and alternates the kinds.
        let capped = first_round(&s, 1.0, &none, 9);
        assert_eq!(capped.len(), 9);
        assert_eq!(capped[..3], DEFAULTS);
        let kinds: Vec<Kind> = capped[3..].iter().map(kind).collect();
        assert_eq!(kinds[..3], DEFAULTS.map(|d| kind(&d)));
        // What was tried before counts against the cap and is not repeated.
        let tried: HashSet<String> = names(&capped[..5]).into_iter().collect();
        let more = first_round(&s, 1.0, &tried, 9);
        assert_eq!(more.len(), 4);
        assert!(more.iter().all(|x| !tried.contains(&x.name())));
        assert_eq!(first_round(&s, 1.0, &tried, 3), vec![]);
    }

    #[test]
    fn refinement_takes_one_axis_neighbours_of_the_fastest() {
        let s = sweep_space();
        let n = neighbours(&KN_INPUT, &s);
        assert!(!n.is_empty() && n.len() <= 2 + 3 + 2 + 2, "{}", n.len());
        let axes = |x: &GemvSpec| [x.block, x.kw, x.unroll, x.cache];
        for y in &n {
            assert_eq!(kind(y), kind(&KN_INPUT));
            assert_eq!(axes(y).iter().zip(axes(&KN_INPUT)).filter(|(a, b)| **a != *b).count(), 1, "{}", y.name());
        }
        let tried: HashSet<String> = names(&first_round(&s, 0.5, &HashSet::new(), usize::MAX)).into_iter().collect();
        let ranked = vec!["cublas_bf16".to_string(), KN_INPUT.name(), KN_DENSE.name()];
        let r = refine_round(&s, 0.5, &ranked, 1, &tried, usize::MAX);
        assert!(!r.is_empty());
        assert!(r.iter().all(|y| n.contains(y) && !tried.contains(&y.name())), "neighbours of the fastest kernel only");
        let two = refine_round(&s, 0.5, &ranked, 2, &tried, usize::MAX);
        assert!(two.len() > r.len() && two.iter().any(|y| kind(y) == kind(&KN_DENSE)));
        assert_eq!(refine_round(&s, 0.5, &ranked, 0, &tried, usize::MAX), vec![], "--refine-top 0 skips the round");
        assert_eq!(refine_round(&s, 0.5, &ranked, 2, &tried, tried.len() + 2).len(), 2, "capped");
        // An nk winner's neighbours are not timed at a sparse key.
        let nk = vec![NK_DENSE.name()];
        assert!(refine_round(&s, 0.5, &nk, 1, &HashSet::new(), usize::MAX).is_empty());
        assert!(!refine_round(&s, 1.0, &nk, 1, &HashSet::new(), usize::MAX).is_empty());
    }

    /// Bad arguments are refused before any GPU or nvcc is touched.
    #[test]
    fn bad_arguments_fail_without_a_gpu() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: SweepArgs,
        }
        let run = |extra: &[&str]| {
            let argv = ["esmm-tune", "--family", "gemv"].iter().chain(extra).copied();
            sweep(<Cli as clap::Parser>::try_parse_from(argv).unwrap().args).unwrap_err()
        };
        assert!(run(&["--densities", "1.5"]).contains("[0, 1]"));
        assert!(run(&["--tokens", "32"]).contains("1..=16"));
        assert!(run(&["--shapes", "1x4100x4096"]).contains("multiple of 8"));
        assert!(run(&["--dtype", "f16"]).contains("bf16 only"));
        assert!(run(&["--set", "nope"]).contains("unknown set"));
    }

    #[test]
    fn sparse_keys_rotate_more_copies() {
        use crate::bench::gemv::copies_for_l2;
        let (l2, mib) = (50 << 20, 1 << 20);
        let w = WeightKeys { k: 4096, n: 4096, keys: vec![(1, 1.0), (4, 0.125)] };
        let bytes = w.k * w.n * 2;
        assert_eq!(copies_for_l2(l2, bytes, 1.0), 4, "32 MiB copies: 128 MiB ≥ twice the L2");
        assert_eq!(copies_for_l2(l2, bytes, w.min_density()), 25, "4 MiB read per call");
        assert_eq!(copies_for_l2(l2, 8192 * 28672 * 2, 0.125), 2, "at least 2");
        assert_eq!(copies_for_l2(l2, 64 * mib, 0.001), 64, "at most 4 GiB of copies");
    }

    #[test]
    fn activations_have_exactly_the_union_density() {
        let (m, k) = (4, 1000);
        let mut rng = StdRng::seed_from_u64(3);
        let x = union_activations(m, k, 0.25, &mut rng);
        let active: Vec<usize> = (0..k).filter(|&c| (0..m).any(|t| x[t * k + c] != bf16::ZERO)).collect();
        assert_eq!(active.len(), 250);
        assert!(active.iter().all(|&c| (0..m).all(|t| x[t * k + c] != bf16::ZERO)), "every token nonzero on the active inputs");
        assert!(active.last().unwrap() - active[0] > k / 2, "spread over the inputs");
        assert_eq!(union_activations(m, k, 0.25, &mut StdRng::seed_from_u64(3)), x, "seeded");
        assert!(union_activations(1, k, 1.0, &mut rng).iter().all(|v| *v != bf16::ZERO));
        assert_eq!(union_activations(2, 10, 0.0, &mut rng).iter().filter(|v| **v != bf16::ZERO).count(), 2, "at least one input");
    }
}
