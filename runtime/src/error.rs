//! The one error type of the crate.

use std::fmt;

/// Everything that can go wrong in `esmm`. Every message says what to do about it.
#[derive(Debug)]
pub enum Error {
    /// `libcuda` could not be loaded: no NVIDIA driver on this machine.
    NoDriver,
    /// `libcublas` could not be loaded (only the cuBLAS baseline needs it).
    NoCublas,
    /// A CUDA driver call failed; the string says which step.
    Driver(String, cudarc::driver::DriverError),
    /// A cuBLAS call failed.
    Cublas(cudarc::cublas::result::CublasError),
    /// `libcublasLt` could not be loaded (only the cuBLASLt baselines need it).
    NoCublasLt,
    /// A cuBLASLt call failed (`CUBLAS_STATUS_NOT_SUPPORTED` from the heuristic: no algorithm
    /// for this shape, type combination and alignment).
    CublasLt(cudarc::cublaslt::result::CublasError),
    /// The GPU's architecture has no compiled kernel (no SASS and no PTX that can JIT to it).
    UnsupportedGpu {
        /// Device name.
        name: String,
        /// Compute capability `major * 10 + minor`.
        compute_capability: u32,
        /// SASS architectures embedded in this build.
        compiled: Vec<u32>,
        /// Architecture of the embedded PTX.
        ptx: u32,
    },
    /// This build embeds no kernels (empty `generated/`).
    NoKernels,
    /// An explicit variant name that is not in the registry.
    UnknownVariant {
        /// The name asked for.
        name: String,
        /// Registry names closest to it.
        near: Vec<String>,
    },
    /// A known variant that cannot serve this request (activation, nnz flag, arch, missing
    /// prepared B, not compiled into this build, ...).
    VariantMismatch {
        /// The variant.
        name: String,
        /// Why it does not fit.
        reason: String,
    },
    /// No registry variant serves the request.
    NoVariant(String),
    /// Shapes, lengths or limits that the API rejects (overflow, short buffers, grid limits).
    InvalidArgument(String),
    /// A base pointer that is not 16-byte aligned.
    Misaligned {
        /// Which operand.
        what: &'static str,
        /// The device address.
        addr: u64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoDriver => write!(
                f,
                "no CUDA driver: libcuda could not be loaded; install the NVIDIA driver (or run on a machine with a GPU)"
            ),
            Error::NoCublas => write!(
                f,
                "cuBLAS not found: libcublas could not be loaded; add the CUDA toolkit's lib64 (e.g. /usr/local/cuda/lib64) to LD_LIBRARY_PATH"
            ),
            Error::Driver(what, e) => write!(f, "CUDA driver error while {what}: {e}"),
            Error::Cublas(e) => write!(f, "cuBLAS error: {e}"),
            Error::NoCublasLt => write!(
                f,
                "cuBLASLt not found: libcublasLt could not be loaded; add the CUDA toolkit's lib64 (e.g. /usr/local/cuda/lib64) to LD_LIBRARY_PATH, or use a cuBLAS baseline"
            ),
            Error::CublasLt(e) => write!(f, "cuBLASLt error: {e}"),
            Error::UnsupportedGpu { name, compute_capability, compiled, ptx } => write!(
                f,
                "GPU {name} (sm_{compute_capability}) has no compiled esmm kernel: this build has SASS for {} and PTX for compute_{ptx}; rebuild with ESMM_CUDA_ARCHS unset or including sm_{compute_capability}",
                compiled.iter().map(|a| format!("sm_{a}")).collect::<Vec<_>>().join(", ")
            ),
            Error::NoKernels => write!(
                f,
                "this build embeds no kernels: generated/ holds no .cu files (run `esmm-codegen emit` and rebuild)"
            ),
            Error::UnknownVariant { name, near } => write!(
                f,
                "unknown variant `{name}`; nearest registry names: {}",
                if near.is_empty() { "(registry is empty)".to_string() } else { near.join(", ") }
            ),
            Error::VariantMismatch { name, reason } => write!(f, "variant `{name}` cannot serve this call: {reason}"),
            Error::NoVariant(what) => write!(f, "no registry variant serves {what}"),
            Error::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
            Error::Misaligned { what, addr } => write!(
                f,
                "{what} base pointer {addr:#x} is not 16-byte aligned; pass a whole allocation or a view starting at a multiple of 4 f32 elements"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<cudarc::cublas::result::CublasError> for Error {
    fn from(e: cudarc::cublas::result::CublasError) -> Self {
        Error::Cublas(e)
    }
}

impl From<cudarc::cublaslt::result::CublasError> for Error {
    fn from(e: cudarc::cublaslt::result::CublasError) -> Self {
        Error::CublasLt(e)
    }
}

/// Attaches a description of the step to a driver error.
pub(crate) trait DriverContext<T> {
    /// Maps a `DriverError` to [`Error::Driver`] with `what` describing the step.
    fn during(self, what: &str) -> Result<T>;
}

impl<T> DriverContext<T> for std::result::Result<T, cudarc::driver::DriverError> {
    fn during(self, what: &str) -> Result<T> {
        self.map_err(|e| Error::Driver(what.to_string(), e))
    }
}
