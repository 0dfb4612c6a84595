//! Compression and throughput report on synthetic LLM-like weights.
//!
//! `cargo run --release -p esmm-codec --example codec_report [-- --quick] [-- --lanes 64]
//!  [-- --tile KxN]`
//!
//! For each shape and distribution: entropy of the INT8 codes, achieved bits per weight
//! (container bytes × 8 / weights), size vs INT8 (container bytes / K·N), overhead above the
//! entropy (container bits / (entropy · K·N) − 1, everything included: header, frequency table,
//! scales, tile records, padding, checksums), and the same for the rANS payload alone (words +
//! states), encode and decode throughput in MB/s of INT8 codes on all cores.

use esmm_codec::container::{self, Container, Params};
use esmm_codec::rans::{self, FreqTable};
use esmm_codec::{quant, synth, Section};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Minimal cost in bits of coding `hist` with a table of `bits`-bit precision (same greedy as
/// the library's 12-bit normaliser), for the "what would another precision give" column.
fn optimal_table_cost(hist: &[u64; 256], bits: u32) -> f64 {
    #[derive(PartialEq)]
    struct G(f64, usize);
    impl Eq for G {}
    impl PartialOrd for G {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for G {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0.total_cmp(&o.0)
        }
    }
    let m = 1u64 << bits;
    let mut f = [0u64; 256];
    let mut heap = BinaryHeap::new();
    let gain = |c: u64, f: u64| c as f64 * ((f as f64 + 1.0) / f as f64).log2();
    for s in 0..256 {
        if hist[s] > 0 {
            f[s] = 1;
            heap.push(G(gain(hist[s], 1), s));
        }
    }
    let mut left = m - heap.len() as u64;
    while left > 0 {
        let G(_, s) = heap.pop().unwrap();
        f[s] += 1;
        heap.push(G(gain(hist[s], f[s]), s));
        left -= 1;
    }
    (0..256)
        .filter(|&s| hist[s] > 0)
        .map(|s| hist[s] as f64 * (m as f64 / f[s] as f64).log2())
        .sum()
}
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut params = Params::default();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--lanes" if i + 1 < args.len() => {
                params.lanes = args[i + 1].parse().expect("--lanes N");
                i += 1;
            }
            "--tile" if i + 1 < args.len() => {
                let (a, b) = args[i + 1].split_once('x').expect("--tile KxN");
                params.tile_k = a.parse().expect("tile K");
                params.tile_n = b.parse().expect("tile N");
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    let shapes: &[(usize, usize)] = if quick {
        &[(1024, 2752), (2752, 1024)]
    } else {
        &[(4096, 11008), (11008, 4096), (8192, 28672)]
    };
    let dists = [
        synth::Distribution::Gaussian,
        synth::Distribution::StudentT { nu: 5 },
    ];
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    println!(
        "esmm-codec report: tiles {}x{}, {} lanes, {} CPU threads",
        params.tile_k, params.tile_n, params.lanes, cores
    );
    println!("H b/w: empirical entropy of the codes; bpw: container bits / weight; vs INT8: container / (K*N bytes)");
    println!("ovh all: container vs entropy; ovh rANS: stream words + tile states vs entropy;");
    println!("table12: cost of the optimal 12-bit table vs entropy (the floor of ovh rANS); table14/16: same at 14/16 bits (not the format, for comparison)");
    println!("enc/dec: MB/s of INT8 codes (encode = histogram + table + tiles; decode = parse + CRC + all tiles), all threads");
    println!(
        "{:>12} {:>16} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "shape",
        "dist",
        "H b/w",
        "bpw",
        "vs INT8",
        "ovh all",
        "ovh rANS",
        "table12",
        "table14",
        "table16",
        "enc MB/s",
        "dec MB/s"
    );
    for &(k, n) in shapes {
        for (di, &dist) in dists.iter().enumerate() {
            let cfg = synth::SynthConfig::llm_like(dist, k, n);
            let w = synth::synth_weights(k, n, &cfg, 1000 + di as u64);
            let q = quant::quantize_f32(&w, k, n, n).expect("quantize");
            drop(w);
            let hist = rans::histogram_parallel(&q.codes);
            let h = rans::entropy_of_histogram(&hist);
            let weights = (k * n) as f64;
            let ent = h * weights;
            let t12 = FreqTable::from_histogram(&hist).unwrap().cost_bits(&hist) / ent - 1.0;
            let t14 = optimal_table_cost(&hist, 14) / ent - 1.0;
            let t16 = optimal_table_cost(&hist, 16) / ent - 1.0;

            let t = Instant::now();
            let bytes = container::encode(&q, &params).expect("encode");
            let enc_s = t.elapsed().as_secs_f64();

            let t = Instant::now();
            let back = container::decode(&bytes).expect("decode");
            let dec_s = t.elapsed().as_secs_f64();
            assert!(back == q, "roundtrip mismatch");
            drop(back);

            let c = Container::parse(&bytes).expect("parse");
            let payload = c.section(Section::Stream).len() as f64
                + (c.num_tiles() * 4 * params.lanes as usize) as f64;
            let bpw = bytes.len() as f64 * 8.0 / weights;
            println!(
                "{:>12} {:>16} {:>7.4} {:>7.4} {:>7.4} {:>7.3}% {:>7.3}% {:>7.3}% {:>7.3}% {:>7.3}% {:>8.0} {:>8.0}",
                format!("{k}x{n}"),
                dist.to_string(),
                h,
                bpw,
                bytes.len() as f64 / weights,
                (bpw / h - 1.0) * 100.0,
                (payload * 8.0 / ent - 1.0) * 100.0,
                t12 * 100.0,
                t14 * 100.0,
                t16 * 100.0,
                weights / enc_s / 1e6,
                weights / dec_s / 1e6,
            );
        }
    }
}
