//! The variant space: sets, names, presets, validity verdicts, and that every valid variant of
//! `all` renders with a well-formed launch list.

use std::collections::BTreeMap;

use esmm_codegen::families::esmm::presets::{DEFAULT_DENSE_TILE, DEFAULT_SPARSE_TILE};
use esmm_codegen::presets::{preset, presets};
use esmm_codegen::sets::{all, tuned_winners, SetName};
use esmm_codegen::validate;
use esmm_spec::{Activation, ArchSet, ElemType, EsmmSpec, Family, KernelSpec, Preprocess, SkipStyle, Sparsity, Stage, TcPath, TcPatterns, TcSparsity};

/// The esmm spec of an esmm variant.
fn esmm(s: &KernelSpec) -> &EsmmSpec {
    s.as_esmm().expect("an esmm spec")
}

/// Family esmm's members of the named sets and its defaults.
fn shipped() -> Vec<KernelSpec> {
    SetName::Shipped.specs_of(Some(Family::Esmm))
}
fn sweep() -> Vec<KernelSpec> {
    SetName::Sweep.specs_of(Some(Family::Esmm))
}
fn defaults() -> Vec<KernelSpec> {
    esmm_codegen::family::generator(Family::Esmm).defaults()
}

#[test]
fn every_spec_in_all_renders_or_has_reasons() {
    let mut render_failures = Vec::new();
    for spec in all() {
        let name = spec.name();
        match validate(&spec) {
            Ok(v) => {
                if let Err(e) = v.render() {
                    render_failures.push(format!("{name}: {e}"));
                    continue;
                }
                let launches = v.launches();
                let stages: Vec<Stage> = launches.iter().map(|l| l.stage).collect();
                assert_eq!(stages.last(), Some(&Stage::Gemm), "{name}: launches {stages:?} must end with the GEMM");
                assert_eq!(stages.iter().filter(|s| **s == Stage::Gemm).count(), 1, "{name}: {stages:?}");
                assert!(launches.iter().all(|l| !l.args.is_empty()), "{name}: a launch without arguments");
            }
            Err(why) => {
                assert!(!why.is_empty(), "{name} rejected without a reason");
                assert!(why.iter().all(|w| w.len() > 10), "{name}: terse reason in {why:?}");
            }
        }
    }
    assert!(
        render_failures.is_empty(),
        "{} valid variants do not render, e.g.:\n{}",
        render_failures.len(),
        render_failures[..render_failures.len().min(5)].join("\n")
    );
}

#[test]
fn sets_are_sorted_and_unique_by_name() {
    for set in [SetName::Shipped, SetName::Sweep, SetName::All] {
        let names: Vec<String> = set.specs().iter().map(KernelSpec::name).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{} is not strictly name-sorted", set.as_str());
    }
}

#[test]
fn no_two_valid_specs_share_a_name() {
    let mut by_name: BTreeMap<String, KernelSpec> = BTreeMap::new();
    let everything = shipped().into_iter().chain(sweep()).chain(all());
    for spec in everything.filter(|s| validate(s).is_ok()) {
        if let Some(prev) = by_name.insert(spec.name(), spec) {
            assert_eq!(prev, spec, "two different valid specs are named {}", spec.name());
        }
    }
}

#[test]
fn names_round_trip() {
    for spec in all() {
        let name = spec.name();
        assert_eq!(KernelSpec::from_name(&name), Ok(spec), "{name}");
    }
}

#[test]
fn set_sizes_and_membership() {
    let (shipped, sweep, all) = (shipped(), sweep(), SetName::All.specs_of(Some(Family::Esmm)));
    assert!(shipped.iter().all(|s| validate(s).is_ok()), "shipped holds an invalid variant");
    assert!(sweep.iter().all(|s| validate(s).is_ok()), "sweep holds an invalid variant");
    assert!((200..=600).contains(&sweep.len()), "sweep has {} variants", sweep.len());
    assert!(all.len() <= 5000, "all has {} candidates", all.len());
    let valid = all.iter().filter(|s| validate(s).is_ok()).count();
    assert!(valid > 0 && valid < all.len(), "all must hold valid and invalid candidates ({valid} valid)");
    for s in shipped.iter().chain(&sweep) {
        assert!(all.contains(s), "{} is missing from all", s.name());
    }
    // shipped = presets ∪ defaults ∪ tuned winners (which may overlap), nothing else.
    let winners = tuned_winners().into_iter().filter(|s| s.family() == Family::Esmm);
    let parts: Vec<KernelSpec> = presets(Some(Family::Esmm)).iter().map(|p| p.spec).chain(defaults()).chain(winners).collect();
    assert!(parts.iter().all(|s| shipped.contains(s)));
    assert!(shipped.iter().all(|s| parts.contains(s)));
    let mut unique = parts.clone();
    unique.sort_by_key(|s| s.name());
    unique.dedup();
    assert_eq!(shipped.len(), unique.len());
    for s in &sweep {
        let e = esmm(s);
        assert_eq!((e.activation, e.col_nnz, e.dtype), (Activation::None, false, ElemType::F32), "{}", s.name());
    }
    // The sweep covers every axis the tuner explores.
    for pre in [Preprocess::Fused, Preprocess::OfflineB, Preprocess::Separate, Preprocess::None] {
        assert!(sweep.iter().any(|s| esmm(s).preprocess == pre), "no {pre:?} in sweep");
    }
    for skip in SkipStyle::ALL {
        assert!(sweep.iter().any(|s| esmm(s).sparsity == Sparsity::Joint && esmm(s).skip == skip), "no {skip:?}");
    }
    for bk in [8, 16] {
        assert!(sweep.iter().any(|s| esmm(s).bk == bk));
    }
}

#[test]
fn defaults_cover_every_activation_and_statistics_option() {
    let d = defaults();
    assert_eq!(d.len(), 18);
    assert_eq!(DEFAULT_DENSE_TILE.threads(), 256);
    assert_eq!(DEFAULT_SPARSE_TILE.threads(), 256);
    for spec in &d {
        let s = esmm(spec);
        let tile = (s.bm, s.bn, s.bk, s.wm, s.wn, s.wniter, s.tm, s.tn);
        if s.sparsity == Sparsity::Dense {
            assert_eq!(tile, (128, 128, 16, 64, 32, 2, 8, 4));
        } else {
            assert_eq!(tile, (128, 128, 8, 64, 32, 2, 8, 4));
        }
        assert!(validate(spec).is_ok(), "{}", spec.name());
    }
    for act in Activation::ALL {
        for nnz in [false, true] {
            let n = d.iter().filter(|s| esmm(s).activation == act && esmm(s).col_nnz == nnz).count();
            assert_eq!(n, 3, "{act:?} nnz={nnz}");
        }
    }
}

/// The K25 tile with the given sparsity configuration, written out in full.
fn seed(sparsity: Sparsity, ga: u32, gb: u32, preprocess: Preprocess, skip: SkipStyle) -> KernelSpec {
    KernelSpec::Esmm(EsmmSpec {
        sparsity,
        dtype: ElemType::F32,
        bm: 64,
        bn: 128,
        bk: 8,
        wm: 64,
        wn: 32,
        wniter: 2,
        tm: 1,
        tn: 8,
        a_granularity: ga,
        b_granularity: gb,
        preprocess,
        skip,
        activation: Activation::None,
        col_nnz: false,
        archs: ArchSet::ALL,
    })
}

#[test]
fn presets_are_exactly_the_seed_kernels() {
    use Preprocess::*;
    use SkipStyle::*;
    use Sparsity::*;
    let expected = [
        ("k10", seed(Dense, 0, 0, None, Branch)),
        ("k17", seed(BOnly, 0, 32, OfflineB, Branch)),
        ("k20", seed(Joint, 64, 32, Separate, Branch)),
        ("k21", seed(Joint, 8, 32, Separate, Branch)),
        ("k25", seed(Joint, 64, 32, Fused, Branch)),
        ("k28", seed(Joint, 8, 32, Fused, Branchless)),
        ("k30", seed(Joint, 8, 8, Separate, Branch)),
    ];
    assert_eq!(presets(Some(Family::Esmm)).len(), expected.len());
    for (name, spec) in expected {
        let p = preset(name).unwrap_or_else(|| panic!("no preset {name}"));
        assert_eq!(p.spec, spec, "{name}");
        assert_eq!(preset(&name.to_uppercase()).map(|p| p.spec), Some(spec));
        assert_eq!(esmm(&spec).threads(), 128);
        assert!(validate(&spec).is_ok(), "{name}");
    }
    assert!(preset("k99").is_none());
}

/// Family tc: its sets are valid, cover both paths and every input type, and its defaults give
/// every (path, input type) a dense and a joint prepared-B variant with every epilogue.
#[test]
fn tc_sets_cover_paths_types_and_epilogues() {
    let tc = |s: &KernelSpec| *s.as_tc().expect("a tc spec");
    let shipped = SetName::Shipped.specs_of(Some(Family::Tc));
    let sweep = SetName::Sweep.specs_of(Some(Family::Tc));
    assert!(shipped.iter().chain(&sweep).all(|s| validate(s).is_ok()));
    assert!(sweep.iter().all(|s| tc(s).activation == Activation::None && !tc(s).col_nnz));
    let defaults = esmm_codegen::family::generator(Family::Tc).defaults();
    for path in TcPath::ALL {
        for dtype in ElemType::ALL {
            for sparsity in [TcSparsity::Dense, TcSparsity::Joint] {
                for e in esmm_spec::Epilogue::all() {
                    let found = defaults.iter().map(tc).any(|s| {
                        s.path == path && s.dtype == dtype && s.sparsity == sparsity && s.epilogue() == e
                            && (sparsity == TcSparsity::Dense || s.patterns == TcPatterns::PreparedB)
                    });
                    assert!(found, "no default {path:?} {dtype:?} {sparsity:?} {}", e.tag());
                }
            }
        }
    }
    // wgmma variants target sm_90a alone and read 128 bytes of k per stage.
    for s in shipped.iter().chain(&sweep).map(tc).filter(|s| s.path == TcPath::Wgmma) {
        assert_eq!(s.archs, ArchSet::from_archs(&[esmm_spec::Arch::Sm90]), "{}", s.name());
        assert_eq!(s.bk * s.dtype.size(), 128, "{}", s.name());
    }
    // Every sparse variant scans both operands (NaN/Inf contract) and ends with its GEMM.
    for s in &shipped {
        let v = validate(s).unwrap();
        let stages: Vec<Stage> = v.launches().iter().map(|l| l.stage).collect();
        if tc(s).sparsity != TcSparsity::Dense {
            assert!(stages.contains(&Stage::PatternA) && stages.contains(&Stage::PatternB), "{}", s.name());
        }
        assert_eq!(stages.last(), Some(&Stage::Gemm));
    }
}

/// Family tc's validity rules reject what the kernels cannot do, with reasons.
#[test]
fn tc_rules_reject_with_reasons() {
    let base = *SetName::Shipped.specs_of(Some(Family::Tc)).iter().find_map(|s| s.as_tc().filter(|t| t.path == TcPath::Wgmma && t.sparsity == TcSparsity::Joint)).unwrap();
    let bad = |s: esmm_spec::TcSpec, word: &str| {
        let why = validate(&KernelSpec::Tc(s)).unwrap_err().join("; ");
        assert!(why.contains(word), "{}: {why}", s.name());
    };
    bad(esmm_spec::TcSpec { bk: 32, ..base }, "128 bytes");
    bad(esmm_spec::TcSpec { k_gran: 48, ..base }, "k_gran");
    bad(esmm_spec::TcSpec { a_rows: 96, ..base }, "a_rows");
    bad(esmm_spec::TcSpec { stages: 8, ..base }, "shared memory");
    bad(esmm_spec::TcSpec { out: ElemType::F16, ..base }, "output type");
    bad(esmm_spec::TcSpec { patterns: TcPatterns::None, ..base }, "pattern source");
    bad(esmm_spec::TcSpec { archs: ArchSet::ALL, ..base }, "sm_90a");
}
