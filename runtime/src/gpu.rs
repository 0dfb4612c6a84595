//! The GPU handle: device checks, lazy module loading, workspaces, launches from registry data,
//! B-pattern preparation and the cuBLAS baseline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use cudarc::cublas::{sys as blas_sys, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::sys::{CUdevice_attribute, CUfunction_attribute};
use cudarc::driver::{
    result as drv, CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DevicePtrMut,
    DeviceSlice, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use esmm_spec::{Activation, Arch, GridRule, Launch, Preprocess, RegistryEntry, Stage};

use crate::adaptive::{self, Layer, LayerState, Operand, PendingReadback, Plan};
use crate::dispatch::{self, Request};
use crate::error::{DriverContext, Error, Result};
use crate::tuned::{self, TunedTable};
use crate::grid::grid_dims;
use crate::validate::{check_align, check_len, Dims};

/// Dynamic shared memory a kernel may use without opting in.
const DEFAULT_SMEM_LIMIT: u32 = 48 * 1024;
/// Byte written into freshly allocated pattern buffers, so that a kernel relying on zeroed
/// pattern memory fails the tests instead of passing by luck.
const PATTERN_POISON: u8 = 0xA5;
/// B-pattern granularities a [`PreparedB`] holds.
pub const PREPARED_GRANULARITIES: [u32; 2] = [32, 8];

/// What the handle knows about its GPU.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Name as the driver reports it (e.g. `NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Compute capability as `major * 10 + minor`.
    pub compute_capability: u32,
    /// Multiprocessor count.
    pub sm_count: u32,
    /// Largest dynamic shared memory one CTA may opt into, bytes.
    pub max_smem_optin: u32,
    /// Whether cooperative launches are supported.
    pub cooperative_launch: bool,
    /// The architecture whose limits apply (None below sm_80).
    pub arch: Option<Arch>,
}

/// Options of [`Esmm::matmul`]. `MatmulOptions::default()` is plain `C = A·B` with the default
/// variant.
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
    /// Per-layer state for adaptive dispatch (see [`crate::adaptive`]): with it, the default
    /// choice uses the A density observed on this layer's previous calls.
    pub layer: Option<&'a Layer>,
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
        self.events
            .iter()
            .map(|(s, a, b)| a.elapsed_ms(b).map(|t| (*s, t)).during("reading stage events"))
            .collect()
    }
}

impl Default for MatmulOptions<'_> {
    fn default() -> Self {
        MatmulOptions { activation: Activation::None, col_nnz: None, variant: None, prepared_b: None, layer: None, stage_events: None }
    }
}

/// B patterns of one static B (weights), computed once by [`Esmm::prepare_b`] at granularities
/// 32 and 8. Tied to the device address, K and N of the B it was computed from; the caller must
/// not change B's contents afterwards (only the address and shape are checked).
pub struct PreparedB {
    ctx: Arc<CudaContext>,
    b_addr: u64,
    k: usize,
    n: usize,
    patterns: Vec<(u32, CudaSlice<u32>)>,
    density: f64,
    nonfinite: bool,
}

impl PreparedB {
    /// K (rows of B).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (columns of B).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Fraction of set bits of the 32-column pattern: the B density the dispatcher assumes.
    pub fn density(&self) -> f64 {
        self.density
    }
    /// Whether B holds an Inf or NaN (then sparse kernels skip nothing on calls with this B).
    pub fn has_nonfinite(&self) -> bool {
        self.nonfinite
    }
    /// The pattern at granularity `cols` (32 or 8), `ceil(N/cols) * ceil(K/32)` words.
    pub fn pattern(&self, cols: u32) -> Option<&CudaSlice<u32>> {
        self.patterns.iter().find(|(g, _)| *g == cols).map(|(_, p)| p)
    }
    fn check(&self, ctx: &Arc<CudaContext>, b_addr: u64, dims: Dims) -> Result<()> {
        if !Arc::ptr_eq(&self.ctx, ctx) || self.b_addr != b_addr || self.k != dims.k || self.n != dims.n {
            return Err(Error::InvalidArgument(format!(
                "prepared_b was made for a {}x{} B at {:#x} (this call: {}x{} at {b_addr:#x}); prepare this B",
                self.k, self.n, self.b_addr, dims.k, dims.n
            )));
        }
        Ok(())
    }
}

/// A variant whose module is loaded: one function per launch, in launch order.
struct LoadedVariant {
    entry: &'static RegistryEntry,
    functions: Vec<CudaFunction>,
    /// Max active CTAs per SM for each launch (used by persistent launches).
    max_ctas_per_sm: Vec<u32>,
    _module: Arc<CudaModule>,
}

/// Scratch buffers of one stream: patterns, the kernels' control words and the all-ones pattern.
struct Workspace {
    stream: Arc<CudaStream>,
    a_pat: Option<CudaSlice<u32>>,
    b_pat: Option<CudaSlice<u32>>,
    /// `[4]` u32 control words, zeroed once at allocation and never reset: `[0..1]` the
    /// persistent kernels' grid barrier (they keep it valid), `[2]` the epoch of the last call
    /// whose inputs held a non-finite value.
    ctrl: Option<CudaSlice<u32>>,
    /// All-ones pattern words a sparse kernel reads instead of the patterns when its call saw a
    /// non-finite input (then it skips nothing).
    ones: Option<CudaSlice<u32>>,
    /// Epoch of the last sparse call on this stream (each call gets a fresh one, from 1).
    epoch: u32,
}

impl Workspace {
    /// A pattern buffer of at least `len` words (grown geometrically, poisoned when new).
    fn pattern(slot: &mut Option<CudaSlice<u32>>, stream: &Arc<CudaStream>, len: usize) -> Result<u64> {
        let len = len.max(1);
        if slot.as_ref().is_none_or(|s| s.len() < len) {
            let cap = len.next_power_of_two();
            // SAFETY: freshly allocated u32 buffer; filled with a poison pattern before any use.
            let buf = unsafe { stream.alloc::<u32>(cap) }.during("allocating a pattern workspace")?;
            let (ptr, _g) = buf.device_ptr(stream);
            unsafe { drv::memset_d8_async(ptr, PATTERN_POISON, cap * 4, stream.cu_stream()) }
                .during("poisoning a pattern workspace")?;
            drop(_g);
            *slot = Some(buf);
        }
        let buf = slot.as_ref().expect("allocated above");
        Ok(buf.device_ptr(stream).0)
    }

    fn ctrl(&mut self) -> Result<u64> {
        if self.ctrl.is_none() {
            self.ctrl = Some(self.stream.alloc_zeros::<u32>(4).during("allocating the control words")?);
        }
        Ok(self.ctrl.as_ref().expect("allocated above").device_ptr(&self.stream).0)
    }

    /// An all-ones pattern of at least `len` words.
    fn ones(&mut self, len: usize) -> Result<u64> {
        let len = len.max(1);
        if self.ones.as_ref().is_none_or(|s| s.len() < len) {
            let cap = len.next_power_of_two();
            // SAFETY: freshly allocated u32 buffer, filled with ones before any use.
            let buf = unsafe { self.stream.alloc::<u32>(cap) }.during("allocating the all-ones pattern")?;
            let (ptr, g) = buf.device_ptr(&self.stream);
            unsafe { drv::memset_d8_async(ptr, 0xFF, cap * 4, self.stream.cu_stream()) }
                .during("filling the all-ones pattern")?;
            drop(g);
            self.ones = Some(buf);
        }
        Ok(self.ones.as_ref().expect("allocated above").device_ptr(&self.stream).0)
    }

    /// A fresh epoch for the next call (never 0, the control word's initial value).
    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1).max(1);
        self.epoch
    }
}

/// The esmm handle for one GPU.
///
/// Thread safety: `Esmm` is `Send + Sync`. One handle may be shared (e.g. in an `Arc`) by
/// several threads, each launching on its own stream or on a shared one. Loaded modules are
/// cached per handle behind a mutex; pattern workspaces are kept per stream (work on one stream
/// is ordered, so reusing its workspace is safe), and the cuBLAS handle is shared under a lock.
pub struct Esmm {
    ctx: Arc<CudaContext>,
    info: DeviceInfo,
    cublas_present: bool,
    variants: Mutex<HashMap<&'static str, Arc<LoadedVariant>>>,
    workspaces: Mutex<HashMap<usize, Arc<Mutex<Workspace>>>>,
    blas: Mutex<Option<CudaBlas>>,
    /// Variants registered at run time (the tuner's sweep candidates): name → (entry, fatbin).
    extra: Mutex<HashMap<&'static str, (&'static RegistryEntry, &'static [u8])>>,
    /// This GPU's tuned table, if any (see [`crate::tuned::load_for_gpu`]).
    table: Option<TunedTable>,
}

/// Which arithmetic the cuBLAS baseline uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlasMath {
    /// Plain FP32 SGEMM (`CUBLAS_DEFAULT_MATH`).
    Fp32,
    /// TF32 tensor cores (`CUBLAS_TF32_TENSOR_OP_MATH`).
    Tf32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether libcuda can be loaded on this machine (never panics).
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Whether libcublas can be loaded on this machine (never panics).
pub fn cublas_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::cublas::sys::is_culib_present() }
}

enum Arg {
    Ptr(u64),
    Int(i32),
    U32(u32),
}

impl Esmm {
    /// Opens GPU `ordinal`. Errors (never panics) when there is no CUDA driver
    /// ([`Error::NoDriver`]), no such device, or when this build has no kernel for the GPU's
    /// architecture ([`Error::UnsupportedGpu`]).
    pub fn new(ordinal: usize) -> Result<Esmm> {
        if !driver_present() {
            return Err(Error::NoDriver);
        }
        let ctx = CudaContext::new(ordinal).during(&format!("opening GPU {ordinal}"))?;
        let (major, minor) = ctx.compute_capability().during("querying the compute capability")?;
        let cc = (major * 10 + minor) as u32;
        let attr = |a| ctx.attribute(a).during("querying a device attribute");
        let info = DeviceInfo {
            ordinal,
            name: ctx.name().during("querying the device name")?,
            compute_capability: cc,
            sm_count: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32,
            max_smem_optin: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)? as u32,
            cooperative_launch: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH)? != 0,
            arch: dispatch::arch_for(cc),
        };
        if !dispatch::build_supports(cc) {
            return Err(Error::UnsupportedGpu {
                name: info.name,
                compute_capability: cc,
                compiled: dispatch::COMPILED_ARCHS.to_vec(),
                ptx: dispatch::PTX_ARCH,
            });
        }
        let table = match crate::tuned::load_for_gpu(&crate::tuned::gpu_slug(&info.name)) {
            Ok(t) => t,
            Err(msg) => {
                eprintln!("esmm: warning: {msg}; using heuristic dispatch");
                None
            }
        };
        Ok(Esmm {
            ctx,
            info,
            extra: Mutex::new(HashMap::new()),
            table,
            cublas_present: cublas_present(),
            variants: Mutex::new(HashMap::new()),
            workspaces: Mutex::new(HashMap::new()),
            blas: Mutex::new(None),
        })
    }

    /// The CUDA context (create streams with `esmm.context().new_stream()`).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The device the handle drives.
    pub fn device(&self) -> &DeviceInfo {
        &self.info
    }

    fn check_stream(&self, stream: &Arc<CudaStream>) -> Result<()> {
        if !Arc::ptr_eq(stream.context(), &self.ctx) {
            return Err(Error::InvalidArgument("the stream belongs to another CUDA context than this handle".into()));
        }
        Ok(())
    }

    fn check_buffer<T>(&self, what: &str, buf: &impl DeviceSlice<T>, needed: usize) -> Result<()> {
        if !Arc::ptr_eq(buf.stream().context(), &self.ctx) {
            return Err(Error::InvalidArgument(format!("{what} lives in another CUDA context than this handle")));
        }
        check_len(what, buf.len(), needed)
    }

    fn request(&self, dims: Dims, activation: Activation, col_nnz: bool, prepared_b: bool) -> Request {
        Request { dims, activation, col_nnz, prepared_b, arch: self.info.arch }
    }

    /// The variant [`Esmm::matmul`] would run for these options (explicit or default).
    pub fn variant_for(&self, dims: Dims, opts: &MatmulOptions<'_>) -> Result<&'static RegistryEntry> {
        let req = self.request(dims, opts.activation, opts.col_nnz.is_some(), opts.prepared_b.is_some());
        match opts.variant {
            Some(name) => self.variant_by_name(name, &req),
            None => dispatch::choose_variant(&req),
        }
    }

    /// The tuned table the handle dispatches from (None: heuristic dispatch).
    pub fn tuned_table(&self) -> Option<&TunedTable> {
        self.table.as_ref()
    }

    /// Registers variants compiled at run time (e.g. by the autotuner) so that they can be
    /// named in [`MatmulOptions::variant`]. The entries and fatbins live as long as the process.
    pub fn add_variants(&self, variants: Vec<(RegistryEntry, Vec<u8>)>) -> Result<()> {
        let mut extra = lock(&self.extra);
        for (entry, fatbin) in variants {
            if dispatch::REGISTRY.iter().any(|e| e.name == entry.name) || extra.contains_key(entry.name) {
                continue;
            }
            let entry: &'static RegistryEntry = Box::leak(Box::new(entry));
            let bytes: &'static [u8] = Box::leak(fatbin.into_boxed_slice());
            extra.insert(entry.name, (entry, bytes));
        }
        Ok(())
    }

    fn extra_entry(&self, name: &str) -> Option<&'static RegistryEntry> {
        lock(&self.extra).get(name).map(|(e, _)| *e)
    }

    /// Looks a variant up by name in the registry, then among the run-time variants.
    fn variant_by_name(&self, name: &str, req: &Request) -> Result<&'static RegistryEntry> {
        match dispatch::variant_by_name(name, req) {
            Err(Error::UnknownVariant { .. }) if self.extra_entry(name).is_some() => {
                let entry = self.extra_entry(name).expect("checked above");
                match dispatch::spec_mismatch(entry, req) {
                    None => Ok(entry),
                    Some(reason) => Err(Error::VariantMismatch { name: name.to_string(), reason }),
                }
            }
            other => other,
        }
    }

    /// Loads (once) and returns the module and functions of a variant.
    fn load(&self, entry: &'static RegistryEntry) -> Result<Arc<LoadedVariant>> {
        let mut cache = lock(&self.variants);
        if let Some(v) = cache.get(entry.name) {
            return Ok(v.clone());
        }
        let extra = lock(&self.extra).get(entry.name).map(|(_, b)| *b);
        let bytes = dispatch::fatbin(entry.name).or(extra).ok_or_else(|| Error::VariantMismatch {
            name: entry.name.into(),
            reason: "it is not compiled into this build".into(),
        })?;
        let module = self
            .ctx
            .load_module(Ptx::from_binary(bytes.to_vec()))
            .during(&format!("loading the module of {}", entry.name))?;
        let mut functions = Vec::new();
        let mut max_ctas_per_sm = Vec::new();
        for l in entry.launches {
            let f = module.load_function(l.symbol).during(&format!("finding kernel {} in {}", l.symbol, entry.name))?;
            if l.dynamic_smem > self.info.max_smem_optin {
                return Err(Error::VariantMismatch {
                    name: entry.name.into(),
                    reason: format!(
                        "{} needs {} B of shared memory; this GPU allows {} B per CTA",
                        l.symbol, l.dynamic_smem, self.info.max_smem_optin
                    ),
                });
            }
            if l.dynamic_smem > DEFAULT_SMEM_LIMIT {
                f.set_attribute(
                    CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    l.dynamic_smem as i32,
                )
                .during(&format!("raising the shared-memory limit of {}", l.symbol))?;
            }
            let ctas = if matches!(l.grid, GridRule::Persistent { .. }) {
                if !self.info.cooperative_launch {
                    return Err(Error::VariantMismatch {
                        name: entry.name.into(),
                        reason: "it needs cooperative launch, which this GPU does not support".into(),
                    });
                }
                f.occupancy_max_active_blocks_per_multiprocessor(l.threads, l.dynamic_smem as usize, None)
                    .during(&format!("querying the occupancy of {}", l.symbol))?
            } else {
                0
            };
            functions.push(f);
            max_ctas_per_sm.push(ctas);
        }
        let v = Arc::new(LoadedVariant { entry, functions, max_ctas_per_sm, _module: module });
        cache.insert(entry.name, v.clone());
        Ok(v)
    }

    fn workspace(&self, stream: &Arc<CudaStream>) -> Arc<Mutex<Workspace>> {
        let mut map = lock(&self.workspaces);
        map.entry(stream.cu_stream() as usize)
            .or_insert_with(|| {
                Arc::new(Mutex::new(Workspace { stream: stream.clone(), a_pat: None, b_pat: None, ctrl: None, ones: None, epoch: 0 }))
            })
            .clone()
    }

    /// Whether every launch of a loaded variant has a valid grid for `dims`.
    fn fits(&self, v: &LoadedVariant, dims: Dims) -> bool {
        v.entry.launches.iter().zip(&v.max_ctas_per_sm).all(|(l, ctas)| {
            grid_dims(l.grid, dims, u64::from(*ctas) * u64::from(self.info.sm_count)).is_ok()
        })
    }

    /// Launches one stage of a loaded variant with the given arguments.
    fn launch(&self, stream: &Arc<CudaStream>, v: &LoadedVariant, i: usize, dims: Dims, args: &[Arg]) -> Result<()> {
        let l: &Launch = &v.entry.launches[i];
        let resident = u64::from(v.max_ctas_per_sm[i]) * u64::from(self.info.sm_count);
        let grid = grid_dims(l.grid, dims, resident).map_err(|e| match e {
            Error::InvalidArgument(msg) => Error::InvalidArgument(format!("{}: {msg}", v.entry.name)),
            e => e,
        })?;
        let cfg = LaunchConfig { grid_dim: grid, block_dim: (l.threads, 1, 1), shared_mem_bytes: l.dynamic_smem };
        let mut builder = stream.launch_builder(&v.functions[i]);
        for a in args {
            match a {
                Arg::Ptr(p) => builder.arg(p),
                Arg::Int(x) => builder.arg(x),
                Arg::U32(x) => builder.arg(x),
            };
        }
        let what = format!("launching {} ({:?})", l.symbol, grid);
        // SAFETY: the argument list follows the kernel ABI of docs/ARCHITECTURE.md for this
        // stage; every pointer was checked against the shape (lengths) and alignment.
        unsafe {
            if matches!(l.grid, GridRule::Persistent { .. }) {
                builder.launch_cooperative(cfg)
            } else {
                builder.launch(cfg)
            }
        }
        .during(&what)?;
        Ok(())
    }

    /// `C = act(A · B)` on `stream`: A `M×K`, B `K×N`, C `M×N`, row-major f32 in caller-owned
    /// device buffers (slices or views; longer buffers are fine, only the leading elements are
    /// used). Returns the variant that ran (None when nothing was launched).
    ///
    /// - M or N = 0: no-op (col_nnz, if any, is zeroed). K = 0: C = act(0) = 0 (zero fill).
    /// - M·K, K·N, M·N must each be ≤ `i32::MAX`.
    /// - A, B and C must start at 16-byte-aligned addresses (views at an offset that is not a
    ///   multiple of 4 elements are rejected).
    /// - NaN/Inf: a k-step skipped by the pattern contributes exactly 0, even where dense math
    ///   would give NaN (0 × Inf); a NaN in A or B counts as nonzero and is never skipped.
    pub fn matmul<A, B, C>(
        &self,
        stream: &Arc<CudaStream>,
        a: &A,
        b: &B,
        c: &mut C,
        dims: Dims,
        opts: MatmulOptions<'_>,
    ) -> Result<Option<&'static str>>
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
        let MatmulOptions { activation, col_nnz, variant, prepared_b, layer: opts_layer, mut stage_events } = opts;
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
        let req = self.request(dims, activation, col_nnz.is_some(), prepared_b.is_some());
        let explicit = variant.map(|name| self.variant_by_name(name, &req)).transpose()?;

        let mut nnz_slot = col_nnz;
        // The guard stays alive until the kernels are enqueued (cudarc's event tracking).
        let nnz_arg = nnz_slot.as_mut().map(|nnz| nnz.device_ptr_mut(stream));
        let nnz_ptr = nnz_arg.as_ref().map_or(0, |(p, _)| *p);
        if nnz_ptr != 0 && n > 0 {
            // SAFETY: nnz_ptr points to ≥ n u32 (checked above), owned by the caller.
            unsafe { drv::memset_d8_async(nnz_ptr, 0, n * 4, stream.cu_stream()) }.during("zeroing col_nnz")?;
        }
        if dims.is_empty_output() {
            return Ok(None);
        }
        if k == 0 {
            // SAFETY: C holds ≥ m*n f32 (checked above). act(0) = 0 for every activation.
            unsafe { drv::memset_d8_async(c_ptr, 0, m * n * 4, stream.cu_stream()) }.during("zero-filling C")?;
            return Ok(None);
        }
        let mut layer_state = opts_layer.map(|l| lock(&l.state));
        // The variant and its loaded module (loaded once, whether named or planned).
        let (entry, v) = match explicit {
            Some(e) => (e, self.load(e)?),
            None => {
                let observed = layer_state.as_mut().map_or([None, None], |s| {
                    s.poll();
                    s.observed
                });
                let density_b = prepared_b.map(PreparedB::density).or(observed[Operand::B as usize]);
                let density = adaptive::combined_density(observed[Operand::A as usize], density_b);
                let plans = adaptive::plan(self.table.as_ref(), &req, density, self.cublas_present, &|n| self.extra_entry(n));
                let mut chosen = None;
                for p in plans {
                    match p {
                        Plan::Cublas => {
                            drop(_a_guard);
                            drop(_b_guard);
                            drop(_c_guard);
                            self.cublas_sgemm(stream, a, b, c, dims, BlasMath::Fp32)?;
                            if let Some(state) = layer_state.as_mut() {
                                if state.count_call() {
                                    self.probe_a_density(stream, a, dims, state)?;
                                }
                            }
                            return Ok(Some(tuned::CUBLAS_SGEMM));
                        }
                        Plan::Variant(e) => {
                            // Validate the candidate for this call (loads, launch geometry);
                            // fall back to the next one instead of failing.
                            if let Ok(v) = self.load(e) {
                                if self.fits(&v, dims) {
                                    chosen = Some((e, v));
                                    break;
                                }
                            }
                        }
                    }
                }
                chosen.ok_or_else(|| Error::NoVariant(format!("no loadable variant for activation {}, col_nnz {}", req.activation.tag(), req.col_nnz)))?
            }
        };
        let spec = &entry.spec;
        let ws = self.workspace(stream);
        let mut ws = lock(&ws);
        let kw = k.div_ceil(32);
        let a_pat = if spec.sparsity.uses_a_pattern() {
            Workspace::pattern(&mut ws.a_pat, stream, m.div_ceil(spec.a_granularity.max(1) as usize) * kw)?
        } else {
            0
        };
        // B pattern: the prepared one when the variant reads (not writes) it; else the workspace.
        let prepared_pat = match (prepared_b, spec.preprocess) {
            (Some(p), Preprocess::OfflineB | Preprocess::Separate) if spec.sparsity.uses_b_pattern() => {
                p.pattern(spec.b_granularity)
            }
            _ => None,
        };
        let _prepared_guard;
        let b_pat = if let Some(p) = prepared_pat {
            let (ptr, g) = p.device_ptr(stream);
            _prepared_guard = g;
            ptr
        } else if spec.preprocess == Preprocess::OfflineB {
            return Err(Error::VariantMismatch {
                name: entry.name.into(),
                reason: format!("it reads an offline B pattern of granularity {}; pass prepared_b", spec.b_granularity),
            });
        } else if spec.sparsity.uses_b_pattern() {
            Workspace::pattern(&mut ws.b_pat, stream, n.div_ceil(spec.b_granularity.max(1) as usize) * kw)?
        } else {
            0
        };
        let sparse = spec.sparsity != esmm_spec::Sparsity::Dense;
        let persistent = entry.launches.iter().any(|l| matches!(l.grid, GridRule::Persistent { .. }));
        let (ctrl, ones, epoch) = if sparse || persistent {
            let blocks = m.div_ceil(spec.a_granularity.max(1) as usize).max(n.div_ceil(spec.b_granularity.max(1) as usize));
            let (ctrl, ones) = (ws.ctrl()?, ws.ones(blocks * kw)?);
            let epoch = ws.next_epoch();
            // Weights prepared offline with an Inf or NaN: this call skips nothing.
            if prepared_pat.is_some() && prepared_b.is_some_and(PreparedB::has_nonfinite) {
                // SAFETY: ctrl holds 4 u32 (allocated by the workspace).
                unsafe { cudarc::driver::sys::cuMemsetD32Async(ctrl + 8, epoch, 1, stream.cu_stream()) }.result().during("marking a non-finite B")?;
            }
            (ctrl, ones, epoch)
        } else {
            (0, 0, 0)
        };
        let (mi, ni, ki) = (m as i32, n as i32, k as i32);
        for (i, l) in entry.launches.iter().enumerate() {
            let args = match l.stage {
                Stage::PatternA => vec![Arg::Ptr(a_ptr), Arg::Int(mi), Arg::Int(ki), Arg::Ptr(a_pat), Arg::Ptr(ctrl), Arg::U32(epoch)],
                Stage::PatternB => {
                    if prepared_pat.is_some() {
                        continue; // computed once by prepare_b
                    }
                    vec![Arg::Ptr(b_ptr), Arg::Int(ki), Arg::Int(ni), Arg::Ptr(b_pat), Arg::Ptr(ctrl), Arg::U32(epoch)]
                }
                Stage::Gemm => vec![
                    Arg::Ptr(a_ptr),
                    Arg::Ptr(b_ptr),
                    Arg::Ptr(c_ptr),
                    Arg::Int(mi),
                    Arg::Int(ni),
                    Arg::Int(ki),
                    Arg::Ptr(a_pat),
                    Arg::Ptr(b_pat),
                    Arg::Ptr(nnz_ptr),
                    Arg::Ptr(ctrl),
                    Arg::Ptr(ones),
                    Arg::U32(epoch),
                ],
            };
            match stage_events.as_mut() {
                None => self.launch(stream, &v, i, dims, &args)?,
                Some(se) => {
                    let timed = || self.ctx.new_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT));
                    let (start, end) = (timed().during("creating an event")?, timed().during("creating an event")?);
                    start.record(stream).during("recording an event")?;
                    self.launch(stream, &v, i, dims, &args)?;
                    end.record(stream).during("recording an event")?;
                    se.events.push((l.stage, start, end));
                }
            }
        }
        if let Some(state) = layer_state.as_mut() {
            if state.count_call() {
                if a_pat != 0 {
                    let blocks = m.div_ceil(spec.a_granularity.max(1) as usize);
                    let src = ws.a_pat.as_ref().expect("a_pat is allocated when a_pat != 0");
                    Self::read_back(stream, src, blocks * kw, (blocks * k) as u64, state, Operand::A)?;
                }
                // The B pattern this call extracted itself (not a PreparedB's).
                if b_pat != 0 && prepared_pat.is_none() {
                    let blocks = n.div_ceil(spec.b_granularity.max(1) as usize);
                    let src = ws.b_pat.as_ref().expect("b_pat is allocated when extracted");
                    Self::read_back(stream, src, blocks * kw, (blocks * k) as u64, state, Operand::B)?;
                }
            }
        }
        drop(ws);
        Ok(Some(entry.name))
    }

    /// Enqueues an asynchronous copy of the first `words` of a pattern to pinned memory; the
    /// layer counts it on a later call, once the copy has landed.
    fn read_back(
        stream: &Arc<CudaStream>,
        src: &CudaSlice<u32>,
        words: usize,
        bits: u64,
        state: &mut LayerState,
        op: Operand,
    ) -> Result<()> {
        let i = op as usize;
        if state.pending[i].is_some() || words == 0 {
            return Ok(()); // one readback per operand in flight at a time
        }
        if state.host[i].as_ref().is_none_or(|h| h.len() < words) {
            // SAFETY: pinned host memory, only read after the copy into it has completed.
            let host = unsafe { stream.context().alloc_pinned_with_flags::<u32>(words.next_power_of_two(), 0) }
                .during("allocating pinned memory")?;
            state.host[i] = Some(host);
        }
        let host = state.host[i].as_mut().expect("allocated above");
        stream.memcpy_dtoh(&src.slice(..words), host).during("copying a pattern back")?;
        let done = stream.record_event(None).during("recording the readback event")?;
        state.pending[i] = Some(PendingReadback { done, bits, words });
        Ok(())
    }

    /// Dense path: extracts the A pattern (64-row granularity) with a generated pattern-A kernel
    /// so the layer can notice sparse activations; skipped when no such kernel is compiled.
    fn probe_a_density<A: DevicePtr<f32>>(&self, stream: &Arc<CudaStream>, a: &A, dims: Dims, state: &mut LayerState) -> Result<()> {
        let Some((v, i)) = self.stage_kernel(Stage::PatternA, GridRule::PatternA { rows: 64 }) else {
            return Ok(());
        };
        let Dims { m, k, .. } = dims;
        let words = m.div_ceil(64) * k.div_ceil(32);
        let ws = self.workspace(stream);
        let mut ws = lock(&ws);
        let pat = Workspace::pattern(&mut ws.a_pat, stream, words)?;
        let ctrl = ws.ctrl()?;
        let epoch = ws.next_epoch();
        let (a_ptr, _g) = a.device_ptr(stream);
        let args = [Arg::Ptr(a_ptr), Arg::Int(m as i32), Arg::Int(k as i32), Arg::Ptr(pat), Arg::Ptr(ctrl), Arg::U32(epoch)];
        self.launch(stream, &v, i, dims, &args)?;
        let src = ws.a_pat.as_ref().expect("allocated above");
        Self::read_back(stream, src, words, (m.div_ceil(64) * k) as u64, state, Operand::A)
    }

    /// Computes the B patterns (granularities 32 and 8) of a static `K×N` B once, on `stream`,
    /// with a generated pattern-B kernel when the registry has one (else on the host). Pass the
    /// result as `MatmulOptions::prepared_b` with the same B buffer.
    pub fn prepare_b<B: DevicePtr<f32>>(
        &self,
        stream: &Arc<CudaStream>,
        b: &B,
        k: usize,
        n: usize,
    ) -> Result<PreparedB> {
        self.check_stream(stream)?;
        let dims = Dims::new(1, n, k);
        dims.check()?;
        self.check_buffer("B", b, k * n)?;
        let (b_ptr, _b_guard) = b.device_ptr(stream);
        check_align("B", b_ptr)?;
        let kw = k.div_ceil(32);
        let mut patterns = Vec::new();
        let mut host_b: Option<Vec<f32>> = None;
        // ctrl[2] becomes 1 when a pattern kernel sees an Inf or NaN in B.
        let mut ctrl = stream.alloc_zeros::<u32>(4).during("allocating control words")?;
        let mut nonfinite = false;
        for g in PREPARED_GRANULARITIES {
            let words = n.div_ceil(g as usize) * kw;
            let mut pat = stream.alloc_zeros::<u32>(words.max(1)).during("allocating a prepared B pattern")?;
            if words > 0 {
                match self.pattern_b_kernel(g) {
                    Some((v, i)) => {
                        let (p, _g) = pat.device_ptr_mut(stream);
                        let (c, _cg) = ctrl.device_ptr_mut(stream);
                        let args = [Arg::Ptr(b_ptr), Arg::Int(k as i32), Arg::Int(n as i32), Arg::Ptr(p), Arg::Ptr(c), Arg::U32(1)];
                        self.launch(stream, &v, i, dims, &args)?;
                    }
                    None => {
                        if host_b.is_none() {
                            host_b = Some(stream.clone_dtoh(b).during("copying B to the host")?);
                        }
                        let hb = host_b.as_ref().expect("set above");
                        nonfinite |= hb[..k * n].iter().any(|x| !x.is_finite());
                        let host = crate::reference::pattern_b(hb, k, n, g as usize);
                        stream.memcpy_htod(&host, &mut pat).during("uploading a B pattern")?;
                    }
                }
            }
            patterns.push((g, pat));
        }
        nonfinite |= stream.clone_dtoh(&ctrl).during("reading the non-finite flag")?[2] != 0;
        // One download at preparation time (weights are prepared once): the B density.
        let density = match patterns.iter().find(|(g, _)| *g == 32) {
            Some((_, p)) if k > 0 && n > 0 => {
                let words = stream.clone_dtoh(p).during("reading the B pattern back")?;
                let set: u64 = words.iter().map(|w| u64::from(w.count_ones())).sum();
                set as f64 / (n.div_ceil(32) as f64 * k as f64)
            }
            _ => 1.0,
        };
        Ok(PreparedB { ctx: self.ctx.clone(), b_addr: b_ptr, k, n, patterns, density, nonfinite })
    }

    /// A compiled, loadable pattern-B kernel of granularity `cols` from any registry entry.
    fn pattern_b_kernel(&self, cols: u32) -> Option<(Arc<LoadedVariant>, usize)> {
        self.stage_kernel(Stage::PatternB, GridRule::PatternB { cols })
    }

    /// A compiled, loadable kernel of one stage and grid rule from any registry entry.
    fn stage_kernel(&self, stage: Stage, grid: GridRule) -> Option<(Arc<LoadedVariant>, usize)> {
        for e in dispatch::REGISTRY {
            let Some(i) = e.launches.iter().position(|l| l.stage == stage && l.grid == grid)
            else {
                continue;
            };
            if dispatch::fatbin(e.name).is_none() || self.info.arch.is_some_and(|a| !e.spec.archs.contains(a)) {
                continue;
            }
            if let Ok(v) = self.load(e) {
                return Some((v, i));
            }
        }
        None
    }

    /// The shared cuBLAS handle (created on first use), locked and bound to `stream`. The lock
    /// is held while the caller uses it.
    fn blas_on(&self, stream: &Arc<CudaStream>) -> Result<MutexGuard<'_, Option<CudaBlas>>> {
        let mut slot = lock(&self.blas);
        if slot.is_none() {
            *slot = Some(CudaBlas::new(stream.clone())?);
        }
        let blas = slot.as_mut().expect("created above");
        // SAFETY: the handle is only used under this lock, on `stream`.
        unsafe { blas.set_stream(stream.clone()) }?;
        Ok(slot)
    }

    /// Relative Frobenius error `‖got − reference‖ / ‖reference‖` of the first `len` elements,
    /// computed on the GPU with cuBLAS (a copy into `scratch`, an axpy and two norms), so that
    /// large outputs need not travel to the host. NaN or Inf anywhere in `got` gives a non-finite
    /// result. Blocks until the result is known.
    pub fn relative_error_on_device(
        &self,
        stream: &Arc<CudaStream>,
        got: &CudaSlice<f32>,
        reference: &CudaSlice<f32>,
        scratch: &mut CudaSlice<f32>,
        len: usize,
    ) -> Result<f64> {
        if !self.cublas_present {
            return Err(Error::NoCublas);
        }
        self.check_stream(stream)?;
        for (what, have) in [("got", got.len()), ("reference", reference.len()), ("scratch", scratch.len())] {
            check_len(what, have, len)?;
        }
        let n = i32::try_from(len).map_err(|_| Error::InvalidArgument(format!("{len} elements exceed i32::MAX")))?;
        if n == 0 {
            return Ok(0.0);
        }
        stream.memcpy_dtod(&got.slice(..len), &mut scratch.slice_mut(..len)).during("copying C")?;
        let mut slot = self.blas_on(stream)?;
        let blas = slot.as_mut().expect("created by blas_on");
        let (r_ptr, _rg) = reference.device_ptr(stream);
        let (s_ptr, _sg) = scratch.device_ptr_mut(stream);
        let (mut num, mut den) = (0.0f32, 0.0f32);
        let minus_one = -1.0f32;
        // SAFETY: both buffers hold ≥ len f32 (checked above); host pointer mode (the default)
        // makes nrm2 write the host scalars and return once they are known.
        unsafe {
            blas_sys::cublasSaxpy_v2(*blas.handle(), n, &minus_one, r_ptr as *const f32, 1, s_ptr as *mut f32, 1).result()?;
            blas_sys::cublasSnrm2_v2(*blas.handle(), n, s_ptr as *const f32, 1, &mut num).result()?;
            blas_sys::cublasSnrm2_v2(*blas.handle(), n, r_ptr as *const f32, 1, &mut den).result()?;
        }
        let (num, den) = (f64::from(num), f64::from(den));
        Ok(if den == 0.0 { num } else { num / den })
    }

    /// cuBLAS baseline: row-major `C = A · B` (f32) on `stream` via `C^T = B^T · A^T` in
    /// column-major SGEMM, FP32 or TF32 math. Same shape rules as [`Esmm::matmul`].
    pub fn cublas_sgemm<A, B, C>(
        &self,
        stream: &Arc<CudaStream>,
        a: &A,
        b: &B,
        c: &mut C,
        dims: Dims,
        math: BlasMath,
    ) -> Result<()>
    where
        A: DevicePtr<f32>,
        B: DevicePtr<f32>,
        C: DevicePtrMut<f32>,
    {
        if !self.cublas_present {
            return Err(Error::NoCublas);
        }
        self.check_stream(stream)?;
        dims.check()?;
        let Dims { m, n, k } = dims;
        self.check_buffer("A", a, m * k)?;
        self.check_buffer("B", b, k * n)?;
        self.check_buffer("C", c, m * n)?;
        if dims.is_empty_output() {
            return Ok(());
        }
        if k == 0 {
            let (c_ptr, _g) = c.device_ptr_mut(stream);
            // SAFETY: C holds ≥ m*n f32 (checked above).
            unsafe { drv::memset_d8_async(c_ptr, 0, m * n * 4, stream.cu_stream()) }.during("zero-filling C")?;
            return Ok(());
        }
        let mut slot = self.blas_on(stream)?;
        let blas = slot.as_mut().expect("created by blas_on");
        let mode = match math {
            BlasMath::Fp32 => blas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH,
            BlasMath::Tf32 => blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH,
        };
        // SAFETY: valid handle.
        unsafe { blas_sys::cublasSetMathMode(*blas.handle(), mode) }.result()?;
        let cfg = GemmConfig {
            transa: blas_sys::cublasOperation_t::CUBLAS_OP_N,
            transb: blas_sys::cublasOperation_t::CUBLAS_OP_N,
            m: n as i32,
            n: m as i32,
            k: k as i32,
            alpha: 1.0f32,
            lda: n as i32,
            ldb: k as i32,
            beta: 0.0f32,
            ldc: n as i32,
        };
        // SAFETY: lengths checked against the shape above.
        unsafe { blas.gemm(cfg, b, a, c) }?;
        Ok(())
    }
}
