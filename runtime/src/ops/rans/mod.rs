//! Family `rans`: compressed INT8 weights for decode GEMVs (M = 1..16 tokens).
//!
//! Weights are quantized per output channel to INT8 and entropy-coded with rANS by the codec
//! ([`crate::codec`], format in docs/CODEC.md). [`Esmm::rans_weights`] uploads a container
//! (validated on the CPU, every tile's stream verified on the GPU); [`Esmm::rans_gemv`] decodes
//! the tiles inside the GEMV (decode → dequantize → multiply, nothing written back), and
//! [`Esmm::rans_decode`] decodes them into an INT8 matrix. [`Esmm::int8_weights`] and
//! [`Esmm::int8_gemv`] are the same GEMV over plain INT8 weights, the baseline the entropy coder
//! has to beat; [`Esmm::compressed_weights`] / [`Esmm::compressed_gemv`] pick between the two
//! by the rule of [`CompressedPath::for_device`].
//!
//! Contract (docs/RUNTIME.md): `y[m][n] = Σ_k x[m][k] · code[k][n] · scale[n]` with fp32
//! accumulation (the scale is applied to the column's sum), y rounded once to its type; equal
//! to the dense product over the dequantized weights up to the accumulation order. The two
//! paths give the same contract; NaN or Inf in x propagates as in the dense product (codes and
//! scales are finite by construction).

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use esmm_codec::{Container, QuantizedMatrix, Section};
use esmm_spec::{ElemType, Epilogue, Family, KernelSpec, RansKind, RansSpec, Stage};

use crate::dispatch::policy::{RansRequest, Request};
use crate::error::{DriverContext, Error, Result};
use crate::handle::Esmm;
use crate::launch::{launch_timed, ArgValues};
use crate::lock;
use crate::modules::LoadedVariant;
use crate::ops::esmm::plan::Chosen;
use crate::ops::esmm::StageEvents;
use crate::ops::gemv::{check_tokens, GemvInput, GemvOutput};
use crate::validate::Dims;

/// Bytes of the INT8 matrix's row stride granularity (the kernel's widest load).
const INT8_ROW_ALIGN: usize = 16;
/// Warps per SM the INT8 GEMV's k-split aims for (each with up to 2 × 8 rows of 512 B in flight).
const INT8_WARPS_PER_SM: usize = 32;

/// A rANS container on the GPU: the decode table built from its frequency table, its tile
/// records, word stream and scales.
pub struct RansWeights {
    k: usize,
    n: usize,
    tile_k: u32,
    tile_n: u32,
    lanes: u32,
    n_tiles: usize,
    k_tiles: usize,
    table: CudaSlice<u32>,
    tiles: CudaSlice<u8>,
    words: CudaSlice<u16>,
    nwords: usize,
    scales: CudaSlice<f32>,
    container_bytes: usize,
}

impl RansWeights {
    /// Rows (input features).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Columns (output channels).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Tile height of the container.
    pub fn tile_k(&self) -> u32 {
        self.tile_k
    }
    /// Tile width of the container.
    pub fn tile_n(&self) -> u32 {
        self.tile_n
    }
    /// Interleaved rANS states per tile.
    pub fn lanes(&self) -> u32 {
        self.lanes
    }
    /// Bytes of the container this was uploaded from.
    pub fn container_bytes(&self) -> usize {
        self.container_bytes
    }
    /// Bytes a GEMV over these weights reads (tile records, words, scales; the 16 KB decode
    /// table stays in L2).
    pub fn device_bytes(&self) -> usize {
        self.tiles.len() + 2 * self.nwords + 4 * self.n
    }
    /// Container bits per weight.
    pub fn bits_per_weight(&self) -> f64 {
        8.0 * self.container_bytes as f64 / (self.k as f64 * self.n as f64)
    }
}

/// Plain INT8 weights on the GPU: codes K×ld row-major (ld = N rounded up to 16, zero padded)
/// and the per-column scales.
pub struct Int8Weights {
    k: usize,
    n: usize,
    ld: usize,
    codes: CudaSlice<i8>,
    scales: CudaSlice<f32>,
}

impl Int8Weights {
    /// Rows (input features).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Columns (output channels).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Row stride of the codes in bytes.
    pub fn ld(&self) -> usize {
        self.ld
    }
    /// Bytes a GEMV over these weights reads.
    pub fn device_bytes(&self) -> usize {
        self.k * self.ld + 4 * self.n
    }
}

/// Options of [`Esmm::rans_gemv`] and [`Esmm::int8_gemv`].
#[derive(Default)]
pub struct RansOptions<'a> {
    /// Run this variant (by name) instead of the default choice; errors if it cannot serve.
    pub variant: Option<&'a str>,
    /// Records a pair of timing events around the launch.
    pub stage_events: Option<&'a mut StageEvents>,
}

/// Which GEMV serves compressed weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressedPath {
    /// Decode the rANS stream inside the GEMV (fewer bytes, more instructions per weight).
    Entropy,
    /// Decode once at load into plain INT8 and run the INT8 GEMV (one byte per weight).
    Int8,
}

/// Measured cost of the fused decode (docs/KERNELS.md, family rans) in thread-instruction issue
/// slots per decoded weight (4 schedulers × 32 lanes per SM per cycle): the H200's standalone
/// decode, 0.83 T weights/s = 132 SMs × 1.98 GHz × 128 / 40. The loop itself is 23.6 SASS
/// instructions per weight (`scripts/rans-sass.py`); latency and tile setup take the rest.
pub const RANS_ISSUE_SLOTS_PER_WEIGHT: f64 = 40.0;

impl CompressedPath {
    /// The rule the dispatcher follows until a tuned table says otherwise: the fused rANS GEMV
    /// wins when the GPU can decode weights faster than its memory can deliver plain INT8
    /// bytes, i.e. when `SMs × clock × 128 / issue slots per weight` exceeds the bytes per
    /// second of memory bandwidth (one INT8 weight per byte), by a margin of 10%.
    pub fn for_device(sm_count: u32, clock_khz: u32, mem_bandwidth_gbps: f64) -> CompressedPath {
        let decode_per_s = f64::from(sm_count) * f64::from(clock_khz) * 1e3 * 128.0 / RANS_ISSUE_SLOTS_PER_WEIGHT;
        if mem_bandwidth_gbps > 0.0 && decode_per_s > 1.1 * mem_bandwidth_gbps * 1e9 {
            CompressedPath::Entropy
        } else {
            CompressedPath::Int8
        }
    }
}

/// Compressed weights held in the form the dispatcher chose ([`Esmm::compressed_weights`]).
pub enum CompressedWeights {
    /// rANS-coded, decoded inside each GEMV.
    Entropy(RansWeights),
    /// Decoded once into plain INT8.
    Int8(Int8Weights),
}

fn container_error(e: esmm_codec::CodecError) -> Error {
    Error::InvalidArgument(format!("rANS container: {e}"))
}

/// The 4096-entry decode table of templates/rans/rans.cuh: per slot
/// `(code + 128) | (freq − 1) << 8 | (slot − cum[sym]) << 20`.
fn decode_table(c: &Container<'_>) -> Vec<u32> {
    let t = c.freq_table();
    let (freq, cum) = (t.freqs(), t.cum());
    let mut out = vec![0u32; 4096];
    for s in 0..256usize {
        let f = u32::from(freq[s]);
        for j in 0..f {
            let slot = cum[s] + j;
            out[slot as usize] = ((s as u32) ^ 0x80) | ((f - 1) << 8) | (j << 20);
        }
    }
    out
}

impl Esmm {
    fn rans_request(&self, dtype: ElemType, out: ElemType, dims: Dims, want: RansRequest) -> Request {
        Request {
            family: Family::Rans,
            dtype,
            out,
            dims,
            epilogue: Epilogue::default(),
            prepared_b: false,
            arch: self.info.arch,
            gemv: None,
            rans: Some(want),
        }
    }

    fn rans_variant(&self, req: &Request, name: Option<&str>) -> Result<Arc<LoadedVariant>> {
        match name {
            Some(n) => self.load(self.variant_by_name(n, req)?),
            None => match self.plan(req, None)? {
                Chosen::Kernel(v) => Ok(v),
                Chosen::Cublas => Err(Error::NoVariant("family rans has no cuBLAS path".into())),
            },
        }
    }

    /// Parses and validates `container` on the CPU (header, checksums, table, scales, tile
    /// records), uploads it, and verifies every tile's stream on the GPU (a stream that does not
    /// end in its final state is an error naming how many tiles fail).
    pub fn rans_weights(&self, stream: &Arc<CudaStream>, container: &[u8]) -> Result<RansWeights> {
        let w = self.rans_weights_unverified(stream, container)?;
        let bad = self.rans_decode(stream, &w, None)?;
        if bad != 0 {
            return Err(Error::InvalidArgument(format!("rANS container: {bad} of {} tiles fail to decode on the GPU (corrupt stream)", w.k_tiles * w.n_tiles)));
        }
        Ok(w)
    }

    /// [`Esmm::rans_weights`] without the GPU pass over the streams (the CPU checks still run);
    /// a corrupt stream then decodes to wrong codes, never out of bounds.
    pub fn rans_weights_unverified(&self, stream: &Arc<CudaStream>, container: &[u8]) -> Result<RansWeights> {
        self.check_stream(stream)?;
        let c = Container::parse(container).map_err(container_error)?;
        let h = *c.header();
        let (k, n) = (h.k as usize, h.n as usize);
        let words = c.section(Section::Stream);
        let nwords = words.len() / 2;
        if k > i32::MAX as usize || n > i32::MAX as usize || nwords > i32::MAX as usize || k.checked_mul(n).is_none_or(|x| x > isize::MAX as usize) {
            return Err(Error::InvalidArgument(format!("rANS container {k}×{n} with {nwords} words exceeds the kernels' 32-bit indexing")));
        }
        let table = decode_table(&c);
        // The decoder reads the stream in aligned 16-byte chunks (cp.async, zero fill past the
        // end), so the buffer is padded to a multiple of 8 words: no chunk reaches past it.
        let mut words16: Vec<u16> = words.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        words16.resize(nwords.div_ceil(8).max(1) * 8, 0);
        let up = |what: &str| format!("uploading the rANS {what}");
        let table = stream.clone_htod(&table).during(&up("decode table"))?;
        let tiles = stream.clone_htod(c.section(Section::Tiles)).during(&up("tile records"))?;
        let words = stream.clone_htod(&words16).during(&up("word stream"))?;
        let scales = stream.clone_htod(&c.scales()).during(&up("scales"))?;
        Ok(RansWeights {
            k,
            n,
            tile_k: h.tile_k,
            tile_n: h.tile_n,
            lanes: h.lanes,
            n_tiles: h.n_tiles as usize,
            k_tiles: h.k_tiles as usize,
            table,
            tiles,
            words,
            nwords,
            scales,
            container_bytes: container.len(),
        })
    }

    /// Launches the decode stage over every tile: codes (0: verify only) with row stride `ldo`,
    /// failing tiles added to `status` (0: not reported).
    fn rans_decode_launch(&self, stream: &Arc<CudaStream>, rw: &RansWeights, status: u64, codes: u64, ldo: usize) -> Result<()> {
        let want = RansRequest { kind: RansKind::Ans, lanes: rw.lanes, tile_n: rw.tile_n };
        let req = self.rans_request(ElemType::Bf16, ElemType::Bf16, Dims::new(1, rw.n, rw.k), want);
        let v = self.rans_variant(&req, None)?;
        let Some(di) = v.entry.launches.iter().position(|l| l.stage == Stage::Decode) else {
            return Err(Error::VariantMismatch { name: v.entry.name.into(), reason: "it has no decode launch".into() });
        };
        let ntiles = rw.k_tiles * rw.n_tiles;
        let vals = ArgValues {
            dims: Dims::new(1, rw.n, rw.k),
            table: rw.table.device_ptr(stream).0,
            tiles: rw.tiles.device_ptr(stream).0,
            words: rw.words.device_ptr(stream).0,
            nwords: rw.nwords as i32,
            tile_k: rw.tile_k as i32,
            codes,
            ldb: ldo as i32,
            status,
            // Tiles{bm: 1, bn: warps}: one warp per tile.
            grid_dims: Some(Dims::new(1, ntiles, 1)),
            ..Default::default()
        };
        launch_timed(stream, &v, di, self.info.sm_count, &vals, None)
    }

    /// Decodes every tile on the GPU into `codes` (K×N row-major INT8; a longer buffer is fine)
    /// or, with `None`, only checks the streams. Returns the number of tiles whose stream fails
    /// the end checks (0: all decoded exactly); waits for the stream to read it.
    pub fn rans_decode(&self, stream: &Arc<CudaStream>, w: &RansWeights, codes: Option<&mut CudaSlice<i8>>) -> Result<u32> {
        self.check_stream(stream)?;
        let status = stream.alloc_zeros::<u32>(1).during("allocating the decode status")?;
        let sp = status.device_ptr(stream).0;
        let out = match codes {
            Some(c) => {
                self.check_buffer("codes", c, w.k * w.n)?;
                c.device_ptr_mut(stream).0
            }
            None => 0,
        };
        self.rans_decode_launch(stream, w, sp, out, w.n)?;
        let got = stream.clone_dtoh(&status).during("reading the decode status")?;
        Ok(got[0])
    }

    /// [`Esmm::rans_decode`] into `codes` without reading the status back (no wait; for timing
    /// and for decoding once per step).
    pub fn rans_decode_async(&self, stream: &Arc<CudaStream>, w: &RansWeights, codes: &mut CudaSlice<i8>) -> Result<()> {
        self.check_stream(stream)?;
        self.check_buffer("codes", codes, w.k * w.n)?;
        let out = codes.device_ptr_mut(stream).0;
        self.rans_decode_launch(stream, w, 0, out, w.n)
    }

    /// Decodes `w` into existing INT8 weights of the same shape (codes and scales), without
    /// reading the status back: the decode-once path without an allocation (the streams were
    /// verified when `w` was uploaded).
    pub fn rans_decode_into(&self, stream: &Arc<CudaStream>, w: &RansWeights, dst: &mut Int8Weights) -> Result<()> {
        self.check_stream(stream)?;
        if (dst.k, dst.n) != (w.k, w.n) {
            return Err(Error::InvalidArgument(format!("rans_decode_into: INT8 weights {}×{} for a {}×{} container", dst.k, dst.n, w.k, w.n)));
        }
        stream.memcpy_dtod(&w.scales, &mut dst.scales).during("copying the scales")?;
        let out = dst.codes.device_ptr_mut(stream).0;
        self.rans_decode_launch(stream, w, 0, out, dst.ld)
    }

    /// Plain INT8 weights from quantized codes (validated), for [`Esmm::int8_gemv`].
    pub fn int8_weights(&self, stream: &Arc<CudaStream>, q: &QuantizedMatrix) -> Result<Int8Weights> {
        self.check_stream(stream)?;
        q.validate().map_err(|e| Error::InvalidArgument(format!("INT8 weights: {e}")))?;
        let (k, n) = (q.k, q.n);
        let ld = check_int8_shape(k, n)?;
        let mut host = vec![0i8; k * ld];
        for r in 0..k {
            host[r * ld..r * ld + n].copy_from_slice(&q.codes[r * n..(r + 1) * n]);
        }
        let codes = stream.clone_htod(&host).during("uploading INT8 weights")?;
        let scales = stream.clone_htod(&q.scales).during("uploading INT8 scales")?;
        Ok(Int8Weights { k, n, ld, codes, scales })
    }

    /// Plain INT8 weights decoded on the GPU from uploaded rANS weights (the decode checks its
    /// streams: a corrupt one is an error).
    pub fn int8_weights_from(&self, stream: &Arc<CudaStream>, w: &RansWeights) -> Result<Int8Weights> {
        self.check_stream(stream)?;
        let ld = check_int8_shape(w.k, w.n)?;
        let mut codes = stream.alloc_zeros::<i8>(w.k * ld).during("allocating INT8 weights")?;
        let status = stream.alloc_zeros::<u32>(1).during("allocating the decode status")?;
        let sp = status.device_ptr(stream).0;
        let out = codes.device_ptr_mut(stream).0;
        self.rans_decode_launch(stream, w, sp, out, ld)?;
        let bad = stream.clone_dtoh(&status).during("reading the decode status")?[0];
        if bad != 0 {
            return Err(Error::InvalidArgument(format!("rANS container: {bad} tiles fail to decode on the GPU (corrupt stream)")));
        }
        let scales = stream.clone_dtod(&w.scales).during("copying the scales")?;
        Ok(Int8Weights { k: w.k, n: w.n, ld, codes, scales })
    }

    /// Uploads a container in the form [`CompressedPath::for_device`] picks for this GPU:
    /// rANS-coded (decoded in every GEMV) or decoded once into plain INT8.
    pub fn compressed_weights(&self, stream: &Arc<CudaStream>, container: &[u8]) -> Result<CompressedWeights> {
        let w = self.rans_weights(stream, container)?;
        match self.compressed_path() {
            CompressedPath::Entropy => Ok(CompressedWeights::Entropy(w)),
            CompressedPath::Int8 => Ok(CompressedWeights::Int8(self.int8_weights_from(stream, &w)?)),
        }
    }

    /// The path [`Esmm::compressed_weights`] takes on this GPU.
    pub fn compressed_path(&self) -> CompressedPath {
        CompressedPath::for_device(self.info.sm_count, self.info.clock_khz, self.info.mem_bandwidth_gbps())
    }

    /// `y = x · W` over weights from [`Esmm::compressed_weights`] (either path).
    pub fn compressed_gemv<T, O, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, w: &CompressedWeights, y: &mut Y, m: usize, opts: RansOptions<'_>) -> Result<&'static str>
    where
        T: GemvInput,
        O: GemvOutput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<O>,
    {
        match w {
            CompressedWeights::Entropy(r) => self.rans_gemv(stream, x, r, y, m, opts),
            CompressedWeights::Int8(q) => self.int8_gemv(stream, x, q, y, m, opts),
        }
    }

    /// `y[M×N] = x[M×K] · W` over rANS-coded weights, decoded inside the kernel, for `m` =
    /// 1..=16 tokens: x and y row-major and contiguous in caller-owned device buffers (longer
    /// buffers are fine). Returns the variant that ran.
    pub fn rans_gemv<T, O, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, w: &RansWeights, y: &mut Y, m: usize, opts: RansOptions<'_>) -> Result<&'static str>
    where
        T: GemvInput,
        O: GemvOutput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<O>,
    {
        self.check_stream(stream)?;
        check_tokens("rans_gemv", m)?;
        let want = RansRequest { kind: RansKind::Ans, lanes: w.lanes, tile_n: w.tile_n };
        let req = self.rans_request(T::TYPE, O::TYPE, Dims::new(m, w.n, w.k), want);
        self.check_buffer("x", x, m * w.k)?;
        self.check_buffer("y", y, m * w.n)?;
        let v = self.rans_variant(&req, opts.variant)?;
        let spec = rans_spec(&v)?;
        let gi = gemm_launch(&v)?;
        let rows_fit = (spec.xs_bytes() as usize / (4 * spec.mt as usize)).max(1);
        if w.tile_k as usize > rows_fit {
            return Err(Error::VariantMismatch {
                name: v.entry.name.into(),
                reason: format!("it stages at most {rows_fit} rows of x per k-split; the container's tiles have {} rows", w.tile_k),
            });
        }
        let (x_ptr, _xg) = x.device_ptr(stream);
        let (y_ptr, _yg) = y.device_ptr_mut(stream);
        check_align::<T, O>(x_ptr, y_ptr)?;
        // Splits of the k-tiles: the column groups times the splits fill one wave of resident
        // CTAs, each split's x within the staged budget.
        let gx = w.n_tiles.div_ceil(spec.warps as usize);
        let resident = v.max_ctas_per_sm[gi] as usize * self.info.sm_count as usize;
        let want_splits = (resident / gx.max(1)).max(1);
        let chunk = w.k_tiles.div_ceil(want_splits).min(rows_fit / w.tile_k as usize).max(1);
        let splits = w.k_tiles.div_ceil(chunk);
        let mut vals = ArgValues {
            a: x_ptr,
            lda: w.k as i32,
            c: y_ptr,
            ldc: w.n as i32,
            dims: Dims::new(m, w.n, w.k),
            table: w.table.device_ptr(stream).0,
            tiles: w.tiles.device_ptr(stream).0,
            words: w.words.device_ptr(stream).0,
            nwords: w.nwords as i32,
            scales: w.scales.device_ptr(stream).0,
            tile_k: w.tile_k as i32,
            chunk: chunk as i32,
            // Tiles{bm: 1, bn: warps}: grid (ceil(n_tiles / warps), splits).
            grid_dims: Some(Dims::new(splits, w.n_tiles, 1)),
            ..Default::default()
        };
        if splits > 1 {
            self.split_workspace(stream, &mut vals, splits * m * w.n * 4, w.n_tiles)?;
        }
        launch_timed(stream, &v, gi, self.info.sm_count, &vals, opts.stage_events)?;
        Ok(v.entry.name)
    }

    /// `y[M×N] = x[M×K] · W` over plain INT8 weights (same contract and buffers as
    /// [`Esmm::rans_gemv`]).
    pub fn int8_gemv<T, O, X, Y>(&self, stream: &Arc<CudaStream>, x: &X, w: &Int8Weights, y: &mut Y, m: usize, opts: RansOptions<'_>) -> Result<&'static str>
    where
        T: GemvInput,
        O: GemvOutput,
        X: DevicePtr<T>,
        Y: DevicePtrMut<O>,
    {
        self.check_stream(stream)?;
        check_tokens("int8_gemv", m)?;
        let want = RansRequest { kind: RansKind::Int8, lanes: 0, tile_n: 0 };
        let req = self.rans_request(T::TYPE, O::TYPE, Dims::new(m, w.n, w.k), want);
        self.check_buffer("x", x, m * w.k)?;
        self.check_buffer("y", y, m * w.n)?;
        let v = self.rans_variant(&req, opts.variant)?;
        let spec = rans_spec(&v)?;
        let gi = gemm_launch(&v)?;
        let (x_ptr, _xg) = x.device_ptr(stream);
        let (y_ptr, _yg) = y.device_ptr_mut(stream);
        check_align::<T, O>(x_ptr, y_ptr)?;
        // Column groups of 32 · vec; the k-splits bring the CTAs to INT8_WARPS_PER_SM warps per
        // SM (each with 8 rows of 16 B per lane in flight: enough to saturate HBM) but no more,
        // so that the fix-up that adds the splits stays short; x of a split within its budget.
        let cols = spec.cta_columns() as usize;
        let gx = w.n.div_ceil(cols);
        let resident = v.max_ctas_per_sm[gi] as usize * self.info.sm_count as usize;
        let target = resident.min(self.info.sm_count as usize * (INT8_WARPS_PER_SM / spec.warps as usize).max(1));
        let want_splits = (target / gx.max(1)).max(1);
        // Rows of x a split can stage: fp32 per token (CUDA cores), or bf16 / f16 per token with
        // the tensor-core kernel's padding (its stride is the rows rounded up to 16 · warps, + 8).
        let rows_fit = if spec.int8_tensor_cores() {
            (spec.xs_bytes() as usize / (2 * spec.mt as usize)).saturating_sub(16 * spec.warps as usize + 8).max(16) / 16 * 16
        } else {
            (spec.xs_bytes() as usize / (4 * spec.mt as usize)).max(8) / 8 * 8
        };
        let chunk = (w.k.div_ceil(want_splits).div_ceil(8) * 8).min(rows_fit).max(8);
        let splits = w.k.div_ceil(chunk);
        let mut vals = ArgValues {
            a: x_ptr,
            lda: w.k as i32,
            b: 0,
            codes: w.codes.device_ptr(stream).0,
            ldb: w.ld as i32,
            scales: w.scales.device_ptr(stream).0,
            c: y_ptr,
            ldc: w.n as i32,
            dims: Dims::new(m, w.n, w.k),
            chunk: chunk as i32,
            // Tiles{bm: 1, bn: 32 · vec}: grid (ceil(N / cols), splits).
            grid_dims: Some(Dims::new(splits, w.n, 1)),
            ..Default::default()
        };
        if splits > 1 {
            self.split_workspace(stream, &mut vals, splits * m * w.n * 4, gx)?;
        }
        launch_timed(stream, &v, gi, self.info.sm_count, &vals, opts.stage_events)?;
        Ok(v.entry.name)
    }

    fn split_workspace(&self, stream: &Arc<CudaStream>, vals: &mut ArgValues, partial_bytes: usize, groups: usize) -> Result<()> {
        let ws = self.workspaces.get(stream);
        let mut ws = lock(&ws);
        vals.partials = ws.partials(partial_bytes)?;
        vals.counters = ws.counters(groups)?;
        Ok(())
    }
}

fn rans_spec(v: &LoadedVariant) -> Result<RansSpec> {
    match v.entry.spec {
        KernelSpec::Rans(s) => Ok(s),
        _ => Err(Error::VariantMismatch { name: v.entry.name.into(), reason: "it is not a rans variant".into() }),
    }
}

fn gemm_launch(v: &LoadedVariant) -> Result<usize> {
    v.entry
        .launches
        .iter()
        .position(|l| l.stage == Stage::Gemm)
        .ok_or_else(|| Error::VariantMismatch { name: v.entry.name.into(), reason: "it has no GEMV launch".into() })
}

fn check_align<T: GemvInput, O: GemvOutput>(x: u64, y: u64) -> Result<()> {
    if x % T::TYPE.size() as u64 != 0 || y % O::TYPE.size() as u64 != 0 {
        return Err(Error::InvalidArgument("x or y is not aligned to its element type".into()));
    }
    Ok(())
}

/// The padded row stride of INT8 weights, checked against the kernels' 32-bit indexing.
fn check_int8_shape(k: usize, n: usize) -> Result<usize> {
    if k == 0 || n == 0 {
        return Err(Error::InvalidArgument(format!("INT8 weights must be at least 1×1, not {k}×{n}")));
    }
    let ld = n.div_ceil(INT8_ROW_ALIGN) * INT8_ROW_ALIGN;
    if k > i32::MAX as usize || ld > i32::MAX as usize || k.checked_mul(ld).is_none_or(|x| x > isize::MAX as usize) {
        return Err(Error::InvalidArgument(format!("INT8 weights {k}×{n} exceed the kernels' 32-bit indexing")));
    }
    Ok(ld)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_follows_decode_rate_against_bandwidth() {
        // H200: 132 SMs at 1.98 GHz decode ≈ 0.84 T weights/s against 4.8 T INT8 bytes/s.
        assert_eq!(CompressedPath::for_device(132, 1_980_000, 4800.0), CompressedPath::Int8);
        // RTX 5090: 170 SMs at 2.41 GHz decode ≈ 1.31 T weights/s against 1.79 T bytes/s.
        assert_eq!(CompressedPath::for_device(170, 2_410_000, 1792.0), CompressedPath::Int8);
        // RTX 4090: 1.03 T against 1.01 T: inside the 10% margin, INT8.
        assert_eq!(CompressedPath::for_device(128, 2_520_000, 1008.0), CompressedPath::Int8);
        // The same SMs behind a quarter of the bandwidth: decoding pays.
        assert_eq!(CompressedPath::for_device(170, 2_410_000, 448.0), CompressedPath::Entropy);
        // Unknown bandwidth: the safe path.
        assert_eq!(CompressedPath::for_device(170, 2_410_000, 0.0), CompressedPath::Int8);
    }

    #[test]
    fn decode_table_matches_the_codec() {
        let w: Vec<f32> = (0..64 * 64).map(|i| ((i * 7919) % 255) as f32 - 127.0).collect();
        let q = esmm_codec::quantize_f32(&w, 64, 64, 64).unwrap();
        let buf = esmm_codec::encode(&q, &esmm_codec::Params { tile_k: 64, tile_n: 64, lanes: 32 }).unwrap();
        let c = Container::parse(&buf).unwrap();
        let tab = decode_table(&c);
        let t = c.freq_table();
        for slot in 0..4096u32 {
            let e = tab[slot as usize];
            let sym = t.symbol_of_slot(slot);
            assert_eq!(e & 0xff, u32::from(sym) ^ 0x80);
            let f = u32::from(t.freqs()[sym as usize]);
            assert_eq!(((e >> 8) & 4095) + 1, f);
            assert_eq!(e >> 20, slot - t.cum()[sym as usize]);
            // One decode step as the kernel does it equals the codec's.
            let x0 = 0x1234_5678u32 ^ slot.wrapping_mul(2654435761);
            let x0 = x0.max(1 << 16);
            let (xs, q0) = (x0 & !4095 | slot, (x0 & !4095 | slot) >> 12);
            let mut xc = xs;
            assert_eq!(t.decode_step(&mut xc), sym);
            let xk = ((e >> 8) & 4095) * q0 + q0 + (e >> 20);
            assert_eq!(xk, xc);
        }
    }
}
