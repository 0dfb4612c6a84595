//! The GPU: opening a context, what the handle knows about the device, and whether this build
//! has code for its architecture.

use std::sync::Arc;

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::CudaContext;
use esmm_spec::Arch;

use crate::dispatch::registry::{build_supports, COMPILED_ARCHS, PTX_ARCH};
use crate::error::{DriverContext, Error, Result};

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
    /// Peak SM clock in kHz as the driver reports it (0 when it does not).
    pub clock_khz: u32,
    /// Peak memory clock in kHz (0 when the driver does not report it).
    pub mem_clock_khz: u32,
    /// Memory bus width in bits (0 when the driver does not report it).
    pub mem_bus_bits: u32,
}

impl DeviceInfo {
    /// Peak memory bandwidth from the driver's memory clock and bus width (double data rate),
    /// GB/s; 0 when unknown. A specification, not a measurement (the benchmarks measure it).
    pub fn mem_bandwidth_gbps(&self) -> f64 {
        2.0 * f64::from(self.mem_clock_khz) * 1e3 * f64::from(self.mem_bus_bits) / 8.0 / 1e9
    }
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

/// Opens GPU `ordinal` and reads its properties. Errors (never panics) when there is no CUDA
/// driver, no such device, or no compiled kernel for its architecture.
pub fn open(ordinal: usize) -> Result<(Arc<CudaContext>, DeviceInfo)> {
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
        arch: Arch::for_compute_capability(cc),
        // Informational (the compressed-weights rule); a driver that no longer reports them
        // gives 0, never an error.
        clock_khz: ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).unwrap_or(0).max(0) as u32,
        mem_clock_khz: ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE).unwrap_or(0).max(0) as u32,
        mem_bus_bits: ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH).unwrap_or(0).max(0) as u32,
    };
    if !build_supports(cc) {
        return Err(Error::UnsupportedGpu {
            name: info.name,
            compute_capability: cc,
            compiled: COMPILED_ARCHS.to_vec(),
            ptx: PTX_ARCH,
        });
    }
    Ok((ctx, info))
}
