//! The one error type of the crate.

use std::fmt;

/// A region of the container, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// The fixed 144-byte header.
    Header,
    /// Section 0: the frequency table (256 × u16).
    FreqTable,
    /// Section 1: the per-output-channel scales (N × f32).
    Scales,
    /// Section 2: the per-tile records.
    Tiles,
    /// Section 3: the u16 word stream.
    Stream,
    /// Section 4: the CRC32 checksums.
    Checksums,
}

impl Section {
    /// The data sections in file order (the header is not one of them).
    pub const DATA: [Section; 5] = [
        Section::FreqTable,
        Section::Scales,
        Section::Tiles,
        Section::Stream,
        Section::Checksums,
    ];

    /// Human-readable name, as used in error messages and docs/CODEC.md.
    pub fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::FreqTable => "frequency table",
            Section::Scales => "scales",
            Section::Tiles => "tile records",
            Section::Stream => "word stream",
            Section::Checksums => "checksums",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong while quantizing, encoding or decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// The buffer does not start with `ESMMRANS`.
    BadMagic,
    /// The format version is not one this crate reads.
    UnsupportedVersion {
        /// Version found in the header.
        found: u16,
        /// Version this crate reads and writes.
        supported: u16,
    },
    /// The buffer ends before a section does.
    Truncated {
        /// Section that does not fit.
        section: Section,
        /// Bytes needed (end offset of the section).
        needed: u64,
        /// Bytes available.
        got: u64,
    },
    /// A stored CRC32 does not match the bytes it covers.
    ChecksumMismatch {
        /// Section whose bytes do not match.
        section: Section,
        /// CRC stored in the checksum section.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// Header fields or section contents that contradict each other or the format rules.
    InconsistentHeader(String),
    /// A tile's rANS data does not decode cleanly.
    CorruptStream {
        /// Tile index (kb * n_tiles + nb).
        tile: usize,
        /// What was wrong.
        reason: String,
    },
    /// A weight is NaN or infinite.
    NonFiniteWeight {
        /// Row (input feature k).
        row: usize,
        /// Column (output channel n).
        col: usize,
    },
    /// Invalid arguments (shapes, strides, tile sizes, lanes, codes).
    BadParams(String),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::BadMagic => write!(f, "not an esmm rANS container (magic is not \"ESMMRANS\")"),
            CodecError::UnsupportedVersion { found, supported } => write!(
                f,
                "unsupported container format version {found} (this build reads version {supported})"
            ),
            CodecError::Truncated { section, needed, got } => write!(
                f,
                "container truncated in the {section}: needs {needed} bytes, got {got}"
            ),
            CodecError::ChecksumMismatch { section, stored, computed } => write!(
                f,
                "checksum mismatch in the {section}: stored crc32 {stored:#010x}, computed {computed:#010x}"
            ),
            CodecError::InconsistentHeader(m) => write!(f, "inconsistent container: {m}"),
            CodecError::CorruptStream { tile, reason } => {
                write!(f, "corrupt rANS stream in tile {tile}: {reason}")
            }
            CodecError::NonFiniteWeight { row, col } => {
                write!(f, "non-finite weight at row {row}, column {col}")
            }
            CodecError::BadParams(m) => write!(f, "bad parameters: {m}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// `Result` with [`CodecError`].
pub type Result<T> = std::result::Result<T, CodecError>;
