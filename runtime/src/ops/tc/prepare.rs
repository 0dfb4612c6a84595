//! Prepared weights of family tc ([`TcPreparedB`]): B's density and Inf/NaN flag measured once,
//! and, made on first use by a variant and kept, the B patterns at that variant's granularity and
//! B in the layout its GEMM reads (Bᵀ for wgmma; a 16-byte-aligned copy for mma when N needs it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr};
use esmm_spec::{ElemType, Epilogue, Stage, TcPath, TcSpec};

use super::{pattern_words, round_up, TcInput, TcRun};
use crate::dispatch::policy::choose_variant;
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::ArgValues;
use crate::lock;
use crate::validate::Dims;

/// What a [`TcPreparedB`] made on first use.
#[derive(Default)]
struct Made {
    /// B patterns by (k per bit, columns per bit).
    patterns: HashMap<(u32, u32), CudaSlice<u32>>,
    /// B in a GEMM layout by path: (leading dimension, bytes).
    layouts: HashMap<TcPath, (usize, CudaSlice<u8>)>,
    /// Whether a pattern stage saw an Inf or NaN in B.
    nonfinite: bool,
}

/// A static B (weights) prepared for family tc by [`Esmm::tc_prepare_b`]. Tied to the device
/// address, shape and element type of the B it was made from; the caller must not change B's
/// contents afterwards (only the address, shape and type are checked).
pub struct TcPreparedB {
    ctx: Arc<CudaContext>,
    b_addr: u64,
    k: usize,
    n: usize,
    dtype: ElemType,
    density: f64,
    made: Mutex<Made>,
}

impl TcPreparedB {
    /// K (rows of B).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (columns of B).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Fraction of nonzero blocks at the default granularity (64 k × 128 columns, or the
    /// default variant's): the B density the dispatcher assumes.
    pub fn density(&self) -> f64 {
        self.density
    }
    /// Whether B holds an Inf or NaN (then sparse kernels skip nothing on calls with this B), as
    /// seen by every B-pattern stage run on it so far (at preparation, and on first use of each
    /// granularity).
    pub fn has_nonfinite(&self) -> bool {
        lock(&self.made).nonfinite
    }

    pub(crate) fn check(&self, ctx: &Arc<CudaContext>, b_addr: u64, dims: Dims, dtype: ElemType) -> Result<()> {
        if !Arc::ptr_eq(&self.ctx, ctx) || self.b_addr != b_addr || self.k != dims.k || self.n != dims.n || self.dtype != dtype {
            return Err(Error::InvalidArgument(format!(
                "prepared_b was made for a {}x{} {} B at {:#x} (this call: {}x{} {} at {b_addr:#x}); prepare this B",
                self.k,
                self.n,
                self.dtype.tag(),
                self.b_addr,
                dims.k,
                dims.n,
                dtype.tag()
            )));
        }
        Ok(())
    }

    /// The B pattern at the granularity of `spec` (made with the variant's own pattern stage on
    /// first use, waited for, then kept).
    pub(crate) fn pattern(&self, run: &mut TcRun<'_>, spec: &TcSpec, base: &ArgValues) -> Result<u64> {
        let key = (spec.k_gran, spec.b_pattern_cols());
        let mut made = lock(&self.made);
        if !made.patterns.contains_key(&key) {
            let words = self.n.div_ceil(key.1 as usize) * pattern_words(self.k, key.0);
            let mut ctrl = run.stream.alloc_zeros::<u32>(4).during("allocating control words")?;
            let pat = run.stream.alloc_zeros::<u32>(words.max(1)).during("allocating a prepared B pattern")?;
            {
                let (p, _pg) = pat.device_ptr(run.stream);
                let (c, _cg) = cudarc::driver::DevicePtrMut::device_ptr_mut(&mut ctrl, run.stream);
                run.stage(Stage::PatternB, &ArgValues { b: self.b_addr, b_pat: p, ctrl: c, epoch: 1, ..*base })?;
            }
            // Other streams read it from now on: wait once.
            run.stream.synchronize().during("preparing a B pattern")?;
            made.nonfinite |= run.stream.clone_dtoh(&ctrl).during("reading the non-finite flag")?[2] != 0;
            made.patterns.insert(key, pat);
        }
        let (ptr, _guard) = made.patterns[&key].device_ptr(run.stream);
        Ok(ptr)
    }

    /// B as a `path` GEMM reads it, with its leading dimension: the caller's B when its rows are
    /// 16-byte aligned (mma), else a copy made with the variant's pack stage on first use.
    pub(crate) fn gemm_layout(&self, run: &mut TcRun<'_>, path: TcPath, base: &ArgValues) -> Result<(u64, usize)> {
        let size = self.dtype.size() as usize;
        let vec = 16 / size;
        if path == TcPath::Mma && self.n % vec == 0 && self.b_addr % 16 == 0 {
            return Ok((self.b_addr, self.n));
        }
        let mut made = lock(&self.made);
        if !made.layouts.contains_key(&path) {
            let (rows, ld) = match path {
                TcPath::Mma => (self.k, round_up(self.n, vec)),
                TcPath::Wgmma => (self.n, round_up(self.k, vec)),
            };
            // SAFETY: every byte is written by the pack stage before a GEMM reads it.
            let buf = unsafe { run.stream.alloc::<u8>((rows * ld * size).max(16)) }.during("allocating a prepared B layout")?;
            {
                let (p, _g) = buf.device_ptr(run.stream);
                run.stage(Stage::PackB, &ArgValues { b: self.b_addr, b_packed: p, ldb: ld as i32, ..*base })?;
            }
            run.stream.synchronize().during("preparing a B layout")?;
            made.layouts.insert(path, (ld, buf));
        }
        let (ld, buf) = &made.layouts[&path];
        let (ptr, _guard) = buf.device_ptr(run.stream);
        Ok((ptr, *ld))
    }
}

impl Esmm {
    /// Prepares a static `K×N` B (row-major, contiguous, bf16 / f16 / f32) for family tc, on
    /// `stream`: measures its block density at the default variant's granularity and whether it
    /// holds an Inf or NaN (with that variant's pattern stage; density 1 when no tc kernel is
    /// compiled for this GPU). Patterns at other granularities and the transposed layout of the
    /// wgmma path are made on first use and kept. Pass it as `TcOptions::prepared_b` with the
    /// same B buffer.
    pub fn tc_prepare_b<T: TcInput, B: DevicePtr<T>>(&self, stream: &Arc<CudaStream>, b: &B, k: usize, n: usize) -> Result<TcPreparedB> {
        self.check_stream(stream)?;
        let dims = Dims::new(1, n, k);
        dims.check()?;
        self.check_buffer("B", b, k * n)?;
        let (b_ptr, _b_guard) = b.device_ptr(stream);
        if b_ptr % u64::from(T::TYPE.size()) != 0 {
            return Err(Error::InvalidArgument(format!("B at {b_ptr:#x} is not aligned to its element type")));
        }
        let mut prepared = TcPreparedB { ctx: self.ctx.clone(), b_addr: b_ptr, k, n, dtype: T::TYPE, density: 1.0, made: Mutex::new(Made::default()) };
        if k == 0 || n == 0 {
            return Ok(prepared);
        }
        let req = self.tc_request(T::TYPE, T::TYPE, Dims::new(4096, n, k), Epilogue::NONE, true);
        let Some(entry) = choose_variant(&req).ok().filter(|e| e.spec.as_tc().is_some_and(TcSpec::uses_b_pattern)) else {
            return Ok(prepared);
        };
        let spec = *entry.spec.as_tc().expect("filtered above");
        let v = self.load(entry)?;
        let base = ArgValues { b: b_ptr, dims, ..Default::default() };
        let mut run = TcRun { esmm: self, stream, v: &v, events: None };
        let pat = prepared.pattern(&mut run, &spec, &base)?;
        let words = n.div_ceil(spec.b_pattern_cols() as usize) * pattern_words(k, spec.k_gran);
        let mut host = vec![0u32; words];
        // SAFETY: `pat` holds `words` u32 written by the pattern stage (synchronized above).
        unsafe { cudarc::driver::result::memcpy_dtoh_sync(&mut host, pat) }.during("reading the B pattern back")?;
        let set: u64 = host.iter().map(|w| u64::from(w.count_ones())).sum();
        let bits = n.div_ceil(spec.b_pattern_cols() as usize) * k.div_ceil(spec.k_gran as usize);
        prepared.density = (set as f64 / bits as f64).clamp(0.0, 1.0);
        Ok(prepared)
    }
}
