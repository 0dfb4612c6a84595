//! Seeded corruption fuzzing: decode never panics, and returns Err or (for a change that hits
//! nothing checked) an Ok equal to the original.

use esmm_codec::container::{self, Container, Params, HEADER_LEN};
use esmm_codec::quant::{self, QuantizedMatrix};
use esmm_codec::synth::{self, Distribution, Rng, SynthConfig};
use esmm_codec::{CodecError, Section};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn sample(k: usize, n: usize, p: Params, seed: u64) -> (QuantizedMatrix, Vec<u8>) {
    let cfg = SynthConfig::llm_like(Distribution::StudentT { nu: 5 }, k, n);
    let w = synth::synth_weights(k, n, &cfg, seed);
    let q = quant::quantize_f32(&w, k, n, n).unwrap();
    let b = container::encode(&q, &p).unwrap();
    (q, b)
}

/// Decodes without panicking; returns the result.
fn try_decode(buf: &[u8]) -> Result<QuantizedMatrix, CodecError> {
    match catch_unwind(AssertUnwindSafe(|| {
        let r = container::decode(buf);
        // The other entry points must not panic either.
        if let Ok(c) = Container::parse(buf) {
            for t in 0..c.num_tiles().min(4) {
                let _ = c.decode_tile(t);
            }
            let _ = c.decode_tile(c.num_tiles());
        }
        r
    })) {
        Ok(r) => r,
        Err(_) => panic!("decode panicked on a {}-byte buffer", buf.len()),
    }
}

fn expect_err_or_same(buf: &[u8], q: &QuantizedMatrix, what: &str) -> bool {
    match try_decode(buf) {
        Err(e) => {
            assert!(!e.to_string().is_empty());
            true
        }
        Ok(back) => {
            assert!(
                back == *q,
                "{what}: decode returned Ok with different contents"
            );
            false
        }
    }
}

fn section_spans(buf: &[u8]) -> Vec<(Section, usize, usize)> {
    let c = Container::parse(buf).unwrap();
    let h = c.header();
    [
        Section::Header,
        Section::FreqTable,
        Section::Scales,
        Section::Tiles,
        Section::Stream,
        Section::Checksums,
    ]
    .iter()
    .map(|&s| {
        let sp = h.span(s);
        (s, sp.offset as usize, (sp.offset + sp.len) as usize)
    })
    .collect()
}

/// Recomputes every CRC so that a modification reaches the structural checks behind them.
fn refix_crcs(buf: &mut [u8]) {
    if buf.len() < HEADER_LEN {
        return;
    }
    let rd = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let spans: Vec<(u64, u64)> = (0..5)
        .map(|i| (rd(buf, 56 + 16 * i), rd(buf, 64 + 16 * i)))
        .collect();
    let (co, cl) = spans[4];
    if cl != 20 || co.checked_add(20).is_none_or(|e| e > buf.len() as u64) {
        return;
    }
    let mut crcs = vec![crc32fast::hash(&buf[..HEADER_LEN])];
    for &(o, l) in &spans[..4] {
        match o.checked_add(l) {
            Some(e) if e <= buf.len() as u64 => {
                crcs.push(crc32fast::hash(&buf[o as usize..e as usize]))
            }
            _ => return,
        }
    }
    for (i, c) in crcs.iter().enumerate() {
        let o = co as usize + 4 * i;
        buf[o..o + 4].copy_from_slice(&c.to_le_bytes());
    }
}

#[test]
fn bit_flips_in_every_section() {
    let mut rng = Rng::new(2024);
    for (pi, p) in [
        Params {
            tile_k: 16,
            tile_n: 48,
            lanes: 32,
        },
        Params {
            tile_k: 40,
            tile_n: 40,
            lanes: 64,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let (q, good) = sample(77, 130, p, 10 + pi as u64);
        let spans = section_spans(&good);
        let mut detected = 0;
        let mut total = 0;
        // Every bit of the header, the frequency table and the checksums; random bits elsewhere.
        for &(sec, start, end) in &spans {
            let bits: Vec<usize> = if matches!(
                sec,
                Section::Header | Section::FreqTable | Section::Checksums
            ) {
                (start * 8..end * 8).collect()
            } else {
                (0..600)
                    .map(|_| start * 8 + rng.below(((end - start) * 8) as u64) as usize)
                    .collect()
            };
            for bit in bits {
                let mut b = good.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                total += 1;
                if expect_err_or_same(&b, &q, &format!("flip bit {bit} in {sec}")) {
                    detected += 1;
                }
            }
        }
        // Padding bytes.
        for w in spans.windows(2) {
            for byte in w[0].2..w[1].1 {
                let mut b = good.clone();
                b[byte] = 0x5a;
                total += 1;
                if expect_err_or_same(&b, &q, "padding") {
                    detected += 1;
                }
            }
        }
        // Multi-byte random damage.
        for _ in 0..400 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next_u64() as u8;
            }
            total += 1;
            if expect_err_or_same(&b, &q, "random bytes") {
                detected += 1;
            }
        }
        // CRC32 catches every 1..8-byte burst within a section, so everything is detected.
        eprintln!("params {p:?}: {detected}/{total} corruptions detected");
        assert!(detected as f64 >= total as f64 * 0.999);
    }
}

#[test]
fn truncation_at_every_boundary_and_random_lengths() {
    let mut rng = Rng::new(77);
    let (q, good) = sample(
        50,
        90,
        Params {
            tile_k: 16,
            tile_n: 32,
            lanes: 32,
        },
        3,
    );
    let spans = section_spans(&good);
    let mut cuts: Vec<usize> = vec![0, 1, 7, 8, 9, HEADER_LEN - 1, HEADER_LEN, good.len() - 1];
    for &(_, s, e) in &spans {
        for d in [-2i64, -1, 0, 1, 2] {
            for base in [s, e] {
                let c = base as i64 + d;
                if c >= 0 && (c as usize) < good.len() {
                    cuts.push(c as usize);
                }
            }
        }
    }
    for _ in 0..300 {
        cuts.push(rng.below(good.len() as u64) as usize);
    }
    for cut in cuts {
        let r = try_decode(&good[..cut]);
        match r {
            Err(CodecError::Truncated { needed, got, .. }) => {
                assert_eq!(got, cut as u64);
                assert!(needed > got);
            }
            Err(e) => panic!("truncation to {cut} bytes gave {e} instead of Truncated"),
            Ok(_) => panic!("truncation to {cut} bytes decoded"),
        }
    }
    // Trailing bytes are refused too.
    let mut b = good.clone();
    b.extend_from_slice(&[0; 16]);
    assert!(matches!(
        try_decode(&b),
        Err(CodecError::InconsistentHeader(_))
    ));
    assert!(expect_err_or_same(&good[..good.len() - 1], &q, "last byte"));
}

#[test]
fn random_garbage() {
    let mut rng = Rng::new(5);
    for i in 0..2000 {
        let len = rng.below(if i % 10 == 0 { 5000 } else { 300 }) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Half of them with a valid magic and version so that parsing goes further.
        if i % 2 == 0 && b.len() >= 10 {
            b[..8].copy_from_slice(b"ESMMRANS");
            b[8..10].copy_from_slice(&1u16.to_le_bytes());
        }
        assert!(try_decode(&b).is_err());
    }
    assert_eq!(
        try_decode(b"NOTRANS!xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        Err(CodecError::BadMagic)
    );
}

fn put_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn hostile_header_values() {
    let mut rng = Rng::new(31337);
    let (q, good) = sample(
        60,
        100,
        Params {
            tile_k: 16,
            tile_n: 32,
            lanes: 32,
        },
        8,
    );
    let mut v = good.clone();
    v[8] = 2;
    refix_crcs(&mut v);
    assert_eq!(
        try_decode(&v),
        Err(CodecError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );

    // 10^12 weights claimed in a 1 KB buffer: refused before any allocation.
    let mut h = good[..1024.min(good.len())].to_vec();
    put_u32(&mut h, 16, 1_000_000);
    put_u32(&mut h, 20, 1_000_000);
    refix_crcs(&mut h);
    assert!(try_decode(&h).is_err());
    // Same with consistent tile grid and section table (the sections then do not fit).
    let mut h = good.clone();
    put_u32(&mut h, 16, 1_000_000);
    put_u32(&mut h, 20, 1_000_000);
    put_u32(&mut h, 24, 1024);
    put_u32(&mut h, 28, 1024);
    put_u32(&mut h, 40, 977);
    put_u32(&mut h, 44, 977);
    let scales_len = 4_000_000u64;
    let f_off = 144u64;
    let s_off = f_off + 512;
    let t_off = (s_off + scales_len).next_multiple_of(16);
    let t_len = 977u64 * 977 * 144;
    let w_off = (t_off + t_len).next_multiple_of(16);
    let w_len = 64u64;
    let c_off = (w_off + w_len).next_multiple_of(16);
    for (i, (o, l)) in [
        (f_off, 512),
        (s_off, scales_len),
        (t_off, t_len),
        (w_off, w_len),
        (c_off, 20),
    ]
    .iter()
    .enumerate()
    {
        put_u64(&mut h, 56 + 16 * i, *o);
        put_u64(&mut h, 64 + 16 * i, *l);
    }
    put_u64(&mut h, 48, c_off + 20);
    h.truncate(1024);
    match try_decode(&h) {
        Err(CodecError::Truncated {
            section: Section::Scales,
            needed,
            got: 1024,
        }) => assert_eq!(needed, s_off + scales_len),
        other => panic!("expected Truncated in scales, got {other:?}"),
    }
    // Maximal u32/u64 values in every header field, one at a time and in random combinations,
    // with the header CRC recomputed so that the structural checks are what catches them.
    let fields32 = [12usize, 16, 20, 24, 28, 32, 36, 40, 44];
    let fields64 = [48usize, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136];
    let specials32 = [
        0u32,
        1,
        2,
        31,
        33,
        63,
        64,
        65,
        4095,
        65535,
        65536,
        65537,
        1 << 20,
        u32::MAX / 2,
        u32::MAX - 1,
        u32::MAX,
    ];
    let specials64 = [
        0u64,
        1,
        15,
        16,
        17,
        144,
        1 << 32,
        1 << 40,
        u64::MAX / 2,
        u64::MAX - 15,
        u64::MAX,
    ];
    let mut cases = 0;
    for &o in &fields32 {
        for &s in &specials32 {
            let mut b = good.clone();
            put_u32(&mut b, o, s);
            refix_crcs(&mut b);
            expect_err_or_same(&b, &q, &format!("u32 field {o} = {s}"));
            cases += 1;
        }
    }
    for &o in &fields64 {
        for &s in &specials64 {
            let mut b = good.clone();
            put_u64(&mut b, o, s);
            refix_crcs(&mut b);
            expect_err_or_same(&b, &q, &format!("u64 field {o} = {s}"));
            cases += 1;
        }
    }
    for _ in 0..1500 {
        let mut b = good.clone();
        for _ in 0..1 + rng.below(4) {
            if rng.below(2) == 0 {
                let o = fields32[rng.below(fields32.len() as u64) as usize];
                let v = if rng.below(2) == 0 {
                    specials32[rng.below(specials32.len() as u64) as usize]
                } else {
                    rng.next_u64() as u32
                };
                put_u32(&mut b, o, v);
            } else {
                let o = fields64[rng.below(fields64.len() as u64) as usize];
                let v = if rng.below(2) == 0 {
                    specials64[rng.below(specials64.len() as u64) as usize]
                } else {
                    rng.next_u64() >> rng.below(64)
                };
                put_u64(&mut b, o, v);
            }
        }
        refix_crcs(&mut b);
        expect_err_or_same(&b, &q, "random header fields");
        cases += 1;
    }
    assert!(cases > 1500);
}

#[test]
fn hostile_contents_behind_valid_checksums() {
    // Damage the frequency table, tile records and stream, then recompute every CRC: the
    // semantic checks (table sum, records, rANS final states / word counts) must catch it,
    // or the result must at least be a well-formed matrix of the same shape.
    let mut rng = Rng::new(4242);
    let (q, good) = sample(
        64,
        96,
        Params {
            tile_k: 32,
            tile_n: 32,
            lanes: 32,
        },
        21,
    );
    let spans = section_spans(&good);
    let (_, f0, f1) = spans[1];
    let (_, t0, t1) = spans[3];
    let (_, w0, w1) = spans[4];
    // [frequency table, tile records, stream]: (detected, total)
    let mut stats = [(0usize, 0usize); 3];
    for i in 0..3000 {
        let mut b = good.clone();
        let (lo, hi) = match i % 3 {
            0 => (f0, f1),
            1 => (t0, t1),
            _ => (w0, w1),
        };
        let bit = lo * 8 + rng.below(((hi - lo) * 8) as u64) as usize;
        b[bit / 8] ^= 1 << (bit % 8);
        refix_crcs(&mut b);
        stats[i % 3].1 += 1;
        match try_decode(&b) {
            Err(_) => stats[i % 3].0 += 1,
            Ok(m) => {
                // A single flip always breaks the table's sum of 4096.
                assert!(i % 3 != 0, "frequency table damage accepted");
                // A changed initial state or word can be a valid encoding of other symbols:
                // only the CRC protects against that. The result is still well-formed.
                assert_eq!(
                    (m.k, m.n, m.codes.len(), m.scales.len()),
                    (q.k, q.n, q.codes.len(), q.scales.len())
                );
                assert!(m.codes.iter().all(|&c| c != -128));
            }
        }
    }
    eprintln!("single bit flips behind recomputed CRCs caught by the semantic checks: table {}/{}, records {}/{}, stream {}/{}",
        stats[0].0, stats[0].1, stats[1].0, stats[1].1, stats[2].0, stats[2].1);
    assert_eq!(stats[0].0, stats[0].1);
    assert!(stats[1].0 * 10 >= stats[1].1 * 9);
    assert!(stats[2].0 * 10 >= stats[2].1 * 9);
    // Initial state below L.
    let mut b = good.clone();
    put_u32(&mut b, t0 + 16, 0x1234);
    refix_crcs(&mut b);
    assert!(matches!(
        try_decode(&b),
        Err(CodecError::InconsistentHeader(_))
    ));
    // A stream with one word too many (record and section lengths fixed up) is caught by the
    // rANS check, not by the structural one.
    let c = Container::parse(&good).unwrap();
    let last = c.num_tiles() - 1;
    let rec_last = t0 + last * c.header().record_len();
    let mut b = good.clone();
    let wc = u32::from_le_bytes(b[rec_last + 8..rec_last + 12].try_into().unwrap());
    put_u32(&mut b, rec_last + 8, wc + 1);
    // Rebuild: insert a word at the end of the stream and move the checksums.
    let mut nb = b[..w1].to_vec();
    nb.extend_from_slice(&[0x34, 0x12]);
    let c_off = nb.len().next_multiple_of(16);
    nb.resize(c_off, 0);
    nb.extend_from_slice(&[0; 20]);
    put_u64(&mut nb, 112, (w1 - w0 + 2) as u64);
    put_u64(&mut nb, 120, c_off as u64);
    let total = nb.len() as u64;
    put_u64(&mut nb, 48, total);
    refix_crcs(&mut nb);
    match try_decode(&nb) {
        Err(CodecError::CorruptStream { tile, .. }) => assert_eq!(tile, last),
        other => panic!("expected CorruptStream in tile {last}, got {other:?}"),
    }
}
