//! The sweep workloads of the kernel families: what a tuned-table key means for a family (its
//! data, its reference, its baseline) and how one candidate is checked and timed on it. The
//! sweep driver (`crate::sweep`) is family-agnostic around these; family gemv's module holds its
//! whole sweep (keys grouped by weight shape), built on the driver's table and compile helpers.

pub mod esmm;
pub mod gemv;
pub mod tc;
