//! Lazily loaded kernel modules: a variant's fatbin is loaded on first use, its functions found
//! by their derived symbols, shared-memory limits raised and occupancy read once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::sys::CUfunction_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;
use esmm_spec::RegistryEntry;

use crate::device::DeviceInfo;
use crate::error::{DriverContext, Error, Result};
use crate::lock;

/// Dynamic shared memory a kernel may use without opting in.
const DEFAULT_SMEM_LIMIT: u32 = 48 * 1024;

/// A variant whose module is loaded: one function per launch, in launch order.
pub(crate) struct LoadedVariant {
    pub(crate) entry: &'static RegistryEntry,
    pub(crate) functions: Vec<CudaFunction>,
    /// Max active CTAs per SM for each launch (used by persistent launches and the gemv split;
    /// 0 otherwise).
    pub(crate) max_ctas_per_sm: Vec<u32>,
    /// Max active CTAs per SM by (launch, dynamic shared-memory bytes), queried once per size
    /// (launches whose shared memory follows the call: family gemv).
    occupancy_by_smem: Mutex<HashMap<(usize, u32), u32>>,
    _module: Arc<CudaModule>,
}

impl LoadedVariant {
    /// Max active CTAs per SM of launch `i` when it is given `smem` bytes of dynamic shared
    /// memory (the driver's answer, cached per size).
    pub(crate) fn occupancy_with(&self, i: usize, smem: u32) -> Result<u32> {
        if let Some(&c) = lock(&self.occupancy_by_smem).get(&(i, smem)) {
            return Ok(c);
        }
        let l = &self.entry.launches[i];
        let c = self.functions[i]
            .occupancy_max_active_blocks_per_multiprocessor(l.threads, smem as usize, None)
            .during(&format!("querying the occupancy of {}", l.symbol(self.entry.name)))?;
        lock(&self.occupancy_by_smem).insert((i, smem), c);
        Ok(c)
    }
}

/// Loaded variants by name (one per handle).
#[derive(Default)]
pub(crate) struct ModuleCache {
    loaded: Mutex<HashMap<&'static str, Arc<LoadedVariant>>>,
}

impl ModuleCache {
    /// Loads (once) the module of `entry` from `fatbin`.
    pub(crate) fn load(&self, ctx: &Arc<CudaContext>, info: &DeviceInfo, entry: &'static RegistryEntry, fatbin: &[u8]) -> Result<Arc<LoadedVariant>> {
        let mut cache = lock(&self.loaded);
        if let Some(v) = cache.get(entry.name) {
            return Ok(v.clone());
        }
        let module = ctx.load_module(Ptx::from_binary(fatbin.to_vec())).during(&format!("loading the module of {}", entry.name))?;
        let mut functions = Vec::new();
        let mut max_ctas_per_sm = Vec::new();
        for l in entry.launches {
            let symbol = l.symbol(entry.name);
            let f = module.load_function(&symbol).during(&format!("finding kernel {symbol}"))?;
            if l.dynamic_smem > info.max_smem_optin {
                return Err(Error::VariantMismatch {
                    name: entry.name.into(),
                    reason: format!("{symbol} needs {} B of shared memory; this GPU allows {} B per CTA", l.dynamic_smem, info.max_smem_optin),
                });
            }
            if l.dynamic_smem > DEFAULT_SMEM_LIMIT {
                f.set_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, l.dynamic_smem as i32)
                    .during(&format!("raising the shared-memory limit of {symbol}"))?;
            }
            let ctas = if l.cooperative() {
                if !info.cooperative_launch {
                    return Err(Error::VariantMismatch {
                        name: entry.name.into(),
                        reason: "it needs cooperative launch, which this GPU does not support".into(),
                    });
                }
                f.occupancy_max_active_blocks_per_multiprocessor(l.threads, l.dynamic_smem as usize, None)
                    .during(&format!("querying the occupancy of {symbol}"))?
            } else if matches!(l.grid, esmm_spec::GridRule::Gemv { .. }) || matches!(entry.spec, esmm_spec::KernelSpec::Rans(_)) {
                // The gemv and rans k-splits fill one wave of resident CTAs.
                f.occupancy_max_active_blocks_per_multiprocessor(l.threads, l.dynamic_smem as usize, None)
                    .during(&format!("querying the occupancy of {symbol}"))?
            } else {
                0
            };
            functions.push(f);
            max_ctas_per_sm.push(ctas);
        }
        let v = Arc::new(LoadedVariant { entry, functions, max_ctas_per_sm, occupancy_by_smem: Mutex::default(), _module: module });
        cache.insert(entry.name, v.clone());
        Ok(v)
    }
}
