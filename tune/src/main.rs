//! `esmm-tune`: autotuner, benchmark and figures for esmm kernels.
mod plot;
fn main() {}
