//! Family `esmm`: `C = act(A · B)` over row-major f32 with joint A+B block sparsity
//! ([`Esmm::matmul`]), prepared weights ([`Esmm::prepare_b`]) and per-layer adaptive dispatch
//! ([`crate::Layer`]).
//!
//! One contract whatever runs (a sparse variant, the dense variant or cuBLAS): C equals a dense
//! IEEE f32 GEMM up to rounding. A skipped k contributes nothing only where its products are
//! exact zeros; an Inf or NaN in either input makes the sparse kernels skip nothing in that call,
//! so `0 × Inf = NaN` exactly as in cuBLAS (docs/RUNTIME.md).

pub(crate) mod observe;
pub(crate) mod plan;
pub(crate) mod prepare;

use std::sync::Arc;

use cudarc::driver::{result as drv, CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use esmm_spec::{Activation, ElemType, Epilogue, Family, KernelSpec, Preprocess, RegistryEntry, Stage};

use crate::baseline::{Baseline, BaselineKind, BaselineMath};
use crate::dispatch::adaptive::{combined_density, Operand};
use crate::dispatch::policy::{choose_variant, Request};
use crate::dispatch::tuned::CUBLAS_SGEMM;
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::validate::{check_align, Dims};
use observe::read_back;
use plan::{bucket_index, Chosen};
pub use prepare::{PreparedB, PREPARED_GRANULARITIES};

/// Options of [`Esmm::matmul`]. `MatmulOptions::default()` is plain `C = A·B` with default
/// dispatch.
#[derive(Default)]
pub struct MatmulOptions<'a> {
    /// Epilogue activation.
    pub activation: Activation,
    /// Per-column nonzero counts of C (`len ≥ N`); the first N entries are zeroed by the call
    /// before the kernel accumulates into them.
    pub col_nnz: Option<&'a mut CudaSlice<u32>>,
    /// Run this variant (by name) instead of the default choice; errors if it cannot serve the
    /// call.
    pub variant: Option<&'a str>,
    /// B patterns computed once by [`Esmm::prepare_b`] for this same B buffer.
    pub prepared_b: Option<&'a PreparedB>,
    /// Per-layer state for adaptive dispatch (see [`crate::dispatch::adaptive`]): with it, the
    /// default choice uses the densities observed on this layer's previous calls.
    pub layer: Option<&'a crate::Layer>,
    /// Records a pair of timing events around each kernel launch of the call (cleared first),
    /// for per-stage timing of separate-preprocessing variants (see [`StageEvents`]).
    pub stage_events: Option<&'a mut StageEvents>,
}

/// Timing events around each launch of one [`Esmm::matmul`] call: `(stage, start, end)`.
#[derive(Default)]
pub struct StageEvents {
    /// One entry per launched kernel, in launch order.
    pub events: Vec<(Stage, cudarc::driver::CudaEvent, cudarc::driver::CudaEvent)>,
}

impl StageEvents {
    /// Milliseconds of each launched stage (waits for the events).
    pub fn elapsed_ms(&self) -> Result<Vec<(Stage, f32)>> {
        self.events.iter().map(|(s, a, b)| a.elapsed_ms(b).map(|t| (*s, t)).during("reading stage events")).collect()
    }
}

/// The name [`Esmm::matmul`] and [`Esmm::planned`] report when default dispatch runs cuBLAS
/// SGEMM (`"cublas_sgemm"`, also its name in the tuned tables).
pub const CUBLAS: &str = CUBLAS_SGEMM;

/// The part of a GEMM call every op shares before choosing a kernel: zeroes the first N column
/// counts (when `nnz_ptr != 0`), and finishes the calls that launch nothing: an empty C (M or
/// N = 0) and K = 0 (C = act(0) = 0 for every activation, written as zeros). Returns whether the
/// call is done.
///
/// # Safety
/// `nnz_ptr` (unless 0) must hold ≥ N u32 and `c_ptr` ≥ M·N elements of `out`, in the stream's
/// context.
pub(crate) unsafe fn start_call(stream: &Arc<CudaStream>, nnz_ptr: u64, c_ptr: u64, dims: Dims, out: ElemType) -> Result<bool> {
    let Dims { m, n, k } = dims;
    if nnz_ptr != 0 && n > 0 {
        // SAFETY: nnz_ptr holds ≥ n u32 (the caller's contract).
        unsafe { drv::memset_d8_async(nnz_ptr, 0, n * 4, stream.cu_stream()) }.during("zeroing col_nnz")?;
    }
    if dims.is_empty_output() {
        return Ok(true);
    }
    if k == 0 {
        // SAFETY: C holds ≥ m*n elements of `out` (the caller's contract).
        unsafe { drv::memset_d8_async(c_ptr, 0, m * n * out.size() as usize, stream.cu_stream()) }.during("zero-filling C")?;
        return Ok(true);
    }
    Ok(false)
}

impl Esmm {
    fn request(&self, dims: Dims, epilogue: Epilogue, prepared_b: bool) -> Request {
        Request { family: Family::Esmm, dtype: ElemType::F32, out: ElemType::F32, dims, epilogue, prepared_b, arch: self.info.arch, gemv: None, rans: None }
    }

    /// The density bucket default dispatch plans with (every family): a prepared B's density
    /// and the densities the layer observed (polled, never waited for).
    pub(crate) fn density_key(layer: Option<&mut crate::dispatch::adaptive::LayerState>, prepared_density: Option<f64>) -> Option<u8> {
        let observed = layer.map_or([None, None], |s| {
            s.poll_if_due();
            s.observed
        });
        let density_b = prepared_density.or(observed[Operand::B as usize]);
        bucket_index(combined_density(observed[Operand::A as usize], density_b))
    }

    /// The name of what `matmul` with these options would run now (a variant, or
    /// [`CUBLAS`]), through the same plan cache; the tuner's dispatch benchmark times it alone.
    pub fn planned(&self, dims: Dims, opts: &MatmulOptions<'_>) -> Result<&'static str> {
        dims.check()?;
        let req = self.request(dims, Epilogue { activation: opts.activation, col_nnz: opts.col_nnz.is_some() }, opts.prepared_b.is_some());
        if let Some(name) = opts.variant {
            return self.variant_by_name(name, &req).map(|e| e.name);
        }
        let mut state = opts.layer.map(|l| lock(&l.state));
        let density = Self::density_key(state.as_deref_mut(), opts.prepared_b.map(PreparedB::density));
        Ok(match self.plan(&req, density)? {
            Chosen::Cublas => CUBLAS,
            Chosen::Kernel(v) => v.entry.name,
        })
    }

    /// The static default variant for these options (no tuned table, no density).
    pub fn default_variant(&self, dims: Dims, opts: &MatmulOptions<'_>) -> Result<&'static RegistryEntry> {
        choose_variant(&self.request(dims, Epilogue { activation: opts.activation, col_nnz: opts.col_nnz.is_some() }, opts.prepared_b.is_some()))
    }

    /// `C = act(A · B)` on `stream`: A `M×K`, B `K×N`, C `M×N`, row-major f32 in caller-owned
    /// device buffers (slices or views; longer buffers are fine, only the leading elements are
    /// used). Returns what ran (a variant name, [`CUBLAS`], or None when nothing was launched).
    ///
    /// - M or N = 0: no-op (col_nnz, if any, is zeroed). K = 0: C = act(0) = 0 (zero fill).
    /// - M·K, K·N, M·N must each be ≤ `i32::MAX`.
    /// - A, B and C must start at 16-byte-aligned addresses (views at an offset that is not a
    ///   multiple of 4 elements are rejected).
    /// - NaN/Inf: C is what a dense IEEE GEMM gives (`0 × Inf = NaN`, NaN propagates), whatever
    ///   path runs; ReLU maps NaN to 0 (as `fmaxf`).
    pub fn matmul<A, B, C>(&self, stream: &Arc<CudaStream>, a: &A, b: &B, c: &mut C, dims: Dims, opts: MatmulOptions<'_>) -> Result<Option<&'static str>>
    where
        A: DevicePtr<f32>,
        B: DevicePtr<f32>,
        C: DevicePtrMut<f32>,
    {
        self.check_stream(stream)?;
        dims.check()?;
        let Dims { m, n, k } = dims;
        self.check_buffer("A", a, m * k)?;
        self.check_buffer("B", b, k * n)?;
        self.check_buffer("C", c, m * n)?;
        let MatmulOptions { activation, col_nnz, variant, prepared_b, layer, mut stage_events } = opts;
        if let Some(se) = stage_events.as_mut() {
            se.events.clear();
        }
        if let Some(nnz) = col_nnz.as_ref() {
            self.check_buffer("col_nnz", *nnz, n)?;
        }
        let (a_ptr, _a_guard) = a.device_ptr(stream);
        let (b_ptr, _b_guard) = b.device_ptr(stream);
        let (c_ptr, _c_guard) = c.device_ptr_mut(stream);
        check_align("A", a_ptr)?;
        check_align("B", b_ptr)?;
        check_align("C", c_ptr)?;
        if let Some(p) = prepared_b {
            p.check(&self.ctx, b_ptr, dims)?;
        }
        let req = self.request(dims, Epilogue { activation, col_nnz: col_nnz.is_some() }, prepared_b.is_some());
        let explicit = variant.map(|name| self.variant_by_name(name, &req)).transpose()?;

        let mut nnz_slot = col_nnz;
        // The guard stays alive until the kernels are enqueued (cudarc's event tracking).
        let nnz_arg = nnz_slot.as_mut().map(|nnz| nnz.device_ptr_mut(stream));
        let nnz_ptr = nnz_arg.as_ref().map_or(0, |(p, _)| *p);
        // SAFETY: col_nnz (if any) and C were checked against N and M·N above.
        if unsafe { start_call(stream, nnz_ptr, c_ptr, dims, ElemType::F32) }? {
            return Ok(None);
        }
        let mut state = layer.map(|l| lock(&l.state));
        let chosen = match explicit {
            Some(e) => Chosen::Kernel(self.load(e)?),
            None => self.plan(&req, Self::density_key(state.as_deref_mut(), prepared_b.map(PreparedB::density)))?,
        };
        let v = match chosen {
            Chosen::Cublas => {
                self.ctx.bind_to_thread().during("binding the CUDA context")?;
                let sgemm = Baseline::new(BaselineKind::Cublas, BaselineMath::Fp32);
                // SAFETY: cuBLAS is present (planned only then); A, B, C were checked against
                // the shape and the context; the guards above live until it returns.
                unsafe { self.baselines.gemm_raw(sgemm, stream, a_ptr, b_ptr, c_ptr, dims, ElemType::F32, ElemType::F32) }?;
                if let Some(s) = state.as_mut() {
                    if s.count_call(true) {
                        self.probe_a_density(stream, a_ptr, dims, s)?;
                    }
                }
                return Ok(Some(CUBLAS));
            }
            Chosen::Kernel(v) => v,
        };
        let entry = v.entry;
        let KernelSpec::Esmm(spec) = entry.spec else {
            return Err(Error::VariantMismatch { name: entry.name.into(), reason: "it is not an esmm variant".into() });
        };
        let ws = self.workspaces.get(stream);
        let mut ws = lock(&ws);
        let kw = k.div_ceil(32);
        let a_blocks = m.div_ceil(spec.a_granularity.max(1) as usize);
        let b_blocks = n.div_ceil(spec.b_granularity.max(1) as usize);
        let a_pat = if spec.sparsity.uses_a_pattern() { ws.a_pattern(a_blocks * kw)? } else { 0 };
        // B pattern: the prepared one when the variant reads (not writes) it; else the workspace.
        let prepared_pat = match (prepared_b, spec.preprocess) {
            (Some(p), Preprocess::OfflineB | Preprocess::Separate) if spec.sparsity.uses_b_pattern() => p.pattern(spec.b_granularity),
            _ => None,
        };
        let prepared_guard = prepared_pat.map(|p| p.device_ptr(stream));
        let b_pat = if let Some((ptr, _)) = &prepared_guard {
            *ptr
        } else if spec.preprocess == Preprocess::OfflineB {
            return Err(Error::VariantMismatch {
                name: entry.name.into(),
                reason: format!("it reads an offline B pattern of granularity {}; pass prepared_b", spec.b_granularity),
            });
        } else if spec.sparsity.uses_b_pattern() {
            ws.b_pattern(b_blocks * kw)?
        } else {
            0
        };
        let mut vals = ArgValues { a: a_ptr, b: b_ptr, c: c_ptr, dims, a_pat, b_pat, col_nnz: nnz_ptr, ..Default::default() };
        let sparse = spec.sparsity.uses_a_pattern() || spec.sparsity.uses_b_pattern();
        if sparse || entry.launches.iter().any(|l| l.cooperative()) {
            (vals.ctrl, vals.ones, vals.epoch) = (ws.ctrl()?, ws.ones(a_blocks.max(b_blocks) * kw)?, ws.next_epoch());
            // Weights prepared with an Inf or NaN: this call skips nothing.
            if prepared_pat.is_some() && prepared_b.is_some_and(PreparedB::has_nonfinite) {
                // SAFETY: ctrl holds 4 u32 (allocated by the workspace); word 2 is set.
                unsafe { cudarc::driver::sys::cuMemsetD32Async(vals.ctrl + 8, vals.epoch, 1, stream.cu_stream()) }
                    .result()
                    .during("marking a non-finite B")?;
            }
        }
        for (i, l) in entry.launches.iter().enumerate() {
            if l.stage == Stage::PatternB && prepared_pat.is_some() {
                continue; // computed once by prepare_b
            }
            launch_timed(stream, &v, i, self.info.sm_count, &vals, stage_events.as_deref_mut())?;
        }
        if let Some(s) = state.as_mut() {
            if s.count_call(false) {
                if a_pat != 0 {
                    let src = ws.a_pat.as_ref().expect("allocated when a_pat != 0");
                    read_back(stream, src, a_blocks * kw, (a_blocks * k) as u64, s, Operand::A)?;
                }
                // The B pattern this call extracted itself (not a PreparedB's).
                if b_pat != 0 && prepared_pat.is_none() {
                    let src = ws.b_pat.as_ref().expect("allocated when extracted");
                    read_back(stream, src, b_blocks * kw, (b_blocks * k) as u64, s, Operand::B)?;
                }
            }
        }
        Ok(Some(entry.name))
    }
}
