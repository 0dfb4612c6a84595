//! The versioned container (format version 1). Byte layout: docs/CODEC.md.
//!
//! ```text
//! [header 144 B][pad][freq table 512 B][pad][scales 4N B][pad][tile records][pad][word stream][pad][checksums 20 B]
//! ```
//! Every section starts at a 16-byte aligned offset; padding is zero. All integers little-endian.

use crate::error::{CodecError, Result, Section};
use crate::quant::{worker_count, QuantizedMatrix};
use crate::rans::{self, EncodedTile, FreqTable, NUM_SYMBOLS, PROB_BITS, RANS_L};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// `ESMMRANS`.
pub const MAGIC: [u8; 8] = *b"ESMMRANS";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the header in bytes.
pub const HEADER_LEN: usize = 144;
/// Alignment of every section's offset.
pub const SECTION_ALIGN: u64 = 16;
/// Bytes of a tile record before its states (word_offset u64, word_count u32, symbol_count u32).
pub const TILE_RECORD_FIXED: usize = 16;
/// Largest tile side (rows or columns).
pub const MAX_TILE_SIDE: u32 = 65536;
/// Largest tile (rows × columns). This also bounds what a decoder allocates per container byte.
pub const MAX_TILE_SYMBOLS: u64 = 1 << 20;
/// Bytes of the checksum section: 5 × u32 (header, freq table, scales, tile records, stream).
pub const CHECKSUMS_LEN: usize = 20;

/// Encoding parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Tile height (rows of W = input features). 1..=65536.
    pub tile_k: u32,
    /// Tile width (columns of W = output channels). 1..=65536; tile_k·tile_n ≤ 2^20.
    pub tile_n: u32,
    /// Interleaved rANS lanes per tile: 32 or 64.
    pub lanes: u32,
}

impl Default for Params {
    /// 64×256 tiles, 64 lanes: the fastest GPU decode measured on the H200 (0.83 T weights/s,
    /// 1.2–1.9× the 256×256 / 32-lane tiles; bench/results/2026-11-22-rans) for about 2% more
    /// bits (more tile records).
    fn default() -> Self {
        Params {
            tile_k: 64,
            tile_n: 256,
            lanes: 64,
        }
    }
}

impl Params {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<()> {
        check_params(self.tile_k, self.tile_n, self.lanes).map_err(CodecError::BadParams)
    }
}

fn check_params(tile_k: u32, tile_n: u32, lanes: u32) -> std::result::Result<(), String> {
    if lanes != 32 && lanes != 64 {
        return Err(format!("lanes must be 32 or 64, got {lanes}"));
    }
    if tile_k == 0 || tile_k > MAX_TILE_SIDE || tile_n == 0 || tile_n > MAX_TILE_SIDE {
        return Err(format!(
            "tile sides must be in 1..={MAX_TILE_SIDE}, got {tile_k}×{tile_n}"
        ));
    }
    if tile_k as u64 * tile_n as u64 > MAX_TILE_SYMBOLS {
        return Err(format!(
            "tile {tile_k}×{tile_n} has more than {MAX_TILE_SYMBOLS} symbols"
        ));
    }
    Ok(())
}

/// Offset and length in bytes of one section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SectionSpan {
    /// Byte offset from the start of the container (multiple of 16).
    pub offset: u64,
    /// Length in bytes (without padding).
    pub len: u64,
}

impl SectionSpan {
    fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.len)
    }
}

/// The decoded header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (1).
    pub version: u16,
    /// Rows of W (input features).
    pub k: u32,
    /// Columns of W (output channels).
    pub n: u32,
    /// Tile height.
    pub tile_k: u32,
    /// Tile width.
    pub tile_n: u32,
    /// rANS lanes per tile (32 or 64).
    pub lanes: u32,
    /// Probability precision (12).
    pub prob_bits: u32,
    /// ceil(K / tile_k).
    pub k_tiles: u32,
    /// ceil(N / tile_n).
    pub n_tiles: u32,
    /// Total container length in bytes.
    pub total_len: u64,
    /// Spans of the frequency table, scales, tile records, word stream, checksums.
    pub sections: [SectionSpan; 5],
}

impl Header {
    /// Number of tiles, k_tiles · n_tiles.
    pub fn num_tiles(&self) -> u64 {
        self.k_tiles as u64 * self.n_tiles as u64
    }

    /// Bytes of one tile record, 16 + 4·lanes.
    pub fn record_len(&self) -> usize {
        TILE_RECORD_FIXED + 4 * self.lanes as usize
    }

    /// Span of a data section (`Section::Header` gives 0..144).
    pub fn span(&self, s: Section) -> SectionSpan {
        match s {
            Section::Header => SectionSpan {
                offset: 0,
                len: HEADER_LEN as u64,
            },
            Section::FreqTable => self.sections[0],
            Section::Scales => self.sections[1],
            Section::Tiles => self.sections[2],
            Section::Stream => self.sections[3],
            Section::Checksums => self.sections[4],
        }
    }

    /// The rows `(row0, rows)` and columns `(col0, cols)` of tile `t` (index kb·n_tiles + nb).
    pub fn tile_bounds(&self, t: usize) -> ((usize, usize), (usize, usize)) {
        let nt = self.n_tiles.max(1) as usize;
        let (kb, nb) = (t / nt, t % nt);
        let row0 = kb * self.tile_k as usize;
        let col0 = nb * self.tile_n as usize;
        let rows = (self.k as usize)
            .saturating_sub(row0)
            .min(self.tile_k as usize);
        let cols = (self.n as usize)
            .saturating_sub(col0)
            .min(self.tile_n as usize);
        ((row0, rows), (col0, cols))
    }
}

fn align_up(x: u64) -> Option<u64> {
    x.checked_add(SECTION_ALIGN - 1)
        .map(|v| v & !(SECTION_ALIGN - 1))
}

/// Computes the canonical layout for the given shape and stream length (in words).
fn layout(
    k: u32,
    n: u32,
    tile_k: u32,
    tile_n: u32,
    lanes: u32,
    stream_words: u64,
) -> Option<([SectionSpan; 5], u64)> {
    let k_tiles = k.div_ceil(tile_k) as u64;
    let n_tiles = n.div_ceil(tile_n) as u64;
    let tiles = k_tiles.checked_mul(n_tiles)?;
    let rec = TILE_RECORD_FIXED as u64 + 4 * lanes as u64;
    let lens = [
        2 * NUM_SYMBOLS as u64,
        (n as u64).checked_mul(4)?,
        tiles.checked_mul(rec)?,
        stream_words.checked_mul(2)?,
        CHECKSUMS_LEN as u64,
    ];
    let mut spans = [SectionSpan::default(); 5];
    let mut end = HEADER_LEN as u64;
    for (i, &len) in lens.iter().enumerate() {
        let offset = align_up(end)?;
        spans[i] = SectionSpan { offset, len };
        end = offset.checked_add(len)?;
    }
    Some((spans, end))
}

fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn rd_u64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// One tile's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileRecord {
    /// Offset of the tile's first word in the stream, in words.
    pub word_offset: u64,
    /// Number of words of the tile.
    pub word_count: u32,
    /// Number of symbols of the tile (rows × cols of the tile).
    pub symbol_count: u32,
    /// The lanes' initial decoder states.
    pub states: Vec<u32>,
}

/// A parsed, fully validated container: zero-copy views of the sections (for the GPU uploader).
#[derive(Clone, Debug)]
pub struct Container<'a> {
    buf: &'a [u8],
    header: Header,
    table: FreqTable,
}

impl<'a> Container<'a> {
    /// Parses and validates a container: magic, version, header consistency, section layout,
    /// truncation, CRC32 of the header and every section, zero padding, the frequency table
    /// (sums to 4096, code -128 absent), the scales (finite, ≥ 0) and every tile record
    /// (symbol count, contiguous word offsets, word counts summing to the stream, initial states
    /// in [2^16, 2^32)). Does not decode the rANS data (see [`Container::decode`]).
    pub fn parse(buf: &'a [u8]) -> Result<Container<'a>> {
        let got = buf.len() as u64;
        if buf.len() < MAGIC.len() {
            return Err(CodecError::Truncated {
                section: Section::Header,
                needed: HEADER_LEN as u64,
                got,
            });
        }
        if buf[..8] != MAGIC {
            return Err(CodecError::BadMagic);
        }
        if buf.len() < HEADER_LEN {
            return Err(CodecError::Truncated {
                section: Section::Header,
                needed: HEADER_LEN as u64,
                got,
            });
        }
        let version = rd_u16(buf, 8);
        if version != FORMAT_VERSION {
            return Err(CodecError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let bad = |m: String| Err(CodecError::InconsistentHeader(m));
        let header_len = rd_u16(buf, 10);
        if header_len as usize != HEADER_LEN {
            return bad(format!("header length {header_len}, expected {HEADER_LEN}"));
        }
        let flags = rd_u32(buf, 12);
        if flags != 0 {
            return bad(format!("flags {flags:#x}, expected 0"));
        }
        let reserved = rd_u64(buf, 136);
        if reserved != 0 {
            return bad(format!(
                "reserved header bytes 136..144 are {reserved:#x}, expected 0"
            ));
        }
        let mut h = Header {
            version,
            k: rd_u32(buf, 16),
            n: rd_u32(buf, 20),
            tile_k: rd_u32(buf, 24),
            tile_n: rd_u32(buf, 28),
            lanes: rd_u32(buf, 32),
            prob_bits: rd_u32(buf, 36),
            k_tiles: rd_u32(buf, 40),
            n_tiles: rd_u32(buf, 44),
            total_len: rd_u64(buf, 48),
            sections: [SectionSpan::default(); 5],
        };
        for i in 0..5 {
            h.sections[i] = SectionSpan {
                offset: rd_u64(buf, 56 + 16 * i),
                len: rd_u64(buf, 64 + 16 * i),
            };
        }
        if h.k == 0 || h.n == 0 {
            return bad(format!("shape {}×{} (K and N must be ≥ 1)", h.k, h.n));
        }
        if let Err(m) = check_params(h.tile_k, h.tile_n, h.lanes) {
            return bad(m);
        }
        if h.prob_bits != PROB_BITS {
            return bad(format!(
                "probability bits {}, expected {PROB_BITS}",
                h.prob_bits
            ));
        }
        let (ekt, ent) = (h.k.div_ceil(h.tile_k), h.n.div_ceil(h.tile_n));
        if h.k_tiles != ekt || h.n_tiles != ent {
            return bad(format!(
                "tile grid {}×{} does not match K={} N={} with {}×{} tiles (expected {ekt}×{ent})",
                h.k_tiles, h.n_tiles, h.k, h.n, h.tile_k, h.tile_n
            ));
        }
        let stream_len = h.sections[3].len;
        if stream_len & 1 != 0 {
            return bad(format!("word stream length {stream_len} bytes is odd"));
        }
        let (spans, total) = match layout(h.k, h.n, h.tile_k, h.tile_n, h.lanes, stream_len / 2) {
            Some(x) => x,
            None => return bad("section sizes overflow".into()),
        };
        for (i, sec) in Section::DATA.iter().enumerate() {
            if h.sections[i] != spans[i] {
                return bad(format!(
                    "{sec} at offset {} length {}, expected offset {} length {} for K={} N={} tiles {}×{} lanes {}",
                    h.sections[i].offset,
                    h.sections[i].len,
                    spans[i].offset,
                    spans[i].len,
                    h.k,
                    h.n,
                    h.tile_k,
                    h.tile_n,
                    h.lanes
                ));
            }
        }
        if h.total_len != total {
            return bad(format!("total length {} , expected {total}", h.total_len));
        }
        // Truncation: the first section that does not fit.
        for (i, sec) in Section::DATA.iter().enumerate() {
            let end = spans[i].end().unwrap_or(u64::MAX);
            if end > got {
                return Err(CodecError::Truncated {
                    section: *sec,
                    needed: end,
                    got,
                });
            }
        }
        if got > total {
            return bad(format!(
                "{} trailing bytes after the checksums",
                got - total
            ));
        }
        // Checksums.
        let sums = section_of(buf, &h, Section::Checksums);
        let mut stored = [0u32; 5];
        for (i, s) in stored.iter_mut().enumerate() {
            *s = rd_u32(sums, 4 * i);
        }
        let covered = [
            Section::Header,
            Section::FreqTable,
            Section::Scales,
            Section::Tiles,
            Section::Stream,
        ];
        for (i, sec) in covered.iter().enumerate() {
            let computed = crc32fast::hash(section_of(buf, &h, *sec));
            if computed != stored[i] {
                return Err(CodecError::ChecksumMismatch {
                    section: *sec,
                    stored: stored[i],
                    computed,
                });
            }
        }
        // Zero padding between sections.
        let mut prev_end = HEADER_LEN as u64;
        for (i, sec) in Section::DATA.iter().enumerate() {
            let pad = &buf[prev_end as usize..spans[i].offset as usize];
            if pad.iter().any(|&b| b != 0) {
                return bad(format!("nonzero padding before the {sec}"));
            }
            prev_end = spans[i].offset + spans[i].len;
        }
        // Frequency table.
        let fb = section_of(buf, &h, Section::FreqTable);
        let mut freq = [0u16; NUM_SYMBOLS];
        for (s, f) in freq.iter_mut().enumerate() {
            *f = rd_u16(fb, 2 * s);
        }
        if freq[0x80] != 0 {
            return bad("frequency table gives code -128 a nonzero frequency".into());
        }
        let table = FreqTable::from_freqs(freq)?;
        // Scales.
        let sb = section_of(buf, &h, Section::Scales);
        for j in 0..h.n as usize {
            let s = f32::from_bits(rd_u32(sb, 4 * j));
            if !s.is_finite() || s < 0.0 {
                return bad(format!("scale {s} of column {j} is not finite and ≥ 0"));
            }
        }
        // Tile records.
        let c = Container {
            buf,
            header: h,
            table,
        };
        let mut next = 0u64;
        let total_words = stream_len / 2;
        for t in 0..h.num_tiles() as usize {
            let r = c.tile(t);
            let ((_, rows), (_, cols)) = h.tile_bounds(t);
            if r.symbol_count as usize != rows * cols {
                return bad(format!(
                    "tile {t} record has {} symbols, the tile is {rows}×{cols}",
                    r.symbol_count
                ));
            }
            if r.word_offset != next {
                return bad(format!(
                    "tile {t} word offset {}, expected {next}",
                    r.word_offset
                ));
            }
            next = match next.checked_add(r.word_count as u64) {
                Some(v) if v <= total_words => v,
                _ => {
                    return bad(format!(
                        "tile {t} words {}..+{} run past the stream ({total_words} words)",
                        r.word_offset, r.word_count
                    ))
                }
            };
            if r.word_count as u64 > r.symbol_count as u64 {
                return bad(format!(
                    "tile {t} has {} words for {} symbols (at most one word per symbol)",
                    r.word_count, r.symbol_count
                ));
            }
            if let Some(l) = r.states.iter().position(|&s| s < RANS_L) {
                return bad(format!(
                    "tile {t} lane {l} initial state {:#x} is below 2^16",
                    r.states[l]
                ));
            }
        }
        if next != total_words {
            return bad(format!(
                "tiles use {next} words, the stream has {total_words}"
            ));
        }
        Ok(c)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole container.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Zero-copy view of a section's bytes (without padding).
    pub fn section(&self, s: Section) -> &'a [u8] {
        section_of(self.buf, &self.header, s)
    }

    /// The frequency table.
    pub fn freq_table(&self) -> &FreqTable {
        &self.table
    }

    /// The N scales.
    pub fn scales(&self) -> Vec<f32> {
        self.section(Section::Scales)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// Number of tiles.
    pub fn num_tiles(&self) -> usize {
        self.header.num_tiles() as usize
    }

    /// The record of tile `t` (index kb·n_tiles + nb). Panics if `t >= num_tiles()`.
    pub fn tile(&self, t: usize) -> TileRecord {
        let rl = self.header.record_len();
        let b = &self.section(Section::Tiles)[t * rl..(t + 1) * rl];
        TileRecord {
            word_offset: rd_u64(b, 0),
            word_count: rd_u32(b, 8),
            symbol_count: rd_u32(b, 12),
            states: (0..self.header.lanes as usize)
                .map(|l| rd_u32(b, 16 + 4 * l))
                .collect(),
        }
    }

    /// Zero-copy view of tile `t`'s words (little-endian u16 pairs).
    pub fn tile_word_bytes(&self, t: usize) -> &'a [u8] {
        let rl = self.header.record_len();
        let b = &self.section(Section::Tiles)[t * rl..(t + 1) * rl];
        let off = rd_u64(b, 0) as usize;
        let cnt = rd_u32(b, 8) as usize;
        &self.section(Section::Stream)[2 * off..2 * (off + cnt)]
    }

    /// Decodes tile `t` into its symbols as codes, tile row-major (rows × cols of the tile).
    pub fn decode_tile(&self, t: usize) -> Result<Vec<i8>> {
        if t >= self.num_tiles() {
            return Err(CodecError::BadParams(format!(
                "tile {t} out of range ({} tiles)",
                self.num_tiles()
            )));
        }
        let mut words = Vec::new();
        let mut syms = Vec::new();
        self.decode_tile_into(t, &mut words, &mut syms)?;
        Ok(syms.into_iter().map(|s| s as i8).collect())
    }

    fn decode_tile_into(&self, t: usize, words: &mut Vec<u16>, syms: &mut Vec<u8>) -> Result<()> {
        let r = self.tile(t);
        words.clear();
        words.extend(
            self.tile_word_bytes(t)
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        );
        syms.clear();
        syms.resize(r.symbol_count as usize, 0);
        rans::decode_tile(&self.table, words, &r.states, syms)
            .map_err(|reason| CodecError::CorruptStream { tile: t, reason })
    }

    /// Decodes every tile (on all cores) into the quantized matrix.
    pub fn decode(&self) -> Result<QuantizedMatrix> {
        let h = self.header;
        let (k, n) = (h.k as usize, h.n as usize);
        let mut codes = vec![0i8; k * n];
        let block = h.tile_k as usize * n;
        let nt = h.n_tiles as usize;
        let queue = Mutex::new(codes.chunks_mut(block).enumerate());
        let failed = AtomicBool::new(false);
        let errors: Mutex<Vec<CodecError>> = Mutex::new(Vec::new());
        std::thread::scope(|sc| {
            for _ in 0..worker_count(h.k_tiles as usize) {
                sc.spawn(|| {
                    let mut words = Vec::new();
                    let mut syms = Vec::new();
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            return;
                        }
                        let item = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                        let Some((kb, rows_out)) = item else { return };
                        for nb in 0..nt {
                            let t = kb * nt + nb;
                            if let Err(e) = self.decode_tile_into(t, &mut words, &mut syms) {
                                failed.store(true, Ordering::Relaxed);
                                if let Ok(mut v) = errors.lock() {
                                    v.push(e);
                                }
                                return;
                            }
                            let ((_, _), (col0, cols)) = h.tile_bounds(t);
                            for (src, dst) in
                                syms.chunks_exact(cols).zip(rows_out.chunks_exact_mut(n))
                            {
                                for (d, &s) in dst[col0..col0 + cols].iter_mut().zip(src) {
                                    *d = s as i8;
                                }
                            }
                        }
                    }
                });
            }
        });
        let errs = errors.into_inner().unwrap_or_default();
        if let Some(e) = errs.into_iter().min_by_key(|e| match e {
            CodecError::CorruptStream { tile, .. } => *tile,
            _ => usize::MAX,
        }) {
            return Err(e);
        }
        Ok(QuantizedMatrix {
            k,
            n,
            codes,
            scales: self.scales(),
        })
    }
}

/// The bytes of a section; `h`'s spans must lie inside `buf` (checked by `parse` first).
fn section_of<'a>(buf: &'a [u8], h: &Header, s: Section) -> &'a [u8] {
    let sp = h.span(s);
    &buf[sp.offset as usize..(sp.offset + sp.len) as usize]
}

/// Decodes a container (full validation, then all tiles on all cores).
pub fn decode(buf: &[u8]) -> Result<QuantizedMatrix> {
    Container::parse(buf)?.decode()
}

/// Parses a container and decodes tile `t` (codes, tile row-major).
pub fn decode_tile(buf: &[u8], t: usize) -> Result<Vec<i8>> {
    Container::parse(buf)?.decode_tile(t)
}

/// Encodes a quantized matrix: one frequency table for the whole matrix, tiles encoded in
/// parallel (std::thread::scope over all cores).
pub fn encode(q: &QuantizedMatrix, p: &Params) -> Result<Vec<u8>> {
    q.validate()?;
    p.validate()?;
    let (k, n) = match (u32::try_from(q.k), u32::try_from(q.n)) {
        (Ok(k), Ok(n)) => (k, n),
        _ => {
            return Err(CodecError::BadParams(format!(
                "shape {}×{} exceeds u32",
                q.k, q.n
            )))
        }
    };
    let hist = rans::histogram_parallel(&q.codes);
    let table = FreqTable::from_histogram(&hist)?;
    let k_tiles = k.div_ceil(p.tile_k);
    let n_tiles = n.div_ceil(p.tile_n);
    let tiles = k_tiles as usize * n_tiles as usize;
    let header0 = Header {
        version: FORMAT_VERSION,
        k,
        n,
        tile_k: p.tile_k,
        tile_n: p.tile_n,
        lanes: p.lanes,
        prob_bits: PROB_BITS,
        k_tiles,
        n_tiles,
        total_len: 0,
        sections: [SectionSpan::default(); 5],
    };

    // Encode tiles in parallel.
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, EncodedTile)>>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..worker_count(tiles))
            .map(|_| {
                let (next, table, header0) = (&next, &table, &header0);
                sc.spawn(move || {
                    let mut out = Vec::new();
                    let mut syms: Vec<u8> = Vec::new();
                    loop {
                        let t = next.fetch_add(1, Ordering::Relaxed);
                        if t >= tiles {
                            return Ok(out);
                        }
                        let ((row0, rows), (col0, cols)) = header0.tile_bounds(t);
                        syms.clear();
                        for r in row0..row0 + rows {
                            let row = &q.codes[r * q.n + col0..r * q.n + col0 + cols];
                            syms.extend(row.iter().map(|&c| c as u8));
                        }
                        out.push((t, rans::encode_tile(table, &syms, p.lanes as usize)?));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("encode worker panicked"))
            .collect()
    });
    let mut encoded: Vec<Option<EncodedTile>> = vec![None; tiles];
    for r in results {
        for (t, e) in r? {
            encoded[t] = Some(e);
        }
    }
    let total_words: u64 = encoded.iter().flatten().map(|e| e.words.len() as u64).sum();
    let (spans, total) = layout(k, n, p.tile_k, p.tile_n, p.lanes, total_words)
        .ok_or_else(|| CodecError::BadParams("container size overflows".into()))?;
    let total_usize = usize::try_from(total)
        .map_err(|_| CodecError::BadParams("container does not fit in memory".into()))?;
    let header = Header {
        total_len: total,
        sections: spans,
        ..header0
    };

    let mut buf = vec![0u8; total_usize];
    // Header.
    buf[0..8].copy_from_slice(&MAGIC);
    buf[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    buf[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    // 12..16 flags = 0
    for (o, v) in [
        (16, k),
        (20, n),
        (24, p.tile_k),
        (28, p.tile_n),
        (32, p.lanes),
        (36, PROB_BITS),
        (40, k_tiles),
        (44, n_tiles),
    ] {
        buf[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    buf[48..56].copy_from_slice(&total.to_le_bytes());
    for (i, s) in spans.iter().enumerate() {
        buf[56 + 16 * i..64 + 16 * i].copy_from_slice(&s.offset.to_le_bytes());
        buf[64 + 16 * i..72 + 16 * i].copy_from_slice(&s.len.to_le_bytes());
    }
    // 136..144 reserved = 0
    // Frequency table.
    let o = spans[0].offset as usize;
    for (s, f) in table.freqs().iter().enumerate() {
        buf[o + 2 * s..o + 2 * s + 2].copy_from_slice(&f.to_le_bytes());
    }
    // Scales.
    let o = spans[1].offset as usize;
    for (j, s) in q.scales.iter().enumerate() {
        buf[o + 4 * j..o + 4 * j + 4].copy_from_slice(&s.to_bits().to_le_bytes());
    }
    // Tile records and stream.
    let rl = header.record_len();
    let (to, so) = (spans[2].offset as usize, spans[3].offset as usize);
    let mut word_off = 0u64;
    for (t, e) in encoded.iter().enumerate() {
        let e = e.as_ref().expect("every tile was encoded");
        let ((_, rows), (_, cols)) = header.tile_bounds(t);
        let r = to + t * rl;
        buf[r..r + 8].copy_from_slice(&word_off.to_le_bytes());
        buf[r + 8..r + 12].copy_from_slice(&(e.words.len() as u32).to_le_bytes());
        buf[r + 12..r + 16].copy_from_slice(&((rows * cols) as u32).to_le_bytes());
        for (l, s) in e.states.iter().enumerate() {
            buf[r + 16 + 4 * l..r + 20 + 4 * l].copy_from_slice(&s.to_le_bytes());
        }
        let w0 = so + 2 * word_off as usize;
        for (i, w) in e.words.iter().enumerate() {
            buf[w0 + 2 * i..w0 + 2 * i + 2].copy_from_slice(&w.to_le_bytes());
        }
        word_off += e.words.len() as u64;
    }
    drop(encoded);
    // Checksums.
    let sect = |s: SectionSpan| s.offset as usize..(s.offset + s.len) as usize;
    let crcs = [
        crc32fast::hash(&buf[..HEADER_LEN]),
        crc32fast::hash(&buf[sect(spans[0])]),
        crc32fast::hash(&buf[sect(spans[1])]),
        crc32fast::hash(&buf[sect(spans[2])]),
        crc32fast::hash(&buf[sect(spans[3])]),
    ];
    let o = spans[4].offset as usize;
    for (i, c) in crcs.iter().enumerate() {
        buf[o + 4 * i..o + 4 * i + 4].copy_from_slice(&c.to_le_bytes());
    }
    Ok(buf)
}
