//! Target architectures and nvcc flags.

use esmm_spec::Arch;
use std::fmt;
use std::path::Path;

/// Every architecture the shipped kernels carry SASS for by default, lowest first.
pub const DEFAULT_ARCHS: [Arch; 5] = Arch::ALL;

/// Narrows the architectures of a build (see [`parse_archs`]).
pub const ENV_ARCHS: &str = "ESMM_CUDA_ARCHS";

/// Extra nvcc flags, space separated (e.g. `-lineinfo`; see [`nvcc_flags`]).
pub const ENV_NVCC_FLAGS: &str = "ESMM_NVCC_FLAGS";

/// The flags of every fatbin compile, before the targets.
pub const BASE_FLAGS: [&str; 3] = ["-fatbin", "-O3", "-std=c++17"];

/// Parses the value of `ESMM_CUDA_ARCHS`: `sm_90`, `90`, `9.0` or `compute_90`, comma or space
/// separated, each one of [`DEFAULT_ARCHS`]. Unset or blank means all of them. Returns the list
/// sorted (lowest first) without duplicates; an unknown name or an empty list is an error.
pub fn parse_archs(spec: Option<&str>) -> Result<Vec<Arch>, String> {
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_ARCHS.to_vec());
    };
    let known: Vec<String> = DEFAULT_ARCHS.iter().map(|a| a.sm_name()).collect();
    let mut archs = Vec::new();
    for item in spec.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let arch = Arch::parse(item).filter(|a| DEFAULT_ARCHS.contains(a)).ok_or_else(|| {
            format!("{ENV_ARCHS}: unknown architecture `{item}`; expected some of {}", known.join(", "))
        })?;
        if !archs.contains(&arch) {
            archs.push(arch);
        }
    }
    if archs.is_empty() {
        return Err(format!("{ENV_ARCHS}={spec:?} names no architecture; expected some of {}", known.join(", ")));
    }
    archs.sort();
    Ok(archs)
}

/// The architecture of the embedded PTX: the lowest of `archs` (the driver JIT-compiles it
/// on GPUs newer than every SASS target). `None` for an empty list.
pub fn ptx_arch(archs: &[Arch]) -> Option<Arch> {
    archs.iter().copied().min()
}

/// One nvcc target: a compute capability, optionally arch-specific (`sm_90a`, needed by
/// Hopper's wgmma and setmaxnreg, whose SASS runs on that architecture only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// Compute capability as `major * 10 + minor`, e.g. 90.
    pub cc: u32,
    /// Whether this is the arch-specific variant (`sm_90a` rather than `sm_90`).
    pub arch_specific: bool,
}

impl Target {
    /// Hopper's arch-specific target, `sm_90a`.
    pub const SM_90A: Target = Target::arch_specific(90);

    /// The portable target of compute capability `cc` (`sm_<cc>`).
    pub const fn sm(cc: u32) -> Target {
        Target { cc, arch_specific: false }
    }

    /// The arch-specific target of compute capability `cc` (`sm_<cc>a`).
    pub const fn arch_specific(cc: u32) -> Target {
        Target { cc, arch_specific: true }
    }

    /// The suffix of its names: `90` or `90a`.
    fn suffix(self) -> String {
        format!("{}{}", self.cc, if self.arch_specific { "a" } else { "" })
    }

    /// The `-gencode` value for SASS: `arch=compute_90a,code=sm_90a`. (Not `-arch=sm_90a`,
    /// which also runs a plain `sm_90` pass that rejects wgmma.)
    pub fn sass_gencode(self) -> String {
        let s = self.suffix();
        format!("arch=compute_{s},code=sm_{s}")
    }

    /// The `-gencode` value for PTX: `arch=compute_80,code=compute_80`.
    pub fn ptx_gencode(self) -> String {
        let s = self.suffix();
        format!("arch=compute_{s},code=compute_{s}")
    }
}

impl From<Arch> for Target {
    fn from(a: Arch) -> Target {
        Target::sm(a.compute_capability())
    }
}

impl fmt::Display for Target {
    /// `sm_90` or `sm_90a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sm_{}", self.suffix())
    }
}

/// What one fatbin holds: SASS for each of `sass` and optionally PTX for one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// SASS targets, in flag order.
    pub sass: Vec<Target>,
    /// The PTX target, if any.
    pub ptx: Option<Target>,
}

impl Targets {
    /// SASS for every one of `archs` and PTX for the lowest ([`ptx_arch`]): the shipped build.
    pub fn for_archs(archs: &[Arch]) -> Targets {
        let mut sass: Vec<Target> = archs.iter().map(|&a| a.into()).collect();
        sass.sort();
        sass.dedup();
        Targets { sass, ptx: ptx_arch(archs).map(Target::from) }
    }

    /// SASS for exactly `targets`, no PTX (e.g. the present GPU only, or `sm_90a` only).
    pub fn sass_only(targets: impl IntoIterator<Item = Target>) -> Targets {
        Targets { sass: targets.into_iter().collect(), ptx: None }
    }

    /// Adds one SASS target (e.g. [`Target::SM_90A`]) unless it is already there.
    pub fn with(mut self, target: Target) -> Targets {
        if !self.sass.contains(&target) {
            self.sass.push(target);
        }
        self
    }

    /// `-gencode <value>` pairs: one per SASS target, then the PTX one.
    pub fn gencode_flags(&self) -> Vec<String> {
        let values = self.sass.iter().map(|t| t.sass_gencode()).chain(self.ptx.map(Target::ptx_gencode));
        values.flat_map(|v| ["-gencode".to_string(), v]).collect()
    }

    /// The SASS targets as a list for messages: `sm_80,sm_90a`.
    pub fn sass_list(&self) -> String {
        self.sass.iter().map(Target::to_string).collect::<Vec<_>>().join(",")
    }
}

/// The flags of a fatbin compile: [`BASE_FLAGS`], the targets' `-gencode` pairs, then `extra`
/// (the value of `ESMM_NVCC_FLAGS`, split at whitespace). Include directories are per source
/// ([`include_args`]); the cache adds them.
pub fn nvcc_flags(targets: &Targets, extra: Option<&str>) -> Vec<String> {
    let mut flags: Vec<String> = BASE_FLAGS.iter().map(|s| s.to_string()).collect();
    flags.extend(targets.gencode_flags());
    flags.extend(extra.unwrap_or_default().split_whitespace().map(String::from));
    flags
}

/// The include directory argument: `-I <dir>`.
pub fn include_args(dir: &Path) -> [String; 2] {
    ["-I".to_string(), dir.display().to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archs_parse() {
        assert_eq!(parse_archs(None).unwrap(), DEFAULT_ARCHS.to_vec());
        assert_eq!(parse_archs(Some("  ")).unwrap(), DEFAULT_ARCHS.to_vec());
        assert_eq!(parse_archs(Some("sm_90")).unwrap(), vec![Arch::Sm90]);
        assert_eq!(parse_archs(Some("90,80")).unwrap(), vec![Arch::Sm80, Arch::Sm90]);
        assert_eq!(parse_archs(Some("9.0 compute_86, SM_120")).unwrap(), vec![Arch::Sm86, Arch::Sm90, Arch::Sm120]);
        assert_eq!(parse_archs(Some("sm_89,89,8.9")).unwrap(), vec![Arch::Sm89]);
        let err = parse_archs(Some("sm_90,sm_75")).unwrap_err();
        assert!(err.contains("`sm_75`") && err.contains("sm_80, sm_86, sm_89, sm_90, sm_120"), "{err}");
        assert!(parse_archs(Some("sm_90a")).is_err(), "arch-specific targets are not an ESMM_CUDA_ARCHS value");
        assert!(parse_archs(Some(",")).unwrap_err().contains("names no architecture"));
    }

    #[test]
    fn ptx_is_the_lowest() {
        assert_eq!(ptx_arch(&[Arch::Sm90, Arch::Sm86, Arch::Sm120]), Some(Arch::Sm86));
        assert_eq!(ptx_arch(&[]), None);
    }

    #[test]
    fn gencode_flags() {
        let t = Targets::for_archs(&[Arch::Sm90, Arch::Sm80]);
        assert_eq!(
            nvcc_flags(&t, Some(" -lineinfo  -Xptxas=-v ")),
            [
                "-fatbin",
                "-O3",
                "-std=c++17",
                "-gencode",
                "arch=compute_80,code=sm_80",
                "-gencode",
                "arch=compute_90,code=sm_90",
                "-gencode",
                "arch=compute_80,code=compute_80",
                "-lineinfo",
                "-Xptxas=-v",
            ]
        );
        let hopper = Targets::sass_only([Target::SM_90A]);
        assert_eq!(hopper.gencode_flags(), ["-gencode", "arch=compute_90a,code=sm_90a"]);
        assert_eq!(nvcc_flags(&hopper, None).len(), 5);
        let both = Targets::for_archs(&[Arch::Sm90]).with(Target::SM_90A).with(Target::SM_90A);
        assert_eq!(
            both.gencode_flags(),
            [
                "-gencode",
                "arch=compute_90,code=sm_90",
                "-gencode",
                "arch=compute_90a,code=sm_90a",
                "-gencode",
                "arch=compute_90,code=compute_90"
            ]
        );
        assert_eq!(both.sass_list(), "sm_90,sm_90a");
        assert_eq!(Target::sm(100).to_string(), "sm_100");
        assert_eq!(include_args(Path::new("/g/esmm")), ["-I", "/g/esmm"]);
    }
}
