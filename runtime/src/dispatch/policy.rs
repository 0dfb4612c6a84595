//! What a call asks of a variant ([`Request`]), why a variant cannot serve it
//! ([`spec_mismatch`]), and the static default choice ([`choose_variant`]) used when no tuned
//! table decides.

use esmm_spec::{Arch, ElemType, Epilogue, Family, GemvLayout, GemvSparsity, GemvSpec, KernelSpec, Preprocess, RansKind, RansSpec, RegistryEntry, SkipStyle, Sparsity, TcPath, TcPatterns, TcSparsity};

use super::registry::{compiled_variants, entry, fatbin, near_names, REGISTRY};
use crate::error::{Error, Result};
use crate::validate::Dims;

/// What a call asks of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// The op's family.
    pub family: Family,
    /// Element type of the inputs.
    pub dtype: ElemType,
    /// Element type of C.
    pub out: ElemType,
    /// Problem shape.
    pub dims: Dims,
    /// The epilogue asked for.
    pub epilogue: Epilogue,
    /// Whether the caller supplied prepared weights (B patterns).
    pub prepared_b: bool,
    /// The device's architecture (None: unknown, no arch filter).
    pub arch: Option<Arch>,
    /// Family gemv: the weights' layout and what the call skips.
    pub gemv: Option<GemvRequest>,
    /// Family rans: what the weights are (a container's lanes and tile width, or plain INT8).
    pub rans: Option<RansRequest>,
}

/// What a gemv call needs beyond the types: the layout its weights are stored in, the kind of
/// sparsity, and whether the weights are gated pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GemvRequest {
    /// Layout of the prepared weights.
    pub layout: GemvLayout,
    /// What the call skips.
    pub sparsity: GemvSparsity,
    /// Interleaved gate/up weights with the SiLU(gate)·up epilogue.
    pub gated: bool,
}

impl GemvRequest {
    /// Whether cuBLAS computes the same product: dense and input-sparse calls of plain weights
    /// (no index list, not gated).
    pub const fn has_library_path(self) -> bool {
        !self.gated && matches!(self.sparsity, GemvSparsity::Dense | GemvSparsity::Input)
    }

    /// Whether a variant of sparsity `have` serves a call that asks for `self.sparsity`: the same,
    /// or a dense kernel for an input-sparse call (reading every row gives the same product).
    pub fn served_by(self, have: GemvSparsity) -> bool {
        have == self.sparsity || (have == GemvSparsity::Dense && self.sparsity == GemvSparsity::Input)
    }

    /// The request a gemv variant serves.
    pub const fn of(s: &GemvSpec) -> GemvRequest {
        GemvRequest { layout: s.layout, sparsity: s.sparsity, gated: s.gated }
    }
}

/// What a rans call needs beyond the types and the token count: the kind of weights and, for a
/// rANS container, its interleaved lanes and tile width (the kernel's compile-time shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RansRequest {
    /// rANS container or plain INT8 weights.
    pub kind: RansKind,
    /// The container's interleaved states per tile (32 or 64); 0 for INT8.
    pub lanes: u32,
    /// The container's tile width; 0 for INT8.
    pub tile_n: u32,
}

impl RansRequest {
    /// The request a rans variant serves (any M up to its token bucket).
    pub const fn of(s: &RansSpec) -> RansRequest {
        match s.kind {
            RansKind::Ans => RansRequest { kind: s.kind, lanes: s.lanes, tile_n: s.tile_n },
            RansKind::Int8 => RansRequest { kind: s.kind, lanes: 0, tile_n: 0 },
        }
    }
}

/// Why the variant's parameters cannot serve `req` (None when they can), whether compiled in
/// or not.
pub fn spec_mismatch(entry: &RegistryEntry, req: &Request) -> Option<String> {
    let spec = &entry.spec;
    if spec.family() != req.family {
        return Some(format!("it is a {} kernel, the call is {}", spec.family().key(), req.family.key()));
    }
    if spec.dtype() != req.dtype {
        return Some(format!("it is a {} kernel; the call's inputs are {}", spec.dtype().tag(), req.dtype.tag()));
    }
    let out = match spec {
        KernelSpec::Esmm(_) => ElemType::F32,
        KernelSpec::Tc(s) => s.out,
        KernelSpec::Gemv(s) => s.out,
        KernelSpec::Rans(s) => s.out,
    };
    if out != req.out {
        return Some(format!("it writes {} output; the call's C is {}", out.tag(), req.out.tag()));
    }
    let (have, want) = (spec.epilogue(), req.epilogue);
    if have.activation != want.activation {
        return Some(format!("its activation is {} but the call asks for {}", have.activation.tag(), want.activation.tag()));
    }
    if have.col_nnz != want.col_nnz {
        return Some(if have.col_nnz {
            "it writes per-column nonzero counts but the call passed no col_nnz buffer".into()
        } else {
            "it has no per-column nonzero-count epilogue but the call asks for one".into()
        });
    }
    if let Some(arch) = req.arch {
        if !spec.archs().contains(arch) {
            return Some(format!("it is not valid for {}", arch.sm_name()));
        }
    }
    match spec {
        KernelSpec::Esmm(s) => {
            if s.preprocess == Preprocess::OfflineB && !req.prepared_b {
                return Some("it reads an offline B pattern; pass a PreparedB from Esmm::prepare_b".into());
            }
            if s.preprocess == Preprocess::OfflineB && !matches!(s.b_granularity, 8 | 32) {
                return Some(format!("PreparedB holds granularities 32 and 8, not {}", s.b_granularity));
            }
        }
        KernelSpec::Tc(s) => {
            if s.patterns == TcPatterns::PreparedB && !req.prepared_b {
                return Some("it reads a prepared B pattern; pass a TcPreparedB from Esmm::tc_prepare_b".into());
            }
        }
        KernelSpec::Gemv(s) => {
            let Some(want) = req.gemv else {
                return Some("it is a gemv kernel; the call names no weight layout".into());
            };
            let have = GemvRequest::of(s);
            if have.layout != want.layout {
                return Some(format!("it reads {} weights; the call's are stored {}", have.layout.tag(), want.layout.tag()));
            }
            if have.gated != want.gated {
                return Some(if have.gated { "it is gated; the call's weights are not".into() } else { "the call's weights are gated; it is not".into() });
            }
            if !want.served_by(have.sparsity) {
                return Some(format!("its sparsity is {}; the call asks for {}", have.sparsity.tag(), want.sparsity.tag()));
            }
        }
        KernelSpec::Rans(s) => {
            let Some(want) = req.rans else {
                return Some("it is a rans kernel; the call names no weight kind".into());
            };
            let have = RansRequest::of(s);
            if have.kind != want.kind {
                return Some(match have.kind {
                    RansKind::Ans => "it decodes rANS containers; the call's weights are plain INT8".into(),
                    RansKind::Int8 => "it reads plain INT8 weights; the call's are a rANS container".into(),
                });
            }
            if have.lanes != want.lanes {
                return Some(format!("it decodes containers with {} lanes; the weights have {}", have.lanes, want.lanes));
            }
            if have.tile_n != want.tile_n {
                return Some(format!("it decodes tiles {} columns wide; the weights' tiles are {}", have.tile_n, want.tile_n));
            }
            if req.dims.m > s.mt as usize {
                return Some(format!("it takes at most {} tokens; the call has {}", s.mt, req.dims.m));
            }
        }
    }
    None
}

/// Why `entry` cannot serve `req` (None when it can), including whether it is compiled in.
pub fn mismatch(entry: &RegistryEntry, req: &Request) -> Option<String> {
    spec_mismatch(entry, req).or_else(|| {
        fatbin(entry.name).is_none().then(|| "it is not compiled into this build (regenerate generated/ and rebuild)".into())
    })
}

/// Looks up a registry variant by name and checks it can serve `req`.
pub fn variant_by_name(name: &str, req: &Request) -> Result<&'static RegistryEntry> {
    let Some(e) = entry(name) else {
        return Err(Error::UnknownVariant { name: name.to_string(), near: near_names(name, 3) });
    };
    match mismatch(e, req) {
        None => Ok(e),
        Some(reason) => Err(Error::VariantMismatch { name: name.to_string(), reason }),
    }
}

/// The default variant for a call when no tuned table decides (lowest key wins, ties by name).
/// Family esmm: 1. sparsity joint, A-only, B-only, dense; 2. preprocessing: with a prepared B,
/// offline-B, fused, separate; without, fused, separate; 3. the generator's defaults first;
/// 4. branch before branchless skip; 5. A granularity 64, 32, 8; B granularity 32, 8.
/// Family tc: 1. wgmma before mma (the arch filter leaves wgmma to sm_90); 2. sparsity joint,
/// A-only, dense; 3. with a prepared B, its pattern before separate; 4. the defaults first.
/// Family gemv: the request fixes layout and gating; the requested sparsity before a dense
/// kernel serving an input-sparse call; the defaults first.
/// Family rans: the request fixes the kind, lanes and tile width; the defaults first, then the
/// smallest token bucket that takes the call's M.
pub fn choose_variant(req: &Request) -> Result<&'static RegistryEntry> {
    fn rank(x: u32, order: &[u32]) -> usize {
        order.iter().position(|o| *o == x).unwrap_or(order.len())
    }
    let key = |e: &RegistryEntry| match &e.spec {
        KernelSpec::Esmm(s) => {
            let sparsity = match s.sparsity {
                Sparsity::Joint => 0,
                Sparsity::AOnly => 1,
                Sparsity::BOnly => 2,
                Sparsity::Dense => 3,
            };
            let pre = match (s.preprocess, req.prepared_b) {
                (Preprocess::OfflineB, true) => 0,
                (Preprocess::Fused, _) => 1,
                (Preprocess::Separate, _) => 2,
                _ => 3,
            };
            let skip = usize::from(s.skip == SkipStyle::Branchless);
            (sparsity, pre, usize::from(!e.is_default), skip, rank(s.a_granularity, &[64, 32, 8]), rank(s.b_granularity, &[32, 8]))
        }
        KernelSpec::Tc(s) => {
            let path = usize::from(s.path == TcPath::Mma);
            let sparsity = match s.sparsity {
                TcSparsity::Joint => 0,
                TcSparsity::AOnly => 1,
                TcSparsity::Dense => 2,
            };
            let pre = usize::from(!(req.prepared_b && s.patterns == TcPatterns::PreparedB));
            (path, sparsity, pre, usize::from(!e.is_default), 0, 0)
        }
        KernelSpec::Gemv(s) => (usize::from(req.gemv.is_some_and(|g| g.sparsity != s.sparsity)), usize::from(!e.is_default), 0, 0, 0, 0),
        KernelSpec::Rans(s) => (usize::from(!e.is_default), s.mt as usize, 0, 0, 0, 0),
    };
    REGISTRY.iter().filter(|e| mismatch(e, req).is_none()).min_by_key(|e| key(e)).ok_or_else(|| {
        Error::NoVariant(format!(
            "{} {} activation {}, col_nnz {}{} on {} ({} variants in the registry, {} compiled)",
            req.family.key(),
            req.dtype.tag(),
            req.epilogue.activation.tag(),
            req.epilogue.col_nnz,
            if req.prepared_b { ", prepared B" } else { "" },
            req.arch.map_or("an unknown arch".into(), |a| a.sm_name()),
            REGISTRY.len(),
            compiled_variants().count()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use esmm_spec::Activation;

    fn req(activation: Activation, col_nnz: bool, prepared_b: bool) -> Request {
        Request {
            family: Family::Esmm,
            dtype: ElemType::F32,
            out: ElemType::F32,
            dims: Dims::new(64, 64, 64),
            epilogue: Epilogue { activation, col_nnz },
            prepared_b,
            arch: Some(Arch::Sm90),
            gemv: None,
            rans: None,
        }
    }

    #[test]
    fn unknown_variant_lists_near_names() {
        let e = variant_by_name("esmm_no_such_variant", &req(Activation::None, false, false)).unwrap_err();
        let Error::UnknownVariant { near, .. } = &e else { panic!("{e}") };
        assert_eq!(near.len(), REGISTRY.len().min(3));
        assert!(e.to_string().contains("esmm_no_such_variant"));
    }

    #[test]
    fn every_chosen_variant_fits_the_request() {
        for e in Epilogue::all() {
            for prepared in [false, true] {
                let r = req(e.activation, e.col_nnz, prepared);
                match choose_variant(&r) {
                    Ok(v) => {
                        assert_eq!(mismatch(v, &r), None);
                        assert_eq!(v.spec.epilogue(), e);
                        if !prepared {
                            assert_ne!(v.spec.as_esmm().map(|s| s.preprocess), Some(Preprocess::OfflineB));
                        }
                    }
                    Err(err) => assert!(matches!(err, Error::NoVariant(_)), "{err}"),
                }
            }
        }
        // Another element type is never served by an f32 kernel.
        let bf16 = Request { dtype: ElemType::Bf16, ..req(Activation::None, false, false) };
        assert!(matches!(choose_variant(&bf16), Err(Error::NoVariant(_))));
    }

    #[test]
    fn rans_calls_get_the_smallest_token_bucket_of_their_kind() {
        if !REGISTRY.iter().any(|e| e.spec.as_rans().is_some() && fatbin(e.name).is_some()) {
            return; // no rans kernels in this build
        }
        let kinds = [RansRequest { kind: RansKind::Ans, lanes: 32, tile_n: 256 }, RansRequest { kind: RansKind::Ans, lanes: 64, tile_n: 128 }, RansRequest { kind: RansKind::Int8, lanes: 0, tile_n: 0 }];
        for want in kinds {
            for m in 1..=16usize {
                let r = Request { family: Family::Rans, dtype: ElemType::Bf16, out: ElemType::Bf16, dims: Dims::new(m, 4096, 4096), epilogue: Epilogue::NONE, rans: Some(want), ..req(Activation::None, false, false) };
                let v = choose_variant(&r).unwrap_or_else(|e| panic!("m = {m}, {want:?}: {e}"));
                let s = v.spec.as_rans().expect("a rans variant");
                assert_eq!(RansRequest::of(s), want);
                let bucket = [1, 4, 16].into_iter().find(|b| *b >= m).unwrap();
                assert_eq!(s.mt as usize, bucket, "m = {m}: {}", v.name);
                assert!(v.is_default, "{}", v.name);
            }
            let r = Request { family: Family::Rans, dtype: ElemType::Bf16, out: ElemType::Bf16, dims: Dims::new(17, 64, 64), epilogue: Epilogue::NONE, rans: Some(want), ..req(Activation::None, false, false) };
            assert!(matches!(choose_variant(&r), Err(Error::NoVariant(_))));
        }
    }

    #[test]
    fn explicit_override_checks_the_request() {
        for e in REGISTRY.iter().filter(|e| fatbin(e.name).is_some()) {
            let ep = e.spec.epilogue();
            // The request of the variant's own family and types.
            let out = e.spec.as_tc().map(|s| s.out).or(e.spec.as_gemv().map(|s| s.out)).or(e.spec.as_rans().map(|s| s.out)).unwrap_or(ElemType::F32);
            let gemv = e.spec.as_gemv().map(GemvRequest::of);
            let rans = e.spec.as_rans().map(RansRequest::of);
            // Family rans: as many tokens as the variant takes (others: the shape is free).
            let dims = e.spec.as_rans().map_or(Dims::new(64, 64, 64), |s| Dims::new(s.mt as usize, 64, 64));
            let own = |activation, col_nnz| Request { family: e.spec.family(), dtype: e.spec.dtype(), out, gemv, rans, dims, ..req(activation, col_nnz, true) };
            assert!(variant_by_name(e.name, &own(ep.activation, ep.col_nnz)).is_ok(), "{}", e.name);
            let other = if ep.activation == Activation::Relu { Activation::None } else { Activation::Relu };
            let err = variant_by_name(e.name, &own(other, ep.col_nnz)).unwrap_err();
            assert!(err.to_string().contains("activation"), "{err}");
            let err = variant_by_name(e.name, &own(ep.activation, !ep.col_nnz)).unwrap_err();
            assert!(err.to_string().contains("nonzero"), "{err}");
            if let Some(g) = gemv {
                let flipped = GemvRequest { layout: if g.layout == GemvLayout::Kn { GemvLayout::Nk } else { GemvLayout::Kn }, ..g };
                let err = variant_by_name(e.name, &Request { gemv: Some(flipped), ..own(ep.activation, ep.col_nnz) }).unwrap_err();
                assert!(err.to_string().contains("weights"), "{err}");
                // A dense kernel also serves input-sparse calls (it reads every row); nothing
                // else serves a sparsity it was not made for.
                let other = if g.sparsity == GemvSparsity::Dense { GemvSparsity::RowList } else { GemvSparsity::Dense };
                let err = variant_by_name(e.name, &Request { gemv: Some(GemvRequest { sparsity: other, ..g }), ..own(ep.activation, ep.col_nnz) }).unwrap_err();
                assert!(err.to_string().contains("sparsity"), "{err}");
            }
            if let (Some(r), Some(s)) = (rans, e.spec.as_rans()) {
                let base = own(ep.activation, ep.col_nnz);
                let more = Request { dims: Dims::new(s.mt as usize + 1, 64, 64), ..base };
                let err = variant_by_name(e.name, &more).unwrap_err();
                assert!(err.to_string().contains(&format!("at most {} tokens", s.mt)), "{err}");
                let other_kind = if r.kind == RansKind::Ans { RansRequest { kind: RansKind::Int8, lanes: 0, tile_n: 0 } } else { RansRequest { kind: RansKind::Ans, lanes: 32, tile_n: 256 } };
                let err = variant_by_name(e.name, &Request { rans: Some(other_kind), ..base }).unwrap_err();
                assert!(err.to_string().contains("INT8"), "{err}");
                if r.kind == RansKind::Ans {
                    let lanes = RansRequest { lanes: 96 - r.lanes, ..r };
                    let err = variant_by_name(e.name, &Request { rans: Some(lanes), ..base }).unwrap_err();
                    assert!(err.to_string().contains(&format!("with {} lanes; the weights have {}", r.lanes, 96 - r.lanes)), "{err}");
                    let tile = RansRequest { tile_n: r.tile_n / 2, ..r };
                    let err = variant_by_name(e.name, &Request { rans: Some(tile), ..base }).unwrap_err();
                    assert!(err.to_string().contains("columns wide"), "{err}");
                }
                let err = variant_by_name(e.name, &Request { rans: None, ..base }).unwrap_err();
                assert!(err.to_string().contains("weight kind"), "{err}");
            }
            // Another output type is refused with a reason.
            let wrong = if out == ElemType::F32 { ElemType::Bf16 } else { ElemType::F32 };
            let err = variant_by_name(e.name, &Request { out: wrong, ..own(ep.activation, ep.col_nnz) }).unwrap_err();
            assert!(err.to_string().contains("output"), "{err}");
        }
    }
}
