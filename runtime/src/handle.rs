//! [`Esmm`], the handle for one GPU: its context, loaded modules, per-stream workspaces, the
//! baselines, the tuned table and the plan cache. The operations live in [`crate::ops`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaStream, DevicePtr, DevicePtrMut, DeviceSlice};
use esmm_spec::tuned::gpu_slug;
use esmm_spec::RegistryEntry;

use crate::baseline::{Baseline, BaselineKind, BaselineMath, Baselines};
use crate::device::{self, cublas_present, DeviceInfo};
use crate::dispatch::policy::{spec_mismatch, variant_by_name, Request};
use crate::dispatch::registry::fatbin;
use crate::dispatch::tuned::{self, TunedTable};
use crate::error::{Error, Result};
use crate::lock;
use crate::modules::{LoadedVariant, ModuleCache};
use crate::ops::esmm::plan::PlanCache;
use crate::validate::{check_len, Dims};
use crate::workspace::Workspaces;

/// The esmm handle for one GPU.
///
/// Thread safety: `Esmm` is `Send + Sync`. One handle may be shared (e.g. in an `Arc`) by
/// several threads, each launching on its own stream or on a shared one. Loaded modules and
/// plans are cached per handle behind mutexes; workspaces are kept per stream (work on one
/// stream is ordered, so reusing its workspace is safe); the cuBLAS handle is shared under a
/// lock.
pub struct Esmm {
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) info: DeviceInfo,
    pub(crate) modules: ModuleCache,
    pub(crate) workspaces: Workspaces,
    pub(crate) baselines: Baselines,
    pub(crate) cublas_present: bool,
    /// Variants registered at run time (the tuner's sweep candidates): name → (entry, fatbin).
    extra: Mutex<HashMap<&'static str, (&'static RegistryEntry, &'static [u8])>>,
    /// This GPU's tuned table, stale measurements removed (see [`crate::dispatch::tuned`]).
    pub(crate) table: Option<TunedTable>,
    pub(crate) plans: PlanCache,
    /// The pattern-A kernel a dense-path layer probes with (found once).
    pub(crate) probe_kernel: OnceLock<Option<(Arc<LoadedVariant>, usize)>>,
}

impl Esmm {
    /// Opens GPU `ordinal`. Errors (never panics) when there is no CUDA driver
    /// ([`Error::NoDriver`]), no such device, or when this build has no kernel for the GPU's
    /// architecture ([`Error::UnsupportedGpu`]). Prints one warning per problem with the tuned
    /// table (corrupted, foreign, stale measurements), then dispatches without what it dropped.
    pub fn new(ordinal: usize) -> Result<Esmm> {
        let (ctx, info) = device::open(ordinal)?;
        let loaded = tuned::load_for_gpu(&gpu_slug(&info.name));
        for w in &loaded.warnings {
            eprintln!("esmm: warning: {w}");
        }
        Ok(Esmm {
            baselines: Baselines::new(ctx.clone()),
            ctx,
            info,
            modules: ModuleCache::default(),
            workspaces: Workspaces::default(),
            cublas_present: cublas_present(),
            extra: Mutex::new(HashMap::new()),
            table: loaded.table,
            plans: PlanCache::default(),
            probe_kernel: OnceLock::new(),
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

    /// The tuned table the handle dispatches from (None: heuristic dispatch).
    pub fn tuned_table(&self) -> Option<&TunedTable> {
        self.table.as_ref()
    }

    /// The same-process cuBLAS / cuBLASLt baselines on this handle's context.
    pub fn baselines(&self) -> &Baselines {
        &self.baselines
    }

    /// cuBLAS baseline: row-major f32 `C = A · B` on `stream` with FP32 (SGEMM) or TF32 math.
    /// Same shape rules as [`Esmm::matmul`].
    pub fn cublas_sgemm<A, B, C>(&self, stream: &Arc<CudaStream>, a: &A, b: &B, c: &mut C, dims: Dims, math: BaselineMath) -> Result<()>
    where
        A: DevicePtr<f32>,
        B: DevicePtr<f32>,
        C: DevicePtrMut<f32>,
    {
        self.baselines.gemm(Baseline::new(BaselineKind::Cublas, math), stream, a, b, c, dims)
    }

    /// Registers variants compiled at run time (e.g. by the autotuner) so that they can be
    /// named in `MatmulOptions::variant`. Entries and fatbins live as long as the process.
    pub fn add_variants(&self, variants: Vec<(RegistryEntry, Vec<u8>)>) -> Result<()> {
        let mut extra = lock(&self.extra);
        for (entry, bytes) in variants {
            if crate::dispatch::registry::entry(entry.name).is_some() || extra.contains_key(entry.name) {
                continue;
            }
            let entry: &'static RegistryEntry = Box::leak(Box::new(entry));
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            extra.insert(entry.name, (entry, bytes));
        }
        // Plans made before may now have better candidates.
        self.plans.clear();
        Ok(())
    }

    /// A variant registered at run time.
    pub(crate) fn extra_entry(&self, name: &str) -> Option<&'static RegistryEntry> {
        lock(&self.extra).get(name).map(|(e, _)| *e)
    }

    /// Looks a variant up by name in the registry, then among the run-time variants.
    /// A run-time variant is found without going through the registry's unknown-name error,
    /// whose spelling suggestions (edit distances to every registered name) cost about a
    /// millisecond: on every call of a forced run-time variant that starved the GPU, and the
    /// tuner timed the host instead of the kernel (H200, gemv sweep: 0.85 ms per call).
    pub(crate) fn variant_by_name(&self, name: &str, req: &Request) -> Result<&'static RegistryEntry> {
        if crate::dispatch::registry::entry(name).is_none() {
            if let Some(entry) = self.extra_entry(name) {
                return match spec_mismatch(entry, req) {
                    None => Ok(entry),
                    Some(reason) => Err(Error::VariantMismatch { name: name.to_string(), reason }),
                };
            }
        }
        variant_by_name(name, req)
    }

    /// Loads (once) the module of a registry or run-time variant.
    pub(crate) fn load(&self, entry: &'static RegistryEntry) -> Result<Arc<LoadedVariant>> {
        let bytes = fatbin(entry.name)
            .or_else(|| lock(&self.extra).get(entry.name).map(|(_, b)| *b))
            .ok_or_else(|| Error::VariantMismatch { name: entry.name.into(), reason: "it is not compiled into this build".into() })?;
        self.modules.load(&self.ctx, &self.info, entry, bytes)
    }

    pub(crate) fn check_stream(&self, stream: &Arc<CudaStream>) -> Result<()> {
        if !Arc::ptr_eq(stream.context(), &self.ctx) {
            return Err(Error::InvalidArgument("the stream belongs to another CUDA context than this handle".into()));
        }
        Ok(())
    }

    pub(crate) fn check_buffer<T>(&self, what: &str, buf: &impl DeviceSlice<T>, needed: usize) -> Result<()> {
        if !Arc::ptr_eq(buf.stream().context(), &self.ctx) {
            return Err(Error::InvalidArgument(format!("{what} lives in another CUDA context than this handle")));
        }
        check_len(what, buf.len(), needed)
    }
}
