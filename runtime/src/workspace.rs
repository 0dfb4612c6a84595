//! Per-stream scratch memory: pattern buffers, the kernels' control words, the all-ones
//! pattern, and the per-call epoch. Work on one stream is ordered, so reusing its workspace
//! from call to call is safe; streams never share one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{result as drv, CudaSlice, CudaStream, DevicePtr};

use crate::error::{DriverContext, Result};
use crate::lock;

/// Byte written into freshly allocated pattern buffers, so that a kernel relying on zeroed
/// pattern memory fails the tests instead of passing by luck.
const PATTERN_POISON: u8 = 0xA5;

/// Scratch buffers of one stream.
pub(crate) struct Workspace {
    stream: Arc<CudaStream>,
    pub(crate) a_pat: Option<CudaSlice<u32>>,
    pub(crate) b_pat: Option<CudaSlice<u32>>,
    /// `[4]` u32 control words, zeroed once at allocation and never reset: `[0..1]` the
    /// persistent kernels' grid barrier (they keep it valid), `[2]` the epoch of the last call
    /// whose inputs held a non-finite value.
    ctrl: Option<CudaSlice<u32>>,
    /// All-ones pattern words a sparse kernel reads instead of the patterns when its call saw a
    /// non-finite input (then it skips nothing).
    ones: Option<CudaSlice<u32>>,
    /// Epoch of the last call on this stream (each call gets a fresh one, from 1).
    epoch: u32,
    /// Packed copies of A and B (family tc: aligned or transposed layouts), as bytes.
    a_pack: Option<CudaSlice<u8>>,
    b_pack: Option<CudaSlice<u8>>,
    /// An aligned C the tc kernels write when the caller's C is not 16-byte aligned.
    c_pack: Option<CudaSlice<u8>>,
    /// fp32 split partials of the gemv kernels (scratch).
    partials: Option<CudaSlice<u8>>,
    /// Split tickets of the gemv kernels: zeroed at allocation, left zero by every launch (the
    /// last CTA of a column block resets its own).
    counters: Option<CudaSlice<u32>>,
    /// An index list uploaded for a gemv call, and its length (the last word).
    index: Option<CudaSlice<u32>>,
    /// The sparse MLP's intermediates (predictor output, scores, active list, h).
    mlp: Option<CudaSlice<u8>>,
}

/// Fills `slot` with a buffer of at least `len` words (grown geometrically, filled with `byte`
/// when new) and returns its address.
fn ensure(slot: &mut Option<CudaSlice<u32>>, stream: &Arc<CudaStream>, len: usize, byte: u8, what: &str) -> Result<u64> {
    let len = len.max(1);
    if slot.as_ref().is_none_or(|s| s.len() < len) {
        let cap = len.next_power_of_two();
        // SAFETY: a fresh u32 buffer, filled before any kernel reads it.
        let buf = unsafe { stream.alloc::<u32>(cap) }.during(&format!("allocating {what}"))?;
        let (ptr, g) = buf.device_ptr(stream);
        // SAFETY: `buf` holds cap u32.
        unsafe { drv::memset_d8_async(ptr, byte, cap * 4, stream.cu_stream()) }.during(&format!("filling {what}"))?;
        drop(g);
        *slot = Some(buf);
    }
    Ok(slot.as_ref().expect("allocated above").device_ptr(stream).0)
}

/// Fills `slot` with a byte buffer of at least `len` bytes (grown geometrically; uninitialised:
/// the pack stages write every byte the GEMM reads) and returns its address.
fn ensure_bytes(slot: &mut Option<CudaSlice<u8>>, stream: &Arc<CudaStream>, len: usize, what: &str) -> Result<u64> {
    let len = len.max(16);
    if slot.as_ref().is_none_or(|s| s.len() < len) {
        // SAFETY: scratch, written by a pack stage before any kernel reads it.
        let buf = unsafe { stream.alloc::<u8>(len.next_power_of_two()) }.during(&format!("allocating {what}"))?;
        *slot = Some(buf);
    }
    Ok(slot.as_ref().expect("allocated above").device_ptr(stream).0)
}

impl Workspace {
    fn new(stream: &Arc<CudaStream>) -> Workspace {
        Workspace { stream: stream.clone(), a_pat: None, b_pat: None, ctrl: None, ones: None, epoch: 0, a_pack: None, b_pack: None, c_pack: None, partials: None, counters: None, index: None, mlp: None }
    }

    /// An A-pattern buffer of at least `len` words.
    pub(crate) fn a_pattern(&mut self, len: usize) -> Result<u64> {
        ensure(&mut self.a_pat, &self.stream, len, PATTERN_POISON, "an A-pattern workspace")
    }

    /// A B-pattern buffer of at least `len` words.
    pub(crate) fn b_pattern(&mut self, len: usize) -> Result<u64> {
        ensure(&mut self.b_pat, &self.stream, len, PATTERN_POISON, "a B-pattern workspace")
    }

    /// The control words (`[4]` u32, zeroed once).
    pub(crate) fn ctrl(&mut self) -> Result<u64> {
        if self.ctrl.is_none() {
            self.ctrl = Some(self.stream.alloc_zeros::<u32>(4).during("allocating the control words")?);
        }
        Ok(self.ctrl.as_ref().expect("allocated above").device_ptr(&self.stream).0)
    }

    /// An all-ones pattern of at least `len` words.
    pub(crate) fn ones(&mut self, len: usize) -> Result<u64> {
        ensure(&mut self.ones, &self.stream, len, 0xFF, "the all-ones pattern")
    }

    /// A buffer of at least `bytes` bytes for the packed A (its contents are scratch).
    pub(crate) fn a_pack(&mut self, bytes: usize) -> Result<u64> {
        ensure_bytes(&mut self.a_pack, &self.stream, bytes, "a packed-A workspace")
    }

    /// A buffer of at least `bytes` bytes for the packed B (its contents are scratch).
    pub(crate) fn b_pack(&mut self, bytes: usize) -> Result<u64> {
        ensure_bytes(&mut self.b_pack, &self.stream, bytes, "a packed-B workspace")
    }

    /// A 16-byte-aligned buffer of at least `bytes` bytes for C (copied to the caller's C after).
    pub(crate) fn c_pack(&mut self, bytes: usize) -> Result<u64> {
        ensure_bytes(&mut self.c_pack, &self.stream, bytes, "an aligned-C workspace")
    }

    /// A buffer of at least `bytes` bytes for the gemv split partials (scratch).
    pub(crate) fn partials(&mut self, bytes: usize) -> Result<u64> {
        ensure_bytes(&mut self.partials, &self.stream, bytes, "a split-partials workspace")
    }

    /// At least `len` zeroed split tickets (a grown buffer is zeroed anew; the kernels leave
    /// them zero).
    pub(crate) fn counters(&mut self, len: usize) -> Result<u64> {
        ensure(&mut self.counters, &self.stream, len, 0, "the split tickets")
    }

    /// Room for an index list of `len` i32 and its count: `(list address, count address)`.
    pub(crate) fn index_list(&mut self, len: usize) -> Result<(u64, u64)> {
        let base = ensure(&mut self.index, &self.stream, len + 1, 0, "an index-list workspace")?;
        Ok((base + 4, base))
    }

    /// A buffer of at least `bytes` bytes for the sparse MLP's intermediates (scratch).
    pub(crate) fn mlp_scratch(&mut self, bytes: usize) -> Result<u64> {
        ensure_bytes(&mut self.mlp, &self.stream, bytes, "the sparse-MLP workspace")
    }

    /// A fresh epoch for the next call (never 0, the control word's initial value).
    pub(crate) fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1).max(1);
        self.epoch
    }
}

/// The workspaces of one handle, one per stream.
#[derive(Default)]
pub(crate) struct Workspaces {
    by_stream: Mutex<HashMap<usize, Arc<Mutex<Workspace>>>>,
}

impl Workspaces {
    /// The workspace of `stream` (created on first use).
    pub(crate) fn get(&self, stream: &Arc<CudaStream>) -> Arc<Mutex<Workspace>> {
        lock(&self.by_stream)
            .entry(stream.cu_stream() as usize)
            .or_insert_with(|| Arc::new(Mutex::new(Workspace::new(stream))))
            .clone()
    }
}
