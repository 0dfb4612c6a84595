//! Generic launches: every argument is packed from the launch's argument list in the registry
//! ([`esmm_spec::Arg`]), so no op module spells a kernel's parameter list; cooperative launches
//! for persistent grids.

use std::sync::Arc;

use cudarc::driver::{CudaStream, LaunchConfig, PushKernelArg};
use esmm_spec::abi::{Dim, Operand, Scalar, Workspace};
use esmm_spec::Arg;

use crate::error::{DriverContext, Error, Result};
use crate::grid::grid_dims;
use crate::modules::LoadedVariant;
use crate::validate::Dims;

/// Most parameters one kernel takes.
const MAX_ARGS: usize = 16;

/// A TMA tensor map (`CUtensorMap`, 128 bytes, 64-byte aligned), passed by value.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct TensorMap(pub(crate) [u64; 16]);

impl Default for TensorMap {
    fn default() -> TensorMap {
        TensorMap([0; 16])
    }
}

// SAFETY: plain bytes with the layout and alignment of the driver's CUtensorMap.
unsafe impl cudarc::driver::DeviceRepr for TensorMap {}

/// The values of one call: device addresses (0 = null), dimensions and scalars. Each launch
/// picks what its argument list names.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ArgValues {
    pub(crate) a: u64,
    pub(crate) b: u64,
    pub(crate) c: u64,
    pub(crate) dims: Dims,
    pub(crate) a_pat: u64,
    pub(crate) b_pat: u64,
    pub(crate) col_nnz: u64,
    pub(crate) ctrl: u64,
    pub(crate) ones: u64,
    pub(crate) epoch: u32,
    /// Leading dimensions of A and of the GEMM's B (tc).
    pub(crate) lda: i32,
    pub(crate) ldb: i32,
    /// Packed copies of A and B (tc pack stages).
    pub(crate) a_packed: u64,
    pub(crate) b_packed: u64,
    /// Tensor maps of A and Bᵀ (tc wgmma).
    pub(crate) tmap_a: TensorMap,
    pub(crate) tmap_b: TensorMap,
    /// Leading dimension of C (gemv).
    pub(crate) ldc: i32,
    /// Index list and its device-side count (gemv list variants).
    pub(crate) idx: u64,
    pub(crate) nidx: u64,
    /// Split positions per grid row (gemv).
    pub(crate) chunk: i32,
    /// Split partials and tickets (gemv).
    pub(crate) partials: u64,
    pub(crate) counters: u64,
    /// gemv select stage: scores, the written list, threshold and top-k.
    pub(crate) scores: u64,
    pub(crate) list_out: u64,
    pub(crate) threshold: f32,
    pub(crate) topk: i32,
    /// gemv scatter stage: staged records, destination, record count and size.
    pub(crate) staging: u64,
    pub(crate) dest: u64,
    pub(crate) records: i32,
    pub(crate) rec_bytes: i32,
    /// rans: the container's decode table, tile records and word stream (and its length in
    /// words), its tile height, the per-column scales, INT8 codes (read by the INT8 GEMV,
    /// written by the decode stage; `ldb` is their row stride) and the decode status word.
    pub(crate) table: u64,
    pub(crate) tiles: u64,
    pub(crate) words: u64,
    pub(crate) nwords: i32,
    pub(crate) tile_k: i32,
    pub(crate) scales: u64,
    pub(crate) codes: u64,
    pub(crate) status: u64,
    /// The shape the grid rule reads when it differs from `dims` (gemv: outputs and split
    /// positions, while the kernel's N and K are the weights').
    pub(crate) grid_dims: Option<Dims>,
    /// Resident CTAs the grid rule plans with, when the call planned them itself (gemv: the
    /// occupancy at the call's shared memory) instead of the launch's declared maximum.
    pub(crate) resident_ctas: Option<u64>,
    /// Dynamic shared memory of this call when it is less than the launch's declared maximum.
    pub(crate) dynamic_smem: Option<u32>,
}

/// One packed kernel parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    Ptr(u64),
    Int(i32),
    U32(u32),
    F32(f32),
    Map(TensorMap),
}

impl ArgValues {
    /// The value of one parameter. Dimensions fit `int` (checked by `Dims::check`).
    pub(crate) fn value(&self, arg: Arg) -> Value {
        match arg {
            Arg::Operand { operand: Operand::A, .. } => Value::Ptr(self.a),
            Arg::Operand { operand: Operand::B, .. } => Value::Ptr(self.b),
            Arg::Operand { operand: Operand::C, .. } => Value::Ptr(self.c),
            Arg::Dim(Dim::M) => Value::Int(self.dims.m as i32),
            Arg::Dim(Dim::N) => Value::Int(self.dims.n as i32),
            Arg::Dim(Dim::K) => Value::Int(self.dims.k as i32),
            Arg::Pattern(Operand::A) => Value::Ptr(self.a_pat),
            Arg::Pattern(Operand::B) => Value::Ptr(self.b_pat),
            Arg::Pattern(Operand::C) => Value::Ptr(0),
            Arg::ColNnz => Value::Ptr(self.col_nnz),
            Arg::Workspace(Workspace::Ctrl) => Value::Ptr(self.ctrl),
            Arg::Workspace(Workspace::Ones) => Value::Ptr(self.ones),
            Arg::Scalar(Scalar::Epoch) => Value::U32(self.epoch),
            Arg::Scalar(Scalar::Chunk) => Value::Int(self.chunk),
            Arg::Workspace(Workspace::Partials) => Value::Ptr(self.partials),
            Arg::Workspace(Workspace::Counters) => Value::Ptr(self.counters),
            Arg::Index => Value::Ptr(self.idx),
            Arg::IndexCount => Value::Ptr(self.nidx),
            Arg::Scores => Value::Ptr(self.scores),
            Arg::ListOut => Value::Ptr(self.list_out),
            Arg::Staging => Value::Ptr(self.staging),
            Arg::Dest => Value::Ptr(self.dest),
            Arg::Scalar(Scalar::Threshold) => Value::F32(self.threshold),
            Arg::Scalar(Scalar::TopK) => Value::Int(self.topk),
            Arg::Scalar(Scalar::Records) => Value::Int(self.records),
            Arg::Scalar(Scalar::RecordBytes) => Value::Int(self.rec_bytes),
            Arg::Scalar(Scalar::Words) => Value::Int(self.nwords),
            Arg::Scalar(Scalar::TileK) => Value::Int(self.tile_k),
            Arg::RansTable => Value::Ptr(self.table),
            Arg::RansTiles => Value::Ptr(self.tiles),
            Arg::RansWords => Value::Ptr(self.words),
            Arg::Scales => Value::Ptr(self.scales),
            Arg::Codes { .. } => Value::Ptr(self.codes),
            Arg::Status => Value::Ptr(self.status),
            Arg::Ld(Operand::A) => Value::Int(self.lda),
            Arg::Ld(Operand::C) => Value::Int(self.ldc),
            Arg::Ld(_) => Value::Int(self.ldb),
            Arg::TensorMap(Operand::A) => Value::Map(self.tmap_a),
            Arg::TensorMap(_) => Value::Map(self.tmap_b),
            Arg::Packed { operand: Operand::A, .. } => Value::Ptr(self.a_packed),
            Arg::Packed { .. } => Value::Ptr(self.b_packed),
        }
    }
}

/// Launches launch `i` of a loaded variant with the call's values, on `stream`.
pub(crate) fn launch(stream: &Arc<CudaStream>, v: &LoadedVariant, i: usize, sm_count: u32, vals: &ArgValues) -> Result<()> {
    let l = &v.entry.launches[i];
    let resident = vals.resident_ctas.unwrap_or(u64::from(v.max_ctas_per_sm[i]) * u64::from(sm_count));
    let grid = grid_dims(l.grid, vals.grid_dims.unwrap_or(vals.dims), resident).map_err(|e| match e {
        Error::InvalidArgument(msg) => Error::InvalidArgument(format!("{}: {msg}", v.entry.name)),
        e => e,
    })?;
    if l.args.len() > MAX_ARGS {
        return Err(Error::InvalidArgument(format!("{}: {} kernel parameters exceed {MAX_ARGS}", v.entry.name, l.args.len())));
    }
    let mut packed = [Value::U32(0); MAX_ARGS];
    for (slot, arg) in packed.iter_mut().zip(l.args) {
        *slot = vals.value(*arg);
    }
    let cfg = LaunchConfig { grid_dim: grid, block_dim: (l.threads, 1, 1), shared_mem_bytes: vals.dynamic_smem.unwrap_or(l.dynamic_smem) };
    let mut builder = stream.launch_builder(&v.functions[i]);
    for p in &packed[..l.args.len()] {
        match p {
            Value::Ptr(x) => builder.arg(x),
            Value::Int(x) => builder.arg(x),
            Value::U32(x) => builder.arg(x),
            Value::F32(x) => builder.arg(x),
            Value::Map(x) => builder.arg(x),
        };
    }
    // SAFETY: the parameters follow the launch's argument list, the same data the template's
    // signature was rendered from; every pointer was checked against the shape by the op.
    unsafe {
        if l.cooperative() {
            builder.launch_cooperative(cfg)
        } else {
            builder.launch(cfg)
        }
    }
    .during(&format!("launching {} ({grid:?})", v.entry.name))?;
    Ok(())
}

/// [`launch`], with a pair of timing events recorded around it into `events` when given (the
/// ops' `stage_events` option).
pub(crate) fn launch_timed(
    stream: &Arc<CudaStream>,
    v: &LoadedVariant,
    i: usize,
    sm_count: u32,
    vals: &ArgValues,
    events: Option<&mut crate::ops::esmm::StageEvents>,
) -> Result<()> {
    let Some(se) = events else {
        return launch(stream, v, i, sm_count, vals);
    };
    let ctx = stream.context();
    let timed = || ctx.new_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT));
    let (start, end) = (timed().during("creating an event")?, timed().during("creating an event")?);
    start.record(stream).during("recording an event")?;
    launch(stream, v, i, sm_count, vals)?;
    end.record(stream).during("recording an event")?;
    se.events.push((v.entry.launches[i].stage, start, end));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use esmm_spec::families::esmm::{GEMM_ARGS, PATTERN_A_ARGS};

    #[test]
    fn values_follow_the_argument_lists() {
        let v = ArgValues { a: 1, b: 2, c: 3, dims: Dims::new(4, 5, 6), a_pat: 7, b_pat: 8, col_nnz: 9, ctrl: 10, ones: 11, epoch: 12, ..Default::default() };
        let got: Vec<Value> = GEMM_ARGS.iter().map(|a| v.value(*a)).collect();
        use Value::*;
        assert_eq!(got, [Ptr(1), Ptr(2), Ptr(3), Int(4), Int(5), Int(6), Ptr(7), Ptr(8), Ptr(9), Ptr(10), Ptr(11), U32(12)]);
        let got: Vec<Value> = PATTERN_A_ARGS.iter().map(|a| v.value(*a)).collect();
        assert_eq!(got, [Ptr(1), Int(4), Int(6), Ptr(7), Ptr(10), U32(12)]);
        assert!(GEMM_ARGS.len() <= MAX_ARGS);
    }

    #[test]
    fn rans_values_follow_the_argument_lists() {
        use esmm_spec::families::rans::{int8_gemv_args, rans_gemv_args, RANS_DECODE_ARGS};
        use esmm_spec::ElemType;
        use Value::*;
        let v = ArgValues {
            a: 1,
            c: 3,
            dims: Dims::new(4, 5, 6),
            lda: 7,
            ldb: 8,
            ldc: 9,
            chunk: 10,
            partials: 11,
            counters: 12,
            table: 13,
            tiles: 14,
            words: 15,
            nwords: 16,
            tile_k: 17,
            scales: 18,
            codes: 19,
            status: 20,
            ..Default::default()
        };
        let got: Vec<Value> = RANS_DECODE_ARGS.iter().map(|a| v.value(*a)).collect();
        assert_eq!(got, [Ptr(13), Ptr(14), Ptr(15), Int(16), Int(6), Int(5), Int(17), Ptr(19), Int(8), Ptr(20)]);
        let got: Vec<Value> = rans_gemv_args(ElemType::Bf16, ElemType::F32).iter().map(|a| v.value(*a)).collect();
        assert_eq!(got, [Ptr(1), Int(7), Ptr(13), Ptr(14), Ptr(15), Int(16), Ptr(18), Ptr(3), Int(9), Int(4), Int(5), Int(6), Int(17), Int(10), Ptr(11), Ptr(12)]);
        let got: Vec<Value> = int8_gemv_args(ElemType::F16, ElemType::F16).iter().map(|a| v.value(*a)).collect();
        assert_eq!(got, [Ptr(1), Int(7), Ptr(19), Int(8), Ptr(18), Ptr(3), Int(9), Int(4), Int(5), Int(6), Int(10), Ptr(11), Ptr(12)]);
        assert!(rans_gemv_args(ElemType::Bf16, ElemType::Bf16).len() <= MAX_ARGS);
    }
}
