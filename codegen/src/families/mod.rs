//! One module per kernel family, each implementing [`crate::family::FamilyGenerator`] and
//! registered in [`crate::family::generator`].

pub mod esmm;
pub mod gemv;
pub mod rans;
pub mod tc;
