//! Adaptive dispatch: per call, choose between the sparse variants and the dense path
//! (cuBLAS SGEMM) from what is known cheaply:
//!
//! - the B density of a [`crate::PreparedB`] (measured once, when the weights are prepared), or,
//!   without one, the B density observed like A's below (from the B pattern the kernel extracted);
//! - the A density observed on the previous call of the same [`Layer`] (the pattern the sparse
//!   kernel extracted anyway is copied back asynchronously, every [`PROBE_EVERY`] calls, and
//!   counted on a later call; on the dense path a cheap A-pattern probe takes its place, so the
//!   layer notices when its activations become sparse again);
//! - the tuned table of this GPU ([`crate::tuned`]), which ranks every candidate, cuBLAS
//!   included, per shape and density.
//!
//! Without a table the heuristic is: estimated density ≥ [`DENSE_THRESHOLD`] → cuBLAS, else
//! the default sparse variant. With no density information at all (no prepared B, no layer
//! history) the default sparse variant runs: its fused pattern extraction is what produces the
//! first observation.

use super::policy::{choose_variant, spec_mismatch, Request};
use super::registry;
use super::tuned::{dense_baseline, TunedTable};
use esmm_spec::{Activation, KernelSpec, RegistryEntry};
use std::sync::Mutex;

/// A layer observes its densities on call 1 and then at least once every this many calls while
/// they move or after the path changed (a pattern readback on the sparse path, a pattern-A probe
/// on the dense path).
pub const PROBE_EVERY: u64 = 8;

/// While observations stay in the same density bucket the interval doubles after each one (a
/// readback or probe costs a copy and an event, a few µs of host time) up to this many calls,
/// so a steady layer pays almost nothing per call; a bucket change or a switch between the
/// sparse and the dense path resets it to [`PROBE_EVERY`].
pub const PROBE_EVERY_MAX: u64 = 256;

/// Finished readbacks are looked for on every this many calls (an event query each).
pub const POLL_EVERY: u64 = 4;

/// Without a tuned table, at or above this estimated density the dense path runs (on the H200
/// the default sparse kernels beat cuBLAS at 50% density and lose at 75%, docs/KERNELS.md).
pub const DENSE_THRESHOLD: f64 = 0.7;

/// Without a table verdict, problems with fewer 128×128 tiles of C than this run cuBLAS: they
/// cannot fill the GPU with tiles, and cuBLAS splits K where the sparse kernels walk all of K
/// per tile (H200: M = 128, N = K = 4096 took 0.19 ms sparse at 50% density vs 0.10 ms cuBLAS;
/// M = 512 took 0.19 ms vs 0.38 ms).
pub const SMALL_PROBLEM_TILES: u64 = 64;

fn is_small(m: u64, n: u64) -> bool {
    m.div_ceil(128) * n.div_ceil(128) < SMALL_PROBLEM_TILES
}

/// One candidate of a plan, best first.
#[derive(Clone, Copy, Debug)]
pub enum Plan {
    /// The dense library baseline (cuBLAS SGEMM for esmm; activation none, no column counts).
    Cublas,
    /// A generated variant.
    Variant(&'static RegistryEntry),
}

impl PartialEq for Plan {
    fn eq(&self, other: &Plan) -> bool {
        match (self, other) {
            (Plan::Cublas, Plan::Cublas) => true,
            (Plan::Variant(a), Plan::Variant(b)) => a.name == b.name,
            _ => false,
        }
    }
}

/// Per-layer dispatch state (one per GEMM call site, e.g. one per FFN projection). Cheap;
/// `Send + Sync`; pass it in [`crate::MatmulOptions::layer`] on every call of that layer.
#[derive(Default)]
pub struct Layer {
    pub(crate) state: Mutex<LayerState>,
}

/// Which operand's pattern a readback holds (an index into [`LayerState`]'s arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    /// The activations A.
    A = 0,
    /// The weights B (observed when the kernel extracted B's pattern itself, i.e. no PreparedB).
    B = 1,
}

/// What a layer remembers between calls, per operand (indexed by [`Operand`]).
#[derive(Default)]
pub(crate) struct LayerState {
    /// Density (fraction of set pattern bits) seen on an earlier call.
    pub(crate) observed: [Option<f64>; 2],
    /// Calls made through this layer.
    pub(crate) calls: u64,
    /// The call number of the next observation (0: the first call).
    pub(crate) next_probe: u64,
    /// Calls between observations on the current path.
    pub(crate) interval: u64,
    /// Whether the last call ran the dense path.
    pub(crate) last_dense: bool,
    /// Whether the last observation landed in the same density bucket as the one before.
    pub(crate) stable: bool,
    /// Pinned host memory each pattern is copied into (reused; grown when needed).
    pub(crate) host: [Option<cudarc::driver::PinnedHostSlice<u32>>; 2],
    /// Readbacks in flight.
    pub(crate) pending: [Option<PendingReadback>; 2],
}

/// An asynchronous copy of a pattern into [`LayerState::host`].
pub(crate) struct PendingReadback {
    pub(crate) done: cudarc::driver::CudaEvent,
    /// Pattern bits that could be set: row (or column) blocks × K.
    pub(crate) bits: u64,
    /// Words to count.
    pub(crate) words: usize,
}

impl Layer {
    /// A layer with no history.
    pub fn new() -> Layer {
        Layer::default()
    }

    /// The A density observed so far (None before the first observation lands).
    pub fn observed_a_density(&self) -> Option<f64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.poll();
        s.observed[Operand::A as usize]
    }

    /// The B density observed so far (only calls without a PreparedB extract B's pattern).
    pub fn observed_b_density(&self) -> Option<f64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.poll();
        s.observed[Operand::B as usize]
    }
}

impl LayerState {
    /// A copy of the probe counters (tests).
    #[cfg(test)]
    fn clone_counters(&self) -> LayerState {
        LayerState { calls: self.calls, next_probe: self.next_probe, interval: self.interval, last_dense: self.last_dense, stable: self.stable, ..Default::default() }
    }

    /// Counts the call; whether it should observe densities: call 1, within [`PROBE_EVERY`]
    /// calls of a switch between the sparse and the dense path, then at intervals that double
    /// (up to [`PROBE_EVERY_MAX`]) while observations stay in one density bucket and fall back to
    /// [`PROBE_EVERY`] when they move.
    pub(crate) fn count_call(&mut self, dense_path: bool) -> bool {
        self.calls += 1;
        if dense_path != self.last_dense {
            self.last_dense = dense_path;
            self.interval = PROBE_EVERY;
            self.next_probe = self.next_probe.min(self.calls + PROBE_EVERY - 1);
        }
        if self.calls < self.next_probe {
            return false;
        }
        self.interval = if self.stable { (self.interval * 2).clamp(PROBE_EVERY, PROBE_EVERY_MAX) } else { PROBE_EVERY };
        self.next_probe = self.calls + self.interval;
        true
    }

    /// [`LayerState::poll`] on every [`POLL_EVERY`]th call (the hot path's version).
    pub(crate) fn poll_if_due(&mut self) {
        if self.calls % POLL_EVERY == 0 {
            self.poll();
        }
    }

    /// Records an observation of operand `i` and whether it stayed in its density bucket.
    pub(crate) fn observe(&mut self, i: usize, density: f64) {
        let bucket = esmm_spec::tuned::density_bucket;
        self.stable = self.observed[i].is_some_and(|old| bucket(old) == bucket(density));
        self.observed[i] = Some(density);
        if !self.stable {
            // It moved: look again soon, whatever interval was in force.
            self.interval = PROBE_EVERY;
            self.next_probe = self.next_probe.min(self.calls + PROBE_EVERY);
        }
    }

    /// Folds finished readbacks into `observed` (never waits).
    pub(crate) fn poll(&mut self) {
        for op in [Operand::A, Operand::B] {
            let i = op as usize;
            if !self.pending[i].as_ref().is_some_and(|p| p.done.is_complete()) {
                continue;
            }
            let p = self.pending[i].take().expect("checked above");
            if let Some(Ok(words)) = self.host[i].as_ref().map(|h| h.as_slice()) {
                let set: u64 = words.iter().take(p.words).map(|w| u64::from(w.count_ones())).sum();
                if p.bits > 0 {
                    self.observe(i, (set as f64 / p.bits as f64).clamp(0.0, 1.0));
                }
            }
        }
    }
}

/// The density a tuned-table key stands for, from per-operand estimates: keys measure both
/// operands at density d (joint element density d²), so the geometric mean maps an
/// asymmetric pair to the key with the same joint density. None when nothing is known.
pub fn combined_density(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some((a.unwrap_or(1.0) * b.unwrap_or(1.0)).sqrt()),
    }
}

/// Without a table verdict: whether the dense library path should run. esmm and tc: an
/// estimated density of at least [`DENSE_THRESHOLD`], or a problem too small to fill the GPU
/// with tiles. gemv: every dense call (the H200's measured dense gemv kernels reach 0.83–0.95×
/// of cuBLAS, bench/results/2026-11-22-gemv) and input-sparse calls whose inputs are known to be
/// at least [`GEMV_DENSE_THRESHOLD`] dense; with nothing known the input-sparse kernel runs,
/// and its pattern is the first observation.
fn heuristic_prefers_cublas(req: &Request, density: Option<f64>) -> bool {
    match req.gemv {
        Some(g) => g.sparsity == esmm_spec::GemvSparsity::Dense || density.is_some_and(|d| d >= GEMV_DENSE_THRESHOLD),
        None => density.is_some_and(|d| d >= DENSE_THRESHOLD) || is_small(req.dims.m as u64, req.dims.n as u64),
    }
}

/// Family gemv without a table: at or above this fraction of active inputs cuBLAS runs (H200,
/// 4096×11008 and 8192×28672 at M = 1: the input-sparse kernel is 1.37× cuBLAS at 50% and
/// about 0.9× when every input is active).
pub const GEMV_DENSE_THRESHOLD: f64 = 0.75;

/// The registry entry with the tile of `name` and the epilogue of `req`, if it can serve `req`
/// (planning only: it parses and builds names).
fn same_tile_for(name: &str, req: &Request, extra: &dyn Fn(&str) -> Option<&'static RegistryEntry>) -> Option<&'static RegistryEntry> {
    let want = KernelSpec::from_name(name).ok()?.with_epilogue(req.epilogue).name();
    let entry = registry::entry(&want).or_else(|| extra(&want))?;
    spec_mismatch(entry, req).is_none().then_some(entry)
}

/// Ranks what to run for `req`, best first. `density` is [`combined_density`]; `extra` resolves
/// variants registered at run time (the tuner's); `cublas` says whether cuBLAS can be used.
pub fn plan(
    table: Option<&TunedTable>,
    req: &Request,
    density: Option<f64>,
    cublas: bool,
    extra: &dyn Fn(&str) -> Option<&'static RegistryEntry>,
) -> Vec<Plan> {
    // Family rans and gemv's list and gated calls have no library equivalent (compressed or
    // INT8 weights, index lists); gemv's dense and input-sparse calls do (a cuBLAS GEMM).
    let cublas_ok = cublas
        && req.epilogue.activation == Activation::None
        && !req.epilogue.col_nnz
        && match req.family {
            esmm_spec::Family::Rans => false,
            // cublasGemmEx writes a 16-bit input's own type or f32, not the other 16-bit type.
            esmm_spec::Family::Gemv => req.gemv.is_some_and(|g| g.has_library_path()) && (req.out == req.dtype || req.out == esmm_spec::ElemType::F32),
            _ => true,
        };
    let mut out = Vec::new();
    let (m, n, k) = (req.dims.m as u64, req.dims.n as u64, req.dims.k as u64);
    // The nearest measured key decides, except that a problem too small to fill the GPU never
    // borrows the verdict of a larger measured one (H200: the 512-row winner, a sparse kernel,
    // ran at 0.52x of cuBLAS at M = 128); smaller or equal measured problems are evidence.
    let entry = match (table, density) {
        (Some(table), Some(d)) => table.nearest(req.family, req.dtype, req.epilogue.activation, m, n, k, d),
        _ => None,
    };
    let entry = entry.filter(|e| !is_small(m, n) || e.key.m.saturating_mul(e.key.n) <= m.saturating_mul(n));
    let ranked = entry.map(|e| e.ranked()).unwrap_or_default();
    if !ranked.is_empty() {
        for c in ranked {
            if c.variant == dense_baseline(req.family, req.dtype) {
                if cublas_ok {
                    out.push(Plan::Cublas);
                }
            } else if let Some(e) = same_tile_for(&c.variant, req, extra) {
                if !out.contains(&Plan::Variant(e)) {
                    out.push(Plan::Variant(e));
                }
            }
        }
    } else if cublas_ok && heuristic_prefers_cublas(req, density) {
        out.push(Plan::Cublas);
    }
    if let Ok(e) = choose_variant(req) {
        if !out.contains(&Plan::Variant(e)) {
            out.push(Plan::Variant(e));
        }
    }
    // Last resort: a call no variant serves (a type pair without kernels, no kernel for this
    // GPU) runs the dense library path when it can.
    if cublas_ok && !out.contains(&Plan::Cublas) {
        out.push(Plan::Cublas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::registry::REGISTRY;
    use crate::dispatch::tuned::{Candidate, CandidateStatus, GpuInfo, TableKey, CUBLAS_SGEMM, SCHEMA_VERSION};
    use crate::Dims;
    use esmm_spec::{ElemType, Epilogue, Family};

    fn req(activation: Activation, col_nnz: bool) -> Request {
        Request {
            family: Family::Esmm,
            dtype: ElemType::F32,
            out: ElemType::F32,
            dims: Dims::new(4096, 4096, 4096),
            epilogue: Epilogue { activation, col_nnz },
            prepared_b: false,
            arch: None,
            gemv: None,
            rans: None,
        }
    }

    fn table(winner_sparse: &str) -> TunedTable {
        let mut t = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "T".into(), slug: "t".into(), compute_capability: 90, sm_count: 132, driver_version: String::new(), cuda_version: String::new() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        };
        let ok = |v: &str, ms| Candidate { variant: v.into(), status: CandidateStatus::Ok, fingerprint: None, median_ms: Some(ms), p20_ms: None, p80_ms: None, samples: 5, detail: None };
        let key = |d| TableKey { family: Family::Esmm, dtype: ElemType::F32, activation: Activation::None, m: 4096, n: 4096, k: 4096, density: d };
        t.record(key(1.0), ok(CUBLAS_SGEMM, 2.7));
        t.record(key(1.0), ok(winner_sparse, 3.5));
        t.record(key(0.5), ok(CUBLAS_SGEMM, 2.7));
        t.record(key(0.5), ok(winner_sparse, 1.0));
        t
    }

    #[test]
    fn density_combination() {
        assert_eq!(combined_density(None, None), None);
        assert_eq!(combined_density(Some(0.25), None), Some(0.5));
        assert_eq!(combined_density(Some(0.25), Some(1.0)), Some(0.5));
        assert!((combined_density(Some(0.5), Some(0.5)).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn table_winner_then_fallbacks() {
        let Some(sparse) = REGISTRY.iter().find(|e| e.spec.epilogue() == Epilogue::NONE && e.spec.as_esmm().is_some_and(|s| s.preprocess == esmm_spec::Preprocess::Fused)) else {
            return; // no generated kernels in this build
        };
        let t = table(sparse.name);
        let none = |_: &str| None;
        // Dense: cuBLAS first.
        let p = plan(Some(&t), &req(Activation::None, false), Some(1.0), true, &none);
        assert_eq!(p[0], Plan::Cublas);
        assert_eq!(p[1], Plan::Variant(sparse));
        // Sparse: the table's winner first.
        let p = plan(Some(&t), &req(Activation::None, false), Some(0.5), true, &none);
        assert_eq!(p[0], Plan::Variant(sparse));
        // cuBLAS cannot apply an activation: the same tile with the ReLU epilogue instead.
        let p = plan(Some(&t), &req(Activation::Relu, false), Some(1.0), true, &none);
        assert!(p.iter().all(|x| *x != Plan::Cublas));
        if let Plan::Variant(e) = p[0] {
            assert_eq!(e.spec.epilogue().activation, Activation::Relu);
        }
        // No cuBLAS library: never planned.
        assert!(!plan(Some(&t), &req(Activation::None, false), Some(1.0), false, &none).contains(&Plan::Cublas));
        // No table: heuristic threshold.
        assert_eq!(plan(None, &req(Activation::None, false), Some(0.75), true, &none)[0], Plan::Cublas);
        assert_ne!(plan(None, &req(Activation::None, false), Some(0.5), true, &none)[0], Plan::Cublas);
        assert_ne!(plan(None, &req(Activation::None, false), None, true, &none)[0], Plan::Cublas);
        // Small problems (few tiles) go to cuBLAS whatever the density, table or not, unless the
        // table measured a nearby shape.
        let small = Request { dims: Dims::new(16, 4096, 4096), ..req(Activation::None, false) };
        assert_eq!(plan(None, &small, Some(0.125), true, &none)[0], Plan::Cublas);
        assert_eq!(plan(Some(&t), &small, Some(0.5), true, &none)[0], Plan::Cublas);
        let mid = Request { dims: Dims::new(512, 4096, 4096), ..req(Activation::None, false) };
        assert_ne!(plan(None, &mid, Some(0.5), true, &none)[0], Plan::Cublas);
        // A small problem never borrows a larger measured key's sparse verdict ...
        let mut t512 = t.clone();
        for e in &mut t512.entries {
            e.key.m = 512;
        }
        let m128 = Request { dims: Dims::new(128, 4096, 4096), ..req(Activation::None, false) };
        assert_eq!(plan(Some(&t512), &m128, Some(0.5), true, &none)[0], Plan::Cublas);
        // ... but a large one does (512 rows fill the GPU: 128 tiles).
        assert_eq!(plan(Some(&t512), &mid, Some(0.5), true, &none)[0], Plan::Variant(sparse));
    }

    #[test]
    fn corrupted_or_foreign_winner_names_fall_back() {
        let t = table("esmm_not_a_real_variant");
        let p = plan(Some(&t), &req(Activation::None, false), Some(0.5), true, &|_| None);
        // The unknown name is skipped; cuBLAS (ranked next) and the static default remain.
        assert_eq!(p.first(), Some(&Plan::Cublas));
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;

    #[test]
    fn probes_back_off_while_steady_and_reset_on_change() {
        let mut s = LayerState::default();
        // Each observation lands before the next call (as a finished readback would);
        // `density(j)` is what the j-th observation of the run sees.
        let run = |s: &mut LayerState, dense: bool, calls: u64, density: &dyn Fn(usize) -> f64| {
            let mut seen = 0;
            for _ in 0..calls {
                if s.count_call(dense) {
                    s.observe(0, density(seen));
                    seen += 1;
                }
            }
            seen
        };
        // Steady sparse layer: call 1, then intervals 8, 16, 32, ... 256: few observations.
        let steady = run(&mut s, false, 2000, &|_| 0.25);
        assert!((8..=14).contains(&steady), "{steady}");
        // A density that moves between buckets at every observation: one every PROBE_EVERY calls
        // (after the steady interval in force runs out).
        let moving = run(&mut s, false, 1024, &|j| if j % 2 == 0 { 0.5 } else { 0.125 });
        assert!(moving >= (1024 - 256) / PROBE_EVERY as usize, "{moving}");
        // A switch to the dense path observes within PROBE_EVERY calls.
        let mut t = s.clone_counters();
        assert_eq!((0..PROBE_EVERY).filter(|_| t.count_call(true)).count(), 1);
    }
}
