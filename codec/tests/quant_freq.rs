//! Quantization against an f64 reference, frequency normalisation properties, entropy bound.

use esmm_codec::container::{self, Container, Params};
use esmm_codec::quant;
use esmm_codec::rans::{self, FreqTable, PROB_SCALE};
use esmm_codec::synth::{self, Distribution, Rng, SynthConfig};
use esmm_codec::{CodecError, Section};

#[test]
fn quantization_matches_f64_reference() {
    let mut rng = Rng::new(1);
    for &(k, n) in &[(1usize, 1usize), (1, 50), (50, 1), (257, 129), (64, 300)] {
        let cfg = SynthConfig::llm_like(Distribution::StudentT { nu: 4 }, k, n);
        let mut w = synth::synth_weights(k, n, &cfg, rng.next_u64());
        // A zero column, a subnormal column, exact half-way values.
        if n > 2 {
            for r in 0..k {
                w[r * n] = 0.0;
                w[r * n + 1] = if r == 0 { 1e-44 } else { -1e-45 };
            }
        }
        let q = quant::quantize_f32(&w, k, n, n).unwrap();
        let deq = q.dequantize();
        for c in 0..n {
            let max_abs = (0..k)
                .map(|r| (w[r * n + c] as f64).abs())
                .fold(0.0, f64::max);
            let s = q.scales[c] as f64;
            if max_abs == 0.0 {
                assert_eq!(q.scales[c], 0.0);
            } else {
                // scale = max|w| / 127 rounded to f32 (or the smallest subnormal).
                let expect = (max_abs / 127.0) as f32;
                assert!(
                    q.scales[c] == expect || (expect == 0.0 && q.scales[c] == f32::from_bits(1))
                );
            }
            for r in 0..k {
                let x = w[r * n + c] as f64;
                let code = q.codes[r * n + c];
                assert!((-127..=127).contains(&code));
                if s == 0.0 {
                    assert_eq!(code, 0);
                    continue;
                }
                let reference = (x / s).round().clamp(-127.0, 127.0);
                assert_eq!(code as f64, reference, "row {r} col {c}");
                let err = (x - code as f64 * s).abs();
                assert!(
                    err <= s / 2.0 * (1.0 + 1e-12),
                    "row {r} col {c}: |w - deq| = {err} > scale/2 = {}",
                    s / 2.0
                );
                assert_eq!(deq[r * n + c], code as f32 * q.scales[c]);
            }
        }
    }
}

#[test]
fn round_half_away_from_zero() {
    // Column max 127 → scale exactly 1.
    let w = [127.0f32, 0.5, -0.5, 2.5, -2.5, 1.4999, -126.5];
    let q = quant::quantize_f32(&w, w.len(), 1, 1).unwrap();
    assert_eq!(q.scales[0], 1.0);
    assert_eq!(q.codes, vec![127, 1, -1, 3, -3, 1, -127]);
}

#[test]
fn non_finite_weights_are_errors() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut w = vec![1.0f32; 12];
        w[7] = bad;
        assert_eq!(
            quant::quantize_f32(&w, 3, 4, 4),
            Err(CodecError::NonFiniteWeight { row: 1, col: 3 })
        );
    }
    // A NaN in the stride padding is not read.
    let w = [1.0, 2.0, f32::NAN, 3.0, 4.0];
    assert!(quant::quantize_f32(&w, 2, 2, 3).is_ok());
}

fn check_table(hist: &[u64; 256]) -> FreqTable {
    let t = FreqTable::from_histogram(hist).unwrap();
    let f = t.freqs();
    assert_eq!(f.iter().map(|&x| x as u32).sum::<u32>(), PROB_SCALE);
    for s in 0..256 {
        assert_eq!(
            hist[s] > 0,
            f[s] > 0,
            "symbol {s}: count {} freq {}",
            hist[s],
            f[s]
        );
    }
    // Local optimality: no single unit moved from one symbol to another lowers the cost.
    let cost = t.cost_bits(hist);
    let used: Vec<usize> = (0..256).filter(|&s| f[s] > 0).collect();
    let inc = |s: usize| hist[s] as f64 * ((f[s] as f64 + 1.0) / f[s] as f64).log2(); // saving
    let dec = |s: usize| {
        if f[s] == 1 {
            f64::INFINITY
        } else {
            hist[s] as f64 * (f[s] as f64 / (f[s] as f64 - 1.0)).log2() // extra cost
        }
    };
    let best_inc = used.iter().map(|&s| inc(s)).fold(0.0, f64::max);
    let min_dec = used.iter().map(|&s| dec(s)).fold(f64::INFINITY, f64::min);
    assert!(
        best_inc <= min_dec * (1.0 + 1e-9) + 1e-9,
        "a unit transfer would save {best_inc} - {min_dec} bits"
    );
    // Never worse than the naive proportional table (scaled, floored at 1, fixed up on the largest).
    let total: u64 = hist.iter().sum();
    let mut naive = [0u16; 256];
    for s in 0..256 {
        if hist[s] > 0 {
            naive[s] = ((hist[s] as f64 * 4096.0 / total as f64).round() as u16).max(1);
        }
    }
    let sum: i32 = naive.iter().map(|&x| x as i32).sum();
    let big = (0..256).max_by_key(|&s| naive[s]).unwrap();
    naive[big] = (naive[big] as i32 + 4096 - sum) as u16;
    if naive[big] >= 1 {
        assert!(cost <= rans::cost_bits(hist, &naive) + 1e-6);
    }
    // The table decodes: every slot maps to the symbol whose cumulative range holds it.
    let cum = t.cum();
    for slot in 0..4096u32 {
        let s = t.symbol_of_slot(slot) as usize;
        assert!(cum[s] <= slot && slot < cum[s + 1]);
    }
    t
}

#[test]
fn frequency_normalisation_properties() {
    let mut rng = Rng::new(99);
    // One symbol.
    let mut h = [0u64; 256];
    h[200] = 12345;
    assert_eq!(check_table(&h).freqs()[200], 4096);
    // All 256 present, uniform → 16 each.
    let h = [1000u64; 256];
    assert!(check_table(&h).freqs().iter().all(|&f| f == 16));
    // Extremely skewed with huge counts.
    let mut h = [1u64; 256];
    h[0] = u64::MAX / 1024;
    let t = check_table(&h);
    assert_eq!(t.freqs()[0], 4096 - 255);
    // Random histograms.
    for _ in 0..300 {
        let mut h = [0u64; 256];
        let present = 1 + rng.below(256) as usize;
        for _ in 0..present {
            let s = rng.below(256) as usize;
            h[s] = 1 + (rng.uniform().powi(4) * 1e7) as u64;
        }
        check_table(&h);
    }
    // Histograms of synthetic codes: cost within 1% of the entropy.
    for dist in [Distribution::Gaussian, Distribution::StudentT { nu: 5 }] {
        let cfg = SynthConfig::llm_like(dist, 512, 512);
        let w = synth::synth_weights(512, 512, &cfg, 4);
        let q = quant::quantize_f32(&w, 512, 512, 512).unwrap();
        let h = rans::histogram(&q.codes);
        let t = check_table(&h);
        let ent = rans::entropy_of_histogram(&h) * q.codes.len() as f64;
        assert!(t.cost_bits(&h) <= ent * 1.01);
    }
    assert!(FreqTable::from_histogram(&[0; 256]).is_err());
    let mut f = [0u16; 256];
    f[3] = 4095;
    assert!(FreqTable::from_freqs(f).is_err());
}

#[test]
fn entropy_bound_on_synthetic_weights() {
    // What is asserted (default parameters: 256×256 tiles, 32 lanes):
    // * the rANS payload (stream words + final states) is within 1% of the ideal cost of its
    //   frequency table, Σ count·log2(4096/freq) — the coder and the tiling lose < 1%;
    // * the payload is within 2.5% of the empirical entropy. The brief's target was 1%; it is
    //   not reachable with a 12-bit table on these weights, because ~250 codes occur but most
    //   of them only in the outlier rows (p ≪ 1/4096), and each must get freq ≥ 1: the optimal
    //   table alone costs 0.6–1.8% above the entropy (docs/CODEC.md, "Compression").
    // * the container is ≤ 0.75 of INT8.
    let (k, n) = (2048, 2048);
    for (i, dist) in [
        Distribution::Gaussian,
        Distribution::StudentT { nu: 4 },
        Distribution::StudentT { nu: 5 },
    ]
    .into_iter()
    .enumerate()
    {
        let cfg = SynthConfig::llm_like(dist, k, n);
        let w = synth::synth_weights(k, n, &cfg, 100 + i as u64);
        let q = quant::quantize_f32(&w, k, n, n).unwrap();
        let hist = rans::histogram(&q.codes);
        let h = rans::entropy_of_histogram(&hist);
        let ent_bits = h * (k * n) as f64;
        let table_bits = FreqTable::from_histogram(&hist).unwrap().cost_bits(&hist);
        let bytes = container::encode(&q, &Params::default()).unwrap();
        let c = Container::parse(&bytes).unwrap();
        let payload_bits = (c.section(Section::Stream).len() * 8 + c.num_tiles() * 32 * 32) as f64;
        let total_bits = bytes.len() as f64 * 8.0;
        eprintln!(
            "{dist}: H = {h:.4} b/w, table +{:.3}%, payload +{:.3}% (vs table +{:.3}%), container +{:.3}%",
            (table_bits / ent_bits - 1.0) * 100.0,
            (payload_bits / ent_bits - 1.0) * 100.0,
            (payload_bits / table_bits - 1.0) * 100.0,
            (total_bits / ent_bits - 1.0) * 100.0
        );
        assert!(
            payload_bits <= table_bits * 1.01,
            "{dist}: coder loses more than 1% over its table"
        );
        assert!(
            payload_bits <= ent_bits * 1.025,
            "{dist}: payload more than 2.5% above entropy"
        );
        assert!(
            bytes.len() as f64 <= 0.75 * (k * n) as f64,
            "{dist}: not ≤ 0.75 of INT8"
        );
        assert_eq!(container::decode(&bytes).unwrap(), q);
    }
}
