//! `esmm-codec`: the CPU side of esmm's compressed weights.
//!
//! Pipeline (the GPU kernel fuses the reverse: rANS decode → INT8 dequantize → GEMV):
//! 1. [`quant`]: per-output-channel symmetric INT8 quantization of a K×N weight matrix.
//! 2. [`rans`]: static 12-bit rANS over the 256 code values, 32 or 64 interleaved lanes per tile.
//! 3. [`container`]: the versioned byte format (`ESMMRANS`, version 1) that is uploaded to the GPU
//!    as-is. The format and the decode order are a contract, specified in docs/CODEC.md.
//! 4. [`synth`]: deterministic LLM-like synthetic weights and entropy measurements.
//!
//! ```
//! use esmm_codec::{container, quant, synth};
//! let cfg = synth::SynthConfig::llm_like(synth::Distribution::Gaussian, 300, 200);
//! let w = synth::synth_weights(300, 200, &cfg, 7);
//! let q = quant::quantize_f32(&w, 300, 200, 200).unwrap();
//! let bytes = container::encode(&q, &container::Params::default()).unwrap();
//! assert_eq!(container::decode(&bytes).unwrap(), q);
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod container;
pub mod error;
pub mod quant;
pub mod rans;
pub mod synth;

pub use container::{decode, decode_tile, encode, Container, Header, Params, TileRecord};
pub use error::{CodecError, Result, Section};
pub use quant::{quantize, quantize_bf16, quantize_f16, quantize_f32, QuantizedMatrix};
