//! The validity rules of family esmm, all in one place: which [`EsmmSpec`]s can be generated,
//! and why the others cannot (like CUTLASS's manifest filter). [`validate`] is the only way to
//! obtain a [`ValidEsmm`], which rendering and launch geometry take: they never re-check a rule.
//!
//! Rules that follow from the tiling scheme and the templates' layout live here; the geometry
//! that the shared-memory rule shares with the renderer lives in [`super::layout`].

use esmm_spec::{Arch, ElemType, EsmmSpec, Preprocess, SkipStyle, Sparsity};

use super::layout::{blocks_touched, gemm_smem_bytes, register_estimate, REGISTER_OVERHEAD};

/// An esmm spec that passed [`validate`]. Only [`validate`] constructs one (the field is
/// private), so holding one is proof that every rule holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidEsmm(EsmmSpec);

impl ValidEsmm {
    /// The validated spec.
    pub const fn spec(&self) -> &EsmmSpec {
        &self.0
    }
}

/// Most threads one CTA may have.
pub const MAX_THREADS_PER_BLOCK: u32 = 1024;
/// Largest CTA K step (one 32-bit pattern word covers 32 values of k).
pub const MAX_BK: u32 = 32;
/// Most registers one thread may use.
pub const MAX_REGISTERS_PER_THREAD: u32 = 255;
/// Registers per CTA the register estimate must fit in (one SM's register file).
pub const MAX_REGISTERS_PER_BLOCK: u32 = 65536;
/// A-pattern granularities (rows) the kernels support.
pub const A_GRANULARITIES: [u32; 3] = [64, 32, 8];
/// B-pattern granularities (columns) the kernels support.
pub const B_GRANULARITIES: [u32; 2] = [32, 8];

/// Checks every rule; `Err` lists every violated rule as a readable sentence.
pub fn validate(spec: &EsmmSpec) -> Result<ValidEsmm, Vec<String>> {
    let mut why = Vec::new();
    check_type(spec, &mut why);
    check_sparsity(spec, &mut why);
    if check_nonzero(spec, &mut why) {
        check_tiles(spec, &mut why);
    }
    if why.is_empty() {
        Ok(ValidEsmm(*spec))
    } else {
        Err(why)
    }
}

/// Element type: only the f32 CUDA-core template exists.
fn check_type(spec: &EsmmSpec, why: &mut Vec<String>) {
    if spec.dtype != ElemType::F32 {
        why.push(format!(
            "dtype {} has no tensor-core template yet (planned); only f32 is generated",
            spec.dtype.tag()
        ));
    }
    if spec.archs.iter().next().is_none() {
        why.push("the variant targets no architecture (archs is empty)".into());
    }
}

/// Sparsity, granularity, preprocessing and skip style must agree.
fn check_sparsity(spec: &EsmmSpec, why: &mut Vec<String>) {
    let (ga, gb) = (spec.a_granularity, spec.b_granularity);
    let sp = spec.sparsity;
    if sp == Sparsity::Dense {
        if ga != 0 || gb != 0 {
            why.push(format!(
                "a dense kernel has no patterns, so its granularity must be 0x0, not {ga}x{gb}"
            ));
        }
        if spec.preprocess != Preprocess::None {
            why.push(format!(
                "a dense kernel has no patterns, so preprocess must be none, not {}",
                spec.preprocess.tag()
            ));
        }
        if spec.skip != SkipStyle::Branch {
            why.push(format!(
                "a dense kernel skips nothing, so skip must be branch (the default), not {}",
                spec.skip.tag()
            ));
        }
        return;
    }
    if spec.preprocess == Preprocess::None {
        why.push(format!(
            "a sparse ({}) kernel needs patterns, so preprocess must not be none",
            sp.tag()
        ));
    }
    if sp.uses_a_pattern() {
        if !A_GRANULARITIES.contains(&ga) {
            why.push(format!(
                "A-pattern granularity {ga} rows is not supported (use 64, 32 or 8)"
            ));
        }
    } else if ga != 0 {
        why.push(format!(
            "a {} kernel reads no A pattern, so the A granularity must be 0, not {ga}",
            sp.tag()
        ));
    }
    if sp.uses_b_pattern() {
        if !B_GRANULARITIES.contains(&gb) {
            why.push(format!(
                "B-pattern granularity {gb} columns is not supported (use 32 or 8)"
            ));
        }
    } else if gb != 0 {
        why.push(format!(
            "a {} kernel reads no B pattern, so the B granularity must be 0, not {gb}",
            sp.tag()
        ));
    }
    if sp == Sparsity::AOnly && spec.preprocess == Preprocess::OfflineB {
        why.push("an A-only kernel reads no B pattern, so preprocess offb (offline B pattern) makes no sense".into());
    }
    if matches!(sp, Sparsity::AOnly | Sparsity::BOnly) && spec.preprocess == Preprocess::Separate {
        why.push(format!(
            "a one-sided ({}) kernel with separate preprocessing has no kernel that scans its dense operand for Inf/NaN, so it cannot keep the NaN/Inf contract (0 x Inf = NaN); use fused or offb",
            sp.tag()
        ));
    }
}

/// Every tile dimension must be positive; returns whether they all are.
fn check_nonzero(spec: &EsmmSpec, why: &mut Vec<String>) -> bool {
    let dims = [
        ("bm", spec.bm),
        ("bn", spec.bn),
        ("bk", spec.bk),
        ("wm", spec.wm),
        ("wn", spec.wn),
        ("wniter", spec.wniter),
        ("tm", spec.tm),
        ("tn", spec.tn),
    ];
    let zero: Vec<&str> = dims
        .iter()
        .filter(|(_, v)| *v == 0)
        .map(|(n, _)| *n)
        .collect();
    if !zero.is_empty() {
        why.push(format!(
            "tile sizes must be positive, but {} = 0",
            zero.join(", ")
        ));
    }
    zero.is_empty()
}

/// The tiling rules (all dimensions are known to be positive).
fn check_tiles(spec: &EsmmSpec, why: &mut Vec<String>) {
    let s = spec;
    let mut warps_fit = true;
    if s.bm % s.wm != 0 {
        why.push(format!(
            "bm={} is not a multiple of the warp tile wm={}",
            s.bm, s.wm
        ));
        warps_fit = false;
    }
    if s.bn % s.wn != 0 {
        why.push(format!(
            "bn={} is not a multiple of the warp tile wn={}",
            s.bn, s.wn
        ));
        warps_fit = false;
    }
    let threads = s.threads();
    if warps_fit && threads > MAX_THREADS_PER_BLOCK {
        why.push(format!(
            "{threads} threads per CTA ({}x{} warps) exceed the limit of {MAX_THREADS_PER_BLOCK}",
            s.bm / s.wm,
            s.bn / s.wn
        ));
    }
    if s.bk > MAX_BK {
        why.push(format!(
            "bk={} exceeds {MAX_BK} (one pattern word covers 32 values of k)",
            s.bk
        ));
    }
    if s.sparsity != Sparsity::Dense && MAX_BK % s.bk != 0 {
        why.push(format!(
            "bk={} does not divide 32, so a K step of a sparse kernel would straddle two pattern words",
            s.bk
        ));
    }
    if s.bk % 4 != 0 {
        why.push(format!(
            "bk={} is not a multiple of 4 (A tiles are loaded as float4 along k)",
            s.bk
        ));
    }
    if s.bn % 4 != 0 {
        why.push(format!(
            "bn={} is not a multiple of 4 (B tiles are loaded as float4 along n)",
            s.bn
        ));
    }

    // Warp sub-tiling.
    let mut subtile_ok = true;
    if s.wn % s.wniter != 0 {
        why.push(format!(
            "wn={} is not a multiple of wniter={}",
            s.wn, s.wniter
        ));
        subtile_ok = false;
    }
    let per_iter = 32 * s.tm * s.tn * s.wniter;
    let wm_iter = s.wm_iter();
    if wm_iter == 0 || s.wm * s.wn != per_iter * wm_iter {
        why.push(format!(
            "the warp tile {}x{} ({} outputs) is not a whole number (>= 1) of steps of 32 lanes x {}x{} outputs x wniter={} ({} outputs)",
            s.wm,
            s.wn,
            s.wm * s.wn,
            s.tm,
            s.tn,
            s.wniter,
            per_iter
        ));
        subtile_ok = false;
    } else if s.wm % wm_iter != 0 {
        why.push(format!(
            "wm={} is not a multiple of the derived wm_iter={wm_iter}",
            s.wm
        ));
        subtile_ok = false;
    }
    if subtile_ok {
        let (sub_m, sub_n) = (s.wm / wm_iter, s.wn / s.wniter);
        let mut lanes_ok = true;
        if sub_m % s.tm != 0 {
            why.push(format!(
                "the warp sub-tile height wm/wm_iter={sub_m} is not a multiple of tm={}",
                s.tm
            ));
            lanes_ok = false;
        }
        if sub_n % s.tn != 0 {
            why.push(format!(
                "the warp sub-tile width wn/wniter={sub_n} is not a multiple of tn={}",
                s.tn
            ));
            lanes_ok = false;
        }
        if lanes_ok && (sub_m / s.tm) * (sub_n / s.tn) != 32 {
            why.push(format!(
                "the 32 lanes do not tile the {sub_m}x{sub_n} warp sub-tile exactly with {}x{} thread tiles ({}x{} lanes)",
                s.tm,
                s.tn,
                sub_m / s.tm,
                sub_n / s.tn
            ));
        }
        let regs = register_estimate(s);
        if regs > MAX_REGISTERS_PER_THREAD {
            why.push(format!(
                "an estimated {regs} registers per thread ({} accumulators + {} fragment values + {REGISTER_OVERHEAD}) exceed {MAX_REGISTERS_PER_THREAD}",
                s.tm * s.tn * wm_iter * s.wniter,
                s.tm * wm_iter + s.tn * s.wniter
            ));
        } else if warps_fit && threads * regs > MAX_REGISTERS_PER_BLOCK {
            why.push(format!(
                "{threads} threads x an estimated {regs} registers = {} registers exceed the {MAX_REGISTERS_PER_BLOCK} of one SM",
                threads * regs
            ));
        }
    }

    // Tile loads: every thread moves whole float4s, the same number each.
    if warps_fit && threads <= MAX_THREADS_PER_BLOCK {
        let per_round = 4 * threads;
        if (s.bm * s.bk) % per_round != 0 {
            why.push(format!(
                "the {}x{} A tile ({} floats) does not divide evenly into float4 loads by {threads} threads ({per_round} floats per round)",
                s.bm,
                s.bk,
                s.bm * s.bk
            ));
        }
        if (s.bk * s.bn) % per_round != 0 {
            why.push(format!(
                "the {}x{} B tile ({} floats) does not divide evenly into float4 loads by {threads} threads ({per_round} floats per round)",
                s.bk,
                s.bn,
                s.bk * s.bn
            ));
        }
    }

    check_pattern_blocks(s, why);

    // Shared memory, as the template lays it out (only for shapes it can lay out).
    if why.is_empty() {
        let smem = gemm_smem_bytes(s);
        for arch in s.archs.iter() {
            let limit = Arch::max_smem_per_block(arch);
            if smem > limit {
                why.push(format!(
                    "{smem} bytes of shared memory per CTA exceed the {limit} bytes {} allows",
                    arch.sm_name()
                ));
            }
        }
    }
}

/// How thread and CTA tiles meet the pattern blocks (tile sizes are known to be positive): a
/// thread's rows (columns) lie in one block, and a CTA tile touches at most 32 blocks per
/// operand (relative block indices fit one 32-bit word of the skip list).
fn check_pattern_blocks(s: &EsmmSpec, why: &mut Vec<String>) {
    let (ga, gb) = (s.a_granularity, s.b_granularity);
    if s.sparsity.uses_a_pattern() && A_GRANULARITIES.contains(&ga) {
        if ga % s.tm != 0 {
            why.push(format!(
                "the A granularity {ga} rows is not a multiple of tm={} (a thread's rows must lie in one row block)",
                s.tm
            ));
        }
        let n = blocks_touched(s.bm, ga);
        if n > 32 {
            why.push(format!("a {}-row CTA tile touches {n} row blocks of {ga}, more than 32", s.bm));
        }
    }
    if s.sparsity.uses_b_pattern() && B_GRANULARITIES.contains(&gb) {
        if gb % s.tn != 0 {
            why.push(format!(
                "the B granularity {gb} columns is not a multiple of tn={} (a thread's columns must lie in one column block)",
                s.tn
            ));
        }
        let n = blocks_touched(s.bn, gb);
        if n > 32 {
            why.push(format!("a {}-column CTA tile touches {n} column blocks of {gb}, more than 32", s.bn));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets;

    #[test]
    fn every_preset_follows_the_tiling_rules() {
        for p in presets::PRESETS.iter() {
            let s = p.spec.as_esmm().unwrap();
            assert_eq!(validate(s).map(|v| *v.spec()), Ok(*s), "{}", p.name);
        }
    }

    #[test]
    fn zero_dimensions_are_reasons_not_panics() {
        let mut s = presets::K25;
        (s.wm, s.tn, s.wniter) = (0, 0, 0);
        let why = validate(&s).unwrap_err();
        assert!(
            why.iter().any(|w| w.contains("wm, wniter, tn = 0")),
            "{why:?}"
        );
    }

    #[test]
    fn each_rule_names_its_numbers() {
        let base = presets::K25;
        let cases: Vec<(EsmmSpec, &str)> = vec![
            (
                EsmmSpec { bm: 96, ..base },
                "bm=96 is not a multiple of the warp tile wm=64",
            ),
            (
                EsmmSpec {
                    bn: 1024,
                    wn: 32,
                    ..base
                },
                "1024 threads",
            ),
            (
                EsmmSpec {
                    bm: 512,
                    bn: 256,
                    ..base
                },
                "2048 threads per CTA",
            ),
            (EsmmSpec { bk: 64, ..base }, "bk=64 exceeds 32"),
            (EsmmSpec { bk: 12, ..base }, "bk=12 does not divide 32"),
            (EsmmSpec { bk: 6, ..base }, "bk=6 is not a multiple of 4"),
            (
                EsmmSpec { wniter: 3, ..base },
                "wn=32 is not a multiple of wniter=3",
            ),
            (EsmmSpec { tn: 3, ..base }, "a whole number"),
            (
                EsmmSpec {
                    wn: 48,
                    wniter: 1,
                    tm: 1,
                    tn: 1,
                    ..base
                },
                "not a multiple of the derived wm_iter=96",
            ),
            (
                EsmmSpec {
                    tm: 8,
                    tn: 8,
                    wm: 128,
                    wn: 64,
                    bm: 128,
                    ..base
                },
                "registers per thread",
            ),
            (
                EsmmSpec {
                    a_granularity: 16,
                    ..base
                },
                "granularity 16 rows",
            ),
            (
                EsmmSpec {
                    b_granularity: 64,
                    ..base
                },
                "granularity 64 columns",
            ),
            (
                EsmmSpec {
                    preprocess: Preprocess::None,
                    ..base
                },
                "must not be none",
            ),
            (
                EsmmSpec {
                    dtype: ElemType::F16,
                    ..base
                },
                "no tensor-core template yet (planned)",
            ),
            (
                EsmmSpec {
                    sparsity: Sparsity::Dense,
                    ..base
                },
                "granularity must be 0x0, not 64x32",
            ),
            (
                EsmmSpec {
                    sparsity: Sparsity::AOnly,
                    preprocess: Preprocess::OfflineB,
                    ..base
                },
                "offb",
            ),
            (
                EsmmSpec {
                    sparsity: Sparsity::BOnly,
                    ..base
                },
                "A granularity must be 0, not 64",
            ),
            (
                EsmmSpec {
                    a_granularity: 8,
                    tm: 16,
                    ..base
                },
                "the A granularity 8 rows is not a multiple of tm=16",
            ),
            (
                EsmmSpec {
                    bm: 512,
                    a_granularity: 8,
                    ..base
                },
                "touches 64 row blocks of 8, more than 32",
            ),
        ];
        for (spec, needle) in cases {
            let why = validate(&spec).expect_err(needle);
            assert!(
                why.iter().any(|w| w.contains(needle)),
                "{needle:?} not in {why:?}"
            );
        }
    }
}
