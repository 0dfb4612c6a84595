//! Parsing of the CLI's `SPEC` argument: a variant name (any family), a preset name, or either
//! followed by `:key=value,...` overrides (e.g. `k25:bm=96,skip=branchless`), which the spec's
//! family applies ([`FamilyGenerator::apply_override`]).
//!
//! [`FamilyGenerator::apply_override`]: crate::family::FamilyGenerator::apply_override

use esmm_spec::{Family, KernelSpec};

use crate::family::{generator, generators, presets};

/// The override keys of every family (of `family` when given), for help texts.
pub fn override_help(family: Option<Family>) -> String {
    let lines: Vec<String> = generators(family).iter().map(|g| format!("{}: {}", g.family().key(), g.override_keys())).collect();
    format!("Override keys ({})", lines.join("; "))
}

/// Resolves `NAME`, `PRESET`, `NAME:overrides` or `PRESET:overrides` into a spec; with
/// `family`, only that family's presets and names are accepted.
pub fn resolve_spec(arg: &str, family: Option<Family>) -> Result<KernelSpec, String> {
    let (base, overrides) = match arg.split_once(':') {
        Some((b, o)) => (b.trim(), Some(o)),
        None => (arg.trim(), None),
    };
    let known = presets(family);
    let mut spec = if let Some(p) = known.iter().find(|p| p.name.eq_ignore_ascii_case(base)) {
        p.spec
    } else if base.contains('_') {
        KernelSpec::from_name(base)?
    } else {
        let names: Vec<&str> = known.iter().map(|p| p.name).collect();
        let families: Vec<String> = generators(family).iter().map(|g| format!("{}_...", g.family().key())).collect();
        return Err(format!(
            "`{base}` is neither a preset ({}) nor a kernel name ({})",
            names.join(", "),
            families.join(", ")
        ));
    };
    if let Some(want) = family.filter(|f| *f != spec.family()) {
        return Err(format!("{} is a {} spec, not a {} one", spec.name(), spec.family().key(), want.key()));
    }
    if let Some(list) = overrides {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let g = generator(spec.family());
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("override `{item}` is not key=value (keys: {})", g.override_keys()))?;
            g.apply_override(&mut spec, key.trim(), value.trim())?;
        }
    }
    Ok(spec)
}

/// Matches `text` against a glob with `*` (any run) and `?` (any one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::esmm::presets::K25;
    use esmm_spec::{Arch, ArchSet, SkipStyle};

    #[test]
    fn presets_names_and_overrides_resolve() {
        let k25 = resolve_spec("K25", None).unwrap();
        assert_eq!(k25, KernelSpec::Esmm(K25));
        assert_eq!(resolve_spec(&k25.name(), Some(Family::Esmm)).unwrap(), k25);
        let s = resolve_spec("k25:bm=96, skip=branchless,ga=8,archs=sm_90", None).unwrap();
        let s = s.as_esmm().unwrap();
        assert_eq!((s.bm, s.skip, s.a_granularity), (96, SkipStyle::Branchless, 8));
        assert_eq!(s.archs, ArchSet::from_archs(&[Arch::Sm90]));
        for bad in ["k99", "k25:bm", "k25:bm=x", "k25:colour=red", "k25:skip=maybe", "esmm_zz", "", "tc_bf16_x_none"] {
            assert!(resolve_spec(bad, None).is_err(), "{bad}");
        }
        assert!(resolve_spec("zz_bf16_x_none", None).unwrap_err().contains("unknown family"));
        assert!(resolve_spec("rans_bf16_x_none", None).is_err());
        let r = resolve_spec("rans:lanes=64,mt=4", None).unwrap();
        assert_eq!(r.as_rans().map(|s| (s.lanes, s.tile_n, s.mt)), Some((64, 256, 4)));
        assert_eq!(resolve_spec(&r.name(), Some(Family::Rans)).unwrap(), r);
        let i = resolve_spec("rans:kind=int8", None).unwrap();
        assert_eq!(i.as_rans().map(|s| (s.kind, s.lanes, s.tile_n, s.vec)), Some((esmm_spec::RansKind::Int8, 0, 0, 16)));
        let tc = resolve_spec("tc-wgmma:stages=5,bn=128", None).unwrap();
        let t = tc.as_tc().unwrap();
        assert_eq!((t.stages, t.bn, t.path), (5, 128, esmm_spec::TcPath::Wgmma));
        assert_eq!(resolve_spec(&tc.name(), Some(Family::Tc)).unwrap(), tc);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("esmm_ab_*_fused_*", "esmm_ab_f32_64x128x8_g64x32_fused_branch_none"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "abbc"));
        assert!(!glob_match("*dense*", "esmm_ab_f32"));
        assert!(glob_match("*x*x*", "1x2x3"));
    }
}
