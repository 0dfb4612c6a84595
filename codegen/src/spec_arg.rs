//! Parsing of the `SPEC` argument of the CLI: a variant name, a preset name, or either followed
//! by `:key=value,...` overrides (e.g. `k25:bm=96,skip=branchless`).

use esmm_spec::{Activation, Arch, ArchSet, ElemType, KernelSpec, Preprocess, SkipStyle, Sparsity};

use crate::presets::{preset, PRESETS};

/// The override keys `resolve_spec` understands, for help texts.
pub const OVERRIDE_KEYS: &str = "sparsity, dtype, bm, bn, bk, wm, wn, wniter, tm, tn, \
a_granularity (ga), b_granularity (gb), preprocess, skip, activation, col_nnz, archs (e.g. sm_80+sm_90)";

/// Resolves `NAME`, `PRESET`, `NAME:overrides` or `PRESET:overrides` into a spec.
pub fn resolve_spec(arg: &str) -> Result<KernelSpec, String> {
    let (base, overrides) = match arg.split_once(':') {
        Some((b, o)) => (b.trim(), Some(o)),
        None => (arg.trim(), None),
    };
    let mut spec = if let Some(p) = preset(base) {
        p.spec
    } else if base.starts_with("esmm_") {
        KernelSpec::from_name(base)?
    } else {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        return Err(format!(
            "`{base}` is neither a preset ({}) nor a kernel name (esmm_...)",
            names.join(", ")
        ));
    };
    if let Some(list) = overrides {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            apply_override(&mut spec, item)?;
        }
    }
    Ok(spec)
}

/// Applies one `key=value` override.
fn apply_override(spec: &mut KernelSpec, item: &str) -> Result<(), String> {
    let (key, value) = item
        .split_once('=')
        .ok_or_else(|| format!("override `{item}` is not key=value (keys: {OVERRIDE_KEYS})"))?;
    let (key, value) = (key.trim(), value.trim());
    let bad = |expected: &str| format!("`{value}` is not a valid {key} (expected {expected})");
    let num = || value.parse::<u32>().map_err(|_| bad("an unsigned integer"));
    match key {
        "sparsity" => {
            spec.sparsity = Sparsity::from_tag(value).ok_or_else(|| bad("dense, a, b or ab"))?
        }
        "dtype" => spec.dtype = ElemType::from_tag(value).ok_or_else(|| bad("f32, f16 or bf16"))?,
        "bm" => spec.bm = num()?,
        "bn" => spec.bn = num()?,
        "bk" => spec.bk = num()?,
        "wm" => spec.wm = num()?,
        "wn" => spec.wn = num()?,
        "wniter" => spec.wniter = num()?,
        "tm" => spec.tm = num()?,
        "tn" => spec.tn = num()?,
        "a_granularity" | "ga" => spec.a_granularity = num()?,
        "b_granularity" | "gb" => spec.b_granularity = num()?,
        "preprocess" => {
            spec.preprocess =
                Preprocess::from_tag(value).ok_or_else(|| bad("none, fused, offb or sep"))?
        }
        "skip" => {
            spec.skip = SkipStyle::from_tag(value).ok_or_else(|| bad("branch or branchless"))?
        }
        "activation" => {
            spec.activation =
                Activation::from_tag(value).ok_or_else(|| bad("none, relu or relu2"))?
        }
        "col_nnz" | "nnz" => {
            spec.col_nnz = value.parse::<bool>().map_err(|_| bad("true or false"))?
        }
        "archs" => {
            let archs: Option<Vec<Arch>> = value
                .split('+')
                .filter(|s| !s.is_empty())
                .map(Arch::parse)
                .collect();
            let archs =
                archs.ok_or_else(|| bad("architectures joined by `+`, e.g. sm_80+sm_90"))?;
            spec.archs = ArchSet::from_archs(&archs);
        }
        _ => {
            return Err(format!(
                "unknown override key `{key}` (keys: {OVERRIDE_KEYS})"
            ))
        }
    }
    Ok(())
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

    #[test]
    fn presets_names_and_overrides_resolve() {
        let k25 = resolve_spec("K25").unwrap();
        assert_eq!(k25, crate::presets::K25.spec);
        assert_eq!(resolve_spec(&k25.name()).unwrap(), k25);
        let s = resolve_spec("k25:bm=96, skip=branchless,ga=8,archs=sm_90").unwrap();
        assert_eq!(
            (s.bm, s.skip, s.a_granularity),
            (96, SkipStyle::Branchless, 8)
        );
        assert_eq!(s.archs, ArchSet::from_archs(&[Arch::Sm90]));
        for bad in [
            "k99",
            "k25:bm",
            "k25:bm=x",
            "k25:colour=red",
            "k25:skip=maybe",
            "esmm_zz",
            "",
        ] {
            assert!(resolve_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match(
            "esmm_ab_*_fused_*",
            "esmm_ab_f32_64x128x8_g64x32_fused_branch_none"
        ));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "abbc"));
        assert!(!glob_match("*dense*", "esmm_ab_f32"));
        assert!(glob_match("*x*x*", "1x2x3"));
    }
}
