//! Same-process cuBLAS and cuBLASLt baselines: row-major `C[M×N] = A[M×K] · B[K×N]` as FP32
//! SGEMM, TF32, or bf16/f16 inputs with fp32 compute (`CUBLAS_COMPUTE_32F`), writing f32 or the
//! inputs' 16-bit type. Independent of [`crate::Esmm`]: a [`Baselines`] needs only the context.
//!
//! **Row-major mapping.** A row-major `R×C` matrix is the column-major `C×R` matrix with leading
//! dimension `C`, so both libraries compute the column-major `Cᵀ[N×M] = Bᵀ[N×K] · Aᵀ[K×M]` with
//! no transposes: `m' = N, n' = M, k' = K`, `lda = N` (B), `ldb = K` (A), `ldc = N` (C); see
//! [`col_major`]. Every leading dimension equals the row count of its column-major operand, so
//! it is ≥ 1 and valid for every non-empty shape. Decode GEMV (`M = 1..16`) is plain [`Baselines::gemm`]
//! with small M: for `M = 1`, `x[1×K] · W[K×N]` becomes `Wᵀ·x` with `n' = 1`, `ldb = K`,
//! `ldc = N` (never the degenerate `ld = M = 1` of a row vector), which cuBLAS may serve with a
//! GEMV kernel.
//!
//! **Sharing.** `Baselines` is `Send + Sync`. The cuBLAS handle, the cuBLASLt handle, its plan
//! cache and its workspace are created on first use and used under a lock; each call binds them
//! to the caller's stream. cudarc's event tracking orders uses of the workspace across streams.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cudarc::cublas::{sys as bs, CudaBlas};
use cudarc::cublaslt::{result as lt_result, sys as lt};
use cudarc::driver::{result as drv, CudaContext, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, DeviceRepr, DeviceSlice};
use half::{bf16, f16};

use crate::error::{DriverContext, Error, Result};
use crate::validate::{check_len, Dims};

/// Most workspace a cuBLASLt algorithm may ask for (NVIDIA's recommendation for Hopper); the
/// buffer itself is grown to what the chosen algorithms need.
const LT_MAX_WORKSPACE: u64 = 32 << 20;
/// Cached cuBLASLt plans before the cache is cleared.
const LT_MAX_PLANS: usize = 256;

pub use esmm_spec::ElemType;

mod sealed {
    pub trait Sealed {}
}

/// A Rust element type the baselines accept (`f32`, `half::bf16`, `half::f16`; sealed).
pub trait BaselineElem: DeviceRepr + Copy + sealed::Sealed {
    /// Which element type it is.
    const TYPE: ElemType;
}

macro_rules! elem {
    ($t:ty, $e:ident) => {
        impl sealed::Sealed for $t {}
        impl BaselineElem for $t {
            const TYPE: ElemType = ElemType::$e;
        }
    };
}
elem!(f32, F32);
elem!(bf16, Bf16);
elem!(f16, F16);

/// Which library runs a baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaselineKind {
    /// `cublasGemmEx` (the classic cuBLAS API; default algorithm).
    Cublas,
    /// `cublasLtMatmul` with the heuristic's first algorithm (the other candidate for small M).
    CublasLt,
}

/// What a baseline computes. Scaling and accumulation are fp32 in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaselineMath {
    /// f32 inputs, plain FP32 math (SGEMM; `CUBLAS_COMPUTE_32F`).
    Fp32,
    /// f32 inputs rounded to TF32 on tensor cores (`CUBLAS_COMPUTE_32F_FAST_TF32`).
    Tf32,
    /// bf16 inputs, tensor cores, fp32 compute (`CUBLAS_COMPUTE_32F`).
    Bf16,
    /// f16 inputs, tensor cores, fp32 compute (`CUBLAS_COMPUTE_32F`).
    F16,
}

impl BaselineMath {
    /// The input element type this math reads.
    pub const fn input(self) -> ElemType {
        match self {
            BaselineMath::Fp32 | BaselineMath::Tf32 => ElemType::F32,
            BaselineMath::Bf16 => ElemType::Bf16,
            BaselineMath::F16 => ElemType::F16,
        }
    }
}

/// One baseline: a library and an arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Baseline {
    /// The library.
    pub kind: BaselineKind,
    /// The arithmetic.
    pub math: BaselineMath,
}

impl Baseline {
    /// Every baseline, cuBLAS first.
    pub const ALL: [Baseline; 8] = {
        use {BaselineKind::*, BaselineMath::*};
        let b = Baseline::new;
        [b(Cublas, Fp32), b(Cublas, Tf32), b(Cublas, Bf16), b(Cublas, F16),
         b(CublasLt, Fp32), b(CublasLt, Tf32), b(CublasLt, Bf16), b(CublasLt, F16)]
    };

    /// `Baseline { kind, math }`.
    pub const fn new(kind: BaselineKind, math: BaselineMath) -> Baseline {
        Baseline { kind, math }
    }

    /// Stable lowercase label for benchmark rows: `cublas_sgemm`, `cublas_tf32`, `cublas_bf16`,
    /// `cublas_f16` and the same with `cublaslt_`. The output type is not part of it (append
    /// [`ElemType::name`] where a table has both).
    pub const fn label(self) -> &'static str {
        use {BaselineKind::*, BaselineMath::*};
        match (self.kind, self.math) {
            (Cublas, Fp32) => "cublas_sgemm",
            (Cublas, Tf32) => "cublas_tf32",
            (Cublas, Bf16) => "cublas_bf16",
            (Cublas, F16) => "cublas_f16",
            (CublasLt, Fp32) => "cublaslt_sgemm",
            (CublasLt, Tf32) => "cublaslt_tf32",
            (CublasLt, Bf16) => "cublaslt_bf16",
            (CublasLt, F16) => "cublaslt_f16",
        }
    }

    /// Checks the element types of a call: inputs must be [`BaselineMath::input`]; the output
    /// f32, or the inputs' type for [`BaselineMath::Bf16`] / [`BaselineMath::F16`].
    pub fn check_types(self, input: ElemType, output: ElemType) -> Result<()> {
        let want = self.math.input();
        if input != want {
            let msg = format!("{} reads {} inputs, got {}", self.label(), want.tag(), input.tag());
            return Err(Error::InvalidArgument(msg));
        }
        if output != ElemType::F32 && output != want {
            let msg = format!("{} writes f32 or {} outputs, got {}", self.label(), want.tag(), output.tag());
            return Err(Error::InvalidArgument(msg));
        }
        Ok(())
    }
}

/// Column-major GEMM parameters of a row-major problem (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColMajor {
    /// Rows of the column-major output: N.
    pub m: i32,
    /// Columns of the column-major output: M.
    pub n: i32,
    /// Inner dimension: K.
    pub k: i32,
    /// Leading dimension of the first operand (row-major B): N.
    pub lda: i32,
    /// Leading dimension of the second operand (row-major A): K.
    pub ldb: i32,
    /// Leading dimension of the output (row-major C): N.
    pub ldc: i32,
}

/// Maps row-major `dims` to column-major parameters (operands swapped: first B, then A).
/// Leading dimensions are at least 1 even for zero sizes; errors when a size exceeds `i32::MAX`.
pub fn col_major(dims: Dims) -> Result<ColMajor> {
    let (m, n, k) = (to_i32("M", dims.m)?, to_i32("N", dims.n)?, to_i32("K", dims.k)?);
    Ok(ColMajor { m: n, n: m, k, lda: n.max(1), ldb: k.max(1), ldc: n.max(1) })
}

/// A size or leading dimension as the libraries' `int`; an error names it when it is too large.
fn to_i32(what: &str, x: usize) -> Result<i32> {
    i32::try_from(x).map_err(|_| Error::InvalidArgument(format!("{what} = {x} exceeds i32::MAX")))
}

/// Largest power of two (≤ 256) dividing a device address: what cuBLASLt may assume.
fn alignment(ptr: u64) -> u32 {
    if ptr == 0 { 256 } else { 1u32 << ptr.trailing_zeros().min(8) }
}

/// The baselines of one CUDA context. Creating one is cheap: libraries are probed and handles
/// created on first use. Never panics; errors name what to do.
pub struct Baselines {
    ctx: Arc<CudaContext>,
    has_blas: OnceLock<bool>,
    has_lt: OnceLock<bool>,
    blas: Mutex<Option<CudaBlas>>,
    lt: Mutex<Option<LtState>>,
}

/// An owned cuBLASLt object, destroyed (errors ignored) on drop.
struct Owned<H: Copy>(H, unsafe fn(H) -> lt::cublasStatus_t);

impl<H: Copy> Drop for Owned<H> {
    fn drop(&mut self) {
        // SAFETY: created by the matching create call, destroyed once.
        let _ = unsafe { (self.1)(self.0) };
    }
}

/// A ready cuBLASLt call for one shape, type combination and alignment.
struct LtPlan {
    desc: Owned<lt::cublasLtMatmulDesc_t>,
    /// Layouts of the first operand (row-major B), the second (row-major A), and C.
    layouts: [Owned<lt::cublasLtMatrixLayout_t>; 3],
    algo: lt::cublasLtMatmulAlgo_t,
    workspace: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PlanKey {
    dims: Dims,
    math: BaselineMath,
    out: ElemType,
    /// Alignments of row-major B, A and C.
    align: [u32; 3],
}

struct LtState {
    handle: Owned<lt::cublasLtHandle_t>,
    plans: HashMap<PlanKey, LtPlan>,
    workspace: Option<CudaSlice<u8>>,
}

// SAFETY: the raw cuBLASLt handle and descriptors are only touched under `Baselines::lt`'s lock.
unsafe impl Send for LtState {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// Both tables are indexed in `ElemType`'s declaration order.
fn lt_data_type(e: ElemType) -> lt::cudaDataType_t {
    use lt::cudaDataType_t::*;
    match e {
        ElemType::F32 => CUDA_R_32F,
        ElemType::F16 => CUDA_R_16F,
        ElemType::Bf16 => CUDA_R_16BF,
    }
}

fn blas_data_type(e: ElemType) -> bs::cudaDataType_t {
    use bs::cudaDataType_t::*;
    match e {
        ElemType::F32 => CUDA_R_32F,
        ElemType::F16 => CUDA_R_16F,
        ElemType::Bf16 => CUDA_R_16BF,
    }
}

impl LtPlan {
    fn new(handle: lt::cublasLtHandle_t, key: PlanKey, cm: ColMajor) -> Result<LtPlan> {
        let compute = match key.math {
            BaselineMath::Tf32 => lt::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
            _ => lt::cublasComputeType_t::CUBLAS_COMPUTE_32F,
        };
        let (input, f32t) = (lt_data_type(key.math.input()), lt::cudaDataType_t::CUDA_R_32F);
        let desc = Owned(lt_result::create_matmul_desc(compute, f32t)?, lt::cublasLtMatmulDescDestroy);
        let layout = |t, rows: i32, cols: i32, ld: i32| -> Result<_> {
            let h = lt_result::create_matrix_layout(t, rows as u64, cols as u64, ld as i64)?;
            Ok(Owned(h, lt::cublasLtMatrixLayoutDestroy))
        };
        let layouts = [
            layout(input, cm.m, cm.k, cm.lda)?,
            layout(input, cm.k, cm.n, cm.ldb)?,
            layout(lt_data_type(key.out), cm.m, cm.n, cm.ldc)?,
        ];
        let pref = Owned(lt_result::create_matmul_pref()?, lt::cublasLtMatmulPreferenceDestroy);
        use lt::cublasLtMatmulPreferenceAttributes_t as P;
        let [aa, ab, ac] = key.align;
        // SAFETY: each attribute gets a value of its documented type (u64 bytes, u32 alignments).
        unsafe {
            let set = |attr, v: *const c_void, size| lt_result::set_matmul_pref_attribute(pref.0, attr, v, size);
            set(P::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &LT_MAX_WORKSPACE as *const u64 as _, 8)?;
            for (attr, v) in [
                (P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa),
                (P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab),
                (P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ac),
                (P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ac),
            ] {
                set(attr, v as *const u32 as _, 4)?;
            }
        }
        let [la, lb, lc] = &layouts;
        // SAFETY: live descriptors; C and D share a layout (C is written in place, beta = 0).
        let heuristic =
            unsafe { lt_result::get_matmul_algo_heuristic(handle, desc.0, la.0, lb.0, lc.0, lc.0, pref.0) }?;
        Ok(LtPlan { desc, layouts, algo: heuristic.algo, workspace: heuristic.workspaceSize })
    }
}

impl Baselines {
    /// Baselines on `ctx` (no library is loaded until the first call).
    pub fn new(ctx: Arc<CudaContext>) -> Baselines {
        let (has_blas, has_lt, blas, lt) = (OnceLock::new(), OnceLock::new(), Mutex::new(None), Mutex::new(None));
        Baselines { ctx, has_blas, has_lt, blas, lt }
    }

    /// The CUDA context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Errors with [`Error::NoCublas`] / [`Error::NoCublasLt`] when `kind`'s library cannot be
    /// loaded on this machine (probed once per object; never panics).
    pub fn check_present(&self, kind: BaselineKind) -> Result<()> {
        // SAFETY: only try to dlopen the libraries.
        match kind {
            BaselineKind::Cublas if !*self.has_blas.get_or_init(|| unsafe { bs::is_culib_present() }) => {
                Err(Error::NoCublas)
            }
            BaselineKind::CublasLt if !*self.has_lt.get_or_init(|| unsafe { lt::is_culib_present() }) => {
                Err(Error::NoCublasLt)
            }
            _ => Ok(()),
        }
    }

    fn check_buffer<T>(&self, what: &str, buf: &impl DeviceSlice<T>, needed: usize) -> Result<()> {
        if !Arc::ptr_eq(buf.stream().context(), &self.ctx) {
            return Err(Error::InvalidArgument(format!("{what} lives in another CUDA context than these baselines")));
        }
        check_len(what, buf.len(), needed)
    }

    /// Row-major `C[M×N] = A[M×K] · B[K×N]` with `baseline` on `stream` (asynchronous).
    /// A, B and C are slices or views; only their first `M·K`, `K·N`, `M·N` elements are used.
    /// Errors (never panics) when the library is missing, the element types do not fit the
    /// baseline ([`Baseline::check_types`]), the stream or a buffer belongs to another context,
    /// a buffer is too short, or a product of dimensions exceeds `i32::MAX`. M or N = 0: no-op;
    /// K = 0: C is zero-filled. Any alignment is accepted (cuBLASLt picks algorithms for it).
    pub fn gemm<T: BaselineElem, O: BaselineElem>(
        &self,
        baseline: Baseline,
        stream: &Arc<CudaStream>,
        a: &impl DevicePtr<T>,
        b: &impl DevicePtr<T>,
        c: &mut impl DevicePtrMut<O>,
        dims: Dims,
    ) -> Result<()> {
        self.check_present(baseline.kind)?;
        baseline.check_types(T::TYPE, O::TYPE)?;
        if !Arc::ptr_eq(stream.context(), &self.ctx) {
            return Err(Error::InvalidArgument("the stream belongs to another CUDA context than these baselines".into()));
        }
        dims.check()?;
        let Dims { m, n, k } = dims;
        self.check_buffer("A", a, m * k)?;
        self.check_buffer("B", b, k * n)?;
        self.check_buffer("C", c, m * n)?;
        if dims.is_empty_output() {
            return Ok(());
        }
        self.ctx.bind_to_thread().during("binding the CUDA context")?;
        let (c_ptr, _cg) = c.device_ptr_mut(stream);
        let (a_ptr, _ag) = a.device_ptr(stream);
        let (b_ptr, _bg) = b.device_ptr(stream);
        // SAFETY: lengths, types and context checked above; the guards live until it returns.
        unsafe { self.gemm_raw(baseline, stream, a_ptr, b_ptr, c_ptr, dims, T::TYPE, O::TYPE) }
    }

    /// [`Baselines::gemm`] on raw device addresses, without its checks (the runtime's dispatch
    /// path, which has checked the call already).
    ///
    /// # Safety
    /// The library must be present, the types must fit the baseline, the pointers must hold
    /// `M·K` / `K·N` / `M·N` elements of `input` / `input` / `output` in the stream's context,
    /// `dims` must pass [`Dims::check`] and be non-empty, and the context must be current.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn gemm_raw(
        &self,
        baseline: Baseline,
        stream: &Arc<CudaStream>,
        a_ptr: u64,
        b_ptr: u64,
        c_ptr: u64,
        dims: Dims,
        input: ElemType,
        output: ElemType,
    ) -> Result<()> {
        let Dims { m, n, k } = dims;
        if k == 0 {
            // SAFETY: C holds ≥ m*n elements of `output` (the caller's contract).
            unsafe { drv::memset_d8_async(c_ptr, 0, m * n * output.size() as usize, stream.cu_stream()) }
                .during("zero-filling C")?;
            return Ok(());
        }
        let cm = col_major(dims)?;
        let (alpha, beta) = (1.0f32, 0.0f32);
        let (alpha, beta) = (&alpha as *const f32 as *const c_void, &beta as *const f32 as *const c_void);
        match baseline.kind {
            BaselineKind::Cublas => {
                let mut slot = self.blas_on(stream)?;
                let blas = slot.as_mut().expect("created by blas_on");
                let compute = match baseline.math {
                    BaselineMath::Tf32 => bs::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
                    _ => bs::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                };
                let (ti, to) = (blas_data_type(input), blas_data_type(output));
                let op = bs::cublasOperation_t::CUBLAS_OP_N;
                // SAFETY: buffer lengths checked against the shape; fp32 host scalars for 32F compute.
                unsafe {
                    bs::cublasGemmEx(*blas.handle(), op, op, cm.m, cm.n, cm.k, alpha, b_ptr as _, ti, cm.lda,
                        a_ptr as _, ti, cm.ldb, beta, c_ptr as _, to, cm.ldc, compute,
                        bs::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT)
                }
                .result()?;
            }
            BaselineKind::CublasLt => {
                let mut slot = lock(&self.lt);
                if slot.is_none() {
                    let handle = Owned(lt_result::create_handle()?, lt::cublasLtDestroy);
                    *slot = Some(LtState { handle, plans: HashMap::new(), workspace: None });
                }
                let LtState { handle, plans, workspace } = slot.as_mut().expect("created above");
                let key = PlanKey {
                    dims,
                    math: baseline.math,
                    out: output,
                    align: [alignment(b_ptr), alignment(a_ptr), alignment(c_ptr)],
                };
                if !plans.contains_key(&key) {
                    let plan = LtPlan::new(handle.0, key, cm)?;
                    if plans.len() >= LT_MAX_PLANS {
                        plans.clear();
                    }
                    plans.insert(key, plan);
                }
                let plan = &plans[&key];
                if plan.workspace > workspace.as_ref().map_or(0, |w| w.len()) {
                    // SAFETY: scratch memory, never read before cuBLASLt writes it.
                    let buf = unsafe { stream.alloc::<u8>(plan.workspace) }.during("allocating the cuBLASLt workspace")?;
                    *workspace = Some(buf);
                }
                let ws = workspace.as_mut().filter(|_| plan.workspace > 0).map(|w| w.device_ptr_mut(stream));
                let w_ptr = ws.as_ref().map_or(0, |(p, _)| *p);
                let [la, lb, lc] = &plan.layouts;
                // SAFETY: live plan objects; buffers checked against the shape; the workspace
                // holds ≥ plan.workspace bytes and is ordered on `stream` by its guard.
                unsafe {
                    lt_result::matmul(handle.0, plan.desc.0, alpha, beta, b_ptr as _, la.0, a_ptr as _, lb.0,
                        c_ptr as _, lc.0, c_ptr as _, lc.0, &plan.algo, w_ptr as _, plan.workspace,
                        stream.cu_stream() as _)
                }?;
            }
        }
        Ok(())
    }
}

/// How the second operand of [`Baselines::gemv_raw`] is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WeightLayout {
    /// `K×N` row-major (`ldb ≥ N`).
    Kn,
    /// `N×K` row-major (`ldb ≥ K`): the product reads its transpose.
    Nk,
}

impl Baselines {
    /// The cuBLAS handle (created on first use) bound to `stream`; it is only used while the
    /// returned lock is held.
    fn blas_on(&self, stream: &Arc<CudaStream>) -> Result<MutexGuard<'_, Option<CudaBlas>>> {
        let mut slot = lock(&self.blas);
        if slot.is_none() {
            *slot = Some(CudaBlas::new(stream.clone())?);
        }
        // SAFETY: the handle is only used under this lock, on `stream`.
        unsafe { slot.as_mut().expect("created above").set_stream(stream.clone()) }?;
        Ok(slot)
    }

    /// Row-major `C[M×N] = A[M×K] · W` with cuBLAS (`cublasGemmEx`, fp32 compute) on `stream`,
    /// with leading dimensions and W stored `K×N` or `N×K`: the dense path of family gemv.
    ///
    /// # Safety
    /// cuBLAS must be present, `input` must be bf16 or f16 and `output` bf16, f16 or f32, the
    /// pointers must hold what the shape and leading dimensions address, in the stream's
    /// context, `dims` must be non-empty with every size ≤ `i32::MAX`, and the context current.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn gemv_raw(
        &self,
        stream: &Arc<CudaStream>,
        (a_ptr, lda): (u64, usize),
        (b_ptr, ldb, layout): (u64, usize, WeightLayout),
        (c_ptr, ldc): (u64, usize),
        dims: Dims,
        input: ElemType,
        output: ElemType,
    ) -> Result<()> {
        let (m, n, k) = (to_i32("M", dims.m)?, to_i32("N", dims.n)?, to_i32("K", dims.k)?);
        let (lda, ldb, ldc) = (to_i32("lda", lda)?, to_i32("ldb", ldb)?, to_i32("ldc", ldc)?);
        let mut slot = self.blas_on(stream)?;
        let blas = slot.as_mut().expect("created by blas_on");
        let (alpha, beta) = (1.0f32, 0.0f32);
        let (alpha, beta) = (&alpha as *const f32 as *const c_void, &beta as *const f32 as *const c_void);
        let (ti, to) = (blas_data_type(input), blas_data_type(output));
        // Column-major view: Cᵀ (N×M) = Wᵀ (N×K) · Aᵀ (K×M). Row-major K×N W is a column-major
        // N×K matrix; row-major N×K W is a column-major K×N one, read transposed.
        let op_w = match layout {
            WeightLayout::Kn => bs::cublasOperation_t::CUBLAS_OP_N,
            WeightLayout::Nk => bs::cublasOperation_t::CUBLAS_OP_T,
        };
        let op_n = bs::cublasOperation_t::CUBLAS_OP_N;
        // SAFETY: the caller's contract covers the buffers; fp32 host scalars for 32F compute.
        unsafe {
            bs::cublasGemmEx(*blas.handle(), op_w, op_n, n, m, k, alpha, b_ptr as _, ti, ldb, a_ptr as _, ti, lda, beta,
                c_ptr as _, to, ldc, bs::cublasComputeType_t::CUBLAS_COMPUTE_32F, bs::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT)
        }
        .result()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
