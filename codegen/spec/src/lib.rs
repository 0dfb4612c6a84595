//! The typed variant space of esmm kernels, shared by the generator (`esmm-codegen`), the
//! runtime (`esmm`) and the autotuner (`esmm-tune`).
//!
//! - [`common`]: the vocabulary every family shares (element types, epilogue, CTA tile,
//!   architectures);
//! - [`families`]: the closed set of kernel families ([`Family`]) and one spec struct per family,
//!   wrapped in [`KernelSpec`];
//! - [`name`]: the name grammar `<family>_<dtype>_<part>_<epilogue>` (names are the key used
//!   everywhere: file names, registry, tuned tables, CLI);
//! - [`abi`]: kernel launches and their argument lists as data (the registry's rows);
//! - [`fingerprint`]: hashes of rendered sources, which tuned tables record;
//! - [`tuned`]: the tuned-table format and lookup.
//!
//! Specs are plain `Copy` data that can be built in a `const` context, so the generated registry
//! (`generated/registry.rs`) is a static table. This crate depends only on serde; the runtime
//! links it.

pub mod abi;
pub mod common;
pub mod families;
pub mod fingerprint;
pub mod name;
pub mod tuned;

pub use abi::{Arg, GridRule, Launch, RegistryEntry, Stage};
pub use common::{Activation, Arch, ArchSet, CtaTile, ElemType, Epilogue};
pub use families::esmm::{EsmmSpec, Preprocess, SkipStyle, Sparsity};
pub use families::gemv::{GemvLayout, GemvSparsity, GemvSpec};
pub use families::rans::{RansKind, RansSpec};
pub use families::tc::{TcPath, TcPatterns, TcSparsity, TcSpec};
pub use families::{Family, KernelSpec};
