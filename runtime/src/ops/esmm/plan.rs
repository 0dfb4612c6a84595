//! Plans of `Esmm::matmul`, computed once per (shape, epilogue, prepared B, density bucket) and
//! cached in the handle, so that the hot path does no string parsing, name building, table
//! search or module lookup: one hash-map probe yields the loaded kernel (or cuBLAS).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use esmm_spec::tuned::{density_bucket, DENSITY_BUCKETS};
use esmm_spec::Epilogue;

use crate::dispatch::adaptive::{self, Plan};
use crate::dispatch::policy::Request;
use crate::error::{Error, Result};
use crate::grid::grid_dims;
use crate::handle::Esmm;
use crate::lock;
use crate::modules::LoadedVariant;
use crate::validate::Dims;

/// Plans kept before the cache is cleared (a server with endlessly varying shapes re-plans).
const MAX_PLANS: usize = 4096;

/// What a plan is cached under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PlanKey {
    pub(crate) family: esmm_spec::Family,
    pub(crate) dtype: esmm_spec::ElemType,
    pub(crate) out: esmm_spec::ElemType,
    pub(crate) dims: Dims,
    pub(crate) epilogue: Epilogue,
    pub(crate) prepared_b: bool,
    /// Index into [`DENSITY_BUCKETS`] of the estimated density (None: nothing known yet).
    pub(crate) density: Option<u8>,
    /// Family gemv: layout, sparsity and gating of the call.
    pub(crate) gemv: Option<crate::dispatch::policy::GemvRequest>,
    /// Family rans: kind, lanes and tile width of the call's weights.
    pub(crate) rans: Option<crate::dispatch::policy::RansRequest>,
}

/// What a call runs.
#[derive(Clone)]
pub(crate) enum Chosen {
    /// cuBLAS SGEMM.
    Cublas,
    /// A loaded variant whose every launch has a valid grid for the key's shape.
    Kernel(Arc<LoadedVariant>),
}

/// The handle's plan cache.
#[derive(Default)]
pub(crate) struct PlanCache {
    plans: Mutex<HashMap<PlanKey, Chosen>>,
}

/// The bucket index of a density estimate.
pub(crate) fn bucket_index(density: Option<f64>) -> Option<u8> {
    let d = density_bucket(density?);
    DENSITY_BUCKETS.iter().position(|b| *b == d).map(|i| i as u8)
}

impl PlanCache {
    /// Forgets every plan (new variants were registered).
    pub(crate) fn clear(&self) {
        lock(&self.plans).clear();
    }
}

impl Esmm {
    /// What `req` runs at estimated density bucket `density` (cached).
    pub(crate) fn plan(&self, req: &Request, density: Option<u8>) -> Result<Chosen> {
        let key = PlanKey { family: req.family, dtype: req.dtype, out: req.out, dims: req.dims, epilogue: req.epilogue, prepared_b: req.prepared_b, density, gemv: req.gemv, rans: req.rans };
        if let Some(c) = lock(&self.plans.plans).get(&key) {
            return Ok(c.clone());
        }
        let chosen = self.compute_plan(req, density.map(|i| DENSITY_BUCKETS[usize::from(i)]))?;
        let mut plans = lock(&self.plans.plans);
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(key, chosen.clone());
        Ok(chosen)
    }

    /// Ranks the candidates (tuned table, heuristics, static default) and takes the first that
    /// loads and whose launches fit the shape.
    fn compute_plan(&self, req: &Request, density: Option<f64>) -> Result<Chosen> {
        let ranked = adaptive::plan(self.table.as_ref(), req, density, self.cublas_present, &|n| self.extra_entry(n));
        for p in ranked {
            match p {
                Plan::Cublas => return Ok(Chosen::Cublas),
                Plan::Variant(e) => {
                    if let Ok(v) = self.load(e) {
                        if self.fits(&v, req.dims) {
                            return Ok(Chosen::Kernel(v));
                        }
                    }
                }
            }
        }
        Err(Error::NoVariant(format!(
            "no loadable variant for activation {}, col_nnz {}",
            req.epilogue.activation.tag(),
            req.epilogue.col_nnz
        )))
    }

    /// Whether every launch of a loaded variant has a valid grid for `dims`.
    pub(crate) fn fits(&self, v: &LoadedVariant, dims: Dims) -> bool {
        v.entry.launches.iter().zip(&v.max_ctas_per_sm).all(|(l, ctas)| {
            grid_dims(l.grid, dims, u64::from(*ctas) * u64::from(self.info.sm_count)).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_map_to_bucket_indices() {
        assert_eq!(bucket_index(None), None);
        assert_eq!(bucket_index(Some(1.0)), Some(0));
        assert_eq!(bucket_index(Some(0.49)), Some(3));
        assert_eq!(bucket_index(Some(0.0)), Some(5));
        assert_eq!(bucket_index(Some(f64::NAN)), Some(0));
    }
}
