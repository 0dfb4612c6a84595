//! decode(encode(quantize(w))) == quantize(w), bit-exact, over many shapes and parameters.

use esmm_codec::container::{self, Container, Params};
use esmm_codec::quant::{self, QuantizedMatrix};
use esmm_codec::synth::{self, Distribution, Rng, SynthConfig};
use esmm_codec::{CodecError, Section};
use half::{bf16, f16};

fn roundtrip(q: &QuantizedMatrix, p: &Params) -> Vec<u8> {
    let bytes =
        container::encode(q, p).unwrap_or_else(|e| panic!("encode {}x{} {p:?}: {e}", q.k, q.n));
    let back =
        container::decode(&bytes).unwrap_or_else(|e| panic!("decode {}x{} {p:?}: {e}", q.k, q.n));
    assert!(back == *q, "roundtrip mismatch {}x{} {p:?}", q.k, q.n);
    // Tile by tile as well.
    let c = Container::parse(&bytes).unwrap();
    let h = *c.header();
    for t in 0..c.num_tiles() {
        let tile = c.decode_tile(t).unwrap();
        let ((r0, rows), (c0, cols)) = h.tile_bounds(t);
        assert_eq!(tile.len(), rows * cols);
        for r in 0..rows {
            assert_eq!(
                &tile[r * cols..(r + 1) * cols],
                &q.codes[(r0 + r) * q.n + c0..(r0 + r) * q.n + c0 + cols]
            );
        }
    }
    bytes
}

fn random_weights(rng: &mut Rng, k: usize, n: usize) -> Vec<f32> {
    let dist = if rng.below(2) == 0 {
        Distribution::Gaussian
    } else {
        Distribution::StudentT {
            nu: 4 + rng.below(2) as u32,
        }
    };
    let cfg = SynthConfig::llm_like(dist, k, n);
    synth::synth_weights(k, n, &cfg, rng.next_u64())
}

#[test]
fn odd_and_random_shapes() {
    let mut rng = Rng::new(42);
    let fixed: &[(usize, usize, u32, u32, u32)] = &[
        (1, 1, 256, 256, 32),
        (1, 1, 1, 1, 64),
        (1, 777, 256, 256, 32),
        (1, 777, 1, 100, 64),
        (913, 1, 256, 256, 32),
        (913, 1, 100, 1, 64),
        (37, 1001, 256, 256, 32),
        (37, 1001, 16, 64, 64),
        (37, 1001, 5, 333, 32),
        (300, 257, 256, 256, 64),
        (513, 511, 128, 96, 32),
        (64, 64, 64, 64, 32),
        (31, 33, 1024, 1024, 64),
    ];
    for &(k, n, tk, tn, lanes) in fixed {
        let w = random_weights(&mut rng, k, n);
        let q = quant::quantize_f32(&w, k, n, n).unwrap();
        roundtrip(
            &q,
            &Params {
                tile_k: tk,
                tile_n: tn,
                lanes,
            },
        );
    }
    for _ in 0..60 {
        let kb = if rng.below(4) == 0 { 700 } else { 90 };
        let k = 1 + rng.below(kb) as usize;
        let nb = if rng.below(4) == 0 { 700 } else { 90 };
        let n = 1 + rng.below(nb) as usize;
        let tk = 1 + rng.below(300) as u32;
        let tn = 1 + rng.below(300) as u32;
        let lanes = if rng.below(2) == 0 { 32 } else { 64 };
        let w = random_weights(&mut rng, k, n);
        let q = quant::quantize_f32(&w, k, n, n).unwrap();
        roundtrip(
            &q,
            &Params {
                tile_k: tk,
                tile_n: tn,
                lanes,
            },
        );
    }
}

#[test]
fn larger_default_params() {
    let mut rng = Rng::new(7);
    let (k, n) = (1100, 1300);
    let w = random_weights(&mut rng, k, n);
    let q = quant::quantize_f32(&w, k, n, n).unwrap();
    roundtrip(&q, &Params::default());
    roundtrip(
        &q,
        &Params {
            tile_k: 256,
            lanes: 32,
            ..Params::default()
        },
    );
}

#[test]
fn all_zero_matrix() {
    for (k, n) in [(1, 1), (40, 70), (300, 300)] {
        let w = vec![0.0f32; k * n];
        let q = quant::quantize_f32(&w, k, n, n).unwrap();
        assert!(q.scales.iter().all(|&s| s == 0.0));
        assert!(q.codes.iter().all(|&c| c == 0));
        for lanes in [32, 64] {
            let bytes = roundtrip(
                &q,
                &Params {
                    tile_k: 64,
                    tile_n: 64,
                    lanes,
                },
            );
            // One symbol of frequency 4096 costs nothing: no stream words at all.
            let c = Container::parse(&bytes).unwrap();
            assert_eq!(c.section(Section::Stream).len(), 0);
        }
    }
}

#[test]
fn one_symbol_matrices() {
    for code in [-127i8, -1, 1, 5, 127] {
        let (k, n) = (70, 90);
        let q = QuantizedMatrix {
            k,
            n,
            codes: vec![code; k * n],
            scales: vec![0.5; n],
        };
        for lanes in [32, 64] {
            roundtrip(
                &q,
                &Params {
                    tile_k: 32,
                    tile_n: 50,
                    lanes,
                },
            );
        }
    }
}

#[test]
fn all_255_values_present() {
    let mut rng = Rng::new(3);
    let (k, n) = (255, 130);
    let mut codes: Vec<i8> = (0..k * n).map(|i| ((i % 255) as i32 - 127) as i8).collect();
    // Shuffle a little, keep every value.
    for i in (1..codes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        codes.swap(i, j);
    }
    let q = QuantizedMatrix {
        k,
        n,
        codes,
        scales: vec![1.0; n],
    };
    let hist = esmm_codec::rans::histogram(&q.codes);
    assert_eq!(hist.iter().filter(|&&c| c > 0).count(), 255);
    for lanes in [32, 64] {
        roundtrip(
            &q,
            &Params {
                tile_k: 100,
                tile_n: 37,
                lanes,
            },
        );
    }
    // Skewed: a mostly-zero matrix that still has every value once.
    let mut codes = vec![0i8; k * n];
    for v in -127i32..=127 {
        codes[rng.below((k * n) as u64) as usize] = v as i8;
    }
    for v in -127i32..=127 {
        codes[((v + 127) * 97) as usize] = v as i8;
    }
    let q = QuantizedMatrix {
        k,
        n,
        codes,
        scales: vec![1.0; n],
    };
    roundtrip(&q, &Params::default());
}

#[test]
fn half_precision_inputs_and_strides() {
    let mut rng = Rng::new(11);
    let (k, n, stride) = (77, 123, 140);
    let mut w = vec![0.0f32; (k - 1) * stride + n];
    for v in &mut w {
        *v = rng.normal() as f32 * 0.03;
    }
    let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
    let wh: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
    let qb = quant::quantize_bf16(&wb, k, n, stride).unwrap();
    let qh = quant::quantize_f16(&wh, k, n, stride).unwrap();
    let qf = quant::quantize_f32(&w, k, n, stride).unwrap();
    // The bf16 path equals the f32 path on the bf16-rounded values.
    let wbf: Vec<f32> = wb.iter().map(|v| v.to_f32()).collect();
    assert_eq!(qb, quant::quantize_f32(&wbf, k, n, stride).unwrap());
    for q in [&qb, &qh, &qf] {
        roundtrip(
            q,
            &Params {
                tile_k: 20,
                tile_n: 40,
                lanes: 32,
            },
        );
    }
}

#[test]
fn encode_is_deterministic() {
    let mut rng = Rng::new(5);
    let w = random_weights(&mut rng, 600, 500);
    let q = quant::quantize_f32(&w, 600, 500, 500).unwrap();
    let p = Params {
        tile_k: 64,
        tile_n: 128,
        lanes: 32,
    };
    assert_eq!(
        container::encode(&q, &p).unwrap(),
        container::encode(&q, &p).unwrap()
    );
    // synth is deterministic too.
    let cfg = SynthConfig::llm_like(Distribution::StudentT { nu: 5 }, 100, 100);
    assert_eq!(
        synth::synth_weights(100, 100, &cfg, 9),
        synth::synth_weights(100, 100, &cfg, 9)
    );
}

#[test]
fn bad_parameters_are_errors() {
    let q = QuantizedMatrix {
        k: 2,
        n: 2,
        codes: vec![1, 2, 3, 4],
        scales: vec![1.0, 1.0],
    };
    for p in [
        Params {
            tile_k: 0,
            tile_n: 4,
            lanes: 32,
        },
        Params {
            tile_k: 4,
            tile_n: 0,
            lanes: 32,
        },
        Params {
            tile_k: 4,
            tile_n: 4,
            lanes: 16,
        },
        Params {
            tile_k: 4,
            tile_n: 4,
            lanes: 33,
        },
        Params {
            tile_k: 65537,
            tile_n: 1,
            lanes: 32,
        },
        Params {
            tile_k: 2048,
            tile_n: 2048,
            lanes: 32,
        },
    ] {
        assert!(
            matches!(container::encode(&q, &p), Err(CodecError::BadParams(_))),
            "{p:?}"
        );
    }
    let p = Params::default();
    let bad = [
        QuantizedMatrix {
            k: 0,
            n: 2,
            codes: vec![],
            scales: vec![1.0, 1.0],
        },
        QuantizedMatrix {
            k: 2,
            n: 2,
            codes: vec![1, 2, 3],
            scales: vec![1.0, 1.0],
        },
        QuantizedMatrix {
            k: 2,
            n: 2,
            codes: vec![1, 2, 3, 4],
            scales: vec![1.0],
        },
        QuantizedMatrix {
            k: 2,
            n: 2,
            codes: vec![1, -128, 3, 4],
            scales: vec![1.0, 1.0],
        },
        QuantizedMatrix {
            k: 2,
            n: 2,
            codes: vec![1, 2, 3, 4],
            scales: vec![1.0, f32::NAN],
        },
        QuantizedMatrix {
            k: 2,
            n: 2,
            codes: vec![1, 2, 3, 4],
            scales: vec![-1.0, 1.0],
        },
    ];
    for q in &bad {
        assert!(
            matches!(container::encode(q, &p), Err(CodecError::BadParams(_))),
            "{q:?}"
        );
    }
    assert!(matches!(
        quant::quantize_f32(&[1.0; 5], 2, 3, 3),
        Err(CodecError::BadParams(_))
    ));
    assert!(matches!(
        quant::quantize_f32(&[1.0; 6], 2, 3, 2),
        Err(CodecError::BadParams(_))
    ));
    assert!(matches!(
        quant::quantize_f32(&[], 0, 3, 3),
        Err(CodecError::BadParams(_))
    ));
}
