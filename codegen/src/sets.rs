//! Named sets of variants: `shipped` (compiled into the runtime), `sweep` (the autotuner's
//! search space) and `all` (a wide product of the space, valid and invalid candidates alike).
//!
//! Every set is returned deduplicated by name and sorted by name.

use std::collections::BTreeMap;

use esmm_spec::{Activation, ArchSet, ElemType, KernelSpec, Preprocess, SkipStyle, Sparsity};

use crate::presets::{K25_TILE, PRESETS};
use crate::validate::validate;

/// A named set of variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SetName {
    /// Presets + defaults + tuned winners: what the runtime compiles and dispatches to.
    Shipped,
    /// The autotuner's search space (hundreds of valid variants).
    Sweep,
    /// A wide product of the space, including invalid candidates (each rejected with reasons).
    All,
}

impl SetName {
    /// The CLI spelling (`shipped`, `sweep`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            SetName::Shipped => "shipped",
            SetName::Sweep => "sweep",
            SetName::All => "all",
        }
    }

    /// The members of the set.
    pub fn specs(self) -> Vec<KernelSpec> {
        match self {
            SetName::Shipped => shipped(),
            SetName::Sweep => sweep(),
            SetName::All => all(),
        }
    }

    /// Whether the set may hold invalid candidates (only `all`); elsewhere an invalid member is
    /// an error.
    pub fn allows_invalid(self) -> bool {
        self == SetName::All
    }
}

/// Tile of the default dense variant: 128x128x16 CTA, 64x32 warp tile with wniter 2, 8x4
/// thread tile, 256 threads (fastest dense tile on the H200, docs/KERNELS.md).
pub const DEFAULT_DENSE_TILE: KernelSpec = KernelSpec {
    bm: 128,
    bn: 128,
    bk: 16,
    wm: 64,
    wn: 32,
    wniter: 2,
    tm: 8,
    tn: 4,
    ..K25_TILE
};

/// Tile of the default sparse variants: 128x128x8 CTA, 64x32 warp tile with wniter 2, 8x4
/// thread tile, 256 threads (within 1–4% of the best joint tile at every density at 4096³ on
/// the H200, docs/KERNELS.md; the tuner picks others per shape).
pub const DEFAULT_SPARSE_TILE: KernelSpec = KernelSpec {
    bm: 128,
    bn: 128,
    bk: 8,
    wm: 64,
    wn: 32,
    wniter: 2,
    tm: 8,
    tn: 4,
    ..K25_TILE
};

/// The default kinds: (tile, sparsity, A gran, B gran, preprocess, skip).
const DEFAULT_KINDS: [(KernelSpec, Sparsity, u32, u32, Preprocess, SkipStyle); 3] = [
    (DEFAULT_DENSE_TILE, Sparsity::Dense, 0, 0, Preprocess::None, SkipStyle::Branch),
    (DEFAULT_SPARSE_TILE, Sparsity::Joint, 64, 32, Preprocess::Fused, SkipStyle::Branch),
    (DEFAULT_SPARSE_TILE, Sparsity::Joint, 64, 32, Preprocess::OfflineB, SkipStyle::Branch),
];

/// The variants the runtime dispatches to by default: every [`DEFAULT_KINDS`] entry, for each
/// activation and with/without column statistics.
pub fn defaults() -> Vec<KernelSpec> {
    let mut out = Vec::new();
    for activation in Activation::ALL {
        for col_nnz in [false, true] {
            for (tile, sparsity, a_granularity, b_granularity, preprocess, skip) in DEFAULT_KINDS {
                out.push(KernelSpec {
                    sparsity,
                    a_granularity,
                    b_granularity,
                    preprocess,
                    skip,
                    activation,
                    col_nnz,
                    ..tile
                });
            }
        }
    }
    out
}

/// Where the committed tuned tables live (`tune/tables/`).
pub fn tables_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tune/tables")
}

/// Winners of the autotuner that must ship: the fastest valid esmm variant of every key of every
/// committed table in [`tables_dir`], each with every epilogue (activation × column counts), so
/// the runtime can dispatch the tuned tile for any requested epilogue. cuBLAS wins, names that
/// do not parse and invalid specs are skipped; an unreadable table is skipped with a warning.
pub fn tuned_winners() -> Vec<KernelSpec> {
    tuned_winners_in(&tables_dir())
}

/// [`tuned_winners`] for the tables in `dir`.
pub fn tuned_winners_in(dir: &std::path::Path) -> Vec<KernelSpec> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let table = match std::fs::read_to_string(&file).map_err(|e| e.to_string()).and_then(|t| {
            esmm_spec::tuned::TunedTable::parse(&t).map_err(|e| e.to_string())
        }) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("warning: skipping tuned table {}: {e}", file.display());
                continue;
            }
        };
        for name in table.winners() {
            let Ok(spec) = KernelSpec::from_name(&name) else { continue };
            for activation in Activation::ALL {
                for col_nnz in [false, true] {
                    let s = KernelSpec { activation, col_nnz, ..spec };
                    if validate(&s).is_ok() {
                        out.push(s);
                    }
                }
            }
        }
    }
    sorted_unique(out)
}

/// Presets ∪ defaults ∪ tuned winners.
pub fn shipped() -> Vec<KernelSpec> {
    let presets = PRESETS.iter().map(|p| p.spec);
    sorted_unique(presets.chain(defaults()).chain(tuned_winners()))
}

/// A tile shape: (bm, bn, bk, wm, wn, wniter, tm, tn).
type Tile = (u32, u32, u32, u32, u32, u32, u32, u32);

/// Cartesian product of tile axes.
fn tiles(
    bms: &[u32],
    bns: &[u32],
    bks: &[u32],
    warps: &[(u32, u32)],
    wniters: &[u32],
    threads: &[(u32, u32)],
) -> Vec<Tile> {
    let mut out = Vec::new();
    for &bm in bms {
        for &bn in bns {
            for &bk in bks {
                for &(wm, wn) in warps {
                    for &wniter in wniters {
                        for &(tm, tn) in threads {
                            out.push((bm, bn, bk, wm, wn, wniter, tm, tn));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `base` with the tile replaced.
fn with_tile(base: KernelSpec, t: Tile) -> KernelSpec {
    let (bm, bn, bk, wm, wn, wniter, tm, tn) = t;
    KernelSpec {
        bm,
        bn,
        bk,
        wm,
        wn,
        wniter,
        tm,
        tn,
        ..base
    }
}

/// A sparse f32 kernel on the K25 tile (the tile is replaced by callers).
const fn sparse(
    sparsity: Sparsity,
    ga: u32,
    gb: u32,
    preprocess: Preprocess,
    skip: SkipStyle,
) -> KernelSpec {
    KernelSpec {
        sparsity,
        a_granularity: ga,
        b_granularity: gb,
        preprocess,
        skip,
        ..K25_TILE
    }
}

/// Tile axes of the sweep (before the validity and thread-count filters).
fn sweep_tiles() -> Vec<Tile> {
    tiles(
        &[64, 128],
        &[64, 128, 256],
        &[8, 16],
        &[(64, 32), (64, 64)],
        &[1, 2, 4],
        &[(1, 8), (8, 4), (8, 8)],
    )
}

/// Thread counts the sweep keeps: at least 4 warps to hide latency, at most 8 so that two or
/// more CTAs fit on an SM.
const SWEEP_THREADS: [u32; 2] = [128, 256];

/// Sparsity configurations of the sweep: dense; joint 64x32 with each preprocessing (branch);
/// joint 64x32 fused branchless; joint 8x32 fused.
const SWEEP_KINDS: [KernelSpec; 6] = {
    use Preprocess::{Fused, OfflineB, Separate};
    use SkipStyle::{Branch, Branchless};
    [
        K25_TILE,
        sparse(Sparsity::Joint, 64, 32, Fused, Branch),
        sparse(Sparsity::Joint, 64, 32, OfflineB, Branch),
        sparse(Sparsity::Joint, 64, 32, Separate, Branch),
        sparse(Sparsity::Joint, 64, 32, Fused, Branchless),
        sparse(Sparsity::Joint, 8, 32, Fused, Branch),
    ]
};

/// The autotuner's search space: every valid (sweep tile × [`SWEEP_KINDS`]) with 128 or 256
/// threads, activation none, no column statistics.
pub fn sweep() -> Vec<KernelSpec> {
    let candidates = sweep_tiles()
        .into_iter()
        .flat_map(|t| SWEEP_KINDS.map(|k| with_tile(k, t)));
    sorted_unique(
        candidates.filter(|s| SWEEP_THREADS.contains(&s.threads()) && validate(s).is_ok()),
    )
}

/// A wide product of the space, valid and invalid candidates alike:
/// - `shipped` and `sweep`;
/// - a wide dense tile grid;
/// - every sparsity × granularity × preprocessing × skip (valid or not) × activation ×
///   column statistics on the K25 tile;
/// - every element type on the shipped variants.
pub fn all() -> Vec<KernelSpec> {
    let mut out = shipped();
    out.extend(sweep());
    let wide = tiles(
        &[32, 64, 96, 128, 256],
        &[32, 64, 128, 256],
        &[4, 8, 16, 64],
        &[(32, 32), (64, 32), (64, 64)],
        &[1, 2, 4],
        &[(1, 8), (4, 4), (8, 8)],
    );
    out.extend(wide.into_iter().map(|t| with_tile(K25_TILE, t)));
    for sparsity in [Sparsity::AOnly, Sparsity::BOnly, Sparsity::Joint] {
        for ga in [0, 8, 32, 64] {
            for gb in [0, 8, 32] {
                for preprocess in Preprocess::ALL {
                    for skip in SkipStyle::ALL {
                        for activation in Activation::ALL {
                            for col_nnz in [false, true] {
                                let s = sparse(sparsity, ga, gb, preprocess, skip);
                                out.push(KernelSpec {
                                    activation,
                                    col_nnz,
                                    ..s
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    let typed = shipped()
        .into_iter()
        .flat_map(|s| ElemType::ALL.map(|dtype| KernelSpec { dtype, ..s }));
    out.extend(typed);
    sorted_unique(out.into_iter().map(|s| KernelSpec {
        archs: ArchSet::ALL,
        ..s
    }))
}

/// Deduplicates by name (first occurrence wins) and sorts by name.
fn sorted_unique(specs: impl IntoIterator<Item = KernelSpec>) -> Vec<KernelSpec> {
    let mut by_name = BTreeMap::new();
    for s in specs {
        by_name.entry(s.name()).or_insert(s);
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tuned_winner_tests {
    use super::*;
    use esmm_spec::tuned::{Candidate, GpuInfo, TableKey, TunedTable, CUBLAS_SGEMM, SCHEMA_VERSION};

    #[test]
    fn winners_of_committed_style_tables_ship_with_every_epilogue() {
        let dir = std::env::temp_dir().join(format!("esmm-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k25 = crate::presets::PRESETS.iter().find(|p| p.name == "k25").unwrap().spec;
        let mut t = TunedTable {
            schema_version: SCHEMA_VERSION,
            gpu: GpuInfo { name: "X".into(), slug: "x".into(), compute_capability: 90, sm_count: 1, driver_version: String::new(), cuda_version: String::new() },
            crate_version: String::new(),
            date: String::new(),
            command: String::new(),
            entries: vec![],
        };
        let key = |d| TableKey { dtype: "f32".into(), activation: "none".into(), m: 64, n: 64, k: 64, density: d };
        let ok = |v: &str, ms| Candidate { variant: v.into(), status: "ok".into(), median_ms: Some(ms), p20_ms: None, p80_ms: None, samples: 3, detail: None };
        t.record(key(0.5), ok(&k25.name(), 1.0));
        t.record(key(0.5), ok("esmm_not_a_name", 0.5));
        t.record(key(1.0), ok(CUBLAS_SGEMM, 1.0));
        std::fs::write(dir.join("x.json"), t.to_json()).unwrap();
        std::fs::write(dir.join("broken.json"), "{ truncated").unwrap();
        // The unparsable name wins its key, so nothing ships from it; cuBLAS never ships.
        assert!(tuned_winners_in(&dir).is_empty());
        t.record(key(0.5), ok("esmm_not_a_name", 5.0));
        std::fs::write(dir.join("x.json"), t.to_json()).unwrap();
        let w = tuned_winners_in(&dir);
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(w.iter().all(|s| KernelSpec { activation: Activation::None, col_nnz: false, ..*s } == k25));
        std::fs::remove_dir_all(&dir).ok();
    }
}
