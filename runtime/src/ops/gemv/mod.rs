//! Family `gemv`: decode GEMV for 1..16 tokens on tensor cores ([`Esmm::gemv`]) over weights
//! uploaded once in the layout the kernels read ([`Esmm::gemv_weights`],
//! [`Esmm::gemv_gated_weights`]).
//!
//! `y[M×N] = act(x[M×K] · W)` with fp32 accumulation, M = 1..=16. Weights are stored either
//! K×N (`kn`: row k holds what input k feeds; rows whose input is zero for every token are
//! skipped, or only the rows of a list are read) or N×K (`nk`: only the outputs of a list are
//! computed; gated weights interleave gate and up rows and give `SiLU(x·Wg) ⊙ (x·Wu)`).
//!
//! Contract (docs/RUNTIME.md): y equals the dense product with fp32 accumulation up to the
//! accumulation order and the rounding of y. Skipping the row of an input that is zero (±0) for
//! every token drops products that are exact zeros, so it changes nothing, except that weights
//! holding Inf or NaN would turn `0 × Inf` into NaN: such weights are flagged when uploaded
//! and their calls read every row. NaN or Inf in x propagates as in the dense product.

pub mod cache;
pub mod mlp;

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use esmm_spec::families::gemv::GEMV_MAX_M;
use esmm_spec::{Activation, ElemType, Epilogue, Family, GemvLayout, GemvSparsity, KernelSpec};
use half::{bf16, f16};

use crate::baseline::BaselineElem;
use crate::baseline::WeightLayout;
use crate::dispatch::adaptive::{Layer, Operand as AdaptiveOperand};
use crate::dispatch::policy::{choose_variant, GemvRequest, Request};
use crate::dispatch::tuned::dense_baseline;
use crate::ops::esmm::observe::read_back;
use crate::ops::esmm::plan::bucket_index;
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::modules::LoadedVariant;
use crate::ops::esmm::plan::Chosen;
use crate::ops::esmm::StageEvents;
use crate::validate::Dims;

mod sealed {
    pub trait Sealed {}
}

/// A weight / input element type of family gemv: `half::bf16` or `half::f16`.
pub trait GemvInput: BaselineElem + sealed::Sealed + Default {
    /// Whether a value is Inf or NaN.
    fn nonfinite(self) -> bool;
}
/// An output element type of family gemv: the input type, or `f32`.
pub trait GemvOutput: BaselineElem + sealed::Sealed {}
impl sealed::Sealed for bf16 {}
impl sealed::Sealed for f16 {}
impl sealed::Sealed for f32 {}
impl GemvInput for bf16 {
    fn nonfinite(self) -> bool {
        !self.is_finite()
    }
}
impl GemvInput for f16 {
    fn nonfinite(self) -> bool {
        !self.is_finite()
    }
}
impl GemvOutput for bf16 {}
impl GemvOutput for f16 {}
impl GemvOutput for f32 {}

/// Elements per 16-byte vector of a 16-bit type: the kernels read weight rows 16 bytes at a time.
const VEC: usize = 8;

/// Weights uploaded once for [`Esmm::gemv`], in the layout the kernels read: rows padded with
/// zeros to a multiple of 8 elements (16 bytes).
pub struct GemvWeights<T: GemvInput> {
    data: CudaSlice<T>,
    layout: GemvLayout,
    k: usize,
    n: usize,
    ld: usize,
    gated: bool,
    nonfinite: bool,
    /// What earlier calls observed of their inputs' density (input-sparse calls on kn weights):
    /// the weights of one layer are called from one place, so their history is that layer's.
    observed: Layer,
}

impl<T: GemvInput> GemvWeights<T> {
    /// Inputs per token (K).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Outputs per token (N; for gated weights, the number of gate/up pairs).
    pub fn n(&self) -> usize {
        self.n
    }
    /// The stored layout.
    pub fn layout(&self) -> GemvLayout {
        self.layout
    }
    /// Whether the weights are interleaved gate/up pairs.
    pub fn gated(&self) -> bool {
        self.gated
    }
    /// Whether any weight is Inf or NaN (then no call skips a row).
    pub fn has_nonfinite(&self) -> bool {
        self.nonfinite
    }
    /// Row stride of the stored layout, in elements.
    pub fn ld(&self) -> usize {
        self.ld
    }
    /// Bytes of the weights a dense call reads (without the padding).
    pub fn bytes(&self) -> usize {
        self.k * self.n * self.rows_per_output() * std::mem::size_of::<T>()
    }
    /// The fraction of inputs active (nonzero for some token) that calls on these weights
    /// observed so far (input-sparse calls; None before the first observation lands).
    pub fn observed_input_density(&self) -> Option<f64> {
        self.observed.observed_a_density()
    }
    /// Forgets what earlier calls observed (e.g. when the inputs of the layer change their
    /// statistics abruptly): the next input-sparse call observes afresh.
    pub fn reset_observations(&self) {
        *crate::lock(&self.observed.state) = Default::default();
    }
    /// The stored device buffer (rows of [`GemvWeights::ld`] elements).
    pub fn data(&self) -> &CudaSlice<T> {
        &self.data
    }
    fn rows_per_output(&self) -> usize {
        if self.gated {
            2
        } else {
            1
        }
    }
}

/// Which weights a call reads.
#[derive(Clone, Copy, Debug, Default)]
pub enum GemvSelect<'a> {
    /// Every output from every input (kn weights skip inputs that are zero for every token,
    /// unless [`GemvOptions::skip_zero_inputs`] is false).
    #[default]
    All,
    /// kn weights: only the weight rows `rows[p]`; x is compact (`M × rows.len()`, column p
    /// multiplies row `rows[p]`), y is `M × N`.
    Rows(&'a [i32]),
    /// nk weights: only the outputs `outputs[p]`; y is compact (`M × outputs.len()`), x is `M × K`.
    Outputs(&'a [i32]),
}

/// Options of [`Esmm::gemv`]; the default is `y = x·W` reading what `All` reads.
pub struct GemvOptions<'a> {
    /// Epilogue activation (not with gated weights).
    pub activation: Activation,
    /// Which weights the call reads.
    pub select: GemvSelect<'a>,
    /// kn weights, `All`: skip the rows of inputs that are zero for every token (default true).
    pub skip_zero_inputs: bool,
    /// kn weights, `All`: the fraction of inputs expected to be nonzero for some token, when
    /// the caller knows it (e.g. a TEAL threshold's sparsity); None: what earlier calls on the
    /// same weights observed. With the tuned table it picks cuBLAS, a dense or an input-sparse
    /// kernel.
    pub input_density: Option<f64>,
    /// Run this variant (by name) instead of the default choice; errors if it cannot serve.
    pub variant: Option<&'a str>,
    /// Records a pair of timing events around the launch.
    pub stage_events: Option<&'a mut StageEvents>,
}

impl Default for GemvOptions<'_> {
    fn default() -> Self {
        GemvOptions { activation: Activation::None, select: GemvSelect::All, skip_zero_inputs: true, input_density: None, variant: None, stage_events: None }
    }
}

/// The device side of an index list: its entries and a device-side count (a list made on the
/// device by an earlier kernel), with `capacity` entries at most.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeviceList {
    pub(crate) idx: u64,
    pub(crate) count: u64,
    pub(crate) capacity: usize,
}

/// One launch of a gemv variant, with raw device addresses (checked by the caller).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemvCall {
    pub(crate) x: u64,
    pub(crate) ldx: usize,
    pub(crate) y: u64,
    pub(crate) ldy: usize,
    pub(crate) m: usize,
    pub(crate) list: Option<DeviceList>,
    /// Where an input-sparse kernel writes x's pattern words (0: nowhere).
    pub(crate) a_pat: u64,
}

impl Esmm {
    fn gemv_request(&self, dtype: ElemType, out: ElemType, dims: Dims, activation: Activation, want: GemvRequest) -> Request {
        Request { family: Family::Gemv, dtype, out, dims, epilogue: Epilogue { activation, col_nnz: false }, prepared_b: false, arch: self.info.arch, gemv: Some(want), rans: None }
    }

    /// Uploads `w` (K×N row-major: `y = x · w`) for [`Esmm::gemv`] in `layout` (`Nk` stores
    /// the transpose). Records whether any weight is Inf or NaN.
    pub fn gemv_weights<T: GemvInput>(&self, stream: &Arc<CudaStream>, w: &[T], k: usize, n: usize, layout: GemvLayout) -> Result<GemvWeights<T>> {
        self.check_stream(stream)?;
        check_shape(k, n)?;
        crate::validate::check_len("weights", w.len(), k * n)?;
        let nonfinite = w[..k * n].iter().any(|v| v.nonfinite());
        let (rows, cols) = match layout {
            GemvLayout::Kn => (k, n),
            GemvLayout::Nk => (n, k),
        };
        let ld = cols.div_ceil(VEC) * VEC;
        let mut host = vec![T::default(); rows * ld];
        match layout {
            GemvLayout::Kn => {
                for r in 0..k {
                    host[r * ld..r * ld + n].copy_from_slice(&w[r * n..(r + 1) * n]);
                }
            }
            GemvLayout::Nk => {
                for r in 0..k {
                    for c in 0..n {
                        host[c * ld + r] = w[r * n + c];
                    }
                }
            }
        }
        let data = stream.clone_htod(&host).during("uploading gemv weights")?;
        Ok(GemvWeights { data, layout, k, n, ld, gated: false, nonfinite, observed: Layer::new() })
    }

    /// Uploads the gate and up projections of a gated MLP (each K×N row-major, K = hidden size,
    /// N = intermediate size) interleaved per output in the nk layout (row 2i = gate column i,
    /// row 2i+1 = up column i), so one pass reads both: [`Esmm::gemv`] then gives
    /// `SiLU(x·gate) ⊙ (x·up)`.
    pub fn gemv_gated_weights<T: GemvInput>(&self, stream: &Arc<CudaStream>, gate: &[T], up: &[T], k: usize, n: usize) -> Result<GemvWeights<T>> {
        self.check_stream(stream)?;
        check_shape(k, n)?;
        crate::validate::check_len("gate weights", gate.len(), k * n)?;
        crate::validate::check_len("up weights", up.len(), k * n)?;
        let nonfinite = gate[..k * n].iter().chain(&up[..k * n]).any(|v| v.nonfinite());
        let ld = k.div_ceil(VEC) * VEC;
        let mut host = vec![T::default(); 2 * n * ld];
        for r in 0..k {
            for c in 0..n {
                host[2 * c * ld + r] = gate[r * n + c];
                host[(2 * c + 1) * ld + r] = up[r * n + c];
            }
        }
        let data = stream.clone_htod(&host).during("uploading gated gemv weights")?;
        Ok(GemvWeights { data, layout: GemvLayout::Nk, k, n, ld, gated: true, nonfinite, observed: Layer::new() })
    }

    /// What [`Esmm::gemv`] would run for these types, weights, M and options (a variant name).
    pub fn gemv_planned<T: GemvInput, O: GemvOutput>(&self, w: &GemvWeights<T>, m: usize, opts: &GemvOptions<'_>) -> Result<&'static str> {
        let (req, _) = self.gemv_plan_request::<T, O>(w, m, opts)?;
        if let Some(name) = opts.variant {
            return self.variant_by_name(name, &req).map(|e| e.name);
        }
        match self.plan(&req, gemv_density_key(&req, w, opts))? {
            Chosen::Kernel(v) => Ok(v.entry.name),
            Chosen::Cublas => Ok(gemv_cublas(T::TYPE)),
        }
    }

    fn gemv_plan_request<T: GemvInput, O: GemvOutput>(&self, w: &GemvWeights<T>, m: usize, opts: &GemvOptions<'_>) -> Result<(Request, usize)> {
        check_tokens("gemv", m)?;
        if w.gated && opts.activation != Activation::None {
            return Err(Error::InvalidArgument("gated weights apply SiLU(gate)·up: the activation must be none".into()));
        }
        let (sparsity, len) = match (w.layout, opts.select) {
            (GemvLayout::Kn, GemvSelect::All) => {
                (if opts.skip_zero_inputs && !w.nonfinite { GemvSparsity::Input } else { GemvSparsity::Dense }, 0)
            }
            (GemvLayout::Kn, GemvSelect::Rows(r)) => (GemvSparsity::RowList, r.len()),
            (GemvLayout::Nk, GemvSelect::All) => (GemvSparsity::Dense, 0),
            (GemvLayout::Nk, GemvSelect::Outputs(o)) => (GemvSparsity::OutList, o.len()),
            (GemvLayout::Kn, GemvSelect::Outputs(_)) => {
                return Err(Error::InvalidArgument("an output list needs weights stored nk (GemvLayout::Nk)".into()))
            }
            (GemvLayout::Nk, GemvSelect::Rows(_)) => {
                return Err(Error::InvalidArgument("a weight-row list needs weights stored kn (GemvLayout::Kn)".into()))
            }
        };
        let dims = Dims::new(m, w.n, w.k);
        let want = GemvRequest { layout: w.layout, sparsity, gated: w.gated };
        Ok((self.gemv_request(T::TYPE, O::TYPE, dims, opts.activation, want), len))
    }

    /// `y = act(x · W)` for `m` = 1..=16 tokens on `stream`: x `M×K` (or `M×len` with a row
    /// list), y `M×N` (or `M×len` with an output list), row-major and contiguous in caller-owned
    /// device buffers (longer buffers are fine; any element alignment). Returns the variant that
    /// ran. List entries must lie in `[0, K)` (rows) or `[0, N)` (outputs); an empty list is a
    /// no-op for outputs and writes y = act(0) for rows.
    pub fn gemv<T, O, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, w: &GemvWeights<T>, y: &mut Y, m: usize, opts: GemvOptions<'_>) -> Result<&'static str>
    where
        T: GemvInput,
        O: GemvOutput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<O>,
    {
        self.check_stream(stream)?;
        let (req, len) = self.gemv_plan_request::<T, O>(w, m, &opts)?;
        let (xk, yn) = match opts.select {
            GemvSelect::All => (w.k, w.n),
            GemvSelect::Rows(_) => (len, w.n),
            GemvSelect::Outputs(_) => (w.k, len),
        };
        self.check_buffer("x", x, m * xk)?;
        self.check_buffer("y", y, m * yn)?;
        let list: Option<&[i32]> = match opts.select {
            GemvSelect::All => None,
            GemvSelect::Rows(r) => Some(r),
            GemvSelect::Outputs(o) => Some(o),
        };
        if let Some(l) = list {
            let bound = if matches!(opts.select, GemvSelect::Rows(_)) { w.k } else { w.n };
            if let Some((p, v)) = l.iter().enumerate().find(|(_, v)| **v < 0 || **v as usize >= bound) {
                return Err(Error::InvalidArgument(format!("list entry {p} is {v}, outside [0, {bound})")));
            }
            if l.len() > i32::MAX as usize {
                return Err(Error::InvalidArgument("the list is longer than i32::MAX".into()));
            }
        }
        let chosen = match opts.variant {
            Some(name) => Chosen::Kernel(self.load(self.variant_by_name(name, &req)?)?),
            None => self.plan(&req, gemv_density_key(&req, w, &opts))?,
        };
        // Input-sparse calls observe x's density now and then (the kernel writes the pattern
        // its scan makes anyway; a call planned for cuBLAS or a dense kernel runs the
        // input-sparse kernel instead, so the weights notice when their inputs turn sparse).
        let input_sparse = |c: &Chosen| matches!(c, Chosen::Kernel(v) if v.entry.spec.as_gemv().is_some_and(|s| s.sparsity == GemvSparsity::Input));
        let probe_due = opts.variant.is_none()
            && req.gemv.is_some_and(|g| g.sparsity == GemvSparsity::Input)
            && lock(&w.observed.state).count_call(!input_sparse(&chosen));
        // The default kernel for the request is input-sparse unless none is compiled for these
        // types (then a dense one serves, and nothing is observed).
        let probe_kernel = || choose_variant(&req).ok().filter(|e| e.spec.as_gemv().is_some_and(|s| s.sparsity == GemvSparsity::Input));
        let chosen = match (probe_due && !input_sparse(&chosen)).then(probe_kernel).flatten() {
            Some(e) => Chosen::Kernel(self.load(e)?),
            None => chosen,
        };
        let observe = probe_due && input_sparse(&chosen);
        if matches!(opts.select, GemvSelect::Outputs(_)) && len == 0 {
            return Ok(match &chosen {
                Chosen::Kernel(v) => v.entry.name,
                Chosen::Cublas => gemv_cublas(T::TYPE),
            });
        }
        let (x_ptr, _xg) = x.device_ptr(stream);
        let (y_ptr, _yg) = y.device_ptr_mut(stream);
        if x_ptr % T::TYPE.size() as u64 != 0 || y_ptr % O::TYPE.size() as u64 != 0 {
            return Err(Error::InvalidArgument("x or y is not aligned to its element type".into()));
        }
        let v = match chosen {
            Chosen::Kernel(v) => v,
            Chosen::Cublas => {
                self.ctx.bind_to_thread().during("binding the CUDA context")?;
                let layout = match w.layout {
                    GemvLayout::Kn => WeightLayout::Kn,
                    GemvLayout::Nk => WeightLayout::Nk,
                };
                let w_ptr = w.data.device_ptr(stream).0;
                // SAFETY: cuBLAS is present (planned only then); x holds M×K and y M×N elements
                // (checked above), the weights K or N rows of ld elements; all in this context.
                unsafe { self.baselines.gemv_raw(stream, (x_ptr, xk), (w_ptr, w.ld, layout), (y_ptr, yn), Dims::new(m, w.n, w.k), T::TYPE, O::TYPE) }?;
                return Ok(gemv_cublas(T::TYPE));
            }
        };
        let entry = v.entry;
        let ws = self.workspaces.get(stream);
        let dlist = match list {
            None => None,
            Some(l) => {
                let mut ws = lock(&ws);
                let (idx, count) = ws.index_list(l.len())?;
                // SAFETY: the workspace holds len i32 at idx and one at count; a copy from pageable
                // memory has staged its source when it returns, and it is ordered on the stream
                // after the previous call's kernels that read the same buffer.
                unsafe {
                    let n = l.len() as i32;
                    if !l.is_empty() {
                        cudarc::driver::sys::cuMemcpyHtoDAsync_v2(idx, l.as_ptr().cast(), l.len() * 4, stream.cu_stream()).result().during("uploading the index list")?;
                    }
                    cudarc::driver::sys::cuMemcpyHtoDAsync_v2(count, (&n as *const i32).cast(), 4, stream.cu_stream()).result().during("uploading the list length")?;
                }
                Some(DeviceList { idx, count, capacity: l.len() })
            }
        };
        let words = w.k.div_ceil(32);
        let a_pat = if observe { lock(&ws).a_pattern(words)? } else { 0 };
        let call = GemvCall { x: x_ptr, ldx: xk, y: y_ptr, ldy: yn, m, list: dlist, a_pat };
        self.gemv_launch(stream, &v, w, &call, opts.stage_events)?;
        if observe {
            let ws = lock(&ws);
            let src = ws.a_pat.as_ref().expect("allocated above");
            read_back(stream, src, words, w.k as u64, &mut lock(&w.observed.state), AdaptiveOperand::A)?;
        }
        Ok(entry.name)
    }

    /// Launches `entry` for `call` on `w` (the crate's sparse MLP calls this with lists made on
    /// the device).
    pub(crate) fn gemv_launch<T: GemvInput>(&self, stream: &Arc<CudaStream>, v: &LoadedVariant, w: &GemvWeights<T>, call: &GemvCall, events: Option<&mut StageEvents>) -> Result<()> {
        let entry = v.entry;
        let KernelSpec::Gemv(spec) = entry.spec else {
            return Err(Error::VariantMismatch { name: entry.name.into(), reason: "it is not a gemv variant".into() });
        };
        let (n_out, k_pos) = match spec.sparsity {
            GemvSparsity::Dense | GemvSparsity::Input => (w.n, w.k),
            GemvSparsity::RowList => (w.n, call.list.map_or(0, |l| l.capacity)),
            GemvSparsity::OutList => (call.list.map_or(0, |l| l.capacity), w.k),
        };
        let Some(gi) = entry.launches.iter().position(|l| l.stage == esmm_spec::Stage::Gemm) else {
            return Err(Error::VariantMismatch { name: entry.name.into(), reason: "it has no GEMV launch".into() });
        };
        let l = &entry.launches[gi];
        let esmm_spec::GridRule::Gemv { cols, rows, xs_bytes, max_chunk } = l.grid else {
            return Err(Error::VariantMismatch { name: entry.name.into(), reason: "its launch has no gemv grid".into() });
        };
        let dims = Dims::new(call.m, n_out, k_pos.max(1));
        let shape = launch_shape(v, gi, &spec, (cols, rows, xs_bytes, max_chunk), dims, self.info.sm_count)?;
        let (gx, splits, chunk) = (shape.gx, shape.splits, shape.chunk);
        let mut vals = ArgValues {
            a: call.x,
            lda: call.ldx as i32,
            b: w.data.device_ptr(stream).0,
            ldb: w.ld as i32,
            c: call.y,
            ldc: call.ldy as i32,
            dims: Dims::new(call.m, w.n, w.k),
            chunk: chunk as i32,
            idx: call.list.map_or(0, |l| l.idx),
            nidx: call.list.map_or(0, |l| l.count),
            a_pat: call.a_pat,
            resident_ctas: Some(shape.resident),
            dynamic_smem: Some(shape.smem),
            ..Default::default()
        };
        // Output-list kernels re-divide the device-side count into as many k-splits as the grid
        // holds CTAs (templates/gemv/gemv.cuh), so they always get partials for gx · gy CTAs.
        if splits > 1 || spec.sparsity == GemvSparsity::OutList {
            let ws = self.workspaces.get(stream);
            let mut ws = lock(&ws);
            vals.partials = ws.partials((splits as usize) * GEMV_MAX_M * (gx as usize) * cols as usize * 4)?;
            vals.counters = ws.counters(gx as usize)?;
        }
        // The kernel's N and K are the weights'; the grid follows the outputs and split positions.
        vals.grid_dims = Some(dims);
        launch_timed(stream, v, gi, self.info.sm_count, &vals, events)
    }
}

/// The name [`Esmm::gemv`] returns when cuBLAS ran the call (`cublas_bf16`, `cublas_f16`).
pub const fn gemv_cublas(dtype: ElemType) -> &'static str {
    dense_baseline(Family::Gemv, dtype)
}

/// The density bucket a gemv call plans with: input-sparse calls, the caller's estimate or what
/// earlier calls on the weights observed (None: unknown); dense calls read every input (1);
/// list calls have no library alternative to weigh (None).
fn gemv_density_key<T: GemvInput>(req: &Request, w: &GemvWeights<T>, opts: &GemvOptions<'_>) -> Option<u8> {
    let density = match req.gemv.map(|g| g.sparsity) {
        Some(GemvSparsity::Input) => opts.input_density.or_else(|| {
            let mut s = lock(&w.observed.state);
            s.poll_if_due();
            s.observed[AdaptiveOperand::A as usize]
        }),
        Some(GemvSparsity::Dense) => Some(1.0),
        _ => None,
    };
    bucket_index(density)
}

/// How one gemv launch divides its work: column blocks, splits of the position space, positions
/// per split, the dynamic shared memory that needs, and the resident CTAs planned with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LaunchShape {
    pub(crate) gx: u64,
    pub(crate) splits: u64,
    pub(crate) chunk: u32,
    pub(crate) smem: u32,
    pub(crate) resident: u64,
}

/// The launch shape of a gemv call: the split of `gemv_split` planned for the CTAs that fit on
/// the GPU with the shared memory the call itself needs (M tokens, its chunk), not the
/// variant's declared maximum (16 tokens, the longest chunk). Fewer resident CTAs give longer
/// chunks, which need more shared memory, so it steps down until the two agree.
fn launch_shape(v: &LoadedVariant, gi: usize, spec: &esmm_spec::GemvSpec, rule: (u32, u32, u32, u32), dims: Dims, sm_count: u32) -> Result<LaunchShape> {
    let (cols, rows, xs_bytes, max_chunk) = rule;
    let declared = v.entry.launches[gi].dynamic_smem;
    let m = dims.m as u32;
    let mut ctas = v.occupancy_with(gi, spec.smem_bytes_for(32, m).min(declared))?;
    loop {
        let resident = u64::from(ctas) * u64::from(sm_count);
        let (gx, splits, chunk) = esmm_spec::abi::gemv_split(cols, rows, xs_bytes, max_chunk, dims.m, dims.n, dims.k, resident);
        let smem = spec.smem_bytes_for(chunk, m);
        if smem > declared {
            return Err(Error::VariantMismatch { name: v.entry.name.into(), reason: format!("a call needs {smem} B of shared memory; the variant declares {declared} B") });
        }
        let fit = v.occupancy_with(gi, smem)?;
        if fit == 0 {
            return Err(Error::VariantMismatch { name: v.entry.name.into(), reason: format!("no CTA with {smem} B of shared memory fits on a multiprocessor") });
        }
        if fit >= ctas {
            return Ok(LaunchShape { gx, splits, chunk, smem, resident });
        }
        ctas = fit;
    }
}

/// Every op of the family takes 1..=16 tokens (the rows of the mma A operand).
pub(crate) fn check_tokens(what: &str, m: usize) -> Result<()> {
    if m == 0 || m > GEMV_MAX_M {
        return Err(Error::InvalidArgument(format!("{what} takes 1..={GEMV_MAX_M} tokens (rows of x), not {m}")));
    }
    Ok(())
}

fn check_shape(k: usize, n: usize) -> Result<()> {
    if k == 0 || n == 0 {
        return Err(Error::InvalidArgument(format!("gemv weights must be at least 1×1, not {k}×{n}")));
    }
    if k > i32::MAX as usize / 2 || n > i32::MAX as usize / 2 || (k.div_ceil(VEC) * VEC).checked_mul(n.div_ceil(VEC) * VEC * 2).is_none_or(|x| x > i32::MAX as usize * 4) {
        return Err(Error::InvalidArgument(format!("gemv weights {k}×{n} exceed the kernels' 32-bit indexing")));
    }
    Ok(())
}
