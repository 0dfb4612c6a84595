//! The kernel ABI as data: every launch of every generated variant carries its argument list
//! ([`Arg`]), so the template's `extern "C"` signature, the runtime's argument packing and the
//! ABI tables of docs/ARCHITECTURE.md all come from one place ([`signature`], [`doc_table`]).

use serde::{Deserialize, Serialize};

use crate::common::ElemType;
use crate::KernelSpec;

/// Which matrix operand a pointer or pattern refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operand {
    /// The left operand (activations), `M × K`.
    A,
    /// The right operand (weights), `K × N`.
    B,
    /// The output, `M × N`.
    C,
}

/// A problem dimension, passed as a 32-bit `int`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dim {
    /// Rows of A and C.
    M,
    /// Columns of B and C.
    N,
    /// The shared dimension.
    K,
}

/// Per-call scratch memory the runtime owns (one set per stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Workspace {
    /// `[4]` u32 control words, zeroed once: `[0..1]` grid-barrier state, `[2]` the epoch of the
    /// last call whose inputs held an Inf or NaN.
    Ctrl,
    /// All-ones pattern words (at least as many as the largest pattern of the call), read in
    /// place of the patterns when the call's inputs hold an Inf or NaN.
    Ones,
    /// fp32 split-K partial sums (`float*`, `[splits][16][grid.x · columns per CTA]`; scratch).
    Partials,
    /// `[grid.x]` u32 split tickets, zeroed once; the last CTA of a column block resets its own.
    Counters,
}

/// A per-call scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scalar {
    /// A number unique to the call on its stream (never 0), compared with `ctrl[2]`.
    Epoch,
    /// Positions of the split dimension per CTA row of the grid (family gemv).
    Chunk,
    /// Score threshold of the gemv select stage (`float`).
    Threshold,
    /// Outputs kept per token by the gemv select stage (`int`; 0: use the threshold).
    TopK,
    /// Records the gemv scatter stage copies (`int`).
    Records,
    /// Bytes per record of the gemv scatter stage (`int`, a multiple of 16).
    RecordBytes,
    /// 16-bit words in a rANS word stream (`int`, family rans).
    Words,
    /// Rows per tile of a rANS container (`int`, family rans).
    TileK,
}

/// One kernel parameter: what it is, hence its C type, its name and what the runtime passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arg {
    /// Device pointer to an operand's first element (row-major).
    Operand {
        /// Which operand.
        operand: Operand,
        /// Its element type.
        elem: ElemType,
        /// Whether the kernel writes it.
        written: bool,
    },
    /// A dimension (`int`).
    Dim(Dim),
    /// Device pointer to an operand's pattern words (`unsigned int*`; bit per k, 32 k per word);
    /// null when the variant reads no pattern of that operand (family gemv: input-sparse kernels
    /// write x's pattern there when it is not null).
    Pattern(Operand),
    /// Device pointer to `[N]` per-column nonzero counts of C (`unsigned int*`, atomicAdd); null
    /// unless the variant's epilogue counts them.
    ColNnz,
    /// Device pointer to runtime-owned scratch.
    Workspace(Workspace),
    /// A 32-bit unsigned scalar.
    Scalar(Scalar),
    /// Leading dimension (elements) of an operand as the GEMM reads it (`int`).
    Ld(Operand),
    /// A TMA tensor map of an operand, passed by value (`const __grid_constant__ CUtensorMap`).
    TensorMap(Operand),
    /// Device pointer to an index list (`const int*`; family gemv: weight rows or output rows).
    Index,
    /// Device pointer to the number of entries of the index list (`const int*`, read by the
    /// kernel, so a list made on the device needs no round trip).
    IndexCount,
    /// Device pointer to fp32 scores, `M × N` row-major (gemv select stage).
    Scores,
    /// Device pointer to the list a select stage writes: `[0]` the count, `[1..]` the entries.
    ListOut,
    /// Device pointer to a packed staging buffer of records (gemv scatter stage, `const uint4*`).
    Staging,
    /// Device pointer to the destination of scattered records (`uint4*`).
    Dest,
    /// Device pointer to the runtime's packed copy of an operand (written by a pack stage).
    Packed {
        /// Which operand.
        operand: Operand,
        /// Its element type.
        elem: ElemType,
    },
    /// Device pointer to a rANS decode table (`const unsigned int*`, 4096 entries; family rans).
    RansTable,
    /// Device pointer to a rANS container's tile records (`const unsigned char*`).
    RansTiles,
    /// Device pointer to a rANS container's word stream (`const unsigned short*`).
    RansWords,
    /// Device pointer to per-column fp32 scales (`const float*`, `[N]`).
    Scales,
    /// Device pointer to INT8 codes, `K × ld` row-major (`signed char*`).
    Codes {
        /// Whether the kernel writes them (the rans decode stage) or reads them (the INT8 GEMV).
        written: bool,
    },
    /// Device pointer to a status word the kernel adds its failures to (`unsigned int*`,
    /// atomicAdd; null: not reported).
    Status,
}

impl Arg {
    /// The parameter name in the generated CUDA.
    pub const fn name(self) -> &'static str {
        match self {
            Arg::Operand { operand: Operand::A, .. } => "A",
            Arg::Operand { operand: Operand::B, .. } => "B",
            Arg::Operand { operand: Operand::C, .. } => "C",
            Arg::Dim(Dim::M) => "M",
            Arg::Dim(Dim::N) => "N",
            Arg::Dim(Dim::K) => "K",
            Arg::Pattern(Operand::A) => "a_pat",
            Arg::Pattern(Operand::B) => "b_pat",
            Arg::Pattern(Operand::C) => "c_pat",
            Arg::ColNnz => "col_nnz",
            Arg::Workspace(Workspace::Ctrl) => "ctrl",
            Arg::Workspace(Workspace::Ones) => "ones",
            Arg::Scalar(Scalar::Epoch) => "epoch",
            Arg::Scalar(Scalar::Chunk) => "chunk",
            Arg::Workspace(Workspace::Partials) => "part",
            Arg::Workspace(Workspace::Counters) => "counters",
            Arg::Index => "idx",
            Arg::IndexCount => "nidx",
            Arg::Scores => "scores",
            Arg::ListOut => "list",
            Arg::Staging => "src",
            Arg::Dest => "dst",
            Arg::Scalar(Scalar::Threshold) => "threshold",
            Arg::Scalar(Scalar::TopK) => "topk",
            Arg::Scalar(Scalar::Records) => "records",
            Arg::Scalar(Scalar::RecordBytes) => "rec_bytes",
            Arg::Ld(Operand::A) => "lda",
            Arg::Ld(Operand::B) => "ldb",
            Arg::Ld(Operand::C) => "ldc",
            Arg::TensorMap(Operand::A) => "tmap_a",
            Arg::TensorMap(Operand::B) => "tmap_b",
            Arg::TensorMap(Operand::C) => "tmap_c",
            Arg::Packed { operand: Operand::A, .. } => "A_packed",
            Arg::Packed { operand: Operand::B, .. } => "B_packed",
            Arg::Packed { operand: Operand::C, .. } => "C_packed",
            Arg::RansTable => "table",
            Arg::RansTiles => "tiles",
            Arg::RansWords => "words",
            Arg::Scales => "scales",
            Arg::Codes { .. } => "codes",
            Arg::Status => "status",
            Arg::Scalar(Scalar::Words) => "nwords",
            Arg::Scalar(Scalar::TileK) => "tile_k",
        }
    }

    /// The parameter declaration, e.g. `const float* __restrict__ A` or `int M`.
    pub fn declaration(self) -> String {
        match self {
            Arg::Operand { elem, written: false, .. } => format!("const {}* __restrict__ {}", elem.cuda_type(), self.name()),
            Arg::Operand { elem, written: true, .. } => format!("{}* __restrict__ {}", elem.cuda_type(), self.name()),
            Arg::Dim(_) | Arg::Ld(_) => format!("int {}", self.name()),
            Arg::TensorMap(_) => format!("const __grid_constant__ CUtensorMap {}", self.name()),
            Arg::Packed { elem, .. } => format!("{}* __restrict__ {}", elem.cuda_type(), self.name()),
            Arg::Pattern(_) | Arg::ColNnz | Arg::Workspace(Workspace::Ctrl) | Arg::Workspace(Workspace::Counters) => {
                format!("unsigned int* {}", self.name())
            }
            Arg::Workspace(Workspace::Partials) => format!("float* {}", self.name()),
            Arg::Index | Arg::IndexCount => format!("const int* __restrict__ {}", self.name()),
            Arg::Scalar(Scalar::Chunk | Scalar::TopK | Scalar::Records | Scalar::RecordBytes | Scalar::Words | Scalar::TileK) => format!("int {}", self.name()),
            Arg::Scalar(Scalar::Threshold) => format!("float {}", self.name()),
            Arg::Scores => format!("const float* __restrict__ {}", self.name()),
            Arg::ListOut => format!("int* __restrict__ {}", self.name()),
            Arg::Staging => format!("const uint4* __restrict__ {}", self.name()),
            Arg::Dest => format!("uint4* __restrict__ {}", self.name()),
            Arg::Workspace(Workspace::Ones) => format!("const unsigned int* {}", self.name()),
            Arg::RansTable => format!("const unsigned int* __restrict__ {}", self.name()),
            Arg::RansTiles => format!("const unsigned char* __restrict__ {}", self.name()),
            Arg::RansWords => format!("const unsigned short* __restrict__ {}", self.name()),
            Arg::Scales => format!("const float* __restrict__ {}", self.name()),
            Arg::Codes { written: true } => format!("signed char* __restrict__ {}", self.name()),
            Arg::Codes { written: false } => format!("const signed char* __restrict__ {}", self.name()),
            Arg::Status => format!("unsigned int* __restrict__ {}", self.name()),
            Arg::Scalar(_) => format!("unsigned int {}", self.name()),
        }
    }

    /// One line of meaning for the docs.
    pub fn meaning(self) -> &'static str {
        match self {
            Arg::Operand { operand: Operand::A, .. } => "A, M×K row-major",
            Arg::Operand { operand: Operand::B, .. } => "B, K×N row-major",
            Arg::Operand { operand: Operand::C, .. } => "C, M×N row-major (every element written)",
            Arg::Dim(_) => "problem dimension",
            Arg::Pattern(_) => "pattern words (bit per k, 32 k per word; gemv input-sparse kernels write x's: inputs nonzero for some token); null when unused",
            Arg::ColNnz => "[N] per-column nonzero counts of C, atomicAdd; null unless counted",
            Arg::Workspace(Workspace::Ctrl) => "[4] control words: grid barrier, non-finite epoch",
            Arg::Workspace(Workspace::Ones) => "all-ones pattern words, read when the inputs hold Inf/NaN",
            Arg::Scalar(Scalar::Epoch) => "per-call epoch (≠ 0) compared with ctrl[2]",
            Arg::Scalar(Scalar::Chunk) => "split positions per grid row (gemv: k, or list positions; rans: k-tiles, or rows)",
            Arg::Workspace(Workspace::Partials) => "fp32 split partials (gemv [splits][16][grid.x·columns], rans [splits][M][N]; scratch)",
            Arg::Workspace(Workspace::Counters) => "split tickets (gemv [grid.x], rans one per warp's column group), zeroed once, reset by the last one",
            Arg::Index => "index list (gemv: weight rows or output rows); null when unused",
            Arg::Scores => "fp32 scores M×N (the predictor's output)",
            Arg::ListOut => "written list: [0] count, [1..] active outputs in increasing order",
            Arg::Staging => "packed records to scatter (16-byte aligned)",
            Arg::Dest => "base of the slots the records land in",
            Arg::Scalar(Scalar::Threshold) => "score threshold (active: score > threshold)",
            Arg::Scalar(Scalar::TopK) => "outputs kept per token (0: threshold)",
            Arg::Scalar(Scalar::Records) => "number of records",
            Arg::Scalar(Scalar::RecordBytes) => "bytes per record (multiple of 16)",
            Arg::IndexCount => "device-side length of the index list; null when unused",
            Arg::Ld(_) => "leading dimension in elements (a multiple of 16 bytes)",
            Arg::TensorMap(Operand::B) => "TMA map of Bᵀ (N×K, K-major), 128-byte swizzle, zero fill",
            Arg::TensorMap(_) => "TMA map of the operand (K-major), 128-byte swizzle, zero fill",
            Arg::Packed { .. } => "runtime-owned packed copy (leading dimension `ld`, zero-padded)",
            Arg::RansTable => "rANS decode table, 4096 entries (one per slot of the 12-bit state)",
            Arg::RansTiles => "the container's tile records (stream offset, word count, initial states)",
            Arg::RansWords => "the container's 16-bit word stream",
            Arg::Scalar(Scalar::Words) => "words in the stream",
            Arg::Scalar(Scalar::TileK) => "rows per tile of the container",
            Arg::Scales => "per-column fp32 scales [N] (weight = code · scale)",
            Arg::Codes { written: true } => "INT8 codes written, K×ld row-major; null: verify only",
            Arg::Codes { written: false } => "INT8 codes, K×ld row-major (ld a multiple of 16)",
            Arg::Status => "[1] tiles failing the end checks, atomicAdd; null: not reported",
        }
    }
}

/// The `extern "C"` parameter list of a launch: declarations joined with `, `.
pub fn signature(args: &[Arg]) -> String {
    args.iter().map(|a| a.declaration()).collect::<Vec<_>>().join(", ")
}

/// The argument names joined with `, ` (how the entry point forwards them).
pub fn call_list(args: &[Arg]) -> String {
    args.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

/// A Markdown table of one launch's parameters (docs/ARCHITECTURE.md embeds these, checked by
/// a test).
pub fn doc_table(title: &str, args: &[Arg]) -> String {
    let mut s = format!("{title}:\n\n| # | parameter | meaning |\n|---|---|---|\n");
    for (i, a) in args.iter().enumerate() {
        s += &format!("| {i} | `{}` | {} |\n", a.declaration(), a.meaning());
    }
    s
}

/// Which step of a variant a kernel launch performs. The kernel symbol is
/// `<variant name>_<suffix>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Writes the A pattern (separate preprocessing only).
    PatternA,
    /// Writes the B pattern (separate preprocessing, and the runtime's `prepare_b`).
    PatternB,
    /// The GEMM (which, when fused, also extracts the patterns).
    Gemm,
    /// Copies A into an aligned, zero-padded buffer (only when the view needs it).
    PackA,
    /// Copies B into the GEMM's B layout (only when the view or the path needs it).
    PackB,
    /// Selects the active outputs from scores (gemv output-list variants).
    Select,
    /// Scatters staged weight records into cache slots (gemv output-list variants).
    Scatter,
    /// Decodes (or verifies) a rANS container into INT8 codes (rans `ans` variants).
    Decode,
}

impl Stage {
    /// The symbol suffix: `pattern_a`, `pattern_b`, `gemm`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Stage::PatternA => "pattern_a",
            Stage::PatternB => "pattern_b",
            Stage::Gemm => "gemm",
            Stage::PackA => "pack_a",
            Stage::PackB => "pack_b",
            Stage::Select => "select",
            Stage::Scatter => "scatter",
            Stage::Decode => "decode",
        }
    }
}

/// How the grid of a launch is computed from the problem shape. Evaluated by the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridRule {
    /// One CTA per `bm × bn` tile of C: grid = (ceil(N / bn), ceil(M / bm), 1).
    Tiles {
        /// Tile rows.
        bm: u32,
        /// Tile columns.
        bn: u32,
    },
    /// One CTA per (32-wide k word, block of `rows` rows of A): grid = (ceil(K / 32), ceil(M / rows), 1).
    PatternA {
        /// A-pattern granularity in rows.
        rows: u32,
    },
    /// One CTA per (32-wide k word, block of `cols` columns of B): grid = (ceil(K / 32), ceil(N / cols), 1).
    PatternB {
        /// B-pattern granularity in columns.
        cols: u32,
    },
    /// One CTA per (32 k-groups of `k_gran`, group of `rows` rows of A — or columns of B for
    /// operand B): grid = (ceil(ceil(K / k_gran) / 32), ceil(M or N / rows), 1).
    PatternBlocks {
        /// Which operand's pattern.
        operand: Operand,
        /// Rows of A (columns of B) per pattern bit.
        rows: u32,
        /// k per pattern bit.
        k_gran: u32,
    },
    /// One CTA per 32×32 tile of the operand: grid = (ceil(cols / 32), ceil(rows / 32), 1) over
    /// A's M×K or B's K×N.
    PackTiles {
        /// Which operand.
        operand: Operand,
    },
    /// Family gemv: grid = (ceil(N · `rows` / `cols`), splits); `splits` and the `chunk` argument
    /// come from [`gemv_split`] (one wave of resident CTAs, the staged x within `xs_bytes`).
    Gemv {
        /// Output positions per CTA.
        cols: u32,
        /// Weight rows per output (2 when gated).
        rows: u32,
        /// Shared-memory budget of the staged x (bytes).
        xs_bytes: u32,
        /// Most split positions per CTA (the kn active list holds one int per position).
        max_chunk: u32,
    },
    /// One CTA (a single-block stage).
    Single,
    /// One CTA per record: grid = (M, 1, 1) with M the number of records.
    PerRow,
    /// A persistent, cooperative launch: grid = min(tiles of `bm × bn`, resident CTAs per SM × SMs),
    /// launched with `cuLaunchCooperativeKernel` so that its grid-wide barrier cannot deadlock.
    Persistent {
        /// Tile rows.
        bm: u32,
        /// Tile columns.
        bn: u32,
    },
}

/// One kernel launch of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Launch {
    /// What the launch does (and the symbol suffix).
    pub stage: Stage,
    /// Threads per CTA (1-D blocks).
    pub threads: u32,
    /// Dynamic shared memory per CTA in bytes (the runtime raises the function's limit when
    /// this exceeds 48 KiB).
    pub dynamic_smem: u32,
    /// How the grid follows from M, N, K.
    pub grid: GridRule,
    /// The parameter list, in order.
    pub args: &'static [Arg],
}

impl Launch {
    /// The `extern "C"` symbol of this launch in the module of variant `name`.
    pub fn symbol(&self, name: &str) -> String {
        format!("{name}_{}", self.stage.suffix())
    }

    /// Whether it must be launched cooperatively (all CTAs resident: a grid barrier).
    pub const fn cooperative(&self) -> bool {
        matches!(self.grid, GridRule::Persistent { .. })
    }
}

/// One row of the generated registry: a variant, its launches in order, and the fingerprint
/// of its rendered source (tuned tables compare it to notice stale measurements).
#[derive(Clone, Copy, Debug)]
pub struct RegistryEntry {
    /// The procedural name (`spec.name()`), also the module's file stem.
    pub name: &'static str,
    /// The variant.
    pub spec: KernelSpec,
    /// Whether it is one of the generator's default variants, which the runtime prefers when no
    /// tuned table decides.
    pub is_default: bool,
    /// [`crate::fingerprint::source_hash`] of the variant's rendered CUDA source.
    pub source_hash: u64,
    /// Launches in execution order.
    pub launches: &'static [Launch],
}

/// The split of a gemv launch: `(grid.x, splits, chunk)` for `m` tokens, `n` outputs and `k`
/// split positions, given the resident CTAs of the GPU (SMs × CTAs per SM). grid.x covers the
/// outputs; the splits fill one wave of resident CTAs (a second, partial wave would leave the
/// HBM idle at the end); `chunk` (a multiple of 32, at most `max_chunk`) keeps `m` rows of
/// staged x, each padded by up to 32 elements, within `xs_bytes`.
pub fn gemv_split(cols: u32, rows: u32, xs_bytes: u32, max_chunk: u32, m: usize, n: usize, k: usize, resident_ctas: u64) -> (u64, u64, u32) {
    let gx = ((n as u64) * u64::from(rows)).div_ceil(u64::from(cols.max(1))).max(1);
    let want = (resident_ctas / gx).max(1);
    let k = (k as u64).max(1);
    let mut chunk = k.div_ceil(want).div_ceil(32) * 32;
    let cap = (u64::from(xs_bytes) / (2 * (m.max(1) as u64))).saturating_sub(64) / 32 * 32;
    chunk = chunk.min(cap.max(32)).min(u64::from(max_chunk.max(32)));
    (gx, k.div_ceil(chunk), chunk as u32)
}
