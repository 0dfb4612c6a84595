//! One module per kernel family: the operations users call. Each validates its call, plans
//! (once per shape and options, then from the plan cache), and launches through the generic
//! [`crate::launch`] path.

pub mod esmm;
pub mod gemv;
pub mod rans;
pub mod tc;
