//! How a [`crate::Layer`] observes densities without waiting: pattern words the kernels
//! produced anyway are copied to pinned memory asynchronously and counted on a later call; on
//! the dense path a pattern-A probe kernel produces them.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream};
use esmm_spec::{GridRule, Stage};

use crate::dispatch::adaptive::{LayerState, Operand, PendingReadback};
use crate::error::{DriverContext, Result};
use crate::handle::Esmm;
use crate::launch::{launch, ArgValues};
use crate::lock;
use crate::validate::Dims;

/// Enqueues an asynchronous copy of the first `words` of a pattern to pinned memory; the layer
/// counts it on a later call, once the copy has landed.
pub(crate) fn read_back(stream: &Arc<CudaStream>, src: &CudaSlice<u32>, words: usize, bits: u64, state: &mut LayerState, op: Operand) -> Result<()> {
    let i = op as usize;
    if state.pending[i].is_some() || words == 0 {
        return Ok(()); // one readback per operand in flight at a time
    }
    if state.host[i].as_ref().is_none_or(|h| h.len() < words) {
        // SAFETY: pinned host memory, only read after the copy into it has completed.
        let host = unsafe { stream.context().alloc_pinned_with_flags::<u32>(words.next_power_of_two(), 0) }.during("allocating pinned memory")?;
        state.host[i] = Some(host);
    }
    let host = state.host[i].as_mut().expect("allocated above");
    stream.memcpy_dtoh(&src.slice(..words), host).during("copying a pattern back")?;
    let done = stream.record_event(None).during("recording the readback event")?;
    state.pending[i] = Some(PendingReadback { done, bits, words });
    Ok(())
}

impl Esmm {
    /// Dense path: extracts the A pattern (64-row granularity) with a generated pattern-A kernel
    /// so the layer can notice sparse activations; skipped when no such kernel is compiled.
    pub(crate) fn probe_a_density(&self, stream: &Arc<CudaStream>, a_ptr: u64, dims: Dims, state: &mut LayerState) -> Result<()> {
        let probe = self.probe_kernel.get_or_init(|| self.stage_kernel(Stage::PatternA, GridRule::PatternA { rows: 64 }));
        let Some((v, i)) = probe.clone() else {
            return Ok(());
        };
        let Dims { m, k, .. } = dims;
        let words = m.div_ceil(64) * k.div_ceil(32);
        let ws = self.workspaces.get(stream);
        let mut ws = lock(&ws);
        let vals = ArgValues { a: a_ptr, dims, a_pat: ws.a_pattern(words)?, ctrl: ws.ctrl()?, epoch: ws.next_epoch(), ..Default::default() };
        launch(stream, &v, i, self.info.sm_count, &vals)?;
        let src = ws.a_pat.as_ref().expect("allocated above");
        read_back(stream, src, words, (m.div_ceil(64) * k) as u64, state, Operand::A)
    }
}
