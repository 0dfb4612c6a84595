//! Helpers for test suites and the tuner (feature `testing`; not part of the default API).

use std::sync::Arc;

use cudarc::cublas::{sys as blas_sys, CudaBlas};
use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};

use crate::error::{DriverContext, Error, Result};
use crate::validate::check_len;

/// Relative Frobenius error `‖got − reference‖ / ‖reference‖` of the first `len` elements,
/// computed on the GPU with cuBLAS (a copy into `scratch`, an axpy and two norms), so that large
/// outputs need not travel to the host. NaN or Inf anywhere in `got` gives a non-finite result.
/// Blocks until the result is known.
pub fn relative_error_on_device(
    blas: &mut CudaBlas,
    stream: &Arc<CudaStream>,
    got: &CudaSlice<f32>,
    reference: &CudaSlice<f32>,
    scratch: &mut CudaSlice<f32>,
    len: usize,
) -> Result<f64> {
    for (what, have) in [("got", got.len()), ("reference", reference.len()), ("scratch", scratch.len())] {
        check_len(what, have, len)?;
    }
    let n = i32::try_from(len).map_err(|_| Error::InvalidArgument(format!("{len} elements exceed i32::MAX")))?;
    if n == 0 {
        return Ok(0.0);
    }
    stream.memcpy_dtod(&got.slice(..len), &mut scratch.slice_mut(..len)).during("copying C")?;
    // SAFETY: the handle is used on `stream` only here.
    unsafe { blas.set_stream(stream.clone()) }?;
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
