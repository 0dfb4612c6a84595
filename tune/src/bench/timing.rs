//! GPU timing primitives shared by `esmm-tune bench` and `esmm-tune sweep`: device-resident
//! problems (with input rotation when they fit in L2), event-timed runs, wall-clock host timing
//! of enqueues, and correctness checks.

use crate::{msg, Result};
use esmm::cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::reference::{gemm_f64, rel_frobenius_error};
use esmm::workload::Workload;
use esmm::{Activation, BaselineMath, Dims, Esmm, MatmulOptions, PreparedB};
use std::sync::Arc;
use std::time::Instant;

/// Summary of repeated timings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Median, milliseconds.
    pub median_ms: f64,
    /// 20th percentile, milliseconds.
    pub p20_ms: f64,
    /// 80th percentile, milliseconds.
    pub p80_ms: f64,
    /// Timed runs.
    pub samples: u32,
}

impl Timing {
    /// Summarises samples (milliseconds); None when empty.
    pub fn from_samples(mut v: Vec<f64>) -> Option<Timing> {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Some(Timing { median_ms: q(0.5), p20_ms: q(0.2), p80_ms: q(0.8), samples: v.len() as u32 })
    }
}

/// A problem resident on the GPU: one or more copies of A and B (rotated between runs so
/// that repeated runs do not measure L2 hits), one C, an optional prepared B per copy.
pub struct DeviceProblem {
    /// Shape.
    pub dims: Dims,
    /// The host problem (kept for reference checks).
    pub host: Workload,
    a: Vec<CudaSlice<f32>>,
    b: Vec<CudaSlice<f32>>,
    prepared: Vec<PreparedB>,
    /// Output buffer.
    pub c: CudaSlice<f32>,
    next: usize,
    /// The layer handle default-dispatch runs go through (adaptive dispatch observes A here).
    layer: esmm::Layer,
}

/// The GPU's L2 cache size in bytes (64 MiB when the driver does not say).
pub fn l2_bytes(esmm: &Esmm) -> usize {
    esmm.context().attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE).unwrap_or(64 << 20).max(1) as usize
}

/// How many copies of the inputs to rotate through so their total exceeds twice the L2.
pub fn rotation_copies(esmm: &Esmm, bytes_per_copy: usize) -> usize {
    (2 * l2_bytes(esmm)).div_ceil(bytes_per_copy.max(1)).clamp(1, 8)
}

impl DeviceProblem {
    /// Uploads `host` (rotating copies as needed) and, when `prepare` is set, prepares B patterns.
    pub fn upload(esmm: &Esmm, stream: &Arc<CudaStream>, host: Workload, prepare: bool) -> Result<DeviceProblem> {
        let dims = Dims::new(host.m, host.n, host.k);
        let copies = rotation_copies(esmm, 4 * (host.a.len() + host.b.len()));
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut prepared = Vec::new();
        for _ in 0..copies {
            a.push(stream.clone_htod(&host.a).map_err(msg("uploading A"))?);
            let bb = stream.clone_htod(&host.b).map_err(msg("uploading B"))?;
            if prepare {
                prepared.push(esmm.prepare_b(stream, &bb, host.k, host.n).map_err(msg("preparing B"))?);
            }
            b.push(bb);
        }
        let c = stream.alloc_zeros::<f32>((host.m * host.n).max(1)).map_err(msg("allocating C"))?;
        Ok(DeviceProblem { dims, host, a, b, prepared, c, next: 0, layer: esmm::Layer::new() })
    }

    /// Index of the input copy to use next (rotating).
    fn next_copy(&mut self) -> usize {
        let i = self.next;
        self.next = (self.next + 1) % self.a.len();
        i
    }

    /// Runs one matmul on the next input copy (default dispatch goes through the problem's
    /// [`esmm::Layer`], as an inference engine's call site would).
    pub fn run(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, variant: Option<&str>, act: Activation, use_prepared: bool) -> Result<Option<&'static str>> {
        let i = self.next_copy();
        let opts = MatmulOptions {
            activation: act,
            col_nnz: None,
            variant,
            prepared_b: if use_prepared { self.prepared.get(i) } else { None },
            layer: if variant.is_none() { Some(&self.layer) } else { None },
            stage_events: None,
        };
        esmm.matmul(stream, &self.a[i], &self.b[i], &mut self.c, self.dims, opts).map_err(|e| e.to_string())
    }

    /// What default dispatch (through the problem's layer, with the prepared B of copy 0 when
    /// `use_prepared`) would run now: [`Esmm::planned`], the plan lookup alone.
    pub fn planned(&self, esmm: &Esmm, use_prepared: bool) -> Result<&'static str> {
        let opts = MatmulOptions { prepared_b: if use_prepared { self.prepared.first() } else { None }, layer: Some(&self.layer), ..Default::default() };
        esmm.planned(self.dims, &opts).map_err(|e| e.to_string())
    }

    /// Enqueues what default dispatch chose, directly: cuBLAS SGEMM for [`esmm::CUBLAS`], else
    /// the variant by name (no layer, no plan lookup).
    pub fn run_direct(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, chosen: &str, use_prepared: bool) -> Result<()> {
        if chosen == esmm::CUBLAS {
            self.run_cublas(esmm, stream, BaselineMath::Fp32)
        } else {
            self.run(esmm, stream, Some(chosen), Activation::None, use_prepared).map(|_| ())
        }
    }

    /// Times each launched stage of `variant` separately (pattern kernels and GEMM of separate
    /// variants): median over `reps` calls, in launch order.
    pub fn time_stages(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, variant: &str, prepared: bool, reps: u32) -> Result<Vec<(esmm_spec::Stage, Timing)>> {
        let mut per_stage: Vec<(esmm_spec::Stage, Vec<f64>)> = Vec::new();
        for _ in 0..reps.max(1) {
            let i = self.next_copy();
            let mut events = esmm::StageEvents::default();
            let opts = MatmulOptions {
                variant: Some(variant),
                prepared_b: if prepared { self.prepared.get(i) } else { None },
                stage_events: Some(&mut events),
                ..Default::default()
            };
            esmm.matmul(stream, &self.a[i], &self.b[i], &mut self.c, self.dims, opts).map_err(|e| e.to_string())?;
            for (j, (stage, ms)) in events.elapsed_ms().map_err(|e| e.to_string())?.into_iter().enumerate() {
                if per_stage.len() <= j {
                    per_stage.push((stage, Vec::new()));
                }
                per_stage[j].1.push(f64::from(ms));
            }
        }
        Ok(per_stage.into_iter().filter_map(|(s, v)| Timing::from_samples(v).map(|t| (s, t))).collect())
    }

    /// Fills C with NaN (all bits set) on the device, so that unwritten elements fail a check.
    pub fn poison_c(&mut self, stream: &Arc<CudaStream>) -> Result<()> {
        use esmm::cudarc::driver::DevicePtrMut;
        let (ptr, _guard) = self.c.device_ptr_mut(stream);
        // SAFETY: C holds (at least) M·N f32 elements owned by this problem.
        unsafe { esmm::cudarc::driver::result::memset_d8_async(ptr, 0xFF, self.dims.m * self.dims.n * 4, stream.cu_stream()) }
            .map_err(msg("poisoning C"))
    }

    /// Runs cuBLAS SGEMM on the next input copy.
    pub fn run_cublas(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, math: BaselineMath) -> Result<()> {
        let i = self.next_copy();
        esmm.cublas_sgemm(stream, &self.a[i], &self.b[i], &mut self.c, self.dims, math).map_err(|e| e.to_string())
    }

    /// Times `prepare_b` (the B-pattern extraction) on copy 0.
    pub fn time_prepare_b(&self, esmm: &Esmm, stream: &Arc<CudaStream>, reps: u32) -> Result<Timing> {
        time_runs(stream, reps, || {
            esmm.prepare_b(stream, &self.b[0], self.dims.k, self.dims.n).map(|_| ()).map_err(|e| e.to_string())
        })
    }

    /// Checks the output of `variant` (None = default dispatch) against a reference: the f64 CPU
    /// reference for problems up to 2^31 multiply-adds, else cuBLAS FP32 on the GPU. Returns the
    /// relative Frobenius error.
    pub fn check(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, variant: Option<&str>, act: Activation, use_prepared: bool) -> Result<f64> {
        let Dims { m, n, k } = self.dims;
        self.poison_c(stream)?;
        self.next = 0;
        self.run(esmm, stream, variant, act, use_prepared)?;
        let got = stream.clone_dtoh(&self.c).map_err(msg("downloading C"))?;
        let want: Vec<f64> = if (m as u128) * (n as u128) * (k as u128) <= 1 << 31 {
            gemm_f64(&self.host.a, &self.host.b, m, n, k, act)
        } else {
            if act != Activation::None {
                return Err("GPU-reference checks support activation none only".into());
            }
            self.next = 0;
            self.run_cublas(esmm, stream, BaselineMath::Fp32)?;
            stream.clone_dtoh(&self.c).map_err(msg("downloading C"))?.into_iter().map(f64::from).collect()
        };
        self.next = 0;
        Ok(rel_frobenius_error(&got, &want))
    }
}

/// Times `f` with CUDA events on `stream`: 3 warm-up runs, then `reps` timed runs (each between
/// its own pair of events); returns median and percentiles.
pub fn time_runs(stream: &Arc<CudaStream>, reps: u32, f: impl FnMut() -> Result<()>) -> Result<Timing> {
    time_runs_after(stream, 3, reps, f)
}

/// [`time_runs`] with `warmup` untimed runs first.
pub fn time_runs_after(stream: &Arc<CudaStream>, warmup: u32, reps: u32, f: impl FnMut() -> Result<()>) -> Result<Timing> {
    Timing::from_samples(sample_runs(stream, warmup, reps, f)?).ok_or_else(|| "no timing samples".to_string())
}

/// Event-timed milliseconds of `reps` runs of `f` after `warmup` untimed ones.
pub fn sample_runs(stream: &Arc<CudaStream>, warmup: u32, reps: u32, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let ctx = stream.context();
    for _ in 0..warmup {
        f()?;
    }
    stream.synchronize().map_err(msg("synchronizing after warm-up"))?;
    let mut events = Vec::with_capacity(reps as usize);
    for _ in 0..reps.max(1) {
        let start = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(msg("creating an event"))?;
        let end = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(msg("creating an event"))?;
        start.record(stream).map_err(msg("recording an event"))?;
        f()?;
        end.record(stream).map_err(msg("recording an event"))?;
        events.push((start, end));
    }
    events.iter().map(|(s, e)| s.elapsed_ms(e).map(f64::from).map_err(msg("reading an event"))).collect()
}

/// GPU times of two ways of doing the same work (`f(0)` and `f(1)`), measured alternately
/// (`rounds` blocks of `reps` event-timed runs each, after 3 warm-up runs per block) so that
/// clock and thermal drift affect both alike.
pub fn time_alternating(stream: &Arc<CudaStream>, rounds: u32, reps: u32, mut f: impl FnMut(usize) -> Result<()>) -> Result<(Timing, Timing)> {
    let (mut s0, mut s1) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        s0.extend(sample_runs(stream, 3, reps, || f(0))?);
        s1.extend(sample_runs(stream, 3, reps, || f(1))?);
    }
    let t = |v| Timing::from_samples(v).ok_or_else(|| "no timing samples".to_string());
    Ok((t(s0)?, t(s1)?))
}

/// Host wall-clock microseconds per call of enqueuing work, for `ways` ways of doing it
/// (`f(0)`, `f(1)`, ...): `batches` batches of `calls` calls per way, alternating between the
/// ways, each batch timed from its first call to the return of its last. The stream is
/// synchronized only between batches, outside the timing, so enqueues do not wait for the GPU
/// (keep `calls` × launches per call well below the launch queue's depth, ~1000). Odd rounds
/// run the ways in reverse order, so neither way always goes first after a synchronize.
/// Returns the median per-call time of each way, and the median over rounds of the paired
/// difference `way 0 − way 1` (robust to drift of the machine between rounds).
pub fn host_us_per_call(stream: &Arc<CudaStream>, batches: u32, calls: u32, ways: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<(Vec<f64>, f64)> {
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); ways];
    for round in 0..batches.max(1) {
        let order: Vec<usize> = if round % 2 == 0 { (0..ways).collect() } else { (0..ways).rev().collect() };
        for way in order {
            stream.synchronize().map_err(msg("synchronizing"))?;
            let start = Instant::now();
            for _ in 0..calls.max(1) {
                f(way)?;
            }
            per[way].push(start.elapsed().as_secs_f64() * 1e6 / f64::from(calls.max(1)));
        }
    }
    stream.synchronize().map_err(msg("synchronizing"))?;
    let diff = if ways >= 2 { median(per[0].iter().zip(&per[1]).map(|(a, b)| a - b).collect()) } else { f64::NAN };
    Ok((per.into_iter().map(median).collect(), diff))
}

/// Host wall-clock microseconds per call of `f` (no GPU work expected): the median over
/// `batches` of the mean of `calls` calls.
pub fn host_us_per_call_cpu(batches: u32, calls: u32, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut samples = Vec::new();
    for _ in 0..batches.max(1) {
        let start = Instant::now();
        for _ in 0..calls.max(1) {
            f()?;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(calls.max(1)));
    }
    Ok(median(samples))
}

/// Event-timed milliseconds per call: `samples` pairs of events, each around `batch`
/// back-to-back calls `f(i)` (the caller rotates weight copies by `i`), after one untimed batch.
/// (The decode and rans experiments.)
pub fn batched(stream: &Arc<CudaStream>, samples: usize, batch: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<Vec<f64>> {
    let ctx = stream.context();
    let mut i = 0;
    for _ in 0..batch {
        f(i)?;
        i += 1;
    }
    stream.synchronize().map_err(msg("synchronizing"))?;
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(msg("creating an event"))?;
        let end = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(msg("creating an event"))?;
        start.record(stream).map_err(msg("recording an event"))?;
        for _ in 0..batch {
            f(i)?;
            i += 1;
        }
        end.record(stream).map_err(msg("recording an event"))?;
        end.synchronize().map_err(msg("waiting for an event"))?;
        out.push(f64::from(start.elapsed_ms(&end).map_err(msg("reading an event"))?) / batch as f64);
    }
    Ok(out)
}

/// max |got − ref| / max |ref| of bf16 outputs (∞ when a NaN appears).
pub fn max_rel_err(got: &[half::bf16], reference: &[half::bf16]) -> f64 {
    let scale = reference.iter().map(|v| f64::from(v.to_f32()).abs()).fold(0.0, f64::max).max(1e-30);
    got.iter().zip(reference).map(|(g, r)| (f64::from(g.to_f32()) - f64::from(r.to_f32())).abs()).fold(0.0, |a, b| if b.is_nan() { f64::INFINITY } else { a.max(b) }) / scale
}

/// The median of finite samples (NaN when there are none).
pub fn median(v: Vec<f64>) -> f64 {
    Timing::from_samples(v).map_or(f64::NAN, |t| t.median_ms)
}

/// Picks a repetition count that keeps one measurement near `budget_ms`, between
/// `min(20, max)` (medians of at least 20 runs unless the caller asks for fewer) and `max`.
pub fn reps_for(estimate_ms: f64, budget_ms: f64, max: u32) -> u32 {
    let max = max.max(1);
    if !(estimate_ms > 0.0) {
        return max;
    }
    ((budget_ms / estimate_ms) as u32).clamp(20.min(max), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let t = Timing::from_samples((1..=10).map(f64::from).rev().collect()).unwrap();
        assert_eq!(t.samples, 10);
        assert_eq!(t.median_ms, 6.0); // index round(4.5) = 5 of 1..=10 → 6
        assert_eq!(t.p20_ms, 3.0);
        assert_eq!(t.p80_ms, 8.0);
        assert!(Timing::from_samples(vec![f64::NAN]).is_none());
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn host_timing_of_cpu_work_is_positive() {
        let mut n = 0u64;
        let us = host_us_per_call_cpu(3, 100, || {
            n = std::hint::black_box(n + 1);
            Ok(())
        })
        .unwrap();
        assert!(us.is_finite() && us >= 0.0);
        assert_eq!(n, 300);
        assert!(host_us_per_call_cpu(1, 1, || Err("x".into())).is_err());
    }

    #[test]
    fn reps_stay_in_bounds() {
        assert_eq!(reps_for(0.0, 100.0, 30), 30);
        assert_eq!(reps_for(1000.0, 100.0, 30), 20);
        assert_eq!(reps_for(1.0, 100.0, 30), 30);
        assert_eq!(reps_for(1000.0, 100.0, 5), 5);
    }
}
