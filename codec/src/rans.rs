//! Static, lane-interleaved rANS over 256 symbols (the GPU contract; see docs/CODEC.md).
//!
//! * 12-bit probabilities: frequencies sum to [`PROB_SCALE`] = 4096.
//! * 32-bit state, normalised interval `[L, 2^32)` with `L` = [`RANS_L`] = 2^16,
//!   16-bit renormalisation words: a decode step reads 0 or 1 word, an encode step emits 0 or 1.
//! * Decode step: `slot = x & 4095; s = sym_of_slot[slot]; x = freq[s]*(x>>12) + slot - cum[s];
//!   if x < 65536 { x = (x<<16) | next_word }`.
//! * Encode step: `if x >= (freq[s] << 20) { emit(x & 0xffff); x >>= 16 }
//!   x = ((x / freq[s]) << 12) + (x % freq[s]) + cum[s]`.
//! * Interleaving: symbol `i` of a tile belongs to lane `i % lanes` and is decoded in round
//!   `i / lanes`; in a round the lanes decode in lane order and the lanes that need a word take
//!   the next words of the tile's single stream in increasing lane order. This is the same as
//!   decoding symbols `i = 0, 1, 2, …` one after the other, each lane reading its word right away,
//!   which is what [`decode_tile`] does. The encoder walks `i` backwards from the last symbol,
//!   pushes emitted words, and the stream is the reverse of what it pushed.

use crate::error::{CodecError, Result};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Probability precision in bits.
pub const PROB_BITS: u32 = 12;
/// Sum of the frequencies (2^12).
pub const PROB_SCALE: u32 = 1 << PROB_BITS;
/// Lower bound of the normalised state interval, and every lane's initial encoder state.
pub const RANS_L: u32 = 1 << 16;
/// Number of symbols (a symbol is an i8 code reinterpreted as u8).
pub const NUM_SYMBOLS: usize = 256;

/// A normalised frequency table with its decode lookup.
#[derive(Clone, PartialEq, Eq)]
pub struct FreqTable {
    freq: [u16; NUM_SYMBOLS],
    cum: [u32; NUM_SYMBOLS + 1],
    /// Per slot: `sym | (freq-1) << 8 | (slot - cum[sym]) << 20`.
    slot_info: Vec<u32>,
}

impl std::fmt::Debug for FreqTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used: Vec<(u8, u16)> = (0..NUM_SYMBOLS)
            .filter(|&s| self.freq[s] != 0)
            .map(|s| (s as u8, self.freq[s]))
            .collect();
        f.debug_struct("FreqTable").field("freq", &used).finish()
    }
}

impl FreqTable {
    /// Builds a table from explicit frequencies. They must sum to exactly 4096.
    pub fn from_freqs(freq: [u16; NUM_SYMBOLS]) -> Result<FreqTable> {
        let mut cum = [0u32; NUM_SYMBOLS + 1];
        for s in 0..NUM_SYMBOLS {
            cum[s + 1] = cum[s] + freq[s] as u32;
        }
        if cum[NUM_SYMBOLS] != PROB_SCALE {
            return Err(CodecError::InconsistentHeader(format!(
                "frequency table sums to {}, must be {PROB_SCALE}",
                cum[NUM_SYMBOLS]
            )));
        }
        let mut slot_info = vec![0u32; PROB_SCALE as usize];
        for s in 0..NUM_SYMBOLS {
            let f = freq[s] as u32;
            for b in 0..f {
                slot_info[(cum[s] + b) as usize] = s as u32 | ((f - 1) << 8) | (b << 20);
            }
        }
        Ok(FreqTable {
            freq,
            cum,
            slot_info,
        })
    }

    /// Normalises a histogram: every symbol that occurs gets a frequency ≥ 1, absent symbols 0,
    /// the sum is 4096, and the coded size `Σ count[s]·log2(4096/freq[s])` is minimal.
    ///
    /// Algorithm (exactly optimal for this separable concave objective): start every present
    /// symbol at 1, then hand out the remaining units one at a time to the symbol whose cost
    /// drops most, `count[s]·log2((f+1)/f)` (ties: lower symbol).
    pub fn from_histogram(hist: &[u64; NUM_SYMBOLS]) -> Result<FreqTable> {
        let present = hist.iter().filter(|&&c| c > 0).count();
        if present == 0 {
            return Err(CodecError::BadParams("empty histogram".into()));
        }
        let mut freq = [0u16; NUM_SYMBOLS];
        let mut heap = BinaryHeap::with_capacity(present);
        for s in 0..NUM_SYMBOLS {
            if hist[s] > 0 {
                freq[s] = 1;
                heap.push(Gain::new(s, hist[s], 1));
            }
        }
        let mut left = PROB_SCALE as usize - present;
        while left > 0 {
            let top = heap.pop().expect("heap holds every present symbol");
            freq[top.sym] += 1;
            heap.push(Gain::new(top.sym, hist[top.sym], freq[top.sym] as u32));
            left -= 1;
        }
        FreqTable::from_freqs(freq)
    }

    /// Frequencies (sum 4096).
    pub fn freqs(&self) -> &[u16; NUM_SYMBOLS] {
        &self.freq
    }

    /// Cumulative frequencies: `cum[s] = Σ_{t<s} freq[t]`, `cum[256] = 4096`.
    pub fn cum(&self) -> &[u32; NUM_SYMBOLS + 1] {
        &self.cum
    }

    /// The symbol that owns `slot` (0..4095).
    pub fn symbol_of_slot(&self, slot: u32) -> u8 {
        (self.slot_info[(slot & (PROB_SCALE - 1)) as usize] & 0xff) as u8
    }

    /// Bits needed to code `hist` with this table, `Σ count[s]·log2(4096/freq[s])`
    /// (`f64::INFINITY` if a counted symbol has frequency 0).
    pub fn cost_bits(&self, hist: &[u64; NUM_SYMBOLS]) -> f64 {
        cost_bits(hist, &self.freq)
    }

    /// One encode step of symbol `s` on state `x` (which must be in `[L, 2^32)`);
    /// returns the word emitted, if any.
    #[inline(always)]
    pub fn encode_step(&self, x: &mut u32, s: u8) -> Option<u16> {
        let f = self.freq[s as usize] as u32;
        debug_assert!(f > 0, "encoding a symbol of frequency 0");
        let mut out = None;
        if (*x as u64) >= ((f as u64) << 20) {
            out = Some((*x & 0xffff) as u16);
            *x >>= 16;
        }
        *x = ((*x / f) << PROB_BITS) + (*x % f) + self.cum[s as usize];
        out
    }

    /// The decode-step core without renormalisation: returns the symbol and updates `x`.
    /// `x` must be in `[L, 2^32)`; the result is in `[16, 2^32)`.
    #[inline(always)]
    pub fn decode_step(&self, x: &mut u32) -> u8 {
        let info = self.slot_info[(*x & (PROB_SCALE - 1)) as usize];
        let f = ((info >> 8) & 0xfff) + 1;
        let bias = info >> 20;
        *x = f * (*x >> PROB_BITS) + bias;
        (info & 0xff) as u8
    }
}

/// `Σ count[s]·log2(4096/freq[s])` (∞ if a counted symbol has frequency 0).
pub fn cost_bits(hist: &[u64; NUM_SYMBOLS], freq: &[u16; NUM_SYMBOLS]) -> f64 {
    let mut bits = 0.0;
    for s in 0..NUM_SYMBOLS {
        if hist[s] > 0 {
            if freq[s] == 0 {
                return f64::INFINITY;
            }
            bits += hist[s] as f64 * (PROB_SCALE as f64 / freq[s] as f64).log2();
        }
    }
    bits
}

struct Gain {
    gain: f64,
    sym: usize,
}

impl Gain {
    fn new(sym: usize, count: u64, f: u32) -> Gain {
        let gain = if f >= PROB_SCALE {
            f64::NEG_INFINITY
        } else {
            count as f64 * ((f as f64 + 1.0) / f as f64).log2()
        };
        Gain { gain, sym }
    }
}

impl PartialEq for Gain {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Gain {}
impl PartialOrd for Gain {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Gain {
    fn cmp(&self, o: &Self) -> Ordering {
        self.gain
            .total_cmp(&o.gain)
            .then_with(|| o.sym.cmp(&self.sym))
    }
}

/// Histogram of codes (symbol = code as u8).
pub fn histogram(codes: &[i8]) -> [u64; NUM_SYMBOLS] {
    // Four sub-histograms break the store-to-load dependency on runs of equal symbols.
    let mut h = [[0u64; NUM_SYMBOLS]; 4];
    let mut chunks = codes.chunks_exact(4);
    for c in &mut chunks {
        h[0][c[0] as u8 as usize] += 1;
        h[1][c[1] as u8 as usize] += 1;
        h[2][c[2] as u8 as usize] += 1;
        h[3][c[3] as u8 as usize] += 1;
    }
    for &c in chunks.remainder() {
        h[0][c as u8 as usize] += 1;
    }
    let mut out = [0u64; NUM_SYMBOLS];
    for s in 0..NUM_SYMBOLS {
        out[s] = h[0][s] + h[1][s] + h[2][s] + h[3][s];
    }
    out
}

/// Histogram of codes using all cores.
pub fn histogram_parallel(codes: &[i8]) -> [u64; NUM_SYMBOLS] {
    let threads = crate::quant::worker_count(codes.len() / (1 << 20) + 1);
    if threads == 1 {
        return histogram(codes);
    }
    let per = codes.len().div_ceil(threads);
    let parts: Vec<[u64; NUM_SYMBOLS]> = std::thread::scope(|sc| {
        let hs: Vec<_> = codes
            .chunks(per)
            .map(|c| sc.spawn(move || histogram(c)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("histogram worker panicked"))
            .collect()
    });
    let mut out = [0u64; NUM_SYMBOLS];
    for p in parts {
        for s in 0..NUM_SYMBOLS {
            out[s] += p[s];
        }
    }
    out
}

/// One encoded tile: its word stream (in decode order) and the lanes' final encoder states
/// (= the decoder's initial states).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedTile {
    /// Words in the order the decoder reads them.
    pub words: Vec<u16>,
    /// `lanes` states, each in `[2^16, 2^32)`.
    pub states: Vec<u32>,
}

/// Encodes one tile's symbols (in tile order: row-major inside the tile) with `lanes` lanes.
/// Every symbol must have a nonzero frequency in `table` (else `BadParams`).
pub fn encode_tile(table: &FreqTable, symbols: &[u8], lanes: usize) -> Result<EncodedTile> {
    if lanes == 0 {
        return Err(CodecError::BadParams("lanes must be ≥ 1".into()));
    }
    if let Some(&s) = symbols.iter().find(|&&s| table.freq[s as usize] == 0) {
        return Err(CodecError::BadParams(format!(
            "symbol {s} (code {}) has frequency 0 in the table",
            s as i8
        )));
    }
    let mut states = vec![RANS_L; lanes];
    let mut pushed: Vec<u16> = Vec::with_capacity(symbols.len() / 2 + 16);
    // Rounds in reverse, lanes in reverse == symbols in reverse order.
    for i in (0..symbols.len()).rev() {
        let lane = i % lanes;
        if let Some(w) = table.encode_step(&mut states[lane], symbols[i]) {
            pushed.push(w);
        }
    }
    pushed.reverse();
    Ok(EncodedTile {
        words: pushed,
        states,
    })
}

/// Decodes one tile: `out.len()` symbols from `words` with `states.len()` lanes whose initial
/// states are `states`. Checks that every word is used exactly once, that no lane reads past the
/// stream, that the initial states are in `[2^16, 2^32)` and that every final state is 2^16.
/// The error is a description for [`CodecError::CorruptStream`].
pub fn decode_tile(
    table: &FreqTable,
    words: &[u16],
    states: &[u32],
    out: &mut [u8],
) -> std::result::Result<(), String> {
    let lanes = states.len();
    if lanes == 0 || lanes > 64 {
        return Err(format!("{lanes} lanes (1..=64 supported)"));
    }
    let mut x = [0u32; 64];
    for (l, &s) in states.iter().enumerate() {
        if s < RANS_L {
            return Err(format!("lane {l} initial state {s:#x} is below 2^16"));
        }
        x[l] = s;
    }
    let mut pos = 0usize;
    let mut lane = 0usize;
    for (i, o) in out.iter_mut().enumerate() {
        let st = &mut x[lane];
        *o = table.decode_step(st);
        if *st < RANS_L {
            match words.get(pos) {
                Some(&w) => {
                    *st = (*st << 16) | w as u32;
                    pos += 1;
                }
                None => {
                    return Err(format!(
                        "word stream exhausted at symbol {i} (lane {lane}, {} words)",
                        words.len()
                    ))
                }
            }
        }
        lane += 1;
        if lane == lanes {
            lane = 0;
        }
    }
    if pos != words.len() {
        return Err(format!(
            "{} of {} words left unread after the last symbol",
            words.len() - pos,
            words.len()
        ));
    }
    for (l, &s) in x[..lanes].iter().enumerate() {
        if s != RANS_L {
            return Err(format!("lane {l} final state {s:#x}, expected 0x10000"));
        }
    }
    Ok(())
}

/// Empirical entropy (bits per symbol) of a histogram.
pub fn entropy_of_histogram(hist: &[u64; NUM_SYMBOLS]) -> f64 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let t = total as f64;
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / t;
            -p * p.log2()
        })
        .sum()
}
