//! GPU timing primitives shared by `esmm-tune bench` and `esmm-tune sweep`: device-resident
//! problems (with input rotation when they fit in L2), event-timed runs, and correctness checks.

use esmm::cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::gpu::{BlasMath, Esmm, MatmulOptions, PreparedB};
use esmm::reference::{gemm_f64, rel_frobenius_error};
use esmm::workload::Workload;
use esmm::{Activation, Dims};
use std::sync::Arc;

/// Error type of the tuner: a message for the user.
pub type Result<T> = std::result::Result<T, String>;

/// Converts any displayable error into the tuner's message type.
pub fn msg<E: std::fmt::Display>(context: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{context}: {e}")
}

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

/// How many copies of the inputs to rotate through so their total exceeds twice the L2.
pub fn rotation_copies(esmm: &Esmm, bytes_per_copy: usize) -> usize {
    let l2 = esmm
        .context()
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
        .unwrap_or(64 << 20)
        .max(1) as usize;
    (2 * l2).div_ceil(bytes_per_copy.max(1)).clamp(1, 8)
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
    pub fn run_cublas(&mut self, esmm: &Esmm, stream: &Arc<CudaStream>, math: BlasMath) -> Result<()> {
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
            self.run_cublas(esmm, stream, BlasMath::Fp32)?;
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
pub fn time_runs_after(stream: &Arc<CudaStream>, warmup: u32, reps: u32, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
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
    let samples = events
        .iter()
        .map(|(s, e)| s.elapsed_ms(e).map(f64::from).map_err(msg("reading an event")))
        .collect::<Result<Vec<f64>>>()?;
    Timing::from_samples(samples).ok_or_else(|| "no timing samples".to_string())
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
    }

    #[test]
    fn reps_stay_in_bounds() {
        assert_eq!(reps_for(0.0, 100.0, 30), 30);
        assert_eq!(reps_for(1000.0, 100.0, 30), 20);
        assert_eq!(reps_for(1.0, 100.0, 30), 30);
        assert_eq!(reps_for(1000.0, 100.0, 5), 5);
    }
}
