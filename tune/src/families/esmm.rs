//! Family `esmm` in the sweep: keys are (esmm, f32, activation none, M, N, K, density); the data
//! is the blockwise workload at that density (B prepared); the baseline and the correctness
//! reference are cuBLAS SGEMM on the same data, kept on the GPU, so checks never copy C to the
//! host.

use crate::bench::timing::{time_runs, time_runs_after, DeviceProblem, Timing};
use crate::bench::{make_workload, BenchConfig, WorkloadKind};
use crate::{msg, Result};
use esmm::cudarc::cublas::CudaBlas;
use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::dispatch::tuned::{CandidateStatus, TableKey, CUBLAS_SGEMM};
use esmm::{Activation, BaselineMath, Dims, ElemType, Esmm, Family, KernelSpec};
use std::sync::Arc;

/// The family swept here.
pub const FAMILY: Family = Family::Esmm;

/// Largest relative Frobenius error (vs cuBLAS FP32) of a correct candidate.
pub const MAX_REL_ERR: f64 = 1e-5;

/// The table key of a shape and density.
pub fn key(d: Dims, density: f64) -> TableKey {
    TableKey { family: FAMILY, dtype: ElemType::F32, activation: Activation::None, m: d.m as u64, n: d.n as u64, k: d.k as u64, density }
}

/// The family's members of a candidate set.
pub fn candidates(specs: Vec<KernelSpec>) -> Vec<KernelSpec> {
    specs.into_iter().filter(|s| s.family() == FAMILY).collect()
}

/// The outcome of one candidate under one key (the fingerprint is added by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// What happened.
    pub status: CandidateStatus,
    /// Its timing (for `Ok` and `Pruned`).
    pub timing: Option<Timing>,
    /// Why it is not `Ok`.
    pub detail: Option<String>,
}

impl Outcome {
    fn failed(status: CandidateStatus, detail: String) -> Outcome {
        Outcome { status, timing: None, detail: Some(detail) }
    }
}

/// One key's data on the GPU, its cuBLAS reference and the scratch the checks need.
pub struct KeyBench<'a> {
    esmm: &'a Esmm,
    stream: Arc<CudaStream>,
    problem: DeviceProblem,
    reference: CudaSlice<f32>,
    scratch: CudaSlice<f32>,
    blas: CudaBlas,
}

impl<'a> KeyBench<'a> {
    /// Uploads the key's data (on a new stream of `esmm`) and computes the reference.
    pub fn new(esmm: &'a Esmm, d: Dims, density: f64, seed: u64) -> Result<KeyBench<'a>> {
        let stream = esmm.context().new_stream().map_err(msg("creating a stream"))?;
        let cfg = BenchConfig { dims: d, densities: vec![density], density_a: None, density_b: None, workload: WorkloadKind::Blockwise, variants: vec![], check: true, reps: 1, seed };
        let host = make_workload(&cfg, d, density, density, seed ^ (d.m * 31 + d.n * 17 + d.k) as u64 ^ (density * 1000.0) as u64);
        let mut problem = DeviceProblem::upload(esmm, &stream, host, true)?;
        let len = d.m * d.n;
        problem.run_cublas(esmm, &stream, BaselineMath::Fp32)?;
        let mut reference = stream.alloc_zeros::<f32>(len).map_err(msg("allocating the reference"))?;
        stream.memcpy_dtod(&problem.c, &mut reference).map_err(msg("keeping the reference"))?;
        let scratch = stream.alloc_zeros::<f32>(len).map_err(msg("allocating scratch"))?;
        let blas = CudaBlas::new(stream.clone()).map_err(msg("creating a cuBLAS handle"))?;
        Ok(KeyBench { esmm, stream, problem, reference, scratch, blas })
    }

    /// The label the baseline is recorded under.
    pub fn baseline_label(&self) -> &'static str {
        CUBLAS_SGEMM
    }

    /// Times the baseline (cuBLAS SGEMM).
    pub fn time_baseline(&mut self, reps: u32) -> Result<Timing> {
        let (esmm, stream, p) = (self.esmm, &self.stream, &mut self.problem);
        time_runs(stream, reps, || p.run_cublas(esmm, stream, BaselineMath::Fp32))
    }

    /// Checks candidate `name` against the reference, then times it: a 2-sample probe first,
    /// pruned when slower than `prune` × `best_ms`; else `reps` timed runs.
    pub fn measure(&mut self, name: &str, prune: f64, best_ms: f64, reps: u32) -> Result<Outcome> {
        let (esmm, stream) = (self.esmm, &self.stream);
        let prepared = name.contains("_offb_");
        let p = &mut self.problem;
        p.poison_c(stream)?;
        if let Err(e) = p.run(esmm, stream, Some(name), Activation::None, prepared) {
            let status = if e.contains("cannot serve") || e.contains("invalid") { CandidateStatus::Invalid } else { CandidateStatus::LaunchFailed };
            return Ok(Outcome::failed(status, e));
        }
        let len = p.dims.m * p.dims.n;
        let err = match esmm::testing::relative_error_on_device(&mut self.blas, stream, &p.c, &self.reference, &mut self.scratch, len) {
            Ok(e) => e,
            Err(e) => return Ok(Outcome::failed(CandidateStatus::LaunchFailed, e.to_string())),
        };
        if !(err <= MAX_REL_ERR) {
            return Ok(Outcome::failed(CandidateStatus::Wrong, format!("relative error {err:.3e} vs cuBLAS")));
        }
        let mut run = || p.run(esmm, stream, Some(name), Activation::None, prepared).map(|_| ());
        let probe = time_runs_after(stream, 1, 2, &mut run)?;
        if probe.median_ms > prune * best_ms {
            return Ok(Outcome { status: CandidateStatus::Pruned, timing: Some(probe), detail: Some(format!("slower than {prune:.2}× the best after 2 samples")) });
        }
        let t = time_runs_after(stream, 1, reps, &mut run)?;
        Ok(Outcome { status: CandidateStatus::Ok, timing: Some(t), detail: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_and_candidates_belong_to_the_family() {
        let k = key(Dims::new(16, 4096, 4096), 0.5);
        assert_eq!((k.family, k.dtype, k.activation, k.m, k.density), (Family::Esmm, ElemType::F32, Activation::None, 16, 0.5));
        let shipped = esmm_codegen::sets::shipped();
        assert_eq!(candidates(shipped.clone()).len(), shipped.iter().filter(|s| s.family() == Family::Esmm).count());
    }
}
