//! The sparse MLP of the decode regime (document 004, Deja Vu): a low-rank predictor picks the
//! intermediate neurons worth computing, and only their weights are read.
//!
//! For M = 1..16 tokens x (M × hidden), one call ([`Esmm::sparse_mlp`]) launches, on one stream:
//! 1. `t = x · P₁` (hidden → rank, nk GEMV) and `s = t · P₂` (rank → intermediate, fp32 scores);
//! 2. select: neuron i is active when `s[m][i] > threshold` (or is among token m's top-k) for
//!    some token m: the union over the batch, as an ordered list made on the device;
//! 3. gate/up over the active neurons only, from interleaved gate/up rows (one pass reads both),
//!    with `SiLU(gate)·up` in the epilogue (or up with ReLU / ReLU² for plain MLPs): `h`, compact;
//! 4. down over the active rows only (kn row list): `y = h · D[active, :]`.
//!
//! Five launches, no host round trip (the list and its length stay on the device). y equals
//! the dense MLP restricted to the active neurons, with `t` and `h` rounded to the element type
//! as they are stored (the CPU reference [`sparse_mlp_reference`] does the same).

use std::sync::Arc;

use cudarc::driver::{CudaStream, DevicePtr, DevicePtrMut};
use esmm_spec::{Activation, GemvLayout, GemvSparsity, Stage};

use super::{DeviceList, GemvCall, GemvInput, GemvWeights};
use crate::dispatch::policy::{choose_variant, GemvRequest};
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::modules::LoadedVariant;
use crate::ops::esmm::plan::Chosen;
use crate::validate::Dims;

/// The MLP's nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlpKind {
    /// Llama: `down(SiLU(gate(x)) ⊙ up(x))`.
    Gated,
    /// `down(ReLU(up(x)))`.
    Relu,
    /// `down(ReLU(up(x))²)`.
    Relu2,
}

/// How the predictor's scores become the active set (per token; the union over tokens is used).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MlpSelect {
    /// Neurons whose score exceeds the threshold.
    Threshold(f32),
    /// The k highest-scoring neurons (ties at the k-th score are all kept).
    TopK(usize),
    /// Every neuron (the dense MLP through the same kernels; no predictor launch).
    All,
}

/// Host weights of an MLP, row-major in the math layout (`y = x · W`): gate and up `hidden ×
/// inter`, down `inter × hidden`, the predictor `hidden × rank` then `rank × inter`.
pub struct MlpHostWeights<'a, T> {
    /// Nonlinearity (gate is used only when gated).
    pub kind: MlpKind,
    /// Hidden size (x and y have this many columns).
    pub hidden: usize,
    /// Intermediate size (neurons).
    pub inter: usize,
    /// Rank of the predictor.
    pub rank: usize,
    /// Gate projection (gated MLPs).
    pub gate: Option<&'a [T]>,
    /// Up projection.
    pub up: &'a [T],
    /// Down projection.
    pub down: &'a [T],
    /// Predictor, first factor.
    pub pred_in: &'a [T],
    /// Predictor, second factor.
    pub pred_out: &'a [T],
}

/// An MLP uploaded for [`Esmm::sparse_mlp`].
pub struct SparseMlp<T: GemvInput> {
    /// Nonlinearity.
    pub kind: MlpKind,
    /// Gate/up interleaved (gated) or up, nk.
    pub up: GemvWeights<T>,
    /// Down, kn (rows = neurons).
    pub down: GemvWeights<T>,
    /// Predictor factors, nk.
    pub pred_in: GemvWeights<T>,
    /// Predictor factors, nk.
    pub pred_out: GemvWeights<T>,
}

impl<T: GemvInput> SparseMlp<T> {
    /// Hidden size.
    pub fn hidden(&self) -> usize {
        self.up.k()
    }
    /// Intermediate size.
    pub fn inter(&self) -> usize {
        self.up.n()
    }
    /// Rank of the predictor.
    pub fn rank(&self) -> usize {
        self.pred_in.n()
    }
}

/// What one [`Esmm::sparse_mlp`] call did.
#[derive(Clone, Debug, Default)]
pub struct MlpRun {
    /// The active neurons in increasing order (read back when `read_active` was asked).
    pub active: Option<Vec<i32>>,
}

impl Esmm {
    /// Uploads an MLP and its predictor (gate/up interleaved in the nk layout, down kn, the
    /// predictor nk).
    pub fn sparse_mlp_weights<T: GemvInput>(&self, stream: &Arc<CudaStream>, w: &MlpHostWeights<'_, T>) -> Result<SparseMlp<T>> {
        let (h, i, r) = (w.hidden, w.inter, w.rank);
        if r == 0 {
            return Err(Error::InvalidArgument("the predictor's rank must be at least 1".into()));
        }
        let up = match (w.kind, w.gate) {
            (MlpKind::Gated, Some(g)) => self.gemv_gated_weights(stream, g, w.up, h, i)?,
            (MlpKind::Gated, None) => return Err(Error::InvalidArgument("a gated MLP needs gate weights".into())),
            (_, _) => self.gemv_weights(stream, w.up, h, i, GemvLayout::Nk)?,
        };
        Ok(SparseMlp {
            kind: w.kind,
            up,
            down: self.gemv_weights(stream, w.down, i, h, GemvLayout::Kn)?,
            pred_in: self.gemv_weights(stream, w.pred_in, h, r, GemvLayout::Nk)?,
            pred_out: self.gemv_weights(stream, w.pred_out, r, i, GemvLayout::Nk)?,
        })
    }

    /// The gemv kernel for one of the op's own launches (lists made on the device, the
    /// predictor's projections): where the plan would run cuBLAS, the default kernel.
    pub(crate) fn gemv_entry(&self, dtype: esmm_spec::ElemType, out: esmm_spec::ElemType, dims: Dims, activation: Activation, want: GemvRequest) -> Result<Arc<LoadedVariant>> {
        let req = self.gemv_request(dtype, out, dims, activation, want);
        match self.plan(&req, None)? {
            Chosen::Kernel(v) => Ok(v),
            Chosen::Cublas => self.load(choose_variant(&req)?),
        }
    }

    /// The output-list variant of an MLP's up projection (gated gate/up pairs, or up with the
    /// kind's activation); its select stage picks the neurons, its scatter stage fills a cache.
    pub(crate) fn up_entry(&self, dtype: esmm_spec::ElemType, kind: MlpKind, dims: Dims) -> Result<Arc<LoadedVariant>> {
        let (gated, act) = match kind {
            MlpKind::Gated => (true, Activation::None),
            MlpKind::Relu => (false, Activation::Relu),
            MlpKind::Relu2 => (false, Activation::Relu2),
        };
        self.gemv_entry(dtype, dtype, dims, act, GemvRequest { layout: GemvLayout::Nk, sparsity: GemvSparsity::OutList, gated })
    }

    /// `y = MLP(x)` for `m` = 1..=16 tokens over the neurons `select` keeps (see the module
    /// docs): x and y `M × hidden`, row-major, contiguous. With `read_active` the active list is
    /// read back (a synchronisation) into [`MlpRun::active`].
    pub fn sparse_mlp<T, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, mlp: &SparseMlp<T>, y: &mut Y, m: usize, select: MlpSelect, read_active: bool) -> Result<MlpRun>
    where
        T: GemvInput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<T>,
    {
        self.check_stream(stream)?;
        super::check_tokens("the sparse MLP", m)?;
        check_select(select)?;
        let (h, i) = (mlp.hidden(), mlp.inter());
        self.check_buffer("x", x, m * h)?;
        self.check_buffer("y", y, m * h)?;
        let (x_ptr, _xg) = x.device_ptr(stream);
        let (y_ptr, _yg) = y.device_ptr_mut(stream);
        let es = T::TYPE.size() as usize;
        let down_req = GemvRequest { layout: GemvLayout::Kn, sparsity: GemvSparsity::RowList, gated: false };
        let e_up = self.up_entry(T::TYPE, mlp.kind, Dims::new(m, i, h))?;
        let e_down = self.gemv_entry(T::TYPE, T::TYPE, Dims::new(m, h, i), Activation::None, down_req)?;
        let p = PredictorRef { pred_in: &mlp.pred_in, pred_out: &mlp.pred_out, inter: i, hidden: h, kind: mlp.kind };
        let scratch = self.predict_launch(stream, x_ptr, &p, m, select, m * i * es)?;
        let list = DeviceList { idx: scratch.list + 4, count: scratch.list, capacity: i };
        self.gemv_launch(stream, &e_up, &mlp.up, &GemvCall { x: x_ptr, ldx: h, y: scratch.extra, ldy: i, m, list: Some(list), a_pat: 0 }, None)?;
        self.gemv_launch(stream, &e_down, &mlp.down, &GemvCall { x: scratch.extra, ldx: i, y: y_ptr, ldy: h, m, list: Some(list), a_pat: 0 }, None)?;
        let mut run = MlpRun::default();
        if read_active {
            run.active = Some(read_list(stream, scratch.list, i)?);
        }
        Ok(run)
    }

    /// Launches the predictor and the selection for `x` (`m` tokens): t, the scores and the
    /// active list in the stream's MLP scratch, followed by `extra_bytes` for the caller (h).
    fn predict_launch<T: GemvInput>(&self, stream: &Arc<CudaStream>, x_ptr: u64, p: &PredictorRef<'_, T>, m: usize, select: MlpSelect, extra_bytes: usize) -> Result<Scratch> {
        let (h, i, r) = (p.hidden, p.inter, p.pred_in.n());
        let es = T::TYPE.size() as usize;
        let align = |b: usize| b.div_ceil(256) * 256;
        let (t_bytes, s_bytes, l_bytes) = (align(m * r * es), align(m * i * 4), align((i + 1) * 4));
        let ws = self.workspaces.get(stream);
        let base = lock(&ws).mlp_scratch(t_bytes + s_bytes + l_bytes + align(extra_bytes))?;
        let (t_ptr, s_ptr, l_ptr) = (base, base + t_bytes as u64, base + (t_bytes + s_bytes) as u64);
        let extra = base + (t_bytes + s_bytes + l_bytes) as u64;
        if select == MlpSelect::All {
            // Every neuron: the list 0..inter (no predictor launch).
            let all: Vec<i32> = std::iter::once(i as i32).chain(0..i as i32).collect();
            // SAFETY: the scratch holds 1 + inter i32 at l_ptr; a pageable copy is staged on return.
            unsafe { cudarc::driver::sys::cuMemcpyHtoDAsync_v2(l_ptr, all.as_ptr().cast(), all.len() * 4, stream.cu_stream()) }
                .result()
                .during("uploading the all-neurons list")?;
            return Ok(Scratch { list: l_ptr, extra });
        }
        let nk_dense = GemvRequest { layout: GemvLayout::Nk, sparsity: GemvSparsity::Dense, gated: false };
        let e_p1 = self.gemv_entry(T::TYPE, T::TYPE, Dims::new(m, r, h), Activation::None, nk_dense)?;
        let e_p2 = self.gemv_entry(T::TYPE, esmm_spec::ElemType::F32, Dims::new(m, i, r), Activation::None, nk_dense)?;
        let e_up = self.up_entry(T::TYPE, p.kind, Dims::new(m, i, h))?;
        self.gemv_launch(stream, &e_p1, p.pred_in, &GemvCall { x: x_ptr, ldx: h, y: t_ptr, ldy: r, m, list: None, a_pat: 0 }, None)?;
        self.gemv_launch(stream, &e_p2, p.pred_out, &GemvCall { x: t_ptr, ldx: r, y: s_ptr, ldy: i, m, list: None, a_pat: 0 }, None)?;
        let (threshold, topk) = match select {
            MlpSelect::Threshold(t) => (t, 0),
            MlpSelect::TopK(k) => (0.0, k.min(i) as i32),
            MlpSelect::All => unreachable!("returned above"),
        };
        let Some(si) = e_up.entry.launches.iter().position(|l| l.stage == Stage::Select) else {
            return Err(Error::VariantMismatch { name: e_up.entry.name.into(), reason: "it has no select stage".into() });
        };
        let vals = ArgValues { scores: s_ptr, dims: Dims::new(m, i, r), threshold, topk, list_out: l_ptr, ..Default::default() };
        launch_timed(stream, &e_up, si, self.info.sm_count, &vals, None)?;
        Ok(Scratch { list: l_ptr, extra })
    }

    /// Runs the predictor for `x` and reads the active list back (a synchronisation).
    pub(crate) fn predict<T: GemvInput, X: DevicePtr<T>>(&self, stream: &Arc<CudaStream>, x: &X, p: &PredictorRef<'_, T>, m: usize, select: MlpSelect) -> Result<Vec<i32>> {
        self.check_stream(stream)?;
        super::check_tokens("the predictor", m)?;
        check_select(select)?;
        self.check_buffer("x", x, m * p.hidden)?;
        let (x_ptr, _xg) = x.device_ptr(stream);
        let scratch = self.predict_launch(stream, x_ptr, p, m, select, 0)?;
        read_list(stream, scratch.list, p.inter)
    }
}

/// Where the predictor left its list, and the caller's extra scratch.
struct Scratch {
    list: u64,
    extra: u64,
}

/// The predictor half of an MLP (its own weights, or a weight cache's).
pub(crate) struct PredictorRef<'a, T: GemvInput> {
    pub(crate) pred_in: &'a GemvWeights<T>,
    pub(crate) pred_out: &'a GemvWeights<T>,
    pub(crate) inter: usize,
    pub(crate) hidden: usize,
    pub(crate) kind: MlpKind,
}


fn check_select(select: MlpSelect) -> Result<()> {
    match select {
        MlpSelect::Threshold(t) if !t.is_finite() => Err(Error::InvalidArgument(format!("the threshold must be finite, not {t}"))),
        MlpSelect::TopK(0) => Err(Error::InvalidArgument("top-k needs k ≥ 1".into())),
        _ => Ok(()),
    }
}

/// Reads a device list (`[0]` count, then entries; at most `cap` entries) after synchronising.
fn read_list(stream: &Arc<CudaStream>, l_ptr: u64, cap: usize) -> Result<Vec<i32>> {
    let mut count = 0i32;
    stream.synchronize().during("waiting for the predictor")?;
    // SAFETY: l_ptr holds the count then up to `cap` entries, written by kernels on this stream
    // (synchronised above).
    unsafe { cudarc::driver::sys::cuMemcpyDtoH_v2((&mut count as *mut i32).cast(), l_ptr, 4) }.result().during("reading the active count")?;
    let n = count.clamp(0, cap as i32) as usize;
    let mut v = vec![0i32; n];
    if n > 0 {
        // SAFETY: as above; v holds n i32.
        unsafe { cudarc::driver::sys::cuMemcpyDtoH_v2(v.as_mut_ptr().cast(), l_ptr + 4, n * 4) }.result().during("reading the active list")?;
    }
    Ok(v)
}

/// The sparse MLP on the CPU in f64 (the tests' reference): the predictor with `t` rounded to
/// the element type (`round`), the active set by `select` (the union over tokens), `h` rounded
/// to the element type, then down. Returns (y as f64 `m × hidden`, the active list).
pub fn sparse_mlp_reference(w: &MlpHostWeights<'_, f32>, x: &[f32], m: usize, select: MlpSelect, round: &dyn Fn(f64) -> f64) -> (Vec<f64>, Vec<i32>) {
    let (hd, it, rk) = (w.hidden, w.inter, w.rank);
    let dot = |a: &[f32], b: &[f32], bstride: usize, col: usize, n: usize| -> f64 { (0..n).map(|k| f64::from(a[k]) * f64::from(b[k * bstride + col])).sum() };
    let mut active = vec![select == MlpSelect::All; it];
    if select != MlpSelect::All {
        for t in 0..m {
            let xr = &x[t * hd..(t + 1) * hd];
            let tv: Vec<f32> = (0..rk).map(|c| round(dot(xr, w.pred_in, rk, c, hd)) as f32).collect();
            let scores: Vec<f64> = (0..it).map(|c| f64::from(dot(&tv, w.pred_out, it, c, rk) as f32)).collect();
            let thr = match select {
                MlpSelect::Threshold(th) => f64::from(th),
                MlpSelect::TopK(k) => {
                    let mut s = scores.clone();
                    s.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
                    // Active: score ≥ the k-th largest; as a strict test below, just under it.
                    let kth = s[k.min(it) - 1];
                    kth - kth.abs() * 1e-12 - f64::MIN_POSITIVE
                }
                MlpSelect::All => f64::NEG_INFINITY,
            };
            for c in 0..it {
                if scores[c] > thr {
                    active[c] = true;
                }
            }
        }
    }
    let list: Vec<i32> = (0..it).filter(|c| active[*c]).map(|c| c as i32).collect();
    let mut y = vec![0.0f64; m * hd];
    for t in 0..m {
        let xr = &x[t * hd..(t + 1) * hd];
        for &c in &list {
            let c = c as usize;
            let u = dot(xr, w.up, it, c, hd);
            let hv = match w.kind {
                MlpKind::Gated => {
                    let g = dot(xr, w.gate.expect("gated"), it, c, hd);
                    g / (1.0 + (-g).exp()) * u
                }
                MlpKind::Relu => u.max(0.0),
                MlpKind::Relu2 => u.max(0.0).powi(2),
            };
            let hv = round(hv);
            for o in 0..hd {
                y[t * hd + o] += hv * f64::from(w.down[c * hd + o]);
            }
        }
    }
    (y, list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_keeps_exactly_the_selected_neurons() {
        // hidden 2, inter 3, rank 1: scores = t · pred_out with t = x0 + x1.
        let up = [1.0f32, 2.0, 3.0, 1.0, 1.0, 1.0];
        let down = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let w = MlpHostWeights { kind: MlpKind::Relu, hidden: 2, inter: 3, rank: 1, gate: None, up: &up, down: &down, pred_in: &[1.0, 1.0], pred_out: &[0.5, -1.0, 2.0] };
        let x = [1.0f32, 1.0];
        let id = |v: f64| v;
        let (y, list) = sparse_mlp_reference(&w, &x, 1, MlpSelect::Threshold(0.0), &id);
        assert_eq!(list, vec![0, 2]);
        // h0 = relu(1 + 1) = 2, h2 = relu(3 + 1) = 4; y = 2·[1, 0] + 4·[1, 1].
        assert_eq!(y, vec![6.0, 4.0]);
        let (_, top) = sparse_mlp_reference(&w, &x, 1, MlpSelect::TopK(1), &id);
        assert_eq!(top, vec![2]);
        let (yall, all) = sparse_mlp_reference(&w, &x, 1, MlpSelect::All, &id);
        assert_eq!(all, vec![0, 1, 2]);
        assert_eq!(yall, vec![6.0, 7.0]);
    }
}
