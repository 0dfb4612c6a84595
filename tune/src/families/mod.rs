//! The sweep workloads of the kernel families: what a tuned-table key means for a family (its
//! data, its reference, its baseline) and how one candidate is checked and timed on it. The
//! sweep driver (`crate::sweep`) is family-agnostic around these.

pub mod esmm;
pub mod tc;
