//! TMA tensor maps for the wgmma path: each K-major operand (A, M×K; Bᵀ, N×K) is described to
//! the copy engine as a 2-D tensor {K, rows} with a 128-byte swizzle and zero fill, so K, M and
//! N tails load as zeros.

use cudarc::driver::sys;
use esmm_spec::{ElemType, TcSpec};

use crate::error::{Error, Result};
use crate::launch::TensorMap;

/// The box (elements of k × rows) one TMA load of A (`b = false`) or Bᵀ (`b = true`) fills, as
/// `templates/tc/wgmma.cuh` issues them: one 128-byte k slice of 64 rows of A; of Bᵀ, one wgmma
/// chunk of columns (the B pattern's column group when the variant skips per group, else BN).
pub(crate) fn box_dims(s: &TcSpec, b: bool) -> (u32, u32) {
    if !b {
        return (s.bk, 64);
    }
    let chunk = if s.sparsity == esmm_spec::TcSparsity::Joint && s.b_cols < s.bn { s.b_cols.max(64) } else { s.bn };
    (s.bk, chunk)
}

/// Encodes the map of a row-major `rows × k` operand with leading dimension `ld` (elements).
/// `ld · size` must be a multiple of 16 and `ptr` 16-byte aligned (the op packs other views).
pub(crate) fn encode(ptr: u64, elem: ElemType, k: usize, rows: usize, ld: usize, boxes: (u32, u32)) -> Result<TensorMap> {
    use sys::CUtensorMapDataType_enum as T;
    let dtype = match elem {
        ElemType::Bf16 => T::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
        ElemType::F16 => T::CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
        ElemType::F32 => T::CU_TENSOR_MAP_DATA_TYPE_FLOAT32,
    };
    let dims = [k as u64, rows as u64];
    let strides = [(ld * elem.size() as usize) as u64];
    let box_dims = [boxes.0, boxes.1];
    let elem_strides = [1u32, 1];
    let mut map = std::mem::MaybeUninit::<sys::CUtensorMap>::zeroed();
    // SAFETY: every array holds `rank` (2) entries (strides rank − 1); the map is written by
    // the driver; the address stays owned by the caller for the launch.
    let r = unsafe {
        sys::cuTensorMapEncodeTiled(
            map.as_mut_ptr(),
            dtype,
            2,
            ptr as *mut std::ffi::c_void,
            dims.as_ptr(),
            strides.as_ptr(),
            box_dims.as_ptr(),
            elem_strides.as_ptr(),
            sys::CUtensorMapInterleave_enum::CU_TENSOR_MAP_INTERLEAVE_NONE,
            sys::CUtensorMapSwizzle_enum::CU_TENSOR_MAP_SWIZZLE_128B,
            sys::CUtensorMapL2promotion_enum::CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
            sys::CUtensorMapFloatOOBfill_enum::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
        )
    };
    if r != sys::cudaError_enum::CUDA_SUCCESS {
        return Err(Error::InvalidArgument(format!(
            "cuTensorMapEncodeTiled({k}x{rows}, ld {ld}, box {box_dims:?}) failed: {r:?}"
        )));
    }
    // SAFETY: written by the driver above; CUtensorMap is 16 u64 words.
    let map = unsafe { map.assume_init() };
    Ok(TensorMap(map.opaque))
}
