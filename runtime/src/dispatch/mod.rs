//! Which kernel serves a call, decided from data: the generated registry and the embedded
//! fatbins ([`registry`]), the static default policy ([`policy`]), this GPU's tuned table with
//! stale measurements removed ([`tuned`]) and per-layer density observations ([`adaptive`]).
//! Plans are computed once per (shape, options, density bucket) and cached by the op modules.

pub mod adaptive;
pub mod policy;
pub mod registry;
pub mod tuned;

pub use adaptive::Layer;
pub use policy::{choose_variant, spec_mismatch, Request};
pub use registry::REGISTRY;
