//! Family `tc`: `C = act(A · B)` on tensor cores over bf16 / f16 (fp32 accumulation) and f32
//! (TF32 math), with joint A+B block sparsity ([`Esmm::tc_matmul`]), prepared weights
//! ([`Esmm::tc_prepare_b`]) and per-layer adaptive dispatch ([`crate::Layer`]).
//!
//! One contract whatever runs (a sparse variant, a dense variant or cuBLAS in the same type):
//! C equals a dense IEEE GEMM of the same inputs with fp32 accumulation, up to accumulation order
//! and the rounding of C. A skipped block contributes nothing only where its products are exact
//! zeros; an Inf or NaN in either input makes the sparse kernels skip nothing in that call.
//! Any M, N, K ≥ 0 and any element alignment: views the fast path cannot read (a leading
//! dimension that is not a multiple of 16 bytes, an unaligned start) are packed into aligned
//! scratch first, never refused.

pub(crate) mod prepare;
pub(crate) mod tmap;

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use esmm_spec::tuned::dense_baseline;
use esmm_spec::{Activation, ElemType, Epilogue, Family, KernelSpec, RegistryEntry, Stage, TcPath, TcSpec};
use half::{bf16, f16};

use crate::baseline::{Baseline, BaselineElem, BaselineKind, BaselineMath};
use crate::dispatch::adaptive::Operand;
use crate::dispatch::policy::{choose_variant, Request};
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::modules::LoadedVariant;
use crate::ops::esmm::observe::read_back;
use crate::ops::esmm::plan::Chosen;
use crate::ops::esmm::{start_call, StageEvents};
use crate::validate::Dims;
pub use prepare::TcPreparedB;

mod sealed {
    pub trait Sealed {}
}

/// An input element type of family tc: `half::bf16`, `half::f16`, or `f32` (TF32 math).
pub trait TcInput: BaselineElem + sealed::Sealed {}
/// An output element type of family tc: the input type, or `f32`.
pub trait TcOutput: BaselineElem + sealed::Sealed {}
impl sealed::Sealed for bf16 {}
impl sealed::Sealed for f16 {}
impl sealed::Sealed for f32 {}
impl TcInput for bf16 {}
impl TcInput for f16 {}
impl TcInput for f32 {}
impl TcOutput for bf16 {}
impl TcOutput for f16 {}
impl TcOutput for f32 {}

/// Options of [`Esmm::tc_matmul`]; `TcOptions::default()` is plain `C = A·B` with default
/// dispatch.
#[derive(Default)]
pub struct TcOptions<'a> {
    /// Epilogue activation (applied to the fp32 accumulator before C is rounded).
    pub activation: Activation,
    /// Per-column nonzero counts of the stored C (`len ≥ N`); zeroed by the call first.
    pub col_nnz: Option<&'a mut CudaSlice<u32>>,
    /// Run this variant (by name) instead of the default choice; errors if it cannot serve the
    /// call.
    pub variant: Option<&'a str>,
    /// Weights prepared once by [`Esmm::tc_prepare_b`] for this same B buffer.
    pub prepared_b: Option<&'a TcPreparedB>,
    /// Per-layer state for adaptive dispatch.
    pub layer: Option<&'a crate::Layer>,
    /// Records a pair of timing events around each kernel launch of the call.
    pub stage_events: Option<&'a mut StageEvents>,
}

/// The label [`Esmm::tc_matmul`] reports when default dispatch runs cuBLAS for inputs of type
/// `dtype` (`cublas_bf16`, `cublas_f16`, `cublas_tf32`; also their names in the tuned tables).
pub const fn tc_cublas(dtype: ElemType) -> &'static str {
    dense_baseline(Family::Tc, dtype)
}

/// The cuBLAS arithmetic that serves a tc call with inputs of type `dtype`.
const fn cublas_math(dtype: ElemType) -> BaselineMath {
    match dtype {
        ElemType::Bf16 => BaselineMath::Bf16,
        ElemType::F16 => BaselineMath::F16,
        ElemType::F32 => BaselineMath::Tf32,
    }
}

/// `x` rounded up to a multiple of `m`.
const fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// Pattern words per row (or column) group: 32 k-groups per word.
pub(crate) const fn pattern_words(k: usize, k_gran: u32) -> usize {
    k.div_ceil(k_gran as usize).div_ceil(32)
}

impl Esmm {
    fn tc_request(&self, dtype: ElemType, out: ElemType, dims: Dims, epilogue: Epilogue, prepared_b: bool) -> Request {
        Request { family: Family::Tc, dtype, out, dims, epilogue, prepared_b, arch: self.info.arch, gemv: None, rans: None }
    }

    /// The name of what [`Esmm::tc_matmul`] with these types and options would run now (a
    /// variant, or [`tc_cublas`]).
    pub fn tc_planned<T: TcInput, O: TcOutput>(&self, dims: Dims, opts: &TcOptions<'_>) -> Result<&'static str> {
        dims.check()?;
        let epilogue = Epilogue { activation: opts.activation, col_nnz: opts.col_nnz.is_some() };
        let req = self.tc_request(T::TYPE, O::TYPE, dims, epilogue, opts.prepared_b.is_some());
        if let Some(name) = opts.variant {
            return self.variant_by_name(name, &req).map(|e| e.name);
        }
        let mut state = opts.layer.map(|l| lock(&l.state));
        let density = Self::density_key(state.as_deref_mut(), opts.prepared_b.map(TcPreparedB::density));
        Ok(match self.plan(&req, density)? {
            Chosen::Cublas => tc_cublas(T::TYPE),
            Chosen::Kernel(v) => v.entry.name,
        })
    }

    /// The static default tc variant for these types and options (no table, no density).
    pub fn tc_default_variant<T: TcInput, O: TcOutput>(&self, dims: Dims, opts: &TcOptions<'_>) -> Result<&'static RegistryEntry> {
        let epilogue = Epilogue { activation: opts.activation, col_nnz: opts.col_nnz.is_some() };
        choose_variant(&self.tc_request(T::TYPE, O::TYPE, dims, epilogue, opts.prepared_b.is_some()))
    }

    /// `C = act(A · B)` on `stream` with tensor cores: A `M×K`, B `K×N`, C `M×N`, row-major,
    /// contiguous, in caller-owned device buffers (longer buffers are fine). Inputs are bf16, f16
    /// or f32 (TF32 math); C is the input type or f32. Returns what ran (a variant name,
    /// [`tc_cublas`], or None when nothing was launched).
    ///
    /// - M or N = 0: no-op (col_nnz, if any, is zeroed). K = 0: C = 0.
    /// - M·K, K·N, M·N must each be ≤ `i32::MAX`.
    /// - Any element alignment and any K, N: unaligned views are packed into aligned scratch.
    /// - NaN/Inf: C is what a dense IEEE GEMM gives, whatever path runs.
    pub fn tc_matmul<T, O, A, B, C>(&self, stream: &Arc<CudaStream>, a: &A, b: &B, c: &mut C, dims: Dims, opts: TcOptions<'_>) -> Result<Option<&'static str>>
    where
        T: TcInput,
        O: TcOutput,
        A: DevicePtr<T>,
        B: DevicePtr<T>,
        C: DevicePtrMut<O>,
    {
        self.check_stream(stream)?;
        dims.check()?;
        let Dims { m, n, k } = dims;
        self.check_buffer("A", a, m * k)?;
        self.check_buffer("B", b, k * n)?;
        self.check_buffer("C", c, m * n)?;
        let TcOptions { activation, col_nnz, variant, prepared_b, layer, mut stage_events } = opts;
        if let Some(se) = stage_events.as_mut() {
            se.events.clear();
        }
        if let Some(nnz) = col_nnz.as_ref() {
            self.check_buffer("col_nnz", *nnz, n)?;
        }
        let (a_ptr, _a_guard) = a.device_ptr(stream);
        let (b_ptr, _b_guard) = b.device_ptr(stream);
        let (c_ptr, _c_guard) = c.device_ptr_mut(stream);
        for (what, p) in [("A", a_ptr), ("B", b_ptr), ("C", c_ptr)] {
            if p % u64::from(T::TYPE.size().min(O::TYPE.size())) != 0 {
                return Err(Error::InvalidArgument(format!("{what} at {p:#x} is not aligned to its element type")));
            }
        }
        if let Some(p) = prepared_b {
            p.check(&self.ctx, b_ptr, dims, T::TYPE)?;
        }
        let epilogue = Epilogue { activation, col_nnz: col_nnz.is_some() };
        let req = self.tc_request(T::TYPE, O::TYPE, dims, epilogue, prepared_b.is_some());
        let explicit = variant.map(|name| self.variant_by_name(name, &req)).transpose()?;

        let mut nnz_slot = col_nnz;
        let nnz_arg = nnz_slot.as_mut().map(|nnz| nnz.device_ptr_mut(stream));
        let nnz_ptr = nnz_arg.as_ref().map_or(0, |(p, _)| *p);
        // SAFETY: col_nnz (if any) and C were checked against N and M·N above.
        if unsafe { start_call(stream, nnz_ptr, c_ptr, dims, O::TYPE) }? {
            return Ok(None);
        }
        let mut state = layer.map(|l| lock(&l.state));
        let chosen = match explicit {
            Some(e) => Chosen::Kernel(self.load(e)?),
            None => self.plan(&req, Self::density_key(state.as_deref_mut(), prepared_b.map(TcPreparedB::density)))?,
        };
        let v = match chosen {
            Chosen::Cublas => {
                self.ctx.bind_to_thread().during("binding the CUDA context")?;
                let blas = Baseline::new(BaselineKind::Cublas, cublas_math(T::TYPE));
                // SAFETY: cuBLAS is present (planned only then); buffers checked against the
                // shape and context; the guards live until it returns.
                unsafe { self.baselines.gemm_raw(blas, stream, a_ptr, b_ptr, c_ptr, dims, T::TYPE, O::TYPE) }?;
                if let Some(s) = state.as_mut() {
                    if s.count_call(true) {
                        self.tc_probe_a_density::<T>(stream, a_ptr, dims, s)?;
                    }
                }
                return Ok(Some(tc_cublas(T::TYPE)));
            }
            Chosen::Kernel(v) => v,
        };
        let KernelSpec::Tc(spec) = v.entry.spec else {
            return Err(Error::VariantMismatch { name: v.entry.name.into(), reason: "it is not a tc variant".into() });
        };
        let mut run = TcRun { esmm: self, stream, v: &v, events: stage_events.as_deref_mut() };
        let ws = self.workspaces.get(stream);
        let mut ws = lock(&ws);
        // C as the GEMM writes it: in place when 16-byte aligned (the epilogues store 16 bytes),
        // else into an aligned workspace copied to C after the GEMM.
        let c_bytes = m * n * O::TYPE.size() as usize;
        let c_gemm = if c_ptr % 16 == 0 { c_ptr } else { ws.c_pack(c_bytes)? };
        let base = ArgValues { a: a_ptr, b: b_ptr, c: c_gemm, dims, col_nnz: nnz_ptr, ..Default::default() };
        let vec = 16 / T::TYPE.size() as usize;

        // A as the GEMM reads it: in place when its rows are 16-byte aligned, else packed.
        let (a_gemm, lda) = if k % vec == 0 && a_ptr % 16 == 0 {
            (a_ptr, k)
        } else {
            let lda = round_up(k, vec);
            let dst = ws.a_pack(m * lda * T::TYPE.size() as usize)?;
            run.stage(Stage::PackA, &ArgValues { a_packed: dst, lda: lda as i32, ..base })?;
            (dst, lda)
        };
        // B as the GEMM reads it: K×ldb (mma) or Bᵀ, N×ldb (wgmma); the prepared copy if any.
        let (b_gemm, ldb) = match (spec.path, prepared_b) {
            (path, Some(p)) => p.gemm_layout(&mut run, path, &base)?,
            (TcPath::Mma, None) if n % vec == 0 && b_ptr % 16 == 0 => (b_ptr, n),
            (path, None) => {
                let ldb = if path == TcPath::Mma { round_up(n, vec) } else { round_up(k, vec) };
                let rows = if path == TcPath::Mma { k } else { n };
                let dst = ws.b_pack(rows * ldb * T::TYPE.size() as usize)?;
                run.stage(Stage::PackB, &ArgValues { b_packed: dst, ldb: ldb as i32, ..base })?;
                (dst, ldb)
            }
        };
        let mut vals = ArgValues { a: a_gemm, b: b_gemm, lda: lda as i32, ldb: ldb as i32, ..base };
        let (mut a_pat, mut b_pat, mut a_groups, mut b_groups) = (0, 0, 0, 0);
        let mut prepared_pat = false;
        if spec.uses_a_pattern() {
            let words = pattern_words(k, spec.k_gran);
            a_groups = m.div_ceil(spec.a_rows as usize);
            b_groups = n.div_ceil(spec.b_pattern_cols() as usize);
            (vals.ctrl, vals.ones, vals.epoch) = (ws.ctrl()?, ws.ones(a_groups.max(b_groups) * words)?, ws.next_epoch());
            a_pat = ws.a_pattern(a_groups * words)?;
            run.stage(Stage::PatternA, &ArgValues { a_pat, ctrl: vals.ctrl, epoch: vals.epoch, ..base })?;
            b_pat = match prepared_b {
                Some(p) => {
                    prepared_pat = true;
                    // First: a pattern made now records its Inf/NaN in the prepared B.
                    let b_pat = p.pattern(&mut run, &spec, &base)?;
                    if p.has_nonfinite() {
                        // SAFETY: ctrl holds 4 u32 (workspace); word 2 is set to this epoch.
                        unsafe { cudarc::driver::sys::cuMemsetD32Async(vals.ctrl + 8, vals.epoch, 1, stream.cu_stream()) }
                            .result()
                            .during("marking a non-finite B")?;
                    }
                    b_pat
                }
                None => {
                    let b_pat = ws.b_pattern(b_groups * words)?;
                    run.stage(Stage::PatternB, &ArgValues { b_pat, ctrl: vals.ctrl, epoch: vals.epoch, ..base })?;
                    b_pat
                }
            };
            (vals.a_pat, vals.b_pat) = (a_pat, b_pat);
        }
        if spec.path == TcPath::Wgmma {
            vals.tmap_a = tmap::encode(a_gemm, T::TYPE, k, m, lda, tmap::box_dims(&spec, false))?;
            vals.tmap_b = tmap::encode(b_gemm, T::TYPE, k, n, ldb, tmap::box_dims(&spec, true))?;
        }
        run.stage(Stage::Gemm, &vals)?;
        if c_gemm != c_ptr {
            // SAFETY: both hold ≥ c_bytes (C checked against the shape; the workspace sized above).
            unsafe { cudarc::driver::sys::cuMemcpyDtoDAsync_v2(c_ptr, c_gemm, c_bytes, stream.cu_stream()) }
                .result()
                .during("copying C from the aligned workspace")?;
        }
        if let Some(s) = state.as_mut() {
            if s.count_call(false) && a_pat != 0 {
                let k_groups = k.div_ceil(spec.k_gran as usize);
                let words = pattern_words(k, spec.k_gran);
                let src = ws.a_pat.as_ref().expect("allocated when a_pat != 0");
                read_back(stream, src, a_groups * words, (a_groups * k_groups) as u64, s, Operand::A)?;
                if !prepared_pat && b_pat != 0 && spec.uses_b_pattern() {
                    let src = ws.b_pat.as_ref().expect("allocated when extracted");
                    read_back(stream, src, b_groups * words, (b_groups * k_groups) as u64, s, Operand::B)?;
                }
            }
        }
        Ok(Some(v.entry.name))
    }

    /// Dense path of a layer: extracts A's pattern with the default tc variant's pattern-A stage
    /// so the layer notices sparse activations; skipped when no such kernel is compiled.
    fn tc_probe_a_density<T: TcInput>(&self, stream: &Arc<CudaStream>, a_ptr: u64, dims: Dims, state: &mut crate::dispatch::adaptive::LayerState) -> Result<()> {
        let req = self.tc_request(T::TYPE, T::TYPE, dims, Epilogue::NONE, true);
        let Ok(entry) = choose_variant(&req) else { return Ok(()) };
        let Some(spec) = entry.spec.as_tc().copied().filter(TcSpec::uses_a_pattern) else { return Ok(()) };
        let v = self.load(entry)?;
        let Dims { m, k, .. } = dims;
        let (groups, words) = (m.div_ceil(spec.a_rows as usize), pattern_words(k, spec.k_gran));
        let ws = self.workspaces.get(stream);
        let mut ws = lock(&ws);
        let vals = ArgValues { a: a_ptr, dims, a_pat: ws.a_pattern(groups * words)?, ctrl: ws.ctrl()?, epoch: ws.next_epoch(), ..Default::default() };
        TcRun { esmm: self, stream, v: &v, events: None }.stage(Stage::PatternA, &vals)?;
        let src = ws.a_pat.as_ref().expect("allocated above");
        read_back(stream, src, groups * words, (groups * k.div_ceil(spec.k_gran as usize)) as u64, state, Operand::A)
    }
}

/// Launches the stages of one loaded tc variant on one stream, timing each when asked.
pub(crate) struct TcRun<'a> {
    pub(crate) esmm: &'a Esmm,
    pub(crate) stream: &'a Arc<CudaStream>,
    pub(crate) v: &'a LoadedVariant,
    pub(crate) events: Option<&'a mut StageEvents>,
}

impl TcRun<'_> {
    /// Launches the variant's `stage` with `vals`.
    pub(crate) fn stage(&mut self, stage: Stage, vals: &ArgValues) -> Result<()> {
        let Some(i) = self.v.entry.launches.iter().position(|l| l.stage == stage) else {
            return Err(Error::VariantMismatch { name: self.v.entry.name.into(), reason: format!("it has no {} stage", stage.suffix()) });
        };
        launch_timed(self.stream, self.v, i, self.esmm.info.sm_count, vals, self.events.as_deref_mut())
    }
}
