//! Prepared weights: the B patterns of a static B, computed once by [`Esmm::prepare_b`].

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use esmm_spec::{GridRule, Stage};

use crate::dispatch::registry::{fatbin, REGISTRY};
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch, ArgValues};
use crate::modules::LoadedVariant;
use crate::validate::{check_align, Dims};

/// B-pattern granularities a [`PreparedB`] holds.
pub const PREPARED_GRANULARITIES: [u32; 2] = [32, 8];

/// B patterns of one static B (weights), computed once by [`Esmm::prepare_b`] at granularities
/// 32 and 8. Tied to the device address, K and N of the B it was computed from; the caller must
/// not change B's contents afterwards (only the address and shape are checked).
pub struct PreparedB {
    ctx: Arc<CudaContext>,
    b_addr: u64,
    k: usize,
    n: usize,
    patterns: Vec<(u32, CudaSlice<u32>)>,
    density: f64,
    nonfinite: bool,
}

impl PreparedB {
    /// K (rows of B).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (columns of B).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Fraction of set bits of the 32-column pattern: the B density the dispatcher assumes.
    pub fn density(&self) -> f64 {
        self.density
    }
    /// Whether B holds an Inf or NaN (then sparse kernels skip nothing on calls with this B).
    pub fn has_nonfinite(&self) -> bool {
        self.nonfinite
    }
    /// The pattern at granularity `cols` (32 or 8), `ceil(N/cols) * ceil(K/32)` words.
    pub fn pattern(&self, cols: u32) -> Option<&CudaSlice<u32>> {
        self.patterns.iter().find(|(g, _)| *g == cols).map(|(_, p)| p)
    }
    pub(crate) fn check(&self, ctx: &Arc<CudaContext>, b_addr: u64, dims: Dims) -> Result<()> {
        if !Arc::ptr_eq(&self.ctx, ctx) || self.b_addr != b_addr || self.k != dims.k || self.n != dims.n {
            return Err(Error::InvalidArgument(format!(
                "prepared_b was made for a {}x{} B at {:#x} (this call: {}x{} at {b_addr:#x}); prepare this B",
                self.k, self.n, self.b_addr, dims.k, dims.n
            )));
        }
        Ok(())
    }
}

impl Esmm {
    /// Computes the B patterns (granularities 32 and 8) of a static `K×N` B once, on `stream`,
    /// with a generated pattern-B kernel when the registry has one (else on the host), and
    /// notes whether B holds an Inf or NaN. Pass the result as `MatmulOptions::prepared_b` with
    /// the same B buffer.
    pub fn prepare_b<B: DevicePtr<f32>>(&self, stream: &Arc<CudaStream>, b: &B, k: usize, n: usize) -> Result<PreparedB> {
        self.check_stream(stream)?;
        let dims = Dims::new(1, n, k);
        dims.check()?;
        self.check_buffer("B", b, k * n)?;
        let (b_ptr, _b_guard) = b.device_ptr(stream);
        check_align("B", b_ptr)?;
        let kw = k.div_ceil(32);
        let mut patterns = Vec::new();
        let mut host_b: Option<Vec<f32>> = None;
        // ctrl[2] becomes the epoch (1) when a pattern kernel sees an Inf or NaN in B.
        let mut ctrl = stream.alloc_zeros::<u32>(4).during("allocating control words")?;
        let mut nonfinite = false;
        for g in PREPARED_GRANULARITIES {
            let words = n.div_ceil(g as usize) * kw;
            let mut pat = stream.alloc_zeros::<u32>(words.max(1)).during("allocating a prepared B pattern")?;
            if words > 0 {
                match self.pattern_b_kernel(g) {
                    Some((v, i)) => {
                        let (p, _pg) = pat.device_ptr_mut(stream);
                        let (c, _cg) = ctrl.device_ptr_mut(stream);
                        let vals = ArgValues { b: b_ptr, dims, b_pat: p, ctrl: c, epoch: 1, ..Default::default() };
                        launch(stream, &v, i, self.info.sm_count, &vals)?;
                    }
                    None => {
                        if host_b.is_none() {
                            host_b = Some(stream.clone_dtoh(b).during("copying B to the host")?);
                        }
                        let hb = host_b.as_ref().expect("set above");
                        nonfinite |= hb[..k * n].iter().any(|x| !x.is_finite());
                        let host = crate::reference::pattern_b(hb, k, n, g as usize);
                        stream.memcpy_htod(&host, &mut pat).during("uploading a B pattern")?;
                    }
                }
            }
            patterns.push((g, pat));
        }
        nonfinite |= stream.clone_dtoh(&ctrl).during("reading the non-finite flag")?[2] != 0;
        // One download at preparation time (weights are prepared once): the B density.
        let density = match patterns.iter().find(|(g, _)| *g == 32) {
            Some((_, p)) if k > 0 && n > 0 => {
                let words = stream.clone_dtoh(p).during("reading the B pattern back")?;
                let set: u64 = words.iter().map(|w| u64::from(w.count_ones())).sum();
                set as f64 / (n.div_ceil(32) as f64 * k as f64)
            }
            _ => 1.0,
        };
        Ok(PreparedB { ctx: self.ctx.clone(), b_addr: b_ptr, k, n, patterns, density, nonfinite })
    }

    /// A compiled, loadable pattern-B kernel of granularity `cols` from any registry entry.
    fn pattern_b_kernel(&self, cols: u32) -> Option<(Arc<LoadedVariant>, usize)> {
        self.stage_kernel(Stage::PatternB, GridRule::PatternB { cols })
    }

    /// A compiled, loadable kernel of one stage and grid rule from any registry entry.
    pub(crate) fn stage_kernel(&self, stage: Stage, grid: GridRule) -> Option<(Arc<LoadedVariant>, usize)> {
        for e in REGISTRY {
            let Some(i) = e.launches.iter().position(|l| l.stage == stage && l.grid == grid) else {
                continue;
            };
            if fatbin(e.name).is_none() || self.info.arch.is_some_and(|a| !e.spec.archs().contains(a)) {
                continue;
            }
            if let Ok(v) = self.load(e) {
                return Some((v, i));
            }
        }
        None
    }
}
