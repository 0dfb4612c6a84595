//! A reference decoder written from docs/CODEC.md alone, exactly in the GPU order (rounds, lanes,
//! ballot + popcount word assignment), reading the container by its documented byte offsets.
//! It must agree with `decode` bit for bit.

use esmm_codec::container::{self, Params};
use esmm_codec::quant;
use esmm_codec::synth::{self, Distribution, Rng, SynthConfig};

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Returns the K×N codes.
fn gpu_order_decode(b: &[u8]) -> (usize, usize, Vec<i8>, Vec<f32>) {
    assert_eq!(&b[0..8], b"ESMMRANS");
    assert_eq!(u16_at(b, 8), 1);
    let (k, n) = (u32_at(b, 16) as usize, u32_at(b, 20) as usize);
    let (tile_k, tile_n, lanes) = (
        u32_at(b, 24) as usize,
        u32_at(b, 28) as usize,
        u32_at(b, 32) as usize,
    );
    let (k_tiles, n_tiles) = (u32_at(b, 40) as usize, u32_at(b, 44) as usize);
    let freq_off = u64_at(b, 56) as usize;
    let scales_off = u64_at(b, 72) as usize;
    let tiles_off = u64_at(b, 88) as usize;
    let stream_off = u64_at(b, 104) as usize;
    // Frequency table → cum → sym_of_slot.
    let freq: Vec<u32> = (0..256)
        .map(|s| u16_at(b, freq_off + 2 * s) as u32)
        .collect();
    let mut cum = vec![0u32; 257];
    for s in 0..256 {
        cum[s + 1] = cum[s] + freq[s];
    }
    assert_eq!(cum[256], 4096);
    let mut sym_of_slot = vec![0u8; 4096];
    for s in 0..256 {
        for slot in cum[s]..cum[s + 1] {
            sym_of_slot[slot as usize] = s as u8;
        }
    }
    let scales: Vec<f32> = (0..n)
        .map(|j| {
            f32::from_le_bytes(
                b[scales_off + 4 * j..scales_off + 4 * j + 4]
                    .try_into()
                    .unwrap(),
            )
        })
        .collect();
    let rec_len = 16 + 4 * lanes;
    let mut out = vec![0i8; k * n];
    for kb in 0..k_tiles {
        for nb in 0..n_tiles {
            let t = kb * n_tiles + nb;
            let rec = tiles_off + t * rec_len;
            let word_offset = u64_at(b, rec) as usize;
            let word_count = u32_at(b, rec + 8) as usize;
            let symbol_count = u32_at(b, rec + 12) as usize;
            let mut x: Vec<u32> = (0..lanes).map(|l| u32_at(b, rec + 16 + 4 * l)).collect();
            let row0 = kb * tile_k;
            let col0 = nb * tile_n;
            let rows = tile_k.min(k - row0);
            let cols = tile_n.min(n - col0);
            assert_eq!(symbol_count, rows * cols);
            let words = |i: usize| u16_at(b, stream_off + 2 * (word_offset + i)) as u32;
            let mut ptr = 0usize; // words consumed by the warp so far
            let rounds = symbol_count.div_ceil(lanes);
            for r in 0..rounds {
                // Phase 1: every lane with a symbol decodes it ("in parallel").
                let mut ballot: u64 = 0;
                for (lane, xl) in x.iter_mut().enumerate() {
                    let i = r * lanes + lane;
                    if i >= symbol_count {
                        continue; // last round: lanes without a symbol sit out
                    }
                    let slot = *xl & 4095;
                    let s = sym_of_slot[slot as usize] as usize;
                    *xl = freq[s] * (*xl >> 12) + slot - cum[s];
                    let (tr, tc) = (i / cols, i % cols);
                    out[(row0 + tr) * n + col0 + tc] = s as u8 as i8;
                    if *xl < 65536 {
                        ballot |= 1 << lane;
                    }
                }
                // Phase 2: the lanes in the ballot take the next words in increasing lane order.
                for (lane, xl) in x.iter_mut().enumerate() {
                    if ballot >> lane & 1 == 1 {
                        let rank = (ballot & ((1u64 << lane) - 1)).count_ones() as usize;
                        *xl = (*xl << 16) | words(ptr + rank);
                    }
                }
                ptr += ballot.count_ones() as usize;
            }
            assert_eq!(ptr, word_count, "tile {t}: every word consumed");
            assert!(x.iter().all(|&s| s == 65536), "tile {t}: final states");
        }
    }
    (k, n, out, scales)
}

#[test]
fn gpu_order_reference_matches_decode() {
    let mut rng = Rng::new(8);
    let cases: &[(usize, usize, u32, u32, u32)] = &[
        (1, 1, 256, 256, 32),
        (37, 1001, 256, 256, 32),
        (37, 1001, 8, 100, 64),
        (300, 301, 64, 33, 32),
        (513, 257, 256, 256, 64),
        (1000, 700, 256, 256, 32),
        (129, 65, 1, 65, 32),
    ];
    for &(k, n, tk, tn, lanes) in cases {
        for dist in [Distribution::Gaussian, Distribution::StudentT { nu: 4 }] {
            let cfg = SynthConfig::llm_like(dist, k, n);
            let w = synth::synth_weights(k, n, &cfg, rng.next_u64());
            let q = quant::quantize_f32(&w, k, n, n).unwrap();
            let bytes = container::encode(
                &q,
                &Params {
                    tile_k: tk,
                    tile_n: tn,
                    lanes,
                },
            )
            .unwrap();
            let (rk, rn, codes, scales) = gpu_order_decode(&bytes);
            let d = container::decode(&bytes).unwrap();
            assert_eq!((rk, rn), (d.k, d.n));
            assert_eq!(codes, d.codes);
            assert_eq!(scales, d.scales);
            assert_eq!(d, q);
        }
    }
}
