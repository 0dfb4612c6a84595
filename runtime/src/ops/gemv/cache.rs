//! Differential weight cache (document 004; LLM in a Flash, PowerInfer): when an MLP's weights
//! do not fit on the GPU, the host keeps every neuron's weights and the GPU holds `capacity`
//! slots. Per token the predictor's active set is compared with the previous one (XOR); each
//! newly active neuron that is not cached replaces, pairwise, a cached neuron that is no longer
//! active (or takes a free slot); the new neurons' records travel in ONE host-to-device copy from
//! pinned staging memory, and one scatter launch per weight matrix moves them into their slots.
//! The MLP then runs over the slots of the active neurons ([`Esmm::cached_mlp`]).
//!
//! A neuron's record: its gate and up rows (gated MLPs; the up row alone otherwise), as the nk
//! gate/up kernel reads them, and its down row (kn), each padded to 16 bytes.

use std::sync::Arc;
use std::time::Instant;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut, PinnedHostSlice};
use esmm_spec::{Activation, ElemType, GemvLayout, GemvSparsity, Stage};

use super::mlp::{MlpHostWeights, MlpKind, MlpSelect};
use crate::dispatch::Layer;
use super::{DeviceList, GemvCall, GemvInput, GemvWeights};
use crate::dispatch::policy::GemvRequest;
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::validate::Dims;

/// The cache of one MLP layer: host records of every neuron, GPU slots, the predictor.
pub struct WeightCache<T: GemvInput> {
    kind: MlpKind,
    hidden: usize,
    inter: usize,
    capacity: usize,
    /// Host records, `inter ×` (up record, then down record), in elements.
    records: Vec<T>,
    up_elems: usize,
    down_elems: usize,
    /// The GPU slots: gate/up rows (nk, `capacity` outputs) and down rows (kn, `capacity` rows).
    up_slots: GemvWeights<T>,
    down_slots: GemvWeights<T>,
    pred_in: GemvWeights<T>,
    pred_out: GemvWeights<T>,
    /// Neuron → slot (−1: not cached); slot → neuron (−1: free).
    slot_of: Vec<i32>,
    neuron_of: Vec<i32>,
    /// Pinned staging: `[count, active slots (capacity)]`, `[loaded slots (capacity)]`, then the
    /// loaded neurons' up records, then their down records.
    staging: PinnedHostSlice<u8>,
    device_staging: CudaSlice<u8>,
}

/// What one cache update moved.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CacheUpdate {
    /// Active neurons this token.
    pub active: usize,
    /// Neurons loaded (newly active and not cached).
    pub loaded: usize,
    /// Cached neurons replaced by loaded ones.
    pub evicted: usize,
    /// Bytes copied host → device (records and slot lists, one transfer).
    pub bytes: usize,
    /// Host time of the update (diff, pairing, gathering into staging, enqueueing), µs.
    pub host_us: f64,
}

impl<T: GemvInput> WeightCache<T> {
    /// Slots on the GPU.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Bytes of one neuron's record (what loading it moves).
    pub fn record_bytes(&self) -> usize {
        (self.up_elems + self.down_elems) * std::mem::size_of::<T>()
    }
    /// Bytes of the whole layer's weights (what loading it every token would move).
    pub fn layer_bytes(&self) -> usize {
        self.inter * self.record_bytes()
    }
    /// Neurons cached now.
    pub fn cached(&self) -> usize {
        self.neuron_of.iter().filter(|n| **n >= 0).count()
    }
    fn list_bytes(&self) -> usize {
        (2 * self.capacity + 1) * 4
    }
    fn rec_offset(&self) -> usize {
        self.list_bytes().div_ceil(16) * 16
    }
}

impl Esmm {
    /// A weight cache of `capacity` neuron slots for the MLP `w` (the host keeps every record).
    pub fn weight_cache<T: GemvInput>(&self, stream: &Arc<CudaStream>, w: &MlpHostWeights<'_, T>, capacity: usize) -> Result<WeightCache<T>> {
        self.check_stream(stream)?;
        let (h, it) = (w.hidden, w.inter);
        if capacity == 0 || capacity > it {
            return Err(Error::InvalidArgument(format!("the cache capacity must be 1..={it} neurons, not {capacity}")));
        }
        let rows = if w.kind == MlpKind::Gated { 2 } else { 1 };
        let ld = h.div_ceil(8) * 8;
        let (up_elems, down_elems) = (rows * ld, ld);
        crate::validate::check_len("up weights", w.up.len(), h * it)?;
        crate::validate::check_len("down weights", w.down.len(), it * h)?;
        let gate = match (w.kind, w.gate) {
            (MlpKind::Gated, Some(g)) => {
                crate::validate::check_len("gate weights", g.len(), h * it)?;
                Some(g)
            }
            (MlpKind::Gated, None) => return Err(Error::InvalidArgument("a gated MLP needs gate weights".into())),
            _ => None,
        };
        let mut records = vec![T::default(); it * (up_elems + down_elems)];
        let mut nonfinite = false;
        for n in 0..it {
            let rec = &mut records[n * (up_elems + down_elems)..(n + 1) * (up_elems + down_elems)];
            for k in 0..h {
                let (g, u) = (gate.map(|g| g[k * it + n]), w.up[k * it + n]);
                match g {
                    Some(g) => {
                        rec[k] = g;
                        rec[ld + k] = u;
                        nonfinite |= g.nonfinite();
                    }
                    None => rec[k] = u,
                }
                nonfinite |= u.nonfinite();
                let d = w.down[n * h + k];
                rec[up_elems + k] = d;
                nonfinite |= d.nonfinite();
            }
        }
        let es = std::mem::size_of::<T>();
        // Zeroed slots (uploaded zeros: the element types are plain 16-bit floats).
        let up_data: CudaSlice<T> = stream.clone_htod(&vec![T::default(); capacity * up_elems]).during("allocating the gate/up slots")?;
        let down_data: CudaSlice<T> = stream.clone_htod(&vec![T::default(); capacity * down_elems]).during("allocating the down slots")?;
        let up_slots = GemvWeights { data: up_data, layout: GemvLayout::Nk, k: h, n: capacity, ld, gated: w.kind == MlpKind::Gated, nonfinite, observed: Layer::new() };
        let down_slots = GemvWeights { data: down_data, layout: GemvLayout::Kn, k: capacity, n: h, ld, gated: false, nonfinite, observed: Layer::new() };
        let staging_bytes = ((2 * capacity + 1) * 4).div_ceil(16) * 16 + capacity * (up_elems + down_elems) * es;
        // SAFETY: a fresh pinned buffer, written before every copy that reads it.
        let staging = unsafe { self.ctx.alloc_pinned::<u8>(staging_bytes) }.during("allocating pinned staging memory")?;
        let device_staging: CudaSlice<u8> = stream.alloc_zeros(staging_bytes).during("allocating the device staging buffer")?;
        Ok(WeightCache {
            kind: w.kind,
            hidden: h,
            inter: it,
            capacity,
            records,
            up_elems,
            down_elems,
            up_slots,
            down_slots,
            pred_in: self.gemv_weights(stream, w.pred_in, h, w.rank, GemvLayout::Nk)?,
            pred_out: self.gemv_weights(stream, w.pred_out, w.rank, it, GemvLayout::Nk)?,
            slot_of: vec![-1; it],
            neuron_of: vec![-1; capacity],
            staging,
            device_staging,
        })
    }

    /// Makes the neurons of `active` (distinct, in `[0, inter)`) resident: paired replacement,
    /// one host-to-device copy, two scatter launches; the next [`Esmm::cached_mlp_over`] runs
    /// over them. Errors when more neurons are active than the cache has slots.
    pub fn cache_update<T: GemvInput>(&self, stream: &Arc<CudaStream>, cache: &mut WeightCache<T>, active: &[i32]) -> Result<CacheUpdate> {
        let t0 = Instant::now();
        if active.len() > cache.capacity {
            return Err(Error::InvalidArgument(format!("{} active neurons exceed the cache's {} slots", active.len(), cache.capacity)));
        }
        let mut now = vec![false; cache.inter];
        for &n in active {
            if n < 0 || n as usize >= cache.inter || now[n as usize] {
                return Err(Error::InvalidArgument(format!("active neuron {n} is out of [0, {}) or repeated", cache.inter)));
            }
            now[n as usize] = true;
        }
        // XOR with what is cached: slots of cached neurons no longer active may be replaced; empty
        // slots are taken first (they sit at the end of the list, which is popped).
        let mut free: Vec<usize> = (0..cache.capacity).filter(|s| cache.neuron_of[*s] >= 0 && !now[cache.neuron_of[*s] as usize]).collect();
        free.extend((0..cache.capacity).rev().filter(|s| cache.neuron_of[*s] < 0));
        let mut loaded: Vec<(i32, usize)> = Vec::new();
        let mut evicted = 0;
        for &n in active {
            if cache.slot_of[n as usize] >= 0 {
                continue;
            }
            let s = free.pop().expect("active ≤ capacity leaves a free slot for every missing neuron");
            let old = cache.neuron_of[s];
            if old >= 0 {
                cache.slot_of[old as usize] = -1;
                evicted += 1;
            }
            cache.neuron_of[s] = n;
            cache.slot_of[n as usize] = s as i32;
            loaded.push((n, s));
        }
        let es = std::mem::size_of::<T>();
        let (up_b, down_b) = (cache.up_elems * es, cache.down_elems * es);
        let rec_off = cache.rec_offset();
        let cap = cache.capacity;
        let bytes = rec_off + loaded.len() * (up_b + down_b);
        {
            stream.synchronize().during("waiting for the previous use of the staging memory")?;
            let buf = cache.staging.as_mut_slice().during("mapping the staging memory")?;
            let put_i32 = |buf: &mut [u8], at: usize, v: i32| buf[at * 4..at * 4 + 4].copy_from_slice(&v.to_le_bytes());
            put_i32(buf, 0, active.len() as i32);
            for (p, &n) in active.iter().enumerate() {
                put_i32(buf, 1 + p, cache.slot_of[n as usize]);
            }
            for (p, &(_, s)) in loaded.iter().enumerate() {
                put_i32(buf, 1 + cap + p, s as i32);
            }
            let rec = |n: i32| {
                let r = n as usize * (cache.up_elems + cache.down_elems);
                &cache.records[r..r + cache.up_elems + cache.down_elems]
            };
            for (p, &(n, _)) in loaded.iter().enumerate() {
                let r = rec(n);
                let (up, down) = r.split_at(cache.up_elems);
                // SAFETY: T is a plain 2-byte float type; the byte views cover exactly its elements.
                let (up, down) = unsafe { (std::slice::from_raw_parts(up.as_ptr().cast::<u8>(), up_b), std::slice::from_raw_parts(down.as_ptr().cast::<u8>(), down_b)) };
                buf[rec_off + p * up_b..rec_off + (p + 1) * up_b].copy_from_slice(up);
                let d0 = rec_off + loaded.len() * up_b + p * down_b;
                buf[d0..d0 + down_b].copy_from_slice(down);
            }
        }
        let dst = cache.device_staging.device_ptr(stream).0;
        let src = cache.staging.as_ptr().during("mapping the staging memory")?;
        // SAFETY: both buffers hold ≥ `bytes` (sized for a full cache); the stream orders the copy
        // before the scatters and the MLP that read it, and the next update synchronises first.
        unsafe { cudarc::driver::sys::cuMemcpyHtoDAsync_v2(dst, src.cast(), bytes, stream.cu_stream()) }.result().during("copying the new records")?;
        if !loaded.is_empty() {
            let v = self.cache_entry(T::TYPE, cache)?;
            let Some(si) = v.entry.launches.iter().position(|l| l.stage == Stage::Scatter) else {
                return Err(Error::VariantMismatch { name: v.entry.name.into(), reason: "it has no scatter stage".into() });
            };
            let slots = dst + (cap as u64 + 1) * 4;
            let up_src = dst + rec_off as u64;
            let down_src = up_src + (loaded.len() * up_b) as u64;
            for (srcp, dest, rb) in [(up_src, cache.up_slots.data.device_ptr(stream).0, up_b), (down_src, cache.down_slots.data.device_ptr(stream).0, down_b)] {
                let vals = ArgValues { staging: srcp, dest, idx: slots, records: loaded.len() as i32, rec_bytes: rb as i32, dims: Dims::new(loaded.len(), 1, 1), ..Default::default() };
                launch_timed(stream, &v, si, self.info.sm_count, &vals, None)?;
            }
        }
        Ok(CacheUpdate { active: active.len(), loaded: loaded.len(), evicted, bytes, host_us: t0.elapsed().as_secs_f64() * 1e6 })
    }

    fn cache_entry<T: GemvInput>(&self, dtype: ElemType, cache: &WeightCache<T>) -> Result<Arc<crate::modules::LoadedVariant>> {
        self.up_entry(dtype, cache.kind, Dims::new(1, cache.capacity, cache.hidden))
    }

    /// The predictor of a cached layer: the active neurons for `x` (`m` tokens), read back to the
    /// host (a synchronisation: the host must know them to update the cache).
    pub fn cache_predict<T, X>(&self, stream: &Arc<CudaStream>, x: &X, cache: &WeightCache<T>, m: usize, select: MlpSelect) -> Result<Vec<i32>>
    where
        T: GemvInput,
        X: DevicePtr<T>,
    {
        let mlp_like = super::mlp::PredictorRef { pred_in: &cache.pred_in, pred_out: &cache.pred_out, inter: cache.inter, hidden: cache.hidden, kind: cache.kind };
        self.predict(stream, x, &mlp_like, m, select)
    }

    /// `y = MLP(x)` over the neurons resident after the last [`Esmm::cache_update`] (x and y
    /// `m × hidden`).
    pub fn cached_mlp_over<T, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, cache: &WeightCache<T>, y: &mut Y, m: usize) -> Result<()>
    where
        T: GemvInput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<T>,
    {
        self.check_stream(stream)?;
        super::check_tokens("the cached MLP", m)?;
        let h = cache.hidden;
        self.check_buffer("x", x, m * h)?;
        self.check_buffer("y", y, m * h)?;
        let (x_ptr, _xg) = x.device_ptr(stream);
        let (y_ptr, _yg) = y.device_ptr_mut(stream);
        let es = T::TYPE.size() as usize;
        let cap = cache.capacity;
        let ws = self.workspaces.get(stream);
        let h_ptr = lock(&ws).mlp_scratch((m * cap * es).div_ceil(256) * 256)?;
        let base = cache.device_staging.device_ptr(stream).0;
        let list = DeviceList { idx: base + 4, count: base, capacity: cap };
        let up_entry = self.cache_entry(T::TYPE, cache)?;
        let down_entry = self.gemv_entry(T::TYPE, T::TYPE, Dims::new(m, h, cap), Activation::None, GemvRequest { layout: GemvLayout::Kn, sparsity: GemvSparsity::RowList, gated: false })?;
        self.gemv_launch(stream, &up_entry, &cache.up_slots, &GemvCall { x: x_ptr, ldx: h, y: h_ptr, ldy: cap, m, list: Some(list), a_pat: 0 }, None)?;
        self.gemv_launch(stream, &down_entry, &cache.down_slots, &GemvCall { x: h_ptr, ldx: cap, y: y_ptr, ldy: h, m, list: Some(list), a_pat: 0 }, None)
    }
}
